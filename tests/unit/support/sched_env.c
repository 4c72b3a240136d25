/* sched_env.c - the scheduler loop's unit-test bench (sched_env.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/sched_env.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct env *env_new(int max_concurrent_jobs)
{
    return env_new_held(max_concurrent_jobs, 0);
}

/* A scheduler on v's store and clocks, opened stepped. */
static void open_sched(struct env *v, int max_concurrent_jobs, int64_t max_held)
{
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
}

struct env *env_new_held(int max_concurrent_jobs, int64_t max_held)
{
    struct env *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->fx = store_fixture_new();
    symbi_fake_clock_init(&v->fc, T0);
    open_sched(v, max_concurrent_jobs, max_held);
    return v;
}

void env_reopen(struct env *v, int max_concurrent_jobs)
{
    symbi_sched_free(v->s);
    open_sched(v, max_concurrent_jobs, 0);
}

void env_free(struct env *v)
{
    symbi_sched_free(v->s);
    store_fixture_free(v->fx);
    free(v);
}

void add_job(struct env *v, struct symbi_job *j)
{
    struct symbi_err err = {0};
    if (symbi_store_job_create(v->fx->st, j, v->fc.wall, "test", &err) != 0)
        fail_msg("create: %s", err.msg);
}

void catch_up_jobs(struct env *v, const char *const names[3], const char *expr)
{
    const enum symbi_catch_up modes[] = {SYMBI_CATCH_UP_ONCE, SYMBI_CATCH_UP_SKIP,
                                         SYMBI_CATCH_UP_ALL};
    for (int i = 0; i < 3; i++) {
        struct symbi_job j;
        fixture_cron_job(&j, names[i], expr);
        j.catch_up = modes[i];
        add_job(v, &j);
        symbi_job_cleanup(&j);
    }
}

void cron_job(struct env *v, const char *name, const char *expr, int max_concurrent)
{
    struct symbi_job j;
    fixture_cron_job(&j, name, expr);
    j.max_concurrent = max_concurrent;
    add_job(v, &j);
    symbi_job_cleanup(&j);
}

/* One step of the loop at the fake clock's time; returns its wake-up. */
int64_t tick(struct env *v)
{
    return sched_tick(v->s, v->fc.wall, v->fc.mono);
}

void advance_to(struct env *v, int64_t wall)
{
    assert_true(wall >= v->fc.wall);
    symbi_fake_clock_advance(&v->fc, wall - v->fc.wall);
}

/* Executes the started runs, takes their outcomes and writes everything. */
void settle(struct env *v)
{
    sched_work_run(v->s, 1000);
    sched_drain_done(v->s);
    assert_int_equal(sched_recorder_flush(v->s), 0);
}

struct symbi_run *runs_of(struct env *v, const char *job, size_t *n)
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

int64_t next_run_of(struct env *v, const char *job)
{
    struct symbi_job j;
    struct symbi_err err = {0};
    assert_int_equal(symbi_store_job_get(v->fx->st, job, &j, &err), 0);
    int64_t t = j.next_run;
    symbi_job_cleanup(&j);
    return t;
}

int count_status(const struct symbi_run *r, size_t n, enum symbi_run_status st,
                 enum symbi_trigger tr)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += r[i].status == st && r[i].trigger == tr;
    return c;
}

/* The wall clock jumps (an operator, NTP) between two ticks: the
 * monotonic clock moves 1 ms, so no renewal of the lease falls due first. */
void step_wall(struct env *v, int64_t delta)
{
    v->fc.wall += delta;
    v->fc.mono += 1;
}

/* Ticks every 100 ms of both clocks for `ms`, settling each step. */
void run_for(struct env *v, int64_t ms)
{
    for (int64_t t = 0; t < ms; t += 100) {
        tick(v);
        settle(v);
        advance_to(v, v->fc.wall + 100);
    }
}

int calls_of(const struct env *v, const char *job)
{
    int n = 0;
    for (int i = 0; i < v->n_calls; i++)
        n += strcmp(v->calls[i].job, job) == 0;
    return n;
}

/* No run of job whose instant has passed (by more than `grace`) is left
 * queued or running: each was run, missed or is being run by no one. */
void assert_none_stuck(struct env *v, const char *job, int64_t grace)
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
void assert_ledger_whole(struct env *v, const char *job, int64_t from, int64_t to, int64_t step)
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
