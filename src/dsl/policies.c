/* policies.c - named policies (SPEC §8.3): a top-level `policy NAME { ... }`
 * block written with the keys of §8.1 defines a reusable policy that a
 * schedule's `policy: "NAME"` applies; rule-syntax policy blocks are skipped. */
#include "dsl/dsl_int.h"
#include "symbi/policy.h"

#include <stdlib.h>
#include <string.h>

static bool is_policy_key(const char *k, size_t n)
{
    for (size_t i = 0; i < symbi_policy_n_keys; i++)
        if (strlen(symbi_policy_keys[i]) == n && memcmp(symbi_policy_keys[i], k, n) == 0)
            return true;
    return false;
}

bool dsl_policy_is_guide_form(const struct dsl_parser *p)
{
    size_t i = p->pos;
    const struct dsl_tok *t = p->toks;
    if (t[i].kind != T_IDENT && t[i].kind != T_STRING)
        return false;
    if (t[++i].kind != T_LBRACE)
        return false;
    size_t depth = 0, keys = 0;
    for (; t[i].kind != T_EOF; i++) {
        enum dsl_tok_kind k = t[i].kind;
        if (k == T_LBRACE || k == T_LBRACK || k == T_LPAREN) {
            depth++;
        } else if (k == T_RBRACE || k == T_RBRACK || k == T_RPAREN) {
            if (--depth == 0)
                return keys > 0;
        } else if (k == T_IDENT && t[i].len == 2 && memcmp(t[i].text, "if", 2) == 0) {
            return false; /* upstream rule syntax */
        } else if (depth == 1 && (k == T_IDENT || k == T_STRING) &&
                   (t[i + 1].kind == T_COLON || t[i + 1].kind == T_EQUALS ||
                    t[i + 1].kind == T_LBRACE)) {
            const char *s = k == T_STRING ? t[i].str : t[i].text;
            size_t n = k == T_STRING ? t[i].slen : t[i].len;
            if (!is_policy_key(s, n))
                return false;
            keys++;
        }
    }
    return false;
}

static const struct dsl_named_policy *find(const struct dsl_parser *p, const char *name, size_t n)
{
    for (const struct dsl_named_policy *np = p->policies; np != NULL; np = np->next)
        if (np->nlen == n && memcmp(np->name, name, n) == 0)
            return np;
    return NULL;
}

/* One block into its JSON text (NULL after reporting an error). */
static char *build_one(struct dsl_parser *p, const struct dsl_block *b)
{
    int errors = 0;
    for (const struct dsl_entry *e = b->entries; e != NULL; e = e->next) {
        for (const struct dsl_entry *f = b->entries; f != e; f = f->next)
            if (f->klen == e->klen && memcmp(f->key, e->key, e->klen) == 0) {
                dsl_diag(p, SYMBI_DSL_ERROR, e->line, e->col, "duplicate key `%.*s` in policy",
                         (int)e->klen, e->key);
                errors++;
                break;
            }
        if (!is_policy_key(e->key, e->klen)) { /* a string key the form check let by */
            dsl_diag(p, SYMBI_DSL_ERROR, e->line, e->col, "unknown key `%.*s` in policy",
                     (int)(e->klen > 60 ? 60 : e->klen), e->key);
            errors++;
        }
    }
    if (errors > 0 || b->bad)
        return NULL;
    struct dsl_value v = {.kind = V_MAP, .line = b->line, .col = b->col, .entries = b->entries};
    struct symbi_buf buf;
    symbi_buf_init(&buf, 0);
    if (dsl_value_json(&buf, &v) != 0) {
        symbi_buf_cleanup(&buf);
        p->oom = true;
        return NULL;
    }
    char *json = symbi_buf_steal(&buf);
    struct symbi_policy pol;
    const char *field = NULL;
    struct symbi_err err = {0};
    if (symbi_policy_parse(json, &pol, &field, &err) != 0) {
        int line = b->line, col = b->col;
        const char *k = field != NULL && strncmp(field, "policy.", 7) == 0 ? field + 7 : NULL;
        for (const struct dsl_entry *e = b->entries; e != NULL && k != NULL; e = e->next)
            if (e->klen == strlen(k) && memcmp(e->key, k, e->klen) == 0) {
                line = e->value->line;
                col = e->value->col;
            }
        dsl_diag(p, SYMBI_DSL_ERROR, line, col, "%s", err.msg);
        free(json);
        return NULL;
    }
    symbi_policy_cleanup(&pol);
    return json;
}

void dsl_policies_collect(struct dsl_parser *p)
{
    struct dsl_named_policy **tail = &p->policies;
    for (const struct dsl_block *b = p->blocks; b != NULL && !p->oom; b = b->next) {
        if (b->kind != B_POLICY || b->name == NULL)
            continue;
        const struct dsl_named_policy *prev = find(p, b->name, b->nlen);
        if (prev != NULL) {
            dsl_diag(p, SYMBI_DSL_ERROR, b->name_line, b->name_col,
                     "duplicate policy name `%.*s` (first at %d:%d)",
                     (int)(b->nlen > 60 ? 60 : b->nlen), b->name, prev->line, prev->col);
            continue;
        }
        struct dsl_named_policy *np = symbi_arena_alloc(&p->arena, sizeof *np);
        if (np == NULL) {
            p->oom = true;
            return;
        }
        np->name = b->name;
        np->nlen = b->nlen;
        np->line = b->name_line;
        np->col = b->name_col;
        np->json = build_one(p, b);
        *tail = np;
        tail = &np->next;
    }
}

bool dsl_policy_apply_ref(struct dsl_parser *p, const struct dsl_entry *ref, char **policy)
{
    const struct dsl_value *v = ref->value;
    if (v->len == 0 || v->len > 128) {
        dsl_diag(p, SYMBI_DSL_ERROR, v->line, v->col,
                 "policy: a policy name of 1 to 128 characters");
        return false;
    }
    const struct dsl_named_policy *np = find(p, v->s, v->len);
    if (np != NULL && np->json == NULL)
        return false; /* its block's errors are reported */
    const char *other = np != NULL ? np->json : NULL;
    for (size_t i = 0; other == NULL && i < p->n_shared; i++)
        if (strlen(p->shared[i].name) == v->len && memcmp(p->shared[i].name, v->s, v->len) == 0)
            other = p->shared[i].json;
    struct symbi_buf ids;
    symbi_buf_init(&ids, 0);
    if (other == NULL) {
        if (symbi_buf_puts(&ids, "{\"policy_ids\":[") != 0 ||
            dsl_json_string(&ids, v->s, v->len) != 0 || symbi_buf_puts(&ids, "]}") != 0) {
            symbi_buf_cleanup(&ids);
            p->oom = true;
            return false;
        }
        other = symbi_buf_str(&ids);
        dsl_diag(p, SYMBI_DSL_WARNING, v->line, v->col,
                 "policy \"%.*s\" is not defined by a `policy %.*s { ... }` block (with the keys "
                 "of SPEC §8.1) in this file or the files loaded with it: it is stored as a "
                 "policy id and has no effect",
                 (int)v->len, v->s, (int)v->len, v->s);
    }
    char *merged = NULL;
    struct symbi_err err = {0};
    int rc = symbi_policy_merge(other, *policy, &merged, &err);
    symbi_buf_cleanup(&ids);
    if (rc != 0) {
        if (rc == SYMBI_ENOMEM)
            p->oom = true;
        else
            dsl_diag(p, SYMBI_DSL_ERROR, v->line, v->col,
                     "policy \"%.*s\" and the schedule's own: %s", (int)v->len, v->s, err.msg);
        return false;
    }
    free(*policy);
    *policy = merged;
    return true;
}

void dsl_policies_free(struct dsl_parser *p)
{
    size_t n = 0;
    for (struct dsl_named_policy *np = p->policies; np != NULL; np = np->next)
        n += np->json != NULL;
    struct symbi_dsl_file *f = p->out;
    if (n > 0 && !p->oom && (f->policies = calloc(n, sizeof *f->policies)) == NULL)
        p->oom = true;
    for (struct dsl_named_policy *np = p->policies; np != NULL; np = np->next) {
        char *name =
            np->json != NULL && f->policies != NULL ? symbi_strndup(np->name, np->nlen) : NULL;
        if (name == NULL) {
            free(np->json);
        } else {
            f->policies[f->n_policies++] =
                (struct symbi_dsl_policy){name, np->json, np->line, np->col};
        }
        np->json = NULL;
    }
    p->policies = NULL;
}

/* The first definition of each name among files (in order), as borrowed
 * pointers. */
static int union_of(struct symbi_dsl_file *files, size_t n, struct symbi_dsl_policy **out,
                    size_t *n_out)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += files[i].n_policies;
    struct symbi_dsl_policy *u = total > 0 ? calloc(total, sizeof *u) : NULL;
    if (total > 0 && u == NULL)
        return SYMBI_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < files[i].n_policies; j++) {
            const struct symbi_dsl_policy *pol = &files[i].policies[j];
            bool dup = false;
            for (size_t m = 0; m < k && !dup; m++)
                dup = strcmp(u[m].name, pol->name) == 0;
            if (!dup)
                u[k++] = *pol;
        }
    *out = u;
    *n_out = k;
    return 0;
}

int symbi_dsl_parse_files(const char *const *paths, size_t n, struct symbi_dsl_file *files,
                          int *rcs)
{
    for (size_t i = 0; i < n; i++)
        rcs[i] = symbi_dsl_parse_file(paths[i], &files[i]);
    struct symbi_dsl_policy *u = NULL;
    size_t nu = 0;
    if (n < 2)
        return 0;
    int rc = union_of(files, n, &u, &nu);
    if (rc != 0 || nu == 0) {
        free(u);
        return rc;
    }
    /* the union borrows the first pass's strings: copy them out first */
    for (size_t m = 0; m < nu; m++) {
        u[m].name = symbi_strdup(u[m].name);
        u[m].json = symbi_strdup(u[m].json);
        if (u[m].name == NULL || u[m].json == NULL)
            rc = SYMBI_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        symbi_dsl_file_cleanup(&files[i]);
        rcs[i] = symbi_dsl_parse_file_shared(paths[i], u, nu, &files[i]);
    }
    for (size_t m = 0; m < nu; m++) {
        free(u[m].name);
        free(u[m].json);
    }
    free(u);
    return rc;
}
