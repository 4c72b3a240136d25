/* lease.c - the node's lease (SPEC §5.6, §13): renewed while the loop
 * runs, its epoch watched (a lease that had expired comes back with a new
 * epoch, and what the node held under the old one is recovery's), the
 * recovery of dead nodes' runs while running, and no claim or dispatch on
 * a lease this node cannot be sure it still holds. */
#include "sched/sched_int.h"

#include <stdlib.h>

/* The lease is trusted for two thirds of its length after the last renewal
 * that the store confirmed: a renewal is due every third, so a node that
 * cannot renew stops claiming and starting runs well before another node
 * may take them over. */
static int64_t trusted_ms(const struct symbi_sched *s)
{
    return s->cfg.lease_ms - s->cfg.lease_ms / 3;
}

bool sched_lease_held(const struct symbi_sched *s, int64_t mono)
{
    return s->lease_ok_mono != INT64_MIN && mono - s->lease_ok_mono < trusted_ms(s);
}

bool sched_lease_lapsed(const struct symbi_sched *s, int64_t now)
{
    return s->lease_until != INT64_MIN && now + s->cfg.tick_interval_ms >= s->lease_until;
}

/* Drops every held run that did not start, without a store write: the
 * store has them under the old epoch, so recovery releases them (queued,
 * unowned) for any node's claim. */
static size_t drop_held(struct symbi_sched *s)
{
    size_t n = 0;
    struct sched_heap *heaps[2] = {&s->ready, &s->timers};
    for (int h = 0; h < 2; h++)
        for (struct sched_entry *e; (e = sched_heap_pop(heaps[h])) != NULL; n++) {
            struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, false);
            if (c != NULL && e->counted && c->in_flight > 0)
                c->in_flight--;
            sched_counts_release(&s->counts, e->run.job_id);
            sched_entry_free(e);
        }
    sched_set_in_flight_stats(s);
    return n;
}

static void lease_lost(struct symbi_sched *s, int64_t old_epoch, int64_t now)
{
    size_t dropped = drop_held(s);
    symbi_log(SYMBI_LOG_ERROR, "scheduler",
              "lease lost: node %s had not renewed in time and holds a new lease epoch "
              "old_epoch=%lld epoch=%lld dropped_unstarted=%zu running=%d (their outcomes are "
              "refused; recovery interrupts and retries them)",
              s->node, (long long)old_epoch, (long long)s->epoch, dropped, s->running);
    pthread_mutex_lock(&s->lock);
    s->stats.lease_losses++;
    pthread_mutex_unlock(&s->lock);
    /* take back now what the old epoch left, then claim afresh */
    s->next_recover_mono = INT64_MIN;
    s->claim_at = now;
}

void sched_lease_renew(struct symbi_sched *s, int64_t now, int64_t mono, bool force)
{
    if (!force && mono < s->next_heartbeat_mono)
        return;
    struct symbi_err err;
    int64_t epoch = 0;
    int64_t every = s->cfg.tick_interval_ms;
    if (every > s->cfg.lease_ms / 3)
        every = s->cfg.lease_ms / 3;
    s->next_heartbeat_mono = mono + (every > 0 ? every : 1000);
    if (symbi_store_node_lease(s->st, s->node, now, s->cfg.lease_ms, &epoch, &err) != 0) {
        /* said once per state change, like the claim's failures */
        if (s->lease_failures++ == 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "lease renewal failed: %s", err.msg);
        return;
    }
    if (s->lease_failures > 0) {
        symbi_log(SYMBI_LOG_WARN, "scheduler", "lease renewed again after %lld failures",
                  (long long)s->lease_failures);
        s->lease_failures = 0;
    }
    /* the renewal was sent at `mono`: the lease runs from then */
    s->lease_ok_mono = mono;
    s->lease_until = now + s->cfg.lease_ms;
    int64_t old = s->epoch;
    s->epoch = epoch;
    pthread_mutex_lock(&s->lock);
    s->stats.lease_epoch = epoch;
    pthread_mutex_unlock(&s->lock);
    if (old != 0 && epoch != old)
        lease_lost(s, old, now);
}

void sched_recover_due(struct symbi_sched *s, int64_t now, int64_t mono)
{
    if (mono < s->next_recover_mono || !sched_lease_held(s, mono))
        return;
    /* a tenth of the lease (at least a tick, at most a third): a dead
     * node's runs are taken over soon after its lease ran out */
    int64_t every = s->cfg.lease_ms / 10;
    if (every < s->cfg.tick_interval_ms)
        every = s->cfg.tick_interval_ms;
    if (every > s->cfg.lease_ms / 3)
        every = s->cfg.lease_ms / 3;
    s->next_recover_mono = mono + (every > 0 ? every : 1000);
    if (sched_recover(s, now) > 0)
        s->claim_at = now; /* the retries are queued: take them */
}
