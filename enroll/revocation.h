/* SPDX-License-Identifier: Apache-2.0 */
/* Revocation status of a certificate: OCSP (RFC 6960) at the URL of its Authority Information
 * Access, else the CRL at its CRL Distribution Point (RFC 5280), each answer verified against
 * the certificate's issuer (its chain, or the trust anchors). A good or revoked answer is
 * cached in STORE/revocation/ until its nextUpdate (a revocation for good), so status and the
 * renewal pass do not ask the responder each time. A responder that cannot be reached is a
 * warning ("unavailable"), never a lost identity. */
#ifndef DEVID_ENROLL_REVOCATION_H
#define DEVID_ENROLL_REVOCATION_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

typedef enum revocation_status {
    REVOCATION_NOT_CHECKED = 0, /* the certificate names no OCSP responder and no CRL */
    REVOCATION_GOOD,
    REVOCATION_REVOKED,
    REVOCATION_UNKNOWN,     /* the responder does not know the certificate */
    REVOCATION_UNAVAILABLE, /* no valid answer (unreachable, bad signature, stale...) */
} revocation_status;

typedef struct revocation_result {
    revocation_status status;
    const char *source; /* "ocsp", "crl" or "" */
    char url[256];
    time_t next_update; /* 0: none given */
    time_t revoked_at;  /* REVOCATION_REVOKED */
    bool cached;        /* from the cache (its answer is still current) */
    char detail[512];   /* why, for unavailable and unknown */
} revocation_result;

/* Checks `cert`; its issuer is looked up in `chain` (may be NULL) and then in the PEM files
 * `anchors` (NULL-terminated list; NULL entries skipped). Never fails: the outcome is in
 * *out. */
void revocation_check(X509 *cert, STACK_OF(X509) *chain, const char *const *anchors,
                      revocation_result *out);

const char *revocation_status_name(revocation_status s);

/* The anchor files to look issuers up in: core's trust_anchors, est.trust_anchor (status.c). */
void status_revocation_anchors(const char *anchors[3]);

#endif
