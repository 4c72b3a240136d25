/* conns.c - the header deadline against slow clients (SPEC §15): every open
 * connection is tracked from microhttpd's connection notifications, and a
 * reaper thread shuts down those that have not sent a complete request
 * header within header_timeout of being accepted or of their last answer
 * (microhttpd's own timeout is an idle one, reset by every byte). */
#include "http/http_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define REAP_LOG_EVERY_MS 10000

struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    _Atomic int64_t phase_start; /* monotonic ms: accepted, or the last answer sent */
    atomic_bool in_header;       /* waiting for a complete request header */
};

struct http_conns {
    pthread_mutex_t mu; /* the list; marks are atomics and need no lock */
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    struct http_conn head; /* sentinel of a circular list */
    int64_t header_timeout_ms;
    int64_t reaped, reaped_logged, last_log_mono;
};

bool http_conn_overdue(bool in_header, int64_t phase_start, int64_t now, int64_t timeout_ms)
{
    return in_header && now - phase_start >= timeout_ms;
}

static void reap(struct http_conns *cs, int64_t now)
{
    pthread_mutex_lock(&cs->mu);
    for (struct http_conn *c = cs->head.next; c != &cs->head; c = c->next) {
        /* in this order: request_done stores phase_start before in_header */
        bool in_header = atomic_load(&c->in_header);
        int64_t start = atomic_load(&c->phase_start);
        if (!http_conn_overdue(in_header, start, now, cs->header_timeout_ms))
            continue;
        /* the fd stays open until the CLOSED notification, which waits for
         * this lock: it cannot be another connection's socket by now */
        shutdown(c->fd, SHUT_RDWR);
        atomic_store(&c->in_header, false);
        cs->reaped++;
    }
    pthread_mutex_unlock(&cs->mu);
    if (cs->reaped > cs->reaped_logged && now - cs->last_log_mono >= REAP_LOG_EVERY_MS) {
        symbi_log(SYMBI_LOG_WARN, "api",
                  "closed %lld connection(s) that sent no complete request header within %llds "
                  "(%lld in all)",
                  (long long)(cs->reaped - cs->reaped_logged),
                  (long long)(cs->header_timeout_ms / 1000), (long long)cs->reaped);
        cs->reaped_logged = cs->reaped;
        cs->last_log_mono = now;
    }
}

static void *reaper(void *p)
{
    struct http_conns *cs = p;
    /* a quarter of the deadline between sweeps: a slow client is closed
     * at most 25 % after its deadline */
    int64_t period = cs->header_timeout_ms / 4;
    if (period < 50)
        period = 50;
    if (period > 1000)
        period = 1000;
    pthread_mutex_lock(&cs->mu);
    while (!cs->stop) {
        struct timespec ts;
        symbi_mono_deadline(period, &ts);
        pthread_cond_timedwait(&cs->cv, &cs->mu, &ts);
        if (cs->stop)
            break;
        pthread_mutex_unlock(&cs->mu);
        reap(cs, symbi_now_mono_ms());
        pthread_mutex_lock(&cs->mu);
    }
    pthread_mutex_unlock(&cs->mu);
    return NULL;
}

int http_conns_new(int64_t header_timeout_ms, struct http_conns **out, struct symbi_err *err)
{
    struct http_conns *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    cs->header_timeout_ms = header_timeout_ms;
    cs->head.next = cs->head.prev = &cs->head;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cs->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&cs->mu, NULL);
    if (pthread_create(&cs->thread, NULL, reaper, cs) != 0) {
        http_conns_free(cs);
        return symbi_err_set(err, SYMBI_ENOMEM, "cannot start the connection reaper");
    }
    cs->running = true;
    *out = cs;
    return 0;
}

void http_conns_halt(struct http_conns *cs)
{
    if (cs == NULL || !cs->running)
        return;
    pthread_mutex_lock(&cs->mu);
    cs->stop = true;
    pthread_cond_signal(&cs->cv);
    pthread_mutex_unlock(&cs->mu);
    pthread_join(cs->thread, NULL);
    cs->running = false;
}

void http_conns_free(struct http_conns *cs)
{
    if (cs == NULL)
        return;
    http_conns_halt(cs);
    /* microhttpd has stopped: every connection was closed and unlinked */
    struct http_conn *c = cs->head.next;
    while (c != &cs->head) {
        struct http_conn *next = c->next;
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&cs->mu);
    pthread_cond_destroy(&cs->cv);
    free(cs);
}

void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    struct http_conns *cs = cls;
    struct http_conn *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = ci != NULL ? calloc(1, sizeof *c) : NULL;
        if (c == NULL)
            return; /* untracked: microhttpd's idle timeout still applies */
        c->fd = ci->connect_fd;
        atomic_store(&c->phase_start, symbi_now_mono_ms());
        atomic_store(&c->in_header, true);
        pthread_mutex_lock(&cs->mu);
        c->next = &cs->head;
        c->prev = cs->head.prev;
        cs->head.prev->next = c;
        cs->head.prev = c;
        pthread_mutex_unlock(&cs->mu);
        *socket_context = c;
    } else if (c != NULL) {
        pthread_mutex_lock(&cs->mu);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&cs->mu);
        free(c);
        *socket_context = NULL;
    }
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

void http_conns_header_done(struct MHD_Connection *conn)
{
    struct http_conn *c = conn_of(conn);
    if (c != NULL)
        atomic_store(&c->in_header, false);
}

void http_conns_request_done(struct MHD_Connection *conn)
{
    struct http_conn *c = conn_of(conn);
    if (c != NULL) {
        atomic_store(&c->phase_start, symbi_now_mono_ms());
        atomic_store(&c->in_header, true);
    }
}
