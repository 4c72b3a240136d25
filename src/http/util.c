/* util.c - the http module's pure helpers: route-pattern matching, a JSON
 * nesting-depth scan run before parsing, and listen-address parsing with
 * the loopback test used by protected mode. No I/O. */
#include "http/http_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

bool http_route_match(const char *pattern, const char *path, char *scratch, size_t scratch_len,
                      const char **params, size_t *n_params)
{
    size_t n = 0, used = 0;
    const char *p = pattern, *u = path;
    while (*p != '\0' || *u != '\0') {
        if (*p != '/' || *u != '/')
            return false;
        p++;
        u++;
        const char *pe = strchr(p, '/');
        const char *ue = strchr(u, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t ulen = ue ? (size_t)(ue - u) : strlen(u);
        if (plen == 2 && p[0] == '{' && p[1] == '}') {
            if (ulen == 0 || ulen > HTTP_MAX_SEGMENT || n >= HTTP_MAX_PARAMS ||
                used + ulen + 1 > scratch_len)
                return false;
            memcpy(scratch + used, u, ulen);
            scratch[used + ulen] = '\0';
            params[n++] = scratch + used;
            used += ulen + 1;
        } else if (plen != ulen || memcmp(p, u, plen) != 0) {
            return false;
        }
        p += plen;
        u += ulen;
    }
    *n_params = n;
    return true;
}

int http_json_depth_check(const char *p, size_t n, int max)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return SYMBI_ETOOBIG;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

bool http_sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

int http_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                      bool *loopback, struct symbi_err *err)
{
    char host[256], port[16];
    const char *colon;
    if (listen == NULL || *listen == '\0' || strlen(listen) >= sizeof host)
        return symbi_err_set(err, SYMBI_EINVAL, "listen: empty or too long address");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':')
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "listen: bad address \"%s\" (want [v6addr]:port)", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else if ((colon = strrchr(listen, ':')) != NULL) {
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        if (strchr(host, ':') != NULL)
            return symbi_err_set(err, SYMBI_EINVAL,
                                 "listen: bad address \"%s\" (write IPv6 as [addr]:port)", listen);
    } else {
        memcpy(host, "127.0.0.1", 10);
        colon = listen - 1;
    }
    int portnum = 0;
    if (strlen(colon + 1) >= sizeof port || symbi_parse_int(colon + 1, 0, 65535, &portnum) != 0)
        return symbi_err_set(err, SYMBI_EINVAL, "listen: bad port in \"%s\"", listen);
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    if (host[0] == '\0')
        memcpy(host, "0.0.0.0", 8);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "listen: cannot resolve \"%s\": %s", host,
                             gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    *loopback = http_sockaddr_is_loopback((const struct sockaddr *)addr);
    return 0;
}

json_t *http_jobs_json(const struct symbi_job *jobs, size_t n,
                       json_t *(*to_json)(const struct symbi_job *, bool), bool flag)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *j = to_json(&jobs[i], flag);
        if (j == NULL || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}
