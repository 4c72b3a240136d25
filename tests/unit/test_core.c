/* test_core.c - unit tests of the core module: errors, buffers, arenas,
 * clocks and time formats, checked parsing, UUIDs and logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"
#include "symbi/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(symbi_strerror(SYMBI_OK), "success");
    assert_string_equal(symbi_strerror(SYMBI_ENOTFOUND), "not found");
    assert_string_equal(symbi_strerror(SYMBI_ENOSCHED), "no live scheduler");
    assert_string_equal(symbi_strerror(-9999), "unknown error");
    assert_string_equal(symbi_strerror(5), "unknown error");
    struct symbi_err e;
    assert_int_equal(symbi_err_set(&e, SYMBI_EINVAL, "bad %s at %d", "key", 3), SYMBI_EINVAL);
    assert_int_equal(e.code, SYMBI_EINVAL);
    assert_string_equal(e.msg, "bad key at 3");
    assert_int_equal(symbi_err_set(NULL, SYMBI_EIO, "x"), SYMBI_EIO);
}

static void test_buf_bounded(void **state)
{
    (void)state;
    struct symbi_buf b;
    symbi_buf_init(&b, 10);
    assert_string_equal(symbi_buf_str(&b), "");
    assert_int_equal(symbi_buf_puts(&b, "hello"), 0);
    assert_int_equal(symbi_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(symbi_buf_str(&b), "hello1234");
    /* one more byte fits, two do not, and a refused append changes nothing */
    assert_int_equal(symbi_buf_puts(&b, "xy"), SYMBI_ETOOBIG);
    assert_string_equal(symbi_buf_str(&b), "hello1234");
    assert_int_equal(symbi_buf_putc(&b, '!'), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(symbi_buf_printf(&b, "%s", "z"), SYMBI_ETOOBIG);
    char *s = symbi_buf_steal(&b);
    assert_string_equal(s, "hello1234!");
    free(s);
    assert_null(b.data);
    s = symbi_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    symbi_buf_cleanup(&b);
}

static void test_buf_grows(void **state)
{
    (void)state;
    struct symbi_buf b;
    symbi_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(symbi_buf_printf(&b, "%04d", i % 10000), 0);
    assert_int_equal(b.len, 40000);
    assert_memory_equal(b.data + 39996, "9999", 4);
    symbi_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(symbi_buf_str(&b), "");
    symbi_buf_cleanup(&b);
}

static void test_arena(void **state)
{
    (void)state;
    struct symbi_arena a;
    symbi_arena_init(&a);
    char *p[200];
    for (int i = 0; i < 200; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "string-%d", i);
        p[i] = symbi_arena_strdup(&a, tmp);
        assert_non_null(p[i]);
        assert_int_equal(((uintptr_t)p[i]) % 16, 0);
    }
    void *big = symbi_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 0xab, 100000);
    char *after = symbi_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(after, "abc");
    for (int i = 0; i < 200; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "string-%d", i);
        assert_string_equal(p[i], tmp);
    }
    int *z = symbi_arena_alloc(&a, 64 * sizeof(int));
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    symbi_arena_cleanup(&a);
    assert_null(a.head);
}

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(symbi_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(symbi_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(symbi_days_from_civil(1969, 12, 31), -1);
    for (int64_t d = -800000; d < 800000; d += 37) {
        int64_t y;
        unsigned m, dd;
        symbi_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(symbi_days_from_civil(y, m, dd), d);
    }
}

static void test_time_fmt_parse(void **state)
{
    (void)state;
    char out[SYMBI_TIME_STRLEN];
    assert_string_equal(symbi_time_fmt(0, out), "1970-01-01T00:00:00Z");
    assert_string_equal(symbi_time_fmt(1774747800000, out), "2026-03-29T01:30:00Z");
    assert_string_equal(symbi_time_fmt(1774747800123, out), "2026-03-29T01:30:00.123Z");
    assert_string_equal(symbi_time_fmt(-1, out), "1969-12-31T23:59:59.999Z");
    assert_string_equal(symbi_time_fmt(1774747800005, out), "2026-03-29T01:30:00.005Z");
    assert_string_equal(symbi_time_fmt(1774747800050, out), "2026-03-29T01:30:00.050Z");
    assert_string_equal(symbi_time_fmt(-59040129294000, out), "0099-02-03T04:05:06Z");
    assert_string_equal(symbi_time_fmt(253402300799999, out), "9999-12-31T23:59:59.999Z");
    /* past the by-hand digits: snprintf's */
    assert_string_equal(symbi_time_fmt(253402300800000, out), "10000-01-01T00:00:00Z");
    assert_string_equal(symbi_time_fmt(SYMBI_TIME_NONE, out), "");
    int64_t t;
    assert_int_equal(symbi_time_parse("2026-03-29T01:30:00Z", &t), 0);
    assert_int_equal(t, 1774747800000);
    assert_int_equal(symbi_time_parse("2026-03-29T03:30:00+02:00", &t), 0);
    assert_int_equal(t, 1774747800000);
    assert_int_equal(symbi_time_parse("2026-03-28T20:30:00-0500", &t), 0);
    assert_int_equal(t, 1774747800000);
    assert_int_equal(symbi_time_parse("2026-03-29T01:30:00.5Z", &t), 0);
    assert_int_equal(t, 1774747800500);
    assert_int_equal(symbi_time_parse("2026-03-29 01:30", &t), 0);
    assert_int_equal(t, 1774747800000);
    assert_int_equal(symbi_time_parse("2026-03-29", &t), 0);
    assert_int_equal(t, 1774742400000);
    assert_int_equal(symbi_time_parse("2024-02-29T00:00:00Z", &t), 0);
    const char *bad[] = {"",
                         "2026",
                         "2026-13-01",
                         "2025-02-29",
                         "2026-03-29T25:00:00Z",
                         "2026-03-29T01:30:00Q",
                         "2026-03-29T1:30",
                         "yesterday",
                         "2026-03-29T01:30:00+24:00",
                         "2026-03-29T01:30:00.Z"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++)
        assert_int_equal(symbi_time_parse(bad[i], &t), SYMBI_EINVAL);
}

static void test_parse_i64(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(symbi_parse_i64("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(symbi_parse_i64("-7", -10, 10, &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(symbi_parse_i64("1_000", 0, 10000, &v), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(symbi_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(symbi_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    v = 99;
    assert_int_equal(symbi_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v),
                     SYMBI_ERANGE);
    assert_int_equal(symbi_parse_i64("99999999999999999999999", 0, 1, &v), SYMBI_ERANGE);
    assert_int_equal(symbi_parse_i64("101", 0, 100, &v), SYMBI_ERANGE);
    assert_int_equal(v, 99); /* untouched on failure */
    const char *bad[] = {"", "-", "+", "12a", " 1", "1 ", "_1", "1_", "1__0", "0x10", "1.5"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++)
        assert_int_equal(symbi_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v), SYMBI_EINVAL);
    int iv;
    assert_int_equal(symbi_parse_int("2147483648", INT32_MIN, INT32_MAX, &iv), SYMBI_ERANGE);
    assert_null(symbi_strdup(NULL));
}

static void test_parse_duration(void **state)
{
    (void)state;
    struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"30s", 30000},        {"5m", 300000},
              {"2h", 7200000},       {"1d", 86400000},
              {"90s", 90000},        {"90", 90000},
              {"500ms", 500},        {"1h30m", 5400000},
              {"1.5h", 5400000},     {"5.minutes", 300000},
              {"5 minutes", 300000}, {"2.hours", 7200000},
              {"1w", 604800000},     {"0s", 0},
              {"10 s", 10000}};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(ok); i++) {
        int64_t v = -1;
        assert_int_equal(symbi_parse_duration_ms(ok[i].in, &v), 0);
        assert_true(v == ok[i].ms);
    }
    const char *bad[] = {"", "s", "5x", "-5s", "5s5", "five", "1e3s", "5..m"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++) {
        int64_t v;
        assert_int_not_equal(symbi_parse_duration_ms(bad[i], &v), 0);
    }
    int64_t v;
    assert_int_equal(symbi_parse_duration_ms("1000000000d", &v), SYMBI_ERANGE);
    char out[32];
    assert_string_equal(symbi_duration_fmt(5400000, out), "1h30m");
    assert_string_equal(symbi_duration_fmt(45000, out), "45s");
    assert_string_equal(symbi_duration_fmt(250, out), "250ms");
    bool b;
    assert_int_equal(symbi_parse_bool("TRUE", &b), 0);
    assert_true(b);
    assert_int_equal(symbi_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(symbi_parse_bool("maybe", &b), SYMBI_EINVAL);
    /* hex digits, either case; everything else -1 */
    assert_int_equal(symbi_hex_value('0'), 0);
    assert_int_equal(symbi_hex_value('9'), 9);
    assert_int_equal(symbi_hex_value('a'), 10);
    assert_int_equal(symbi_hex_value('F'), 15);
    assert_int_equal(symbi_hex_value('g'), -1);
    assert_int_equal(symbi_hex_value(0), -1);
    assert_int_equal(symbi_hex_value(-1), -1);
}

static void test_uuid(void **state)
{
    (void)state;
    char a[SYMBI_UUID_LEN + 1], b[SYMBI_UUID_LEN + 1];
    assert_int_equal(symbi_uuid_v4(a), 0);
    assert_int_equal(symbi_uuid_v4(b), 0);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_int_equal(a[8], '-');
    assert_int_equal(a[23], '-');
}

static void test_fake_clock(void **state)
{
    (void)state;
    struct symbi_fake_clock fc;
    symbi_fake_clock_init(&fc, 1000);
    const struct symbi_clock *c = &fc.base;
    assert_int_equal(c->wall_ms(c), 1000);
    int64_t m0 = c->mono_ms(c);
    symbi_fake_clock_advance(&fc, 250);
    assert_int_equal(c->wall_ms(c), 1250);
    assert_int_equal(c->mono_ms(c) - m0, 250);
    const struct symbi_clock *sys = &symbi_clock_system;
    int64_t w = sys->wall_ms(sys);
    assert_true(w > 1700000000000LL);
    assert_true(sys->mono_ms(sys) > 0);
}

static void test_log_file_and_rotation(void **state)
{
    (void)state;
    char dir[] = "/tmp/symbi-test-log-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/symbi.log", dir);
    struct symbi_log_config cfg = {
        .level = SYMBI_LOG_INFO, .to_stderr = false, .file = path, .max_file_bytes = 400};
    assert_int_equal(symbi_log_open(&cfg), 0);
    symbi_log(SYMBI_LOG_DEBUG, "test", "hidden");
    symbi_log(SYMBI_LOG_INFO, "scheduler", "job fired job=%s", "a\nb");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    /* time level component message, one line even when a value holds \n */
    assert_non_null(strstr(line, "Z INFO scheduler job fired job=a b\n"));
    assert_int_equal(strlen(line) > 24 && line[4] == '-' && line[23] == 'Z', 1);
    for (int i = 0; i < 20; i++)
        symbi_log(SYMBI_LOG_WARN, "store", "filler line number %d", i);
    char rotated[300];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    assert_int_equal(access(rotated, F_OK), 0);
    symbi_log_close();
    enum symbi_log_level lv;
    assert_int_equal(symbi_log_level_parse("warning", &lv), 0);
    assert_int_equal(lv, SYMBI_LOG_WARN);
    assert_int_equal(symbi_log_level_parse("loud", &lv), SYMBI_EINVAL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_model_enums_and_copy(void **state)
{
    (void)state;
    enum symbi_run_status rs;
    assert_int_equal(symbi_run_status_parse("timed_out", &rs), 0);
    assert_int_equal(rs, SYMBI_RUN_TIMED_OUT);
    assert_string_equal(symbi_run_status_pascal(rs), "TimedOut");
    assert_int_equal(symbi_run_status_parse("TimedOut", &rs), SYMBI_EINVAL);
    assert_string_equal(symbi_job_status_pascal(SYMBI_JOB_DEAD_LETTER), "DeadLetter");
    assert_string_equal(symbi_job_status_name(SYMBI_JOB_DEAD_LETTER), "dead_letter");
    assert_string_equal(symbi_session_mode_name(SYMBI_SESSION_SHARED_PERSISTENT),
                        "shared_persistent");
    assert_false(symbi_run_status_final(SYMBI_RUN_QUEUED));
    assert_true(symbi_run_status_final(SYMBI_RUN_MISSED));

    struct symbi_job j, k;
    symbi_job_init(&j);
    assert_int_equal(j.max_concurrent, 1);
    assert_true(j.next_run == SYMBI_TIME_NONE);
    assert_int_equal(symbi_set_str(&j.name, "daily-report"), 0);
    assert_int_equal(symbi_set_str(&j.webhook_headers, "{\"A\":\"${X}\"}"), 0);
    assert_int_equal(symbi_job_copy(&k, &j), 0);
    assert_ptr_not_equal(k.name, j.name);
    assert_string_equal(k.webhook_headers, "{\"A\":\"${X}\"}");
    symbi_job_cleanup(&j);
    assert_null(j.name);
    assert_string_equal(k.name, "daily-report");
    symbi_job_cleanup(&k);
}

static void test_utf8(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t len, want;
    } seqs[] = {
        {"a", 1, 1},
        {"\xc3\xa9", 2, 2},         /* e acute */
        {"\xe2\x82\xac", 3, 3},     /* euro sign */
        {"\xf0\x9f\x98\x80", 4, 4}, /* emoji */
        {"\xc0\x80", 2, 0},         /* overlong NUL */
        {"\xe0\x80\xaf", 3, 0},     /* overlong */
        {"\xed\xa0\x80", 3, 0},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xe2\x82", 2, 0},         /* truncated */
        {"\x80", 1, 0},             /* lone continuation */
        {"\xff", 1, 0},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(seqs); i++)
        assert_int_equal(symbi_utf8_seq((const unsigned char *)seqs[i].s, seqs[i].len),
                         seqs[i].want);
    assert_int_equal(symbi_utf8_seq((const unsigned char *)"a", 0), 0);
    uint32_t cps[] = {0x24, 0xe9, 0x20ac, 0x1f600, 0x10ffff};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cps); i++) {
        char out[4];
        size_t n = symbi_utf8_put(out, cps[i]);
        assert_int_equal(symbi_utf8_seq((const unsigned char *)out, n), n);
    }
    char out[4];
    assert_int_equal(symbi_utf8_put(out, 0x20ac), 3);
    assert_memory_equal(out, "\xe2\x82\xac", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_buf_bounded),
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_time_fmt_parse),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_fake_clock),
        cmocka_unit_test(test_log_file_and_rotation),
        cmocka_unit_test(test_model_enums_and_copy),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
