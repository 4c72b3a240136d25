/* test_http_util.c - unit tests of the http module's pure helpers: route
 * matching, the JSON depth scan, listen addresses and the loopback test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static bool match(const char *pattern, const char *path, const char **params, size_t *n)
{
    static char scratch[HTTP_MAX_URL + HTTP_MAX_PARAMS];
    return http_route_match(pattern, path, scratch, sizeof scratch, params, n);
}

static void test_route_match(void **state)
{
    (void)state;
    const char *p[HTTP_MAX_PARAMS];
    size_t n = 99;
    assert_true(match("/api/v1/schedule", "/api/v1/schedule", p, &n));
    assert_int_equal(n, 0);
    assert_true(match("/api/v1/schedule/{}", "/api/v1/schedule/job-123", p, &n));
    assert_int_equal(n, 1);
    assert_string_equal(p[0], "job-123");
    assert_true(match("/api/v1/schedule/{}/run", "/api/v1/schedule/abc/run", p, &n));
    assert_string_equal(p[0], "abc");
    /* no partial, prefix, trailing-slash or empty-segment matches */
    assert_false(match("/api/v1/schedule", "/api/v1/schedules", p, &n));
    assert_false(match("/api/v1/schedule", "/api/v1/schedule/", p, &n));
    assert_false(match("/api/v1/schedule/{}", "/api/v1/schedule/", p, &n));
    assert_false(match("/api/v1/schedule/{}", "/api/v1/schedule//", p, &n));
    assert_false(match("/api/v1/schedule/{}", "/api/v1/schedule/a/b", p, &n));
    assert_false(match("/api/v1/schedule/{}/run", "/api/v1/schedule/a/runs", p, &n));
    assert_false(match("/api/v1/schedule/{}", "/api/v1/schedule/../../etc/passwd", p, &n));
    assert_false(match("/metrics", "", p, &n));
    assert_false(match("/metrics", "metrics", p, &n));
    /* a segment longer than the bound never matches */
    char longpath[HTTP_MAX_SEGMENT + 40] = "/api/v1/schedule/";
    memset(longpath + 17, 'x', HTTP_MAX_SEGMENT + 1);
    longpath[17 + HTTP_MAX_SEGMENT + 1] = '\0';
    assert_false(match("/api/v1/schedule/{}", longpath, p, &n));
}

static void test_json_depth(void **state)
{
    (void)state;
    assert_int_equal(http_json_depth_check("{}", 2, 1), 0);
    assert_int_equal(http_json_depth_check("{\"a\":[1]}", 9, 1), SYMBI_ETOOBIG);
    assert_int_equal(http_json_depth_check("{\"a\":[1]}", 9, 2), 0);
    /* brackets inside strings (with escaped quotes) do not count */
    const char *s = "{\"a\":\"[[[[\\\"[[[\"}";
    assert_int_equal(http_json_depth_check(s, strlen(s), 1), 0);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(http_json_depth_check(deep, 200, HTTP_MAX_JSON_DEPTH), SYMBI_ETOOBIG);
    assert_int_equal(http_json_depth_check(deep, 200, 100), 0);
    /* unbalanced closers never go negative */
    assert_int_equal(http_json_depth_check("]]]]{[", 6, 2), 0);
}

static void test_parse_listen(void **state)
{
    (void)state;
    struct sockaddr_storage a;
    socklen_t len;
    bool lo = false;
    struct symbi_err err = {0};
    assert_int_equal(http_parse_listen("127.0.0.1:8080", &a, &len, &lo, &err), 0);
    assert_true(lo);
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 8080);
    assert_int_equal(http_parse_listen("0.0.0.0:0", &a, &len, &lo, &err), 0);
    assert_false(lo);
    assert_int_equal(http_parse_listen("[::1]:9", &a, &len, &lo, &err), 0);
    assert_true(lo);
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_equal(http_parse_listen("[::]:9", &a, &len, &lo, &err), 0);
    assert_false(lo);
    assert_int_equal(http_parse_listen("10.1.2.3:80", &a, &len, &lo, &err), 0);
    assert_false(lo);
    assert_int_equal(http_parse_listen("127.9.9.9:80", &a, &len, &lo, &err), 0);
    assert_true(lo);
    assert_int_equal(http_parse_listen("8081", &a, &len, &lo, &err), 0);
    assert_true(lo);
    assert_int_equal(http_parse_listen(":8081", &a, &len, &lo, &err), 0);
    assert_false(lo);
    assert_int_equal(http_parse_listen("127.0.0.1:99999", &a, &len, &lo, &err), SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "bad port"));
    assert_int_equal(http_parse_listen("127.0.0.1:http", &a, &len, &lo, &err), SYMBI_EINVAL);
    assert_int_equal(http_parse_listen("::1:80", &a, &len, &lo, &err), SYMBI_EINVAL);
    assert_int_equal(http_parse_listen("[::1]80", &a, &len, &lo, &err), SYMBI_EINVAL);
    assert_int_equal(http_parse_listen("", &a, &len, &lo, &err), SYMBI_EINVAL);
    assert_int_equal(http_parse_listen(NULL, &a, &len, &lo, &err), SYMBI_EINVAL);
}

static void test_loopback(void **state)
{
    (void)state;
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr), 1);
    assert_true(http_sockaddr_is_loopback((struct sockaddr *)&v6));
    assert_int_equal(inet_pton(AF_INET6, "::ffff:10.0.0.1", &v6.sin6_addr), 1);
    assert_false(http_sockaddr_is_loopback((struct sockaddr *)&v6));
    assert_int_equal(inet_pton(AF_INET6, "fe80::1", &v6.sin6_addr), 1);
    assert_false(http_sockaddr_is_loopback((struct sockaddr *)&v6));
    assert_false(http_sockaddr_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
