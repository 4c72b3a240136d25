/* server.c - the HTTP server on GNU libmicrohttpd: listening and its
 * connection limits, the per-request life cycle (checks, routing,
 * authentication, body, JSON), protected mode and the API-key cache. */
#include "http/http_internal.h"
#include "symbi/policy.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_CACHE_TTL_MS          500
#define DEFAULT_HEADER_TIMEOUT_MS 10000
#define DEFAULT_MAX_CONNECTIONS   1000
#define DEFAULT_MAX_PER_IP        64
#define IDLE_TIMEOUT_S            30 /* microhttpd's: no byte in either direction */

struct key_entry {
    struct symbi_key_verifier v;
    char name[64];
    unsigned scopes; /* SYMBI_SCOPE_* */
};

struct symbi_http_server {
    struct MHD_Daemon *mhd;
    char *store_url;
    char *listen;
    int64_t max_body;
    bool protect_health;
    bool upstream_health;
    int max_concurrent;
    int64_t approval_timeout_ms;
    struct symbi_http_hooks hooks;
    pthread_key_t tls_store;
    int port;
    int64_t started_mono;
    /* API keys: the stored ones, refreshed every KEY_CACHE_TTL_MS by one
     * thread at a time (refresh_mu) while the others keep reading the
     * previous set (keys_lock, read-mostly: readers never wait on readers) */
    /* API writes take turns here rather than in SQLite's busy handler,
     * whose sleeping back-off (up to 100 ms a try) made the tail latency
     * of concurrent POSTs seconds long */
    pthread_mutex_t write_mu;
    pthread_rwlock_t keys_lock;
    pthread_mutex_t refresh_mu;
    struct key_entry *keys;
    size_t n_keys;
    atomic_bool keys_loaded;
    _Atomic int64_t keys_mono;
    _Atomic int64_t change_seq; /* http_change_seq */
    bool has_env_key;
    struct symbi_key_verifier env_key;
    struct http_conns *conns;
};

/* Per-request state, from the URI log callback to the request's end. */
struct conn_ctx {
    bool started;        /* the access handler has seen the header */
    bool bad_target;     /* a control byte in the raw request target */
    const char *raw_uri; /* the target as received (in microhttpd's buffer) */
    size_t raw_uri_len;
    bool chunked;
    struct http_body_scan scan; /* chunked bodies: still one JSON object? */
    const struct http_route *route;
    char scratch[HTTP_MAX_URL + HTTP_MAX_PARAMS];
    const char *params[HTTP_MAX_PARAMS];
    size_t n_params;
    const char *actor;
    char actor_buf[80];
    char ui_actor_buf[96];
    bool protected_mode; /* served without a key: no key exists */
    unsigned scopes;     /* the authenticated caller's SYMBI_SCOPE_* */
    struct symbi_buf body;
    bool too_big;
};

/* ---------------------------------------------------------------- context */

struct http_thread *http_thread(struct http_req *r, bool reply)
{
    struct symbi_http_server *srv = r->srv;
    struct http_thread *t = pthread_getspecific(srv->tls_store);
    if (t != NULL)
        return t;
    struct symbi_err err = {0};
    t = calloc(1, sizeof *t);
    if (t == NULL || symbi_store_open(srv->store_url, &t->st, &err) != 0) {
        free(t);
        symbi_log(SYMBI_LOG_ERROR, "api", "cannot open store: %s", err.msg);
        if (reply)
            http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "STORE_UNAVAILABLE", NULL,
                             "store unavailable: %s", err.msg[0] ? err.msg : "out of memory");
        return NULL;
    }
    pthread_setspecific(srv->tls_store, t);
    return t;
}

struct symbi_store *http_store(struct http_req *r, bool reply)
{
    struct http_thread *t = http_thread(r, reply);
    return t != NULL ? t->st : NULL;
}

static void close_tls_store(void *p)
{
    struct http_thread *t = p;
    symbi_store_close(t->st);
    free(t->list_key);
    free(t->list_text);
    free(t);
}

const char *http_query(struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool http_query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                    int64_t *out)
{
    const char *v = http_query(r, name);
    if (v == NULL || *v == '\0') {
        *out = def;
        return true;
    }
    if (strlen(v) > 20 || symbi_parse_i64(v, min, max, out) != 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "INVALID_QUERY",
                         json_pack("{s:s}", "field", name),
                         "query parameter %s must be an integer in %lld..%lld", name,
                         (long long)min, (long long)max);
        return false;
    }
    return true;
}

void http_wake(struct http_req *r)
{
    if (r->srv->hooks.wake != NULL)
        r->srv->hooks.wake(r->srv->hooks.ud);
}

int http_sched_stats(struct http_req *r, struct symbi_http_sched_stats *out)
{
    if (r->srv->hooks.stats == NULL)
        return SYMBI_ENOSCHED;
    return r->srv->hooks.stats(r->srv->hooks.ud, out);
}

bool http_upstream_health(const struct http_req *r)
{
    return r->srv->upstream_health;
}

int http_max_concurrent(const struct http_req *r)
{
    return r->srv->max_concurrent;
}

int64_t http_uptime_s(struct http_req *r)
{
    return (symbi_now_mono_ms() - r->srv->started_mono) / 1000;
}

/* ---------------------------------------------------------------- API keys */

static bool keys_fresh(struct symbi_http_server *srv, int64_t mono)
{
    return atomic_load_explicit(&srv->keys_loaded, memory_order_acquire) &&
           mono - atomic_load_explicit(&srv->keys_mono, memory_order_relaxed) < KEY_CACHE_TTL_MS;
}

/* Reloads the stored keys into the cache when older than the TTL, unless
 * another thread is doing it. A failure keeps the previous cache. */
static void keys_refresh(struct symbi_http_server *srv, struct symbi_store *st, int64_t mono)
{
    if (keys_fresh(srv, mono) || st == NULL || pthread_mutex_trylock(&srv->refresh_mu) != 0)
        return;
    struct symbi_api_key *list = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    struct key_entry *keys = NULL;
    if (keys_fresh(srv, mono)) {
        goto out;
    } else if (symbi_store_api_key_list(st, &list, &n, &err) != 0) {
        symbi_log(SYMBI_LOG_WARN, "api", "cannot read API keys: %s", err.msg);
        goto out;
    }
    keys = calloc(n ? n : 1, sizeof *keys);
    if (keys != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (list[i].revoked_at != SYMBI_TIME_NONE)
                continue;
            if (symbi_policy_verifier_init(&keys[k].v, list[i].salt, list[i].hash) != 0 ||
                symbi_policy_scopes_parse(list[i].scopes, &keys[k].scopes, NULL) != 0)
                continue; /* unreadable: the key is refused, never given full rights */
            snprintf(keys[k].name, sizeof keys[k].name, "%s", list[i].name ? list[i].name : "");
            k++;
        }
        pthread_rwlock_wrlock(&srv->keys_lock);
        struct key_entry *old = srv->keys;
        srv->keys = keys;
        srv->n_keys = k;
        pthread_rwlock_unlock(&srv->keys_lock);
        free(old);
        atomic_store_explicit(&srv->keys_mono, mono, memory_order_relaxed);
        atomic_store_explicit(&srv->keys_loaded, true, memory_order_release);
    }
    symbi_api_key_list_free(list, n);
out:
    pthread_mutex_unlock(&srv->refresh_mu);
}

enum auth_result { AUTH_OK, AUTH_MISSING, AUTH_BAD, AUTH_NOT_LOOPBACK };

/* Checks the request's credentials; on success sets ctx->actor. */
static enum auth_result authenticate(struct symbi_http_server *srv, struct http_req *r,
                                     struct conn_ctx *ctx)
{
    int64_t mono = symbi_now_mono_ms();
    if (!keys_fresh(srv, mono))
        keys_refresh(srv, http_store(r, false), mono);
    pthread_rwlock_rdlock(&srv->keys_lock);
    /* fail closed: until the stored keys could be read once, assume some exist */
    bool have_keys = srv->has_env_key || srv->n_keys > 0 ||
                     !atomic_load_explicit(&srv->keys_loaded, memory_order_acquire);
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    enum auth_result res = AUTH_MISSING;
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *key = h + 7;
        while (*key == ' ')
            key++;
        size_t klen = strlen(key);
        const char *who = NULL;
        res = AUTH_BAD;
        unsigned scopes = 0;
        if (srv->has_env_key && symbi_policy_key_matches(&srv->env_key, key, klen)) {
            who = "env";
            scopes = SYMBI_SCOPE_ALL;
        }
        /* every key is tried, so timing does not say which one matched */
        for (size_t i = 0; i < srv->n_keys; i++)
            if (symbi_policy_key_matches(&srv->keys[i].v, key, klen) && who == NULL) {
                who = srv->keys[i].name;
                scopes = srv->keys[i].scopes;
            }
        ctx->scopes = scopes;
        if (who != NULL) {
            snprintf(ctx->actor_buf, sizeof ctx->actor_buf, "api-key:%s", who);
            ctx->actor = ctx->actor_buf;
            res = AUTH_OK;
        }
    }
    pthread_rwlock_unlock(&srv->keys_lock);
    if (res == AUTH_OK || have_keys)
        return res;
    /* protected mode: no key exists; loopback callers need none */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && http_sockaddr_is_loopback(ci->client_addr)) {
        ctx->actor = "api";
        ctx->protected_mode = true;
        ctx->scopes = SYMBI_SCOPE_ALL;
        return AUTH_OK;
    }
    return AUTH_NOT_LOOPBACK;
}

/* Protected mode as of now for a route that needs no key (keys refreshed
 * like authenticate's). */
static bool protected_now(struct symbi_http_server *srv, struct http_req *r)
{
    int64_t mono = symbi_now_mono_ms();
    if (!keys_fresh(srv, mono))
        keys_refresh(srv, http_store(r, false), mono);
    return symbi_http_protected_mode(srv);
}

int64_t http_change_seq(struct http_req *r, bool bump)
{
    struct http_thread *t = http_thread(r, false);
    int64_t mark = 0;
    if (bump && t != NULL && symbi_store_change_mark(t->st, &mark) == 0 &&
        (!t->seen || t->seen_mark != mark)) {
        t->seen = true;
        t->seen_mark = mark;
        return atomic_fetch_add(&r->srv->change_seq, 1) + 1;
    }
    return atomic_load(&r->srv->change_seq);
}

int64_t http_approval_timeout(const struct http_req *r)
{
    return r->srv->approval_timeout_ms;
}

bool symbi_http_protected_mode(struct symbi_http_server *srv)
{
    pthread_rwlock_rdlock(&srv->keys_lock);
    bool prot = !srv->has_env_key && atomic_load(&srv->keys_loaded) && srv->n_keys == 0;
    pthread_rwlock_unlock(&srv->keys_lock);
    return prot;
}

/* ---------------------------------------------------------------- requests */

/* Checks done once the headers are in, before any body is read. Returns
 * false after setting an error answer in r. */
static bool check_headers(struct symbi_http_server *srv, struct http_req *r, struct conn_ctx *ctx,
                          const char *version)
{
    struct http_head head;
    if (!http_check_framing(r, version, ctx->raw_uri, ctx->raw_uri_len, &head))
        return false;
    ctx->chunked = head.chunked;
    if (ctx->bad_target) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "BAD_PATH", NULL,
                         "a control byte (such as %%00) in the request path or query");
        return false;
    }
    if (strlen(r->url) > HTTP_MAX_URL) {
        http_reply_error(r, MHD_HTTP_URI_TOO_LONG, "URI_TOO_LONG", NULL, "request path too long");
        return false;
    }
    /* routing: the path, then the method */
    const char *allow = NULL;
    for (size_t i = 0; i < http_n_routes; i++) {
        const struct http_route *rt = &http_routes[i];
        size_t np = 0;
        if (!http_route_match(rt->pattern, r->url, ctx->scratch, sizeof ctx->scratch, ctx->params,
                              &np))
            continue;
        if (strcmp(rt->method, r->method) == 0 ||
            (strcmp(r->method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            ctx->route = rt;
            ctx->n_params = np;
            break;
        }
        allow = rt->method;
    }
    bool is_public = ctx->route != NULL && ((ctx->route->is_public && !srv->protect_health) ||
                                            ctx->route->fn == http_h_ui);
    if (is_public) {
        ctx->actor = "api";
        ctx->protected_mode = protected_now(srv, r);
    } else {
        switch (authenticate(srv, r, ctx)) {
        case AUTH_OK:
            break;
        case AUTH_MISSING:
            http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", NULL,
                             "missing API key: send Authorization: Bearer <key>");
            return false;
        case AUTH_BAD:
            http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", NULL,
                             "invalid or revoked API key");
            return false;
        case AUTH_NOT_LOOPBACK:
            http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED", NULL,
                             "protected mode: no API key exists, so only loopback clients are "
                             "served; create one with `symbi api-key create --name NAME`");
            return false;
        }
    }
    /* no web page may reach a daemon that asks for no key (DNS rebinding,
     * cross-site forms) */
    if (ctx->protected_mode && !http_check_site(r))
        return false;
    if (ctx->route == NULL) {
        if (allow != NULL) {
            r->allow = allow;
            http_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                             json_pack("{s:s}", "allow", allow), "method %s not allowed on %s",
                             r->method, r->url);
        } else {
            http_reply_error(r, MHD_HTTP_NOT_FOUND, "NOT_FOUND", NULL, "no route %s %s", r->method,
                             r->url);
        }
        return false;
    }
    if (!is_public) {
        ctx->actor =
            http_ui_actor(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Symbi-Client"),
                          ctx->actor, ctx->ui_actor_buf, sizeof ctx->ui_actor_buf);
        r->actor = ctx->actor;
        if (!http_check_scope(r, ctx->route, ctx->scopes))
            return false;
    }
    return http_check_body_head(r, &head, srv->max_body);
}

/* Parses the body (when the route takes one) and runs the handler. */
static void dispatch(struct http_req *r, struct conn_ctx *ctx)
{
    const struct http_route *rt = ctx->route;
    size_t blen = ctx->body.len;
    const char *body = symbi_buf_str(&ctx->body);
    if (rt->has_body && blen > 0) {
        if (http_json_depth_check(body, blen, HTTP_MAX_JSON_DEPTH) != 0) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "INVALID_JSON",
                             json_pack("{s:i}", "max_depth", HTTP_MAX_JSON_DEPTH),
                             "JSON nested deeper than %d levels", HTTP_MAX_JSON_DEPTH);
            return;
        }
        json_error_t je;
        json_t *j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je);
        if (j == NULL) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "INVALID_JSON",
                             json_pack("{s:i,s:i}", "line", je.line, "column", je.column),
                             "invalid JSON: %s", je.text);
            return;
        }
        if (!json_is_object(j)) {
            json_decref(j);
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "INVALID_JSON", NULL,
                             "the request body must be a JSON object");
            return;
        }
        r->json = j;
    }
    for (size_t i = 0; i < ctx->n_params; i++)
        r->params[i] = ctx->params[i];
    r->n_params = ctx->n_params;
    r->actor = ctx->actor;
    bool writes = strcmp(rt->method, "GET") != 0;
    if (writes)
        pthread_mutex_lock(&r->srv->write_mu);
    r->now = symbi_now_wall_ms();
    rt->fn(r);
    if (writes)
        pthread_mutex_unlock(&r->srv->write_mu);
}

/* Before the header: a request's state starts here, with its target as
 * received (microhttpd cuts the decoded path at a %00). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    struct symbi_http_server *srv = cls;
    struct conn_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    symbi_buf_init(&ctx->body, (size_t)srv->max_body);
    ctx->raw_uri = uri;
    ctx->raw_uri_len = strlen(uri);
    ctx->bad_target = http_target_has_ctl(uri);
    return ctx;
}

static void end_request(struct http_req *r)
{
    json_decref(r->out);
    json_decref(r->json);
    free(r->text);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct symbi_http_server *srv = cls;
    struct http_req r = {.srv = srv, .conn = c, .method = method, .url = url, .status = 200};
    struct conn_ctx *ctx = *con_cls;
    enum MHD_Result rc;
    if (ctx == NULL) /* out of memory in on_uri */
        return MHD_NO;
    if (!ctx->started) {
        ctx->started = true;
        http_conns_header_done(c);
        if (!check_headers(srv, &r, ctx, version)) {
            ctx->route = NULL;
            rc = http_send_answer(c, &r);
            end_request(&r);
            return rc;
        }
        return MHD_YES;
    }
    if (ctx->route == NULL) /* answered already; discard whatever still arrives */
        return MHD_YES;
    if (*upload_data_size > 0) {
        /* a chunked body has no announced end: once it cannot be one JSON
         * object (bytes after it: a chunk size larger than what was sent),
         * answer now rather than wait for data that will never come */
        if (ctx->chunked && !ctx->too_big &&
            http_body_scan(&ctx->scan, upload_data, *upload_data_size) != 0) {
            *upload_data_size = 0;
            http_reply_error(&r, MHD_HTTP_BAD_REQUEST, "BAD_FRAMING", NULL,
                             "the chunked body is not one JSON object (bad chunk size?)");
            http_answer_now(c, &r);
            end_request(&r);
            ctx->route = NULL;
            return MHD_NO;
        }
        if (!ctx->too_big && symbi_buf_append(&ctx->body, upload_data, *upload_data_size) != 0)
            ctx->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->too_big)
        http_reply_error(&r, 413, "PAYLOAD_TOO_LARGE",
                         json_pack("{s:I}", "max_body_bytes", (json_int_t)srv->max_body),
                         "request body exceeds max_body_bytes (%lld)", (long long)srv->max_body);
    else
        dispatch(&r, ctx);
    if (r.status >= 500)
        symbi_log(SYMBI_LOG_WARN, "api", "%s %s status=%u", method, url, r.status);
    rc = http_send_answer(c, &r);
    end_request(&r);
    ctx->route = NULL;
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    struct conn_ctx *ctx = *con_cls;
    http_conns_request_done(c);
    if (ctx == NULL)
        return;
    symbi_buf_cleanup(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

/* microhttpd logs a line for every refused or broken connection: during a
 * flood of them, each such message is logged at most every NOISY_EVERY_MS
 * with the number of times it was seen. */
#define NOISY_EVERY_MS 10000
static const char *const noisy[] = {"Server reached connection limit",
                                    "Connection was closed by remote side",
                                    "Connection socket is closed"};
static _Atomic int64_t noisy_seen[SYMBI_ARRAY_LEN(noisy)];
static _Atomic int64_t noisy_last[SYMBI_ARRAY_LEN(noisy)];

/* the format comes from microhttpd (MHD_OPTION_EXTERNAL_LOGGER): declared as
 * one so the compiler accepts handing it on to vsnprintf */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(noisy); i++) {
        if (strncmp(msg, noisy[i], strlen(noisy[i])) != 0)
            continue;
        atomic_fetch_add(&noisy_seen[i], 1);
        int64_t now = symbi_now_mono_ms(), last = atomic_load(&noisy_last[i]);
        if ((last != 0 && now - last < NOISY_EVERY_MS) ||
            !atomic_compare_exchange_strong(&noisy_last[i], &last, now))
            return;
        symbi_log(SYMBI_LOG_WARN, "api", "microhttpd: %s (%lld times since the last report)", msg,
                  (long long)atomic_exchange(&noisy_seen[i], 0));
        return;
    }
    symbi_log(SYMBI_LOG_WARN, "api", "microhttpd: %s", msg);
}

/* ---------------------------------------------------------------- life cycle */

int symbi_http_mode_parse(const char *s, enum symbi_http_mode *out)
{
    static const char *const names[] = {"pool", "epoll", "thread"};
    for (size_t i = 0; s != NULL && i < SYMBI_ARRAY_LEN(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum symbi_http_mode)i;
            return 0;
        }
    }
    return SYMBI_EINVAL;
}

int symbi_http_port(const struct symbi_http_server *srv)
{
    return srv->port;
}

void symbi_http_stop(struct symbi_http_server *srv)
{
    if (srv == NULL)
        return;
    http_conns_halt(srv->conns);
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    http_conns_free(srv->conns);
    pthread_key_delete(srv->tls_store);
    pthread_rwlock_destroy(&srv->keys_lock);
    pthread_mutex_destroy(&srv->refresh_mu);
    pthread_mutex_destroy(&srv->write_mu);
    free(srv->keys);
    free(srv->store_url);
    free(srv->listen);
    free(srv);
}

static int load_keys_once(struct symbi_http_server *srv, struct symbi_err *err)
{
    struct symbi_store *st = NULL;
    int rc = symbi_store_open(srv->store_url, &st, err);
    if (rc != 0)
        return rc;
    keys_refresh(srv, st, symbi_now_mono_ms());
    bool loaded = atomic_load(&srv->keys_loaded);
    symbi_store_close(st);
    if (!loaded)
        return symbi_err_set(err, SYMBI_ESTORE, "cannot read API keys from the store");
    return 0;
}

int symbi_http_check_key(const char *key, struct symbi_err *err)
{
    /* a guessable key must not turn protected mode off */
    size_t klen = key != NULL ? strlen(key) : 0;
    if (klen > 0 && klen < SYMBI_HTTP_KEY_MIN_LEN)
        return symbi_err_set(err, SYMBI_EINVAL,
                             "SYMBI_API_KEY ([api] api_key) is %zu characters; an API key "
                             "needs at least %d (make one with `symbi api-key create`)",
                             klen, SYMBI_HTTP_KEY_MIN_LEN);
    return 0;
}

int symbi_http_start(const struct symbi_http_config *cfg, struct symbi_http_server **out,
                     struct symbi_err *err)
{
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    bool loopback = false;
    const char *listen = cfg->listen != NULL ? cfg->listen : "127.0.0.1:8080";
    int rc = http_parse_listen(listen, &addr, &alen, &loopback, err);
    if (rc != 0)
        return rc;
    if (cfg->store_url == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "http: no store URL");
    struct symbi_http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* a refresh must not starve behind a steady stream of readers */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&srv->keys_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&srv->refresh_mu, NULL);
    pthread_mutex_init(&srv->write_mu, NULL);
    if (pthread_key_create(&srv->tls_store, close_tls_store) != 0) {
        pthread_rwlock_destroy(&srv->keys_lock);
        pthread_mutex_destroy(&srv->refresh_mu);
        pthread_mutex_destroy(&srv->write_mu);
        free(srv);
        return symbi_err_set(err, SYMBI_ENOMEM, "cannot create thread-local storage");
    }
    srv->store_url = symbi_strdup(cfg->store_url);
    srv->listen = symbi_strdup(listen);
    srv->max_body = cfg->max_body_bytes > 0 ? cfg->max_body_bytes : 1024 * 1024;
    srv->protect_health = cfg->protect_health;
    srv->upstream_health = cfg->upstream_health;
    srv->max_concurrent = cfg->max_concurrent;
    srv->approval_timeout_ms = cfg->approval_timeout_ms;
    if (cfg->hooks != NULL)
        srv->hooks = *cfg->hooks;
    srv->started_mono = symbi_now_mono_ms();
    /* Large answers (a list of 1,000 jobs is ~750 KB) would otherwise be
     * mmap'd and unmapped, or grow and trim a worker's arena, on every
     * request: page faults made such a list 15x slower. Keep them in the
     * heap. Process-wide, set once by the daemon's server. */
    mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    if (srv->store_url == NULL || srv->listen == NULL) {
        symbi_http_stop(srv);
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    if (cfg->api_key != NULL && *cfg->api_key != '\0') {
        int krc = symbi_http_check_key(cfg->api_key, err);
        if (krc != 0) {
            symbi_http_stop(srv);
            return krc;
        }
        char salt[SYMBI_KEY_SALT_HEXLEN + 1], hash[SYMBI_KEY_HASH_HEXLEN + 1];
        if (symbi_policy_key_salt(salt) != 0 ||
            symbi_policy_key_hash(cfg->api_key, salt, hash) != 0 ||
            symbi_policy_verifier_init(&srv->env_key, salt, hash) != 0) {
            symbi_http_stop(srv);
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "SYMBI_API_KEY: unusable key (at most %d bytes)",
                                 SYMBI_API_KEY_MAX_LEN);
        }
        srv->has_env_key = true;
    }
    rc = load_keys_once(srv, err);
    if (rc != 0) {
        symbi_http_stop(srv);
        return rc;
    }
    if (!loopback && symbi_http_protected_mode(srv)) {
        symbi_http_stop(srv);
        return symbi_err_set(err, SYMBI_EDENIED,
                             "refusing to listen on %s: no API key exists (protected mode serves "
                             "loopback only); create one with `symbi api-key create --name NAME` "
                             "or set SYMBI_API_KEY",
                             listen);
    }

    int64_t header_ms =
        cfg->header_timeout_ms > 0 ? cfg->header_timeout_ms : DEFAULT_HEADER_TIMEOUT_MS;
    rc = http_conns_new(header_ms, &srv->conns, err);
    if (rc != 0) {
        symbi_http_stop(srv);
        return rc;
    }
    int max_conns = cfg->max_connections > 0 ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
    int per_ip = cfg->max_connections_per_ip > 0 ? cfg->max_connections_per_ip : DEFAULT_MAX_PER_IP;
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_INTERNAL_POLLING_THREAD;
    /* two per CPU by default: handlers block in the store (file locks), and
     * on 2 CPUs 4 threads served the single-job GET ~1.5x faster than 2 */
    int threads = cfg->threads > 0 ? cfg->threads : 2 * (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 2)
        threads = 2;
    if (cfg->mode == SYMBI_HTTP_PER_CONN)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    else
        flags |= MHD_USE_EPOLL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_conns_notify, srv->conns},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, max_conns, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {cfg->mode == SYMBI_HTTP_POOL ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         cfg->mode == SYMBI_HTTP_POOL ? threads : 0, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        symbi_http_stop(srv);
        return symbi_err_set(err, SYMBI_EIO, "cannot listen on %s (address in use or not local?)",
                             listen);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di != NULL ? di->port : 0;
    symbi_log(SYMBI_LOG_INFO, "api",
              "listening on %s port=%d mode=%s threads=%d protected=%s header_timeout=%lldms "
              "max_connections=%d per_ip=%d",
              listen, srv->port,
              cfg->mode == SYMBI_HTTP_POOL    ? "pool"
              : cfg->mode == SYMBI_HTTP_EPOLL ? "epoll"
                                              : "thread",
              cfg->mode == SYMBI_HTTP_POOL ? threads : 1,
              symbi_http_protected_mode(srv) ? "yes" : "no", (long long)header_ms, max_conns,
              per_ip);
    *out = srv;
    return 0;
}
