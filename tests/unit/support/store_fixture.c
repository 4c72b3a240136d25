/* store_fixture.c - a fresh empty store of the backend under test for unit
 * tests (store_fresh: SQLite file or PostgreSQL database), and job builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fixture_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            fixture_rmtree(p);
    }
    closedir(d);
    rmdir(dir);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* url = admin whose sessions use `schema` first (libpq's options). */
static void url_with_schema(const char *admin, const char *schema, char *url, size_t size)
{
    int n = snprintf(url, size, "%s%soptions=-csearch_path%%3D%s", admin,
                     strchr(admin, '?') != NULL ? "&" : "?", schema);
    if (n < 0 || (size_t)n >= size)
        fail_msg("SYMBI_TEST_STORE: URL too long: %s", admin);
}

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "database ... does not exist, skipping" is expected */
}

/* One statement on the admin connection; fails the test on error. */
static void pg_admin_exec(const char *admin, const char *sql)
{
    PGconn *c = PQconnectdb(admin);
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        fail_msg("SYMBI_TEST_STORE: cannot connect to %s: %s", admin, msg);
    }
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", ok ? "" : PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        fail_msg("SYMBI_TEST_STORE: %s: %s", sql, msg);
}

/* The PostgreSQL branch of store_fresh: a new schema of the admin URL's
 * database per test (made in milliseconds; a database takes about a second
 * to copy from its template), which the store's own migrations fill. */
static void fresh_postgres(struct store_fixture *fx, const char *admin)
{
    static unsigned seq;
    if (strlen(admin) >= sizeof fx->admin)
        fail_msg("SYMBI_TEST_STORE: URL too long: %s", admin);
    snprintf(fx->admin, sizeof fx->admin, "%s", admin);
    snprintf(fx->pg_db, sizeof fx->pg_db, "symbi_t_%ld_%u", (long)getpid(), seq++);
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", fx->pg_db);
    pg_admin_exec(admin, sql);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", fx->pg_db);
    pg_admin_exec(admin, sql);
    url_with_schema(admin, fx->pg_db, fx->url, sizeof fx->url);
}

static void drop_postgres(struct store_fixture *fx)
{
    if (fx->pg_db[0] == '\0')
        return;
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", fx->pg_db);
    fx->pg_db[0] = '\0';
    pg_admin_exec(fx->admin, sql);
}

void store_fresh(struct store_fixture *fx, const char *spec)
{
    if (spec == NULL || spec[0] == '\0' || strcmp(spec, "sqlite:") == 0) {
        snprintf(fx->path, sizeof fx->path, "%s/symbi.db", fx->dir);
        snprintf(fx->url, sizeof fx->url, "%s", fx->path);
    } else if (starts(spec, "postgres://") || starts(spec, "postgresql://")) {
        fresh_postgres(fx, spec);
    } else {
        fail_msg("SYMBI_TEST_STORE=%s: expected unset, \"sqlite:\" or a postgres:// admin URL",
                 spec);
    }
    struct symbi_err err = {0};
    int rc = symbi_store_open(fx->url, &fx->st, &err);
    if (rc != 0) {
        /* a failed setup has no teardown: leave no test database behind */
        drop_postgres(fx);
        fail_msg("open %s: %s", fx->url, err.msg);
    }
}

static struct store_fixture *fixture_make(const char *spec)
{
    struct store_fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/symbi-test-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    store_fresh(fx, spec);
    return fx;
}

struct store_fixture *store_fixture_new(void)
{
    return fixture_make(getenv("SYMBI_TEST_STORE"));
}

struct store_fixture *store_fixture_new_sqlite(void)
{
    return fixture_make(NULL);
}

void store_fixture_free(struct store_fixture *fx)
{
    if (fx == NULL)
        return;
    symbi_store_close(fx->st);
    drop_postgres(fx);
    fixture_rmtree(fx->dir);
    free(fx);
}

int store_fixture_setup(void **state)
{
    *state = store_fixture_new();
    return 0;
}

int store_fixture_teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

struct symbi_store *store_fixture_st(void **state)
{
    return ((struct store_fixture *)*state)->st;
}

void fixture_at_job(struct symbi_job *job, const char *name, int64_t at)
{
    symbi_job_init(job);
    assert_int_equal(symbi_set_str(&job->name, name), 0);
    assert_int_equal(symbi_set_str(&job->agent, "agent-1"), 0);
    job->at = at;
}

void fixture_cron_job(struct symbi_job *job, const char *name, const char *expr)
{
    symbi_job_init(job);
    assert_int_equal(symbi_set_str(&job->name, name), 0);
    assert_int_equal(symbi_set_str(&job->agent, "agent-1"), 0);
    assert_int_equal(symbi_set_str(&job->cron_expr, expr), 0);
}
