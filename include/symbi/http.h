/* http.h - the HTTP API server (SPEC §9, §12, §15): the guide's routes,
 * upstream Symbiont's routes, health, Prometheus metrics, API-key
 * authentication and protected mode, on GNU libmicrohttpd. */
#ifndef SYMBI_HTTP_H
#define SYMBI_HTTP_H

#include "symbi/core.h"

struct symbi_http_server;

/* The shortest API key accepted (SPEC §9): SYMBI_API_KEY or [api] api_key. */
#define SYMBI_HTTP_KEY_MIN_LEN 32

/* What the scheduler tells the health route (filled by its hook). */
struct symbi_http_sched_stats {
    int64_t in_flight; /* runs executing now */
    int64_t queued;    /* runs waiting for a slot */
    double lag_s;      /* how late the loop is against its due work (0: on time) */
    /* the store's writes (issue 10 #2): health is `unhealthy` while false */
    bool store_writable;
    int64_t store_failures;      /* failed writes since it last wrote */
    int64_t store_failing_since; /* wall ms; SYMBI_TIME_NONE when writable */
    int64_t unwritten;           /* run records waiting for the store */
    char store_error[256];
};

/* Optional callbacks into the scheduler running in the same process; every
 * pointer may be NULL (the server then runs alone, as in tests). */
struct symbi_http_hooks {
    /* A job changed or a manual run was queued: wake the loop now. */
    void (*wake)(void *ud);
    /* Current scheduler figures; return 0, or non-zero when unavailable. */
    int (*stats)(void *ud, struct symbi_http_sched_stats *out);
    void *ud;
};

enum symbi_http_mode {
    SYMBI_HTTP_POOL = 0, /* epoll, a pool of `threads` polling threads (default) */
    SYMBI_HTTP_EPOLL,    /* one epoll thread */
    SYMBI_HTTP_PER_CONN, /* a thread per connection */
};

struct symbi_http_config {
    const char *listen;         /* "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8080" (NULL: default) */
    const char *store_url;      /* each worker thread opens its own handle */
    int64_t max_body_bytes;     /* <= 0: 1 MiB */
    bool protect_health;        /* health and /metrics need a key too */
    bool upstream_health;       /* scheduler health in upstream's 13-key shape (SPEC §9.2) */
    int max_concurrent;         /* the scheduler's max_concurrent_jobs, for upstream health */
    const char *api_key;        /* SYMBI_API_KEY (NULL: none; else >= SYMBI_HTTP_KEY_MIN_LEN) */
    int64_t header_timeout_ms;  /* a request header must be complete within (<= 0: 10 s) */
    int max_connections;        /* open connections in all (<= 0: 1000) */
    int max_connections_per_ip; /* from one client address (<= 0: 64) */
    enum symbi_http_mode mode;
    int threads;                          /* pool size (<= 0: number of CPUs) */
    const char *node;                     /* this node's name for logs (may be NULL) */
    const struct symbi_http_hooks *hooks; /* may be NULL; copied */
    int64_t approval_timeout_ms;          /* [scheduler] approval_timeout (<= 0: 1 h) */
};

/* Parses "mode" names: "pool", "epoll", "thread" (for SYMBI_HTTP_MODE). */
int symbi_http_mode_parse(const char *s, enum symbi_http_mode *out);

/* SYMBI_EINVAL (with the message) when key is set but shorter than
 * SYMBI_HTTP_KEY_MIN_LEN; 0 for NULL, "" or a long enough key. Lets `symbi
 * up` refuse a bad key before anything runs. */
int symbi_http_check_key(const char *key, struct symbi_err *err);

/* Starts serving. Refuses (SYMBI_EDENIED, message says why) to listen on a
 * non-loopback address while no API key exists (protected mode), and
 * (SYMBI_EINVAL) an api_key shorter than SYMBI_HTTP_KEY_MIN_LEN.
 * SYMBI_EIO when the address cannot be bound, SYMBI_EINVAL for a bad
 * listen address. On success *out owns the server. */
int symbi_http_start(const struct symbi_http_config *cfg, struct symbi_http_server **out,
                     struct symbi_err *err);
/* The port actually bound (useful with port 0). */
int symbi_http_port(const struct symbi_http_server *srv);
/* true while no API key exists (unauthenticated loopback requests allowed). */
bool symbi_http_protected_mode(struct symbi_http_server *srv);
/* Stops accepting, finishes in-flight requests, frees everything. NULL ok. */
void symbi_http_stop(struct symbi_http_server *srv);

#endif
