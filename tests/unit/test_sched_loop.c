/* test_sched_loop.c - the scheduler loop driven step by step with a fake
 * clock and a fake runner (issue 11): on-time fire, jitter, per-job skip,
 * global queue, retry backoff, catch-up once/skip/all, pause, shutdown,
 * overload (max_held). The bench is support/sched_env.c; the clock steps
 * and a dead node's fires are in test_sched_steps.c. No thread, no
 * sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/sched_env.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fire is claimed ahead, held until its instant and started then, with
 * no store write between the instant and the start. */
static void test_on_time_fire(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    cron_job(v, "tick", "* * * * * *", 1);
    advance_to(v, T0 + 600);
    int64_t wake = tick(v);
    assert_int_equal(wake, T0 + SEC); /* claimed ahead: wakes at the instant */
    assert_int_equal(v->n_calls, 0);
    sched_work_run(v->s, 10);
    assert_int_equal(v->n_calls, 0);
    advance_to(v, T0 + SEC);
    tick(v);
    settle(v);
    assert_int_equal(v->n_calls, 1);
    assert_int_equal(v->calls[0].scheduled_at, T0 + SEC);
    assert_int_equal(v->calls[0].started, T0 + SEC);
    assert_string_equal(v->calls[0].trigger, "schedule");
    size_t n;
    struct symbi_run *r = runs_of(v, "tick", &n);
    assert_true(n >= 1);
    assert_int_equal(r[0].status, SYMBI_RUN_SUCCEEDED);
    assert_int_equal(r[0].started_at, T0 + SEC);
    assert_string_equal(r[0].node, "test-node");
    symbi_run_list_free(r, n);
    env_free(v);
}

/* A jittered fire starts at its instant plus its jitter, not before. */
static void test_jitter(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    struct symbi_job j;
    fixture_at_job(&j, "jit", T0 + SEC);
    j.jitter_ms = 5 * SEC;
    add_job(v, &j);
    symbi_job_cleanup(&j);
    advance_to(v, T0 + 600);
    int64_t wake = tick(v);
    size_t n;
    struct symbi_run *r = runs_of(v, "jit", &n);
    assert_int_equal(n, 1);
    int64_t due = r[0].due_at;
    assert_int_equal(due, T0 + SEC + r[0].jitter_ms);
    assert_true(r[0].jitter_ms >= 0 && r[0].jitter_ms <= 5 * SEC);
    symbi_run_list_free(r, n);
    assert_true(wake <= due);
    if (due > T0 + SEC) {
        advance_to(v, due - 1);
        tick(v);
        sched_work_run(v->s, 10);
        assert_int_equal(v->n_calls, 0);
    }
    advance_to(v, due);
    tick(v);
    settle(v);
    assert_int_equal(v->n_calls, 1);
    assert_int_equal(v->calls[0].started, due);
    env_free(v);
}

/* max_concurrent 1: a fire whose instant comes while the job's run is
 * running is skipped; one whose instant comes after that run finished is
 * not, even when the loop has not looked at the finished run yet (issue 10
 * #6: decided at the instant, on running runs). */
static void test_per_job_skip(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    cron_job(v, "slow", "* * * * * *", 1);
    advance_to(v, T0 + SEC);
    tick(v); /* T0+1 s starts and keeps running */
    advance_to(v, T0 + 2 * SEC);
    tick(v);                  /* T0+2 s: the job's run is running: skipped */
    sched_work_run(v->s, 10); /* the first run finishes now, unseen by the loop */
    advance_to(v, T0 + 3 * SEC);
    tick(v); /* T0+3 s: nothing runs at this instant: starts */
    settle(v);
    size_t n;
    struct symbi_run *r = runs_of(v, "slow", &n);
    assert_true(n >= 3);
    assert_int_equal(r[0].scheduled_at, T0 + SEC);
    assert_int_equal(r[0].status, SYMBI_RUN_SUCCEEDED);
    assert_int_equal(r[1].scheduled_at, T0 + 2 * SEC);
    assert_int_equal(r[1].status, SYMBI_RUN_SKIPPED);
    assert_non_null(strstr(r[1].error_message, "max_concurrent"));
    assert_int_equal(r[2].scheduled_at, T0 + 3 * SEC);
    assert_int_equal(r[2].status, SYMBI_RUN_SUCCEEDED);
    symbi_run_list_free(r, n);
    assert_int_equal(v->n_calls, 2);
    env_free(v);
}

/* The global limit: due runs wait queued and start in due order as slots
 * free; nothing is dropped. */
static void test_global_queue(void **state)
{
    (void)state;
    struct env *v = env_new(2);
    const char *names[] = {"g0", "g1", "g2"};
    for (int i = 0; i < 3; i++) {
        struct symbi_job j;
        fixture_at_job(&j, names[i], T0 + SEC + i);
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
    advance_to(v, T0 + SEC + 5);
    tick(v);
    struct symbi_sched_stats st;
    symbi_sched_get_stats(v->s, &st);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(st.queued, 1);
    assert_int_equal(sched_recorder_flush(v->s), 0);
    size_t n;
    struct symbi_run *r = runs_of(v, "g2", &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].status, SYMBI_RUN_QUEUED);
    symbi_run_list_free(r, n);
    sched_work_run(v->s, 10);
    assert_int_equal(v->n_calls, 2);
    assert_string_equal(v->calls[0].job, "g0");
    assert_string_equal(v->calls[1].job, "g1");
    advance_to(v, T0 + 3 * SEC);
    tick(v); /* slots free: g2 starts */
    settle(v);
    assert_int_equal(v->n_calls, 3);
    assert_string_equal(v->calls[2].job, "g2");
    assert_int_equal(v->calls[2].started, T0 + 3 * SEC);
    r = runs_of(v, "g2", &n);
    assert_int_equal(r[0].status, SYMBI_RUN_SUCCEEDED);
    symbi_run_list_free(r, n);
    env_free(v);
}

/* A burst due at one instant, larger than the default claim (1,000
 * fires), on a node that can start all of it: one claim (one transaction)
 * takes all and the same tick starts all; every run recorded once. */
static void test_burst_one_claim(void **state)
{
    (void)state;
    enum { BURST = 1200 };
    struct env *v = env_new(BURST);
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_begin_atomic(v->fx->st, &err), 0);
    for (int i = 0; i < BURST; i++) {
        char name[32];
        snprintf(name, sizeof name, "b%04d", i);
        struct symbi_job j;
        fixture_at_job(&j, name, T0 + SEC);
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
    assert_int_equal(symbi_store_commit(v->fx->st, &err), 0);
    advance_to(v, T0 + SEC);
    tick(v);
    struct symbi_sched_stats st;
    symbi_sched_get_stats(v->s, &st);
    assert_int_equal(st.in_flight, BURST);
    assert_int_equal(st.queued, 0);
    sched_work_run(v->s, BURST);
    sched_drain_done(v->s);
    assert_int_equal(sched_recorder_flush(v->s), 0);
    assert_int_equal(v->n_calls, BURST);
    for (int i = 0; i < BURST; i++)
        assert_int_equal(v->calls[i].started, T0 + SEC);
    int64_t n = 0;
    struct symbi_run_filter f = {.due_before = SYMBI_TIME_NONE};
    struct symbi_run *runs = NULL;
    size_t nr = 0;
    f.limit = 2 * BURST;
    assert_int_equal(symbi_store_run_list(v->fx->st, &f, &runs, &nr, &err), 0);
    for (size_t i = 0; i < nr; i++)
        n += runs[i].status == SYMBI_RUN_SUCCEEDED;
    symbi_run_list_free(runs, nr);
    assert_int_equal(nr, BURST);
    assert_int_equal(n, BURST);
    env_free(v);
}

/* A failed run is retried after the backoff (30 s), attempt 2, trigger
 * retry, and not a moment earlier. */
static void test_retry_backoff(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    struct symbi_job j;
    fixture_at_job(&j, "bad-once", T0 + SEC);
    j.max_retries = 3;
    add_job(v, &j);
    symbi_job_cleanup(&j);
    advance_to(v, T0 + SEC);
    tick(v);
    settle(v);
    assert_int_equal(v->n_calls, 1);
    size_t n;
    struct symbi_run *r = runs_of(v, "bad-once", &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].status, SYMBI_RUN_FAILED);
    assert_int_equal(r[1].status, SYMBI_RUN_QUEUED);
    assert_int_equal(r[1].trigger, SYMBI_TRIGGER_RETRY);
    assert_int_equal(r[1].attempt, 2);
    assert_int_equal(r[1].due_at, T0 + 31 * SEC);
    symbi_run_list_free(r, n);
    int64_t wake = tick(v);
    assert_true(wake <= T0 + 31 * SEC);
    advance_to(v, T0 + 31 * SEC - 1);
    tick(v);
    sched_work_run(v->s, 10);
    assert_int_equal(v->n_calls, 1);
    advance_to(v, T0 + 31 * SEC);
    tick(v);
    settle(v);
    assert_int_equal(v->n_calls, 2);
    assert_string_equal(v->calls[1].trigger, "retry");
    assert_int_equal(v->calls[1].attempt, 2);
    assert_int_equal(v->calls[1].scheduled_at, T0 + SEC);
    env_free(v);
}

/* After 65 s down, a job every 10 s has six missed instants: once runs the
 * latest as catch_up (the others missed), skip records all missed, all
 * runs all of them in order, one at a time. */
static void test_catch_up_modes(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    const char *const names[] = {"once", "skip", "all"};
    catch_up_jobs(v, names, "*/10 * * * * *");
    advance_to(v, T0 + 65 * SEC);
    for (int k = 0; k < 8; k++) {
        tick(v);
        settle(v);
        advance_to(v, v->fc.wall + 10);
    }
    size_t n;
    struct symbi_run *r = runs_of(v, "once", &n);
    assert_int_equal(n, 6);
    assert_int_equal(count_status(r, n, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE), 5);
    assert_int_equal(r[5].trigger, SYMBI_TRIGGER_CATCH_UP);
    assert_int_equal(r[5].scheduled_at, T0 + 60 * SEC);
    assert_int_equal(r[5].status, SYMBI_RUN_SUCCEEDED);
    symbi_run_list_free(r, n);
    r = runs_of(v, "skip", &n);
    assert_int_equal(n, 6);
    assert_int_equal(count_status(r, n, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE), 6);
    assert_non_null(strstr(r[0].error_message, "catch_up: skip"));
    symbi_run_list_free(r, n);
    r = runs_of(v, "all", &n);
    assert_int_equal(n, 6);
    assert_int_equal(count_status(r, n, SYMBI_RUN_SUCCEEDED, SYMBI_TRIGGER_CATCH_UP), 6);
    for (size_t i = 1; i < n; i++)
        assert_true(r[i].started_at >= r[i - 1].finished_at); /* one at a time, in order */
    symbi_run_list_free(r, n);
    /* each continues from now */
    assert_int_equal(next_run_of(v, "once"), T0 + 70 * SEC);
    assert_int_equal(next_run_of(v, "all"), T0 + 70 * SEC);
    env_free(v);
}

/* A pause settles the job's claimed, waiting run in its transaction: it
 * never starts (issue 10 #11). */
static void test_pause_stops_claimed_fires(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    cron_job(v, "cron", "* * * * * *", 1);
    advance_to(v, T0 + 600);
    tick(v); /* the T0+1 s fire is claimed ahead, held in the timers */
    assert_int_equal(sched_recorder_flush(v->s), 0);
    struct symbi_err err = {0};
    assert_int_equal(
        symbi_store_job_set_status(v->fx->st, "cron", SYMBI_JOB_PAUSED, v->fc.wall, "test", &err),
        0);
    advance_to(v, T0 + SEC);
    tick(v);
    settle(v);
    assert_int_equal(v->n_calls, 0);
    size_t n;
    struct symbi_run *r = runs_of(v, "cron", &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].scheduled_at, T0 + SEC);
    assert_int_equal(r[0].status, SYMBI_RUN_SKIPPED);
    assert_string_equal(r[0].error_message, "skipped: the job was paused");
    symbi_run_list_free(r, n);
    struct symbi_sched_stats st;
    symbi_sched_get_stats(v->s, &st);
    assert_int_equal(st.queued, 0);
    env_free(v);
}

/* A clean stop gives the fire claimed ahead back (record removed,
 * next_run restored), waits for the running run, cancels it past the
 * timeout and records it interrupted; nothing is left queued. */
static void test_shutdown(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    struct symbi_job j;
    fixture_at_job(&j, "long", T0 + 500);
    add_job(v, &j);
    symbi_job_cleanup(&j);
    cron_job(v, "tick", "* * * * * *", 1);
    advance_to(v, T0 + 600);
    tick(v); /* long starts; tick's T0+1 s fire is claimed ahead */
    assert_int_equal(sched_recorder_flush(v->s), 0);
    size_t n;
    struct symbi_run *r = runs_of(v, "tick", &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].status, SYMBI_RUN_QUEUED);
    symbi_run_list_free(r, n);

    sched_give_back(v->s, v->fc.mono + 1000);
    r = runs_of(v, "tick", &n);
    assert_int_equal(n, 0);
    symbi_run_list_free(r, n);
    assert_int_equal(next_run_of(v, "tick"), T0 + SEC);

    bool cancelled = false;
    int64_t deadline = v->fc.mono + 2000;
    assert_int_equal(sched_shutdown_poll(v->s, deadline, &cancelled), 1);
    assert_false(cancelled);
    advance_to(v, v->fc.wall + 2000);
    assert_int_equal(sched_shutdown_poll(v->s, deadline, &cancelled), 1);
    assert_true(cancelled);
    sched_work_run(v->s, 10); /* the cancelled agent ends */
    assert_int_equal(sched_shutdown_poll(v->s, deadline, &cancelled), 0);
    assert_int_equal(sched_recorder_flush(v->s), 0);
    r = runs_of(v, "long", &n);
    assert_int_equal(n, 2); /* interrupted, and its retry for the next start */
    assert_int_equal(r[0].status, SYMBI_RUN_INTERRUPTED);
    assert_int_equal(r[1].status, SYMBI_RUN_QUEUED);
    assert_null(r[1].node);
    symbi_run_list_free(r, n);
    env_free(v);
}

/* Overload: 30 every-second jobs, one slot, runs that take their time (the
 * work runs every 2 s): the fires held in memory stay within max_held, the
 * rest wait in the store; once the overload ends every instant of every
 * job has exactly one record (run, missed or caught up), none twice. */
static void test_overload_holds_at_most_max_held(void **state)
{
    (void)state;
    struct env *v = env_new_held(1, 8);
    char names[30][16];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "o%02d", i);
        cron_job(v, names[i], "* * * * * *", 1);
    }
    int64_t max_queued = 0;
    for (int step = 0; step < 100; step++) { /* 10 s of overload */
        tick(v);
        struct symbi_sched_stats st;
        symbi_sched_get_stats(v->s, &st);
        if (st.queued > max_queued)
            max_queued = st.queued;
        /* max_held and the few fires of the claim that reached it (a job
         * claimed late brings its catch-up run, its instant, the next) */
        assert_true(st.queued <= 8 + 4);
        if (step % 20 == 19)
            settle(v);
        advance_to(v, v->fc.wall + 100);
    }
    print_message("max queued %lld\n", (long long)max_queued);
    assert_true(max_queued >= 8);
    /* the overload ends: a slot for everyone, and a while to catch up */
    env_reopen(v, 64);
    int64_t end = v->fc.wall;
    run_for(v, 5 * SEC);
    int64_t first = (T0 / SEC + 1) * SEC;
    for (int i = 0; i < 30; i++)
        assert_ledger_whole(v, names[i], first, end - SEC, SEC);
    for (int i = 0; i < v->n_calls; i++)
        for (int k = 0; k < i; k++)
            assert_false(strcmp(v->calls[i].run_id, v->calls[k].run_id) == 0);
    env_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_time_fire),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_per_job_skip),
        cmocka_unit_test(test_global_queue),
        cmocka_unit_test(test_retry_backoff),
        cmocka_unit_test(test_catch_up_modes),
        cmocka_unit_test(test_pause_stops_claimed_fires),
        cmocka_unit_test(test_burst_one_claim),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_overload_holds_at_most_max_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
