/* json.c - the JSON shapes of jobs, runs, agents and audit events (SPEC
 * §9.1), and the one place that reads job fields from JSON, so the CLI, the
 * API and `dsl check` agree on names, aliases and types. */
#include "symbi/json.h"
#include "symbi/cron.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT_FIELD  (1024 * 1024) /* input */
#define MAX_SHORT_FIELD 8192          /* names, urls, jwt */
#define MASK_TEXT       "***"         /* what answers show for a secret */

json_t *symbi_json_time(int64_t ms)
{
    if (ms == SYMBI_TIME_NONE)
        return json_null();
    char buf[SYMBI_TIME_STRLEN];
    return json_string(symbi_time_fmt(ms, buf));
}

/* A JSON string of s; bytes that are not UTF-8 (agent output may hold
 * anything) become U+FFFD so the document stays valid. */
json_t *symbi_json_text(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (v != NULL)
        return v;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    /* json_stringn also fails when out of memory: a failed append must not
     * drop bytes silently (the torture test found "exampl.com") */
    for (size_t i = 0; i < len && rc == 0;) {
        size_t n = symbi_utf8_seq(p + i, len - i);
        if (n == 0) {
            rc = symbi_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        } else {
            rc = symbi_buf_append(&b, p + i, n);
            i += n;
        }
    }
    v = rc == 0 ? json_stringn(symbi_buf_str(&b), b.len) : NULL;
    symbi_buf_cleanup(&b);
    return v;
}

static json_t *str_or_null(const char *s)
{
    return s == NULL ? json_null() : symbi_json_text(s, strlen(s));
}

json_t *symbi_json_parse_field(const char *text)
{
    if (text == NULL || *text == '\0')
        return NULL;
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

char *symbi_json_dump_compact(const json_t *v)
{
    if (v == NULL)
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* A stored JSON field as a value; `empty` (array/object/null) when unset.
 * Stored fields are JSON symbi wrote, so one that does not load ran out of
 * memory (jansson does not always say so): NULL, never shown as unset (the
 * torture test found `delivery: []` for a job with deliveries). */
static json_t *field_or(const char *text, json_t *empty)
{
    if (text == NULL || *text == '\0')
        return empty;
    json_t *v = symbi_json_parse_field(text);
    json_decref(empty);
    return v;
}

static json_t *duration_or_null(int64_t ms)
{
    if (ms < 0)
        return json_null();
    char buf[32];
    return json_string(symbi_duration_fmt(ms, buf));
}

static json_t *url_field(const char *url, bool mask)
{
    if (url == NULL || !mask)
        return str_or_null(url);
    char *m = symbi_url_mask(url);
    json_t *v = m != NULL ? str_or_null(m) : NULL; /* out of memory: the answer fails */
    free(m);
    return v;
}

/* Sets o[key] to v (a new reference, stolen): a NULL v or a failed set
 * (out of memory) marks *bad, so the caller returns NULL rather than an
 * object silently missing a field (the torture test found that). */
static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *bad = true;
}

json_t *symbi_job_to_json(const struct symbi_job *job, bool mask_secrets)
{
    json_t *o = json_object();
    bool bad = false;
    if (o == NULL)
        return NULL;
    put(o, "id", json_string(job->id), &bad);
    put(o, "name", str_or_null(job->name), &bad);
    put(o, "agent_id", str_or_null(job->agent), &bad);
    put(o, "cron_expr", str_or_null(job->cron_expr), &bad);
    put(o, "at", symbi_json_time(job->at), &bad);
    put(o, "timezone", json_string(job->timezone ? job->timezone : "UTC"), &bad);
    char desc[sizeof((struct symbi_cron_desc *)0)->text];
    symbi_cron_job_describe(job, desc, sizeof desc);
    put(o, "description", json_string(desc), &bad);
    put(o, "status", json_string(symbi_job_status_name(job->status)), &bad);
    put(o, "session_mode", json_string(symbi_session_mode_name(job->session_mode)), &bad);
    put(o, "delivery", field_or(job->delivery, json_array()), &bad);
    put(o, "webhook_url", url_field(job->webhook_url, mask_secrets), &bad);
    json_t *headers = field_or(job->webhook_headers, json_object());
    if (mask_secrets && json_is_object(headers)) {
        const char *k;
        json_t *v;
        json_object_foreach(headers, k, v)
        {
            if (json_object_set_new(headers, k, json_string(MASK_TEXT)) != 0)
                bad = true; /* never the secret itself */
        }
    }
    put(o, "webhook_headers", headers, &bad);
    put(o, "slack_channel", str_or_null(job->slack_channel), &bad);
    put(o, "slack_webhook_url", url_field(job->slack_webhook_url, mask_secrets), &bad);
    put(o, "email_recipients", field_or(job->email_recipients, json_array()), &bad);
    put(o, "log_file", str_or_null(job->log_file), &bad);
    put(o, "policy", field_or(job->policy, json_null()), &bad);
    if (job->heartbeat.set)
        put(o, "heartbeat",
            json_pack("{s:b, s:s, s:i}", "enabled", job->heartbeat.enabled, "context_mode",
                      symbi_session_mode_name(job->heartbeat.context_mode), "max_iterations",
                      job->heartbeat.max_iterations),
            &bad);
    else
        put(o, "heartbeat", json_null(), &bad);
    put(o, "max_concurrent", json_integer(job->max_concurrent), &bad);
    put(o, "max_retries", job->max_retries < 0 ? json_null() : json_integer(job->max_retries),
        &bad);
    put(o, "jitter", duration_or_null(job->jitter_ms), &bad);
    put(o, "catch_up", json_string(symbi_catch_up_name(job->catch_up)), &bad);
    put(o, "starting_deadline", duration_or_null(job->starting_deadline_ms), &bad);
    put(o, "dst_gap", json_string(symbi_dst_gap_name(job->dst_gap)), &bad);
    put(o, "dst_overlap", json_string(symbi_dst_overlap_name(job->dst_overlap)), &bad);
    put(o, "input", str_or_null(job->input), &bad);
    if (job->agent_pin_jwt != NULL)
        put(o, "agent_pin_jwt", json_string(mask_secrets ? MASK_TEXT : job->agent_pin_jwt), &bad);
    else
        put(o, "agent_pin_jwt", json_null(), &bad);
    put(o, "one_shot", json_boolean(job->one_shot), &bad);
    put(o, "deliver", str_or_null(job->deliver), &bad);
    put(o, "audit", str_or_null(job->audit), &bad);
    put(o, "source", str_or_null(job->source), &bad);
    put(o, "created_at", symbi_json_time(job->created_at), &bad);
    put(o, "updated_at", symbi_json_time(job->updated_at), &bad);
    put(o, "last_run", symbi_json_time(job->last_run), &bad);
    put(o, "next_run", symbi_json_time(job->next_run), &bad);
    put(o, "run_count", json_integer(job->run_count), &bad);
    put(o, "failure_count", json_integer(job->failure_count), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- reading job fields ---- */

enum field_kind {
    F_STRING,      /* string (null clears unless required) */
    F_AGENT,       /* string, required non-empty */
    F_CRON,        /* string or null; clears `at` */
    F_AT,          /* RFC 3339 string or null; clears cron */
    F_STR_ARRAY,   /* array of strings -> JSON text */
    F_STR_MAP,     /* object of string values -> JSON text */
    F_OBJECT,      /* object or null -> JSON text */
    F_SESSION,     /* session mode string */
    F_CATCH_UP,    /* catch_up string */
    F_DST_GAP,     /* dst_gap string */
    F_DST_OVERLAP, /* dst_overlap string */
    F_DURATION,    /* "30s" or a number of seconds, null = unset */
    F_INT,         /* integer in [lo, hi] */
    F_INT_OR_NULL, /* integer in [lo, hi], null = default (-1) */
    F_BOOL,
    F_HEARTBEAT, /* object {enabled, context_mode, max_iterations} or null */
};

struct job_field {
    const char *name;
    enum field_kind kind;
    size_t offset; /* into struct symbi_job */
    int64_t lo, hi;
    size_t max_len;
    bool secret; /* answers mask it: a masked value sent back keeps the stored one */
};

#define OFF(f) offsetof(struct symbi_job, f)
static const struct job_field job_fields[] = {
    {"name", F_STRING, OFF(name), 0, 0, 256, false},
    {"agent_id", F_AGENT, OFF(agent), 0, 0, 256, false},
    {"agent", F_AGENT, OFF(agent), 0, 0, 256, false},
    {"agent_name", F_AGENT, OFF(agent), 0, 0, 256, false},
    {"cron_expr", F_CRON, OFF(cron_expr), 0, 0, 256, false},
    {"cron", F_CRON, OFF(cron_expr), 0, 0, 256, false},
    {"cron_expression", F_CRON, OFF(cron_expr), 0, 0, 256, false},
    {"at", F_AT, OFF(at), 0, 0, 64, false},
    {"timezone", F_STRING, OFF(timezone), 0, 0, 128, false},
    {"session_mode", F_SESSION, OFF(session_mode), 0, 0, 0, false},
    {"delivery", F_STR_ARRAY, OFF(delivery), 0, 64, 128, false},
    {"webhook_url", F_STRING, OFF(webhook_url), 0, 0, MAX_SHORT_FIELD, true},
    {"webhook_headers", F_STR_MAP, OFF(webhook_headers), 0, 64, MAX_SHORT_FIELD, true},
    {"slack_channel", F_STRING, OFF(slack_channel), 0, 0, 256, false},
    {"slack_webhook_url", F_STRING, OFF(slack_webhook_url), 0, 0, MAX_SHORT_FIELD, true},
    {"email_recipients", F_STR_ARRAY, OFF(email_recipients), 0, 256, 320, false},
    {"log_file", F_STRING, OFF(log_file), 0, 0, 4096, false},
    {"policy", F_OBJECT, OFF(policy), 0, 0, 65536, false},
    {"heartbeat", F_HEARTBEAT, OFF(heartbeat), 0, 0, 0, false},
    {"max_concurrent", F_INT, OFF(max_concurrent), 1, 10000, 0, false},
    {"max_retries", F_INT_OR_NULL, OFF(max_retries), 0, 1000, 0, false},
    {"jitter", F_DURATION, OFF(jitter_ms), 0, 0, 0, false},
    {"catch_up", F_CATCH_UP, OFF(catch_up), 0, 0, 0, false},
    {"starting_deadline", F_DURATION, OFF(starting_deadline_ms), 0, 0, 0, false},
    {"dst_gap", F_DST_GAP, OFF(dst_gap), 0, 0, 0, false},
    {"dst_overlap", F_DST_OVERLAP, OFF(dst_overlap), 0, 0, 0, false},
    {"input", F_STRING, OFF(input), 0, 0, MAX_TEXT_FIELD, false},
    {"agent_pin_jwt", F_STRING, OFF(agent_pin_jwt), 0, 0, MAX_SHORT_FIELD, true},
    {"one_shot", F_BOOL, OFF(one_shot), 0, 0, 0, false},
    {"deliver", F_STRING, OFF(deliver), 0, 0, 4096, false},
    {"audit", F_STRING, OFF(audit), 0, 0, 4096, false},
};
#undef OFF

static int field_error(struct symbi_err *err, const char **bad, const struct job_field *f,
                       const char *what)
{
    *bad = f->name;
    return symbi_err_set(err, SYMBI_EINVAL, "field \"%s\": %s", f->name, what);
}

static int set_string_field(char **slot, const json_t *v, const struct job_field *f,
                            const char **bad, struct symbi_err *err, bool nullable)
{
    if (json_is_null(v) && nullable)
        return symbi_set_str(slot, NULL);
    if (!json_is_string(v))
        return field_error(err, bad, f, nullable ? "must be a string or null" : "must be a string");
    size_t len = json_string_length(v);
    if (len > f->max_len)
        return field_error(err, bad, f, "is too long");
    if (strlen(json_string_value(v)) != len)
        return field_error(err, bad, f, "must not contain NUL characters");
    return symbi_set_str(slot, json_string_value(v));
}

static int set_json_text(char **slot, const json_t *v)
{
    char *text = symbi_json_dump_compact(v);
    if (text == NULL)
        return SYMBI_ENOMEM;
    free(*slot);
    *slot = text;
    return 0;
}

static int enum_error(struct symbi_err *err, const char **bad, const struct job_field *f,
                      const char *allowed)
{
    *bad = f->name;
    return symbi_err_set(err, SYMBI_EINVAL, "field \"%s\": must be one of %s", f->name, allowed);
}

/* ---- secrets read back ----
 * A job read through the API shows its secrets masked ("***", SPEC §16). A
 * client that edits the document it read and sends it back (PUT) must not
 * replace a webhook token with the mask: a value equal to what the answer
 * showed for the stored one keeps the stored one. Any other value holding
 * the mask is refused, as it could only store a broken secret. */

/* The masked form of a stored secret, as symbi_job_to_json shows it. */
static char *masked_as_shown(const struct job_field *f, const char *stored)
{
    if (stored == NULL)
        return NULL;
    if (strcmp(f->name, "agent_pin_jwt") == 0)
        return strdup(MASK_TEXT);
    return symbi_url_mask(stored);
}

/* 1: v is the mask of the stored value (keep it); 0: v is a new value;
 * negative: v holds a mask that matches nothing stored. */
static int secret_read_back(const struct job_field *f, const char *stored, const json_t *v,
                            const char **bad, struct symbi_err *err)
{
    if (!json_is_string(v) || strstr(json_string_value(v), MASK_TEXT) == NULL)
        return 0;
    char *shown = masked_as_shown(f, stored);
    if (stored != NULL && shown == NULL)
        return SYMBI_ENOMEM;
    bool same = shown != NULL && strcmp(shown, json_string_value(v)) == 0;
    free(shown);
    if (same)
        return 1;
    return field_error(err, bad, f,
                       "holds a masked value (\"" MASK_TEXT "\") that is not the stored one's; "
                       "send the secret itself, or the value as read to keep it");
}

/* The headers object v with every "***" value replaced by the stored
 * header of that name (stored_text: the job's headers as JSON text). */
static int headers_read_back(const struct job_field *f, const char *stored_text, json_t *v,
                             const char **bad, struct symbi_err *err)
{
    json_t *stored = stored_text != NULL ? json_loads(stored_text, 0, NULL) : NULL;
    const char *k;
    json_t *e;
    int rc = 0;
    json_object_foreach(v, k, e)
    {
        if (strstr(json_string_value(e), MASK_TEXT) == NULL)
            continue;
        json_t *old = json_is_object(stored) ? json_object_get(stored, k) : NULL;
        if (strcmp(json_string_value(e), MASK_TEXT) != 0 || !json_is_string(old)) {
            rc = field_error(err, bad, f,
                             "a header holds a masked value (\"" MASK_TEXT "\") the job does "
                             "not have; send the header itself, or the value as read to keep it");
            break;
        }
        if (json_object_set(v, k, old) != 0) {
            rc = SYMBI_ENOMEM;
            break;
        }
    }
    json_decref(stored);
    return rc;
}

static int apply_field(struct symbi_job *job, const struct job_field *f, const json_t *v,
                       const json_t *obj, const char **bad, struct symbi_err *err)
{
    char *base = (char *)job;
    char **slot = (char **)(base + f->offset);
    if (f->secret && f->kind == F_STRING) {
        int kept = secret_read_back(f, *slot, v, bad, err);
        if (kept != 0)
            return kept > 0 ? 0 : kept;
    }
    switch (f->kind) {
    case F_STRING:
        return set_string_field(slot, v, f, bad, err, strcmp(f->name, "name") != 0);
    case F_AGENT:
        if (!json_is_string(v) || json_string_length(v) == 0)
            return field_error(err, bad, f, "must be a non-empty string");
        return set_string_field(slot, v, f, bad, err, false);
    case F_CRON: {
        int rc = set_string_field(slot, v, f, bad, err, true);
        if (rc == 0 && !json_is_null(v) && json_object_get(obj, "at") == NULL)
            job->at = SYMBI_TIME_NONE;
        return rc;
    }
    case F_AT: {
        if (json_is_null(v)) {
            job->at = SYMBI_TIME_NONE;
            return 0;
        }
        int64_t t;
        if (!json_is_string(v) || symbi_time_parse(json_string_value(v), &t) != 0)
            return field_error(err, bad, f,
                               "must be an RFC 3339 instant such as \"2026-03-29T09:00:00Z\"");
        job->at = t;
        if (json_object_get(obj, "cron_expr") == NULL && json_object_get(obj, "cron") == NULL &&
            json_object_get(obj, "cron_expression") == NULL)
            symbi_set_str(&job->cron_expr, NULL);
        return 0;
    }
    case F_STR_ARRAY: {
        if (json_is_null(v))
            return symbi_set_str(slot, NULL);
        if (!json_is_array(v))
            return field_error(err, bad, f, "must be an array of strings");
        if (json_array_size(v) > (size_t)f->hi)
            return field_error(err, bad, f, "has too many entries");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || json_string_length(e) == 0 ||
                json_string_length(e) > f->max_len)
                return field_error(err, bad, f, "must be an array of non-empty strings");
        }
        return set_json_text(slot, v);
    }
    case F_STR_MAP: {
        if (json_is_null(v))
            return symbi_set_str(slot, NULL);
        if (!json_is_object(v))
            return field_error(err, bad, f, "must be an object of strings");
        if (json_object_size(v) > (size_t)f->hi)
            return field_error(err, bad, f, "has too many entries");
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (!json_is_string(e) || json_string_length(e) > f->max_len || *k == '\0')
                return field_error(err, bad, f, "must be an object of strings");
        }
        if (!f->secret)
            return set_json_text(slot, v);
        json_t *copy = json_deep_copy(v);
        int rc = copy != NULL ? headers_read_back(f, *slot, copy, bad, err) : SYMBI_ENOMEM;
        if (rc == 0)
            rc = set_json_text(slot, copy);
        json_decref(copy);
        return rc;
    }
    case F_OBJECT: {
        if (json_is_null(v))
            return symbi_set_str(slot, NULL);
        if (!json_is_object(v))
            return field_error(err, bad, f, "must be an object or null");
        return set_json_text(slot, v);
    }
    case F_SESSION:
        if (!json_is_string(v) ||
            symbi_session_mode_parse(json_string_value(v),
                                     (enum symbi_session_mode *)(base + f->offset)) != 0)
            return enum_error(err, bad, f,
                              "ephemeral_with_summary, shared_persistent, fully_ephemeral");
        return 0;
    case F_CATCH_UP:
        if (!json_is_string(v) ||
            symbi_catch_up_parse(json_string_value(v), (enum symbi_catch_up *)(base + f->offset)))
            return enum_error(err, bad, f, "once, skip, all");
        return 0;
    case F_DST_GAP:
        if (!json_is_string(v) ||
            symbi_dst_gap_parse(json_string_value(v), (enum symbi_dst_gap *)(base + f->offset)))
            return enum_error(err, bad, f, "shift, skip");
        return 0;
    case F_DST_OVERLAP:
        if (!json_is_string(v) ||
            symbi_dst_overlap_parse(json_string_value(v),
                                    (enum symbi_dst_overlap *)(base + f->offset)))
            return enum_error(err, bad, f, "auto, first, last, both");
        return 0;
    case F_DURATION: {
        int64_t *ms = (int64_t *)(base + f->offset);
        if (json_is_null(v)) {
            *ms = -1;
            return 0;
        }
        if (json_is_integer(v)) {
            json_int_t s = json_integer_value(v);
            if (s < 0 || s > 100LL * 366 * 86400)
                return field_error(err, bad, f, "is out of range");
            *ms = (int64_t)s * 1000;
            return 0;
        }
        int64_t d;
        if (!json_is_string(v) || symbi_parse_duration_ms(json_string_value(v), &d) != 0)
            return field_error(err, bad, f,
                               "must be a duration such as \"30s\", \"5m\", \"2h\" or seconds");
        *ms = d;
        return 0;
    }
    case F_INT:
    case F_INT_OR_NULL: {
        int *iv = (int *)(base + f->offset);
        if (f->kind == F_INT_OR_NULL && json_is_null(v)) {
            *iv = -1;
            return 0;
        }
        if (!json_is_integer(v))
            return field_error(err, bad, f, "must be an integer");
        json_int_t x = json_integer_value(v);
        if (x < f->lo || x > f->hi) {
            *bad = f->name;
            return symbi_err_set(err, SYMBI_EINVAL, "field \"%s\": must be between %lld and %lld",
                                 f->name, (long long)f->lo, (long long)f->hi);
        }
        *iv = (int)x;
        return 0;
    }
    case F_BOOL:
        if (!json_is_boolean(v))
            return field_error(err, bad, f, "must be true or false");
        *(bool *)(base + f->offset) = json_is_true(v);
        return 0;
    case F_HEARTBEAT: {
        if (json_is_null(v)) {
            job->heartbeat.set = false;
            job->heartbeat.enabled = false;
            return 0;
        }
        if (!json_is_object(v))
            return field_error(err, bad, f, "must be an object");
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (strcmp(k, "enabled") == 0) {
                if (!json_is_boolean(e))
                    return field_error(err, bad, f, "enabled must be true or false");
                job->heartbeat.enabled = json_is_true(e);
            } else if (strcmp(k, "context_mode") == 0) {
                if (!json_is_string(e) ||
                    symbi_session_mode_parse(json_string_value(e), &job->heartbeat.context_mode))
                    return field_error(err, bad, f,
                                       "context_mode must be ephemeral_with_summary, "
                                       "shared_persistent or fully_ephemeral");
            } else if (strcmp(k, "max_iterations") == 0) {
                if (!json_is_integer(e) || json_integer_value(e) < 1 ||
                    json_integer_value(e) > 10000)
                    return field_error(err, bad, f,
                                       "max_iterations must be an integer from 1 to 10000");
                job->heartbeat.max_iterations = (int)json_integer_value(e);
            } else {
                *bad = f->name;
                return symbi_err_set(err, SYMBI_EINVAL, "field \"heartbeat\": unknown key \"%s\"",
                                     k);
            }
        }
        job->heartbeat.set = true;
        return 0;
    }
    }
    return SYMBI_EINVAL;
}

int symbi_job_apply_json(struct symbi_job *job, const json_t *obj, const char **bad_field,
                         struct symbi_err *err)
{
    const char *dummy;
    if (bad_field == NULL)
        bad_field = &dummy;
    *bad_field = NULL;
    if (!json_is_object(obj))
        return symbi_err_set(err, SYMBI_EINVAL, "a job must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const struct job_field *f = NULL;
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(job_fields); i++) {
            if (strcmp(job_fields[i].name, key) == 0) {
                f = &job_fields[i];
                break;
            }
        }
        if (f == NULL) {
            *bad_field = "";
            return symbi_err_set(err, SYMBI_EINVAL, "unknown field \"%.200s\"", key);
        }
        int rc = apply_field(job, f, v, obj, bad_field, err);
        if (rc == SYMBI_ENOMEM)
            return symbi_err_set(err, rc, "out of memory");
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- runs, agents, audit ---- */

json_t *symbi_run_to_json(const struct symbi_run *run)
{
    json_t *o = json_object();
    bool bad = false;
    if (o == NULL)
        return NULL;
    put(o, "id", json_string(run->id), &bad);
    put(o, "job_id", json_string(run->job_id), &bad);
    put(o, "job_name", str_or_null(run->job_name), &bad);
    put(o, "agent", str_or_null(run->agent), &bad);
    put(o, "trigger", json_string(symbi_trigger_name(run->trigger)), &bad);
    put(o, "scheduled_at", symbi_json_time(run->scheduled_at), &bad);
    put(o, "due_at", symbi_json_time(run->due_at), &bad);
    put(o, "started_at", symbi_json_time(run->started_at), &bad);
    put(o, "finished_at", symbi_json_time(run->finished_at), &bad);
    put(o, "status", json_string(symbi_run_status_name(run->status)), &bad);
    put(o, "attempt", json_integer(run->attempt), &bad);
    put(o, "input", str_or_null(run->input), &bad);
    put(o, "output", str_or_null(run->output), &bad);
    put(o, "output_truncated", json_boolean(run->output_truncated), &bad);
    put(o, "stderr", str_or_null(run->stderr_text), &bad);
    put(o, "summary", str_or_null(run->summary), &bad);
    put(o, "error_message", str_or_null(run->error_message), &bad);
    put(o, "exit_code", run->has_exit_code ? json_integer(run->exit_code) : json_null(), &bad);
    put(o, "execution_time_ms",
        run->execution_time_ms < 0 ? json_null() : json_integer(run->execution_time_ms), &bad);
    put(o, "jitter_ms", json_integer(run->jitter_ms), &bad);
    put(o, "node", str_or_null(run->node), &bad);
    put(o, "iterations", json_integer(run->iterations), &bad);
    put(o, "iteration_outputs", field_or(run->iteration_outputs, json_null()), &bad);
    put(o, "deliveries", field_or(run->deliveries, json_array()), &bad);
    put(o, "approver", str_or_null(run->approver), &bad);
    put(o, "tool_calls", field_or(run->tool_calls, json_array()), &bad);
    put(o, "prompt_tokens", run->prompt_tokens < 0 ? json_null() : json_integer(run->prompt_tokens),
        &bad);
    put(o, "completion_tokens",
        run->completion_tokens < 0 ? json_null() : json_integer(run->completion_tokens), &bad);
    put(o, "created_at", symbi_json_time(run->created_at), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *symbi_agent_def_to_json(const struct symbi_agent_def *a)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool bad = false;
    put(o, "name", str_or_null(a->name), &bad);
    put(o, "runner", json_string(symbi_runner_name(a->runner)), &bad);
    put(o, "command", str_or_null(a->command), &bad);
    put(o, "exec", field_or(a->exec, json_null()), &bad);
    put(o, "model", str_or_null(a->model), &bad);
    put(o, "system_prompt", str_or_null(a->system_prompt), &bad);
    put(o, "builtin", str_or_null(a->builtin), &bad);
    put(o, "capabilities", field_or(a->capabilities, json_array()), &bad);
    put(o, "env", field_or(a->env, json_object()), &bad);
    put(o, "workdir", str_or_null(a->workdir), &bad);
    put(o, "timeout", duration_or_null(a->timeout_ms), &bad);
    put(o, "endpoint", str_or_null(a->endpoint), &bad);
    put(o, "api_key_env", str_or_null(a->api_key_env), &bad);
    put(o, "temperature",
        a->temperature < 0 || isnan(a->temperature) ? json_null() : json_real(a->temperature),
        &bad);
    put(o, "max_tokens", a->max_tokens > 0 ? json_integer(a->max_tokens) : json_null(), &bad);
    put(o, "api", str_or_null(a->api), &bad);
    put(o, "tools", field_or(a->tools, json_object()), &bad);
    put(o, "max_tool_calls", a->max_tool_calls >= 0 ? json_integer(a->max_tool_calls) : json_null(),
        &bad);
    put(o, "sandbox", field_or(a->sandbox, json_null()), &bad);
    put(o, "source", str_or_null(a->source), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *symbi_audit_event_to_json(const struct symbi_audit_event *e)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool bad = false;
    put(o, "id", json_integer(e->id), &bad);
    put(o, "time", symbi_json_time(e->at), &bad);
    put(o, "type", str_or_null(e->type), &bad);
    put(o, "job_id", e->job_id[0] ? json_string(e->job_id) : json_null(), &bad);
    put(o, "job_name", str_or_null(e->job_name), &bad);
    put(o, "run_id", e->run_id[0] ? json_string(e->run_id) : json_null(), &bad);
    put(o, "actor", str_or_null(e->actor), &bad);
    put(o, "details", field_or(e->details, json_object()), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
