/* sched_int.h - private structures of the scheduler loop: the in-memory run
 * entry, its min-heap (ordered by due_at, then claim order) and the per-job
 * counters used for the per-job limit. */
#ifndef SYMBI_SCHED_INT_H
#define SYMBI_SCHED_INT_H

#include "symbi/agent.h"
#include "symbi/sched.h"

#include <pthread.h>

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
    int64_t max_runtime_ms;
    char *session_mode;
    struct symbi_agent_def agent;
    bool have_agent;
    bool counted; /* holds a place in the job's in-flight count */
    /* filled by the worker */
    struct symbi_agent_result res;
    int64_t finished_wall;
    atomic_bool done;
    bool started; /* handed to a worker */
    struct sched_rec start_rec, final_rec;
    struct sched_entry *next; /* work / done lists */
};

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

#define SCHED_MAX_WORKERS 1024

/* what a claimed run needs of its job, noted by the planner during the
 * claim so that adopting the runs reads nothing back from the store */
struct sched_jobinfo {
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job job;
};

struct symbi_sched {
    struct symbi_sched_config cfg; /* strings below are our copies */
    char *store_url, *node, *environment, *data_dir;

    pthread_mutex_t lock; /* guards the fields down to `have_pending_cfg` */
    pthread_cond_t cond;  /* the loop sleeps on it (CLOCK_MONOTONIC) */
    bool woken, refresh, stopping, started, stopped;
    struct sched_entry *done_head, *done_tail; /* finished by workers */
    struct symbi_sched_stats stats;
    int64_t exec_ms_total;
    int64_t retry_due; /* earliest retry queued by the recorder */
    struct symbi_sched_config pending_cfg;
    bool have_pending_cfg;

    pthread_mutex_t wq_lock; /* the workers' queue */
    pthread_cond_t wq_cond;
    struct sched_entry *work_head, *work_tail;
    bool wq_quit;
    pthread_t workers[SCHED_MAX_WORKERS];
    int n_workers;

    pthread_mutex_t rq_lock; /* the recorder's queue */
    pthread_cond_t rq_cond;
    struct sched_rec *rec_head, *rec_tail;
    bool rq_quit;
    pthread_t recorder;
    struct symbi_store *rst; /* the recorder's handle */
    struct symbi_sched_policy rpolicy;

    pthread_t loop_thread;
    struct symbi_agent_cancel cancel;

    /* owned by the loop thread */
    struct symbi_store *st;
    struct sched_heap timers; /* claimed, due later (jitter, lookahead) */
    struct sched_heap ready;  /* due, waiting for a slot */
    struct sched_counts counts;
    struct symbi_sched_planner planner;
    int running;
    uint64_t seq;
    int64_t change_mark;
    int64_t next_heartbeat_mono;
    int64_t started_mono;
    struct sched_jobinfo *infos; /* this claim's jobs */
    size_t n_infos, cap_infos, info_cursor;
    struct symbi_agent_def *agents; /* by name, dropped when the store changes */
    size_t n_agents;
};

void sched_entry_free(struct sched_entry *e);
void sched_list_push(struct sched_entry **head, struct sched_entry **tail, struct sched_entry *e);

/* the recorder thread (record.c) */
int sched_recorder_start(struct symbi_sched *s, struct symbi_err *err);
void sched_record(struct symbi_sched *s, struct sched_entry *e, enum rec_kind kind);
void sched_recorder_stop(struct symbi_sched *s); /* drains the queue first */

#endif
