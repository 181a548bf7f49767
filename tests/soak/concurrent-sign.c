/* SPDX-License-Identifier: Apache-2.0 */
/* One process of the concurrency test (tests/soak/concurrency.sh): THREADS threads sign at
 * once through one front-end, each PER_THREAD times over fresh random messages, and every
 * signature is verified in software against the key's certificate or public key.
 *
 *   concurrent-sign p11  MODULE       THREADS PER_THREAD LABEL PEM [LABEL PEM...]
 *   concurrent-sign prov PROVIDER_DIR THREADS PER_THREAD URI   PEM [URI   PEM...]
 *
 * p11:  the PKCS#11 module is dlopen()ed and initialised once (CKF_OS_LOCKING_OK); every thread
 *       opens its own session, finds its private key by CKA_LABEL and signs with C_SignInit +
 *       C_Sign, alternating CKM_ECDSA over a SHA-256 digest and CKM_ECDSA_SHA256 over the
 *       message (both give r|s).
 * prov: one library context holding the devid and default providers; each key is loaded once
 *       through OSSL_STORE and shared by its threads, as a TLS server shares its key; every
 *       signature is a fresh EVP_MD_CTX with EVP_DigestSign (SHA-256, DER signature).
 * Thread t uses key t mod (number of keys). PEM is the key's certificate or its public key.
 *
 * Prints "MODE: N signatures made and verified of WANTED, E errors, B bad signatures, S s" and
 * exits 0 only if every signature was made and verified; the first few failures are printed. */
#include "ecdsa_der.h"

#include <dlfcn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h> /* last: it defines lower-case macros */

#define MAX_KEYS 8
#define MAX_THREADS 64
#define MAX_REPORTS 5

typedef struct {
    const char *name;  /* PKCS#11 label or provider URI */
    EVP_PKEY *pub;     /* for verification, in the default library context */
    EVP_PKEY *tpm_key; /* prov: the key loaded through OSSL_STORE */
} key_ref;

static struct {
    bool p11;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    OSSL_LIB_CTX *lib;
    key_ref keys[MAX_KEYS];
    int nkeys;
    long per_thread;
} g;

static atomic_long signed_ok, errors, bad;
static atomic_int reports;

/* The first few failures are printed; the counters tell the rest. */
__attribute__((format(printf, 2, 3))) static void report(int thread, const char *fmt, ...)
{
    if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "thread %d: %s\n", thread, line);
}

static EVP_PKEY *read_pub(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    EVP_PKEY *pk = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    if (!pk) {
        ERR_clear_error();
        rewind(f);
        pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    }
    fclose(f);
    return pk;
}

/* r|s (PKCS#11) to the DER ECDSA-Sig-Value that EVP verification takes. */
static int raw_to_der(const unsigned char *raw, size_t len, unsigned char *der, size_t *der_len)
{
    *der_len = devid_ecdsa_rs_to_der(raw, len, der, *der_len);
    return *der_len ? 0 : -1;
}

static bool verifies(EVP_PKEY *pub, const unsigned char *msg, size_t msg_len,
                     const unsigned char *der, size_t der_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
              EVP_DigestVerify(md, der, der_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static CK_RV p11_sign_one(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, bool hash_in_token,
                          const unsigned char *msg, size_t msg_len, unsigned char *sig,
                          CK_ULONG *sig_len)
{
    unsigned char dgst[32];
    CK_MECHANISM mech = { hash_in_token ? CKM_ECDSA_SHA256 : CKM_ECDSA, NULL, 0 };
    const unsigned char *in = msg;
    CK_ULONG in_len = msg_len;
    if (!hash_in_token) {
        SHA256(msg, msg_len, dgst);
        in = dgst;
        in_len = sizeof(dgst);
    }
    CK_RV rv = g.f->C_SignInit(s, &mech, key);
    if (rv == CKR_OK)
        rv = g.f->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, sig_len);
    return rv;
}

static int p11_open_key(int t, const key_ref *k, CK_SESSION_HANDLE *s, CK_OBJECT_HANDLE *key)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_LABEL, (void *)k->name, strlen(k->name) },
    };
    CK_ULONG found = 0;
    CK_RV rv = g.f->C_OpenSession(g.slot, CKF_SERIAL_SESSION, NULL, NULL, s);
    if (rv != CKR_OK) {
        report(t, "C_OpenSession: CKR 0x%lx", rv);
        return -1;
    }
    rv = g.f->C_FindObjectsInit(*s, tmpl, 2);
    if (rv == CKR_OK) {
        rv = g.f->C_FindObjects(*s, key, 1, &found);
        CK_RV fin = g.f->C_FindObjectsFinal(*s);
        if (rv == CKR_OK)
            rv = fin;
    }
    if (rv != CKR_OK || found != 1) {
        report(t, "find %s: CKR 0x%lx, %lu found", k->name, rv, found);
        g.f->C_CloseSession(*s);
        return -1;
    }
    return 0;
}

/* One signature and its verification: 0 ok, -1 error (counted by the caller), 1 bad. */
static int sign_and_verify(int t, const key_ref *k, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
                           long i)
{
    unsigned char msg[64], sig[160], der[160];
    size_t der_len = sizeof(der);
    size_t msg_len = 1 + (size_t)(i % (long)sizeof(msg)); /* lengths vary too */
    if (RAND_bytes(msg, (int)msg_len) != 1) {
        report(t, "RAND_bytes failed");
        return -1;
    }
    if (g.p11) {
        CK_ULONG sig_len = sizeof(sig);
        CK_RV rv = p11_sign_one(s, key, i % 2, msg, msg_len, sig, &sig_len);
        if (rv != CKR_OK) {
            report(t, "C_Sign (%s): CKR 0x%lx", k->name, rv);
            return -1;
        }
        if (raw_to_der(sig, sig_len, der, &der_len)) {
            report(t, "C_Sign (%s): a signature of %lu bytes is no r|s pair", k->name, sig_len);
            return 1;
        }
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int ok = md &&
                 EVP_DigestSignInit_ex(md, NULL, "SHA256", g.lib, NULL, k->tpm_key, NULL) == 1 &&
                 EVP_DigestSign(md, der, &der_len, msg, msg_len) == 1;
        EVP_MD_CTX_free(md);
        if (!ok) {
            unsigned long e = ERR_peek_last_error();
            char buf[256];
            ERR_error_string_n(e, buf, sizeof(buf));
            report(t, "EVP_DigestSign (%s): %s", k->name, buf);
            ERR_clear_error();
            return -1;
        }
    }
    if (!verifies(k->pub, msg, msg_len, der, der_len)) {
        report(t, "signature #%ld by %s does not verify", i, k->name);
        return 1;
    }
    return 0;
}

static void *worker(void *arg)
{
    int t = (int)(long)arg;
    const key_ref *k = &g.keys[t % g.nkeys];
    CK_SESSION_HANDLE s = 0;
    CK_OBJECT_HANDLE key = 0;
    if (g.p11 && p11_open_key(t, k, &s, &key)) {
        atomic_fetch_add(&errors, g.per_thread);
        return NULL;
    }
    for (long i = 0; i < g.per_thread; i++) {
        int rc = sign_and_verify(t, k, s, key, i);
        if (rc == 0)
            atomic_fetch_add(&signed_ok, 1);
        else if (rc < 0)
            atomic_fetch_add(&errors, 1);
        else
            atomic_fetch_add(&bad, 1);
    }
    if (g.p11) {
        CK_RV rv = g.f->C_CloseSession(s);
        if (rv != CKR_OK) {
            report(t, "C_CloseSession: CKR 0x%lx", rv);
            atomic_fetch_add(&errors, 1);
        }
    }
    return NULL;
}

static void *dl;

static int p11_setup(const char *module)
{
    dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    if (!get || get(&g.f) != CKR_OK) {
        fprintf(stderr, "cannot load %s: %s\n", module, dl ? "no C_GetFunctionList" : dlerror());
        return -1;
    }
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_ULONG n = 1;
    CK_RV rv = g.f->C_Initialize(&args);
    if (rv == CKR_OK)
        rv = g.f->C_GetSlotList(CK_TRUE, &g.slot, &n);
    if (rv != CKR_OK || n != 1) {
        fprintf(stderr, "C_Initialize/C_GetSlotList: CKR 0x%lx, %lu token(s)\n", rv, n);
        return -1;
    }
    return 0;
}

static EVP_PKEY *prov_load(const char *uri)
{
    EVP_PKEY *key = NULL;
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, g.lib, NULL, NULL, NULL, NULL, NULL, NULL);
    if (sc && OSSL_STORE_expect(sc, OSSL_STORE_INFO_PKEY) == 1) {
        while (!key && !OSSL_STORE_eof(sc)) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(sc);
            if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
                key = OSSL_STORE_INFO_get1_PKEY(info);
            OSSL_STORE_INFO_free(info);
            if (!info && OSSL_STORE_error(sc))
                break;
        }
    }
    OSSL_STORE_close(sc);
    if (!key) {
        fprintf(stderr, "cannot load %s:\n", uri);
        ERR_print_errors_fp(stderr);
    }
    return key;
}

static int prov_setup(const char *dir, OSSL_PROVIDER **devid, OSSL_PROVIDER **dflt)
{
    g.lib = OSSL_LIB_CTX_new();
    if (!g.lib || OSSL_PROVIDER_set_default_search_path(g.lib, dir) != 1 ||
        !(*devid = OSSL_PROVIDER_load(g.lib, "devid")) ||
        !(*dflt = OSSL_PROVIDER_load(g.lib, "default"))) {
        fprintf(stderr, "cannot load the devid provider from %s:\n", dir);
        ERR_print_errors_fp(stderr);
        return -1;
    }
    for (int i = 0; i < g.nkeys; i++)
        if (!(g.keys[i].tpm_key = prov_load(g.keys[i].name)))
            return -1;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: concurrent-sign p11|prov MODULE|PROVIDER_DIR THREADS PER_THREAD "
                    "KEY PEM [KEY PEM...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 7 || argc % 2 == 0 || (strcmp(argv[1], "p11") && strcmp(argv[1], "prov")))
        return usage();
    g.p11 = !strcmp(argv[1], "p11");
    int threads = atoi(argv[3]);
    g.per_thread = atol(argv[4]);
    g.nkeys = (argc - 5) / 2;
    if (threads < 1 || threads > MAX_THREADS || g.per_thread < 1 || g.nkeys > MAX_KEYS)
        return usage();
    int rc = 1;
    OSSL_PROVIDER *devid = NULL, *dflt = NULL;
    pthread_t tid[MAX_THREADS];
    int started = 0;
    for (int i = 0; i < g.nkeys; i++) {
        g.keys[i].name = argv[5 + 2 * i];
        if (!(g.keys[i].pub = read_pub(argv[6 + 2 * i]))) {
            fprintf(stderr, "no certificate or public key in %s\n", argv[6 + 2 * i]);
            goto out;
        }
    }
    if (g.p11 ? p11_setup(argv[2]) : prov_setup(argv[2], &devid, &dflt))
        goto out;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, (void *)(long)started)) {
            fprintf(stderr, "pthread_create failed\n");
            break;
        }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long want = (long)threads * g.per_thread;
    printf("%s: %ld signatures made and verified of %ld, %ld errors, %ld bad signatures, "
           "%.1f s\n",
           argv[1], (long)signed_ok, want, (long)errors, (long)bad,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rc = (signed_ok == want && errors == 0 && bad == 0) ? 0 : 1;
out:
    if (g.f) {
        CK_RV rv = g.f->C_Finalize(NULL);
        if (rv != CKR_OK) {
            fprintf(stderr, "C_Finalize: CKR 0x%lx\n", rv);
            rc = 1;
        }
    }
    if (dl)
        dlclose(dl);
    for (int i = 0; i < g.nkeys; i++) {
        EVP_PKEY_free(g.keys[i].pub);
        EVP_PKEY_free(g.keys[i].tpm_key);
    }
    if (devid)
        OSSL_PROVIDER_unload(devid);
    if (dflt)
        OSSL_PROVIDER_unload(dflt);
    OSSL_LIB_CTX_free(g.lib);
    return rc;
}
