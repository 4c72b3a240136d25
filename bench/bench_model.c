/* bench_model.c - the model runner's overhead per call (SPEC §6.2): a full
 * model-agent invocation (request building, HTTP through libcurl, answer
 * parsing) against a local server that answers at once, minus the bare
 * HTTP round trip of the same request over a plain socket. Target: <= 1 ms. */
#include "symbi/agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CALLS  2000
#define WARMUP 50

static const char answer_openai[] =
    "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"All systems nominal.\\nsleep\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7}}";
static const char answer_anthropic[] =
    "{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
    "\"text\":\"All systems nominal.\\nsleep\"}],\"stop_reason\":\"end_turn\",\"usage\":{"
    "\"input_tokens\":42,\"output_tokens\":7}}";

static int listen_fd;
static int port;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Reads one request (headers, then Content-Length bytes); false at EOF. */
static bool read_request(int fd, char *buf, size_t cap, const char **path)
{
    size_t len = 0;
    char *end = NULL;
    while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            return false;
        len += (size_t)r;
    }
    buf[len] = '\0';
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "content-length:");
    size_t want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
    while (len < head + want) {
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            return false;
        len += (size_t)r;
    }
    *path = strstr(buf, "/v1/messages") != NULL ? "anthropic" : "openai";
    return true;
}

/* One connection at a time, keep-alive, answering at once. */
static void *server_main(void *arg)
{
    (void)arg;
    static char buf[1 << 20];
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const char *which;
        while (read_request(fd, buf, sizeof buf, &which)) {
            const char *body = strcmp(which, "anthropic") == 0 ? answer_anthropic : answer_openai;
            char out[2048];
            int n = snprintf(out, sizeof out,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(body), body);
            if (write(fd, out, (size_t)n) != n)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void start_server(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 64) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &al) != 0) {
        perror("bench_model: listen");
        exit(1);
    }
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, server_main, NULL);
    pthread_detach(t);
}

/* The bare round trip: connect, send the request, read the whole answer. */
static double raw_call(const char *path, const char *body)
{
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, port, strlen(body), body);
    double t0 = now_us();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n) {
        perror("bench_model: raw call");
        exit(1);
    }
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "content-length:");
        if (end != NULL && cl != NULL &&
            len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            break;
    }
    close(fd);
    return now_us() - t0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    return v[(size_t)((double)(n - 1) * p)];
}

/* A shared_persistent context of 10 turns: what a heartbeat agent sends. */
static const char context[] =
    "{\"mode\":\"shared_persistent\",\"summary\":null,\"history\":["
    "{\"at\":\"2026-03-01T08:00:00Z\",\"input\":\"check\",\"output\":\"disk 71%\"},"
    "{\"at\":\"2026-03-01T08:05:00Z\",\"input\":\"check\",\"output\":\"disk 72%\"},"
    "{\"at\":\"2026-03-01T08:10:00Z\",\"input\":\"check\",\"output\":\"disk 74%\"},"
    "{\"at\":\"2026-03-01T08:15:00Z\",\"input\":\"check\",\"output\":\"disk 75%\"},"
    "{\"at\":\"2026-03-01T08:20:00Z\",\"input\":\"check\",\"output\":\"disk 77%\"},"
    "{\"at\":\"2026-03-01T08:25:00Z\",\"input\":\"check\",\"output\":\"disk 78%\"},"
    "{\"at\":\"2026-03-01T08:30:00Z\",\"input\":\"check\",\"output\":\"disk 80%\"},"
    "{\"at\":\"2026-03-01T08:35:00Z\",\"input\":\"check\",\"output\":\"disk 81%\"},"
    "{\"at\":\"2026-03-01T08:40:00Z\",\"input\":\"check\",\"output\":\"disk 83%\"},"
    "{\"at\":\"2026-03-01T08:45:00Z\",\"input\":\"check\",\"output\":\"disk 84%\"}]}";

static void bench(const char *api, const char *ctx, const char *label)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d%s", port,
             strcmp(api, "anthropic") == 0 ? "" : "/v1");
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    a.name = symbi_strdup("heartbeat_monitor");
    a.runner = SYMBI_RUNNER_MODEL;
    a.model = symbi_strdup("claude-sonnet-4.5");
    a.api = symbi_strdup(api);
    a.endpoint = symbi_strdup(endpoint);
    a.system_prompt = symbi_strdup("You are a system monitoring agent. Check disk, memory and "
                                   "services; answer `sleep` on the last line when all is well.");
    struct symbi_agent_request req = {
        .agent = &a,
        .agent_name = a.name,
        .input = "check",
        .job_name = "heartbeat",
        .scheduled_at = 1772355600000LL,
        .context_json = ctx,
        .max_runtime_ms = 10000,
    };
    static double run_us[CALLS], raw_us[CALLS];
    /* the bare round trip carries the body the runner sends (same size) */
    char body[8192];
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"pad\":\"%*s\"}", a.model,
             ctx != NULL ? (int)strlen(ctx) + 200 : 200, "");
    const char *path = strcmp(api, "anthropic") == 0 ? "/v1/messages" : "/v1/chat/completions";
    for (int i = 0; i < CALLS + WARMUP; i++) {
        /* interleaved, so load changes hit both series alike */
        double r = raw_call(path, body);
        struct symbi_agent_result res;
        struct symbi_err err;
        double t0 = now_us();
        if (symbi_agent_execute(&req, &res, &err) != 0 || res.status != SYMBI_RUN_SUCCEEDED) {
            fprintf(stderr, "bench_model: run failed: %s\n",
                    res.error_message ? res.error_message : err.msg);
            exit(1);
        }
        double t = now_us() - t0;
        symbi_agent_result_cleanup(&res);
        if (i >= WARMUP) {
            run_us[i - WARMUP] = t;
            raw_us[i - WARMUP] = r;
        }
    }
    double rm = pct(raw_us, CALLS, 0.5), r99 = pct(raw_us, CALLS, 0.99);
    double m = pct(run_us, CALLS, 0.5), m99 = pct(run_us, CALLS, 0.99);
    printf("%-32s round trip median %6.0f us p99 %6.0f | model call median %6.0f us p99 %6.0f | "
           "overhead median %5.0f us (target <= 1000)\n",
           label, rm, r99, m, m99, m - rm);
    symbi_agent_def_cleanup(&a);
}

int main(void)
{
    struct symbi_err err;
    if (symbi_agent_model_install(&err) != 0) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 1;
    }
    start_server();
    double load[1] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &load[0]) != 1)
            load[0] = 0;
        fclose(f);
    }
    printf("model runner, %d calls each, a new connection per call, load %.2f\n", CALLS, load[0]);
    bench("openai", NULL, "openai, no context");
    bench("openai", context, "openai, 10-turn history");
    bench("anthropic", context, "anthropic, 10-turn history");
    return 0;
}
