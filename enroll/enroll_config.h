/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll's part of the configuration file (core/config.h has the syntax and the rest):
 *
 *   [est]   server, ca_label, trust_anchor, fingerprint, timeout (s), max_attempts,
 *           retry_base_ms, retry_cap_ms, pop (auto|always|never)
 *           username, password_file, header_file: the HTTP credentials and the header secret,
 *           sent only where credentials_for and credentials_server allow (below)
 *           auth = basic|digest|any: how the password is offered (basic: HTTP Basic at once;
 *             digest: HTTP Digest; any: none until the server's 401 names a scheme)
 *           credentials_for = factory|owner|both: factory (default): only on requests without
 *             a TLS client certificate (the factory station's IDevID step); owner: only on
 *             requests authenticated by a client certificate; both. owner and both need
 *             credentials_server.
 *           credentials_server = https://host[:port]: the one server the credentials may go to
 *             (the scheme, host and port of the EST URL must match)
 *           check_server_revocation = no|yes: also check the revocation status of the EST
 *             server's certificate during the handshake (a revoked one fails it)
 *           factory_mode = password|attested: how `idevid` is authenticated (password:
 *             the station's credentials only; attested: the EK, credential activation)
 *           attestation = auto|always|never: CSRs for TPM keys carry the IAK's TPM2_Certify
 *             of the key (csr_attest.h): auto (default) when the IAK has a certificate
 *   [renew] threshold (% of lifetime, default 80), jitter (%, default 10), hook (command)
 *
 * Keys of other sections are core's. Unknown keys of these two and bad values are errors
 * naming file:line. */
#ifndef DEVID_ENROLL_CONFIG_H
#define DEVID_ENROLL_CONFIG_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

/* [est]: the enrollment server. Secrets come from files, never the config. */
typedef struct enroll_est_config {
    char *server;             /* https://host[:port] */
    char *ca_label;           /* optional CA label path segment */
    char *trust_anchor;       /* PEM file of CAs that may issue the server's certificate */
    char *fingerprint;        /* SHA-256 of the CA certificate, for bootstrapping /cacerts */
    char *username;           /* HTTP user (Basic or Digest) */
    char *password_file;      /* file holding the HTTP password */
    char *header_file;        /* file holding an extra "Name: value" header (a secret) */
    char *auth;               /* basic (default), digest, any */
    char *credentials_for;    /* factory (default), owner, both */
    char *credentials_server; /* the only server the credentials go to (NULL: the one in use) */
    long timeout;             /* seconds per request */
    long max_attempts;
    long retry_base_ms, retry_cap_ms;
    char *pop; /* proof-of-possession: auto (when /csrattrs asks), always, never */
    char *check_server_revocation; /* no (default), yes */
    char *factory_mode;            /* password (default): idevid authenticated by the station's
                                credentials; attested: by the EK (docs/factory.md) */
    char *attestation;             /* CSRs carry TPM evidence: auto (when the IAK has a
                                certificate), always, never */
} enroll_est_config;

/* [renew]: when and how certificates are renewed. */
typedef struct enroll_renew_config {
    long threshold; /* percent of the lifetime after which to renew */
    long jitter;    /* percent of the lifetime added at random (fleet spread) */
    char *hook;     /* command run after a renewal (sh -c), e.g. restart a service */
} enroll_renew_config;

typedef struct enroll_config {
    enroll_est_config est;
    enroll_renew_config renew;
} enroll_config;

/* The defaults. */
devid_rc enroll_config_new(enroll_config **out);
/* Applies the [est] and [renew] keys of `text` (the syntax of core/config.h) on top of cfg. */
devid_rc enroll_config_parse(enroll_config *cfg, const char *text, size_t len, const char *origin);
/* Applies the [est] and [renew] keys of the file at path. */
devid_rc enroll_config_read_file(enroll_config *cfg, const char *path);
/* "AB:CD:..." or "abcd...": a SHA-256 fingerprint into out (false: not 64 hex digits). */
bool enroll_parse_fingerprint(const char *text, unsigned char out[32]);

/* Checks what single keys cannot: renew.threshold + renew.jitter <= 95. */
devid_rc enroll_config_check(const enroll_config *cfg);
void enroll_config_free(enroll_config *cfg);

/* The process's configuration: defaults + the configuration file (core's), loaded on first
 * use and checked. */
devid_rc enroll_config_get(const enroll_config **out);

#endif
