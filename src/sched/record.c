/* record.c - the scheduler's recorder thread: writes what the loop and the
 * workers decided (a run started, a run's outcome with the job's counters
 * and its retry, skipped/missed runs) through its own store handle, so that
 * no database write ever delays a dispatch. A write the store cannot make
 * yet (disk full, busy) is retried with back-off until it is made, never
 * dropped (SPEC §5.6, issue 10 #1). On a store several nodes share, the
 * starter thread (its own handle) writes the `running` marks the workers
 * wait for before executing (docs/cluster.md "The start before the agent"). */
#include "sched/sched_int.h"

#include "symbi/metrics.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* records a transaction: a burst of 10,000 runs is ~20,000 records, and
 * each commit is a sync; the loop never waits on the recorder, and claims
 * run ahead of their instant, so a longer write lock costs no latency */
#define REC_BATCH 512

bool sched_store_transient(int code)
{
    return code == SYMBI_EIO || code == SYMBI_EBUSY || code == SYMBI_ENOMEM;
}

void sched_note_store(struct symbi_sched *s, bool claim, bool failing, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    if (claim)
        s->claim_failing = failing;
    else
        s->rec_failing = failing;
    if (failing) {
        s->stats.store_failures++;
        if (s->stats.store_failing_since == SYMBI_TIME_NONE)
            s->stats.store_failing_since = sched_wall(s);
        if (msg != NULL)
            snprintf(s->stats.store_error, sizeof s->stats.store_error, "%s", msg);
    }
    s->stats.store_writable = !s->claim_failing && !s->rec_failing;
    if (s->stats.store_writable) {
        s->stats.store_failures = 0;
        s->stats.store_failing_since = SYMBI_TIME_NONE;
        s->stats.store_error[0] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
}

/* The queue r goes to: the START records of a start-before-exec store
 * have their own, written before anything else (a worker waits on them). */
static bool to_start_queue(const struct symbi_sched *s, const struct sched_rec *r)
{
    return s->start_first && r->kind == REC_START;
}

void sched_entry_put(struct sched_entry *e)
{
    if (atomic_load(&e->owners) == 0 || atomic_fetch_sub(&e->owners, 1) == 1)
        sched_entry_free(e);
}

void sched_record(struct symbi_sched *s, struct sched_entry *e, enum rec_kind kind)
{
    struct sched_rec *r = kind == REC_START ? &e->start_rec : &e->final_rec;
    r->e = e;
    r->kind = kind;
    r->next = NULL;
    if (to_start_queue(s, r))
        atomic_store(&e->owners, 2); /* before any outcome can exist */
    pthread_mutex_lock(&s->rq_lock);
    struct sched_rec **head = to_start_queue(s, r) ? &s->start_head : &s->rec_head;
    struct sched_rec **tail = to_start_queue(s, r) ? &s->start_tail : &s->rec_tail;
    if (*tail != NULL)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
    s->rec_queued++;
    pthread_cond_broadcast(&s->rq_cond); /* the recorder or the starter */
    pthread_mutex_unlock(&s->rq_lock);
}

/* moves the run pipeline's outcome into the run record (once: a retried
 * write finds it there); the pipeline stamps the end when the agent step
 * ends (before delivery), the worker's clock when the pipeline could not */
static void take_result(struct sched_entry *e)
{
    if (e->result_taken)
        return;
    e->result_taken = true;
    symbi_exec_take_outcome(&e->run, &e->out);
    if (e->run.status != SYMBI_RUN_PENDING_APPROVAL && e->run.finished_at == SYMBI_TIME_NONE)
        e->run.finished_at = e->finished_wall;
}

/* Writes the outcome of e with its job's counters and retry; the decision
 * is kept in e for finish_noted. 0, or the store's error. */
static int finish_write(struct symbi_sched *s, struct sched_entry *e,
                        const struct symbi_sched_policy *pol, struct symbi_err *berr)
{
    take_result(e);
    struct symbi_run *r = &e->run;
    struct symbi_exec_recorded d;
    struct symbi_err err = {0};
    int frc = symbi_exec_record(s->rst, pol, r, sched_wall(s), &d, &err);
    if (frc != 0)
        *berr = err; /* the batch's message when it is rolled back */
    e->rec_counts_failure = d.counts_as_failure;
    e->rec_max_retries = d.max_retries;
    e->rec_dead = frc == 0 && d.dead_lettered;
    e->rec_retry_queued = frc == 0 && d.retry_queued;
    e->rec_retry_due = d.retry_due;
    if (frc == SYMBI_ESTATE) {
        /* recovery already recorded this run (the lease had expired) */
        symbi_log(SYMBI_LOG_WARN, "scheduler", "outcome of run %s not recorded: %s", r->id,
                  err.msg);
        return 0;
    }
    if (frc != 0 && !sched_store_transient(frc)) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording the outcome of run %s failed: %s", r->id,
                  err.msg);
        return 0;
    }
    return frc;
}

/* After the outcome of e is committed: metrics, log and counters, once. */
static void finish_noted(struct symbi_sched *s, struct sched_entry *e)
{
    struct symbi_run *r = &e->run;
    const char *status = symbi_run_status_name(r->status);
    const char *name = r->job_name ? r->job_name : "";
    symbi_metrics_run_finished(name, status, (double)r->execution_time_ms / 1000.0);
    if (e->rec_dead) {
        symbi_metrics_dead_lettered(name);
        symbi_log(SYMBI_LOG_WARN, "scheduler", "job moved to dead letter job=%s max_retries=%d",
                  name, e->rec_max_retries);
    }
    if (r->status == SYMBI_RUN_SUCCEEDED)
        symbi_log(SYMBI_LOG_DEBUG, "scheduler", "run succeeded job=%s run=%s ms=%lld", name, r->id,
                  (long long)r->execution_time_ms);
    else
        symbi_log(SYMBI_LOG_WARN, "scheduler", "run %s job=%s run=%s attempt=%d error=\"%s\"%s",
                  status, name, r->id, r->attempt, r->error_message ? r->error_message : "",
                  e->rec_retry_queued ? " retry=queued" : "");
    pthread_mutex_lock(&s->lock);
    s->stats.runs_total++;
    if (r->status == SYMBI_RUN_SUCCEEDED)
        s->stats.runs_succeeded++;
    else if (e->rec_counts_failure)
        s->stats.runs_failed++;
    s->exec_ms_total += r->execution_time_ms > 0 ? r->execution_time_ms : 0;
    s->stats.avg_execution_ms = s->exec_ms_total / s->stats.runs_total;
    if (e->rec_retry_queued) {
        /* the loop picks the retry up when it is due */
        if (s->retry_due == SYMBI_TIME_NONE || e->rec_retry_due < s->retry_due)
            s->retry_due = e->rec_retry_due;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Writes one record inside the batch's transaction; 0 when written or
 * refused for good (logged), else the store's transient error. */
static int write_one(struct symbi_sched *s, struct symbi_store *st, struct sched_rec *r,
                     const struct symbi_sched_policy *pol, struct symbi_err *err)
{
    struct sched_entry *e = r->e;
    int rc = 0;
    switch (r->kind) {
    case REC_START:
        /* a run that already finished is recorded once, with its
         * outcome; its FINISH follows in this queue. Start-before-exec: a
         * worker that gave up waiting (a stop) did not execute it */
        e->start_refused = false;
        if (s->start_first && atomic_load(&e->start_state) != START_PENDING)
            break;
        if (!atomic_load(&e->done))
            rc = symbi_store_run_update(st, &e->run, err);
        if (rc != 0 && !sched_store_transient(rc))
            e->start_refused = true;
        break;
    case REC_FINISH:
        if (s->start_first && atomic_load(&e->start_state) != START_WRITTEN) {
            /* it never executed: the store has it as claimed (queued) or
             * another node's, and recovery releases what is left */
            symbi_log(SYMBI_LOG_WARN, "scheduler",
                      "run %s job=%s not started: its start was not recorded", e->run.id,
                      e->run.job_name ? e->run.job_name : "");
            return 0;
        }
        return finish_write(s, e, pol, err);
    default:
        rc = symbi_store_run_update(s->rst, &e->run, err);
        break;
    }
    if (rc != 0 && !sched_store_transient(rc)) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording run %s failed: %s", e->run.id, err->msg);
        rc = 0;
    }
    return rc;
}

/* Puts the records r..(its end) back at the head of the queue, in order. */
static void requeue(struct symbi_sched *s, struct sched_rec *r)
{
    if (r == NULL)
        return;
    struct sched_rec *last = r;
    while (last->next != NULL)
        last = last->next;
    pthread_mutex_lock(&s->rq_lock);
    /* a batch is all START records of the start queue, or none */
    struct sched_rec **head = to_start_queue(s, r) ? &s->start_head : &s->rec_head;
    struct sched_rec **tail = to_start_queue(s, r) ? &s->start_tail : &s->rec_tail;
    last->next = *head;
    *head = r;
    if (*tail == NULL)
        *tail = last;
    pthread_mutex_unlock(&s->rq_lock);
}

/* Takes at most REC_BATCH records off the head of the start queue (the
 * starter's: workers wait on them, a batch of `running` marks only, one
 * short commit that never waits behind an outcome batch's job locks) or
 * of the main queue (the recorder's). */
static struct sched_rec *take_batch(struct symbi_sched *s, bool starts,
                                    struct symbi_sched_policy *pol)
{
    struct sched_rec **head = starts ? &s->start_head : &s->rec_head;
    struct sched_rec **tail = starts ? &s->start_tail : &s->rec_tail;
    struct sched_rec *r = *head, *last = r;
    for (int k = 1; last != NULL && last->next != NULL && k < REC_BATCH; k++)
        last = last->next;
    if (last != NULL) {
        *head = last->next;
        if (*head == NULL)
            *tail = NULL;
        last->next = NULL;
    }
    *pol = s->rpolicy;
    return r;
}

/* After a batch's commit (or at a stop's give-up): its START records are
 * settled for the workers that wait on them. */
static void starts_settled(struct symbi_sched *s, struct sched_rec *batch, bool written)
{
    if (!s->start_first)
        return;
    bool any = false;
    for (struct sched_rec *r = batch, *next; r != NULL; r = next) {
        next = r->next; /* r lives in its entry, which may go once settled */
        if (r->kind != REC_START)
            continue;
        struct sched_entry *e = r->e;
        bool ok = written && !e->start_refused;
        int want = START_PENDING;
        atomic_compare_exchange_strong(&e->start_state, &want,
                                       ok ? START_WRITTEN : START_NOT_WRITTEN);
        any = true;
        sched_entry_put(e); /* the starter's last touch of it */
    }
    if (any) {
        pthread_mutex_lock(&s->rq_lock);
        pthread_cond_broadcast(&s->start_cond);
        pthread_mutex_unlock(&s->rq_lock);
    }
}

/* Orders a batch by job id, stably (a run's START stays before its
 * FINISH): every node's recorder then locks job rows in the same order, so
 * two nodes' batches wait for each other instead of deadlocking (measured
 * on PostgreSQL with 3 nodes: a deadlock, one second lost and the batch
 * rolled back, every few seconds). */
static struct sched_rec *by_job(struct sched_rec *batch)
{
    struct sched_rec *v[REC_BATCH];
    size_t n = 0;
    for (struct sched_rec *r = batch; r != NULL && n < REC_BATCH; r = r->next)
        v[n++] = r;
    for (size_t i = 1; i < n; i++) {
        struct sched_rec *key = v[i];
        size_t j = i;
        for (; j > 0 && strcmp(v[j - 1]->e->run.job_id, key->e->run.job_id) > 0; j--)
            v[j] = v[j - 1];
        v[j] = key;
    }
    for (size_t i = 0; i + 1 < n; i++)
        v[i]->next = v[i + 1];
    if (n > 0)
        v[n - 1]->next = NULL;
    return n > 0 ? v[0] : NULL;
}

/* One batch: a transaction (one sync) for up to REC_BATCH records, each
 * write its own savepoint. A transient failure rolls the batch back and
 * puts it back at the head of the queue. 0: written; else the error. */
static int write_batch(struct symbi_sched *s, bool starts)
{
    struct symbi_sched_policy pol;
    pthread_mutex_lock(&s->rq_lock);
    struct sched_rec *batch = by_job(take_batch(s, starts, &pol));
    pthread_mutex_unlock(&s->rq_lock);
    if (batch == NULL)
        return 0;
    struct symbi_store *st = starts && s->sst != NULL ? s->sst : s->rst;
    int64_t *failures = starts ? &s->start_failures : &s->rec_failures;
    struct symbi_err err = {0};
    int rc = symbi_store_begin(st, &err);
    for (struct sched_rec *r = batch; rc == 0 && r != NULL; r = r->next)
        rc = write_one(s, st, r, &pol, &err);
    if (rc == 0)
        rc = symbi_store_commit(st, &err);
    if (rc != 0) {
        symbi_store_rollback(st);
        if (!sched_store_transient(rc))
            rc = SYMBI_EIO; /* a failed begin or commit is never a refusal */
        if ((*failures)++ == 0) {
            pthread_mutex_lock(&s->rq_lock);
            long long queued = (long long)s->rec_queued;
            pthread_mutex_unlock(&s->rq_lock);
            symbi_log(SYMBI_LOG_ERROR, "scheduler",
                      "the store cannot write: run records wait and are retried with back-off "
                      "waiting=%lld error=\"%s\"",
                      queued, err.msg);
        }
        sched_note_store(s, false, true, err.msg);
        requeue(s, batch);
        return rc;
    }
    if (*failures > 0) {
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "the store writes again: waiting run records written failed_attempts=%lld",
                  (long long)*failures);
        *failures = 0;
        sched_note_store(s, false, false, NULL);
    }
    bool retries = false;
    int64_t n = 0;
    for (struct sched_rec *r = batch; starts && r != NULL; r = r->next)
        n++; /* the starter's batch: START records only, settled last */
    for (struct sched_rec *r = starts ? NULL : batch; r != NULL;) {
        struct sched_rec *next = r->next; /* r may be freed below */
        struct sched_entry *e = r->e;
        n++;
        if (r->kind == REC_FINISH && s->start_first &&
            atomic_load(&e->start_state) != START_WRITTEN) {
            sched_note_recorded(s, e); /* not started: nothing to say */
        } else if (r->kind == REC_FINISH) {
            finish_noted(s, e);
            sched_note_recorded(s, e); /* its outcome is in the store */
            retries |= e->rec_retry_queued;
        }
        if (r->kind != REC_START)
            sched_entry_put(e);
        r = next;
    }
    pthread_mutex_lock(&s->rq_lock);
    s->rec_queued -= n;
    pthread_mutex_unlock(&s->rq_lock);
    if (starts)
        starts_settled(s, batch, true); /* the batch's last use */
    if (retries)
        sched_signal(s, false); /* committed: the loop takes them when due */
    return 0;
}

/* At the stop's deadline: says, loudly, what could not be written (the
 * starter: its queue, whose waiting workers then do not execute). */
static void give_up(struct symbi_sched *s, bool starts)
{
    pthread_mutex_lock(&s->rq_lock);
    struct sched_rec **head = starts ? &s->start_head : &s->rec_head;
    struct sched_rec **tail = starts ? &s->start_tail : &s->rec_tail;
    struct sched_rec *r = *head;
    *head = *tail = NULL;
    int64_t n = 0;
    for (struct sched_rec *x = r; x != NULL; x = x->next)
        n++;
    s->rec_queued -= n;
    pthread_mutex_unlock(&s->rq_lock);
    if (starts) {
        starts_settled(s, r, false);
        if (n > 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler",
                      "stopping with %lld run(s) not started: their start could not be recorded",
                      (long long)n);
        return;
    }
    if (n > 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler",
                  "stopping with %lld run record(s) the store could not write", (long long)n);
    while (r != NULL) {
        struct sched_rec *next = r->next;
        struct sched_entry *e = r->e;
        if (r->kind == REC_START) {
            if (!atomic_load(&e->done))
                symbi_log(SYMBI_LOG_ERROR, "scheduler", "NOT WRITTEN: run %s job=%s started",
                          e->run.id, e->run.job_name ? e->run.job_name : "");
        } else {
            take_result(e);
            symbi_log(SYMBI_LOG_ERROR, "scheduler",
                      "NOT WRITTEN: run %s job=%s scheduled_at=%lld status=%s error=\"%s\"",
                      e->run.id, e->run.job_name ? e->run.job_name : "",
                      (long long)e->run.scheduled_at, symbi_run_status_name(e->run.status),
                      e->run.error_message ? e->run.error_message : "");
            sched_entry_put(e);
        }
        r = next;
    }
}

/* The back-off between failed batches, cut short when the loop saw the
 * store write again (sched_recorder_poke): the records then go at once,
 * not up to 5 s later. */
static void rest(struct symbi_sched *s, int64_t ms)
{
    struct timespec until;
    symbi_mono_deadline(ms, &until); /* rq_cond: monotonic (loop.c) */
    pthread_mutex_lock(&s->rq_lock);
    int64_t pokes = s->rq_pokes; /* a poke wakes the recorder and the starter */
    while (s->rq_pokes == pokes)
        if (pthread_cond_timedwait(&s->rq_cond, &s->rq_lock, &until) != 0)
            break;
    pthread_mutex_unlock(&s->rq_lock);
}

void sched_recorder_poke(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->rq_lock);
    s->rq_pokes++;
    pthread_cond_broadcast(&s->rq_cond);
    pthread_mutex_unlock(&s->rq_lock);
}

/* The recorder's loop (starts: the starter's, over the start queue). */
static void writer_loop(struct symbi_sched *s, bool starts)
{
    struct sched_rec **head = starts ? &s->start_head : &s->rec_head;
    for (;;) {
        pthread_mutex_lock(&s->rq_lock);
        while (*head == NULL && !s->rq_quit)
            pthread_cond_wait(&s->rq_cond, &s->rq_lock);
        bool empty = *head == NULL, quit = s->rq_quit;
        int64_t deadline = s->rq_flush_deadline_mono;
        pthread_mutex_unlock(&s->rq_lock);
        if (empty)
            return;
        if (write_batch(s, starts) == 0) {
            sched_yield(); /* let a waiting claim take the lock */
            continue;
        }
        int64_t wait = symbi_sched_claim_backoff_ms(starts ? s->start_failures : s->rec_failures);
        if (quit) {
            int64_t left = deadline - sched_mono(s);
            if (left <= 0) {
                give_up(s, starts);
                return;
            }
            wait = wait < left ? wait : left;
        }
        rest(s, wait);
    }
}

static void *recorder_main(void *arg)
{
    writer_loop(arg, false);
    return NULL;
}

static void *starter_main(void *arg)
{
    writer_loop(arg, true);
    return NULL;
}

int sched_recorder_start(struct symbi_sched *s, struct symbi_err *err)
{
    s->rpolicy = s->cfg.policy;
    int rc = symbi_store_open(s->store_url, &s->rst, err);
    if (rc == 0 && s->start_first)
        rc = symbi_store_open(s->store_url, &s->sst, err);
    if (rc != 0) {
        symbi_store_close(s->rst);
        s->rst = NULL;
        return rc;
    }
    if (pthread_create(&s->recorder, NULL, recorder_main, s) != 0) {
        symbi_store_close(s->rst);
        symbi_store_close(s->sst);
        s->rst = s->sst = NULL;
        return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the recorder thread");
    }
    s->have_recorder = true;
    if (s->sst != NULL) {
        if (pthread_create(&s->starter, NULL, starter_main, s) != 0) {
            sched_recorder_stop(s, sched_mono(s));
            return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the starter thread");
        }
        s->have_starter = true;
    }
    return 0;
}

void sched_recorder_stop(struct symbi_sched *s, int64_t deadline_mono)
{
    if (s->rst == NULL)
        return;
    if (s->have_recorder || s->have_starter) {
        pthread_mutex_lock(&s->rq_lock);
        s->rq_quit = true;
        s->rq_flush_deadline_mono = deadline_mono;
        pthread_cond_broadcast(&s->rq_cond);
        pthread_mutex_unlock(&s->rq_lock);
    }
    if (s->have_starter) {
        pthread_join(s->starter, NULL);
        s->have_starter = false;
    }
    if (s->have_recorder) {
        pthread_join(s->recorder, NULL);
        s->have_recorder = false;
    }
    symbi_store_close(s->sst);
    s->sst = NULL;
    symbi_store_close(s->rst);
    s->rst = NULL;
}

int64_t sched_recorder_flush(struct symbi_sched *s)
{
    for (;;) {
        pthread_mutex_lock(&s->rq_lock);
        bool starts = s->start_head != NULL;
        bool empty = s->rec_head == NULL && !starts;
        pthread_mutex_unlock(&s->rq_lock);
        if (empty || write_batch(s, starts) != 0)
            break;
    }
    pthread_mutex_lock(&s->rq_lock);
    int64_t n = s->rec_queued;
    pthread_mutex_unlock(&s->rq_lock);
    return n;
}
