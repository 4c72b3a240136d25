/* record.c - the scheduler's recorder thread: writes what the loop and the
 * workers decided (a run started, a run's outcome with the job's counters
 * and its retry, skipped/missed/released runs) through its own store
 * handle, so that no database write ever delays a dispatch. */
#include "sched/sched_int.h"

#include "symbi/metrics.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define REC_BATCH 64

void sched_record(struct symbi_sched *s, struct sched_entry *e, enum rec_kind kind)
{
    struct sched_rec *r = kind == REC_START ? &e->start_rec : &e->final_rec;
    r->e = e;
    r->kind = kind;
    r->next = NULL;
    pthread_mutex_lock(&s->rq_lock);
    if (s->rec_tail != NULL)
        s->rec_tail->next = r;
    else
        s->rec_head = r;
    s->rec_tail = r;
    pthread_cond_signal(&s->rq_cond);
    pthread_mutex_unlock(&s->rq_lock);
}

static void update(struct symbi_sched *s, const struct symbi_run *run)
{
    struct symbi_err err;
    if (symbi_store_run_update(s->rst, run, &err) != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording run %s failed: %s", run->id, err.msg);
}

/* moves the agent's outcome into the run record */
static void take_result(struct sched_entry *e)
{
    struct symbi_run *r = &e->run;
    struct symbi_agent_result *res = &e->res;
    r->status = res->status;
    r->finished_at = e->finished_wall;
    r->execution_time_ms = res->execution_ms;
    free(r->output);
    r->output = res->output;
    res->output = NULL;
    r->output_truncated = res->output_truncated;
    free(r->stderr_text);
    r->stderr_text = res->stderr_text;
    res->stderr_text = NULL;
    free(r->summary);
    r->summary = res->summary;
    res->summary = NULL;
    free(r->error_message);
    r->error_message = res->error_message;
    res->error_message = NULL;
    r->has_exit_code = res->has_exit_code;
    r->exit_code = res->exit_code;
}

static bool finish(struct symbi_sched *s, struct sched_entry *e,
                   const struct symbi_sched_policy *pol)
{
    take_result(e);
    struct symbi_run *r = &e->run;
    int64_t now = symbi_now_wall_ms();
    struct symbi_retry_decision d;
    memset(&d, 0, sizeof d);
    d.max_retries = pol->default_max_retries;
    struct symbi_run retry;
    bool have_retry = false;
    struct symbi_err err;
    if (r->status != SYMBI_RUN_SUCCEEDED) {
        struct symbi_job job;
        if (symbi_store_job_get(s->rst, r->job_id, &job, &err) == 0) {
            symbi_sched_decide(pol, &job, r, now, &d);
            symbi_job_cleanup(&job);
        } else {
            d.counts_as_failure = r->status == SYMBI_RUN_FAILED || r->status == SYMBI_RUN_TIMED_OUT;
        }
        if (d.retry && symbi_sched_make_retry(r, d.due_at, &retry) == 0)
            have_retry = true;
    }
    bool dead = false;
    struct symbi_run_outcome o = {
        .run = r,
        .counts_as_failure = d.counts_as_failure,
        .max_retries = d.max_retries,
        .retry = have_retry ? &retry : NULL,
        .dead_lettered = &dead,
    };
    /* have_retry says `retry` holds memory; retry_queued that it was stored */
    bool retry_queued = have_retry;
    int frc = symbi_store_run_finish(s->rst, &o, now, &err);
    if (frc == SYMBI_ESTATE) {
        /* recovery already recorded this run (the lease had expired) */
        symbi_log(SYMBI_LOG_WARN, "scheduler", "outcome of run %s not recorded: %s", r->id,
                  err.msg);
        retry_queued = false;
    } else if (frc != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording the outcome of run %s failed: %s", r->id,
                  err.msg);
        retry_queued = false;
    }
    const char *status = symbi_run_status_name(r->status);
    const char *name = r->job_name ? r->job_name : "";
    symbi_metrics_run_finished(name, status, (double)r->execution_time_ms / 1000.0);
    if (dead) {
        symbi_metrics_dead_lettered(name);
        symbi_log(SYMBI_LOG_WARN, "scheduler", "job moved to dead letter job=%s max_retries=%d",
                  name, d.max_retries);
    }
    if (r->status == SYMBI_RUN_SUCCEEDED)
        symbi_log(SYMBI_LOG_DEBUG, "scheduler", "run succeeded job=%s run=%s ms=%lld", name, r->id,
                  (long long)r->execution_time_ms);
    else
        symbi_log(SYMBI_LOG_WARN, "scheduler", "run %s job=%s run=%s attempt=%d error=\"%s\"%s",
                  status, name, r->id, r->attempt, r->error_message ? r->error_message : "",
                  retry_queued ? " retry=queued" : "");
    pthread_mutex_lock(&s->lock);
    s->stats.runs_total++;
    if (r->status == SYMBI_RUN_SUCCEEDED)
        s->stats.runs_succeeded++;
    else if (d.counts_as_failure)
        s->stats.runs_failed++;
    s->exec_ms_total += r->execution_time_ms > 0 ? r->execution_time_ms : 0;
    s->stats.avg_execution_ms = s->exec_ms_total / s->stats.runs_total;
    if (retry_queued) {
        /* the loop picks the retry up when it is due */
        if (s->retry_due == SYMBI_TIME_NONE || retry.due_at < s->retry_due)
            s->retry_due = retry.due_at;
    }
    pthread_mutex_unlock(&s->lock);
    if (have_retry)
        symbi_run_cleanup(&retry);
    return retry_queued;
}

static void *recorder_main(void *arg)
{
    struct symbi_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->rq_lock);
        while (s->rec_head == NULL && !s->rq_quit)
            pthread_cond_wait(&s->rq_cond, &s->rq_lock);
        /* at most REC_BATCH records per transaction: the loop's claim waits
         * for the write lock no longer than one batch */
        struct sched_rec *r = s->rec_head, *last = r;
        for (int k = 1; last != NULL && last->next != NULL && k < REC_BATCH; k++)
            last = last->next;
        if (last != NULL) {
            s->rec_head = last->next;
            if (s->rec_head == NULL)
                s->rec_tail = NULL;
            last->next = NULL;
        }
        struct symbi_sched_policy pol = s->rpolicy;
        pthread_mutex_unlock(&s->rq_lock);
        if (r == NULL)
            return NULL;
        /* one transaction (one sync) for the whole batch; each write is
         * its own savepoint inside it */
        struct symbi_err err;
        bool grouped = symbi_store_begin(s->rst, &err) == 0, retries = false;
        while (r != NULL) {
            struct sched_rec *next = r->next; /* r may be freed below */
            struct sched_entry *e = r->e;
            switch (r->kind) {
            case REC_START:
                /* a run that already finished is recorded once, with its
                 * outcome; its FINISH follows in this queue */
                if (!atomic_load(&e->done))
                    update(s, &e->run);
                break;
            case REC_FINISH:
                retries |= finish(s, e, &pol);
                sched_entry_free(e);
                break;
            default:
                update(s, &e->run);
                sched_entry_free(e);
                break;
            }
            r = next;
        }
        if (grouped && symbi_store_commit(s->rst, &err) != 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording runs failed: %s", err.msg);
        if (grouped)
            sched_yield(); /* let a waiting claim take the lock */
        if (retries) {
            /* committed: the loop can take the retries when they are due */
            pthread_mutex_lock(&s->lock);
            s->woken = true;
            pthread_cond_signal(&s->cond);
            pthread_mutex_unlock(&s->lock);
        }
    }
}

int sched_recorder_start(struct symbi_sched *s, struct symbi_err *err)
{
    s->rpolicy = s->cfg.policy;
    int rc = symbi_store_open(s->store_url, &s->rst, err);
    if (rc != 0)
        return rc;
    if (pthread_create(&s->recorder, NULL, recorder_main, s) != 0) {
        symbi_store_close(s->rst);
        s->rst = NULL;
        return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the recorder thread");
    }
    return 0;
}

void sched_recorder_stop(struct symbi_sched *s)
{
    if (s->rst == NULL)
        return;
    pthread_mutex_lock(&s->rq_lock);
    s->rq_quit = true;
    pthread_cond_signal(&s->rq_cond);
    pthread_mutex_unlock(&s->rq_lock);
    pthread_join(s->recorder, NULL);
    symbi_store_close(s->rst);
    s->rst = NULL;
}
