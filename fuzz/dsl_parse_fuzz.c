/* dsl_parse_fuzz.c - libFuzzer target for the DSL: any bytes must parse
 * without crashing or leaking, and every definition the parser accepts must
 * pass the shared validators again (the DSL never hands out a job that
 * symbi_job_validate would refuse). */
#include "symbi/dsl.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct symbi_dsl_file f;
    int rc = symbi_dsl_parse_buffer("fuzz.symbi", (const char *)data, size, &f);
    if (rc != 0 && rc != SYMBI_EPARSE && rc != SYMBI_ENOMEM)
        abort();
    if (rc == 0 && f.n_errors != 0)
        abort();
    if (rc == SYMBI_EPARSE && f.n_errors == 0)
        abort();
    for (size_t i = 0; i < f.n_jobs; i++) {
        struct symbi_err err;
        if (symbi_job_validate(&f.jobs[i], &err) != 0)
            abort();
    }
    for (size_t i = 0; i < f.n_agents; i++) {
        struct symbi_err err;
        if (symbi_agent_def_validate(&f.agents[i], true, &err) != 0)
            abort();
    }
    for (size_t i = 0; i < f.n_diags; i++) {
        char line[1024];
        symbi_dsl_diag_fmt(&f.diags[i], line, sizeof line);
    }
    symbi_dsl_file_cleanup(&f);
    return 0;
}
