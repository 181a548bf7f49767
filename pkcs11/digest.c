/* C_Digest*: software digests. */
#include "p11.h"

static void end_op(p11_session *s)
{
    p11_op_free(s->digest);
    s->digest = NULL;
}

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

/* Finishes: writes the digest (or its size) per the two-call convention. */
static CK_RV finish(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    size_t need = (size_t)EVP_MD_CTX_get_size(s->digest->md);
    bool done;
    CK_RV rv = p11_out_check(out, outlen, need, &done);
    if (rv != CKR_OK || !done)
        return rv;
    unsigned int n = 0;
    rv = EVP_DigestFinal_ex(s->digest->md, out, &n) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    *outlen = n;
    end_op(s);
    return rv;
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->digest)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if ((!pData && ulDataLen) || !pulDigestLen) {
        end_op(s);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    if (s->digest->updated)
        return p11_leave(CKR_OPERATION_ACTIVE); /* multi-part: finish with C_DigestFinal */
    if (pDigest) {
        /* The length query must not consume the data: hash only when writing the result. */
        if (*pulDigestLen >= (CK_ULONG)EVP_MD_CTX_get_size(s->digest->md) &&
            EVP_DigestUpdate(s->digest->md, pData, ulDataLen) != 1) {
            end_op(s);
            return p11_leave(CKR_FUNCTION_FAILED);
        }
    }
    return p11_leave(finish(s, pDigest, pulDigestLen));
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->digest)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pPart && ulPartLen) {
        end_op(s);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    s->digest->updated = true;
    if (EVP_DigestUpdate(s->digest->md, pPart, ulPartLen) != 1) {
        end_op(s);
        return p11_leave(CKR_FUNCTION_FAILED);
    }
    return p11_leave(CKR_OK);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->digest)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    (void)hKey; /* only secret keys can be digested, and the token has none */
    return p11_leave(p11_object_get(hKey) ? CKR_KEY_INDIGESTIBLE : CKR_KEY_HANDLE_INVALID);
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->digest)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pulDigestLen) {
        end_op(s);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    return p11_leave(finish(s, pDigest, pulDigestLen));
}
