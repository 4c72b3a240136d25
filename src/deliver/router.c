/* router.c - the delivery router (SPEC §7): channel lookup by name (built
 * in, [scheduler.delivery.custom.*] commands, registered in C), the §7
 * payload, one receipt per channel, metrics and the run pipeline's hook. */
#include "deliver/deliver_int.h"

#include "symbi/json.h"
#include "symbi/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULTS_MAX 32

static const struct {
    const char *name;
    const struct symbi_delivery_router *impl;
} builtins[] = {
    {"stdout", &symbi_dlv_stdout},   {"log_file", &symbi_dlv_log_file},
    {"webhook", &symbi_dlv_webhook}, {"slack", &symbi_dlv_slack},
    {"email", &symbi_dlv_email},
};

/* the process-wide channels (symbi_deliver_register_default) */
static pthread_mutex_t defaults_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dlv_channel defaults[DEFAULTS_MAX];
static size_t n_defaults;

int symbi_dlv_fail(struct symbi_delivery_receipt *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return SYMBI_EIO;
}

static const struct symbi_delivery_router *builtin(const char *name)
{
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(builtins); i++)
        if (strcmp(builtins[i].name, name) == 0)
            return builtins[i].impl;
    return NULL;
}

static bool name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > SYMBI_DELIVER_NAME_MAX)
        return false;
    for (const char *q = name; *q != '\0'; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-'))
            return false;
    return true;
}

static int check_new(const char *name, const struct symbi_delivery_router *impl,
                     const struct dlv_channel *have, size_t n, struct symbi_err *err)
{
    if (!name_ok(name))
        return symbi_err_set(err, SYMBI_EINVAL,
                             "channel name \"%s\": letters, digits, '_' and '-' (at most %d)",
                             name ? name : "", SYMBI_DELIVER_NAME_MAX);
    if (impl == NULL || impl->route == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "channel \"%s\": route is required", name);
    if (builtin(name) != NULL)
        return symbi_err_set(err, SYMBI_EEXIST, "channel \"%s\" is a built-in channel", name);
    for (size_t i = 0; i < n; i++)
        if (strcmp(have[i].name, name) == 0)
            return symbi_err_set(err, SYMBI_EEXIST, "channel \"%s\" is already registered", name);
    return 0;
}

static int push_channel(struct symbi_deliver *d, const char *name,
                        const struct symbi_delivery_router *impl, void *ud, bool owned)
{
    struct dlv_channel *nc = realloc(d->chans, (d->n_chans + 1) * sizeof *nc);
    if (nc == NULL)
        return SYMBI_ENOMEM;
    d->chans = nc;
    struct dlv_channel *c = &nc[d->n_chans++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->impl = *impl;
    c->ud = ud;
    c->owned = owned;
    return 0;
}

int symbi_deliver_register(struct symbi_deliver *d, const char *name,
                           const struct symbi_delivery_router *impl, void *ud,
                           struct symbi_err *err)
{
    int rc = check_new(name, impl, d->chans, d->n_chans, err);
    if (rc != 0)
        return rc;
    if (push_channel(d, name, impl, ud, true) != 0)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    return 0;
}

int symbi_deliver_register_default(const char *name, const struct symbi_delivery_router *impl,
                                   void *ud, struct symbi_err *err)
{
    pthread_mutex_lock(&defaults_lock);
    int rc = check_new(name, impl, defaults, n_defaults, err);
    if (rc == 0 && n_defaults >= DEFAULTS_MAX)
        rc = symbi_err_set(err, SYMBI_ETOOBIG, "more than %d process-wide channels", DEFAULTS_MAX);
    if (rc == 0) {
        struct dlv_channel *c = &defaults[n_defaults++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->impl = *impl;
        c->ud = ud;
    }
    pthread_mutex_unlock(&defaults_lock);
    return rc;
}

void symbi_deliver_clear_defaults(void)
{
    pthread_mutex_lock(&defaults_lock);
    for (size_t i = 0; i < n_defaults; i++)
        if (defaults[i].impl.release != NULL)
            defaults[i].impl.release(defaults[i].ud);
    n_defaults = 0;
    pthread_mutex_unlock(&defaults_lock);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

int symbi_deliver_new(const struct symbi_config *cfg, struct symbi_deliver **out,
                      struct symbi_err *err)
{
    symbi_dlv_curl_init();
    struct symbi_deliver *d = calloc(1, sizeof *d);
    if (d == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    pthread_mutex_init(&d->stdout_lock, NULL);
    d->stdout_fd = 1;
    d->timeout_ms = cfg->webhook_timeout_ms > 0 ? cfg->webhook_timeout_ms : 30000;
    d->retry_attempts = cfg->webhook_retry_attempts >= 0 ? cfg->webhook_retry_attempts : 0;
    d->backoff_ms = cfg->webhook_retry_backoff_ms >= 0 ? cfg->webhook_retry_backoff_ms : 0;
    d->smtp_port = cfg->smtp_port;
    d->smtp_require_tls = cfg->smtp_require_tls;
    bool oom = false;
    struct {
        char **dst;
        const char *src;
    } strs[] = {
        {&d->slack_api_token, cfg->slack_api_token},
        {&d->slack_default_channel, cfg->slack_default_channel},
        {&d->slack_api_base,
         cfg->slack_api_base != NULL ? cfg->slack_api_base : "https://slack.com/api"},
        {&d->smtp_host, cfg->smtp_host},
        {&d->smtp_username, cfg->smtp_username},
        {&d->smtp_password, cfg->smtp_password},
        {&d->email_from, cfg->email_from},
        {&d->webhook_auth_header, cfg->webhook_auth_header},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(strs); i++)
        if (strs[i].src != NULL && (*strs[i].dst = symbi_strdup(strs[i].src)) == NULL)
            oom = true;
    if (cfg->delivery_log_dir != NULL)
        d->log_dir = symbi_strdup(cfg->delivery_log_dir);
    else
        d->log_dir = join(cfg->data_dir != NULL ? cfg->data_dir : ".", "logs/jobs");
    oom = oom || d->log_dir == NULL;
    if (!oom && cfg->n_custom_channels > 0) {
        d->commands = calloc(cfg->n_custom_channels, sizeof *d->commands);
        oom = d->commands == NULL;
        for (size_t i = 0; !oom && i < cfg->n_custom_channels; i++) {
            d->commands[i].name = symbi_strdup(cfg->custom_channels[i].name);
            d->commands[i].command = symbi_strdup(cfg->custom_channels[i].command);
            d->n_commands++;
            oom = d->commands[i].name == NULL || d->commands[i].command == NULL;
        }
    }
    for (size_t i = 0; !oom && i < d->n_commands; i++)
        if (builtin(d->commands[i].name) == NULL)
            oom = push_channel(d, d->commands[i].name, &symbi_dlv_command, &d->commands[i],
                               false) != 0;
    pthread_mutex_lock(&defaults_lock);
    for (size_t i = 0; !oom && i < n_defaults; i++) {
        bool taken = false;
        for (size_t j = 0; j < d->n_chans && !taken; j++)
            taken = strcmp(d->chans[j].name, defaults[i].name) == 0;
        if (!taken)
            oom = push_channel(d, defaults[i].name, &defaults[i].impl, defaults[i].ud, false) != 0;
    }
    pthread_mutex_unlock(&defaults_lock);
    if (oom) {
        symbi_deliver_free(d);
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

void symbi_deliver_free(struct symbi_deliver *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_chans; i++)
        if (d->chans[i].owned && d->chans[i].impl.release != NULL)
            d->chans[i].impl.release(d->chans[i].ud);
    free(d->chans);
    for (size_t i = 0; i < d->n_commands; i++) {
        free(d->commands[i].name);
        free(d->commands[i].command);
    }
    free(d->commands);
    char **strs[] = {&d->slack_api_token, &d->slack_default_channel, &d->slack_api_base,
                     &d->smtp_host,       &d->smtp_username,         &d->smtp_password,
                     &d->email_from,      &d->webhook_auth_header,   &d->log_dir};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(strs); i++)
        free(*strs[i]);
    pthread_mutex_destroy(&d->stdout_lock);
    free(d);
    symbi_dlv_curl_release();
}

void symbi_deliver_set_deadline(struct symbi_deliver *d, int64_t mono_ms)
{
    atomic_store(&d->deadline, mono_ms);
}

void symbi_deliver_set_stdout_fd(struct symbi_deliver *d, int fd)
{
    d->stdout_fd = fd;
}

char *symbi_deliver_payload(const struct symbi_job *job, const struct symbi_run *run,
                            size_t max_output)
{
    if (max_output == 0)
        max_output = SYMBI_DELIVER_OUTPUT_MAX;
    const char *out = run->output != NULL ? run->output : "";
    size_t len = strlen(out);
    size_t keep = symbi_dlv_cut(out, len, max_output);
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    const char *job_id = run->job_id[0] != '\0' ? run->job_id : job != NULL ? job->id : "";
    const char *job_name = run->job_name != NULL ? run->job_name : job != NULL ? job->name : NULL;
    json_object_set_new(o, "job_id", *job_id != '\0' ? json_string(job_id) : json_null());
    json_object_set_new(o, "job_name", job_name != NULL ? json_string(job_name) : json_null());
    json_object_set_new(o, "run_id", json_string(run->id));
    json_object_set_new(o, "status", json_string(symbi_run_status_name(run->status)));
    json_object_set_new(o, "scheduled_at", symbi_json_time(run->scheduled_at));
    json_object_set_new(o, "started_at", symbi_json_time(run->started_at));
    json_object_set_new(o, "finished_at", symbi_json_time(run->finished_at));
    json_object_set_new(o, "execution_time_ms",
                        run->execution_time_ms < 0 ? json_null()
                                                   : json_integer(run->execution_time_ms));
    json_object_set_new(o, "output", symbi_json_text(out, keep));
    json_object_set_new(o, "output_truncated", json_boolean(run->output_truncated || keep < len));
    json_object_set_new(o, "error_message",
                        run->error_message != NULL
                            ? symbi_json_text(run->error_message, strlen(run->error_message))
                            : json_null());
    char *s = symbi_json_dump_compact(o);
    json_decref(o);
    return s;
}

static json_t *receipt_json(const struct symbi_delivery_receipt *r)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "channel", json_string(r->channel));
    json_object_set_new(o, "ok", json_boolean(r->ok));
    json_object_set_new(o, "status",
                        r->status != 0 || r->has_status ? json_integer(r->status) : json_null());
    json_object_set_new(o, "reply",
                        r->reply[0] != '\0' ? symbi_json_text(r->reply, strlen(r->reply))
                                            : json_null());
    json_object_set_new(o, "error",
                        r->error[0] != '\0' ? symbi_json_text(r->error, strlen(r->error))
                                            : json_null());
    json_object_set_new(o, "attempts", json_integer(r->attempts));
    json_object_set_new(o, "at", symbi_json_time(r->at));
    return o;
}

/* The channel named `name`, or NULL. */
static const struct dlv_channel *lookup(const struct symbi_deliver *d, const char *name,
                                        struct dlv_channel *tmp)
{
    const struct symbi_delivery_router *b = builtin(name);
    if (b != NULL) {
        memset(tmp, 0, sizeof *tmp);
        snprintf(tmp->name, sizeof tmp->name, "%s", name);
        tmp->impl = *b;
        return tmp;
    }
    for (size_t i = 0; i < d->n_chans; i++)
        if (strcmp(d->chans[i].name, name) == 0)
            return &d->chans[i];
    return NULL;
}

static void deliver_one(struct symbi_deliver *d, const char *name, const struct symbi_job *job,
                        const struct symbi_run *run, const char *output, const char *payload,
                        const char *environment, struct symbi_delivery_receipt *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->channel, sizeof r->channel, "%s", name);
    struct dlv_channel tmp;
    const struct dlv_channel *c = name_ok(name) ? lookup(d, name, &tmp) : NULL;
    int rc;
    if (c == NULL) {
        rc = symbi_dlv_fail(r,
                            "unknown channel \"%s\" (not built in, not configured in "
                            "[scheduler.delivery.custom], not registered)",
                            r->channel);
    } else {
        struct symbi_delivery_ctx ctx = {d, c->ud, environment, payload, r};
        rc = c->impl.route(&ctx, name, job, run, output);
        if (rc != 0 && r->error[0] == '\0')
            symbi_dlv_fail(r, "%s", symbi_strerror(rc));
    }
    r->ok = rc == 0;
    if (r->ok)
        r->error[0] = '\0';
    if (r->attempts == 0)
        r->attempts = 1;
    r->at = symbi_now_wall_ms();
    symbi_metrics_delivery(r->channel, r->ok);
    if (r->ok)
        symbi_log(SYMBI_LOG_DEBUG, "delivery", "delivered job=%s run=%s channel=%s attempts=%d",
                  run->job_name ? run->job_name : "-", run->id, r->channel, r->attempts);
    else
        symbi_log(SYMBI_LOG_WARN, "delivery",
                  "delivery failed job=%s run=%s channel=%s attempts=%d status=%d error=\"%s\"",
                  run->job_name ? run->job_name : "-", run->id, r->channel, r->attempts, r->status,
                  r->error);
}

int symbi_deliver_route(struct symbi_deliver *d, const struct symbi_job *job, struct symbi_run *run,
                        const char *environment, struct symbi_delivery_summary *out,
                        struct symbi_err *err)
{
    struct symbi_delivery_summary sum = {0, 0};
    json_t *channels = job != NULL ? symbi_json_parse_field(job->delivery) : NULL;
    json_t *receipts = json_array();
    char *bounded = NULL, *payload = NULL;
    int rc = receipts == NULL ? SYMBI_ENOMEM : 0;
    size_t n = json_is_array(channels) ? json_array_size(channels) : 0;
    if (n > SYMBI_DELIVER_MAX_CHANNELS)
        n = SYMBI_DELIVER_MAX_CHANNELS;
    if (rc == 0 && n > 0) {
        const char *o = run->output != NULL ? run->output : "";
        size_t len = strlen(o);
        bounded = symbi_strndup(o, symbi_dlv_cut(o, len, SYMBI_DELIVER_OUTPUT_MAX));
        payload = symbi_deliver_payload(job, run, SYMBI_DELIVER_OUTPUT_MAX);
        if (bounded == NULL || payload == NULL)
            rc = SYMBI_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *name = json_string_value(json_array_get(channels, i));
        struct symbi_delivery_receipt r;
        deliver_one(d, name != NULL ? name : "", job, run, bounded, payload, environment, &r);
        sum.attempted++;
        sum.succeeded += r.ok;
        json_t *rj = receipt_json(&r);
        if (rj == NULL || json_array_append_new(receipts, rj) != 0)
            rc = SYMBI_ENOMEM;
    }
    char *text = rc == 0 ? symbi_json_dump_compact(receipts) : NULL;
    if (rc == 0 && text == NULL)
        rc = SYMBI_ENOMEM;
    if (rc == 0) {
        free(run->deliveries);
        run->deliveries = text;
        if (out != NULL)
            *out = sum;
    }
    json_decref(channels);
    json_decref(receipts);
    free(bounded);
    free(payload);
    if (rc != 0)
        return symbi_err_set(err, rc, "delivery: out of memory");
    return 0;
}

int symbi_deliver_hook(void *ud, const struct symbi_exec_ctx *c, struct symbi_delivery_summary *out,
                       struct symbi_err *err)
{
    return symbi_deliver_route(ud, c->job, c->run, c->environment, out, err);
}
