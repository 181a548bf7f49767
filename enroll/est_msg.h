/* SPDX-License-Identifier: Apache-2.0 */
/* EST message formats (RFC 7030, RFC 8951): base64 bodies, certs-only PKCS#7 and PKCS#10
 * requests. Pure functions over OpenSSL, no I/O: fuzzed and unit-tested on their own. */
#ifndef DEVID_EST_MSG_H
#define DEVID_EST_MSG_H

#include "error.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

/* Decodes base64 that may contain any whitespace (RFC 8951 2.1), and end in NUL bytes, into a
 * malloc'd buffer. */
devid_rc est_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* Encodes as base64 wrapped at 64 columns with CRLF line ends (malloc'd, NUL-terminated). */
devid_rc est_base64_encode(const unsigned char *in, size_t len, char **out, size_t *outlen);

/* Parses a base64 certs-only PKCS#7 (the body of /cacerts and /simpleenroll responses). */
devid_rc est_parse_certs_only(const char *body, size_t len, STACK_OF(X509) **certs);

/* Builds a DER PKCS#10 request for `key` (signed with it using digest md_nid, SHA-256 when
 * NID_undef), with the subject and, if given, the subjectAltName of `like` (a certificate to
 * renew) or `subject`. A non-NULL `challenge` becomes the challengePassword attribute
 * (proof-of-possession, RFC 7030 3.5: the base64 of the connection's channel binding). A
 * non-NULL `evidence` (evidence_len bytes of DER, evidence.h) becomes the id-aa-evidence
 * attribute. */
devid_rc est_build_csr(EVP_PKEY *key, const X509_NAME *subject, const X509 *like, int md_nid,
                       const char *challenge, const unsigned char *evidence, size_t evidence_len,
                       unsigned char **der, size_t *len);

/* What a server's /csrattrs (RFC 7030 4.5) asks for, as far as devid-enroll can honour it. */
typedef struct est_csr_wishes {
    int md_nid;              /* signature digest (from ecdsa-with-SHAx / shaxWithRSAEncryption) */
    int key_type;            /* EVP_PKEY_EC or EVP_PKEY_RSA, 0 if not asked */
    int curve_nid;           /* id-ecPublicKey attribute: the curve */
    int rsa_bits;            /* rsaEncryption attribute: the modulus size */
    bool challenge_password; /* proof-of-possession asked (challengePassword) */
    int ignored;             /* items devid-enroll does not act on */
} est_csr_wishes;

/* Parses a DER CsrAttrs (SEQUENCE OF (OID | Attribute)). */
devid_rc est_parse_csrattrs(const unsigned char *der, size_t len, est_csr_wishes *wishes);

/* Picks the certificate for `key` out of a response (the issued one). NULL if none matches. */
X509 *est_find_cert_for_key(STACK_OF(X509) *certs, EVP_PKEY *key);

#endif
