/* cmd_api_key.c - `symbi api-key create|list|revoke` (SPEC §9): API keys
 * for the HTTP API, printed once at creation and stored as salted hashes. */
#include "cli/cli.h"
#include "symbi/json.h"
#include "symbi/policy.h"
#include "symbi/store.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const struct symbi_cli_cmd api_key_commands[];

static int open_store(const struct symbi_cli *cli, struct symbi_store **st)
{
    char *url = symbi_cli_store_url(cli);
    if (url == NULL)
        return symbi_cli_store_url_fail();
    struct symbi_err err = {0};
    int rc = symbi_store_open(url, st, &err);
    free(url);
    if (rc != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot open store: %s", err.msg);
    return SYMBI_EXIT_OK;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@'))
            return false;
    }
    return true;
}

static int cmd_create(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"scope", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *scope = NULL;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            name = optarg;
        else if (c == 's')
            scope = optarg;
        else
            return symbi_cli_usage(&api_key_commands[0], "bad option");
    }
    unsigned mask;
    struct symbi_err serr = {0};
    if (scope != NULL && symbi_policy_scopes_parse(scope, &mask, &serr) != 0)
        return symbi_cli_usage(&api_key_commands[0], "--scope: %s", serr.msg);
    if (optind < argc)
        return symbi_cli_usage(&api_key_commands[0], "unexpected argument '%s'", argv[optind]);
    if (name == NULL)
        return symbi_cli_usage(&api_key_commands[0], "--name is required");
    if (!valid_name(name))
        return symbi_cli_fail(SYMBI_EXIT_USAGE,
                              "bad key name \"%s\": 1-64 characters of A-Z a-z 0-9 - _ . @", name);
    char key[SYMBI_API_KEY_STRLEN + 1], salt[SYMBI_KEY_SALT_HEXLEN + 1];
    char hash[SYMBI_KEY_HASH_HEXLEN + 1];
    if (symbi_policy_key_generate(key) != 0 || symbi_policy_key_salt(salt) != 0 ||
        symbi_policy_key_hash(key, salt, hash) != 0)
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot generate a key (no randomness?)");
    struct symbi_store *st = NULL;
    int rc = open_store(cli, &st);
    if (rc != SYMBI_EXIT_OK)
        return rc;
    struct symbi_api_key k = {0};
    k.name = symbi_strdup(name);
    k.salt = symbi_strdup(salt);
    k.hash = symbi_strdup(hash);
    k.scopes = scope != NULL ? symbi_strdup(scope) : NULL;
    k.created_at = symbi_now_wall_ms();
    k.revoked_at = SYMBI_TIME_NONE;
    struct symbi_err err = {0};
    if (k.name == NULL || k.salt == NULL || k.hash == NULL || (scope != NULL && k.scopes == NULL)) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "out of memory");
    } else if (symbi_store_api_key_insert(st, &k, &err) != 0) {
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot store the key: %s", err.msg);
    } else {
        printf("%s\n", key);
        fflush(stdout);
        fprintf(stderr,
                "created API key \"%s\" (id %s); it is shown only now: keep it, and send it as "
                "\"Authorization: Bearer <key>\"\n",
                name, k.id);
        rc = SYMBI_EXIT_OK;
    }
    symbi_api_key_cleanup(&k);
    symbi_store_close(st);
    return rc;
}

static int cmd_list(struct symbi_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "table";
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'f')
            return symbi_cli_usage(&api_key_commands[1], "bad option");
        format = optarg;
    }
    if (optind < argc)
        return symbi_cli_usage(&api_key_commands[1], "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return symbi_cli_usage(&api_key_commands[1], "--format must be table or json");
    struct symbi_store *st = NULL;
    int rc = open_store(cli, &st);
    if (rc != SYMBI_EXIT_OK)
        return rc;
    struct symbi_api_key *keys = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_api_key_list(st, &keys, &n, &err) != 0) {
        symbi_store_close(st);
        return symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot list keys: %s", err.msg);
    }
    if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "id", keys[i].id, "name",
                               keys[i].name ? keys[i].name : "", "scopes",
                               keys[i].scopes != NULL ? keys[i].scopes : "admin", "created_at",
                               symbi_json_time(keys[i].created_at), "revoked_at",
                               symbi_json_time(keys[i].revoked_at), "status",
                               keys[i].revoked_at == SYMBI_TIME_NONE ? "active" : "revoked"));
        char *text = json_dumps(arr, JSON_INDENT(2));
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        json_decref(arr);
    } else {
        printf("%-36s  %-24s  %-28s  %-24s  %s\n", "ID", "NAME", "SCOPES", "CREATED", "STATUS");
        for (size_t i = 0; i < n; i++) {
            char created[SYMBI_TIME_STRLEN], revoked[SYMBI_TIME_STRLEN];
            symbi_time_fmt(keys[i].created_at, created);
            symbi_time_fmt(keys[i].revoked_at, revoked);
            printf("%-36s  %-24s  %-28s  %-24s  %s%s\n", keys[i].id,
                   keys[i].name ? keys[i].name : "",
                   keys[i].scopes != NULL ? keys[i].scopes : "admin", created,
                   keys[i].revoked_at == SYMBI_TIME_NONE ? "active" : "revoked ",
                   keys[i].revoked_at == SYMBI_TIME_NONE ? "" : revoked);
        }
    }
    symbi_api_key_list_free(keys, n);
    symbi_store_close(st);
    return SYMBI_EXIT_OK;
}

static int cmd_revoke(struct symbi_cli *cli, int argc, char **argv)
{
    if (argc != 2)
        return symbi_cli_usage(&api_key_commands[2], "revoke takes one key id, id prefix or name");
    struct symbi_store *st = NULL;
    int rc = open_store(cli, &st);
    if (rc != SYMBI_EXIT_OK)
        return rc;
    struct symbi_err err = {0};
    if (symbi_store_api_key_revoke(st, argv[1], symbi_now_wall_ms(), &err) != 0)
        rc = symbi_cli_fail(SYMBI_EXIT_ERROR, "cannot revoke \"%s\": %s", argv[1],
                            err.msg[0] ? err.msg : symbi_strerror(err.code));
    else
        printf("revoked %s\n", argv[1]);
    symbi_store_close(st);
    return rc;
}

static const struct symbi_cli_cmd api_key_commands[] = {
    {"create", cmd_create, "create a key and print it once",
     "usage: symbi api-key create --name NAME [--scope read,write,run,approve,admin]\n"
     "  Creates an API key, prints it once on stdout and stores only a salted hash.\n"
     "  --scope   what the key may do (default: everything, as admin): read (GET),\n"
     "            write (create, update, delete, pause, resume, reset), run (manual\n"
     "            runs), approve (approve/deny runs), admin (all). A request outside\n"
     "            the key's scopes gets 403. Keys made before scopes keep full rights.\n"},
    {"list", cmd_list, "list keys (never the keys themselves)",
     "usage: symbi api-key list [--format table|json]\n"
     "  Lists every key's id, name, creation time and status.\n"},
    {"revoke", cmd_revoke, "revoke a key by id, id prefix or name",
     "usage: symbi api-key revoke <id|prefix|name>\n"
     "  Revokes the key: the API refuses it from then on (within half a second).\n"},
};

int symbi_cli_cmd_api_key(struct symbi_cli *cli, int argc, char **argv)
{
    return symbi_cli_dispatch(cli, api_key_commands, SYMBI_ARRAY_LEN(api_key_commands),
                              "symbi api-key", argc - 1, argv + 1);
}
