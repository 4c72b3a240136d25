/* store_ops.h - private: the JobStore interface as a table of operations,
 * one per public function of store.h, that each backend fills in. */
#ifndef SYMBI_STORE_OPS_H
#define SYMBI_STORE_OPS_H

#include "symbi/store.h"

struct symbi_store_ops {
    const char *name; /* "sqlite", "postgres" */
    bool shared;      /* symbi_store_shared */
    void (*close)(struct symbi_store *st);
    int (*check)(struct symbi_store *st, struct symbi_err *err);
    int (*tx_begin)(struct symbi_store *st, struct symbi_err *err);
    int (*tx_begin_atomic)(struct symbi_store *st, struct symbi_err *err); /* NULL: tx_begin */
    int (*tx_commit)(struct symbi_store *st, struct symbi_err *err);
    void (*tx_rollback)(struct symbi_store *st);

    int (*job_create)(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                      struct symbi_err *err);
    int (*job_create_many)(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                           const char *actor, struct symbi_err *err);
    int (*job_upsert)(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                      bool *created, struct symbi_err *err);
    /* NULL: job_upsert for each, in one all-or-nothing transaction */
    int (*job_upsert_many)(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                           const char *actor, bool *created, struct symbi_err *err);
    int (*job_update)(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                      struct symbi_err *err);
    int (*job_get)(struct symbi_store *st, const char *ref, struct symbi_job *out,
                   struct symbi_err *err);
    int (*job_delete)(struct symbi_store *st, const char *id, const char *actor,
                      struct symbi_err *err);
    int (*job_set_status)(struct symbi_store *st, const char *id, enum symbi_job_status status,
                          int64_t now, const char *actor, struct symbi_err *err);
    int (*job_reset)(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                     struct symbi_err *err);
    int (*job_list)(struct symbi_store *st, const struct symbi_job_filter *f,
                    struct symbi_job **jobs, size_t *n, struct symbi_err *err);
    int (*job_counts)(struct symbi_store *st, int64_t counts[5], struct symbi_err *err);
    int (*next_due)(struct symbi_store *st, int64_t *next, struct symbi_err *err);
    int (*change_mark)(struct symbi_store *st, int64_t *mark);

    int (*claim_due)(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                     symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                     struct symbi_err *err);
    int (*run_insert)(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err);
    int (*run_update)(struct symbi_store *st, const struct symbi_run *run, struct symbi_err *err);
    int (*run_transition)(struct symbi_store *st, const char *id, enum symbi_run_status from,
                          enum symbi_run_status to, int64_t now, struct symbi_err *err);
    int (*run_decide)(struct symbi_store *st, const char *ref, bool approve, const char *approver,
                      const char *reason, int64_t now, struct symbi_run *out,
                      struct symbi_err *err);
    int (*run_get)(struct symbi_store *st, const char *ref, struct symbi_run *out,
                   struct symbi_err *err);
    int (*run_list)(struct symbi_store *st, const struct symbi_run_filter *f,
                    struct symbi_run **runs, size_t *n, struct symbi_err *err);
    int (*run_count)(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                     struct symbi_err *err);
    int (*claim_queued)(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                        struct symbi_run **runs, size_t *n, struct symbi_err *err);
    int (*run_finish)(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                      struct symbi_err *err);
    int (*runs_give_back)(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                          const char *node, size_t *given, size_t *released, struct symbi_err *err);
    int (*runs_waiting)(struct symbi_store *st, const char *const *ids, size_t n, bool *waiting,
                        struct symbi_err *err);

    int (*agent_upsert)(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                        struct symbi_err *err);
    int (*agent_get)(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                     struct symbi_err *err);
    int (*agent_list)(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                      struct symbi_err *err);

    int (*audit_append)(struct symbi_store *st, const struct symbi_audit_event *e,
                        struct symbi_err *err);
    int (*audit_query)(struct symbi_store *st, const struct symbi_audit_filter *f,
                       struct symbi_audit_event **events, size_t *n, struct symbi_err *err);

    int (*context_get)(struct symbi_store *st, const char *job_id, char **json,
                       struct symbi_err *err);
    int (*context_put)(struct symbi_store *st, const char *job_id, const char *json, int64_t now,
                       struct symbi_err *err);
    int (*context_clear)(struct symbi_store *st, const char *job_id, int64_t now,
                         struct symbi_err *err);
    int (*context_entries)(struct symbi_store *st, const char *job_id, bool archived, int64_t limit,
                           struct symbi_context_entry **out, size_t *n, struct symbi_err *err);
    int (*context_save)(struct symbi_store *st, const char *job_id, const char *head,
                        struct symbi_context_entry *append, size_t n_append,
                        int64_t archive_through, int64_t now, struct symbi_err *err);
    int (*context_count)(struct symbi_store *st, const char *job_id, int64_t *live,
                         int64_t *archived, struct symbi_err *err);

    int (*api_key_insert)(struct symbi_store *st, struct symbi_api_key *k, struct symbi_err *err);
    int (*api_key_list)(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                        struct symbi_err *err);
    int (*api_key_revoke)(struct symbi_store *st, const char *ref, int64_t now,
                          struct symbi_err *err);

    int (*node_heartbeat)(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                          struct symbi_err *err);
    int (*node_remove)(struct symbi_store *st, const char *node, struct symbi_err *err);
    int (*node_alive)(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                      struct symbi_err *err);
    int (*recover_expired)(struct symbi_store *st, int64_t now, struct symbi_run **runs, size_t *n,
                           struct symbi_err *err);
    int (*prune)(struct symbi_store *st, const struct symbi_retention *r, int64_t batch,
                 bool dry_run, struct symbi_prune_counts *out, struct symbi_err *err);
    /* optional (NULL: store.c derives it from run_list, slower) */
    int (*run_activity)(struct symbi_store *st, int per_job, int64_t since_ms,
                        struct symbi_run_activity *out, struct symbi_err *err);

    /* several nodes (store_nodes.c); NULL where a backend has none:
     * node_lease falls back to node_heartbeat with epoch 0, wait_change
     * answers SYMBI_EUNSUPPORTED */
    int (*node_lease)(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                      int64_t *epoch, struct symbi_err *err);
    int (*wait_change)(struct symbi_store *st, int64_t timeout_ms, bool *changed,
                       struct symbi_err *err);
    /* optional (NULL: the backend's default wait) */
    void (*set_lock_wait)(struct symbi_store *st, int64_t ms);
};

/* Every backend's handle starts with this. */
struct symbi_store {
    const struct symbi_store_ops *ops;
};

/* The SQLite backend (sq_db.c): path is a file name. */
int symbi_sq_open(const char *path, struct symbi_store **out, struct symbi_err *err);
/* The PostgreSQL backend (pg_db.c): url is a libpq connection URL. */
int symbi_pg_open(const char *url, struct symbi_store **out, struct symbi_err *err);

#endif
