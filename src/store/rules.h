/* rules.h - private to the store: the business rules every backend applies
 * inside its own transaction (SPEC §13: the backend stores, it does not decide).
 *
 * Every function here is pure: no I/O, no clock, no backend. A backend reads
 * the rows a change needs inside its transaction, asks these functions what
 * the change is (new field values, which runs to settle, whether a retry is
 * inserted, which audit events to write with which details), writes exactly
 * that, and commits. docs/store.md lists which operation calls which rule. */
#ifndef SYMBI_STORE_RULES_H
#define SYMBI_STORE_RULES_H

#include "symbi/store.h"

/* ---- audit events a change writes ---- */

/* The events of one change, in the order they are to be inserted. Each
 * element owns its strings (symbi_audit_event_cleanup). */
struct symbi_rules_events {
    struct symbi_audit_event *v;
    size_t n, cap;
};
void symbi_rules_events_init(struct symbi_rules_events *ev);
void symbi_rules_events_cleanup(struct symbi_rules_events *ev);

/* A JSON object text from NULL-terminated key/value string pairs (a NULL
 * value prints null; a key written "#name" has an integer value, printed as
 * a number); heap, NULL on out of memory. The one format of every audit
 * event's details. */
char *symbi_rules_json_obj(const char *key, ...);

/* CronJobCreated for a job just inserted (details: name, agent, cron_expr,
 * source, next_run). Each event builder returns 0 or SYMBI_ENOMEM. */
int symbi_rules_ev_job_created(struct symbi_rules_events *ev, const struct symbi_job *job,
                               int64_t now, const char *actor);
/* CronJobUpdated: `changed` is the comma-separated field list of
 * symbi_rules_job_rewrite. */
int symbi_rules_ev_job_updated(struct symbi_rules_events *ev, const struct symbi_job *job,
                               const char *changed, int64_t now, const char *actor);
/* CronJobDeleted for the job as it was read before the delete. */
int symbi_rules_ev_job_deleted(struct symbi_rules_events *ev, const struct symbi_job *job,
                               int64_t at, const char *actor);

/* ---- jobs ---- */

/* A job definition the store accepts: a name, exactly one of cron_expr and
 * at. SYMBI_EINVAL otherwise. */
int symbi_rules_job_check(const struct symbi_job *job, struct symbi_err *err);
/* The job's next fire after now (cron in its zone; an `at` job's instant
 * while it has not fired, even a past one: the scheduler's catch_up rule
 * decides what a late fire becomes). */
int symbi_rules_job_next(const struct symbi_job *job, int64_t now, int64_t *next,
                         struct symbi_err *err);
/* Before an insert: checks the job, fills id, created_at, updated_at and,
 * for an active job without one, next_run; appends CronJobCreated. The
 * backend inserts the row; a name in use is SYMBI_EEXIST from it. */
int symbi_rules_job_insert(struct symbi_job *job, int64_t now, const char *actor,
                           struct symbi_rules_events *ev, struct symbi_err *err);
/* A definition `def` written over the stored job `cur` (same id, read in
 * the transaction): def takes cur's id, status, counters, created_at and
 * next_run; when a definition field differs, *changed is true, updated_at
 * is now, a changed schedule recomputes next_run (and revives a completed
 * or failed job), and CronJobUpdated is appended. The backend writes def
 * over the row only when *changed. */
int symbi_rules_job_rewrite(struct symbi_job *def, const struct symbi_job *cur, int64_t now,
                            const char *actor, bool *changed, struct symbi_rules_events *ev,
                            struct symbi_err *err);

/* What a status change (pause, resume, reset, or a forced status) does to
 * the job read in the transaction. */
struct symbi_rules_state {
    bool changed;       /* write status, next_run, failure_count, updated_at */
    const char *settle; /* non-NULL: the job's queued runs become `skipped`
                           with this error_message (the job stops firing) */
};
/* Applies the change to cur (status, failure_count, next_run from now) and
 * appends its event (CronJobPaused/Resumed/Reset/DeadLettered/Updated,
 * details from, to, next_run). A change the state does not allow is
 * SYMBI_ESTATE (nothing to write); pausing a paused job is no change. */
int symbi_rules_job_change(struct symbi_job *cur, enum symbi_job_status to, bool reset, int64_t now,
                           const char *actor, struct symbi_rules_state *out,
                           struct symbi_rules_events *ev, struct symbi_err *err);
/* Why the queued runs of a job that moved to `status` are skipped; NULL
 * when the job goes on firing. */
const char *symbi_rules_settle_reason(enum symbi_job_status status);

/* ---- the claim ---- */

/* The planner failed on job with `code` (`why` its message, may be ""):
 * the job alone becomes `failed` with no next_run, its queued runs are
 * settled with symbi_rules_settle_reason(SYMBI_JOB_FAILED), and
 * CronJobFailed is appended (actor scheduler). */
int symbi_rules_ev_plan_failed(struct symbi_rules_events *ev, const struct symbi_job *job, int code,
                               const char *why, int64_t now);

/* ---- runs ---- */

/* Defaults of a run about to be inserted: a new id, created_at (now when
 * unset), scheduled_at (created_at: a manual run's instant), due_at
 * (scheduled_at). SYMBI_EINVAL without a job, SYMBI_EIO without randomness. */
int symbi_rules_run_defaults(struct symbi_run *run, int64_t now, struct symbi_err *err);
/* The manual-run ledger rule (SPEC §4.2, §5.7): (job_id, scheduled_at,
 * attempt) is unique, so a manual run that collides with another run of
 * its job in the same millisecond moves 1 ms later. After the insert of
 * run failed with SYMBI_EEXIST on try `tries` (0, 1, ...): true when the
 * run was shifted and is to be inserted again; false when the collision
 * stands (not a manual run, or SYMBI_RULES_LEDGER_SHIFTS tries spent). */
#define SYMBI_RULES_LEDGER_SHIFTS 1000
bool symbi_rules_ledger_shift(struct symbi_run *run, int tries);

/* An approval decision on the run read in the transaction: SYMBI_ESTATE
 * unless it is pending_approval; approve makes it an unowned queued run due
 * now at the latest, deny makes it `denied` (finished now, the reason in
 * error_message). approver is recorded; CronRunApproved / CronRunDenied is
 * appended. The backend writes the run and its approvals row. */
int symbi_rules_run_decide(struct symbi_run *cur, bool approve, const char *approver,
                           const char *reason, int64_t now, struct symbi_rules_events *ev,
                           struct symbi_err *err);

/* The job row a finished run changes, as read in the transaction. */
struct symbi_rules_counters {
    enum symbi_job_status status;
    int64_t run_count;
    int64_t last_run; /* SYMBI_TIME_NONE when it never ran */
    int64_t failure_count;
};
/* The outcome may land only on a run still in flight: `found` whether the
 * run's row exists, `stored` its status. SYMBI_ESTATE when recovery (or
 * anything else) already recorded a final status, other than `skipped`
 * (what a pause wrote on a run this node had already handed to a worker). */
int symbi_rules_finish_check(const char *run_id, bool found, enum symbi_run_status stored,
                             struct symbi_err *err);
/* What recording the outcome o does to its job, from the row `job` read in
 * the transaction (SPEC §5.5). */
struct symbi_rules_finish {
    struct symbi_rules_counters job; /* the values to write */
    bool dead;                       /* moved to dead_letter now: clear next_run and settle
                                        its queued runs with `settle` */
    const char *settle;
    bool insert_retry; /* insert the retry (symbi_rules_retry_row) */
    bool news;         /* the scheduler must look again (a new queued run or a dead letter) */
};
/* Decides the counters (run_count and last_run move when the run executed;
 * failure_count counts o->counts_as_failure, a success resets it), the dead
 * letter (symbi_store_dead_letter_due), whether o->retry is inserted (the
 * job still fires and did not die), and appends the events: AgentToolCalled
 * per tool call, CronJobExecuted / CronJobFailed, CronJobDeadLettered.
 * job_name names the job in the events. */
int symbi_rules_run_finish(const struct symbi_rules_counters *job, const char *job_name,
                           const struct symbi_run_outcome *o, int64_t now,
                           struct symbi_rules_finish *out, struct symbi_rules_events *ev);
/* The retry row to insert (initialises *out): a copy of `retry`, queued,
 * owned by no node (whichever node is alive when it is due starts it),
 * created now unless set. A collision with the ledger means the retry
 * exists already: the backend ignores SYMBI_EEXIST. */
int symbi_rules_retry_row(const struct symbi_run *retry, int64_t now, struct symbi_run *out);

/* Recovery (SPEC §5.6): a run left `running` by a node whose lease expired
 * becomes `interrupted`, finished now, with the reason; CronJobFailed is
 * appended. The backend writes the run. */
int symbi_rules_run_interrupted(struct symbi_run *r, int64_t now, struct symbi_rules_events *ev);

/* A clean stop gives a claimed fire back to its job (true: scheduled and
 * catch-up fires, whose instant is re-planned) or releases it unowned
 * (false: manual runs and retries, the only record of work owed). */
bool symbi_rules_fire_given_back(const struct symbi_run *r);

#endif
