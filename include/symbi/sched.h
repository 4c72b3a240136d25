/* sched.h - the CronScheduler (SPEC §1, §5): the pure decisions (what a due
 * fire records, jitter, catch-up, starting deadline, per-job limit, retries
 * and backoff) and the tick loop that claims fires from the store and runs
 * them on a worker pool under the global limit. */
#ifndef SYMBI_SCHED_H
#define SYMBI_SCHED_H

#include "symbi/exec.h"
#include "symbi/store.h"

/* ---- the decisions (pure: no I/O, `now` passed in) -------------------- */

/* The knobs of the decisions. */
struct symbi_sched_policy {
    int64_t max_jitter_ms;        /* global jitter ceiling (a job's own wins) */
    int default_max_retries;      /* a job's max_retries when -1 (3) */
    int64_t retry_backoff_ms;     /* first retry delay (30 s), doubling */
    int64_t retry_backoff_max_ms; /* cap of the delay (1 h) */
    int64_t catch_up_after_ms;    /* a fire later than this when claimed is a
                                     missed fire (downtime), under catch_up */
};
void symbi_sched_policy_init(struct symbi_sched_policy *p);

/* The next fire of a job strictly after `after` (symbi_cron_job_next). */
typedef int (*symbi_sched_next_fn)(const struct symbi_job *job, int64_t after, int64_t *next,
                                   struct symbi_err *err);

/* The planner passed to symbi_store_claim_due (its `ud`). */
struct symbi_sched_planner {
    struct symbi_sched_policy policy;
    symbi_sched_next_fn next_fire;
    uint64_t rng; /* jitter random state (any non-zero seed) */
    /* the real instant of the claim when the claim looks ahead (`now` of
     * the planner is then its horizon); SYMBI_TIME_NONE: `now` itself.
     * Lateness (catch-up, starting deadline) is measured from it. */
    int64_t real_now;
};

/* A symbi_fire_planner: decides what the due fires of `job` record (SPEC
 * §5.2-5.4): every instant in [job->next_run, now] gets one run (at most
 * SYMBI_PLAN_MAX_RUNS per claim; instants past the cap get none): fires
 * later than the starting deadline are `missed`; fires later than
 * catch_up_after_ms follow catch_up (skip: `missed`; once: the last one
 * runs as `catch_up`, the others `missed`; all: each runs as `catch_up`);
 * on-time fires are `queued` with a uniform jitter in [0, ceiling] added to
 * due_at. The per-job limit is not decided here but at the fire's instant
 * (symbi_sched_on_due). Sets next_run to the first instant after now, and status COMPLETED after
 * an `at` or one_shot fire (FAILED for an `at` missed under skip or a
 * schedule that cannot be computed). Strings of planned runs are heap. */
int symbi_sched_plan(void *planner, const struct symbi_job *job, int64_t now,
                     struct symbi_fire_plan *plan);

/* A uniform integer in [0, ceiling_ms] from the planner's random state. */
int64_t symbi_sched_jitter(struct symbi_sched_planner *p, int64_t ceiling_ms);

/* The job's effective limits. */
int symbi_sched_max_retries(const struct symbi_sched_policy *p, const struct symbi_job *job);
int64_t symbi_sched_jitter_ceiling(const struct symbi_sched_policy *p, const struct symbi_job *job);

/* The retry delay after the `failures`-th consecutive failure (>= 1):
 * retry_backoff * 2^(failures-1), capped at retry_backoff_max_ms. */
int64_t symbi_sched_backoff_ms(const struct symbi_sched_policy *p, int64_t failures);

/* What a finished run means for its job (SPEC §5.5). */
struct symbi_retry_decision {
    bool counts_as_failure; /* failed or timed_out */
    int max_retries;        /* the effective limit */
    bool dead_letter;       /* failure_count reaches max_retries */
    bool retry;             /* a retry run is to be queued */
    int64_t due_at;         /* when it may start */
};
/* run holds the final status; job its state before the outcome is
 * recorded (failure_count not yet incremented, next_run the next regular
 * fire). An interrupted run is retried at once without counting as a
 * failure while attempts remain (attempt <= max_retries). */
void symbi_sched_decide(const struct symbi_sched_policy *p, const struct symbi_job *job,
                        const struct symbi_run *run, int64_t now, struct symbi_retry_decision *d);

/* Fills *retry (initialised by the call) as the queued retry of run:
 * same job and scheduled_at, attempt + 1, trigger retry, due at due_at. */
int symbi_sched_make_retry(const struct symbi_run *run, int64_t due_at, struct symbi_run *retry);

/* What a claimed run that the loop holds does next (SPEC §5.2, §5.3). */
enum symbi_sched_verdict {
    SYMBI_SCHED_READY = 0, /* wait for a global slot (the ready queue) */
    SYMBI_SCHED_START,     /* start now */
    SYMBI_SCHED_WAIT,      /* its job is at max_concurrent: wait, do not block others */
    SYMBI_SCHED_SKIP,      /* record `skipped` */
    SYMBI_SCHED_MISS,      /* record `missed` */
};
/* A held run as the decisions see it. */
struct symbi_sched_held {
    enum symbi_trigger trigger;
    int64_t scheduled_at;
    int64_t starting_deadline_ms; /* -1: none */
    int max_concurrent;           /* <= 0 counts as 1 */
    int job_running;              /* runs of its job executing now */
};
/* At the fire's instant (due_at, after jitter): a scheduled fire is SKIP
 * when max_concurrent runs of its job are running at that instant; any
 * other run (and a fire that is not skipped) is READY. The caller counts
 * `job_running` at the instant, after taking the runs that finished. */
enum symbi_sched_verdict symbi_sched_on_due(const struct symbi_sched_held *h);
/* When a global slot is free for the run at `now`: a scheduled fire
 * later than its starting_deadline is MISS; a run whose job is at
 * max_concurrent is WAIT (manual, retry and catch-up runs wait for the
 * job's slot; so does a fire that was not skipped at its instant); else
 * START. */
enum symbi_sched_verdict symbi_sched_on_slot(const struct symbi_sched_held *h, int64_t now);

/* A scheduled fire taken from the pool (recovery gave it back when its
 * node died or lost its lease before starting it) at `now`: later than
 * catch_up_after_ms it is a missed fire of that downtime and follows the
 * job's catch_up (SPEC §5.4): skip: MISS; all: READY; once: MISS when the
 * job's next instant after it (`next`, SYMBI_TIME_NONE: none) is a missed
 * fire too, as the claim's catch-up run covers the downtime then, else
 * READY (it is the downtime's one run). On time: READY. */
enum symbi_sched_verdict symbi_sched_on_released(const struct symbi_sched_policy *p,
                                                 enum symbi_catch_up catch_up, int64_t scheduled_at,
                                                 int64_t next, int64_t now);

/* The claim's back-off after `failures` consecutive failed claims (>= 1):
 * 100 ms doubling, capped at 5 s; 0 for none. */
int64_t symbi_sched_claim_backoff_ms(int64_t failures);

/* ---- the loop ---------------------------------------------------------- */

struct symbi_agent_request;
struct symbi_agent_result;
/* Executes one run and fills *res (the run pipeline). Returns 0, or a
 * negative code with err filled (the run then fails with that message).
 * NULL in the configuration: symbi_agent_execute. Tests pass a fake. */
typedef int (*symbi_sched_runner_fn)(void *ud, const struct symbi_agent_request *req,
                                     struct symbi_agent_result *res, struct symbi_err *err);

struct symbi_sched_config {
    const char *store_url;   /* every thread that needs it opens its own handle */
    const char *node;        /* this scheduler's node name (lease owner) */
    const char *environment; /* SYMBI_ENVIRONMENT for agents */
    const char *data_dir;    /* for context files; NULL: none */
    struct symbi_sched_policy policy;
    symbi_sched_next_fn next_fire;
    int64_t tick_interval_ms;        /* upper bound of a sleep (1000) */
    int max_concurrent_jobs;         /* global limit (10) */
    int64_t shutdown_timeout_ms;     /* graceful wait before killing (30000) */
    int64_t lease_ms;                /* node lease (15000) */
    int64_t max_held;                /* fires claimed and not started held at once
                                        (0: max(10,000, 16 x max_concurrent_jobs)) */
    int64_t max_output_bytes;        /* per run (1 MiB) */
    int64_t kill_grace_ms;           /* SIGTERM -> SIGKILL at max_runtime (5000) */
    int64_t approval_timeout_ms;     /* pending_approval runs unanswered this long are
                                        denied (a policy's approval_timeout wins; 1 h) */
    const struct symbi_clock *clock; /* NULL: symbi_clock_system (borrowed) */
    symbi_sched_runner_fn runner;    /* NULL: symbi_agent_execute */
    void *runner_ud;
    struct symbi_retention retention; /* the pruner's bounds (all 0: no pruner) */
    int64_t prune_interval_ms;        /* between pruner passes (10 min) */
    /* what the workers run each run with (symbi_exec_run); its strings,
     * output bound, kill grace, clock and runner are the fields above */
    struct symbi_exec_config exec;
};
void symbi_sched_config_init(struct symbi_sched_config *c);

struct symbi_sched;

/* Creates a scheduler (copies cfg). Nothing runs until _start. */
int symbi_sched_new(const struct symbi_sched_config *cfg, struct symbi_sched **out,
                    struct symbi_err *err);
/* Opens the store, registers the node, recovers runs of expired leases
 * (marked interrupted, retries queued), then starts the loop thread and
 * the worker pool. */
int symbi_sched_start(struct symbi_sched *s, struct symbi_err *err);
/* Wakes the loop now (after an API change or a manual-run request). Safe
 * from any thread and from a signal-free context. */
void symbi_sched_wake(struct symbi_sched *s);
/* Applies a reload (SIGHUP): tick interval, global limit, jitter, retries,
 * shutdown and approval timeouts, output bound, kill grace, and the
 * executor's hooks (policy gate, delivery router), llm_endpoint and context
 * bound (its strings are copied). Runs already started keep what they
 * started with. Store, node, environment and data dir stay. Safe from any
 * thread. */
void symbi_sched_reconfigure(struct symbi_sched *s, const struct symbi_sched_config *cfg);
/* Graceful stop (SPEC §5.6): stop claiming, give the fires it claimed and
 * did not start back to their jobs (one transaction; retries and manual runs
 * are released unowned), wait up to shutdown_timeout_ms for in-flight runs,
 * then terminate the rest and record them interrupted, wait (at most
 * shutdown_timeout_ms more) until every outcome is written, logging each
 * one that could not be, remove the node. Returns once everything stopped. */
void symbi_sched_stop(struct symbi_sched *s);
void symbi_sched_free(struct symbi_sched *s); /* stops first if running */

/* For health (SPEC §9.1) and metrics. */
struct symbi_sched_stats {
    int64_t in_flight;  /* runs executing now */
    int64_t queued;     /* claimed runs waiting for a slot or their jitter */
    int64_t runs_total; /* finished since start */
    int64_t runs_succeeded;
    int64_t runs_failed; /* failed + timed_out */
    int64_t avg_execution_ms;
    int64_t last_lag_ms; /* start - due of the latest started run */
    int64_t uptime_ms;
    int64_t ticks;
    bool running; /* the loop is alive and claiming */
    /* the store's writes: false while claims fail or outcomes wait to be
     * written (health is then `unhealthy`, SPEC §9.1) */
    bool store_writable;
    int64_t store_failures;      /* failed writes since the store last wrote */
    int64_t store_failing_since; /* wall ms of the first of them; NONE when writable */
    int64_t unwritten;           /* records waiting for the store */
    char store_error[256];       /* the latest failure's message */
    /* several nodes (SPEC §13): the lease epoch held, how often the lease
     * was found lost, runs of dead nodes recovered by this node */
    int64_t lease_epoch;
    int64_t lease_losses;
    int64_t runs_recovered;
    int64_t notifications; /* wake-ups by another process's change */
};
void symbi_sched_get_stats(struct symbi_sched *s, struct symbi_sched_stats *out);
const char *symbi_sched_node(const struct symbi_sched *s);

/* ---- operator tools (SPEC §10): backfill ----
 * Queues one run per fire instant of the job in [from, to) (UTC ms), in
 * order, trigger `backfill`, unowned and due from `now` in instant order,
 * so the live scheduler picks them up within its limits (the job's
 * max_concurrent holds later ones back). An instant that already has a
 * ledger record is reported and skipped. All in one transaction, with a
 * CronJobBackfilled audit event; dry_run writes nothing. At most
 * SYMBI_BACKFILL_MAX instants (SYMBI_ETOOBIG beyond, writing nothing);
 * SYMBI_EINVAL for a job without cron, SYMBI_ESTATE for a paused or
 * dead-lettered job. out is filled by the call (free with _cleanup). */
#define SYMBI_BACKFILL_MAX 10000
struct symbi_backfill {
    char job_id[SYMBI_UUID_LEN + 1];
    char *job_name;
    int64_t *instants; /* every instant in the range, in order */
    bool *existed;     /* [i]: already in the ledger, skipped */
    size_t n;
    size_t n_queued;
};
int symbi_sched_backfill(struct symbi_store *st, const char *job_ref, int64_t from, int64_t to,
                         bool dry_run, int64_t now, const char *actor, struct symbi_backfill *out,
                         struct symbi_err *err);
void symbi_backfill_cleanup(struct symbi_backfill *b);
/* {"job_id","job_name","from","to","dry_run","queued":[instants],"skipped":[instants]}
 * (the CLI's --format json and the API's answer). New reference. */
typedef struct json_t json_t;
json_t *symbi_backfill_to_json(const struct symbi_backfill *b, int64_t from, int64_t to,
                               bool dry_run);

/* ---- operator tools: why (SPEC §10 `cron why`) ----
 * What the store says about a job around instant `at`: gathered by
 * symbi_sched_why_gather, explained by symbi_sched_why (pure). */
struct symbi_why_facts {
    struct symbi_job job;
    struct symbi_run *runs; /* the job's runs due up to at + 1 h, newest first (<= 50) */
    size_t n_runs;
    struct symbi_run *open; /* its queued, pending and running runs now */
    size_t n_open;
    struct symbi_audit_event *events; /* its events up to at + 1 h, newest first (<= 50) */
    size_t n_events;
    bool agent_known;                    /* an agent of that name is stored */
    bool scheduler_live;                 /* some scheduler node holds a live lease */
    int64_t running_total, queued_total; /* all jobs' runs running / queued and due now */
    int max_concurrent_jobs;             /* the global limit (0: not known) */
    int64_t at, now;
};
/* Reads the facts (job by id, prefix or name). Free with _cleanup. */
int symbi_sched_why_gather(struct symbi_store *st, const char *job_ref, int64_t at, int64_t now,
                           int max_concurrent_jobs, struct symbi_why_facts *f,
                           struct symbi_err *err);
void symbi_why_facts_cleanup(struct symbi_why_facts *f);

#define SYMBI_WHY_MAX 12
struct symbi_why_cause {
    const char *code; /* paused, dead_letter, completed, failed, no_scheduler, unknown_agent,
                         pending_approval, running, jitter, queued, retry, global_queue,
                         concurrency, missed, catch_up, policy, policy_hours,
                         policy_environment, policy_capabilities, agentpin,
                         approval_denied, run_failed, ran, not_due */
    char message[640];
    char run_id[SYMBI_UUID_LEN + 1]; /* the run record that shows it ("" none) */
    int64_t event_id;                /* the audit event that shows it (0 none) */
};
struct symbi_why {
    struct symbi_why_cause causes[SYMBI_WHY_MAX];
    size_t n;
    struct symbi_why_cause spare; /* written past the last, never shown */
    int64_t next_run;             /* the next fire (SYMBI_TIME_NONE: none) */
    char description[2048];
};
void symbi_sched_why(const struct symbi_why_facts *f, struct symbi_why *w);
/* {"job":{id,name,status,agent,timezone},"at","description","causes":[{"cause",
 * "message","run":{...}|null,"event":{...}|null}],"next_run":{"utc","local",
 * "timezone"}|null}. New reference. */
json_t *symbi_why_to_json(const struct symbi_why_facts *f, const struct symbi_why *w);

#endif
