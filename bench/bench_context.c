/* bench_context.c - the cost of a shared_persistent session context at its
 * default bound (256 KiB): loading it from the store, writing the file an
 * agent reads, adding a run's entry and saving (with the oldest entry moved
 * to the archive). Median and p99 over repeated runs; target <= 2 ms.
 * The store commits with synchronous=FULL (one fsync per save), so the
 * bare cost of one such commit is measured too, and the same work is
 * repeated on a store in /dev/shm (no fsync cost) when that exists. */
#include "exec/exec_int.h"

#include <dirent.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS     200
#define ENTRY_SIZE 1000 /* bytes of output per run */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct symbi_err *err)
{
    fprintf(stderr, "bench_context: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
           (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* one run's context work; the phases' times added to load[i] and save[i] */
static void round_trip(struct symbi_store *st, const struct symbi_exec_config *c,
                       const struct symbi_job *job, int i, double *load, double *save,
                       int64_t *bytes)
{
    struct symbi_err err;
    struct exec_session s;
    char out[ENTRY_SIZE + 1], in[32];
    memset(out, 'a' + i % 26, ENTRY_SIZE);
    out[ENTRY_SIZE] = '\0';
    snprintf(in, sizeof in, "run %d", i);
    double t0 = now_ms();
    if (exec_session_open(&s, c, st, job, &err) != 0)
        die("open", &err);
    char *json = exec_session_json(&s, s.mode);
    if (json == NULL || exec_session_write(&s, c, "bench", json, &err) != 0)
        die("write", &err);
    double t1 = now_ms();
    *bytes = (int64_t)strlen(json);
    free(json);
    if (exec_session_add(&s, symbi_now_wall_ms(), in, out, ENTRY_SIZE, "summary") != 0 ||
        exec_session_save(&s, st, job, symbi_now_wall_ms(), &err) != 0)
        die("save", &err);
    exec_session_close(&s);
    double t2 = now_ms();
    *load = t1 - t0;
    *save = t2 - t1;
}

/* one measurement on a store under base (a directory to create in) */
static void measure(const char *base, const char *label)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/symbi-bench-context-XXXXXX", base);
    if (mkdtemp(dir) == NULL)
        return;
    char path[300];
    snprintf(path, sizeof path, "%s/symbi.db", dir);
    struct symbi_err err;
    struct symbi_store *st;
    if (symbi_store_open(path, &st, &err) != 0)
        die("open store", &err);
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = strdup("ctx");
    job.agent = strdup("a");
    job.cron_expr = strdup("0 0 1 1 *");
    job.session_mode = SYMBI_SESSION_SHARED_PERSISTENT;
    if (symbi_store_job_create(st, &job, symbi_now_wall_ms(), "bench", &err) != 0)
        die("job", &err);
    struct symbi_exec_config c;
    symbi_exec_config_init(&c); /* context_max_bytes 256 KiB */
    c.data_dir = dir;
    /* fill it to the bound */
    double load, save;
    int64_t bytes = 0;
    int n = 0;
    while (bytes < c.context_max_bytes - 2 * ENTRY_SIZE)
        round_trip(st, &c, &job, n++, &load, &save, &bytes);
    double lv[ROUNDS], sv[ROUNDS], tv[ROUNDS], cv[ROUNDS];
    double cpu0 = cpu_ms();
    for (int i = 0; i < ROUNDS; i++) {
        round_trip(st, &c, &job, n++, &lv[i], &sv[i], &bytes);
        tv[i] = lv[i] + sv[i];
    }
    double cpu = (cpu_ms() - cpu0) / ROUNDS;
    /* the bare commit: one small write transaction */
    for (int i = 0; i < ROUNDS; i++) {
        double t0 = now_ms();
        if (symbi_store_context_put(st, job.id, i % 2 ? "{\"mode\":\"x\"}" : "{}", 1, &err) != 0)
            die("put", &err);
        cv[i] = now_ms() - t0;
    }
    qsort(lv, ROUNDS, sizeof *lv, cmp);
    qsort(sv, ROUNDS, sizeof *sv, cmp);
    qsort(tv, ROUNDS, sizeof *tv, cmp);
    qsort(cv, ROUNDS, sizeof *cv, cmp);
    int64_t live = 0, archived = 0;
    symbi_store_context_count(st, job.id, &live, &archived, &err);
    printf("context [%s]: shared_persistent at %lld bytes (%lld live entries, %lld archived), "
           "%d rounds\n",
           label, (long long)bytes, (long long)live, (long long)archived, ROUNDS);
    printf("context [%s]: load (store -> JSON -> file): median %.3f ms, p99 %.3f ms\n", label,
           lv[ROUNDS / 2], lv[ROUNDS * 99 / 100]);
    printf("context [%s]: save (add entry, archive oldest, commit): median %.3f ms, p99 %.3f ms\n",
           label, sv[ROUNDS / 2], sv[ROUNDS * 99 / 100]);
    printf("context [%s]: load + save: median %.3f ms, p99 %.3f ms, CPU %.3f ms per run "
           "(target <= 2 ms)\n",
           label, tv[ROUNDS / 2], tv[ROUNDS * 99 / 100], cpu);
    printf("context [%s]: of which one bare commit (synchronous=FULL): median %.3f ms, "
           "p99 %.3f ms\n",
           label, cv[ROUNDS / 2], cv[ROUNDS * 99 / 100]);
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    rmtree(dir);
}

int main(void)
{
    double la[1] = {0};
    if (getloadavg(la, 1) == 1)
        printf("context: machine load average %.2f at start (2 cores shared)\n", la[0]);
    const char *tmp = getenv("TMPDIR");
    measure(tmp != NULL && *tmp != '\0' ? tmp : "/tmp", "disk");
    if (access("/dev/shm", W_OK) == 0)
        measure("/dev/shm", "tmpfs");
    return 0;
}
