/* SPDX-License-Identifier: Apache-2.0 */
/* devid_config_parse (core/config.h) and enroll_config_parse (enroll/enroll_config.h): the
 * text configuration, both readers of it over the same input.
 *
 * Properties beyond "no crash, no leak":
 *  - every failure names "<origin>:<line>:" with a line that exists in the input;
 *  - applying an accepted text again changes nothing (the parse is idempotent);
 *  - the parsed config, written back out as `key = "value"` lines, parses into the same
 *    config (every value the parser accepts can be expressed in the syntax). Fields added to
 *    devid_config need a line in check_same() and dump(). */
#include "fuzz.h"

#include "config.h"
#include "enroll_config.h"

#include <stdbool.h>
#include <string.h>

#define ORIGIN "fuzz.conf"

static const char *const level_names[] = { "none", "error", "warn", "info", "debug" };

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A config as both parsers see it. */
typedef struct {
    devid_config *core;
    enroll_config *enroll;
} both_config;

static devid_rc parse_both(both_config *c, const char *text, size_t len, const char *origin)
{
    devid_rc rc = devid_config_parse(c->core, text, len, origin);
    return rc == DEVID_OK ? enroll_config_parse(c->enroll, text, len, origin) : rc;
}

static void new_both(both_config *c)
{
    FUZZ_ASSERT(devid_config_new(&c->core) == DEVID_OK, "config_new");
    FUZZ_ASSERT(enroll_config_new(&c->enroll) == DEVID_OK, "enroll_config_new");
}

static void free_both(both_config *c)
{
    devid_config_free(c->core);
    enroll_config_free(c->enroll);
}

static void check_same_enroll(const enroll_config *a, const enroll_config *b, const char *what)
{
    const enroll_est_config *ea = &a->est, *eb = &b->est;
    FUZZ_ASSERT(same_str(ea->server, eb->server) && same_str(ea->ca_label, eb->ca_label) &&
                    same_str(ea->trust_anchor, eb->trust_anchor) &&
                    same_str(ea->fingerprint, eb->fingerprint) &&
                    same_str(ea->username, eb->username) &&
                    same_str(ea->password_file, eb->password_file) &&
                    same_str(ea->header_file, eb->header_file) && same_str(ea->auth, eb->auth) &&
                    same_str(ea->credentials_for, eb->credentials_for) &&
                    same_str(ea->credentials_server, eb->credentials_server) &&
                    same_str(ea->pop, eb->pop) &&
                    same_str(ea->check_server_revocation, eb->check_server_revocation),
                "%s: est strings", what);
    FUZZ_ASSERT(ea->timeout == eb->timeout && ea->max_attempts == eb->max_attempts &&
                    ea->retry_base_ms == eb->retry_base_ms && ea->retry_cap_ms == eb->retry_cap_ms,
                "%s: est numbers", what);
    FUZZ_ASSERT(a->renew.threshold == b->renew.threshold && a->renew.jitter == b->renew.jitter &&
                    same_str(a->renew.hook, b->renew.hook),
                "%s: renew", what);
}

static void check_same(const devid_config *a, const devid_config *b, const char *what)
{
    FUZZ_ASSERT(same_str(a->tcti, b->tcti), "%s: tcti", what);
    FUZZ_ASSERT(same_str(a->store, b->store), "%s: store", what);
    FUZZ_ASSERT(a->log_level == b->log_level, "%s: log", what);
    FUZZ_ASSERT(same_str(a->token_label, b->token_label), "%s: token_label", what);
    FUZZ_ASSERT(same_str(a->trust_anchors, b->trust_anchors), "%s: trust_anchors", what);
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        const devid_map_entry *x = &a->map[i], *y = &b->map[i];
        FUZZ_ASSERT(x->key_handle == y->key_handle, "%s: %s.key", what, x->name);
        FUZZ_ASSERT(x->cert_source == y->cert_source, "%s: %s cert source", what, x->name);
        FUZZ_ASSERT(x->cert_nv == y->cert_nv, "%s: %s.cert_nv", what, x->name);
        FUZZ_ASSERT(x->cert_nv_alt == y->cert_nv_alt, "%s: %s.cert_nv_alt", what, x->name);
        FUZZ_ASSERT(same_str(x->cert_file, y->cert_file), "%s: %s.cert", what, x->name);
        FUZZ_ASSERT(same_str(x->chain_file, y->chain_file), "%s: %s.chain", what, x->name);
    }
}

static void put_handle(FILE *f, const char *key, uint32_t v)
{
    if (v)
        fprintf(f, "%s = 0x%08X\n", key, v);
    else
        fprintf(f, "%s = none\n", key);
}

static void put_string(FILE *f, const char *key, const char *v)
{
    if (v)
        fprintf(f, "%s = \"%s\"\n", key, v);
}

/* The config as text. The entry's deciding key (cert or cert_nv, whichever set cert_source)
 * goes last; quotes keep values' inner and edge characters as they are. */
static char *dump(const devid_config *c, const enroll_config *ec, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    FUZZ_ASSERT(f, "open_memstream");
    if (c->tcti)
        fprintf(f, "tcti = \"%s\"\n", c->tcti);
    fprintf(f, "store=\"%s\"\n", c->store);
    FUZZ_ASSERT((unsigned)c->log_level < 5, "log level %d", (int)c->log_level);
    fprintf(f, "log = %s\n", level_names[c->log_level]);
    fprintf(f, "token_label = \"%s\"\n", c->token_label);
    if (c->trust_anchors)
        fprintf(f, "trust_anchors = \"%s\"\n", c->trust_anchors);
    const enroll_est_config *est = &ec->est;
    fprintf(f, "[est]\n");
    put_string(f, "server", est->server);
    put_string(f, "ca_label", est->ca_label);
    put_string(f, "trust_anchor", est->trust_anchor);
    put_string(f, "fingerprint", est->fingerprint);
    put_string(f, "username", est->username);
    put_string(f, "password_file", est->password_file);
    put_string(f, "header_file", est->header_file);
    put_string(f, "auth", est->auth);
    put_string(f, "credentials_for", est->credentials_for);
    put_string(f, "credentials_server", est->credentials_server);
    put_string(f, "pop", est->pop);
    put_string(f, "check_server_revocation", est->check_server_revocation);
    fprintf(f, "timeout = %ld\nmax_attempts = %ld\nretry_base_ms = %ld\nretry_cap_ms = %ld\n",
            est->timeout, est->max_attempts, est->retry_base_ms, est->retry_cap_ms);
    fprintf(f, "[renew]\nthreshold = %ld\njitter = %ld\n", ec->renew.threshold, ec->renew.jitter);
    put_string(f, "hook", ec->renew.hook);
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        const devid_map_entry *e = &c->map[i];
        fprintf(f, "[ %s ]\n", e->name);
        put_handle(f, "key", e->key_handle);
        put_handle(f, "cert_nv_alt", e->cert_nv_alt);
        if (e->chain_file)
            fprintf(f, "chain = \"%s\"\n", e->chain_file);
        if (e->cert_source == DEVID_CERT_FILE) {
            put_handle(f, "cert_nv", e->cert_nv);
            FUZZ_ASSERT(e->cert_file, "%s: file source without a file", e->name);
            fprintf(f, "cert = \"%s\"\n", e->cert_file);
        } else {
            if (e->cert_file)
                fprintf(f, "cert = \"%s\"\n", e->cert_file);
            FUZZ_ASSERT((e->cert_source == DEVID_CERT_NV) == (e->cert_nv != 0),
                        "%s: cert source %d with cert_nv 0x%x", e->name, (int)e->cert_source,
                        e->cert_nv);
            put_handle(f, "cert_nv", e->cert_nv);
        }
    }
    FUZZ_ASSERT(fclose(f) == 0, "dump");
    return text;
}

static unsigned count_lines(const uint8_t *data, size_t size)
{
    unsigned n = size ? 1 : 0;
    for (size_t i = 0; i + 1 < size; i++)
        n += data[i] == '\n';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    both_config cfg;
    new_both(&cfg);
    devid_rc rc = parse_both(&cfg, (const char *)data, size, ORIGIN);
    if (rc != DEVID_OK) {
        const char *err = devid_last_error();
        unsigned line = 0;
        FUZZ_ASSERT(rc == DEVID_ERR_CONFIG || rc == DEVID_ERR_MEMORY, "rc %s", devid_rc_name(rc));
        FUZZ_ASSERT(sscanf(err, ORIGIN ":%u: ", &line) == 1 && line >= 1 &&
                        line <= count_lines(data, size),
                    "error without a valid file:line: '%s'", err);
        free_both(&cfg);
        return 0;
    }

    /* Idempotent: the same text on top of its own result changes nothing. */
    both_config again;
    new_both(&again);
    FUZZ_ASSERT(parse_both(&again, (const char *)data, size, ORIGIN) == DEVID_OK,
                "second parse: %s", devid_last_error());
    FUZZ_ASSERT(parse_both(&again, (const char *)data, size, ORIGIN) == DEVID_OK, "reapplied: %s",
                devid_last_error());
    check_same(cfg.core, again.core, "reapplied");
    check_same_enroll(cfg.enroll, again.enroll, "reapplied");
    free_both(&again);

    /* Round trip through the canonical text. */
    size_t len = 0;
    char *text = dump(cfg.core, cfg.enroll, &len);
    both_config back;
    new_both(&back);
    FUZZ_ASSERT(parse_both(&back, text, len, "dump") == DEVID_OK, "dump does not parse: %s\n%s",
                devid_last_error(), text);
    check_same(cfg.core, back.core, "round trip");
    check_same_enroll(cfg.enroll, back.enroll, "round trip");
    free_both(&back);
    free(text);
    free_both(&cfg);
    return 0;
}
