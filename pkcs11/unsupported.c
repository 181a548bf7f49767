/* SPDX-License-Identifier: Apache-2.0 */
/* Entry points with nothing behind them: they exist (consumers resolve them and must get a
 * return code, never a crash) and say CKR_FUNCTION_NOT_SUPPORTED, after the usual checks. */
#include "p11.h"
#include "pkcs11_3.h"

CK_RV p11_unsupported(CK_SESSION_HANDLE h)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(h, &s);
    if (rv != CKR_OK)
        return rv;
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}

#define UNUSED(x) (void)(x)

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_unsupported(hSession);
    return rv == CKR_FUNCTION_NOT_SUPPORTED ? CKR_FUNCTION_NOT_PARALLEL : rv;
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_unsupported(hSession);
    return rv == CKR_FUNCTION_NOT_SUPPORTED ? CKR_FUNCTION_NOT_PARALLEL : rv;
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                            CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    UNUSED(pPart), UNUSED(ulPartLen), UNUSED(pEncryptedPart), UNUSED(pulEncryptedPartLen);
    return p11_unsupported(hSession);
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    UNUSED(pEncryptedPart), UNUSED(ulEncryptedPartLen), UNUSED(pPart), UNUSED(pulPartLen);
    return p11_unsupported(hSession);
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                          CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    UNUSED(pPart), UNUSED(ulPartLen), UNUSED(pEncryptedPart), UNUSED(pulEncryptedPartLen);
    return p11_unsupported(hSession);
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                            CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    UNUSED(pEncryptedPart), UNUSED(ulEncryptedPartLen), UNUSED(pPart), UNUSED(pulPartLen);
    return p11_unsupported(hSession);
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
                CK_ULONG_PTR pulWrappedKeyLen)
{
    UNUSED(pMechanism), UNUSED(hWrappingKey), UNUSED(hKey), UNUSED(pWrappedKey),
        UNUSED(pulWrappedKeyLen);
    return p11_unsupported(hSession);
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    UNUSED(pMechanism), UNUSED(hUnwrappingKey), UNUSED(pWrappedKey), UNUSED(ulWrappedKeyLen),
        UNUSED(pTemplate), UNUSED(ulAttributeCount), UNUSED(phKey);
    return p11_unsupported(hSession);
}

/* ---- PKCS#11 3.0 message-based functions: no AEAD or message signing here --------------- */

CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    UNUSED(m), UNUSED(key);
    return p11_unsupported(h);
}

CK_RV C_EncryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *ad,
                       CK_ULONG ad_len, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
                       CK_ULONG_PTR out_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(ad), UNUSED(ad_len), UNUSED(in), UNUSED(in_len),
        UNUSED(out), UNUSED(out_len);
    return p11_unsupported(h);
}

CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *ad,
                            CK_ULONG ad_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(ad), UNUSED(ad_len);
    return p11_unsupported(h);
}

CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *in,
                           CK_ULONG in_len, CK_BYTE *out, CK_ULONG_PTR out_len, CK_FLAGS flags)
{
    UNUSED(param), UNUSED(param_len), UNUSED(in), UNUSED(in_len), UNUSED(out), UNUSED(out_len),
        UNUSED(flags);
    return p11_unsupported(h);
}

CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE h)
{
    return p11_unsupported(h);
}

CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    UNUSED(m), UNUSED(key);
    return p11_unsupported(h);
}

CK_RV C_DecryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *ad,
                       CK_ULONG ad_len, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
                       CK_ULONG_PTR out_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(ad), UNUSED(ad_len), UNUSED(in), UNUSED(in_len),
        UNUSED(out), UNUSED(out_len);
    return p11_unsupported(h);
}

CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *ad,
                            CK_ULONG ad_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(ad), UNUSED(ad_len);
    return p11_unsupported(h);
}

CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *in,
                           CK_ULONG in_len, CK_BYTE *out, CK_ULONG_PTR out_len, CK_FLAGS flags)
{
    UNUSED(param), UNUSED(param_len), UNUSED(in), UNUSED(in_len), UNUSED(out), UNUSED(out_len),
        UNUSED(flags);
    return p11_unsupported(h);
}

CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE h)
{
    return p11_unsupported(h);
}

CK_RV C_MessageSignInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    UNUSED(m), UNUSED(key);
    return p11_unsupported(h);
}

CK_RV C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *data,
                    CK_ULONG data_len, CK_BYTE *sig, CK_ULONG_PTR sig_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(data), UNUSED(data_len), UNUSED(sig), UNUSED(sig_len);
    return p11_unsupported(h);
}

CK_RV C_SignMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len)
{
    UNUSED(param), UNUSED(param_len);
    return p11_unsupported(h);
}

CK_RV C_SignMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *data,
                        CK_ULONG data_len, CK_BYTE *sig, CK_ULONG_PTR sig_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(data), UNUSED(data_len), UNUSED(sig), UNUSED(sig_len);
    return p11_unsupported(h);
}

CK_RV C_MessageSignFinal(CK_SESSION_HANDLE h)
{
    return p11_unsupported(h);
}

CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    UNUSED(m), UNUSED(key);
    return p11_unsupported(h);
}

CK_RV C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *data,
                      CK_ULONG data_len, CK_BYTE *sig, CK_ULONG sig_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(data), UNUSED(data_len), UNUSED(sig), UNUSED(sig_len);
    return p11_unsupported(h);
}

CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len)
{
    UNUSED(param), UNUSED(param_len);
    return p11_unsupported(h);
}

CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR param, CK_ULONG param_len, CK_BYTE *data,
                          CK_ULONG data_len, CK_BYTE *sig, CK_ULONG sig_len)
{
    UNUSED(param), UNUSED(param_len), UNUSED(data), UNUSED(data_len), UNUSED(sig), UNUSED(sig_len);
    return p11_unsupported(h);
}

CK_RV C_MessageVerifyFinal(CK_SESSION_HANDLE h)
{
    return p11_unsupported(h);
}
