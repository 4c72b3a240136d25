/* sched_env.h - the scheduler loop's unit-test bench (test_sched_loop.c,
 * test_sched_steps.c): a real store of the backend under test, the loop
 * driven tick by tick with a fake clock and a fake runner that notes each
 * call; helpers to add jobs, step the clocks, read the ledger back. */
#ifndef SYMBI_TEST_SCHED_ENV_H
#define SYMBI_TEST_SCHED_ENV_H

#include "sched/sched_int.h"
#include "support/store_fixture.h"

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

/* A new bench: a fresh store, the loop opened stepped (no threads); the
 * fake runner notes each call (jobs named bad* fail; a run whose
 * cancellation fired is interrupted). max_held: the backlog bound (0:
 * the default). */
struct env *env_new(int max_concurrent_jobs);
struct env *env_new_held(int max_concurrent_jobs, int64_t max_held);
void env_free(struct env *v);
/* A clean stop of v's scheduler, and a new one on the same store and
 * clocks (a restart with other limits). */
void env_reopen(struct env *v, int max_concurrent_jobs);

void add_job(struct env *v, struct symbi_job *j);
/* Three jobs on expr named names[0..2], under catch_up once, skip, all. */
void catch_up_jobs(struct env *v, const char *const names[3], const char *expr);
void cron_job(struct env *v, const char *name, const char *expr, int max_concurrent);

/* One step of the loop at the fake clock's time; returns its wake-up. */
int64_t tick(struct env *v);
/* Moves both fake clocks to the wall instant `wall`. */
void advance_to(struct env *v, int64_t wall);
/* Runs what was started, takes the finished, writes the records. */
void settle(struct env *v);
/* The wall clock jumps (an operator, NTP) between two ticks: the
 * monotonic clock moves 1 ms, so no renewal of the lease falls due first. */
void step_wall(struct env *v, int64_t delta);
/* Ticks every 100 ms of both clocks for `ms`, settling each step. */
void run_for(struct env *v, int64_t ms);

/* The runs of job, oldest first (free with symbi_run_list_free). */
struct symbi_run *runs_of(struct env *v, const char *job, size_t *n);
int64_t next_run_of(struct env *v, const char *job);
int count_status(const struct symbi_run *r, size_t n, enum symbi_run_status st,
                 enum symbi_trigger tr);
/* How many times the fake runner ran job. */
int calls_of(const struct env *v, const char *job);
/* No run of job whose instant has passed (by more than `grace`) is left
 * queued or running. */
void assert_none_stuck(struct env *v, const char *job, int64_t grace);
/* Each instant of [from, to), `step` apart, has exactly one record (attempt 1). */
void assert_ledger_whole(struct env *v, const char *job, int64_t from, int64_t to, int64_t step);

#endif
