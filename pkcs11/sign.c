/* C_Sign* / C_Verify*: dispatch to the mechanism table. Hashing mechanisms hash in software
 * (multi-part through C_SignUpdate); the private-key operation is core's (the TPM's);
 * verification is software on the public key, never the TPM. */
#include "p11.h"

#include <openssl/crypto.h>
#include <string.h>

/* The bytes the key operation works on: the digest of everything so far for hashing
 * mechanisms (finished on a copy of the state, so a length query consumes nothing), else the
 * collected input. `more` is data of a single-part call not yet added. */
static CK_RV op_input(p11_op *op, const unsigned char *more, size_t more_len,
                      unsigned char dig[EVP_MAX_MD_SIZE], const unsigned char **in, size_t *inlen)
{
    if (op->md) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 0;
        bool ok = c && EVP_MD_CTX_copy_ex(c, op->md) == 1 &&
                  EVP_DigestUpdate(c, more, more_len) == 1 && EVP_DigestFinal_ex(c, dig, &n) == 1;
        EVP_MD_CTX_free(c);
        if (!ok)
            return CKR_FUNCTION_FAILED;
        *in = dig;
        *inlen = n;
        return CKR_OK;
    }
    if (more_len) {
        CK_RV rv = p11_op_append(op, more, more_len);
        if (rv != CKR_OK)
            return rv;
    }
    *in = op->buf ? op->buf : dig;
    *inlen = op->len;
    return CKR_OK;
}

static CK_RV op_update(p11_op *op, const unsigned char *part, size_t len)
{
    op->updated = true;
    if (op->md)
        return EVP_DigestUpdate(op->md, part, len) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    return p11_op_append(op, part, len);
}

static void end(p11_op **slot)
{
    p11_op_free(*slot);
    *slot = NULL;
}

/* ---- signing --------------------------------------------------------------------------------- */

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    return p11_leave(p11_op_init(&s->sign, pMechanism, hKey, CKF_SIGN, CKO_PRIVATE_KEY, CKA_SIGN));
}

/* Signs what the operation has (plus `more`), following the two-call convention. */
static CK_RV sign_final(p11_session *s, const unsigned char *more, size_t more_len,
                        CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
    p11_op *op = s->sign;
    bool done;
    CK_RV rv = p11_out_check(sig, siglen, devid_key_sig_size(op->key), &done);
    if (rv != CKR_OK || !done)
        return rv;
    unsigned char dig[EVP_MAX_MD_SIZE];
    const unsigned char *in;
    size_t inlen, outlen = *siglen;
    rv = op_input(op, more, more_len, dig, &in, &inlen);
    if (rv == CKR_OK)
        rv = op->mech->sign(op, in, inlen, sig, &outlen);
    if (rv == CKR_OK)
        *siglen = outlen;
    OPENSSL_cleanse(dig, sizeof(dig));
    end(&s->sign);
    return rv;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->sign)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if ((!pData && ulDataLen) || !pulSignatureLen) {
        end(&s->sign);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    if (s->sign->updated)
        return p11_leave(CKR_OPERATION_ACTIVE); /* multi-part: finish with C_SignFinal */
    return p11_leave(sign_final(s, pData, ulDataLen, pSignature, pulSignatureLen));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->sign)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    rv = (!pPart && ulPartLen) ? CKR_ARGUMENTS_BAD : op_update(s->sign, pPart, ulPartLen);
    if (rv != CKR_OK)
        end(&s->sign);
    return p11_leave(rv);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                  CK_ULONG_PTR pulSignatureLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->sign)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pulSignatureLen) {
        end(&s->sign);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    return p11_leave(sign_final(s, NULL, 0, pSignature, pulSignatureLen));
}

/* ---- verification ------------------------------------------------------------------------- */

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    return p11_leave(
        p11_op_init(&s->verify, pMechanism, hKey, CKF_VERIFY, CKO_PUBLIC_KEY, CKA_VERIFY));
}

static CK_RV verify_final(p11_session *s, const unsigned char *more, size_t more_len,
                          const unsigned char *sig, size_t siglen)
{
    p11_op *op = s->verify;
    unsigned char dig[EVP_MAX_MD_SIZE];
    const unsigned char *in;
    size_t inlen;
    CK_RV rv = op_input(op, more, more_len, dig, &in, &inlen);
    if (rv == CKR_OK)
        rv = op->mech->verify(op, in, inlen, sig, siglen);
    end(&s->verify);
    return rv;
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->verify)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if ((!pData && ulDataLen) || (!pSignature && ulSignatureLen)) {
        end(&s->verify);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    if (s->verify->updated)
        return p11_leave(CKR_OPERATION_ACTIVE);
    return p11_leave(verify_final(s, pData, ulDataLen, pSignature, ulSignatureLen));
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->verify)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    rv = (!pPart && ulPartLen) ? CKR_ARGUMENTS_BAD : op_update(s->verify, pPart, ulPartLen);
    if (rv != CKR_OK)
        end(&s->verify);
    return p11_leave(rv);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->verify)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pSignature && ulSignatureLen) {
        end(&s->verify);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    return p11_leave(verify_final(s, NULL, 0, pSignature, ulSignatureLen));
}

/* ---- recovery: no mechanism here recovers data from a signature --------------------------- */

static CK_RV no_recover(CK_SESSION_HANDLE hSession)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return no_recover(hSession);
}

CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    return no_recover(hSession);
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    (void)pMechanism;
    (void)hKey;
    return no_recover(hSession);
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen,
                      CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    (void)pSignature;
    (void)ulSignatureLen;
    (void)pData;
    (void)pulDataLen;
    return no_recover(hSession);
}
