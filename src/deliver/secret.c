/* secret.c - secrets of a delivery: ${VAR} expanded only at send time (the
 * config module's expansion), the values remembered so error texts can be
 * scrubbed of them, and the small checks applied to expanded values. */
#include "deliver/deliver_int.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_MIN_LEN 3 /* shorter values are not scrubbed (too common) */

void symbi_dlv_secrets_init(struct dlv_secrets *s)
{
    memset(s, 0, sizeof *s);
}

void symbi_dlv_secrets_cleanup(struct dlv_secrets *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    symbi_dlv_secrets_init(s);
}

static void remember(struct dlv_secrets *s, const char *v, size_t n)
{
    if (n < SECRET_MIN_LEN || s->n >= DLV_SECRETS_MAX)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == n && memcmp(s->v[i], v, n) == 0)
            return;
    char *c = symbi_strndup(v, n);
    if (c != NULL)
        s->v[s->n++] = c;
}

static bool name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

char *symbi_dlv_expand(struct dlv_secrets *s, const char *tmpl, bool whole)
{
    if (tmpl == NULL)
        return NULL;
    /* the same ${NAME} / ${NAME:-DEFAULT} grammar as symbi_config_expand */
    for (const char *p = strstr(tmpl, "${"); p != NULL; p = strstr(p + 2, "${")) {
        const char *q = p + 2;
        if (!name_char(*q, true))
            continue;
        while (name_char(*q, false))
            q++;
        if ((*q != '}' && !(q[0] == ':' && q[1] == '-')) || q - (p + 2) >= 256)
            continue;
        char var[256];
        memcpy(var, p + 2, (size_t)(q - (p + 2)));
        var[q - (p + 2)] = '\0';
        const char *v = getenv(var);
        if (v != NULL)
            remember(s, v, strlen(v));
    }
    char *out = symbi_config_expand(tmpl);
    if (out != NULL && whole)
        remember(s, out, strlen(out));
    return out;
}

void symbi_dlv_redact(const struct dlv_secrets *s, char *text, size_t cap)
{
    if (text == NULL || cap == 0)
        return;
    for (size_t i = 0; i < s->n; i++) {
        const char *v = s->v[i];
        size_t vn = strlen(v);
        char *hit;
        char *from = text;
        while ((hit = strstr(from, v)) != NULL) {
            /* "***" is never longer than a remembered value (>= 3 bytes) */
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + vn, strlen(hit + vn) + 1);
            from = hit + 3;
        }
    }
}

bool symbi_dlv_has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return true;
    return false;
}

bool symbi_dlv_http_url(const char *url)
{
    const char *host = NULL;
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    if (host == NULL || *host == '\0' || *host == '/' || *host == '?' || *host == '#')
        return false;
    for (const char *p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

size_t symbi_dlv_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* back off over continuation bytes to the start of a sequence */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}
