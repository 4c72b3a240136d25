/* deliver.h - delivery routing (SPEC §7): each run's output goes to the
 * channels of its job (stdout, log_file, webhook, slack, email, custom
 * commands, channels registered in C) and leaves one receipt per channel.
 * libcurl is used only inside this module (and the model runner). */
#ifndef SYMBI_DELIVER_H
#define SYMBI_DELIVER_H

#include "symbi/config.h"
#include "symbi/exec.h"

/* Bounds of what one delivery sends (SPEC §15): the output in a payload,
 * a log record or a mail is cut to SYMBI_DELIVER_OUTPUT_MAX bytes (at a
 * UTF-8 boundary, output_truncated set); a Slack message to
 * SYMBI_DELIVER_SLACK_TEXT_MAX. */
#define SYMBI_DELIVER_OUTPUT_MAX     (1024 * 1024)
#define SYMBI_DELIVER_SLACK_TEXT_MAX 3500
#define SYMBI_DELIVER_MAX_CHANNELS   64
#define SYMBI_DELIVER_NAME_MAX       64

/* One channel's outcome, stored in the run's `deliveries` JSON array as
 * {"channel","ok","status","reply","error","attempts","at"}. */
struct symbi_delivery_receipt {
    char channel[SYMBI_DELIVER_NAME_MAX + 1];
    bool ok;
    int status; /* HTTP status, SMTP reply code or exit code; 0: none
                   unless has_status (an exit code 0) */
    bool has_status;
    char reply[512]; /* the SMTP server's last reply line, or the start of an
                        HTTP error body; "" when none */
    char error[512]; /* why it failed ("" when ok); never holds a secret */
    int attempts;    /* tries made (1 without retries) */
    int64_t at;      /* wall ms when the channel finished */
};

struct symbi_deliver;

/* What a channel implementation sees of one delivery. Borrowed for the
 * call; the implementation fills *receipt (status, reply, error, attempts;
 * channel, ok and at are set by the router). */
struct symbi_delivery_ctx {
    struct symbi_deliver *router;           /* the router delivering */
    void *ud;                               /* the registrant's pointer */
    const char *environment;                /* the daemon's environment name */
    const char *payload;                    /* the §7 JSON payload (output bounded) */
    struct symbi_delivery_receipt *receipt; /* out */
};

/* A channel, the C form of the guide's DeliveryRouter trait: route()
 * delivers `output` (already bounded) of `run` of `job` to `channel` and
 * returns 0 when it was delivered, a negative SYMBI_E* code otherwise
 * (the receipt's error says why). It may be called from several threads
 * at once. release(ud), when not NULL, is called when the router that
 * holds the channel is freed. */
struct symbi_delivery_router {
    int (*route)(struct symbi_delivery_ctx *ctx, const char *channel, const struct symbi_job *job,
                 const struct symbi_run *run, const char *output);
    void (*release)(void *ud);
};

/* Builds a router from the [scheduler.delivery] settings of cfg (copied;
 * ${VAR} references stay unexpanded until a send) with the built-in
 * channels, the configured custom command channels and the channels
 * registered process-wide so far. log_dir defaults to
 * <data_dir>/logs/jobs. Errors: SYMBI_ENOMEM. */
int symbi_deliver_new(const struct symbi_config *cfg, struct symbi_deliver **out,
                      struct symbi_err *err);
/* Frees the router and releases the channels registered on it. NULL: no-op. */
void symbi_deliver_free(struct symbi_deliver *d);

/* Registers a channel by name on router d (before it is used by several
 * threads). The name holds letters, digits, '_' and '-' (at most 64).
 * SYMBI_EEXIST when the name is a built-in or already registered,
 * SYMBI_EINVAL for a bad name or a NULL route. *impl is copied. */
int symbi_deliver_register(struct symbi_deliver *d, const char *name,
                           const struct symbi_delivery_router *impl, void *ud,
                           struct symbi_err *err);
/* Registers a channel for every router created afterwards (a program that
 * links libsymbi.a calls this before starting the daemon's pieces). The
 * routers borrow it; its release is called by symbi_deliver_clear_defaults
 * (routers must be freed first). Same errors; at most 32 process-wide
 * channels. */
int symbi_deliver_register_default(const char *name, const struct symbi_delivery_router *impl,
                                   void *ud, struct symbi_err *err);
/* Releases and forgets the process-wide channels. */
void symbi_deliver_clear_defaults(void);

/* From monotonic instant mono_ms on (symbi_now_mono_ms), the router's
 * channels make no new attempt, and an attempt in flight at that instant
 * is cut off (its receipt says so). The daemon sets it at SIGTERM to now +
 * shutdown_timeout so that deliveries do not outlive the graceful stop.
 * 0 clears it. Safe from any thread. */
void symbi_deliver_set_deadline(struct symbi_deliver *d, int64_t mono_ms);

/* Where the stdout channel writes (default 1; tests point it at a pipe). */
void symbi_deliver_set_stdout_fd(struct symbi_deliver *d, int fd);

/* Delivers run (final status and output set) to every channel of job's
 * `delivery` list, one after another on the calling thread, and replaces
 * run->deliveries with the JSON array of receipts (`[]` when the job has
 * no channel or job is NULL). *out counts channels attempted and ok.
 * Channel failures are receipts; the return is negative only when no
 * receipt could be recorded (SYMBI_ENOMEM). Thread-safe. */
int symbi_deliver_route(struct symbi_deliver *d, const struct symbi_job *job, struct symbi_run *run,
                        const char *environment, struct symbi_delivery_summary *out,
                        struct symbi_err *err);

/* The run pipeline's delivery step (a symbi_exec_deliver_fn): ud is a
 * struct symbi_deliver *. */
int symbi_deliver_hook(void *ud, const struct symbi_exec_ctx *c, struct symbi_delivery_summary *out,
                       struct symbi_err *err);

/* The §7 payload of run as compact JSON (heap), the output cut to
 * max_output bytes (0: SYMBI_DELIVER_OUTPUT_MAX); NULL on out of memory. */
char *symbi_deliver_payload(const struct symbi_job *job, const struct symbi_run *run,
                            size_t max_output);

#endif
