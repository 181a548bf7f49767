/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "access_hint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONF_SIZE (256 * 1024)
#define MAX_KEY_LEN 64

typedef enum {
    V_STRING,
    V_PATH,
    V_LOG,
    V_KEY_HANDLE,
    V_NV_INDEX,
    V_CERT,
    V_MODE,
    V_DIR_MODE,
    V_TOKEN_LABEL
} value_kind;

/* Where a key's value goes: a field of the config, or of map entry `map`. */
typedef struct {
    const char *key; /* without the map prefix for map keys */
    value_kind kind;
    size_t offset;
    bool per_map_entry;
} key_spec;

#define CFG(f) offsetof(devid_config, f)
#define MAP(f) offsetof(devid_map_entry, f)

static const key_spec key_table[] = {
    { "tcti", V_STRING, CFG(tcti), false },
    { "store", V_PATH, CFG(store), false },
    { "log", V_LOG, CFG(log_level), false },
    { "store_dir_mode", V_DIR_MODE, CFG(store_dir_mode), false },
    { "store_key_mode", V_MODE, CFG(store_key_mode), false },
    { "store_cert_mode", V_MODE, CFG(store_cert_mode), false },
    { "token_label", V_TOKEN_LABEL, CFG(token_label), false },
    { "trust_anchors", V_PATH, CFG(trust_anchors), false },
    { "pin_file", V_PATH, CFG(pin_file), false },
    { "owner_auth_file", V_PATH, CFG(owner_auth_file), false },
    { "endorsement_auth_file", V_PATH, CFG(endorsement_auth_file), false },
    { "key", V_KEY_HANDLE, MAP(key_handle), true },
    { "cert_nv", V_NV_INDEX, MAP(cert_nv), true },
    { "cert_nv_alt", V_NV_INDEX, MAP(cert_nv_alt), true },
    { "cert", V_CERT, MAP(cert_file), true },
    { "chain", V_PATH, MAP(chain_file), true },
};

static const devid_map_entry map_defaults[DEVID_MAP_COUNT] = {
    [DEVID_MAP_EK_RSA] = { "ek_rsa", "EK", 0x81010001, DEVID_CERT_NV, 0x01C00002, 0, NULL, NULL,
                           true },
    [DEVID_MAP_EK_ECC] = { "ek_ecc", "EK", 0x81010002, DEVID_CERT_NV, 0x01C0000A, 0, NULL, NULL,
                           true },
    [DEVID_MAP_IDEVID] = { "idevid", "IDevID", 0x81020000, DEVID_CERT_NV, 0x01C90000, 0x01C90200,
                           NULL, NULL, true },
    [DEVID_MAP_IAK] = { "iak", "IAK", 0x81020001, DEVID_CERT_NV, 0x01C90001, 0x01C90100, NULL, NULL,
                        true },
    [DEVID_MAP_LDEVID] = { "ldevid", "LDevID", 0x81000002, DEVID_CERT_FILE, 0, 0, NULL, NULL,
                           false },
};

/* Sections devid-enroll reads (enroll/enroll_config.c): skipped here, checked there. */
static const char *const enroll_sections[] = { "est", "renew" };

/* "store" as an ldevid.cert value: resolved against the store directory at load time. */
static const char STORE_MARK[] = "store";

devid_rc devid_config_new(devid_config **out)
{
    devid_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return devid_fail(DEVID_ERR_MEMORY, "config allocation");
    cfg->store = strdup(DEVID_DEFAULT_STORE);
    cfg->token_label = strdup(DEVID_DEFAULT_TOKEN_LABEL);
    memcpy(cfg->map, map_defaults, sizeof(map_defaults));
    cfg->map[DEVID_MAP_LDEVID].cert_file = strdup(STORE_MARK);
    if (!cfg->store || !cfg->token_label || !cfg->map[DEVID_MAP_LDEVID].cert_file) {
        devid_config_free(cfg);
        return devid_fail(DEVID_ERR_MEMORY, "config allocation");
    }
    cfg->log_level = DEVID_LOG_NONE;
    cfg->store_dir_mode = DEVID_DEFAULT_STORE_DIR_MODE;
    cfg->store_key_mode = DEVID_DEFAULT_STORE_KEY_MODE;
    cfg->store_cert_mode = DEVID_DEFAULT_STORE_CERT_MODE;
    *out = cfg;
    return DEVID_OK;
}

void devid_config_free(devid_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->tcti);
    free(cfg->store);
    free(cfg->token_label);
    free(cfg->trust_anchors);
    free(cfg->pin_file);
    free(cfg->path);
    free(cfg->owner_auth_file);
    free(cfg->endorsement_auth_file);
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        free(cfg->map[i].cert_file);
        free(cfg->map[i].chain_file);
    }
    free(cfg);
}

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static devid_rc set_string(char **field, const char *value, const char *where)
{
    char *copy = strdup(value);
    if (!copy)
        return devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", where);
    free(*field);
    *field = copy;
    return DEVID_OK;
}

/* An octal mode of the store: never any access for other users (key files are TPM-wrapped,
 * but still nobody else's business), the owner always able to use what it made. */
static devid_rc set_mode(unsigned *field, const char *value, bool dir, const char *where)
{
    unsigned long v = 0;
    char *end = NULL;
    if (!*value || strspn(value, "01234567") != strlen(value) || strlen(value) > 5 ||
        (v = strtoul(value, &end, 8)) > 07777)
        return devid_fail(DEVID_ERR_CONFIG, "%s: '%s' is not an octal file mode", where, value);
    if (v & 07)
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s: mode %04lo gives other users access: the store "
                          "is shared by its group only (e.g. %s)",
                          where, v, dir ? "2770" : "0640");
    unsigned need = dir ? 0700 : 0600;
    if ((v & need) != need)
        return devid_fail(DEVID_ERR_CONFIG, "%s: mode %04lo must give the owner %s", where, v,
                          dir ? "rwx" : "rw");
    if (!dir && (v & 07000))
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s: mode %04lo: setuid/setgid/sticky bits are for "
                          "the directory",
                          where, v);
    *field = (unsigned)v;
    return DEVID_OK;
}

static devid_rc set_value(devid_config *cfg, const key_spec *spec, devid_map_entry *entry,
                          const char *value, const char *where)
{
    char *base = spec->per_map_entry ? (char *)entry : (char *)cfg;
    void *field = base + spec->offset;
    uint32_t handle = 0;

    switch (spec->kind) {
    case V_STRING:
        if (!*value)
            return devid_fail(DEVID_ERR_CONFIG, "%s: empty value", where);
        return set_string(field, value, where);
    case V_PATH:
        if (value[0] != '/')
            return devid_fail(DEVID_ERR_CONFIG, "%s: '%s' is not an absolute path", where, value);
        return set_string(field, value, where);
    case V_CERT:
        if (strcmp(value, STORE_MARK) != 0 && value[0] != '/')
            return devid_fail(DEVID_ERR_CONFIG,
                              "%s: expected \"store\" or an absolute path, got '%s'", where, value);
        entry->cert_source = DEVID_CERT_FILE;
        return set_string(field, value, where);
    case V_TOKEN_LABEL: /* CK_TOKEN_INFO.label: 32 bytes, blank-padded (consumers trim) */
        if (!*value || strlen(value) > 32 || isspace((unsigned char)value[strlen(value) - 1]))
            return devid_fail(DEVID_ERR_CONFIG,
                              "%s: token_label must be 1 to 32 bytes without "
                              "trailing spaces (a PKCS#11 token label), got '%s'",
                              where, value);
        return set_string(field, value, where);
    case V_MODE:
    case V_DIR_MODE:
        return set_mode(field, value, spec->kind == V_DIR_MODE, where);
    case V_LOG:
        if (!devid__log_level_parse(value, field))
            return devid_fail(DEVID_ERR_CONFIG,
                              "%s: log level '%s' is not one of none, error, warn, info, debug",
                              where, value);
        return DEVID_OK;
    case V_KEY_HANDLE:
    case V_NV_INDEX:
        if (strcmp(value, "none") != 0) {
            uint8_t want = spec->kind == V_KEY_HANDLE ? 0x81 : 0x01;
            if (!parse_u32(value, &handle) || (handle >> 24) != want)
                return devid_fail(DEVID_ERR_CONFIG, "%s: '%s' is not a %s (0x%02Xxxxxxx)", where,
                                  value, want == 0x81 ? "persistent key handle" : "NV index", want);
        }
        *(uint32_t *)field = handle;
        if (spec->kind == V_NV_INDEX && spec->offset == MAP(cert_nv))
            entry->cert_source = handle ? DEVID_CERT_NV : DEVID_CERT_NONE;
        return DEVID_OK;
    }
    return devid_fail(DEVID_ERR_INTERNAL, "%s: unhandled value kind", where);
}

static devid_rc apply_key(devid_config *cfg, const char *key, const char *value, const char *where)
{
    const char *dot = strchr(key, '.');
    devid_map_entry *entry = NULL;
    const char *leaf = key;

    if (dot) {
        for (int i = 0; i < DEVID_MAP_COUNT; i++) {
            size_t n = strlen(cfg->map[i].name);
            if ((size_t)(dot - key) == n && strncmp(key, cfg->map[i].name, n) == 0)
                entry = &cfg->map[i];
        }
        if (!entry)
            return devid_fail(DEVID_ERR_CONFIG, "%s: unknown key '%s'", where, key);
        leaf = dot + 1;
    }
    for (size_t i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++) {
        if (key_table[i].per_map_entry == (entry != NULL) && strcmp(key_table[i].key, leaf) == 0)
            return set_value(cfg, &key_table[i], entry, value, where);
    }
    return devid_fail(DEVID_ERR_CONFIG, "%s: unknown key '%s'", where, key);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static bool valid_name(const char *s, bool allow_dot)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || (allow_dot && *s == '.')))
            return false;
    }
    return true;
}

/* Parses one line in place; `section` holds the current [section] ("" for none). */
static devid_rc parse_line(char *line, char *section, size_t section_size, const char *where,
                           devid_config_visit_fn visit, void *arg)
{
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';')
        return DEVID_OK;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || *trim(close + 1))
            return devid_fail(DEVID_ERR_CONFIG, "%s: malformed section header", where);
        *close = '\0';
        char *name = trim(s + 1);
        if (!valid_name(name, false) || strlen(name) >= section_size)
            return devid_fail(DEVID_ERR_CONFIG, "%s: invalid section name", where);
        memcpy(section, name, strlen(name) + 1);
        return DEVID_OK;
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return devid_fail(DEVID_ERR_CONFIG, "%s: expected 'key = value'", where);
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if (!valid_name(key, true) || strlen(key) >= MAX_KEY_LEN)
        return devid_fail(DEVID_ERR_CONFIG, "%s: invalid key name", where);
    size_t vlen = strlen(value);
    if (vlen && value[0] != '"') { /* "value   # comment": the comment is not the value */
        for (char *p = value + 1; *p; p++) {
            if ((*p == '#' || *p == ';') && isspace((unsigned char)p[-1])) {
                *p = '\0';
                value = trim(value);
                vlen = strlen(value);
                break;
            }
        }
    }
    if (vlen && value[0] == '"') {
        if (vlen < 2 || value[vlen - 1] != '"')
            return devid_fail(DEVID_ERR_CONFIG, "%s: unterminated quoted value", where);
        value[vlen - 1] = '\0';
        value++;
    }
    char full[2 * MAX_KEY_LEN + 2];
    if (section[0])
        snprintf(full, sizeof(full), "%s.%s", section, key);
    else
        snprintf(full, sizeof(full), "%s", key);
    return visit(arg, full, value, where);
}

devid_rc devid_config_scan(const char *text, size_t len, const char *origin,
                           devid_config_visit_fn visit, void *arg)
{
    if (len > MAX_CONF_SIZE)
        return devid_fail(DEVID_ERR_CONFIG, "%s: larger than %d bytes", origin, MAX_CONF_SIZE);
    char section[MAX_KEY_LEN] = "";
    size_t pos = 0;
    unsigned lineno = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%u", origin, lineno);
        if (memchr(text + pos, '\0', end - pos))
            return devid_fail(DEVID_ERR_CONFIG, "%s: NUL byte in line", where);
        char *line = strndup(text + pos, end - pos);
        if (!line)
            return devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", where);
        devid_rc rc = parse_line(line, section, sizeof(section), where, visit, arg);
        free(line);
        if (rc != DEVID_OK)
            return rc;
        pos = end + 1;
    }
    return DEVID_OK;
}

/* Core's keys; the sections devid-enroll owns are its to check. */
static devid_rc apply_core_key(void *arg, const char *key, const char *value, const char *where)
{
    for (size_t i = 0; i < sizeof(enroll_sections) / sizeof(enroll_sections[0]); i++) {
        size_t n = strlen(enroll_sections[i]);
        if (strncmp(key, enroll_sections[i], n) == 0 && key[n] == '.')
            return DEVID_OK;
    }
    return apply_key(arg, key, value, where);
}

devid_rc devid_config_parse(devid_config *cfg, const char *text, size_t len, const char *origin)
{
    return devid_config_scan(text, len, origin, apply_core_key, cfg);
}

devid_rc devid_config_scan_file(const char *path, devid_config_visit_fn visit, void *arg)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int err = errno;
        char hint[1024] = "";
        if (err == EACCES)
            devid_access_hint(path, false, hint, sizeof(hint));
        return devid_fail(err == ENOENT ? DEVID_ERR_NOT_FOUND : DEVID_ERR_IO, "%s: %s%s", path,
                          strerror(err), hint);
    }
    char *buf = malloc(MAX_CONF_SIZE + 1);
    if (!buf) {
        fclose(f);
        return devid_fail(DEVID_ERR_MEMORY, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, MAX_CONF_SIZE + 1, f);
    bool failed = ferror(f);
    fclose(f);
    devid_rc rc = failed ? devid_fail(DEVID_ERR_IO, "%s: read error", path)
                         : devid_config_scan(buf, n, path, visit, arg);
    free(buf);
    return rc;
}

devid_rc devid_config_read_file(devid_config *cfg, const char *path)
{
    return devid_config_scan_file(path, apply_core_key, cfg);
}

const char *devid_config_file(bool *explicit_path)
{
    const char *path = getenv("DEVID_CONF");
    *explicit_path = path && *path;
    return *explicit_path ? path : DEVID_DEFAULT_CONF;
}

/* key_table[spec] from the environment variable env, else from the host's setting. */
static devid_rc apply_override(devid_config *cfg, size_t spec, const char *env, const char *setting,
                               const char *origin)
{
    const char *v = getenv(env);
    if (v && *v)
        return set_value(cfg, &key_table[spec], NULL, v, env);
    if (!setting || !*setting)
        return DEVID_OK;
    char where[96];
    snprintf(where, sizeof(where), "%s: %s", origin ? origin : "settings", key_table[spec].key);
    return set_value(cfg, &key_table[spec], NULL, setting, where);
}

devid_rc devid_config_apply_overrides(devid_config *cfg, const devid_settings *settings)
{
    const devid_settings none = { 0 };
    const devid_settings *s = settings ? settings : &none;
    devid_rc rc = apply_override(cfg, 0, "DEVID_TCTI", s->tcti, s->origin);
    if (rc == DEVID_OK)
        rc = apply_override(cfg, 1, "DEVID_STORE", s->store, s->origin);
    if (rc == DEVID_OK)
        rc = apply_override(cfg, 2, "DEVID_LOG", s->log, s->origin);
    return rc;
}

/* "store" certificate locations become <store>/<name>-chain.pem. */
static devid_rc resolve_paths(devid_config *cfg)
{
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        devid_map_entry *e = &cfg->map[i];
        if (e->cert_source != DEVID_CERT_FILE || !e->cert_file || strcmp(e->cert_file, STORE_MARK))
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s-chain.pem", cfg->store, e->name) < 0)
            return devid_fail(DEVID_ERR_MEMORY, "config: out of memory");
        free(e->cert_file);
        e->cert_file = path;
    }
    return DEVID_OK;
}

devid_rc devid_config_load(const devid_settings *settings, devid_config **out)
{
    devid_config *cfg = NULL;
    devid_rc rc = devid_config_new(&cfg);
    if (rc != DEVID_OK)
        return rc;
    bool explicit_path = false;
    const char *path = devid_config_file(&explicit_path);
    if (!explicit_path && settings && settings->conf && *settings->conf) {
        path = settings->conf;
        explicit_path = true;
    }
    rc = devid_config_read_file(cfg, path);
    if (rc == DEVID_ERR_NOT_FOUND && !explicit_path)
        rc = DEVID_OK; /* no config file: defaults */
    if (rc == DEVID_OK)
        rc = devid_config_apply_overrides(cfg, settings);
    if (rc == DEVID_OK)
        rc = resolve_paths(cfg);
    if (rc == DEVID_OK && !(cfg->path = strdup(explicit_path ? path : DEVID_DEFAULT_CONF)))
        rc = devid_fail(DEVID_ERR_MEMORY, "configuration path");
    if (rc != DEVID_OK) {
        devid_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return DEVID_OK;
}
