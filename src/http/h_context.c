/* h_context.c - GET and DELETE /api/v1/schedule/{job}/context: a job's
 * session context (SPEC §6.3) as `symbi cron context` shows it, and its
 * clearing (the live history moves to the archive, nothing is deleted). */
#include "http/http_internal.h"

#include "symbi/exec.h"

void http_h_schedule_context_get(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_err err = {0};
    json_t *o = symbi_exec_context_describe(st, &job, &err);
    if (o == NULL)
        http_reply_err(r, &err);
    else
        http_reply(r, 200, o);
    symbi_job_cleanup(&job);
}

void http_h_schedule_context_clear(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_err err = {0};
    int64_t live = 0, archived = 0;
    if (symbi_store_context_count(st, job.id, &live, &archived, &err) != 0 ||
        symbi_exec_context_clear(st, &job, r->now, &err) != 0)
        http_reply_err(r, &err);
    else
        http_reply(r, 200,
                   json_pack("{s:s,s:s,s:b,s:I}", "job_id", job.id, "job_name", job.name, "cleared",
                             1, "archived", (json_int_t)live));
    symbi_job_cleanup(&job);
}
