/* session.c - the session context of a run (SPEC §6.3): loaded from the
 * store by mode, shown to each invocation as JSON (the file named by
 * SYMBI_CONTEXT_FILE, and the request's context_json), saved by mode with
 * a shared_persistent history bounded by context_max_bytes. */
#include "exec/exec_int.h"

#include "symbi/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the longest mode name, so a context shown under any mode fits */
#define LONGEST_MODE "ephemeral_with_summary"

static void entry_free(struct symbi_context_entry *e)
{
    free(e->input);
    free(e->output);
    memset(e, 0, sizeof *e);
}

/* {"mode":M,"summary":S[,"history":[]]} as compact JSON text (heap) */
static char *head_text(const char *mode, const char *summary, bool with_history)
{
    return exec_json_context(mode, summary, with_history, NULL, 0);
}

/* the length of the context JSON when the live history is as it is */
static int64_t context_bytes(const struct exec_session *s)
{
    char *h = head_text(LONGEST_MODE, s->summary, true);
    int64_t n = h != NULL ? (int64_t)strlen(h) : 0;
    free(h);
    n += s->live_bytes;
    if (s->n_live > 1)
        n += (int64_t)s->n_live - 1; /* the commas */
    return n;
}

static int push(struct symbi_context_entry **v, size_t *n, size_t *cap,
                struct symbi_context_entry *e)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct symbi_context_entry *nv = realloc(*v, nc * sizeof *nv);
        if (nv == NULL)
            return SYMBI_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *e;
    return 0;
}

/* Moves the oldest live entries out until the context fits: stored ones
 * are archived at save (archive_through), added ones saved archived. */
static int fit(struct exec_session *s)
{
    size_t drop = 0;
    int64_t total = context_bytes(s);
    while (drop < s->n_live && total > s->max_bytes) {
        struct symbi_context_entry *e = &s->live[drop];
        total -= e->bytes + (s->n_live - drop > 1 ? 1 : 0);
        drop++;
    }
    for (size_t i = 0; i < drop; i++) {
        struct symbi_context_entry *e = &s->live[i];
        s->live_bytes -= e->bytes;
        if (e->id > 0) {
            if (e->id > s->archive_through)
                s->archive_through = e->id;
            entry_free(e);
        } else if (!s->persist) {
            entry_free(e); /* a context that is not kept: nothing to archive */
        } else if (push(&s->evicted, &s->n_evicted, &s->cap_evicted, e) != 0) {
            entry_free(e);
            return SYMBI_ENOMEM;
        }
    }
    if (drop > 0) {
        memmove(s->live, s->live + drop, (s->n_live - drop) * sizeof *s->live);
        s->n_live -= drop;
    }
    return 0;
}

int exec_session_open(struct exec_session *s, const struct symbi_exec_config *c,
                      struct symbi_store *st, const struct symbi_job *job, struct symbi_err *err)
{
    memset(s, 0, sizeof *s);
    s->mode = job != NULL ? job->session_mode : SYMBI_SESSION_FULLY_EPHEMERAL;
    s->persist = job != NULL && st != NULL && job->id[0] != '\0';
    s->max_bytes = c->context_max_bytes > 0 ? c->context_max_bytes : SYMBI_EXEC_CONTEXT_MAX_DEFAULT;
    if (!s->persist || s->mode == SYMBI_SESSION_FULLY_EPHEMERAL)
        return 0;
    char *head = NULL;
    int rc = symbi_store_context_get(st, job->id, &head, err);
    if (rc != 0)
        return rc;
    if (head != NULL) {
        /* a head that is not ours (hand-edited, older) carries nothing */
        json_t *o = json_loads(head, 0, NULL);
        json_t *sum = json_object_get(o, "summary");
        if (json_is_string(sum))
            s->summary = symbi_strndup(json_string_value(sum), json_string_length(sum));
        json_decref(o);
        s->loaded_head = head;
    }
    if (s->mode != SYMBI_SESSION_SHARED_PERSISTENT)
        return 0;
    rc = symbi_store_context_entries(st, job->id, false, 0, &s->live, &s->n_live, err);
    if (rc != 0)
        return rc;
    s->cap_live = s->n_live;
    for (size_t i = 0; i < s->n_live; i++)
        s->live_bytes += s->live[i].bytes;
    /* context_max_bytes may have been lowered since */
    return fit(s) == 0 ? 0 : symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
}

char *exec_session_json(const struct exec_session *s, enum symbi_session_mode shown)
{
    const char *sum = shown == SYMBI_SESSION_FULLY_EPHEMERAL ? NULL : s->summary;
    bool hist = shown == SYMBI_SESSION_SHARED_PERSISTENT;
    return exec_json_context(symbi_session_mode_name(shown), sum, true, s->live,
                             hist ? s->n_live : 0);
}

/* <data_dir>/contexts (its path only), or $TMPDIR */
static int context_dir(const struct symbi_exec_config *c, char *out, size_t size,
                       struct symbi_err *err)
{
    const char *t = getenv("TMPDIR");
    int n = c->data_dir != NULL ? snprintf(out, size, "%s/contexts", c->data_dir)
                                : snprintf(out, size, "%s", t && *t ? t : "/tmp");
    if (n < 0 || n >= (int)size)
        return symbi_err_set(err, SYMBI_EINVAL, "session context: directory path too long");
    return 0;
}

/* Creates the directory of path (and the data directory above it, which
 * `symbi run` may not have made yet). */
static int make_dir_of(char *path, struct symbi_err *err)
{
    char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return 0;
    *slash = '\0';
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    int rc = 0;
    struct stat sb;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        rc = symbi_err_set(err, SYMBI_EIO, "session context: cannot create %s: %s", path,
                           strerror(errno));
    else if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        rc = symbi_err_set(err, SYMBI_EIO, "session context: %s is not a directory", path);
    *slash = '/';
    return rc;
}

static int create_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int exec_session_write(struct exec_session *s, const struct symbi_exec_config *c,
                       const char *run_id, const char *json, struct symbi_err *err)
{
    if (s->path[0] == '\0') {
        char dir[PATH_MAX - 64];
        int rc = context_dir(c, dir, sizeof dir, err);
        if (rc != 0)
            return rc;
        snprintf(s->path, sizeof s->path, "%s/symbi-context-%s.json", dir, run_id);
    } else {
        unlink(s->path); /* a new file each time, never through a link left there */
    }
    int fd = create_file(s->path);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        int rc = make_dir_of(s->path, err);
        if (rc != 0) {
            s->path[0] = '\0';
            return rc;
        }
        fd = create_file(s->path);
    }
    if (fd < 0 && errno == EEXIST && unlink(s->path) == 0)
        fd = create_file(s->path);
    if (fd < 0) {
        int e = errno;
        int rc = symbi_err_set(err, SYMBI_EIO, "session context: cannot create %s: %s", s->path,
                               strerror(e));
        s->path[0] = '\0';
        return rc;
    }
    size_t len = strlen(json), off = 0;
    while (off < len) {
        ssize_t w = write(fd, json + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return symbi_err_set(err, SYMBI_EIO, "session context: writing %s: %s", s->path,
                                 strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return symbi_err_set(err, SYMBI_EIO, "session context: writing %s: %s", s->path,
                             strerror(errno));
    return 0;
}

/* a heap copy of the len bytes at p as valid UTF-8 (what the JSON holds) */
static char *utf8_copy(const char *p, size_t len)
{
    json_t *v = symbi_json_text(p, len);
    if (v == NULL)
        return NULL;
    char *out = symbi_strndup(json_string_value(v), json_string_length(v));
    json_decref(v);
    return out;
}

int exec_session_add(struct exec_session *s, int64_t at, const char *input, const char *output,
                     size_t output_len, const char *summary)
{
    s->changed = true;
    free(s->summary);
    s->summary = summary != NULL ? utf8_copy(summary, strlen(summary)) : NULL;
    struct symbi_context_entry e = {.at = at, .archived_at = SYMBI_TIME_NONE};
    e.input = input != NULL ? utf8_copy(input, strlen(input)) : NULL;
    /* NUL bytes end the text the store keeps */
    size_t n = output != NULL ? strnlen(output, output_len) : 0;
    e.output = utf8_copy(output != NULL ? output : "", n);
    if ((input != NULL && e.input == NULL) || e.output == NULL) {
        entry_free(&e);
        return SYMBI_ENOMEM;
    }
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    if (exec_json_entry(&b, &e) != 0) {
        symbi_buf_cleanup(&b);
        entry_free(&e);
        return SYMBI_ENOMEM;
    }
    e.bytes = (int64_t)b.len;
    symbi_buf_cleanup(&b);
    if (push(&s->live, &s->n_live, &s->cap_live, &e) != 0) {
        entry_free(&e);
        return SYMBI_ENOMEM;
    }
    s->live_bytes += e.bytes;
    return fit(s);
}

int exec_session_save(struct exec_session *s, struct symbi_store *st, const struct symbi_job *job,
                      int64_t now, struct symbi_err *err)
{
    if (!s->persist || !s->changed || s->mode == SYMBI_SESSION_FULLY_EPHEMERAL)
        return 0;
    char *head = head_text(symbi_session_mode_name(s->mode), s->summary, false);
    if (head == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    if (s->mode != SYMBI_SESSION_SHARED_PERSISTENT) {
        int rc = 0;
        /* no head and no summary carry the same: nothing to write */
        bool same = s->loaded_head != NULL ? strcmp(s->loaded_head, head) == 0 : s->summary == NULL;
        if (!same)
            rc = symbi_store_context_put(st, job->id, head, now, err);
        free(head);
        return rc;
    }
    /* the added entries, moved-out ones first (they are older) */
    size_t n = s->n_evicted;
    for (size_t i = 0; i < s->n_live; i++)
        n += s->live[i].id == 0;
    struct symbi_context_entry *add = n > 0 ? calloc(n, sizeof *add) : NULL;
    if (n > 0 && add == NULL) {
        free(head);
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n_evicted; i++) {
        add[k] = s->evicted[i];
        add[k++].archived_at = now;
    }
    for (size_t i = 0; i < s->n_live; i++)
        if (s->live[i].id == 0)
            add[k++] = s->live[i]; /* borrowed strings */
    int rc = symbi_store_context_save(st, job->id, head, add, n, s->archive_through, now, err);
    if (rc == 0) {
        /* the live ones now have their ids */
        k = s->n_evicted;
        for (size_t i = 0; i < s->n_live; i++)
            if (s->live[i].id == 0)
                s->live[i].id = add[k++].id;
    }
    free(add);
    free(head);
    return rc;
}

void exec_session_close(struct exec_session *s)
{
    if (s->path[0] != '\0')
        unlink(s->path);
    for (size_t i = 0; i < s->n_live; i++)
        entry_free(&s->live[i]);
    for (size_t i = 0; i < s->n_evicted; i++)
        entry_free(&s->evicted[i]);
    free(s->live);
    free(s->evicted);
    free(s->summary);
    free(s->loaded_head);
    memset(s, 0, sizeof *s);
}

/* ---- the context as the CLI and the API show it ---- */

json_t *symbi_exec_context_describe(struct symbi_store *st, const struct symbi_job *job,
                                    struct symbi_err *err)
{
    struct symbi_exec_config c;
    symbi_exec_config_init(&c);
    c.context_max_bytes = INT64_MAX; /* as stored */
    struct exec_session s;
    if (exec_session_open(&s, &c, st, job, err) != 0) {
        exec_session_close(&s);
        return NULL;
    }
    char *t = exec_session_json(&s, s.mode);
    exec_session_close(&s);
    json_t *o = t != NULL ? json_loads(t, 0, NULL) : NULL;
    size_t bytes = t != NULL ? strlen(t) : 0;
    free(t);
    if (o == NULL) {
        symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
        return NULL;
    }
    int64_t l = 0, a = 0;
    if (symbi_store_context_count(st, job->id, &l, &a, err) != 0) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "job_id", json_string(job->id));
    json_object_set_new(o, "job_name", json_string(job->name));
    json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(o, "live_entries",
                        json_integer(job->session_mode == SYMBI_SESSION_SHARED_PERSISTENT ? l : 0));
    json_object_set_new(o, "archived_entries", json_integer(a));
    return o;
}

int symbi_exec_context_clear(struct symbi_store *st, const struct symbi_job *job, int64_t now,
                             struct symbi_err *err)
{
    return symbi_store_context_clear(st, job->id, now, err);
}
