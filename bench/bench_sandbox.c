/* bench_sandbox.c - what a sandbox costs per run (SPEC §6.5, issue 21 #6):
 * the start latency (the executor called -> the agent's first instruction,
 * read by `date +%s%N` inside) and /bin/true runs per second, without a
 * sandbox, with limits and a user, and with isolate (bubblewrap). */
#include "symbi/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS   200
#define WARMUP 10

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One run of exec argv under sandbox; its output in *out (heap) or NULL. */
static int run_once(const char *exec, const char *sandbox, char **out)
{
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("bench");
    a.runner = SYMBI_RUNNER_EXEC;
    a.exec = symbi_strdup(exec);
    a.sandbox = sandbox != NULL ? symbi_strdup(sandbox) : NULL;
    struct symbi_agent_request r;
    memset(&r, 0, sizeof r);
    r.agent = &a;
    r.max_runtime_ms = 10000;
    struct symbi_agent_result res;
    struct symbi_err err;
    int rc = symbi_agent_execute(&r, &res, &err);
    if (rc == 0 && res.status != SYMBI_RUN_SUCCEEDED) {
        fprintf(stderr, "bench_sandbox: run failed: %s %s\n",
                res.error_message ? res.error_message : "", res.stderr_text ? res.stderr_text : "");
        rc = -1;
    }
    if (rc == 0 && out != NULL)
        *out = symbi_strdup(res.output);
    if (rc == 0)
        symbi_agent_result_cleanup(&res);
    symbi_agent_def_cleanup(&a);
    return rc;
}

static int measure(const char *label, const char *sandbox)
{
    int64_t lat[RUNS];
    for (int i = 0; i < WARMUP; i++)
        if (run_once("[\"/bin/true\"]", sandbox, NULL) != 0)
            return -1;
    for (int i = 0; i < RUNS; i++) {
        char *out = NULL;
        int64_t t0 = wall_ns();
        if (run_once("[\"/bin/date\", \"+%s%N\"]", sandbox, &out) != 0)
            return -1;
        lat[i] = strtoll(out, NULL, 10) - t0;
        free(out);
    }
    qsort(lat, RUNS, sizeof *lat, cmp_i64);
    int64_t t0 = wall_ns();
    for (int i = 0; i < RUNS; i++)
        if (run_once("[\"/bin/true\"]", sandbox, NULL) != 0)
            return -1;
    double secs = (double)(wall_ns() - t0) / 1e9;
    printf("%-28s start latency median %7.2f ms p99 %7.2f ms | /bin/true %7.1f runs/s "
           "(%.2f ms per run)\n",
           label, (double)lat[RUNS / 2] / 1e6, (double)lat[RUNS * 99 / 100] / 1e6, RUNS / secs,
           secs * 1000 / RUNS);
    return 0;
}

int main(void)
{
    double load[3] = {0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("agent sandboxes, %d sequential runs each (one thread), load %.2f\n", RUNS, load[0]);
    int rc = measure("no sandbox", NULL);
    if (rc == 0)
        rc = measure("limits", "{\"limits\":{\"memory\":\"256M\",\"open_files\":256,"
                               "\"cpu_time\":\"10s\",\"file_size\":\"10M\"}}");
    if (rc == 0 && geteuid() == 0)
        rc = measure("limits + user nobody",
                     "{\"user\":\"nobody\",\"limits\":{\"memory\":\"256M\",\"processes\":64}}");
    if (rc == 0)
        rc = measure("isolate (bwrap, no network)", "{\"isolate\":true}");
    if (rc == 0)
        rc = measure("isolate + network", "{\"isolate\":true,\"network\":true}");
    return rc == 0 ? 0 : 1;
}
