/* toml.c - the TOML-subset reader of symbi.toml, written for the project
 * (no library): tables and dotted tables, dotted keys, basic, literal and
 * multi-line strings, integers, floats, booleans, arrays, inline tables. */
#include "config/toml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tp {
    const char *name;
    const char *s; /* cursor */
    const char *end;
    int line;
    struct symbi_arena *a;
    struct symbi_err *err;
    bool failed;
};

static int tfail(struct tp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int tfail(struct tp *p, const char *fmt, ...)
{
    if (p->failed)
        return SYMBI_EINVAL;
    p->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return symbi_err_set(p->err, SYMBI_EINVAL, "%s:%d: %s", p->name, p->line, msg);
}

/* An allocation failed: SYMBI_ENOMEM, not a syntax error (the torture test
 * found it reported as invalid TOML); toml_parse returns it. */
static int toom(struct tp *p)
{
    if (p->failed)
        return SYMBI_EINVAL;
    p->failed = true;
    return symbi_err_set(p->err, SYMBI_ENOMEM, "%s:%d: out of memory", p->name, p->line);
}

const char *toml_kind_name(enum toml_kind k)
{
    static const char *const names[] = {"a string",  "an integer", "a float",
                                        "a boolean", "an array",   "a table"};
    return (unsigned)k < SYMBI_ARRAY_LEN(names) ? names[k] : "a value";
}

struct toml_value *toml_get(const struct toml_value *t, const char *key)
{
    if (t == NULL || t->kind != TOML_TABLE)
        return NULL;
    for (struct toml_kv *kv = t->kvs; kv != NULL; kv = kv->next)
        if (strcmp(kv->key, key) == 0)
            return kv->value;
    return NULL;
}

static struct toml_value *new_value(struct tp *p, enum toml_kind kind)
{
    struct toml_value *v = symbi_arena_alloc(p->a, sizeof *v);
    if (v == NULL) {
        toom(p);
        return NULL;
    }
    v->kind = kind;
    v->line = p->line;
    return v;
}

static int add_kv(struct tp *p, struct toml_value *t, const char *key, struct toml_value *v)
{
    struct toml_kv *kv = symbi_arena_alloc(p->a, sizeof *kv);
    if (kv == NULL)
        return toom(p);
    kv->key = key;
    kv->line = p->line;
    kv->value = v;
    if (t->last != NULL)
        t->last->next = kv;
    else
        t->kvs = kv;
    t->last = kv;
    return 0;
}

/* ---- lexical helpers ---- */

static void skip_ws(struct tp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t'))
        p->s++;
}

/* Skips blanks, comments and newlines (inside arrays). */
static int skip_ws_nl(struct tp *p)
{
    for (;;) {
        skip_ws(p);
        if (p->s < p->end && *p->s == '#') {
            while (p->s < p->end && *p->s != '\n')
                p->s++;
        }
        if (p->s < p->end && *p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')
            p->s++;
        if (p->s < p->end && *p->s == '\n') {
            p->s++;
            p->line++;
            continue;
        }
        return 0;
    }
}

/* After a value or header: blanks, an optional comment, then end of line. */
static int end_of_line(struct tp *p)
{
    skip_ws(p);
    if (p->s < p->end && *p->s == '#')
        while (p->s < p->end && *p->s != '\n')
            p->s++;
    if (p->s < p->end && *p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')
        p->s++;
    if (p->s >= p->end)
        return 0;
    if (*p->s != '\n')
        return tfail(p, "expected the end of the line, found `%c`", *p->s);
    p->s++;
    p->line++;
    return 0;
}

static bool bare_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A string starting at p->s (a quote). Sets *out (arena, NUL-terminated). */
static int parse_string(struct tp *p, const char **out, size_t *outlen)
{
    char q = *p->s;
    bool multi = p->end - p->s >= 3 && p->s[1] == q && p->s[2] == q;
    p->s += multi ? 3 : 1;
    if (multi) { /* a newline right after the opening quotes is trimmed */
        if (p->s < p->end && *p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')
            p->s++;
        if (p->s < p->end && *p->s == '\n') {
            p->s++;
            p->line++;
        }
    }
    /* the decoded text is never longer than the source */
    char *o = symbi_arena_alloc(p->a, (size_t)(p->end - p->s) + 1);
    if (o == NULL)
        return toom(p);
    size_t n = 0;
    for (;;) {
        if (p->s >= p->end)
            return tfail(p, "unterminated string");
        char c = *p->s;
        if (c == q) {
            if (!multi) {
                p->s++;
                break;
            }
            if (p->end - p->s >= 3 && p->s[1] == q && p->s[2] == q) {
                /* up to two more quotes belong to the content: """a"""" */
                p->s += 3;
                int extra = 0;
                while (extra < 2 && p->s < p->end && *p->s == q) {
                    o[n++] = q;
                    p->s++;
                    extra++;
                }
                break;
            }
            o[n++] = c;
            p->s++;
            continue;
        }
        if (c == '\n') {
            if (!multi)
                return tfail(p, "unterminated string (a line break inside \"...\")");
            p->line++;
            o[n++] = c;
            p->s++;
            continue;
        }
        if ((unsigned char)c < 0x20 && c != '\t' && !(multi && c == '\r'))
            return tfail(p, "control character 0x%02x in a string", (unsigned)c);
        if (c == 0x7f)
            return tfail(p, "control character 0x7f in a string");
        if (c != '\\' || q == '\'') {
            o[n++] = c;
            p->s++;
            continue;
        }
        /* escapes (basic strings only) */
        p->s++;
        if (p->s >= p->end)
            return tfail(p, "unterminated string");
        c = *p->s++;
        switch (c) {
        case 'b':
            o[n++] = '\b';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 'e':
            o[n++] = '\x1b';
            break;
        case '"':
        case '\\':
            o[n++] = c;
            break;
        case 'u':
        case 'U': {
            int digits = c == 'u' ? 4 : 8;
            unsigned cp = 0;
            if (p->end - p->s < digits)
                return tfail(p, "bad \\%c escape", c);
            for (int i = 0; i < digits; i++) {
                char h = *p->s++;
                int v = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (v < 0)
                    return tfail(p, "bad \\%c escape", c);
                cp = cp << 4 | (unsigned)v;
            }
            if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return tfail(p, "bad \\%c escape: U+%04X is not allowed", c, cp);
            n += symbi_utf8_put(o + n, cp);
            break;
        }
        default:
            if (multi && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
                /* line-ending backslash: trims the break and following blanks */
                p->s--;
                const char *q2 = p->s;
                while (q2 < p->end && (*q2 == ' ' || *q2 == '\t'))
                    q2++;
                if (q2 < p->end && (*q2 == '\n' || *q2 == '\r')) {
                    p->s = q2;
                    while (p->s < p->end &&
                           (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) {
                        if (*p->s == '\n')
                            p->line++;
                        p->s++;
                    }
                    break;
                }
            }
            return tfail(p, "unknown escape `\\%c` in a string", c);
        }
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    return 0;
}

/* A key: bare or quoted. */
static int parse_key_part(struct tp *p, const char **out)
{
    skip_ws(p);
    if (p->s < p->end && (*p->s == '"' || *p->s == '\'')) {
        if (p->end - p->s >= 3 && p->s[1] == *p->s && p->s[2] == *p->s)
            return tfail(p, "a key may not be a multi-line string");
        size_t n;
        if (parse_string(p, out, &n) != 0)
            return SYMBI_EINVAL;
        if (strlen(*out) != n)
            return tfail(p, "NUL character in a key");
        return 0;
    }
    const char *k = p->s;
    while (p->s < p->end && bare_key_char(*p->s))
        p->s++;
    if (p->s == k) {
        if (p->s >= p->end || *p->s == '\n')
            return tfail(p, "expected a key");
        return tfail(p, "expected a key, found `%c`", *p->s);
    }
    char *key = symbi_arena_strndup(p->a, k, (size_t)(p->s - k));
    if (key == NULL)
        return toom(p);
    *out = key;
    return 0;
}

/* A dotted key: parts[0..*n). */
#define MAX_KEY_PARTS 16
static int parse_key(struct tp *p, const char **parts, int *n)
{
    *n = 0;
    for (;;) {
        if (*n == MAX_KEY_PARTS)
            return tfail(p, "a dotted key of more than %d parts", MAX_KEY_PARTS);
        if (parse_key_part(p, &parts[(*n)++]) != 0)
            return SYMBI_EINVAL;
        skip_ws(p);
        if (p->s < p->end && *p->s == '.') {
            p->s++;
            continue;
        }
        return 0;
    }
}

static int parse_value(struct tp *p, int depth, struct toml_value **out);

static int parse_number(struct tp *p, struct toml_value **out)
{
    const char *start = p->s;
    while (p->s < p->end && (bare_key_char(*p->s) || *p->s == '.' || *p->s == '+' || *p->s == ':' ||
                             (*p->s == '-' && p->s != start)))
        p->s++;
    size_t len = (size_t)(p->s - start);
    char buf[80];
    if (len == 0 || len >= sizeof buf)
        return tfail(p, "expected a value");
    memcpy(buf, start, len);
    buf[len] = '\0';
    if (strchr(buf, ':') != NULL || (len >= 10 && buf[4] == '-' && buf[7] == '-'))
        return tfail(p, "dates and times are not supported; use a string");
    struct toml_value *v;
    if (strcmp(buf, "true") == 0 || strcmp(buf, "false") == 0) {
        if ((v = new_value(p, TOML_BOOL)) == NULL)
            return SYMBI_EINVAL;
        v->b = buf[0] == 't';
        *out = v;
        return 0;
    }
    const char *digits = buf + (buf[0] == '+' || buf[0] == '-');
    if (strcmp(digits, "inf") == 0 || strcmp(digits, "nan") == 0) {
        if ((v = new_value(p, TOML_FLOAT)) == NULL)
            return SYMBI_EINVAL;
        v->d = strcmp(digits, "inf") == 0 ? (buf[0] == '-' ? -INFINITY : INFINITY) : NAN;
        *out = v;
        return 0;
    }
    /* underscores only between digits */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '_')
            continue;
        bool ok = i > 0 && i + 1 < len;
        for (int k = -1; ok && k <= 1; k += 2) {
            char d = buf[(size_t)((ptrdiff_t)i + k)];
            ok = (d >= '0' && d <= '9') || (d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F');
        }
        if (!ok)
            return tfail(p, "`%s` is not a number (an underscore must sit between digits)", buf);
    }
    char clean[80];
    size_t cn = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '_')
            clean[cn++] = buf[i];
    clean[cn] = '\0';
    const char *c = clean + (clean[0] == '+' || clean[0] == '-');
    int base = 10;
    if (c[0] == '0' && (c[1] == 'x' || c[1] == 'o' || c[1] == 'b')) {
        if (c != clean)
            return tfail(p, "`%s`: a sign is not allowed before 0x, 0o or 0b", buf);
        base = c[1] == 'x' ? 16 : c[1] == 'o' ? 8 : 2;
        c += 2;
    }
    bool is_float = base == 10 && strpbrk(c, ".eE") != NULL;
    if (!is_float) {
        if (*c == '\0')
            return tfail(p, "`%s` is not a number", buf);
        if (base == 10 && c[0] == '0' && c[1] != '\0')
            return tfail(p, "`%s`: leading zeros are not allowed", buf);
        uint64_t u = 0;
        for (const char *q = c; *q != '\0'; q++) {
            int d = *q >= '0' && *q <= '9'   ? *q - '0'
                    : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                    : *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
                                             : 99;
            if (d >= base)
                return tfail(p, "`%s` is not a number", buf);
            if (u > (UINT64_MAX - (unsigned)d) / (unsigned)base)
                return tfail(p, "`%s` is out of range", buf);
            u = u * (unsigned)base + (unsigned)d;
        }
        bool neg = clean[0] == '-';
        if (u > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
            return tfail(p, "`%s` is out of range", buf);
        if ((v = new_value(p, TOML_INT)) == NULL)
            return SYMBI_EINVAL;
        v->i = neg ? (u == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)u) : (int64_t)u;
        *out = v;
        return 0;
    }
    /* float: digits [. digits] [e [+-] digits] */
    const char *q = c;
    if (!(*q >= '0' && *q <= '9'))
        return tfail(p, "`%s` is not a number", buf);
    if (q[0] == '0' && q[1] >= '0' && q[1] <= '9')
        return tfail(p, "`%s`: leading zeros are not allowed", buf);
    while (*q >= '0' && *q <= '9')
        q++;
    if (*q == '.') {
        q++;
        if (!(*q >= '0' && *q <= '9'))
            return tfail(p, "`%s` is not a number", buf);
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return tfail(p, "`%s` is not a number", buf);
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q != '\0')
        return tfail(p, "`%s` is not a number", buf);
    if ((v = new_value(p, TOML_FLOAT)) == NULL)
        return SYMBI_EINVAL;
    v->d = strtod(clean, NULL);
    *out = v;
    return 0;
}

/* Finds or creates the table at key in t (dotted keys and headers). */
static int descend(struct tp *p, struct toml_value *t, const char *key, bool for_header,
                   struct toml_value **out)
{
    struct toml_value *v = toml_get(t, key);
    if (v == NULL) {
        if ((v = new_value(p, TOML_TABLE)) == NULL || add_kv(p, t, key, v) != 0)
            return SYMBI_EINVAL;
        *out = v;
        return 0;
    }
    if (v->kind != TOML_TABLE)
        return tfail(p, "`%s` is already %s (line %d), not a table", key, toml_kind_name(v->kind),
                     v->line);
    if (v->is_inline)
        return tfail(p, "`%s` is an inline table (line %d) and cannot be extended", key, v->line);
    (void)for_header;
    *out = v;
    return 0;
}

static int parse_inline_table(struct tp *p, int depth, struct toml_value *t)
{
    p->s++; /* { */
    skip_ws(p);
    if (p->s < p->end && *p->s == '}') {
        p->s++;
        return 0;
    }
    for (;;) {
        const char *parts[MAX_KEY_PARTS];
        int n;
        if (parse_key(p, parts, &n) != 0)
            return SYMBI_EINVAL;
        struct toml_value *dst = t;
        for (int i = 0; i < n - 1; i++)
            if (descend(p, dst, parts[i], false, &dst) != 0)
                return SYMBI_EINVAL;
        skip_ws(p);
        if (p->s >= p->end || *p->s != '=')
            return tfail(p, "expected `=` after key `%s` in an inline table", parts[n - 1]);
        p->s++;
        skip_ws(p);
        if (toml_get(dst, parts[n - 1]) != NULL)
            return tfail(p, "duplicate key `%s`", parts[n - 1]);
        struct toml_value *v;
        if (parse_value(p, depth + 1, &v) != 0 || add_kv(p, dst, parts[n - 1], v) != 0)
            return SYMBI_EINVAL;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            skip_ws(p);
            continue;
        }
        if (p->s < p->end && *p->s == '}') {
            p->s++;
            return 0;
        }
        return tfail(p, "expected `,` or `}` in an inline table");
    }
}

static int parse_value(struct tp *p, int depth, struct toml_value **out)
{
    if (depth > TOML_MAX_DEPTH)
        return tfail(p, "nesting too deep (more than %d levels)", TOML_MAX_DEPTH);
    if (p->s >= p->end || *p->s == '\n' || *p->s == '#' || *p->s == '\r')
        return tfail(p, "expected a value");
    char c = *p->s;
    struct toml_value *v;
    if (c == '"' || c == '\'') {
        if ((v = new_value(p, TOML_STRING)) == NULL)
            return SYMBI_EINVAL;
        if (parse_string(p, &v->s, &v->len) != 0)
            return SYMBI_EINVAL;
        if (strlen(v->s) != v->len)
            return tfail(p, "NUL character in a string");
        *out = v;
        return 0;
    }
    if (c == '[') {
        if ((v = new_value(p, TOML_ARRAY)) == NULL)
            return SYMBI_EINVAL;
        p->s++;
        struct toml_value **tail = &v->items;
        size_t count = 0;
        for (;;) {
            skip_ws_nl(p);
            if (p->s < p->end && *p->s == ']') {
                p->s++;
                break;
            }
            if (++count > 10000)
                return tfail(p, "an array of more than 10000 items");
            struct toml_value *item;
            if (parse_value(p, depth + 1, &item) != 0)
                return SYMBI_EINVAL;
            *tail = item;
            tail = &item->next;
            skip_ws_nl(p);
            if (p->s < p->end && *p->s == ',') {
                p->s++;
                continue;
            }
            if (p->s < p->end && *p->s == ']') {
                p->s++;
                break;
            }
            return tfail(p, p->s >= p->end ? "unterminated array"
                                           : "expected `,` or `]` after an array item");
        }
        *out = v;
        return 0;
    }
    if (c == '{') {
        if ((v = new_value(p, TOML_TABLE)) == NULL)
            return SYMBI_EINVAL;
        v->is_inline = true;
        v->defined = true;
        if (parse_inline_table(p, depth, v) != 0)
            return SYMBI_EINVAL;
        *out = v;
        return 0;
    }
    return parse_number(p, out);
}

/* [a.b.c] */
static int parse_header(struct tp *p, struct toml_value *root, struct toml_value **cur)
{
    p->s++;
    if (p->s < p->end && *p->s == '[')
        return tfail(p, "arrays of tables ([[...]]) are not supported");
    const char *parts[MAX_KEY_PARTS];
    int n;
    if (parse_key(p, parts, &n) != 0)
        return SYMBI_EINVAL;
    skip_ws(p);
    if (p->s >= p->end || *p->s != ']')
        return tfail(p, "expected `]` to close the table header");
    p->s++;
    struct toml_value *t = root;
    for (int i = 0; i < n; i++)
        if (descend(p, t, parts[i], true, &t) != 0)
            return SYMBI_EINVAL;
    if (t->defined)
        return tfail(p, "table [%s] is defined twice", parts[n - 1]);
    t->defined = true;
    *cur = t;
    return end_of_line(p);
}

static bool utf8_ok(const char *s, size_t len, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = u[i] == 0 ? 0 : symbi_utf8_seq(u + i, len - i);
        if (n == 0) {
            *bad = i;
            return false;
        }
        i += n;
    }
    return true;
}

static int parse_doc(const char *name, const char *text, size_t len, struct symbi_arena *a,
                     struct toml_value **root, struct symbi_err *err)
{
    struct tp p = {name, text, text + len, 1, a, err, false};
    if (len > TOML_MAX_FILE)
        return symbi_err_set(err, SYMBI_EINVAL, "%s: file too large (%zu bytes; the limit is %d)",
                             name, len, TOML_MAX_FILE);
    size_t bad;
    if (!utf8_ok(text, len, &bad)) {
        for (size_t i = 0; i < bad; i++)
            if (text[i] == '\n')
                p.line++;
        return tfail(&p, text[bad] == 0 ? "NUL byte in file" : "invalid UTF-8");
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.s += 3;
    struct toml_value *top = new_value(&p, TOML_TABLE);
    if (top == NULL)
        return SYMBI_ENOMEM;
    struct toml_value *cur = top;
    while (p.s < p.end) {
        skip_ws_nl(&p);
        if (p.s >= p.end)
            break;
        if (*p.s == '[') {
            if (parse_header(&p, top, &cur) != 0)
                return SYMBI_EINVAL;
            continue;
        }
        const char *parts[MAX_KEY_PARTS];
        int n;
        if (parse_key(&p, parts, &n) != 0)
            return SYMBI_EINVAL;
        struct toml_value *dst = cur;
        for (int i = 0; i < n - 1; i++)
            if (descend(&p, dst, parts[i], false, &dst) != 0)
                return SYMBI_EINVAL;
        skip_ws(&p);
        if (p.s >= p.end || *p.s != '=')
            return tfail(&p, "expected `=` after key `%s`", parts[n - 1]);
        p.s++;
        skip_ws(&p);
        struct toml_value *old = toml_get(dst, parts[n - 1]);
        if (old != NULL)
            return tfail(&p, "duplicate key `%s` (first at line %d)", parts[n - 1], old->line);
        struct toml_value *v;
        int kline = p.line;
        if (parse_value(&p, 1, &v) != 0 || add_kv(&p, dst, parts[n - 1], v) != 0)
            return SYMBI_EINVAL;
        dst->last->line = kline;
        v->line = kline;
        if (end_of_line(&p) != 0)
            return SYMBI_EINVAL;
    }
    *root = top;
    return 0;
}

int toml_parse(const char *name, const char *text, size_t len, struct symbi_arena *a,
               struct toml_value **root, struct symbi_err *err)
{
    int rc = parse_doc(name, text, len, a, root, err);
    return rc != 0 && err != NULL && err->code == SYMBI_ENOMEM ? SYMBI_ENOMEM : rc;
}
