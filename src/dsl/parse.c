/* parse.c - the recursive-descent parser of `.symbi` files (SPEC §2): the
 * tokens become `schedule` and `agent` blocks of key/value entries in an
 * arena; other top-level blocks are skipped with their braces balanced. */
#include "dsl/dsl_int.h"

#include <string.h>

#define MAX_MAP_ENTRIES 256
#define MAX_ARRAY_ITEMS 10000

/* Names of top-level blocks of the wider Symbiont language: skipped
 * silently even when they look like a misspelt `agent` or `schedule`. */
static const char *const upstream_blocks[] = {
    "metadata", "policy", "type",  "function", "fn",     "channel",  "memory",
    "webhook",  "import", "use",   "tool",     "tools",  "with",     "const",
    "let",      "struct", "enum",  "impl",     "module", "event",    "events",
    "prompt",   "config", "trait", "context",  "agents", "workflow",
};

static const char *const block_keywords[] = {"schedule", "agent"};

static struct dsl_tok *peek(struct dsl_parser *p)
{
    return &p->toks[p->pos];
}

static struct dsl_tok *next(struct dsl_parser *p)
{
    struct dsl_tok *t = &p->toks[p->pos];
    if (t->kind != T_EOF)
        p->pos++;
    return t;
}

/* Three adjacent `.` tokens: the `...` of an elided example. */
static bool is_ellipsis(const struct dsl_parser *p)
{
    const struct dsl_tok *t = &p->toks[p->pos];
    if (t->kind != T_OTHER || t->text[0] != '.' || p->pos + 2 >= p->ntoks)
        return false;
    return t[1].kind == T_OTHER && t[1].text == t->text + 1 && t[2].kind == T_OTHER &&
           t[2].text == t->text + 2 && t[2].text[0] == '.' && t[1].text[0] == '.';
}

static bool tok_is(const struct dsl_tok *t, const char *word)
{
    size_t n = strlen(word);
    return t->kind == T_IDENT && t->len == n && memcmp(t->text, word, n) == 0;
}

const char *dsl_tok_desc(struct dsl_parser *p, const struct dsl_tok *t)
{
    switch (t->kind) {
    case T_EOF:
        return "end of file";
    case T_STRING:
        return "a string";
    case T_NUMBER:
        return "a number";
    case T_DURATION:
        return "a duration";
    case T_ERROR:
        return "an invalid token";
    default:
        break;
    }
    size_t n = t->len > 40 ? 40 : t->len;
    char *s = symbi_arena_alloc(&p->arena, n + 3);
    if (s == NULL)
        return "a token";
    s[0] = '`';
    memcpy(s + 1, t->text, n);
    s[n + 1] = '`';
    return s;
}

/* Reports "expected X, found Y" at t unless t is a lexical error (already
 * reported). */
static void expected(struct dsl_parser *p, const struct dsl_tok *t, const char *what)
{
    if (t->kind == T_ERROR)
        return;
    if (t->kind == T_EOF && p->stop)
        return;
    dsl_diag(p, SYMBI_DSL_ERROR, t->line, t->col, "expected %s, found %s", what,
             dsl_tok_desc(p, t));
}

static void unterminated(struct dsl_parser *p, const struct dsl_tok *open, const char *what)
{
    static const char *const closer[] = {[T_LBRACE] = "}", [T_LBRACK] = "]", [T_LPAREN] = ")"};
    if (p->eof_reported)
        return; /* the innermost unclosed opener was reported */
    p->eof_reported = true;
    dsl_diag(p, SYMBI_DSL_ERROR, open->line, open->col,
             "unterminated %s: `%.*s` is never closed by `%s`", what, (int)open->len, open->text,
             closer[open->kind]);
}

/* Error recovery inside a block: skips to the next entry (an identifier or
 * string on a later line than the error) or to the block's closing brace,
 * keeping brackets balanced. */
static void sync(struct dsl_parser *p, int err_line)
{
    int depth = 0;
    for (;;) {
        struct dsl_tok *t = peek(p);
        if (t->kind == T_EOF)
            return;
        if (depth == 0) {
            if (t->kind == T_RBRACE || t->kind == T_RBRACK)
                return;
            if ((t->kind == T_IDENT || t->kind == T_STRING) && t->line > err_line)
                return;
        }
        if (t->kind == T_LBRACE || t->kind == T_LBRACK || t->kind == T_LPAREN)
            depth++;
        else if ((t->kind == T_RBRACE || t->kind == T_RBRACK || t->kind == T_RPAREN) && depth > 0)
            depth--;
        next(p);
    }
}

static struct dsl_value *new_value(struct dsl_parser *p, enum dsl_vkind kind,
                                   const struct dsl_tok *t)
{
    struct dsl_value *v = symbi_arena_alloc(&p->arena, sizeof *v);
    if (v == NULL) {
        p->oom = true;
        return NULL;
    }
    v->kind = kind;
    v->line = t->line;
    v->col = t->col;
    v->s = t->text;
    v->len = t->len;
    return v;
}

static bool parse_entries(struct dsl_parser *p, int depth, const struct dsl_tok *open,
                          struct dsl_entry **out);

static struct dsl_value *parse_value(struct dsl_parser *p, int depth)
{
    struct dsl_tok *t = next(p);
    struct dsl_value *v;
    switch (t->kind) {
    case T_STRING:
        if ((v = new_value(p, V_STRING, t)) != NULL) {
            v->s = t->str;
            v->len = t->slen;
        }
        return v;
    case T_NUMBER:
        return new_value(p, V_NUMBER, t);
    case T_DURATION:
        return new_value(p, V_DURATION, t);
    case T_IDENT:
        if (tok_is(t, "true") || tok_is(t, "false")) {
            if ((v = new_value(p, V_BOOL, t)) != NULL)
                v->b = tok_is(t, "true");
            return v;
        }
        return new_value(p, V_IDENT, t);
    case T_LBRACK:
    case T_LBRACE:
        if (depth >= SYMBI_DSL_MAX_DEPTH) {
            dsl_diag(p, SYMBI_DSL_ERROR, t->line, t->col, "nesting too deep (more than %d levels)",
                     SYMBI_DSL_MAX_DEPTH);
            p->pos--;
            return NULL;
        }
        if ((v = new_value(p, t->kind == T_LBRACK ? V_ARRAY : V_MAP, t)) == NULL)
            return NULL;
        if (t->kind == T_LBRACE)
            return parse_entries(p, depth + 1, t, &v->entries) ? v : NULL;
        {
            struct dsl_value **tail = &v->items;
            size_t n = 0;
            for (;;) {
                struct dsl_tok *c = peek(p);
                if (c->kind == T_RBRACK) {
                    next(p);
                    return v;
                }
                if (c->kind == T_EOF) {
                    unterminated(p, t, "array");
                    return NULL;
                }
                if (++n > MAX_ARRAY_ITEMS) {
                    dsl_diag(p, SYMBI_DSL_ERROR, c->line, c->col,
                             "too many array items (more than %d)", MAX_ARRAY_ITEMS);
                    return NULL;
                }
                struct dsl_value *item = parse_value(p, depth + 1);
                if (item == NULL)
                    return NULL;
                *tail = item;
                tail = &item->next;
                c = peek(p);
                if (c->kind == T_COMMA) {
                    next(p);
                } else if (c->kind != T_RBRACK) {
                    if (c->kind == T_EOF)
                        unterminated(p, t, "array");
                    else
                        expected(p, c, "`,` or `]` after an array item");
                    return NULL;
                }
            }
        }
    case T_EOF:
        expected(p, t, "a value");
        return NULL;
    default:
        expected(p, t, "a value");
        if (t->kind == T_RBRACE || t->kind == T_RBRACK)
            p->pos--; /* leave the closer to the enclosing block */
        return NULL;
    }
}

/* Entries up to the `}` matching open (already consumed). Returns false when
 * the block was not closed properly (errors reported). */
static bool parse_entries(struct dsl_parser *p, int depth, const struct dsl_tok *open,
                          struct dsl_entry **out)
{
    struct dsl_entry **tail = out;
    size_t n = 0;
    for (;;) {
        if (p->oom)
            return false;
        struct dsl_tok *t = peek(p);
        if (t->kind == T_RBRACE) {
            next(p);
            return true;
        }
        if (t->kind == T_EOF) {
            unterminated(p, open, depth == 1 ? "block" : "map");
            return false;
        }
        if (t->kind == T_COMMA) { /* a stray separator is harmless */
            next(p);
            continue;
        }
        if (is_ellipsis(p)) {
            /* SPEC and the guide elide keys with `...`: tolerated, with a warning */
            dsl_diag(p, SYMBI_DSL_WARNING, t->line, t->col, "`...` placeholder ignored");
            p->pos += 3;
            continue;
        }
        if (t->kind != T_IDENT && t->kind != T_STRING) {
            expected(p, t, "a key");
            next(p);
            sync(p, t->line);
            continue;
        }
        next(p);
        if (depth > 1 && ++n > MAX_MAP_ENTRIES) {
            dsl_diag(p, SYMBI_DSL_ERROR, t->line, t->col, "too many map entries (more than %d)",
                     MAX_MAP_ENTRIES);
            sync(p, t->line);
            continue;
        }
        struct dsl_tok *sep = peek(p);
        struct dsl_value *v = NULL;
        if (sep->kind == T_COLON || sep->kind == T_EQUALS) {
            next(p);
            v = parse_value(p, depth);
        } else if (sep->kind == T_LBRACE) {
            v = parse_value(p, depth); /* `heartbeat { ... }` */
        } else {
            if (sep->kind == T_EOF)
                unterminated(p, open, depth == 1 ? "block" : "map");
            else
                dsl_diag(p, SYMBI_DSL_ERROR, sep->line, sep->col,
                         "expected `:` or `=` after key `%.*s`, found %s",
                         (int)(t->kind == T_STRING ? t->slen : t->len),
                         t->kind == T_STRING ? t->str : t->text, dsl_tok_desc(p, sep));
        }
        if (v == NULL) {
            if (peek(p)->kind == T_EOF)
                return false;
            sync(p, sep->line);
            continue;
        }
        struct dsl_entry *e = symbi_arena_alloc(&p->arena, sizeof *e);
        if (e == NULL) {
            p->oom = true;
            return false;
        }
        e->key = t->kind == T_STRING ? t->str : t->text;
        e->klen = t->kind == T_STRING ? t->slen : t->len;
        e->line = t->line;
        e->col = t->col;
        e->value = v;
        *tail = e;
        tail = &e->next;
        t = peek(p);
        if (t->kind == T_COMMA)
            next(p);
    }
}

static struct dsl_block *new_block(struct dsl_parser *p, enum dsl_block_kind kind,
                                   const struct dsl_tok *kw)
{
    struct dsl_block *b = symbi_arena_alloc(&p->arena, sizeof *b);
    if (b == NULL) {
        p->oom = true;
        return NULL;
    }
    b->kind = kind;
    b->line = kw->line;
    b->col = kw->col;
    return b;
}

static void add_block(struct dsl_parser *p, struct dsl_block *b)
{
    if (p->last_block != NULL)
        p->last_block->next = b;
    else
        p->blocks = b;
    p->last_block = b;
}

/* Skips a balanced run of tokens opened by open (already consumed), up to
 * and including its closer. Returns false at end of file. */
static bool skip_balanced(struct dsl_parser *p, const struct dsl_tok *open, const char *what)
{
    enum dsl_tok_kind o = open->kind, c = o == T_LBRACE   ? T_RBRACE
                                          : o == T_LPAREN ? T_RPAREN
                                                          : T_RBRACK;
    size_t depth = 1;
    for (;;) {
        struct dsl_tok *t = next(p);
        if (t->kind == T_EOF) {
            unterminated(p, open, what);
            return false;
        }
        if (t->kind == o)
            depth++;
        else if (t->kind == c && --depth == 0)
            return true;
    }
}

/* The body of `agent NAME(params) -> T { ... }`: only `capabilities` is
 * read; everything else is skipped. */
static bool parse_upstream_agent_body(struct dsl_parser *p, const struct dsl_tok *open,
                                      struct dsl_block *b)
{
    struct dsl_entry **tail = &b->entries;
    for (;;) {
        struct dsl_tok *t = next(p);
        switch (t->kind) {
        case T_EOF:
            unterminated(p, open, "agent block");
            return false;
        case T_RBRACE:
            return true;
        case T_LBRACE:
        case T_LBRACK:
        case T_LPAREN:
            if (!skip_balanced(p, t, "block"))
                return false;
            break;
        case T_IDENT:
            if (tok_is(t, "capabilities") &&
                (peek(p)->kind == T_COLON || peek(p)->kind == T_EQUALS)) {
                next(p);
                struct dsl_value *v = parse_value(p, 1);
                if (v == NULL) {
                    sync(p, t->line);
                    break;
                }
                struct dsl_entry *e = symbi_arena_alloc(&p->arena, sizeof *e);
                if (e == NULL) {
                    p->oom = true;
                    return false;
                }
                e->key = t->text;
                e->klen = t->len;
                e->line = t->line;
                e->col = t->col;
                e->value = v;
                *tail = e;
                tail = &e->next;
            }
            break;
        default:
            break;
        }
    }
}

static void parse_block(struct dsl_parser *p, struct dsl_tok *kw, enum dsl_block_kind kind)
{
    struct dsl_block *b = new_block(p, kind, kw);
    if (b == NULL)
        return;
    size_t errors_before = p->out->n_errors;
    struct dsl_tok *t = peek(p);
    if (t->kind == T_IDENT || t->kind == T_STRING) {
        next(p);
        b->name = t->kind == T_STRING ? t->str : t->text;
        b->nlen = t->kind == T_STRING ? t->slen : t->len;
        b->name_line = t->line;
        b->name_col = t->col;
        t = peek(p);
    }
    if (kind == B_AGENT && t->kind == T_LPAREN) {
        b->upstream = true;
        next(p);
        if (!skip_balanced(p, t, "parameter list"))
            return;
        if (peek(p)->kind == T_ARROW) {
            next(p);
            while (peek(p)->kind != T_LBRACE && peek(p)->kind != T_EOF)
                next(p);
        }
        t = peek(p);
    }
    if (t->kind != T_LBRACE) {
        expected(p, t,
                 kind == B_AGENT ? "`{` to open the agent block"
                                 : "`{` to open the schedule block");
        /* skip what follows up to the next top-level keyword */
        while (peek(p)->kind != T_EOF &&
               !(peek(p)->kind == T_IDENT && peek(p)->line > t->line &&
                 (tok_is(peek(p), "schedule") || tok_is(peek(p), "agent"))))
            next(p);
        return;
    }
    next(p);
    size_t body = p->pos;
    bool ok =
        b->upstream ? parse_upstream_agent_body(p, t, b) : parse_entries(p, 1, t, &b->entries);
    b->bad = !ok || p->out->n_errors > errors_before;
    for (size_t i = body; i < p->pos && !b->bad; i++)
        b->bad = p->toks[i].kind == T_ERROR; /* a lexical error inside */
    add_block(p, b);
}

/* Skips another top-level block (`metadata { ... }`, `function f() { ... }`,
 * `import x;`), braces balanced. */
static void skip_block(struct dsl_parser *p, struct dsl_tok *kw)
{
    size_t nlen = kw->len;
    bool known = false;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(upstream_blocks); i++)
        if (strlen(upstream_blocks[i]) == nlen && memcmp(upstream_blocks[i], kw->text, nlen) == 0)
            known = true;
    if (!known && nlen < 64) {
        char word[64];
        memcpy(word, kw->text, nlen);
        word[nlen] = '\0';
        const char *near = symbi_dsl_nearest(word, block_keywords, 2);
        if (near != NULL)
            dsl_diag(p, SYMBI_DSL_WARNING, kw->line, kw->col,
                     "skipped top-level block `%s`; did you mean `%s`?", word, near);
    }
    for (;;) {
        struct dsl_tok *t = peek(p);
        if (t->kind == T_EOF || t->kind == T_RBRACE)
            return;
        if (t->kind == T_SEMI) {
            next(p);
            return;
        }
        if (t->kind == T_IDENT && t->line > kw->line &&
            (tok_is(t, "schedule") || tok_is(t, "agent")))
            return;
        next(p);
        if (t->kind == T_LBRACE) {
            skip_balanced(p, t, "block");
            return;
        }
    }
}

void dsl_parse(struct dsl_parser *p)
{
    while (!p->oom && !p->stop) {
        struct dsl_tok *t = next(p);
        if (t->kind == T_EOF)
            return;
        if (tok_is(t, "schedule")) {
            parse_block(p, t, B_SCHEDULE);
        } else if (tok_is(t, "agent")) {
            parse_block(p, t, B_AGENT);
        } else if (tok_is(t, "policy") && dsl_policy_is_guide_form(p)) {
            parse_block(p, t, B_POLICY);
        } else if (t->kind == T_IDENT) {
            skip_block(p, t);
        } else if (t->kind != T_ERROR) {
            if (t->kind == T_RBRACE)
                dsl_diag(p, SYMBI_DSL_ERROR, t->line, t->col, "unexpected `}` at top level");
            else
                expected(p, t, "a top-level block (`schedule`, `agent`, ...)");
            /* resume at the next identifier on a later line */
            while (peek(p)->kind != T_EOF && !(peek(p)->kind == T_IDENT && peek(p)->line > t->line))
                next(p);
        }
    }
}
