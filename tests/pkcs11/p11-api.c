/* Bad input and edge cases through the PKCS#11 API, with the return codes the specification
 * gives them: NULL pointers, wrong lengths, invalid handles, wrong mechanisms for a key,
 * operation state, two-call semantics, templates, the 3.0 interface, and a TPM that goes away.
 * usage: p11-api MODULE ecc|rsa|empty   (under tests/fixture/with-swtpm)
 *        p11-api MODULE no-tpm          (DEVID_TCTI pointing nowhere) */
#include "p11test.h"

#include "../../pkcs11/pkcs11_3.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static const char *variant;
static CK_FUNCTION_LIST *f;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- life cycle, before and around C_Initialize ---------------------------------------- */

static int app_locks;
static CK_RV app_create(void **m)
{
    *m = calloc(1, sizeof(pthread_mutex_t));
    return *m ? CKR_OK : CKR_HOST_MEMORY;
}
static CK_RV app_destroy(void *m)
{
    free(m);
    return CKR_OK;
}
static CK_RV app_lock(void *m)
{
    app_locks++;
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV app_unlock(void *m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static void life_cycle(p11_mod *m)
{
    CK_ULONG n = 0;
    CK_INFO info;
    CHECK_RV(f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    CHECK_RV(gfl(NULL), CKR_ARGUMENTS_BAD);

    CK_C_INITIALIZE_ARGS a = { 0 };
    a.pReserved = &a;
    CHECK_RV(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a = (CK_C_INITIALIZE_ARGS){ app_create, NULL, app_lock, app_unlock, 0, NULL };
    CHECK_RV(f->C_Initialize(&a), CKR_ARGUMENTS_BAD); /* some callbacks but not all */

    /* callbacks without CKF_OS_LOCKING_OK: the module must use them */
    a = (CK_C_INITIALIZE_ARGS){ app_create, app_destroy, app_lock, app_unlock, 0, NULL };
    CHECK_RV(f->C_Initialize(&a), CKR_OK);
    CHECK_RV(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CHECK_RV(f->C_GetInfo(&info), CKR_OK);
    CHECK(app_locks > 0, "the application's mutexes were not used");
    CHECK_RV(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_Finalize(&a), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_Finalize(NULL), CKR_OK);
    CHECK_RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* PKCS#11 3.0: C_GetInterfaceList / C_GetInterface */
static void interfaces(p11_mod *m)
{
    CK_C_GetInterfaceList gil = (CK_C_GetInterfaceList)dlsym(m->dl, "C_GetInterfaceList");
    CK_C_GetInterface gi = (CK_C_GetInterface)dlsym(m->dl, "C_GetInterface");
    CHECK(gil && gi, "3.0 entry points not exported");
    if (!gil || !gi)
        return;
    CK_ULONG n = 0;
    CHECK_RV(gil(NULL, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(gil(NULL, &n), CKR_OK);
    CHECK(n == 2, "%lu interfaces", (unsigned long)n);
    CK_INTERFACE list[2];
    n = 1;
    CHECK_RV(gil(list, &n), CKR_BUFFER_TOO_SMALL);
    n = 2;
    CHECK_RV(gil(list, &n), CKR_OK);
    CK_INTERFACE *iface = NULL;
    CK_VERSION v30 = { 3, 0 }, v240 = { 2, 40 }, v99 = { 9, 9 };
    CHECK_RV(gi((CK_UTF8CHAR *)"PKCS 11", &v30, &iface, 0), CKR_OK);
    CK_FUNCTION_LIST_3_0 *l3 = iface ? iface->pFunctionList : NULL;
    CHECK(l3 && l3->version.major == 3 && l3->C_GetInterface == gi && l3->C_SignMessage,
          "3.0 function list");
    if (l3) {
        CK_INFO info;
        CHECK_RV(l3->C_Initialize(NULL), CKR_OK);
        CHECK_RV(l3->C_GetInfo(&info), CKR_OK);
        CHECK(info.cryptokiVersion.major == 3 && info.cryptokiVersion.minor == 0,
              "3.0 C_GetInfo says %d.%d", info.cryptokiVersion.major, info.cryptokiVersion.minor);
        CHECK_RV(l3->C_MessageSignInit(0, NULL, 0), CKR_SESSION_HANDLE_INVALID);
        CHECK_RV(l3->C_Finalize(NULL), CKR_OK);
    }
    CHECK_RV(gi(NULL, &v240, &iface, 0), CKR_OK);
    CHECK(iface && iface->pFunctionList == f, "2.40 interface is not the C_GetFunctionList list");
    CHECK_RV(gi(NULL, NULL, &iface, 0), CKR_OK);
    CHECK_RV(gi((CK_UTF8CHAR *)"Vendor", NULL, &iface, 0), CKR_ARGUMENTS_BAD);
    CHECK_RV(gi(NULL, &v99, &iface, 0), CKR_ARGUMENTS_BAD);
    CHECK_RV(gi(NULL, NULL, &iface, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
    CHECK_RV(gi(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
}

/* ---- no TPM: a slot without a token, quickly and silently ------------------------------- */

static int no_tpm(void)
{
    int err = open("/dev/null", O_RDONLY);
    char path[] = "/tmp/p11-api-stderr.XXXXXX";
    int cap = mkstemp(path), saved = dup(2);
    dup2(cap, 2); /* everything the module prints */
    double t0 = now_ms();
    CK_RV init = f->C_Initialize(NULL);
    double t_init = now_ms() - t0;
    CK_ULONG n = 9;
    CK_SLOT_ID slot = 99;
    CK_RV present = f->C_GetSlotList(CK_TRUE, NULL, &n);
    CK_ULONG npresent = n;
    CK_RV all = f->C_GetSlotList(CK_FALSE, &slot, &(CK_ULONG){ 1 });
    CK_SLOT_INFO si;
    CK_RV sirv = f->C_GetSlotInfo(0, &si);
    CK_TOKEN_INFO ti;
    CK_RV tirv = f->C_GetTokenInfo(0, &ti);
    CK_SESSION_HANDLE s;
    CK_RV open_rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s);
    CK_RV fin = f->C_Finalize(NULL);
    double total = now_ms() - t0;
    fflush(stderr);
    dup2(saved, 2);
    off_t printed = lseek(cap, 0, SEEK_END);
    close(cap);
    close(saved);
    close(err);
    unlink(path);

    CHECK_RV(init, CKR_OK);
    CHECK(t_init < 100, "C_Initialize took %.1f ms", t_init);
    CHECK(total < 2000, "no-TPM session took %.1f ms", total);
    CHECK_RV(present, CKR_OK);
    CHECK(npresent == 0, "%lu slots with a token", (unsigned long)npresent);
    CHECK_RV(all, CKR_OK);
    CHECK(slot == 0, "slot id %lu", (unsigned long)slot);
    CHECK_RV(sirv, CKR_OK);
    CHECK(!(si.flags & CKF_TOKEN_PRESENT), "token present without a TPM");
    CHECK_RV(tirv, CKR_TOKEN_NOT_PRESENT);
    CHECK_RV(open_rv, CKR_TOKEN_NOT_PRESENT);
    CHECK_RV(fin, CKR_OK);
    CHECK(printed == 0, "the module printed %ld bytes", (long)printed);
    return check_summary("p11-api no-tpm");
}

/* ---- slots, sessions, login ----------------------------------------------------------------- */

static void slots_and_sessions(CK_SESSION_HANDLE *rw, CK_SESSION_HANDLE *ro)
{
    CK_ULONG n = 0;
    CK_SLOT_ID slot;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CHECK_RV(f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GetSlotList(CK_TRUE, &slot, &(CK_ULONG){ 1 }), CKR_OK);
    CHECK_RV(f->C_GetSlotInfo(99, &si), CKR_SLOT_ID_INVALID);
    CHECK_RV(f->C_GetSlotInfo(slot, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GetTokenInfo(99, &ti), CKR_SLOT_ID_INVALID);
    CHECK_RV(f->C_GetTokenInfo(slot, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GetMechanismList(slot, NULL, &n), CKR_OK);
    CHECK(n > 20, "%lu mechanisms", (unsigned long)n);
    CK_MECHANISM_TYPE mechs[64];
    CK_ULONG small = 1;
    CHECK_RV(f->C_GetMechanismList(slot, mechs, &small), CKR_BUFFER_TOO_SMALL);
    CHECK(small == n, "mechanism count %lu in the too-small answer", (unsigned long)small);
    CK_MECHANISM_INFO mi;
    CHECK_RV(f->C_GetMechanismInfo(slot, CKM_ECDSA, &mi), CKR_OK);
    CHECK(mi.flags & CKF_SIGN && mi.flags & CKF_HW, "CKM_ECDSA info flags");
    CHECK_RV(f->C_GetMechanismInfo(slot, CKM_AES_GCM, &mi), CKR_MECHANISM_INVALID);
    CHECK_RV(f->C_GetMechanismInfo(slot, CKM_ECDSA, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);

    CHECK_RV(f->C_OpenSession(slot, CKF_RW_SESSION, NULL, NULL, rw),
             CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_OpenSession(99, CKF_SERIAL_SESSION, NULL, NULL, rw), CKR_SLOT_ID_INVALID);
    CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, rw), CKR_OK);
    CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, ro), CKR_OK);
    CHECK_RV(f->C_GetTokenInfo(slot, &ti), CKR_OK);
    CHECK(ti.ulSessionCount == 2 && ti.ulRwSessionCount == 1, "session counts %lu/%lu",
          (unsigned long)ti.ulSessionCount, (unsigned long)ti.ulRwSessionCount);

    CK_SESSION_INFO info;
    CK_SESSION_HANDLE bad = 0xdead;
    CHECK_RV(f->C_GetSessionInfo(bad, &info), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_GetSessionInfo(*rw, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CloseSession(bad), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_FindObjectsInit(bad, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_SignInit(bad, &(CK_MECHANISM){ CKM_ECDSA, NULL, 0 }, 1),
             CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_Login(bad, CKU_USER, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_CloseAllSessions(99), CKR_SLOT_ID_INVALID);

    /* login state (no PIN on a fresh token) */
    CHECK_RV(f->C_Logout(*rw), CKR_USER_NOT_LOGGED_IN);
    CHECK_RV(f->C_Login(*rw, 77, NULL, 0), CKR_USER_TYPE_INVALID);
    CHECK_RV(f->C_Login(*rw, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_Login(*rw, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR *)"x", 1),
             CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_Login(*rw, CKU_SO, (CK_UTF8CHAR *)"x", 1), CKR_SESSION_READ_ONLY_EXISTS);
    CHECK_RV(f->C_Login(*rw, CKU_USER, (CK_UTF8CHAR *)"any", 3), CKR_OK);
    CHECK_RV(f->C_GetSessionInfo(*ro, &info), CKR_OK);
    CHECK(info.state == CKS_RO_USER_FUNCTIONS, "RO session state %lu after login",
          (unsigned long)info.state);
    CHECK_RV(f->C_Login(*ro, CKU_SO, (CK_UTF8CHAR *)"x", 1), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    CHECK_RV(f->C_Logout(*rw), CKR_OK);
    CHECK_RV(f->C_InitPIN(*rw, (CK_UTF8CHAR *)"1234", 4), CKR_USER_NOT_LOGGED_IN);
    CHECK_RV(f->C_InitToken(slot, (CK_UTF8CHAR *)"so", 2, (CK_UTF8CHAR *)"DevID"),
             CKR_SESSION_EXISTS);
}

/* ---- objects and attributes ----------------------------------------------------------------- */

static CK_OBJECT_HANDLE one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    return find(f, s, cls, label, &h, 1) == 1 ? h : CK_INVALID_HANDLE;
}

static void attributes(CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE priv = one(s, CKO_PRIVATE_KEY, "IDevID");
    CK_OBJECT_HANDLE cert = one(s, CKO_CERTIFICATE, "IDevID");
    CHECK(priv && cert, "IDevID objects");
    CHECK_RV(f->C_GetAttributeValue(s, 0xdead, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(s, cert, NULL, 1), CKR_ARGUMENTS_BAD);

    /* every attribute is processed; the result names one of the problems */
    unsigned char small[4], label[32];
    CK_BBOOL sens = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        { CKA_VALUE, small, sizeof(small) },     /* certificate: too small */
        { 0x80001234UL, label, sizeof(label) },  /* vendor attribute: invalid */
        { CKA_LABEL, label, sizeof(label) },     /* fine */
    };
    CK_RV rv = f->C_GetAttributeValue(s, cert, t, 3);
    CHECK(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID, "mixed: 0x%lx",
          (unsigned long)rv);
    CHECK(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION, "too small: length %lu",
          (unsigned long)t[0].ulValueLen);
    CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION, "invalid: length %lu",
          (unsigned long)t[1].ulValueLen);
    CHECK(t[2].ulValueLen == 6 && !memcmp(label, "IDevID", 6), "label still copied");
    CK_ATTRIBUTE q = { CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(s, cert, &q, 1), CKR_OK);
    CHECK(q.ulValueLen > 300, "certificate length %lu", (unsigned long)q.ulValueLen);

    /* private key material: sensitive */
    CK_ATTRIBUTE secret = { !strcmp(variant, "rsa") ? CKA_PRIVATE_EXPONENT : CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(s, priv, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK(secret.ulValueLen == CK_UNAVAILABLE_INFORMATION, "sensitive: length");
    CK_ATTRIBUTE st = { CKA_SENSITIVE, &sens, sizeof(sens) };
    CHECK_RV(f->C_GetAttributeValue(s, priv, &st, 1), CKR_OK);
    CHECK(sens == CK_TRUE, "CKA_SENSITIVE");
    CK_ULONG size;
    CHECK_RV(f->C_GetObjectSize(s, cert, &size), CKR_OK);
    CHECK_RV(f->C_GetObjectSize(s, cert, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CopyObject(s, cert, NULL, 0, &(CK_OBJECT_HANDLE){ 0 }), CKR_ACTION_PROHIBITED);

    /* searches */
    CK_OBJECT_HANDLE hs[8];
    CK_ULONG n;
    CHECK_RV(f->C_FindObjects(s, hs, 8, &n), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    CHECK_RV(f->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
    CHECK_RV(f->C_FindObjects(s, hs, 8, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_FindObjects(s, NULL, 8, &n), CKR_ARGUMENTS_BAD);
    CK_ULONG total = 0;
    do {
        n = 0;
        CHECK_RV(f->C_FindObjects(s, hs, 2, &n), CKR_OK);
        total += n;
    } while (n == 2);
    CHECK(total == 9, "%lu objects (EK pub+cert, 2 x (priv, pub, cert), CA)", (unsigned long)total);
    CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE bad = { CKA_TOKEN, NULL, sizeof(yes) };
    CHECK_RV(f->C_FindObjectsInit(s, &bad, 1), CKR_ATTRIBUTE_VALUE_INVALID);
}

/* ---- signatures: wrong keys, mechanisms, lengths, state ----------------------------------- */

static void signatures(CK_SESSION_HANDLE s)
{
    bool rsa = !strcmp(variant, "rsa");
    CK_OBJECT_HANDLE priv = one(s, CKO_PRIVATE_KEY, "LDevID");
    CK_OBJECT_HANDLE pub = one(s, CKO_PUBLIC_KEY, "LDevID");
    CK_OBJECT_HANDLE cert = one(s, CKO_CERTIFICATE, "LDevID");
    CK_OBJECT_HANDLE ek = one(s, CKO_PUBLIC_KEY, "EK");
    CK_MECHANISM own = { rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256, NULL, 0 };
    CK_MECHANISM other = { rsa ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };
    CK_MECHANISM unknown = { CKM_AES_GCM, NULL, 0 };
    unsigned char sig[512], data[300] = { 0 };
    CK_ULONG siglen = sizeof(sig);

    CHECK_RV(f->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_SignInit(s, &unknown, priv), CKR_MECHANISM_INVALID);
    CHECK_RV(f->C_SignInit(s, &(CK_MECHANISM){ CKM_SHA256, NULL, 0 }, priv),
             CKR_MECHANISM_INVALID); /* a digest, not a signature */
    CHECK_RV(f->C_SignInit(s, &own, 0xdead), CKR_KEY_HANDLE_INVALID);
    CHECK_RV(f->C_SignInit(s, &own, cert), CKR_KEY_HANDLE_INVALID);
    CHECK_RV(f->C_SignInit(s, &own, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CHECK_RV(f->C_SignInit(s, &other, priv), CKR_KEY_TYPE_INCONSISTENT);
    CHECK_RV(f->C_SignInit(s, &(CK_MECHANISM){ own.mechanism, data, 4 }, priv),
             CKR_MECHANISM_PARAM_INVALID);
    CHECK_RV(f->C_Sign(s, data, 32, sig, &siglen), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_SignFinal(s, sig, &siglen), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_VerifyInit(s, &own, ek), rsa ? CKR_KEY_FUNCTION_NOT_PERMITTED
                                              : CKR_KEY_TYPE_INCONSISTENT); /* restricted EK */

    /* two-call and too-small: the operation survives both */
    CHECK_RV(f->C_SignInit(s, &own, priv), CKR_OK);
    CHECK_RV(f->C_SignInit(s, &own, priv), CKR_OPERATION_ACTIVE);
    CK_ULONG need = 0;
    CHECK_RV(f->C_Sign(s, data, 100, NULL, &need), CKR_OK);
    CHECK(need == (rsa ? 256u : 64u), "signature size %lu", (unsigned long)need);
    siglen = need - 1;
    CHECK_RV(f->C_Sign(s, data, 100, sig, &siglen), CKR_BUFFER_TOO_SMALL);
    CHECK(siglen == need, "size reported with CKR_BUFFER_TOO_SMALL: %lu", (unsigned long)siglen);
    siglen = sizeof(sig);
    CHECK_RV(f->C_Sign(s, data, 100, sig, &siglen), CKR_OK);
    CHECK_RV(f->C_Sign(s, data, 100, sig, &siglen), CKR_OPERATION_NOT_INITIALIZED);
    /* an argument error ends the operation */
    CHECK_RV(f->C_SignInit(s, &own, priv), CKR_OK);
    CHECK_RV(f->C_Sign(s, data, 100, sig, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_Sign(s, data, 100, sig, &siglen), CKR_OPERATION_NOT_INITIALIZED);
    /* multi-part and single-part give signatures that verify, and C_Sign cannot end
     * a multi-part operation */
    CHECK_RV(f->C_SignInit(s, &own, priv), CKR_OK);
    CHECK_RV(f->C_SignUpdate(s, data, 60), CKR_OK);
    CHECK_RV(f->C_SignUpdate(s, data + 60, 40), CKR_OK);
    CHECK_RV(f->C_Sign(s, data, 100, sig, &siglen), CKR_OPERATION_ACTIVE);
    siglen = sizeof(sig);
    CHECK_RV(f->C_SignFinal(s, sig, &siglen), CKR_OK);
    CHECK_RV(f->C_VerifyInit(s, &own, pub), CKR_OK);
    CHECK_RV(f->C_VerifyUpdate(s, data, 100), CKR_OK);
    CHECK_RV(f->C_VerifyFinal(s, sig, siglen), CKR_OK);
    sig[siglen / 2] ^= 1;
    CHECK_RV(f->C_VerifyInit(s, &own, pub), CKR_OK);
    CHECK_RV(f->C_Verify(s, data, 100, sig, siglen), CKR_SIGNATURE_INVALID);
    CHECK_RV(f->C_VerifyInit(s, &own, pub), CKR_OK);
    CHECK_RV(f->C_Verify(s, data, 100, sig, siglen - 1), CKR_SIGNATURE_LEN_RANGE);
    CHECK_RV(f->C_VerifyInit(s, &own, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);

    if (!rsa) {
        CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
        CHECK_RV(f->C_SignInit(s, &ecdsa, priv), CKR_OK);
        CHECK_RV(f->C_Sign(s, data, 0, sig, &siglen), CKR_DATA_LEN_RANGE);
        CHECK_RV(f->C_SignInit(s, &ecdsa, priv), CKR_OK);
        siglen = sizeof(sig);
        CHECK_RV(f->C_Sign(s, data, 65, sig, &siglen), CKR_DATA_LEN_RANGE);
        CHECK_RV(f->C_DecryptInit(s, &(CK_MECHANISM){ CKM_RSA_PKCS, NULL, 0 }, priv),
                 CKR_KEY_TYPE_INCONSISTENT);
        return;
    }
    /* RSA: lengths, values, PSS parameters */
    CK_MECHANISM pkcs = { CKM_RSA_PKCS, NULL, 0 }, raw = { CKM_RSA_X_509, NULL, 0 };
    CHECK_RV(f->C_SignInit(s, &pkcs, priv), CKR_OK);
    siglen = sizeof(sig);
    CHECK_RV(f->C_Sign(s, data, 246, sig, &siglen), CKR_DATA_LEN_RANGE);
    CHECK_RV(f->C_SignInit(s, &raw, priv), CKR_OK);
    siglen = sizeof(sig);
    CHECK_RV(f->C_Sign(s, data, 257, sig, &siglen), CKR_DATA_LEN_RANGE);
    memset(data, 0xff, 256);
    CHECK_RV(f->C_SignInit(s, &raw, priv), CKR_OK);
    siglen = sizeof(sig);
    CHECK_RV(f->C_Sign(s, data, 256, sig, &siglen), CKR_DATA_INVALID); /* above the modulus */
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM m_pss = { CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };
    CHECK_RV(f->C_SignInit(s, &m_pss, priv), CKR_OK);
    siglen = sizeof(sig);
    CHECK_RV(f->C_Sign(s, data, 20, sig, &siglen), CKR_DATA_LEN_RANGE); /* not a SHA-256 */
    pss.sLen = 20;
    CHECK_RV(f->C_SignInit(s, &m_pss, priv), CKR_MECHANISM_PARAM_INVALID);
    pss = (CK_RSA_PKCS_PSS_PARAMS){ CKM_SHA256, CKG_MGF1_SHA1, 32 };
    CHECK_RV(f->C_SignInit(s, &m_pss, priv), CKR_MECHANISM_PARAM_INVALID);
    m_pss.ulParameterLen = 3;
    CHECK_RV(f->C_SignInit(s, &m_pss, priv), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM sha384_pss = { CKM_SHA384_RSA_PKCS_PSS, &pss, sizeof(pss) };
    pss = (CK_RSA_PKCS_PSS_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CHECK_RV(f->C_SignInit(s, &sha384_pss, priv), CKR_MECHANISM_PARAM_INVALID);

    /* decryption: lengths, padding, OAEP labels as the TPM takes them */
    unsigned char ct[256], pt[256];
    CK_ULONG ctlen = sizeof(ct), ptlen = sizeof(pt);
    CHECK_RV(f->C_DecryptInit(s, &pkcs, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CHECK_RV(f->C_DecryptInit(s, &pkcs, priv), CKR_OK);
    CHECK_RV(f->C_Decrypt(s, ct, 100, pt, &ptlen), CKR_ENCRYPTED_DATA_LEN_RANGE);
    CHECK_RV(f->C_EncryptInit(s, &raw, pub), CKR_OK);
    memset(data, 0x11, 256);
    data[0] = 0; /* a block without PKCS#1 padding */
    CHECK_RV(f->C_Encrypt(s, data, 256, ct, &ctlen), CKR_OK);
    CHECK_RV(f->C_DecryptInit(s, &pkcs, priv), CKR_OK);
    ptlen = sizeof(pt);
    CK_RV rv = f->C_Decrypt(s, ct, ctlen, pt, &ptlen);
    CHECK(rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_DEVICE_ERROR,
          "decrypting bad padding: 0x%lx", (unsigned long)rv);
    CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m_oaep = { CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) };
    ctlen = sizeof(ct);
    CHECK_RV(f->C_EncryptInit(s, &m_oaep, pub), CKR_OK);
    CHECK_RV(f->C_Encrypt(s, (CK_BYTE *)"oaep", 4, ct, &ctlen), CKR_OK);
    CHECK_RV(f->C_DecryptInit(s, &m_oaep, priv), CKR_OK);
    ptlen = 0;
    CHECK_RV(f->C_Decrypt(s, ct, ctlen, NULL, &ptlen), CKR_OK);
    CHECK(ptlen == 256, "decryption size bound %lu", (unsigned long)ptlen);
    ptlen = 2;
    CHECK_RV(f->C_Decrypt(s, ct, ctlen, pt, &ptlen), CKR_BUFFER_TOO_SMALL);
    CHECK(ptlen == 4, "decrypted length %lu", (unsigned long)ptlen);
    CHECK_RV(f->C_Decrypt(s, ct, ctlen, pt, &ptlen), CKR_OK);
    CHECK(ptlen == 4 && !memcmp(pt, "oaep", 4), "OAEP round trip");
    /* labels: the TPM hashes them with a zero byte nobody else adds, so it cannot decrypt */
    static unsigned char lbl[] = "label";
    oaep.pSourceData = lbl;
    oaep.ulSourceDataLen = 5;
    CHECK_RV(f->C_EncryptInit(s, &m_oaep, pub), CKR_OK); /* software: any label */
    ctlen = sizeof(ct);
    CHECK_RV(f->C_Encrypt(s, (CK_BYTE *)"oaep", 4, ct, &ctlen), CKR_OK);
    CHECK_RV(f->C_DecryptInit(s, &m_oaep, priv), CKR_MECHANISM_PARAM_INVALID);
    oaep = (CK_RSA_PKCS_OAEP_PARAMS){ CKM_SHA256, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
    CHECK_RV(f->C_DecryptInit(s, &m_oaep, priv), CKR_MECHANISM_PARAM_INVALID);
    CHECK_RV(f->C_EncryptInit(s, &pkcs, pub), CKR_OK);
    ctlen = sizeof(ct);
    CHECK_RV(f->C_Encrypt(s, data, 250, ct, &ctlen), CKR_DATA_LEN_RANGE);
}

/* ---- digests, random, things not supported ---------------------------------------------------- */

static void misc(CK_SESSION_HANDLE s)
{
    unsigned char dg[64], want[32];
    CK_ULONG len = 0;
    CK_MECHANISM sha256 = { CKM_SHA256, NULL, 0 };
    EVP_Digest("abc", 3, want, NULL, EVP_sha256(), NULL);
    CHECK_RV(f->C_DigestInit(s, &(CK_MECHANISM){ CKM_MD5, NULL, 0 }), CKR_MECHANISM_INVALID);
    CHECK_RV(f->C_Digest(s, (CK_BYTE *)"abc", 3, dg, &len), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OPERATION_ACTIVE);
    CHECK_RV(f->C_Digest(s, (CK_BYTE *)"abc", 3, NULL, &len), CKR_OK);
    CHECK(len == 32, "digest length %lu", (unsigned long)len);
    len = 10;
    CHECK_RV(f->C_Digest(s, (CK_BYTE *)"abc", 3, dg, &len), CKR_BUFFER_TOO_SMALL);
    len = sizeof(dg);
    CHECK_RV(f->C_Digest(s, (CK_BYTE *)"abc", 3, dg, &len), CKR_OK);
    CHECK(len == 32 && !memcmp(dg, want, 32), "SHA-256 of abc");
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"a", 1), CKR_OK);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"bc", 2), CKR_OK);
    len = sizeof(dg);
    CHECK_RV(f->C_DigestFinal(s, dg, &len), CKR_OK);
    CHECK(len == 32 && !memcmp(dg, want, 32), "multi-part SHA-256 of abc");

    unsigned char rnd[1000] = { 0 }, zero[1000] = { 0 };
    CHECK_RV(f->C_GenerateRandom(s, NULL, 10), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GenerateRandom(s, rnd, 0), CKR_OK);
    CHECK_RV(f->C_GenerateRandom(s, rnd, sizeof(rnd)), CKR_OK);
    CHECK(memcmp(rnd, zero, sizeof(rnd)) != 0, "random bytes all zero");
    CHECK_RV(f->C_SeedRandom(s, rnd, 8), CKR_RANDOM_SEED_NOT_SUPPORTED);

    CHECK_RV(f->C_GetOperationState(s, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(f->C_WrapKey(s, NULL, 0, 0, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(f->C_DeriveKey(s, NULL, 0, NULL, 0, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_SignRecoverInit(s, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(f->C_DigestEncryptUpdate(s, NULL, 0, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(f->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL);
    CHECK_RV(f->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL);
}

/* ---- creating, changing, destroying -------------------------------------------------------- */

static void changes(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE, key = CKO_PRIVATE_KEY;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    CK_OBJECT_HANDLE h;
    CK_ATTRIBUTE t[4] = { { CKA_CLASS, &cert, sizeof(cert) }, { CKA_VALUE, garbage, 5 } };
    CHECK_RV(f->C_CreateObject(ro, t, 2, &h), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_CreateObject(rw, t, 2, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_CreateObject(rw, t + 1, 1, &h), CKR_TEMPLATE_INCOMPLETE);
    CHECK_RV(f->C_CreateObject(rw, t, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK_RV(f->C_CreateObject(rw, t, 1, &h), CKR_TEMPLATE_INCOMPLETE);
    t[0].pValue = &key;
    CHECK_RV(f->C_CreateObject(rw, t, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID); /* no key import */
    CHECK_RV(f->C_DestroyObject(rw, 0xdead), CKR_OBJECT_HANDLE_INVALID);

    /* a store key to change */
    static const unsigned char p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
    CK_ULONG bits = 1000;
    CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 }, rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    CK_ATTRIBUTE pt[3] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                           { CKA_LABEL, "api-key", 7 } };
    CK_ATTRIBUTE wrong_class = { CKA_CLASS, &cert, sizeof(cert) };
    CK_ATTRIBUTE not_token = { CKA_TOKEN, &no, sizeof(no) };
    CK_ATTRIBUTE odd = { 0x80004321UL, &yes, sizeof(yes) };
    CHECK_RV(f->C_GenerateKeyPair(ro, &ec, pt, 2, NULL, 0, &pub, &priv), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 2, NULL, 0, NULL, &priv), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GenerateKeyPair(rw, NULL, pt, 2, NULL, 0, &pub, &priv), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_GenerateKeyPair(rw, &(CK_MECHANISM){ CKM_ECDSA, NULL, 0 }, pt, 2, NULL, 0,
                                  &pub, &priv), CKR_MECHANISM_INVALID);
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt + 1, 1, NULL, 0, &pub, &priv),
             CKR_TEMPLATE_INCOMPLETE);
    unsigned char p521[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23 };
    CK_ATTRIBUTE curve521 = { CKA_EC_PARAMS, p521, sizeof(p521) };
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, &curve521, 1, NULL, 0, &pub, &priv),
             CKR_CURVE_NOT_SUPPORTED);
    curve521.ulValueLen = 3;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, &curve521, 1, NULL, 0, &pub, &priv),
             CKR_ATTRIBUTE_VALUE_INVALID);
    pt[2] = wrong_class;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, NULL, 0, &pub, &priv),
             CKR_TEMPLATE_INCONSISTENT);
    pt[2] = not_token;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, NULL, 0, &pub, &priv),
             CKR_TEMPLATE_INCONSISTENT);
    pt[2] = odd;
    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 3, NULL, 0, &pub, &priv),
             CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE rt[2] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                           { CKA_PUBLIC_EXPONENT, "\x03", 1 } };
    CHECK_RV(f->C_GenerateKeyPair(rw, &rsa, rt, 1, NULL, 0, &pub, &priv), CKR_KEY_SIZE_RANGE);
    bits = 2048;
    CHECK_RV(f->C_GenerateKeyPair(rw, &rsa, rt, 2, NULL, 0, &pub, &priv),
             CKR_ATTRIBUTE_VALUE_INVALID);
    CHECK_RV(f->C_GenerateKey(rw, NULL, NULL, 0, &h), CKR_ARGUMENTS_BAD);

    CHECK_RV(f->C_GenerateKeyPair(rw, &ec, pt, 2, NULL, 0, &pub, &priv), CKR_OK);
    CHECK(pub && priv && pub != priv, "generated handles");
    CK_ATTRIBUTE kt = { CKA_KEY_TYPE, &(CK_KEY_TYPE){ CKK_RSA }, sizeof(CK_KEY_TYPE) };
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &kt, 1), CKR_ATTRIBUTE_READ_ONLY);
    char long_label[200];
    memset(long_label, 'x', sizeof(long_label));
    CK_ATTRIBUTE ll = { CKA_LABEL, long_label, sizeof(long_label) };
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &ll, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE newid = { CKA_ID, "\x01\x02", 2 };
    CHECK_RV(f->C_SetAttributeValue(ro, priv, &newid, 1), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_SetAttributeValue(rw, priv, &newid, 1), CKR_OK);
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, rw, pub, CKA_ID, &idlen); /* the group's: the public key too */
    CHECK(id && idlen == 2 && id[0] == 1 && id[1] == 2, "CKA_ID of the public key follows");
    free(id);
    CHECK_RV(f->C_DestroyObject(ro, priv), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_DestroyObject(rw, priv), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, priv), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_GetAttributeValue(rw, pub, &(CK_ATTRIBUTE){ CKA_CLASS, NULL, 0 }, 1),
             CKR_OBJECT_HANDLE_INVALID); /* the public half goes with its key */
}

/* ---- ECDH: the shared secret as a session object ----------------------------------------- */

static void ecdh(CK_SESSION_HANDLE rw, CK_SESSION_HANDLE ro)
{
    static const unsigned char p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE pubt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
                            { CKA_LABEL, "dh", 2 } };
    CK_ATTRIBUTE privt[] = { { CKA_DERIVE, &yes, sizeof(yes) }, { CKA_SIGN, &no, sizeof(no) } };
    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE pub = 0, priv = 0, z = 0;
    CHECK_RV(f->C_GenerateKeyPair(rw, &gen, pubt, 2, privt, 2, &pub, &priv), CKR_OK);

    /* the peer: a software key; its point raw, ours from CKA_EC_POINT */
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char point[65];
    size_t plen = 0;
    CHECK(peer && EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                  sizeof(point), &plen) == 1 && plen == 65,
          "peer key");
    CK_ECDH1_DERIVE_PARAMS dp = { CKD_NULL, 0, NULL, plen, point };
    CK_MECHANISM m = { CKM_ECDH1_DERIVE, &dp, sizeof(dp) };
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE st[] = { { CKA_CLASS, &secret, sizeof(secret) },
                          { CKA_KEY_TYPE, &generic, sizeof(generic) },
                          { CKA_TOKEN, &no, sizeof(no) },
                          { CKA_SENSITIVE, &no, sizeof(no) },
                          { CKA_EXTRACTABLE, &yes, sizeof(yes) } };
    CK_OBJECT_HANDLE idevid = one(rw, CKO_PRIVATE_KEY, "IDevID");
    if (idevid) /* a signing-only key (or an RSA one) */
        CHECK_RV(f->C_DeriveKey(rw, &m, idevid, st, 5, &z),
                 !strcmp(variant, "rsa") ? CKR_KEY_TYPE_INCONSISTENT
                                         : CKR_KEY_FUNCTION_NOT_PERMITTED);
    CHECK_RV(f->C_DeriveKey(rw, &m, pub, st, 5, &z), CKR_KEY_FUNCTION_NOT_PERMITTED);
    dp.kdf = CKD_SHA256_KDF;
    CHECK_RV(f->C_DeriveKey(rw, &m, priv, st, 5, &z), CKR_MECHANISM_PARAM_INVALID);
    dp = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 33, point };
    CHECK_RV(f->C_DeriveKey(rw, &m, priv, st, 5, &z), CKR_MECHANISM_PARAM_INVALID);
    dp.ulPublicDataLen = plen;
    st[2].pValue = &yes;
    CHECK_RV(f->C_DeriveKey(rw, &m, priv, st, 5, &z), CKR_TEMPLATE_INCONSISTENT);
    st[2].pValue = &no;
    CHECK_RV(f->C_DeriveKey(ro, &m, priv, st, 5, &z), CKR_OK); /* session objects: RO is fine */
    CHECK_RV(f->C_DeriveKey(rw, &m, priv, st, 5, &z), CKR_OK);

    /* the secret equals OpenSSL's ECDH of the peer with our public key */
    CK_ULONG zlen = 0;
    unsigned char *value = attr(f, rw, z, CKA_VALUE, &zlen);
    EVP_PKEY *ours = pub_from_attrs(f, rw, pub);
    EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    unsigned char want[32];
    size_t wlen = sizeof(want);
    CHECK(value && ours && dctx && EVP_PKEY_derive_init(dctx) == 1 &&
              EVP_PKEY_derive_set_peer(dctx, ours) == 1 &&
              EVP_PKEY_derive(dctx, want, &wlen) == 1 && zlen == wlen &&
              !memcmp(value, want, wlen),
          "ECDH secret differs from OpenSSL's");
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    free(value);
    CHECK(attr_ulong(f, rw, z, CKA_VALUE_LEN) == 32, "CKA_VALUE_LEN");
    CK_OBJECT_HANDLE found[4];
    CHECK(find(f, ro, CKO_SECRET_KEY, NULL, found, 4) == 2, "secrets seen from every session");
    CHECK_RV(f->C_DestroyObject(ro, z), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, found, 4) == 1, "secret destroyed");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK); /* takes its session object along */
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, found, 4) == 0, "session secret outlived its session");

    CK_OBJECT_HANDLE h;
    if (find(f, rw, CKO_PUBLIC_KEY, "dh", &h, 1) == 1)
        f->C_DestroyObject(rw, h);
    CHECK_RV(f->C_DestroyObject(rw, priv), CKR_OK);
}

/* ---- HMAC-SHA256 keys in the TPM ------------------------------------------------------------ */

static void hmac(CK_SESSION_HANDLE rw)
{
    CK_SESSION_HANDLE ro = 0;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    CK_MECHANISM gen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_MECHANISM mac = { CKM_SHA256_HMAC, NULL, 0 };
    CK_OBJECT_CLASS scls = CKO_SECRET_KEY;
    CK_KEY_TYPE generic = CKK_GENERIC_SECRET, aes_type = CKK_AES;
    CK_ULONG len32 = 32, len16 = 16;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE k = 0, k2 = 0, h[4];
    CK_MECHANISM_INFO mi;

    CHECK_RV(f->C_GetMechanismInfo(0, CKM_SHA256_HMAC, &mi), CKR_OK);
    CHECK((mi.flags & CKF_SIGN) && (mi.flags & CKF_VERIFY) && mi.ulMinKeySize == 256,
          "CKM_SHA256_HMAC info");
    CHECK_RV(f->C_GetMechanismInfo(0, CKM_GENERIC_SECRET_KEY_GEN, &mi), CKR_OK);
    CHECK(mi.flags & CKF_GENERATE, "CKM_GENERIC_SECRET_KEY_GEN info");
    CHECK_RV(f->C_GetMechanismInfo(0, CKM_AES_KEY_GEN, &mi), CKR_MECHANISM_INVALID);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys on a fresh token");

    /* AES: the TPM has no GCM; consumers fall back on CKR_MECHANISM_INVALID */
    CK_ATTRIBUTE at[] = { { CKA_KEY_TYPE, &aes_type, sizeof(aes_type) },
                          { CKA_VALUE_LEN, &len32, sizeof(len32) } };
    CHECK_RV(f->C_GenerateKey(rw, &aes, at, 2, &k), CKR_MECHANISM_INVALID);

    /* template refusals */
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &scls, sizeof(scls) },
                         { CKA_KEY_TYPE, &generic, sizeof(generic) },
                         { CKA_VALUE_LEN, &len32, sizeof(len32) },
                         { CKA_LABEL, "mac", 3 },
                         { CKA_ID, "\x42", 1 },
                         { CKA_SIGN, &yes, sizeof(yes) },
                         { CKA_VERIFY, &yes, sizeof(yes) },
                         { CKA_SENSITIVE, &yes, sizeof(yes) },
                         { CKA_EXTRACTABLE, &no, sizeof(no) },
                         { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_ULONG nt = sizeof(t) / sizeof(t[0]);
    CHECK_RV(f->C_GenerateKey(ro, &gen, t, nt, &k), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, NULL), CKR_ARGUMENTS_BAD);
    CK_MECHANISM gen_param = { CKM_GENERIC_SECRET_KEY_GEN, &len32, sizeof(len32) };
    CHECK_RV(f->C_GenerateKey(rw, &gen_param, t, nt, &k), CKR_MECHANISM_PARAM_INVALID);
    t[2].pValue = &len16;
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_KEY_SIZE_RANGE);
    t[2].pValue = &len32;
    t[8].pValue = &yes; /* extractable */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[8].pValue = &no;
    t[7].pValue = &no; /* not sensitive */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[7].pValue = &yes;
    t[9].pValue = &no; /* a session key */
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[9].pValue = &yes;
    t[1].pValue = &aes_type;
    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_TEMPLATE_INCONSISTENT);
    t[1].pValue = &generic;
    CK_ATTRIBUTE enc = { CKA_ENCRYPT, &yes, sizeof(yes) };
    CHECK_RV(f->C_GenerateKey(rw, &gen, &enc, 1, &k), CKR_TEMPLATE_INCONSISTENT);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "refused templates leave nothing");

    CHECK_RV(f->C_GenerateKey(rw, &gen, t, nt, &k), CKR_OK);
    CHECK_RV(f->C_GenerateKey(rw, &gen, NULL, 0, &k2), CKR_OK); /* all defaults */
    CHECK(find(f, rw, CKO_SECRET_KEY, "mac", h, 4) == 1 && h[0] == k, "found by label");
    CHECK(find(f, ro, CKO_SECRET_KEY, NULL, h, 4) == 2, "two secret keys");
    CHECK(find(f, rw, CKO_PRIVATE_KEY, "mac", h, 4) == 0 &&
              find(f, rw, CKO_PUBLIC_KEY, "mac", h, 4) == 0,
          "an HMAC key has no private/public key objects");

    /* attributes */
    CK_ULONG cls = 0, ktype = 0, vlen = 0, kgm = 0;
    CK_BBOOL sens = 0, extr = 1, sign = 0, verify = 0, local = 0, decrypt = 1, priv = 0;
    CK_ATTRIBUTE q[] = { { CKA_CLASS, &cls, sizeof(cls) },
                         { CKA_KEY_TYPE, &ktype, sizeof(ktype) },
                         { CKA_VALUE_LEN, &vlen, sizeof(vlen) },
                         { CKA_SENSITIVE, &sens, sizeof(sens) },
                         { CKA_EXTRACTABLE, &extr, sizeof(extr) },
                         { CKA_SIGN, &sign, sizeof(sign) },
                         { CKA_VERIFY, &verify, sizeof(verify) },
                         { CKA_LOCAL, &local, sizeof(local) },
                         { CKA_DECRYPT, &decrypt, sizeof(decrypt) },
                         { CKA_PRIVATE, &priv, sizeof(priv) },
                         { CKA_KEY_GEN_MECHANISM, &kgm, sizeof(kgm) } };
    CHECK_RV(f->C_GetAttributeValue(rw, k, q, sizeof(q) / sizeof(q[0])), CKR_OK);
    CHECK(cls == CKO_SECRET_KEY && ktype == CKK_GENERIC_SECRET && vlen == 32 && sens && !extr &&
              sign && verify && local && !decrypt && priv && kgm == CKM_GENERIC_SECRET_KEY_GEN,
          "HMAC key attributes");
    CK_ATTRIBUTE value = { CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(rw, k, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK(value.ulValueLen == CK_UNAVAILABLE_INFORMATION, "CKA_VALUE length unavailable");
    CK_ULONG idlen = 0;
    unsigned char *id = attr(f, rw, k, CKA_ID, &idlen);
    CHECK(id && idlen == 1 && id[0] == 0x42, "CKA_ID as asked");
    free(id);
    CK_ULONG amlen = 0;
    CK_MECHANISM_TYPE *am = (CK_MECHANISM_TYPE *)attr(f, rw, k, CKA_ALLOWED_MECHANISMS, &amlen);
    CHECK(am && amlen == sizeof(CK_MECHANISM_TYPE) && am[0] == CKM_SHA256_HMAC,
          "allowed mechanisms: CKM_SHA256_HMAC");
    free(am);
    CK_ATTRIBUTE relabel[] = { { CKA_LABEL, "mac2", 4 }, { CKA_ID, "\x43", 1 } };
    CHECK_RV(f->C_SetAttributeValue(ro, k, relabel, 2), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_SetAttributeValue(rw, k, relabel, 2), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, "mac2", h, 4) == 1 && h[0] == k, "relabelled");
    CK_ATTRIBUTE mkext = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
    CHECK_RV(f->C_SetAttributeValue(rw, k, &mkext, 1), CKR_ATTRIBUTE_READ_ONLY);

    /* MACs: two-call, determinism, separation, multi-part, data beyond one TPM buffer */
    static unsigned char big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    unsigned char m1[32], m2[32], m3[32];
    CK_ULONG l = 0;
    CHECK_RV(f->C_SignInit(ro, &mac, k), CKR_OK); /* using a token key: RO is fine */
    CHECK_RV(f->C_Sign(ro, big, 100, NULL, &l), CKR_OK);
    CHECK(l == 32, "MAC length query");
    l = 16;
    CHECK_RV(f->C_Sign(ro, big, 100, m1, &l), CKR_BUFFER_TOO_SMALL);
    l = sizeof(m1);
    CHECK_RV(f->C_Sign(ro, big, 100, m1, &l), CKR_OK);
    l = sizeof(m2);
    CHECK_RV(f->C_SignInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_SignUpdate(rw, big, 60), CKR_OK);
    CHECK_RV(f->C_SignUpdate(rw, big + 60, 40), CKR_OK);
    CHECK_RV(f->C_SignFinal(rw, m2, &l), CKR_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "multi-part MAC equals single-part");
    l = sizeof(m3);
    CHECK_RV(f->C_SignInit(rw, &mac, k2), CKR_OK);
    CHECK_RV(f->C_Sign(rw, big, 100, m3, &l), CKR_OK);
    CHECK(memcmp(m1, m3, 32) != 0, "another key, another MAC");
    l = sizeof(m1);
    CHECK_RV(f->C_SignInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_Sign(rw, big, sizeof(big), m1, &l), CKR_OK); /* an HMAC sequence */
    l = sizeof(m2);
    CHECK_RV(f->C_SignInit(rw, &mac, k), CKR_OK);
    for (size_t off = 0; off < sizeof(big); off += 700)
        CHECK_RV(f->C_SignUpdate(rw, big + off, sizeof(big) - off < 700 ? sizeof(big) - off : 700),
                 CKR_OK);
    CHECK_RV(f->C_SignFinal(rw, m2, &l), CKR_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "3000 bytes: multi-part equals single-part");

    CHECK_RV(f->C_VerifyInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_OK);
    CHECK_RV(f->C_VerifyInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_VerifyUpdate(rw, big, 1000), CKR_OK);
    CHECK_RV(f->C_VerifyUpdate(rw, big + 1000, sizeof(big) - 1000), CKR_OK);
    CHECK_RV(f->C_VerifyFinal(rw, m1, 32), CKR_OK);
    CHECK_RV(f->C_VerifyInit(rw, &mac, k2), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_SIGNATURE_INVALID);
    m1[0] ^= 0x80;
    CHECK_RV(f->C_VerifyInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 32), CKR_SIGNATURE_INVALID);
    CHECK_RV(f->C_VerifyInit(rw, &mac, k), CKR_OK);
    CHECK_RV(f->C_Verify(rw, big, sizeof(big), m1, 31), CKR_SIGNATURE_LEN_RANGE);

    /* wrong mechanisms for the key, and the key for wrong mechanisms */
    CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
    CHECK_RV(f->C_SignInit(rw, &ecdsa, k), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM oaep = { CKM_RSA_PKCS, NULL, 0 };
    CHECK_RV(f->C_DecryptInit(rw, &oaep, k), CKR_KEY_TYPE_INCONSISTENT);
    if (!strcmp(variant, "ecc") || !strcmp(variant, "rsa"))
        CHECK_RV(f->C_SignInit(rw, &mac, one(rw, CKO_PRIVATE_KEY, "IDevID")),
                 CKR_KEY_TYPE_INCONSISTENT);

    /* destroy */
    CHECK_RV(f->C_DestroyObject(ro, k), CKR_SESSION_READ_ONLY);
    CHECK_RV(f->C_DestroyObject(rw, k), CKR_OK);
    CHECK_RV(f->C_DestroyObject(rw, k), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(f->C_SignInit(rw, &mac, k), CKR_KEY_HANDLE_INVALID);
    CHECK_RV(f->C_DestroyObject(rw, k2), CKR_OK);
    CHECK(find(f, rw, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys left");
    CHECK_RV(f->C_CloseSession(ro), CKR_OK);
}

/* ---- the TPM restarts under an open session ------------------------------------------------- */

static void tpm_restart(CK_SESSION_HANDLE s)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "'%s/swtpm-ctl' restart >/dev/null 2>&1", getenv("DEVID_FIXTURE"));
    CHECK(system(cmd) == 0, "swtpm restart");
    CK_OBJECT_HANDLE priv = one(s, CKO_PRIVATE_KEY, "IDevID");
    bool rsa = !strcmp(variant, "rsa");
    CK_MECHANISM m = { rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256, NULL, 0 };
    unsigned char sig[512];
    CK_ULONG siglen = sizeof(sig);
    CHECK_RV(f->C_SignInit(s, &m, priv), CKR_OK);
    CHECK_RV(f->C_Sign(s, (CK_BYTE *)"after a restart", 15, sig, &siglen), CKR_OK);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    variant = argv[2];
    p11_mod m;
    if (!mod_load(&m, argv[1]))
        return 1;
    f = m.f;
    if (!strcmp(variant, "no-tpm")) {
        int rc = no_tpm();
        mod_unload(&m);
        return rc;
    }
    life_cycle(&m);
    interfaces(&m);
    CHECK_RV(f->C_Initialize(NULL), CKR_OK);
    CK_SESSION_HANDLE rw = 0, ro = 0;
    slots_and_sessions(&rw, &ro);
    bool ids = !strcmp(variant, "ecc") || !strcmp(variant, "rsa");
    if (ids) {
        attributes(rw);
        signatures(rw);
    }
    misc(rw);
    changes(rw, ro);
    ecdh(rw, ro);
    hmac(rw);
    if (ids)
        tpm_restart(rw);
    CHECK_RV(f->C_CloseAllSessions(0), CKR_OK);
    CHECK_RV(f->C_GetSessionInfo(rw, &(CK_SESSION_INFO){ 0 }), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_Finalize(NULL), CKR_OK);
    mod_unload(&m);
    return check_summary("p11-api");
}
