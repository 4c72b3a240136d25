/* dsl_int.h - private interface of the DSL module: tokens, the AST held in
 * an arena, the parser state and the helpers shared by its files. */
#ifndef SYMBI_DSL_INT_H
#define SYMBI_DSL_INT_H

#include "symbi/dsl.h"

#include <stdarg.h>

enum dsl_tok_kind {
    T_EOF = 0,
    T_LBRACE,
    T_RBRACE,
    T_LBRACK,
    T_RBRACK,
    T_LPAREN,
    T_RPAREN,
    T_COLON,
    T_EQUALS,
    T_COMMA,
    T_SEMI,
    T_ARROW,
    T_STRING,   /* "..." or """...""": str/slen hold the decoded text */
    T_IDENT,    /* bare identifier (true/false included) */
    T_NUMBER,   /* 42, -1, 1_000, 0.7 */
    T_DURATION, /* 90s, 1h30m, 5.minutes */
    T_OTHER,    /* any other character: only meaningful in skipped blocks */
    T_ERROR,    /* a lexical error already reported */
};

/* 32 bytes: a 1 MiB file may hold a few hundred thousand tokens. Lengths
 * fit 32 bits because files are at most SYMBI_DSL_MAX_FILE bytes. */
struct dsl_tok {
    uint8_t kind; /* enum dsl_tok_kind */
    int line;
    int col;
    uint32_t len;     /* of text */
    const char *text; /* raw text in the source */
    const char *str;  /* T_STRING: decoded value (not NUL-terminated) */
    uint32_t slen;
};

enum dsl_vkind {
    V_STRING = 0,
    V_NUMBER,
    V_BOOL,
    V_IDENT,
    V_DURATION,
    V_ARRAY,
    V_MAP,
};

struct dsl_entry;

struct dsl_value {
    enum dsl_vkind kind;
    int line;
    int col;
    const char *s; /* text of scalars (decoded for strings) */
    size_t len;
    bool b;
    struct dsl_value *items; /* V_ARRAY: first item, linked by next */
    struct dsl_value *next;
    struct dsl_entry *entries; /* V_MAP */
};

struct dsl_entry {
    const char *key;
    size_t klen;
    int line;
    int col;
    struct dsl_value *value;
    struct dsl_entry *next;
};

enum dsl_block_kind {
    B_SCHEDULE = 0,
    B_AGENT,
    B_POLICY, /* `policy NAME { <SPEC §8.1 keys> }`: a named policy (§8.3) */
};

/* A `schedule` or `agent` block. */
struct dsl_block {
    enum dsl_block_kind kind;
    int line; /* of the keyword */
    int col;
    const char *name; /* the name after the keyword, or NULL */
    size_t nlen;
    int name_line;
    int name_col;
    bool upstream; /* agent NAME(params) -> T { ... } */
    bool bad;      /* a syntax error inside: reported, never built */
    struct dsl_entry *entries;
    struct dsl_block *next;
};

struct dsl_parser {
    const char *name; /* file name for diagnostics */
    const char *src;
    size_t len;
    struct symbi_arena arena;
    struct dsl_tok *toks;
    size_t ntoks;
    size_t cap;
    size_t pos;
    struct dsl_block *blocks;
    struct dsl_block *last_block;
    struct symbi_dsl_file *out;
    bool oom;
    bool stop;         /* too many diagnostics */
    bool eof_reported; /* an unclosed block was reported at end of file */
    struct dsl_named_policy *policies;
    const struct symbi_dsl_policy *shared; /* other files' named policies */
    size_t n_shared;
};

/* Reports a diagnostic (printf-style message) at line:col. */
void dsl_diag(struct dsl_parser *p, enum symbi_dsl_severity sev, int line, int col, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));

/* Checks UTF-8 validity and NUL bytes; reports and returns false on the
 * first bad byte. */
bool dsl_check_text(struct dsl_parser *p);
/* Validates job and calls cb once per error (field: "cron", "policy.x", or
 * NULL), setting each failing field to a harmless value to find the next
 * (validate_each.c): every error of a block, not only the first. The job is
 * changed only when there were errors. Returns how many there were. */
typedef void (*dsl_validate_cb)(void *ud, const char *field, const struct symbi_err *err);
int dsl_validate_each(struct symbi_job *job, dsl_validate_cb cb, void *ud);
/* Turns the source into p->toks (always ending with T_EOF). */
int dsl_lex(struct dsl_parser *p);
/* Parses the tokens into p->blocks, reporting syntax errors. */
void dsl_parse(struct dsl_parser *p);
/* Turns the blocks into jobs and agents, reporting semantic errors. */
void dsl_build(struct dsl_parser *p);

/* ---- named policies (policies.c, SPEC §8.3) ---- */
struct dsl_named_policy {
    const char *name; /* in the arena */
    size_t nlen;
    int line, col;
    char *json; /* heap; NULL when the block had errors */
    struct dsl_named_policy *next;
};
/* true when the tokens at p->pos (after `policy`) are `NAME { ... }` whose
 * entries all use SPEC §8.1 keys, not upstream rule syntax. */
bool dsl_policy_is_guide_form(const struct dsl_parser *p);
/* Builds every B_POLICY block into p->policies (errors reported). */
void dsl_policies_collect(struct dsl_parser *p);
/* Applies `policy: "NAME"` (the entry ref) to *policy (the schedule's own
 * JSON, heap, may be NULL): merged with the named policy (stricter wins),
 * or, for a name no block defines, added to policy_ids with a warning.
 * false after reporting an error. */
bool dsl_policy_apply_ref(struct dsl_parser *p, const struct dsl_entry *ref, char **policy);
/* Hands the valid named policies to p->out and frees the rest. */
void dsl_policies_free(struct dsl_parser *p);

/* Appends v as compact JSON to b (bare identifiers and durations become
 * strings, numbers lose their '_'). */
int dsl_value_json(struct symbi_buf *b, const struct dsl_value *v);
/* Appends s (n bytes) as a JSON string literal. */
int dsl_json_string(struct symbi_buf *b, const char *s, size_t n);

/* The keys of a policy map (SPEC §8.1). */

/* Human name of a value kind: "a string", "an array", ... */
const char *dsl_vkind_name(enum dsl_vkind k);
/* Human text of a token for "found ..." messages (static or in p's arena). */
const char *dsl_tok_desc(struct dsl_parser *p, const struct dsl_tok *t);

#endif
