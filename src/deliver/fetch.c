/* fetch.c - symbi_fetch_https (include/symbi/fetch.h): one bounded HTTPS
 * GET with libcurl, TLS verification always on, for AgentPin discovery. */
#include "symbi/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct symbi_buf buf;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    if (symbi_buf_append(&s->buf, p, size * n) != 0) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    return size * n;
}

int symbi_fetch_https(void *ud, const char *url, const char *ca_file, const char *resolve,
                      size_t max, char **body, size_t *len, struct symbi_err *err)
{
    (void)ud;
    if (url == NULL || strncmp(url, "https://", 8) != 0)
        return symbi_err_set(err, SYMBI_EINVAL, "only https:// URLs are fetched");
    pthread_once(&curl_once, curl_init_once);
    CURL *h = curl_easy_init();
    if (h == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    struct sink s;
    symbi_buf_init(&s.buf, max);
    s.too_big = false;
    struct curl_slist *res = resolve != NULL ? curl_slist_append(NULL, resolve) : NULL;
    /* "host:port:addr": the connection to host goes to addr:port (its
     * certificate is still checked for host), so a resolve override works
     * for a server on another port than the URL's 443 */
    struct curl_slist *conn_to = NULL;
    const char *c1 = resolve != NULL ? strchr(resolve, ':') : NULL;
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (c2 != NULL && c1 != resolve && c2 - c1 > 1 && c2 - resolve < 300) {
        char ct[640];
        snprintf(ct, sizeof ct, "%.*s::%.*s:%.*s", (int)(c1 - resolve), resolve,
                 (int)(c1 - resolve), resolve, (int)(c2 - c1 - 1), c1 + 1);
        conn_to = curl_slist_append(NULL, ct);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "symbi/" SYMBI_VERSION);
    if (ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    if (res != NULL)
        curl_easy_setopt(h, CURLOPT_RESOLVE, res);
    if (conn_to != NULL)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, conn_to);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(res);
    curl_slist_free_all(conn_to);
    int rc = 0;
    if (s.too_big)
        rc = symbi_err_set(err, SYMBI_ETOOBIG, "%s: the answer is larger than %zu bytes", url, max);
    else if (cc != CURLE_OK)
        rc = symbi_err_set(err, SYMBI_EIO, "%s: %s", url,
                           ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
    else if (status != 200)
        rc = symbi_err_set(err, SYMBI_EIO, "%s: HTTP status %ld", url, status);
    if (rc != 0) {
        symbi_buf_cleanup(&s.buf);
        return rc;
    }
    *len = s.buf.len;
    *body = symbi_buf_steal(&s.buf);
    return 0;
}
