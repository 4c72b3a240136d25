/* cmd_run.c - `symbi run <agent>` (one run in the foreground, outside the
 * scheduler) and `symbi cron run <job>` (a manual run: queued for the live
 * scheduler, or executed here with --local). */
#include "cli/cli.h"

#include "symbi/agent.h"
#include "symbi/config.h"
#include "symbi/dsl.h"
#include "symbi/exec.h"
#include "symbi/sched.h"
#include "symbi/store.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_POLL_MS 100

static const struct symbi_cli_cmd *find_cmd(const struct symbi_cli_cmd *table, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* Opens the store the CLI names; prints the error on failure. */
static int open_store(const struct symbi_cli *cli, struct symbi_store **out)
{
    char *url = symbi_cli_store_url(cli);
    if (url == NULL)
        return symbi_cli_store_url_fail();
    struct symbi_err err;
    int rc = symbi_store_open(url, out, &err);
    free(url);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    return 0;
}

/* The configuration for an agent run, and the run pipeline's settings
 * from it (symbi_cli_run_settings, as `symbi up` builds them). A
 * configuration that cannot be read stops the run (printed, false): it
 * may hold [agents] default_sandbox, and no agent runs less confined
 * than it says (SPEC §6.5). */
static bool load_cfg(struct symbi_cli *cli, struct symbi_config *cfg, struct symbi_sched_config *sc)
{
    struct symbi_err err;
    symbi_config_init(cfg);
    if (symbi_config_load(cfg, cli->config_flag, cli->data_dir_flag, &err) != 0) {
        symbi_config_cleanup(cfg);
        symbi_cli_fail(SYMBI_EXIT_ERROR, "configuration: %s (no agent runs without it)", err.msg);
        return false;
    }
    symbi_cli_run_settings(cfg, sc);
    return true;
}

static void print_result(const struct symbi_run *r)
{
    size_t len = r->output != NULL ? strlen(r->output) : 0;
    fwrite(r->output != NULL ? r->output : "", 1, len, stdout);
    if (len > 0 && r->output[len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
    if (r->stderr_text != NULL && r->stderr_text[0] != '\0')
        fputs(r->stderr_text, stderr);
    if (r->output_truncated)
        fprintf(stderr, "symbi: output truncated at %zu bytes\n", len);
    if (r->prompt_tokens >= 0 || r->completion_tokens >= 0)
        fprintf(stderr, "symbi: tokens prompt=%lld completion=%lld\n",
                (long long)(r->prompt_tokens > 0 ? r->prompt_tokens : 0),
                (long long)(r->completion_tokens > 0 ? r->completion_tokens : 0));
    if (r->tool_calls != NULL)
        fprintf(stderr, "symbi: tool calls %s\n", r->tool_calls);
}

int symbi_cli_cmd_run(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"file", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    const struct symbi_cli_cmd *cmd = find_cmd(symbi_cli_commands, symbi_cli_n_commands, "run");
    const char *input = NULL, *file = NULL;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'i')
            input = optarg;
        else if (c == 'f')
            file = optarg;
        else
            return symbi_cli_usage(cmd, "bad option for 'run'");
    }
    if (optind + 1 != argc)
        return symbi_cli_usage(cmd, "run needs exactly one agent name");
    const char *name = argv[optind];

    struct symbi_agent_def agent;
    symbi_agent_def_init(&agent);
    bool found = false;
    struct symbi_err err;
    if (file != NULL) {
        struct symbi_dsl_file f;
        int rc = symbi_dsl_parse_file(file, &f);
        if (rc != 0) {
            symbi_dsl_file_error(&f, &err);
            symbi_dsl_file_cleanup(&f);
            return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        }
        for (size_t i = 0; i < f.n_agents && !found; i++)
            if (f.agents[i].name != NULL && strcmp(f.agents[i].name, name) == 0)
                found = symbi_agent_def_copy(&agent, &f.agents[i]) == 0;
        symbi_dsl_file_cleanup(&f);
        if (!found)
            return symbi_cli_fail(SYMBI_EXIT_ERROR, "no agent \"%s\" in %s", name, file);
    } else {
        struct symbi_store *st;
        if (open_store(cli, &st) != 0)
            return SYMBI_EXIT_ERROR;
        found = symbi_store_agent_get(st, name, &agent, &err) == 0;
        symbi_store_close(st);
        if (!found)
            return symbi_cli_fail(SYMBI_EXIT_ERROR,
                                  "unknown agent \"%s\" (not in the store; use --file F.symbi)",
                                  name);
    }
    struct symbi_config cfg;
    struct symbi_sched_config sc;
    if (!load_cfg(cli, &cfg, &sc)) {
        symbi_agent_def_cleanup(&agent);
        return SYMBI_EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN);
    /* no job: a fully ephemeral session, nothing stored (docs/sessions.md) */
    struct symbi_run run, done;
    symbi_run_init(&run);
    symbi_uuid_v4(run.id);
    run.trigger = SYMBI_TRIGGER_MANUAL;
    run.scheduled_at = run.started_at = symbi_now_wall_ms();
    run.attempt = 1;
    int rc = SYMBI_ENOMEM;
    if (symbi_set_str(&run.agent, name) == 0 && symbi_set_str(&run.input, input) == 0) {
        struct symbi_exec_request xr = {.agent = &agent};
        rc = symbi_exec_run(&sc.exec, &xr, &run, &done, &err);
    } else {
        symbi_err_set(&err, rc, "out of memory");
    }
    symbi_run_cleanup(&run);
    symbi_agent_def_cleanup(&agent);
    symbi_config_cleanup(&cfg);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    print_result(&done);
    int code = SYMBI_EXIT_OK;
    if (done.status != SYMBI_RUN_SUCCEEDED)
        code = symbi_cli_fail(SYMBI_EXIT_ERROR, "agent %s %s: %s", name,
                              symbi_run_status_name(done.status),
                              done.error_message ? done.error_message : "");
    symbi_run_cleanup(&done);
    return code;
}

/* ---- symbi cron run ---- */

static int print_run_outcome(const struct symbi_run *r)
{
    if (r->output != NULL && r->output[0] != '\0') {
        fputs(r->output, stdout);
        if (r->output[strlen(r->output) - 1] != '\n')
            fputc('\n', stdout);
    }
    fflush(stdout);
    if (r->status == SYMBI_RUN_SUCCEEDED)
        return SYMBI_EXIT_OK;
    return symbi_cli_fail(SYMBI_EXIT_ERROR, "run %s %s%s%s", r->id,
                          symbi_run_status_name(r->status), r->error_message ? ": " : "",
                          r->error_message ? r->error_message : "");
}

/* A --local run holds a node lease of its own ("local-<pid>-<hex>"),
 * renewed by a thread while the agent runs, so that a scheduler starting
 * meanwhile does not take the run for an orphan and run it again; if this
 * process dies, the lease runs out and the run is recovered as usual. */
#define LOCAL_LEASE_MS 15000
#define LOCAL_RENEW_MS 5000

struct local_lease {
    char node[64];
    char *store_url;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    bool started;
};

static void *lease_main(void *arg)
{
    struct local_lease *l = arg;
    struct symbi_store *st = NULL;
    struct symbi_err err;
    if (symbi_store_open(l->store_url, &st, &err) != 0) {
        fprintf(stderr, "symbi: lease renewal: %s\n", err.msg);
        return NULL;
    }
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        struct timespec ts;
        symbi_mono_deadline(LOCAL_RENEW_MS, &ts);
        pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->lock);
        if (symbi_store_node_heartbeat(st, l->node, symbi_now_wall_ms(), LOCAL_LEASE_MS, &err))
            fprintf(stderr, "symbi: lease renewal: %s\n", err.msg);
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    symbi_store_node_remove(st, l->node, &err);
    symbi_store_close(st);
    return NULL;
}

/* Takes the lease (first heartbeat from the caller's handle) and starts
 * its renewal. */
static int lease_start(struct local_lease *l, const struct symbi_cli *cli, struct symbi_store *st,
                       struct symbi_err *err)
{
    memset(l, 0, sizeof *l);
    unsigned char rnd[4];
    if (symbi_random_bytes(rnd, sizeof rnd) != 0)
        return symbi_err_set(err, SYMBI_EIO, "no randomness for the local node name");
    snprintf(l->node, sizeof l->node, "local-%ld-%02x%02x%02x%02x", (long)getpid(), rnd[0], rnd[1],
             rnd[2], rnd[3]);
    l->store_url = symbi_cli_store_url(cli);
    if (l->store_url == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory");
    int rc = symbi_store_node_heartbeat(st, l->node, symbi_now_wall_ms(), LOCAL_LEASE_MS, err);
    if (rc != 0)
        return rc;
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->thread, NULL, lease_main, l) != 0)
        return symbi_err_set(err, SYMBI_EIO, "cannot start the lease thread");
    l->started = true;
    return 0;
}

/* Stops the renewal and gives the lease back. */
static void lease_stop(struct local_lease *l, struct symbi_store *st)
{
    if (l->started) {
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
    } else if (l->node[0] != '\0') {
        struct symbi_err err;
        symbi_store_node_remove(st, l->node, &err);
    }
    free(l->store_url);
    l->store_url = NULL;
}

/* Executes the manual run in this process through the run pipeline and
 * records it (--local). */
static int run_local(struct symbi_cli *cli, struct symbi_store *st, const struct symbi_job *job,
                     struct symbi_run *run)
{
    struct symbi_config cfg;
    struct symbi_sched_config sc;
    if (!load_cfg(cli, &cfg, &sc))
        return SYMBI_EXIT_ERROR;
    signal(SIGPIPE, SIG_IGN);
    struct symbi_err err;
    struct symbi_agent_def agent;
    bool have = symbi_store_agent_get(st, job->agent, &agent, &err) == 0;
    run->status = SYMBI_RUN_RUNNING;
    run->started_at = symbi_now_wall_ms();
    symbi_store_run_update(st, run, &err);
    struct symbi_exec_request xr = {.st = st, .job = job, .agent = have ? &agent : NULL};
    struct symbi_run done;
    int rc = symbi_exec_run(&sc.exec, &xr, run, &done, &err);
    if (have)
        symbi_agent_def_cleanup(&agent);
    if (rc != 0) {
        symbi_config_cleanup(&cfg);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    }
    symbi_exec_take_outcome(run, &done);
    symbi_run_cleanup(&done);
    struct symbi_exec_recorded rec;
    rc = symbi_exec_record(st, &sc.policy, run, symbi_now_wall_ms(), &rec, &err);
    symbi_config_cleanup(&cfg);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "recording the run: %s", err.msg);
    if (rec.dead_lettered)
        fprintf(stderr, "symbi: job %s moved to dead letter after %d failures\n", job->name,
                rec.max_retries);
    return print_run_outcome(run);
}

/* Polls the run until it has an outcome. */
static int wait_run(struct symbi_store *st, const char *id)
{
    for (;;) {
        struct symbi_run r;
        struct symbi_err err;
        if (symbi_store_run_get(st, id, &r, &err) != 0)
            return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        if (symbi_run_status_final(r.status)) {
            int rc = print_run_outcome(&r);
            symbi_run_cleanup(&r);
            return rc;
        }
        symbi_run_cleanup(&r);
        struct timespec ts = {0, WAIT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int symbi_cli_cmd_cron_run(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"wait", no_argument, NULL, 'w'},
        {"local", no_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    static const struct symbi_cli_cmd self = {
        "run", NULL, "",
        "usage: symbi cron run <job> [--input TEXT] [--wait] [--local]\n"
        "  Queues a manual run of the job for the live scheduler and prints its id.\n"
        "  --input TEXT   input for this run (default: the job's input)\n"
        "  --wait         wait for the run and print its output\n"
        "  --local        run it in this process when no scheduler is live\n"
        "  Exit 3 when no scheduler is live and --local is not given.\n"};
    const char *input = NULL;
    bool wait = false, local = false;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'i')
            input = optarg;
        else if (c == 'w')
            wait = true;
        else if (c == 'L')
            local = true;
        else
            return symbi_cli_usage(&self, "bad option for 'cron run'");
    }
    if (optind + 1 != argc)
        return symbi_cli_usage(&self, "cron run needs exactly one job");
    struct symbi_store *st;
    if (open_store(cli, &st) != 0)
        return SYMBI_EXIT_ERROR;
    struct symbi_err err;
    struct symbi_job job;
    int rc = symbi_store_job_get(st, argv[optind], &job, &err);
    if (rc != 0) {
        symbi_store_close(st);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
    }
    int code = SYMBI_EXIT_ERROR;
    int64_t now = symbi_now_wall_ms();
    bool alive = false;
    if (symbi_store_node_alive(st, NULL, now, &alive, &err) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    if (!alive && !local) {
        code = symbi_cli_fail(SYMBI_EXIT_NOSCHED,
                              "no live scheduler: start `symbi up`, or run it here with --local");
        goto out;
    }
    /* max_concurrent (SPEC §5.7): refused when full */
    struct symbi_run_filter f = {.job_id = job.id,
                                 .has_status = true,
                                 .status = SYMBI_RUN_RUNNING,
                                 .due_before = SYMBI_TIME_NONE};
    int64_t running = 0;
    if (symbi_store_run_count(st, &f, &running, &err) != 0) {
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    int limit = job.max_concurrent > 0 ? job.max_concurrent : 1;
    if (running >= limit) {
        symbi_cli_fail(SYMBI_EXIT_ERROR,
                       "job %s is at its concurrency limit (%lld running, max_concurrent %d)",
                       job.name, (long long)running, limit);
        goto out;
    }
    struct symbi_run run;
    symbi_run_init(&run);
    memcpy(run.job_id, job.id, sizeof run.job_id);
    run.trigger = SYMBI_TRIGGER_MANUAL;
    run.status = SYMBI_RUN_QUEUED;
    run.attempt = 1;
    if (symbi_set_str(&run.job_name, job.name) != 0 || symbi_set_str(&run.agent, job.agent) != 0 ||
        symbi_set_str(&run.input, input != NULL ? input : job.input) != 0) {
        symbi_run_cleanup(&run);
        symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
        goto out;
    }
    struct local_lease lease = {0};
    if (!alive) {
        if (lease_start(&lease, cli, st, &err) != 0 || symbi_set_str(&run.node, lease.node) != 0) {
            lease_stop(&lease, st);
            symbi_run_cleanup(&run);
            symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
            goto out;
        }
    }
    /* a manual run in the same millisecond as another run of the job: the
     * store's ledger rule moves it to the next free millisecond */
    run.scheduled_at = run.due_at = run.created_at = now;
    rc = symbi_store_run_insert(st, &run, &err);
    if (rc != 0) {
        if (!alive)
            lease_stop(&lease, st);
        symbi_run_cleanup(&run);
        symbi_cli_fail(SYMBI_EXIT_ERROR, "%s", err.msg);
        goto out;
    }
    if (!alive) {
        code = run_local(cli, st, &job, &run);
        lease_stop(&lease, st);
    } else {
        printf("%s\n", run.id);
        fflush(stdout);
        code = wait ? wait_run(st, run.id) : SYMBI_EXIT_OK;
    }
    symbi_run_cleanup(&run);
out:
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    return code;
}
