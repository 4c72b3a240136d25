/* bench_cron.c - how fast the cron engine is: nanoseconds per next-fire
 * computation (median over 20 typical expressions, in UTC and in
 * Europe/Berlin) and parses per second. Writes the per-expression figures
 * to bench/out/bench_cron.json for bench_cron_croniter.py, which times
 * croniter on the same expressions and prints the speed ratio. */
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* symbi form, croniter form */
static const char *const exprs[][2] = {
    {"* * * * *", "* * * * *"},
    {"*/5 * * * *", "*/5 * * * *"},
    {"*/15 * * * *", "*/15 * * * *"},
    {"0 * * * *", "0 * * * *"},
    {"30 * * * *", "30 * * * *"},
    {"0 */2 * * *", "0 */2 * * *"},
    {"0 9 * * *", "0 9 * * *"},
    {"30 2 * * *", "30 2 * * *"},
    {"0 9 * * 1-5", "0 9 * * 1-5"},
    {"0 8-18 * * MON-FRI", "0 8-18 * * MON-FRI"},
    {"*/10 9-17 * * 1-5", "*/10 9-17 * * 1-5"},
    {"15,45 * * * *", "15,45 * * * *"},
    {"0 0 * * 0", "0 0 * * 0"},
    {"0 12 * * SAT,SUN", "0 12 * * SAT,SUN"},
    {"0 0 1 * *", "0 0 1 * *"},
    {"0 0 1,15 * *", "0 0 1,15 * *"},
    {"0 0 1 1 *", "0 0 1 1 *"},
    {"0 0 L * *", "0 0 L * *"},
    {"0 6 * * 1#1", "0 6 * * 1#1"},
    {"5 4 * * sun", "5 4 * * sun"},
};
#define N_EXPR   (sizeof exprs / sizeof exprs[0])
#define N_STARTS 4096
#define ROUNDS   40
#define TRIALS   5

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static volatile int64_t sink;

/* ns per symbi_cron_next over random starts in 2026-2027 (best of TRIALS) */
static double time_next(const struct symbi_cron *c, const struct symbi_zone *z,
                        const int64_t *starts)
{
    double best = 1e18;
    for (int trial = 0; trial < TRIALS; trial++) {
        double t0 = now_ns();
        int64_t acc = 0, n;
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < N_STARTS; i++)
                if (symbi_cron_next(c, z, starts[i], NULL, &n) == 0)
                    acc += n;
        double ns = (now_ns() - t0) / ((double)ROUNDS * N_STARTS);
        sink = acc;
        if (ns < best)
            best = ns;
    }
    return best;
}

int main(void)
{
    const struct symbi_zone *utc, *berlin;
    struct symbi_err err = {0};
    if (symbi_zone_get("UTC", &utc, &err) != 0 ||
        symbi_zone_get("Europe/Berlin", &berlin, &err) != 0) {
        fprintf(stderr, "bench_cron: %s\n", err.msg);
        return 1;
    }
    int64_t *starts = malloc(N_STARTS * sizeof *starts);
    if (starts == NULL)
        return 1;
    uint64_t x = 88172645463325252ULL; /* xorshift: the same starts every run */
    for (int i = 0; i < N_STARTS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        starts[i] = 1767225600000LL + (int64_t)(x % (2ULL * 365 * 86400)) * 1000;
    }
    double ns_utc[N_EXPR], ns_berlin[N_EXPR], m_utc[N_EXPR], m_berlin[N_EXPR];
    for (size_t k = 0; k < N_EXPR; k++) {
        struct symbi_cron *c;
        if (symbi_cron_parse(exprs[k][0], &c, &err) != 0) {
            fprintf(stderr, "bench_cron: %s\n", err.msg);
            return 1;
        }
        ns_utc[k] = m_utc[k] = time_next(c, utc, starts);
        ns_berlin[k] = m_berlin[k] = time_next(c, berlin, starts);
        symbi_cron_free(c);
    }
    /* parses per second: the 20 expressions, parsed and freed in turn */
    double best_parse = 1e18;
    for (int trial = 0; trial < TRIALS; trial++) {
        double t0 = now_ns();
        long n = 0;
        for (int r = 0; r < 5000; r++) {
            for (size_t k = 0; k < N_EXPR; k++) {
                struct symbi_cron *c;
                if (symbi_cron_parse(exprs[k][0], &c, NULL) == 0) {
                    symbi_cron_free(c);
                    n++;
                }
            }
        }
        double ns = (now_ns() - t0) / (double)n;
        if (ns < best_parse)
            best_parse = ns;
    }
    double med_utc = median(m_utc, N_EXPR), med_berlin = median(m_berlin, N_EXPR);
    printf("%-22s %12s %16s\n", "expression", "UTC ns/next", "Berlin ns/next");
    for (size_t k = 0; k < N_EXPR; k++)
        printf("%-22s %12.1f %16.1f\n", exprs[k][0], ns_utc[k], ns_berlin[k]);
    printf("next_after median (20 expressions): UTC %.1f ns, Europe/Berlin %.1f ns "
           "(targets <= 250 ns, <= 1000 ns)\n",
           med_utc, med_berlin);
    printf("parse: %.0f parses/second (%.1f ns each)\n", 1e9 / best_parse, best_parse);
    FILE *f = fopen("bench/out/bench_cron.json", "w");
    if (f != NULL) {
        fprintf(f,
                "{\"median_ns_utc\": %.2f, \"median_ns_berlin\": %.2f, \"parse_per_s\": %.0f, "
                "\"expressions\": [\n",
                med_utc, med_berlin, 1e9 / best_parse);
        for (size_t k = 0; k < N_EXPR; k++)
            fprintf(f,
                    "  {\"symbi\": \"%s\", \"croniter\": \"%s\", \"ns_utc\": %.2f, "
                    "\"ns_berlin\": %.2f}%s\n",
                    exprs[k][0], exprs[k][1], ns_utc[k], ns_berlin[k], k + 1 < N_EXPR ? "," : "");
        fprintf(f, "]}\n");
        fclose(f);
    }
    free(starts);
    return med_utc <= 250 && med_berlin <= 1000 ? 0 : 1;
}
