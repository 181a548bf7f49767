/* SPDX-License-Identifier: Apache-2.0 */
/* Core against a real (software) TPM: run under tests/fixture/with-swtpm VARIANT.
 * usage: test_core ecc|rsa|ek-only|empty */
#include "devid_test.h"
#include "devid.h"
#include "session.h"
#include "tpm.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *variant;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A time bound holds in the normal and sanitizer builds. Under valgrind (tests/soak/valgrind.sh
 * sets DEVID_TEST_VALGRIND) the same code runs some 200 times slower (the no-TPM failure: 0.2 ms,
 * 55 ms under valgrind on an idle machine), so there only the result is checked. */
static bool timed(void)
{
    return getenv("DEVID_TEST_VALGRIND") == NULL;
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Verifies r||s over `dgst` (any length: OpenSSL truncates like the TPM must). */
static bool verify_ecdsa(EVP_PKEY *pub, const unsigned char *dgst, size_t dlen,
                         const unsigned char *sig, size_t siglen)
{
    unsigned char der[160];
    size_t derlen = devid_ecdsa_rs_to_der(sig, siglen, der, sizeof(der));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    bool ok = derlen && ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, derlen, dgst, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static bool verify_rsa(EVP_PKEY *pub, int padding, const char *md, int saltlen,
                       const unsigned char *dgst, size_t dlen, const unsigned char *sig,
                       size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 &&
              (!md || EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) == 1) &&
              (padding != RSA_PKCS1_PSS_PADDING ||
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) == 1) &&
              EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static void digest(const char *md, const char *msg, unsigned char *out, size_t *len)
{
    unsigned int n = 0;
    EVP_Digest(msg, strlen(msg), out, &n, EVP_get_digestbyname(md), NULL);
    *len = n;
}

static void test_ecdsa_key(devid_key *key, const char *what)
{
    static const char *const mds[] = { "SHA1", "SHA224", "SHA256", "SHA384", "SHA512" };
    for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
        unsigned char d[64], sig[132];
        size_t dlen, siglen = sizeof(sig);
        digest(mds[i], "devid ecdsa", d, &dlen);
        CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, dlen, sig, &siglen), DEVID_OK);
        CHECK(siglen == 2 * (size_t)((devid_key_get_bits(key) + 7) / 8), "%s: r||s size %zu", what,
              siglen);
        CHECK(verify_ecdsa(devid_key_get_public(key), d, dlen, sig, siglen),
              "%s: ECDSA over %s verifies", what, mds[i]);
    }
    /* exactly one TPM command per signature once the key is in use */
    unsigned char d[32] = { 1, 2, 3 }, sig[132];
    size_t siglen = sizeof(sig);
    uint64_t before = devid_tpm_command_count();
    for (int i = 0; i < 20; i++) {
        siglen = sizeof(sig);
        devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, sizeof(d), sig, &siglen);
    }
    CHECK(devid_tpm_command_count() - before == 20, "%s: %llu TPM commands for 20 signatures", what,
          (unsigned long long)(devid_tpm_command_count() - before));
    /* size query and short buffer */
    size_t need = 0;
    CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 32, NULL, &need), DEVID_OK);
    CHECK(need == devid_key_sig_size(key), "size query %zu", need);
    siglen = need - 1;
    CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 32, sig, &siglen), DEVID_ERR_BUFFER);
    CHECK(siglen == need, "needed size reported");
    siglen = sizeof(sig);
    CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_PSS, NID_sha256, d, 32, sig, &siglen),
             DEVID_ERR_KEY_USAGE);
    CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 0, sig, &siglen), DEVID_ERR_ARG);
}

static void test_rsa_key(devid_key *key, const char *what, bool raw_allowed)
{
    EVP_PKEY *pub = devid_key_get_public(key);
    unsigned char d[64], sig[512];
    size_t dlen, siglen = sizeof(sig);
    digest("SHA256", "devid rsa", d, &dlen);

    CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_PKCS1, NID_sha256, d, dlen, sig, &siglen), DEVID_OK);
    CHECK(verify_rsa(pub, RSA_PKCS1_PADDING, "SHA256", 0, d, dlen, sig, siglen),
          "%s: PKCS#1 v1.5 SHA-256 verifies", what);

    /* The same digest as a DigestInfo (CKM_RSA_PKCS input) gives the same signature. */
    static const unsigned char sha256_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                   0x01, 0x05, 0x00, 0x04, 0x20 };
    unsigned char di[sizeof(sha256_prefix) + 32], sig2[512];
    memcpy(di, sha256_prefix, sizeof(sha256_prefix));
    memcpy(di + sizeof(sha256_prefix), d, 32);
    size_t sig2len = sizeof(sig2);
    CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_PKCS1, NID_undef, di, sizeof(di), sig2, &sig2len),
             DEVID_OK);
    CHECK(sig2len == siglen && memcmp(sig, sig2, siglen) == 0,
          "%s: DigestInfo input signs like the digest", what);

    static const char *const pss_mds[] = { "SHA256", "SHA384", "SHA512" };
    for (size_t i = 0; i < 3; i++) {
        digest(pss_mds[i], "devid pss", d, &dlen);
        siglen = sizeof(sig);
        CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_PSS, OBJ_sn2nid(pss_mds[i]), d, dlen, sig,
                                &siglen),
                 DEVID_OK);
        CHECK(verify_rsa(pub, RSA_PKCS1_PSS_PADDING, pss_mds[i], (int)dlen, d, dlen, sig, siglen),
              "%s: PSS %s with salt = digest length verifies", what, pss_mds[i]);
    }

    /* Raw RSA: the public operation on the result gives the block back. */
    unsigned char block[512] = { 0x00, 0x01, 0x02 }, back[512];
    size_t k = devid_key_sig_size(key), backlen = sizeof(back);
    memset(block + 3, 0x5a, k - 3);
    siglen = sizeof(sig);
    devid_rc rc = devid_key_sign(key, DEVID_SIG_RSA_RAW, 0, block, k, sig, &siglen);
    if (raw_allowed) {
        CHECK(rc == DEVID_OK, "%s: raw RSA: %s", what, devid_last_error());
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
        CHECK(ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
                  EVP_PKEY_encrypt(ctx, back, &backlen, sig, siglen) == 1 && backlen == k &&
                  memcmp(back, block, k) == 0,
              "%s: raw RSA round-trips", what);
        EVP_PKEY_CTX_free(ctx);
        /* TLS 1.0-style MD5+SHA1 (no DigestInfo): padded in software, raw in the TPM */
        unsigned char md5sha1[36];
        memset(md5sha1, 0x42, sizeof(md5sha1));
        siglen = sizeof(sig);
        CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_PKCS1, NID_undef, md5sha1, 36, sig, &siglen),
                 DEVID_OK);
        CHECK(verify_rsa(pub, RSA_PKCS1_PADDING, NULL, 0, md5sha1, 36, sig, siglen),
              "%s: PKCS#1 over raw 36 bytes verifies", what);
    } else {
        CHECK(rc == DEVID_ERR_KEY_USAGE, "%s: raw RSA refused: %s", what, devid_rc_name(rc));
    }
    CHECK_RC(devid_key_sign(key, DEVID_SIG_RSA_RAW, 0, block, k - 1, sig, &siglen), DEVID_ERR_ARG);
    CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 32, sig, &siglen), DEVID_ERR_KEY_USAGE);
}

static devid_identity *expect_identity(devid_map_id id, bool key, bool cert)
{
    devid_identity *ident = NULL;
    devid_rc rc = devid_identity_load(id, &ident);
    const char *label = devid_core_config()->map[id].name;
    if (!key && !cert) {
        CHECK(rc == DEVID_ERR_NOT_FOUND, "%s absent: %s", label, devid_rc_name(rc));
        devid_identity_free(ident);
        return NULL;
    }
    CHECK(rc == DEVID_OK, "%s loads: %s", label, devid_last_error());
    if (!ident)
        return NULL;
    CHECK((ident->key != NULL) == key, "%s key presence", label);
    CHECK((ident->cert != NULL) == cert, "%s cert presence (%s)", label, ident->cert_error);
    if (cert) {
        char detail[256];
        devid_chain_status st = devid_identity_verify(ident, detail, sizeof(detail));
        CHECK(st == DEVID_CHAIN_VALID, "%s chain: %s (%s)", label, devid_chain_status_name(st),
              detail);
    }
    return ident;
}

static void test_identities(void)
{
    bool devids = strcmp(variant, "ecc") == 0 || strcmp(variant, "rsa") == 0;
    bool ek = strcmp(variant, "empty") != 0;
    devid_identity *ekid = expect_identity(DEVID_MAP_EK_RSA, ek, ek);
    if (ekid) {
        CHECK(ekid->cert_nv == 0x01C00002, "EK cert from NV 0x%08x", ekid->cert_nv);
        CHECK(devid_key_get_flags(ekid->key) & DEVID_KEY_RESTRICTED, "EK is restricted");
        unsigned char d[32] = { 0 }, sig[512];
        size_t siglen = sizeof(sig);
        CHECK_RC(devid_key_sign(ekid->key, DEVID_SIG_RSA_PKCS1, NID_sha256, d, 32, sig, &siglen),
                 DEVID_ERR_KEY_USAGE);
    }
    devid_identity_free(ekid);
    devid_identity_free(expect_identity(DEVID_MAP_EK_ECC, false, false));
    devid_identity_free(expect_identity(DEVID_MAP_IAK, false, false));

    devid_identity *idevid = expect_identity(DEVID_MAP_IDEVID, devids, devids);
    devid_identity *ldevid = expect_identity(DEVID_MAP_LDEVID, devids, devids);
    if (idevid && idevid->cert) {
        CHECK(idevid->cert_nv == 0x01C90000, "IDevID cert from NV 0x%08x", idevid->cert_nv);
        X509_NAME *subj = X509_get_subject_name(idevid->cert);
        CHECK(X509_NAME_get_index_by_NID(subj, NID_serialNumber, -1) >= 0,
              "IDevID subject carries the 802.1AR serialNumber");
        /* the NV content is exactly the certificate */
        unsigned char *nv = NULL, *der = NULL;
        size_t nvlen = 0;
        int derlen = i2d_X509(idevid->cert, &der);
        CHECK_RC(devid__nv_read(0x01C90000, &nv, &nvlen), DEVID_OK);
        CHECK(nv && (int)nvlen >= derlen && memcmp(nv, der, (size_t)derlen) == 0, "NV bytes");
        free(nv);
        OPENSSL_free(der);
    }
    if (idevid && idevid->key) {
        if (devid_key_get_type(idevid->key) == DEVID_KEY_EC)
            test_ecdsa_key(idevid->key, "IDevID");
        else
            test_rsa_key(idevid->key, "IDevID", false);
    }
    if (ldevid && ldevid->key) {
        if (devid_key_get_type(ldevid->key) == DEVID_KEY_EC)
            test_ecdsa_key(ldevid->key, "LDevID");
        else
            test_rsa_key(ldevid->key, "LDevID", true);
    }
    devid_identity_free(idevid);
    devid_identity_free(ldevid);
    unsigned char *nv = NULL;
    size_t nvlen;
    CHECK_RC(devid__nv_read(0x01C90123, &nv, &nvlen), DEVID_ERR_NOT_FOUND);
}

/* A key with an auth value: salted, encrypted session, started once and kept. */
static void test_auth_key(void)
{
    devid_key *key = NULL;
    CHECK_RC(devid_key_open_persistent(0x81000010, &key), DEVID_OK);
    if (!key)
        return;
    bool ec = devid_key_get_type(key) == DEVID_KEY_EC;
    devid_sig_scheme scheme = ec ? DEVID_SIG_ECDSA : DEVID_SIG_RSA_PKCS1;
    unsigned char d[32] = { 9 }, sig[512];
    size_t siglen = sizeof(sig);
    CHECK_RC(devid_key_sign(key, scheme, NID_sha256, d, 32, sig, &siglen), DEVID_ERR_AUTH);
    CHECK_RC(devid_key_set_auth(key, "wrong", 5), DEVID_OK);
    CHECK_RC(devid_key_sign(key, scheme, NID_sha256, d, 32, sig, &siglen), DEVID_ERR_AUTH);
    CHECK_RC(devid_key_set_auth(key, "devid-test-auth", 15), DEVID_OK);
    unsigned long sessions = devid_session_started_count();
    uint64_t before = devid_tpm_command_count();
    for (int i = 0; i < 5; i++) {
        siglen = sizeof(sig);
        CHECK_RC(devid_key_sign(key, scheme, NID_sha256, d, 32, sig, &siglen), DEVID_OK);
    }
    CHECK(devid_session_started_count() - sessions <= 1, "one salted session for 5 signatures");
    CHECK(devid_tpm_command_count() - before <= 5 + 2, "%llu commands for 5 protected signatures",
          (unsigned long long)(devid_tpm_command_count() - before));
    if (ec)
        CHECK(verify_ecdsa(devid_key_get_public(key), d, 32, sig, siglen), "auth key ECDSA");
    else
        CHECK(verify_rsa(devid_key_get_public(key), RSA_PKCS1_PADDING, "SHA256", 0, d, 32, sig,
                         siglen),
              "auth key RSA");
    devid_key_free(key);
}

static devid_key *open_ldevid(void)
{
    devid_key *key = NULL;
    CHECK_RC(devid_key_open_persistent(0x81000002, &key), DEVID_OK);
    return key;
}

static bool sign_once(devid_key *key)
{
    unsigned char d[32] = { 7 }, sig[512];
    size_t siglen = sizeof(sig);
    devid_sig_scheme s = devid_key_get_type(key) == DEVID_KEY_EC ? DEVID_SIG_ECDSA
                                                                 : DEVID_SIG_RSA_PKCS1;
    return devid_key_sign(key, s, NID_sha256, d, 32, sig, &siglen) == DEVID_OK;
}

/* The TPM vanishes mid-run and comes back: an error while it is gone, then recovery
 * without re-creating anything. */
static void test_tpm_restart(void)
{
    devid_key *key = open_ldevid();
    if (!key)
        return;
    CHECK(sign_once(key), "sign before restart");
    CHECK(run("\"$DEVID_FIXTURE/swtpm-ctl\" stop") == 0, "swtpm stopped");
    double t0 = now_ms();
    unsigned char d[32] = { 1 }, sig[512];
    size_t siglen = sizeof(sig);
    devid_rc rc = devid_key_sign(key,
                                 devid_key_get_type(key) == DEVID_KEY_EC ? DEVID_SIG_ECDSA
                                                                         : DEVID_SIG_RSA_PKCS1,
                                 NID_sha256, d, 32, sig, &siglen);
    double took = now_ms() - t0;
    CHECK(rc == DEVID_ERR_NO_TPM, "TPM gone: %s (%s)", devid_rc_name(rc), devid_last_error());
    CHECK(!timed() || took < 1000, "failure is quick: %.1f ms", took);
    CHECK(run("\"$DEVID_FIXTURE/swtpm-ctl\" start") == 0, "swtpm started");
    CHECK(sign_once(key), "sign after restart: %s", devid_last_error());
    CHECK(sign_once(key), "and again");
    devid_key_free(key);

    /* A salted session kept across a TPM reset is gone in the TPM: core starts a new one. */
    devid_key *authkey = NULL;
    CHECK_RC(devid_key_open_persistent(0x81000010, &authkey), DEVID_OK);
    if (!authkey)
        return;
    devid_key_set_auth(authkey, "devid-test-auth", 15);
    CHECK(sign_once(authkey), "protected signature before the reset");
    CHECK(run("\"$DEVID_FIXTURE/swtpm-ctl\" restart") == 0, "swtpm restarted");
    CHECK(sign_once(authkey), "protected signature after the reset: %s", devid_last_error());
    CHECK(sign_once(authkey), "and again");
    devid_key_free(authkey);
}

static void test_fork(void)
{
    devid_key *key = open_ldevid();
    if (!key)
        return;
    CHECK(sign_once(key), "parent signs before fork");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        bool ok = sign_once(key) && sign_once(key);
        devid_key_free(key); /* valgrind checks the child's leaks too */
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child signs with the parent's key");
    CHECK(sign_once(key), "parent still signs after the child: %s", devid_last_error());
    devid_key_free(key);
}

static void *thread_signer(void *arg)
{
    devid_key *key = arg;
    long bad = 0;
    for (int i = 0; i < 50; i++)
        bad += !sign_once(key);
    return (void *)bad;
}

static void test_threads(void)
{
    devid_key *key = open_ldevid();
    if (!key)
        return;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_signer, key);
    long bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    CHECK(bad == 0, "%ld of 200 threaded signatures failed", bad);
    devid_key_free(key);
}

static bool core_up; /* the fixture's core: test_no_tpm replaces it */

/* No TPM at all: a clear error within milliseconds and not a byte on stderr. Registered last:
 * it points DEVID_TCTI at nothing for the rest of the process. */
static void test_no_tpm(void)
{
    devid_core_fini();
    core_up = false;
    setenv("DEVID_TCTI", "swtpm:host=127.0.0.1,port=9", 1);
    unsetenv("DEVID_LOG");
    CHECK_RC(devid_core_init(), DEVID_OK);
    char path[] = "/tmp/devid-stderr-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    double t0 = now_ms();
    devid_key *key = NULL;
    devid_rc rc = devid_key_open_persistent(0x81020000, &key);
    devid_identity *id = NULL;
    devid_rc rc2 = devid_identity_load(DEVID_MAP_IDEVID, &id);
    double took = now_ms() - t0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t printed = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    CHECK(rc == DEVID_ERR_NO_TPM && rc2 == DEVID_ERR_NO_TPM, "no TPM: %s / %s", devid_rc_name(rc),
          devid_rc_name(rc2));
    CHECK(strstr(devid_last_error(), "no TPM reachable") != NULL, "clear message: %s",
          devid_last_error());
    CHECK(!timed() || took < 200, "no-TPM failure took %.1f ms", took);
    CHECK(printed == 0, "printed %lld bytes to stderr", (long long)printed);
    devid_core_fini();
}

static int setup(void)
{
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    core_up = true;
    return 0;
}

static void teardown(void)
{
    if (core_up)
        devid_core_fini();
}

int main(int argc, char **argv)
{
    variant = devid_test_arg(argc, argv, 0) ? devid_test_arg(argc, argv, 0) : "ecc";
    devid_test_fixture(setup, teardown);
    devid_test(test_identities, "/core/identities");
    if (strcmp(variant, "ecc") == 0 || strcmp(variant, "rsa") == 0) {
        devid_test(test_auth_key, "/core/auth-key");
        devid_test(test_threads, "/core/threads");
        devid_test(test_fork, "/core/fork");
        devid_test(test_tpm_restart, "/core/tpm-restart");
    }
    devid_test(test_no_tpm, "/core/no-tpm");
    char name[64];
    snprintf(name, sizeof(name), "test_core[%s]", variant);
    return devid_test_run(name, argc, argv);
}
