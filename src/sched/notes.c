/* notes.c - the run notes in <data_dir>/running/: one per run handed to a
 * worker, from before its agent starts until its outcome is committed, so
 * that a start after a crash knows which runs had started (SPEC §5.6). */
#include "sched/sched_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A note is <data_dir>/running/<run id>. It is made empty before the run
 * executes (the run has started: it may never be handed back as queued),
 * holds the group id of the run's command or exec agent while that group
 * lives (so the next start can kill what a crashed scheduler left), and is
 * removed when the run's outcome is committed. At start, the notes name
 * the runs the previous incarnation started: their groups are killed
 * (only when the group leader's environment holds that SYMBI_RUN_ID, so a
 * reused id is never killed) and recovery records them interrupted even
 * where the store still says queued (the crash came before `running` was
 * written). */

#define NOTES_MAX 65536 /* notes taken at one start; more wait for the next */

static int note_path(const struct symbi_sched *s, const char *run_id, char *path, size_t cap)
{
    return snprintf(path, cap, "%s/running/%s", s->data_dir, run_id) < (int)cap ? 0 : -1;
}

void sched_note_started(const struct symbi_sched *s, const char *run_id)
{
    char path[4096];
    if (s->data_dir == NULL || note_path(s, run_id, path, sizeof path) != 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

void sched_note_group(void *ud, int pgid)
{
    const struct sched_group_note *n = ud;
    char path[4096];
    if (note_path(n->s, n->run_id, path, sizeof path) != 0)
        return;
    if (pgid == 0) { /* the group is gone; the note stays until the outcome is committed */
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
        return;
    }
    FILE *f = fopen(path, "we");
    if (f != NULL) {
        fprintf(f, "%d\n", pgid);
        fclose(f);
    }
}

void sched_note_recorded(const struct symbi_sched *s, const char *run_id)
{
    char path[4096];
    if (s->data_dir != NULL && note_path(s, run_id, path, sizeof path) == 0)
        unlink(path);
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
    snprintf(s->noted[s->n_noted].id, sizeof s->noted[s->n_noted].id, "%s", run_id);
    s->noted[s->n_noted++].at = at;
}

void sched_kill_orphans(struct symbi_sched *s)
{
    if (s->data_dir == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/running", s->data_dir);
    mkdir(dir, 0700);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    int killed = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096 + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!is_run_id(e->d_name)) {
            unlink(path);
            continue;
        }
        FILE *f = fopen(path, "re");
        int pgid = 0;
        struct stat sb;
        int64_t at = SYMBI_TIME_NONE;
        if (f != NULL) {
            char line[32] = "";
            if (fgets(line, sizeof line, f) != NULL)
                line[strcspn(line, "\n")] = '\0';
            if (line[0] != '\0')
                symbi_parse_int(line, 2, INT32_MAX, &pgid);
            if (fstat(fileno(f), &sb) == 0)
                at = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
            fclose(f);
        }
        if (pgid > 1 && runs_for(pgid, e->d_name) && kill(-pgid, SIGKILL) == 0)
            killed++;
        keep_noted(s, e->d_name, at);
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
    for (size_t i = 0; i < s->n_noted; i++)
        sched_note_recorded(s, s->noted[i].id);
    free(s->noted);
    s->noted = NULL;
    s->n_noted = s->cap_noted = 0;
}
