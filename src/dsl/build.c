/* build.c - turns parsed `schedule` blocks into struct symbi_job (one table
 * row per key, SPEC §2.2, with its type, then the shared semantic validation,
 * errors placed at the key) and drives the build of every block of a file. */
#include "dsl/build_int.h"
#include "symbi/policy.h"

#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schedule keys ---- */
enum job_key {
    J_NAME,
    J_AGENT,
    J_CRON,
    J_AT,
    J_TIMEZONE,
    J_SESSION_MODE,
    J_DELIVERY,
    J_WEBHOOK_URL,
    J_WEBHOOK_HEADERS,
    J_SLACK_CHANNEL,
    J_SLACK_WEBHOOK_URL,
    J_EMAIL_RECIPIENTS,
    J_LOG_FILE,
    J_POLICY,
    J_HEARTBEAT,
    J_MAX_CONCURRENT,
    J_MAX_RETRIES,
    J_AGENT_PIN_JWT,
    J_INPUT,
    J_JITTER,
    J_CATCH_UP,
    J_STARTING_DEADLINE,
    J_ONE_SHOT,
    J_DELIVER,
    J_AUDIT,
    J_DST_GAP,
    J_DST_OVERLAP,
    J_COUNT
};

static const struct key_def job_keys[J_COUNT] = {
    [J_NAME] = {"name", K_STRING},
    [J_AGENT] = {"agent", K_STRING},
    [J_CRON] = {"cron", K_STRING},
    [J_AT] = {"at", K_STRING},
    [J_TIMEZONE] = {"timezone", K_STRING},
    [J_SESSION_MODE] = {"session_mode", K_STRING},
    [J_DELIVERY] = {"delivery", K_STR_ARRAY},
    [J_WEBHOOK_URL] = {"webhook_url", K_STRING},
    [J_WEBHOOK_HEADERS] = {"webhook_headers", K_STR_MAP},
    [J_SLACK_CHANNEL] = {"slack_channel", K_STRING},
    [J_SLACK_WEBHOOK_URL] = {"slack_webhook_url", K_STRING},
    [J_EMAIL_RECIPIENTS] = {"email_recipients", K_STR_ARRAY},
    [J_LOG_FILE] = {"log_file", K_STRING},
    [J_POLICY] = {"policy", K_MAP},
    [J_HEARTBEAT] = {"heartbeat", K_HEARTBEAT},
    [J_MAX_CONCURRENT] = {"max_concurrent", K_INT},
    [J_MAX_RETRIES] = {"max_retries", K_INT},
    [J_AGENT_PIN_JWT] = {"agent_pin_jwt", K_STRING},
    [J_INPUT] = {"input", K_STRING},
    [J_JITTER] = {"jitter", K_DURATION},
    [J_CATCH_UP] = {"catch_up", K_STRING},
    [J_STARTING_DEADLINE] = {"starting_deadline", K_DURATION},
    [J_ONE_SHOT] = {"one_shot", K_BOOL},
    [J_DELIVER] = {"deliver", K_STRING},
    [J_AUDIT] = {"audit", K_STRING},
    [J_DST_GAP] = {"dst_gap", K_STRING},
    [J_DST_OVERLAP] = {"dst_overlap", K_STRING},
};

static const char *const heartbeat_keys[] = {"enabled", "context_mode", "max_iterations"};

void dsl_berr(struct bctx *c, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dsl_diag(c->p, SYMBI_DSL_ERROR, line, col, "%s", msg);
    c->errors++;
}

bool dsl_key_eq(const struct dsl_entry *e, const char *name)
{
    size_t n = strlen(name);
    return e->klen == n && memcmp(e->key, name, n) == 0;
}

/* The key as a printable C string (truncated) for messages. */
const char *dsl_key_text(struct bctx *c, const char *k, size_t n)
{
    if (n > 60)
        n = 60;
    char *s = symbi_arena_strndup(&c->p->arena, k, n);
    return s != NULL ? s : "?";
}

static char *vdup(struct bctx *c, const struct dsl_value *v)
{
    char *s = symbi_strndup(v->s, v->len);
    if (s == NULL)
        c->p->oom = true;
    return s;
}

/* Duplicate keys inside a map, reported at the second one. */
static bool map_dups(struct bctx *c, const struct dsl_value *v)
{
    bool ok = true;
    for (const struct dsl_entry *e = v->entries; e != NULL; e = e->next)
        for (const struct dsl_entry *f = v->entries; f != e; f = f->next)
            if (f->klen == e->klen && memcmp(f->key, e->key, e->klen) == 0) {
                dsl_berr(c, e->line, e->col, "duplicate key `%s` (first at %d:%d)",
                         dsl_key_text(c, e->key, e->klen), f->line, f->col);
                ok = false;
                break;
            }
    for (const struct dsl_entry *e = v->entries; e != NULL; e = e->next)
        if (e->value->kind == V_MAP && !map_dups(c, e->value))
            ok = false;
    return ok;
}

static char *to_json(struct bctx *c, const struct dsl_value *v)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    if (dsl_value_json(&b, v) != 0) {
        symbi_buf_cleanup(&b);
        c->p->oom = true;
        return NULL;
    }
    return symbi_buf_steal(&b);
}

/* Converts entry e's value to `type`; false (error reported) on a wrong
 * type or value. */
bool dsl_convert(struct bctx *c, const struct dsl_entry *e, const char *name, enum key_type type,
                 struct conv *out)
{
    const struct dsl_value *v = e->value;
    memset(out, 0, sizeof *out);
    switch (type) {
    case K_STRING:
        if (v->kind != V_STRING && v->kind != V_IDENT)
            break;
        return (out->str = vdup(c, v)) != NULL;
    case K_DURATION:
        if (v->kind == V_STRING || v->kind == V_DURATION || v->kind == V_NUMBER) {
            char tmp[64];
            if (v->len >= sizeof tmp || v->len == 0 ||
                (memcpy(tmp, v->s, v->len), tmp[v->len] = '\0',
                 symbi_parse_duration_ms(tmp, &out->i) != 0) ||
                out->i < 0) {
                dsl_berr(c, v->line, v->col,
                         "%s: invalid duration `%.*s` (use e.g. \"30s\", \"5m\", \"2h\", 90s, "
                         "5.minutes)",
                         name, (int)(v->len > 40 ? 40 : v->len), v->s);
                return false;
            }
            return true;
        }
        break;
    case K_INT:
        if (v->kind == V_NUMBER) {
            char tmp[64];
            if (v->len < sizeof tmp) {
                memcpy(tmp, v->s, v->len);
                tmp[v->len] = '\0';
                int rc = symbi_parse_i64(tmp, -2147483647, 2147483647, &out->i);
                if (rc == 0)
                    return true;
                if (rc == SYMBI_ERANGE) {
                    dsl_berr(c, v->line, v->col, "%s: %s is out of range", name, tmp);
                    return false;
                }
            }
            dsl_berr(c, v->line, v->col, "%s: expected an integer, found `%.*s`", name,
                     (int)(v->len > 40 ? 40 : v->len), v->s);
            return false;
        }
        break;
    case K_NUMBER:
        if (v->kind == V_NUMBER) {
            char tmp[64], *end;
            size_t n = 0;
            for (size_t i = 0; i < v->len && n + 1 < sizeof tmp; i++)
                if (v->s[i] != '_')
                    tmp[n++] = v->s[i];
            tmp[n] = '\0';
            out->d = strtod(tmp, &end);
            if (*end == '\0')
                return true;
        }
        break;
    case K_BOOL:
        if (v->kind == V_BOOL) {
            out->i = v->b;
            return true;
        }
        break;
    case K_STR_ARRAY:
        if (v->kind != V_ARRAY)
            break;
        for (const struct dsl_value *it = v->items; it != NULL; it = it->next) {
            if (it->kind != V_STRING && it->kind != V_IDENT) {
                dsl_berr(c, it->line, it->col, "%s: expected an array of strings, found %s in it",
                         name, dsl_vkind_name(it->kind));
                return false;
            }
        }
        return (out->str = to_json(c, v)) != NULL;
    case K_STR_MAP:
        if (v->kind != V_MAP)
            break;
        if (!map_dups(c, v))
            return false;
        for (const struct dsl_entry *m = v->entries; m != NULL; m = m->next) {
            enum dsl_vkind k = m->value->kind;
            if (k == V_ARRAY || k == V_MAP) {
                dsl_berr(c, m->value->line, m->value->col,
                         "%s: the value of `%s` must be a string, not %s", name,
                         dsl_key_text(c, m->key, m->klen), dsl_vkind_name(k));
                return false;
            }
        }
        {
            /* scalars are kept as JSON strings ("8080", "true") */
            struct symbi_buf b;
            symbi_buf_init(&b, 0);
            int rc = symbi_buf_putc(&b, '{');
            for (const struct dsl_entry *m = v->entries; m != NULL && rc == 0; m = m->next) {
                if (m != v->entries)
                    rc = symbi_buf_putc(&b, ',');
                if (rc == 0)
                    rc = dsl_json_string(&b, m->key, m->klen);
                if (rc == 0)
                    rc = symbi_buf_putc(&b, ':');
                if (rc == 0) {
                    const struct dsl_value *mv = m->value;
                    if (mv->kind == V_BOOL)
                        rc = dsl_json_string(&b, mv->b ? "true" : "false", mv->b ? 4 : 5);
                    else
                        rc = dsl_json_string(&b, mv->s, mv->len);
                }
            }
            if (rc == 0)
                rc = symbi_buf_putc(&b, '}');
            if (rc != 0) {
                symbi_buf_cleanup(&b);
                c->p->oom = true;
                return false;
            }
            out->str = symbi_buf_steal(&b);
            return true;
        }
    case K_MAP:
        if (v->kind != V_MAP)
            break;
        if (!map_dups(c, v))
            return false;
        return (out->str = to_json(c, v)) != NULL;
    case K_HEARTBEAT:
        if (v->kind != V_MAP)
            break;
        return map_dups(c, v);
    }
    static const char *const want[] = {
        [K_STRING] = "a string",          [K_DURATION] = "a duration",
        [K_INT] = "an integer",           [K_BOOL] = "true or false",
        [K_NUMBER] = "a number",          [K_STR_ARRAY] = "an array of strings",
        [K_STR_MAP] = "a map of strings", [K_MAP] = "a map",
        [K_HEARTBEAT] = "a map",
    };
    dsl_berr(c, v->line, v->col, "%s: expected %s, found %s", name, want[type],
             dsl_vkind_name(v->kind));
    return false;
}

/* The key of `table` named by e, or -1 after reporting an unknown key. */
int dsl_find_key(struct bctx *c, const struct dsl_entry *e, const struct key_def *table, size_t n,
                 const char *in)
{
    for (size_t i = 0; i < n; i++)
        if (dsl_key_eq(e, table[i].name))
            return (int)i;
    const char *names[32];
    for (size_t i = 0; i < n && i < 32; i++)
        names[i] = table[i].name;
    const char *k = dsl_key_text(c, e->key, e->klen);
    const char *near = symbi_dsl_nearest(k, names, n < 32 ? n : 32);
    if (near != NULL)
        dsl_berr(c, e->line, e->col, "unknown key `%s` in %s; did you mean `%s`?", k, in, near);
    else
        dsl_berr(c, e->line, e->col, "unknown key `%s` in %s", k, in);
    return -1;
}

/* ---- positions of validator errors ---- */

/* The position for a validator error about `field` ("cron",
 * "policy.max_runtime"): the deepest entry found along the path (its value),
 * else the block's keyword. */
void dsl_field_pos(const struct dsl_block *b, const char *field, int *line, int *col)
{
    *line = b->line;
    *col = b->col;
    if (field == NULL)
        return;
    if (strcmp(field, "name") == 0 && b->name != NULL) {
        *line = b->name_line;
        *col = b->name_col;
    }
    const struct dsl_entry *list = b->entries;
    const char *seg = field;
    while (list != NULL && *seg != '\0') {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        const struct dsl_entry *hit = NULL;
        for (const struct dsl_entry *e = list; e != NULL; e = e->next)
            if (e->klen == n && memcmp(e->key, seg, n) == 0)
                hit = e;
        if (hit == NULL)
            return;
        if (dot == NULL || hit->value->kind != V_MAP) {
            *line = dot == NULL ? hit->value->line : hit->line;
            *col = dot == NULL ? hit->value->col : hit->col;
            return;
        }
        *line = hit->line;
        *col = hit->col;
        list = hit->value->entries;
        seg = dot + 1;
    }
}

/* ---- `at` in the job's zone ---- */

/* true when s (a date-time) carries its own UTC offset or Z */
static bool has_offset(const char *s)
{
    size_t n = strlen(s);
    if (n <= 10)
        return false;
    for (size_t i = 11; i < n; i++)
        if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
            return true;
    return false;
}

static int at_to_utc(const char *at, const char *zone, int64_t *out, struct symbi_err *err)
{
    int64_t t;
    if (symbi_time_parse(at, &t) != 0)
        return symbi_err_set(err, SYMBI_EINVAL,
                             "at: \"%s\" is not an ISO 8601 date-time "
                             "(e.g. \"2026-03-29T09:00:00Z\")",
                             at);
    if (has_offset(at) || zone == NULL || strcmp(zone, "UTC") == 0) {
        *out = t;
        return 0;
    }
    const struct symbi_zone *z;
    if (symbi_zone_get(zone, &z, NULL) != 0) {
        *out = t; /* the validator reports the zone */
        return 0;
    }
    /* local wall time -> UTC: the offset at the guess, then at the result */
    int64_t u = t - (int64_t)symbi_zone_offset(z, t) * 1000;
    u = t - (int64_t)symbi_zone_offset(z, u) * 1000;
    *out = u;
    return 0;
}

/* ---- schedules ---- */

static bool heartbeat_convert(struct bctx *c, const struct dsl_value *v, struct symbi_heartbeat *hb)
{
    bool ok = true;
    hb->set = true;
    hb->enabled = true; /* a heartbeat block means a heartbeat unless it says otherwise */
    for (const struct dsl_entry *e = v->entries; e != NULL; e = e->next) {
        struct conv cv;
        if (dsl_key_eq(e, "enabled")) {
            if (!dsl_convert(c, e, "heartbeat.enabled", K_BOOL, &cv))
                ok = false;
            else
                hb->enabled = cv.i != 0;
        } else if (dsl_key_eq(e, "context_mode")) {
            if (!dsl_convert(c, e, "heartbeat.context_mode", K_STRING, &cv)) {
                ok = false;
            } else {
                if (symbi_session_mode_parse(cv.str, &hb->context_mode) != 0) {
                    dsl_berr(c, e->value->line, e->value->col,
                             "heartbeat.context_mode: unknown mode \"%s\" (ephemeral_with_summary, "
                             "shared_persistent or fully_ephemeral)",
                             cv.str);
                    ok = false;
                }
                free(cv.str);
            }
        } else if (dsl_key_eq(e, "max_iterations")) {
            if (!dsl_convert(c, e, "heartbeat.max_iterations", K_INT, &cv))
                ok = false;
            else
                hb->max_iterations = (int)cv.i;
        } else {
            const char *k = dsl_key_text(c, e->key, e->klen);
            const char *near = symbi_dsl_nearest(k, heartbeat_keys, 3);
            if (near != NULL)
                dsl_berr(c, e->line, e->col, "unknown key `%s` in heartbeat; did you mean `%s`?", k,
                         near);
            else
                dsl_berr(c, e->line, e->col,
                         "unknown key `%s` in heartbeat (enabled, context_mode, max_iterations)",
                         k);
            ok = false;
        }
    }
    return ok;
}

/* Parses an enum-valued key with its model parser. */
#define ENUM_KEY(fn, field, choices)                                                               \
    do {                                                                                           \
        if (fn(cv.str, &job->field) != 0)                                                          \
            dsl_berr(c, v->line, v->col, "%s: unknown value \"%s\" (%s)", kd->name, cv.str,        \
                     choices);                                                                     \
        free(cv.str);                                                                              \
    } while (0)

static void schedule_entry(struct bctx *c, struct symbi_job *job, const struct dsl_entry *e, int k,
                           char **at_text)
{
    const struct key_def *kd = &job_keys[k];
    const struct dsl_value *v = e->value;
    struct conv cv;
    if (!dsl_convert(c, e, kd->name, kd->type, &cv))
        return;
    switch ((enum job_key)k) {
    case J_NAME:
        job->name = cv.str;
        break;
    case J_AGENT:
        job->agent = cv.str;
        break;
    case J_CRON:
        job->cron_expr = cv.str;
        break;
    case J_AT:
        *at_text = cv.str;
        break;
    case J_TIMEZONE:
        job->timezone = cv.str;
        break;
    case J_SESSION_MODE:
        ENUM_KEY(symbi_session_mode_parse, session_mode,
                 "ephemeral_with_summary, shared_persistent or fully_ephemeral");
        break;
    case J_DELIVERY:
        job->delivery = cv.str;
        break;
    case J_WEBHOOK_URL:
        job->webhook_url = cv.str;
        break;
    case J_WEBHOOK_HEADERS:
        job->webhook_headers = cv.str;
        break;
    case J_SLACK_CHANNEL:
        job->slack_channel = cv.str;
        break;
    case J_SLACK_WEBHOOK_URL:
        job->slack_webhook_url = cv.str;
        break;
    case J_EMAIL_RECIPIENTS:
        job->email_recipients = cv.str;
        break;
    case J_LOG_FILE:
        job->log_file = cv.str;
        break;
    case J_POLICY:
        /* unknown policy keys here, where their position is known */
        for (const struct dsl_entry *m = v->entries; m != NULL; m = m->next) {
            bool known = false;
            for (size_t i = 0; i < symbi_policy_n_keys && !known; i++)
                known = dsl_key_eq(m, symbi_policy_keys[i]);
            if (known)
                continue;
            const char *pk = dsl_key_text(c, m->key, m->klen);
            const char *near = symbi_dsl_nearest(pk, symbi_policy_keys, symbi_policy_n_keys);
            if (near != NULL)
                dsl_berr(c, m->line, m->col, "unknown key `%s` in policy; did you mean `%s`?", pk,
                         near);
            else
                dsl_berr(c, m->line, m->col, "unknown key `%s` in policy", pk);
        }
        job->policy = cv.str;
        break;
    case J_HEARTBEAT:
        heartbeat_convert(c, v, &job->heartbeat);
        break;
    case J_MAX_CONCURRENT:
        job->max_concurrent = (int)cv.i;
        break;
    case J_MAX_RETRIES:
        job->max_retries = (int)cv.i;
        break;
    case J_AGENT_PIN_JWT:
        job->agent_pin_jwt = cv.str;
        break;
    case J_INPUT:
        job->input = cv.str;
        break;
    case J_JITTER:
        job->jitter_ms = cv.i;
        break;
    case J_CATCH_UP:
        ENUM_KEY(symbi_catch_up_parse, catch_up, "once, skip or all");
        break;
    case J_STARTING_DEADLINE:
        job->starting_deadline_ms = cv.i;
        break;
    case J_ONE_SHOT:
        job->one_shot = cv.i != 0;
        break;
    case J_DELIVER:
        job->deliver = cv.str;
        break;
    case J_AUDIT:
        job->audit = cv.str;
        break;
    case J_DST_GAP:
        ENUM_KEY(symbi_dst_gap_parse, dst_gap, "shift or skip");
        break;
    case J_DST_OVERLAP:
        ENUM_KEY(symbi_dst_overlap_parse, dst_overlap, "auto, first, last or both");
        break;
    case J_COUNT:
        free(cv.str);
        break;
    }
}

/* Reports a second occurrence of a known key. */
bool dsl_dup_key(struct bctx *c, const struct dsl_entry *e, const struct dsl_entry **seen,
                 const char *name)
{
    if (*seen == NULL) {
        *seen = e;
        return false;
    }
    dsl_berr(c, e->line, e->col, "duplicate key `%s` (first at %d:%d)", name, (*seen)->line,
             (*seen)->col);
    return true;
}

/* Arrays grow by doubling: their capacity is the next power of two. */
static bool needs_growth(size_t n)
{
    return n == 0 || (n & (n - 1)) == 0;
}

static int push_job(struct symbi_dsl_file *f, struct symbi_job *job)
{
    if (needs_growth(f->n_jobs)) {
        struct symbi_job *nj = realloc(f->jobs, (f->n_jobs ? f->n_jobs * 2 : 1) * sizeof *nj);
        if (nj == NULL)
            return SYMBI_ENOMEM;
        f->jobs = nj;
    }
    f->jobs[f->n_jobs++] = *job;
    return 0;
}

int dsl_push_agent(struct symbi_dsl_file *f, struct symbi_agent_def *a)
{
    if (needs_growth(f->n_agents)) {
        struct symbi_agent_def *na =
            realloc(f->agents, (f->n_agents ? f->n_agents * 2 : 1) * sizeof *na);
        if (na == NULL)
            return SYMBI_ENOMEM;
        f->agents = na;
    }
    f->agents[f->n_agents++] = *a;
    return 0;
}

char *dsl_source_of(struct dsl_parser *p)
{
    size_t n = strlen(p->name) + 5;
    char *s = malloc(n);
    if (s == NULL)
        p->oom = true;
    else
        snprintf(s, n, "dsl:%s", p->name);
    return s;
}

/* A validator error after the entries were read: reported unless its key's
 * entry was already (a bad `cron` value leaves cron unset: "one of cron or
 * at is required" would only repeat it). */
struct each_ctx {
    struct bctx *c;
    const bool *bad;
    const struct dsl_entry *const *seen;
    bool unknown; /* an unknown key was reported: perhaps a misspelt required one */
};

static void each_error(void *ud, const char *field, const struct symbi_err *err)
{
    struct each_ctx *ec = ud;
    if (err->code == SYMBI_ENOMEM) {
        ec->c->p->oom = true; /* the parse fails with SYMBI_ENOMEM, not a diagnostic */
        return;
    }
    if (field != NULL) {
        size_t n = strcspn(field, ".");
        for (int k = 0; k < J_COUNT; k++)
            if (ec->bad[k] && strlen(job_keys[k].name) == n &&
                strncmp(job_keys[k].name, field, n) == 0)
                return;
        if (strcmp(field, "cron") == 0 && (ec->bad[J_AT] || ec->bad[J_CRON]))
            return;
        /* `crn: ...` was reported with its "did you mean": cron is not missing too */
        static const int required[] = {J_NAME, J_AGENT, J_CRON};
        for (size_t i = 0; ec->unknown && i < SYMBI_ARRAY_LEN(required); i++)
            if (ec->seen[required[i]] == NULL && strcmp(field, job_keys[required[i]].name) == 0)
                return;
    }
    int line, col;
    dsl_field_pos(ec->c->b, field, &line, &col);
    dsl_berr(ec->c, line, col, "%s", err->msg);
}

static void build_schedule(struct dsl_parser *p, const struct dsl_block *b, bool dup)
{
    struct bctx c = {p, b, "schedule", b->bad || dup ? 1 : 0};
    struct symbi_job job;
    symbi_job_init(&job);
    const struct dsl_entry *seen[J_COUNT] = {0};
    char *at_text = NULL;
    bool bad[J_COUNT] = {0}; /* keys whose entry was already reported */
    bool unknown = false;
    const struct dsl_entry *policy_ref = NULL; /* policy: "NAME" (SPEC §8.3) */
    for (const struct dsl_entry *e = b->entries; e != NULL && !p->oom; e = e->next) {
        int k = dsl_find_key(&c, e, job_keys, J_COUNT, "schedule");
        unknown |= k < 0;
        if (k == J_POLICY && (e->value->kind == V_STRING || e->value->kind == V_IDENT)) {
            dsl_dup_key(&c, e, &policy_ref, "policy: \"NAME\"");
            continue;
        }
        if (k < 0 || dsl_dup_key(&c, e, &seen[k], job_keys[k].name))
            continue;
        int before = c.errors;
        schedule_entry(&c, &job, e, k, &at_text);
        bad[k] = c.errors != before;
    }
    if (policy_ref != NULL && c.errors == 0 && !dsl_policy_apply_ref(p, policy_ref, &job.policy))
        c.errors++;
    if (b->name != NULL) {
        if (seen[J_NAME] != NULL) {
            dsl_berr(&c, seen[J_NAME]->line, seen[J_NAME]->col,
                     "the schedule is named twice: `schedule %.*s` and `name`", (int)b->nlen,
                     b->name);
        } else if ((job.name = symbi_strndup(b->name, b->nlen)) == NULL) {
            p->oom = true;
        }
    } else if (seen[J_NAME] == NULL && c.errors == 0) {
        dsl_berr(&c, b->line, b->col,
                 "schedule has no name: write `schedule NAME {` or give `name: \"...\"`");
        bad[J_NAME] = true;
    } else if (seen[J_NAME] == NULL) {
        bad[J_NAME] = true;
    }
    if (at_text != NULL && !bad[J_AT] && !bad[J_TIMEZONE]) {
        struct symbi_err err;
        if (at_to_utc(at_text, job.timezone, &job.at, &err) != 0) {
            int line, col;
            dsl_field_pos(b, "at", &line, &col);
            dsl_berr(&c, line, col, "%s", err.msg);
            bad[J_AT] = true;
        }
    }
    free(at_text);
    if (!p->oom && !b->bad && !dup) {
        struct each_ctx ec = {&c, bad, seen, unknown};
        dsl_validate_each(&job, each_error, &ec);
    }
    if (c.errors == 0 && !p->oom && (job.source = dsl_source_of(p)) != NULL &&
        push_job(p->out, &job) == 0)
        return;
    if (c.errors == 0)
        p->oom = true;
    symbi_job_cleanup(&job);
}

/* ---- names unique per kind in a file ---- */

struct name_slot {
    const char *name;
    size_t len;
    int line;
    int col;
    enum dsl_block_kind kind;
};

/* The block's name and its position: after the keyword, or its `name` key. */
static bool block_name(const struct dsl_block *b, const char **name, size_t *len, int *line,
                       int *col)
{
    if (b->name != NULL) {
        *name = b->name;
        *len = b->nlen;
        *line = b->name_line;
        *col = b->name_col;
        return true;
    }
    for (const struct dsl_entry *e = b->entries; e != NULL; e = e->next) {
        if (dsl_key_eq(e, "name") && (e->value->kind == V_STRING || e->value->kind == V_IDENT)) {
            *name = e->value->s;
            *len = e->value->len;
            *line = e->value->line;
            *col = e->value->col;
            return true;
        }
    }
    return false;
}

/* Reports a name already used by an earlier block of the same kind; true
 * when b is such a duplicate. The table is open-addressed by FNV-1a. */
static bool check_dup(struct dsl_parser *p, struct name_slot *tab, size_t mask,
                      const struct dsl_block *b)
{
    const char *name;
    size_t len;
    int line, col;
    if (!block_name(b, &name, &len, &line, &col))
        return false;
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)b->kind;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct name_slot *s = &tab[i];
        if (s->name == NULL) {
            *s = (struct name_slot){name, len, line, col, b->kind};
            return false;
        }
        if (s->kind == b->kind && s->len == len && memcmp(s->name, name, len) == 0) {
            dsl_diag(p, SYMBI_DSL_ERROR, line, col, "duplicate %s name `%.*s` (first at %d:%d)",
                     b->kind == B_SCHEDULE ? "schedule" : "agent", (int)(len > 60 ? 60 : len), name,
                     s->line, s->col);
            return true;
        }
    }
}

void dsl_build(struct dsl_parser *p)
{
    size_t n = 0;
    for (const struct dsl_block *b = p->blocks; b != NULL; b = b->next)
        n++;
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    struct name_slot *tab = symbi_arena_alloc(&p->arena, cap * sizeof *tab);
    if (tab == NULL) {
        p->oom = true;
        return;
    }
    dsl_policies_collect(p);
    for (const struct dsl_block *b = p->blocks; b != NULL && !p->oom; b = b->next) {
        if (b->kind == B_POLICY)
            continue;
        bool dup = check_dup(p, tab, cap - 1, b);
        if (b->kind == B_SCHEDULE)
            build_schedule(p, b, dup);
        else
            dsl_build_agent(p, b, dup);
    }
}
