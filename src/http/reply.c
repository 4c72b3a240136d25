/* reply.c - the answers of the HTTP API: the JSON error shape, the
 * mapping of SYMBI_E* codes to statuses, and sending an answer through
 * microhttpd (or straight to the socket when a body is being refused). */
#include "http/http_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The answer of r as text (heap, the caller frees; NULL when out of
 * memory) and its content type; r->text is taken. */
static char *answer_text(struct http_req *r, const char **ctype_out)
{
    char *text;
    const char *ctype;
    if (r->text != NULL) {
        text = r->text;
        r->text = NULL;
        ctype = r->ctype;
    } else {
        if (r->out == NULL) {
            r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            r->out =
                json_pack("{s:s,s:s,s:n}", "error", "no answer", "code", "INTERNAL", "details");
        }
        text = r->out ? json_dumps(r->out, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        ctype = "application/json";
    }
    if (text == NULL) {
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        text = symbi_strdup("{\"error\":\"out of memory\",\"code\":\"INTERNAL\",\"details\":null}");
        ctype = "application/json";
    }
    *ctype_out = ctype;
    return text;
}

enum MHD_Result http_send_answer(struct MHD_Connection *c, struct http_req *r)
{
    const char *ctype;
    char *text = answer_text(r, &ctype);
    if (text == NULL)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->ui_page)
        http_ui_headers(resp);
    if (r->allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"symbi\"");
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* microhttpd 0.9 cannot queue an answer while a body is still arriving:
 * the answer is written to the socket here, and the caller then returns
 * MHD_NO so that microhttpd closes the connection. Only for the short
 * error answers of a request being refused; a send that would block
 * gives up (the connection is closed either way). */
void http_answer_now(struct MHD_Connection *c, struct http_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const char *ctype;
    char *text = answer_text(r, &ctype);
    if (ci == NULL || text == NULL) {
        free(text);
        return;
    }
    size_t len = strlen(text);
    const char *reason = MHD_get_reason_phrase_for(r->status);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      r->status, reason != NULL ? reason : "Error", ctype, len);
    if (hn > 0 && (size_t)hn < sizeof head &&
        send(ci->connect_fd, head, (size_t)hn, MSG_NOSIGNAL | MSG_DONTWAIT) == hn)
        (void)!send(ci->connect_fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    free(text);
}

void http_reply(struct http_req *r, unsigned status, json_t *body)
{
    json_decref(r->out);
    r->out = body;
    r->status = body != NULL ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

void http_reply_text(struct http_req *r, unsigned status, const char *ctype, char *text)
{
    free(r->text);
    r->text = text;
    r->ctype = ctype;
    r->status = status;
}

void http_reply_error(struct http_req *r, unsigned status, const char *code, json_t *details,
                      const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    if (o != NULL) {
        /* json_string refuses invalid UTF-8: echo of bad input must not break the answer */
        json_t *m = json_string(msg);
        json_object_set_new(o, "error", m != NULL ? m : json_string("invalid request"));
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "details", details != NULL ? details : json_null());
    } else {
        json_decref(details);
    }
    http_reply(r, status, o);
}

void http_reply_err(struct http_req *r, const struct symbi_err *e)
{
    unsigned st = MHD_HTTP_INTERNAL_SERVER_ERROR;
    const char *code = "INTERNAL";
    switch (e->code) {
    case SYMBI_ENOTFOUND:
        st = MHD_HTTP_NOT_FOUND, code = "NOT_FOUND";
        break;
    case SYMBI_EEXIST:
        st = MHD_HTTP_CONFLICT, code = "NAME_TAKEN";
        break;
    case SYMBI_EFULL:
        st = MHD_HTTP_CONFLICT, code = "CONCURRENCY_LIMIT";
        break;
    case SYMBI_ESTATE:
        st = MHD_HTTP_CONFLICT, code = "INVALID_STATE";
        break;
    case SYMBI_EAMBIGUOUS:
        st = MHD_HTTP_BAD_REQUEST, code = "AMBIGUOUS";
        break;
    case SYMBI_EINVAL:
    case SYMBI_ERANGE:
    case SYMBI_EPARSE:
        st = MHD_HTTP_BAD_REQUEST, code = "INVALID_FIELD";
        break;
    case SYMBI_ETOOBIG:
        st = 413, code = "TOO_LARGE";
        break;
    case SYMBI_EDENIED:
        st = MHD_HTTP_FORBIDDEN, code = "FORBIDDEN";
        break;
    case SYMBI_EAUTH:
        st = MHD_HTTP_UNAUTHORIZED, code = "UNAUTHORIZED";
        break;
    case SYMBI_EBUSY:
        st = MHD_HTTP_SERVICE_UNAVAILABLE, code = "BUSY";
        break;
    case SYMBI_ENOSCHED:
        st = MHD_HTTP_SERVICE_UNAVAILABLE, code = "NO_SCHEDULER";
        break;
    default:
        break;
    }
    const char *msg = e->msg[0] != '\0' ? e->msg : symbi_strerror(e->code);
    if (st == MHD_HTTP_INTERNAL_SERVER_ERROR)
        symbi_log(SYMBI_LOG_ERROR, "api", "%s %s failed: %s", r->method, r->url, msg);
    http_reply_error(r, st, code, NULL, "%s", msg);
}
