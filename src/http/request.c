/* request.c - what a request's header must pass before routing (SPEC §9,
 * §15): bounded size; unambiguous framing (one Content-Length, never with
 * Transfer-Encoding, only chunked, one Host, no bytes hidden behind a NUL);
 * a JSON Content-Type on any body; in protected mode, a loopback Host and,
 * for writes, no Origin but this listener's own. Each replies on failure. */
#include "http/http_internal.h"

#include <string.h>
#include <strings.h>

/* The header walk: counts, the framing headers, and whether a value hides
 * bytes after a NUL. microhttpd 0.9 parses the header in place in one
 * buffer (key, value, key, value... in order) and cuts a value at an
 * embedded NUL, so what lies between the end of one value and the next
 * key must be blank (the bytes it overwrote with NULs, CR, LF, spaces);
 * when a pointer falls outside the header block (a folded line copied
 * elsewhere) that stretch is not inspected. */
struct walk {
    size_t n, bytes;
    int n_cl, n_te, n_host;
    const char *cl, *te;
    const char *end;  /* end of the raw header block */
    const char *prev; /* end of the previous value; NULL: unknown */
    bool hidden;
};

static enum MHD_Result walk_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct walk *w = cls;
    w->n++;
    w->bytes += key_size + value_size + 4;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        w->n_cl++;
        w->cl = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        w->n_te++;
        w->te = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        w->n_host++;
    }
    if (w->prev != NULL && key >= w->prev && key <= w->end && !http_only_blank(w->prev, key))
        w->hidden = true;
    const char *vend = value != NULL ? value + value_size : NULL;
    w->prev = (vend != NULL && value > key && vend <= w->end) ? vend : NULL;
    return MHD_YES;
}

static void bad_framing(struct http_req *r, const char *msg)
{
    r->close = true;
    http_reply_error(r, MHD_HTTP_BAD_REQUEST, "BAD_FRAMING", NULL, "%s", msg);
}

bool http_check_framing(struct http_req *r, const char *version, const char *raw_uri,
                        size_t raw_uri_len, struct http_head *out)
{
    struct walk w = {0};
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    /* the request line starts the block; the method is its first word */
    if (ci != NULL && ci->header_size > 0) {
        w.end = r->method + ci->header_size;
        /* the request target: a raw NUL cut it short of the version */
        if (raw_uri != NULL && version > raw_uri && version < w.end &&
            raw_uri + raw_uri_len <= version && !http_only_blank(raw_uri + raw_uri_len, version))
            w.hidden = true;
        if (version >= r->method && version < w.end)
            w.prev = version + strlen(version);
    }
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, walk_one, &w);
    if (w.prev != NULL && w.end != NULL && !http_only_blank(w.prev, w.end))
        w.hidden = true;
    if (w.n > HTTP_MAX_HEADERS || w.bytes > HTTP_MAX_HEADER_BYTES) {
        r->close = true;
        http_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "HEADERS_TOO_LARGE",
                         json_pack("{s:i,s:i}", "max_headers", HTTP_MAX_HEADERS, "max_bytes",
                                   HTTP_MAX_HEADER_BYTES),
                         "request headers too large (%zu headers, %zu bytes)", w.n, w.bytes);
        return false;
    }
    if (w.hidden) {
        bad_framing(r, "a NUL byte in the request line or a header");
        return false;
    }
    if (w.n_cl > 1) {
        bad_framing(r, "more than one Content-Length header");
        return false;
    }
    if (w.n_te > 0 && w.n_cl > 0) {
        bad_framing(r, "both Content-Length and Transfer-Encoding");
        return false;
    }
    if (w.n_te > 1 || (w.n_te == 1 && strcasecmp(w.te, "chunked") != 0)) {
        bad_framing(r, "Transfer-Encoding other than a single \"chunked\"");
        return false;
    }
    if (w.n_host > 1) {
        bad_framing(r, "more than one Host header");
        return false;
    }
    out->content_length = -1;
    out->chunked = w.n_te == 1;
    if (w.cl != NULL && symbi_parse_i64(w.cl, 0, INT64_MAX, &out->content_length) != 0) {
        bad_framing(r, "bad Content-Length");
        return false;
    }
    return true;
}

bool http_check_site(struct http_req *r)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!http_host_is_loopback(host, NULL)) {
        http_reply_error(r, 421, "MISDIRECTED_REQUEST",
                         json_pack("{s:s?}", "host", host != NULL ? host : NULL),
                         "protected mode (no API key exists) answers only requests addressed "
                         "to a loopback name (localhost, 127.0.0.1, [::1]), not Host: %.100s",
                         host != NULL ? host : "(none)");
        return false;
    }
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
        return true;
    const char *origin =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
    if (origin != NULL && !http_origin_same_site(origin, host)) {
        http_reply_error(r, MHD_HTTP_FORBIDDEN, "CROSS_SITE", json_pack("{s:s}", "origin", origin),
                         "protected mode (no API key exists) refuses writes from another site "
                         "(Origin: %.100s)",
                         origin);
        return false;
    }
    return true;
}

/* true for "application/json" with optional parameters */
static bool is_json_type(const char *ct)
{
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

bool http_check_body_head(struct http_req *r, const struct http_head *h, int64_t max_body)
{
    if (h->content_length > max_body) {
        http_reply_error(r, 413, "PAYLOAD_TOO_LARGE",
                         json_pack("{s:I}", "max_body_bytes", (json_int_t)max_body),
                         "request body of %lld bytes exceeds max_body_bytes (%lld)",
                         (long long)h->content_length, (long long)max_body);
        return false;
    }
    if (h->content_length <= 0 && !h->chunked)
        return true; /* no body: GET or DELETE may still say application/json */
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct == NULL || !is_json_type(ct)) {
        http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", NULL,
                         "a request body must be sent with Content-Type: application/json%s%.100s",
                         ct != NULL ? ", not " : " (none was given)", ct != NULL ? ct : "");
        return false;
    }
    return true;
}
