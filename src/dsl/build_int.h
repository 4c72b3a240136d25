/* build_int.h - what the builders of schedule and agent blocks share (key
 * tables' row type, value conversion, diagnostics at a key). */
#ifndef SYMBI_DSL_BUILD_INT_H
#define SYMBI_DSL_BUILD_INT_H

#include "dsl/dsl_int.h"

enum key_type {
    K_STRING,   /* string or bare identifier */
    K_DURATION, /* "30s", 90s, 5.minutes, or a number of seconds */
    K_INT,
    K_BOOL,
    K_NUMBER,    /* integer or decimal */
    K_STR_ARRAY, /* array of strings -> JSON text */
    K_STR_MAP,   /* map of string values -> JSON text */
    K_MAP,       /* any map -> JSON text (policy) */
    K_HEARTBEAT,
};

struct key_def {
    const char *name;
    enum key_type type;
};

/* A converted scalar or JSON text, heap-owned until stored. */
struct conv {
    char *str; /* K_STRING, JSON kinds */
    int64_t i; /* K_INT, K_BOOL, K_DURATION (ms) */
    double d;  /* K_NUMBER */
};

/* The state of one block's conversion. */
struct bctx {
    struct dsl_parser *p;
    const struct dsl_block *b;
    const char *what; /* "schedule" / "agent" */
    int errors;
};

/* An error at line:col of the block being built (counts in c->errors). */
void dsl_berr(struct bctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* true when the entry's key is `name`. */
bool dsl_key_eq(const struct dsl_entry *e, const char *name);
/* The key as text (for messages; bounded, owned by the parser). */
const char *dsl_key_text(struct bctx *c, const char *k, size_t n);
/* Converts the entry's value to `type` into *cv; false (reported) when it
 * is not of that type. */
bool dsl_convert(struct bctx *c, const struct dsl_entry *e, const char *name, enum key_type type,
                 struct conv *cv);
/* The row of the entry's key in table, or -1 (reported, with the nearest
 * known key). */
int dsl_find_key(struct bctx *c, const struct dsl_entry *e, const struct key_def *table, size_t n,
                 const char *in);
/* Reports a second entry of a key; true when e is one. */
bool dsl_dup_key(struct bctx *c, const struct dsl_entry *e, const struct dsl_entry **seen,
                 const char *name);
/* The position of a validator error's field in the block. */
void dsl_field_pos(const struct dsl_block *b, const char *field, int *line, int *col);
/* "dsl:<file>" (heap; NULL and p->oom on failure). */
char *dsl_source_of(struct dsl_parser *p);
/* Appends a to the file's agents (moves its strings). */
int dsl_push_agent(struct symbi_dsl_file *f, struct symbi_agent_def *a);
/* Builds one agent block into p->out (build_agent.c). */
void dsl_build_agent(struct dsl_parser *p, const struct dsl_block *b, bool dup);

#endif
