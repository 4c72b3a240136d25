/* sq_misc.c - the SQLite backend's smaller tables: agent definitions,
 * audit events, API keys and scheduler nodes (contexts: sq_context.c). */
#include "store/common.h"
#include "store/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

static int oom(struct symbi_err *err)
{
    return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
}

/* One statement in its own write transaction. */
static int write1(struct sq_store *s, sqlite3_stmt *st, const char *what, struct symbi_err *err)
{
    int rc = sq_step(s, st, err, what);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* ---- agents ---- */

#define AGENT_COLS                                                                                 \
    "name, runner, command, exec, model, system_prompt, builtin, capabilities, env, workdir, "     \
    "timeout_ms, endpoint, api_key_env, temperature, max_tokens, source, created_at, updated_at, " \
    "api, tools, max_tool_calls, sandbox"

int sq_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                    struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    if (a->name == NULL || a->name[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "an agent needs a name");
    sqlite3_stmt *u = sq_prep(
        s,
        "INSERT INTO agents (" AGENT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
        "?14,?15,?16,?17,?17,?18,?19,?20,?21) ON CONFLICT(name) DO UPDATE SET runner=?2, "
        "command=?3, "
        "exec=?4, model=?5, system_prompt=?6, builtin=?7, capabilities=?8, env=?9, workdir=?10, "
        "timeout_ms=?11, endpoint=?12, api_key_env=?13, temperature=?14, max_tokens=?15, "
        "source=?16, updated_at=?17, api=?18, tools=?19, max_tool_calls=?20, sandbox=?21",
        err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, a->name);
    sq_bind_text(u, 2, symbi_runner_name(a->runner));
    sq_bind_text(u, 3, a->command);
    sq_bind_text(u, 4, a->exec);
    sq_bind_text(u, 5, a->model);
    sq_bind_text(u, 6, a->system_prompt);
    sq_bind_text(u, 7, a->builtin);
    sq_bind_text(u, 8, a->capabilities);
    sq_bind_text(u, 9, a->env);
    sq_bind_text(u, 10, a->workdir);
    sq_bind_opt(u, 11, a->timeout_ms);
    sq_bind_text(u, 12, a->endpoint);
    sq_bind_text(u, 13, a->api_key_env);
    if (a->temperature >= 0)
        sqlite3_bind_double(u, 14, a->temperature);
    else
        sqlite3_bind_null(u, 14);
    sq_bind_opt(u, 15, a->max_tokens > 0 ? a->max_tokens : -1);
    sq_bind_text(u, 16, a->source);
    sqlite3_bind_int64(u, 17, now);
    sq_bind_text(u, 18, a->api);
    sq_bind_text(u, 19, a->tools);
    sq_bind_opt(u, 20, a->max_tool_calls);
    sq_bind_text(u, 21, a->sandbox);
    return write1(s, u, "saving an agent", err);
}

static int agent_read(sqlite3_stmt *q, struct symbi_agent_def *a)
{
    bool no_mem = false;
    symbi_agent_def_init(a);
    a->name = sq_col_str(q, 0, &no_mem);
    symbi_runner_parse((const char *)sqlite3_column_text(q, 1), &a->runner);
    a->command = sq_col_str(q, 2, &no_mem);
    a->exec = sq_col_str(q, 3, &no_mem);
    a->model = sq_col_str(q, 4, &no_mem);
    a->system_prompt = sq_col_str(q, 5, &no_mem);
    a->builtin = sq_col_str(q, 6, &no_mem);
    a->capabilities = sq_col_str(q, 7, &no_mem);
    a->env = sq_col_str(q, 8, &no_mem);
    a->workdir = sq_col_str(q, 9, &no_mem);
    a->timeout_ms = sq_col_opt(q, 10);
    a->endpoint = sq_col_str(q, 11, &no_mem);
    a->api_key_env = sq_col_str(q, 12, &no_mem);
    a->temperature = sqlite3_column_type(q, 13) == SQLITE_NULL ? -1 : sqlite3_column_double(q, 13);
    a->max_tokens = sqlite3_column_type(q, 14) == SQLITE_NULL ? 0 : sqlite3_column_int(q, 14);
    a->source = sq_col_str(q, 15, &no_mem);
    a->created_at = sq_col_time(q, 16);
    a->updated_at = sq_col_time(q, 17);
    a->api = sq_col_str(q, 18, &no_mem);
    a->tools = sq_col_str(q, 19, &no_mem);
    a->max_tool_calls = (int)sq_col_opt(q, 20);
    a->sandbox = sq_col_str(q, 21, &no_mem);
    if (no_mem) {
        symbi_agent_def_cleanup(a);
        return SYMBI_ENOMEM;
    }
    return 0;
}

int sq_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                 struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    symbi_agent_def_init(out);
    sqlite3_stmt *q = sq_prep(s, "SELECT " AGENT_COLS " FROM agents WHERE name = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, name);
    int rc = sq_step(s, q, err, "reading an agent");
    if (rc == SQLITE_ROW)
        rc = agent_read(q, out) == 0 ? 0 : oom(err);
    else if (rc == SQLITE_DONE)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "unknown agent \"%s\"", name ? name : "");
    sqlite3_reset(q);
    return rc;
}

int sq_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                  struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q = sq_prep(s, "SELECT " AGENT_COLS " FROM agents ORDER BY name", err);
    if (q == NULL)
        return prep_fail(err);
    struct symbi_agent_def *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "listing agents")) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct symbi_agent_def *p = realloc(arr, nc * sizeof *p);
            if (p == NULL) {
                rc = oom(err);
                break;
            }
            arr = p;
            cap = nc;
        }
        if (agent_read(q, &arr[len]) != 0) {
            rc = oom(err);
            break;
        }
        len++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        symbi_agent_list_free(arr, len);
        return rc;
    }
    *agents = arr;
    *n = len;
    return 0;
}

/* ---- audit ---- */

int sq_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                    struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store.c checked the type and filled in the time */
    return sq_audit(s, e->at, e->type, e->job_id, e->job_name, e->run_id, e->actor, e->details,
                    err);
}

int sq_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                   struct symbi_audit_event **events, size_t *n, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    f = symbi_common_audit_filter(f);
    char sql[512];
    size_t len =
        (size_t)snprintf(sql, sizeof sql,
                         "SELECT id, at, type, job_id, job_name, run_id, actor, details FROM "
                         "audit_events");
    symbi_common_audit_sql(f, '?', false, sql, len, sizeof sql);
    sqlite3_stmt *q = sq_prep_text(s, sql, err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, f->type);
    sq_bind_text(q, 2, f->job);
    sq_bind_time(q, 3, f->since);
    sq_bind_time(q, 4, f->until);
    sqlite3_bind_int64(q, 5, symbi_common_audit_limit(f));
    struct symbi_audit_event *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "querying audit events")) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct symbi_audit_event *p = realloc(arr, nc * sizeof *p);
            if (p == NULL) {
                rc = oom(err);
                break;
            }
            arr = p;
            cap = nc;
        }
        struct symbi_audit_event *e = &arr[cnt];
        bool no_mem = false;
        symbi_audit_event_init(e);
        e->id = sqlite3_column_int64(q, 0);
        e->at = sqlite3_column_int64(q, 1);
        e->type = sq_col_str(q, 2, &no_mem);
        sq_col_id(q, 3, e->job_id);
        e->job_name = sq_col_str(q, 4, &no_mem);
        sq_col_id(q, 5, e->run_id);
        e->actor = sq_col_str(q, 6, &no_mem);
        e->details = sq_col_str(q, 7, &no_mem);
        cnt++;
        if (no_mem) {
            rc = oom(err);
            break;
        }
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        symbi_audit_list_free(arr, cnt);
        return rc;
    }
    *events = arr;
    *n = cnt;
    return 0;
}

/* ---- API keys ---- */

int sq_api_key_insert(struct symbi_store *st, struct symbi_api_key *k, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    if (k->name == NULL || k->name[0] == '\0' || k->salt == NULL || k->hash == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "an API key needs a name, a salt and a hash");
    if (k->id[0] == '\0' && symbi_uuid_v4(k->id) != 0)
        return symbi_err_set(err, SYMBI_EIO, "store: no randomness for a key id");
    if (k->created_at == SYMBI_TIME_NONE || k->created_at == 0)
        k->created_at = symbi_now_wall_ms();
    sqlite3_stmt *u = sq_prep(s,
                              "INSERT INTO api_keys (id, name, salt, hash, created_at, revoked_at, "
                              "scopes) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, k->id);
    sq_bind_text(u, 2, k->name);
    sq_bind_text(u, 3, k->salt);
    sq_bind_text(u, 4, k->hash);
    sqlite3_bind_int64(u, 5, k->created_at);
    sq_bind_text(u, 6, k->scopes);
    int rc = write1(s, u, "saving an API key", err);
    if (rc == SYMBI_EEXIST)
        return symbi_err_set(err, SYMBI_EEXIST, "an API key named \"%s\" already exists", k->name);
    k->revoked_at = SYMBI_TIME_NONE;
    return rc;
}

int sq_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                    struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q =
        sq_prep(s,
                "SELECT id, name, salt, hash, created_at, revoked_at, scopes FROM api_keys "
                "ORDER BY created_at, name",
                err);
    if (q == NULL)
        return prep_fail(err);
    struct symbi_api_key *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "listing API keys")) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct symbi_api_key *p = realloc(arr, nc * sizeof *p);
            if (p == NULL) {
                rc = oom(err);
                break;
            }
            arr = p;
            cap = nc;
        }
        struct symbi_api_key *k = &arr[len++];
        bool no_mem = false;
        memset(k, 0, sizeof *k);
        sq_col_id(q, 0, k->id);
        k->name = sq_col_str(q, 1, &no_mem);
        k->salt = sq_col_str(q, 2, &no_mem);
        k->hash = sq_col_str(q, 3, &no_mem);
        k->created_at = sq_col_time(q, 4);
        k->revoked_at = sq_col_time(q, 5);
        k->scopes = sq_col_str(q, 6, &no_mem);
        if (no_mem) {
            rc = oom(err);
            break;
        }
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        symbi_api_key_list_free(arr, len);
        return rc;
    }
    *keys = arr;
    *n = len;
    return 0;
}

int sq_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    if (ref == NULL || ref[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "no API key given");
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    /* live keys by id, then name, then an id prefix of >= 8 characters */
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT id FROM api_keys WHERE revoked_at IS NULL AND (id = ?1 OR "
                              "name = ?1 OR (length(?1) >= 8 AND substr(id, 1, length(?1)) = ?1)) "
                              "LIMIT 2",
                              err);
    if (q == NULL) {
        sq_rollback(s);
        return prep_fail(err);
    }
    sq_bind_text(q, 1, ref);
    char id[SYMBI_UUID_LEN + 1] = "";
    int rows = 0;
    while ((rc = sq_step(s, q, err, "finding an API key")) == SQLITE_ROW)
        if (rows++ == 0)
            sq_col_id(q, 0, id);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        sq_rollback(s);
        return rc;
    }
    if (rows != 1) {
        sq_rollback(s);
        return rows == 0 ? symbi_err_set(err, SYMBI_ENOTFOUND, "no live API key \"%s\"", ref)
                         : symbi_err_set(err, SYMBI_EAMBIGUOUS, "API key \"%s\" is ambiguous", ref);
    }
    sqlite3_stmt *u = sq_prep(s, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1", err);
    if (u == NULL) {
        sq_rollback(s);
        return prep_fail(err);
    }
    sq_bind_text(u, 1, id);
    sqlite3_bind_int64(u, 2, now);
    if ((rc = write1(s, u, "revoking an API key", err)) != 0) {
        sq_rollback(s);
        return rc;
    }
    return sq_commit(s, err);
}

/* ---- scheduler nodes ---- */

int sq_node_heartbeat(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                      struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store.c checked the name */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    sqlite3_stmt *u = sq_prep(s,
                              "INSERT INTO nodes (name, pid, host, started_at, heartbeat_at, "
                              "lease_until) VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT(name) DO "
                              "UPDATE SET pid = ?2, host = ?3, heartbeat_at = ?4, lease_until = ?5",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, node);
    sqlite3_bind_int64(u, 2, (int64_t)getpid());
    sq_bind_text(u, 3, host);
    sqlite3_bind_int64(u, 4, now);
    sqlite3_bind_int64(u, 5, now + lease_ms);
    return write1(s, u, "renewing a node lease", err);
}

int sq_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *d = sq_prep(s, "DELETE FROM nodes WHERE name = ?1", err);
    if (d == NULL)
        return prep_fail(err);
    sq_bind_text(d, 1, node);
    return write1(s, d, "removing a node", err);
}

int sq_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                  struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT 1 FROM nodes WHERE lease_until >= ?1 AND "
                              "(?2 IS NULL OR name <> ?2) AND name NOT LIKE 'local-%' LIMIT 1",
                              err);
    if (q == NULL)
        return prep_fail(err);
    sqlite3_bind_int64(q, 1, now);
    sq_bind_text(q, 2, except);
    int rc = sq_step(s, q, err, "looking for live nodes");
    sqlite3_reset(q);
    if (rc < 0)
        return rc;
    *alive = rc == SQLITE_ROW;
    return 0;
}
