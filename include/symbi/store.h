/* store.h - the JobStore (SPEC §1, §4, §13): persistent jobs, runs, agents,
 * audit events, contexts, API keys and scheduler nodes behind one interface.
 * SQLite is the embedded backend; the contract (docs/store.md) is written so
 * that a PostgreSQL backend can implement it for several nodes. */
#ifndef SYMBI_STORE_H
#define SYMBI_STORE_H

#include "symbi/model.h"

struct symbi_store;

/* Opens (creating and migrating) the store named by url: a file path or
 * "sqlite:PATH" for SQLite; "postgres://..." where that backend is built.
 * The handle is used by one thread at a time; open one per thread.
 * Errors: SYMBI_EIO (cannot open), SYMBI_ESTORE, SYMBI_EUNSUPPORTED. */
int symbi_store_open(const char *url, struct symbi_store **out, struct symbi_err *err);
void symbi_store_close(struct symbi_store *st); /* NULL is a no-op */
/* "sqlite" (or "postgres"). */
const char *symbi_store_backend(const struct symbi_store *st);
/* Whether several nodes on several machines may share this store
 * (PostgreSQL: true; SQLite, one machine's file: false). A fact of the
 * backend; what the scheduler makes of it is the scheduler's (docs/cluster.md
 * "The start before the agent"). */
bool symbi_store_shared(const struct symbi_store *st);
/* Verifies the store's consistency (SQLite: PRAGMA integrity_check and
 * foreign_key_check). SYMBI_ESTORE with the first problem in err->msg. */
int symbi_store_check(struct symbi_store *st, struct symbi_err *err);
/* Bounds how long one operation of this handle waits for a lock another
 * process or handle holds (ms, > 0) before it fails with SYMBI_EBUSY; the
 * scheduler's loop uses a short bound so that a locked store delays no run
 * it already claimed. A backend without the notion keeps its default. */
void symbi_store_set_lock_wait(struct symbi_store *st, int64_t ms);

/* Groups several operations into one transaction (all or none): every
 * operation between begin and commit joins it, each as a savepoint, so a
 * failed operation undoes only itself and the caller decides to go on or
 * roll everything back. Holds the write lock until commit/rollback. */
int symbi_store_begin(struct symbi_store *st, struct symbi_err *err);
int symbi_store_commit(struct symbi_store *st, struct symbi_err *err);
void symbi_store_rollback(struct symbi_store *st); /* no-op outside a transaction */
/* As symbi_store_begin, for a caller that keeps nothing of a failed
 * transaction (`cron add --file`): the operations join without savepoints
 * (one each costs about a third of a bulk upsert), so a failed operation
 * spoils the whole transaction: its commit is refused and rolls back.
 * Backends without the distinction begin an ordinary transaction. */
int symbi_store_begin_atomic(struct symbi_store *st, struct symbi_err *err);

/* ---- jobs ----
 * Every change writes its audit event (CronJobCreated, ...) in the same
 * transaction, with `actor` ("cli", "api", "scheduler", ...). */

/* Inserts job: assigns id (when empty), created_at/updated_at, computes
 * next_run from `now` when it is NONE. SYMBI_EEXIST when the name is taken. */
int symbi_store_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, struct symbi_err *err);
/* Inserts n jobs in one transaction, all or none (the first failure names
 * the job; ids of a failed batch are cleared). The fast path for bulk loads. */
int symbi_store_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n,
                                int64_t now, const char *actor, struct symbi_err *err);
/* Upsert by name (declarative files): creates, or updates the definition
 * fields of the job of that name keeping its id, counters and status (a
 * paused job stays paused); *created says which. next_run is recomputed
 * when the schedule (cron_expr, at, timezone) changed. */
int symbi_store_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, bool *created, struct symbi_err *err);
/* symbi_store_job_upsert of jobs[0 .. n) in order, in one transaction, all
 * or none (the first failure names the job; the ids of jobs it would have
 * created are cleared); created[i] says which (n of them). A later job of
 * the same name updates the one before. The fast path of a .symbi file. */
int symbi_store_job_upsert_many(struct symbi_store *st, struct symbi_job *jobs, size_t n,
                                int64_t now, const char *actor, bool *created,
                                struct symbi_err *err);
/* Replaces the definition of the stored job job->id (an id, prefix or name)
 * with job's (updated_at set; SYMBI_EEXIST on a rename to a taken name).
 * status, counters, created_at and next_run stay the store's, so a
 * concurrent claim is never undone; next_run is recomputed when the
 * schedule changed (and a completed/failed job becomes active again). The
 * stored result is copied back into job. No change writes nothing. */
int symbi_store_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now,
                           const char *actor, struct symbi_err *err);
/* Finds a job by full id, unique id prefix of >= 8 characters, or exact
 * name. SYMBI_ENOTFOUND, SYMBI_EAMBIGUOUS. out is initialised by the call. */
int symbi_store_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
                        struct symbi_err *err);
/* Deletes the job (id, prefix or name), its runs and context; the audit
 * trail keeps its events. */
int symbi_store_job_delete(struct symbi_store *st, const char *id, const char *actor,
                           struct symbi_err *err);
/* pause / resume / reset (SPEC §5.5): status change, next_run recomputed
 * from now on resume and reset, failure_count 0 on reset. SYMBI_ESTATE when
 * the transition makes no sense (resume of a completed job; pause of a
 * job that is not active; resume of a dead_letter job, which needs reset;
 * reset of a job that is not dead_letter or failed). Pausing a paused job or resuming an
 * active one succeeds and writes nothing. */
int symbi_store_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                               int64_t now, const char *actor, struct symbi_err *err);
int symbi_store_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                          struct symbi_err *err);

struct symbi_job_filter {
    bool has_status;
    enum symbi_job_status status;
    const char *agent; /* NULL: any */
    int64_t limit;     /* <= 0: no limit */
    int64_t offset;
};
/* All matching jobs ordered by name; *jobs is an array of *n jobs that the
 * caller frees with symbi_job_list_free. */
int symbi_store_job_list(struct symbi_store *st, const struct symbi_job_filter *f,
                         struct symbi_job **jobs, size_t *n, struct symbi_err *err);
void symbi_job_list_free(struct symbi_job *jobs, size_t n);
/* Jobs per status (indexed by enum symbi_job_status). */
int symbi_store_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err);
/* The smallest next_run of an active job (SYMBI_TIME_NONE when none):
 * the scheduler sleeps until then. */
int symbi_store_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err);
/* A number that changes whenever any job changes (e.g. SQLite data_version
 * plus a counter table): the scheduler polls it once per tick to notice
 * changes made by other processes. SQLite: PRAGMA data_version (moves on
 * every commit of any other connection, in any process) plus a count of
 * this handle's own commits that changed a job's definition or status or
 * queued a run; a handle's own claims and run_finish counters do not move
 * it (the scheduler that made them already knows). */
int symbi_store_change_mark(struct symbi_store *st, int64_t *mark);

/* ---- the claim (SPEC §5.1) ----
 * In ONE transaction: select the active jobs with next_run <= now (at most
 * `limit`, oldest first), ask `plan` what to record for each, insert the
 * planned runs (with node = `node`), advance the job's next_run / status /
 * last_run / run_count as planned, commit. A fire is thus never lost and
 * never claimed twice. The runs inserted with status QUEUED are returned in
 * *runs (*n of them) for the caller to execute; others (skipped, missed)
 * are only recorded. The planner must not touch the store.
 * The store fills each planned run's id, job_id, job_name, agent, node,
 * input (the job's, when unset) and created_at; strings the planner sets
 * in plan->runs are heap-owned by the plan and freed by the store (use
 * symbi_set_str). plan->next_run starts as SYMBI_TIME_NONE and
 * plan->status as the job's. An instant already in the ledger is skipped,
 * not fired twice. A planner error fails that job alone (status `failed`,
 * CronJobFailed with the reason) and the claim goes on. last_run and
 * run_count are not touched here: run_finish records them. limit 0 means
 * 1000. */
#define SYMBI_PLAN_MAX_RUNS 101
struct symbi_fire_plan {
    struct symbi_run runs[SYMBI_PLAN_MAX_RUNS]; /* planner fills scheduled_at, due_at,
                                                   trigger, status, attempt, input */
    size_t n_runs;
    int64_t next_run;             /* new next_run (SYMBI_TIME_NONE: none) */
    enum symbi_job_status status; /* new status (e.g. COMPLETED for a one-shot) */
};
typedef int (*symbi_fire_planner)(void *ud, const struct symbi_job *job, int64_t now,
                                  struct symbi_fire_plan *plan);
int symbi_store_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                          symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                          struct symbi_err *err);

/* ---- runs ---- */

/* Inserts run (id assigned when empty; created_at, scheduled_at and due_at
 * default to now; job_name and agent to the job's). SYMBI_EEXIST when
 * (job_id, scheduled_at, attempt) is already recorded, except for a manual
 * run, which moves 1 ms later (up to 1000 times: the one ledger-collision
 * rule, applied here above the backends; the HTTP API and the CLI enqueue
 * manual runs through this call). SYMBI_ENOTFOUND when the job does not
 * exist. A queued run with node NULL is picked up by claim_queued. */
int symbi_store_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err);
/* Writes every mutable field of run (status, times, output, ...). */
int symbi_store_run_update(struct symbi_store *st, const struct symbi_run *run,
                           struct symbi_err *err);
/* Moves run `id` from status `from` to `to` only if it is still in `from`
 * (SYMBI_ESTATE otherwise): a compare-and-set for approvals and pickup. */
int symbi_store_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                               enum symbi_run_status to, int64_t now, struct symbi_err *err);
/* Approves or denies a pending_approval run (by id or prefix) in one
 * transaction: approved, it becomes an unowned queued run due now (any
 * node's claim_queued starts it); denied, it is final `denied` with
 * error_message "denied by <approver>: <reason>". Writes the approvals row
 * and CronRunApproved / CronRunDenied. SYMBI_ESTATE when not pending. The
 * run as stored afterwards goes to *out (may be NULL). Checking that the
 * approver is allowed is the caller's (policy). */
int symbi_store_run_decide(struct symbi_store *st, const char *ref, bool approve,
                           const char *approver, const char *reason, int64_t now,
                           struct symbi_run *out, struct symbi_err *err);
/* By full id or unique prefix (>= 8). */
int symbi_store_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
                        struct symbi_err *err);

struct symbi_run_filter {
    const char *job_id; /* NULL: any job */
    bool has_status;
    enum symbi_run_status status;
    const char *node;   /* NULL: any node */
    int64_t due_before; /* SYMBI_TIME_NONE: no bound; else due_at <= this */
    bool oldest_first;  /* default newest first (by scheduled_at, created_at) */
    int64_t limit;      /* <= 0: no limit */
    int64_t offset;
};
int symbi_store_run_list(struct symbi_store *st, const struct symbi_run_filter *f,
                         struct symbi_run **runs, size_t *n, struct symbi_err *err);
void symbi_run_list_free(struct symbi_run *runs, size_t n);
int symbi_store_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                          struct symbi_err *err);

/* The dashboard's digest of recent activity (SPEC §16): the newest
 * `per_job` runs of every job (job by job, newest first within a job:
 * status, scheduled and finished instants only), and the runs finished at
 * or after since_ms counted per UTC minute (oldest minute first). *out is
 * filled by the call; free it with symbi_run_activity_cleanup. per_job is
 * clamped to 1..SYMBI_ACTIVITY_MAX_PER_JOB. */
#define SYMBI_ACTIVITY_MAX_PER_JOB 100
struct symbi_run_brief {
    char job_id[SYMBI_UUID_LEN + 1];
    enum symbi_run_status status;
    int64_t scheduled_at;
    int64_t finished_at; /* SYMBI_TIME_NONE while not finished */
};
struct symbi_run_minute {
    int64_t minute;                   /* UTC ms at the minute's start */
    int64_t succeeded, failed, other; /* failed: failed, timed_out, interrupted */
};
struct symbi_run_activity {
    struct symbi_run_brief *runs;
    size_t n_runs;
    struct symbi_run_minute *minutes;
    size_t n_minutes;
};
int symbi_store_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                             struct symbi_run_activity *out, struct symbi_err *err);
void symbi_run_activity_cleanup(struct symbi_run_activity *a);

/* Takes ownership for `node` of queued runs that no node owns (manual runs
 * written by the CLI or API, retries) and are due at `now`, oldest due
 * first, at most limit; returns them like claim_due. */
int symbi_store_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                             struct symbi_run **runs, size_t *n, struct symbi_err *err);

/* Records the outcome of a finished run and the job's counters in one
 * transaction: run_count, last_run, failure_count (reset on success,
 * incremented on failure), status (dead_letter when failure_count reaches
 * max_retries), plus the audit events. `retry`, when not NULL, is inserted
 * too (a queued retry run).
 * Details: run_count and last_run (the run's started_at) move for runs that
 * executed (succeeded, failed, timed_out, interrupted); a success resets
 * failure_count; counts_as_failure increments it and dead-letters an active
 * job when it reaches max_retries (<= 0 counts as 1), clearing next_run and
 * skipping the retry. Events: CronJobExecuted (succeeded), CronJobFailed
 * (failed, timed_out, interrupted), CronJobDeadLettered, and one
 * AgentToolCalled per entry of run->tool_calls; none for denied,
 * skipped or missed runs (the caller writes PolicyDenied etc.). The retry
 * is inserted unowned (node NULL). SYMBI_ENOTFOUND when the run (or its
 * job) was deleted meanwhile. */
/* The dead-letter rule (SPEC §5.5), one predicate for the scheduler's
 * decision (symbi_sched_decide) and every backend's run_finish: a job whose
 * consecutive failure count reaches max_retries (<= 0 counts as 1) while it
 * still fires (symbi_store_job_fires) moves to dead_letter. */
bool symbi_store_dead_letter_due(enum symbi_job_status status, int64_t failures, int max_retries);
/* The first half of it: failures reached max_retries (<= 0 counts as 1). */
bool symbi_store_retries_exhausted(int64_t failures, int max_retries);
/* Whether a job in `status` still fires and takes retries: active, or
 * completed (a one-shot whose retry is owed). */
bool symbi_store_job_fires(enum symbi_job_status status);

struct symbi_run_outcome {
    const struct symbi_run *run; /* final status set */
    bool counts_as_failure;
    int max_retries;               /* effective limit */
    const struct symbi_run *retry; /* NULL: no retry */
    bool *dead_lettered;           /* out: the job moved to dead_letter */
};
int symbi_store_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                           struct symbi_err *err);

/* A clean stop (SPEC §5.6), in ONE transaction: each of the n runs that is
 * still queued and owned by `node` is handed back. A scheduled or catch-up
 * fire is given back to its job: its record is removed and the job's
 * next_run moves back to its instant (unless earlier already; a one-shot it
 * completed is active again), so the next start plans that instant afresh
 * and the ledger never says `queued` for a fire nobody will run. Other runs
 * (manual, retry) are released unowned, still queued: they are the only
 * record of work owed. Runs no longer queued (settled by a pause, started)
 * are left alone. *given / *released (may be NULL) count both. */
int symbi_store_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                               const char *node, size_t *given, size_t *released,
                               struct symbi_err *err);
/* waiting[i] = run ids[i] is still `queued` (false when it was settled,
 * e.g. `skipped` by a pause, or deleted with its job). A read: the loop
 * asks it before starting runs it claimed once the store has changed. */
int symbi_store_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n,
                             bool *waiting, struct symbi_err *err);

/* ---- agents ---- */
int symbi_store_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                             struct symbi_err *err);
int symbi_store_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                          struct symbi_err *err);
/* Every agent, by name; freed with symbi_agent_list_free. */
int symbi_store_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                           struct symbi_err *err);
void symbi_agent_list_free(struct symbi_agent_def *agents, size_t n);

/* ---- audit ---- */
int symbi_store_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                             struct symbi_err *err);
struct symbi_audit_filter {
    const char *type; /* NULL: any */
    const char *job;  /* job id or name; NULL: any */
    int64_t since;    /* SYMBI_TIME_NONE: unbounded */
    int64_t until;
    int64_t limit; /* <= 0: 100 */
};
/* Newest first. `job` matches the event's job id or job name (events of
 * deleted jobs keep both); since is inclusive, until exclusive. */
int symbi_store_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                            struct symbi_audit_event **events, size_t *n, struct symbi_err *err);
void symbi_audit_list_free(struct symbi_audit_event *events, size_t n);

/* ---- session contexts (SPEC §6.3), keyed by job ---- */
int symbi_store_context_get(struct symbi_store *st, const char *job_id, char **json,
                            struct symbi_err *err); /* *json NULL when none */
int symbi_store_context_put(struct symbi_store *st, const char *job_id, const char *json,
                            int64_t now, struct symbi_err *err);
/* Clears the job's live context: the head row is deleted and every live
 * history entry is archived (archived_at = now), none deleted. */
int symbi_store_context_clear(struct symbi_store *st, const char *job_id, int64_t now,
                              struct symbi_err *err);

/* The history of a shared_persistent context as rows (docs/sessions.md):
 * live entries make up the context an agent sees; archived ones were moved
 * out to keep it under context_max_bytes (or by a clear) and stay in the
 * store until the job is deleted. Strings are heap. */
struct symbi_context_entry {
    int64_t id; /* append order, assigned by the store */
    int64_t at; /* the run's start (UTC ms) */
    char *input;
    char *output;
    int64_t bytes;       /* the entry's size in the context JSON */
    int64_t archived_at; /* SYMBI_TIME_NONE while live */
};
void symbi_context_entries_free(struct symbi_context_entry *v, size_t n);
/* The job's live entries (archived false) or archived ones (true), oldest
 * first, at most limit (<= 0: every one). */
int symbi_store_context_entries(struct symbi_store *st, const char *job_id, bool archived,
                                int64_t limit, struct symbi_context_entry **out, size_t *n,
                                struct symbi_err *err);
/* Saves a context in one transaction: the head JSON (as context_put),
 * the appended entries (ids assigned into them), then archives the live
 * entries with id <= archive_through (0: none). SYMBI_ENOTFOUND when the
 * job does not exist. */
int symbi_store_context_save(struct symbi_store *st, const char *job_id, const char *head,
                             struct symbi_context_entry *append, size_t n_append,
                             int64_t archive_through, int64_t now, struct symbi_err *err);
/* How many live and archived entries the job has. */
int symbi_store_context_count(struct symbi_store *st, const char *job_id, int64_t *live,
                              int64_t *archived, struct symbi_err *err);

/* ---- API keys (SPEC §9) ----
 * The store keeps name, salt and hash; hashing is the caller's. */
struct symbi_api_key {
    char id[SYMBI_UUID_LEN + 1];
    char *name;
    char *salt; /* hex */
    char *hash; /* hex */
    int64_t created_at;
    int64_t revoked_at; /* SYMBI_TIME_NONE when live */
    char *scopes;       /* "read,write,run,approve,admin"; NULL: every scope
                           (keys made before scopes existed) */
};
void symbi_api_key_cleanup(struct symbi_api_key *k);
int symbi_store_api_key_insert(struct symbi_store *st, struct symbi_api_key *k,
                               struct symbi_err *err);
int symbi_store_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                             struct symbi_err *err);
void symbi_api_key_list_free(struct symbi_api_key *keys, size_t n);
/* By id, id prefix or name. */
int symbi_store_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now,
                               struct symbi_err *err);

/* ---- scheduler nodes and leases (SPEC §5.6, §13) ---- */
/* Registers or renews node's lease until now + lease_ms; pid and host are
 * informational. */
int symbi_store_node_heartbeat(struct symbi_store *st, const char *node, int64_t now,
                               int64_t lease_ms, struct symbi_err *err);
int symbi_store_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err);
/* true when some scheduler node other than `except` (NULL: any) holds a
 * live lease. Nodes named "local-..." are CLI processes executing one
 * `cron run --local` run: they hold a lease for that run (so recovery
 * leaves it alone while they live) but are not schedulers. */
int symbi_store_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                           struct symbi_err *err);
/* Runs left `running` by nodes whose lease expired before now: marked
 * interrupted (error "scheduler stopped: node X lease expired"); returned
 * so the caller can plan their retries. Runs such a node had claimed but
 * not started (queued) are released unowned, still queued, for any node's
 * claim_queued: they never ran, so they are not interrupted. A node with no
 * row counts as expired, so a node heartbeats before it claims; expired
 * node rows are removed. */
int symbi_store_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs,
                                size_t *n, struct symbi_err *err);

/* Acquires or renews node's lease until now + lease_ms (lease_ms > 0) and
 * gives the lease's epoch in *epoch: the same while the lease is renewed in
 * time, a new one (never handed out before) when the lease had expired or
 * the node had none. Runs a node claims carry its epoch; the store refuses
 * (SYMBI_ESTATE) a write of such a run once the run is no longer owned by
 * that node under that epoch (recovery took it, another node claimed it),
 * and recover_expired treats runs of an older epoch as a dead node's. A
 * backend without epochs renews with node_heartbeat and gives 0. */
int symbi_store_node_lease(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                           int64_t *epoch, struct symbi_err *err);
/* Waits up to timeout_ms (at most 10 s) for a change made by any process
 * or node (a job created, changed, paused or deleted; a run queued for any
 * node: manual runs, retries, approvals); *changed says whether one came.
 * PostgreSQL: LISTEN/NOTIFY on this handle's connection. SYMBI_EUNSUPPORTED
 * where the backend cannot wait (SQLite: poll change_mark instead). */
int symbi_store_wait_change(struct symbi_store *st, int64_t timeout_ms, bool *changed,
                            struct symbi_err *err);

/* ---- retention (SPEC §13.1) ----
 * One batch of pruning in one transaction: terminal runs (succeeded,
 * failed, timed_out, denied, skipped, missed, interrupted; never queued,
 * running or pending_approval) that finished before now - keep_runs_ms,
 * then those beyond the newest keep_runs_per_job of their job (by
 * scheduled_at, attempt), at most `batch` runs (<= 0: 500), and at most
 * `batch` audit events older than now - keep_audit_ms, and at most `batch`
 * archived session-context entries archived before now - keep_runs_ms (live
 * entries are the context and stay). Their approvals go with them. A bound <= 0 is off. Counts what
 * it deleted in *out; call again until it deletes nothing. dry_run counts everything that would go
 * (no batch bound) and writes nothing. */
struct symbi_retention {
    int64_t now;
    int64_t keep_runs_ms;
    int64_t keep_runs_per_job;
    int64_t keep_audit_ms;
};
struct symbi_prune_counts {
    int64_t runs;
    int64_t audit;
    int64_t contexts; /* archived context entries */
};
int symbi_store_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch,
                      bool dry_run, struct symbi_prune_counts *out, struct symbi_err *err);

#endif
