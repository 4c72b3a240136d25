/* pg_context.c - the PostgreSQL backend's session contexts (SPEC §6.3): the
 * head row of a job's context and its history entries, live or archived. */
#include "store/pg.h"

#include <stdlib.h>
#include <string.h>

/* a foreign-key failure on the job id is "no such job" */
static int no_job(struct pg_store *s, int rc, const char *job_id, struct symbi_err *err)
{
    if (rc != 0 && strcmp(s->sqlstate, "23503") == 0)
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", job_id);
    return rc;
}

int pg_context_get(struct symbi_store *st, const char *job_id, char **json, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *json = NULL;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    PGresult *r = NULL;
    int rc =
        pg_q(s, "SELECT data FROM contexts WHERE job_id = $1", &p, &r, "reading a context", err);
    if (rc != 0)
        return rc;
    bool no_mem = false;
    if (PQntuples(r) > 0)
        *json = pgc_str(r, 0, 0, &no_mem);
    PQclear(r);
    return no_mem ? pg_oom(err) : 0;
}

static int put_head(struct pg_store *s, const char *job_id, const char *json, int64_t now,
                    struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    pgp_text(&p, json);
    pgp_i64(&p, now);
    int rc = pg_x(s,
                  "INSERT INTO contexts (job_id, data, updated_at) VALUES ($1, $2, $3) "
                  "ON CONFLICT (job_id) DO UPDATE SET data = $2, updated_at = $3",
                  &p, NULL, "saving a context", err);
    return no_job(s, rc, job_id, err);
}

static int delete_head(struct pg_store *s, const char *job_id, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    return pg_x(s, "DELETE FROM contexts WHERE job_id = $1", &p, NULL, "clearing a context", err);
}

/* live entries with id <= through (INT64_MAX: all) become archived */
static int archive(struct pg_store *s, const char *job_id, int64_t through, int64_t now,
                   struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    pgp_i64(&p, through);
    pgp_i64(&p, now);
    return pg_x(s,
                "UPDATE context_entries SET archived_at = $3 WHERE job_id = $1 AND archived_at "
                "IS NULL AND id <= $2",
                &p, NULL, "archiving context entries", err);
}

int pg_context_put(struct symbi_store *st, const char *job_id, const char *json, int64_t now,
                   struct symbi_err *err)
{
    if (json == NULL)
        return pg_context_clear(st, job_id, now, err);
    return put_head(pg_of(st), job_id, json, now, err);
}

int pg_context_clear(struct symbi_store *st, const char *job_id, int64_t now, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    if ((rc = archive(s, job_id, INT64_MAX, now, err)) == 0)
        rc = delete_head(s, job_id, err);
    return pg_end(s, rc, err);
}

static int append_entry(struct pg_store *s, const char *job_id, struct symbi_context_entry *e,
                        struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    pgp_i64(&p, e->at);
    pgp_text(&p, e->input);
    pgp_text(&p, e->output);
    pgp_i64(&p, e->bytes);
    pgp_time(&p, e->archived_at);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "INSERT INTO context_entries (job_id, at, input, output, bytes, archived_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                  &p, &r, "appending a context entry", err);
    if (rc != 0)
        return no_job(s, rc, job_id, err);
    e->id = pgc_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_context_save(struct symbi_store *st, const char *job_id, const char *head,
                    struct symbi_context_entry *append, size_t n_append, int64_t archive_through,
                    int64_t now, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    rc = head != NULL ? put_head(s, job_id, head, now, err) : delete_head(s, job_id, err);
    for (size_t i = 0; rc == 0 && i < n_append; i++)
        rc = append_entry(s, job_id, &append[i], err);
    if (rc == 0 && archive_through > 0)
        rc = archive(s, job_id, archive_through, now, err);
    return pg_end(s, rc, err);
}

int pg_context_entries(struct symbi_store *st, const char *job_id, bool archived, int64_t limit,
                       struct symbi_context_entry **out, size_t *n, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *out = NULL;
    *n = 0;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    if (limit > 0)
        pgp_i64(&p, limit);
    else
        pgp_text(&p, NULL);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  archived ? "SELECT id, at, input, output, bytes, archived_at FROM "
                             "context_entries WHERE job_id = $1 AND archived_at IS NOT NULL "
                             "ORDER BY id LIMIT $2"
                           : "SELECT id, at, input, output, bytes, archived_at FROM "
                             "context_entries WHERE job_id = $1 AND archived_at IS NULL "
                             "ORDER BY id LIMIT $2",
                  &p, &r, "reading context entries", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    struct symbi_context_entry *v = rows > 0 ? calloc((size_t)rows, sizeof *v) : NULL;
    if (rows > 0 && v == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    bool no_mem = false;
    for (int i = 0; i < rows; i++) {
        struct symbi_context_entry *e = &v[i];
        e->id = pgc_i64(r, i, 0);
        e->at = pgc_i64(r, i, 1);
        e->input = pgc_str(r, i, 2, &no_mem);
        e->output = pgc_str(r, i, 3, &no_mem);
        e->bytes = pgc_i64(r, i, 4);
        e->archived_at = pgc_time(r, i, 5);
    }
    PQclear(r);
    if (no_mem) {
        symbi_context_entries_free(v, (size_t)rows);
        return pg_oom(err);
    }
    *out = v;
    *n = (size_t)rows;
    return 0;
}

int pg_context_count(struct symbi_store *st, const char *job_id, int64_t *live, int64_t *archived,
                     struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT count(*) - count(archived_at), count(archived_at) FROM "
                  "context_entries WHERE job_id = $1",
                  &p, &r, "counting context entries", err);
    if (rc != 0)
        return rc;
    *live = pgc_i64(r, 0, 0);
    *archived = pgc_i64(r, 0, 1);
    PQclear(r);
    return 0;
}
