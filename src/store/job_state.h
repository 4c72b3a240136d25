/* job_state.h - private to the store: the pure rules of a job's definition
 * and state that every backend applies the same way (job_state.c). */
#ifndef SYMBI_STORE_JOB_STATE_H
#define SYMBI_STORE_JOB_STATE_H

#include "symbi/model.h"

/* The job's next fire after now (cron in its zone; an `at` job's instant
 * when it has not fired). */
int st_job_next(const struct symbi_job *job, int64_t now, int64_t *next, struct symbi_err *err);
/* A job needs a name and exactly one of cron_expr and at (SYMBI_EINVAL). */
int st_job_check(const struct symbi_job *job, struct symbi_err *err);
/* Whether the schedule (cron, at, zone, DST options) differs. */
bool st_job_schedule_changed(const struct symbi_job *a, const struct symbi_job *b);
/* The names of the definition fields that differ, comma-separated, into b
 * (empty when the definitions are the same); SYMBI_ENOMEM. */
int st_job_diff(const struct symbi_job *a, const struct symbi_job *o, struct symbi_buf *b);
/* Applies pause/resume (to) or reset to the loaded job cur: *type the
 * audit event, *changed false for a no-op (pausing a paused job);
 * SYMBI_ESTATE for a transition that makes no sense. */
int st_job_transition(struct symbi_job *cur, enum symbi_job_status to, bool reset, int64_t now,
                      const char **type, bool *changed, struct symbi_err *err);
/* Why the waiting runs of a job that moved to `status` are skipped; NULL
 * when the job goes on firing. */
const char *st_settle_reason(enum symbi_job_status status);

/* A JSON object text from NULL-terminated key/value string pairs (a NULL
 * value prints null; a key written "#name" has an integer value, printed
 * as a number); heap, NULL on out of memory (sq_rows.c). */
char *sq_json_obj(const char *key, ...);

#endif
