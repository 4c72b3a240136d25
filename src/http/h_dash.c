/* h_dash.c - the API routes the dashboard reads (SPEC §16, any client may):
 * runs across jobs (pending approvals), a digest of recent activity (the
 * jobs' last runs as letters, runs per minute), the change sequence it
 * polls, and a job's next fire instants in UTC and its zone with DST marks. */
#include "http/http_internal.h"
#include "symbi/cron.h"
#include "symbi/json.h"

#include <string.h>
#include <time.h>

void http_h_runs_list(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    struct symbi_run_filter f = {.due_before = SYMBI_TIME_NONE};
    const char *status = http_query(r, "status");
    if (status != NULL && *status != '\0') {
        if (symbi_run_status_parse(status, &f.status) != 0) {
            http_reply_error(r, 400, "INVALID_QUERY", json_pack("{s:s}", "field", "status"),
                             "unknown run status \"%.64s\"", status);
            return;
        }
        f.has_status = true;
    }
    if (!http_query_int(r, "limit", 1, HTTP_MAX_LIST, 50, &f.limit) ||
        !http_query_int(r, "offset", 0, INT32_MAX, 0, &f.offset))
        return;
    struct symbi_job job;
    const char *ref = http_query(r, "job");
    bool have_job = ref != NULL && *ref != '\0';
    if (have_job) {
        struct symbi_err jerr = {0};
        symbi_job_init(&job);
        if (strlen(ref) > HTTP_MAX_SEGMENT || symbi_store_job_get(st, ref, &job, &jerr) != 0) {
            symbi_job_cleanup(&job);
            http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "job", ref),
                             "no job \"%.100s\"", ref);
            return;
        }
        f.job_id = job.id;
    }
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_run_list(st, &f, &runs, &n, &err) != 0) {
        http_reply_err(r, &err);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_t *j = symbi_run_to_json(&runs[i]);
            if (j == NULL || json_array_append_new(arr, j) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        symbi_run_list_free(runs, n);
        http_reply(r, 200, arr);
    }
    if (have_job)
        symbi_job_cleanup(&job);
}

/* One letter per run status, in enum order (docs/ui.md). */
static const char status_letters[] = "QARSFTDKMI";

void http_h_activity(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    int64_t per_job = 50, minutes = 60;
    if (st == NULL || !http_query_int(r, "runs", 1, SYMBI_ACTIVITY_MAX_PER_JOB, 50, &per_job) ||
        !http_query_int(r, "minutes", 1, 1440, 60, &minutes))
        return;
    int64_t first = (r->now / 60000 - minutes + 1) * 60000;
    struct symbi_run_activity a;
    struct symbi_err err = {0};
    if (symbi_store_run_activity(st, (int)per_job, first, &a, &err) != 0) {
        http_reply_err(r, &err);
        return;
    }
    json_t *recent = json_object(), *per_minute = json_array();
    char letters[SYMBI_ACTIVITY_MAX_PER_JOB + 1];
    for (size_t i = 0; recent != NULL && i < a.n_runs;) {
        size_t k = 0;
        const char *job = a.runs[i].job_id;
        for (; i < a.n_runs && strcmp(a.runs[i].job_id, job) == 0; i++)
            if (k < sizeof letters - 1 && (size_t)a.runs[i].status < sizeof status_letters - 1)
                letters[k++] = status_letters[a.runs[i].status];
        letters[k] = '\0';
        json_object_set_new(recent, job, json_string(letters));
    }
    size_t m = 0;
    for (int64_t t = first; per_minute != NULL && t <= r->now; t += 60000) {
        int64_t ok = 0, bad = 0, other = 0;
        while (m < a.n_minutes && a.minutes[m].minute < t)
            m++;
        if (m < a.n_minutes && a.minutes[m].minute == t) {
            ok = a.minutes[m].succeeded;
            bad = a.minutes[m].failed;
            other = a.minutes[m].other;
        }
        json_array_append_new(per_minute,
                              json_pack("{s:o,s:I,s:I,s:I}", "minute", symbi_json_time(t),
                                        "succeeded", (json_int_t)ok, "failed", (json_int_t)bad,
                                        "other", (json_int_t)other));
    }
    symbi_run_activity_cleanup(&a);
    if (recent == NULL || per_minute == NULL) {
        json_decref(recent);
        json_decref(per_minute);
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
        return;
    }
    http_reply(r, 200,
               json_pack("{s:o,s:I,s:o,s:o}", "generated_at", symbi_json_time(r->now), "change_seq",
                         (json_int_t)http_change_seq(r, false), "recent", recent, "per_minute",
                         per_minute));
}

void http_h_changes(struct http_req *r)
{
    http_reply(r, 200,
               json_pack("{s:I,s:o}", "change_seq", (json_int_t)http_change_seq(r, true), "at",
                         symbi_json_time(r->now)));
}

/* t (UTC ms) as local time at offset off_s: "2027-03-28T03:00:00+02:00". */
static void fmt_local(int64_t t, int off_s, char *out, size_t cap)
{
    time_t secs = (time_t)(t / 1000 + off_s);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    int a = off_s < 0 ? -off_s : off_s;
    snprintf(out, cap, "%s%c%02d:%02d", date, off_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

static json_t *fire_json(const struct symbi_zone *z, int64_t t, int prev_off)
{
    int off = symbi_zone_offset(z, t);
    char local[48];
    fmt_local(t, off, local, sizeof local);
    /* a fire within an hour of a change is where a gap shifts it or an
     * overlap repeats its hour */
    bool near = symbi_zone_offset(z, t - 3600 * 1000) != off ||
                symbi_zone_offset(z, t + 3600 * 1000) != off;
    const char *change = off == prev_off ? NULL : off > prev_off ? "forward" : "back";
    return json_pack("{s:o,s:s,s:i,s:o,s:b}", "at", symbi_json_time(t), "local", local,
                     "utc_offset_seconds", off, "dst_change",
                     change != NULL ? json_string(change) : json_null(), "near_dst_change", near);
}

void http_h_schedule_fires(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    int64_t count = 10;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    const struct symbi_zone *z = NULL;
    struct symbi_err err = {0};
    json_t *fires = json_array(), *notes = json_array();
    if (!http_query_int(r, "count", 1, HTTP_MAX_NEXT_COUNT, 10, &count)) {
        goto out;
    } else if (fires == NULL || notes == NULL) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
        goto out;
    } else if (symbi_zone_get(job.timezone, &z, &err) != 0) {
        http_reply_err(r, &err);
        goto out;
    }
    int prev = symbi_zone_offset(z, r->now);
    int64_t t = r->now;
    for (int64_t i = 0; i < count; i++) {
        int64_t next = SYMBI_TIME_NONE;
        if (symbi_cron_job_next(&job, t, &next, &err) != 0) {
            http_reply_err(r, &err);
            goto out;
        }
        if (next == SYMBI_TIME_NONE)
            break;
        json_array_append_new(fires, fire_json(z, next, prev));
        prev = symbi_zone_offset(z, next);
        t = next;
    }
    if (job.cron_expr != NULL) {
        struct symbi_cron_opts opts = {
            .gap = job.dst_gap, .overlap = job.dst_overlap, .every_anchor_ms = SYMBI_TIME_NONE};
        struct symbi_cron_desc d;
        if (symbi_cron_describe(job.cron_expr, job.timezone, &opts, r->now, &d, &err) == 0)
            for (size_t i = 0; i < d.n_notes; i++)
                json_array_append_new(notes, json_string(d.notes[i]));
    }
    char desc[sizeof((struct symbi_cron_desc *)0)->text];
    symbi_cron_job_describe(&job, desc, sizeof desc);
    http_reply(r, 200,
               json_pack("{s:s,s:s,s:s,s:s,s:O,s:O}", "id", job.id, "name", job.name, "timezone",
                         symbi_zone_name(z), "description", desc, "fires", fires, "dst_notes",
                         notes));
out:
    json_decref(fires);
    json_decref(notes);
    symbi_job_cleanup(&job);
}
