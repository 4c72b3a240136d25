/* test_sched_loop.c - the scheduler loop driven step by step with a fake
 * clock and a fake runner (issue 11): on-time fire, jitter, per-job skip,
 * global queue, retry backoff, catch-up once/skip/all, pause, shutdown, the
 * wall clock stepped 1 h forward and 1 h back (issue 20 #3). A
 * real SQLite store in a temporary directory; no thread, no sleeping. */
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

#define SEC 1000LL
/* 2026-03-20T09:46:40Z is not a whole ten seconds; T0 is */
#define T0 1774000000000LL

#define MAX_CALLS 2048

struct call {
    char run_id[SYMBI_UUID_LEN + 1];
    char job[64];
    char trigger[16];
    int64_t scheduled_at;
    int attempt;
    int64_t started; /* the fake wall clock when it ran */
};

struct env {
    struct store_fixture *fx;
    struct symbi_fake_clock fc;
    struct symbi_sched *s;
    struct call calls[MAX_CALLS];
    int n_calls;
};

/* The fake runner: notes the call; jobs named bad* fail; a run executed
 * after the cancellation fired is interrupted. */
static int fake_runner(void *ud, const struct symbi_agent_request *req,
                       struct symbi_agent_result *res, struct symbi_err *err)
{
    (void)err;
    struct env *v = ud;
    assert_true(v->n_calls < MAX_CALLS);
    struct call *c = &v->calls[v->n_calls++];
    snprintf(c->run_id, sizeof c->run_id, "%s", req->run_id);
    snprintf(c->job, sizeof c->job, "%s", req->job_name ? req->job_name : "");
    snprintf(c->trigger, sizeof c->trigger, "%s", req->trigger);
    c->scheduled_at = req->scheduled_at;
    c->attempt = req->attempt;
    c->started = v->fc.wall;
    symbi_agent_result_init(res);
    res->output = strdup("ok\n");
    res->output_len = 3;
    if (atomic_load(&req->cancel->cancelled)) {
        res->status = SYMBI_RUN_INTERRUPTED;
        res->error_message = strdup("scheduler stopped");
    } else if (strncmp(c->job, "bad", 3) == 0) {
        res->status = SYMBI_RUN_FAILED;
        res->error_message = strdup("exit code 1");
    } else {
        res->status = SYMBI_RUN_SUCCEEDED;
    }
    return 0;
}

static struct env *env_new_held(int max_concurrent_jobs, int64_t max_held);

static struct env *env_new(int max_concurrent_jobs)
{
    return env_new_held(max_concurrent_jobs, 0);
}

static struct env *env_new_held(int max_concurrent_jobs, int64_t max_held)
{
    struct env *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->fx = store_fixture_new();
    symbi_fake_clock_init(&v->fc, T0);
    struct symbi_sched_config cfg;
    symbi_sched_config_init(&cfg);
    cfg.store_url = v->fx->url;
    cfg.node = "test-node";
    cfg.next_fire = symbi_cron_job_next;
    cfg.clock = &v->fc.base;
    cfg.runner = fake_runner;
    cfg.runner_ud = v;
    cfg.max_concurrent_jobs = max_concurrent_jobs;
    cfg.max_held = max_held;
    cfg.shutdown_timeout_ms = 2000;
    struct symbi_err err = {0};
    assert_int_equal(symbi_sched_new(&cfg, &v->s, &err), 0);
    if (sched_open_stepped(v->s, &err) != 0)
        fail_msg("open: %s", err.msg);
    return v;
}

static void env_free(struct env *v)
{
    symbi_sched_free(v->s);
    store_fixture_free(v->fx);
    free(v);
}

static void add_job(struct env *v, struct symbi_job *j)
{
    struct symbi_err err = {0};
    if (symbi_store_job_create(v->fx->st, j, v->fc.wall, "test", &err) != 0)
        fail_msg("create: %s", err.msg);
}

static void cron_job(struct env *v, const char *name, const char *expr, int max_concurrent)
{
    struct symbi_job j;
    fixture_cron_job(&j, name, expr);
    j.max_concurrent = max_concurrent;
    add_job(v, &j);
    symbi_job_cleanup(&j);
}

/* One step of the loop at the fake clock's time; returns its wake-up. */
static int64_t tick(struct env *v)
{
    return sched_tick(v->s, v->fc.wall, v->fc.mono);
}

static void advance_to(struct env *v, int64_t wall)
{
    assert_true(wall >= v->fc.wall);
    symbi_fake_clock_advance(&v->fc, wall - v->fc.wall);
}

/* Executes the started runs, takes their outcomes and writes everything. */
static void settle(struct env *v)
{
    sched_work_run(v->s, 1000);
    sched_drain_done(v->s);
    assert_int_equal(sched_recorder_flush(v->s), 0);
}

static struct symbi_run *runs_of(struct env *v, const char *job, size_t *n)
{
    struct symbi_job j;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_job_get(v->fx->st, job, &j, &err), 0);
    struct symbi_run_filter f = {
        .job_id = j.id, .due_before = SYMBI_TIME_NONE, .oldest_first = true};
    struct symbi_run *runs = NULL;
    assert_int_equal(symbi_store_run_list(v->fx->st, &f, &runs, n, &err), 0);
    symbi_job_cleanup(&j);
    return runs;
}

static int64_t next_run_of(struct env *v, const char *job)
{
    struct symbi_job j;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_job_get(v->fx->st, job, &j, &err), 0);
    int64_t t = j.next_run;
    symbi_job_cleanup(&j);
    return t;
}

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

static int count_status(const struct symbi_run *r, size_t n, enum symbi_run_status st,
                        enum symbi_trigger tr)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += r[i].status == st && r[i].trigger == tr;
    return c;
}

/* After 65 s down, a job every 10 s has six missed instants: once runs the
 * latest as catch_up (the others missed), skip records all missed, all
 * runs all of them in order, one at a time. */
static void test_catch_up_modes(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    const char *names[] = {"once", "skip", "all"};
    const enum symbi_catch_up modes[] = {SYMBI_CATCH_UP_ONCE, SYMBI_CATCH_UP_SKIP,
                                         SYMBI_CATCH_UP_ALL};
    for (int i = 0; i < 3; i++) {
        struct symbi_job j;
        fixture_cron_job(&j, names[i], "*/10 * * * * *");
        j.catch_up = modes[i];
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
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

/* The wall clock jumps (an operator, NTP) between two ticks: the
 * monotonic clock moves 1 ms, so no renewal of the lease falls due first. */
static void step_wall(struct env *v, int64_t delta)
{
    v->fc.wall += delta;
    v->fc.mono += 1;
}

/* Ticks every 100 ms of both clocks for `ms`, settling each step. */
static void run_for(struct env *v, int64_t ms)
{
    for (int64_t t = 0; t < ms; t += 100) {
        tick(v);
        settle(v);
        advance_to(v, v->fc.wall + 100);
    }
}

static int calls_of(const struct env *v, const char *job)
{
    int n = 0;
    for (int i = 0; i < v->n_calls; i++)
        n += strcmp(v->calls[i].job, job) == 0;
    return n;
}

/* No run of job whose instant has passed (by more than `grace`) is left
 * queued or running: each was run, missed or is being run by no one. */
static void assert_none_stuck(struct env *v, const char *job, int64_t grace)
{
    size_t n;
    struct symbi_run *r = runs_of(v, job, &n);
    for (size_t i = 0; i < n; i++)
        if (r[i].scheduled_at < v->fc.wall - grace &&
            (r[i].status == SYMBI_RUN_QUEUED || r[i].status == SYMBI_RUN_RUNNING))
            fail_msg("%s: the run of %lld is still %s (node %s, epoch %lld)", job,
                     (long long)r[i].scheduled_at, symbi_run_status_name(r[i].status),
                     r[i].node ? r[i].node : "-", (long long)r[i].epoch);
    symbi_run_list_free(r, n);
}

/* Each instant of [from, to) has exactly one record (attempt 1). */
static void assert_ledger_whole(struct env *v, const char *job, int64_t from, int64_t to,
                                int64_t step)
{
    size_t n;
    struct symbi_run *r = runs_of(v, job, &n);
    int64_t want = from;
    for (size_t i = 0; i < n; i++) {
        if (r[i].scheduled_at < from || r[i].scheduled_at >= to)
            continue;
        assert_int_equal(r[i].attempt, 1);
        assert_int_equal(r[i].scheduled_at, want); /* no gap, no duplicate */
        want += step;
    }
    assert_int_equal(want, to);
    symbi_run_list_free(r, n);
}

/* The wall clock steps 1 h forward: the hour's missed instants follow
 * catch_up (once: the latest runs, the rest `missed`; skip: all `missed`),
 * one run per job, not a burst; then every job continues from the new now. */
static void test_clock_step_forward(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    const char *names[] = {"min-once", "min-skip"};
    const enum symbi_catch_up modes[] = {SYMBI_CATCH_UP_ONCE, SYMBI_CATCH_UP_SKIP};
    for (int i = 0; i < 2; i++) {
        struct symbi_job j;
        fixture_cron_job(&j, names[i], "0 * * * * *");
        j.catch_up = modes[i];
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
    cron_job(v, "sec", "*/10 * * * * *", 1);
    run_for(v, 130 * SEC);
    int before_once = calls_of(v, "min-once"), before_sec = calls_of(v, "sec");
    assert_true(before_once >= 2);
    int64_t stepped_from = v->fc.wall;
    step_wall(v, 3600 * SEC);
    run_for(v, 5 * SEC);
    /* one catch-up run for the hour, none for skip; the 10 s job: its
     * catch-up run and at most the next on-time fire, not 360 runs */
    assert_int_equal(calls_of(v, "min-once"), before_once + 1);
    assert_int_equal(calls_of(v, "min-skip"), before_once);
    int after_sec = calls_of(v, "sec");
    assert_true(after_sec == before_sec + 1 || after_sec == before_sec + 2);
    size_t n;
    struct symbi_run *r = runs_of(v, "min-once", &n);
    int missed = count_status(r, n, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE);
    assert_int_equal(missed, 59);
    assert_int_equal(count_status(r, n, SYMBI_RUN_SUCCEEDED, SYMBI_TRIGGER_CATCH_UP), 1);
    symbi_run_list_free(r, n);
    r = runs_of(v, "min-skip", &n);
    assert_int_equal(count_status(r, n, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE), 60);
    symbi_run_list_free(r, n);
    /* continues from now, on time */
    int64_t next = next_run_of(v, "sec");
    assert_true(next > v->fc.wall && next <= v->fc.wall + 10 * SEC);
    run_for(v, 60 * SEC);
    assert_int_equal(calls_of(v, "sec"), after_sec + 6);
    int64_t first = (T0 / (60 * SEC) + 1) * 60 * SEC;
    int64_t last = ((stepped_from + 3600 * SEC) / (60 * SEC) + 1) * 60 * SEC;
    assert_ledger_whole(v, "min-once", first, last, 60 * SEC);
    assert_ledger_whole(v, "min-skip", first, last, 60 * SEC);
    /* the step made the node's lease look expired to the store: no fire
     * claimed across it is left owned by the node yet held by no one */
    assert_none_stuck(v, "sec", 2 * SEC);
    assert_none_stuck(v, "min-once", 2 * SEC);
    env_free(v);
}

/* The wall clock steps 1 h back: no instant fires again (no duplicate, no
 * burst); the jobs wait for their next instant, which the clock reaches
 * again an hour later, and the ledger stays whole across the step. */
static void test_clock_step_back(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    cron_job(v, "sec", "*/10 * * * * *", 1);
    run_for(v, 65 * SEC);
    int before = calls_of(v, "sec");
    assert_true(before >= 6);
    int64_t next = next_run_of(v, "sec");
    step_wall(v, -3600 * SEC);
    run_for(v, 120 * SEC);
    assert_int_equal(calls_of(v, "sec"), before); /* nothing ran again */
    assert_int_equal(next_run_of(v, "sec"), next);
    /* an hour later (of wall time) the job runs at its instant, once each */
    advance_to(v, next - 200);
    run_for(v, 35 * SEC);
    assert_int_equal(calls_of(v, "sec"), before + 4);
    for (int i = 0; i < v->n_calls; i++)
        for (int k = 0; k < i; k++)
            assert_true(v->calls[i].scheduled_at != v->calls[k].scheduled_at);
    int64_t first = (T0 / (10 * SEC) + 1) * 10 * SEC;
    assert_ledger_whole(v, "sec", first, next + 40 * SEC, 10 * SEC);
    env_free(v);
}

/* A forward step lands right after a lease renewal, so the next renewal
 * is not due when the loop claims: by the stepped wall clock the store
 * sees the node's lease expired. The claim must not stamp such a lease
 * (no epoch: a run "held" by a live node that will drop it): the lease is
 * renewed first, and every fire across the step ends terminal. */
static void test_step_right_after_a_renewal(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    cron_job(v, "sec", "* * * * * *", 1);
    run_for(v, 5 * SEC);
    /* just after a renewal: the next one is most of a tick away */
    for (int i = 0; i < 20 && v->s->next_heartbeat_mono - v->fc.mono < 800; i++) {
        tick(v);
        settle(v);
        advance_to(v, v->fc.wall + 50);
    }
    assert_true(v->s->next_heartbeat_mono - v->fc.mono >= 800);
    step_wall(v, 3600 * SEC);
    tick(v);
    size_t n;
    struct symbi_run *r = runs_of(v, "sec", &n);
    for (size_t i = 0; i < n; i++)
        if (r[i].node != NULL &&
            (r[i].status == SYMBI_RUN_QUEUED || r[i].status == SYMBI_RUN_RUNNING))
            assert_true(r[i].epoch > 0);
    symbi_run_list_free(r, n);
    settle(v);
    run_for(v, 5 * SEC);
    assert_none_stuck(v, "sec", 2 * SEC);
    env_free(v);
}

/* Another node claims the next fire of three jobs under its lease and dies
 * before starting them (kill -9: no give-back). This node goes on; once
 * that lease expired, recovery puts the fires back in the pool and the
 * claim takes them, seconds late: missed fires of that node's downtime,
 * which follow each job's catch_up (skip: `missed`; once and all: the
 * fire runs, once). The later instants run on time, each once. */
static void test_a_dead_nodes_fire_follows_catch_up(void **state)
{
    (void)state;
    struct env *v = env_new(10);
    const char *names[] = {"rel-once", "rel-skip", "rel-all"};
    const enum symbi_catch_up modes[] = {SYMBI_CATCH_UP_ONCE, SYMBI_CATCH_UP_SKIP,
                                         SYMBI_CATCH_UP_ALL};
    for (int i = 0; i < 3; i++) {
        struct symbi_job j;
        fixture_cron_job(&j, names[i], "*/10 * * * * *");
        j.catch_up = modes[i];
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
    run_for(v, 25 * SEC);
    struct symbi_err err = {0};
    int64_t epoch = 0, lease_end = v->fc.wall + 15 * SEC;
    assert_int_equal(
        symbi_store_node_lease(v->fx->st, "dead-node", v->fc.wall, 15 * SEC, &epoch, &err), 0);
    int64_t t = next_run_of(v, "rel-once");
    struct symbi_run *claimed = NULL;
    size_t n = 0;
    assert_int_equal(symbi_store_claim_due(v->fx->st, t, 10, "dead-node", symbi_sched_plan,
                                           &v->s->planner, &claimed, &n, &err),
                     0);
    assert_int_equal(n, 3);
    symbi_run_list_free(claimed, n);
    run_for(v, 40 * SEC);
    for (int i = 0; i < 3; i++) {
        size_t k;
        struct symbi_run *r = runs_of(v, names[i], &k);
        int ran = 0;
        for (int c = 0; c < v->n_calls; c++)
            ran += strcmp(v->calls[c].job, names[i]) == 0 && v->calls[c].scheduled_at == t;
        for (size_t x = 0; x < k; x++) {
            if (r[x].scheduled_at != t)
                continue;
            if (modes[i] == SYMBI_CATCH_UP_SKIP) {
                assert_int_equal(r[x].status, SYMBI_RUN_MISSED);
                assert_int_equal(ran, 0);
            } else {
                assert_int_equal(r[x].status, SYMBI_RUN_SUCCEEDED);
                assert_int_equal(ran, 1);
                /* late: after the dead node's lease ran out */
                assert_true(r[x].started_at >= lease_end && r[x].started_at - t > 2 * SEC);
            }
        }
        symbi_run_list_free(r, k);
        assert_none_stuck(v, names[i], 2 * SEC);
        assert_ledger_whole(v, names[i], t - 20 * SEC, t + 40 * SEC, 10 * SEC);
    }
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
    symbi_sched_free(v->s);
    struct symbi_sched_config cfg;
    symbi_sched_config_init(&cfg);
    cfg.store_url = v->fx->url;
    cfg.node = "test-node";
    cfg.next_fire = symbi_cron_job_next;
    cfg.clock = &v->fc.base;
    cfg.runner = fake_runner;
    cfg.runner_ud = v;
    cfg.max_concurrent_jobs = 64;
    struct symbi_err err = {0};
    assert_int_equal(symbi_sched_new(&cfg, &v->s, &err), 0);
    assert_int_equal(sched_open_stepped(v->s, &err), 0);
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
        cmocka_unit_test(test_clock_step_forward),
        cmocka_unit_test(test_clock_step_back),
        cmocka_unit_test(test_step_right_after_a_renewal),
        cmocka_unit_test(test_a_dead_nodes_fire_follows_catch_up),
        cmocka_unit_test(test_overload_holds_at_most_max_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
