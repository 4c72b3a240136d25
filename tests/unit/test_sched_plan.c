/* test_sched_plan.c - unit tests of the scheduler's pure decisions with a
 * fake clock: on-time fires, jitter, per-job limit, catch-up once/skip/all
 * with the cap, starting deadline, one-shot jobs, retries and dead letter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/sched.h"

#include <stdlib.h>
#include <string.h>

#define SEC 1000LL
#define T0  1774742400000LL /* 2026-03-29T00:00:00Z */

/* a fake schedule: every `period` ms (stored in the job's run_count field
 * would be odd; use a global) aligned to the epoch */
static int64_t period = SEC;

static int every(const struct symbi_job *job, int64_t after, int64_t *next, struct symbi_err *err)
{
    (void)job;
    (void)err;
    *next = (after / period + 1) * period;
    return 0;
}

static int broken(const struct symbi_job *job, int64_t after, int64_t *next, struct symbi_err *err)
{
    (void)job;
    (void)after;
    (void)next;
    return symbi_err_set(err, SYMBI_EPARSE, "bad cron");
}

static struct symbi_sched_planner planner(void)
{
    struct symbi_sched_planner p;
    memset(&p, 0, sizeof p);
    symbi_sched_policy_init(&p.policy);
    p.next_fire = every;
    p.rng = 42;
    period = SEC;
    return p;
}

static void job_init(struct symbi_job *j, int64_t next_run)
{
    symbi_job_init(j);
    strcpy(j->id, "11111111-2222-4333-8444-555555555555");
    j->name = symbi_strdup("j");
    j->cron_expr = symbi_strdup("* * * * * *");
    j->input = symbi_strdup("in");
    j->next_run = next_run;
}

static void plan_free(struct symbi_fire_plan *plan)
{
    for (size_t i = 0; i < plan->n_runs; i++)
        symbi_run_cleanup(&plan->runs[i]);
    plan->n_runs = 0;
}

static struct symbi_fire_plan plan_buf;

static void test_on_time_fire(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    struct symbi_fake_clock fc;
    symbi_fake_clock_init(&fc, T0 + 5 * SEC + 3);
    int64_t now = fc.base.wall_ms(&fc.base);
    struct symbi_job j;
    job_init(&j, T0 + 5 * SEC);
    struct symbi_fire_plan *plan = &plan_buf;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    assert_int_equal(plan->runs[0].trigger, SYMBI_TRIGGER_SCHEDULE);
    assert_int_equal(plan->runs[0].scheduled_at, T0 + 5 * SEC);
    assert_int_equal(plan->runs[0].due_at, T0 + 5 * SEC);
    assert_int_equal(plan->runs[0].attempt, 1);
    assert_string_equal(plan->runs[0].input, "in");
    assert_int_equal(plan->next_run, T0 + 6 * SEC);
    assert_int_equal(plan->status, SYMBI_JOB_ACTIVE);
    plan_free(plan);

    /* not due yet: nothing */
    symbi_fake_clock_advance(&fc, -10);
    assert_int_equal(symbi_sched_plan(&p, &j, fc.base.wall_ms(&fc.base), plan), 0);
    assert_int_equal(plan->n_runs, 0);
    assert_int_equal(plan->next_run, T0 + 5 * SEC);
    symbi_job_cleanup(&j);
}

static void test_lookahead_claim(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    struct symbi_job j;
    job_init(&j, T0 + 10 * SEC);
    struct symbi_fire_plan *plan = &plan_buf;
    /* claimed 400 ms ahead: the fire is on time, due at its instant */
    p.real_now = T0 + 10 * SEC - 400;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 10 * SEC + 100, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    assert_int_equal(plan->runs[0].trigger, SYMBI_TRIGGER_SCHEDULE);
    assert_int_equal(plan->runs[0].due_at, T0 + 10 * SEC);
    assert_int_equal(plan->next_run, T0 + 11 * SEC);
    plan_free(plan);
    /* lateness counts from the real instant: 1.9 s late is on time (2 s) */
    symbi_job_cleanup(&j);
    job_init(&j, T0);
    p.real_now = T0 + 1900;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 2400, plan), 0);
    assert_int_equal(plan->n_runs, 3);
    assert_int_equal(plan->runs[0].trigger, SYMBI_TRIGGER_SCHEDULE);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    plan_free(plan);
    symbi_job_cleanup(&j);
}

/* The per-job limit is decided at the fire's instant, not by the claim
 * (issue 10 #6): the plan queues the fire, symbi_sched_on_due skips it when
 * the job has max_concurrent runs running then. */
static void test_per_job_limit_skips(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    struct symbi_job j;
    job_init(&j, T0);
    struct symbi_fire_plan *plan = &plan_buf;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 1, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    plan_free(plan);
    symbi_job_cleanup(&j);

    struct symbi_sched_held h = {.trigger = SYMBI_TRIGGER_SCHEDULE,
                                 .scheduled_at = T0,
                                 .starting_deadline_ms = -1,
                                 .max_concurrent = 1,
                                 .job_running = 1};
    assert_int_equal(symbi_sched_on_due(&h), SYMBI_SCHED_SKIP);
    h.max_concurrent = 2;
    assert_int_equal(symbi_sched_on_due(&h), SYMBI_SCHED_READY);
    h.max_concurrent = 0; /* counts as 1 */
    assert_int_equal(symbi_sched_on_due(&h), SYMBI_SCHED_SKIP);
    h.job_running = 0;
    assert_int_equal(symbi_sched_on_due(&h), SYMBI_SCHED_READY);
    /* manual, retry and catch-up runs are never skipped: they wait */
    h.job_running = 3;
    h.max_concurrent = 1;
    const enum symbi_trigger waits[] = {SYMBI_TRIGGER_MANUAL, SYMBI_TRIGGER_RETRY,
                                        SYMBI_TRIGGER_CATCH_UP};
    for (size_t i = 0; i < 3; i++) {
        h.trigger = waits[i];
        assert_int_equal(symbi_sched_on_due(&h), SYMBI_SCHED_READY);
        assert_int_equal(symbi_sched_on_slot(&h, T0), SYMBI_SCHED_WAIT);
    }
    h.job_running = 0;
    assert_int_equal(symbi_sched_on_slot(&h, T0), SYMBI_SCHED_START);
}

/* A run waiting for a global slot past its starting deadline is missed
 * when its turn comes; only scheduled fires have a deadline. */
static void test_on_slot_deadline(void **state)
{
    (void)state;
    struct symbi_sched_held h = {.trigger = SYMBI_TRIGGER_SCHEDULE,
                                 .scheduled_at = T0,
                                 .starting_deadline_ms = 5 * SEC,
                                 .max_concurrent = 1,
                                 .job_running = 0};
    assert_int_equal(symbi_sched_on_slot(&h, T0 + 5 * SEC), SYMBI_SCHED_START);
    assert_int_equal(symbi_sched_on_slot(&h, T0 + 5 * SEC + 1), SYMBI_SCHED_MISS);
    h.starting_deadline_ms = -1;
    assert_int_equal(symbi_sched_on_slot(&h, T0 + 3600 * SEC), SYMBI_SCHED_START);
    h.starting_deadline_ms = 0;
    h.trigger = SYMBI_TRIGGER_MANUAL;
    assert_int_equal(symbi_sched_on_slot(&h, T0 + SEC), SYMBI_SCHED_START);
}

/* The claim backs off 100 ms, doubling, at most 5 s (issue 10 #2). */
static void test_claim_backoff(void **state)
{
    (void)state;
    assert_int_equal(symbi_sched_claim_backoff_ms(0), 0);
    assert_int_equal(symbi_sched_claim_backoff_ms(1), 100);
    assert_int_equal(symbi_sched_claim_backoff_ms(2), 200);
    assert_int_equal(symbi_sched_claim_backoff_ms(6), 3200);
    assert_int_equal(symbi_sched_claim_backoff_ms(7), 5000);
    assert_int_equal(symbi_sched_claim_backoff_ms(INT64_MAX), 5000);
}

static void test_jitter(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    p.policy.max_jitter_ms = 10 * SEC;
    struct symbi_job j;
    job_init(&j, T0);
    struct symbi_fire_plan *plan = &plan_buf;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(symbi_sched_plan(&p, &j, T0, plan), 0);
        struct symbi_run *r = &plan->runs[0];
        assert_int_equal(r->status, SYMBI_RUN_QUEUED);
        assert_true(r->jitter_ms >= 0 && r->jitter_ms <= 10 * SEC);
        assert_int_equal(r->due_at, T0 + r->jitter_ms);
        lo = r->jitter_ms < lo ? r->jitter_ms : lo;
        hi = r->jitter_ms > hi ? r->jitter_ms : hi;
        plan_free(plan);
    }
    assert_true(hi - lo >= 8 * SEC);
    /* the job's own ceiling wins; 0 disables */
    j.jitter_ms = 0;
    assert_int_equal(symbi_sched_plan(&p, &j, T0, plan), 0);
    assert_int_equal(plan->runs[0].due_at, T0);
    plan_free(plan);
    assert_int_equal(symbi_sched_jitter(&p, 0), 0);
    symbi_job_cleanup(&j);
}

static void count(const struct symbi_fire_plan *plan, int *queued, int *missed, int *catch_up)
{
    *queued = *missed = *catch_up = 0;
    for (size_t i = 0; i < plan->n_runs; i++) {
        if (plan->runs[i].status == SYMBI_RUN_QUEUED)
            (*queued)++;
        if (plan->runs[i].status == SYMBI_RUN_MISSED)
            (*missed)++;
        if (plan->runs[i].trigger == SYMBI_TRIGGER_CATCH_UP)
            (*catch_up)++;
        if (i > 0)
            assert_true(plan->runs[i].scheduled_at > plan->runs[i - 1].scheduled_at);
    }
}

static void test_catch_up_modes(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    period = 10 * SEC;
    struct symbi_job j;
    job_init(&j, T0);
    struct symbi_fire_plan *plan = &plan_buf;
    int q, m, c;
    /* down for 60 s: instants T0..T0+60 s, the last one on time */
    int64_t now = T0 + 60 * SEC + 5;

    j.catch_up = SYMBI_CATCH_UP_ONCE;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    assert_int_equal(plan->n_runs, 7);
    count(plan, &q, &m, &c);
    assert_int_equal(c, 1);
    assert_int_equal(m, 5);
    /* the on-time fire is queued too: whether it is skipped is decided at
     * its instant, when the catch-up run may long be done */
    assert_int_equal(plan->runs[5].trigger, SYMBI_TRIGGER_CATCH_UP);
    assert_int_equal(plan->runs[5].due_at, now);
    assert_int_equal(plan->runs[6].status, SYMBI_RUN_QUEUED);
    assert_int_equal(plan->runs[6].trigger, SYMBI_TRIGGER_SCHEDULE);
    assert_int_equal(plan->next_run, T0 + 70 * SEC);
    plan_free(plan);

    j.catch_up = SYMBI_CATCH_UP_SKIP;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    count(plan, &q, &m, &c);
    assert_int_equal(plan->n_runs, 7);
    assert_int_equal(m, 6);
    assert_int_equal(q, 1);
    assert_int_equal(c, 0);
    assert_int_equal(plan->runs[6].status, SYMBI_RUN_QUEUED);
    assert_non_null(strstr(plan->runs[0].error_message, "catch_up: skip"));
    plan_free(plan);

    j.catch_up = SYMBI_CATCH_UP_ALL;
    j.max_concurrent = 1;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    count(plan, &q, &m, &c);
    assert_int_equal(c, 6);
    assert_int_equal(m, 0);
    assert_int_equal(q, 7);
    assert_int_equal(plan->runs[6].status, SYMBI_RUN_QUEUED);
    plan_free(plan);

    /* the cap: a year of per-10s instants gives at most 101 records */
    now = T0 + 365LL * 86400 * SEC;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    assert_int_equal(plan->n_runs, SYMBI_PLAN_MAX_RUNS);
    assert_int_equal(plan->next_run, now - now % period + period);
    plan_free(plan);
    j.catch_up = SYMBI_CATCH_UP_SKIP;
    assert_int_equal(symbi_sched_plan(&p, &j, now, plan), 0);
    count(plan, &q, &m, &c);
    assert_int_equal(m, SYMBI_PLAN_MAX_RUNS);
    plan_free(plan);
    symbi_job_cleanup(&j);
}

static void test_starting_deadline(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    struct symbi_job j;
    job_init(&j, T0);
    j.starting_deadline_ms = 500;
    struct symbi_fire_plan *plan = &plan_buf;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 400, plan), 0);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    plan_free(plan);
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 900, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_MISSED);
    assert_non_null(strstr(plan->runs[0].error_message, "starting_deadline"));
    plan_free(plan);
    /* deadline beats catch_up: nothing of the downtime runs */
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 30 * SEC + 100, plan), 0);
    int q, m, c;
    count(plan, &q, &m, &c);
    assert_int_equal(plan->n_runs, 31);
    assert_int_equal(m, 30);
    assert_int_equal(q, 1);
    assert_int_equal(c, 0);
    plan_free(plan);
    symbi_job_cleanup(&j);
}

static void test_one_shot(void **state)
{
    (void)state;
    struct symbi_sched_planner p = planner();
    struct symbi_job j;
    job_init(&j, T0);
    free(j.cron_expr);
    j.cron_expr = NULL;
    j.at = T0;
    struct symbi_fire_plan *plan = &plan_buf;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 2, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_QUEUED);
    assert_int_equal(plan->status, SYMBI_JOB_COMPLETED);
    assert_int_equal(plan->next_run, SYMBI_TIME_NONE);
    plan_free(plan);
    /* an `at` long past: once runs it as catch-up, skip fails the job */
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 3600 * SEC, plan), 0);
    assert_int_equal(plan->runs[0].trigger, SYMBI_TRIGGER_CATCH_UP);
    assert_int_equal(plan->status, SYMBI_JOB_COMPLETED);
    plan_free(plan);
    j.catch_up = SYMBI_CATCH_UP_SKIP;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 3600 * SEC, plan), 0);
    assert_int_equal(plan->runs[0].status, SYMBI_RUN_MISSED);
    assert_int_equal(plan->status, SYMBI_JOB_FAILED);
    plan_free(plan);
    /* one_shot cron: one fire, then completed */
    j.catch_up = SYMBI_CATCH_UP_ONCE;
    j.cron_expr = symbi_strdup("*/5 * * * * *");
    j.one_shot = true;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 1, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->status, SYMBI_JOB_COMPLETED);
    assert_int_equal(plan->next_run, SYMBI_TIME_NONE);
    plan_free(plan);
    /* a schedule that cannot be computed fails the job, runs what was due */
    j.one_shot = false;
    p.next_fire = broken;
    assert_int_equal(symbi_sched_plan(&p, &j, T0 + 1, plan), 0);
    assert_int_equal(plan->n_runs, 1);
    assert_int_equal(plan->status, SYMBI_JOB_FAILED);
    assert_int_equal(plan->next_run, SYMBI_TIME_NONE);
    plan_free(plan);
    symbi_job_cleanup(&j);
}

static void test_backoff(void **state)
{
    (void)state;
    struct symbi_sched_policy pol;
    symbi_sched_policy_init(&pol);
    assert_int_equal(symbi_sched_backoff_ms(&pol, 1), 30 * SEC);
    assert_int_equal(symbi_sched_backoff_ms(&pol, 2), 60 * SEC);
    assert_int_equal(symbi_sched_backoff_ms(&pol, 3), 120 * SEC);
    assert_int_equal(symbi_sched_backoff_ms(&pol, 8), 3600 * SEC);
    assert_int_equal(symbi_sched_backoff_ms(&pol, 1000000), 3600 * SEC);
}

static void test_retry_and_dead_letter(void **state)
{
    (void)state;
    struct symbi_sched_policy pol;
    symbi_sched_policy_init(&pol);
    struct symbi_job j;
    job_init(&j, T0 + 3600 * SEC);
    struct symbi_run r;
    symbi_run_init(&r);
    r.status = SYMBI_RUN_FAILED;
    r.attempt = 1;
    r.scheduled_at = T0;
    struct symbi_retry_decision d;
    int64_t now = T0 + 5 * SEC;

    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_true(d.counts_as_failure);
    assert_true(d.retry);
    assert_false(d.dead_letter);
    assert_int_equal(d.max_retries, 3);
    assert_int_equal(d.due_at, now + 30 * SEC);

    j.failure_count = 1;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_int_equal(d.due_at, now + 60 * SEC);
    /* capped by the next regular fire */
    j.next_run = now + 10 * SEC;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_int_equal(d.due_at, now + 10 * SEC);

    /* the third consecutive failure dead-letters, no retry */
    j.failure_count = 2;
    r.status = SYMBI_RUN_TIMED_OUT;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_true(d.counts_as_failure);
    assert_true(d.dead_letter);
    assert_false(d.retry);
    j.max_retries = 5;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_false(d.dead_letter);
    assert_true(d.retry);

    /* success, denial, skip: nothing */
    r.status = SYMBI_RUN_SUCCEEDED;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_false(d.counts_as_failure);
    assert_false(d.retry);
    r.status = SYMBI_RUN_DENIED;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_false(d.counts_as_failure);

    /* interrupted: retried at once, not a failure, attempts bounded */
    j.max_retries = -1;
    r.status = SYMBI_RUN_INTERRUPTED;
    r.attempt = 3;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_false(d.counts_as_failure);
    assert_true(d.retry);
    assert_int_equal(d.due_at, now);
    r.attempt = 4;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_false(d.retry);

    /* a paused job gets no retry */
    r.attempt = 1;
    r.status = SYMBI_RUN_FAILED;
    j.failure_count = 0;
    j.status = SYMBI_JOB_PAUSED;
    symbi_sched_decide(&pol, &j, &r, now, &d);
    assert_true(d.counts_as_failure);
    assert_false(d.retry);

    /* the retry run */
    r.job_name = symbi_strdup("j");
    r.input = symbi_strdup("x");
    strcpy(r.job_id, j.id);
    struct symbi_run retry;
    assert_int_equal(symbi_sched_make_retry(&r, now + 1, &retry), 0);
    assert_int_equal(retry.attempt, 2);
    assert_int_equal(retry.trigger, SYMBI_TRIGGER_RETRY);
    assert_int_equal(retry.status, SYMBI_RUN_QUEUED);
    assert_int_equal(retry.scheduled_at, T0);
    assert_int_equal(retry.due_at, now + 1);
    assert_string_equal(retry.job_id, j.id);
    assert_string_equal(retry.input, "x");
    symbi_run_cleanup(&retry);
    symbi_run_cleanup(&r);
    symbi_job_cleanup(&j);
}

/* A fire another node claimed and never started, taken from the pool:
 * on time it runs; late it follows catch_up (SPEC §5.4). */
static void test_released_fire_follows_catch_up(void **state)
{
    (void)state;
    struct symbi_sched_policy p;
    symbi_sched_policy_init(&p);
    const int64_t t = T0, late = T0 + 20 * SEC;
    for (int m = 0; m < 3; m++) {
        enum symbi_catch_up c = m == 0   ? SYMBI_CATCH_UP_ONCE
                                : m == 1 ? SYMBI_CATCH_UP_SKIP
                                         : SYMBI_CATCH_UP_ALL;
        /* within catch_up_after: an ordinary (slightly late) start */
        assert_int_equal(symbi_sched_on_released(&p, c, t, t + 60 * SEC, t + 1500),
                         SYMBI_SCHED_READY);
    }
    /* skip: missed however it came; all: every missed instant runs */
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_SKIP, t, t + 60 * SEC, late),
                     SYMBI_SCHED_MISS);
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_ALL, t, t + SEC, late),
                     SYMBI_SCHED_READY);
    /* once: the downtime's one run, unless a later instant was missed too
     * (the claim ran that one as catch_up) */
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_ONCE, t, t + 60 * SEC, late),
                     SYMBI_SCHED_READY);
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_ONCE, t, late - 1000, late),
                     SYMBI_SCHED_READY); /* the next one was on time */
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_ONCE, t, t + 10 * SEC, late),
                     SYMBI_SCHED_MISS);
    assert_int_equal(symbi_sched_on_released(&p, SYMBI_CATCH_UP_ONCE, t, SYMBI_TIME_NONE, late),
                     SYMBI_SCHED_READY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_time_fire),
        cmocka_unit_test(test_lookahead_claim),
        cmocka_unit_test(test_per_job_limit_skips),
        cmocka_unit_test(test_on_slot_deadline),
        cmocka_unit_test(test_claim_backoff),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_catch_up_modes),
        cmocka_unit_test(test_starting_deadline),
        cmocka_unit_test(test_one_shot),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_and_dead_letter),
        cmocka_unit_test(test_released_fire_follows_catch_up),
    };
    return cmocka_run_group_tests_name("sched_plan", tests, NULL, NULL);
}
