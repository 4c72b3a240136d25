/* lex.c - the DSL lexer (SPEC §2.1): checks the text is UTF-8 without NUL
 * bytes, then turns it into tokens with line:col, decoding strings. */
#include "dsl/dsl_int.h"

#include <stdlib.h>
#include <string.h>

struct lexer {
    struct dsl_parser *p;
    const char *s;   /* cursor */
    const char *end; /* end of text */
    const char *line_start;
    int line;
    const char *cpos; /* column cache: position and column on line_start's line */
    int ccol;
};

/* 1-based column in characters of position at on the line starting at ls. */
static int col_of(const char *ls, const char *at)
{
    int col = 1;
    for (const char *q = ls; q < at; q++)
        if (((unsigned char)*q & 0xc0) != 0x80)
            col++;
    return col;
}

bool dsl_check_text(struct dsl_parser *p)
{
    const unsigned char *s = (const unsigned char *)p->src, *end = s + p->len;
    const unsigned char *ls = s;
    int line = 1;
    while (s < end) {
        /* fast path over ASCII */
        unsigned c = *s;
        if (c >= 0x20 && c < 0x80) {
            s++;
            continue;
        }
        if (c == '\n') {
            line++;
            ls = ++s;
            continue;
        }
        if (c == 0) {
            dsl_diag(p, SYMBI_DSL_ERROR, line, col_of((const char *)ls, (const char *)s),
                     "NUL byte in file");
            return false;
        }
        size_t n = symbi_utf8_seq(s, (size_t)(end - s));
        if (n == 0) {
            dsl_diag(p, SYMBI_DSL_ERROR, line, col_of((const char *)ls, (const char *)s),
                     "invalid UTF-8 byte 0x%02x", c);
            return false;
        }
        s += n;
    }
    return true;
}

static int push(struct lexer *lx, enum dsl_tok_kind kind, const char *start, const char *stop,
                int line, const char *ls)
{
    struct dsl_parser *p = lx->p;
    if (p->ntoks == p->cap) {
        /* doubling: realloc of large blocks remaps rather than copies */
        size_t ncap = p->cap ? p->cap * 2 : 256;
        struct dsl_tok *t = realloc(p->toks, ncap * sizeof *t);
        if (t == NULL) {
            p->oom = true;
            return SYMBI_ENOMEM;
        }
        p->toks = t;
        p->cap = ncap;
    }
    struct dsl_tok *t = &p->toks[p->ntoks++];
    t->kind = kind;
    t->line = line;
    /* columns count from the previous token of the same line: linear time
     * even on one long line */
    if (lx->cpos == NULL || lx->cpos < ls || lx->cpos > start) {
        lx->cpos = ls;
        lx->ccol = 1;
    }
    lx->ccol = lx->ccol + col_of(lx->cpos, start) - 1;
    lx->cpos = start;
    t->col = lx->ccol;
    t->text = start;
    t->len = (uint32_t)(stop - start);
    t->str = NULL;
    t->slen = 0;
    return 0;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool read_hex4(const char *s, const char *end, unsigned *out)
{
    if (end - s < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = symbi_hex_value(s[i]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return true;
}

/* Skips to the end of the current line (error recovery). */
static void skip_line(struct lexer *lx)
{
    const char *nl = memchr(lx->s, '\n', (size_t)(lx->end - lx->s));
    lx->s = nl != NULL ? nl : lx->end;
}

/* A "..." string starting at lx->s (the quote). */
static int lex_string(struct lexer *lx)
{
    struct dsl_parser *p = lx->p;
    const char *start = lx->s, *q = start + 1;
    bool escapes = false;
    while (q < lx->end && *q != '"' && *q != '\n') {
        if (*q == '\\') {
            escapes = true;
            q++;
            if (q < lx->end && *q != '\n')
                q++;
            continue;
        }
        if ((unsigned char)*q < 0x20 && *q != '\t') {
            dsl_diag(p, SYMBI_DSL_ERROR, lx->line, col_of(lx->line_start, q),
                     "control character 0x%02x in string", (unsigned)*q);
            skip_line(lx);
            return push(lx, T_ERROR, start, lx->s, lx->line, lx->line_start);
        }
        q++;
    }
    if (q >= lx->end || *q != '"') {
        dsl_diag(p, SYMBI_DSL_ERROR, lx->line, col_of(lx->line_start, start),
                 "unterminated string");
        skip_line(lx);
        return push(lx, T_ERROR, start, lx->s, lx->line, lx->line_start);
    }
    if (push(lx, T_STRING, start, q + 1, lx->line, lx->line_start) != 0)
        return SYMBI_ENOMEM;
    struct dsl_tok *t = &p->toks[p->ntoks - 1];
    lx->s = q + 1;
    if (!escapes) {
        t->str = start + 1;
        t->slen = (uint32_t)(q - start - 1);
        return 0;
    }
    /* decode: the result is never longer than the source */
    char *o = symbi_arena_alloc(&p->arena, (size_t)(q - start));
    if (o == NULL) {
        p->oom = true;
        return SYMBI_ENOMEM;
    }
    size_t n = 0;
    for (const char *r = start + 1; r < q; r++) {
        if (*r != '\\') {
            o[n++] = *r;
            continue;
        }
        const char *esc = r++;
        switch (*r) {
        case '"':
        case '\\':
        case '/':
            o[n++] = *r;
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'u': {
            unsigned cp, lo;
            if (!read_hex4(r + 1, q, &cp)) {
                dsl_diag(p, SYMBI_DSL_ERROR, t->line, col_of(lx->line_start, esc),
                         "bad \\u escape: four hex digits expected");
                t->kind = T_ERROR;
                return 0;
            }
            r += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && r + 2 < q && r[1] == '\\' && r[2] == 'u' &&
                read_hex4(r + 3, q, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                r += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                dsl_diag(p, SYMBI_DSL_ERROR, t->line, col_of(lx->line_start, esc),
                         "bad \\u escape: unpaired surrogate \\u%04x", cp);
                t->kind = T_ERROR;
                return 0;
            }
            if (cp == 0) {
                dsl_diag(p, SYMBI_DSL_ERROR, t->line, col_of(lx->line_start, esc),
                         "NUL character (\\u0000) in string");
                t->kind = T_ERROR;
                return 0;
            }
            n += symbi_utf8_put(o + n, cp);
            break;
        }
        default: {
            size_t cl = r < q ? symbi_utf8_seq((const unsigned char *)r, (size_t)(q - r)) : 0;
            dsl_diag(p, SYMBI_DSL_ERROR, t->line, col_of(lx->line_start, esc),
                     "unknown escape `\\%.*s` in string", (int)(cl ? cl : 1), r);
            t->kind = T_ERROR;
            return 0;
        }
        }
    }
    t->str = o;
    t->slen = (uint32_t)n;
    return 0;
}

/* A """...""" string starting at lx->s: no escapes; the first line break,
 * a last line of blanks and the common leading indentation are removed. */
static int lex_triple(struct lexer *lx)
{
    struct dsl_parser *p = lx->p;
    const char *start = lx->s, *body = start + 3;
    int line = lx->line;
    const char *ls = lx->line_start;
    const char *close = NULL;
    for (const char *q = body; q + 2 < lx->end; q++) {
        if (q[0] == '"' && q[1] == '"' && q[2] == '"') {
            close = q;
            break;
        }
    }
    if (close == NULL) {
        dsl_diag(p, SYMBI_DSL_ERROR, line, col_of(ls, start), "unterminated \"\"\" string");
        lx->s = lx->end;
        return push(lx, T_ERROR, start, lx->end, line, ls);
    }
    if (push(lx, T_STRING, start, close + 3, line, ls) != 0)
        return SYMBI_ENOMEM;
    struct dsl_tok *t = &p->toks[p->ntoks - 1];
    for (const char *q = body; q < close; q++) {
        if (*q == '\n') {
            lx->line++;
            lx->line_start = q + 1;
        } else if ((unsigned char)*q < 0x20 && *q != '\t' && *q != '\r') {
            dsl_diag(p, SYMBI_DSL_ERROR, lx->line, col_of(lx->line_start, q),
                     "control character 0x%02x in string", (unsigned)*q);
            t->kind = T_ERROR;
        }
    }
    lx->s = close + 3;
    if (t->kind == T_ERROR)
        return 0;

    const char *b = body, *e = close;
    /* drop the line break right after the opening quotes */
    if (b < e && *b == '\r' && b + 1 < e && b[1] == '\n')
        b += 2;
    else if (b < e && *b == '\n')
        b++;
    /* drop a last line of blanks before the closing quotes */
    const char *lastnl = NULL;
    for (const char *q = e; q > b; q--) {
        if (q[-1] == '\n') {
            lastnl = q - 1;
            break;
        }
    }
    if (lastnl != NULL) {
        bool blank = true;
        for (const char *q = lastnl + 1; q < e; q++)
            if (*q != ' ' && *q != '\t')
                blank = false;
        if (blank)
            e = lastnl;
    }
    /* common indentation of the non-blank lines */
    const char *ind = NULL;
    size_t indlen = 0;
    for (const char *l = b; l <= e;) {
        const char *nl = memchr(l, '\n', (size_t)(e - l));
        const char *le = nl ? nl : e;
        const char *w = l;
        while (w < le && (*w == ' ' || *w == '\t'))
            w++;
        if (w < le && !(w + 1 == le && *w == '\r')) {
            size_t wl = (size_t)(w - l);
            if (ind == NULL) {
                ind = l;
                indlen = wl;
            } else {
                size_t k = 0;
                while (k < indlen && k < wl && l[k] == ind[k])
                    k++;
                indlen = k;
            }
        }
        if (nl == NULL)
            break;
        l = nl + 1;
    }
    char *o = symbi_arena_alloc(&p->arena, (size_t)(e - b) + 1);
    if (o == NULL) {
        p->oom = true;
        return SYMBI_ENOMEM;
    }
    size_t n = 0;
    for (const char *l = b; l <= e;) {
        const char *nl = memchr(l, '\n', (size_t)(e - l));
        const char *le = nl ? nl : e;
        if (le > l && le[-1] == '\r')
            le--;
        size_t skip = 0;
        while (skip < indlen && l + skip < le && (l[skip] == ' ' || l[skip] == '\t'))
            skip++;
        memcpy(o + n, l + skip, (size_t)(le - l - (ptrdiff_t)skip));
        n += (size_t)(le - l - (ptrdiff_t)skip);
        if (nl == NULL)
            break;
        o[n++] = '\n';
        l = nl + 1;
    }
    t->str = o;
    t->slen = (uint32_t)n;
    return 0;
}

/* A number, or a duration when letters follow (90s, 1h30m, 5.minutes). */
static int lex_number(struct lexer *lx)
{
    const char *start = lx->s, *q = start;
    if (*q == '-')
        q++;
    while (q < lx->end && (is_digit(*q) || (*q == '_' && q + 1 < lx->end && is_digit(q[1]))))
        q++;
    enum dsl_tok_kind kind = T_NUMBER;
    if (q + 1 < lx->end && *q == '.' && is_digit(q[1])) {
        q++;
        while (q < lx->end && is_digit(*q))
            q++;
    }
    if (q + 1 < lx->end && *q == '.' && is_ident_start(q[1]))
        q++; /* 5.minutes */
    if (q < lx->end && is_ident_start(*q)) {
        kind = T_DURATION;
        while (q < lx->end && (is_ident_char(*q) || *q == '.'))
            q++;
    }
    lx->s = q;
    return push(lx, kind, start, q, lx->line, lx->line_start);
}

int dsl_lex(struct dsl_parser *p)
{
    struct lexer lx = {p, p->src, p->src + p->len, p->src, 1, NULL, 0};
    /* a UTF-8 byte order mark is ignored */
    if (p->len >= 3 && memcmp(p->src, "\xef\xbb\xbf", 3) == 0)
        lx.s += 3;
    while (lx.s < lx.end && !p->oom) {
        char c = *lx.s;
        if (c == '\n') {
            lx.line++;
            lx.line_start = ++lx.s;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            lx.s++;
            continue;
        }
        if (c == '#' || (c == '/' && lx.s + 1 < lx.end && lx.s[1] == '/')) {
            skip_line(&lx);
            continue;
        }
        if (c == '/' && lx.s + 1 < lx.end && lx.s[1] == '*') {
            const char *q = lx.s + 2;
            int line = lx.line;
            const char *ls = lx.line_start, *open = lx.s;
            while (q + 1 < lx.end && !(q[0] == '*' && q[1] == '/')) {
                if (*q == '\n') {
                    lx.line++;
                    lx.line_start = q + 1;
                }
                q++;
            }
            if (q + 1 >= lx.end) {
                dsl_diag(p, SYMBI_DSL_ERROR, line, col_of(ls, open), "unterminated /* comment");
                lx.s = lx.end;
                break;
            }
            lx.s = q + 2;
            continue;
        }
        if (c == '"') {
            if (lx.s + 2 < lx.end && lx.s[1] == '"' && lx.s[2] == '"')
                lex_triple(&lx);
            else
                lex_string(&lx);
            continue;
        }
        if (is_digit(c) || (c == '-' && lx.s + 1 < lx.end && is_digit(lx.s[1]))) {
            lex_number(&lx);
            continue;
        }
        if (is_ident_start(c)) {
            const char *q = lx.s + 1;
            /* identifiers may hold '-' between word characters: reporter-agent */
            while (q < lx.end &&
                   (is_ident_char(*q) || (*q == '-' && q + 1 < lx.end && is_ident_char(q[1]))))
                q++;
            push(&lx, T_IDENT, lx.s, q, lx.line, lx.line_start);
            lx.s = q;
            continue;
        }
        enum dsl_tok_kind k = T_OTHER;
        size_t n = 1;
        switch (c) {
        case '{':
            k = T_LBRACE;
            break;
        case '}':
            k = T_RBRACE;
            break;
        case '[':
            k = T_LBRACK;
            break;
        case ']':
            k = T_RBRACK;
            break;
        case '(':
            k = T_LPAREN;
            break;
        case ')':
            k = T_RPAREN;
            break;
        case ':':
            k = T_COLON;
            break;
        case '=':
            k = T_EQUALS;
            break;
        case ',':
            k = T_COMMA;
            break;
        case ';':
            k = T_SEMI;
            break;
        case '-':
            if (lx.s + 1 < lx.end && lx.s[1] == '>') {
                k = T_ARROW;
                n = 2;
            }
            break;
        default:
            if ((unsigned char)c >= 0x80)
                n = symbi_utf8_seq((const unsigned char *)lx.s, (size_t)(lx.end - lx.s));
            if (n == 0)
                n = 1;
            break;
        }
        push(&lx, k, lx.s, lx.s + n, lx.line, lx.line_start);
        lx.s += n;
    }
    if (push(&lx, T_EOF, lx.s, lx.s, lx.line, lx.line_start) != 0)
        return SYMBI_ENOMEM;
    return p->oom ? SYMBI_ENOMEM : 0;
}
