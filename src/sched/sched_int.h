/* sched_int.h - private structures of the scheduler loop: the in-memory run
 * entry, its min-heap (ordered by due_at, then claim order) and the per-job
 * counters used for the per-job limit. */
#ifndef SYMBI_SCHED_INT_H
#define SYMBI_SCHED_INT_H

#include "symbi/agent.h"
#include "symbi/sched.h"

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
    bool running_written;
    struct sched_entry *next; /* work / done lists */
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

#endif
