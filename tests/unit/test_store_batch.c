/* test_store_batch.c - the store conformance suite, part 3 (run against the
 * backend SYMBI_TEST_STORE names, SQLite by default): the batched writes of
 * many jobs (symbi_store_job_create_many and symbi_store_job_upsert_many)
 * across the sizes a backend may write in one statement (SQLite: 32 rows
 * an INSERT, the rest one by one): every job and its audit event written in
 * the jobs' order, a name given twice, and all or nothing on a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1774000000000LL /* 2026-03-20T09:46:40Z */
#define N  75              /* two batches of 32 and 11 more */

#define setup    store_fixture_setup
#define teardown store_fixture_teardown
#define st_of    store_fixture_st

static void make_jobs(struct symbi_job *jobs, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%03zu", prefix, i);
        fixture_cron_job(&jobs[i], name, "*/5 * * * *");
    }
}

static void free_jobs(struct symbi_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        symbi_job_cleanup(&jobs[i]);
}

/* The audit events, oldest first. */
static struct symbi_audit_event *events(struct symbi_store *st, size_t *n)
{
    struct symbi_audit_filter f = {NULL, NULL, SYMBI_TIME_NONE, SYMBI_TIME_NONE, 100000};
    struct symbi_audit_event *ev = NULL;
    assert_int_equal(symbi_store_audit_query(st, &f, &ev, n, NULL), 0);
    for (size_t i = 0; i < *n / 2; i++) { /* the query gives the newest first */
        struct symbi_audit_event t = ev[i];
        ev[i] = ev[*n - 1 - i];
        ev[*n - 1 - i] = t;
    }
    return ev;
}

static int64_t count_jobs(struct symbi_store *st)
{
    struct symbi_err err = {0};
    int64_t c[5];
    assert_int_equal(symbi_store_job_counts(st, c, &err), 0);
    return c[0] + c[1] + c[2] + c[3] + c[4];
}

/* Each job of jobs[0..n) stored as given, its id and next run handed back. */
static void check_stored(struct symbi_store *st, struct symbi_job *jobs, size_t n)
{
    struct symbi_err err = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(jobs[i].id), SYMBI_UUID_LEN);
        assert_int_equal(jobs[i].created_at, T0);
        assert_true(jobs[i].next_run > T0);
        struct symbi_job got;
        assert_int_equal(symbi_store_job_get(st, jobs[i].id, &got, &err), 0);
        assert_string_equal(got.name, jobs[i].name);
        assert_string_equal(got.cron_expr, jobs[i].cron_expr);
        assert_int_equal(got.next_run, jobs[i].next_run);
        symbi_job_cleanup(&got);
    }
}

static void test_create_many_batches(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job jobs[N];
    make_jobs(jobs, N, "c");
    assert_int_equal(symbi_store_job_create_many(st, jobs, N, T0, "t", &err), 0);
    assert_int_equal(count_jobs(st), N);
    check_stored(st, jobs, N);
    size_t n = 0;
    struct symbi_audit_event *ev = events(st, &n);
    assert_int_equal(n, N);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(ev[i].type, "CronJobCreated");
        assert_string_equal(ev[i].job_id, jobs[i].id);
        assert_string_equal(ev[i].job_name, jobs[i].name);
        assert_string_equal(ev[i].actor, "t");
        assert_non_null(strstr(ev[i].details, jobs[i].name));
    }
    symbi_audit_list_free(ev, n);
    free_jobs(jobs, N);
}

static void test_create_many_fails_whole(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job taken;
    fixture_cron_job(&taken, "c040", "0 * * * *");
    assert_int_equal(symbi_store_job_create(st, &taken, T0, "t", &err), 0);
    struct symbi_job jobs[N];
    make_jobs(jobs, N, "c"); /* c040 is in the second batch of 32 */
    assert_int_equal(symbi_store_job_create_many(st, jobs, N, T0, "t", &err), SYMBI_EEXIST);
    assert_non_null(strstr(err.msg, "\"c040\""));
    assert_int_equal(count_jobs(st), 1);
    size_t n = 0;
    struct symbi_audit_event *ev = events(st, &n);
    assert_int_equal(n, 1);
    symbi_audit_list_free(ev, n);
    for (size_t i = 0; i < N; i++)
        assert_string_equal(jobs[i].id, ""); /* no id of the failed batch stays */
    /* a name given twice in one batch fails it too, naming the name */
    assert_int_equal(symbi_set_str(&jobs[40].name, "c007"), 0);
    assert_int_equal(symbi_store_job_create_many(st, jobs, N, T0, "t", &err), SYMBI_EEXIST);
    assert_non_null(strstr(err.msg, "\"c007\""));
    assert_int_equal(count_jobs(st), 1);
    symbi_job_cleanup(&taken);
    free_jobs(jobs, N);
}

static void test_upsert_many(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    /* u010 and u050 exist; the rest are new */
    struct symbi_job old[2];
    fixture_cron_job(&old[0], "u010", "0 * * * *");
    fixture_cron_job(&old[1], "u050", "*/5 * * * *");
    assert_int_equal(symbi_store_job_create_many(st, old, 2, T0 - 1000, "t", &err), 0);
    struct symbi_job jobs[N];
    bool created[N];
    make_jobs(jobs, N, "u");
    assert_int_equal(symbi_store_job_upsert_many(st, jobs, N, T0, "cli", created, &err), 0);
    assert_int_equal(count_jobs(st), N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(created[i], i != 10 && i != 50);
    assert_string_equal(jobs[10].id, old[0].id); /* updated in place */
    assert_string_equal(jobs[50].id, old[1].id);
    size_t n = 0;
    struct symbi_audit_event *ev = events(st, &n);
    /* two creations, then one event per job in the file's order; u050's
     * definition did not change, so it has none */
    assert_int_equal(n, 2 + N - 1);
    for (size_t i = 0, e = 2; i < N; i++) {
        if (i == 50)
            continue;
        assert_string_equal(ev[e].type, i == 10 ? "CronJobUpdated" : "CronJobCreated");
        assert_string_equal(ev[e].job_name, jobs[i].name);
        e++;
    }
    symbi_audit_list_free(ev, n);
    /* the same file again: nothing created, nothing written */
    free_jobs(jobs, N);
    make_jobs(jobs, N, "u");
    assert_int_equal(symbi_store_job_upsert_many(st, jobs, N, T0 + 1, "cli", created, &err), 0);
    for (size_t i = 0; i < N; i++)
        assert_false(created[i]);
    ev = events(st, &n);
    assert_int_equal(n, 2 + N - 1);
    symbi_audit_list_free(ev, n);
    free_jobs(jobs, N);
    free_jobs(old, 2);
}

static void test_upsert_many_same_name_twice(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job jobs[N];
    bool created[N];
    make_jobs(jobs, N, "d");
    /* d003 again at 40 (a later batch) and at 5 (the same batch) */
    assert_int_equal(symbi_set_str(&jobs[40].name, "d003"), 0);
    assert_int_equal(symbi_set_str(&jobs[40].cron_expr, "0 0 * * *"), 0);
    assert_int_equal(symbi_set_str(&jobs[5].name, "d003"), 0);
    assert_int_equal(symbi_set_str(&jobs[5].cron_expr, "0 1 * * *"), 0);
    assert_int_equal(symbi_store_job_upsert_many(st, jobs, N, T0, "cli", created, &err), 0);
    assert_int_equal(count_jobs(st), N - 2);
    assert_true(created[3]);
    assert_false(created[5]);
    assert_false(created[40]);
    assert_string_equal(jobs[5].id, jobs[3].id);
    assert_string_equal(jobs[40].id, jobs[3].id);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "d003", &got, &err), 0);
    assert_string_equal(got.cron_expr, "0 0 * * *"); /* the last definition */
    symbi_job_cleanup(&got);
    free_jobs(jobs, N);
}

static void test_upsert_many_fails_whole(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job jobs[N];
    bool created[N];
    make_jobs(jobs, N, "f");
    /* a new job under an id already taken (the 45th, in the second batch) */
    struct symbi_job taken;
    fixture_cron_job(&taken, "other", "0 * * * *");
    assert_int_equal(symbi_store_job_create(st, &taken, T0, "t", &err), 0);
    memcpy(jobs[45].id, taken.id, sizeof taken.id);
    assert_int_not_equal(symbi_store_job_upsert_many(st, jobs, N, T0, "cli", created, &err), 0);
    assert_int_equal(count_jobs(st), 1);
    size_t n = 0;
    struct symbi_audit_event *ev = events(st, &n);
    assert_int_equal(n, 1);
    symbi_audit_list_free(ev, n);
    for (size_t i = 0; i < N; i++) {
        assert_false(created[i]);
        assert_string_equal(jobs[i].id, "");
    }
    /* an invalid definition is refused before anything is written */
    jobs[45].id[0] = '\0';
    free(jobs[70].cron_expr);
    jobs[70].cron_expr = NULL;
    assert_int_equal(symbi_store_job_upsert_many(st, jobs, N, T0, "cli", created, &err),
                     SYMBI_EINVAL);
    assert_int_equal(count_jobs(st), 1);
    symbi_job_cleanup(&taken);
    free_jobs(jobs, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_many_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_many_fails_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_many_same_name_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_many_fails_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
