/* deliver_int.h - the delivery module's private parts: the router's state,
 * the built-in channels, secrets expanded at send time, and HTTP over curl. */
#ifndef SYMBI_DELIVER_INT_H
#define SYMBI_DELIVER_INT_H

#include "symbi/deliver.h"

#include <pthread.h>
#include <stdatomic.h>

#define DLV_BACKOFF_MAX_MS 30000
#define DLV_REPLY_MAX      4096 /* response body kept (Slack API answers, errors) */

struct dlv_channel {
    char name[SYMBI_DELIVER_NAME_MAX + 1];
    struct symbi_delivery_router impl;
    void *ud;
    bool owned; /* released by this router (not a process-wide channel) */
};

struct symbi_deliver {
    int64_t timeout_ms;
    int retry_attempts;
    int64_t backoff_ms;
    /* as written (may hold ${VAR}); expanded at each send */
    char *slack_api_token;
    char *slack_default_channel;
    char *slack_api_base;
    char *smtp_host;
    int smtp_port;
    char *smtp_username;
    char *smtp_password;
    bool smtp_require_tls;
    char *email_from;
    char *webhook_auth_header;
    char *log_dir;
    struct dlv_channel *chans; /* custom and registered channels */
    size_t n_chans;
    struct symbi_custom_channel *commands; /* ud of the command channels */
    size_t n_commands;
    int stdout_fd;
    _Atomic int64_t deadline; /* monotonic ms after which nothing is tried; 0: none */
    pthread_mutex_t stdout_lock;
};

/* ---- built-in channels (local.c, http.c, smtp.c) ---- */
extern const struct symbi_delivery_router symbi_dlv_stdout;
extern const struct symbi_delivery_router symbi_dlv_log_file;
extern const struct symbi_delivery_router symbi_dlv_webhook;
extern const struct symbi_delivery_router symbi_dlv_slack;
extern const struct symbi_delivery_router symbi_dlv_email;
/* a [scheduler.delivery.custom.NAME] channel; ud is its symbi_custom_channel */
extern const struct symbi_delivery_router symbi_dlv_command;

/* Sets the receipt's error (formatted); returns SYMBI_EIO for `return`. */
int symbi_dlv_fail(struct symbi_delivery_receipt *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- secrets (secret.c) ----
 * Values expanded from ${VAR} (and whole secret values) are remembered for
 * the send so that any error text can be scrubbed of them. */
#define DLV_SECRETS_MAX 32
struct dlv_secrets {
    char *v[DLV_SECRETS_MAX];
    size_t n;
};
void symbi_dlv_secrets_init(struct dlv_secrets *s);
void symbi_dlv_secrets_cleanup(struct dlv_secrets *s);
/* symbi_config_expand(tmpl), remembering each variable's value (and the
 * whole result when `whole`). Heap; NULL for NULL or out of memory. */
char *symbi_dlv_expand(struct dlv_secrets *s, const char *tmpl, bool whole);
/* Replaces every remembered value in text (NUL-terminated, cap bytes) by
 * "***". */
void symbi_dlv_redact(const struct dlv_secrets *s, char *text, size_t cap);
/* Whether a Slack Web API answer (len bytes, untrusted) says "ok": true;
 * when not, why (cap >= 1 bytes) gets its "error" or a description. */
bool symbi_dlv_slack_ok(const char *body, size_t len, char *why, size_t cap);
/* true when s holds CR, LF or another control character but TAB. */
bool symbi_dlv_has_ctl(const char *s);
/* true when url is http:// or https:// with a host. */
bool symbi_dlv_http_url(const char *url);
/* The number of bytes of s[0..len) to keep under max without cutting a
 * UTF-8 sequence. */
size_t symbi_dlv_cut(const char *s, size_t len, size_t max);

/* ---- HTTP (http.c) ---- */
struct dlv_http_res {
    long status;                  /* last HTTP status, 0: none */
    char body[DLV_REPLY_MAX + 1]; /* start of the last response body */
    size_t body_len;
};
/* POSTs body (application/json) to url with the extra header lines, with
 * the router's timeout and retries (connection failures, timeouts, 408,
 * 429 and 5xx are retried with doubling backoff). Returns 0 on a 2xx;
 * else fills r->error (scrubbed of sec). r->status and r->attempts set. */
int symbi_dlv_http_post(const struct symbi_deliver *d, const char *url, const char *const *headers,
                        size_t n_headers, const char *body, const struct dlv_secrets *sec,
                        struct symbi_delivery_receipt *r, struct dlv_http_res *res);
/* A curl easy handle for this thread, reset (kept per thread so that
 * connections are reused). NULL on out of memory. */
void *symbi_dlv_curl(void);
/* Initialises libcurl once per process. */
void symbi_dlv_curl_init(void);
/* Frees the calling thread's handle. */
void symbi_dlv_curl_release(void);
/* Makes handle h stop its transfer once d's deadline has passed. */
void symbi_dlv_curl_watch(void *h, const struct symbi_deliver *d);
/* Sleeps ms on the monotonic clock. */
void symbi_dlv_sleep_ms(int64_t ms);
/* The delay before retry number i (0-based). */
int64_t symbi_dlv_backoff(const struct symbi_deliver *d, int i);
/* The time one attempt may take now: the timeout, cut to the router's
 * deadline; 0 when the deadline has passed. */
int64_t symbi_dlv_attempt_ms(const struct symbi_deliver *d);
/* Sleeps the backoff before retry i unless it would end past the
 * deadline; false (no sleep) then. */
bool symbi_dlv_backoff_sleep(const struct symbi_deliver *d, int i);
/* The receipt error when the deadline stopped the channel. */
#define DLV_STOPPED "not tried again: the daemon is shutting down"
#define DLV_CUT_OFF "cut off: the daemon is shutting down"

#endif
