/* record.c - step 7 of the run lifecycle (SPEC §1, §5.5): what a finished
 * run means for its job (the retry decision) and the one transaction that
 * records it, shared by the scheduler's recorder and `cron run --local`. */
#include "symbi/exec.h"
#include "symbi/sched.h"

#include <string.h>

int symbi_exec_record(struct symbi_store *st, const struct symbi_sched_policy *pol,
                      const struct symbi_run *run, int64_t now, struct symbi_exec_recorded *out,
                      struct symbi_err *err)
{
    memset(out, 0, sizeof *out);
    out->max_retries = pol->default_max_retries;
    out->retry_due = SYMBI_TIME_NONE;
    struct symbi_retry_decision d;
    memset(&d, 0, sizeof d);
    d.max_retries = pol->default_max_retries;
    if (run->status != SYMBI_RUN_SUCCEEDED) {
        struct symbi_job job;
        struct symbi_err jerr;
        int jrc = symbi_store_job_get(st, run->job_id, &job, &jerr);
        if (jrc == 0) {
            symbi_sched_decide(pol, &job, run, now, &d);
            symbi_job_cleanup(&job);
        } else if (jrc == SYMBI_EIO || jrc == SYMBI_EBUSY || jrc == SYMBI_ENOMEM) {
            /* the store cannot answer now: nothing written, try again */
            if (err != NULL)
                *err = jerr;
            return jrc;
        } else {
            d.counts_as_failure =
                run->status == SYMBI_RUN_FAILED || run->status == SYMBI_RUN_TIMED_OUT;
        }
    }
    struct symbi_run retry;
    bool have_retry = d.retry && symbi_sched_make_retry(run, d.due_at, &retry) == 0;
    bool dead = false;
    struct symbi_run_outcome o = {
        .run = run,
        .counts_as_failure = d.counts_as_failure,
        .max_retries = d.max_retries,
        .retry = have_retry ? &retry : NULL,
        .dead_lettered = &dead,
    };
    int rc = symbi_store_run_finish(st, &o, now, err);
    out->counts_as_failure = d.counts_as_failure;
    out->max_retries = d.max_retries;
    if (rc == 0) {
        out->dead_lettered = dead;
        out->retry_queued = have_retry;
        out->retry_due = have_retry ? retry.due_at : SYMBI_TIME_NONE;
    }
    if (have_retry)
        symbi_run_cleanup(&retry);
    return rc;
}
