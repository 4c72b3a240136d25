/* dsl.c - the DSL module's entry points: reading a file within its limits,
 * running lexer, parser and builder, and keeping the diagnostics. */
#include "dsl/dsl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_diag(struct symbi_dsl_file *f, enum symbi_dsl_severity sev, int line, int col,
                    const char *msg)
{
    for (size_t i = f->n_diags; i-- > 0;) {
        const struct symbi_dsl_diag *d = &f->diags[i];
        if (d->line == line && d->col == col && strcmp(d->message, msg) == 0)
            return 0; /* the same complaint twice helps no one */
        if (f->n_diags - i > 4)
            break;
    }
    struct symbi_dsl_diag *nd = realloc(f->diags, (f->n_diags + 1) * sizeof *nd);
    if (nd == NULL)
        return SYMBI_ENOMEM;
    f->diags = nd;
    struct symbi_dsl_diag *d = &f->diags[f->n_diags];
    d->file = symbi_strdup(f->path != NULL ? f->path : "-");
    d->message = symbi_strdup(msg);
    if (d->file == NULL || d->message == NULL) {
        free(d->file);
        free(d->message);
        return SYMBI_ENOMEM;
    }
    d->line = line;
    d->col = col;
    d->severity = sev;
    f->n_diags++;
    if (sev == SYMBI_DSL_ERROR)
        f->n_errors++;
    return 0;
}

void dsl_diag(struct dsl_parser *p, enum symbi_dsl_severity sev, int line, int col, const char *fmt,
              ...)
{
    if (p->stop)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->out->n_diags + 1 >= SYMBI_DSL_MAX_DIAGS) {
        p->stop = true;
        if (add_diag(p->out, SYMBI_DSL_ERROR, line, col, "too many diagnostics; stopping here") !=
            0)
            p->oom = true;
        return;
    }
    if (add_diag(p->out, sev, line, col, msg) != 0)
        p->oom = true;
}

static int diag_cmp(const void *a, const void *b)
{
    const struct symbi_dsl_diag *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    /* keep report order for equal positions: compare addresses of the
     * original slots, which qsort does not preserve, so fall back on the
     * message text for determinism */
    return strcmp(x->message, y->message);
}

static void file_init(struct symbi_dsl_file *f)
{
    memset(f, 0, sizeof *f);
}

static int parse_buffer(const char *name, const char *text, size_t len,
                        const struct symbi_dsl_policy *shared, size_t n_shared,
                        struct symbi_dsl_file *out)
{
    file_init(out);
    out->path = symbi_strdup(name != NULL ? name : "-");
    if (out->path == NULL)
        return SYMBI_ENOMEM;
    if (len > SYMBI_DSL_MAX_FILE) {
        char msg[128];
        snprintf(msg, sizeof msg, "file too large (%zu bytes; the limit is %d)", len,
                 SYMBI_DSL_MAX_FILE);
        return add_diag(out, SYMBI_DSL_ERROR, 0, 0, msg) != 0 ? SYMBI_ENOMEM : SYMBI_EPARSE;
    }
    struct dsl_parser p;
    memset(&p, 0, sizeof p);
    p.name = out->path;
    p.src = text != NULL ? text : "";
    p.len = text != NULL ? len : 0;
    p.out = out;
    p.shared = shared;
    p.n_shared = n_shared;
    symbi_arena_init(&p.arena);
    if (dsl_check_text(&p) && dsl_lex(&p) == 0) {
        dsl_parse(&p);
        if (!p.oom)
            dsl_build(&p);
    }
    free(p.toks);
    dsl_policies_free(&p);
    symbi_arena_cleanup(&p.arena);
    if (out->n_diags > 1)
        qsort(out->diags, out->n_diags, sizeof *out->diags, diag_cmp);
    if (p.oom)
        return SYMBI_ENOMEM;
    return out->n_errors > 0 ? SYMBI_EPARSE : 0;
}

int symbi_dsl_parse_buffer(const char *name, const char *text, size_t len,
                           struct symbi_dsl_file *out)
{
    return parse_buffer(name, text, len, NULL, 0, out);
}

int symbi_dsl_parse_file(const char *path, struct symbi_dsl_file *out)
{
    return symbi_dsl_parse_file_shared(path, NULL, 0, out);
}

int symbi_dsl_parse_file_shared(const char *path, const struct symbi_dsl_policy *shared,
                                size_t n_shared, struct symbi_dsl_file *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    const char *why = NULL;
    char msg[600];
    if (fd < 0) {
        why = strerror(errno);
    } else if (fstat(fd, &st) != 0) {
        why = strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
        why = "is a directory";
    } else if (S_ISREG(st.st_mode) && st.st_size > SYMBI_DSL_MAX_FILE) {
        snprintf(msg, sizeof msg, "file too large (%lld bytes; the limit is %d)",
                 (long long)st.st_size, SYMBI_DSL_MAX_FILE);
        close(fd);
        file_init(out);
        if ((out->path = symbi_strdup(path)) == NULL)
            return SYMBI_ENOMEM;
        return add_diag(out, SYMBI_DSL_ERROR, 0, 0, msg) != 0 ? SYMBI_ENOMEM : SYMBI_EPARSE;
    }
    if (why != NULL) {
        snprintf(msg, sizeof msg, "cannot read: %s", why);
        if (fd >= 0)
            close(fd);
        file_init(out);
        if ((out->path = symbi_strdup(path)) == NULL)
            return SYMBI_ENOMEM;
        return add_diag(out, SYMBI_DSL_ERROR, 0, 0, msg) != 0 ? SYMBI_ENOMEM : SYMBI_EPARSE;
    }
    /* read one byte past the limit to tell "too large" from "just fits" */
    size_t cap = SYMBI_DSL_MAX_FILE + 1, len = 0;
    if (S_ISREG(st.st_mode) && (size_t)st.st_size + 1 < cap)
        cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        file_init(out);
        return SYMBI_ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            if (cap > SYMBI_DSL_MAX_FILE)
                break;
            size_t ncap = cap * 2 > SYMBI_DSL_MAX_FILE + 1 ? SYMBI_DSL_MAX_FILE + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                close(fd);
                file_init(out);
                return SYMBI_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
            free(buf);
            close(fd);
            file_init(out);
            if ((out->path = symbi_strdup(path)) == NULL)
                return SYMBI_ENOMEM;
            return add_diag(out, SYMBI_DSL_ERROR, 0, 0, msg) != 0 ? SYMBI_ENOMEM : SYMBI_EPARSE;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int rc = parse_buffer(path, buf, len, shared, n_shared, out);
    free(buf);
    return rc;
}

void symbi_dsl_file_cleanup(struct symbi_dsl_file *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_jobs; i++)
        symbi_job_cleanup(&f->jobs[i]);
    for (size_t i = 0; i < f->n_agents; i++)
        symbi_agent_def_cleanup(&f->agents[i]);
    for (size_t i = 0; i < f->n_diags; i++) {
        free(f->diags[i].file);
        free(f->diags[i].message);
    }
    free(f->jobs);
    free(f->agents);
    free(f->diags);
    for (size_t i = 0; i < f->n_policies; i++) {
        free(f->policies[i].name);
        free(f->policies[i].json);
    }
    free(f->policies);
    free(f->path);
    file_init(f);
}

char *symbi_dsl_diag_fmt(const struct symbi_dsl_diag *d, char *out, size_t size)
{
    const char *sev = d->severity == SYMBI_DSL_WARNING ? "warning" : "error";
    if (d->line > 0)
        snprintf(out, size, "%s:%d:%d: %s: %s", d->file, d->line, d->col, sev, d->message);
    else
        snprintf(out, size, "%s: %s: %s", d->file, sev, d->message);
    return out;
}

int symbi_dsl_file_error(const struct symbi_dsl_file *f, struct symbi_err *err)
{
    if (f->n_errors == 0)
        return 0;
    for (size_t i = 0; i < f->n_diags; i++) {
        if (f->diags[i].severity != SYMBI_DSL_ERROR)
            continue;
        char line[700];
        symbi_dsl_diag_fmt(&f->diags[i], line, sizeof line);
        if (f->n_errors > 1)
            return symbi_err_set(err, SYMBI_EPARSE, "%s (and %zu more errors)", line,
                                 f->n_errors - 1);
        return symbi_err_set(err, SYMBI_EPARSE, "%s", line);
    }
    return SYMBI_EPARSE;
}

const struct symbi_job *symbi_dsl_find_job(const struct symbi_dsl_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_jobs; i++)
        if (f->jobs[i].name != NULL && strcmp(f->jobs[i].name, name) == 0)
            return &f->jobs[i];
    return NULL;
}

/* Optimal string alignment distance (edits: insert, delete, substitute,
 * swap two neighbours), capped: anything above `cap` returns cap + 1. */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return cap + 1;
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

const char *symbi_dsl_nearest(const char *word, const char *const *candidates, size_t n)
{
    size_t wl = strlen(word);
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, candidates[i], 2);
        if (dist < bestd && dist < wl) {
            best = candidates[i];
            bestd = dist;
        }
    }
    return best;
}
