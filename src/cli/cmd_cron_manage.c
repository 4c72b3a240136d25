/* cmd_cron_manage.c - `symbi cron remove|pause|resume|reset <job>`: the
 * status changes of a job, each written with its audit event; `remove`
 * asks for confirmation on a terminal and refuses without --force off one. */
#include "cli/cli_out.h"

#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACTOR "cli"

const char symbi_cli_cron_remove_usage[] =
    "usage: symbi cron remove <job> [--force]\n"
    "       symbi cron remove --name NAME [--force]\n"
    "  Deletes a job with its run history and context (its audit events stay).\n"
    "  <job> is a job id, a unique id prefix of 8+ characters, or the job's name;\n"
    "  --name matches the exact name only.\n"
    "  On a terminal it asks for confirmation; --force skips the question. Without a\n"
    "  terminal (scripts, pipes) it refuses unless --force is given.\n";

const char symbi_cli_cron_pause_usage[] =
    "usage: symbi cron pause <job>\n"
    "  Stops an active job from firing until it is resumed. Pausing a paused job\n"
    "  does nothing.\n";

const char symbi_cli_cron_resume_usage[] =
    "usage: symbi cron resume <job>\n"
    "  Resumes a paused job; its next run is computed from now (the paused\n"
    "  interval is not replayed). A dead-lettered job needs 'reset'.\n";

const char symbi_cli_cron_reset_usage[] =
    "usage: symbi cron reset <job>\n"
    "  Moves a dead-lettered (or failed) job back to active with its failure\n"
    "  count at 0 and its next run computed from now.\n";

/* Reads a yes/no answer from the terminal. */
static bool confirm(const struct symbi_job *job)
{
    fprintf(stderr, "Remove job '%s' (%s) and its run history? [y/N] ", job->name, job->id);
    fflush(stderr);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL)
        return false;
    return strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0 ||
           strcmp(line, "YES\n") == 0 || strcmp(line, "Yes\n") == 0;
}

/* Finds the job named by ref (by_name: the exact name only). */
static int find_job(struct symbi_store *st, const char *ref, bool by_name, struct symbi_job *job)
{
    struct symbi_err err = {0};
    int rc = symbi_store_job_get(st, ref, job, &err);
    if (rc == 0 && by_name && strcmp(job->name, ref) != 0) {
        symbi_job_cleanup(job);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "no job named \"%s\"", ref);
    }
    if (rc != 0)
        return symbi_cli_store_fail(&err);
    return SYMBI_EXIT_OK;
}

int symbi_cli_cmd_cron_remove(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"remove", NULL, "", symbi_cli_cron_remove_usage};
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    bool force = false;
    const char *name = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else if (c == 'n')
            name = optarg;
        else
            return symbi_cli_bad_option(&self, argc, argv);
    }
    int npos = argc - optind;
    if (name == NULL && npos != 1)
        return symbi_cli_usage(&self, npos == 0 ? "which job? give <job> or --name NAME"
                                                : "give one job at a time");
    if (name != NULL && npos != 0)
        return symbi_cli_usage(&self, "give either <job> or --name NAME, not both");
    const char *ref = name != NULL ? name : argv[optind];
    bool tty = isatty(STDIN_FILENO) != 0;
    if (!force && !tty)
        return symbi_cli_fail(SYMBI_EXIT_ERROR,
                              "refusing to remove job \"%s\" without confirmation: stdin is not a "
                              "terminal (use --force)",
                              ref);
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    struct symbi_job job;
    symbi_job_init(&job);
    if ((rc = find_job(st, ref, name != NULL, &job)) != 0)
        goto out;
    if (!force && !confirm(&job)) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "not removed");
        goto out;
    }
    struct symbi_err err = {0};
    if (symbi_store_job_delete(st, job.id, ACTOR, &err) != 0) {
        rc = symbi_cli_store_fail(&err);
        goto out;
    }
    printf("Removed job '%s' (%s)\n", job.name, job.id);
out:
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    return rc;
}

enum change { PAUSE, RESUME, RESET };

static int change(struct symbi_cli *cli, int argc, char **argv, enum change what,
                  const struct symbi_cli_cmd *self)
{
    static const struct option opts[] = {{NULL, 0, NULL, 0}};
    optind = 0;
    opterr = 0;
    if (getopt_long(argc, argv, "", opts, NULL) != -1)
        return symbi_cli_bad_option(self, argc, argv);
    if (argc - optind != 1)
        return symbi_cli_usage(self, argc - optind == 0 ? "which job?" : "give one job at a time");
    struct symbi_store *st = NULL;
    int rc = symbi_cli_open_store(cli, &st);
    if (rc != 0)
        return rc;
    struct symbi_job job;
    symbi_job_init(&job);
    if ((rc = find_job(st, argv[optind], false, &job)) != 0)
        goto out;
    struct symbi_err err = {0};
    int64_t now = symbi_now_wall_ms();
    if (what == PAUSE && job.status == SYMBI_JOB_PAUSED) {
        printf("Job '%s' is already paused\n", job.name);
        goto out;
    }
    if (what == RESUME && job.status == SYMBI_JOB_ACTIVE) {
        printf("Job '%s' is already active\n", job.name);
        goto out;
    }
    int src;
    if (what == RESET)
        src = symbi_store_job_reset(st, job.id, now, ACTOR, &err);
    else
        src = symbi_store_job_set_status(
            st, job.id, what == PAUSE ? SYMBI_JOB_PAUSED : SYMBI_JOB_ACTIVE, now, ACTOR, &err);
    if (src != 0) {
        rc = symbi_cli_store_fail(&err);
        goto out;
    }
    static const char *const verbs[] = {"Paused", "Resumed", "Reset"};
    if (what == PAUSE) {
        printf("%s job '%s' (%s)\n", verbs[what], job.name, job.id);
    } else {
        struct symbi_job now_job;
        char next[40];
        if (symbi_store_job_get(st, job.id, &now_job, &err) == 0) {
            printf("%s job '%s' (%s); next run %s\n", verbs[what], job.name, job.id,
                   symbi_cli_time(now_job.next_run, false, next));
            symbi_job_cleanup(&now_job);
        } else {
            printf("%s job '%s' (%s)\n", verbs[what], job.name, job.id);
        }
    }
out:
    symbi_job_cleanup(&job);
    symbi_store_close(st);
    return rc;
}

int symbi_cli_cmd_cron_pause(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"pause", NULL, "", symbi_cli_cron_pause_usage};
    return change(cli, argc, argv, PAUSE, &self);
}

int symbi_cli_cmd_cron_resume(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"resume", NULL, "", symbi_cli_cron_resume_usage};
    return change(cli, argc, argv, RESUME, &self);
}

int symbi_cli_cmd_cron_reset(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct symbi_cli_cmd self = {"reset", NULL, "", symbi_cli_cron_reset_usage};
    return change(cli, argc, argv, RESET, &self);
}
