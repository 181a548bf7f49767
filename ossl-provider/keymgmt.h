/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation in the TPM store (keygen.c), used by the keymgmt's gen functions. */
#ifndef DEVID_PROV_KEYMGMT_H
#define DEVID_PROV_KEYMGMT_H

#include "provider.h"

#include <openssl/params.h>

/* Gen parameters that select TPM generation (openssl genpkey -pkeyopt NAME:VALUE). */
#define DP_GEN_LABEL "devid-label"     /* store label: generate the key in the TPM store */
#define DP_GEN_AUTH "devid-auth"       /* optional auth value (PIN) */
#define DP_GEN_DECRYPT "devid-decrypt" /* 1: also allow RSA decryption / ECDH */

typedef struct dp_keygen_req {
    bool requested;
    char *label;
    char *auth;
    int decrypt;
    char group[64]; /* EC group name as given to the generator */
    size_t bits;    /* RSA modulus size as given to the generator */
} dp_keygen_req;

extern const OSSL_PARAM dp_keygen_settable[];

/* Picks our parameters out of params: 1 ok, 0 error (raised). */
int dp_keygen_parse(dp_ctx *ctx, devid_key_type type, dp_keygen_req *req,
                    const OSSL_PARAM params[]);
void dp_keygen_req_clear(dp_keygen_req *req);
/* Generates the key in the TPM and the store (group / bits as given with the usual
 * -pkeyopt group:P-384 / rsa_keygen_bits:3072). */
dp_key *dp_keygen_tpm(dp_ctx *ctx, devid_key_type type, const dp_keygen_req *req);

#endif
