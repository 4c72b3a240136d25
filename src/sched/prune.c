/* prune.c - the scheduler's pruner (SPEC §13.1): a low-priority thread with
 * its own store handle that deletes old history in small batches. */
#include "sched/sched_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Each batch is one write transaction, so it holds the store's write lock
 * (which the scheduler's claims and records need) for its whole length: the
 * batch size adapts to keep that under PRUNE_HOLD_MS, and the pruner pauses
 * between batches. */
#define PRUNE_BATCH_MIN 10
#define PRUNE_BATCH_MAX 1000
#define PRUNE_HOLD_MS   8
#define PRUNE_PAUSE_MS  12
#define PRUNE_FIRST_MS  1000 /* the first pass, after start-up */

struct symbi_pruner {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    char *url;
    struct symbi_retention keep;
    int64_t interval_ms;
};

/* Sleeps up to ms or until stopped; true when stopped. */
static bool nap(struct symbi_pruner *p, int64_t ms)
{
    struct timespec ts;
    symbi_mono_deadline(ms, &ts);
    pthread_mutex_lock(&p->lock);
    while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &ts) == 0)
        ;
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

static void pass(struct symbi_pruner *p, struct symbi_store *st)
{
    struct symbi_retention r = p->keep;
    r.now = symbi_now_wall_ms();
    struct symbi_prune_counts total = {0}, c;
    struct symbi_err err = {0};
    int64_t batch = 100;
    for (;;) {
        int64_t t0 = symbi_now_mono_ms();
        if (symbi_store_prune(st, &r, batch, false, &c, &err) != 0) {
            symbi_log(SYMBI_LOG_WARN, "store", "prune failed: %s", err.msg);
            break;
        }
        int64_t took = symbi_now_mono_ms() - t0;
        if (took > PRUNE_HOLD_MS && batch / 2 >= PRUNE_BATCH_MIN)
            batch /= 2;
        else if (took < PRUNE_HOLD_MS / 2 && batch * 2 <= PRUNE_BATCH_MAX)
            batch *= 2;
        total.runs += c.runs;
        total.audit += c.audit;
        total.contexts += c.contexts;
        if (c.runs + c.audit + c.contexts == 0 || nap(p, PRUNE_PAUSE_MS))
            break;
    }
    if (total.runs + total.audit + total.contexts > 0)
        symbi_log(SYMBI_LOG_INFO, "store",
                  "pruned runs=%lld audit_events=%lld context_entries=%lld", (long long)total.runs,
                  (long long)total.audit, (long long)total.contexts);
}

static void *pruner_main(void *arg)
{
    struct symbi_pruner *p = arg;
    /* below the dispatch path: a nicer thread (Linux nice is per thread) */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    if (nap(p, PRUNE_FIRST_MS))
        return NULL;
    if (symbi_store_open(p->url, &st, &err) != 0) {
        symbi_log(SYMBI_LOG_WARN, "store", "pruner: cannot open the store: %s", err.msg);
        return NULL;
    }
    do
        pass(p, st);
    while (!nap(p, p->interval_ms));
    symbi_store_close(st);
    return NULL;
}

int symbi_pruner_start(const char *store_url, const struct symbi_retention *keep,
                       int64_t interval_ms, struct symbi_pruner **out)
{
    *out = NULL;
    if (keep->keep_runs_ms <= 0 && keep->keep_runs_per_job <= 0 && keep->keep_audit_ms <= 0)
        return 0; /* nothing to prune */
    struct symbi_pruner *p = calloc(1, sizeof *p);
    if (p == NULL || (p->url = symbi_strdup(store_url)) == NULL) {
        free(p);
        return SYMBI_ENOMEM;
    }
    p->keep = *keep;
    p->interval_ms = interval_ms > 0 ? interval_ms : 600000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->thread, NULL, pruner_main, p) != 0) {
        symbi_log(SYMBI_LOG_WARN, "store", "pruner: cannot start its thread; history is kept");
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->url);
        free(p);
        return SYMBI_EIO;
    }
    *out = p;
    return 0;
}

void symbi_pruner_stop(struct symbi_pruner *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->url);
    free(p);
}
