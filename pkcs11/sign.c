/* SPDX-License-Identifier: Apache-2.0 */
/* C_Sign* / C_Verify*: dispatch to the mechanism table. Hashing mechanisms hash in software
 * (multi-part through C_SignUpdate); the private-key operation is core's (the TPM's);
 * verification is software on the public key, never the TPM. */
#include "p11.h"

#include <openssl/crypto.h>

/* ---- signing --------------------------------------------------------------------------------- */

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return p11_part_init(hSession, CKF_SIGN, pMechanism, hKey, CKO_PRIVATE_KEY, CKA_SIGN);
}

/* Signs what the operation has (plus `more`), following the two-call convention. */
static CK_RV sign_final(p11_op **slot, const unsigned char *more, size_t more_len, CK_BYTE_PTR sig,
                        CK_ULONG_PTR siglen)
{
    p11_op *op = *slot;
    bool done;
    CK_RV rv = p11_out_check(sig, siglen, devid_key_sig_size(op->key), &done);
    if (rv != CKR_OK || !done)
        return rv;
    unsigned char dig[EVP_MAX_MD_SIZE];
    const unsigned char *in;
    size_t inlen, outlen = *siglen;
    rv = p11_part_input(op, more, more_len, dig, &in, &inlen);
    if (rv == CKR_OK)
        rv = op->mech->sign(op, in, inlen, sig, &outlen);
    if (rv == CKR_OK)
        *siglen = outlen;
    OPENSSL_cleanse(dig, sizeof(dig));
    p11_part_end(slot);
    return rv;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_SIGN, P11_PART_SINGLE,
                              (pData || !ulDataLen) && pulSignatureLen, &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_SINGLE,
                          sign_final(op, pData, ulDataLen, pSignature, pulSignatureLen));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_part_update(hSession, CKF_SIGN, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_SIGN, P11_PART_FINAL, pulSignatureLen != NULL, &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_FINAL, sign_final(op, NULL, 0, pSignature, pulSignatureLen));
}

/* ---- verification ------------------------------------------------------------------------- */

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    return p11_part_init(hSession, CKF_VERIFY, pMechanism, hKey, CKO_PUBLIC_KEY, CKA_VERIFY);
}

static CK_RV verify_final(p11_op **slot, const unsigned char *more, size_t more_len,
                          const unsigned char *sig, size_t siglen)
{
    p11_op *op = *slot;
    unsigned char dig[EVP_MAX_MD_SIZE];
    const unsigned char *in;
    size_t inlen;
    CK_RV rv = p11_part_input(op, more, more_len, dig, &in, &inlen);
    if (rv == CKR_OK)
        rv = op->mech->verify(op, in, inlen, sig, siglen);
    p11_part_end(slot);
    return rv;
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_VERIFY, P11_PART_SINGLE,
                              (pData || !ulDataLen) && (pSignature || !ulSignatureLen), &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_SINGLE,
                          verify_final(op, pData, ulDataLen, pSignature, ulSignatureLen));
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_part_update(hSession, CKF_VERIFY, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_VERIFY, P11_PART_FINAL, pSignature || !ulSignatureLen,
                              &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_FINAL,
                          verify_final(op, NULL, 0, pSignature, ulSignatureLen));
}

/* ---- recovery: no mechanism here recovers data from a signature --------------------------- */

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return p11_unsupported(hSession);
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    return p11_unsupported(hSession);
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return p11_unsupported(hSession);
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
                      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    (void)pSignature;
    (void)ulSignatureLen;
    (void)pData;
    (void)pulDataLen;
    return p11_unsupported(hSession);
}
