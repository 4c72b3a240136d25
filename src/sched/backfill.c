/* backfill.c - `symbi cron backfill`: one queued run per fire instant of a
 * past (or any) range, in order, skipping instants the ledger already has. */
#include "symbi/cron.h"
#include "symbi/json.h"
#include "symbi/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void symbi_backfill_cleanup(struct symbi_backfill *b)
{
    free(b->job_name);
    free(b->instants);
    free(b->existed);
    memset(b, 0, sizeof *b);
}

/* The job's fire instants in [from, to) into b (bounded). */
static int instants(const struct symbi_job *job, int64_t from, int64_t to, struct symbi_backfill *b,
                    struct symbi_err *err)
{
    size_t cap = 64;
    b->instants = malloc(cap * sizeof *b->instants);
    if (b->instants == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "backfill: out of memory");
    int64_t t = from - 1, next;
    for (;;) {
        int rc = symbi_cron_job_next(job, t, &next, err);
        if (rc != 0)
            return rc;
        if (next == SYMBI_TIME_NONE || next >= to)
            break;
        if (b->n == SYMBI_BACKFILL_MAX)
            return symbi_err_set(err, SYMBI_ETOOBIG,
                                 "backfill: the range holds more than %d fire instants of \"%s\"; "
                                 "split it",
                                 SYMBI_BACKFILL_MAX, job->name);
        if (b->n == cap) {
            int64_t *ni = realloc(b->instants, cap * 2 * sizeof *ni);
            if (ni == NULL)
                return symbi_err_set(err, SYMBI_ENOMEM, "backfill: out of memory");
            b->instants = ni;
            cap *= 2;
        }
        b->instants[b->n++] = next;
        t = next;
    }
    b->existed = calloc(b->n ? b->n : 1, sizeof *b->existed);
    return b->existed != NULL ? 0 : symbi_err_set(err, SYMBI_ENOMEM, "backfill: out of memory");
}

static int queue_all(struct symbi_store *st, const struct symbi_job *job, int64_t from, int64_t to,
                     int64_t now, const char *actor, struct symbi_backfill *b,
                     struct symbi_err *err)
{
    for (size_t i = 0; i < b->n; i++) {
        struct symbi_run run;
        symbi_run_init(&run);
        snprintf(run.job_id, sizeof run.job_id, "%s", job->id);
        run.trigger = SYMBI_TRIGGER_BACKFILL;
        run.status = SYMBI_RUN_QUEUED;
        run.attempt = 1;
        run.scheduled_at = b->instants[i];
        run.due_at = now + (int64_t)i; /* 1 ms apart: claimed and started in instant order */
        struct symbi_err e2 = {0};
        int rc = symbi_store_run_insert(st, &run, &e2);
        symbi_run_cleanup(&run);
        if (rc == SYMBI_EEXIST) {
            b->existed[i] = true;
            continue;
        }
        if (rc != 0) {
            *err = e2;
            return rc;
        }
        b->n_queued++;
    }
    char f[SYMBI_TIME_STRLEN], t[SYMBI_TIME_STRLEN], details[256];
    snprintf(details, sizeof details,
             "{\"from\":\"%s\",\"to\":\"%s\",\"queued\":%zu,\"skipped\":%zu}",
             symbi_time_fmt(from, f), symbi_time_fmt(to, t), b->n_queued, b->n - b->n_queued);
    struct symbi_audit_event ev;
    symbi_audit_event_init(&ev);
    ev.at = now;
    ev.type = "CronJobBackfilled";
    snprintf(ev.job_id, sizeof ev.job_id, "%s", job->id);
    ev.job_name = job->name;
    ev.actor = (char *)actor;
    ev.details = details;
    return symbi_store_audit_append(st, &ev, err);
}

int symbi_sched_backfill(struct symbi_store *st, const char *job_ref, int64_t from, int64_t to,
                         bool dry_run, int64_t now, const char *actor, struct symbi_backfill *out,
                         struct symbi_err *err)
{
    memset(out, 0, sizeof *out);
    if (from == SYMBI_TIME_NONE || to == SYMBI_TIME_NONE || to <= from)
        return symbi_err_set(err, SYMBI_EINVAL, "backfill: --to must be after --from");
    struct symbi_job job;
    int rc = symbi_store_job_get(st, job_ref, &job, err);
    if (rc != 0)
        return rc;
    if (job.cron_expr == NULL)
        rc =
            symbi_err_set(err, SYMBI_EINVAL, "backfill: job \"%s\" has no cron schedule", job.name);
    else if (job.status == SYMBI_JOB_PAUSED || job.status == SYMBI_JOB_DEAD_LETTER)
        rc = symbi_err_set(err, SYMBI_ESTATE, "backfill: job \"%s\" is %s; %s it first", job.name,
                           symbi_job_status_name(job.status),
                           job.status == SYMBI_JOB_PAUSED ? "resume" : "reset");
    snprintf(out->job_id, sizeof out->job_id, "%s", job.id);
    out->job_name = symbi_strdup(job.name);
    if (rc == 0 && out->job_name == NULL)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "backfill: out of memory");
    if (rc == 0)
        rc = instants(&job, from, to, out, err);
    if (rc == 0)
        rc = symbi_store_begin(st, err);
    if (rc == 0) {
        rc = queue_all(st, &job, from, to, now, actor, out, err);
        if (rc == 0 && !dry_run)
            rc = symbi_store_commit(st, err);
        else
            symbi_store_rollback(st);
    }
    symbi_job_cleanup(&job);
    if (rc != 0)
        symbi_backfill_cleanup(out);
    return rc;
}

json_t *symbi_backfill_to_json(const struct symbi_backfill *b, int64_t from, int64_t to,
                               bool dry_run)
{
    json_t *queued = json_array(), *skipped = json_array();
    for (size_t i = 0; i < b->n; i++)
        json_array_append_new(b->existed[i] ? skipped : queued, symbi_json_time(b->instants[i]));
    return json_pack("{s:s,s:s?,s:o,s:o,s:b,s:o,s:o}", "job_id", b->job_id, "job_name", b->job_name,
                     "from", symbi_json_time(from), "to", symbi_json_time(to), "dry_run", dry_run,
                     "queued", queued, "skipped", skipped);
}
