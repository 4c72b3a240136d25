/* buf.c - bounded growable buffers: they fail cleanly with SYMBI_ETOOBIG
 * past their maximum instead of growing without end. */
#include "symbi/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *symbi_strdup(const char *s)
{
    return s == NULL ? NULL : symbi_strndup(s, strlen(s));
}

char *symbi_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void symbi_buf_init(struct symbi_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max == 0 ? SIZE_MAX / 2 : max;
}

static int buf_reserve(struct symbi_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SYMBI_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    if (cap < need)
        cap = need;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return SYMBI_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int symbi_buf_append(struct symbi_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int symbi_buf_puts(struct symbi_buf *b, const char *s)
{
    return symbi_buf_append(b, s, strlen(s));
}

int symbi_buf_putc(struct symbi_buf *b, char c)
{
    return symbi_buf_append(b, &c, 1);
}

int symbi_buf_vprintf(struct symbi_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SYMBI_EINVAL;
    int rc = buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int symbi_buf_printf(struct symbi_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = symbi_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void symbi_buf_reset(struct symbi_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *symbi_buf_steal(struct symbi_buf *b)
{
    char *p = b->data;
    if (p == NULL)
        p = symbi_strdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void symbi_buf_cleanup(struct symbi_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

const char *symbi_buf_str(const struct symbi_buf *b)
{
    return b->data == NULL ? "" : b->data;
}
