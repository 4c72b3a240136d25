/* worker.c - the scheduler's workers: each takes a started run, executes
 * it (one call: the run pipeline, or the test's runner) and hands it back
 * to the loop; and the process-group notes that let the next start kill
 * the agents a crashed scheduler left behind. */
#include "sched/sched_int.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- process groups of running agents ----
 * <data_dir>/running/<run id> holds the group id of a running command or
 * exec agent. After a crash the next start kills what is left of those
 * groups (the file's run id must be in the process's environment, so a
 * reused id is never killed) before their runs are retried. */

struct group_note {
    const struct symbi_sched *s;
    const char *run_id;
};

static void note_group(void *ud, int pgid)
{
    const struct group_note *n = ud;
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

/* ---- workers ---- */

/* Executes e through the run pipeline (symbi_exec_run: steps 2-6) with its
 * job as claimed (read now when the claim could not copy it) and the
 * workers' shared store handles, filling e->out: the one call a worker
 * makes per run. */
static void execute_run(struct symbi_sched *s, struct sched_entry *e)
{
    struct symbi_err err = {0};
    int rc = 0;
    if (!e->have_job) {
        struct symbi_store *st = symbi_exec_pool_get(s->pool, &err);
        rc = st != NULL ? symbi_store_job_get(st, e->run.job_id, &e->job, &err) : err.code;
        symbi_exec_pool_put(s->pool, st);
        e->have_job = rc == 0;
    }
    if (rc == 0) {
        pthread_mutex_lock(&s->exec_lock); /* a reload may be replacing it */
        struct symbi_exec_config xc = s->cfg.exec;
        xc.max_output_bytes = s->cfg.max_output_bytes;
        xc.kill_grace_ms = s->cfg.kill_grace_ms;
        pthread_mutex_unlock(&s->exec_lock);
        xc.environment = s->environment;
        xc.data_dir = s->data_dir;
        xc.clock = s->clock;
        xc.runner = s->cfg.runner;
        xc.runner_ud = s->cfg.runner_ud;
        struct group_note note = {s, e->run.id};
        struct symbi_exec_request xr = {
            .pool = s->pool,
            .job = &e->job,
            .agent = e->have_agent ? &e->agent : NULL,
            .cancel = &s->cancel,
            .on_group = s->data_dir != NULL ? note_group : NULL,
            .on_group_ud = &note,
        };
        rc = symbi_exec_run(&xc, &xr, &e->run, &e->out, &err);
    }
    if (rc != 0) {
        symbi_run_init(&e->out);
        e->out.status = SYMBI_RUN_FAILED;
        e->out.error_message = symbi_strdup(err.msg[0] ? err.msg : symbi_strerror(rc));
    }
}

void sched_work_one(struct symbi_sched *s, struct sched_entry *e)
{
    execute_run(s, e);
    e->finished_wall = sched_wall(s);
    atomic_store(&e->done, true);
    pthread_mutex_lock(&s->lock);
    sched_list_push(&s->done_head, &s->done_tail, e);
    s->woken = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static struct sched_entry *take_work(struct symbi_sched *s, bool wait)
{
    pthread_mutex_lock(&s->wq_lock);
    while (wait && s->work_head == NULL && !s->wq_quit)
        pthread_cond_wait(&s->wq_cond, &s->wq_lock);
    struct sched_entry *e = s->work_head;
    if (e != NULL) {
        s->work_head = e->next;
        if (s->work_head == NULL)
            s->work_tail = NULL;
    }
    pthread_mutex_unlock(&s->wq_lock);
    return e;
}

static void *worker_main(void *arg)
{
    struct symbi_sched *s = arg;
    for (struct sched_entry *e; (e = take_work(s, true)) != NULL;)
        sched_work_one(s, e);
    return NULL;
}

int sched_work_run(struct symbi_sched *s, int max)
{
    int n = 0;
    for (struct sched_entry *e; n < max && (e = take_work(s, false)) != NULL; n++)
        sched_work_one(s, e);
    return n;
}

int sched_add_workers(struct symbi_sched *s, int want)
{
    if (s->stepped)
        return 0;
    if (want > SCHED_MAX_WORKERS)
        want = SCHED_MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    int rc = 0;
    while (s->n_workers < want) {
        if (pthread_create(&s->workers[s->n_workers], &attr, worker_main, s) != 0) {
            rc = SYMBI_ENOMEM;
            break;
        }
        s->n_workers++;
    }
    pthread_attr_destroy(&attr);
    return rc;
}

void sched_stop_workers(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->wq_lock);
    s->wq_quit = true;
    pthread_cond_broadcast(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
}
