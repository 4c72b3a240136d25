/* sched_int.h - private structures of the scheduler loop: the in-memory run
 * entry, its min-heap (ordered by due_at, then claim order) and the per-job
 * counters used for the per-job limit. */
#ifndef SYMBI_SCHED_INT_H
#define SYMBI_SCHED_INT_H

#include "symbi/agent.h"
#include "symbi/sched.h"

#include <pthread.h>
#include <stdatomic.h>

struct sched_entry;

/* a place in the recorder's queue; an entry has two, so that its START
 * may still be queued when its FINISH is */
struct sched_rec {
    struct sched_rec *next;
    struct sched_entry *e;
    int kind; /* enum rec_kind */
};

/* a run claimed by this node, from claim to its recorded outcome */
struct sched_entry {
    struct symbi_run run; /* owned */
    uint64_t seq;         /* claim order: equal due_at start in order */
    size_t heap_idx;
    /* what the run needs of its job, copied at claim time */
    int max_concurrent;
    int64_t starting_deadline_ms;
    struct symbi_agent_def agent;
    bool have_agent;
    struct symbi_job job; /* as claimed: what the executor runs with */
    bool have_job;
    bool counted;      /* holds a place in the job's in-flight count */
    int64_t seen_mark; /* the store's change mark when it was last known waiting */
    /* filled by the worker: the run with its outcome (symbi_exec_run) */
    struct symbi_run out;
    int64_t finished_wall;
    atomic_bool done;
    bool started;      /* handed to a worker */
    bool result_taken; /* the recorder moved out into run (once) */
    /* the recorder's decision for the outcome, noted once it is written */
    bool rec_counts_failure, rec_dead, rec_retry_queued;
    int rec_max_retries;
    int64_t rec_retry_due;
    struct sched_rec start_rec, final_rec;
    int journal_gen; /* its journal file (notes.c), -1 when none */
    /* start-before-exec (shared stores): START_PENDING until the recorder's
     * batch with its `running` mark committed (START_WRITTEN) or it was not
     * written (START_NOT_WRITTEN: refused, or given up at a stop) */
    atomic_int start_state;
    /* 2 while its START sits with the starter (start-before-exec): the
     * starter, done with that record, and the recorder, done with the
     * outcome, each give one up and the second frees the entry; 0 when no
     * starter holds it (the recorder frees it alone) */
    atomic_int owners;
    bool start_refused;       /* the recorder's: the START write was refused */
    struct sched_entry *next; /* work / done lists */
};

enum start_state { START_PENDING = 0, START_WRITTEN, START_NOT_WRITTEN };

/* Frees e once no writer holds it any more (the `owners` rule above);
 * the recorder's and the starter's last touch of the entry. */
void sched_entry_put(struct sched_entry *e);

/* what the recorder thread writes for an entry */
enum rec_kind {
    REC_START = 1, /* the run started: record `running` unless already done */
    REC_FINISH,    /* the run finished: outcome, counters, retry; frees it */
    REC_UPDATE,    /* write the run as it is (skipped, missed, released); frees it */
};

struct sched_heap {
    struct sched_entry **v;
    size_t n;
    size_t cap;
};

void sched_heap_init(struct sched_heap *h);
void sched_heap_cleanup(struct sched_heap *h); /* frees the array, not entries */
int sched_heap_push(struct sched_heap *h, struct sched_entry *e);
struct sched_entry *sched_heap_top(const struct sched_heap *h);
struct sched_entry *sched_heap_pop(struct sched_heap *h);

/* job id -> (in flight, running) */
struct sched_count {
    char job_id[SYMBI_UUID_LEN + 1];
    int in_flight; /* waiting for a slot or running */
    int running;
};
struct sched_counts {
    struct sched_count *v;
    size_t cap; /* power of two */
    size_t n;
};
void sched_counts_init(struct sched_counts *c);
void sched_counts_cleanup(struct sched_counts *c);
/* The counter of job_id (created when create is true; NULL when absent or
 * out of memory). */
struct sched_count *sched_counts_get(struct sched_counts *c, const char *job_id, bool create);
/* Forgets job_id when both of its counters are zero. */
void sched_counts_release(struct sched_counts *c, const char *job_id);

/* ---- the scheduler ---- */

#define SCHED_MAX_WORKERS  1024
#define SCHED_POOL_HANDLES 4 /* store handles the workers share */

/* a run note found at start (notes.c): the run had started */
struct sched_noted {
    char id[SYMBI_UUID_LEN + 1];
    int64_t at; /* the note's time, wall ms: when it started, about */
};

/* the journal of started runs (notes.c) */
struct sched_journal {
    pthread_mutex_t mu;
    bool open;
    int fd[2];             /* running/started.0 and .1 */
    int cur;               /* the file new runs go to */
    int64_t unrecorded[2]; /* runs in each file whose outcome is not committed */
    int64_t bytes[2];
};

/* what a claimed run needs of its job, noted by the planner during the
 * claim so that adopting the runs reads nothing back from the store */
struct sched_jobinfo {
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job job;
};

struct symbi_pruner;
/* The pruner (prune.c): a thread of its own with its own store handle that
 * applies the retention bounds every interval_ms; *out stays NULL when every
 * bound is off. Stop joins it (NULL is a no-op). */
int symbi_pruner_start(const char *store_url, const struct symbi_retention *keep,
                       int64_t interval_ms, struct symbi_pruner **out);
void symbi_pruner_stop(struct symbi_pruner *p);

/* One reload's executor strings (symbi_sched_reconfigure). */
struct sched_exec_gen {
    struct sched_exec_gen *prev;
    char *llm_endpoint;
};

struct symbi_sched {
    struct symbi_sched_config cfg; /* strings below are our copies */
    struct symbi_pruner *pruner;   /* retention, off the dispatch path */
    char *store_url, *node, *environment, *data_dir;
    /* the executor's strings, owned: the caller's configuration may be
     * replaced (SIGHUP) while runs go on */
    char *exec_environment, *exec_data_dir, *exec_llm_endpoint;
    /* cfg.exec's reloadable part (hooks, llm_endpoint, context bound) and
     * the output bound and kill grace, which a reload replaces while
     * workers copy them; each reload's strings live until the scheduler is
     * freed, since a run that started before may still read them */
    pthread_mutex_t exec_lock;
    struct sched_exec_gen *exec_gens;
    const struct symbi_clock *clock;
    /* stepped: no threads; a test drives sched_tick, sched_work_run and
     * sched_recorder_flush itself (tests/unit/test_sched_loop.c) */
    bool stepped;

    pthread_mutex_t lock; /* guards the fields down to `have_pending_cfg` */
    pthread_cond_t cond;  /* the loop sleeps on it (CLOCK_MONOTONIC) */
    bool woken, refresh, stopping, started, stopped;
    struct sched_entry *done_head, *done_tail; /* finished by workers */
    struct symbi_sched_stats stats;
    int64_t exec_ms_total;
    int64_t retry_due;                     /* earliest retry queued by the recorder */
    bool claim_failing, rec_failing;       /* the store's writes (stats.store_*) */
    struct symbi_sched_config pending_cfg; /* its exec strings: exec_gens' */
    bool have_pending_cfg, have_pending_exec;

    pthread_mutex_t wq_lock; /* the workers' queue */
    pthread_cond_t wq_cond;
    struct sched_entry *work_head, *work_tail;
    bool wq_quit;
    pthread_t workers[SCHED_MAX_WORKERS];
    int n_workers;

    pthread_mutex_t rq_lock; /* the recorder's queue */
    pthread_cond_t rq_cond;
    struct sched_rec *rec_head, *rec_tail;
    /* start-before-exec (docs/cluster.md): on a store several nodes share
     * a worker executes a run only once its `running` mark is committed;
     * those START records have their own queue, written first, and the
     * workers wait on start_cond (rq_lock) */
    bool start_first;
    struct sched_rec *start_head, *start_tail;
    pthread_cond_t start_cond;
    pthread_t starter; /* writes the start queue, its own handle */
    bool have_starter;
    struct symbi_store *sst;
    int64_t start_failures;
    int64_t rec_queued; /* records in the queue */
    bool rq_quit;
    int64_t rq_flush_deadline_mono; /* after rq_quit: give up writing then */
    pthread_t recorder;
    bool have_recorder;
    struct symbi_store *rst; /* the recorder's handle */
    struct symbi_sched_policy rpolicy;
    int64_t rec_failures; /* consecutive failed write batches */
    int64_t rq_pokes;     /* the store writes again: retry now (rq_lock) */

    pthread_t loop_thread;
    /* change notifications (notify.c): their own handle and thread */
    struct symbi_store *nst;
    pthread_t notify_thread;
    bool have_notify;
    atomic_bool notify_quit;
    struct symbi_agent_cancel cancel;
    struct symbi_exec_pool *pool; /* the workers' store handles */

    /* owned by the loop thread */
    struct symbi_store *st;
    struct sched_heap timers; /* claimed, due later (jitter, lookahead) */
    struct sched_heap ready;  /* due, waiting for a slot */
    struct sched_counts counts;
    struct symbi_sched_planner planner;
    int running;
    uint64_t seq;
    int64_t change_mark;       /* the store's mark at the last claim */
    int64_t approvals_checked; /* wall ms of the last approval-timeout sweep */
    int64_t claim_at;          /* wall: the next claim is due then */
    int64_t claim_after_mono;  /* back-off: no claim before this */
    bool held_full;            /* claims paused: max_held fires held (said once) */
    int64_t claim_failures;    /* consecutive failed claims */
    int64_t claim_failed_since;
    int64_t lease_failures;
    int64_t next_heartbeat_mono;
    int64_t epoch;             /* the lease epoch this node holds (lease.c) */
    int64_t lease_ok_mono;     /* the last renewal the store confirmed */
    int64_t lease_until;       /* wall: the end that renewal wrote (INT64_MIN: none) */
    int64_t next_recover_mono; /* the next pass over dead nodes' runs */
    int64_t recover_failures;
    int64_t started_mono;
    struct sched_jobinfo *infos; /* this claim's jobs */
    size_t n_infos, cap_infos, info_cursor;
    struct symbi_agent_def *agents; /* by name, dropped when the store changes */
    size_t n_agents;
    struct sched_journal journal;
    struct sched_noted *noted; /* runs noted started by the previous incarnation */
    size_t n_noted, cap_noted;
};

void sched_entry_free(struct sched_entry *e);
void sched_list_push(struct sched_entry **head, struct sched_entry **tail, struct sched_entry *e);
int64_t sched_wall(const struct symbi_sched *s);
int64_t sched_mono(const struct symbi_sched *s);
/* Wakes the loop (from any thread). */
void sched_signal(struct symbi_sched *s, bool refresh);

/* ---- the tick (loop.c) ----
 * Runs everything due at (now_wall, now_mono): timers whose instant came,
 * finished runs, dispatch, and when it is due the lease, configuration and
 * the claim. Returns the wall instant to wake at. */
int64_t sched_tick(struct symbi_sched *s, int64_t now_wall, int64_t now_mono);

/* ---- claiming (claim.c) ---- */
/* Claims due fires and unowned queued runs when the claim is due (or
 * `force`), with the back-off while the store cannot write. */
void sched_claim(struct symbi_sched *s, int64_t now, int64_t mono, bool force);
void sched_agents_clear(struct symbi_sched *s);
void sched_infos_clear(struct symbi_sched *s);

/* ---- dispatch (dispatch.c) ---- */
/* Moves due timers to the ready heap (deciding the per-job skip at each
 * instant), takes finished runs, starts what the limits allow. */
void sched_run_due(struct symbi_sched *s, int64_t now);
/* A claimed run enters the timers (due later) or is decided due now. */
void sched_adopt(struct symbi_sched *s, struct sched_entry *e, int64_t now);
/* Records e (not counted in) as settled without running (skipped,
 * missed, failed), with why as its error_message. */
void sched_settle(struct symbi_sched *s, struct sched_entry *e, enum symbi_run_status status,
                  const char *why, int64_t now);
int sched_drain_done(struct symbi_sched *s);
void sched_set_in_flight_stats(struct symbi_sched *s);

/* ---- workers (worker.c) ---- */
int sched_add_workers(struct symbi_sched *s, int want);
void sched_stop_workers(struct symbi_sched *s);
/* Executes one run and marks it done (a worker's body). */
void sched_work_one(struct symbi_sched *s, struct sched_entry *e);
/* stepped: executes up to max queued runs on the caller's thread; the
 * number executed. */
int sched_work_run(struct symbi_sched *s, int max);

/* ---- run notes (notes.c) ---- */
struct sched_group_note {
    const struct symbi_sched *s;
    const char *run_id;
};
/* The journal of started runs (notes.c): opened at start after recovery
 * (0, or SYMBI_EIO), closed at the end; no journal without a data dir. */
int sched_journal_open(struct symbi_sched *s);
void sched_journal_close(struct symbi_sched *s);
/* e's run id appended before it executes; counted off once its outcome is
 * committed. */
void sched_note_started(struct symbi_sched *s, struct sched_entry *e);
void sched_note_recorded(struct symbi_sched *s, struct sched_entry *e);
/* The executor's on_group callback (ud: a struct sched_group_note): the
 * agent's group id in running/<run id> while it lives. */
void sched_note_group(void *ud, int pgid);
/* At start: kills the groups the group notes name and keeps the journal's
 * run ids (s->noted) for sched_recover. */
void sched_kill_orphans(struct symbi_sched *s);
/* Inside recovery's transaction: the noted runs the store still says are
 * queued by this node started before the crash: marked running (then
 * interrupted by the recovery). *marked: how many. 0 or the store's error. */
int sched_mark_noted_started(struct symbi_sched *s, size_t *marked, struct symbi_err *err);
/* After recovery committed: empties the journal and forgets its ids. */
void sched_notes_forget(struct symbi_sched *s);

/* ---- the lease (lease.c) ---- */
/* Whether this node may claim and start runs: its lease was confirmed by
 * the store recently enough (two thirds of lease_ms). */
bool sched_lease_held(const struct symbi_sched *s, int64_t mono);
/* Whether, by the wall clock now (stepped forward), the store finds within a
 * tick the lease this node last wrote expired: it is renewed before a claim,
 * which must never stamp a lapsed lease (lease.c). */
bool sched_lease_lapsed(const struct symbi_sched *s, int64_t now);
/* Renews the lease when due (or `force`); a new epoch means the lease had
 * been lost: the held runs that did not start are dropped. */
void sched_lease_renew(struct symbi_sched *s, int64_t now, int64_t mono, bool force);
/* The periodic recovery of dead nodes' runs while running. */
void sched_recover_due(struct symbi_sched *s, int64_t now, int64_t mono);

/* ---- change notifications (notify.c) ---- */
/* Starts the thread that wakes the loop on the store's notifications
 * (nothing where the backend cannot wait); stop joins it. */
void sched_notify_start(struct symbi_sched *s);
void sched_notify_stop(struct symbi_sched *s);

/* ---- start and stop (shutdown.c) ---- */
/* Recovery of dead nodes' runs (at start, then periodically): interrupted
 * and their retries queued in one transaction; the number recovered or a
 * negative error (logged once per state change). */
int sched_recover(struct symbi_sched *s, int64_t now);
/* A clean stop's first step: every held run that did not start is given
 * back (scheduled fires) or released (retries, manual runs), one
 * transaction, retried while the store cannot write until deadline_mono. */
void sched_give_back(struct symbi_sched *s, int64_t deadline_mono);
/* One step of waiting for the running runs: takes finished ones, fires the
 * cancellation past deadline_mono; the number still running. */
int sched_shutdown_poll(struct symbi_sched *s, int64_t deadline_mono, bool *cancelled);
/* Opens the stores and recovers without threads (stepped mode). */
int sched_open_stepped(struct symbi_sched *s, struct symbi_err *err);

/* ---- the recorder (record.c) ---- */
int sched_recorder_start(struct symbi_sched *s, struct symbi_err *err);
void sched_record(struct symbi_sched *s, struct sched_entry *e, enum rec_kind kind);
/* Stops the recorder once everything is written, or at deadline_mono,
 * logging each record it could not write. */
void sched_recorder_stop(struct symbi_sched *s, int64_t deadline_mono);
/* stepped: one attempt at writing everything queued, no sleeping; the
 * number of records still unwritten. */
int64_t sched_recorder_flush(struct symbi_sched *s);
/* Whether a store error is worth retrying (the disk is full, the store is
 * busy or failing) rather than a refusal that will not change. */
bool sched_store_transient(int code);
/* The store writes again (a claim went through): the recorder stops
 * backing off and writes what waits. */
void sched_recorder_poke(struct symbi_sched *s);
/* Notes the store's write state for health and logs its changes once. */
void sched_note_store(struct symbi_sched *s, bool claim, bool failing, const char *msg);

#endif
