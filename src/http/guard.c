/* guard.c - pure checks on the untrusted parts of a request (SPEC §9, §15):
 * control bytes in the request target, loopback Host names, same-site
 * Origins, bytes hidden behind a NUL, and the incremental scan that tells,
 * while a body arrives, whether it can still be one JSON object. No I/O. */
#include "http/http_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

bool http_target_has_ctl(const char *raw)
{
    const unsigned char *p = (const unsigned char *)raw;
    for (; *p != '\0'; p++) {
        if (is_ctl(*p))
            return true;
        if (*p == '%') {
            int hi = symbi_hex_value(p[1]);
            int lo = hi >= 0 ? symbi_hex_value(p[2]) : -1;
            if (lo >= 0 && is_ctl((unsigned char)(hi * 16 + lo)))
                return true;
        }
    }
    return false;
}

/* Splits "name[:port]" / "[v6][:port]" into the bare name and the port
 * (0 when absent). false when malformed. */
static bool split_host(const char *s, size_t n, char *name, size_t name_len, int *port)
{
    const char *colon = NULL;
    const char *nb = s, *ne;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return false;
        nb = s + 1;
        ne = close;
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return false;
            colon = close + 1;
        }
    } else {
        const char *c = memchr(s, ':', n);
        ne = c != NULL ? c : s + n;
        colon = c;
        if (c != NULL && memchr(c + 1, ':', (size_t)(s + n - c - 1)) != NULL)
            return false;
    }
    size_t len = (size_t)(ne - nb);
    if (len == 0 || len >= name_len)
        return false;
    memcpy(name, nb, len);
    name[len] = '\0';
    *port = 0;
    if (colon != NULL) {
        size_t plen = (size_t)(s + n - colon - 1);
        char digits[8];
        if (plen == 0 || plen >= sizeof digits)
            return false;
        memcpy(digits, colon + 1, plen);
        digits[plen] = '\0';
        for (size_t i = 0; i < plen; i++)
            if (digits[i] < '0' || digits[i] > '9')
                return false;
        if (symbi_parse_int(digits, 1, 65535, port) != 0)
            return false;
    }
    return true;
}

static bool name_is_loopback(const char *name, bool bracketed)
{
    if (bracketed) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, name, &a6) != 1)
            return false;
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    }
    if (strcasecmp(name, "localhost") == 0 || strcasecmp(name, "localhost.") == 0)
        return true;
    struct in_addr a4;
    return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static bool loopback_authority(const char *s, size_t n, int *port)
{
    char name[64];
    if (!split_host(s, n, name, sizeof name, port))
        return false;
    return name_is_loopback(name, s[0] == '[');
}

bool http_host_is_loopback(const char *host, int *port)
{
    int p = 0;
    if (host == NULL || !loopback_authority(host, strlen(host), &p))
        return false;
    if (port != NULL)
        *port = p;
    return true;
}

bool http_origin_same_site(const char *origin, const char *host)
{
    static const char scheme[] = "http://";
    int hport = 0, oport = 0;
    if (origin == NULL || !http_host_is_loopback(host, &hport))
        return false;
    if (strncasecmp(origin, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *auth = origin + sizeof scheme - 1;
    size_t n = strlen(auth);
    if (n == 0 || memchr(auth, '/', n) != NULL || memchr(auth, '@', n) != NULL ||
        !loopback_authority(auth, n, &oport))
        return false;
    /* an absent port is http's default, on both sides */
    return (oport != 0 ? oport : 80) == (hport != 0 ? hport : 80);
}

bool http_only_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    return true;
}

enum { SCAN_START = 0, SCAN_IN, SCAN_STR, SCAN_ESC, SCAN_DONE };

static bool json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int http_body_scan(struct http_body_scan *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (s->state) {
        case SCAN_START:
            if (json_ws(c))
                break;
            if (c != '{')
                return SYMBI_EPARSE;
            s->depth = 1;
            s->state = SCAN_IN;
            break;
        case SCAN_IN:
            if (c == '"') {
                s->state = SCAN_STR;
            } else if (c == '{' || c == '[') {
                s->depth++;
            } else if ((c == '}' || c == ']') && --s->depth == 0) {
                s->state = SCAN_DONE;
            }
            break;
        case SCAN_STR:
            if (c == '\\')
                s->state = SCAN_ESC;
            else if (c == '"')
                s->state = SCAN_IN;
            break;
        case SCAN_ESC:
            s->state = SCAN_STR;
            break;
        default: /* SCAN_DONE: only whitespace may follow the object */
            if (!json_ws(c))
                return SYMBI_EPARSE;
            break;
        }
    }
    return 0;
}
