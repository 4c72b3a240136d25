/* sq_schema.c - the SQLite schema as numbered migrations, applied in order
 * inside one transaction and recorded in schema_migrations. A migration,
 * once released, is never edited: changes come as a new, higher number. */
#include "store/sq.h"

#include <stdio.h>

struct sq_migration {
    int version;
    const char *description;
    const char *sql;                                       /* run first, when not NULL */
    int (*run)(struct sq_store *s, struct symbi_err *err); /* then this, when not NULL */
};

static int rewrite_status_checks(struct sq_store *s, struct symbi_err *err);

static const struct sq_migration migrations[] = {
    {1, "jobs, runs, agents, contexts, audit events, approvals, API keys, nodes",
     /* jobs (SPEC §4.1): enums as their lowercase strings, times as UTC ms,
      * arrays and maps as JSON text exactly as written */
     "CREATE TABLE jobs ("
     " id TEXT PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " agent TEXT,"
     " cron_expr TEXT,"
     " at INTEGER,"
     " timezone TEXT,"
     " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN"
     "  ('active','paused','completed','failed','dead_letter')),"
     " session_mode TEXT NOT NULL DEFAULT 'ephemeral_with_summary',"
     " delivery TEXT, webhook_url TEXT, webhook_headers TEXT, slack_channel TEXT,"
     " slack_webhook_url TEXT, email_recipients TEXT, log_file TEXT, policy TEXT,"
     " hb_set INTEGER NOT NULL DEFAULT 0, hb_enabled INTEGER NOT NULL DEFAULT 0,"
     " hb_context_mode TEXT, hb_max_iterations INTEGER NOT NULL DEFAULT 10,"
     " max_concurrent INTEGER NOT NULL DEFAULT 1, max_retries INTEGER, jitter_ms INTEGER,"
     " catch_up TEXT NOT NULL DEFAULT 'once', starting_deadline_ms INTEGER,"
     " dst_gap TEXT NOT NULL DEFAULT 'shift', dst_overlap TEXT NOT NULL DEFAULT 'auto',"
     " input TEXT, agent_pin_jwt TEXT, one_shot INTEGER NOT NULL DEFAULT 0,"
     " deliver TEXT, audit TEXT, source TEXT,"
     " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
     " last_run INTEGER, next_run INTEGER,"
     " run_count INTEGER NOT NULL DEFAULT 0, failure_count INTEGER NOT NULL DEFAULT 0);"
     /* due jobs: only active ones, by next_run */
     "CREATE INDEX jobs_due ON jobs(next_run) WHERE status = 'active';"
     "CREATE INDEX jobs_status ON jobs(status, name);"
     "CREATE INDEX jobs_agent ON jobs(agent, name);"
     /* runs (SPEC §4.2): the fire ledger, one row per scheduled instant */
     "CREATE TABLE runs ("
     " id TEXT PRIMARY KEY,"
     " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
     " job_name TEXT, agent TEXT,"
     " trigger TEXT NOT NULL DEFAULT 'schedule',"
     " scheduled_at INTEGER NOT NULL, due_at INTEGER,"
     " started_at INTEGER, finished_at INTEGER, jitter_ms INTEGER NOT NULL DEFAULT 0,"
     " status TEXT NOT NULL CHECK (status IN ('queued','pending_approval','running',"
     "  'succeeded','failed','timed_out','denied','skipped','missed','interrupted')),"
     " attempt INTEGER NOT NULL DEFAULT 1,"
     " input TEXT, output TEXT, output_truncated INTEGER NOT NULL DEFAULT 0,"
     " stderr_text TEXT, summary TEXT, error_message TEXT, exit_code INTEGER,"
     " execution_time_ms INTEGER, node TEXT, iterations INTEGER NOT NULL DEFAULT 0,"
     " deliveries TEXT, approver TEXT, created_at INTEGER NOT NULL,"
     " UNIQUE (job_id, scheduled_at, attempt));"
     /* history of a job is the unique index above; runs by status: */
     "CREATE INDEX runs_status ON runs(status, due_at);"
     "CREATE TABLE agents ("
     " name TEXT PRIMARY KEY, runner TEXT NOT NULL, command TEXT, exec TEXT, model TEXT,"
     " system_prompt TEXT, builtin TEXT, capabilities TEXT, env TEXT, workdir TEXT,"
     " timeout_ms INTEGER, endpoint TEXT, api_key_env TEXT, temperature REAL,"
     " max_tokens INTEGER, source TEXT, created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"
     "CREATE TABLE contexts ("
     " job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
     " data TEXT NOT NULL, updated_at INTEGER NOT NULL);"
     /* audit events outlive the jobs they name: no foreign keys */
     "CREATE TABLE audit_events ("
     " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL,"
     " job_id TEXT, job_name TEXT, run_id TEXT, actor TEXT, details TEXT);"
     "CREATE INDEX audit_type_at ON audit_events(type, at);"
     "CREATE INDEX audit_at ON audit_events(at);"
     "CREATE INDEX audit_job_at ON audit_events(job_id, at);"
     "CREATE INDEX audit_job_name_at ON audit_events(job_name, at);"
     "CREATE TABLE approvals ("
     " id INTEGER PRIMARY KEY,"
     " run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
     " decision TEXT NOT NULL CHECK (decision IN ('approved','denied')),"
     " approver TEXT, reason TEXT, at INTEGER NOT NULL);"
     "CREATE INDEX approvals_run ON approvals(run_id);"
     "CREATE TABLE api_keys ("
     " id TEXT PRIMARY KEY, name TEXT NOT NULL, salt TEXT NOT NULL, hash TEXT NOT NULL,"
     " created_at INTEGER NOT NULL, revoked_at INTEGER);"
     "CREATE UNIQUE INDEX api_keys_live_name ON api_keys(name) WHERE revoked_at IS NULL;"
     "CREATE TABLE nodes ("
     " name TEXT PRIMARY KEY, pid INTEGER, host TEXT, started_at INTEGER NOT NULL,"
     " heartbeat_at INTEGER NOT NULL, lease_until INTEGER NOT NULL);",
     NULL},
    /* measured at 1,000,000 jobs: each index costs every insert, and these
     * two served only rare filters (jobs by agent, audit by a deleted
     * job's name), which now scan */
    {2, "drop the jobs-by-agent and audit-by-job-name indexes",
     "DROP INDEX jobs_agent;"
     "DROP INDEX audit_job_name_at;",
     NULL},
    /* no query reads audit_job_at: `audit query --job` matches job_id OR
     * job_name, and with job_name unindexed SQLite walks audit_at (EXPLAIN
     * QUERY PLAN) while every job insert paid a random-UUID-keyed entry */
    {3, "drop the unused audit-by-job-id index", "DROP INDEX audit_job_at;", NULL},
    /* sessions (SPEC §6.3, docs/sessions.md): a shared_persistent history
     * as rows, live ones in the context and archived ones kept; and each
     * heartbeat iteration's output in its run */
    {4, "context history entries with their archive; runs.iteration_outputs",
     "CREATE TABLE context_entries ("
     " id INTEGER PRIMARY KEY,"
     " job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
     " at INTEGER NOT NULL, input TEXT, output TEXT, bytes INTEGER NOT NULL,"
     " archived_at INTEGER);"
     "CREATE INDEX context_entries_job ON context_entries(job_id, id);"
     "CREATE INDEX context_entries_live ON context_entries(job_id, id)"
     " WHERE archived_at IS NULL;"
     "ALTER TABLE runs ADD COLUMN iteration_outputs TEXT;",
     NULL},
    /* SPEC §9: keys carry scopes; NULL (every key made before) keeps full rights */
    {5, "api_keys.scopes", "ALTER TABLE api_keys ADD COLUMN scopes TEXT;", NULL},
    /* model agents (SPEC §6.2): the API, declared tools and their limit;
     * per run the tool calls made and the token usage */
    {6, "model agents: api, tools, max_tool_calls; runs' tool calls and token usage",
     "ALTER TABLE agents ADD COLUMN api TEXT;"
     "ALTER TABLE agents ADD COLUMN tools TEXT;"
     "ALTER TABLE agents ADD COLUMN max_tool_calls INTEGER;"
     "ALTER TABLE runs ADD COLUMN tool_calls TEXT;"
     "ALTER TABLE runs ADD COLUMN prompt_tokens INTEGER;"
     "ALTER TABLE runs ADD COLUMN completion_tokens INTEGER;",
     NULL},
    /* sandboxed agents (SPEC §6.5): the sandbox block as JSON text */
    {7, "agents.sandbox", "ALTER TABLE agents ADD COLUMN sandbox TEXT;", NULL},
    /* several nodes (SPEC §13, docs/store.md): a node's lease carries an
     * epoch, new each time the lease is acquired (not renewed); a run owned
     * by a node carries the epoch it was taken under. lease_epochs hands
     * out epochs that are never reused (AUTOINCREMENT), even after a
     * node's row is removed. */
    {8, "lease epochs: nodes.epoch, runs.epoch, lease_epochs",
     "ALTER TABLE nodes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE runs ADD COLUMN epoch INTEGER;"
     "CREATE TABLE lease_epochs (epoch INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL,"
     " acquired_at INTEGER NOT NULL);",
     NULL},
    /* the same constraints, in a form SQLite evaluates without building a
     * temporary index per statement (rewrite_status_checks) */
    {9, "status checks of jobs and runs as OR chains", NULL, rewrite_status_checks},
};

/* Migration 9. SQLite evaluates `status IN ('a','b','c',...)` (three or
 * more constants) in a CHECK by building an ephemeral index each time the
 * INSERT or UPDATE statement runs: callgrind measured ~35,000 instructions
 * of every job insert there, more than the row's own B-tree inserts, and
 * every run insert and status update paid it too. An OR chain of
 * equalities is the same condition (status is NOT NULL) and costs a few
 * comparisons. The stored format does not change, so this is SQLite's
 * documented edit of a table's CHECK (lang_altertable.html: the table's SQL
 * text rewritten in sqlite_master under writable_schema, the schema cookie
 * incremented), inside the migration's transaction. */
static const struct {
    const char *table, *from, *to;
} status_checks[] = {
    {"jobs", "status IN  ('active','paused','completed','failed','dead_letter')",
     "status = 'active' OR status = 'paused' OR status = 'completed' OR status = 'failed' OR "
     "status = 'dead_letter'"},
    {"runs",
     "status IN ('queued','pending_approval','running',  'succeeded','failed','timed_out',"
     "'denied','skipped','missed','interrupted')",
     "status = 'queued' OR status = 'pending_approval' OR status = 'running' OR "
     "status = 'succeeded' OR status = 'failed' OR status = 'timed_out' OR status = 'denied' OR "
     "status = 'skipped' OR status = 'missed' OR status = 'interrupted'"},
};

static int rewrite_status_checks(struct sq_store *s, struct symbi_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = SYMBI_ESTORE;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA schema_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    if (version <= 0)
        return symbi_err_set(err, SYMBI_ESTORE, "store: %s: reading the schema version: %s",
                             s->path, sqlite3_errmsg(s->db));
    /* a build of SQLite that is defensive by default refuses writable_schema */
    int defensive = 0;
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, -1, &defensive);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 0, NULL);
    if (sqlite3_exec(s->db, "PRAGMA writable_schema=ON", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "UPDATE sqlite_master SET sql = replace(sql, ?2, ?3) "
                           "WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
                           -1, &q, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(status_checks); i++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, status_checks[i].table, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, status_checks[i].from, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, status_checks[i].to, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            goto fail;
        if (sqlite3_changes(s->db) != 1) {
            /* a table whose text is not migration 1's: refuse rather than
             * leave it half done (the transaction rolls back) */
            sqlite3_finalize(q);
            sqlite3_exec(s->db, "PRAGMA writable_schema=OFF", NULL, NULL, NULL);
            sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, defensive, NULL);
            return symbi_err_set(err, SYMBI_ESTORE,
                                 "store: %s: migration 9: the %s table's status check is not "
                                 "the one migration 1 wrote",
                                 s->path, status_checks[i].table);
        }
    }
    sqlite3_finalize(q);
    q = NULL;
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA schema_version=%d", version + 1);
    if (sqlite3_exec(s->db, bump, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    rc = 0;
fail:
    if (rc != 0)
        rc = symbi_err_set(err, SYMBI_ESTORE, "store: %s: migration 9 failed: %s", s->path,
                           sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    sqlite3_exec(s->db, "PRAGMA writable_schema=OFF", NULL, NULL, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, defensive, NULL);
    return rc;
}

int sq_schema_version_known(void)
{
    return migrations[SYMBI_ARRAY_LEN(migrations) - 1].version;
}

/* The version recorded, read without taking the write lock (0 when the
 * store is new). */
static int recorded_version(struct sq_store *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    int v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    return v;
}

int sq_migrate(struct sq_store *s, struct symbi_err *err)
{
    /* the common case, an up-to-date store, takes no write lock */
    if (recorded_version(s) == sq_schema_version_known())
        return 0;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    char *msg = NULL;
    if (sqlite3_exec(s->db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                     " applied_at INTEGER NOT NULL)",
                     NULL, NULL, &msg) != SQLITE_OK) {
        rc = symbi_err_set(err, SYMBI_ESTORE, "store: %s: creating schema_migrations: %s", s->path,
                           msg ? msg : "?");
        goto fail;
    }
    sqlite3_stmt *q = sq_prep(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", err);
    if (q == NULL) {
        rc = err ? err->code : SYMBI_ESTORE;
        goto fail;
    }
    rc = sq_step(s, q, err, "reading the schema version");
    if (rc != SQLITE_ROW)
        goto fail;
    int have = sqlite3_column_int(q, 0);
    sqlite3_reset(q);
    if (have > sq_schema_version_known()) {
        rc = symbi_err_set(err, SYMBI_ESTORE,
                           "store: %s has schema version %d, newer than this symbi knows (%d)",
                           s->path, have, sq_schema_version_known());
        goto fail;
    }
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(migrations); i++) {
        const struct sq_migration *m = &migrations[i];
        if (m->version <= have)
            continue;
        if (m->sql != NULL && sqlite3_exec(s->db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
            rc = symbi_err_set(err, SYMBI_ESTORE, "store: %s: migration %d failed: %s", s->path,
                               m->version, msg ? msg : "?");
            goto fail;
        }
        if (m->run != NULL && (rc = m->run(s, err)) != 0)
            goto fail;
        sqlite3_stmt *ins = sq_prep(s,
                                    "INSERT INTO schema_migrations (version, description, "
                                    "applied_at) VALUES (?1, ?2, ?3)",
                                    err);
        if (ins == NULL) {
            rc = err ? err->code : SYMBI_ESTORE;
            goto fail;
        }
        sqlite3_bind_int(ins, 1, m->version);
        sq_bind_text(ins, 2, m->description);
        sqlite3_bind_int64(ins, 3, symbi_now_wall_ms());
        rc = sq_step(s, ins, err, "recording a migration");
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    return sq_commit(s, err);
fail:
    sqlite3_free(msg);
    sq_rollback(s);
    return rc < 0 ? rc : SYMBI_ESTORE;
}
