/* h_ops.c - the operator routes (SPEC §10): POST .../{job}/backfill and
 * GET .../{job}/why, answering what `symbi cron backfill|why` print. */
#include "http/http_internal.h"
#include "symbi/sched.h"

#include <string.h>

static bool body_time(struct http_req *r, const char *key, int64_t *out)
{
    json_t *v = r->json != NULL ? json_object_get(r->json, key) : NULL;
    if (!json_is_string(v) || symbi_time_parse(json_string_value(v), out) != 0) {
        http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                         "%s: an RFC 3339 time is required", key);
        return false;
    }
    return true;
}

/* false (answered 400) when the body has a key other than from, to, dry_run */
static bool backfill_keys(struct http_req *r)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->json, key, v)
    {
        if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0 && strcmp(key, "dry_run") != 0) {
            http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                             "unknown field \"%.64s\" (the body takes from, to and dry_run)", key);
            return false;
        }
    }
    return true;
}

void http_h_schedule_backfill(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    int64_t from, to;
    if (st == NULL || !body_time(r, "from", &from) || !body_time(r, "to", &to) || !backfill_keys(r))
        return;
    json_t *dv = json_object_get(r->json, "dry_run");
    if (dv != NULL && !json_is_boolean(dv)) {
        http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", "dry_run"),
                         "dry_run: must be true or false");
        return;
    }
    bool dry = json_is_true(dv);
    struct symbi_backfill b;
    struct symbi_err err = {0};
    if (symbi_sched_backfill(st, r->params[0], from, to, dry, r->now, r->actor, &b, &err) != 0) {
        if (err.code == SYMBI_ENOTFOUND)
            http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "job", r->params[0]), "%s",
                             err.msg);
        else if (err.code == SYMBI_ETOOBIG)
            http_reply_error(r, 422, "TOO_MANY_INSTANTS", NULL, "%s", err.msg);
        else
            http_reply_err(r, &err);
        return;
    }
    if (!dry && b.n_queued > 0)
        http_wake(r);
    http_reply(r, dry ? 200 : 202, symbi_backfill_to_json(&b, from, to, dry));
    symbi_backfill_cleanup(&b);
}

void http_h_schedule_why(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    int64_t at = r->now;
    const char *q = http_query(r, "at");
    if (q != NULL && symbi_time_parse(q, &at) != 0) {
        http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", "at"),
                         "at: an RFC 3339 time is required");
        return;
    }
    struct symbi_why_facts f;
    struct symbi_err err = {0};
    if (symbi_sched_why_gather(st, r->params[0], at, r->now, 0, &f, &err) != 0) {
        if (err.code == SYMBI_ENOTFOUND)
            http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "job", r->params[0]),
                             "no job \"%s\"", r->params[0]);
        else
            http_reply_err(r, &err);
        return;
    }
    struct symbi_why w;
    symbi_sched_why(&f, &w);
    http_reply(r, 200, symbi_why_to_json(&f, &w));
    symbi_why_facts_cleanup(&f);
}
