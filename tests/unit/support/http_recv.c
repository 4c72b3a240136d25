/* http_recv.c - a small real HTTP/1.1 receiver on 127.0.0.1 (a thread per
 * connection, keep-alive, Content-Length bodies) for delivery tests. */
#include "support/http_recv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS  256
#define MAX_SCRIPT 64
#define MAX_HEAD   (64 * 1024)
#define MAX_BODY   (16 * 1024 * 1024)

struct http_recv {
    int lfd;
    int port;
    bool record;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    int script[MAX_SCRIPT];
    size_t n_script, next_script;
    char *body;
    struct http_recv_req *reqs;
    size_t n_reqs, cap_reqs;
    size_t count;
    pthread_t conns[MAX_CONNS];
    int conn_fds[MAX_CONNS];
    size_t n_conns;
};

struct conn_arg {
    struct http_recv *r;
    int fd;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The next scripted answer (200 when the script is used up). */
static int next_status(struct http_recv *r)
{
    int st = 200;
    if (r->next_script < r->n_script)
        st = r->script[r->next_script++];
    return st;
}

static void record(struct http_recv *r, const char *head, size_t head_len, char *body,
                   size_t body_len)
{
    r->count++;
    if (!r->record) {
        free(body);
        return;
    }
    if (r->n_reqs == r->cap_reqs) {
        size_t nc = r->cap_reqs ? r->cap_reqs * 2 : 16;
        struct http_recv_req *n = realloc(r->reqs, nc * sizeof *n);
        if (n == NULL) {
            free(body);
            return;
        }
        r->reqs = n;
        r->cap_reqs = nc;
    }
    struct http_recv_req *q = &r->reqs[r->n_reqs++];
    memset(q, 0, sizeof *q);
    sscanf(head, "%15s %511s", q->method, q->path);
    const char *eol = strstr(head, "\r\n");
    size_t off = eol != NULL ? (size_t)(eol + 2 - head) : head_len;
    q->headers = strndup(head + off, head_len - off);
    q->body = body;
    q->body_len = body_len;
    q->at_mono_ms = mono_ms();
}

static void *serve(void *arg)
{
    struct conn_arg ca = *(struct conn_arg *)arg;
    free(arg);
    struct http_recv *r = ca.r;
    char *buf = malloc(MAX_HEAD + 1);
    size_t have = 0;
    while (buf != NULL) {
        char *end = NULL;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL && have < MAX_HEAD) {
            ssize_t n = recv(ca.fd, buf + have, MAX_HEAD - have, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        if (end == NULL)
            goto done;
        size_t head_len = (size_t)(end - buf) + 2;
        buf[head_len] = '\0';
        size_t clen = 0;
        for (char *p = buf; (p = strcasestr(p, "\r\ncontent-length:")) != NULL; p += 2) {
            clen = strtoul(p + 17, NULL, 10);
            break;
        }
        if (clen > MAX_BODY)
            goto done;
        char *body = malloc(clen + 1);
        if (body == NULL)
            goto done;
        size_t got = have - (head_len + 2) < clen ? have - (head_len + 2) : clen;
        memcpy(body, end + 4, got);
        size_t rest = have - (head_len + 2) - got;
        while (got < clen) {
            ssize_t n = recv(ca.fd, body + got, clen - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                free(body);
                goto done;
            }
            got += (size_t)n;
        }
        body[clen] = '\0';
        pthread_mutex_lock(&r->mu);
        record(r, buf, head_len, body, clen);
        int st = next_status(r);
        char *ans = strdup(r->body != NULL ? r->body : "{}");
        pthread_cond_broadcast(&r->cv);
        if (st == HTTP_RECV_HANG) {
            while (!r->stopping)
                pthread_cond_wait(&r->cv, &r->mu);
            pthread_mutex_unlock(&r->mu);
            free(ans);
            goto done;
        }
        pthread_mutex_unlock(&r->mu);
        /* keep what followed this request (pipelining) */
        memmove(buf, buf + have - rest, rest);
        have = rest;
        size_t al = strlen(ans), cap = al + 256;
        char *out = malloc(cap);
        int w = -1;
        if (out != NULL) {
            int hn = snprintf(out, cap,
                              "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%s",
                              st, al, ans);
            w = write_all(ca.fd, out, (size_t)hn); /* one segment: no Nagle wait */
        }
        free(out);
        free(ans);
        if (w != 0)
            goto done;
    }
done:
    free(buf);
    shutdown(ca.fd, SHUT_RDWR);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct http_recv *r = arg;
    for (;;) {
        struct pollfd p = {r->lfd, POLLIN, 0};
        int n = poll(&p, 1, 50);
        pthread_mutex_lock(&r->mu);
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            return NULL;
        if (n <= 0)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn_arg *ca = malloc(sizeof *ca);
        pthread_mutex_lock(&r->mu);
        if (ca == NULL || r->n_conns >= MAX_CONNS) {
            pthread_mutex_unlock(&r->mu);
            free(ca);
            close(fd);
            continue;
        }
        ca->r = r;
        ca->fd = fd;
        r->conn_fds[r->n_conns] = fd;
        if (pthread_create(&r->conns[r->n_conns], NULL, serve, ca) == 0)
            r->n_conns++;
        else {
            free(ca);
            close(fd);
        }
        pthread_mutex_unlock(&r->mu);
    }
}

struct http_recv *http_recv_start(bool rec)
{
    struct http_recv *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->record = rec;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->lfd, 512) != 0 || getsockname(r->lfd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&r->acceptor, NULL, accept_loop, r) != 0) {
        if (r->lfd >= 0)
            close(r->lfd);
        free(r);
        return NULL;
    }
    r->port = ntohs(a.sin_port);
    return r;
}

int http_recv_port(const struct http_recv *r)
{
    return r->port;
}

void http_recv_script(struct http_recv *r, const int *statuses, size_t n, const char *body)
{
    pthread_mutex_lock(&r->mu);
    r->n_script = n < MAX_SCRIPT ? n : MAX_SCRIPT;
    memcpy(r->script, statuses, r->n_script * sizeof *statuses);
    r->next_script = 0;
    free(r->body);
    r->body = body != NULL ? strdup(body) : NULL;
    pthread_mutex_unlock(&r->mu);
}

size_t http_recv_count(struct http_recv *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool http_recv_wait(struct http_recv *r, size_t n, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    pthread_mutex_lock(&r->mu);
    while (r->count < n) {
        int64_t left = end - mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    bool ok = r->count >= n;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

const struct http_recv_req *http_recv_get(struct http_recv *r, size_t i)
{
    pthread_mutex_lock(&r->mu);
    const struct http_recv_req *q = i < r->n_reqs ? &r->reqs[i] : NULL;
    pthread_mutex_unlock(&r->mu);
    return q;
}

bool http_recv_header(const struct http_recv_req *q, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = q->headers; p != NULL && *p != '\0';) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vn = len - (size_t)(v - p);
            snprintf(out, cap, "%.*s", (int)vn, v);
            return true;
        }
        p = eol != NULL ? eol + 2 : NULL;
    }
    return false;
}

void http_recv_stop(struct http_recv *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->acceptor, NULL);
    for (size_t i = 0; i < r->n_conns; i++)
        shutdown(r->conn_fds[i], SHUT_RDWR);
    for (size_t i = 0; i < r->n_conns; i++) {
        pthread_join(r->conns[i], NULL);
        close(r->conn_fds[i]);
    }
    close(r->lfd);
    for (size_t i = 0; i < r->n_reqs; i++) {
        free(r->reqs[i].headers);
        free(r->reqs[i].body);
    }
    free(r->reqs);
    free(r->body);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int http_recv_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}
