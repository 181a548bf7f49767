/* SPDX-License-Identifier: Apache-2.0 */
/* What every enrolling command shares: the EST client settings (config [est] + command line),
 * the retry policy, the secrets read from their files, and "get a verified certificate for
 * this key". */
#ifndef DEVID_ENROLL_CONTEXT_H
#define DEVID_ENROLL_CONTEXT_H

#include "commands.h"
#include "csr_attest.h"
#include "enroll_config.h"
#include "est.h"
#include "est_msg.h"
#include "retry.h"

#include "devid.h"

#include <stdint.h>

/* When CSRs carry proof-of-possession (est.pop). */
typedef enum enroll_pop_mode {
    ENROLL_POP_AUTO = 0, /* when the server's /csrattrs asks for challengePassword */
    ENROLL_POP_ALWAYS,
    ENROLL_POP_NEVER,
} enroll_pop_mode;

typedef struct enroll_ctx {
    const devid_config *cfg;
    const enroll_config *conf; /* [est], [renew] */
    est_client_cfg est;
    est_retry_policy retry;
    enroll_pop_mode pop;
    enroll_attest_mode attest; /* est.attestation */
    est_csr_wishes wishes;     /* what /csrattrs asked for (enroll_fetch_wishes) */
    bool wishes_fetched;
    char *password; /* cleansed on free */
    char *header;   /* cleansed on free */
    /* The EST session of the current TLS client identity (est.h: one connection per
     * operation, TLS sessions resumed between them), replaced when the identity changes. */
    est_conn *conn;
    unsigned char conn_identity[32]; /* SHA-256 of the client certificate (zeros: none) */
    unsigned connections, full_handshakes, resumed; /* of the sessions closed so far */
    unsigned long long tpm_commands_at_start;
    /* what the run's TPM commands and fsyncs took, from here on (the summary line's times) */
    uint64_t tpm_ns_at_start, sync_ns_at_start;
    unsigned syncs_at_start;
} enroll_ctx;

devid_rc enroll_ctx_init(enroll_ctx *ctx, const enroll_options *opt);
void enroll_ctx_free(enroll_ctx *ctx);

/* Requests a certificate for `key` (a CSR with `subject`, or the subject and SAN of `like`),
 * authenticating with whatever ctx->est carries, retrying per policy; with
 * proof-of-possession (pop.h) when est.pop is always, or auto and /csrattrs asks for it; with
 * TPM evidence for the key (csr_attest.h) when `tpm_key` says where it lives and
 * est.attestation allows (NULL: no evidence, e.g. the IDevID). The answer is checked
 * before it is returned: the issued certificate must carry key's public key, chain to the
 * explicit trust anchor and be within its validity. *chain gets the CA certificates. A
 * certificate issued on a request with evidence is recorded as such (csr_attest_record). */
devid_rc enroll_get_cert(enroll_ctx *ctx, est_op op, EVP_PKEY *key, const enroll_key_ref *tpm_key,
                         const X509_NAME *subject, const X509 *like, X509 **leaf,
                         STACK_OF(X509) **chain);

/* The EST connection of the current TLS client identity (opened if needed), with the
 * credentials scoped to it, for exchanges other than enroll_get_cert's. */
devid_rc enroll_ctx_conn(enroll_ctx *ctx, est_conn **out);

/* The check enroll_get_cert makes of an issued certificate: chains to the explicit trust
 * anchor through `chain` and is valid now (DEVID_ERR_FORMAT otherwise). */
devid_rc enroll_verify_issued(const enroll_ctx *ctx, X509 *leaf, STACK_OF(X509) *chain);

/* Records the failure a reply that is not EST_DONE stands for: DEVID_ERR_AUTH when the
 * server refused our credentials (401, or a TLS alert refusing our client certificate, which
 * devid-enroll reports as exit 4), DEVID_ERR_RETRY when it was unavailable or kept us waiting
 * (exit 5), DEVID_ERR_FORMAT otherwise. `what` (optional) names the request. */
devid_rc enroll_reply_error(const est_reply *r, const char *what);

/* Asks the server's /csrattrs what it wants in requests (key type and size, signature hash),
 * with the authentication set so far. Optional for servers (RFC 7030 4.5): no answer means
 * no wishes. */
void enroll_fetch_wishes(enroll_ctx *ctx);

/* The key a new identity gets: the server's wish if it is one devid can make (EC P-256/P-384,
 * RSA 2048/3072/4096), else EC P-256, or RSA 2048 with --rsa. */
void enroll_key_choice(const enroll_ctx *ctx, bool rsa, devid_key_type *type, int *curve_nid,
                       int *bits);

/* Uses key + cert (+ chain) as the TLS client identity for the next requests (not owned). */
void enroll_ctx_use_tls_identity(enroll_ctx *ctx, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain);

/* Writes leaf + chain as a PEM file, atomically (mode 0644: certificates are public). */
devid_rc enroll_write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain);
/* The same, for a chain file followed by a change in the store that may become durable before
 * or after it: when path is in the store's directory, that change's directory fsync makes
 * both renames durable (one fsync less); elsewhere the file gets its own. */
devid_rc enroll_write_chain_batched(const char *path, X509 *leaf, STACK_OF(X509) *chain);

/* Parses "O=Org,OU=Unit,CN=name,serialNumber=123" (or "/O=.../CN=..."). */
devid_rc enroll_parse_subject(const char *text, X509_NAME **out);

#endif
