/* SPDX-License-Identifier: Apache-2.0 */
/* Bad input and edge cases through the PKCS#11 API, with the return codes the specification
 * gives them: NULL pointers, wrong lengths, invalid handles, wrong mechanisms for a key,
 * operation state, two-call semantics, templates, the 3.0 interface, and a TPM that goes away.
 * usage: p11-api MODULE ecc|rsa|empty   (under tests/fixture/with-swtpm)
 *        p11-api MODULE no-tpm          (DEVID_TCTI pointing nowhere)
 * (and the runner's -p PATH, -l: tests/lib/devid_test.h) */
#include "p11api.h"

#include "../../pkcs11/pkcs11_3.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

const char *variant;
CK_FUNCTION_LIST *f;
CK_FUNCTION_LIST_3_0 *f3;

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

static void no_tpm(void)
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

CK_OBJECT_HANDLE one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    return find(f, s, cls, label, &h, 1) == 1 ? h : CK_INVALID_HANDLE;
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
    /* the operation's life (every transition: p11-api-opstate.c): a single-part call after an
     * update is refused and ends it, a length query consumes nothing, bad arguments end it */
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"ab", 2), CKR_OK);
    len = sizeof(dg);
    CHECK_RV(f->C_Digest(s, (CK_BYTE *)"c", 1, dg, &len), CKR_OPERATION_ACTIVE);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"c", 1), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"abc", 3), CKR_OK);
    len = 0;
    CHECK_RV(f->C_DigestFinal(s, NULL, &len), CKR_OK);
    CHECK(len == 32, "final length query");
    len = 31;
    CHECK_RV(f->C_DigestFinal(s, dg, &len), CKR_BUFFER_TOO_SMALL);
    len = sizeof(dg);
    CHECK_RV(f->C_DigestFinal(s, dg, &len), CKR_OK);
    CHECK(len == 32 && !memcmp(dg, want, 32), "SHA-256 of abc after length queries");
    CHECK_RV(f->C_DigestFinal(s, dg, &len), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestUpdate(s, NULL, 5), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_DigestUpdate(s, (CK_BYTE *)"a", 1), CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(f->C_DigestInit(s, &sha256), CKR_OK);
    CHECK_RV(f->C_DigestFinal(s, dg, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(f->C_DigestFinal(s, dg, &len), CKR_OPERATION_NOT_INITIALIZED);

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

/* ---- the cases ------------------------------------------------------------------------------- */

/* The fixture: the module loaded once, the TPM's key sizes measured. The first cases use it uninitialised (each leaves it
 * so); the rest share one initialised module with a R/W and a R/O session, opened by
 * /p11-api/slots-and-sessions or, when that case does not run, by the first case that needs
 * them. */
static const char *module_path;
static p11_mod mod;
static bool initialized;
static CK_SESSION_HANDLE rw, ro;

static int setup(void)
{
    if (!module_path || !variant) {
        fprintf(stderr, "usage: p11-api MODULE ecc|rsa|empty|no-tpm\n");
        return 2;
    }
    if (!mod_load(&mod, module_path))
        return 1;
    f = mod.f;
    CK_C_GetInterface gi = (CK_C_GetInterface)dlsym(mod.dl, "C_GetInterface");
    CK_INTERFACE *iface = NULL;
    CK_VERSION v30 = { 3, 0 };
    if (gi && gi((CK_UTF8CHAR *)"PKCS 11", &v30, &iface, 0) == CKR_OK && iface)
        f3 = iface->pFunctionList; /* the same module: its 3.0 functions */
    /* What the TPM takes (for /p11-api/advertised), before the module holds the TPM
     * connection. */
    if (strcmp(variant, "no-tpm") != 0)
        tpm_sizes_measure();
    return 0;
}

static void teardown(void)
{
    if (initialized)
        CHECK_RV(f->C_Finalize(NULL), CKR_OK);
    mod_unload(&mod);
}

static void test_life_cycle(void)
{
    life_cycle(&mod);
}

static void test_interfaces(void)
{
    interfaces(&mod);
}

static void test_slots_and_sessions(void)
{
    CHECK_RV(f->C_Initialize(NULL), CKR_OK);
    initialized = true;
    slots_and_sessions(&rw, &ro);
}

/* The sessions that /p11-api/slots-and-sessions leaves (logged out), if it did not run. */
static void sessions(void)
{
    if (initialized)
        return;
    CHECK_RV(f->C_Initialize(NULL), CKR_OK);
    initialized = true;
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw), CKR_OK);
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
}

#define WITH_SESSIONS(name, call)                                                                  \
    static void name(void)                                                                         \
    {                                                                                              \
        sessions();                                                                                \
        call;                                                                                      \
    }
WITH_SESSIONS(test_attributes, attributes(rw))
WITH_SESSIONS(test_signatures_refusals, signatures_refusals(rw))
WITH_SESSIONS(test_signatures_operation, signatures_operation(rw))
WITH_SESSIONS(test_signatures_ecdsa_lengths, signatures_ecdsa_lengths(rw))
WITH_SESSIONS(test_signatures_rsa_lengths, signatures_rsa_lengths(rw))
WITH_SESSIONS(test_signatures_rsa_decrypt, signatures_rsa_decrypt(rw))
WITH_SESSIONS(test_misc, misc(rw))
WITH_SESSIONS(test_advertised, advertised(rw))
WITH_SESSIONS(test_operation_states, operation_states(rw))
WITH_SESSIONS(test_session_objects, session_objects(rw, ro))
WITH_SESSIONS(test_session_key_pairs, session_key_pairs(rw))
WITH_SESSIONS(test_session_secret_keys, session_secret_keys())
WITH_SESSIONS(test_session_data_objects, session_data_objects())
WITH_SESSIONS(test_token_data_objects, token_data_objects(rw, ro))
WITH_SESSIONS(test_create_refusals, create_refusals(rw, ro))
WITH_SESSIONS(test_keygen_refusals, keygen_refusals(rw, ro))
WITH_SESSIONS(test_store_key_changes, store_key_changes(rw, ro))
WITH_SESSIONS(test_ecdh, ecdh(rw, ro))
WITH_SESSIONS(test_hmac_mechanisms, hmac_mechanisms(rw))
WITH_SESSIONS(test_hmac_refusals, hmac_refusals(rw))
WITH_SESSIONS(test_hmac_keys, hmac_keys(rw))
WITH_SESSIONS(test_hmac_macs, hmac_macs(rw))
WITH_SESSIONS(test_hmac_verify, hmac_verify(rw))
WITH_SESSIONS(test_hmac_wrong_mechanisms, hmac_wrong_mechanisms(rw))
WITH_SESSIONS(test_hmac_destroy, hmac_destroy(rw))
WITH_SESSIONS(test_hmac_import_refusals, hmac_import_refusals(rw))
WITH_SESSIONS(test_hmac_import_32, hmac_import_32(rw))
WITH_SESSIONS(test_hmac_import_sizes, hmac_import_sizes(rw))
WITH_SESSIONS(test_tpm_restart, tpm_restart(rw))

/* C_CloseAllSessions: the sessions gone, their session objects with them. */
static void test_close_all(void)
{
    sessions();
    CHECK_RV(f->C_CloseAllSessions(0), CKR_OK);
    CHECK_RV(f->C_GetSessionInfo(rw, &(CK_SESSION_INFO){ 0 }), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    session_objects_at_close_all(ro);
}

/* Sets the token's PINs: registered last. */
static void test_token_data_objects_pin(void)
{
    sessions();
    token_data_objects_pin();
}

int main(int argc, char **argv)
{
    module_path = devid_test_arg(argc, argv, 0);
    variant = devid_test_arg(argc, argv, 1);
    devid_test_fixture(setup, teardown);
    if (variant && !strcmp(variant, "no-tpm")) {
        devid_test(no_tpm, "/p11-api/no-tpm");
        return devid_test_run("p11-api no-tpm", argc, argv);
    }
    bool ids = variant && (!strcmp(variant, "ecc") || !strcmp(variant, "rsa"));
    if (variant && !strcmp(variant, "ecc"))
        devid_test(lazy_discovery, "/p11-api/lazy-discovery"); /* a fresh process: a cold start */
    devid_test(test_life_cycle, "/p11-api/life-cycle");
    devid_test(test_interfaces, "/p11-api/interfaces");
    devid_test(test_slots_and_sessions, "/p11-api/slots-and-sessions");
    if (ids) {
        devid_test(test_attributes, "/p11-api/attributes");
        devid_test(test_signatures_refusals, "/p11-api/signatures/refusals");
        devid_test(test_signatures_operation, "/p11-api/signatures/operation");
        if (!strcmp(variant, "ecc"))
            devid_test(test_signatures_ecdsa_lengths, "/p11-api/signatures/ecdsa-lengths");
        if (!strcmp(variant, "rsa")) {
            devid_test(test_signatures_rsa_lengths, "/p11-api/signatures/rsa-lengths");
            devid_test(test_signatures_rsa_decrypt, "/p11-api/signatures/rsa-decrypt");
        }
    }
    devid_test(test_misc, "/p11-api/misc");
    devid_test(test_advertised, "/p11-api/advertised");
    devid_test(test_operation_states, "/p11-api/operation-states");
    devid_test(test_session_objects, "/p11-api/session/objects");
    devid_test(test_session_key_pairs, "/p11-api/session/key-pairs");
    devid_test(test_session_secret_keys, "/p11-api/session/secret-keys");
    devid_test(test_session_data_objects, "/p11-api/session/data-objects");
    devid_test(test_token_data_objects, "/p11-api/token-data-objects");
    devid_test(test_create_refusals, "/p11-api/changes/create-refusals");
    devid_test(test_keygen_refusals, "/p11-api/changes/keygen-refusals");
    devid_test(test_store_key_changes, "/p11-api/changes/store-key");
    devid_test(test_ecdh, "/p11-api/ecdh");
    devid_test(test_hmac_mechanisms, "/p11-api/hmac/mechanisms");
    devid_test(test_hmac_refusals, "/p11-api/hmac/refusals");
    /* the life of two keys: made, used, destroyed */
    devid_test(test_hmac_keys, "/p11-api/hmac/keys");
    devid_test_step(test_hmac_macs, "/p11-api/hmac/macs");
    devid_test_step(test_hmac_verify, "/p11-api/hmac/verify");
    devid_test_step(test_hmac_wrong_mechanisms, "/p11-api/hmac/wrong-mechanisms");
    devid_test_step(test_hmac_destroy, "/p11-api/hmac/destroy");
    devid_test(test_hmac_import_refusals, "/p11-api/hmac-import/refusals");
    devid_test(test_hmac_import_32, "/p11-api/hmac-import/32-bytes");
    devid_test(test_hmac_import_sizes, "/p11-api/hmac-import/sizes");
    if (ids)
        devid_test(test_tpm_restart, "/p11-api/tpm-restart");
    devid_test(test_close_all, "/p11-api/close-all");
    devid_test(test_token_data_objects_pin, "/p11-api/token-data-objects-pin");
    return devid_test_run("p11-api", argc, argv);
}
