/* sq_db.c - the SQLite backend's handle: opening with WAL, foreign keys and
 * busy handling, the prepared-statement cache, transactions that take the
 * write lock up front and retry while another process holds it. */
#include "store/sq.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long one statement waits for a lock inside SQLite's busy handler,
 * and how long sq_begin keeps retrying BEGIN IMMEDIATE beyond that. */
#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_BEGIN_RETRY_MS  60000
/* What SQLite may hold in all of a process's handles before their page
 * caches recycle pages rather than grow. Each handle's cache_size allows
 * 64 MiB, and a daemon has a handle per API thread besides the loop's and
 * the recorder's: without a bound shared by all, the soak's caches (8
 * handles, a store growing ~1 GB an hour) filled with cold pages and RSS
 * rose 16 -> 104 MB in 10 minutes (docs/reliability.md). A soft limit
 * never fails an allocation. */
#define SQ_HEAP_SOFT_LIMIT (32LL * 1024 * 1024)

int sq_fail(struct sq_store *s, struct symbi_err *err, const char *what)
{
    int ext = sqlite3_extended_errcode(s->db);
    int prim = ext & 0xff;
    const char *msg = sqlite3_errmsg(s->db);
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return symbi_err_set(err, SYMBI_EBUSY, "store: %s: the store stayed busy: %s", what, msg);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return symbi_err_set(err, SYMBI_EEXIST, "store: %s: %s", what, msg);
    if (prim == SQLITE_NOMEM)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: %s: out of memory", what);
    if (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN ||
        prim == SQLITE_READONLY)
        return symbi_err_set(err, SYMBI_EIO, "store: %s: %s (%s)", what, msg, s->path);
    return symbi_err_set(err, SYMBI_ESTORE, "store: %s: %s", what, msg);
}

static uint64_t fnv1a(const char *p)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return h;
}

sqlite3_stmt *sq_prep_text(struct sq_store *s, const char *sql, struct symbi_err *err)
{
    uint64_t h = fnv1a(sql);
    size_t i = (size_t)(h % SQ_CACHE_SLOTS);
    for (size_t probe = 0; probe < SQ_CACHE_SLOTS; probe++, i = (i + 1) % SQ_CACHE_SLOTS) {
        struct sq_slot *slot = &s->cache[i];
        if (slot->sql == NULL) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
                SQLITE_OK) {
                sq_fail(s, err, "preparing a statement");
                return NULL;
            }
            slot->sql = symbi_strdup(sql);
            if (slot->sql == NULL) {
                sqlite3_finalize(st);
                symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
                return NULL;
            }
            slot->hash = h;
            slot->stmt = st;
            return st;
        }
        if (slot->hash == h && strcmp(slot->sql, sql) == 0) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
    }
    symbi_err_set(err, SYMBI_ESTORE, "store: statement cache full");
    return NULL;
}

sqlite3_stmt *sq_prep(struct sq_store *s, const char *sql, struct symbi_err *err)
{
    /* a string literal's address names its text for the process's life:
     * the hot statements skip hashing their (long) SQL */
    struct sq_fast *f = &s->fast[((uintptr_t)sql >> 3) % SQ_FAST_SLOTS];
    if (f->sql == sql) {
        sqlite3_reset(f->stmt);
        sqlite3_clear_bindings(f->stmt);
        return f->stmt;
    }
    sqlite3_stmt *st = sq_prep_text(s, sql, err);
    if (st != NULL) {
        f->sql = sql;
        f->stmt = st;
    }
    return st;
}

int sq_step(struct sq_store *s, sqlite3_stmt *st, struct symbi_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    rc = sq_fail(s, err, what);
    sqlite3_reset(st);
    return rc;
}

int sq_exec(struct sq_store *s, const char *sql, struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep_text(s, sql, err);
    if (st == NULL)
        return err ? err->code : SYMBI_ESTORE;
    int rc = sq_step(s, st, err, sql);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : rc;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Runs one cached statement that returns no rows; SQLite's result code. */
static int step_raw(struct sq_store *s, const char *sql)
{
    sqlite3_stmt *st = sq_prep(s, sql, NULL);
    if (st == NULL)
        return SQLITE_ERROR;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

/* BEGIN (op SYMBI_LEVEL_BEGIN or _BEGIN_ATOMIC): a savepoint when nested. */
static int sq_begin_op(struct sq_store *s, enum symbi_common_level_op op, struct symbi_err *err)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, op);
    if (step == SYMBI_STEP_DONE)
        return 0;
    if (step == SYMBI_STEP_SAVEPOINT) {
        if (step_raw(s, "SAVEPOINT sq") != SQLITE_DONE)
            return sq_fail(s, err, "starting a nested transaction");
        symbi_common_level_done(&s->lv, op, step);
        return 0;
    }
    int64_t start = symbi_now_mono_ms();
    int64_t pause = 1;
    for (;;) {
        sqlite3_stmt *st = sq_prep(s, "BEGIN IMMEDIATE", err);
        if (st == NULL)
            return err ? err->code : SYMBI_ESTORE;
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            symbi_common_level_done(&s->lv, op, step);
            return 0;
        }
        int prim = sqlite3_extended_errcode(s->db) & 0xff;
        if ((prim != SQLITE_BUSY && prim != SQLITE_LOCKED) ||
            symbi_now_mono_ms() - start > s->begin_wait_ms)
            return sq_fail(s, err, "starting a write transaction");
        /* SQLite's own handler already waited SQ_BUSY_TIMEOUT_MS; a short
         * randomised pause avoids lock-step retries between processes */
        unsigned char r = 0;
        symbi_random_bytes(&r, 1);
        sleep_ms(pause + r % 8);
        pause = pause < 64 ? pause * 2 : 64;
    }
}

int sq_begin(struct sq_store *s, struct symbi_err *err)
{
    return sq_begin_op(s, SYMBI_LEVEL_BEGIN, err);
}

int sq_commit(struct sq_store *s, struct symbi_err *err)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, SYMBI_LEVEL_COMMIT);
    switch (step) {
    case SYMBI_STEP_DONE:
        return 0;
    case SYMBI_STEP_NONE:
        return symbi_err_set(err, SYMBI_ESTORE, "store: commit without a transaction");
    case SYMBI_STEP_SPOILED:
        sq_rollback(s);
        return symbi_err_set(err, SYMBI_ESTORE,
                             "store: an operation of the transaction failed: rolled back");
    case SYMBI_STEP_SAVEPOINT:
    case SYMBI_STEP_OUTER:
        break;
    }
    if (step_raw(s, step == SYMBI_STEP_SAVEPOINT ? "RELEASE sq" : "COMMIT") == SQLITE_DONE) {
        symbi_common_level_done(&s->lv, SYMBI_LEVEL_COMMIT, step);
        return 0;
    }
    int rc = sq_fail(s, err,
                     step == SYMBI_STEP_SAVEPOINT ? "ending a nested transaction" : "committing");
    sq_rollback(s);
    return rc;
}

void sq_rollback(struct sq_store *s)
{
    enum symbi_common_step step = symbi_common_level_step(&s->lv, SYMBI_LEVEL_ROLLBACK);
    if (step == SYMBI_STEP_SAVEPOINT) {
        step_raw(s, "ROLLBACK TO sq");
        step_raw(s, "RELEASE sq");
    } else if (step == SYMBI_STEP_OUTER && !sqlite3_get_autocommit(s->db) &&
               step_raw(s, "ROLLBACK") != SQLITE_DONE) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    symbi_common_level_done(&s->lv, SYMBI_LEVEL_ROLLBACK, step);
}

static void sq_close(struct symbi_store *st)
{
    struct sq_store *s = sq_of(st);
    if (s->lv.depth > 0) {
        s->lv.depth = 1;
        sq_rollback(s);
    }
    for (size_t i = 0; i < SQ_CACHE_SLOTS; i++) {
        if (s->cache[i].sql != NULL) {
            sqlite3_finalize(s->cache[i].stmt);
            free(s->cache[i].sql);
        }
    }
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

static int pragma(struct sq_store *s, const char *sql, struct symbi_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = symbi_err_set(err, SYMBI_ESTORE, "store: %s: %s: %s", s->path, sql,
                               msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int symbi_sq_open(const char *path, struct symbi_store **out, struct symbi_err *err)
{
    if (sqlite3_threadsafe() == 0)
        return symbi_err_set(err, SYMBI_EUNSUPPORTED, "store: SQLite built without threads");
    /* the file holds API key hashes and job definitions: private to the
     * user from the start */
    /* Only when the file does not exist yet: closing any descriptor of a
     * file drops every POSIX lock this process holds on it, so an
     * open+close of a database that another handle of this process has
     * open would silently release that handle's SQLite locks (another
     * process then deletes the WAL under it: lost writes, corruption). */
    struct stat sb;
    if (strcmp(path, ":memory:") != 0 && stat(path, &sb) != 0 && errno == ENOENT) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return symbi_err_set(err, SYMBI_EIO, "store: cannot open %s: %s", path,
                                 strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    struct sq_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = symbi_strdup(path)) == NULL) {
        free(s);
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    s->base.ops = &symbi_sq_ops;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    sqlite3_soft_heap_limit64(SQ_HEAP_SOFT_LIMIT);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        int rc = symbi_err_set(err, SYMBI_EIO, "store: cannot open %s: %s", path,
                               s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_close(&s->base);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
    /* SQLite before 3.32 allows 999 parameters a statement: no wide INSERT */
    s->wide_insert =
        sqlite3_limit(s->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1) >= SQ_BATCH * SQ_JOB_NCOLS;
    s->begin_wait_ms = SQ_BEGIN_RETRY_MS;
    int rc;
    if ((rc = pragma(s, "PRAGMA journal_mode=WAL", err)) != 0 ||
        (rc = pragma(s, "PRAGMA synchronous=FULL", err)) != 0 ||
        (rc = pragma(s, "PRAGMA foreign_keys=ON", err)) != 0 ||
        (rc = pragma(s, "PRAGMA temp_store=MEMORY", err)) != 0 ||
        (rc = pragma(s, "PRAGMA cache_size=-65536", err)) != 0 || (rc = sq_migrate(s, err)) != 0) {
        if (rc == SYMBI_ESTORE && err != NULL && strstr(err->msg, "not a database") != NULL)
            rc = SYMBI_EIO;
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

int sq_change_mark(struct symbi_store *st, int64_t *mark)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q = sq_prep(s, "PRAGMA data_version", NULL);
    if (q == NULL)
        return SYMBI_ESTORE;
    int rc = sqlite3_step(q);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW)
        return SYMBI_ESTORE;
    /* data_version moves when another connection commits; local_changes
     * when this one changes a job or queues a run */
    *mark = v + s->local_changes;
    return 0;
}

/* Runs a check pragma; every row it returns is a problem except "ok". */
static int check_pragma(struct sq_store *s, const char *sql, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s, sql, err);
    if (q == NULL)
        return err ? err->code : SYMBI_ESTORE;
    int rc = sq_step(s, q, err, sql);
    if (rc == SQLITE_ROW) {
        const char *first = (const char *)sqlite3_column_text(q, 0);
        if (sqlite3_column_count(q) == 1 && first != NULL && strcmp(first, "ok") == 0)
            rc = 0;
        else
            rc = symbi_err_set(err, SYMBI_ESTORE, "store: %s: %s: %s", s->path, sql,
                               first ? first : "problem found");
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_check(struct symbi_store *st, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = check_pragma(s, "PRAGMA integrity_check", err);
    return rc != 0 ? rc : check_pragma(s, "PRAGMA foreign_key_check", err);
}

static int sq_tx_begin(struct symbi_store *st, struct symbi_err *err)
{
    return sq_begin(sq_of(st), err);
}

static int sq_tx_begin_atomic(struct symbi_store *st, struct symbi_err *err)
{
    return sq_begin_op(sq_of(st), SYMBI_LEVEL_BEGIN_ATOMIC, err);
}

static int sq_tx_commit(struct symbi_store *st, struct symbi_err *err)
{
    return sq_commit(sq_of(st), err);
}

static void sq_tx_rollback(struct symbi_store *st)
{
    if (sq_of(st)->lv.depth > 0)
        sq_rollback(sq_of(st));
}

/* The busy handler's wait and sq_begin's retries both end at ms. */
static void sq_set_lock_wait(struct symbi_store *st, int64_t ms)
{
    struct sq_store *s = sq_of(st);
    int w = ms < SQ_BUSY_TIMEOUT_MS ? (int)ms : SQ_BUSY_TIMEOUT_MS;
    sqlite3_busy_timeout(s->db, w);
    s->begin_wait_ms = ms < SQ_BEGIN_RETRY_MS ? ms : SQ_BEGIN_RETRY_MS;
}

const struct symbi_store_ops symbi_sq_ops = {
    .name = "sqlite",
    .set_lock_wait = sq_set_lock_wait,
    .close = sq_close,
    .check = sq_check,
    .prune = sq_prune,
    .run_activity = sq_run_activity,
    .tx_begin = sq_tx_begin,
    .tx_begin_atomic = sq_tx_begin_atomic,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .job_create = sq_job_create,
    .job_create_many = sq_job_create_many,
    .job_upsert = sq_job_upsert,
    .job_upsert_many = sq_job_upsert_many,
    .job_update = sq_job_update,
    .job_get = sq_job_get,
    .job_delete = sq_job_delete,
    .job_set_status = sq_job_set_status,
    .job_reset = sq_job_reset,
    .job_list = sq_job_list,
    .job_counts = sq_job_counts,
    .next_due = sq_next_due,
    .change_mark = sq_change_mark,
    .claim_due = sq_claim_due,
    .run_insert = sq_run_insert,
    .run_update = sq_run_update,
    .run_transition = sq_run_transition,
    .run_decide = sq_run_decide,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .run_count = sq_run_count,
    .claim_queued = sq_claim_queued,
    .run_finish = sq_run_finish,
    .runs_give_back = sq_runs_give_back,
    .runs_waiting = sq_runs_waiting,
    .agent_upsert = sq_agent_upsert,
    .agent_get = sq_agent_get,
    .agent_list = sq_agent_list,
    .audit_append = sq_audit_append,
    .audit_query = sq_audit_query,
    .context_get = sq_context_get,
    .context_put = sq_context_put,
    .context_clear = sq_context_clear,
    .context_entries = sq_context_entries,
    .context_save = sq_context_save,
    .context_count = sq_context_count,
    .api_key_insert = sq_api_key_insert,
    .api_key_list = sq_api_key_list,
    .api_key_revoke = sq_api_key_revoke,
    .node_heartbeat = sq_node_heartbeat,
    .node_remove = sq_node_remove,
    .node_alive = sq_node_alive,
    .recover_expired = sq_recover_expired,
    .node_lease = sq_node_lease,
};
