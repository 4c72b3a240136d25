/* model.c - the model runner (SPEC §6.2): one invocation of a model agent is
 * a conversation of requests (retried on 429/5xx within max_runtime) and
 * declared tool calls, ending in the answer that becomes the run's output. */
#include "agent/model_int.h"

#include "symbi/config.h"
#include "symbi/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLEEP_SLICE_MS 50

/* The endpoint with ${NAME} expanded from the environment at use (SPEC
 * §2.1, the configuration's one expansion rule), without a trailing '/'.
 * NULL with *why set when the result is not an http(s) URL (an unset
 * variable), or on OOM (*why empty). */
static char *expand_endpoint(const char *s, char why[160])
{
    why[0] = '\0';
    char *v = symbi_config_expand(s);
    if (v == NULL)
        return NULL;
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/')
        v[--n] = '\0';
    const char *host = strncmp(v, "http://", 7) == 0    ? v + 7
                       : strncmp(v, "https://", 8) == 0 ? v + 8
                                                        : NULL;
    if (host == NULL || *host == '\0' || *host == '/' || *host == ':') {
        snprintf(why, 160, "\"%.100s\" is not an http(s) URL once expanded (a variable unset?)", s);
        free(v);
        return NULL;
    }
    return v;
}

/* Replaces every occurrence of key in s (a server may echo a header). */
static void redact(char *s, const char *key)
{
    size_t kl = key != NULL ? strlen(key) : 0;
    if (kl < 4)
        return;
    for (char *p = strstr(s, key); p != NULL; p = strstr(p, key)) {
        static const char mark[] = "[redacted]";
        size_t ml = sizeof mark - 1 < kl ? sizeof mark - 1 : kl;
        memcpy(p, mark, ml);
        memmove(p + ml, p + kl, strlen(p + kl) + 1);
        p += ml;
    }
}

/* Sleeps ms in slices, returning false early when the run is cancelled. */
static bool nap(int64_t ms, struct symbi_agent_cancel *cancel)
{
    int64_t until = symbi_now_mono_ms() + ms;
    for (;;) {
        if (cancel != NULL && atomic_load(&cancel->cancelled))
            return false;
        int64_t left = until - symbi_now_mono_ms();
        if (left <= 0)
            return true;
        int64_t step = left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The state of one invocation. */
struct inv {
    const struct symbi_agent_request *req;
    struct symbi_agent_result *res;
    enum symbi_model_api api;
    const char *key;
    char *url;
    int64_t runtime_ms; /* the bound, for messages */
    int64_t deadline;   /* monotonic */
    struct symbi_model_http http;
};

static int timed_out(struct inv *v)
{
    char d[32];
    return symbi_agent__fail(v->res, SYMBI_RUN_TIMED_OUT, "timed out after %s (max_runtime)",
                             symbi_duration_fmt(v->runtime_ms, d));
}

static int interrupted(struct inv *v)
{
    return symbi_agent__fail(v->res, SYMBI_RUN_INTERRUPTED,
                             "interrupted: the scheduler shut down during the run");
}

/* The failure of an HTTP answer: its status and a bounded excerpt. */
static int http_failed(struct inv *v, const char *extra)
{
    char ex[SYMBI_MODEL_EXCERPT_MAX + 1];
    size_t n =
        v->http.body.len < SYMBI_MODEL_EXCERPT_MAX ? v->http.body.len : SYMBI_MODEL_EXCERPT_MAX;
    while (n > 0 && n < v->http.body.len && ((unsigned char)v->http.body.data[n] & 0xC0) == 0x80)
        n--;
    memcpy(ex, n > 0 ? v->http.body.data : "", n);
    ex[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ex[i] < 0x20)
            ex[i] = ' ';
    redact(ex, v->key);
    return symbi_agent__fail(v->res, SYMBI_RUN_FAILED, "HTTP %ld from %s%s%s%s: %s", v->http.status,
                             v->url, extra != NULL ? " (" : "", extra != NULL ? extra : "",
                             extra != NULL ? ")" : "", n > 0 ? ex : "(empty body)");
}

/* POSTs body, retrying 429 and 5xx (honouring Retry-After) while the
 * deadline allows. Returns 0 with a 2xx answer in v->http.body, 1 when the
 * run's outcome has been set (failed, timed out, interrupted), or
 * SYMBI_ENOMEM. */
static int exchange(struct inv *v, const char *body, size_t len)
{
    for (int attempt = 1;; attempt++) {
        enum symbi_model_http_outcome o =
            symbi_agent__model_http_post(&v->http, v->url, body, len, v->deadline);
        int rc;
        switch (o) {
        case SYMBI_MODEL_HTTP_OK:
            break;
        case SYMBI_MODEL_HTTP_TIMEOUT:
            return (rc = timed_out(v)) != 0 ? rc : 1;
        case SYMBI_MODEL_HTTP_CANCELLED:
            return (rc = interrupted(v)) != 0 ? rc : 1;
        case SYMBI_MODEL_HTTP_TOO_BIG:
            rc =
                symbi_agent__fail(v->res, SYMBI_RUN_FAILED,
                                  "the answer from %s is larger than %d MiB (HTTP %ld); not read",
                                  v->url, SYMBI_MODEL_RESPONSE_MAX / (1024 * 1024), v->http.status);
            return rc != 0 ? rc : 1;
        case SYMBI_MODEL_HTTP_ERROR:
            rc = symbi_agent__fail(v->res, SYMBI_RUN_FAILED, "cannot reach %s: %s", v->url,
                                   v->http.msg);
            return rc != 0 ? rc : 1;
        }
        long st = v->http.status;
        if (st >= 200 && st < 300)
            return 0;
        bool retryable = st == 429 || st >= 500;
        if (!retryable)
            return (rc = http_failed(v, NULL)) != 0 ? rc : 1;
        int64_t wait = v->http.retry_after_ms >= 0 ? v->http.retry_after_ms
                                                   : 1000LL << (attempt - 1 < 5 ? attempt - 1 : 5);
        const char *why = NULL;
        char extra[96];
        if (attempt >= SYMBI_MODEL_MAX_ATTEMPTS) {
            snprintf(extra, sizeof extra, "after %d attempts", attempt);
            why = extra;
        } else if (wait > SYMBI_MODEL_RETRY_WAIT_MAX) {
            snprintf(extra, sizeof extra, "Retry-After %llds is longer than symbi waits",
                     (long long)(wait / 1000));
            why = extra;
        } else if (symbi_now_mono_ms() + wait >= v->deadline) {
            why = "no time left for a retry within max_runtime";
        }
        if (why != NULL)
            return (rc = http_failed(v, why)) != 0 ? rc : 1;
        if (!nap(wait, v->req->cancel))
            return (rc = interrupted(v)) != 0 ? rc : 1;
    }
}

/* Sets the run's output to text, bounded by max_output_bytes. */
static int set_output(struct inv *v, const char *text)
{
    size_t len = strlen(text);
    size_t max =
        v->req->max_output_bytes ? v->req->max_output_bytes : SYMBI_AGENT_DEFAULT_OUTPUT_MAX;
    size_t keep = len;
    if (keep > max) {
        keep = max;
        while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80)
            keep--;
        v->res->output_truncated = true;
    }
    free(v->res->output);
    v->res->output = symbi_strndup(text, keep);
    v->res->output_len = keep;
    v->res->output_total = len;
    return v->res->output != NULL ? 0 : SYMBI_ENOMEM;
}

static void add_usage(struct symbi_agent_result *res, const struct symbi_model_reply *r)
{
    if (r->prompt_tokens >= 0)
        res->prompt_tokens = (res->prompt_tokens > 0 ? res->prompt_tokens : 0) + r->prompt_tokens;
    if (r->completion_tokens >= 0)
        res->completion_tokens =
            (res->completion_tokens > 0 ? res->completion_tokens : 0) + r->completion_tokens;
}

/* Answers every call of the reply (running declared tools) and appends the
 * results. Returns 0 to call the model again, 1 when the run's outcome is
 * set, or SYMBI_ENOMEM. *used counts the calls against max_tool_calls. */
static int answer_calls(struct inv *v, struct symbi_model_conv *conv,
                        const struct symbi_model_reply *r, const json_t *tools, json_t *record,
                        int max_calls, int *used)
{
    struct symbi_model_tool_reply *replies = calloc(r->n_calls, sizeof *replies);
    char **texts = calloc(r->n_calls, sizeof *texts);
    int rc = replies != NULL && texts != NULL ? 0 : SYMBI_ENOMEM;
    bool out_of_time = false;
    for (size_t i = 0; rc == 0 && i < r->n_calls; i++) {
        replies[i].id = r->calls[i].id;
        if (out_of_time || *used >= max_calls) {
            struct symbi_buf b;
            symbi_buf_init(&b, 512);
            rc = symbi_buf_printf(&b,
                                  "error: not run: the limit of %d tool calls per run is "
                                  "reached; answer without tools",
                                  max_calls);
            texts[i] = rc == 0 ? symbi_buf_steal(&b) : NULL;
            symbi_buf_cleanup(&b);
            rc = texts[i] != NULL ? 0 : SYMBI_ENOMEM;
            replies[i].is_error = true;
            continue;
        }
        (*used)++;
        bool t_out = false;
        rc = symbi_agent__model_tool_call(v->req, tools, &r->calls[i], v->deadline, record,
                                          &texts[i], &replies[i].is_error, &t_out);
        out_of_time |= t_out;
    }
    if (rc == 0 && out_of_time)
        rc = (rc = timed_out(v)) != 0 ? rc : 1;
    if (rc == 0 && v->req->cancel != NULL && atomic_load(&v->req->cancel->cancelled))
        rc = (rc = interrupted(v)) != 0 ? rc : 1;
    for (size_t i = 0; rc == 0 && i < r->n_calls; i++)
        replies[i].text = texts[i];
    if (rc == 0)
        rc = symbi_agent__model_add_results(conv, r, replies, r->n_calls);
    for (size_t i = 0; texts != NULL && i < r->n_calls; i++)
        free(texts[i]);
    free(texts);
    free(replies);
    return rc;
}

/* The conversation: request, answer, tool calls, until a final answer. */
static int converse(struct inv *v, struct symbi_model_conv *conv, json_t *record)
{
    const struct symbi_agent_def *a = v->req->agent;
    json_t *tools = a->tools != NULL ? json_loads(a->tools, 0, NULL) : NULL;
    int max_calls = a->max_tool_calls > 0 ? a->max_tool_calls : SYMBI_AGENT_DEFAULT_MAX_TOOL_CALLS;
    int used = 0, rc = 0;
    /* every round but the last runs at least one tool, so max_calls + 2
     * rounds bound a model that keeps asking */
    for (int round = 0; rc == 0; round++) {
        json_t *body = symbi_agent__model_body(conv, a, a->tools);
        char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(body);
        if (text == NULL) {
            rc = SYMBI_ENOMEM;
            break;
        }
        rc = exchange(v, text, strlen(text));
        free(text);
        if (rc != 0)
            break;
        struct symbi_model_reply r;
        struct symbi_err perr;
        if (symbi_agent__model_parse(v->api, v->http.body.data, v->http.body.len, &r, &perr) != 0) {
            if (perr.code == SYMBI_ENOMEM) {
                rc = SYMBI_ENOMEM;
                break;
            }
            rc = http_failed(v, perr.msg);
            rc = rc != 0 ? rc : 1;
            break;
        }
        add_usage(v->res, &r);
        if (r.n_calls == 0) {
            rc = set_output(v, r.text);
            if (rc == 0)
                v->res->status = SYMBI_RUN_SUCCEEDED;
            symbi_agent__model_reply_cleanup(&r);
            break;
        }
        if (round > max_calls) {
            rc = symbi_agent__fail(v->res, SYMBI_RUN_FAILED,
                                   "the model kept asking for tools after max_tool_calls (%d)",
                                   max_calls);
            symbi_agent__model_reply_cleanup(&r);
            rc = rc != 0 ? rc : 1;
            break;
        }
        rc = answer_calls(v, conv, &r, tools, record, max_calls, &used);
        symbi_agent__model_reply_cleanup(&r);
    }
    json_decref(tools);
    return rc < 0 ? rc : 0;
}

static void count_tokens(const struct symbi_agent_request *req, const struct symbi_agent_result *r)
{
    const char *job = req->job_name != NULL ? req->job_name : "";
    if (r->prompt_tokens > 0)
        symbi_metrics_model_tokens(job, "prompt", r->prompt_tokens);
    if (r->completion_tokens > 0)
        symbi_metrics_model_tokens(job, "completion", r->completion_tokens);
}

int symbi_agent__model_run(const struct symbi_agent_request *req, struct symbi_agent_result *res,
                           struct symbi_err *err)
{
    (void)err;
    const struct symbi_agent_def *a = req->agent;
    const char *name = a->name != NULL ? a->name : "";
    struct inv v = {.req = req, .res = res};
    if (symbi_agent__model_api(a->api, &v.api) != 0)
        return symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": unknown api \"%s\"", name,
                                 a->api);
    const char *ep = a->endpoint != NULL ? a->endpoint : req->default_endpoint;
    if (ep == NULL || ep[0] == '\0')
        return symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                 "agent \"%s\": no endpoint (set `endpoint`, [agents] llm_endpoint "
                                 "or SYMBI_LLM_ENDPOINT)",
                                 name);
    char why[160];
    char *base = expand_endpoint(ep, why);
    if (base == NULL)
        return why[0] != '\0' ? symbi_agent__fail(res, SYMBI_RUN_FAILED,
                                                  "agent \"%s\": endpoint: %s", name, why)
                              : SYMBI_ENOMEM;
    struct symbi_buf url;
    symbi_buf_init(&url, 0);
    int rc = symbi_buf_printf(
        &url, "%s%s", base, v.api == SYMBI_MODEL_ANTHROPIC ? "/v1/messages" : "/chat/completions");
    free(base);
    v.url = rc == 0 ? symbi_buf_steal(&url) : NULL;
    symbi_buf_cleanup(&url);
    if (v.url == NULL)
        return SYMBI_ENOMEM;
    /* the key is read now, at call time, and lives only in the header list */
    v.key = getenv(a->api_key_env != NULL ? a->api_key_env : "SYMBI_LLM_API_KEY");
    v.runtime_ms = req->max_runtime_ms > 0 ? req->max_runtime_ms
                   : a->timeout_ms > 0     ? a->timeout_ms
                                           : SYMBI_MODEL_DEFAULT_TIMEOUT;
    v.deadline = symbi_now_mono_ms() + v.runtime_ms;
    struct symbi_model_conv conv;
    char *input = symbi_agent__model_input_text(
        req->input, req->job_name != NULL ? req->job_name : name, req->scheduled_at);
    json_t *record = json_array();
    struct symbi_err cerr;
    if (input == NULL || record == NULL) {
        rc = SYMBI_ENOMEM;
    } else if ((rc =
                    symbi_agent__model_conv_start(&conv, v.api, a->system_prompt, req->context_json,
                                                  req->job_name, input, &cerr)) != 0) {
        if (rc != SYMBI_ENOMEM)
            rc = symbi_agent__fail(res, SYMBI_RUN_FAILED, "agent \"%s\": %s", name, cerr.msg);
    } else {
        rc = symbi_agent__model_http_init(&v.http, v.api, v.key, req->cancel);
        if (rc == 0)
            rc = converse(&v, &conv, record);
        symbi_agent__model_http_cleanup(&v.http);
        symbi_agent__model_conv_cleanup(&conv);
    }
    if (rc == 0 && json_array_size(record) > 0 &&
        (res->tool_calls = json_dumps(record, JSON_COMPACT)) == NULL)
        rc = SYMBI_ENOMEM;
    if (rc == 0)
        count_tokens(req, res);
    json_decref(record);
    free(input);
    free(v.url);
    return rc;
}
