/* sq_context.c - the SQLite backend's session contexts (SPEC §6.3): the
 * head row of a job's context and its history entries, live or archived. */
#include "store/sq.h"

#include <stdlib.h>
#include <string.h>

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

static int oom(struct symbi_err *err)
{
    return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
}

static int step_done(struct sq_store *s, sqlite3_stmt *st, const char *what, struct symbi_err *err)
{
    int rc = sq_step(s, st, err, what);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* a foreign-key failure on the job id is "no such job" */
static int no_job(int rc, const char *job_id, struct symbi_err *err)
{
    if (rc == SYMBI_ESTORE && err != NULL && strstr(err->msg, "FOREIGN KEY") != NULL)
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", job_id);
    return rc;
}

int sq_context_get(struct symbi_store *st, const char *job_id, char **json, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    *json = NULL;
    sqlite3_stmt *q = sq_prep(s, "SELECT data FROM contexts WHERE job_id = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, job_id);
    int rc = sq_step(s, q, err, "reading a context");
    bool no_mem = false;
    if (rc == SQLITE_ROW)
        *json = sq_col_str(q, 0, &no_mem);
    sqlite3_reset(q);
    if (no_mem)
        return oom(err);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
}

static int put_head(struct sq_store *s, const char *job_id, const char *json, int64_t now,
                    struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "INSERT INTO contexts (job_id, data, updated_at) VALUES (?1, ?2, ?3)"
                              " ON CONFLICT(job_id) DO UPDATE SET data = ?2, updated_at = ?3",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, job_id);
    sq_bind_text(u, 2, json);
    sqlite3_bind_int64(u, 3, now);
    return no_job(step_done(s, u, "saving a context", err), job_id, err);
}

static int delete_head(struct sq_store *s, const char *job_id, struct symbi_err *err)
{
    sqlite3_stmt *d = sq_prep(s, "DELETE FROM contexts WHERE job_id = ?1", err);
    if (d == NULL)
        return prep_fail(err);
    sq_bind_text(d, 1, job_id);
    return step_done(s, d, "clearing a context", err);
}

/* live entries with id <= through (INT64_MAX: all) become archived */
static int archive(struct sq_store *s, const char *job_id, int64_t through, int64_t now,
                   struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE context_entries SET archived_at = ?3"
                              " WHERE job_id = ?1 AND archived_at IS NULL AND id <= ?2",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, job_id);
    sqlite3_bind_int64(u, 2, through);
    sqlite3_bind_int64(u, 3, now);
    return step_done(s, u, "archiving context entries", err);
}

int sq_context_put(struct symbi_store *st, const char *job_id, const char *json, int64_t now,
                   struct symbi_err *err)
{
    if (json == NULL)
        return sq_context_clear(st, job_id, now, err);
    return put_head(sq_of(st), job_id, json, now, err);
}

int sq_context_clear(struct symbi_store *st, const char *job_id, int64_t now, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    if ((rc = archive(s, job_id, INT64_MAX, now, err)) != 0 ||
        (rc = delete_head(s, job_id, err)) != 0) {
        sq_rollback(s);
        return rc;
    }
    return sq_commit(s, err);
}

int sq_context_save(struct symbi_store *st, const char *job_id, const char *head,
                    struct symbi_context_entry *append, size_t n_append, int64_t archive_through,
                    int64_t now, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    if (head != NULL)
        rc = put_head(s, job_id, head, now, err);
    else
        rc = delete_head(s, job_id, err);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < n_append; i++) {
        sqlite3_stmt *ins = sq_prep(s,
                                    "INSERT INTO context_entries (job_id, at, input, output, "
                                    "bytes, archived_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                    err);
        if (ins == NULL) {
            rc = prep_fail(err);
            goto fail;
        }
        struct symbi_context_entry *e = &append[i];
        sq_bind_text(ins, 1, job_id);
        sqlite3_bind_int64(ins, 2, e->at);
        sq_bind_text(ins, 3, e->input);
        sq_bind_text(ins, 4, e->output);
        sqlite3_bind_int64(ins, 5, e->bytes);
        sq_bind_time(ins, 6, e->archived_at);
        if ((rc = no_job(step_done(s, ins, "appending a context entry", err), job_id, err)) != 0)
            goto fail;
        e->id = sqlite3_last_insert_rowid(s->db);
    }
    if (archive_through > 0 && (rc = archive(s, job_id, archive_through, now, err)) != 0)
        goto fail;
    return sq_commit(s, err);
fail:
    sq_rollback(s);
    return rc < 0 ? rc : SYMBI_ESTORE;
}

int sq_context_entries(struct symbi_store *st, const char *job_id, bool archived, int64_t limit,
                       struct symbi_context_entry **out, size_t *n, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q = sq_prep(s,
                              archived ? "SELECT id, at, input, output, bytes, archived_at FROM "
                                         "context_entries WHERE job_id = ?1 AND archived_at IS "
                                         "NOT NULL ORDER BY id LIMIT ?2"
                                       : "SELECT id, at, input, output, bytes, archived_at FROM "
                                         "context_entries WHERE job_id = ?1 AND archived_at IS "
                                         "NULL ORDER BY id LIMIT ?2",
                              err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, job_id);
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    struct symbi_context_entry *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    bool no_mem = false;
    while ((rc = sq_step(s, q, err, "reading context entries")) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct symbi_context_entry *nv = realloc(v, nc * sizeof *nv);
            if (nv == NULL) {
                no_mem = true;
                break;
            }
            v = nv;
            cap = nc;
        }
        struct symbi_context_entry *e = &v[len++];
        memset(e, 0, sizeof *e);
        e->id = sqlite3_column_int64(q, 0);
        e->at = sqlite3_column_int64(q, 1);
        e->input = sq_col_str(q, 2, &no_mem);
        e->output = sq_col_str(q, 3, &no_mem);
        e->bytes = sqlite3_column_int64(q, 4);
        e->archived_at = sq_col_time(q, 5);
        if (no_mem)
            break;
    }
    sqlite3_reset(q);
    if (no_mem) {
        symbi_context_entries_free(v, len);
        return oom(err);
    }
    if (rc != SQLITE_DONE) {
        symbi_context_entries_free(v, len);
        return rc < 0 ? rc : SYMBI_ESTORE;
    }
    *out = v;
    *n = len;
    return 0;
}

int sq_context_count(struct symbi_store *st, const char *job_id, int64_t *live, int64_t *archived,
                     struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT count(*) - count(archived_at), count(archived_at) FROM "
                              "context_entries WHERE job_id = ?1",
                              err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, job_id);
    int rc = sq_step(s, q, err, "counting context entries");
    if (rc == SQLITE_ROW) {
        *live = sqlite3_column_int64(q, 0);
        *archived = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : rc;
}
