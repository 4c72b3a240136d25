/* approve.c - the approval workflow (SPEC §8.1): a pending_approval run
 * approved or denied by someone its job's policy allows, and the approval
 * timeout that denies a run nobody answered. Shared by the CLI and the API. */
#include "symbi/policy.h"
#include "symbi/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_ACTOR "approval-timeout"

int64_t symbi_policy_pending_since(const struct symbi_run *run)
{
    if (run->started_at != SYMBI_TIME_NONE)
        return run->started_at;
    int64_t t = run->created_at;
    if (run->due_at != SYMBI_TIME_NONE && (t == SYMBI_TIME_NONE || run->due_at > t))
        t = run->due_at;
    return t;
}

/* Denies run (pending) for its timeout; 0, or the store's error. */
static int expire(struct symbi_store *st, const struct symbi_run *run, int64_t timeout_ms,
                  int64_t now, struct symbi_err *err)
{
    char d[32], why[96];
    snprintf(why, sizeof why, "no answer within %s", symbi_duration_fmt(timeout_ms, d));
    return symbi_store_run_decide(st, run->id, false, TIMEOUT_ACTOR, why, now, NULL, err);
}

int symbi_policy_decide(struct symbi_store *st, const char *run_ref, bool approve, const char *who,
                        const char *reason, int64_t default_timeout_ms, int64_t now,
                        struct symbi_run *out, struct symbi_err *err)
{
    struct symbi_run run;
    struct symbi_job job;
    struct symbi_policy pol;
    symbi_run_init(&run);
    symbi_job_init(&job);
    symbi_policy_init(&pol);
    int rc = symbi_store_run_get(st, run_ref, &run, err);
    if (rc != 0)
        goto out;
    if (run.status != SYMBI_RUN_PENDING_APPROVAL) {
        rc = symbi_err_set(err, SYMBI_ESTATE, "run %s is %s, not pending_approval", run.id,
                           symbi_run_status_name(run.status));
        goto out;
    }
    if ((rc = symbi_store_job_get(st, run.job_id, &job, err)) != 0)
        goto out;
    if (symbi_policy_parse(job.policy, &pol, NULL, NULL) != 0)
        symbi_policy_init(&pol); /* validated when stored; unreadable: no approvers */
    if (who == NULL || who[0] == '\0') {
        rc = symbi_err_set(err, SYMBI_EINVAL, "an approver name is required");
        goto out;
    }
    if (!symbi_policy_may_approve(&pol, who)) {
        rc = symbi_err_set(err, SYMBI_EDENIED, "\"%.100s\" is not among the approvers of job %s",
                           who, job.name);
        goto out;
    }
    int64_t timeout = symbi_policy_approval_timeout(&pol, default_timeout_ms);
    if (symbi_policy_approval_expired(&pol, default_timeout_ms, symbi_policy_pending_since(&run),
                                      now)) {
        rc = expire(st, &run, timeout, now, err);
        if (rc == 0) {
            char d[32];
            rc = symbi_err_set(err, SYMBI_ESTATE,
                               "run %s waited longer than its approval timeout (%s): denied",
                               run.id, symbi_duration_fmt(timeout, d));
        }
        goto out;
    }
    rc = symbi_store_run_decide(st, run.id, approve, who, reason, now, out, err);
out:
    symbi_policy_cleanup(&pol);
    symbi_job_cleanup(&job);
    symbi_run_cleanup(&run);
    return rc;
}

int symbi_policy_expire_approvals(struct symbi_store *st, int64_t default_timeout_ms, int64_t now,
                                  size_t *n_denied, struct symbi_err *err)
{
    struct symbi_run_filter f = {.has_status = true,
                                 .status = SYMBI_RUN_PENDING_APPROVAL,
                                 .due_before = SYMBI_TIME_NONE,
                                 .oldest_first = true,
                                 .limit = 1000};
    struct symbi_run *runs = NULL;
    size_t n = 0, denied = 0;
    int rc = symbi_store_run_list(st, &f, &runs, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct symbi_job job;
        struct symbi_policy pol;
        symbi_job_init(&job);
        symbi_policy_init(&pol);
        struct symbi_err e = {0};
        if (symbi_store_job_get(st, runs[i].job_id, &job, &e) == 0 &&
            symbi_policy_parse(job.policy, &pol, NULL, NULL) != 0)
            symbi_policy_init(&pol);
        if (symbi_policy_approval_expired(&pol, default_timeout_ms,
                                          symbi_policy_pending_since(&runs[i]), now)) {
            int64_t t = symbi_policy_approval_timeout(&pol, default_timeout_ms);
            int r = expire(st, &runs[i], t, now, &e);
            if (r == 0)
                denied++;
            else if (r != SYMBI_ESTATE) /* answered meanwhile: fine */
                rc = symbi_err_set(err, r, "%s", e.msg);
        }
        symbi_policy_cleanup(&pol);
        symbi_job_cleanup(&job);
    }
    symbi_run_list_free(runs, n);
    if (n_denied != NULL)
        *n_denied = denied;
    return rc;
}
