/* SPDX-License-Identifier: Apache-2.0 */
/* C_Digest*: software digests (operation life: multipart.c). */
#include "p11.h"

#include <string.h>

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (s->digest)
        return p11_leave(CKR_OPERATION_ACTIVE);
    const p11_mech *mech = p11_mech_find(pMechanism->mechanism, CKF_DIGEST);
    if (!mech)
        return p11_leave(CKR_MECHANISM_INVALID);
    return p11_leave(p11_op_new(mech, pMechanism, CKF_DIGEST, &s->digest));
}

/* Finishes: writes the digest of everything so far plus `more` (or its size) per the two-call
 * convention; a length query consumes nothing. */
static CK_RV digest_final(p11_op **slot, const unsigned char *more, size_t more_len,
                          CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool done;
    CK_RV rv = p11_out_check(out, outlen, (size_t)EVP_MD_CTX_get_size((*slot)->md), &done);
    if (rv != CKR_OK || !done)
        return rv;
    unsigned char dig[EVP_MAX_MD_SIZE];
    const unsigned char *in;
    size_t inlen;
    rv = p11_part_input(*slot, more, more_len, dig, &in, &inlen);
    if (rv == CKR_OK) {
        memcpy(out, in, inlen);
        *outlen = inlen;
    }
    p11_part_end(slot);
    return rv;
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_DIGEST, P11_PART_SINGLE,
                              (pData || !ulDataLen) && pulDigestLen, &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_SINGLE,
                          digest_final(op, pData, ulDataLen, pDigest, pulDigestLen));
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_part_update(hSession, CKF_DIGEST, pPart, ulPartLen);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_DIGEST, P11_PART_UPDATE, true, &op);
    if (rv != CKR_OK)
        return rv;
    (*op)->updated = true;
    /* Secret keys here live in the TPM: their value cannot be digested (which ends the
     * operation, as every error does). */
    return p11_part_leave(op, P11_PART_UPDATE,
                          p11_object_get(hKey) ? CKR_KEY_INDIGESTIBLE : CKR_KEY_HANDLE_INVALID);
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11_op **op;
    CK_RV rv = p11_part_begin(hSession, CKF_DIGEST, P11_PART_FINAL, pulDigestLen != NULL, &op);
    if (rv != CKR_OK)
        return rv;
    return p11_part_leave(op, P11_PART_FINAL, digest_final(op, NULL, 0, pDigest, pulDigestLen));
}
