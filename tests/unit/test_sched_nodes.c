/* test_sched_nodes.c - several nodes on one store (SPEC §5.6, §13): lease
 * epochs (renewed, re-acquired after expiry), the refusal of a lost node's
 * writes, recovery of stale-epoch runs, and two stepped schedulers sharing
 * a store (SQLite, or PostgreSQL with SYMBI_TEST_STORE) with one fake
 * clock: one stalls past its lease, the other
 * takes its runs over, the stalled one's outcome is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sched/sched_int.h"
#include "support/store_fixture.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC   1000LL
#define T0    1774000000000LL
#define LEASE (15 * SEC)

static void must(int rc, const struct symbi_err *err)
{
    if (rc != 0)
        fail_msg("%d: %s", rc, err->msg);
}

/* A job and one unowned queued run of it due at `at` (as a manual run is). */
static void queued_run(struct symbi_store *st, const char *name, int64_t at, struct symbi_run *out)
{
    struct symbi_err err = {0};
    struct symbi_job j;
    fixture_at_job(&j, name, at + 3600 * SEC);
    must(symbi_store_job_create(st, &j, T0, "test", &err), &err);
    symbi_run_init(out);
    memcpy(out->job_id, j.id, sizeof out->job_id);
    out->trigger = SYMBI_TRIGGER_MANUAL;
    out->scheduled_at = at;
    out->due_at = at;
    out->created_at = at;
    must(symbi_store_run_insert(st, out, &err), &err);
    symbi_job_cleanup(&j);
}

static struct symbi_run *take_queued(struct symbi_store *st, const char *node, int64_t now,
                                     size_t want)
{
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    must(symbi_store_claim_queued(st, now, 10, node, &runs, &n, &err), &err);
    assert_int_equal(n, want);
    return runs;
}

static void test_epoch_renew_and_reacquire(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_err err = {0};
    int64_t e1 = 0, e2 = 0, e3 = 0, e4 = 0, other = 0;
    must(symbi_store_node_lease(fx->st, "a", T0, LEASE, &e1, &err), &err);
    assert_true(e1 > 0);
    must(symbi_store_node_lease(fx->st, "a", T0 + 5 * SEC, LEASE, &e2, &err), &err);
    assert_int_equal(e2, e1); /* renewed in time: the same lease */
    must(symbi_store_node_lease(fx->st, "b", T0, LEASE, &other, &err), &err);
    assert_true(other != e1);
    /* renewed after it expired: a new lease */
    must(symbi_store_node_lease(fx->st, "a", T0 + 21 * SEC, LEASE, &e3, &err), &err);
    assert_true(e3 > e1 && e3 != other);
    /* removed (clean stop) and acquired again: new again, never reused */
    must(symbi_store_node_remove(fx->st, "a", &err), &err);
    must(symbi_store_node_lease(fx->st, "a", T0 + 22 * SEC, LEASE, &e4, &err), &err);
    assert_true(e4 > e3);
    assert_int_equal(symbi_store_node_lease(fx->st, "a", T0, 0, &e4, &err), SYMBI_EINVAL);
    store_fixture_free(fx);
}

/* Node a takes a run; its lease expires; b recovers and takes the run; a's
 * start and outcome are refused with SYMBI_ESTATE, b's land. */
static void test_lost_node_refused(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_err err = {0};
    int64_t ea = 0, eb = 0;
    must(symbi_store_node_lease(fx->st, "a", T0, LEASE, &ea, &err), &err);
    struct symbi_run r;
    queued_run(fx->st, "job-1", T0, &r);
    struct symbi_run *mine = take_queued(fx->st, "a", T0 + SEC, 1);
    assert_int_equal(mine[0].epoch, ea);
    assert_string_equal(mine[0].node, "a");
    /* a stalls past its lease; b comes up and recovers */
    int64_t later = T0 + LEASE + 2 * SEC;
    must(symbi_store_node_lease(fx->st, "b", later, LEASE, &eb, &err), &err);
    struct symbi_run *rec = NULL;
    size_t nrec = 0;
    must(symbi_store_recover_expired(fx->st, later, &rec, &nrec, &err), &err);
    assert_int_equal(nrec, 0); /* it had not started: released, not interrupted */
    struct symbi_run *theirs = take_queued(fx->st, "b", later, 1);
    assert_int_equal(theirs[0].epoch, eb);
    /* a wakes up and starts what it held */
    mine[0].status = SYMBI_RUN_RUNNING;
    mine[0].started_at = later;
    assert_int_equal(symbi_store_run_update(fx->st, &mine[0], &err), SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "no longer this node's"));
    mine[0].status = SYMBI_RUN_SUCCEEDED;
    mine[0].finished_at = later + 1;
    struct symbi_run_outcome o = {.run = &mine[0], .max_retries = 3};
    assert_int_equal(symbi_store_run_finish(fx->st, &o, later + 1, &err), SYMBI_ESTATE);
    /* b's writes land */
    theirs[0].status = SYMBI_RUN_RUNNING;
    theirs[0].started_at = later;
    must(symbi_store_run_update(fx->st, &theirs[0], &err), &err);
    theirs[0].status = SYMBI_RUN_SUCCEEDED;
    theirs[0].finished_at = later + 2;
    struct symbi_run_outcome ob = {.run = &theirs[0], .max_retries = 3};
    must(symbi_store_run_finish(fx->st, &ob, later + 2, &err), &err);
    struct symbi_run got;
    must(symbi_store_run_get(fx->st, r.id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(got.node, "b");
    symbi_run_cleanup(&got);
    symbi_run_list_free(mine, 1);
    symbi_run_list_free(theirs, 1);
    symbi_run_list_free(rec, nrec);
    symbi_run_cleanup(&r);
    store_fixture_free(fx);
}

/* A node whose lease expired and came back with a new epoch before anyone
 * recovered: its runs of the old epoch are a dead node's (interrupted,
 * released) though the node is live; its runs of the new epoch stay. */
static void test_stale_epoch_recovered(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_err err = {0};
    int64_t e1 = 0, e2 = 0;
    must(symbi_store_node_lease(fx->st, "a", T0, LEASE, &e1, &err), &err);
    struct symbi_run r1, r2, r3;
    queued_run(fx->st, "job-1", T0, &r1);
    queued_run(fx->st, "job-2", T0, &r2);
    struct symbi_run *old = take_queued(fx->st, "a", T0, 2);
    old[0].status = SYMBI_RUN_RUNNING; /* one started, one still held */
    old[0].started_at = T0;
    must(symbi_store_run_update(fx->st, &old[0], &err), &err);
    int64_t later = T0 + LEASE + SEC;
    must(symbi_store_node_lease(fx->st, "a", later, LEASE, &e2, &err), &err);
    assert_true(e2 != e1);
    queued_run(fx->st, "job-3", later, &r3);
    struct symbi_run *fresh = take_queued(fx->st, "a", later, 1);
    fresh[0].status = SYMBI_RUN_RUNNING;
    fresh[0].started_at = later;
    must(symbi_store_run_update(fx->st, &fresh[0], &err), &err);
    struct symbi_run *rec = NULL;
    size_t nrec = 0;
    must(symbi_store_recover_expired(fx->st, later, &rec, &nrec, &err), &err);
    assert_int_equal(nrec, 1);
    assert_string_equal(rec[0].id, old[0].id);
    struct symbi_run got;
    must(symbi_store_run_get(fx->st, old[0].id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_INTERRUPTED);
    symbi_run_cleanup(&got);
    must(symbi_store_run_get(fx->st, old[1].id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_QUEUED);
    assert_null(got.node); /* released for any node */
    symbi_run_cleanup(&got);
    must(symbi_store_run_get(fx->st, fresh[0].id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_RUNNING);
    assert_int_equal(got.epoch, e2);
    symbi_run_cleanup(&got);
    /* the old epoch's outcome is refused */
    old[0].status = SYMBI_RUN_SUCCEEDED;
    struct symbi_run_outcome o = {.run = &old[0], .max_retries = 3};
    assert_int_equal(symbi_store_run_finish(fx->st, &o, later, &err), SYMBI_ESTATE);
    symbi_run_list_free(old, 2);
    symbi_run_list_free(fresh, 1);
    symbi_run_list_free(rec, nrec);
    symbi_run_cleanup(&r1);
    symbi_run_cleanup(&r2);
    symbi_run_cleanup(&r3);
    store_fixture_free(fx);
}

/* ---- two stepped schedulers ---- */

struct node_env {
    struct symbi_fake_clock *fc;
    int calls;
    char last_node[32];
    const char *name;
};

static int node_runner(void *ud, const struct symbi_agent_request *req,
                       struct symbi_agent_result *res, struct symbi_err *err)
{
    (void)err;
    (void)req;
    struct node_env *n = ud;
    n->calls++;
    symbi_agent_result_init(res);
    res->status = SYMBI_RUN_SUCCEEDED;
    return 0;
}

static struct symbi_sched *node_new(const char *path, const char *name, struct node_env *n)
{
    struct symbi_sched_config cfg;
    symbi_sched_config_init(&cfg);
    cfg.store_url = path;
    cfg.node = name;
    cfg.next_fire = symbi_cron_job_next;
    cfg.clock = &n->fc->base;
    cfg.runner = node_runner;
    cfg.runner_ud = n;
    cfg.lease_ms = LEASE;
    cfg.shutdown_timeout_ms = 1000;
    struct symbi_sched *s = NULL;
    struct symbi_err err = {0};
    must(symbi_sched_new(&cfg, &s, &err), &err);
    must(sched_open_stepped(s, &err), &err);
    return s;
}

static void node_tick(struct symbi_sched *s, struct symbi_fake_clock *fc)
{
    sched_tick(s, fc->wall, fc->mono);
}

static void node_settle(struct symbi_sched *s)
{
    sched_work_run(s, 100);
    sched_drain_done(s);
    sched_recorder_flush(s);
}

static void test_two_nodes_takeover(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_fake_clock fc;
    symbi_fake_clock_init(&fc, T0);
    struct node_env na = {.fc = &fc, .name = "node-a"}, nb = {.fc = &fc, .name = "node-b"};
    struct symbi_sched *a = node_new(fx->url, "node-a", &na);
    struct symbi_sched *b = node_new(fx->url, "node-b", &nb);
    struct symbi_err err = {0};
    struct symbi_run r;
    queued_run(fx->st, "job-1", T0, &r);
    /* a takes and starts it (the worker has not run it yet), and the
     * recorder writes `running` */
    node_tick(a, &fc);
    assert_int_equal(a->running, 1);
    sched_recorder_flush(a);
    /* a stalls; only b ticks for longer than a's lease */
    for (int i = 0; i < 20; i++) {
        symbi_fake_clock_advance(&fc, SEC);
        node_tick(b, &fc);
        node_settle(b);
    }
    struct symbi_run got;
    must(symbi_store_run_get(fx->st, r.id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_INTERRUPTED);
    symbi_run_cleanup(&got);
    /* b ran the retry (attempt 2) */
    assert_int_equal(nb.calls, 1);
    struct symbi_run_filter f = {
        .job_id = r.job_id, .due_before = SYMBI_TIME_NONE, .oldest_first = true};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    must(symbi_store_run_list(fx->st, &f, &runs, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(runs[1].attempt, 2);
    assert_int_equal(runs[1].status, SYMBI_RUN_SUCCEEDED);
    assert_string_equal(runs[1].node, "node-b");
    symbi_run_list_free(runs, n);
    struct symbi_sched_stats sb;
    symbi_sched_get_stats(b, &sb);
    assert_int_equal(sb.runs_recovered, 1);
    /* a wakes: its lease is stale, renewed first with a new epoch; its run
     * finishes and the outcome is refused, the record stays interrupted */
    int64_t old_epoch = a->epoch;
    node_tick(a, &fc);
    assert_true(a->epoch != old_epoch);
    node_settle(a);
    assert_int_equal(na.calls, 1);
    must(symbi_store_run_get(fx->st, r.id, &got, &err), &err);
    assert_int_equal(got.status, SYMBI_RUN_INTERRUPTED);
    symbi_run_cleanup(&got);
    struct symbi_sched_stats sa;
    symbi_sched_get_stats(a, &sa);
    assert_int_equal(sa.lease_losses, 1);
    symbi_run_cleanup(&r);
    symbi_sched_free(a);
    symbi_sched_free(b);
    store_fixture_free(fx);
}

/* A node that cannot renew claims nothing and starts nothing it holds. */
static void test_stale_lease_stops_dispatch(void **state)
{
    (void)state;
    struct store_fixture *fx = store_fixture_new();
    struct symbi_fake_clock fc;
    symbi_fake_clock_init(&fc, T0);
    struct node_env na = {.fc = &fc, .name = "node-a"};
    struct symbi_sched *a = node_new(fx->url, "node-a", &na);
    assert_true(sched_lease_held(a, fc.mono));
    symbi_fake_clock_advance(&fc, LEASE);
    assert_false(sched_lease_held(a, fc.mono));
    struct symbi_run r;
    queued_run(fx->st, "job-1", fc.wall, &r);
    node_tick(a, &fc); /* renews first, then claims and starts */
    assert_true(sched_lease_held(a, fc.mono));
    assert_int_equal(a->running, 1);
    node_settle(a);
    assert_int_equal(na.calls, 1);
    symbi_run_cleanup(&r);
    symbi_sched_free(a);
    store_fixture_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_renew_and_reacquire),
        cmocka_unit_test(test_lost_node_refused),
        cmocka_unit_test(test_stale_epoch_recovered),
        cmocka_unit_test(test_two_nodes_takeover),
        cmocka_unit_test(test_stale_lease_stops_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
