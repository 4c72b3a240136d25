/* exec_int.h - private to the executor: a run's session context in memory
 * (loaded by mode, shown to each invocation, saved by mode) and its file. */
#ifndef SYMBI_EXEC_INT_H
#define SYMBI_EXEC_INT_H

#include "symbi/exec.h"
#include "symbi/store.h"

#include <limits.h>

/* A session: what the job's context carries (summary, live history) plus
 * the invocations of this run added to it, bounded by max_bytes. */
struct exec_session {
    enum symbi_session_mode mode;     /* the job's session mode (what is stored) */
    bool persist;                     /* a job and a store: save at the end */
    char *summary;                    /* the summary carried over (heap) */
    struct symbi_context_entry *live; /* oldest first: stored, then added */
    size_t n_live, cap_live;
    int64_t live_bytes; /* sum of the live entries' bytes */
    /* added entries moved out of the live history before being stored:
     * saved straight to the archive */
    struct symbi_context_entry *evicted;
    size_t n_evicted, cap_evicted;
    int64_t archive_through; /* stored live entries with id <= this: archived */
    int64_t max_bytes;
    bool changed;        /* an invocation was added */
    char *loaded_head;   /* the head as loaded (a save that changes nothing
                            writes nothing) */
    char path[PATH_MAX]; /* the context file; "" until written */
};

/* Loads the job's context (nothing for fully_ephemeral or job NULL). */
int exec_session_open(struct exec_session *s, const struct symbi_exec_config *c,
                      struct symbi_store *st, const struct symbi_job *job, struct symbi_err *err);
/* The context JSON shown to an invocation under `shown` mode (heap). */
char *exec_session_json(const struct exec_session *s, enum symbi_session_mode shown);
/* Writes json to the run's context file (created 0600 on first use). */
int exec_session_write(struct exec_session *s, const struct symbi_exec_config *c,
                       const char *run_id, const char *json, struct symbi_err *err);
/* Adds an invocation: its summary becomes the one carried, and the entry
 * {at, input, output} joins the live history, the oldest entries moving
 * out while the context exceeds max_bytes. */
int exec_session_add(struct exec_session *s, int64_t at, const char *input, const char *output,
                     size_t output_len, const char *summary);
/* Saves what the mode keeps (ews: the summary; shared: summary and
 * history, moved-out entries archived) in one store transaction. */
int exec_session_save(struct exec_session *s, struct symbi_store *st, const struct symbi_job *job,
                      int64_t now, struct symbi_err *err);
/* Removes the file and frees everything. */
void exec_session_close(struct exec_session *s);

/* ---- the context's JSON text (ctxjson.c) ---- */
/* Appends s (len bytes) as a JSON string (non-UTF-8 bytes as U+FFFD). */
int exec_json_string(struct symbi_buf *b, const char *s, size_t len);
/* Appends {"at","input","output"} of e. */
int exec_json_entry(struct symbi_buf *b, const struct symbi_context_entry *e);
/* {"mode","summary"[,"history":[entries]]} as heap text; NULL: no memory. */
char *exec_json_context(const char *mode, const char *summary, bool with_history,
                        const struct symbi_context_entry *v, size_t n);

#endif
