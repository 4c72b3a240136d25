/* pg_db.c - the PostgreSQL backend's handle: connecting from the URL,
 * reconnecting with back-off after a lost connection, prepared statements
 * cached by address, error mapping, transactions nesting as savepoints. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a statement waits for a row lock before it is SYMBI_EBUSY
 * (SQLite's busy handling waits about as long). */
#define PG_LOCK_TIMEOUT "60s"

void pgp_init(struct pg_params *p)
{
    p->n = 0;
}

void pgp_text(struct pg_params *p, const char *v)
{
    if (p->n < PG_MAX_PARAMS)
        p->v[p->n++] = v;
}

void pgp_i64(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_MAX_PARAMS)
        return;
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

void pgp_time(struct pg_params *p, int64_t v)
{
    if (v == SYMBI_TIME_NONE)
        pgp_text(p, NULL);
    else
        pgp_i64(p, v);
}

void pgp_opt(struct pg_params *p, int64_t v)
{
    if (v < 0)
        pgp_text(p, NULL);
    else
        pgp_i64(p, v);
}

void pgp_f64(struct pg_params *p, double v)
{
    if (p->n >= PG_MAX_PARAMS)
        return;
    snprintf(p->num[p->n], sizeof p->num[p->n], "%.17g", v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

/* libpq prints server notices to stderr by default; library code does not */
static void quiet(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

static void forget_statements(struct pg_store *s)
{
    for (size_t i = 0; i < PG_STMT_SLOTS; i++)
        s->stmts[i].sql = NULL;
}

static void drop_conn(struct pg_store *s)
{
    if (s->conn != NULL)
        PQfinish(s->conn);
    s->conn = NULL;
    forget_statements(s);
}

/* Opens a connection; on failure the next attempt waits the back-off. */
static int connect_now(struct pg_store *s, struct symbi_err *err)
{
    /* the URL's own settings win over these defaults (later keywords of
     * an expanded dbname override earlier ones) */
    const char *keys[] = {"connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "dbname",
                          NULL};
    const char *vals[] = {"5", "10", "5", "3", "15000", "symbi", s->url, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        if (c != NULL)
            PQfinish(c);
        s->retry_at = symbi_now_mono_ms() + s->backoff_ms;
        s->backoff_ms = s->backoff_ms * 2 > PG_BACKOFF_MAX ? PG_BACKOFF_MAX : s->backoff_ms * 2;
        return symbi_err_set(err, SYMBI_EIO, "store: cannot connect to PostgreSQL: %s", msg);
    }
    PQsetNoticeReceiver(c, quiet, NULL);
    PGresult *r = PQexec(c, "SET client_min_messages = warning; SET lock_timeout = "
                            "'" PG_LOCK_TIMEOUT "'; SET TIME ZONE 'UTC'");
    bool ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        int rc = symbi_err_set(err, SYMBI_EIO, "store: setting up the PostgreSQL session: %s",
                               PQerrorMessage(c));
        PQfinish(c);
        return rc;
    }
    drop_conn(s);
    s->conn = c;
    s->backoff_ms = PG_BACKOFF_MIN;
    s->retry_at = 0;
    return 0;
}

int pg_ready(struct pg_store *s, struct symbi_err *err)
{
    /* an idle connection the server closed (a restart, a terminated
     * backend) is noticed before a statement is sent on it (one
     * non-blocking reads), so the statement goes on a new connection
     * instead of failing once (pg_lease.c's cluster tests) */
    for (int i = 0; s->conn != NULL && s->lv.depth == 0 && i < 2; i++)
        if (PQconsumeInput(s->conn) == 0 || PQstatus(s->conn) != CONNECTION_OK)
            drop_conn(s); /* the server's goodbye, then its end of file */
    if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    if (s->lv.depth > 0)
        return symbi_err_set(err, SYMBI_EIO,
                             "store: the connection to PostgreSQL was lost in a transaction");
    drop_conn(s);
    int64_t now = symbi_now_mono_ms();
    if (now < s->retry_at)
        return symbi_err_set(err, SYMBI_EIO,
                             "store: PostgreSQL is unreachable (next attempt in %lld ms)",
                             (long long)(s->retry_at - now));
    return connect_now(s, err);
}

/* Maps a failed result (or none) to an error. */
static int fail(struct pg_store *s, PGresult *res, const char *what, struct symbi_err *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(s->sqlstate, sizeof s->sqlstate, "%s", state != NULL ? state : "");
    char msg[400];
    const char *m = res != NULL ? PQresultErrorMessage(res) : "";
    snprintf(msg, sizeof msg, "%s", m[0] != '\0' ? m : PQerrorMessage(s->conn));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(res);
    if (PQstatus(s->conn) != CONNECTION_OK || strncmp(s->sqlstate, "08", 2) == 0 ||
        strncmp(s->sqlstate, "57P", 3) == 0) {
        /* the session is gone (or the server is shutting down): the next
         * operation outside a transaction reconnects */
        PQfinish(s->conn);
        s->conn = NULL;
        forget_statements(s);
        return symbi_err_set(err, SYMBI_EIO, "store: %s: lost the connection to PostgreSQL: %s",
                             what, msg);
    }
    if (strcmp(s->sqlstate, "23505") == 0)
        return symbi_err_set(err, SYMBI_EEXIST, "store: %s: %s", what, msg);
    if (strcmp(s->sqlstate, "40001") == 0 || strcmp(s->sqlstate, "40P01") == 0 ||
        strcmp(s->sqlstate, "55P03") == 0)
        return symbi_err_set(err, SYMBI_EBUSY, "store: %s: the store stayed busy: %s", what, msg);
    if (strcmp(s->sqlstate, "53100") == 0 || strcmp(s->sqlstate, "53200") == 0)
        return symbi_err_set(err, SYMBI_EIO, "store: %s: %s", what, msg);
    return symbi_err_set(err, SYMBI_ESTORE, "store: %s: %s", what, msg);
}

static int check(struct pg_store *s, PGresult *res, PGresult **out, const char *what,
                 struct symbi_err *err)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        return fail(s, res, what, err);
    s->sqlstate[0] = '\0';
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

/* The prepared statement of sql, preparing it on first use. */
static const char *statement(struct pg_store *s, const char *sql, int nparams, const char *what,
                             struct symbi_err *err, int *rc)
{
    size_t i = ((uintptr_t)sql >> 3) % PG_STMT_SLOTS;
    for (size_t probe = 0; probe < PG_STMT_SLOTS; probe++, i = (i + 1) % PG_STMT_SLOTS) {
        struct pg_stmt *slot = &s->stmts[i];
        if (slot->sql == sql)
            return slot->name;
        if (slot->sql != NULL)
            continue;
        snprintf(slot->name, sizeof slot->name, "s%u", ++s->stmt_seq);
        PGresult *r = PQprepare(s->conn, slot->name, sql, nparams, NULL);
        if ((*rc = check(s, r, NULL, what, err)) != 0)
            return NULL;
        slot->sql = sql;
        return slot->name;
    }
    return NULL; /* a full cache: the caller runs the text */
}

/* Whether a statement that found the connection gone may run again on a
 * new one: outside a transaction, a read or the BEGIN that opens one did
 * nothing yet. A write or a COMMIT is never repeated (it may have landed). */
static bool again_ok(const struct pg_store *s, const char *sql, int rc, int tries)
{
    return rc == SYMBI_EIO && s->conn == NULL && s->lv.depth == 0 && tries == 0 &&
           (strncmp(sql, "SELECT", 6) == 0 || strcmp(sql, "BEGIN") == 0);
}

static int run_once(struct pg_store *s, const char *sql, bool cached, const struct pg_params *p,
                    PGresult **res, const char *what, struct symbi_err *err)
{
    int rc = pg_ready(s, err);
    if (rc != 0)
        return rc;
    int n = p != NULL ? p->n : 0;
    const char *name = cached ? statement(s, sql, n, what, err, &rc) : NULL;
    if (rc != 0)
        return rc;
    PGresult *r = name != NULL
                      ? PQexecPrepared(s->conn, name, n, p != NULL ? p->v : NULL, NULL, NULL, 0)
                      : PQexecParams(s->conn, sql, n, NULL, p != NULL ? p->v : NULL, NULL, NULL, 0);
    return check(s, r, res, what, err);
}

/* A connection that died while idle (the server restarted) is found by the
 * next statement: one that may run again does, on a new connection. */
static int run(struct pg_store *s, const char *sql, bool cached, const struct pg_params *p,
               PGresult **res, const char *what, struct symbi_err *err)
{
    int rc = 0;
    for (int tries = 0;; tries++) {
        rc = run_once(s, sql, cached, p, res, what, err);
        if (!again_ok(s, sql, rc, tries))
            return rc;
        s->retry_at = 0; /* the first reconnect is at once; back-off after */
        symbi_err_clear(err);
    }
}

int pg_q(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res,
         const char *what, struct symbi_err *err)
{
    return run(s, sql, true, p, res, what, err);
}

int pg_qt(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res,
          const char *what, struct symbi_err *err)
{
    return run(s, sql, false, p, res, what, err);
}

int pg_x(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *changed,
         const char *what, struct symbi_err *err)
{
    PGresult *r = NULL;
    int rc = pg_q(s, sql, p, &r, what, err);
    if (rc != 0)
        return rc;
    if (changed != NULL) {
        int64_t v = 0;
        const char *t = PQcmdTuples(r);
        if (t != NULL && t[0] != '\0' && symbi_parse_i64(t, 0, INT64_MAX, &v) != 0)
            v = 0;
        *changed = v;
    }
    PQclear(r);
    return 0;
}

/* A plain command (no parameters, no rows). */
static int command(struct pg_store *s, const char *sql, const char *what, struct symbi_err *err)
{
    return pg_x(s, sql, NULL, NULL, what, err);
}

/* BEGIN (op SYMBI_LEVEL_BEGIN or _BEGIN_ATOMIC): a savepoint when nested. */
static int pg_begin_op(struct pg_store *s, enum symbi_common_level_op op, struct symbi_err *err)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, op);
    int rc = 0;
    if (step == SYMBI_STEP_SAVEPOINT)
        rc = command(s, "SAVEPOINT sp", "starting a nested transaction", err);
    else if (step == SYMBI_STEP_OUTER)
        rc = command(s, "BEGIN", "starting a transaction", err);
    if (rc != 0)
        return rc;
    symbi_common_level_done(&s->lv, op, step);
    if (step == SYMBI_STEP_OUTER) {
        s->dirty = false;
        s->touched = false;
    }
    return 0;
}

int pg_begin(struct pg_store *s, struct symbi_err *err)
{
    return pg_begin_op(s, SYMBI_LEVEL_BEGIN, err);
}

/* Tells every node that jobs or queued runs changed: the sequence moves
 * outside any transaction, after the change is visible. */
static void announce(struct pg_store *s, bool wake)
{
    s->local_changes++;
    PGresult *r = NULL;
    /* the notification wakes the other nodes at once (pg_notify.c) */
    const char *sql = wake ? "SELECT nextval('symbi_changes'), pg_notify('" PG_CHANGES_CHANNEL
                             "', '')"
                           : "SELECT nextval('symbi_changes')";
    if (pg_q(s, sql, NULL, &r, "moving the change mark", NULL) == 0)
        PQclear(r);
}

int pg_commit(struct pg_store *s, struct symbi_err *err)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, SYMBI_LEVEL_COMMIT);
    switch (step) {
    case SYMBI_STEP_DONE:
        return 0;
    case SYMBI_STEP_NONE:
        return symbi_err_set(err, SYMBI_ESTORE, "store: commit without a transaction");
    case SYMBI_STEP_SPOILED:
        pg_rollback(s);
        return symbi_err_set(err, SYMBI_ESTORE,
                             "store: an operation of the transaction failed: rolled back");
    case SYMBI_STEP_SAVEPOINT:
    case SYMBI_STEP_OUTER:
        break;
    }
    int rc = step == SYMBI_STEP_SAVEPOINT
                 ? command(s, "RELEASE SAVEPOINT sp", "ending a nested transaction", err)
                 : command(s, "COMMIT", "committing", err);
    if (rc != 0) {
        pg_rollback(s);
        return rc;
    }
    symbi_common_level_done(&s->lv, SYMBI_LEVEL_COMMIT, step);
    if (step == SYMBI_STEP_OUTER && (s->dirty || s->touched)) {
        announce(s, s->dirty);
        s->dirty = false;
        s->touched = false;
    }
    return 0;
}

void pg_rollback(struct pg_store *s)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, SYMBI_LEVEL_ROLLBACK);
    if (step == SYMBI_STEP_DONE)
        return;
    if (step == SYMBI_STEP_SAVEPOINT) {
        command(s, "ROLLBACK TO SAVEPOINT sp", "undoing a nested transaction", NULL);
        command(s, "RELEASE SAVEPOINT sp", "ending a nested transaction", NULL);
    } else {
        s->dirty = false;
        s->touched = false;
        if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            command(s, "ROLLBACK", "rolling back", NULL);
    }
    symbi_common_level_done(&s->lv, SYMBI_LEVEL_ROLLBACK, step);
}

int pg_end(struct pg_store *s, int rc, struct symbi_err *err)
{
    if (rc == 0)
        return pg_commit(s, err);
    pg_rollback(s);
    return rc;
}

static void pg_close(struct symbi_store *st)
{
    struct pg_store *s = pg_of(st);
    if (s->lv.depth > 0) {
        s->lv.depth = 1;
        pg_rollback(s);
    }
    drop_conn(s);
    free(s->limbo);
    free(s->limbo_node);
    free(s->url);
    free(s);
}

int symbi_pg_open(const char *url, struct symbi_store **out, struct symbi_err *err)
{
    struct pg_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->url = symbi_strdup(url)) == NULL) {
        free(s);
        return pg_oom(err);
    }
    s->base.ops = &symbi_pg_ops;
    s->backoff_ms = PG_BACKOFF_MIN;
    int rc = connect_now(s, err);
    if (rc == 0)
        rc = pg_migrate(s, err);
    if (rc != 0) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int pg_change_mark(struct symbi_store *st, int64_t *mark)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM symbi_changes",
                  NULL, &r, "reading the change mark", NULL);
    if (rc != 0)
        return rc;
    *mark = pgc_i64(r, 0, 0) + s->local_changes;
    PQclear(r);
    return 0;
}

/* Foreign keys and unique keys are the server's own; what is left to check
 * is that every migration this build knows is applied and the ledger has
 * no run without its job. */
static int pg_check(struct symbi_store *st, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT (SELECT count(*) FROM runs r WHERE NOT EXISTS (SELECT 1 FROM jobs j "
                  "WHERE j.id = r.job_id)), (SELECT count(*) FROM pg_catalog.pg_index i JOIN "
                  "pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n "
                  "ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = "
                  "current_schema())",
                  NULL, &r, "checking the store", err);
    if (rc != 0)
        return rc;
    int64_t orphans = pgc_i64(r, 0, 0), invalid = pgc_i64(r, 0, 1);
    PQclear(r);
    if (orphans > 0)
        return symbi_err_set(err, SYMBI_ESTORE, "store: %lld runs have no job", (long long)orphans);
    if (invalid > 0)
        return symbi_err_set(err, SYMBI_ESTORE, "store: %lld invalid indexes", (long long)invalid);
    return 0;
}

static int pg_tx_begin(struct symbi_store *st, struct symbi_err *err)
{
    return pg_begin(pg_of(st), err);
}

/* All or nothing: operations inside join without savepoints; one that
 * fails spoils the transaction and its commit rolls back (as SQLite's). */
static int pg_tx_begin_atomic(struct symbi_store *st, struct symbi_err *err)
{
    return pg_begin_op(pg_of(st), SYMBI_LEVEL_BEGIN_ATOMIC, err);
}

static int pg_tx_commit(struct symbi_store *st, struct symbi_err *err)
{
    return pg_commit(pg_of(st), err);
}

static void pg_tx_rollback(struct symbi_store *st)
{
    if (pg_of(st)->lv.depth > 0)
        pg_rollback(pg_of(st));
}

const struct symbi_store_ops symbi_pg_ops = {
    .name = "postgres",
    .shared = true,
    .close = pg_close,
    .check = pg_check,
    .prune = pg_prune,
    .tx_begin = pg_tx_begin,
    .tx_begin_atomic = pg_tx_begin_atomic,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .job_create = pg_job_create,
    .job_create_many = pg_job_create_many,
    .job_upsert = pg_job_upsert,
    .job_update = pg_job_update,
    .job_get = pg_job_get,
    .job_delete = pg_job_delete,
    .job_set_status = pg_job_set_status,
    .job_reset = pg_job_reset,
    .job_list = pg_job_list,
    .job_counts = pg_job_counts,
    .next_due = pg_next_due,
    .change_mark = pg_change_mark,
    .claim_due = pg_claim_due,
    .run_insert = pg_run_insert,
    .run_update = pg_run_update,
    .run_transition = pg_run_transition,
    .run_decide = pg_run_decide,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .run_count = pg_run_count,
    .claim_queued = pg_claim_queued,
    .run_finish = pg_run_finish,
    .runs_give_back = pg_runs_give_back,
    .runs_waiting = pg_runs_waiting,
    .agent_upsert = pg_agent_upsert,
    .agent_get = pg_agent_get,
    .agent_list = pg_agent_list,
    .audit_append = pg_audit_append,
    .audit_query = pg_audit_query,
    .context_get = pg_context_get,
    .context_put = pg_context_put,
    .context_clear = pg_context_clear,
    .context_entries = pg_context_entries,
    .context_save = pg_context_save,
    .context_count = pg_context_count,
    .api_key_insert = pg_api_key_insert,
    .api_key_list = pg_api_key_list,
    .api_key_revoke = pg_api_key_revoke,
    .node_heartbeat = pg_node_heartbeat,
    .node_remove = pg_node_remove,
    .node_alive = pg_node_alive,
    .recover_expired = pg_recover_expired,
    .run_activity = pg_run_activity,
    .node_lease = pg_node_lease,
    .wait_change = pg_wait_change,
};
