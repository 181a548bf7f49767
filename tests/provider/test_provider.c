/* SPDX-License-Identifier: Apache-2.0 */
/* The provider in-process, against the swtpm fixture (run under tests/fixture/with-swtpm):
 *   - TPM commands per mutual-TLS handshake (TLS 1.2 and 1.3): exactly one after the key is
 *     loaded (the CertificateVerify signature);
 *   - 8 threads x 200 signatures with one key, each verified;
 *   - fork: a key loaded in the parent signs in the child;
 *   - routing: with devid loaded first or second, operations on TPM keys reach devid and
 *     operations on the default provider's keys (a certificate's public key) never do;
 *   - bad input: malformed URIs, corrupted key files, wrong PINs are errors, not crashes.
 * usage: test_provider PROVIDER_DIR [bench]   (bench: handshakes/s, TPM key vs software key)
 * (and the runner's -p PATH, -l: tests/lib/devid_test.h) */
#include "devid_test.h"
#include "tpm.h" /* devid_tpm_command_count (core-internal; tests only) */

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *fixture;
static const char *provider_dir;

static EVP_PKEY *load_key_ex(OSSL_LIB_CTX *lib, const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, lib, NULL, NULL, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;
    if (!st)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (!pk && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (!info)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pk;
}

static EVP_PKEY *load_key(const char *uri)
{
    return load_key_ex(NULL, uri);
}

static X509 *load_cert_ex(OSSL_LIB_CTX *lib, const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, lib, NULL, NULL, NULL, NULL, NULL, NULL);
    X509 *c = NULL;
    if (!st)
        return NULL;
    while (!c && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (!info)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_CERT)
            c = OSSL_STORE_INFO_get1_CERT(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return c;
}

static X509 *load_cert(const char *uri)
{
    return load_cert_ex(NULL, uri);
}

/* ---- signatures ---- */

static bool sign_verify(EVP_PKEY *key, EVP_PKEY *pub, const char *msg)
{
    unsigned char sig[600];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    bool ok = s && v && EVP_DigestSignInit_ex(s, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
              EVP_DigestSign(s, sig, &siglen, (const unsigned char *)msg, strlen(msg)) == 1 &&
              EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, "provider=default", pub, NULL) ==
                  1 &&
              EVP_DigestVerify(v, sig, siglen, (const unsigned char *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);
    return ok;
}

/* RSA-PSS with the salt length set to -4 (RSA_PSS_SALTLEN_AUTO_DIGEST_MAX, OpenSSL >= 3.1's
 * default for signing), through the params API: devid signs with salt = digest length, and the
 * default provider alone verifies with exactly that salt length. OpenSSL 3.0 has no -4: the
 * provider must accept it anyway (tests run on both). */
static void test_pss_auto_digest_max(EVP_PKEY *key, EVP_PKEY *pub)
{
    static const char msg[] = "PSS with auto-digestmax";
    unsigned char sig[600];
    size_t siglen = sizeof(sig);
    EVP_PKEY_CTX *sctx = NULL, *vctx = NULL;
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    int pad = RSA_PKCS1_PSS_PADDING, salt = -4, digest_len = 32;
    OSSL_PARAM sp[] = { OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad),
                        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &salt), OSSL_PARAM_END };
    OSSL_PARAM vp[] = { OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad),
                        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &digest_len),
                        OSSL_PARAM_END };
    bool init = s && v && EVP_DigestSignInit_ex(s, &sctx, "SHA256", NULL, NULL, key, NULL) == 1;
    bool set = init && EVP_PKEY_CTX_set_params(sctx, sp) == 1;
    bool sign = set &&
                EVP_DigestSign(s, sig, &siglen, (const unsigned char *)msg, strlen(msg)) == 1;
    bool verify = sign &&
                  EVP_DigestVerifyInit_ex(v, &vctx, "SHA256", NULL, "provider=default", pub, vp) ==
                      1 &&
                  EVP_DigestVerify(v, sig, siglen, (const unsigned char *)msg, strlen(msg)) == 1;
    CHECK(init && set && sign && verify,
          "PSS saltlen -4 (auto-digestmax): init %d set %d sign %d verify(salt 32) %d", init, set,
          sign, verify);
    if (!verify)
        ERR_print_errors_fp(stderr);
    ERR_clear_error();
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);
}

typedef struct thread_arg {
    EVP_PKEY *key, *pub;
    int good;
} thread_arg;

static void *signer(void *p)
{
    thread_arg *a = p;
    char msg[64];
    for (int i = 0; i < 200; i++) {
        snprintf(msg, sizeof(msg), "message %d from %p", i, p);
        if (sign_verify(a->key, a->pub, msg))
            a->good++;
    }
    ERR_clear_error();
    return NULL;
}

static void test_threads(EVP_PKEY *key, EVP_PKEY *pub)
{
    pthread_t t[8];
    thread_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (thread_arg){ key, pub, 0 };
        CHECK(pthread_create(&t[i], NULL, signer, &a[i]) == 0, "thread %d", i);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += a[i].good;
    }
    CHECK(total == 8 * 200, "%d of 1600 signatures from 8 threads verified", total);
}

static void test_fork(EVP_PKEY *key, EVP_PKEY *pub)
{
    CHECK(sign_verify(key, pub, "parent before fork"), "parent signs");
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < 5; i++)
            bad += !sign_verify(key, pub, "child");
        _exit(bad ? 1 : 0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "child signs with the key loaded in the parent (status %d)", st);
    CHECK(sign_verify(key, pub, "parent after fork"), "parent still signs after the fork");
}

/* ---- mutual TLS in memory ---- */

static SSL_CTX *server_ctx(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *c = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    X509_STORE *ts = ctx ? SSL_CTX_get_cert_store(ctx) : NULL;
    char trust[512];
    snprintf(trust, sizeof(trust), "%s/pki/trust.pem", fixture);
    bool ok = k && c && ctx && X509_set_version(c, 2) &&
              ASN1_INTEGER_set(X509_get_serialNumber(c), 1) &&
              X509_gmtime_adj(X509_getm_notBefore(c), -60) &&
              X509_gmtime_adj(X509_getm_notAfter(c), 3600) &&
              X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                                         (const unsigned char *)"server", -1, -1, 0) &&
              X509_set_issuer_name(c, X509_get_subject_name(c)) && X509_set_pubkey(c, k) &&
              X509_sign(c, k, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, c) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, k) == 1 && X509_STORE_load_file(ts, trust) == 1;
    CHECK(ok, "server context");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    EVP_PKEY_free(k);
    X509_free(c);
    return ctx;
}

static bool handshake(SSL_CTX *sctx, SSL_CTX *cctx)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb = NULL, *cb = NULL;
    bool ok = s && c && BIO_new_bio_pair(&sb, 0, &cb, 0) == 1;
    if (ok) {
        SSL_set_bio(s, sb, sb);
        SSL_set_bio(c, cb, cb);
        SSL_set_accept_state(s);
        SSL_set_connect_state(c);
        int sdone = 0, cdone = 0;
        for (int i = 0; i < 100 && !(sdone && cdone); i++) {
            if (!cdone) {
                int r = SSL_do_handshake(c);
                if (r == 1)
                    cdone = 1;
                else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                    break;
            }
            if (!sdone) {
                int r = SSL_do_handshake(s);
                if (r == 1)
                    sdone = 1;
                else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                    break;
            }
        }
        /* TLS 1.3: the server's verdict on the client certificate arrives after the client
         * has finished; a byte each way settles it. */
        char buf[1];
        ok = sdone && cdone && SSL_write(c, "x", 1) == 1 && SSL_read(s, buf, 1) == 1 &&
             SSL_get_verify_result(s) == X509_V_OK && SSL_get0_peer_certificate(s) != NULL;
    }
    if (!ok)
        ERR_print_errors_fp(stderr);
    SSL_free(s);
    SSL_free(c);
    return ok;
}

static void test_tls(const char *obj)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "devid:object=%s", obj);
    EVP_PKEY *key = load_key(uri);
    snprintf(uri, sizeof(uri), "devid:object=%s;type=cert", obj);
    X509 *cert = load_cert(uri);
    CHECK(key && cert, "%s key and certificate load", obj);
    SSL_CTX *sctx = server_ctx();
    for (int v = 0; v < 2; v++) {
        int ver = v ? TLS1_3_VERSION : TLS1_2_VERSION;
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        CHECK(cctx && SSL_CTX_use_certificate(cctx, cert) == 1 &&
                  SSL_CTX_use_PrivateKey(cctx, key) == 1 &&
                  SSL_CTX_set_min_proto_version(cctx, ver) &&
                  SSL_CTX_set_max_proto_version(cctx, ver),
              "client context");
        SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
        CHECK(handshake(sctx, cctx), "%s first handshake, TLS 1.%d", obj, 2 + v);
        int exact = 0;
        for (int i = 0; i < 10; i++) {
            uint64_t before = devid_tpm_command_count();
            bool ok = handshake(sctx, cctx);
            uint64_t n = devid_tpm_command_count() - before;
            exact += ok && n == 1;
            if (!ok || n != 1)
                fprintf(stderr, "%s TLS 1.%d handshake %d: ok=%d, %llu TPM commands\n", obj, 2 + v,
                        i, ok, (unsigned long long)n);
        }
        CHECK(exact == 10, "%s TLS 1.%d: %d of 10 handshakes with exactly one TPM command", obj,
              2 + v, exact);
        SSL_CTX_free(cctx);
    }
    SSL_CTX_free(sctx);
    EVP_PKEY_free(key);
    X509_free(cert);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Full mutual-TLS 1.3 handshakes per second in one process: client key in the TPM vs a
 * software client key (both sides in this process, so the server's work is included). */
static void bench(void)
{
    bool no_tpm = getenv("DEVID_BENCH_SOFTWARE_ONLY") != NULL; /* devid not loaded */
    EVP_PKEY *tpm = no_tpm ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                           : load_key("devid:object=IDevID");
    X509 *tcert = no_tpm ? X509_new() : load_cert("devid:object=IDevID;type=cert");
    EVP_PKEY *soft = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *scert = X509_new();
    CHECK(tpm && tcert && soft && scert, "bench keys");
    if (!tpm || !tcert || !soft || !scert)
        return;
    /* the software client certificate: self-signed, so the server accepts it via its store */
    X509_set_version(scert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(scert), 2);
    X509_gmtime_adj(X509_getm_notBefore(scert), -60);
    X509_gmtime_adj(X509_getm_notAfter(scert), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(scert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"soft", -1, -1, 0);
    X509_set_issuer_name(scert, X509_get_subject_name(scert));
    X509_set_pubkey(scert, soft);
    X509_sign(scert, soft, EVP_sha256());
    if (!no_tpm) {
        /* signatures/s through the provider (digest-sign: software SHA-256 + one TPM2_Sign) */
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        unsigned char sig[600];
        int n = 0;
        double t0 = now_s();
        while (now_s() - t0 < 2.0) {
            size_t siglen = sizeof(sig);
            n += EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, tpm, NULL) == 1 &&
                 EVP_DigestSign(m, sig, &siglen, (const unsigned char *)"x", 1) == 1;
        }
        printf("TPM key: %.0f signatures/s through the provider\n", n / (now_s() - t0));
        EVP_MD_CTX_free(m);
    }
    SSL_CTX *sctx = server_ctx();
    X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), scert);
    double rate[2];
    for (int k = no_tpm ? 1 : 0; k < 2; k++) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_use_certificate(cctx, k ? scert : tcert);
        SSL_CTX_use_PrivateKey(cctx, k ? soft : tpm);
        SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
        handshake(sctx, cctx);
        int n = 0;
        uint64_t cmds = devid_tpm_command_count();
        double t0 = now_s();
        while (now_s() - t0 < 3.0)
            n += handshake(sctx, cctx);
        rate[k] = n / (now_s() - t0);
        printf("%s key: %.0f handshakes/s, %.2f TPM commands per handshake\n",
               k ? "software" : "TPM", rate[k],
               n ? (double)(devid_tpm_command_count() - cmds) / n : 0.0);
        SSL_CTX_free(cctx);
    }
    if (!no_tpm)
        printf("ratio TPM/software: %.2f\n", rate[0] / rate[1]);
    SSL_CTX_free(sctx);
    EVP_PKEY_free(tpm);
    EVP_PKEY_free(soft);
    X509_free(tcert);
    X509_free(scert);
}

/* ---- routing ---- */

static const char *op_provider(EVP_PKEY_CTX *c)
{
    const OSSL_PROVIDER *p = c ? EVP_PKEY_CTX_get0_provider(c) : NULL;
    return p ? OSSL_PROVIDER_get0_name(p) : "(none)";
}

static const char *key_provider(const EVP_PKEY *k)
{
    const OSSL_PROVIDER *p = k ? EVP_PKEY_get0_provider(k) : NULL;
    return p ? OSSL_PROVIDER_get0_name(p) : "(none)";
}

/* The TPM key signs in devid; the certificate's key verifies (and encrypts to, for RSA) in
 * default; the signature verifies. */
static void routing_tpm_key(OSSL_LIB_CTX *lib, const char *order, EVP_PKEY *key, EVP_PKEY *pub)
{
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    EVP_PKEY_CTX *sp = NULL, *vp = NULL;
    unsigned char sig[600];
    size_t siglen = sizeof(sig);
    const unsigned char msg[] = "routing";
    bool ok = s && v && EVP_DigestSignInit_ex(s, &sp, "SHA256", lib, NULL, key, NULL) == 1 &&
              EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) == 1 &&
              EVP_DigestVerifyInit_ex(v, &vp, "SHA256", lib, NULL, pub, NULL) == 1 &&
              EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;
    CHECK(ok, "%s: TPM signature verifies with the certificate's key", order);
    CHECK(strcmp(op_provider(sp), "devid") == 0, "%s: digest-sign with the TPM key runs in %s",
          order, op_provider(sp));
    CHECK(strcmp(op_provider(vp), "default") == 0,
          "%s: digest-verify with the certificate's key runs in %s", order, op_provider(vp));
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);

    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(lib, pub, NULL);
    CHECK(pc && EVP_PKEY_verify_init(pc) == 1 && strcmp(op_provider(pc), "default") == 0,
          "%s: verify with the certificate's key runs in %s", order, op_provider(pc));
    EVP_PKEY_CTX_free(pc);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        pc = EVP_PKEY_CTX_new_from_pkey(lib, pub, NULL);
        CHECK(pc && EVP_PKEY_encrypt_init(pc) == 1 && strcmp(op_provider(pc), "default") == 0,
              "%s: RSA encryption to the certificate's key runs in %s", order, op_provider(pc));
        EVP_PKEY_CTX_free(pc);
    }
}

/* Decoding a public key (every certificate a TLS peer sends) skips devid's key decoders,
 * which only read private key files; the TSS2 PEM->DER step the file: loader needs is
 * the one decoder of devid's that remains in the chain. */
static void routing_public_decode(OSSL_LIB_CTX *lib, const char *order)
{
    OSSL_LIB_CTX *plain = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *pd = plain ? OSSL_PROVIDER_load(plain, "default") : NULL;
    EVP_PKEY *out = NULL;
    OSSL_DECODER_CTX *dd = pd ? OSSL_DECODER_CTX_new_for_pkey(&out, "DER", "SubjectPublicKeyInfo",
                                                              NULL, EVP_PKEY_PUBLIC_KEY, plain,
                                                              NULL)
                              : NULL;
    OSSL_DECODER_CTX *dx = OSSL_DECODER_CTX_new_for_pkey(&out, "DER", "SubjectPublicKeyInfo", NULL,
                                                         EVP_PKEY_PUBLIC_KEY, lib, NULL);
    int nd = dd ? OSSL_DECODER_CTX_get_num_decoders(dd) : -1;
    int nx = dx ? OSSL_DECODER_CTX_get_num_decoders(dx) : -1;
    CHECK(nd > 0 && nx >= nd && nx <= nd + 1,
          "%s: a public-key decode uses %d decoders with devid loaded, %d without", order, nx, nd);
    OSSL_DECODER_CTX_free(dd);
    OSSL_DECODER_CTX_free(dx);
    OSSL_PROVIDER_unload(pd);
    OSSL_LIB_CTX_free(plain);
}

/* The application's own software key (of the certificate's type): generated by whichever
 * "EC"/"RSA" key manager OpenSSL fetches (devid's hands generation to default). */
static void routing_software_key(OSSL_LIB_CTX *lib, const char *order, EVP_PKEY *pub)
{
    EVP_PKEY *soft = EVP_PKEY_is_a(pub, "RSA") ? EVP_PKEY_Q_keygen(lib, NULL, "RSA", (size_t)2048)
                                               : EVP_PKEY_Q_keygen(lib, NULL, "EC", "P-256");
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    unsigned char sig[600];
    size_t siglen = sizeof(sig);
    const unsigned char msg[] = "routing";
    bool ok = soft && s && v &&
              EVP_DigestSignInit_ex(s, NULL, "SHA256", lib, NULL, soft, NULL) == 1 &&
              EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) == 1 &&
              EVP_DigestVerifyInit_ex(v, NULL, "SHA256", lib, NULL, soft, NULL) == 1 &&
              EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;
    CHECK(ok, "%s: a software key (key manager: %s) signs and verifies", order, key_provider(soft));
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);
    EVP_PKEY_free(soft);
}

/* Which provider each operation lands in, in a library context where devid is loaded
 * first or second. A software key of the application's own (whichever key manager OpenSSL
 * picked for it) must still sign and verify. */
static void test_routing(bool devid_first)
{
    const char *order = devid_first ? "devid first" : "default first";
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    if (lib && OSSL_PROVIDER_set_default_search_path(lib, provider_dir) != 1) {
        OSSL_LIB_CTX_free(lib);
        lib = NULL;
    }
    OSSL_PROVIDER *a = lib ? OSSL_PROVIDER_load(lib, devid_first ? "devid" : "default") : NULL;
    OSSL_PROVIDER *b = lib ? OSSL_PROVIDER_load(lib, devid_first ? "default" : "devid") : NULL;
    CHECK(a && b, "%s: providers load", order);
    EVP_PKEY *key = a && b ? load_key_ex(lib, "devid:object=IDevID") : NULL;
    X509 *cert = a && b ? load_cert_ex(lib, "devid:object=IDevID;type=cert") : NULL;
    EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
    CHECK(key && pub, "%s: IDevID key and certificate load", order);
    if (key && pub) {
        CHECK(strcmp(key_provider(key), "devid") == 0 && strcmp(key_provider(pub), "default") == 0,
              "%s: the TPM key is devid's (%s), the certificate's key default's (%s)", order,
              key_provider(key), key_provider(pub));
        routing_tpm_key(lib, order, key, pub);
        routing_public_decode(lib, order);
        routing_software_key(lib, order, pub);
    }
    if (!ERR_peek_error())
        ERR_clear_error();
    else
        ERR_print_errors_fp(stderr);
    EVP_PKEY_free(key);
    X509_free(cert);
    OSSL_PROVIDER_unload(b);
    OSSL_PROVIDER_unload(a);
    OSSL_LIB_CTX_free(lib);
}

/* ---- bad input ---- */

static void test_bad_uris(void)
{
    static const char *const bad[] = {
        "devid:object",
        "devid:=x",
        "devid:object=IDevID;object=LDevID",
        "devid:foo=bar",
        "devid:type=secret",
        "devid:handle=0x01c90000",
        "devid:handle=zz",
        "devid:id=%zz",
        "devid:id=%4",
        "devid:object=%00x",
        "devid:object=a b",
        "devid:object=IDevID?pin=1",
        "devid:object=IDevID?pin-value=a&pin-value=b",
        "devid:object=nosuchobject",
        "devid:handle=0x81ffffff",
        "devid:object=IDevID;type=cert?pin-source=/nonexistent",
        "devid:id=%01%02",
        "devid:object=" /* empty */,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ERR_clear_error();
        EVP_PKEY *k = load_key(bad[i]);
        unsigned long e = ERR_peek_last_error();
        CHECK(!k && e != 0, "bad URI %s: key %p, error %lx", bad[i], (void *)k, e);
        EVP_PKEY_free(k);
    }
    /* The error queue says where in devid an error was raised. */
    ERR_clear_error();
    EVP_PKEY_free(load_key("devid:foo=bar"));
    const char *file = NULL, *func = NULL;
    int line = 0;
    bool found = false;
    while (!found && ERR_get_error_all(&file, &line, &func, NULL, NULL) != 0)
        found = file && strstr(file, "ossl-provider/") && line > 0 && func && *func;
    CHECK(found, "a devid error names its source file, line and function");
    ERR_clear_error();
}

/* The fixture: both providers loaded from PROVIDER_DIR, once for all cases. */
static OSSL_PROVIDER *devid_prov, *default_prov;
/* The IDevID's key and certificate, loaded by the first case that needs them. */
static EVP_PKEY *idevid_key;
static X509 *idevid_cert;

static int setup(void)
{
    fixture = getenv("DEVID_FIXTURE");
    if (!provider_dir || !fixture) {
        fprintf(stderr, "usage: test_provider PROVIDER_DIR (under with-swtpm)\n");
        return 2;
    }
    CHECK(OSSL_PROVIDER_set_default_search_path(NULL, provider_dir) == 1, "search path");
    devid_prov = getenv("DEVID_BENCH_SOFTWARE_ONLY") ? OSSL_PROVIDER_load(NULL, "base")
                                                     : OSSL_PROVIDER_load(NULL, "devid");
    default_prov = OSSL_PROVIDER_load(NULL, "default");
    CHECK(devid_prov && default_prov, "providers load");
    if (!devid_prov || !default_prov) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    return 0;
}

static void teardown(void)
{
    EVP_PKEY_free(idevid_key);
    X509_free(idevid_cert);
    OSSL_PROVIDER_unload(devid_prov);
    OSSL_PROVIDER_unload(default_prov);
}

/* The IDevID key and its certificate's public key, or false (the cases that need them
 * check nothing more without them: /provider/idevid-matches-cert fails then). */
static bool idevid_pair(EVP_PKEY **key, EVP_PKEY **pub)
{
    if (!idevid_key && !idevid_cert) {
        idevid_key = load_key("devid:object=IDevID");
        idevid_cert = load_cert("devid:object=IDevID;type=cert");
    }
    *key = idevid_key;
    *pub = idevid_cert ? X509_get0_pubkey(idevid_cert) : NULL;
    return *key && *pub;
}

static void test_tls_object(const void *obj)
{
    test_tls(obj);
}

static void test_routing_order(const void *devid_first)
{
    test_routing(*(const bool *)devid_first);
}

static void test_idevid_matches_cert(void)
{
    EVP_PKEY *key, *pub;
    idevid_pair(&key, &pub);
    CHECK(key && pub && EVP_PKEY_eq(key, pub) == 1, "IDevID key matches its certificate");
}

static void test_idevid_pss(void)
{
    EVP_PKEY *key, *pub;
    if (idevid_pair(&key, &pub) && EVP_PKEY_is_a(key, "RSA"))
        test_pss_auto_digest_max(key, pub);
}

static void test_idevid_threads(void)
{
    EVP_PKEY *key, *pub;
    if (idevid_pair(&key, &pub))
        test_threads(key, pub);
}

static void test_idevid_fork(void)
{
    EVP_PKEY *key, *pub;
    if (idevid_pair(&key, &pub))
        test_fork(key, pub);
}

int main(int argc, char **argv)
{
    static const bool devid_first = true, default_first = false;
    provider_dir = devid_test_arg(argc, argv, 0);
    const char *mode = devid_test_arg(argc, argv, 1);
    devid_test_fixture(setup, teardown);
    if (mode && strcmp(mode, "bench") == 0) {
        devid_test(bench, "/provider/bench");
        return devid_test_run("test_provider bench", argc, argv);
    }
    devid_testx(test_tls_object, "IDevID", "/provider/tls/idevid");
    devid_testx(test_tls_object, "LDevID", "/provider/tls/ldevid");
    devid_testx(test_routing_order, &devid_first, "/provider/routing/devid-first");
    devid_testx(test_routing_order, &default_first, "/provider/routing/default-first");
    devid_test(test_idevid_matches_cert, "/provider/idevid/matches-cert");
    devid_test(test_idevid_pss, "/provider/idevid/pss-auto-digest-max");
    devid_test(test_idevid_threads, "/provider/idevid/threads");
    devid_test(test_idevid_fork, "/provider/idevid/fork");
    devid_test(test_bad_uris, "/provider/bad-uris");
    return devid_test_run("test_provider", argc, argv);
}
