/* store_fixture.h - helpers shared by the store's unit tests: a fresh empty
 * store of the backend under test (SYMBI_TEST_STORE), and job builders. */
#ifndef SYMBI_TEST_STORE_FIXTURE_H
#define SYMBI_TEST_STORE_FIXTURE_H

#include "symbi/store.h"

struct store_fixture {
    char dir[64];   /* a temporary directory, removed by _free */
    char path[128]; /* SQLite: the store's file; "" for another backend */
    char url[512];  /* the store under test: open a second handle with it */
    char pg_db[64]; /* PostgreSQL: the schema made for this test */
    char admin[512];
    struct symbi_store *st;
};

/* The store under test (the conformance suite: test_store.c,
 * test_store_claim.c) comes from the environment:
 *   SYMBI_TEST_STORE unset, "" or "sqlite:"  a new SQLite file in a new
 *                                            temporary directory (the default)
 *   SYMBI_TEST_STORE=postgres://USER@HOST:PORT/DB  (or postgresql://) an
 *       ADMIN URL: each test gets a new schema of DB, created through it as
 *       symbi_t_<pid>_<n> and dropped (CASCADE) by store_fixture_free; the
 *       store's URL is the admin URL with search_path set to that schema.
 * A schema per test, not a wipe of one, so a test starts from a store
 * exactly as `symbi_store_open` leaves a new one (migrations run by the
 * backend itself) and nothing a test leaves behind can reach the next.
 * Anything else fails the test with the value named.
 * Asserts on failure. */
struct store_fixture *store_fixture_new(void);
/* A fresh SQLite store whatever SYMBI_TEST_STORE says (the SQLite-only
 * tests: files, WAL, integrity_check, a writer killed on the file). */
struct store_fixture *store_fixture_new_sqlite(void);
/* Fills fx (zeroed, dir already made) with a fresh store of the backend
 * named by `spec` (SYMBI_TEST_STORE's value, NULL for the default) and
 * opens it into fx->st. */
void store_fresh(struct store_fixture *fx, const char *spec);
/* Closes the store, drops a PostgreSQL test database, removes the
 * directory. NULL is a no-op. */
void store_fixture_free(struct store_fixture *fx);
/* cmocka's per-test setup and teardown: a fresh store in *state (the
 * backend under test), and its store. */
int store_fixture_setup(void **state);
int store_fixture_teardown(void **state);
struct symbi_store *store_fixture_st(void **state);
/* A job named name running agent "agent-1" once at `at`. */
void fixture_at_job(struct symbi_job *job, const char *name, int64_t at);
/* A job named name on cron expression expr. */
void fixture_cron_job(struct symbi_job *job, const char *name, const char *expr);
/* Removes a directory tree (test data only). */
void fixture_rmtree(const char *dir);

#endif
