/* plan.c - the scheduler's pure decisions (SPEC §5.2-5.5): what each due
 * fire records, jitter, catch-up after downtime, starting deadline, the
 * per-job limit at the fire's instant, retries with exponential backoff,
 * dead letter, and the claim's back-off while the store cannot write. */
#include "symbi/sched.h"

#include <stdlib.h>
#include <string.h>

#define HOUR_MS (3600LL * 1000)

void symbi_sched_policy_init(struct symbi_sched_policy *p)
{
    p->max_jitter_ms = 0;
    p->default_max_retries = 3;
    p->retry_backoff_ms = 30000;
    p->retry_backoff_max_ms = HOUR_MS;
    p->catch_up_after_ms = 2000;
}

/* splitmix64: small, fast, good enough for spreading start times */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int64_t symbi_sched_jitter(struct symbi_sched_planner *p, int64_t ceiling_ms)
{
    if (ceiling_ms <= 0)
        return 0;
    return (int64_t)(next_random(&p->rng) % ((uint64_t)ceiling_ms + 1));
}

int symbi_sched_max_retries(const struct symbi_sched_policy *p, const struct symbi_job *job)
{
    return job->max_retries >= 0 ? job->max_retries : p->default_max_retries;
}

int64_t symbi_sched_jitter_ceiling(const struct symbi_sched_policy *p, const struct symbi_job *job)
{
    return job->jitter_ms >= 0 ? job->jitter_ms : p->max_jitter_ms;
}

int64_t symbi_sched_backoff_ms(const struct symbi_sched_policy *p, int64_t failures)
{
    int64_t d = p->retry_backoff_ms > 0 ? p->retry_backoff_ms : 0;
    int64_t cap = p->retry_backoff_max_ms > 0 ? p->retry_backoff_max_ms : HOUR_MS;
    for (int64_t i = 1; i < failures && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

static struct symbi_run *add_run(struct symbi_fire_plan *plan, int64_t scheduled,
                                 enum symbi_run_status status, enum symbi_trigger trigger)
{
    struct symbi_run *r = &plan->runs[plan->n_runs++];
    symbi_run_init(r);
    r->scheduled_at = scheduled;
    r->due_at = scheduled;
    r->status = status;
    r->trigger = trigger;
    r->attempt = 1;
    return r;
}

/* Heap strings of a planned run; false on out of memory. */
static bool set_texts(struct symbi_run *r, const struct symbi_job *job, const char *error)
{
    if (job->input != NULL && (r->input = symbi_strdup(job->input)) == NULL)
        return false;
    if (error != NULL && (r->error_message = symbi_strdup(error)) == NULL)
        return false;
    return true;
}

static void plan_reset(struct symbi_fire_plan *plan)
{
    for (size_t i = 0; i < plan->n_runs; i++)
        symbi_run_cleanup(&plan->runs[i]);
    plan->n_runs = 0;
}

int symbi_sched_plan(void *ud, const struct symbi_job *job, int64_t now,
                     struct symbi_fire_plan *plan)
{
    struct symbi_sched_planner *p = ud;
    plan->n_runs = 0;
    plan->status = job->status;
    plan->next_run = SYMBI_TIME_NONE;
    int64_t t = job->next_run;
    if (t == SYMBI_TIME_NONE || t > now) {
        plan->next_run = t;
        return 0;
    }
    bool once_only = job->cron_expr == NULL || job->one_shot;

    /* the due instants, oldest first, bounded */
    int64_t fires[SYMBI_PLAN_MAX_RUNS];
    size_t nf = 0;
    struct symbi_err err;
    bool broken = false;
    while (t != SYMBI_TIME_NONE && t <= now && nf < SYMBI_PLAN_MAX_RUNS) {
        fires[nf++] = t;
        if (once_only) {
            t = SYMBI_TIME_NONE;
            break;
        }
        int64_t nt;
        if (p->next_fire(job, t, &nt, &err) != 0) {
            broken = true;
            t = SYMBI_TIME_NONE;
            break;
        }
        t = nt;
    }
    if (t != SYMBI_TIME_NONE && t <= now) {
        /* past the cap: the rest of the downtime gets no records */
        int64_t nt;
        if (p->next_fire(job, now, &nt, &err) != 0) {
            broken = true;
            nt = SYMBI_TIME_NONE;
        }
        t = nt;
    }
    plan->next_run = t;
    if (once_only)
        plan->status = SYMBI_JOB_COMPLETED;
    else if (broken)
        plan->status = SYMBI_JOB_FAILED;

    /* lateness is measured from the real instant, fires are collected up
     * to the claim's horizon */
    if (p->real_now != SYMBI_TIME_NONE && p->real_now != 0 && p->real_now < now)
        now = p->real_now;
    int64_t deadline = job->starting_deadline_ms;
    int64_t ceiling = symbi_sched_jitter_ceiling(&p->policy, job);
    /* the last downtime fire, which `catch_up: once` runs */
    size_t last_late = SIZE_MAX;
    for (size_t i = 0; i < nf; i++)
        if (now - fires[i] > p->policy.catch_up_after_ms &&
            !(deadline >= 0 && now - fires[i] > deadline))
            last_late = i;

    for (size_t i = 0; i < nf; i++) {
        int64_t f = fires[i], late = now - f;
        struct symbi_run *r;
        const char *why = NULL;
        if (deadline >= 0 && late > deadline) {
            r = add_run(plan, f, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE);
            why = "missed: later than its starting_deadline";
        } else if (late > p->policy.catch_up_after_ms) {
            bool run = job->catch_up == SYMBI_CATCH_UP_ALL ||
                       (job->catch_up == SYMBI_CATCH_UP_ONCE && i == last_late);
            if (run) {
                r = add_run(plan, f, SYMBI_RUN_QUEUED, SYMBI_TRIGGER_CATCH_UP);
                r->due_at = now;
            } else {
                r = add_run(plan, f, SYMBI_RUN_MISSED, SYMBI_TRIGGER_SCHEDULE);
                why = job->catch_up == SYMBI_CATCH_UP_SKIP
                          ? "missed: the scheduler was down (catch_up: skip)"
                          : "missed: the scheduler was down (catch_up: once ran a later fire)";
                if (job->catch_up == SYMBI_CATCH_UP_SKIP && job->cron_expr == NULL)
                    plan->status = SYMBI_JOB_FAILED;
            }
        } else {
            /* whether it is skipped is decided at its instant */
            r = add_run(plan, f, SYMBI_RUN_QUEUED, SYMBI_TRIGGER_SCHEDULE);
            r->jitter_ms = symbi_sched_jitter(p, ceiling);
            r->due_at = f + r->jitter_ms;
        }
        if (!set_texts(r, job, why)) {
            plan_reset(plan);
            return SYMBI_ENOMEM;
        }
    }
    return 0;
}

void symbi_sched_decide(const struct symbi_sched_policy *p, const struct symbi_job *job,
                        const struct symbi_run *run, int64_t now, struct symbi_retry_decision *d)
{
    memset(d, 0, sizeof *d);
    d->max_retries = symbi_sched_max_retries(p, job);
    d->due_at = SYMBI_TIME_NONE;
    bool job_live = symbi_store_job_fires(job->status);
    if (run->status == SYMBI_RUN_INTERRUPTED) {
        /* not the agent's fault: run it again now, attempts bounded */
        if (job_live && run->attempt <= d->max_retries) {
            d->retry = true;
            d->due_at = now;
        }
        return;
    }
    if (run->status != SYMBI_RUN_FAILED && run->status != SYMBI_RUN_TIMED_OUT)
        return;
    d->counts_as_failure = true;
    int64_t failures = job->failure_count + 1;
    if (symbi_store_retries_exhausted(failures, d->max_retries)) {
        /* the store's run_finish decides by the same rule on the row it reads */
        d->dead_letter = symbi_store_dead_letter_due(job->status, failures, d->max_retries);
        return;
    }
    if (!job_live)
        return;
    d->retry = true;
    d->due_at = now + symbi_sched_backoff_ms(p, failures);
    /* never later than the next regular fire */
    if (job->status == SYMBI_JOB_ACTIVE && job->next_run != SYMBI_TIME_NONE &&
        job->next_run < d->due_at)
        d->due_at = job->next_run > now ? job->next_run : now;
}

int symbi_sched_make_retry(const struct symbi_run *run, int64_t due_at, struct symbi_run *retry)
{
    symbi_run_init(retry);
    memcpy(retry->job_id, run->job_id, sizeof retry->job_id);
    retry->trigger = SYMBI_TRIGGER_RETRY;
    retry->scheduled_at = run->scheduled_at;
    retry->due_at = due_at;
    retry->status = SYMBI_RUN_QUEUED;
    retry->attempt = run->attempt + 1;
    retry->created_at = due_at;
    if ((run->job_name != NULL && (retry->job_name = symbi_strdup(run->job_name)) == NULL) ||
        (run->agent != NULL && (retry->agent = symbi_strdup(run->agent)) == NULL) ||
        (run->input != NULL && (retry->input = symbi_strdup(run->input)) == NULL)) {
        symbi_run_cleanup(retry);
        return SYMBI_ENOMEM;
    }
    return 0;
}

enum symbi_sched_verdict symbi_sched_on_due(const struct symbi_sched_held *h)
{
    int limit = h->max_concurrent > 0 ? h->max_concurrent : 1;
    if (h->trigger == SYMBI_TRIGGER_SCHEDULE && h->job_running >= limit)
        return SYMBI_SCHED_SKIP;
    return SYMBI_SCHED_READY;
}

enum symbi_sched_verdict symbi_sched_on_slot(const struct symbi_sched_held *h, int64_t now)
{
    if (h->trigger == SYMBI_TRIGGER_SCHEDULE && h->starting_deadline_ms >= 0 &&
        now - h->scheduled_at > h->starting_deadline_ms)
        return SYMBI_SCHED_MISS;
    int limit = h->max_concurrent > 0 ? h->max_concurrent : 1;
    return h->job_running >= limit ? SYMBI_SCHED_WAIT : SYMBI_SCHED_START;
}

enum symbi_sched_verdict symbi_sched_on_released(const struct symbi_sched_policy *p,
                                                 enum symbi_catch_up catch_up, int64_t scheduled_at,
                                                 int64_t next, int64_t now)
{
    if (now - scheduled_at <= p->catch_up_after_ms || catch_up == SYMBI_CATCH_UP_ALL)
        return SYMBI_SCHED_READY;
    if (catch_up == SYMBI_CATCH_UP_SKIP)
        return SYMBI_SCHED_MISS;
    bool later_missed = next != SYMBI_TIME_NONE && now - next > p->catch_up_after_ms;
    return later_missed ? SYMBI_SCHED_MISS : SYMBI_SCHED_READY;
}

#define CLAIM_BACKOFF_FIRST_MS 100
#define CLAIM_BACKOFF_MAX_MS   5000

int64_t symbi_sched_claim_backoff_ms(int64_t failures)
{
    if (failures <= 0)
        return 0;
    int64_t d = CLAIM_BACKOFF_FIRST_MS;
    for (int64_t i = 1; i < failures && d < CLAIM_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < CLAIM_BACKOFF_MAX_MS ? d : CLAIM_BACKOFF_MAX_MS;
}
