/* bench_deliver.c - webhook deliveries per second through the delivery
 * router to a real HTTP receiver on 127.0.0.1 (SPEC §7; target >= 1,000/s). */
#include "support/http_recv.h"
#include "symbi/deliver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_THREAD 2000

struct worker {
    struct symbi_deliver *d;
    const struct symbi_job *job;
    int n;
    int ok;
};

static void *work(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < w->n; i++) {
        struct symbi_run run;
        symbi_run_init(&run);
        symbi_uuid_v4(run.id);
        run.job_name = symbi_strdup(w->job->name);
        run.status = SYMBI_RUN_SUCCEEDED;
        run.attempt = 1;
        run.scheduled_at = run.started_at = run.finished_at = symbi_now_wall_ms();
        run.execution_time_ms = 12;
        run.output = symbi_strdup("report: 42 rows exported, 0 errors\n");
        struct symbi_delivery_summary sum;
        if (symbi_deliver_route(w->d, w->job, &run, "bench", &sum, NULL) == 0 && sum.succeeded == 1)
            w->ok++;
        symbi_run_cleanup(&run);
    }
    return NULL;
}

static int measure(struct symbi_deliver *d, const struct symbi_job *job, int threads)
{
    pthread_t th[16];
    struct worker w[16];
    int64_t t0 = symbi_now_mono_ms();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){d, job, PER_THREAD, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    int64_t ms = symbi_now_mono_ms() - t0;
    double rate = ms > 0 ? ok * 1000.0 / (double)ms : 0;
    printf("webhook deliveries, %d thread%s: %d in %lld ms = %.0f/s%s\n", threads,
           threads > 1 ? "s" : "", ok, (long long)ms, rate,
           ok == threads * PER_THREAD ? "" : " (some failed)");
    return rate >= 1000 && ok == threads * PER_THREAD ? 0 : 1;
}

int main(void)
{
    symbi_log_set_level(SYMBI_LOG_ERROR);
    struct http_recv *r = http_recv_start(false);
    if (r == NULL) {
        fprintf(stderr, "bench_deliver: cannot start the receiver\n");
        return 1;
    }
    struct symbi_config cfg;
    symbi_config_init(&cfg);
    cfg.data_dir = symbi_strdup("/tmp");
    cfg.webhook_timeout_ms = 5000;
    cfg.webhook_retry_attempts = 0;
    struct symbi_deliver *d;
    struct symbi_err err;
    if (symbi_deliver_new(&cfg, &d, &err) != 0) {
        fprintf(stderr, "bench_deliver: %s\n", err.msg);
        return 1;
    }
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = symbi_strdup("bench");
    job.delivery = symbi_strdup("[\"webhook\"]");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", http_recv_port(r));
    job.webhook_url = symbi_strdup(url);
    job.webhook_headers = symbi_strdup("{\"X-Team\":\"ops\"}");
    int rc = measure(d, &job, 1);
    rc |= measure(d, &job, 4);
    printf("receiver counted %zu requests (target >= 1000/s)\n", http_recv_count(r));
    symbi_job_cleanup(&job);
    symbi_deliver_free(d);
    symbi_config_cleanup(&cfg);
    http_recv_stop(r);
    return rc;
}
