/* http_recv.h - a small real HTTP/1.1 receiver on 127.0.0.1 for delivery
 * tests and the delivery benchmark: scripted answers, recorded requests. */
#ifndef SYMBI_TEST_HTTP_RECV_H
#define SYMBI_TEST_HTTP_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_RECV_HANG (-1) /* a scripted answer that never comes */

struct http_recv_req {
    char method[16];
    char path[512];
    char *headers; /* the raw header lines, "Name: value\r\n" each */
    char *body;
    size_t body_len;
    int64_t at_mono_ms;
};

struct http_recv;

/* Listens on a free port of 127.0.0.1 (keep-alive, a thread per
 * connection). record false keeps only the count (benchmarks). NULL on
 * failure. */
struct http_recv *http_recv_start(bool record);
int http_recv_port(const struct http_recv *r);
/* The statuses of the next answers, in order (HTTP_RECV_HANG: never
 * answer); once used up every answer is 200. body is the answers' body
 * (copied; NULL: "{}"). */
void http_recv_script(struct http_recv *r, const int *statuses, size_t n, const char *body);
/* Requests received so far. */
size_t http_recv_count(struct http_recv *r);
/* Waits up to timeout_ms for at least n requests. */
bool http_recv_wait(struct http_recv *r, size_t n, int timeout_ms);
/* The i-th request (valid until stop). */
const struct http_recv_req *http_recv_get(struct http_recv *r, size_t i);
/* The value of header `name` of q into out (case-insensitive); false when
 * absent. */
bool http_recv_header(const struct http_recv_req *q, const char *name, char *out, size_t cap);
/* Stops (hanging answers end with the connection) and frees. */
void http_recv_stop(struct http_recv *r);

/* A loopback port nothing listens on (connections are refused). */
int http_recv_closed_port(void);

#endif
