/* notify.c - waking the loop on another node's change (SPEC §5.1, §13): a
 * thread with its own store handle waits for the store's change
 * notifications (PostgreSQL LISTEN/NOTIFY) and wakes the loop, so a job
 * added or a manual run queued anywhere is claimed at once instead of at
 * the next tick. A backend that cannot wait (SQLite) gets no thread. */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <time.h>

#define NOTIFY_WAIT_MS    500 /* bounds how long a stop waits for the thread */
#define NOTIFY_BACKOFF_MS 1000

static void *notify_main(void *arg)
{
    struct symbi_sched *s = arg;
    int64_t failures = 0;
    while (!atomic_load(&s->notify_quit)) {
        bool changed = false;
        struct symbi_err err = {0};
        int rc = symbi_store_wait_change(s->nst, NOTIFY_WAIT_MS, &changed, &err);
        if (rc != 0) {
            /* the connection is gone: the store reconnects on the next
             * call; meanwhile the loop's tick notices changes */
            if (failures++ == 0)
                symbi_log(SYMBI_LOG_WARN, "scheduler",
                          "waiting for changes failed, the tick takes over: %s", err.msg);
            struct timespec ts = {NOTIFY_BACKOFF_MS / 1000, (NOTIFY_BACKOFF_MS % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (failures > 0)
            symbi_log(SYMBI_LOG_INFO, "scheduler", "waiting for changes again after %lld failures",
                      (long long)failures);
        failures = 0;
        if (changed) {
            pthread_mutex_lock(&s->lock);
            s->stats.notifications++;
            pthread_mutex_unlock(&s->lock);
            sched_signal(s, true);
        }
    }
    return NULL;
}

void sched_notify_start(struct symbi_sched *s)
{
    struct symbi_err err = {0};
    if (symbi_store_open(s->store_url, &s->nst, &err) != 0)
        return;
    /* a first wait of 0 ms says whether the backend can wait at all (and
     * subscribes, so no change after this point is missed) */
    bool changed = false;
    if (symbi_store_wait_change(s->nst, 0, &changed, &err) == SYMBI_EUNSUPPORTED) {
        symbi_store_close(s->nst);
        s->nst = NULL;
        return;
    }
    atomic_store(&s->notify_quit, false);
    if (pthread_create(&s->notify_thread, NULL, notify_main, s) != 0) {
        symbi_store_close(s->nst);
        s->nst = NULL;
        return;
    }
    s->have_notify = true;
    symbi_log(SYMBI_LOG_INFO, "scheduler", "woken by the store's change notifications (%s)",
              symbi_store_backend(s->nst));
}

void sched_notify_stop(struct symbi_sched *s)
{
    if (s->have_notify) {
        atomic_store(&s->notify_quit, true);
        pthread_join(s->notify_thread, NULL);
        s->have_notify = false;
    }
    symbi_store_close(s->nst);
    s->nst = NULL;
}
