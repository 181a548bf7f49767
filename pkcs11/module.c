/* SPDX-License-Identifier: Apache-2.0 */
/* Module life cycle: C_Initialize / C_Finalize / C_GetInfo, the module lock, and the function
 * lists (2.40 through C_GetFunctionList, 3.0 through C_GetInterface).
 *
 * C_Initialize only loads the configuration (devid_core_init): no TPM access, so loading the
 * module is fast and silent without a TPM. After fork() the child sees
 * CKR_CRYPTOKI_NOT_INITIALIZED until it calls C_Initialize itself, which drops the parent's
 * state (never the parent's TPM connection: core forgets it without a word).
 */
#include "p11.h"
#include "pkcs11_3.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DEVID_VERSION_MAJOR
#define DEVID_VERSION_MAJOR 0
#define DEVID_VERSION_MINOR 1
#endif

static struct {
    atomic_bool initialized;
    pid_t pid;                /* process that initialised */
    pthread_mutex_t mutex;    /* module lock (OS locking) */
    CK_C_INITIALIZE_ARGS app; /* application mutex callbacks, when we must use them */
    void *app_mutex;
} mod = { .mutex = PTHREAD_MUTEX_INITIALIZER };

/* Serialises C_Initialize / C_Finalize against each other. */
static pthread_mutex_t life_mutex = PTHREAD_MUTEX_INITIALIZER;

static bool live(void)
{
    return atomic_load(&mod.initialized) && mod.pid == getpid();
}

static void lock(void)
{
    if (mod.app_mutex)
        mod.app.LockMutex(mod.app_mutex);
    else
        pthread_mutex_lock(&mod.mutex);
}

static void unlock(void)
{
    if (mod.app_mutex)
        mod.app.UnlockMutex(mod.app_mutex);
    else
        pthread_mutex_unlock(&mod.mutex);
}

CK_RV p11_enter(void)
{
    if (!live())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    lock();
    if (!live()) {
        unlock();
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    devid_clear_error();
    return CKR_OK;
}

CK_RV p11_enter_slot(CK_SLOT_ID slot, bool arg_ok, bool need_token)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!arg_ok)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (slot != P11_SLOT_ID)
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (need_token && !p11_token_present())
        return p11_leave(CKR_TOKEN_NOT_PRESENT);
    return CKR_OK;
}

CK_RV p11_leave(CK_RV rv)
{
    unlock();
    return rv;
}

/* The state a forked child inherited: memory only (its TPM connection is core's, which
 * forgets it in the child), freed without touching anything shared. */
static void drop_inherited_state(void)
{
    p11_sessions_free();
    p11_token_free();
    p11_login_reset();
    p11_md_cache_free();
    mod.app_mutex = NULL; /* the application's mutex is the parent's: abandon it */
    pthread_mutex_init(&mod.mutex, NULL);
    devid_core_fini(); /* drops the parent's reference */
    atomic_store(&mod.initialized, false);
}

static CK_RV check_init_args(const CK_C_INITIALIZE_ARGS *a)
{
    if (a->pReserved)
        return CKR_ARGUMENTS_BAD;
    int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    return CKR_OK;
}

/* Reports a failed initialisation: the configuration could not be read. Nothing is printed
 * unless the user asked for logging, as everywhere else. */
static void report_init_failure(void)
{
    const char *lvl = getenv("DEVID_LOG");
    if (lvl && *lvl && strcmp(lvl, "none") != 0)
        fprintf(stderr, "devid-pkcs11: initialisation failed: %s\n", devid_last_error());
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_C_INITIALIZE_ARGS args = { 0 };
    if (pInitArgs) {
        memcpy(&args, pInitArgs, sizeof(args));
        CK_RV rv = check_init_args(&args);
        if (rv != CKR_OK)
            return rv;
    }
    pthread_mutex_lock(&life_mutex);
    if (atomic_load(&mod.initialized) && mod.pid != getpid())
        drop_inherited_state();
    if (atomic_load(&mod.initialized)) {
        pthread_mutex_unlock(&life_mutex);
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    /* Application callbacks without CKF_OS_LOCKING_OK: the application requires its own
     * mutexes; otherwise native locking serves every case. */
    CK_RV rv = CKR_OK;
    mod.app_mutex = NULL;
    if (args.CreateMutex && !(args.flags & CKF_OS_LOCKING_OK)) {
        mod.app = args;
        void *m = NULL;
        rv = args.CreateMutex(&m);
        if (rv == CKR_OK && !m)
            rv = CKR_CANT_LOCK;
        if (rv != CKR_OK) {
            pthread_mutex_unlock(&life_mutex);
            return rv;
        }
        mod.app_mutex = m;
    }
    devid_rc drc = devid_core_init();
    if (drc != DEVID_OK) {
        report_init_failure();
        if (mod.app_mutex)
            mod.app.DestroyMutex(mod.app_mutex);
        mod.app_mutex = NULL;
        pthread_mutex_unlock(&life_mutex);
        return drc == DEVID_ERR_MEMORY ? CKR_HOST_MEMORY : CKR_GENERAL_ERROR;
    }
    mod.pid = getpid();
    atomic_store(&mod.initialized, true);
    devid_debug("pkcs11: initialised (pid %d)", (int)mod.pid);
    pthread_mutex_unlock(&life_mutex);
    return CKR_OK;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&life_mutex);
    if (!live()) {
        pthread_mutex_unlock(&life_mutex);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    lock();
    p11_sessions_free();
    p11_token_free();
    p11_login_reset();
    p11_md_cache_free();
    atomic_store(&mod.initialized, false);
    unlock();
    if (mod.app_mutex)
        mod.app.DestroyMutex(mod.app_mutex);
    mod.app_mutex = NULL;
    devid_core_fini();
    pthread_mutex_unlock(&life_mutex);
    return CKR_OK;
}

/* Copies s into a fixed-size, blank-padded PKCS#11 string field. */
void p11_pad(CK_UTF8CHAR *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n > size)
        n = size;
    memset(dst, ' ', size);
    memcpy(dst, s, n);
}

static CK_RV get_info(CK_INFO_PTR pInfo, CK_BYTE major, CK_BYTE minor)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->cryptokiVersion.major = major;
    pInfo->cryptokiVersion.minor = minor;
    p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "devid");
    p11_pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
            "devid TPM 2.0 identity keys");
    pInfo->libraryVersion.major = DEVID_VERSION_MAJOR;
    pInfo->libraryVersion.minor = DEVID_VERSION_MINOR;
    return p11_leave(CKR_OK);
}

/* keyd requires 2.x with minor >= 20 from C_GetFunctionList callers. */
CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    return get_info(pInfo, 2, 40);
}

/* C_GetInfo of the 3.0 interface: version matches that list's. */
static CK_RV get_info_3_0(CK_INFO_PTR pInfo)
{
    return get_info(pInfo, 3, 0);
}

#define P11_FUNCTIONS_2_40                                                                         \
    C_Initialize, C_Finalize, C_GetInfo_slot, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,     \
        C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN,  \
        C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,  \
        C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject,     \
        C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit,              \
        C_FindObjects, C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,              \
        C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit,   \
        C_Digest, C_DigestUpdate, C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate,    \
        C_SignFinal, C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate,     \
        C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate,                \
        C_DecryptDigestUpdate, C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,          \
        C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,    \
        C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

#define C_GetInfo_slot C_GetInfo
static CK_FUNCTION_LIST list_2_40 = { { 2, 40 }, P11_FUNCTIONS_2_40 };
#undef C_GetInfo_slot

#define C_GetInfo_slot get_info_3_0
static CK_FUNCTION_LIST_3_0 list_3_0 = {
    { 3, 0 },
    P11_FUNCTIONS_2_40,
    C_GetInterfaceList,
    C_GetInterface,
    C_LoginUser,
    C_SessionCancel,
    C_MessageEncryptInit,
    C_EncryptMessage,
    C_EncryptMessageBegin,
    C_EncryptMessageNext,
    C_MessageEncryptFinal,
    C_MessageDecryptInit,
    C_DecryptMessage,
    C_DecryptMessageBegin,
    C_DecryptMessageNext,
    C_MessageDecryptFinal,
    C_MessageSignInit,
    C_SignMessage,
    C_SignMessageBegin,
    C_SignMessageNext,
    C_MessageSignFinal,
    C_MessageVerifyInit,
    C_VerifyMessage,
    C_VerifyMessageBegin,
    C_VerifyMessageNext,
    C_MessageVerifyFinal,
};
#undef C_GetInfo_slot

static CK_UTF8CHAR interface_name[] = "PKCS 11";

/* (void *): pInterfaceName is CK_UTF8CHAR * in the specification and in pkcs11_3.h, but char * in
 * the pkcs11.h of p11-kit 0.25, which defines the 3.0 types itself. */
static CK_INTERFACE interfaces[] = {
    { (void *)interface_name, &list_3_0, 0 },
    { (void *)interface_name, &list_2_40, 0 },
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (!ppFunctionList)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &list_2_40;
    return CKR_OK;
}

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    if (!pInterfacesList) {
        *pulCount = N_INTERFACES;
        return CKR_OK;
    }
    if (*pulCount < N_INTERFACES) {
        *pulCount = N_INTERFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(pInterfacesList, interfaces, sizeof(interfaces));
    *pulCount = N_INTERFACES;
    return CKR_OK;
}

CK_RV C_GetInterface(CK_UTF8CHAR *pInterfaceName, CK_VERSION *pVersion,
                     CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    if (!ppInterface)
        return CKR_ARGUMENTS_BAD;
    if (pInterfaceName && strcmp((const char *)pInterfaceName, (const char *)interface_name))
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < N_INTERFACES; i++) {
        const CK_VERSION *v = interfaces[i].pFunctionList; /* each list starts with it */
        if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
            continue;
        if ((interfaces[i].flags & flags) != flags)
            continue;
        *ppInterface = &interfaces[i];
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}
