/* SPDX-License-Identifier: Apache-2.0 */
/* Sessions: open/close, info, and the per-session operation slots. */
#include "p11.h"
#include "pkcs11_3.h"

#include <stdlib.h>

static struct {
    p11_session **list;
    size_t n, cap;
    CK_SESSION_HANDLE next;
} ss;

p11_op **p11_session_op(p11_session *s, CK_FLAGS purpose)
{
    switch (purpose) {
    case CKF_SIGN:
        return &s->sign;
    case CKF_VERIFY:
        return &s->verify;
    case CKF_DIGEST:
        return &s->digest;
    case CKF_ENCRYPT:
        return &s->encrypt;
    case CKF_DECRYPT:
        return &s->decrypt;
    default:
        return NULL;
    }
}

/* Ends the session's operations that `which` names (CKF_SIGN, ..., CKF_FIND_OBJECTS). */
static void end_operations(p11_session *s, CK_FLAGS which)
{
    static const CK_FLAGS parts[] = { CKF_SIGN, CKF_VERIFY, CKF_DECRYPT, CKF_ENCRYPT, CKF_DIGEST };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (which & parts[i])
            p11_part_end(p11_session_op(s, parts[i]));
    if (which & CKF_FIND_OBJECTS) {
        p11_find_free(s->find);
        s->find = NULL;
    }
}

static void session_free(p11_session *s)
{
    end_operations(s, CKF_SIGN | CKF_VERIFY | CKF_DECRYPT | CKF_ENCRYPT | CKF_DIGEST |
                          CKF_FIND_OBJECTS);
    free(s);
}

void p11_sessions_free(void)
{
    for (size_t i = 0; i < ss.n; i++)
        session_free(ss.list[i]);
    free(ss.list);
    CK_SESSION_HANDLE next = ss.next;
    ss.list = NULL;
    ss.n = ss.cap = 0;
    ss.next = next; /* handles stay unique across re-initialisation */
}

static p11_session *lookup(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < ss.n; i++)
        if (ss.list[i]->handle == h)
            return ss.list[i];
    return NULL;
}

CK_RV p11_enter_session(CK_SESSION_HANDLE h, p11_session **s)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    *s = lookup(h);
    if (!*s)
        return p11_leave(CKR_SESSION_HANDLE_INVALID);
    return CKR_OK;
}

size_t p11_session_count(bool rw_only)
{
    size_t n = 0;
    for (size_t i = 0; i < ss.n; i++)
        if (!rw_only || (ss.list[i]->flags & CKF_RW_SESSION))
            n++;
    return n;
}

bool p11_session_ro_exists(void)
{
    return p11_session_count(true) < p11_session_count(false);
}

CK_STATE p11_session_state(const p11_session *s)
{
    bool rw = s->flags & CKF_RW_SESSION;
    switch (p11_login_user()) {
    case CKU_SO:
        return CKS_RW_SO_FUNCTIONS;
    case CKU_USER:
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default:
        return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication;
    (void)Notify; /* no callbacks: nothing here ever blocks for long enough */
    CK_RV rv = p11_enter_slot(slotID, phSession != NULL, false);
    if (rv != CKR_OK)
        return rv;
    if (!(flags & CKF_SERIAL_SESSION))
        return p11_leave(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    if (!p11_token_present())
        return p11_leave(CKR_TOKEN_NOT_PRESENT);
    if (!(flags & CKF_RW_SESSION) && p11_login_user() == CKU_SO)
        return p11_leave(CKR_SESSION_READ_WRITE_SO_EXISTS);
    if (ss.n == ss.cap) {
        size_t cap = ss.cap ? ss.cap * 2 : 8;
        p11_session **n = realloc(ss.list, cap * sizeof(*n));
        if (!n)
            return p11_leave(CKR_HOST_MEMORY);
        ss.list = n;
        ss.cap = cap;
    }
    p11_session *s = calloc(1, sizeof(*s));
    if (!s)
        return p11_leave(CKR_HOST_MEMORY);
    s->handle = ++ss.next;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    ss.list[ss.n++] = s;
    *phSession = s->handle;
    return p11_leave(CKR_OK);
}

static void close_at(size_t i)
{
    p11_token_drop_secrets(ss.list[i]->handle); /* its session objects go with it */
    session_free(ss.list[i]);
    ss.list[i] = ss.list[--ss.n];
    if (ss.n == 0)
        p11_login_reset(); /* the login ends with the application's last session */
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < ss.n; i++) {
        if (ss.list[i]->handle == hSession) {
            close_at(i);
            return p11_leave(CKR_OK);
        }
    }
    return p11_leave(CKR_SESSION_HANDLE_INVALID);
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv = p11_enter_slot(slotID, true, false);
    if (rv != CKR_OK)
        return rv;
    while (ss.n)
        close_at(ss.n - 1);
    return p11_leave(CKR_OK);
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    pInfo->slotID = P11_SLOT_ID;
    pInfo->state = p11_session_state(s);
    pInfo->flags = s->flags;
    pInfo->ulDeviceError = 0;
    return p11_leave(CKR_OK);
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    end_operations(s, flags);
    return p11_leave(CKR_OK);
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG_PTR pulOperationStateLen)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    (void)pOperationState;
    (void)pulOperationStateLen;
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                          CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                          CK_OBJECT_HANDLE hAuthenticationKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    (void)pOperationState;
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    return p11_leave(CKR_FUNCTION_NOT_SUPPORTED);
}
