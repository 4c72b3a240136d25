/* http.c - the HTTP channels over libcurl: webhook (the §7 payload POSTed
 * with the job's headers) and slack (incoming-webhook URL or the Web API's
 * chat.postMessage), with timeout, retries and backoff. */
#include "deliver/deliver_int.h"

#include "symbi/json.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_key_t curl_key;

static void free_handle(void *h)
{
    curl_easy_cleanup(h);
}

static void init_curl(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&curl_key, free_handle);
}

void symbi_dlv_curl_init(void)
{
    pthread_once(&curl_once, init_curl);
}

void *symbi_dlv_curl(void)
{
    symbi_dlv_curl_init();
    CURL *h = pthread_getspecific(curl_key);
    if (h != NULL) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h != NULL && pthread_setspecific(curl_key, h) != 0) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

void symbi_dlv_curl_release(void)
{
    symbi_dlv_curl_init();
    CURL *h = pthread_getspecific(curl_key);
    if (h != NULL) {
        pthread_setspecific(curl_key, NULL);
        curl_easy_cleanup(h);
    }
}

void symbi_dlv_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int64_t symbi_dlv_backoff(const struct symbi_deliver *d, int i)
{
    int64_t ms = d->backoff_ms;
    for (int k = 0; k < i && ms < DLV_BACKOFF_MAX_MS; k++)
        ms *= 2;
    return ms < DLV_BACKOFF_MAX_MS ? ms : DLV_BACKOFF_MAX_MS;
}

int64_t symbi_dlv_attempt_ms(const struct symbi_deliver *d)
{
    int64_t dl = atomic_load(&((struct symbi_deliver *)d)->deadline);
    if (dl == 0)
        return d->timeout_ms;
    int64_t left = dl - symbi_now_mono_ms();
    if (left <= 0)
        return 0;
    return left < d->timeout_ms ? left : d->timeout_ms;
}

bool symbi_dlv_backoff_sleep(const struct symbi_deliver *d, int i)
{
    int64_t ms = symbi_dlv_backoff(d, i);
    int64_t dl = atomic_load(&((struct symbi_deliver *)d)->deadline);
    if (dl != 0 && symbi_now_mono_ms() + ms >= dl)
        return false;
    symbi_dlv_sleep_ms(ms);
    return symbi_dlv_attempt_ms(d) > 0;
}

/* Cuts a transfer off once the router's deadline has passed. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return symbi_dlv_attempt_ms(ud) > 0 ? 0 : 1;
}

void symbi_dlv_curl_watch(void *h, const struct symbi_deliver *d)
{
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)d);
}

static size_t keep_body(char *p, size_t sz, size_t n, void *ud)
{
    struct dlv_http_res *res = ud;
    size_t len = sz * n;
    size_t room = DLV_REPLY_MAX - res->body_len;
    size_t take = len < room ? len : room;
    memcpy(res->body + res->body_len, p, take);
    res->body_len += take;
    res->body[res->body_len] = '\0';
    return len; /* the rest is read and dropped */
}

static bool retryable_curl(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

/* The first line of an error body, printable, for the receipt. */
static void body_excerpt(const struct dlv_http_res *res, char *out, size_t cap)
{
    size_t n = 0;
    while (n < res->body_len && res->body[n] != '\n' && res->body[n] != '\r')
        n++;
    n = symbi_dlv_cut(res->body, n, cap - 1 < 200 ? cap - 1 : 200);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)res->body[i];
        out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
}

int symbi_dlv_http_post(const struct symbi_deliver *d, const char *url, const char *const *headers,
                        size_t n_headers, const char *body, const struct dlv_secrets *sec,
                        struct symbi_delivery_receipt *r, struct dlv_http_res *res)
{
    struct curl_slist *hl = NULL, *t;
    hl = curl_slist_append(hl, "Content-Type: application/json");
    /* no "Expect: 100-continue" round trip (and its 1 s wait) for big bodies */
    if (hl != NULL && (t = curl_slist_append(hl, "Expect:")) != NULL)
        hl = t;
    for (size_t i = 0; hl != NULL && i < n_headers; i++) {
        t = curl_slist_append(hl, headers[i]);
        if (t == NULL) {
            curl_slist_free_all(hl);
            hl = NULL;
        } else {
            hl = t;
        }
    }
    if (hl == NULL)
        return symbi_dlv_fail(r, "out of memory");
    char agent[64];
    snprintf(agent, sizeof agent, "symbi/%s", SYMBI_VERSION);
    int tries = 1 + d->retry_attempts;
    int rc = SYMBI_EIO;
    for (int i = 0; i < tries; i++) {
        int64_t limit = symbi_dlv_attempt_ms(d);
        if (limit <= 0 || (i > 0 && !symbi_dlv_backoff_sleep(d, i - 1))) {
            if (i == 0)
                rc = symbi_dlv_fail(r, DLV_STOPPED);
            else {
                size_t n = strlen(r->error);
                snprintf(r->error + n, sizeof r->error - n, "; " DLV_STOPPED);
            }
            break;
        }
        limit = symbi_dlv_attempt_ms(d);
        CURL *h = symbi_dlv_curl();
        if (h == NULL) {
            rc = symbi_dlv_fail(r, "out of memory");
            break;
        }
        char ebuf[CURL_ERROR_SIZE];
        ebuf[0] = '\0';
        res->status = 0;
        res->body_len = 0;
        res->body[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(limit > 0 ? limit : 1));
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(limit > 0 ? limit : 1));
        symbi_dlv_curl_watch(h, d);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, res);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        CURLcode c = curl_easy_perform(h);
        r->attempts = i + 1;
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        res->status = status;
        r->status = (int)status;
        bool again;
        if (c == CURLE_ABORTED_BY_CALLBACK ||
            (c == CURLE_OPERATION_TIMEDOUT && symbi_dlv_attempt_ms(d) <= 0)) {
            rc = symbi_dlv_fail(r, DLV_CUT_OFF);
            again = false;
        } else if (c != CURLE_OK) {
            rc = symbi_dlv_fail(r, "%s", ebuf[0] ? ebuf : curl_easy_strerror(c));
            again = retryable_curl(c);
        } else if (status >= 200 && status < 300) {
            rc = 0;
            r->error[0] = '\0';
            break;
        } else {
            char ex[256];
            body_excerpt(res, ex, sizeof ex);
            snprintf(r->reply, sizeof r->reply, "%s", ex);
            rc = symbi_dlv_fail(r, "HTTP %ld", status);
            again = status == 408 || status == 429 || status >= 500;
        }
        if (!again)
            break;
    }
    curl_slist_free_all(hl);
    symbi_dlv_redact(sec, r->error, sizeof r->error);
    symbi_dlv_redact(sec, r->reply, sizeof r->reply);
    if (rc != 0 && r->attempts > 1) {
        size_t n = strlen(r->error);
        snprintf(r->error + n, sizeof r->error - n, " (after %d attempts)", r->attempts);
    }
    return rc;
}

/* ---- webhook ---- */

static bool has_header(const char *const *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (strncasecmp(h[i], name, nl) == 0 && h[i][nl] == ':')
            return true;
    return false;
}

static int route_webhook(struct symbi_delivery_ctx *ctx, const char *channel,
                         const struct symbi_job *job, const struct symbi_run *run,
                         const char *output)
{
    (void)channel;
    (void)run;
    (void)output;
    struct symbi_delivery_receipt *r = ctx->receipt;
    if (job == NULL || job->webhook_url == NULL)
        return symbi_dlv_fail(r, "webhook: the job has no webhook_url");
    struct dlv_secrets sec;
    symbi_dlv_secrets_init(&sec);
    char *url = symbi_dlv_expand(&sec, job->webhook_url, false);
    char *hdr[SYMBI_DELIVER_MAX_CHANNELS + 1];
    size_t nh = 0;
    int rc = 0;
    json_t *map = symbi_json_parse_field(job->webhook_headers);
    if (url == NULL) {
        rc = symbi_dlv_fail(r, "out of memory");
    } else if (!symbi_dlv_http_url(url)) {
        rc = symbi_dlv_fail(r, "webhook: webhook_url (after ${VAR} expansion) is not an "
                               "http:// or https:// URL");
    } else if (job->webhook_headers != NULL && !json_is_object(map)) {
        rc = symbi_dlv_fail(r, "webhook: webhook_headers is not a map of strings");
    }
    const char *k;
    json_t *v;
    if (rc == 0 && map != NULL) {
        json_object_foreach(map, k, v)
        {
            if (nh >= SYMBI_DELIVER_MAX_CHANNELS) {
                rc = symbi_dlv_fail(r, "webhook: more than %d headers", SYMBI_DELIVER_MAX_CHANNELS);
                break;
            }
            char *val =
                json_is_string(v) ? symbi_dlv_expand(&sec, json_string_value(v), true) : NULL;
            if (val == NULL) {
                rc = symbi_dlv_fail(r, "webhook: header \"%.64s\" is not a string", k);
                break;
            }
            bool bad = symbi_dlv_has_ctl(val) || symbi_dlv_has_ctl(k) || strchr(k, ':') != NULL ||
                       strlen(val) > 8192;
            size_t n = strlen(k) + strlen(val) + 3;
            hdr[nh] = bad ? NULL : malloc(n);
            if (hdr[nh] == NULL) {
                free(val);
                rc = bad ? symbi_dlv_fail(r,
                                          "webhook: header \"%.64s\" holds a line break or "
                                          "control character (after ${VAR} expansion), not sent",
                                          k)
                         : symbi_dlv_fail(r, "out of memory");
                break;
            }
            snprintf(hdr[nh], n, "%s: %s", k, val);
            free(val);
            nh++;
        }
    }
    if (rc == 0 && ctx->router->webhook_auth_header != NULL &&
        !has_header((const char *const *)hdr, nh, "Authorization")) {
        char *val = symbi_dlv_expand(&sec, ctx->router->webhook_auth_header, true);
        if (val == NULL) {
            rc = symbi_dlv_fail(r, "out of memory");
        } else if (*val != '\0' && (symbi_dlv_has_ctl(val) || strlen(val) > 8192)) {
            rc = symbi_dlv_fail(r, "webhook: SYMBI_WEBHOOK_AUTH_HEADER holds a line break, not "
                                   "sent");
        } else if (*val != '\0') {
            size_t n = strlen(val) + 16;
            hdr[nh] = malloc(n);
            if (hdr[nh] == NULL)
                rc = symbi_dlv_fail(r, "out of memory");
            else
                snprintf(hdr[nh++], n, "Authorization: %s", val);
        }
        free(val);
    }
    if (rc == 0) {
        struct dlv_http_res *res = malloc(sizeof *res);
        if (res == NULL)
            rc = symbi_dlv_fail(r, "out of memory");
        else
            rc = symbi_dlv_http_post(ctx->router, url, (const char *const *)hdr, nh, ctx->payload,
                                     &sec, r, res);
        free(res);
    }
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    json_decref(map);
    free(url);
    symbi_dlv_secrets_cleanup(&sec);
    return rc;
}

const struct symbi_delivery_router symbi_dlv_webhook = {route_webhook, NULL};

/* ---- slack ---- */

/* Slack mrkdwn escapes: & < > */
static int put_escaped(struct symbi_buf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s[i] == '&')
            rc = symbi_buf_puts(b, "&amp;");
        else if (s[i] == '<')
            rc = symbi_buf_puts(b, "&lt;");
        else if (s[i] == '>')
            rc = symbi_buf_puts(b, "&gt;");
        else
            rc = symbi_buf_putc(b, s[i]);
    }
    return rc;
}

/* "[symbi] *job* status (run id, N ms)" then the output in a code block. */
static char *slack_text(const struct symbi_job *job, const struct symbi_run *run,
                        const char *output)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    const char *name = run->job_name ? run->job_name : job && job->name ? job->name : "-";
    int rc = symbi_buf_puts(&b, "[symbi] *");
    if (rc == 0)
        rc = put_escaped(&b, name, strlen(name));
    if (rc == 0)
        rc = symbi_buf_printf(&b, "* %s (run %.8s, %lld ms)", symbi_run_status_name(run->status),
                              run->id,
                              (long long)(run->execution_time_ms < 0 ? 0 : run->execution_time_ms));
    if (rc == 0 && run->error_message != NULL) {
        rc = symbi_buf_puts(&b, "\n");
        size_t n = symbi_dlv_cut(run->error_message, strlen(run->error_message), 300);
        if (rc == 0)
            rc = put_escaped(&b, run->error_message, n);
    }
    size_t len = strlen(output);
    size_t room =
        SYMBI_DELIVER_SLACK_TEXT_MAX > b.len + 64 ? SYMBI_DELIVER_SLACK_TEXT_MAX - b.len - 64 : 0;
    size_t keep = symbi_dlv_cut(output, len, room / 2); /* escapes may double it */
    if (rc == 0 && len > 0) {
        rc = symbi_buf_puts(&b, "\n```\n");
        if (rc == 0)
            rc = put_escaped(&b, output, keep);
        if (rc == 0)
            rc = symbi_buf_puts(&b, keep < len ? "\n... (truncated)\n```" : "\n```");
    }
    if (rc != 0) {
        symbi_buf_cleanup(&b);
        return NULL;
    }
    return symbi_buf_steal(&b);
}

static int route_slack(struct symbi_delivery_ctx *ctx, const char *channel,
                       const struct symbi_job *job, const struct symbi_run *run, const char *output)
{
    (void)channel;
    struct symbi_deliver *d = ctx->router;
    struct symbi_delivery_receipt *r = ctx->receipt;
    const char *to =
        job != NULL && job->slack_channel != NULL ? job->slack_channel : d->slack_default_channel;
    bool hook = job != NULL && job->slack_webhook_url != NULL;
    if (!hook && d->slack_api_token == NULL)
        return symbi_dlv_fail(r, "slack: needs the job's slack_webhook_url or "
                                 "[scheduler.delivery] slack_api_token (SYMBI_SLACK_TOKEN)");
    if (!hook && to == NULL)
        return symbi_dlv_fail(r, "slack: needs the job's slack_channel or "
                                 "[scheduler.delivery] slack_default_channel");
    struct dlv_secrets sec;
    symbi_dlv_secrets_init(&sec);
    char *text = slack_text(job, run, output);
    char *url = NULL, *auth = NULL, *body = NULL, *chan = NULL;
    int rc = 0;
    if (hook) {
        url = symbi_dlv_expand(&sec, job->slack_webhook_url, false);
    } else {
        char *base = symbi_dlv_expand(&sec, d->slack_api_base, false);
        char *tok = symbi_dlv_expand(&sec, d->slack_api_token, true);
        if (base != NULL && tok != NULL) {
            size_t bl = strlen(base);
            while (bl > 0 && base[bl - 1] == '/')
                base[--bl] = '\0';
            size_t n = bl + 32;
            url = malloc(n);
            if (url != NULL)
                snprintf(url, n, "%s/chat.postMessage", base);
            if (*tok == '\0' || symbi_dlv_has_ctl(tok))
                rc = symbi_dlv_fail(r, "slack: slack_api_token is empty or holds a line break "
                                       "(after ${VAR} expansion)");
            n = strlen(tok) + 32;
            auth = malloc(n);
            if (auth != NULL)
                snprintf(auth, n, "Authorization: Bearer %s", tok);
        }
        free(base);
        free(tok);
    }
    if (to != NULL)
        chan = symbi_dlv_expand(&sec, to, false);
    if (rc == 0 &&
        (text == NULL || url == NULL || (!hook && auth == NULL) || (to != NULL && chan == NULL)))
        rc = symbi_dlv_fail(r, "out of memory");
    if (rc == 0 && !symbi_dlv_http_url(url))
        rc = symbi_dlv_fail(r, hook ? "slack: slack_webhook_url (after ${VAR} expansion) is not "
                                      "an http:// or https:// URL"
                                    : "slack: slack_api_base is not an http:// or https:// URL");
    if (rc == 0) {
        json_t *o = json_object();
        json_object_set_new(o, "text", symbi_json_text(text, strlen(text)));
        if (chan != NULL && *chan != '\0')
            json_object_set_new(o, "channel", symbi_json_text(chan, strlen(chan)));
        body = symbi_json_dump_compact(o);
        json_decref(o);
        if (body == NULL)
            rc = symbi_dlv_fail(r, "out of memory");
    }
    struct dlv_http_res *res = rc == 0 ? malloc(sizeof *res) : NULL;
    if (rc == 0 && res == NULL)
        rc = symbi_dlv_fail(r, "out of memory");
    if (rc == 0) {
        const char *h[1] = {auth};
        rc = symbi_dlv_http_post(d, url, h, hook ? 0 : 1, body, &sec, r, res);
    }
    if (rc == 0 && !hook) {
        char why[160];
        if (!symbi_dlv_slack_ok(res->body, res->body_len, why, sizeof why)) {
            rc = symbi_dlv_fail(r, "slack: chat.postMessage answered %s", why);
            symbi_dlv_redact(&sec, r->error, sizeof r->error);
        }
    }
    free(res);
    free(text);
    free(url);
    free(auth);
    free(body);
    free(chan);
    symbi_dlv_secrets_cleanup(&sec);
    return rc;
}

bool symbi_dlv_slack_ok(const char *body, size_t len, char *why, size_t cap)
{
    /* the Web API answers 200 with {"ok": false, "error": "..."} */
    json_t *ans = json_loadb(body, len, 0, NULL);
    bool ok = json_is_true(json_object_get(ans, "ok"));
    if (!ok) {
        const char *e = json_string_value(json_object_get(ans, "error"));
        snprintf(why, cap, "%s", e != NULL ? e : "without \"ok\": true");
        why[symbi_dlv_cut(why, strlen(why), cap - 1)] = '\0';
    }
    json_decref(ans);
    return ok;
}

const struct symbi_delivery_router symbi_dlv_slack = {route_slack, NULL};
