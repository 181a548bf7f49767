/* SPDX-License-Identifier: Apache-2.0 */
/* Login state and PINs (docs/design.md "PINs", core/token.h).
 *
 * A factory-fresh token is initialised, holds the factory DevIDs and has no PINs: nothing needs
 * a login, and C_Login accepts any PIN (no PIN set = no protection), so consumers that always
 * log in (keyd with ?pin-value=) work on a fresh token. The owner sets PINs the standard way:
 * C_InitToken sets the SO PIN (and clears the store, never the factory objects), C_InitPIN the
 * user PIN, C_SetPIN changes one. From then on the TPM checks every PIN (its lockout limits
 * guessing), private objects show only after C_Login(CKU_USER), and new keys are bound to the
 * login (core/token.h).
 *
 * The login belongs to the application (all its sessions), as PKCS#11 defines; it ends with
 * C_Logout or the last session.
 */
#include "p11.h"
#include "pkcs11_3.h"

#include <string.h>

static CK_USER_TYPE logged_in = CK_UNAVAILABLE_INFORMATION;

static devid_token_state pins(void)
{
    devid_token_state st;
    memset(&st, 0, sizeof(st));
    devid_token_state_get(&st); /* only looks at the store */
    return st;
}

CK_USER_TYPE p11_login_user(void)
{
    return logged_in;
}

bool p11_pin_set(void)
{
    return pins().user_pin_set;
}

/* Loaded store keys bound to the login forget their auth value. */
static void forget_key_auth(void)
{
    for (size_t i = 0; i < p11_item_count(); i++) {
        p11_item *it = p11_item_at(i);
        if (it->src == P11_ITEM_STORE && it->key && devid_key_needs_auth(it->key))
            devid_key_set_auth(it->key, NULL, 0);
    }
}

void p11_login_reset(void)
{
    if (logged_in != CK_UNAVAILABLE_INFORMATION) {
        forget_key_auth();
        devid_token_logout();
    }
    logged_in = CK_UNAVAILABLE_INFORMATION;
}

CK_RV p11_key_auth(devid_key *key)
{
    if (!devid_key_needs_auth(key))
        return CKR_OK;
    unsigned char auth[32];
    size_t n = 0;
    devid_rc rc = devid_token_key_auth(auth, &n);
    CK_RV rv = CKR_USER_NOT_LOGGED_IN;
    if (rc == DEVID_OK && n && logged_in == CKU_USER)
        rv = p11_rv(devid_key_set_auth(key, auth, n), "key auth value");
    memset(auth, 0, sizeof(auth));
    return rv;
}

/* A PIN check in the TPM, with PKCS#11's names for its outcomes. */
static CK_RV tpm_login(devid_role role, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    devid_rc rc = devid_token_login(role, pin, len);
    if (rc == DEVID_ERR_NOT_FOUND)
        return role == DEVID_ROLE_USER ? CKR_USER_PIN_NOT_INITIALIZED : CKR_PIN_INCORRECT;
    return p11_rv(rc, role == DEVID_ROLE_USER ? "user login" : "SO login");
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
    devid_token_state st = pins();
    bool pin_set = userType == CKU_SO ? st.so_pin_set : st.user_pin_set;
    if (pin_set)
        rv = tpm_login(userType == CKU_SO ? DEVID_ROLE_SO : DEVID_ROLE_USER, pPin, ulPinLen);
    else if (userType == CKU_USER && st.so_pin_set)
        rv = CKR_USER_PIN_NOT_INITIALIZED; /* initialised by the SO, user PIN not set yet */
    /* else: no PIN at all, nothing to check (no PIN set = no protection) */
    if (rv == CKR_OK)
        logged_in = userType;
    return p11_leave(rv);
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
    p11_login_reset();
    return p11_leave(CKR_OK);
}

static CK_RV check_new_pin(CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    if (!pin && len)
        return CKR_ARGUMENTS_BAD;
    return len < 1 || len > P11_MAX_PIN_LEN ? CKR_PIN_LEN_RANGE : CKR_OK;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (logged_in != CKU_SO || !pins().so_pin_set) {
        devid_info("pkcs11: C_InitPIN needs the SO logged in with the PIN set by C_InitToken");
        return p11_leave(CKR_USER_NOT_LOGGED_IN);
    }
    if (!(s->flags & CKF_RW_SESSION))
        return p11_leave(CKR_SESSION_READ_ONLY);
    rv = check_new_pin(pPin, ulPinLen);
    if (rv == CKR_OK)
        rv = p11_rv(devid_token_set_pin(DEVID_ROLE_USER, pPin, ulPinLen), "setting the user PIN");
    return p11_leave(rv);
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
               CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!(s->flags & CKF_RW_SESSION))
        return p11_leave(CKR_SESSION_READ_ONLY);
    if (!pOldPin && ulOldLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    rv = check_new_pin(pNewPin, ulNewLen);
    if (rv != CKR_OK)
        return p11_leave(rv);
    /* The PIN of whoever is logged in, else the user's; the old PIN is checked by the TPM,
     * which also hands core the token secret to re-seal under the new one. */
    devid_role role = logged_in == CKU_SO ? DEVID_ROLE_SO : DEVID_ROLE_USER;
    devid_token_state st = pins();
    if (!(role == DEVID_ROLE_SO ? st.so_pin_set : st.user_pin_set))
        return p11_leave(role == DEVID_ROLE_SO ? CKR_USER_NOT_LOGGED_IN
                                               : CKR_USER_PIN_NOT_INITIALIZED);
    rv = tpm_login(role, pOldPin, ulOldLen);
    if (rv == CKR_OK)
        rv = p11_rv(devid_token_set_pin(role, pNewPin, ulNewLen), "changing a PIN");
    if (logged_in == CK_UNAVAILABLE_INFORMATION)
        devid_token_logout(); /* checking the old PIN was not a login */
    return p11_leave(rv);
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pLabel)
{
    CK_RV rv = p11_enter_slot(slotID, true, true);
    if (rv != CKR_OK)
        return rv;
    if (p11_session_count(false) > 0)
        return p11_leave(CKR_SESSION_EXISTS);
    if (!pPin && ulPinLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    rv = check_new_pin(pPin, ulPinLen);
    if (rv != CKR_OK)
        return p11_leave(rv);
    /* The token label is the configuration's (token_label): pLabel cannot change it. */
    (void)pLabel;
    rv = p11_rv(devid_token_init(pPin, ulPinLen), "initialising the token");
    if (rv == CKR_PIN_INCORRECT)
        devid_warn("pkcs11: C_InitToken: re-initialisation needs the current SO PIN");
    if (rv == CKR_OK)
        rv = p11_token_sync(true); /* the store is empty now */
    return p11_leave(rv);
}
