/* toml.h - private interface of the config module's TOML-subset reader:
 * a tree of tables, arrays and scalars held in an arena, each value with
 * the line it was written on (docs/config.md lists the subset). */
#ifndef SYMBI_CONFIG_TOML_H
#define SYMBI_CONFIG_TOML_H

#include "symbi/core.h"

#define TOML_MAX_FILE  (1024 * 1024)
#define TOML_MAX_DEPTH 32

enum toml_kind {
    TOML_STRING = 0,
    TOML_INT,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_ARRAY,
    TOML_TABLE,
};

struct toml_kv;

struct toml_value {
    enum toml_kind kind;
    int line;
    const char *s; /* TOML_STRING, NUL-terminated (no NUL inside: refused) */
    size_t len;
    int64_t i;
    double d;
    bool b;
    struct toml_value *items; /* TOML_ARRAY, linked by next */
    struct toml_value *next;
    struct toml_kv *kvs; /* TOML_TABLE, in file order */
    struct toml_kv *last;
    bool defined; /* a [header] or inline table defined it: closed to new headers */
    bool is_inline;
};

struct toml_kv {
    const char *key;
    int line;
    struct toml_value *value;
    struct toml_kv *next;
};

/* Parses text (len bytes) into *root (a table in arena a). On a syntax
 * error returns SYMBI_EINVAL with err->msg "NAME:LINE: message". */
int toml_parse(const char *name, const char *text, size_t len, struct symbi_arena *a,
               struct toml_value **root, struct symbi_err *err);

/* The value of key in table t, or NULL. */
struct toml_value *toml_get(const struct toml_value *t, const char *key);
const char *toml_kind_name(enum toml_kind k);

#endif
