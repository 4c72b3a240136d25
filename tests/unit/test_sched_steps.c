/* test_sched_steps.c - the scheduler loop tick by tick (support/sched_env.c)
 * when time misbehaves (issue 20 #3): the wall clock stepped 1 h forward
 * and 1 h back, a step right after a lease renewal, and a dead node's
 * claimed fire taken from the pool late (SPEC §5.4, §5.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "support/sched_env.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const char *const names[] = {"rel-once", "rel-skip", "rel-all"};
    const enum symbi_catch_up modes[] = {SYMBI_CATCH_UP_ONCE, SYMBI_CATCH_UP_SKIP,
                                         SYMBI_CATCH_UP_ALL};
    catch_up_jobs(v, names, "*/10 * * * * *");
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
    /* SQLite: all three; PostgreSQL: the dead node's share of what is due
     * among the two live leases (the others this node claims on time) */
    assert_true(n >= 1 && n <= 3);
    bool dead_has[3] = {false, false, false};
    for (size_t c = 0; c < n; c++)
        for (int i = 0; i < 3; i++)
            dead_has[i] |= strcmp(claimed[c].job_name, names[i]) == 0;
    symbi_run_list_free(claimed, n);
    run_for(v, 40 * SEC);
    for (int i = 0; i < 3; i++) {
        size_t k;
        struct symbi_run *r = runs_of(v, names[i], &k);
        int ran = 0;
        for (int c = 0; c < v->n_calls; c++)
            ran += strcmp(v->calls[c].job, names[i]) == 0 && v->calls[c].scheduled_at == t;
        for (size_t x = 0; dead_has[i] && x < k; x++) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_step_forward),
        cmocka_unit_test(test_clock_step_back),
        cmocka_unit_test(test_step_right_after_a_renewal),
        cmocka_unit_test(test_a_dead_nodes_fire_follows_catch_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
