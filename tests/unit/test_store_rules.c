/* test_store_rules.c - the store's business rules without a backend
 * (src/store/rules.c): the dead letter agrees with the scheduler's decision,
 * the finished run's counters and events, job state changes, the ledger shift. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "store/rules.h"
#include "symbi/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1774000000000LL /* 2026-03-20T09:46:40Z */

static void test_ledger_shift_manual_only(void **state)
{
    (void)state;
    struct symbi_run r;
    symbi_run_init(&r);
    r.trigger = SYMBI_TRIGGER_MANUAL;
    r.scheduled_at = T0;
    r.due_at = T0;
    assert_true(symbi_rules_ledger_shift(&r, 0));
    assert_int_equal(r.scheduled_at, T0 + 1);
    assert_int_equal(r.due_at, T0 + 1);
    /* bounded: the last try leaves the collision standing */
    assert_false(symbi_rules_ledger_shift(&r, SYMBI_RULES_LEDGER_SHIFTS));
    assert_int_equal(r.scheduled_at, T0 + 1);
    const enum symbi_trigger others[] = {SYMBI_TRIGGER_SCHEDULE, SYMBI_TRIGGER_RETRY,
                                         SYMBI_TRIGGER_CATCH_UP};
    for (size_t i = 0; i < 3; i++) {
        r.trigger = others[i];
        assert_false(symbi_rules_ledger_shift(&r, 0)); /* an instant is never moved */
        assert_int_equal(r.scheduled_at, T0 + 1);
    }
}

/* For every job state, failure count and limit, the scheduler's decision
 * (before the write) and the store's (on the row, in the transaction)
 * dead-letter alike. */
static void test_dead_letter_one_rule(void **state)
{
    (void)state;
    struct symbi_sched_policy pol;
    symbi_sched_policy_init(&pol);
    const enum symbi_job_status sts[] = {SYMBI_JOB_ACTIVE, SYMBI_JOB_PAUSED, SYMBI_JOB_COMPLETED,
                                         SYMBI_JOB_FAILED, SYMBI_JOB_DEAD_LETTER};
    int checked = 0, dead = 0;
    for (size_t si = 0; si < 5; si++) {
        for (int maxr = -1; maxr <= 4; maxr++) {
            for (int64_t fc = 0; fc <= 5; fc++) {
                struct symbi_job job;
                symbi_job_init(&job);
                job.status = sts[si];
                job.failure_count = fc;
                job.max_retries = maxr;
                job.next_run = T0 + 3600000;
                struct symbi_run run;
                symbi_run_init(&run);
                run.status = SYMBI_RUN_FAILED;
                run.attempt = 1;
                run.started_at = T0;
                struct symbi_retry_decision d;
                symbi_sched_decide(&pol, &job, &run, T0, &d);
                struct symbi_run_outcome o = {.run = &run,
                                              .counts_as_failure = d.counts_as_failure,
                                              .max_retries = d.max_retries,
                                              .retry = NULL,
                                              .dead_lettered = NULL};
                struct symbi_rules_counters row = {job.status, 0, SYMBI_TIME_NONE, fc};
                struct symbi_rules_finish f;
                struct symbi_rules_events ev;
                symbi_rules_events_init(&ev);
                assert_int_equal(symbi_rules_run_finish(&row, "j", &o, T0, &f, &ev), 0);
                assert_int_equal(f.dead, d.dead_letter);
                assert_int_equal(f.job.failure_count, fc + 1);
                assert_int_equal(f.dead,
                                 symbi_store_dead_letter_due(job.status, fc + 1, d.max_retries));
                /* a retry is planned exactly when the job neither died nor stopped */
                if (d.retry)
                    assert_false(f.dead);
                dead += f.dead;
                checked++;
                symbi_rules_events_cleanup(&ev);
            }
        }
    }
    assert_int_equal(checked, 5 * 6 * 6);
    assert_true(dead > 0);
    /* a limit <= 0 counts as 1: the first failure dead-letters */
    assert_true(symbi_store_dead_letter_due(SYMBI_JOB_ACTIVE, 1, 0));
    assert_false(symbi_store_dead_letter_due(SYMBI_JOB_ACTIVE, 2, 3));
    assert_false(symbi_store_dead_letter_due(SYMBI_JOB_PAUSED, 9, 3));
}

static void test_finish_counters_and_events(void **state)
{
    (void)state;
    struct symbi_run run, retry;
    symbi_run_init(&run);
    symbi_run_init(&retry);
    snprintf(run.job_id, sizeof run.job_id, "%s", "11111111-1111-4111-8111-111111111111");
    snprintf(run.id, sizeof run.id, "%s", "22222222-2222-4222-8222-222222222222");
    run.status = SYMBI_RUN_SUCCEEDED;
    run.scheduled_at = T0;
    run.started_at = T0 + 5;
    run.execution_time_ms = 42;
    run.tool_calls = strdup("[{\"tool\":\"a\"},7,{\"tool\":\"b\"}]");
    struct symbi_run_outcome o = {.run = &run, .max_retries = 3, .retry = &retry};
    struct symbi_rules_counters row = {SYMBI_JOB_ACTIVE, 4, T0 - 1000, 2};
    struct symbi_rules_finish f;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    assert_int_equal(symbi_rules_run_finish(&row, "job-x", &o, T0 + 100, &f, &ev), 0);
    assert_int_equal(f.job.run_count, 5);
    assert_int_equal(f.job.last_run, T0 + 5);
    assert_int_equal(f.job.failure_count, 0); /* a success resets */
    assert_false(f.dead);
    assert_true(f.insert_retry);
    /* two tool calls (the non-object entry is no call), then the run */
    assert_int_equal(ev.n, 3);
    assert_string_equal(ev.v[0].type, "AgentToolCalled");
    assert_string_equal(ev.v[0].details, "{\"tool\":\"a\"}");
    assert_string_equal(ev.v[1].details, "{\"tool\":\"b\"}");
    assert_string_equal(ev.v[2].type, "CronJobExecuted");
    assert_string_equal(ev.v[2].details,
                        "{\"status\": \"succeeded\", \"error\": null, \"execution_time_ms\": 42}");
    assert_string_equal(ev.v[2].job_name, "job-x");
    assert_string_equal(ev.v[2].run_id, run.id);
    assert_int_equal(ev.v[2].at, T0 + 100);
    symbi_rules_events_cleanup(&ev);

    /* the job paused since the caller decided: no retry */
    row.status = SYMBI_JOB_PAUSED;
    run.status = SYMBI_RUN_FAILED;
    o.counts_as_failure = true;
    assert_int_equal(symbi_rules_run_finish(&row, "job-x", &o, T0, &f, &ev), 0);
    assert_false(f.insert_retry);
    assert_false(f.dead);
    assert_int_equal(f.job.failure_count, 3);
    symbi_rules_events_cleanup(&ev);

    /* the last allowed failure: dead letter, its event, no retry */
    row.status = SYMBI_JOB_ACTIVE;
    free(run.error_message);
    run.error_message = strdup("boom");
    assert_int_equal(symbi_rules_run_finish(&row, "job-x", &o, T0, &f, &ev), 0);
    assert_true(f.dead);
    assert_false(f.insert_retry);
    assert_true(f.news);
    assert_int_equal(f.job.status, SYMBI_JOB_DEAD_LETTER);
    assert_string_equal(f.settle, "skipped: the job moved to dead letter");
    assert_string_equal(ev.v[ev.n - 1].type, "CronJobDeadLettered");
    assert_string_equal(ev.v[ev.n - 1].details, "{\"failure_count\": 3, \"last_error\": \"boom\"}");
    assert_string_equal(ev.v[ev.n - 2].type, "CronJobFailed");
    symbi_rules_events_cleanup(&ev);

    /* skipped and missed runs did not execute: no counters, no event */
    run.status = SYMBI_RUN_SKIPPED;
    o.counts_as_failure = false;
    free(run.tool_calls);
    run.tool_calls = NULL;
    assert_int_equal(symbi_rules_run_finish(&row, "job-x", &o, T0, &f, &ev), 0);
    assert_int_equal(f.job.run_count, 4);
    assert_int_equal(f.job.failure_count, 2);
    assert_int_equal(ev.n, 0);
    symbi_rules_events_cleanup(&ev);
    symbi_run_cleanup(&run);
    symbi_run_cleanup(&retry);
}

static void test_finish_check(void **state)
{
    (void)state;
    struct symbi_err err = {0};
    assert_int_equal(symbi_rules_finish_check("r", true, SYMBI_RUN_RUNNING, &err), 0);
    assert_int_equal(symbi_rules_finish_check("r", false, SYMBI_RUN_RUNNING, &err), 0);
    assert_int_equal(symbi_rules_finish_check("r", true, SYMBI_RUN_SKIPPED, &err), 0);
    assert_int_equal(symbi_rules_finish_check("r", true, SYMBI_RUN_INTERRUPTED, &err),
                     SYMBI_ESTATE);
    assert_non_null(strstr(err.msg, "already recorded interrupted"));
}

static void test_job_change(void **state)
{
    (void)state;
    struct symbi_job job;
    symbi_job_init(&job);
    job.name = strdup("nightly");
    job.cron_expr = strdup("0 3 * * *");
    job.timezone = strdup("UTC");
    job.status = SYMBI_JOB_ACTIVE;
    job.next_run = T0 + 1000;
    struct symbi_rules_state ch;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    struct symbi_err err = {0};
    assert_int_equal(
        symbi_rules_job_change(&job, SYMBI_JOB_PAUSED, false, T0, "cli", &ch, &ev, &err), 0);
    assert_true(ch.changed);
    assert_string_equal(ch.settle, "skipped: the job was paused");
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.v[0].type, "CronJobPaused");
    assert_string_equal(ev.v[0].actor, "cli");
    assert_non_null(strstr(ev.v[0].details, "\"from\": \"active\", \"to\": \"paused\""));
    symbi_rules_events_cleanup(&ev);
    /* pausing a paused job is no change and no event */
    assert_int_equal(
        symbi_rules_job_change(&job, SYMBI_JOB_PAUSED, false, T0, "cli", &ch, &ev, &err), 0);
    assert_false(ch.changed);
    assert_int_equal(ev.n, 0);
    /* reset of a paused job is a state error that decides nothing */
    assert_int_equal(
        symbi_rules_job_change(&job, SYMBI_JOB_ACTIVE, true, T0, "cli", &ch, &ev, &err),
        SYMBI_ESTATE);
    assert_false(ch.changed);
    assert_int_equal(ev.n, 0);
    /* resume continues from now: next_run is the next 03:00 after T0 */
    assert_int_equal(
        symbi_rules_job_change(&job, SYMBI_JOB_ACTIVE, false, T0, "api", &ch, &ev, &err), 0);
    assert_true(ch.changed);
    assert_null(ch.settle);
    assert_true(job.next_run > T0 && job.next_run <= T0 + 86400000);
    assert_string_equal(ev.v[0].type, "CronJobResumed");
    symbi_rules_events_cleanup(&ev);
    symbi_job_cleanup(&job);
}

static void test_decide_and_interrupted(void **state)
{
    (void)state;
    struct symbi_run r;
    symbi_run_init(&r);
    r.status = SYMBI_RUN_PENDING_APPROVAL;
    r.due_at = T0 + 5000;
    r.node = strdup("n1");
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    struct symbi_err err = {0};
    assert_int_equal(symbi_rules_run_decide(&r, true, "alice", NULL, T0, &ev, &err), 0);
    assert_int_equal(r.status, SYMBI_RUN_QUEUED);
    assert_null(r.node);
    assert_int_equal(r.due_at, T0);
    assert_string_equal(ev.v[0].type, "CronRunApproved");
    assert_string_equal(ev.v[0].details, "{\"approver\": \"alice\", \"reason\": null}");
    symbi_rules_events_cleanup(&ev);
    assert_int_equal(symbi_rules_run_decide(&r, false, "bob", "no", T0, &ev, &err), SYMBI_ESTATE);
    assert_int_equal(ev.n, 0);

    r.status = SYMBI_RUN_RUNNING;
    r.node = strdup("n2");
    r.started_at = T0 - 700;
    assert_int_equal(symbi_rules_run_interrupted(&r, T0, &ev), 0);
    assert_int_equal(r.status, SYMBI_RUN_INTERRUPTED);
    assert_int_equal(r.execution_time_ms, 700);
    assert_string_equal(r.error_message, "scheduler stopped: node n2 lease expired");
    assert_string_equal(ev.v[0].type, "CronJobFailed");
    assert_string_equal(ev.v[0].actor, "scheduler");
    symbi_rules_events_cleanup(&ev);
    symbi_run_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_shift_manual_only),
        cmocka_unit_test(test_dead_letter_one_rule),
        cmocka_unit_test(test_finish_counters_and_events),
        cmocka_unit_test(test_finish_check),
        cmocka_unit_test(test_job_change),
        cmocka_unit_test(test_decide_and_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
