/* test_store_shared.c - several handles on one store (SYMBI_TEST_STORE, SQLite
 * by default): concurrent claims take each fire and each queued run exactly
 * once; on PostgreSQL, a handle whose connection the server dropped
 * reconnects, and a transaction it was in fails whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0    1774000000000LL /* 2026-03-20T09:46:40Z */
#define NJOBS 60
#define NRUNS 40
#define BATCH 5

static int setup(void **state)
{
    *state = store_fixture_new();
    return 0;
}

static int teardown(void **state)
{
    store_fixture_free(*state);
    return 0;
}

/* One run per due job at its instant; `at` jobs complete. */
static int plan_at(void *ud, const struct symbi_job *job, int64_t now, struct symbi_fire_plan *plan)
{
    (void)ud;
    (void)now;
    struct symbi_run *r = &plan->runs[plan->n_runs++];
    r->scheduled_at = job->next_run;
    r->due_at = job->next_run;
    r->trigger = SYMBI_TRIGGER_SCHEDULE;
    r->status = SYMBI_RUN_QUEUED;
    r->attempt = 1;
    plan->status = SYMBI_JOB_COMPLETED;
    plan->next_run = SYMBI_TIME_NONE;
    return 0;
}

struct claimer {
    const char *url;
    const char *node;
    bool queued; /* claim_queued, else claim_due */
    pthread_barrier_t *start;
    char ids[NJOBS + NRUNS][SYMBI_UUID_LEN + 1]; /* job ids (due) or run ids (queued) */
    size_t n;
    int rc;
    char msg[sizeof((struct symbi_err *)0)->msg];
};

/* Claims in small batches on its own handle until nothing is left. */
static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    struct symbi_store *st = NULL;
    struct symbi_err err = {0};
    c->rc = symbi_store_open(c->url, &st, &err);
    pthread_barrier_wait(c->start);
    for (int rounds = 0; c->rc == 0 && rounds < 1000; rounds++) {
        struct symbi_run *runs = NULL;
        size_t n = 0;
        c->rc = c->queued ? symbi_store_claim_queued(st, T0 + 5000, BATCH, c->node, &runs, &n, &err)
                          : symbi_store_claim_due(st, T0 + 5000, BATCH, c->node, plan_at, NULL,
                                                  &runs, &n, &err);
        for (size_t i = 0; c->rc == 0 && i < n && c->n < NJOBS + NRUNS; i++)
            snprintf(c->ids[c->n++], sizeof c->ids[0], "%s",
                     c->queued ? runs[i].id : runs[i].job_id);
        symbi_run_list_free(runs, n);
        if (c->rc == SYMBI_EBUSY)
            c->rc = 0; /* contention: try again */
        else if (c->rc == 0 && n == 0)
            break;
    }
    if (c->rc != 0)
        snprintf(c->msg, sizeof c->msg, "%s", err.msg);
    symbi_store_close(st);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Runs two claimers at once; every id of `want` is taken exactly once. */
static void race(const char *url, bool queued, char (*want)[SYMBI_UUID_LEN + 1], size_t nwant)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    static struct claimer c[2];
    memset(c, 0, sizeof c);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        c[i] = (struct claimer){
            .url = url, .node = i ? "node-b" : "node-a", .queued = queued, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, claim_all, &c[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++)
        if (c[i].rc != 0)
            fail_msg("%s: %s", c[i].node, c[i].msg);
    static char got[2 * (NJOBS + NRUNS)][SYMBI_UUID_LEN + 1];
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < c[i].n; k++)
            memcpy(got[n++], c[i].ids[k], sizeof got[0]);
    assert_int_equal(n, nwant); /* none twice, none left */
    qsort(got, n, sizeof got[0], cmp_id);
    qsort(want, nwant, sizeof want[0], cmp_id);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

static void test_concurrent_claims_take_each_fire_once(void **state)
{
    struct store_fixture *fx = *state;
    struct symbi_err err = {0};
    static char want[NJOBS][SYMBI_UUID_LEN + 1];
    for (int i = 0; i < NJOBS; i++) {
        char name[32];
        snprintf(name, sizeof name, "due-%02d", i);
        struct symbi_job j;
        fixture_at_job(&j, name, T0 + 1000 + i);
        assert_int_equal(symbi_store_job_create(fx->st, &j, T0, "test", &err), 0);
        memcpy(want[i], j.id, sizeof want[i]);
        symbi_job_cleanup(&j);
    }
    race(fx->url, false, want, NJOBS);
    /* the ledger agrees: one run per job */
    int64_t n = 0;
    assert_int_equal(symbi_store_run_count(fx->st, NULL, &n, &err), 0);
    assert_int_equal(n, NJOBS);
}

static void test_concurrent_claim_queued_takes_each_run_once(void **state)
{
    struct store_fixture *fx = *state;
    struct symbi_err err = {0};
    struct symbi_job j;
    fixture_at_job(&j, "manual", T0 + 3600000);
    assert_int_equal(symbi_store_job_create(fx->st, &j, T0, "test", &err), 0);
    static char want[NRUNS][SYMBI_UUID_LEN + 1];
    for (int i = 0; i < NRUNS; i++) {
        struct symbi_run r;
        symbi_run_init(&r);
        memcpy(r.job_id, j.id, sizeof r.job_id);
        r.trigger = SYMBI_TRIGGER_MANUAL;
        r.scheduled_at = T0 + i;
        assert_int_equal(symbi_store_run_insert(fx->st, &r, &err), 0);
        memcpy(want[i], r.id, sizeof want[i]);
        symbi_run_cleanup(&r);
    }
    race(fx->url, true, want, NRUNS);
    symbi_job_cleanup(&j);
}

/* Drops every symbi session of the test's database from the server side,
 * as a server restart or a network cut does. */
static void drop_sessions(const struct store_fixture *fx)
{
    PGconn *c = PQconnectdb(fx->admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                            "application_name = 'symbi' AND pid <> pg_backend_pid()");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(strcmp(PQgetvalue(r, 0, 0), "0") != 0);
    PQclear(r);
    PQfinish(c);
}

static void test_reconnect_after_the_server_drops_the_connection(void **state)
{
    struct store_fixture *fx = *state;
    if (fx->pg_db[0] == '\0')
        skip(); /* PostgreSQL only */
    struct symbi_err err = {0};
    struct symbi_job j, got;
    fixture_at_job(&j, "first", T0 + 1000);
    assert_int_equal(symbi_store_job_create(fx->st, &j, T0, "test", &err), 0);
    /* a read on a dropped connection runs again on a new one */
    drop_sessions(fx);
    assert_int_equal(symbi_store_job_get(fx->st, "first", &got, &err), 0);
    symbi_job_cleanup(&got);
    /* so does the BEGIN of a write: nothing had happened yet */
    drop_sessions(fx);
    struct symbi_job k;
    fixture_at_job(&k, "second", T0 + 2000);
    assert_int_equal(symbi_store_job_create(fx->st, &k, T0, "test", &err), 0);
    /* inside a transaction, the lost connection fails the operation and
     * the transaction: nothing of it is stored, and the next one reconnects */
    assert_int_equal(symbi_store_begin(fx->st, &err), 0);
    struct symbi_job m;
    fixture_at_job(&m, "in-tx", T0 + 3000);
    assert_int_equal(symbi_store_job_create(fx->st, &m, T0, "test", &err), 0);
    drop_sessions(fx);
    struct symbi_job l;
    fixture_at_job(&l, "lost", T0 + 4000);
    assert_int_equal(symbi_store_job_create(fx->st, &l, T0, "test", &err), SYMBI_EIO);
    assert_non_null(strstr(err.msg, "PostgreSQL"));
    assert_int_equal(symbi_store_commit(fx->st, &err), SYMBI_EIO);
    symbi_store_rollback(fx->st);
    assert_int_equal(symbi_store_job_get(fx->st, "in-tx", &got, &err), SYMBI_ENOTFOUND);
    assert_int_equal(symbi_store_job_get(fx->st, "second", &got, &err), 0);
    symbi_job_cleanup(&got);
    int64_t mark = 0;
    assert_int_equal(symbi_store_change_mark(fx->st, &mark), 0);
    symbi_job_cleanup(&j);
    symbi_job_cleanup(&k);
    symbi_job_cleanup(&m);
    symbi_job_cleanup(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_claims_take_each_fire_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_claim_queued_takes_each_run_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_the_server_drops_the_connection, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
