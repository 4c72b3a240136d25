/* mask.c - hides the secret parts of a URL a job names (webhook and Slack
 * URLs carry their credentials inline) for answers and pages (SPEC §16). */
#include "symbi/json.h"

#include <ctype.h>
#include <string.h>

#define MASK "***"

/* A path segment that reads like a credential: 24+ characters, or 16+
 * mixing letters and digits (Slack's and Discord's webhook tokens). */
static bool token_like(const char *s, size_t n)
{
    if (n >= 24)
        return true;
    bool alpha = false, digit = false;
    for (size_t i = 0; i < n; i++) {
        alpha |= isalpha((unsigned char)s[i]) != 0;
        digit |= isdigit((unsigned char)s[i]) != 0;
    }
    return n >= 16 && alpha && digit;
}

/* The masked URL being built; a failed append is remembered so that a
 * partial URL is never returned (the torture test found "example.com/h"
 * for "https://example.com/h"). */
struct mask_buf {
    struct symbi_buf buf;
    bool bad;
};

static void put(struct mask_buf *b, const char *s, size_t n)
{
    if (symbi_buf_append(&b->buf, s, n) != 0)
        b->bad = true;
}

static char *mask_steal(struct mask_buf *b)
{
    if (b->bad) {
        symbi_buf_cleanup(&b->buf);
        return NULL;
    }
    return symbi_buf_steal(&b->buf);
}

/* The path and what follows it, masked: token-like segments, every query
 * value, the fragment. */
static void mask_rest(struct mask_buf *b, const char *p)
{
    const char *q = p + strcspn(p, "?#");
    while (p < q) { /* path: "/seg/seg" */
        size_t n = strcspn(p + 1, "/?#");
        put(b, "/", 1);
        if (token_like(p + 1, n))
            put(b, MASK, 3);
        else
            put(b, p + 1, n);
        p += n + 1;
    }
    if (*q == '?') {
        put(b, "?", 1);
        p = q + 1;
        while (*p != '\0' && *p != '#') {
            size_t n = strcspn(p, "&#");
            const char *eq = memchr(p, '=', n);
            if (eq != NULL)
                put(b, p, (size_t)(eq - p) + 1);
            put(b, MASK, 3);
            p += n;
            if (*p == '&') {
                put(b, "&", 1);
                p++;
            }
        }
        q = p;
    }
    if (*q == '#')
        put(b, "#" MASK, 4);
}

char *symbi_url_mask(const char *url)
{
    if (url == NULL)
        return NULL;
    struct mask_buf b = {.bad = false};
    symbi_buf_init(&b.buf, 0);
    const char *scheme = strstr(url, "://");
    if (scheme == NULL) {
        /* not a URL (an unexpanded "${VAR}" reference is no secret) */
        if (strncmp(url, "${", 2) == 0)
            put(&b, url, strlen(url));
        else
            put(&b, MASK, 3);
        return mask_steal(&b);
    }
    const char *auth = scheme + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    put(&b, url, (size_t)(auth - url));
    if (at != NULL) {
        put(&b, MASK "@", 4);
        put(&b, at + 1, (size_t)(auth + alen - at - 1));
    } else {
        put(&b, auth, alen);
    }
    mask_rest(&b, auth + alen);
    return mask_steal(&b);
}
