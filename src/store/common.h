/* common.h - private to the store: the backend-neutral steps both backends
 * share around their SQL (reference resolution, fire plans, batch ids). No
 * I/O of their own: where a step writes, the backend passes the write in. */
#ifndef SYMBI_STORE_COMMON_H
#define SYMBI_STORE_COMMON_H

#include "symbi/store.h"

/* Whether ref (len characters) can be an id or an id prefix (hex digits and
 * '-', at most SYMBI_UUID_LEN); if so low holds it in lower case. */
bool symbi_common_id_like(const char *ref, size_t len, char low[SYMBI_UUID_LEN + 1]);

/* The upper end of the index range of the ids starting with low (len
 * characters): low followed by '~', after every hex digit and '-'. */
void symbi_common_prefix_hi(const char *low, size_t len, char hi[SYMBI_UUID_LEN + 2]);

/* The answer of a reference lookup once exact id and name missed: rows is
 * how many ids the prefix range matched (0 when it was not queried), first
 * and second the first two of them. Returns 0 with id set on one match,
 * SYMBI_EAMBIGUOUS on several, SYMBI_ENOTFOUND on none. */
int symbi_common_resolve_end(const char *what, const char *ref, bool idish, size_t len, int rows,
                             const char *first, const char *second, char id[SYMBI_UUID_LEN + 1],
                             struct symbi_err *err);

/* Caps the planner's run count at SYMBI_PLAN_MAX_RUNS. */
void symbi_common_plan_clamp(struct symbi_fire_plan *p);

/* Empties a plan for the next job; slots past n_runs + 1 were left untouched
 * by the planner unless it failed (all: clean every slot). */
void symbi_common_plan_reset(struct symbi_fire_plan *p, const struct symbi_job *job, bool all);

/* Fills the fields of a planned run that the planner left to the store:
 * the job's id, name, agent and input, the claiming node, created_at and
 * the claim epoch; clears the id. Returns 0 or SYMBI_ENOMEM. */
int symbi_common_plan_run_fill(struct symbi_run *r, const struct symbi_job *job, const char *node,
                               int64_t now, int64_t epoch);

/* The instant before which finished runs may go (INT64_MIN: no run age limit). */
int64_t symbi_common_prune_cut(const struct symbi_retention *r);

/* The two writes of runs_give_back, on the backend's handle s: give a fire
 * back (*done: it was), or release a queued run to the pool. */
struct symbi_common_give_back_ops {
    int (*give)(void *s, const struct symbi_run *r, const char *node, bool *done,
                struct symbi_err *err);
    int (*release)(void *s, const struct symbi_run *r, const char *node, struct symbi_err *err);
};

/* Inside the backend's transaction: hands back each of runs[0..n) the way
 * symbi_rules_fire_given_back says, stopping at the first failure, and
 * counts fires given back (*given) and runs released (*released). Returns 0
 * or the failed write's code. */
int symbi_common_give_back_each(void *s, const struct symbi_common_give_back_ops *ops,
                                const struct symbi_run *runs, size_t n, const char *node,
                                size_t *given, size_t *released, struct symbi_err *err);

/* The filter an audit query applies: f, or every event when f is NULL. */
const struct symbi_audit_filter *symbi_common_audit_filter(const struct symbi_audit_filter *f);

/* How many events an audit query returns at most (100 unless f says). */
int64_t symbi_common_audit_limit(const struct symbi_audit_filter *f);

/* Appends to sql (len characters so far, cap in all) the conditions of f
 * on parameters 1-4 (type, job id or name, since, until) and the order and
 * LIMIT on parameter 5, each parameter written as mark followed by its
 * number; joined with AND, the first with WHERE unless sql has its own. */
void symbi_common_audit_sql(const struct symbi_audit_filter *f, char mark, bool has_where,
                            char *sql, size_t len, size_t cap);

/* The transaction levels of a backend's handle, and the decisions both
 * backends make on them (sq_db.c, pg_db.c): a step says what SQL, if any,
 * the backend sends; after that SQL succeeded, symbi_common_level_done. */
struct symbi_common_levels {
    int depth;    /* open levels: 1 the outer transaction, more nested ones */
    bool atomic;  /* the outer one is all or nothing (begin_atomic): nested
                     levels join it without savepoints */
    bool spoiled; /* a nested level of an atomic transaction failed */
};

enum symbi_common_step {
    SYMBI_STEP_DONE,      /* bookkeeping only: nothing to send */
    SYMBI_STEP_OUTER,     /* BEGIN, COMMIT or ROLLBACK of the outer transaction */
    SYMBI_STEP_SAVEPOINT, /* SAVEPOINT, RELEASE or ROLLBACK TO of a nested level */
    SYMBI_STEP_NONE,      /* commit without a transaction: an error */
    SYMBI_STEP_SPOILED,   /* commit of a spoiled atomic transaction: roll back instead */
};

/* BEGIN_ATOMIC: an all-or-nothing outer transaction (tx_begin_atomic);
 * nested in another transaction it is an ordinary BEGIN. */
enum symbi_common_level_op {
    SYMBI_LEVEL_BEGIN,
    SYMBI_LEVEL_BEGIN_ATOMIC,
    SYMBI_LEVEL_COMMIT,
    SYMBI_LEVEL_ROLLBACK,
};

/* What op on the levels l needs; a DONE step has already been counted. */
enum symbi_common_step symbi_common_level_step(struct symbi_common_levels *l,
                                               enum symbi_common_level_op op);

/* Counts the level that op's SAVEPOINT or OUTER step opened or closed
 * (for rollback: whether or not its SQL succeeded). */
void symbi_common_level_done(struct symbi_common_levels *l, enum symbi_common_level_op op,
                             enum symbi_common_step step);

/* Clears the ids of the jobs of jobs[0..n) an upsert batch that did not
 * commit would have created (created[i]), and the flags. */
void symbi_common_jobs_unmake(struct symbi_job *jobs, bool *created, size_t n);

/* Clears the ids of jobs[0..n) after a batch that did not commit. */
void symbi_common_jobs_clear_ids(struct symbi_job *jobs, size_t n);

#endif
