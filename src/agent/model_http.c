/* model_http.c - the model runner's HTTP client (libcurl): one POST bounded
 * by a monotonic deadline, a 4 MiB answer bound, Retry-After, cancellation;
 * the API key lives only in the header list and is wiped after use. */
#include "agent/model_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 30000

int symbi_agent_model_install(struct symbi_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return symbi_err_set(err, SYMBI_ENOMEM, "model runner: libcurl failed to initialise");
    symbi_agent_set_model_runner(symbi_agent__model_run);
    return 0;
}

/* Wipes and frees a header list (one header holds the key). */
static void wipe_headers(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p != NULL; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    int rc = symbi_buf_printf(&b, "%s%s", name, value);
    struct curl_slist *n = rc == 0 ? curl_slist_append(*l, symbi_buf_str(&b)) : NULL;
    explicit_bzero(b.data, b.cap);
    symbi_buf_cleanup(&b);
    if (n == NULL)
        return SYMBI_ENOMEM;
    *l = n;
    return 0;
}

int symbi_agent__model_http_init(struct symbi_model_http *h, enum symbi_model_api api,
                                 const char *key, struct symbi_agent_cancel *cancel)
{
    memset(h, 0, sizeof *h);
    symbi_buf_init(&h->body, SYMBI_MODEL_RESPONSE_MAX);
    h->cancel = cancel;
    h->retry_after_ms = -1;
    struct curl_slist *l = NULL;
    int rc = add_header(&l, "Content-Type: ", "application/json");
    if (rc == 0)
        rc = add_header(&l, "Accept: ", "application/json");
    if (rc == 0)
        rc = add_header(&l, "Expect:", ""); /* no 100-continue round trip */
    if (rc == 0 && api == SYMBI_MODEL_ANTHROPIC)
        rc = add_header(&l, "anthropic-version: ", SYMBI_MODEL_ANTHROPIC_VERSION);
    if (rc == 0 && key != NULL && key[0] != '\0')
        rc = api == SYMBI_MODEL_ANTHROPIC ? add_header(&l, "x-api-key: ", key)
                                          : add_header(&l, "Authorization: Bearer ", key);
    h->headers = l;
    h->curl = rc == 0 ? curl_easy_init() : NULL;
    if (h->curl == NULL) {
        symbi_agent__model_http_cleanup(h);
        return SYMBI_ENOMEM;
    }
    return 0;
}

void symbi_agent__model_http_cleanup(struct symbi_model_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    wipe_headers(h->headers);
    symbi_buf_cleanup(&h->body);
    h->curl = NULL;
    h->headers = NULL;
}

struct xfer {
    struct symbi_model_http *h;
    bool too_big;
    bool cancelled;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->h->body.len + len > SYMBI_MODEL_RESPONSE_MAX ||
        symbi_buf_append(&x->h->body, p, len) != 0) {
        x->too_big = true;
        return 0; /* aborts the transfer */
    }
    return len;
}

int64_t symbi_agent__model_retry_after(const char *v, int64_t now_wall_ms)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char tmp[64];
    size_t n = strcspn(v, "\r\n");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    int64_t secs;
    if (symbi_parse_i64(tmp, 0, 365LL * 86400, &secs) == 0)
        return secs * 1000;
    /* an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT" */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    int64_t at = (int64_t)timegm(&tm) * 1000;
    return at > now_wall_ms ? at - now_wall_ms : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && len < 256 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[256];
        memcpy(v, p + sizeof name - 1, len - (sizeof name - 1));
        v[len - (sizeof name - 1)] = '\0';
        x->h->retry_after_ms = symbi_agent__model_retry_after(v, symbi_now_wall_ms());
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct xfer *x = ud;
    if (x->h->cancel != NULL && atomic_load(&x->h->cancel->cancelled)) {
        x->cancelled = true;
        return 1;
    }
    return 0;
}

enum symbi_model_http_outcome symbi_agent__model_http_post(struct symbi_model_http *h,
                                                           const char *url, const char *body,
                                                           size_t len, int64_t deadline_ms)
{
    CURL *c = h->curl;
    struct xfer x = {h, false, false};
    symbi_buf_reset(&h->body);
    h->status = 0;
    h->retry_after_ms = -1;
    h->msg[0] = '\0';
    int64_t left = deadline_ms - symbi_now_mono_ms();
    if (left <= 0)
        return SYMBI_MODEL_HTTP_TIMEOUT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symbi/" SYMBI_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left < 1 ? 1 : left));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(left < CONNECT_TIMEOUT_MS ? left : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SYMBI_MODEL_RESPONSE_MAX);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    if (x.cancelled)
        return SYMBI_MODEL_HTTP_CANCELLED;
    if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return SYMBI_MODEL_HTTP_TOO_BIG;
    if (rc == CURLE_OPERATION_TIMEDOUT && symbi_now_mono_ms() >= deadline_ms - 5)
        return SYMBI_MODEL_HTTP_TIMEOUT;
    if (rc != CURLE_OK) {
        snprintf(h->msg, sizeof h->msg, "%s", curl_easy_strerror(rc));
        return SYMBI_MODEL_HTTP_ERROR;
    }
    return SYMBI_MODEL_HTTP_OK;
}
