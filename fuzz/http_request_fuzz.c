/* http_request_fuzz.c - fuzzes what the HTTP API does with untrusted
 * request parts before a handler runs: the path against every route of the
 * table, the request guards (control bytes, Host, Origin, the chunked-body
 * scan), the JSON depth scan, then parsing and applying the body as job
 * fields. Input: a path line, then the body. */
#include "http/http_internal.h"
#include "symbi/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
    if (plen > HTTP_MAX_URL)
        plen = HTTP_MAX_URL;
    char path[HTTP_MAX_URL + 1];
    memcpy(path, data, plen);
    path[plen] = '\0';
    char scratch[HTTP_MAX_URL + HTTP_MAX_PARAMS];
    for (size_t i = 0; i < http_n_routes; i++) {
        const char *params[HTTP_MAX_PARAMS];
        size_t n = 0;
        if (http_route_match(http_routes[i].pattern, path, scratch, sizeof scratch, params, &n)) {
            for (size_t k = 0; k < n; k++)
                if (strlen(params[k]) == 0 || strchr(params[k], '/') != NULL)
                    abort();
        }
    }
    /* the request guards on the same line as a target, a Host, an Origin */
    int port = 0;
    (void)http_target_has_ctl(path);
    if (http_host_is_loopback(path, &port) && (port < 0 || port > 65535))
        abort();
    /* the scheme is case-insensitive (RFC 3986 §3.1): "hTtp://" is http */
    if (http_origin_same_site(path, "localhost:8080") && strncasecmp(path, "http://", 7) != 0)
        abort();
    const char *body = nl ? nl + 1 : (const char *)data + size;
    size_t blen = size - (size_t)(body - (const char *)data);
    /* the chunked-body scan, fed in pieces, agrees with a scan in one go */
    struct http_body_scan whole = {0}, pieces = {0};
    int rw = http_body_scan(&whole, body, blen), rp = 0;
    for (size_t i = 0; i < blen && rp == 0; i += 3)
        rp = http_body_scan(&pieces, body + i, blen - i < 3 ? blen - i : 3);
    if (rw != rp)
        abort();
    if (http_json_depth_check(body, blen, HTTP_MAX_JSON_DEPTH) != 0)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &je);
    if (json_is_object(j)) {
        struct symbi_job job;
        const char *bad = NULL;
        symbi_job_init(&job);
        symbi_job_apply_json(&job, j, &bad, NULL);
        json_t *out = symbi_job_to_json(&job, true);
        json_decref(out);
        symbi_job_cleanup(&job);
    }
    json_decref(j);
    return 0;
}
