/* test_policy_approve.c - the approval workflow against a real store
 * (src/policy/approve.c, SPEC §8.1): approvers, the approval timeout at its
 * boundary (on approve and by the scheduler's sweep), answered runs, and
 * denials that are not failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"
#include "symbi/policy.h"

#include <stdlib.h>
#include <string.h>

#define T0 1772409600000LL

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

/* A job with policy (JSON) and one of its runs pending since `since`. */
static void pending_run(struct symbi_store *st, const char *name, const char *policy, int64_t since,
                        char id[SYMBI_UUID_LEN + 1])
{
    struct symbi_err err = {0};
    struct symbi_job job;
    if (symbi_store_job_get(st, name, &job, &err) != 0) {
        fixture_cron_job(&job, name, "0 0 1 1 *");
        symbi_set_str(&job.policy, policy);
        assert_int_equal(symbi_store_job_create(st, &job, T0, "test", &err), 0);
    }
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, job.id, sizeof run.job_id);
    run.status = SYMBI_RUN_PENDING_APPROVAL;
    run.trigger = SYMBI_TRIGGER_MANUAL;
    run.attempt = 1;
    run.scheduled_at = run.due_at = run.created_at = since;
    run.started_at = since;
    assert_int_equal(symbi_store_run_insert(st, &run, &err), 0);
    memcpy(id, run.id, SYMBI_UUID_LEN + 1);
    symbi_run_cleanup(&run);
    symbi_job_cleanup(&job);
}

static enum symbi_run_status status_of(struct symbi_store *st, const char *id, char **msg)
{
    struct symbi_run r;
    assert_int_equal(symbi_store_run_get(st, id, &r, NULL), 0);
    enum symbi_run_status s = r.status;
    if (msg != NULL)
        *msg = symbi_strdup(r.error_message);
    symbi_run_cleanup(&r);
    return s;
}

#define GATED "{\"require_approval\":true,\"approvers\":[\"alice\",\"bob\"]}"

static void test_approvers(void **state)
{
    struct store_fixture *fx = *state;
    char id[SYMBI_UUID_LEN + 1];
    pending_run(fx->st, "gated", GATED, T0, id);
    struct symbi_err err = {0};
    struct symbi_run out;
    assert_int_equal(symbi_policy_decide(fx->st, id, true, "mallory", NULL, 0, T0 + 1, &out, &err),
                     SYMBI_EDENIED);
    assert_non_null(strstr(err.msg, "\"mallory\" is not among the approvers of job gated"));
    assert_int_equal(symbi_policy_decide(fx->st, id, false, "mallory", NULL, 0, T0 + 1, NULL, NULL),
                     SYMBI_EDENIED); /* deny too */
    assert_int_equal(symbi_policy_decide(fx->st, id, true, "", NULL, 0, T0 + 1, NULL, NULL),
                     SYMBI_EINVAL);
    assert_int_equal(status_of(fx->st, id, NULL), SYMBI_RUN_PENDING_APPROVAL);
    assert_int_equal(symbi_policy_decide(fx->st, id, true, "bob", NULL, 0, T0 + 2, &out, &err), 0);
    assert_int_equal(out.status, SYMBI_RUN_QUEUED);
    assert_string_equal(out.approver, "bob");
    symbi_run_cleanup(&out);
    /* answered once */
    memset(&err, 0, sizeof err);
    assert_int_equal(symbi_policy_decide(fx->st, id, true, "bob", NULL, 0, T0 + 3, NULL, &err),
                     SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "not pending_approval"));
    /* a job without approvers: anyone */
    char id2[SYMBI_UUID_LEN + 1];
    pending_run(fx->st, "open", "{\"require_approval\":true}", T0, id2);
    assert_int_equal(symbi_policy_decide(fx->st, id2, false, "carol", "no", 0, T0 + 1, NULL, NULL),
                     0);
    char *msg = NULL;
    assert_int_equal(status_of(fx->st, id2, &msg), SYMBI_RUN_DENIED);
    assert_string_equal(msg, "denied by carol: no");
    free(msg);
    /* a denial is no failure */
    struct symbi_job j;
    assert_int_equal(symbi_store_job_get(fx->st, "open", &j, NULL), 0);
    assert_int_equal(j.failure_count, 0);
    assert_int_equal(j.status, SYMBI_JOB_ACTIVE);
    symbi_job_cleanup(&j);
    assert_int_equal(symbi_policy_decide(fx->st, "no-such-run", true, "x", NULL, 0, T0, NULL, NULL),
                     SYMBI_ENOTFOUND);
}

static void test_timeout_on_answer(void **state)
{
    struct store_fixture *fx = *state;
    char id[SYMBI_UUID_LEN + 1], id2[SYMBI_UUID_LEN + 1];
    pending_run(fx->st, "gated", GATED, T0, id);
    pending_run(fx->st, "gated", GATED, T0 + 5, id2);
    /* default 1 h: the last millisecond is still in time */
    assert_int_equal(
        symbi_policy_decide(fx->st, id, true, "alice", NULL, 0, T0 + 3600000 - 1, NULL, NULL), 0);
    struct symbi_err err = {0};
    assert_int_equal(
        symbi_policy_decide(fx->st, id2, true, "alice", NULL, 0, T0 + 5 + 3600000, NULL, &err),
        SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "approval timeout (1h)"));
    char *msg = NULL;
    assert_int_equal(status_of(fx->st, id2, &msg), SYMBI_RUN_DENIED);
    assert_string_equal(msg, "denied by approval-timeout: no answer within 1h");
    free(msg);
}

static void test_sweep(void **state)
{
    struct store_fixture *fx = *state;
    char a[SYMBI_UUID_LEN + 1], b[SYMBI_UUID_LEN + 1], c[SYMBI_UUID_LEN + 1];
    pending_run(fx->st, "short", "{\"require_approval\":true,\"approval_timeout\":\"10s\"}", T0, a);
    pending_run(fx->st, "default", "{\"require_approval\":true}", T0, b);
    pending_run(fx->st, "default", "{\"require_approval\":true}", T0 + 1000, c);
    size_t n = 99;
    struct symbi_err err = {0};
    /* configured default 60 s; short's own 10 s */
    assert_int_equal(symbi_policy_expire_approvals(fx->st, 60000, T0 + 9999, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(symbi_policy_expire_approvals(fx->st, 60000, T0 + 10000, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(fx->st, a, NULL), SYMBI_RUN_DENIED);
    assert_int_equal(symbi_policy_expire_approvals(fx->st, 60000, T0 + 60000, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(fx->st, b, NULL), SYMBI_RUN_DENIED);
    assert_int_equal(status_of(fx->st, c, NULL), SYMBI_RUN_PENDING_APPROVAL);
    assert_int_equal(symbi_policy_expire_approvals(fx->st, 60000, T0 + 61000, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(fx->st, c, NULL), SYMBI_RUN_DENIED);
    /* each with its CronRunDenied by approval-timeout */
    struct symbi_audit_filter f = {
        .type = "CronRunDenied", .since = SYMBI_TIME_NONE, .until = SYMBI_TIME_NONE};
    struct symbi_audit_event *ev = NULL;
    size_t ne = 0;
    assert_int_equal(symbi_store_audit_query(fx->st, &f, &ev, &ne, NULL), 0);
    assert_int_equal(ne, 3);
    for (size_t i = 0; i < ne; i++)
        assert_string_equal(ev[i].actor, "approval-timeout");
    symbi_audit_list_free(ev, ne);
}

static void test_pending_since(void **state)
{
    (void)state;
    struct symbi_run r;
    symbi_run_init(&r);
    r.created_at = 100;
    r.due_at = 200;
    assert_int_equal(symbi_policy_pending_since(&r), 200);
    r.due_at = 50;
    assert_int_equal(symbi_policy_pending_since(&r), 100);
    r.started_at = 300;
    assert_int_equal(symbi_policy_pending_since(&r), 300);
    symbi_run_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_approvers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_on_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test(test_pending_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
