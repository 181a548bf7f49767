/* What every enrolling command shares: the EST client settings (config [est] + command line),
 * the retry policy, the secrets read from their files, and "get a verified certificate for
 * this key". */
#ifndef DEVID_ENROLL_CONTEXT_H
#define DEVID_ENROLL_CONTEXT_H

#include "commands.h"
#include "est.h"
#include "retry.h"

#include "devid.h"

typedef struct enroll_ctx {
    const devid_config *cfg;
    est_client_cfg est;
    est_retry_policy retry;
    char *password;            /* cleansed on free */
    char *header;              /* cleansed on free */
} enroll_ctx;

devid_rc enroll_ctx_init(enroll_ctx *ctx, const enroll_options *opt);
void enroll_ctx_free(enroll_ctx *ctx);

/* Requests a certificate for `key` (a CSR with `subject`, or the subject and SAN of `like`),
 * authenticating with whatever ctx->est carries, retrying per policy. The answer is checked
 * before it is returned: the issued certificate must carry key's public key, chain to the
 * explicit trust anchor and be within its validity. *chain gets the CA certificates. */
devid_rc enroll_get_cert(enroll_ctx *ctx, est_op op, EVP_PKEY *key, const X509_NAME *subject,
                         const X509 *like, X509 **leaf, STACK_OF(X509) **chain);

/* Uses key + cert (+ chain) as the TLS client identity for the next requests (not owned). */
void enroll_ctx_use_tls_identity(enroll_ctx *ctx, EVP_PKEY *key, X509 *cert,
                                 STACK_OF(X509) *chain);

/* Writes leaf + chain as a PEM file, atomically (mode 0644: certificates are public). */
devid_rc enroll_write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain);

/* Parses "O=Org,OU=Unit,CN=name,serialNumber=123" (or "/O=.../CN=..."). */
devid_rc enroll_parse_subject(const char *text, X509_NAME **out);

#endif
