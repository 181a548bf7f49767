/* SPDX-License-Identifier: Apache-2.0 */
/* devid configuration: one file read by the PKCS#11 module, the provider and devid-enroll.
 *
 * File: $DEVID_CONF, else /etc/devid/devid.conf (a missing default file means defaults; a
 * missing file named by DEVID_CONF is an error). Environment variables override the file:
 * DEVID_TCTI, DEVID_STORE, DEVID_LOG; a host's settings (devid_settings) stand between the two.
 *
 * Syntax: `key = value` lines, `#`/`;` comments, optional "double quotes" around values, and
 * `[section]` headers that prefix the keys below them (`[idevid]` + `key = ...` is the same as
 * `idevid.key = ...`). Unknown keys and bad values are errors naming file:line.
 *
 *   tcti = swtpm:host=127.0.0.1,port=2321    # tpm2-tss TCTI string; default: tpm2-tss's search
 *   store = /var/lib/devid                   # the object store directory
 *   store_dir_mode = 2770                    # octal; group rwx + setgid, nothing for others
 *   store_key_mode = 0640                    # key and PIN seal files
 *   store_cert_mode = 0640                   # certificate and attribute files
 *   log = none|error|warn|info|debug
 *   token_label = DevID                      # PKCS#11 token label
 *   trust_anchors = /etc/devid/trust.pem     # CA certificates the DevID chains are checked to
 *   pin_file = /etc/devid/user.pin           # the token's user PIN, for the provider and
 *                                            # devid-enroll once PINs are set (token.h)
 *   owner_auth_file = /etc/devid/owner-auth  # the owner hierarchy's auth value, if it has one
 *   endorsement_auth_file = /etc/devid/endorsement-auth   # likewise for the endorsement one
 *   idevid.key = 0x81020000                  # persistent key handle, or "none"
 *   idevid.cert_nv = 0x01C90000              # NV index holding the DER certificate, or "none"
 *   idevid.cert_nv_alt = 0x01C90200          # probed when cert_nv is absent
 *   idevid.chain = /path/intermediates.pem   # optional CA chain certificates
 *   ldevid.cert = store | /path/chain.pem    # "store": <store>/ldevid-chain.pem
 * Map entries: ek_rsa, ek_ecc, idevid, iak, ldevid (see devid_map_entry).
 * The [est] and [renew] sections belong to devid-enroll, which reads them from the same file
 * with devid_config_scan (enroll/enroll_config.h); core skips them.
 */
#ifndef DEVID_CONFIG_H
#define DEVID_CONFIG_H

#include "error.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVID_DEFAULT_CONF "/etc/devid/devid.conf"
#ifndef DEVID_DEFAULT_STORE /* meson option store_dir */
#define DEVID_DEFAULT_STORE "/var/lib/devid"
#endif
/* Store modes: shared by the group owning the store directory (setgid, so new files get that
 * group); never any access for other users. */
#define DEVID_DEFAULT_STORE_DIR_MODE 02770
#define DEVID_DEFAULT_STORE_KEY_MODE 0640
#define DEVID_DEFAULT_STORE_CERT_MODE 0640
#define DEVID_DEFAULT_TOKEN_LABEL "DevID"

/* The well-known DevID objects (docs/design.md "The DevID map"). */
typedef enum devid_map_id {
    DEVID_MAP_EK_RSA = 0,
    DEVID_MAP_EK_ECC,
    DEVID_MAP_IDEVID,
    DEVID_MAP_IAK,
    DEVID_MAP_LDEVID,
    DEVID_MAP_COUNT
} devid_map_id;

typedef enum devid_cert_source {
    DEVID_CERT_NONE = 0,
    DEVID_CERT_NV,   /* DER certificate in an NV index (factory) */
    DEVID_CERT_FILE, /* PEM file: leaf first, then chain (owner identities) */
} devid_cert_source;

typedef struct devid_map_entry {
    const char *name;    /* config prefix: "idevid" */
    const char *label;   /* object label: "IDevID" */
    uint32_t key_handle; /* persistent handle, 0 = none */
    devid_cert_source cert_source;
    uint32_t cert_nv;     /* DEVID_CERT_NV: index */
    uint32_t cert_nv_alt; /* probed when cert_nv is absent, 0 = none */
    char *cert_file;      /* DEVID_CERT_FILE: path ("store" resolved at load) */
    char *chain_file;     /* optional CA chain, NULL = none */
    bool factory;         /* created at the factory: never modified or destroyed */
} devid_map_entry;

typedef struct devid_config {
    char *tcti; /* NULL: tpm2-tss default search */
    char *store;
    unsigned store_dir_mode, store_key_mode, store_cert_mode;
    devid_log_level log_level;
    char *token_label;
    char *trust_anchors;         /* NULL: none configured */
    char *pin_file;              /* file holding the user PIN; NULL: none configured */
    char *path;                  /* the file this configuration was read from (for messages) */
    char *owner_auth_file;       /* owner hierarchy auth value (NULL: empty), core/hierarchy.h */
    char *endorsement_auth_file; /* endorsement hierarchy auth value (NULL: empty) */
    devid_map_entry map[DEVID_MAP_COUNT];
} devid_config;

/* Settings a host hands to core at start-up (devid_core_init_with), such as the provider's
 * openssl.cnf keys. Each is used unless the environment sets the same thing, and wins over the
 * file. NULL or "": not set. */
typedef struct devid_settings {
    const char *origin; /* names the settings in errors, e.g. "openssl.cnf" */
    const char *conf;   /* the configuration file, as DEVID_CONF */
    const char *tcti;   /* as DEVID_TCTI */
    const char *store;  /* as DEVID_STORE */
    const char *log;    /* as DEVID_LOG */
} devid_settings;

/* Core-internal from here on (not exported; test_config and the fuzz target link core's
 * objects). Front-ends read the loaded configuration through devid_core_config(). */

/* A config with every default filled in. */
devid_rc devid_config_new(devid_config **out);
/* Applies `text` (the syntax above) on top of cfg. `origin` names it in errors. */
devid_rc devid_config_parse(devid_config *cfg, const char *text, size_t len, const char *origin);
/* The syntax without the meaning: calls visit for every `key = value` line, with the key
 * prefixed by its section ("est.server"), the value unquoted and "origin:line" for errors; an
 * error from visit stops the scan and is returned. */
typedef devid_rc (*devid_config_visit_fn)(void *arg, const char *key, const char *value,
                                          const char *where);
devid_rc devid_config_scan(const char *text, size_t len, const char *origin,
                           devid_config_visit_fn visit, void *arg);
devid_rc devid_config_scan_file(const char *path, devid_config_visit_fn visit, void *arg);
/* The configuration file: $DEVID_CONF (*explicit_path: it must exist) or the default. */
const char *devid_config_file(bool *explicit_path);
/* Reads the file at path into cfg. */
devid_rc devid_config_read_file(devid_config *cfg, const char *path);
/* Applies DEVID_TCTI / DEVID_STORE / DEVID_LOG, else the same settings (may be NULL). */
devid_rc devid_config_apply_overrides(devid_config *cfg, const devid_settings *settings);
/* Default + file ($DEVID_CONF, settings->conf or the default path) + environment and settings,
 * then resolves derived paths. */
devid_rc devid_config_load(const devid_settings *settings, devid_config **out);
void devid_config_free(devid_config *cfg);

#endif
