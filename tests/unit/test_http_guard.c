/* test_http_guard.c - unit tests of the request guards: control bytes in a
 * request target, loopback Host names, same-site Origins, hidden bytes,
 * the incremental JSON-object body scan and the header-deadline decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http_internal.h"

#include <string.h>

static void test_target_ctl(void **state)
{
    (void)state;
    assert_false(http_target_has_ctl("/api/v1/schedule/alpha"));
    assert_false(http_target_has_ctl("/api/v1/schedule?status=active&agent_id=a%20b"));
    assert_false(http_target_has_ctl("/api/v1/schedule/%25%2F%ff%7e%20"));
    assert_false(http_target_has_ctl("/x%"));
    assert_false(http_target_has_ctl("/x%0"));
    assert_false(http_target_has_ctl("/x%zz00"));
    assert_true(http_target_has_ctl("/api/v1/schedule/alpha%00xyz"));
    assert_true(http_target_has_ctl("/api/v1/health%00x"));
    assert_true(http_target_has_ctl("/a%0a"));
    assert_true(http_target_has_ctl("/a%0D%0A"));
    assert_true(http_target_has_ctl("/a%1f"));
    assert_true(http_target_has_ctl("/a%7F"));
    assert_true(http_target_has_ctl("/a?q=%09"));
    assert_true(http_target_has_ctl("/a\tb"));
    assert_true(http_target_has_ctl("/a\x01"));
    assert_true(http_target_has_ctl("/a\x7f"));
}

static void test_host_loopback(void **state)
{
    (void)state;
    int port = -1;
    assert_true(http_host_is_loopback("localhost:8080", &port));
    assert_int_equal(port, 8080);
    assert_true(http_host_is_loopback("LocalHost", &port));
    assert_int_equal(port, 0);
    assert_true(http_host_is_loopback("localhost.:1", &port));
    assert_true(http_host_is_loopback("127.0.0.1:65535", &port));
    assert_int_equal(port, 65535);
    assert_true(http_host_is_loopback("127.1.2.3", NULL));
    assert_true(http_host_is_loopback("[::1]:8080", &port));
    assert_int_equal(port, 8080);
    assert_true(http_host_is_loopback("[::1]", NULL));
    assert_true(http_host_is_loopback("[::ffff:127.0.0.1]:9", NULL));
    /* not loopback, or not well formed */
    const char *bad[] = {NULL,
                         "",
                         "evil.com",
                         "evil.com:8080",
                         "localhost.evil.com",
                         "evil.localhost",
                         "localhostx",
                         "128.0.0.1",
                         "0.0.0.0:8080",
                         "10.0.0.1",
                         "127.1",
                         "::1",
                         "[::2]:80",
                         "[::1",
                         "[::1]x",
                         "[::1]:",
                         "localhost:",
                         "localhost:0",
                         "localhost:65536",
                         "localhost:80:80",
                         "localhost:8a",
                         "localhost:+80",
                         ":8080",
                         "[]:80"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++)
        assert_false(http_host_is_loopback(bad[i], &port));
}

static void test_origin_same_site(void **state)
{
    (void)state;
    assert_true(http_origin_same_site("http://localhost:8080", "localhost:8080"));
    assert_true(http_origin_same_site("http://127.0.0.1:8080", "localhost:8080"));
    assert_true(http_origin_same_site("http://[::1]:8080", "127.0.0.1:8080"));
    assert_true(http_origin_same_site("HTTP://LOCALHOST:8080", "localhost:8080"));
    assert_true(http_origin_same_site("http://localhost", "localhost:80"));
    assert_true(http_origin_same_site("http://localhost:80", "localhost"));
    /* another site, another port, another scheme, or a Host that is not ours */
    assert_false(http_origin_same_site("http://evil.com", "localhost:8080"));
    assert_false(http_origin_same_site("http://evil.com:8080", "localhost:8080"));
    assert_false(http_origin_same_site("http://localhost:3000", "localhost:8080"));
    assert_false(http_origin_same_site("http://localhost", "localhost:8080"));
    assert_false(http_origin_same_site("https://localhost:8080", "localhost:8080"));
    assert_false(http_origin_same_site("null", "localhost:8080"));
    assert_false(http_origin_same_site("", "localhost:8080"));
    assert_false(http_origin_same_site("http://", "localhost:8080"));
    assert_false(http_origin_same_site("http://localhost:8080/", "localhost:8080"));
    assert_false(http_origin_same_site("http://a@localhost:8080", "localhost:8080"));
    assert_false(http_origin_same_site("file://", "localhost:8080"));
    assert_false(http_origin_same_site("http://localhost:8080", "evil.com:8080"));
    assert_false(http_origin_same_site("http://localhost:8080", NULL));
    assert_false(http_origin_same_site(NULL, "localhost:8080"));
}

static void test_only_blank(void **state)
{
    (void)state;
    const char blank[] = {'\0', ' ', '\t', '\r', '\n', '\0'};
    assert_true(http_only_blank(blank, blank + sizeof blank));
    assert_true(http_only_blank(blank, blank));
    const char hidden[] = {'\0', 'b', '\0', '\0'};
    assert_false(http_only_blank(hidden, hidden + sizeof hidden));
    assert_true(http_only_blank(hidden, hidden + 1));
}

/* Feeds text in pieces of `step` bytes; returns the first non-zero result. */
static int scan(const char *text, size_t step)
{
    struct http_body_scan s = {0};
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        int rc = http_body_scan(&s, text + i, k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void test_body_scan(void **state)
{
    (void)state;
    const char *ok[] = {"",
                        "  \r\n\t",
                        "{}",
                        " {\"a\":1} \r\n",
                        "{\"a\":\"}\\\"{\",\"b\":[1,{\"c\":[]}]}",
                        "{\"a\":\"\\\\\"}",
                        "{\"unfinished\": \"value",
                        "{\"a\":[[[["};
    const char *bad[] = {"[]",
                         "x",
                         "\"s\"",
                         "5",
                         "{}x",
                         "{} {}",
                         "{\"name\":\"x1\"}\r\n0\r\n\r\n",
                         "{\"a\":\"}\"}}",
                         "\xef\xbb\xbf{}"};
    for (size_t step = 1; step <= 7; step += 3) {
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(ok); i++)
            assert_int_equal(scan(ok[i], step), 0);
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++)
            assert_int_equal(scan(bad[i], step), SYMBI_EPARSE);
    }
}

static void test_conn_overdue(void **state)
{
    (void)state;
    assert_false(http_conn_overdue(true, 1000, 10999, 10000));
    assert_true(http_conn_overdue(true, 1000, 11000, 10000));
    assert_true(http_conn_overdue(true, 1000, 50000, 10000));
    /* a request being answered, or a body being read, is not a header */
    assert_false(http_conn_overdue(false, 1000, 50000, 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_ctl),       cmocka_unit_test(test_host_loopback),
        cmocka_unit_test(test_origin_same_site), cmocka_unit_test(test_only_blank),
        cmocka_unit_test(test_body_scan),        cmocka_unit_test(test_conn_overdue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
