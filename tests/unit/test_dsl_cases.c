/* test_dsl_cases.c - the data-driven DSL tests: every tests/dsl/cases/NAME.symbi
 * is parsed and compared with NAME.expected, either a JSON object matched as
 * a subset of {"agents": [...], "schedules": [...]} or the exact diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/dsl.h"
#include "symbi/json.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cases_dir(void)
{
    const char *d = getenv("SYMBI_DSL_CASES");
    return d != NULL ? d : "tests/dsl/cases";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        symbi_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return symbi_buf_steal(&b);
}

/* true when every key of `want` is in `got` with a matching value; arrays
 * must have the same length and match item by item. */
static bool subset(const json_t *want, const json_t *got, char *path, size_t psize)
{
    if (json_is_object(want)) {
        if (!json_is_object(got))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v)
        {
            size_t pl = strlen(path);
            snprintf(path + pl, psize - pl, ".%s", k);
            if (!subset(v, json_object_get(got, k), path, psize))
                return false;
            path[pl] = '\0';
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(want) != json_array_size(got))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++) {
            size_t pl = strlen(path);
            snprintf(path + pl, psize - pl, "[%zu]", i);
            if (!subset(json_array_get(want, i), json_array_get(got, i), path, psize))
                return false;
            path[pl] = '\0';
        }
        return true;
    }
    return got != NULL && json_equal((json_t *)want, (json_t *)got);
}

static void run_case(void **state)
{
    const char *name = *state;
    char path[1024];
    size_t len, elen;
    snprintf(path, sizeof path, "%s/%s.symbi", cases_dir(), name);
    char *text = slurp(path, &len);
    assert_non_null(text);
    snprintf(path, sizeof path, "%s/%s.expected", cases_dir(), name);
    char *expected = slurp(path, &elen);
    if (expected == NULL)
        fail_msg("missing %s", path);

    char fname[300];
    snprintf(fname, sizeof fname, "%s.symbi", name);
    struct symbi_dsl_file f;
    int rc = symbi_dsl_parse_buffer(fname, text, len, &f);

    if (expected[0] == '{') {
        json_error_t je;
        json_t *want = json_loads(expected, 0, &je);
        if (want == NULL)
            fail_msg("%s: bad JSON: %s at line %d", path, je.text, je.line);
        char line[1024];
        for (size_t i = 0; i < f.n_diags; i++)
            print_message("%s\n", symbi_dsl_diag_fmt(&f.diags[i], line, sizeof line));
        assert_int_equal(rc, 0);
        json_t *got = json_object(), *agents = json_array(), *jobs = json_array();
        for (size_t i = 0; i < f.n_agents; i++)
            json_array_append_new(agents, symbi_agent_def_to_json(&f.agents[i]));
        for (size_t i = 0; i < f.n_jobs; i++)
            json_array_append_new(jobs, symbi_job_to_json(&f.jobs[i], false));
        json_object_set_new(got, "agents", agents);
        json_object_set_new(got, "schedules", jobs);
        json_t *warnings = json_array();
        for (size_t i = 0; i < f.n_diags; i++)
            json_array_append_new(warnings,
                                  json_string(symbi_dsl_diag_fmt(&f.diags[i], line, sizeof line)));
        json_object_set_new(got, "diagnostics", warnings);
        char where[512] = "";
        if (!subset(want, got, where, sizeof where)) {
            char *g = json_dumps(got, JSON_INDENT(1));
            print_message("mismatch at %s; got:\n%s\n", where[0] ? where : "(top)", g);
            free(g);
            json_decref(want);
            json_decref(got);
            fail();
        }
        json_decref(want);
        json_decref(got);
    } else {
        struct symbi_buf b;
        symbi_buf_init(&b, 0);
        char line[1024];
        for (size_t i = 0; i < f.n_diags; i++) {
            symbi_buf_puts(&b, symbi_dsl_diag_fmt(&f.diags[i], line, sizeof line));
            symbi_buf_putc(&b, '\n');
        }
        if (strcmp(symbi_buf_str(&b), expected) != 0) {
            print_message("expected:\n%sgot:\n%s", expected, symbi_buf_str(&b));
            symbi_buf_cleanup(&b);
            fail();
        }
        symbi_buf_cleanup(&b);
        /* a file whose diagnostics are all warnings still loads */
        assert_int_equal(rc, f.n_errors > 0 ? SYMBI_EPARSE : 0);
    }
    symbi_dsl_file_cleanup(&f);
    free(text);
    free(expected);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    DIR *d = opendir(cases_dir());
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", cases_dir());
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 6 && strcmp(e->d_name + l - 6, ".symbi") == 0) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = symbi_strndup(e->d_name, l - 6);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = names[i];
        tests[i].test_func = run_case;
        tests[i].initial_state = names[i];
    }
    int rc = _cmocka_run_group_tests("dsl_cases", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return n < 60 ? 1 : rc;
}
