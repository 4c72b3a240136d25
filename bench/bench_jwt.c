/* bench_jwt.c - AgentPin credential verifications per second with the key
 * already loaded (a trust bundle), raw and DER signatures, the whole check
 * of symbi_agentpin_verify (decode, JSON, ES256, claims); target >= 10,000/s. */
#include "symbi/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TARGET_PER_S 10000.0

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    char dir[] = "/tmp/symbi-bench-jwt-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    struct symbi_err err = {0};
    char key[300], bundle[300], path[400];
    snprintf(key, sizeof key, "%s/k1.key.pem", dir);
    snprintf(bundle, sizeof bundle, "%s/trust-bundle.json", dir);
    if (symbi_agentpin_keygen("k1", dir, "example.com", &err) != 0) {
        fprintf(stderr, "bench_jwt: %s\n", err.msg);
        return 1;
    }
    struct symbi_agentpin_config cfg = {
        .domain = "example.com", .trust_bundle = bundle, .clock_skew_ms = -1};
    struct symbi_agentpin *ap = NULL;
    if (symbi_agentpin_new(&cfg, &ap, &err) != 0) {
        fprintf(stderr, "bench_jwt: %s\n", err.msg);
        return 1;
    }
    int64_t now = symbi_now_wall_ms();
    static const char *const caps[] = {"deployment", "production_write"};
    int status = 0;
    for (int der = 0; der < 2; der++) {
        struct symbi_agentpin_issue in = {key, "k1", "example.com", "deployer", caps,
                                          2,   now,  3600000,       der != 0};
        char *tok = NULL;
        if (symbi_agentpin_issue(&in, &tok, &err) != 0 ||
            symbi_agentpin_verify(ap, tok, "deployer", now, NULL, &err) != 0) {
            fprintf(stderr, "bench_jwt: %s\n", err.msg);
            return 1;
        }
        enum { RUNS = 9, N = 2000 };
        double rate[RUNS], cpu[RUNS];
        for (int r = 0; r < RUNS; r++) {
            double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            for (int i = 0; i < N; i++)
                if (symbi_agentpin_verify(ap, tok, "deployer", now, NULL, NULL) != 0)
                    return 1;
            rate[r] = N / (clock_s(CLOCK_MONOTONIC) - t0);
            cpu[r] = N / (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        }
        qsort(rate, RUNS, sizeof rate[0], cmp_double);
        qsort(cpu, RUNS, sizeof cpu[0], cmp_double);
        double load = 0;
        FILE *la = fopen("/proc/loadavg", "r");
        if (la != NULL) {
            if (fscanf(la, "%lf", &load) != 1)
                load = 0;
            fclose(la);
        }
        printf(
            "jwt_verify (%s signature, %zu-byte token, cached key): median %.0f/s, best %.0f/s, "
            "CPU-time median %.0f/s, %d x %d verifications, load average %.2f; target >= %.0f/s: "
            "%s\n",
            der ? "DER" : "raw", strlen(tok), rate[RUNS / 2], rate[RUNS - 1], cpu[RUNS / 2], RUNS,
            N, load, TARGET_PER_S, rate[RUNS / 2] >= TARGET_PER_S ? "met" : "NOT met");
        free(tok);
    }
    symbi_agentpin_free(ap);
    static const char *const files[] = {"k1.key.pem", "k1.pub.pem", "agent-identity.json",
                                        "trust-bundle.json"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return status;
}
