/* pg_misc.c - the PostgreSQL backend's smaller tables: agent definitions,
 * audit events, API keys and scheduler nodes (contexts: pg_context.c). */
#include "store/common.h"
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- agents ---- */

#define AGENT_COLS                                                                                 \
    "name, runner, command, exec, model, system_prompt, builtin, capabilities, env, workdir, "     \
    "timeout_ms, endpoint, api_key_env, temperature, max_tokens, source, created_at, updated_at, " \
    "api, tools, max_tool_calls, sandbox"

int pg_agent_upsert(struct symbi_store *st, const struct symbi_agent_def *a, int64_t now,
                    struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (a->name == NULL || a->name[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "an agent needs a name");
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, a->name);
    pgp_text(&p, symbi_runner_name(a->runner));
    pgp_text(&p, a->command);
    pgp_text(&p, a->exec);
    pgp_text(&p, a->model);
    pgp_text(&p, a->system_prompt);
    pgp_text(&p, a->builtin);
    pgp_text(&p, a->capabilities);
    pgp_text(&p, a->env);
    pgp_text(&p, a->workdir);
    pgp_opt(&p, a->timeout_ms);
    pgp_text(&p, a->endpoint);
    pgp_text(&p, a->api_key_env);
    if (a->temperature >= 0)
        pgp_f64(&p, a->temperature);
    else
        pgp_text(&p, NULL);
    pgp_opt(&p, a->max_tokens > 0 ? a->max_tokens : -1);
    pgp_text(&p, a->source);
    pgp_i64(&p, now);
    pgp_text(&p, a->api);
    pgp_text(&p, a->tools);
    pgp_opt(&p, a->max_tool_calls);
    pgp_text(&p, a->sandbox);
    return pg_x(s,
                "INSERT INTO agents (" AGENT_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,"
                "$12,$13,$14,$15,$16,$17,$17,$18,$19,$20,$21) ON CONFLICT (name) DO UPDATE SET "
                "runner=$2, command=$3, exec=$4, model=$5, system_prompt=$6, builtin=$7, "
                "capabilities=$8, env=$9, workdir=$10, timeout_ms=$11, endpoint=$12, "
                "api_key_env=$13, temperature=$14, max_tokens=$15, source=$16, updated_at=$17, "
                "api=$18, tools=$19, max_tool_calls=$20, sandbox=$21",
                &p, NULL, "saving an agent", err);
}

static int agent_read(const PGresult *r, int i, struct symbi_agent_def *a)
{
    bool no_mem = false;
    symbi_agent_def_init(a);
    a->name = pgc_str(r, i, 0, &no_mem);
    symbi_runner_parse(pgc_raw(r, i, 1), &a->runner);
    a->command = pgc_str(r, i, 2, &no_mem);
    a->exec = pgc_str(r, i, 3, &no_mem);
    a->model = pgc_str(r, i, 4, &no_mem);
    a->system_prompt = pgc_str(r, i, 5, &no_mem);
    a->builtin = pgc_str(r, i, 6, &no_mem);
    a->capabilities = pgc_str(r, i, 7, &no_mem);
    a->env = pgc_str(r, i, 8, &no_mem);
    a->workdir = pgc_str(r, i, 9, &no_mem);
    a->timeout_ms = pgc_opt(r, i, 10);
    a->endpoint = pgc_str(r, i, 11, &no_mem);
    a->api_key_env = pgc_str(r, i, 12, &no_mem);
    a->temperature = pgc_null(r, i, 13) ? -1 : strtod(PQgetvalue(r, i, 13), NULL);
    a->max_tokens = pgc_null(r, i, 14) ? 0 : (int)pgc_i64(r, i, 14);
    a->source = pgc_str(r, i, 15, &no_mem);
    a->created_at = pgc_time(r, i, 16);
    a->updated_at = pgc_time(r, i, 17);
    a->api = pgc_str(r, i, 18, &no_mem);
    a->tools = pgc_str(r, i, 19, &no_mem);
    a->max_tool_calls = (int)pgc_opt(r, i, 20);
    a->sandbox = pgc_str(r, i, 21, &no_mem);
    if (no_mem) {
        symbi_agent_def_cleanup(a);
        return SYMBI_ENOMEM;
    }
    return 0;
}

int pg_agent_get(struct symbi_store *st, const char *name, struct symbi_agent_def *out,
                 struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    symbi_agent_def_init(out);
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, name);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT " AGENT_COLS " FROM agents WHERE name = $1", &p, &r,
                  "reading an agent", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "unknown agent \"%s\"", name ? name : "");
    else if (agent_read(r, 0, out) != 0)
        rc = pg_oom(err);
    PQclear(r);
    return rc;
}

int pg_agent_list(struct symbi_store *st, struct symbi_agent_def **agents, size_t *n,
                  struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc =
        pg_q(s, "SELECT " AGENT_COLS " FROM agents ORDER BY name", NULL, &r, "listing agents", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    struct symbi_agent_def *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && arr == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        if (agent_read(r, i, &arr[i]) != 0) {
            symbi_agent_list_free(arr, (size_t)i);
            PQclear(r);
            return pg_oom(err);
        }
    }
    PQclear(r);
    *agents = arr;
    *n = (size_t)rows;
    return 0;
}

/* ---- audit ---- */

int pg_audit_append(struct symbi_store *st, const struct symbi_audit_event *e,
                    struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store.c checked the type and filled in the time */
    return pg_audit(s, e->at, e->type, e->job_id, e->job_name, e->run_id, e->actor, e->details,
                    err);
}

int pg_audit_query(struct symbi_store *st, const struct symbi_audit_filter *f,
                   struct symbi_audit_event **events, size_t *n, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    f = symbi_common_audit_filter(f);
    char sql[768];
    /* every parameter is referenced so that each gets its type */
    size_t len = (size_t)snprintf(sql, sizeof sql,
                                  "SELECT id, at, type, job_id, job_name, run_id, actor, details "
                                  "FROM audit_events WHERE ($1::text IS NULL OR TRUE) AND "
                                  "($2::text IS NULL OR TRUE) AND ($3::bigint IS NULL OR TRUE) "
                                  "AND ($4::bigint IS NULL OR TRUE)");
    symbi_common_audit_sql(f, '$', true, sql, len, sizeof sql);
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, f->type);
    pgp_text(&p, f->job);
    pgp_time(&p, f->since);
    pgp_time(&p, f->until);
    pgp_i64(&p, symbi_common_audit_limit(f));
    PGresult *r = NULL;
    int rc = pg_qt(s, sql, &p, &r, "querying audit events", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    struct symbi_audit_event *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && arr == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        struct symbi_audit_event *e = &arr[i];
        bool no_mem = false;
        symbi_audit_event_init(e);
        e->id = pgc_i64(r, i, 0);
        e->at = pgc_i64(r, i, 1);
        e->type = pgc_str(r, i, 2, &no_mem);
        pgc_id(r, i, 3, e->job_id);
        e->job_name = pgc_str(r, i, 4, &no_mem);
        pgc_id(r, i, 5, e->run_id);
        e->actor = pgc_str(r, i, 6, &no_mem);
        e->details = pgc_str(r, i, 7, &no_mem);
        if (no_mem) {
            symbi_audit_list_free(arr, (size_t)i + 1);
            PQclear(r);
            return pg_oom(err);
        }
    }
    PQclear(r);
    *events = arr;
    *n = (size_t)rows;
    return 0;
}

/* ---- API keys ---- */

int pg_api_key_insert(struct symbi_store *st, struct symbi_api_key *k, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (k->name == NULL || k->name[0] == '\0' || k->salt == NULL || k->hash == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "an API key needs a name, a salt and a hash");
    if (k->id[0] == '\0' && symbi_uuid_v4(k->id) != 0)
        return symbi_err_set(err, SYMBI_EIO, "store: no randomness for a key id");
    if (k->created_at == SYMBI_TIME_NONE || k->created_at == 0)
        k->created_at = symbi_now_wall_ms();
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, k->id);
    pgp_text(&p, k->name);
    pgp_text(&p, k->salt);
    pgp_text(&p, k->hash);
    pgp_i64(&p, k->created_at);
    pgp_text(&p, k->scopes);
    int rc = pg_x(s,
                  "INSERT INTO api_keys (id, name, salt, hash, created_at, revoked_at, scopes) "
                  "VALUES ($1, $2, $3, $4, $5, NULL, $6)",
                  &p, NULL, "saving an API key", err);
    if (rc == SYMBI_EEXIST)
        return symbi_err_set(err, SYMBI_EEXIST, "an API key named \"%s\" already exists", k->name);
    k->revoked_at = SYMBI_TIME_NONE;
    return rc;
}

int pg_api_key_list(struct symbi_store *st, struct symbi_api_key **keys, size_t *n,
                    struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT id, name, salt, hash, created_at, revoked_at, scopes FROM api_keys "
                  "ORDER BY created_at, name",
                  NULL, &r, "listing API keys", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    struct symbi_api_key *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && arr == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        struct symbi_api_key *k = &arr[i];
        bool no_mem = false;
        pgc_id(r, i, 0, k->id);
        k->name = pgc_str(r, i, 1, &no_mem);
        k->salt = pgc_str(r, i, 2, &no_mem);
        k->hash = pgc_str(r, i, 3, &no_mem);
        k->created_at = pgc_time(r, i, 4);
        k->revoked_at = pgc_time(r, i, 5);
        k->scopes = pgc_str(r, i, 6, &no_mem);
        if (no_mem) {
            symbi_api_key_list_free(arr, (size_t)i + 1);
            PQclear(r);
            return pg_oom(err);
        }
    }
    PQclear(r);
    *keys = arr;
    *n = (size_t)rows;
    return 0;
}

int pg_api_key_revoke(struct symbi_store *st, const char *ref, int64_t now, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (ref == NULL || ref[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "no API key given");
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    /* live keys by id, then name, then an id prefix of >= 8 characters */
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, ref);
    PGresult *r = NULL;
    if ((rc = pg_q(s,
                   "SELECT id FROM api_keys WHERE revoked_at IS NULL AND (id = $1::text OR name = "
                   "$1::text OR (length($1::text) >= 8 AND substr(id, 1, length($1::text)) = "
                   "$1::text)) LIMIT 2 FOR UPDATE",
                   &p, &r, "finding an API key", err)) != 0)
        return pg_end(s, rc, err);
    int rows = PQntuples(r);
    char id[SYMBI_UUID_LEN + 1] = "";
    if (rows > 0)
        pgc_id(r, 0, 0, id);
    PQclear(r);
    if (rows != 1)
        return pg_end(
            s,
            rows == 0 ? symbi_err_set(err, SYMBI_ENOTFOUND, "no live API key \"%s\"", ref)
                      : symbi_err_set(err, SYMBI_EAMBIGUOUS, "API key \"%s\" is ambiguous", ref),
            err);
    pgp_init(&p);
    pgp_text(&p, id);
    pgp_i64(&p, now);
    rc = pg_x(s, "UPDATE api_keys SET revoked_at = $2 WHERE id = $1", &p, NULL,
              "revoking an API key", err);
    return pg_end(s, rc, err);
}

/* ---- scheduler nodes ---- */

int pg_node_heartbeat(struct symbi_store *st, const char *node, int64_t now, int64_t lease_ms,
                      struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store.c checked the name */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, node);
    pgp_i64(&p, (int64_t)getpid());
    pgp_text(&p, host);
    pgp_i64(&p, now);
    pgp_i64(&p, now + lease_ms);
    return pg_x(s,
                "INSERT INTO nodes (name, pid, host, started_at, heartbeat_at, lease_until) "
                "VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (name) DO UPDATE SET pid = $2, "
                "host = $3, heartbeat_at = $4, lease_until = $5",
                &p, NULL, "renewing a node lease", err);
}

int pg_node_remove(struct symbi_store *st, const char *node, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, node);
    return pg_x(s, "DELETE FROM nodes WHERE name = $1", &p, NULL, "removing a node", err);
}

int pg_node_alive(struct symbi_store *st, const char *except, int64_t now, bool *alive,
                  struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, now);
    pgp_text(&p, except);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT 1 FROM nodes WHERE lease_until >= $1 AND ($2::text IS NULL OR name <> "
                  "$2::text) AND name NOT LIKE 'local-%' LIMIT 1",
                  &p, &r, "looking for live nodes", err);
    if (rc != 0)
        return rc;
    *alive = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}
