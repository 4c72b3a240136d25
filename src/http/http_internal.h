/* http_internal.h - private interface of the http module: the request a
 * handler sees, the route table, reply helpers, the per-thread store and
 * the pure helpers (route matching, JSON depth, listen addresses) that the
 * unit tests and fuzz target call directly. */
#ifndef SYMBI_HTTP_INTERNAL_H
#define SYMBI_HTTP_INTERNAL_H

#include "symbi/http.h"
#include "symbi/store.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sys/socket.h>

/* Limits (SPEC §15); docs/api.md lists them. */
#define HTTP_MAX_PARAMS       4
#define HTTP_MAX_JSON_DEPTH   32
#define HTTP_MAX_HEADER_BYTES (16 * 1024)
#define HTTP_MAX_HEADERS      100
#define HTTP_MAX_URL          2048
#define HTTP_MAX_SEGMENT      512
#define HTTP_MAX_LIST         10000 /* jobs or runs in one answer */
#define HTTP_MAX_NEXT_COUNT   100

struct http_req {
    struct symbi_http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *params[HTTP_MAX_PARAMS]; /* the route's {} segments, in order */
    size_t n_params;
    json_t *json; /* the parsed body object, or NULL when there was none */
    const char *actor;
    int64_t now; /* UTC ms, read once per request */
    /* the answer */
    unsigned status;
    json_t *out;       /* JSON answer (owned) */
    char *text;        /* or a text answer (heap, owned) */
    const char *ctype; /* content type of text */
    const char *allow; /* Allow header for 405 */
    bool close;        /* answer with Connection: close (bad framing) */
    bool ui_page;      /* a dashboard file: the page's security headers */
};

typedef void (*http_handler)(struct http_req *r);

struct http_route {
    const char *method;
    const char *pattern; /* segments, "{}" matches one non-empty segment */
    http_handler fn;
    bool is_public; /* health and metrics: no key unless protect_health */
    bool has_body;  /* takes a JSON object body */
    unsigned scope; /* SYMBI_SCOPE_* a key needs (0: public) */
};

extern const struct http_route http_routes[];
extern const size_t http_n_routes;

/* ---- reply helpers (handlers call exactly one) ---- */
/* Takes ownership of body (NULL: answers 500). */
void http_reply(struct http_req *r, unsigned status, json_t *body);
/* A JSON array of jobs[0..n) each shaped by to_json(job, flag); NULL when
 * out of memory. Frees nothing. */
json_t *http_jobs_json(const struct symbi_job *jobs, size_t n,
                       json_t *(*to_json)(const struct symbi_job *, bool), bool flag);
/* The error shape {"error","code","details"}; takes details (may be NULL). */
void http_reply_error(struct http_req *r, unsigned status, const char *code, json_t *details,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Maps a SYMBI_E* error to its status and code. */
void http_reply_err(struct http_req *r, const struct symbi_err *e);
/* Text answer (takes text). */
void http_reply_text(struct http_req *r, unsigned status, const char *ctype, char *text);
/* Queues r's answer on c (takes r->text, not r->out). */
enum MHD_Result http_send_answer(struct MHD_Connection *c, struct http_req *r);
/* Writes r's answer straight to c's socket, for a request refused while
 * its body arrives; the caller then returns MHD_NO (closes). */
void http_answer_now(struct MHD_Connection *c, struct http_req *r);

/* ---- context ---- */
/* What each worker thread keeps: its store handle, and the last rendered
 * job list with the store's change mark it was rendered at (a list is
 * re-rendered only after something in the store changed). */
struct http_thread {
    struct symbi_store *st;
    char *list_key;  /* the query that produced list_text */
    char *list_text; /* JSON */
    size_t list_len;
    int64_t list_mark;
    /* the store's change mark when this thread last answered
     * GET /api/v1/changes (h_dash.c), and whether it did */
    int64_t seen_mark;
    bool seen;
};
/* This thread's state, created on first use; NULL (after replying 503 when
 * reply) when the store cannot be opened. */
struct http_thread *http_thread(struct http_req *r, bool reply);
/* This thread's store handle, opened on first use from the server's URL.
 * NULL after replying 503 when it cannot be opened (reply = true), or
 * silently (reply = false). */
struct symbi_store *http_store(struct http_req *r, bool reply);
/* The query argument `name` or NULL. */
const char *http_query(struct http_req *r, const char *name);
/* Checked integer query argument in [min, max], default def when absent;
 * replies 400 and returns false when malformed. */
bool http_query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                    int64_t *out);
/* Tells the scheduler (if any) that something changed. */
void http_wake(struct http_req *r);
/* Replies 403 and writes an ApiAccessDenied audit event when the caller's
 * scopes (SYMBI_SCOPE_* mask) lack the route's; true when allowed. */
bool http_check_scope(struct http_req *r, const struct http_route *rt, unsigned scopes);
/* The server-wide change sequence for the dashboard's polling: a store
 * change mark is per connection, so each thread that sees its own mark
 * move (or answers for the first time) bumps one counter; a change is
 * never missed, a thread's first look may add one spurious step. */
int64_t http_change_seq(struct http_req *r, bool bump);
/* The configured default approval timeout (ms, <= 0: 1 h). */
int64_t http_approval_timeout(const struct http_req *r);
int http_sched_stats(struct http_req *r, struct symbi_http_sched_stats *out);
int64_t http_uptime_s(struct http_req *r);
/* [api] upstream_health: the scheduler-health route answers upstream's shape. */
bool http_upstream_health(const struct http_req *r);
/* The scheduler's max_concurrent_jobs as configured (0: not known). */
int http_max_concurrent(const struct http_req *r);

/* ---- shared by the route files ---- */
/* Loads the job named by the route's first parameter (id, id prefix or
 * name) into job (initialised by the call); replies 404 etc. on failure. */
bool http_load_job(struct http_req *r, struct symbi_store *st, struct symbi_job *job);
/* Creates a job from the API fields of obj, validated like the CLI's;
 * replies on failure. On success job holds it (caller cleans up). */
bool http_create_job(struct http_req *r, struct symbi_store *st, const json_t *obj,
                     struct symbi_job *job);
/* Applies obj (may be NULL) onto the job of the route's first parameter,
 * validates, recomputes next_run when the schedule changed, stores. */
bool http_update_job(struct http_req *r, struct symbi_store *st, const json_t *obj,
                     struct symbi_job *job);
/* Queues a manual run (SPEC §5.7) for the scheduler: refused (409) when
 * the job already runs max_concurrent times. Replies on failure; on
 * success *out holds the run and the caller replies. */
int http_queue_manual_run(struct http_req *r, struct symbi_store *st, const struct symbi_job *job,
                          const char *input, struct symbi_run *out);
/* For the actions that take no fields (pause, resume, reset, trigger):
 * true when the body is absent or {}; else replies 400 naming the first
 * field (a field accepted and ignored would be a silent no-op). */
bool http_body_fieldless(struct http_req *r);

/* The next fires of job, as many as the query's `count` asks (1 to
 * HTTP_MAX_NEXT_COUNT, dflt when absent): a new array, or NULL once the
 * error has been answered. */
json_t *http_next_fires_asked(struct http_req *r, const struct symbi_job *job, int64_t dflt);

/* ---- handlers (one per route) ---- */
void http_h_schedule_create(struct http_req *r);
void http_h_schedule_list(struct http_req *r);
void http_h_schedule_get(struct http_req *r);
void http_h_schedule_update(struct http_req *r);
void http_h_schedule_delete(struct http_req *r);
void http_h_schedule_pause(struct http_req *r);
void http_h_schedule_resume(struct http_req *r);
void http_h_schedule_reset(struct http_req *r);
void http_h_schedule_run(struct http_req *r);
void http_h_schedule_history(struct http_req *r);
void http_h_schedule_next_run(struct http_req *r);
/* h_context.c */
void http_h_schedule_context_get(struct http_req *r);
void http_h_schedule_context_clear(struct http_req *r);
void http_h_run_get(struct http_req *r);
void http_h_run_approve(struct http_req *r);
void http_h_run_deny(struct http_req *r);
void http_h_audit(struct http_req *r);
void http_h_health(struct http_req *r);
void http_h_health_scheduler(struct http_req *r);
/* Everything the scheduler-health answers report, read from the store
 * (h_health.c): jobs by status, runs running / queued / in total / by
 * outcome, the next due instant, and the average and longest execution
 * over the newest 200 finished runs. *h must start zeroed. */
struct http_health_figures {
    int64_t jobs[5];
    int64_t in_flight, queued, total, succeeded, failed, timed_out;
    double avg_ms;
    int64_t longest_ms;
    int64_t next_due;
};
int http_health_read(struct symbi_store *st, struct http_health_figures *h, struct symbi_err *err);
void http_h_up_health(struct http_req *r); /* upstream's shape, from http_h_health_scheduler */
void http_h_metrics(struct http_req *r);
void http_h_openapi(struct http_req *r);
/* the dashboard (SPEC §16): its files (h_ui.c) and its data routes (h_dash.c) */
/* The dashboard's files need no key even with protect_health (the
 * server tells them by this handler; protected mode's Host check still
 * applies). */
void http_h_ui(struct http_req *r);
void http_h_runs_list(struct http_req *r);
void http_h_activity(struct http_req *r);
void http_h_changes(struct http_req *r);
void http_h_schedule_fires(struct http_req *r);
/* The client that marks itself with `X-Symbi-Client: ui` is recorded as
 * actor "ui" (protected mode) or "ui:<key actor>" (with keys); the value
 * written into buf (cap bytes) when so, else actor unchanged. */
const char *http_ui_actor(const char *client, const char *actor, char *buf, size_t cap);

/* The dashboard's files (generated by the build: mk/ui_embed.py from ui/). */
struct http_ui_file {
    const char *name; /* "index.html", "app.js", ... */
    const char *ctype;
    const char *data;
    size_t len;
};
/* Adds the dashboard's security headers (CSP, framing, referrer, cache). */
void http_ui_headers(struct MHD_Response *resp);
extern const struct http_ui_file http_ui_files[];
extern const size_t http_ui_n_files;
void http_h_schedule_backfill(struct http_req *r); /* h_ops.c */
void http_h_schedule_why(struct http_req *r);      /* h_ops.c */
void http_h_up_create(struct http_req *r);
void http_h_up_list(struct http_req *r);
void http_h_up_get(struct http_req *r);
void http_h_up_update(struct http_req *r);
void http_h_up_delete(struct http_req *r);
void http_h_up_pause(struct http_req *r);
void http_h_up_resume(struct http_req *r);
void http_h_up_trigger(struct http_req *r);
void http_h_up_history(struct http_req *r);
void http_h_up_next_runs(struct http_req *r);

/* docs/openapi.yaml as compact JSON (generated by the build: mk/openapi_embed.py). */
extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

/* ---- pure helpers ---- */
/* Matches path against pattern; on success fills params (pointing into
 * the copy buffer scratch of size scratch_len) and returns true. */
bool http_route_match(const char *pattern, const char *path, char *scratch, size_t scratch_len,
                      const char **params, size_t *n_params);
/* 0 when the JSON text nests at most max deep (outside strings),
 * SYMBI_ETOOBIG otherwise. */
int http_json_depth_check(const char *p, size_t n, int max);
/* Parses "host:port", "[v6]:port" or "port" into addr; *loopback says
 * whether it is a loopback address. */
int http_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                      bool *loopback, struct symbi_err *err);
bool http_sockaddr_is_loopback(const struct sockaddr *sa);

/* ---- header checks (request.c); each replies and returns false ---- */
struct http_head {
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
};
/* Header count and size (431), then framing (400, Connection: close): a
 * NUL in the request line (version, raw_uri of raw_uri_len bytes as the
 * URI log callback saw it) or a header, two Content-Lengths, Content-Length
 * with Transfer-Encoding, a coding other than chunked, two Hosts. */
bool http_check_framing(struct http_req *r, const char *version, const char *raw_uri,
                        size_t raw_uri_len, struct http_head *out);
/* Protected mode: a loopback Host (421); for writes, an Origin, when
 * sent, of this listener (403). */
bool http_check_site(struct http_req *r);
/* A body over max_body (413); any body without application/json (415). */
bool http_check_body_head(struct http_req *r, const struct http_head *h, int64_t max_body);

/* ---- request guards (guard.c, pure) ---- */
/* true when the raw request target holds a control byte (< 0x20, 0x7f),
 * as is or percent-encoded (%00, %0a, ...). */
bool http_target_has_ctl(const char *raw);
/* true when host ("name[:port]", "[v6][:port]") names loopback:
 * "localhost" or a 127.0.0.0/8, ::1 or ::ffff:127.x literal; *port (may be
 * NULL) gets the port, 0 when absent. */
bool http_host_is_loopback(const char *host, int *port);
/* true when origin is "http://" + a loopback name with the same port as
 * host (absent ports are 80), i.e. a page served by this very listener. */
bool http_origin_same_site(const char *origin, const char *host);
/* true when [p, end) holds only NUL, space, tab, CR and LF. */
bool http_only_blank(const char *p, const char *end);
/* Incremental check that a body is one JSON object and nothing after it
 * but whitespace; zero-initialise, then feed the pieces as they come. */
struct http_body_scan {
    int depth;
    int state;
};
/* 0 while the bytes so far can still be one object, SYMBI_EPARSE once
 * they cannot (not starting with '{', or bytes after the object). */
int http_body_scan(struct http_body_scan *s, const char *p, size_t n);

/* ---- slow clients (conns.c) ---- */
struct http_conns;
/* Starts the reaper that closes connections without a complete request
 * header within header_timeout_ms. */
int http_conns_new(int64_t header_timeout_ms, struct http_conns **out, struct symbi_err *err);
/* Stops the reaper (before microhttpd stops); free after microhttpd. */
void http_conns_halt(struct http_conns *cs);
void http_conns_free(struct http_conns *cs);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the http_conns). */
void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* The request header of conn is complete / its answer was sent. */
void http_conns_header_done(struct MHD_Connection *conn);
void http_conns_request_done(struct MHD_Connection *conn);
/* The reaper's decision. */
bool http_conn_overdue(bool in_header, int64_t phase_start, int64_t now, int64_t timeout_ms);

#endif
