/* devid configuration: one file read by the PKCS#11 module, the provider and devid-enroll.
 *
 * File: $DEVID_CONF, else /etc/devid/devid.conf (a missing default file means defaults; a
 * missing file named by DEVID_CONF is an error). Environment variables override the file:
 * DEVID_TCTI, DEVID_STORE, DEVID_LOG.
 *
 * Syntax: `key = value` lines, `#`/`;` comments, optional "double quotes" around values, and
 * `[section]` headers that prefix the keys below them (`[idevid]` + `key = ...` is the same as
 * `idevid.key = ...`). Unknown keys and bad values are errors naming file:line.
 *
 *   tcti = swtpm:host=127.0.0.1,port=2321    # tpm2-tss TCTI string; default: tpm2-tss's search
 *   store = /var/lib/devid                   # the object store directory
 *   log = none|error|warn|info|debug
 *   token_label = DevID                      # PKCS#11 token label
 *   trust_anchors = /etc/devid/trust.pem     # CA certificates the DevID chains are checked to
 *   idevid.key = 0x81020000                  # persistent key handle, or "none"
 *   idevid.cert_nv = 0x01C90000              # NV index holding the DER certificate, or "none"
 *   idevid.cert_nv_alt = 0x01C90200          # probed when cert_nv is absent
 *   idevid.chain = /path/intermediates.pem   # optional CA chain certificates
 *   ldevid.cert = store | /path/chain.pem    # "store": <store>/ldevid-chain.pem
 * Map entries: ek_rsa, ek_ecc, idevid, iak, ldevid (see devid_map_entry).
 *   [est]   server, ca_label, trust_anchor, fingerprint, username, password_file, header_file,
 *           timeout (s), max_attempts, retry_base_ms, retry_cap_ms, pop (auto|always|never)
 *   [renew] threshold (% of lifetime, default 80), jitter (%, default 10), hook (command)
 */
#ifndef DEVID_CONFIG_H
#define DEVID_CONFIG_H

#include "error.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVID_DEFAULT_CONF  "/etc/devid/devid.conf"
#define DEVID_DEFAULT_STORE "/var/lib/devid"
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
    DEVID_CERT_NV,      /* DER certificate in an NV index (factory) */
    DEVID_CERT_FILE,    /* PEM file: leaf first, then chain (owner identities) */
} devid_cert_source;

typedef struct devid_map_entry {
    const char *name;        /* config prefix: "idevid" */
    const char *label;       /* object label: "IDevID" */
    uint32_t key_handle;     /* persistent handle, 0 = none */
    devid_cert_source cert_source;
    uint32_t cert_nv;        /* DEVID_CERT_NV: index */
    uint32_t cert_nv_alt;    /* probed when cert_nv is absent, 0 = none */
    char *cert_file;         /* DEVID_CERT_FILE: path ("store" resolved at load) */
    char *chain_file;        /* optional CA chain, NULL = none */
    bool factory;            /* created at the factory: never modified or destroyed */
} devid_map_entry;

/* [est]: the enrollment server (devid-enroll). Secrets come from files, never the config. */
typedef struct devid_est_config {
    char *server;            /* https://host[:port] */
    char *ca_label;          /* optional CA label path segment */
    char *trust_anchor;      /* PEM file of CAs that may issue the server's certificate */
    char *fingerprint;       /* SHA-256 of the CA certificate, for bootstrapping /cacerts */
    char *username;          /* HTTP Basic user */
    char *password_file;     /* file holding the HTTP Basic password */
    char *header_file;       /* file holding an extra "Name: value" header (a secret) */
    long timeout;            /* seconds per request */
    long max_attempts;
    long retry_base_ms, retry_cap_ms;
    char *pop;               /* proof-of-possession: auto (when /csrattrs asks), always, never;
                                checked by devid-enroll */
} devid_est_config;

/* [renew]: when and how certificates are renewed. */
typedef struct devid_renew_config {
    long threshold;          /* percent of the lifetime after which to renew */
    long jitter;             /* percent of the lifetime added at random (fleet spread) */
    char *hook;              /* command run after a renewal (sh -c), e.g. restart a service */
} devid_renew_config;

typedef struct devid_config {
    char *tcti;              /* NULL: tpm2-tss default search */
    char *store;
    devid_log_level log_level;
    char *token_label;
    char *trust_anchors;     /* NULL: none configured */
    devid_map_entry map[DEVID_MAP_COUNT];
    devid_est_config est;
    devid_renew_config renew;
} devid_config;

/* A config with every default filled in. */
devid_rc devid_config_new(devid_config **out);
/* Applies `text` (the syntax above) on top of cfg. `origin` names it in errors. */
devid_rc devid_config_parse(devid_config *cfg, const char *text, size_t len, const char *origin);
/* Reads the file at path into cfg. */
devid_rc devid_config_read_file(devid_config *cfg, const char *path);
/* Applies DEVID_TCTI / DEVID_STORE / DEVID_LOG. */
devid_rc devid_config_apply_env(devid_config *cfg);
/* Default + file ($DEVID_CONF or the default path) + environment, then resolves derived paths. */
devid_rc devid_config_load(devid_config **out);
void devid_config_free(devid_config *cfg);

#endif
