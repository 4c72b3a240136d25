/* pg.h - private to the PostgreSQL backend: the handle with its connection
 * and reconnect back-off, parameter lists, queries, transactions, rows. */
#ifndef SYMBI_PG_H
#define SYMBI_PG_H

#include "store/common.h"
#include "store/rules.h"
#include "store/store_ops.h"

#include <libpq-fe.h>

#define PG_MAX_PARAMS  48
#define PG_STMT_SLOTS  256
#define PG_BACKOFF_MIN 100
#define PG_BACKOFF_MAX 5000
#define PG_LIMBO_MAX   4096

/* A query's parameters as text (NULL is SQL NULL); numbers are formatted
 * into the list's own buffers. */
struct pg_params {
    int n;
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
};

struct pg_stmt {
    const char *sql; /* a string literal's address, NULL when free */
    char name[16];
};

struct pg_store {
    struct symbi_store base;
    PGconn *conn;
    char *url;
    struct symbi_common_levels lv; /* open transaction levels (common.h) */
    int64_t local_changes;         /* changes committed through this handle */
    bool dirty;                    /* the open transaction changed what other nodes watch */
    bool touched;                  /* it changed jobs' counters: the change mark moves (the
                                      API's cached job list), no node need wake */
    int64_t retry_at;              /* monotonic ms before which no reconnect is tried */
    int64_t backoff_ms;            /* the pause after the next failed connect */
    unsigned stmt_seq;
    char sqlstate[6]; /* of the last failed statement ("" when none) */
    struct pg_stmt stmts[PG_STMT_SLOTS];
    /* runs a claim committed whose COMMIT answer was lost: handed to the
     * next claim of the same node when they are in the store (pg_claim.c) */
    char (*limbo)[SYMBI_UUID_LEN + 1];
    size_t n_limbo;
    char *limbo_node;
    int64_t claim_epoch; /* the claiming node's lease epoch (pg_lease.c) */
    int listen_pid;      /* the backend that LISTENs for this handle (pg_notify.c) */
};

extern const struct symbi_store_ops symbi_pg_ops;

/* Several nodes (pg_lease.c, pg_notify.c): store.h's node_lease and
 * wait_change; the epoch of node's live lease at now for a claim to stamp
 * (0: none); the SYMBI_ESTATE of a guarded run write that found the run
 * owned otherwise; the channel every change is announced on. */
int pg_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                  int64_t *epoch, struct symbi_err *err);
int pg_claim_epoch(struct pg_store *s, const char *node, int64_t now, int64_t *epoch,
                   struct symbi_err *err);
int pg_lease_refused(struct pg_store *s, const struct symbi_run *run, struct symbi_err *err);
int pg_wait_change(struct symbi_store *st, int64_t timeout_ms, bool *changed,
                   struct symbi_err *err);
#define PG_CHANGES_CHANNEL "symbi_changes"
/* A claim's LIMIT with $1 = the claim's horizon, $2 = the caller's limit:
 * this node's share of the due jobs among the nodes holding a lease. */
#define PG_CLAIM_SHARE                                                                             \
    "least($2::bigint, greatest(1, ceil((SELECT count(*) FROM jobs WHERE status = 'active' AND "   \
    "next_run <= $1)::numeric / greatest(1, (SELECT count(*) FROM nodes WHERE lease_until >= $1 "  \
    "AND name NOT LIKE 'local-%')))))::bigint"
/* In a statement about runs, with $1 = now: the run's node holds a live
 * lease under the epoch the run was taken with (any epoch for a run taken
 * before epochs). Recovery takes the runs for which it is false. */
#define PG_LEASE_HELD                                                                              \
    "EXISTS (SELECT 1 FROM nodes n WHERE n.name = runs.node AND n.lease_until >= $1 AND "          \
    "(runs.epoch IS NULL OR n.epoch = runs.epoch))"

static inline struct pg_store *pg_of(struct symbi_store *st)
{
    return (struct pg_store *)st;
}

/* ---- parameters ---- */
void pgp_init(struct pg_params *p);
void pgp_text(struct pg_params *p, const char *v); /* NULL binds NULL */
void pgp_i64(struct pg_params *p, int64_t v);
void pgp_time(struct pg_params *p, int64_t v); /* SYMBI_TIME_NONE binds NULL */
void pgp_opt(struct pg_params *p, int64_t v);  /* negative binds NULL */
void pgp_f64(struct pg_params *p, double v);

/* ---- queries (pg_db.c) ----
 * pg_q runs SQL whose address never holds other text (a string literal)
 * as a prepared statement cached by that address; pg_qt runs SQL built at
 * run time. Both return 0 with *res (PQclear it) or a negative SYMBI_E*:
 * SYMBI_EEXIST (unique violation), SYMBI_EBUSY (serialization failure,
 * deadlock, lock timeout), SYMBI_EIO (no connection: the next operation
 * reconnects), SYMBI_ESTORE; s->sqlstate holds the SQLSTATE. */
int pg_q(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res,
         const char *what, struct symbi_err *err);
int pg_qt(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res,
          const char *what, struct symbi_err *err);
/* pg_q for a statement whose rows are not read; *changed (optional) the
 * rows it changed. */
int pg_x(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *changed,
         const char *what, struct symbi_err *err);
/* A connection ready for a statement, reconnecting (with back-off) when it
 * was lost outside a transaction. */
int pg_ready(struct pg_store *s, struct symbi_err *err);

/* BEGIN (READ COMMITTED; writers lock the rows they change), COMMIT,
 * ROLLBACK; inside an open transaction they nest as savepoints. A commit
 * of the outermost level that changed jobs or queued runs moves the
 * change mark every node reads. */
int pg_begin(struct pg_store *s, struct symbi_err *err);
int pg_commit(struct pg_store *s, struct symbi_err *err);
void pg_rollback(struct pg_store *s);
/* Commits when rc is 0, else rolls back; rc or the commit's error. */
int pg_end(struct pg_store *s, int rc, struct symbi_err *err);

/* ---- rows (pg_rows.c) ---- */
char *pgc_str(const PGresult *r, int row, int col, bool *oom);
int64_t pgc_i64(const PGresult *r, int row, int col); /* NULL reads 0 */
int64_t pgc_time(const PGresult *r, int row, int col);
int64_t pgc_opt(const PGresult *r, int row, int col);
bool pgc_null(const PGresult *r, int row, int col);
const char *pgc_raw(const PGresult *r, int row, int col); /* NULL for SQL NULL */
void pgc_id(const PGresult *r, int row, int col, char out[SYMBI_UUID_LEN + 1]);

#define PG_JOB_COLS                                                                                \
    "id, name, agent, cron_expr, at, timezone, status, session_mode, delivery, webhook_url, "      \
    "webhook_headers, slack_channel, slack_webhook_url, email_recipients, log_file, policy, "      \
    "hb_set, hb_enabled, hb_context_mode, hb_max_iterations, max_concurrent, max_retries, "        \
    "jitter_ms, catch_up, starting_deadline_ms, dst_gap, dst_overlap, input, agent_pin_jwt, "      \
    "one_shot, deliver, audit, source, created_at, updated_at, last_run, next_run, run_count, "    \
    "failure_count"
#define PG_JOB_PARAMS                                                                              \
    "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,"  \
    "$26,$27,$28,$29,$30,$31,$32,$33,$34,$35,$36,$37,$38,$39"
void pg_job_params(struct pg_params *p, const struct symbi_job *job);
int pg_job_read(const PGresult *r, int row, struct symbi_job *job);

#define PG_RUN_COLS                                                                                \
    "id, job_id, job_name, agent, trigger, scheduled_at, due_at, started_at, finished_at, "        \
    "jitter_ms, status, attempt, input, output, output_truncated, stderr_text, summary, "          \
    "error_message, exit_code, execution_time_ms, node, iterations, deliveries, approver, "        \
    "created_at, iteration_outputs, tool_calls, prompt_tokens, completion_tokens, epoch"
#define PG_RUN_PARAMS                                                                              \
    "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,"  \
    "$26,$27,$28,$29,$30"
void pg_run_params(struct pg_params *p, const struct symbi_run *run);
int pg_run_read(const PGresult *r, int row, struct symbi_run *run);
/* Every row of a result of PG_RUN_COLS as a new array (PQclears r). */
int pg_runs_collect(PGresult *r, struct symbi_run **runs, size_t *n, struct symbi_err *err);
int pg_runs_push(struct symbi_run **runs, size_t *n, size_t *cap, const struct symbi_run *r);

/* Resolves a job reference (full id, exact name, unique id prefix of >= 8
 * characters) / a run reference (full id or unique prefix) to its id. */
int pg_job_resolve(struct pg_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err);
int pg_run_resolve(struct pg_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err);
/* Appends an audit event inside the caller's transaction. */
int pg_audit(struct pg_store *s, int64_t at, const char *type, const char *job_id,
             const char *job_name, const char *run_id, const char *actor, const char *details,
             struct symbi_err *err);
/* Inserts the events a rule built (rules.h), in order. */
int pg_audit_events(struct pg_store *s, const struct symbi_rules_events *ev, struct symbi_err *err);
int pg_oom(struct symbi_err *err);

/* ---- shared inside the backend ---- */
/* Reads the job of exact id (lock: FOR UPDATE, held to the end of the
 * transaction). */
int pg_load_job(struct pg_store *s, const char *id, bool lock, struct symbi_job *out,
                struct symbi_err *err);
/* Inserts run inside the caller's transaction: defaults by
 * symbi_rules_run_defaults, job_name and agent from the job when unset. A
 * recorded (job_id, scheduled_at, attempt) is SYMBI_EEXIST with the
 * transaction intact (the manual-run shift is store.c's, above). */
int pg_run_insert_row(struct pg_store *s, struct symbi_run *run, struct symbi_err *err);
int pg_settle_waiting(struct pg_store *s, const char *job_id, const char *why, int64_t now,
                      struct symbi_err *err);
int pg_migrate(struct pg_store *s, struct symbi_err *err);

/* the operations, per area */
int pg_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err);
int pg_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, struct symbi_err *err);
int pg_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  bool *created, struct symbi_err *err);
int pg_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err);
int pg_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
               struct symbi_err *err);
int pg_job_delete(struct symbi_store *st, const char *id, const char *actor, struct symbi_err *err);
int pg_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                      int64_t now, const char *actor, struct symbi_err *err);
int pg_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                 struct symbi_err *err);
int pg_job_list(struct symbi_store *st, const struct symbi_job_filter *f, struct symbi_job **jobs,
                size_t *n, struct symbi_err *err);
int pg_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err);
int pg_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err);
int pg_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                 symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                 struct symbi_err *err);
int pg_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err);
int pg_run_update(struct symbi_store *st, const struct symbi_run *run, struct symbi_err *err);
int pg_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                      enum symbi_run_status to, int64_t now, struct symbi_err *err);
int pg_run_decide(struct symbi_store *st, const char *ref, bool approve, const char *approver,
                  const char *reason, int64_t now, struct symbi_run *out, struct symbi_err *err);
int pg_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
               struct symbi_err *err);
int pg_run_list(struct symbi_store *st, const struct symbi_run_filter *f, struct symbi_run **runs,
                size_t *n, struct symbi_err *err);
int pg_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                 struct symbi_err *err);
int pg_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                    struct symbi_run **runs, size_t *n, struct symbi_err *err);
int pg_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                  struct symbi_err *err);
int pg_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                      const char *node, size_t *given, size_t *released, struct symbi_err *err);
int pg_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n, bool *waiting,
                    struct symbi_err *err);
int pg_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs, size_t *n,
                       struct symbi_err *err);
int pg_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                    struct symbi_err *err);
int pg_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                 struct symbi_err *err);
int pg_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                  struct symbi_err *err);
int pg_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                    struct symbi_err *err);
int pg_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                   struct symbi_audit_event **events, size_t *n, struct symbi_err *err);
int pg_context_get(struct symbi_store *st, const char *job_id, char **json, struct symbi_err *err);
int pg_context_put(struct symbi_store *st, const char *job_id, const char *json, int64_t now,
                   struct symbi_err *err);
int pg_context_clear(struct symbi_store *st, const char *job_id, int64_t now,
                     struct symbi_err *err);
int pg_context_entries(struct symbi_store *st, const char *job_id, bool archived, int64_t limit,
                       struct symbi_context_entry **out, size_t *n, struct symbi_err *err);
int pg_context_save(struct symbi_store *st, const char *job_id, const char *head,
                    struct symbi_context_entry *append, size_t n_append, int64_t archive_through,
                    int64_t now, struct symbi_err *err);
int pg_context_count(struct symbi_store *st, const char *job_id, int64_t *live, int64_t *archived,
                     struct symbi_err *err);
int pg_api_key_insert(struct symbi_store *st, struct symbi_api_key *k, struct symbi_err *err);
int pg_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                    struct symbi_err *err);
int pg_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now, struct symbi_err *err);
int pg_node_heartbeat(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                      struct symbi_err *err);
int pg_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err);
int pg_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                  struct symbi_err *err);
int pg_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                    struct symbi_run_activity *out, struct symbi_err *err);
int pg_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch, bool dry_run,
             struct symbi_prune_counts *out, struct symbi_err *err);

#endif
