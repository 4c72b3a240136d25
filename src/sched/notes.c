/* notes.c - what survives a crash of the scheduler in <data_dir>/running/:
 * the journal of started runs (a run id appended before its agent starts,
 * dropped once its outcome is committed) and the process-group notes of
 * running agents, so that the next start recovers them (SPEC §5.6). */
#include "sched/sched_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The journal: two files, running/started.0 and .1, opened once with
 * O_APPEND. A worker appends "<run id>\n" to the current one before the
 * run executes (one write, no sync: a kill -9 keeps it, a power loss may
 * not); the recorder counts the run off once its outcome is committed. A
 * file whose runs are all recorded is emptied (past JOURNAL_TRIM bytes, and
 * at a stop); past JOURNAL_SWITCH bytes
 * new runs go to the other file once that one is empty, so the journal
 * stays small however long a run lasts. At start, the ids in the journal
 * name the runs the previous incarnation started: recovery records them
 * interrupted even where the store still says queued (the crash came
 * before `running` was written), so a run that started is never run again
 * with the same id.
 *
 * The group notes: running/<run id> holds the group id of a command or
 * exec agent while it lives; the next start kills what is left of those
 * groups (only when the group leader's environment holds that
 * SYMBI_RUN_ID, so a reused id is never killed). */

#define NOTES_MAX      65536     /* run ids taken at one start; more wait for the next */
#define JOURNAL_SWITCH (1 << 20) /* bytes: then new runs go to the other file */
#define JOURNAL_TRIM   (1 << 16) /* bytes: a file with no run unrecorded is emptied */
#define ID_LINE        (SYMBI_UUID_LEN + 1)

static void journal_path(const struct symbi_sched *s, int i, char *path, size_t cap)
{
    snprintf(path, cap, "%s/running/started.%d", s->data_dir, i);
}

int sched_journal_open(struct symbi_sched *s)
{
    struct sched_journal *j = &s->journal;
    j->fd[0] = j->fd[1] = -1;
    if (s->data_dir == NULL)
        return 0;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        journal_path(s, i, path, sizeof path);
        j->fd[i] = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (j->fd[i] < 0)
            return SYMBI_EIO;
    }
    j->open = true;
    return 0;
}

void sched_journal_close(struct symbi_sched *s)
{
    struct sched_journal *j = &s->journal;
    for (int i = 0; j->open && i < 2; i++) {
        /* a clean stop leaves nothing to recover; a run not recorded stays */
        if (j->unrecorded[i] == 0 && ftruncate(j->fd[i], 0) != 0)
            symbi_log(SYMBI_LOG_WARN, "scheduler", "cannot empty the journal of started runs");
        close(j->fd[i]);
    }
    j->open = false;
}

void sched_note_started(struct symbi_sched *s, struct sched_entry *e)
{
    struct sched_journal *j = &s->journal;
    e->journal_gen = -1;
    if (!j->open)
        return;
    char line[ID_LINE + 1];
    snprintf(line, sizeof line, "%s\n", e->run.id);
    pthread_mutex_lock(&j->mu);
    int g = j->cur;
    if (write(j->fd[g], line, ID_LINE) == ID_LINE) {
        j->unrecorded[g]++;
        j->bytes[g] += ID_LINE;
        e->journal_gen = g;
    }
    pthread_mutex_unlock(&j->mu);
}

void sched_note_recorded(struct symbi_sched *s, struct sched_entry *e)
{
    struct sched_journal *j = &s->journal;
    int g = e->journal_gen;
    if (!j->open || g < 0)
        return;
    e->journal_gen = -1;
    pthread_mutex_lock(&j->mu);
    if (--j->unrecorded[g] == 0 && (g != j->cur || j->bytes[g] > JOURNAL_TRIM)) {
        if (ftruncate(j->fd[g], 0) == 0)
            j->bytes[g] = 0;
    } else if (g == j->cur && j->bytes[g] > JOURNAL_SWITCH && j->unrecorded[1 - g] == 0) {
        j->cur = 1 - g; /* the other file is empty: new runs go there */
    }
    pthread_mutex_unlock(&j->mu);
}

/* The debug knob SYMBI_DEBUG_KILL_AFTER_START=N (docs/cluster.md, for the
 * cluster tests): the process kills itself (SIGKILL) right after its N-th
 * agent process started, its group noted; off when unset. */
static atomic_long kill_after = -1;

static void debug_kill_point(const char *run_id)
{
    long left = atomic_load(&kill_after);
    if (left < 0) {
        const char *v = getenv("SYMBI_DEBUG_KILL_AFTER_START");
        long n = v != NULL ? strtol(v, NULL, 10) : 0;
        long unset = -1;
        atomic_compare_exchange_strong(&kill_after, &unset, n > 0 ? n : 0);
    }
    long cur = atomic_load(&kill_after);
    while (cur > 0 && !atomic_compare_exchange_weak(&kill_after, &cur, cur - 1))
        ;
    if (cur == 1) {
        fprintf(stderr, "SYMBI_DEBUG_KILL_AFTER_START: killing this process after run %s started\n",
                run_id);
        raise(SIGKILL);
    }
}

void sched_note_group(void *ud, int pgid)
{
    const struct sched_group_note *n = ud;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/running/%s", n->s->data_dir, n->run_id) >= (int)sizeof path)
        return;
    if (pgid == 0) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "we");
    if (f != NULL) {
        fprintf(f, "%d\n", pgid);
        fclose(f);
    }
    debug_kill_point(n->run_id);
}

/* true when process pid has SYMBI_RUN_ID=run_id in its environment */
static bool runs_for(int pid, const char *run_id)
{
    char path[64], want[128];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    int n = snprintf(want, sizeof want, "SYMBI_RUN_ID=%s", run_id);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    static char env[65536];
    size_t len = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    env[len] = '\0';
    for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
        if (strncmp(env + i, want, (size_t)n) == 0 && env[i + (size_t)n] == '\0')
            return true;
    }
    return false;
}

static bool is_run_id(const char *name)
{
    size_t n = strlen(name);
    return n == SYMBI_UUID_LEN && strspn(name, "0123456789abcdef-") == n;
}

/* Notes run_id (started at `at`, wall ms) for sched_recover. */
static void keep_noted(struct symbi_sched *s, const char *run_id, int64_t at)
{
    if (s->n_noted == NOTES_MAX)
        return;
    if (s->n_noted == s->cap_noted) {
        size_t cap = s->cap_noted ? s->cap_noted * 2 : 16;
        struct sched_noted *v = realloc(s->noted, cap * sizeof *v);
        if (v == NULL)
            return;
        s->noted = v;
        s->cap_noted = cap;
    }
    /* run_id is a checked id (is_run_id): exactly SYMBI_UUID_LEN bytes */
    memcpy(s->noted[s->n_noted].id, run_id, SYMBI_UUID_LEN);
    s->noted[s->n_noted].id[SYMBI_UUID_LEN] = '\0';
    s->noted[s->n_noted++].at = at;
}

/* Keeps the run ids of the journal file `path` (s->noted). */
static void read_journal(struct symbi_sched *s, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    struct stat sb;
    int64_t at = SYMBI_TIME_NONE;
    if (fstat(fileno(f), &sb) == 0)
        at = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    char line[128];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (is_run_id(line))
            keep_noted(s, line, at);
    }
    fclose(f);
}

void sched_kill_orphans(struct symbi_sched *s)
{
    if (s->data_dir == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/running", s->data_dir);
    mkdir(dir, 0700);
    for (int i = 0; i < 2; i++) {
        char path[4096];
        journal_path(s, i, path, sizeof path);
        read_journal(s, path);
    }
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    int killed = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_run_id(e->d_name))
            continue;
        char path[4096 + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "re");
        int pgid = 0;
        if (f != NULL) {
            char line[32] = "";
            if (fgets(line, sizeof line, f) != NULL)
                line[strcspn(line, "\n")] = '\0';
            symbi_parse_int(line, 2, INT32_MAX, &pgid);
            fclose(f);
        }
        if (pgid > 1 && runs_for(pgid, e->d_name) && kill(-pgid, SIGKILL) == 0)
            killed++;
        unlink(path);
    }
    closedir(d);
    if (killed > 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "killed %d agent process group(s) left by a previous scheduler", killed);
}

int sched_mark_noted_started(struct symbi_sched *s, size_t *marked, struct symbi_err *err)
{
    *marked = 0;
    for (size_t i = 0; i < s->n_noted; i++) {
        struct symbi_run r;
        if (symbi_store_run_get(s->st, s->noted[i].id, &r, err) != 0)
            continue; /* gone (its job deleted): nothing to recover */
        int rc = 0;
        if (r.status == SYMBI_RUN_QUEUED && r.node != NULL && strcmp(r.node, s->node) == 0) {
            r.status = SYMBI_RUN_RUNNING;
            if (r.started_at == SYMBI_TIME_NONE)
                r.started_at = s->noted[i].at;
            rc = symbi_store_run_update(s->st, &r, err);
            *marked += rc == 0;
        }
        symbi_run_cleanup(&r);
        if (rc != 0 && rc != SYMBI_ENOTFOUND)
            return rc;
    }
    return 0;
}

void sched_notes_forget(struct symbi_sched *s)
{
    for (int i = 0; s->data_dir != NULL && i < 2; i++) {
        char path[4096];
        journal_path(s, i, path, sizeof path);
        if (truncate(path, 0) != 0)
            unlink(path); /* absent, or truncate failed: it must not be read again */
    }
    free(s->noted);
    s->noted = NULL;
    s->n_noted = s->cap_noted = 0;
}
