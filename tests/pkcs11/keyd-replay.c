/* SPDX-License-Identifier: Apache-2.0 */
/* Replays what the Azure IoT Identity Service's key daemon (keyd) does with a PKCS#11 module,
 * call by call and with keyd's lookups, against devid-pkcs11.so on a swtpm fixture: loading,
 * finding the token, the factory keys, what keyd expects refused, and (split off) generating,
 * renaming and deleting keys (keyd-rotation.c) and the module's life in keyd's process
 * (keyd-lifecycle.c). keyd.h lists keyd's building blocks.
 * usage: keyd-replay MODULE VARIANT [pin]   (run under tests/fixture/with-swtpm VARIANT; with
 * `pin` the token has the user PIN 1234, set by keyd-pin.sh, and keyd logs in with it; then
 * the runner's -p PATH, -l: tests/lib/devid_test.h) */
#include "keyd.h"

#include <stdint.h>

const char *module_path, *fixture;
bool identities, rsa, pin_set;

/* ---- loading ------------------------------------------------------------------------------- */

static void loading(CK_FUNCTION_LIST *f)
{
    CHECK(f->version.major == 2 && f->version.minor >= 20, "function list version %d.%d",
          f->version.major, f->version.minor);
#define NEED(fn) CHECK(f->fn != NULL, "%s is NULL", #fn)
    NEED(C_CloseSession);
    NEED(C_CreateObject);
    NEED(C_Decrypt);
    NEED(C_DecryptInit);
    NEED(C_DestroyObject);
    NEED(C_Encrypt);
    NEED(C_EncryptInit);
    NEED(C_FindObjects);
    NEED(C_FindObjectsFinal);
    NEED(C_FindObjectsInit);
    NEED(C_GenerateKey);
    NEED(C_GenerateKeyPair);
    NEED(C_GetAttributeValue);
    NEED(C_SetAttributeValue);
    NEED(C_GetSessionInfo);
    NEED(C_GetSlotList);
    NEED(C_GetTokenInfo);
    NEED(C_Login);
    NEED(C_OpenSession);
    NEED(C_Sign);
    NEED(C_SignInit);
    NEED(C_Verify);
    NEED(C_VerifyInit);
    NEED(C_Initialize);
#undef NEED
    /* and every other 2.40 entry point */
    CK_C_Initialize const *fn = &f->C_Initialize;
    size_t n = (sizeof(*f) - offsetof(CK_FUNCTION_LIST, C_Initialize)) / sizeof(*fn);
    for (size_t i = 0; i < n; i++)
        CHECK(fn[i] != NULL, "function list entry %zu is NULL", i);

    CHECK_RV(f->C_Initialize(&keyd_args), CKR_OK);
    CK_INFO info;
    CHECK_RV(f->C_GetInfo(&info), CKR_OK);
    CHECK(info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor >= 20,
          "C_GetInfo cryptokiVersion %d.%d", info.cryptokiVersion.major,
          info.cryptokiVersion.minor);
}

/* ---- finding the token ----------------------------------------------------------------------- */

static CK_SLOT_ID find_token(CK_FUNCTION_LIST *f)
{
    /* First call: a non-NULL (here: dangling) pointer and n = 0 → CKR_BUFFER_TOO_SMALL with
     * the count, nothing written (ASan would report a write to freed memory). */
    CK_SLOT_ID *buf = malloc(4 * sizeof(*buf));
    volatile uintptr_t dangling = (uintptr_t)buf;
    free(buf);
    CK_ULONG n = 0;
    CHECK_RV(f->C_GetSlotList(CK_TRUE, (CK_SLOT_ID *)dangling, &n), CKR_BUFFER_TOO_SMALL);
    CHECK(n == 1, "slot count %lu", (unsigned long)n);
    CK_SLOT_ID slots[4];
    n = 4;
    CHECK_RV(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CHECK(n == 1, "slot count %lu", (unsigned long)n);

    CK_TOKEN_INFO ti;
    CHECK_RV(f->C_GetTokenInfo(slots[0], &ti), CKR_OK);
    CHECK(ti.flags & CKF_TOKEN_INITIALIZED, "token not initialised");
    CHECK(!memchr(ti.label, 0, sizeof(ti.label)), "token label padded with NULs");
    size_t len = sizeof(ti.label);
    while (len && ti.label[len - 1] == ' ')
        len--;
    CHECK(len == 5 && memcmp(ti.label, "DevID", 5) == 0, "token label '%.32s'", ti.label);
    return slots[0];
}

static void factory_keys(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    const char *labels[] = { "IDevID", "LDevID" };
    for (int i = 0; i < 2; i++) {
        CK_OBJECT_HANDLE pub = 0, priv = 0;
        keyd_login(f, s);
        CHECK(keyd_key_pair(f, s, labels[i], &pub, &priv), "%s: no key pair by label", labels[i]);
        CK_KEY_TYPE want = rsa ? CKK_RSA : CKK_EC;
        CHECK(attr_ulong(f, s, pub, CKA_KEY_TYPE) == want, "%s: public CKA_KEY_TYPE", labels[i]);
        CHECK(attr_ulong(f, s, priv, CKA_KEY_TYPE) == want, "%s: private CKA_KEY_TYPE", labels[i]);
        CK_BBOOL always = CK_TRUE;
        CK_ATTRIBUTE aa = { CKA_ALWAYS_AUTHENTICATE, &always, sizeof(always) };
        CHECK(f->C_GetAttributeValue(s, priv, &aa, 1) == CKR_OK && always == CK_FALSE,
              "%s: CKA_ALWAYS_AUTHENTICATE", labels[i]);
        /* the public key the token shows is the certificate's */
        X509 *cert = read_cert(fixture, i == 0 ? "idevid" : "ldevid");
        EVP_PKEY *pk = pub_from_attrs(f, s, pub);
        CHECK(cert && pk && EVP_PKEY_eq(pk, X509_get0_pubkey(cert)) == 1,
              "%s: public key differs from the certificate's", labels[i]);
        EVP_PKEY_free(pk);
        X509_free(cert);
        if (rsa) /* the fixture's IDevID is sign-only, its LDevID may decrypt */
            rsa_signatures(f, s, labels[i], pub, priv, i == 1);
        else
            ec_signatures(f, s, labels[i], pub, priv);
    }
}

/* ---- what keyd expects to fail, and how ------------------------------------------------------ */

static void refusals(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n = 99;
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_ATTRIBUTE t = { CKA_CLASS, &secret, sizeof(secret) };
    keyd_login(f, s);
    CHECK_RV(f->C_FindObjectsInit(s, &t, 1), CKR_OK);
    CHECK_RV(f->C_FindObjects(s, h, 4, &n), CKR_OK);
    CHECK(n == 0, "%lu secret keys", (unsigned long)n);
    CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);

    /* symmetric keys: keyd falls back to its own only on MECHANISM_INVALID/NOT_SUPPORTED */
    CK_OBJECT_HANDLE key;
    CK_ULONG len32 = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE st[] = { { CKA_VALUE_LEN, &len32, sizeof(len32) },
                          { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_MECHANISM hmac = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 };
    CHECK_RV(f->C_GenerateKey(s, &aes, st, 2, &key), CKR_MECHANISM_INVALID); /* keyd's own */
    /* HMAC-SHA256 keys live in the TPM */
    key = CK_INVALID_HANDLE;
    CHECK_RV(f->C_GenerateKey(s, &hmac, st, 2, &key), CKR_OK);
    CHECK(key != CK_INVALID_HANDLE, "HMAC key handle");
    CK_OBJECT_HANDLE named = CK_INVALID_HANDLE;
    CHECK_RV(keyd_generate_hmac(f, s, "keyd-hmac", &named), CKR_OK);
    CHECK(find(f, s, CKO_SECRET_KEY, "keyd-hmac", h, 4) == 1 && h[0] == named,
          "the HMAC key is found by class and label");
    CHECK(find(f, s, CKO_SECRET_KEY, NULL, h, 4) == 2, "two secret keys");
    CK_MECHANISM mac = { CKM_SHA256_HMAC, NULL, 0 };
    unsigned char m1[32], m2[32];
    CK_ULONG l1 = sizeof(m1), l2 = sizeof(m2);
    CHECK_RV(f->C_SignInit(s, &mac, named), CKR_OK);
    CHECK_RV(f->C_Sign(s, (CK_BYTE *)"keyd data", 9, m1, &l1), CKR_OK);
    CHECK(l1 == 32, "HMAC-SHA256 is 32 bytes");
    CHECK_RV(f->C_SignInit(s, &mac, key), CKR_OK);
    CHECK_RV(f->C_Sign(s, (CK_BYTE *)"keyd data", 9, m2, &l2), CKR_OK);
    CHECK(memcmp(m1, m2, 32) != 0, "two keys, two MACs");
    CHECK_RV(f->C_VerifyInit(s, &mac, named), CKR_OK);
    CHECK_RV(f->C_Verify(s, (CK_BYTE *)"keyd data", 9, m1, 32), CKR_OK);
    CHECK_RV(f->C_VerifyInit(s, &mac, named), CKR_OK);
    CHECK_RV(f->C_Verify(s, (CK_BYTE *)"keyd data", 9, m2, 32), CKR_SIGNATURE_INVALID);
    CK_ATTRIBUTE value = { CKA_VALUE, NULL, 0 };
    CHECK_RV(f->C_GetAttributeValue(s, named, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK_RV(f->C_DestroyObject(s, named), CKR_OK);
    CHECK_RV(f->C_DestroyObject(s, key), CKR_OK);
    CHECK(find(f, s, CKO_SECRET_KEY, NULL, h, 4) == 0, "no secret keys left");

    if (!identities)
        return;
    /* factory DevIDs refuse destruction, and stay findable */
    for (CK_OBJECT_CLASS cls = CKO_CERTIFICATE; cls <= CKO_PRIVATE_KEY; cls++) {
        CHECK(find(f, s, cls, "IDevID", h, 1) == 1, "IDevID class %lu", (unsigned long)cls);
        CHECK_RV(f->C_DestroyObject(s, h[0]), CKR_ACTION_PROHIBITED);
        CHECK(find(f, s, cls, "IDevID", h, 1) == 1,
              "IDevID class %lu gone after a refused "
              "destroy",
              (unsigned long)cls);
        CK_ATTRIBUTE relabel = { CKA_LABEL, (void *)"stolen", 6 };
        CHECK_RV(f->C_SetAttributeValue(s, h[0], &relabel, 1), CKR_ACTION_PROHIBITED);
    }
}

/* ---- the cases ------------------------------------------------------------------------------- */

/* keyd's process: one module load and one session from start to finalize, in steps. */
static p11_mod app;
static bool app_loaded;
static CK_SESSION_HANDLE app_session;
static CK_SLOT_ID slot;
static bool have_slot;

static void test_app_start(void)
{
    app_loaded = mod_load(&app, module_path);
    CHECK(app_loaded, "dlopen %s", module_path);
    if (!app_loaded)
        return;
    loading(app.f);
    slot = find_token(app.f);
    have_slot = true;
    CHECK_RV(app.f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                  &app_session),
             CKR_OK);
    keyd_login(app.f, app_session);
    if (pin_set) /* logged in for the whole application */
        CHECK_RV(app.f->C_Login(app_session, CKU_USER, (CK_UTF8CHAR *)"1234", 4),
                 CKR_USER_ALREADY_LOGGED_IN);
}

static void test_app_factory_keys(void)
{
    if (app_loaded)
        factory_keys(app.f, app_session);
}

static void test_app_refusals(void)
{
    if (app_loaded)
        refusals(app.f, app_session);
}

static void test_app_fork_rule(void)
{
    if (app_loaded)
        fork_rule(app.f, app_session);
}

static void test_app_threads(void)
{
    if (app_loaded)
        threads(app.f, slot);
}

static void app_finalize(void)
{
    if (!app_loaded)
        return;
    CHECK_RV(app.f->C_Finalize(NULL), CKR_OK);
    mod_unload(&app);
    app_loaded = false;
}

/* The token's slot, for the cases that load the module themselves: found by keyd's process
 * when it ran, else by a load of the module of its own. */
static CK_SLOT_ID the_slot(void)
{
    p11_mod m;
    if (have_slot || !mod_load(&m, module_path))
        return slot;
    CHECK_RV(m.f->C_Initialize(&keyd_args), CKR_OK);
    slot = find_token(m.f);
    have_slot = true;
    CHECK_RV(m.f->C_Finalize(NULL), CKR_OK);
    mod_unload(&m);
    return slot;
}

static void test_generate_rotate_delete(void)
{
    generate_rotate_delete(the_slot());
}

static void test_certd_rotation(void)
{
    certd_rotation(the_slot());
}

/* Last: a process that dies while logged in leaves its TPM session behind on a TPM without
 * resource manager (swtpm here; the kernel's tpmrm flushes them). */
static void test_crash_between_renames(void)
{
    crash_between_renames(the_slot());
}

static int setup(void)
{
    if (!module_path || !(fixture = getenv("DEVID_FIXTURE"))) {
        fprintf(stderr,
                "usage: keyd-replay MODULE VARIANT [pin] (under tests/fixture/with-swtpm)\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *variant = devid_test_arg(argc, argv, 1), *pin = devid_test_arg(argc, argv, 2);
    if (!variant || devid_test_arg(argc, argv, 3) || (pin && strcmp(pin, "pin"))) {
        fprintf(stderr, "usage: keyd-replay MODULE VARIANT [pin] [-p PATH] [-l]\n");
        return 2;
    }
    module_path = devid_test_arg(argc, argv, 0);
    identities = !strcmp(variant, "ecc") || !strcmp(variant, "rsa");
    rsa = !strcmp(variant, "rsa");
    pin_set = pin != NULL;

    devid_test_fixture(setup, app_finalize);
    devid_test(test_app_start, "/keyd/app/start");
    if (identities)
        devid_test_step(test_app_factory_keys, "/keyd/app/factory-keys");
    devid_test_step(test_app_refusals, "/keyd/app/refusals");
    devid_test_step(test_app_fork_rule, "/keyd/app/fork-rule");
    if (identities)
        devid_test_step(test_app_threads, "/keyd/app/threads");
    devid_test_step(app_finalize, "/keyd/app/finalize");
    devid_test(test_generate_rotate_delete, "/keyd/generate-rotate-delete");
    devid_test(test_certd_rotation, "/keyd/certd-rotation");
    devid_test(cycles, "/keyd/cycles");
    devid_test(tpm_left_clean, "/keyd/tpm-left-clean");
    devid_test(test_crash_between_renames, "/keyd/crash-between-renames");
    return devid_test_run(pin_set ? "keyd-replay (PIN set)" : "keyd-replay", argc, argv);
}
