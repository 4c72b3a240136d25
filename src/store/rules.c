/* rules.c - the store's business rules above every backend (rules.h): job
 * state changes, the dead letter, the ledger rule and the audit events. Pure. */
#include "store/rules.h"

#include "symbi/cron.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- events ---- */

void symbi_rules_events_init(struct symbi_rules_events *ev)
{
    memset(ev, 0, sizeof *ev);
}

void symbi_rules_events_cleanup(struct symbi_rules_events *ev)
{
    symbi_audit_list_free(ev->v, ev->n);
    symbi_rules_events_init(ev);
}

/* snprintf(out, size, "%s", id) without the formatting (once per event) */
static void copy_id(char *out, size_t size, const char *id)
{
    size_t n = strnlen(id, size - 1);
    memcpy(out, id, n);
    out[n] = '\0';
}

/* Appends one event; takes ownership of details (freed on failure too). */
static int ev_add(struct symbi_rules_events *ev, int64_t at, const char *type, const char *job_id,
                  const char *job_name, const char *run_id, const char *actor, char *details)
{
    if (details == NULL)
        return SYMBI_ENOMEM;
    if (ev->n == ev->cap) {
        size_t nc = ev->cap ? ev->cap * 2 : 4;
        struct symbi_audit_event *p = realloc(ev->v, nc * sizeof *p);
        if (p == NULL) {
            free(details);
            return SYMBI_ENOMEM;
        }
        ev->v = p;
        ev->cap = nc;
    }
    struct symbi_audit_event *e = &ev->v[ev->n];
    symbi_audit_event_init(e);
    e->at = at;
    e->details = details;
    if (job_id != NULL)
        copy_id(e->job_id, sizeof e->job_id, job_id);
    if (run_id != NULL)
        copy_id(e->run_id, sizeof e->run_id, run_id);
    if (symbi_set_str(&e->type, type) != 0 || symbi_set_str(&e->job_name, job_name) != 0 ||
        symbi_set_str(&e->actor, actor) != 0) {
        symbi_audit_event_cleanup(e);
        return SYMBI_ENOMEM;
    }
    ev->n++;
    return 0;
}

static int json_str(struct symbi_buf *b, const char *v)
{
    int rc = symbi_buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)v;
    while (rc == 0 && *p) {
        /* the run of characters that need no escape, in one append */
        const unsigned char *q = p;
        while (*q >= 0x20 && *q != '"' && *q != '\\')
            q++;
        if (q > p)
            rc = symbi_buf_append(b, p, (size_t)(q - p));
        if (rc != 0 || *q == '\0')
            break;
        if (*q == '"' || *q == '\\')
            rc = symbi_buf_printf(b, "\\%c", *q);
        else if (*q == '\n')
            rc = symbi_buf_puts(b, "\\n");
        else
            rc = symbi_buf_printf(b, "\\u%04x", *q);
        p = q + 1;
    }
    return rc ? rc : symbi_buf_putc(b, '"');
}

char *symbi_rules_json_obj(const char *key, ...)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    va_list ap;
    va_start(ap, key);
    int rc = symbi_buf_putc(&b, '{');
    for (const char *k = key; rc == 0 && k != NULL; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (b.len > 1)
            rc = symbi_buf_puts(&b, ", ");
        /* "#key": the value is an integer, printed as a JSON number */
        bool number = k[0] == '#';
        int64_t iv = 0;
        if (number && (v == NULL || symbi_parse_i64(v, INT64_MIN, INT64_MAX, &iv) != 0))
            v = NULL;
        if (rc == 0)
            rc = json_str(&b, number ? k + 1 : k);
        if (rc == 0)
            rc = symbi_buf_puts(&b, ": ");
        if (rc == 0 && v == NULL)
            rc = symbi_buf_puts(&b, "null");
        else if (rc == 0)
            rc = number ? symbi_buf_printf(&b, "%lld", (long long)iv) : json_str(&b, v);
    }
    va_end(ap);
    if (rc == 0)
        rc = symbi_buf_putc(&b, '}');
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

static const char *time_or_null(int64_t t, char buf[SYMBI_TIME_STRLEN])
{
    return t == SYMBI_TIME_NONE ? NULL : symbi_time_fmt(t, buf);
}

int symbi_rules_ev_job_created(struct symbi_rules_events *ev, const struct symbi_job *job,
                               int64_t now, const char *actor)
{
    char next[SYMBI_TIME_STRLEN];
    char *details = symbi_rules_json_obj("name", job->name, "agent", job->agent, "cron_expr",
                                         job->cron_expr, "source", job->source, "next_run",
                                         time_or_null(job->next_run, next), NULL);
    return ev_add(ev, now, "CronJobCreated", job->id, job->name, NULL, actor, details);
}

int symbi_rules_ev_job_updated(struct symbi_rules_events *ev, const struct symbi_job *job,
                               const char *changed, int64_t now, const char *actor)
{
    char *details = symbi_rules_json_obj("changed", changed, "source", job->source, NULL);
    return ev_add(ev, now, "CronJobUpdated", job->id, job->name, NULL, actor, details);
}

int symbi_rules_ev_job_deleted(struct symbi_rules_events *ev, const struct symbi_job *job,
                               int64_t at, const char *actor)
{
    char *details = symbi_rules_json_obj("name", job->name, "cron_expr", job->cron_expr, NULL);
    return ev_add(ev, at, "CronJobDeleted", job->id, job->name, NULL, actor, details);
}

/* ---- jobs ---- */

int symbi_rules_job_check(const struct symbi_job *job, struct symbi_err *err)
{
    if (job->name == NULL || job->name[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "a job needs a name");
    if ((job->cron_expr == NULL) == (job->at == SYMBI_TIME_NONE))
        return symbi_err_set(err, SYMBI_EINVAL, "job \"%s\" needs exactly one of cron_expr and at",
                             job->name);
    return 0;
}

int symbi_rules_job_next(const struct symbi_job *job, int64_t now, int64_t *next,
                         struct symbi_err *err)
{
    if (job->cron_expr == NULL) {
        *next = job->last_run == SYMBI_TIME_NONE ? job->at : SYMBI_TIME_NONE;
        return 0;
    }
    return symbi_cron_job_next(job, now, next, err);
}

int symbi_rules_job_insert(struct symbi_job *job, int64_t now, const char *actor,
                           struct symbi_rules_events *ev, struct symbi_err *err)
{
    int rc = symbi_rules_job_check(job, err);
    if (rc != 0)
        return rc;
    if (job->id[0] == '\0' && symbi_uuid_v4(job->id) != 0)
        return symbi_err_set(err, SYMBI_EIO, "store: no randomness for a job id");
    if (job->created_at == SYMBI_TIME_NONE)
        job->created_at = now;
    job->updated_at = now;
    if (job->next_run == SYMBI_TIME_NONE && job->status == SYMBI_JOB_ACTIVE &&
        (rc = symbi_rules_job_next(job, now, &job->next_run, err)) != 0)
        return rc;
    if (symbi_rules_ev_job_created(ev, job, now, actor) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool schedule_changed(const struct symbi_job *a, const struct symbi_job *b)
{
    return !str_eq(a->cron_expr, b->cron_expr) || a->at != b->at ||
           !str_eq(a->timezone, b->timezone) || a->dst_gap != b->dst_gap ||
           a->dst_overlap != b->dst_overlap;
}

/* The names of the definition fields that differ, comma-separated, into b
 * (empty when the definitions are the same). */
static int def_diff(const struct symbi_job *a, const struct symbi_job *o, struct symbi_buf *b)
{
    int rc = 0;
#define DIFF(cond, name)                                                                           \
    if (rc == 0 && (cond))                                                                         \
        rc = symbi_buf_printf(b, "%s%s", b->len ? "," : "", name);
#define DIFF_S(f) DIFF(!str_eq(a->f, o->f), #f)
#define DIFF_I(f) DIFF(a->f != o->f, #f)
    DIFF_S(name)
    DIFF_S(agent)
    DIFF_S(cron_expr)
    DIFF_I(at)
    DIFF_S(timezone)
    DIFF_I(session_mode)
    DIFF_S(delivery)
    DIFF_S(webhook_url)
    DIFF_S(webhook_headers)
    DIFF_S(slack_channel)
    DIFF_S(slack_webhook_url)
    DIFF_S(email_recipients)
    DIFF_S(log_file)
    DIFF_S(policy)
    DIFF(a->heartbeat.set != o->heartbeat.set || a->heartbeat.enabled != o->heartbeat.enabled ||
             a->heartbeat.context_mode != o->heartbeat.context_mode ||
             a->heartbeat.max_iterations != o->heartbeat.max_iterations,
         "heartbeat")
    DIFF_I(max_concurrent)
    DIFF_I(max_retries)
    DIFF(a->jitter_ms != o->jitter_ms, "jitter")
    DIFF_I(catch_up)
    DIFF(a->starting_deadline_ms != o->starting_deadline_ms, "starting_deadline")
    DIFF_I(dst_gap)
    DIFF_I(dst_overlap)
    DIFF_S(input)
    DIFF_S(agent_pin_jwt)
    DIFF_I(one_shot)
    DIFF_S(deliver)
    DIFF_S(audit)
    DIFF_S(source)
#undef DIFF_I
#undef DIFF_S
#undef DIFF
    return rc;
}

int symbi_rules_job_rewrite(struct symbi_job *def, const struct symbi_job *cur, int64_t now,
                            const char *actor, bool *changed, struct symbi_rules_events *ev,
                            struct symbi_err *err)
{
    *changed = false;
    struct symbi_buf diff;
    symbi_buf_init(&diff, 0);
    int rc = def_diff(def, cur, &diff);
    if (rc != 0) {
        symbi_buf_cleanup(&diff);
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    memcpy(def->id, cur->id, sizeof def->id);
    def->status = cur->status;
    def->created_at = cur->created_at;
    def->last_run = cur->last_run;
    def->run_count = cur->run_count;
    def->failure_count = cur->failure_count;
    def->next_run = cur->next_run;
    def->updated_at = cur->updated_at;
    if (diff.len == 0) {
        symbi_buf_cleanup(&diff);
        return 0;
    }
    def->updated_at = now;
    if (schedule_changed(def, cur)) {
        /* a new schedule revives a job that had run its course; a one-shot
         * with a new instant fires at it */
        if (def->status == SYMBI_JOB_COMPLETED || def->status == SYMBI_JOB_FAILED)
            def->status = SYMBI_JOB_ACTIVE;
        def->last_run = SYMBI_TIME_NONE;
        rc = symbi_rules_job_next(def, now, &def->next_run, err);
        def->last_run = cur->last_run;
        if (rc != 0)
            goto out;
    }
    if (symbi_rules_ev_job_updated(ev, def, symbi_buf_str(&diff), now, actor) != 0) {
        rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
        goto out;
    }
    *changed = true;
out:
    symbi_buf_cleanup(&diff);
    return rc;
}

/* Applies a status change to cur; *changed false for a no-op (pausing a
 * paused job); *type the event. */
static int transition(struct symbi_job *cur, enum symbi_job_status to, bool reset, int64_t now,
                      const char **type, bool *changed, struct symbi_err *err)
{
    enum symbi_job_status from = cur->status;
    const char *name = cur->name;
    *changed = true;
    if (reset) {
        /* reset revives a dead_letter or failed job (SPEC §5.5); on any
         * other it would only rewrite next_run and the audit trail */
        if (from == SYMBI_JOB_PAUSED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is paused; resume it instead",
                                 name);
        if (from == SYMBI_JOB_COMPLETED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" has completed; nothing to reset",
                                 name);
        if (from != SYMBI_JOB_DEAD_LETTER && from != SYMBI_JOB_FAILED)
            return symbi_err_set(err, SYMBI_ESTATE,
                                 "job \"%s\" is %s; only a dead_letter or failed job can be reset",
                                 name, symbi_job_status_name(from));
        *type = "CronJobReset";
        cur->status = SYMBI_JOB_ACTIVE;
        cur->failure_count = 0;
        return symbi_rules_job_next(cur, now, &cur->next_run, err);
    }
    if (to == from) {
        *changed = false;
        return 0;
    }
    switch (to) {
    case SYMBI_JOB_PAUSED:
        if (from != SYMBI_JOB_ACTIVE)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is %s; only an active job pauses",
                                 name, symbi_job_status_name(from));
        *type = "CronJobPaused";
        cur->status = SYMBI_JOB_PAUSED;
        return 0;
    case SYMBI_JOB_ACTIVE:
        if (from == SYMBI_JOB_DEAD_LETTER)
            return symbi_err_set(err, SYMBI_ESTATE,
                                 "job \"%s\" is dead_letter; use reset to reactivate it", name);
        if (from != SYMBI_JOB_PAUSED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is %s and cannot be resumed", name,
                                 symbi_job_status_name(from));
        *type = "CronJobResumed";
        cur->status = SYMBI_JOB_ACTIVE;
        /* resume continues from now: the paused interval is not replayed */
        return symbi_rules_job_next(cur, now, &cur->next_run, err);
    case SYMBI_JOB_DEAD_LETTER:
        *type = "CronJobDeadLettered";
        cur->status = to;
        return 0;
    case SYMBI_JOB_COMPLETED:
    case SYMBI_JOB_FAILED:
        *type = "CronJobUpdated";
        cur->status = to;
        return 0;
    }
    return symbi_err_set(err, SYMBI_EINVAL, "unknown job status %d", (int)to);
}

const char *symbi_rules_settle_reason(enum symbi_job_status status)
{
    switch (status) {
    case SYMBI_JOB_PAUSED:
        return "skipped: the job was paused";
    case SYMBI_JOB_DEAD_LETTER:
        return "skipped: the job moved to dead letter";
    case SYMBI_JOB_FAILED:
        return "skipped: the job failed";
    default:
        return NULL;
    }
}

int symbi_rules_job_change(struct symbi_job *cur, enum symbi_job_status to, bool reset, int64_t now,
                           const char *actor, struct symbi_rules_state *out,
                           struct symbi_rules_events *ev, struct symbi_err *err)
{
    memset(out, 0, sizeof *out);
    enum symbi_job_status from = cur->status;
    const char *type = NULL;
    bool changed = false;
    int rc = transition(cur, to, reset, now, &type, &changed, err);
    if (rc != 0 || !changed)
        return rc;
    char next[SYMBI_TIME_STRLEN];
    char *details = symbi_rules_json_obj("from", symbi_job_status_name(from), "to",
                                         symbi_job_status_name(cur->status), "next_run",
                                         time_or_null(cur->next_run, next), NULL);
    if (ev_add(ev, now, type, cur->id, cur->name, NULL, actor, details) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    out->changed = true;
    /* a job that stops firing settles what was waiting to run for it, in
     * the same transaction (issue 10 #11): nothing of it starts */
    out->settle = symbi_rules_settle_reason(cur->status);
    return 0;
}

/* ---- the claim ---- */

int symbi_rules_ev_plan_failed(struct symbi_rules_events *ev, const struct symbi_job *job, int code,
                               const char *why, int64_t now)
{
    char *details = symbi_rules_json_obj(
        "error", why != NULL && why[0] ? why : symbi_strerror(code), "status", "failed", NULL);
    return ev_add(ev, now, "CronJobFailed", job->id, job->name, NULL, "scheduler", details);
}

/* ---- runs ---- */

int symbi_rules_run_defaults(struct symbi_run *run, int64_t now, struct symbi_err *err)
{
    if (run->job_id[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "a run needs a job");
    if (run->id[0] == '\0' && symbi_uuid_v4(run->id) != 0)
        return symbi_err_set(err, SYMBI_EIO, "store: no randomness for a run id");
    if (run->created_at == SYMBI_TIME_NONE)
        run->created_at = now;
    if (run->scheduled_at == SYMBI_TIME_NONE)
        run->scheduled_at = run->created_at;
    if (run->due_at == SYMBI_TIME_NONE)
        run->due_at = run->scheduled_at;
    return 0;
}

bool symbi_rules_ledger_shift(struct symbi_run *run, int tries)
{
    if (run->trigger != SYMBI_TRIGGER_MANUAL || tries >= SYMBI_RULES_LEDGER_SHIFTS ||
        run->scheduled_at == SYMBI_TIME_NONE)
        return false;
    run->scheduled_at++;
    if (run->due_at != SYMBI_TIME_NONE)
        run->due_at++;
    return true;
}

int symbi_rules_run_decide(struct symbi_run *cur, bool approve, const char *approver,
                           const char *reason, int64_t now, struct symbi_rules_events *ev,
                           struct symbi_err *err)
{
    if (cur->status != SYMBI_RUN_PENDING_APPROVAL)
        return symbi_err_set(err, SYMBI_ESTATE, "run %s is %s, not pending_approval", cur->id,
                             symbi_run_status_name(cur->status));
    if (symbi_set_str(&cur->approver, approver) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    if (approve) {
        /* an approved run becomes an unowned queued run: any node's
         * claim_queued starts it */
        cur->status = SYMBI_RUN_QUEUED;
        free(cur->node);
        cur->node = NULL;
        if (cur->due_at == SYMBI_TIME_NONE || cur->due_at > now)
            cur->due_at = now;
    } else {
        char msg[600];
        snprintf(msg, sizeof msg, "denied by %s%s%s", approver ? approver : "an operator",
                 reason ? ": " : "", reason ? reason : "");
        cur->status = SYMBI_RUN_DENIED;
        cur->finished_at = now;
        if (symbi_set_str(&cur->error_message, msg) != 0)
            return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    char *details = symbi_rules_json_obj("approver", approver, "reason", reason, NULL);
    if (ev_add(ev, now, approve ? "CronRunApproved" : "CronRunDenied", cur->job_id, cur->job_name,
               cur->id, approver, details) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    return 0;
}

int symbi_rules_finish_check(const char *run_id, bool found, enum symbi_run_status stored,
                             struct symbi_err *err)
{
    /* `skipped` is what a pause wrote on a run it found waiting: one that
     * this node had already handed to a worker in that instant executed,
     * and its outcome is what happened */
    if (found && symbi_run_status_final(stored) && stored != SYMBI_RUN_SKIPPED)
        return symbi_err_set(err, SYMBI_ESTATE, "run %s was already recorded %s", run_id,
                             symbi_run_status_name(stored));
    return 0;
}

bool symbi_store_job_fires(enum symbi_job_status status)
{
    return status == SYMBI_JOB_ACTIVE || status == SYMBI_JOB_COMPLETED;
}

bool symbi_store_retries_exhausted(int64_t failures, int max_retries)
{
    return failures >= (max_retries > 0 ? max_retries : 1);
}

bool symbi_store_dead_letter_due(enum symbi_job_status status, int64_t failures, int max_retries)
{
    return symbi_store_retries_exhausted(failures, max_retries) && symbi_store_job_fires(status);
}

static const char *finish_event(enum symbi_run_status status)
{
    switch (status) {
    case SYMBI_RUN_SUCCEEDED:
        return "CronJobExecuted";
    case SYMBI_RUN_FAILED:
    case SYMBI_RUN_TIMED_OUT:
    case SYMBI_RUN_INTERRUPTED:
        return "CronJobFailed";
    default:
        return NULL;
    }
}

/* One AgentToolCalled event per tool call a model agent made (SPEC §6.2);
 * the details are the call's record entry. */
static int ev_tool_calls(struct symbi_rules_events *ev, int64_t now, const struct symbi_run *run,
                         const char *job_name)
{
    if (run->tool_calls == NULL || run->tool_calls[0] == '\0')
        return 0;
    json_t *calls = json_loads(run->tool_calls, 0, NULL);
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(calls, i, c)
    {
        if (!json_is_object(c))
            continue;
        char *details = json_dumps(c, JSON_COMPACT);
        if (details == NULL)
            continue;
        rc = ev_add(ev, now, "AgentToolCalled", run->job_id, job_name, run->id, "scheduler",
                    details);
        if (rc != 0)
            break;
    }
    json_decref(calls);
    return rc;
}

int symbi_rules_run_finish(const struct symbi_rules_counters *job, const char *job_name,
                           const struct symbi_run_outcome *o, int64_t now,
                           struct symbi_rules_finish *out, struct symbi_rules_events *ev)
{
    const struct symbi_run *run = o->run;
    memset(out, 0, sizeof *out);
    out->job = *job;
    struct symbi_rules_counters *c = &out->job;
    const char *event = finish_event(run->status);
    if (event != NULL) {
        /* the run executed: it counts, and it is the job's latest run */
        c->run_count++;
        int64_t started = run->started_at != SYMBI_TIME_NONE ? run->started_at : run->scheduled_at;
        if (c->last_run == SYMBI_TIME_NONE || started > c->last_run)
            c->last_run = started;
    }
    if (o->counts_as_failure) {
        c->failure_count++;
        if (symbi_store_dead_letter_due(c->status, c->failure_count, o->max_retries)) {
            c->status = SYMBI_JOB_DEAD_LETTER;
            out->dead = true;
            out->settle = symbi_rules_settle_reason(SYMBI_JOB_DEAD_LETTER);
        }
    } else if (run->status == SYMBI_RUN_SUCCEEDED) {
        c->failure_count = 0;
    }
    /* the job's state read in this transaction decides: a job paused since
     * the caller looked gets no retry */
    bool live = symbi_store_job_fires(c->status);
    out->insert_retry = o->retry != NULL && !out->dead && live;
    out->news = out->dead || (o->retry != NULL && live);
    int rc = ev_tool_calls(ev, now, run, job_name);
    if (rc == 0 && event != NULL) {
        char ms[32];
        snprintf(ms, sizeof ms, "%lld", (long long)run->execution_time_ms);
        char *details = symbi_rules_json_obj("status", symbi_run_status_name(run->status), "error",
                                             run->error_message, "#execution_time_ms",
                                             run->execution_time_ms >= 0 ? ms : NULL, NULL);
        rc = ev_add(ev, now, event, run->job_id, job_name, run->id, "scheduler", details);
    }
    if (rc == 0 && out->dead) {
        char count[32];
        snprintf(count, sizeof count, "%lld", (long long)c->failure_count);
        char *details =
            symbi_rules_json_obj("#failure_count", count, "last_error", run->error_message, NULL);
        rc = ev_add(ev, now, "CronJobDeadLettered", run->job_id, job_name, run->id, "scheduler",
                    details);
    }
    return rc;
}

int symbi_rules_retry_row(const struct symbi_run *retry, int64_t now, struct symbi_run *out)
{
    if (symbi_run_copy(out, retry) != 0)
        return SYMBI_ENOMEM;
    free(out->node);
    out->node = NULL;
    out->status = SYMBI_RUN_QUEUED;
    if (out->created_at == SYMBI_TIME_NONE)
        out->created_at = now;
    return 0;
}

int symbi_rules_run_interrupted(struct symbi_run *r, int64_t now, struct symbi_rules_events *ev)
{
    char msg[256];
    snprintf(msg, sizeof msg, "scheduler stopped: node %s lease expired", r->node ? r->node : "?");
    r->status = SYMBI_RUN_INTERRUPTED;
    r->finished_at = now;
    if (r->started_at != SYMBI_TIME_NONE)
        r->execution_time_ms = now - r->started_at;
    if (symbi_set_str(&r->error_message, msg) != 0)
        return SYMBI_ENOMEM;
    char *details = symbi_rules_json_obj("status", "interrupted", "error", msg, NULL);
    return ev_add(ev, now, "CronJobFailed", r->job_id, r->job_name, r->id, "scheduler", details);
}

bool symbi_rules_fire_given_back(const struct symbi_run *r)
{
    return r->trigger == SYMBI_TRIGGER_SCHEDULE || r->trigger == SYMBI_TRIGGER_CATCH_UP;
}
