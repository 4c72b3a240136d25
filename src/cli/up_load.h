/* up_load.h - loading the agents directory of `symbi up` into the store. */
#ifndef SYMBI_CLI_UP_LOAD_H
#define SYMBI_CLI_UP_LOAD_H

#include "symbi/store.h"

/* Upserts the agents and schedules of every .symbi file under dir (sorted
 * by path) by name; a file with errors is reported in the log and skipped;
 * active schedules that came from files and are in none of them any more
 * are paused, and logged. A file with an agent whose sandbox this host
 * cannot apply (its own, else default_sandbox: SPEC §6.5) is skipped too.
 * Returns the number of files loaded. */
int symbi_cli_up_load_agents(struct symbi_store *st, const char *dir, const char *default_sandbox,
                             int64_t now);

#endif
