/* sq.h - private to the SQLite backend: the handle, the prepared-statement
 * cache, transactions with busy handling, and row <-> struct helpers. */
#ifndef SYMBI_SQ_H
#define SYMBI_SQ_H

#include "store/common.h"
#include "store/rules.h"
#include "store/store_ops.h"

#include <sqlite3.h>

#define SQ_CACHE_SLOTS 512

struct sq_slot {
    char *sql; /* owned copy, NULL when the slot is free */
    uint64_t hash;
    sqlite3_stmt *stmt;
};

#define SQ_FAST_SLOTS 128

struct sq_fast {
    const char *sql; /* a string literal's address */
    sqlite3_stmt *stmt;
};

struct sq_store {
    struct symbi_store base;
    sqlite3 *db;
    char *path;
    int64_t local_changes;         /* job changes committed through this handle */
    struct symbi_common_levels lv; /* open transaction levels (common.h) */
    int64_t claim_epoch;           /* the claiming node's lease epoch (sq_claim_due) */
    int64_t begin_wait_ms;         /* how long sq_begin keeps retrying a busy BEGIN */
    bool wide_insert;              /* SQ_BATCH job rows fit one statement's parameters */
    struct sq_slot cache[SQ_CACHE_SLOTS];
    struct sq_fast fast[SQ_FAST_SLOTS];
};

extern const struct symbi_store_ops symbi_sq_ops;
/* Retention (sq_prune.c): store.h's symbi_store_prune. */
int sq_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch, bool dry_run,
             struct symbi_prune_counts *out, struct symbi_err *err);

/* The dashboard's digest (sq_activity.c): store.h's symbi_store_run_activity. */
int sq_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                    struct symbi_run_activity *out, struct symbi_err *err);

static inline struct sq_store *sq_of(struct symbi_store *st)
{
    return (struct sq_store *)st;
}

/* Error from the last SQLite call, as SYMBI_EBUSY (lock not obtained in
 * time), SYMBI_EEXIST (a unique constraint) or SYMBI_ESTORE; the message
 * names `what`. */
int sq_fail(struct sq_store *s, struct symbi_err *err, const char *what);
/* A cached statement for sql (reset, bindings cleared); NULL with err set.
 * sq_prep takes SQL whose address never holds other text (string
 * literals) and finds it by address; sq_prep_text takes SQL built at run
 * time and finds it by content. */
sqlite3_stmt *sq_prep(struct sq_store *s, const char *sql, struct symbi_err *err);
sqlite3_stmt *sq_prep_text(struct sq_store *s, const char *sql, struct symbi_err *err);
/* Runs a statement to completion that returns no rows. */
int sq_exec(struct sq_store *s, const char *sql, struct symbi_err *err);
/* sqlite3_step with error mapping: SQLITE_ROW, SQLITE_DONE, or < 0. */
int sq_step(struct sq_store *s, sqlite3_stmt *st, struct symbi_err *err, const char *what);

/* BEGIN IMMEDIATE (the write lock up front, waiting and retrying while
 * another process holds it), COMMIT, ROLLBACK. Inside an open transaction
 * they nest as savepoints: an inner failure undoes the inner part only. */
int sq_begin(struct sq_store *s, struct symbi_err *err);
int sq_commit(struct sq_store *s, struct symbi_err *err);
void sq_rollback(struct sq_store *s);

/* binding: NULL strings, SYMBI_TIME_NONE and negative "unset" values bind
 * as SQL NULL */
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void sq_bind_time(sqlite3_stmt *st, int i, int64_t v);
void sq_bind_opt(sqlite3_stmt *st, int i, int64_t v);
/* reading: heap copy or NULL; *oom set when a copy failed */
char *sq_col_str(sqlite3_stmt *st, int i, bool *oom);
int64_t sq_col_time(sqlite3_stmt *st, int i);
int64_t sq_col_opt(sqlite3_stmt *st, int i);
void sq_col_id(sqlite3_stmt *st, int i, char out[SYMBI_UUID_LEN + 1]);

/* the jobs table's columns, in the order of sq_job_bind / sq_job_read */
#define SQ_JOB_COLS                                                                                \
    "id, name, agent, cron_expr, at, timezone, status, session_mode, delivery, webhook_url, "      \
    "webhook_headers, slack_channel, slack_webhook_url, email_recipients, log_file, policy, "      \
    "hb_set, hb_enabled, hb_context_mode, hb_max_iterations, max_concurrent, max_retries, "        \
    "jitter_ms, catch_up, starting_deadline_ms, dst_gap, dst_overlap, input, agent_pin_jwt, "      \
    "one_shot, deliver, audit, source, created_at, updated_at, last_run, next_run, run_count, "    \
    "failure_count"
#define SQ_JOB_NCOLS 39
/* rows a multi-row INSERT writes at once (jobs of a batch, audit events) */
#define SQ_BATCH 32
#define SQ_JOB_PARAMS                                                                              \
    "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,"  \
    "?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37,?38,?39"
void sq_job_bind(sqlite3_stmt *st, const struct symbi_job *job);
/* the same, to parameters b+1 .. b+SQ_JOB_NCOLS (a row of a multi-row INSERT) */
void sq_job_bind_at(sqlite3_stmt *st, int b, const struct symbi_job *job);
int sq_job_read(sqlite3_stmt *st, struct symbi_job *job);

#define SQ_RUN_COLS                                                                                \
    "id, job_id, job_name, agent, trigger, scheduled_at, due_at, started_at, finished_at, "        \
    "jitter_ms, status, attempt, input, output, output_truncated, stderr_text, summary, "          \
    "error_message, exit_code, execution_time_ms, node, iterations, deliveries, approver, "        \
    "created_at, iteration_outputs, tool_calls, prompt_tokens, completion_tokens, epoch"
#define SQ_RUN_NCOLS 30
#define SQ_RUN_PARAMS                                                                              \
    "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,"  \
    "?26,?27,?28,?29,?30"
void sq_run_bind(sqlite3_stmt *st, const struct symbi_run *run);
int sq_run_read(sqlite3_stmt *st, struct symbi_run *run);

/* Resolves a job reference (full id, exact name, unique id prefix of >= 8
 * characters) to its id. */
int sq_job_resolve(struct sq_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err);
/* The same for runs (full id or unique prefix). */
int sq_run_resolve(struct sq_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err);

/* Appends an audit event inside the caller's transaction. details is a
 * JSON object text or NULL. */
int sq_audit(struct sq_store *s, int64_t at, const char *type, const char *job_id,
             const char *job_name, const char *run_id, const char *actor, const char *details,
             struct symbi_err *err);
/* Inserts the events a rule built (rules.h), in order, inside the
 * caller's transaction. */
int sq_audit_events(struct sq_store *s, const struct symbi_rules_events *ev, struct symbi_err *err);

/* A growable array of runs returned to callers. */
int sq_runs_push(struct symbi_run **runs, size_t *n, size_t *cap, const struct symbi_run *r);
/* Reads every row of a prepared SELECT of SQ_RUN_COLS into a new array. */
int sq_runs_collect(struct sq_store *s, sqlite3_stmt *st, struct symbi_run **runs, size_t *n,
                    struct symbi_err *err);

/* Inserts run inside the caller's transaction: id, created_at, scheduled_at
 * (now for a manual run) and due_at by symbi_rules_run_defaults, job_name
 * and agent filled in from the job when unset. A recorded (job_id,
 * scheduled_at, attempt) is SYMBI_EEXIST, the statement undone and the
 * transaction intact (the manual-run shift is store.c's, above). */
int sq_run_insert_row(struct sq_store *s, struct symbi_run *run, struct symbi_err *err);

/* sq_schema.c: the newest schema version this build knows, and applying
 * the missing migrations in one transaction */
int sq_schema_version_known(void);
int sq_migrate(struct sq_store *s, struct symbi_err *err);

/* per-area operations (sq_jobs.c, sq_runs.c, sq_claim.c, sq_misc.c) */
int sq_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err);
int sq_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, struct symbi_err *err);
int sq_job_upsert_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, bool *created, struct symbi_err *err);
int sq_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  bool *created, struct symbi_err *err);
int sq_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err);
int sq_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
               struct symbi_err *err);
int sq_job_delete(struct symbi_store *st, const char *id, const char *actor, struct symbi_err *err);
int sq_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                      int64_t now, const char *actor, struct symbi_err *err);
int sq_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                 struct symbi_err *err);
int sq_job_list(struct symbi_store *st, const struct symbi_job_filter *f, struct symbi_job **jobs,
                size_t *n, struct symbi_err *err);
int sq_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err);
int sq_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err);
int sq_change_mark(struct symbi_store *st, int64_t *mark);

int sq_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                 symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                 struct symbi_err *err);
int sq_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                    struct symbi_run **runs, size_t *n, struct symbi_err *err);
int sq_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                  struct symbi_err *err);
int sq_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs, size_t *n,
                       struct symbi_err *err);
int sq_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                      const char *node, size_t *given, size_t *released, struct symbi_err *err);
int sq_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n, bool *waiting,
                    struct symbi_err *err);
/* Inside the caller's transaction: every queued run of job_id becomes
 * `skipped` with error_message `why` (a job that stops firing, sq_sched.c). */
int sq_settle_waiting(struct sq_store *s, const char *job_id, const char *why, int64_t now,
                      struct symbi_err *err);

int sq_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err);
int sq_run_update(struct symbi_store *st, const struct symbi_run *run, struct symbi_err *err);
int sq_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                      enum symbi_run_status to, int64_t now, struct symbi_err *err);
int sq_run_decide(struct symbi_store *st, const char *ref, bool approve, const char *approver,
                  const char *reason, int64_t now, struct symbi_run *out, struct symbi_err *err);
int sq_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
               struct symbi_err *err);
int sq_run_list(struct symbi_store *st, const struct symbi_run_filter *f, struct symbi_run **runs,
                size_t *n, struct symbi_err *err);
int sq_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                 struct symbi_err *err);

int sq_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                    struct symbi_err *err);
int sq_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                 struct symbi_err *err);
int sq_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                  struct symbi_err *err);
int sq_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                    struct symbi_err *err);
int sq_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                   struct symbi_audit_event **events, size_t *n, struct symbi_err *err);
int sq_context_get(struct symbi_store *st, const char *job_id, char **json, struct symbi_err *err);
int sq_context_put(struct symbi_store *st, const char *job_id, const char *json, int64_t now,
                   struct symbi_err *err);
int sq_context_clear(struct symbi_store *st, const char *job_id, int64_t now,
                     struct symbi_err *err);
int sq_context_entries(struct symbi_store *st, const char *job_id, bool archived, int64_t limit,
                       struct symbi_context_entry **out, size_t *n, struct symbi_err *err);
int sq_context_save(struct symbi_store *st, const char *job_id, const char *head,
                    struct symbi_context_entry *append, size_t n_append, int64_t archive_through,
                    int64_t now, struct symbi_err *err);
int sq_context_count(struct symbi_store *st, const char *job_id, int64_t *live, int64_t *archived,
                     struct symbi_err *err);
int sq_api_key_insert(struct symbi_store *st, struct symbi_api_key *k, struct symbi_err *err);
int sq_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                    struct symbi_err *err);
int sq_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now, struct symbi_err *err);
int sq_node_heartbeat(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                      struct symbi_err *err);
/* Leases with epochs (sq_lease.c): store.h's symbi_store_node_lease; the
 * epoch of node's live lease at now for a claim to stamp (0: none); the
 * SYMBI_ESTATE of a guarded run write that found the run owned otherwise. */
/* In a statement about runs, with ?1 = now: the run's node holds a live
 * lease under the epoch the run was taken with (a run from before epochs,
 * epoch NULL, under any). Recovery takes the runs for which it is false. */
#define SQ_LEASE_HELD                                                                              \
    "EXISTS (SELECT 1 FROM nodes n WHERE n.name = runs.node AND n.lease_until >= ?1 AND "          \
    "(runs.epoch IS NULL OR n.epoch = runs.epoch))"
int sq_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                  int64_t *epoch, struct symbi_err *err);
int sq_claim_epoch(struct sq_store *s, const char *node, int64_t now, int64_t *epoch,
                   struct symbi_err *err);
int sq_lease_refused(struct sq_store *s, const struct symbi_run *run, struct symbi_err *err);
int sq_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err);
int sq_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                  struct symbi_err *err);

#endif
