/* worker.c - the scheduler's workers: each takes a started run, executes
 * it (one call: the run pipeline, or the test's runner) and hands it back
 * to the loop (its run note, notes.c, made first). */
#include "sched/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- workers ---- */

/* A worker's stack: a run's deepest path (the agent runner's frames, ~135 KB,
 * then getpwnam_r and NSS for a sandbox user) fits 512 KB with room. glibc
 * carves a thread's static TLS out of the stack it is given, and
 * ThreadSanitizer's runtime keeps ~770 KB of per-thread state there (its
 * pthread_create then raises a smaller stack to TLS + 128 KB only), so under
 * TSan the stack gets that much more; no other build changes. */
#if defined(__SANITIZE_THREAD__)
#define WORKER_TLS_ROOM (1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WORKER_TLS_ROOM (1024 * 1024)
#endif
#endif
#ifndef WORKER_TLS_ROOM
#define WORKER_TLS_ROOM 0
#endif
#define WORKER_STACK (512 * 1024 + WORKER_TLS_ROOM)

/* Executes e through the run pipeline (symbi_exec_run: steps 2-6) with its
 * job as claimed (read now when the claim could not copy it) and the
 * workers' shared store handles, filling e->out: the one call a worker
 * makes per run. */
static void execute_run(struct symbi_sched *s, struct sched_entry *e)
{
    struct symbi_err err = {0};
    int rc = 0;
    if (!e->have_job) {
        struct symbi_store *st = symbi_exec_pool_get(s->pool, &err);
        rc = st != NULL ? symbi_store_job_get(st, e->run.job_id, &e->job, &err) : err.code;
        symbi_exec_pool_put(s->pool, st);
        e->have_job = rc == 0;
    }
    if (rc == 0) {
        pthread_mutex_lock(&s->exec_lock); /* a reload may be replacing it */
        struct symbi_exec_config xc = s->cfg.exec;
        xc.max_output_bytes = s->cfg.max_output_bytes;
        xc.kill_grace_ms = s->cfg.kill_grace_ms;
        pthread_mutex_unlock(&s->exec_lock);
        xc.environment = s->environment;
        xc.data_dir = s->data_dir;
        xc.clock = s->clock;
        xc.runner = s->cfg.runner;
        xc.runner_ud = s->cfg.runner_ud;
        struct sched_group_note note = {s, e->run.id};
        struct symbi_exec_request xr = {
            .pool = s->pool,
            .job = &e->job,
            .agent = e->have_agent ? &e->agent : NULL,
            .cancel = &s->cancel,
            .on_group = s->data_dir != NULL ? sched_note_group : NULL,
            .on_group_ud = &note,
        };
        rc = symbi_exec_run(&xc, &xr, &e->run, &e->out, &err);
    }
    if (rc != 0) {
        symbi_run_init(&e->out);
        e->out.status = SYMBI_RUN_FAILED;
        e->out.error_message = symbi_strdup(err.msg[0] ? err.msg : symbi_strerror(rc));
    }
}

/* Start-before-exec (docs/cluster.md): on a store several nodes share, the
 * run executes only once the recorder committed its `running` mark (with
 * this node's lease epoch), so that a node dying from then on leaves a run
 * recovery interrupts and retries, never one that looks unstarted and
 * runs again under the same id. The wait ends unwritten when the mark is
 * refused (the run is no longer this node's) or the stop's cancellation
 * fires first. Whether the run executes. */
static bool start_recorded(struct symbi_sched *s, struct sched_entry *e)
{
    if (!s->start_first)
        return true;
    if (s->stepped)
        sched_recorder_flush(s); /* the caller's thread writes */
    pthread_mutex_lock(&s->rq_lock);
    while (atomic_load(&e->start_state) == START_PENDING && !atomic_load(&s->cancel.cancelled)) {
        /* start_cond waits on the monotonic clock (loop.c); the
         * cancellation is polled */
        struct timespec until;
        symbi_mono_deadline(100, &until);
        pthread_cond_timedwait(&s->start_cond, &s->rq_lock, &until);
        if (s->stepped)
            break;
    }
    pthread_mutex_unlock(&s->rq_lock);
    int want = START_PENDING;
    atomic_compare_exchange_strong(&e->start_state, &want, START_NOT_WRITTEN);
    return atomic_load(&e->start_state) == START_WRITTEN;
}

void sched_work_one(struct symbi_sched *s, struct sched_entry *e)
{
    if (start_recorded(s, e)) {
        sched_note_started(s, e); /* before anything of the run happens */
        execute_run(s, e);
    } else {
        e->journal_gen = -1;
        symbi_run_init(&e->out);
        e->out.status = SYMBI_RUN_FAILED; /* not written: the recorder drops it */
    }
    e->finished_wall = sched_wall(s);
    atomic_store(&e->done, true);
    pthread_mutex_lock(&s->lock);
    sched_list_push(&s->done_head, &s->done_tail, e);
    s->woken = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static struct sched_entry *take_work(struct symbi_sched *s, bool wait)
{
    pthread_mutex_lock(&s->wq_lock);
    while (wait && s->work_head == NULL && !s->wq_quit)
        pthread_cond_wait(&s->wq_cond, &s->wq_lock);
    struct sched_entry *e = s->work_head;
    if (e != NULL) {
        s->work_head = e->next;
        if (s->work_head == NULL)
            s->work_tail = NULL;
    }
    pthread_mutex_unlock(&s->wq_lock);
    return e;
}

static void *worker_main(void *arg)
{
    struct symbi_sched *s = arg;
    for (struct sched_entry *e; (e = take_work(s, true)) != NULL;)
        sched_work_one(s, e);
    return NULL;
}

int sched_work_run(struct symbi_sched *s, int max)
{
    int n = 0;
    for (struct sched_entry *e; n < max && (e = take_work(s, false)) != NULL; n++)
        sched_work_one(s, e);
    return n;
}

int sched_add_workers(struct symbi_sched *s, int want)
{
    if (s->stepped)
        return 0;
    if (want > SCHED_MAX_WORKERS)
        want = SCHED_MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    int rc = 0;
    while (s->n_workers < want) {
        if (pthread_create(&s->workers[s->n_workers], &attr, worker_main, s) != 0) {
            rc = SYMBI_ENOMEM;
            break;
        }
        s->n_workers++;
    }
    pthread_attr_destroy(&attr);
    return rc;
}

void sched_stop_workers(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->wq_lock);
    s->wq_quit = true;
    pthread_cond_broadcast(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
}
