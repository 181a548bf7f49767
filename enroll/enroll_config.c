/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll's [est] and [renew] settings, read from the one configuration file with core's
 * scanner (the syntax lives there, the meaning here). */
#include "enroll_config.h"
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STRING, K_PATH, K_INT } key_kind;

typedef struct {
    const char *key;
    key_kind kind;
    size_t offset;
    long min, max; /* K_INT range */
} key_spec;

#define EST(f) offsetof(enroll_config, est.f)
#define RENEW(f) offsetof(enroll_config, renew.f)

static const key_spec keys[] = {
    { "est.server", K_STRING, EST(server), 0, 0 },
    { "est.ca_label", K_STRING, EST(ca_label), 0, 0 },
    { "est.trust_anchor", K_PATH, EST(trust_anchor), 0, 0 },
    { "est.fingerprint", K_STRING, EST(fingerprint), 0, 0 },
    { "est.username", K_STRING, EST(username), 0, 0 },
    { "est.password_file", K_PATH, EST(password_file), 0, 0 },
    { "est.header_file", K_PATH, EST(header_file), 0, 0 },
    { "est.auth", K_STRING, EST(auth), 0, 0 },
    { "est.credentials_for", K_STRING, EST(credentials_for), 0, 0 },
    { "est.credentials_server", K_STRING, EST(credentials_server), 0, 0 },
    { "est.timeout", K_INT, EST(timeout), 1, 3600 },
    { "est.max_attempts", K_INT, EST(max_attempts), 1, 1000 },
    { "est.retry_base_ms", K_INT, EST(retry_base_ms), 1, 3600000 },
    { "est.retry_cap_ms", K_INT, EST(retry_cap_ms), 1, 86400000 },
    { "est.pop", K_STRING, EST(pop), 0, 0 },
    { "est.check_server_revocation", K_STRING, EST(check_server_revocation), 0, 0 },
    { "est.factory_mode", K_STRING, EST(factory_mode), 0, 0 },
    { "est.attestation", K_STRING, EST(attestation), 0, 0 },
    { "renew.threshold", K_INT, RENEW(threshold), 1, 99 },
    { "renew.jitter", K_INT, RENEW(jitter), 0, 50 },
    { "renew.hook", K_STRING, RENEW(hook), 0, 0 },
};

/* Values checked where they are read, so a bad one names its line. */
static const struct {
    const char *key;
    const char *const allowed[4];
} choices[] = {
    { "est.auth", { "basic", "digest", "any" } },
    { "est.credentials_for", { "factory", "owner", "both" } },
    { "est.pop", { "auto", "always", "never" } },
    { "est.check_server_revocation", { "no", "yes" } },
    { "est.factory_mode", { "password", "attested" } },
    { "est.attestation", { "auto", "always", "never" } },
};

devid_rc enroll_config_new(enroll_config **out)
{
    enroll_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return devid_fail(DEVID_ERR_MEMORY, "config allocation");
    cfg->est.timeout = 30;
    cfg->est.max_attempts = 8;
    cfg->est.retry_base_ms = 2000;
    cfg->est.retry_cap_ms = 300000;
    cfg->renew.threshold = 80;
    cfg->renew.jitter = 10;
    *out = cfg;
    return DEVID_OK;
}

void enroll_config_free(enroll_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (keys[i].kind != K_INT)
            free(*(char **)((char *)cfg + keys[i].offset));
    free(cfg);
}

bool enroll_parse_fingerprint(const char *text, unsigned char out[32])
{
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ':')
            continue;
        int v = OPENSSL_hexchar2int((unsigned char)*p);
        if (n >= 64 || v < 0)
            return false;
        if (n % 2 == 0)
            out[n / 2] = (unsigned char)(v << 4);
        else
            out[n / 2] |= (unsigned char)v;
        n++;
    }
    return n == 64;
}

static devid_rc check_choice(const char *key, const char *value, const char *where)
{
    for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
        if (strcmp(choices[i].key, key) != 0)
            continue;
        for (size_t j = 0; j < 4 && choices[i].allowed[j]; j++)
            if (strcmp(choices[i].allowed[j], value) == 0)
                return DEVID_OK;
        if (!choices[i].allowed[2])
            return devid_fail(DEVID_ERR_CONFIG, "%s: %s = %s: expected %s or %s", where, key, value,
                              choices[i].allowed[0], choices[i].allowed[1]);
        return devid_fail(DEVID_ERR_CONFIG, "%s: %s = %s: expected %s, %s or %s", where, key, value,
                          choices[i].allowed[0], choices[i].allowed[1], choices[i].allowed[2]);
    }
    if ((strcmp(key, "est.credentials_server") == 0 || strcmp(key, "est.server") == 0) &&
        strncmp(value, "https://", 8) != 0)
        return devid_fail(DEVID_ERR_CONFIG, "%s: %s: expected an https:// URL", where, key);
    unsigned char fp[32];
    if (strcmp(key, "est.fingerprint") == 0 && !enroll_parse_fingerprint(value, fp))
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s: %s: expected a SHA-256 fingerprint (64 hex "
                          "digits, colons allowed)",
                          where, key);
    return DEVID_OK;
}

static devid_rc set_value(const key_spec *spec, enroll_config *cfg, const char *value,
                          const char *where)
{
    void *field = (char *)cfg + spec->offset;
    if (spec->kind == K_INT) {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno || v < spec->min || v > spec->max)
            return devid_fail(DEVID_ERR_CONFIG, "%s: '%s' is not a whole number from %ld to %ld",
                              where, value, spec->min, spec->max);
        *(long *)field = v;
        return DEVID_OK;
    }
    if (!*value)
        return devid_fail(DEVID_ERR_CONFIG, "%s: empty value", where);
    if (spec->kind == K_PATH && value[0] != '/')
        return devid_fail(DEVID_ERR_CONFIG, "%s: '%s' is not an absolute path", where, value);
    devid_rc rc = check_choice(spec->key, value, where);
    if (rc != DEVID_OK)
        return rc;
    char *copy = strdup(value);
    if (!copy)
        return devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", where);
    free(*(char **)field);
    *(char **)field = copy;
    return DEVID_OK;
}

static devid_rc apply_key(void *arg, const char *key, const char *value, const char *where)
{
    if (strncmp(key, "est.", 4) != 0 && strncmp(key, "renew.", 6) != 0)
        return DEVID_OK; /* core's */
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].key, key) == 0)
            return set_value(&keys[i], arg, value, where);
    return devid_fail(DEVID_ERR_CONFIG, "%s: unknown key '%s'", where, key);
}

devid_rc enroll_config_parse(enroll_config *cfg, const char *text, size_t len, const char *origin)
{
    return devid_config_scan(text, len, origin, apply_key, cfg);
}

devid_rc enroll_config_read_file(enroll_config *cfg, const char *path)
{
    return devid_config_scan_file(path, apply_key, cfg);
}

devid_rc enroll_config_check(const enroll_config *cfg)
{
    if (cfg->renew.threshold + cfg->renew.jitter > 95)
        return devid_fail(DEVID_ERR_CONFIG,
                          "renew.threshold + renew.jitter must stay at or "
                          "below 95%% of the lifetime, or a certificate may expire before it is "
                          "renewed");
    const char *scope = cfg->est.credentials_for;
    if (scope && strcmp(scope, "factory") != 0 && !cfg->est.credentials_server)
        return devid_fail(DEVID_ERR_CONFIG,
                          "est.credentials_for = %s sends the password with "
                          "a client certificate: name the one server it is for in "
                          "est.credentials_server",
                          scope);
    return DEVID_OK;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static enroll_config *loaded;
static devid_rc load_rc;
static char load_err[512];

static void load_once(void)
{
    bool required = false;
    const char *path = devid_config_file(&required);
    load_rc = enroll_config_new(&loaded);
    if (load_rc == DEVID_OK) {
        load_rc = enroll_config_read_file(loaded, path);
        if (load_rc == DEVID_ERR_NOT_FOUND && !required)
            load_rc = DEVID_OK; /* no config file: defaults */
    }
    if (load_rc == DEVID_OK && (load_rc = enroll_config_check(loaded)) != DEVID_OK)
        devid_fail(load_rc, "%s: %s", path, devid_last_error()); /* (names the file) */
    if (load_rc != DEVID_OK)
        snprintf(load_err, sizeof(load_err), "%s", devid_last_error());
}

devid_rc enroll_config_get(const enroll_config **out)
{
    pthread_once(&once, load_once);
    if (load_rc != DEVID_OK)
        return devid_fail(load_rc, "%s", load_err);
    *out = loaded;
    return DEVID_OK;
}
