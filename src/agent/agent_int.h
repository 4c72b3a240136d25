/* agent_int.h - private interface between the files of the agent module. */
#ifndef SYMBI_AGENT_INT_H
#define SYMBI_AGENT_INT_H

#include "symbi/agent.h"

#include <stdarg.h>

/* Sets res's status and formatted error_message; 0, or SYMBI_ENOMEM. */
int symbi_agent__fail(struct symbi_agent_result *res, enum symbi_run_status status, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Runs a command or exec agent as a process group (process.c). */
int symbi_agent__run_process(const struct symbi_agent_request *req, struct symbi_agent_result *res);

#endif
