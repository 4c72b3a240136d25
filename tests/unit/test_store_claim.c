/* test_store_claim.c - the store conformance suite, part 2 (the backend
 * SYMBI_TEST_STORE names, SQLite by default): the scheduler's transactions:
 * claiming due fires, taking queued runs, recording finished runs (counters,
 * dead letter, retries), node leases and recovery of expired nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/store_fixture.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0  1774000000000LL /* 2026-03-20T09:46:40Z */
#define MIN 60000LL

#define setup    store_fixture_setup
#define teardown store_fixture_teardown
#define st_of    store_fixture_st

struct planner {
    int calls;
    bool fail_named_bad; /* the planner errs on the job named "bad" */
};

/* A minimal planner: one run per due job at its next_run (skipped when
 * the job's input is "skip"), then the next cron instant; `at` jobs
 * complete. */
static int plan_one(void *ud, const struct symbi_job *job, int64_t now,
                    struct symbi_fire_plan *plan)
{
    struct planner *p = ud;
    p->calls++;
    if (p->fail_named_bad && strcmp(job->name, "bad") == 0)
        return SYMBI_EINVAL;
    struct symbi_run *r = &plan->runs[plan->n_runs++];
    r->scheduled_at = job->next_run;
    r->due_at = job->next_run;
    r->trigger = SYMBI_TRIGGER_SCHEDULE;
    r->status =
        job->input && strcmp(job->input, "skip") == 0 ? SYMBI_RUN_SKIPPED : SYMBI_RUN_QUEUED;
    r->attempt = 1;
    if (job->cron_expr == NULL) {
        plan->status = SYMBI_JOB_COMPLETED;
        plan->next_run = SYMBI_TIME_NONE;
        return 0;
    }
    return symbi_cron_job_next(job, now, &plan->next_run, NULL);
}

static void make(struct symbi_store *st, const char *name, const char *expr, int64_t at,
                 const char *input, struct symbi_job *out)
{
    struct symbi_err err = {0};
    if (expr != NULL)
        fixture_cron_job(out, name, expr);
    else
        fixture_at_job(out, name, at);
    if (input != NULL)
        assert_int_equal(symbi_set_str(&out->input, input), 0);
    if (symbi_store_job_create(st, out, T0, "test", &err) != 0)
        fail_msg("create %s: %s", name, err.msg);
}

static void test_cron_next_run_on_create(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_job j;
    make(st, "every-5", "*/5 * * * *", SYMBI_TIME_NONE, NULL, &j);
    /* T0 is 09:46:40; the next five-minute instant is 09:50:00 */
    assert_int_equal(j.next_run, T0 + 3 * MIN + 20000);
    symbi_job_cleanup(&j);
    struct symbi_job bad;
    struct symbi_err err = {0};
    fixture_cron_job(&bad, "bad-cron", "61 * * * *");
    assert_int_not_equal(symbi_store_job_create(st, &bad, T0, "test", &err), 0);
    assert_non_null(strstr(err.msg, "minute"));
    symbi_job_cleanup(&bad);
    int64_t counts[5];
    assert_int_equal(symbi_store_job_counts(st, counts, &err), 0);
    assert_int_equal(counts[SYMBI_JOB_ACTIVE], 1);
}

static void test_claim_due(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job a, b, c, d;
    make(st, "minutely", "* * * * *", SYMBI_TIME_NONE, NULL, &a); /* next 09:47:00 */
    make(st, "once", NULL, T0 + 10000, NULL, &b);
    make(st, "skipper", NULL, T0 + 5000, "skip", &c);
    make(st, "later", NULL, T0 + 3600000, NULL, &d);
    assert_int_equal(symbi_store_job_set_status(st, "later", SYMBI_JOB_PAUSED, T0, "t", &err), 0);
    struct planner p = {0};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    int64_t now = T0 + 15000; /* 09:46:55 */
    assert_int_equal(symbi_store_claim_due(st, now, 10, "node-a", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(p.calls, 2); /* "minutely" is due at 09:47:00, later than now */
    assert_int_equal(n, 1);       /* the skipped run is recorded, not returned */
    assert_string_equal(runs[0].job_id, b.id);
    assert_string_equal(runs[0].job_name, "once");
    assert_string_equal(runs[0].agent, "agent-1");
    assert_string_equal(runs[0].node, "node-a");
    assert_int_equal(strlen(runs[0].id), SYMBI_UUID_LEN);
    assert_int_equal(runs[0].created_at, now);
    symbi_run_list_free(runs, n);

    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "once", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_COMPLETED);
    assert_int_equal(got.next_run, SYMBI_TIME_NONE);
    symbi_job_cleanup(&got);
    struct symbi_run_filter f = {.job_id = c.id, .due_before = SYMBI_TIME_NONE};
    assert_int_equal(symbi_store_run_list(st, &f, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].status, SYMBI_RUN_SKIPPED);
    symbi_run_list_free(runs, n);

    /* claiming again at the same instant finds nothing: never twice */
    p.calls = 0;
    assert_int_equal(symbi_store_claim_due(st, now, 10, "node-b", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(p.calls, 0);
    assert_int_equal(n, 0);
    symbi_run_list_free(runs, n);

    /* a minute later the cron job fires and advances */
    now = T0 + 2 * MIN;
    assert_int_equal(symbi_store_claim_due(st, now, 10, "node-a", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].scheduled_at, T0 + 20000); /* 09:47:00 */
    symbi_run_list_free(runs, n);
    assert_int_equal(symbi_store_job_get(st, "minutely", &got, &err), 0);
    assert_int_equal(got.next_run, T0 + 20000 + 2 * MIN); /* after now: 09:49:00 */
    assert_int_equal(got.run_count, 0);                   /* counted when the run finishes */
    symbi_job_cleanup(&got);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
    symbi_job_cleanup(&c);
    symbi_job_cleanup(&d);
}

static void test_claim_limit_and_order(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "j%d", i);
        struct symbi_job j;
        make(st, name, NULL, T0 + 1000 * (7 - i), NULL, &j);
        symbi_job_cleanup(&j);
    }
    struct planner p = {0};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_due(st, T0 + 10000, 3, "n", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 3);
    /* oldest first: j6 (T0+1s), j5, j4 */
    assert_string_equal(runs[0].job_name, "j6");
    assert_string_equal(runs[2].job_name, "j4");
    symbi_run_list_free(runs, n);
    assert_int_equal(symbi_store_claim_due(st, T0 + 10000, 0, "n", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 4);
    symbi_run_list_free(runs, n);
}

static void test_claim_planner_error_fails_one_job(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job a, b;
    make(st, "bad", NULL, T0 + 1000, NULL, &a);
    make(st, "good", NULL, T0 + 2000, NULL, &b);
    struct planner p = {.fail_named_bad = true};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_due(st, T0 + 5000, 10, "n", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].job_name, "good");
    symbi_run_list_free(runs, n);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "bad", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_FAILED);
    symbi_job_cleanup(&got);
    symbi_job_cleanup(&a);
    symbi_job_cleanup(&b);
}

static void test_claim_skips_recorded_instant(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "dup", NULL, T0 + 1000, NULL, &j);
    /* the instant is already in the ledger (say, another node recorded it) */
    struct symbi_run r;
    symbi_run_init(&r);
    strcpy(r.job_id, j.id);
    r.scheduled_at = T0 + 1000;
    assert_int_equal(symbi_store_run_insert(st, &r, &err), 0);
    struct planner p = {0};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_due(st, T0 + 5000, 10, "n", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 0);
    symbi_run_list_free(runs, n);
    int64_t cnt = 0;
    struct symbi_run_filter f = {.job_id = j.id, .due_before = SYMBI_TIME_NONE};
    assert_int_equal(symbi_store_run_count(st, &f, &cnt, &err), 0);
    assert_int_equal(cnt, 1);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&j);
}

static void test_claim_queued(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "manual", NULL, T0 + 3600000, NULL, &j);
    struct symbi_run m[3];
    for (int i = 0; i < 3; i++) {
        symbi_run_init(&m[i]);
        strcpy(m[i].job_id, j.id);
        m[i].trigger = SYMBI_TRIGGER_MANUAL;
        m[i].scheduled_at = T0 + i;
        m[i].due_at = i == 2 ? T0 + 100000 : T0 + i; /* the third is not due yet */
        assert_int_equal(symbi_store_run_insert(st, &m[i], &err), 0);
    }
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_queued(st, T0 + 10, 10, "n1", &runs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(runs[0].id, m[0].id);
    assert_string_equal(runs[1].node, "n1");
    symbi_run_list_free(runs, n);
    /* taken runs are not handed out again */
    assert_int_equal(symbi_store_claim_queued(st, T0 + 10, 10, "n2", &runs, &n, &err), 0);
    assert_int_equal(n, 0);
    symbi_run_list_free(runs, n);
    assert_int_equal(symbi_store_claim_queued(st, T0 + 100000, 10, "n2", &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    symbi_run_list_free(runs, n);
    for (int i = 0; i < 3; i++)
        symbi_run_cleanup(&m[i]);
    symbi_job_cleanup(&j);
}

/* Inserts a running run of job at instant t and returns it. */
static void running_run(struct symbi_store *st, const struct symbi_job *j, int64_t t,
                        struct symbi_run *r)
{
    struct symbi_err err = {0};
    symbi_run_init(r);
    strcpy(r->job_id, j->id);
    r->scheduled_at = t;
    r->status = SYMBI_RUN_RUNNING;
    r->started_at = t + 5;
    assert_int_equal(symbi_set_str(&r->node, "n1"), 0);
    assert_int_equal(symbi_store_run_insert(st, r, &err), 0);
}

static void test_run_finish_counters_and_dead_letter(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "flaky", "* * * * *", SYMBI_TIME_NONE, NULL, &j);
    /* a success */
    struct symbi_run r;
    running_run(st, &j, T0, &r);
    r.status = SYMBI_RUN_SUCCEEDED;
    r.finished_at = T0 + 100;
    r.execution_time_ms = 95;
    bool dead = true;
    struct symbi_run_outcome o = {.run = &r, .max_retries = 2, .dead_lettered = &dead};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + 100, &err), 0);
    assert_false(dead);
    symbi_run_cleanup(&r);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "flaky", &got, &err), 0);
    assert_int_equal(got.run_count, 1);
    assert_int_equal(got.last_run, T0 + 5);
    assert_int_equal(got.failure_count, 0);
    symbi_job_cleanup(&got);

    /* a failure with a retry queued */
    running_run(st, &j, T0 + MIN, &r);
    r.status = SYMBI_RUN_FAILED;
    assert_int_equal(symbi_set_str(&r.error_message, "exit 1"), 0);
    struct symbi_run retry;
    symbi_run_init(&retry);
    strcpy(retry.job_id, j.id);
    retry.scheduled_at = T0 + MIN;
    retry.attempt = 2;
    retry.trigger = SYMBI_TRIGGER_RETRY;
    retry.due_at = T0 + MIN + 30000;
    assert_int_equal(symbi_set_str(&retry.node, "n1"), 0); /* stored unowned anyway */
    o = (struct symbi_run_outcome){.run = &r,
                                   .counts_as_failure = true,
                                   .max_retries = 2,
                                   .retry = &retry,
                                   .dead_lettered = &dead};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + MIN + 100, &err), 0);
    assert_false(dead);
    symbi_run_cleanup(&r);
    symbi_run_cleanup(&retry);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_queued(st, T0 + MIN + 30000, 10, "n9", &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].attempt, 2);
    assert_int_equal(runs[0].trigger, SYMBI_TRIGGER_RETRY);

    /* the retry fails too: failure_count reaches 2 = max_retries */
    struct symbi_run r2 = runs[0];
    free(runs);
    r2.status = SYMBI_RUN_TIMED_OUT;
    r2.started_at = T0 + MIN + 30000;
    o = (struct symbi_run_outcome){.run = &r2,
                                   .counts_as_failure = true,
                                   .max_retries = 2,
                                   .retry = &r2, /* ignored: the job is dead-lettered */
                                   .dead_lettered = &dead};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + MIN + 40000, &err), 0);
    assert_true(dead);
    symbi_run_cleanup(&r2);
    assert_int_equal(symbi_store_job_get(st, "flaky", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_DEAD_LETTER);
    assert_int_equal(got.failure_count, 2);
    assert_int_equal(got.run_count, 3);
    assert_int_equal(got.next_run, SYMBI_TIME_NONE);
    symbi_job_cleanup(&got);
    struct symbi_audit_filter af = {"CronJobDeadLettered", "flaky", SYMBI_TIME_NONE,
                                    SYMBI_TIME_NONE, 0};
    struct symbi_audit_event *ev = NULL;
    assert_int_equal(symbi_store_audit_query(st, &af, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].details, "{\"failure_count\": 2, \"last_error\": null}");
    symbi_audit_list_free(ev, n);
    af.type = "CronJobExecuted";
    assert_int_equal(symbi_store_audit_query(st, &af, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].details,
                        "{\"status\": \"succeeded\", \"error\": null, \"execution_time_ms\": 95}");
    symbi_audit_list_free(ev, n);
    af.type = "CronJobFailed";
    assert_int_equal(symbi_store_audit_query(st, &af, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    symbi_audit_list_free(ev, n);
    af.type = "CronJobExecuted";
    assert_int_equal(symbi_store_audit_query(st, &af, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    symbi_audit_list_free(ev, n);
    int64_t cnt = 0;
    struct symbi_run_filter rf = {.job_id = j.id, .due_before = SYMBI_TIME_NONE};
    assert_int_equal(symbi_store_run_count(st, &rf, &cnt, &err), 0);
    assert_int_equal(cnt, 3); /* no retry was queued after the dead letter */

    /* reset brings it back with next_run from now */
    assert_int_equal(symbi_store_job_reset(st, "flaky", T0 + 10 * MIN, "cli", &err), 0);
    assert_int_equal(symbi_store_job_get(st, "flaky", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_ACTIVE);
    assert_int_equal(got.failure_count, 0);
    assert_int_equal(got.next_run, T0 + 10 * MIN + 20000);
    symbi_job_cleanup(&got);
    symbi_job_cleanup(&j);
}

static void test_run_finish_of_deleted_job(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "gone", NULL, T0 + 1000, NULL, &j);
    struct symbi_run r;
    running_run(st, &j, T0, &r);
    assert_int_equal(symbi_store_job_delete(st, j.id, "cli", &err), 0);
    r.status = SYMBI_RUN_SUCCEEDED;
    struct symbi_run_outcome o = {.run = &r};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + 10, &err), SYMBI_ENOTFOUND);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&j);
}

static void test_nodes_and_recovery(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "long", "* * * * *", SYMBI_TIME_NONE, NULL, &j);
    assert_int_equal(symbi_store_node_heartbeat(st, "n1", T0, 15000, &err), 0);
    assert_int_equal(symbi_store_node_heartbeat(st, "n2", T0, 15000, &err), 0);
    bool alive = false;
    assert_int_equal(symbi_store_node_alive(st, "n2", T0 + 1000, &alive, &err), 0);
    assert_true(alive);
    struct symbi_run r1, r2;
    running_run(st, &j, T0, &r1); /* on n1 */
    symbi_run_init(&r2);
    strcpy(r2.job_id, j.id);
    r2.scheduled_at = T0 + MIN;
    r2.status = SYMBI_RUN_RUNNING;
    assert_int_equal(symbi_set_str(&r2.node, "n2"), 0);
    assert_int_equal(symbi_store_run_insert(st, &r2, &err), 0);

    /* n2 renews, n1 does not: at T0+20s only n1's run is interrupted */
    assert_int_equal(symbi_store_node_heartbeat(st, "n2", T0 + 10000, 15000, &err), 0);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_recover_expired(st, T0 + 20000, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].id, r1.id);
    assert_int_equal(runs[0].status, SYMBI_RUN_INTERRUPTED);
    assert_non_null(strstr(runs[0].error_message, "node n1 lease expired"));
    symbi_run_list_free(runs, n);
    struct symbi_run got;
    assert_int_equal(symbi_store_run_get(st, r1.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_INTERRUPTED);
    assert_int_equal(got.finished_at, T0 + 20000);
    symbi_run_cleanup(&got);
    assert_int_equal(symbi_store_run_get(st, r2.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_RUNNING);
    symbi_run_cleanup(&got);
    assert_int_equal(symbi_store_node_alive(st, "n2", T0 + 20000, &alive, &err), 0);
    assert_false(alive); /* n1's row is gone, n2 is excluded */
    assert_int_equal(symbi_store_node_alive(st, NULL, T0 + 20000, &alive, &err), 0);
    assert_true(alive);
    /* a clean stop removes the node; nothing is left to recover */
    assert_int_equal(symbi_store_node_remove(st, "n2", &err), 0);
    assert_int_equal(symbi_store_node_alive(st, NULL, T0 + 20000, &alive, &err), 0);
    assert_false(alive);
    symbi_run_cleanup(&r1);
    symbi_run_cleanup(&r2);
    symbi_job_cleanup(&j);
}

/* Queued runs of a dead node never started: released unowned, not
 * interrupted; and a late outcome of a recovered run changes nothing. */
static void test_recovery_releases_queued_and_refuses_late_outcome(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "jit", "* * * * *", SYMBI_TIME_NONE, NULL, &j);
    assert_int_equal(symbi_store_node_heartbeat(st, "n1", T0, 15000, &err), 0);
    struct symbi_run running, waiting;
    running_run(st, &j, T0, &running); /* on n1 */
    symbi_run_init(&waiting);
    strcpy(waiting.job_id, j.id);
    waiting.scheduled_at = T0 + MIN;
    waiting.due_at = T0 + MIN + 40000; /* waiting out its jitter */
    assert_int_equal(symbi_set_str(&waiting.node, "n1"), 0);
    assert_int_equal(symbi_store_run_insert(st, &waiting, &err), 0);

    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_recover_expired(st, T0 + MIN, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].id, running.id);
    symbi_run_list_free(runs, n);
    struct symbi_run got;
    assert_int_equal(symbi_store_run_get(st, waiting.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_QUEUED);
    assert_null(got.node);
    symbi_run_cleanup(&got);
    /* any node takes it when due, as attempt 1 */
    assert_int_equal(symbi_store_claim_queued(st, T0 + MIN + 40000, 10, "n2", &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].id, waiting.id);
    assert_int_equal(runs[0].attempt, 1);
    symbi_run_list_free(runs, n);

    /* the interrupted run's own process finishes later: refused */
    running.status = SYMBI_RUN_SUCCEEDED;
    running.finished_at = T0 + MIN + 1;
    bool dead = false;
    struct symbi_run_outcome o = {.run = &running, .max_retries = 3, .dead_lettered = &dead};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + MIN + 1, &err), SYMBI_ESTATE);
    assert_int_equal(symbi_store_run_get(st, running.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_INTERRUPTED);
    symbi_run_cleanup(&got);
    struct symbi_job jg;
    assert_int_equal(symbi_store_job_get(st, "jit", &jg, &err), 0);
    assert_int_equal(jg.run_count, 0); /* the late outcome counted nothing */
    symbi_job_cleanup(&jg);
    symbi_run_cleanup(&running);
    symbi_run_cleanup(&waiting);
    symbi_job_cleanup(&j);
}

/* A retry of a paused job is recorded skipped; a manual run still goes. */
/* Pausing a job settles its waiting runs in the pause's transaction
 * (issue 10 #11): a queued retry and a queued manual run become `skipped`
 * with the reason, claim_queued needs no check of the jobs' states, and a
 * manual run asked for after the pause (an operator's explicit request)
 * goes ahead. */
static void test_pause_settles_waiting_runs(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "paused", "* * * * *", SYMBI_TIME_NONE, NULL, &j);
    struct symbi_run retry, manual, later;
    symbi_run_init(&retry);
    strcpy(retry.job_id, j.id);
    retry.trigger = SYMBI_TRIGGER_RETRY;
    retry.attempt = 2;
    retry.scheduled_at = T0;
    retry.due_at = T0 + 1000;
    assert_int_equal(symbi_store_run_insert(st, &retry, &err), 0);
    symbi_run_init(&manual);
    strcpy(manual.job_id, j.id);
    manual.trigger = SYMBI_TRIGGER_MANUAL;
    manual.scheduled_at = T0 + 2;
    manual.due_at = T0 + 2;
    assert_int_equal(symbi_store_run_insert(st, &manual, &err), 0);
    assert_int_equal(symbi_store_job_set_status(st, j.id, SYMBI_JOB_PAUSED, T0 + 3, "test", &err),
                     0);
    const char *ids[] = {retry.id, manual.id};
    bool waiting[2] = {true, true};
    assert_int_equal(symbi_store_runs_waiting(st, ids, 2, waiting, &err), 0);
    assert_false(waiting[0]);
    assert_false(waiting[1]);
    struct symbi_run got;
    assert_int_equal(symbi_store_run_get(st, retry.id, &got, &err), 0);
    assert_int_equal(got.status, SYMBI_RUN_SKIPPED);
    assert_string_equal(got.error_message, "skipped: the job was paused");
    assert_int_equal(got.finished_at, T0 + 3);
    symbi_run_cleanup(&got);
    symbi_run_init(&later);
    strcpy(later.job_id, j.id);
    later.trigger = SYMBI_TRIGGER_MANUAL;
    later.scheduled_at = T0 + 4;
    later.due_at = T0 + 4;
    assert_int_equal(symbi_store_run_insert(st, &later, &err), 0);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_queued(st, T0 + 5000, 10, "n1", &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0].id, later.id);
    symbi_run_list_free(runs, n);
    symbi_run_cleanup(&retry);
    symbi_run_cleanup(&manual);
    symbi_run_cleanup(&later);
    symbi_job_cleanup(&j);
}

/* A clean stop gives claimed fires back (issue 10 #7): the record goes,
 * next_run returns to the instant (a completed one-shot is active again),
 * all in one transaction; a retry is released unowned; a run a pause
 * settled keeps its record. */
static void test_give_back(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job cron, once;
    make(st, "cron", "* * * * *", SYMBI_TIME_NONE, NULL, &cron);
    make(st, "once", NULL, T0 + 60000, NULL, &once);
    struct planner p = {0};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(
        symbi_store_claim_due(st, T0 + 120000, 10, "n1", plan_one, &p, &runs, &n, &err), 0);
    assert_int_equal(n, 2);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "once", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_COMPLETED);
    symbi_job_cleanup(&got);
    struct symbi_run retry;
    symbi_run_init(&retry);
    strcpy(retry.job_id, cron.id);
    retry.trigger = SYMBI_TRIGGER_RETRY;
    retry.attempt = 2;
    retry.scheduled_at = T0;
    retry.due_at = T0;
    assert_int_equal(symbi_store_run_insert(st, &retry, &err), 0);
    struct symbi_run *taken = NULL;
    size_t nt = 0;
    assert_int_equal(symbi_store_claim_queued(st, T0 + 120000, 10, "n1", &taken, &nt, &err), 0);
    assert_int_equal(nt, 1);
    struct symbi_run all[3] = {runs[0], runs[1], taken[0]};
    size_t given = 0, released = 0;
    assert_int_equal(symbi_store_runs_give_back(st, all, 3, "n1", &given, &released, &err), 0);
    assert_int_equal(given, 2);
    assert_int_equal(released, 1);
    for (size_t i = 0; i < 2; i++) {
        struct symbi_run r;
        assert_int_equal(symbi_store_run_get(st, runs[i].id, &r, &err), SYMBI_ENOTFOUND);
        assert_int_equal(symbi_store_job_get(st, runs[i].job_id, &got, &err), 0);
        assert_int_equal(got.status, SYMBI_JOB_ACTIVE);
        assert_int_equal(got.next_run, runs[i].scheduled_at);
        symbi_job_cleanup(&got);
    }
    struct symbi_run r;
    assert_int_equal(symbi_store_run_get(st, taken[0].id, &r, &err), 0);
    assert_int_equal(r.status, SYMBI_RUN_QUEUED);
    assert_null(r.node);
    symbi_run_cleanup(&r);
    /* given twice: nothing left to give */
    assert_int_equal(symbi_store_runs_give_back(st, all, 2, "n1", &given, &released, &err), 0);
    assert_int_equal(given, 0);
    symbi_run_list_free(runs, n);
    symbi_run_list_free(taken, nt);
    symbi_run_cleanup(&retry);
    symbi_job_cleanup(&cron);
    symbi_job_cleanup(&once);
}

/* A one-shot job whose attempts all fail ends in dead letter. */
static void test_at_job_dead_letters(void **state)
{
    struct symbi_store *st = st_of(state);
    struct symbi_err err = {0};
    struct symbi_job j;
    make(st, "once", NULL, T0 + 1000, NULL, &j);
    struct planner p = {0};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_due(st, T0 + 1000, 10, "n1", plan_one, &p, &runs, &n, &err),
                     0);
    assert_int_equal(n, 1);
    struct symbi_run r = runs[0];
    free(runs);
    r.status = SYMBI_RUN_FAILED;
    r.started_at = T0 + 1000;
    bool dead = false;
    struct symbi_run_outcome o = {
        .run = &r, .counts_as_failure = true, .max_retries = 1, .dead_lettered = &dead};
    assert_int_equal(symbi_store_run_finish(st, &o, T0 + 1100, &err), 0);
    assert_true(dead);
    struct symbi_job got;
    assert_int_equal(symbi_store_job_get(st, "once", &got, &err), 0);
    assert_int_equal(got.status, SYMBI_JOB_DEAD_LETTER);
    symbi_job_cleanup(&got);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cron_next_run_on_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_limit_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_planner_error_fails_one_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_skips_recorded_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_finish_counters_and_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_finish_of_deleted_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nodes_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_releases_queued_and_refuses_late_outcome,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_settles_waiting_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_give_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_job_dead_letters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
