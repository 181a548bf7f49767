/* Login state (shared by all sessions of the application, as PKCS#11 defines it).
 *
 * PIN model (DESIGN.md): a factory-fresh token is initialised, holds the factory DevIDs and has
 * no user PIN, so nothing needs a login. Until a PIN is set, C_Login(CKU_USER) accepts any PIN
 * (no PIN set = no protection), so consumers that always log in (keyd with ?pin-value=) work
 * on a fresh token. Setting PINs (C_InitToken / C_InitPIN / C_SetPIN) needs core's PIN API,
 * where the TPM checks the PIN; until it exists they return CKR_FUNCTION_NOT_SUPPORTED.
 */
#include "p11.h"
#include "pkcs11_3.h"

static CK_USER_TYPE logged_in = CK_UNAVAILABLE_INFORMATION;

CK_USER_TYPE p11_login_user(void)
{
    return logged_in;
}

void p11_login_reset(void)
{
    logged_in = CK_UNAVAILABLE_INFORMATION;
}

bool p11_pin_set(void)
{
    return false; /* no PIN can be set yet (needs core's PIN API) */
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pPin && ulPinLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    switch (userType) {
    case CKU_USER:
    case CKU_SO:
        break;
    case CKU_CONTEXT_SPECIFIC:
        /* No key is CKA_ALWAYS_AUTHENTICATE: there is never anything to authenticate. */
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    default:
        return p11_leave(CKR_USER_TYPE_INVALID);
    }
    if (logged_in == userType)
        return p11_leave(CKR_USER_ALREADY_LOGGED_IN);
    if (logged_in != CK_UNAVAILABLE_INFORMATION)
        return p11_leave(CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    if (userType == CKU_SO && p11_session_ro_exists())
        return p11_leave(CKR_SESSION_READ_ONLY_EXISTS);
    if (ulPinLen > P11_MAX_PIN_LEN)
        return p11_leave(CKR_PIN_LEN_RANGE);
    /* No PIN is set: nothing to check. (With core's PIN API this asks the TPM.) */
    logged_in = userType;
    return p11_leave(CKR_OK);
}

CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR *pPin,
                  CK_ULONG ulPinLen, CK_UTF8CHAR *pUsername, CK_ULONG ulUsernameLen)
{
    (void)pUsername;
    (void)ulUsernameLen; /* the token has no user names */
    return C_Login(hSession, userType, pPin, ulPinLen);
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (logged_in == CK_UNAVAILABLE_INFORMATION)
        return p11_leave(CKR_USER_NOT_LOGGED_IN);
    logged_in = CK_UNAVAILABLE_INFORMATION;
    return p11_leave(CKR_OK);
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    (void)pPin;
    (void)ulPinLen;
    devid_info("pkcs11: C_InitPIN: setting PINs needs core's PIN API (not available yet)");
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
               CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    (void)pOldPin;
    (void)ulOldLen;
    (void)pNewPin;
    (void)ulNewLen;
    devid_info("pkcs11: C_SetPIN: setting PINs needs core's PIN API (not available yet)");
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pLabel)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    (void)pPin;
    (void)ulPinLen;
    (void)pLabel;
    if (slotID != P11_SLOT_ID)
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (!p11_token_present())
        return p11_leave(CKR_TOKEN_NOT_PRESENT);
    if (p11_session_count(false) > 0)
        return p11_leave(CKR_SESSION_EXISTS);
    devid_info("pkcs11: C_InitToken: the SO PIN needs core's PIN API (not available yet)");
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}
