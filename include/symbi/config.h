/* config.h - symbi.toml and the environment (SPEC §11): defaults < file <
 * environment < command-line flags. Values that may hold ${VAR} are kept as
 * written and expanded only when used (symbi_config_expand). */
#ifndef SYMBI_CONFIG_H
#define SYMBI_CONFIG_H

#include "symbi/core.h"

struct symbi_custom_channel {
    char *name;
    char *command;
};

struct symbi_config {
    /* where things come from */
    char *config_file; /* the file read, NULL when none */
    char *data_dir;    /* resolved data directory */
    char *environment; /* "development" by default */

    /* [scheduler] */
    int64_t tick_interval_ms;    /* 1000 */
    int64_t max_jitter_ms;       /* 0 */
    int max_concurrent_jobs;     /* 10 */
    bool enable_metrics;         /* true */
    int default_max_retries;     /* 3 */
    int64_t shutdown_timeout_ms; /* 30000 */
    char *default_timezone;      /* "UTC" */
    int64_t retry_backoff_ms;    /* 30000 */
    int64_t approval_timeout_ms; /* 3600000 */
    int64_t max_output_bytes;    /* 1 MiB */
    int64_t context_max_bytes;   /* 256 KiB */
    int64_t lease_ms;            /* 15000 */

    /* [scheduler.delivery] */
    int64_t webhook_timeout_ms;       /* 30000 */
    int webhook_retry_attempts;       /* 3 retries after the first try */
    int64_t webhook_retry_backoff_ms; /* 1000, doubling per retry */
    char *slack_api_token;            /* as written, e.g. "${SLACK_API_TOKEN}" */
    char *slack_default_channel;
    char *slack_api_base; /* "https://slack.com/api" */
    char *smtp_host;
    int smtp_port; /* 587 */
    char *smtp_username;
    char *smtp_password;
    bool smtp_require_tls;
    char *email_from;
    char *webhook_auth_header; /* SYMBI_WEBHOOK_AUTH_HEADER */
    char *delivery_log_dir;    /* log_file channel root; NULL: <data_dir>/logs/jobs */
    struct symbi_custom_channel *custom_channels;
    size_t n_custom_channels;

    /* [api] */
    char *listen;           /* "127.0.0.1:8080" */
    int64_t max_body_bytes; /* 1 MiB */
    bool protect_health;
    bool upstream_health;       /* /api/v1/health/scheduler in upstream's shape (SPEC §9.2) */
    char *api_key;              /* SYMBI_API_KEY (at least 32 characters) */
    int64_t header_timeout_ms;  /* a request header is complete within (10 s) */
    int max_connections;        /* open connections in all (1000) */
    int max_connections_per_ip; /* from one client address (64) */

    /* [store] */
    char *store_url; /* NULL: <data_dir>/symbi.db */
    /* retention (SPEC §13.1); 0 turns a bound off */
    int64_t keep_runs_ms;      /* "90d": terminal runs finished longer ago are pruned */
    int64_t keep_runs_per_job; /* 10000: newest terminal runs kept per job */
    int64_t keep_audit_ms;     /* "365d": older audit events are pruned */

    /* [agents] */
    char *agents_dir; /* NULL: ./agents when present */
    char *llm_endpoint;
    char *default_sandbox; /* JSON text of a sandbox (SPEC §6.5); NULL: none */

    /* [agentpin] */
    bool agentpin_required;
    char *agentpin_domain;
    char *agentpin_trust_bundle;
    char *agentpin_keys_dir;
    char *agentpin_ca_file;           /* CA bundle for discovery (NULL: the system's) */
    char *agentpin_discovery_resolve; /* "host:port:addr" handed to libcurl (CURLOPT_RESOLVE) */
    int64_t agentpin_cache_ttl_ms;
    int64_t agentpin_clock_skew_ms; /* 60000 */

    /* [log] */
    char *log_level;       /* "info" */
    int64_t log_max_bytes; /* 10 MiB */
};

/* Fills every default. Owns nothing yet. */
void symbi_config_init(struct symbi_config *cfg);
void symbi_config_cleanup(struct symbi_config *cfg);

/* Loads the file (path, or when NULL: $SYMBI_CONFIG, ./symbi.toml,
 * $XDG_CONFIG_HOME/symbi/symbi.toml; none is fine), then the environment.
 * An unknown key or a bad value fails with err->msg "FILE:LINE: KEY: ..." and
 * returns SYMBI_EINVAL. data_dir_flag overrides $SYMBI_HOME when not NULL.
 * A named file (path or $SYMBI_CONFIG) that cannot be read is SYMBI_EIO.
 * The new configuration is built apart and replaces *cfg (which must be
 * initialised) only on success; on failure *cfg is unchanged. On success
 * data_dir, environment, default_timezone, slack_api_base, listen and
 * log_level are never NULL. */
int symbi_config_load(struct symbi_config *cfg, const char *path, const char *data_dir_flag,
                      struct symbi_err *err);

/* Applies the TOML text (len bytes) named `name` onto cfg, without the
 * environment or defaults of strings (for tests and fuzzing). Errors as
 * above; cfg may then be half-applied. */
int symbi_config_load_buffer(struct symbi_config *cfg, const char *name, const char *text,
                             size_t len, struct symbi_err *err);

/* Expands ${NAME} references of value from the environment into a new heap
 * string (an unset or empty variable expands to "", or to DEFAULT when
 * written ${NAME:-DEFAULT}); anything else is kept as is; NULL for NULL. */
char *symbi_config_expand(const char *value);

/* The store URL in effect: store_url (with ${VAR} expanded), else
 * <data_dir>/symbi.db. Heap. */
char *symbi_config_store_url(const struct symbi_config *cfg);

#endif
