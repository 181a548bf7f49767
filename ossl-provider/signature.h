/* SPDX-License-Identifier: Apache-2.0 */
/* SIGNATURE internals shared by signature.c (the context and the dispatch table),
 * signature_tpm.c (signing with a TPM key) and signature_delegate.c (everything the default
 * provider does: verifying, and any operation on a soft key). */
#ifndef DEVID_PROV_SIGNATURE_H
#define DEVID_PROV_SIGNATURE_H

#include "provider.h"

typedef struct sig_ctx {
    dp_ctx *ctx;
    dp_key *key;
    int op;            /* EVP_PKEY_OP_SIGN / VERIFY / VERIFYRECOVER */
    bool tpm;          /* sign in the TPM (else: everything delegated) */
    EVP_PKEY_CTX *d;   /* TPM: shadow verify context; else: the delegate */
    EVP_MD_CTX *dmd;   /* delegated digest-sign/verify (owns d) */
    EVP_MD_CTX *mdctx; /* TPM digest-sign: software hashing */
    EVP_MD *md;        /* TPM: effective digest (NULL: none) */
    int pad;           /* TPM RSA: RSA_PKCS1_PADDING / RSA_PKCS1_PSS_PADDING / RSA_NO_PADDING */
    int saltlen;
    char mgf1[64];
} sig_ctx;

/* Applies params to the context (the shadow or the delegate). */
int dp_sig_set_params(sig_ctx *s, const OSSL_PARAM params[]);

/* TPM path (signature_tpm.c). mdname != NULL: a digest-sign operation ("" = default). */
int dp_sig_tpm_init(sig_ctx *s, const char *mdname, const OSSL_PARAM params[]);
/* The shadow context's parameters, with what the TPM cannot take as such translated. */
int dp_sig_tpm_set_params(sig_ctx *s, const OSSL_PARAM params[]);
size_t dp_sig_tpm_max_size(const sig_ctx *s);
/* Signs tbs (a digest, or for RSA without a digest: data to pad / a DigestInfo). */
int dp_sig_tpm_sign(sig_ctx *s, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen);

/* Delegated path (signature_delegate.c): a default-provider context does the operation. */
int dp_sig_delegate_init(sig_ctx *s, const char *mdname, const OSSL_PARAM params[]);

#endif
