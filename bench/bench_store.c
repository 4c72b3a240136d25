/* bench_store.c - how fast the SQLite store is: jobs added per second
 * (batched and one per transaction), fires claimed and recorded per second,
 * the due selection among 1,000,000 jobs of which 1,000 are due, bytes per
 * job on disk, and `symbi cron list --format json` over 100,000 jobs.
 * Each figure is measured once; the machine's load is printed with them. */
#include "symbi/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH       10000
#define ADD_JOBS    100000
#define SINGLE_JOBS 2000
#define CLAIM_JOBS  50000
#define CLAIM_LIMIT 1000
#define BIG_JOBS    1000000
#define BIG_DUE     1000
#define LIST_JOBS   100000
#define NOW         1774000000000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) this process has used: on a shared machine
 * the wall-clock figures depend on the neighbours, these do not. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const struct symbi_err *err)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static struct symbi_store *open_store(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    if (symbi_store_open(path, &st, &err) != 0)
        die("open", &err);
    return st;
}

/* Fills jobs[0..n) as cron jobs "job-<base+i>" (next_run computed by the
 * store) or, with next_run set, jobs whose next fire is given. */
static void make_jobs(struct symbi_job *jobs, size_t n, size_t base, bool cron, int64_t next_run)
{
    for (size_t i = 0; i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "job-%08zu", base + i);
        symbi_job_init(&jobs[i]);
        jobs[i].name = symbi_strdup(name);
        jobs[i].agent = symbi_strdup("bench-agent");
        if (cron) {
            jobs[i].cron_expr = symbi_strdup("*/5 * * * *");
        } else {
            jobs[i].at = NOW + 86400000;
            jobs[i].next_run = next_run;
        }
    }
}

static void free_jobs(struct symbi_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        symbi_job_cleanup(&jobs[i]);
}

/* Adds total jobs in batches of BATCH; returns the seconds it took. */
static double add_batched(struct symbi_store *st, size_t total, size_t base, bool cron,
                          int64_t (*next_of)(size_t i))
{
    struct symbi_job *jobs = calloc(BATCH, sizeof *jobs);
    struct symbi_err err = {0};
    double t = 0;
    for (size_t done = 0; done < total; done += BATCH) {
        size_t n = total - done < BATCH ? total - done : BATCH;
        make_jobs(jobs, n, base + done, cron, SYMBI_TIME_NONE);
        if (next_of != NULL)
            for (size_t i = 0; i < n; i++)
                jobs[i].next_run = next_of(done + i);
        double t0 = now_s();
        if (symbi_store_job_create_many(st, jobs, n, NOW, "bench", &err) != 0)
            die("create_many", &err);
        t += now_s() - t0;
        free_jobs(jobs, n);
    }
    free(jobs);
    return t;
}

static int plan_one(void *ud, const struct symbi_job *job, int64_t now,
                    struct symbi_fire_plan *plan)
{
    (void)ud;
    struct symbi_run *r = &plan->runs[plan->n_runs++];
    r->scheduled_at = job->next_run;
    r->due_at = job->next_run;
    r->status = SYMBI_RUN_QUEUED;
    plan->next_run = now + 3600000;
    return 0;
}

/* Selects and leaves the job as it was: the due selection alone. */
static int plan_nothing(void *ud, const struct symbi_job *job, int64_t now,
                        struct symbi_fire_plan *plan)
{
    (void)ud;
    (void)now;
    plan->next_run = job->next_run;
    return 0;
}

static int64_t next_all_due(size_t i)
{
    return NOW - 60000 + (int64_t)(i % 1000);
}

static int64_t next_few_due(size_t i)
{
    /* every 1000th job is due, the others spread over the next day */
    return i % (BIG_JOBS / BIG_DUE) == 0 ? NOW - 1000 : NOW + 1000 + (int64_t)(i % 86400) * 1000;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

int main(void)
{
    char dir[] = "/tmp/symbi-bench-store-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char path[600];
    struct symbi_err err = {0};
    double la[3] = {0};
    if (getloadavg(la, 3) < 0)
        la[0] = -1;
    printf("store: machine load average %.2f at start (2 cores shared)\n", la[0]);

    /* 1. jobs added per second, batched (cron jobs: next_run computed) */
    struct symbi_store *st = open_store(dir, "add.db", path, sizeof path);
    double c0 = cpu_s();
    double t = add_batched(st, ADD_JOBS, 0, true, NULL);
    double c = cpu_s() - c0;
    printf("store: jobs added, batched %d per transaction: %.0f jobs/s (%d cron jobs in %.2f s, "
           "audit event each; %.0f jobs per CPU-second)\n",
           BATCH, ADD_JOBS / t, ADD_JOBS, t, ADD_JOBS / c);
    /* and one transaction per job, as the CLI and the API do */
    struct symbi_job one;
    double t0 = now_s();
    for (int i = 0; i < SINGLE_JOBS; i++) {
        make_jobs(&one, 1, ADD_JOBS + (size_t)i, true, SYMBI_TIME_NONE);
        if (symbi_store_job_create(st, &one, NOW, "bench", &err) != 0)
            die("create", &err);
        symbi_job_cleanup(&one);
    }
    t = now_s() - t0;
    printf("store: jobs added, one per transaction (fsync each): %.0f jobs/s\n", SINGLE_JOBS / t);
    symbi_store_close(st);

    /* 2. claim throughput: fires claimed and recorded per second */
    st = open_store(dir, "claim.db", path, sizeof path);
    add_batched(st, CLAIM_JOBS, 0, false, next_all_due);
    size_t fired = 0;
    c0 = cpu_s();
    t0 = now_s();
    for (;;) {
        struct symbi_run *runs = NULL;
        size_t n = 0;
        if (symbi_store_claim_due(st, NOW, CLAIM_LIMIT, "bench-node", plan_one, NULL, &runs, &n,
                                  &err) != 0)
            die("claim_due", &err);
        symbi_run_list_free(runs, n);
        if (n == 0)
            break;
        fired += n;
    }
    t = now_s() - t0;
    c = cpu_s() - c0;
    printf("store: claim throughput: %.0f fires/s (%zu fires claimed and recorded, %d per "
           "transaction, %.2f s; %.0f fires per CPU-second)\n",
           fired / t, fired, CLAIM_LIMIT, t, fired / c);
    symbi_store_close(st);

    if (getenv("SYMBI_BENCH_QUICK") != NULL) { /* the first two figures only */
        rmtree(dir);
        return 0;
    }

    /* 3. due selection among 1,000,000 jobs of which 1,000 are due */
    st = open_store(dir, "big.db", path, sizeof path);
    t = add_batched(st, BIG_JOBS, 0, false, next_few_due);
    printf("store: loaded %d jobs in %.1f s (%.0f jobs/s)\n", BIG_JOBS, t, BIG_JOBS / t);
    int64_t next = 0;
    t0 = now_s();
    if (symbi_store_next_due(st, &next, &err) != 0)
        die("next_due", &err);
    printf("store: next due instant among %d jobs: %.3f ms\n", BIG_JOBS, (now_s() - t0) * 1e3);
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        struct symbi_run *runs = NULL;
        size_t n = 0;
        if (symbi_store_begin(st, &err) != 0)
            die("begin", &err);
        t0 = now_s();
        if (symbi_store_claim_due(st, NOW, BIG_DUE * 2, "bench-node", plan_nothing, NULL, &runs, &n,
                                  &err) != 0)
            die("claim_due", &err);
        t = now_s() - t0;
        symbi_store_rollback(st);
        symbi_run_list_free(runs, n);
        best = t < best ? t : best;
    }
    printf("store: due selection, %d due among %d jobs: %.2f ms (best of 5; reads the %d "
           "jobs)\n",
           BIG_DUE, BIG_JOBS, best * 1e3, BIG_DUE);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    t0 = now_s();
    if (symbi_store_claim_due(st, NOW, BIG_DUE * 2, "bench-node", plan_one, NULL, &runs, &n,
                              &err) != 0)
        die("claim_due", &err);
    t = now_s() - t0;
    symbi_run_list_free(runs, n);
    printf("store: full claim of those %zu fires (select, %zu run inserts, job updates, commit): "
           "%.2f ms\n",
           n, n, t * 1e3);
    symbi_store_close(st);
    char wal[640];
    snprintf(wal, sizeof wal, "%s-wal", path);
    long size = file_size(path) + file_size(wal);
    printf("store: size %.1f MiB for %d jobs: %.0f bytes per job (with its CronJobCreated audit "
           "event and indexes)\n",
           size / 1048576.0, BIG_JOBS, (double)size / BIG_JOBS);
    unlink(path);
    unlink(wal);

    /* 4. `symbi cron list --format json` over 100,000 jobs */
    st = open_store(dir, "list.db", path, sizeof path);
    add_batched(st, LIST_JOBS, 0, true, NULL);
    symbi_store_close(st);
    const char *bin = getenv("SYMBI_BIN");
    if (bin == NULL)
        bin = "build/symbi";
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' --store '%s' cron list --format json > /dev/null", bin, path);
    t0 = now_s();
    int rc = system(cmd);
    t = now_s() - t0;
    if (rc != 0)
        fprintf(stderr, "bench_store: '%s' failed (%d)\n", cmd, rc);
    else
        printf("store: symbi cron list --format json, %d jobs: %.2f s\n", LIST_JOBS, t);
    snprintf(cmd, sizeof cmd, "'%s' --store '%s' cron list > /dev/null", bin, path);
    t0 = now_s();
    rc = system(cmd);
    t = now_s() - t0;
    if (rc == 0)
        printf("store: symbi cron list (table), %d jobs: %.2f s\n", LIST_JOBS, t);
    if (getloadavg(la, 3) < 0)
        la[0] = -1;
    printf("store: machine load average %.2f at the end\n", la[0]);
    rmtree(dir);
    return rc == 0 ? 0 : 1;
}
