/* SPDX-License-Identifier: Apache-2.0 */
/* The store against a real (software) TPM: run under tests/fixture/with-swtpm VARIANT.
 * usage: test_store ecc|ek-only   (ek-only has no persistent SRK: the standard one is made) */
#include "devid_test.h"
#include "devid.h"
#include "tpm.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t store_count(void)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    CHECK_RC(devid_store_list(&e, &n), DEVID_OK);
    free(e);
    return n;
}

static devid_store_attrs attrs_of(const char *label, unsigned char id)
{
    devid_store_attrs a = { .id = { id }, .id_len = 1 };
    snprintf(a.label, sizeof(a.label), "%s", label);
    return a;
}

static bool ecdsa_verifies(devid_key *key, const unsigned char *d, size_t dlen)
{
    unsigned char sig[132], der[160];
    size_t siglen = sizeof(sig);
    if (devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, dlen, sig, &siglen) != DEVID_OK)
        return false;
    size_t derlen = devid_ecdsa_rs_to_der(sig, siglen, der, sizeof(der));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, devid_key_get_public(key), NULL);
    bool ok = derlen && ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_verify(ctx, der, derlen, d, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void gen(devid_key_type type, int size, bool decrypt, const char *auth, const char *label,
                unsigned char id, char uid[DEVID_UID_LEN + 1])
{
    devid_keygen p = { .type = type,
                       .sign = true,
                       .decrypt = decrypt,
                       .auth = auth,
                       .auth_len = auth ? strlen(auth) : 0 };
    if (type == DEVID_KEY_EC)
        p.curve_nid = size;
    else
        p.bits = size;
    devid_store_attrs a = attrs_of(label, id);
    CHECK_RC(devid_store_generate(&p, &a, uid), DEVID_OK);
}

static void test_ec_and_file(void)
{
    char uid[DEVID_UID_LEN + 1] = "";
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "ec key", 1, uid);
    CHECK(store_count() == 1, "one object after generate");
    char path[4096];
    CHECK_RC(devid_store_key_path(uid, path, sizeof(path)), DEVID_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640,
          "key file mode %o (the "
          "default store_key_mode: group-readable)",
          st.st_mode & 07777);
    FILE *f = fopen(path, "r");
    char line[64] = "";
    CHECK(f && fgets(line, sizeof(line), f), "key file readable");
    if (f)
        fclose(f);
    CHECK(strcmp(line, "-----BEGIN TSS2 PRIVATE KEY-----\n") == 0, "TSS2 PEM: %s", line);

    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (key) {
        unsigned char d[32] = { 1 };
        CHECK(ecdsa_verifies(key, d, 32), "store EC key signs");
        /* Interop: Debian's tpm2-openssl reads our file and finds the same public key. */
        BIO *mine = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(mine, devid_key_get_public(key));
        char *mine_pem = NULL;
        long mine_len = BIO_get_mem_data(mine, &mine_pem);
        devid_tpm_disconnect(); /* swtpm serves one connection at a time */
        char cmd[8192];
        snprintf(cmd, sizeof(cmd),
                 "TPM2OPENSSL_TCTI=\"$DEVID_TCTI\" openssl pkey -provider tpm2 -provider default "
                 "-in '%s' -pubout 2>/dev/null",
                 path);
        /* tpm2-openssl 1.1 has no way to take the owner's auth value for the SRK it makes
         * (-hauth variants): the interop check needs an owner without one */
        bool owner_auth = devid_core_config()->owner_auth_file != NULL;
        FILE *p = owner_auth ? NULL : popen(cmd, "r");
        char theirs[4096] = "";
        size_t n = p ? fread(theirs, 1, sizeof(theirs) - 1, p) : 0;
        int st2 = p ? pclose(p) : -1;
        CHECK(owner_auth || (st2 == 0 && n == (size_t)mine_len && memcmp(theirs, mine_pem, n) == 0),
              "tpm2-openssl loads the store key file (exit %d, %zu bytes)", st2, n);
        BIO_free(mine);
        CHECK(ecdsa_verifies(key, d, 32), "key reloads after reconnect");
        devid_key_free(key);
    }
}

static void test_rsa_decrypt(void)
{
    char uid[DEVID_UID_LEN + 1] = "";
    gen(DEVID_KEY_RSA, 2048, true, NULL, "rsa key", 2, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (!key)
        return;
    CHECK((devid_key_get_flags(key) & (DEVID_KEY_CAN_SIGN | DEVID_KEY_CAN_DECRYPT)) ==
              (DEVID_KEY_CAN_SIGN | DEVID_KEY_CAN_DECRYPT),
          "sign+decrypt");
    const unsigned char msg[] = "secret for the TPM";
    unsigned char ct[256], pt[256];
    size_t ctlen = sizeof(ct), ptlen = sizeof(pt);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, devid_key_get_public(key), NULL);
    CHECK(ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
              EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)) == 1,
          "OAEP encrypt");
    EVP_PKEY_CTX_free(ctx);
    CHECK_RC(devid_key_decrypt(key, DEVID_DEC_RSA_OAEP, NID_sha256, NULL, 0, ct, ctlen, pt, &ptlen),
             DEVID_OK);
    CHECK(ptlen == sizeof(msg) && memcmp(pt, msg, ptlen) == 0, "OAEP round trip");

    ctlen = sizeof(ct);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, devid_key_get_public(key), NULL);
    CHECK(ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
              EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)) == 1,
          "PKCS#1 encrypt");
    EVP_PKEY_CTX_free(ctx);
    ptlen = sizeof(pt);
    CHECK_RC(devid_key_decrypt(key, DEVID_DEC_RSA_PKCS1, 0, NULL, 0, ct, ctlen, pt, &ptlen),
             DEVID_OK);
    CHECK(ptlen == sizeof(msg) && memcmp(pt, msg, ptlen) == 0, "PKCS#1 round trip");
    ptlen = 3;
    CHECK_RC(devid_key_decrypt(key, DEVID_DEC_RSA_PKCS1, 0, NULL, 0, ct, ctlen, pt, &ptlen),
             DEVID_ERR_BUFFER);
    CHECK_RC(devid_key_decrypt(key, DEVID_DEC_RSA_PKCS1, 0, NULL, 0, ct, ctlen - 1, pt, &ptlen),
             DEVID_ERR_ARG);
    devid_key_free(key);
}

static void test_ecdh(void)
{
    char uid[DEVID_UID_LEN + 1] = "";
    gen(DEVID_KEY_EC, NID_secp384r1, true, NULL, "ecdh key", 3, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (!key)
        return;
    EVP_PKEY *peer = EVP_EC_gen("P-384");
    unsigned char point[97], z_tpm[48], z_sw[48];
    size_t plen = 0, zlen = sizeof(z_tpm), swlen = sizeof(z_sw);
    EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &plen);
    CHECK_RC(devid_key_ecdh(key, point, plen, z_tpm, &zlen), DEVID_OK);
    unsigned char d48[48] = { 3 };
    CHECK(ecdsa_verifies(key, d48, 48), "P-384 ECDSA over a SHA-384 digest");
    CHECK(ecdsa_verifies(key, d48, 32), "P-384 ECDSA over a shorter digest");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    CHECK(ctx && EVP_PKEY_derive_init(ctx) == 1 &&
              EVP_PKEY_derive_set_peer(ctx, devid_key_get_public(key)) == 1 &&
              EVP_PKEY_derive(ctx, z_sw, &swlen) == 1,
          "software ECDH");
    CHECK(zlen == 48 && swlen == 48 && memcmp(z_tpm, z_sw, 48) == 0, "TPM and software agree");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    point[0] = 0x02;
    CHECK_RC(devid_key_ecdh(key, point, plen, z_tpm, &zlen), DEVID_ERR_ARG);
    devid_key_free(key);
}

static void test_auth_and_slots(void)
{
    char uid[DEVID_UID_LEN + 1] = "";
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, "1234", "pin key", 4, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    unsigned char d[32] = { 2 }, sig[64];
    size_t siglen = sizeof(sig);
    if (key) {
        CHECK_RC(devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 32, sig, &siglen), DEVID_ERR_AUTH);
        devid_key_set_auth(key, "1234", 4);
        CHECK(ecdsa_verifies(key, d, 32), "key with auth signs once authorised");
        devid_key_free(key);
    }
    /* More loaded keys than the TPM has object slots: the least recently used is evicted. */
    enum { N = 6 };
    devid_key *keys[N] = { 0 };
    for (int i = 0; i < N; i++) {
        char label[16];
        snprintf(label, sizeof(label), "slot %d", i);
        gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, label, (unsigned char)(10 + i), uid);
        CHECK_RC(devid_store_open_key(uid, &keys[i]), DEVID_OK);
    }
    int ok = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++)
            ok += keys[i] && ecdsa_verifies(keys[i], d, 32);
    CHECK(ok == 3 * N, "%d of %d round-robin signatures over %d keys", ok, 3 * N, N);
    for (int i = 0; i < N; i++)
        devid_key_free(keys[i]);
}

static X509 *issue_cert(EVP_PKEY *subject_key)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256");
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"store test", -1, -1,
                               0);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_set_subject_name(c, n);
    X509_set_issuer_name(c, n);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, subject_key);
    X509_sign(c, ca, EVP_sha256());
    X509_NAME_free(n);
    EVP_PKEY_free(ca);
    return c;
}

static void test_certs_attrs_delete(void)
{
    char uid[DEVID_UID_LEN + 1] = "";
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "with cert", 20, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (!key)
        return;
    X509 *cert = issue_cert(devid_key_get_public(key));
    CHECK_RC(devid_store_put_cert(uid, cert, NULL, NULL), DEVID_OK);
    X509 *back = NULL;
    CHECK_RC(devid_store_read_cert(uid, &back), DEVID_OK);
    CHECK(back && X509_cmp(back, cert) == 0, "certificate round trip");
    X509_free(back);
    char lone[DEVID_UID_LEN + 1];
    devid_store_attrs la = attrs_of("lone cert", 30);
    CHECK_RC(devid_store_put_cert(NULL, cert, &la, lone), DEVID_OK);
    CHECK_RC(devid_store_put_cert("0123456789abcdef0123456789abcdef", cert, NULL, NULL),
             DEVID_ERR_NOT_FOUND);

    /* relabel: persisted, visible to a fresh listing (as another process would see it) */
    devid_store_attrs a;
    CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
    snprintf(a.label, sizeof(a.label), "renamed %% = label\n");
    CHECK_RC(devid_store_set_attrs(uid, &a), DEVID_OK);
    devid_store_attrs b;
    CHECK_RC(devid_store_get_attrs(uid, &b), DEVID_OK);
    CHECK(strcmp(b.label, "renamed % = label\n") == 0, "label round trip: '%s'", b.label);
    CHECK(b.id_len == 1 && b.id[0] == 20, "id kept");

    CHECK_RC(devid_store_delete(uid, DEVID_STORE_KEY), DEVID_OK);
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_store_list(&e, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].uid, uid) == 0)
            found = !e[i].has_key && e[i].has_cert;
    free(e);
    CHECK(found, "certificate stays when its key is deleted");
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_CERT), DEVID_OK);
    CHECK_RC(devid_store_get_attrs(uid, &b), DEVID_ERR_NOT_FOUND);
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_CERT), DEVID_ERR_NOT_FOUND);
    CHECK_RC(devid_store_delete("../../etc/passwd", DEVID_STORE_KEY), DEVID_ERR_ARG);
    /* every change refuses a malformed id the same way, before taking the store lock */
    CHECK_RC(devid_store_set_attrs("../../etc/passwd", &a), DEVID_ERR_ARG);
    X509_free(cert);
    devid_key_free(key);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_corruption(void)
{
    size_t before = store_count();
    char uid[DEVID_UID_LEN + 1] = "", uid2[DEVID_UID_LEN + 1] = "", path[4096];
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "victim", 40, uid);
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "bystander", 41, uid2);
    /* a corrupted attribute file hides that object only */
    snprintf(path, sizeof(path), "%s/%s.attr", getenv("DEVID_STORE"), uid);
    write_text(path, "label=%zz\n");
    CHECK(store_count() == before + 1, "corrupted object skipped, the other listed");
    /* a corrupted key file is an error, not a crash */
    CHECK_RC(devid_store_key_path(uid2, path, sizeof(path)), DEVID_OK);
    write_text(path, "-----BEGIN TSS2 PRIVATE KEY-----\nAAAA\n-----END TSS2 PRIVATE KEY-----\n");
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid2, &key), DEVID_ERR_FORMAT);
    write_text(path, "garbage");
    CHECK_RC(devid_store_open_key(uid2, &key), DEVID_ERR_FORMAT);
    devid_store_attrs a;
    CHECK_RC(devid_store_parse_attrs("label=x\nbogus=1\n", 17, &a), DEVID_ERR_FORMAT);
    CHECK_RC(devid_store_parse_attrs("id=abc\n", 7, &a), DEVID_ERR_FORMAT);
    CHECK_RC(devid_store_parse_attrs("label=a%00b\n", 12, &a), DEVID_ERR_FORMAT);
}

static bool file_has(const char *uid, const char *what)
{
    char path[4096], text[4096] = "";
    snprintf(path, sizeof(path), "%s/%s.attr", getenv("DEVID_STORE"), uid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    return strstr(text, what) != NULL;
}

/* Each object of a group has its own label and id: a rename changes one object, in one
 * atomic write; renames of two objects by two processes at once are both kept; groups whose
 * objects share one name keep the file format of before (one label per group). */
static void test_object_names(void)
{
    char uid[DEVID_UID_LEN + 1] = "", path[4096];
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "pair", 50, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    X509 *cert = key ? issue_cert(devid_key_get_public(key)) : NULL;
    CHECK_RC(devid_store_put_cert(uid, cert, NULL, NULL), DEVID_OK);
    /* a file of the older format: one name for the group */
    snprintf(path, sizeof(path), "%s/%s.attr", getenv("DEVID_STORE"), uid);
    write_text(path, "# devid store object\nlabel=pair\nid=32\npublic_hidden=0\n");
    devid_store_attrs a;
    size_t len = 0;
    CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
    CHECK(!strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_PUBLIC), "pair") &&
              !strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_CERT), "pair") &&
              devid_store_id_of(&a, DEVID_STORE_OBJ_CERT, &len)[0] == 50 && len == 1,
          "an older file names every object of the group");

    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_PUBLIC, "pair-new", NULL, 0, &a), DEVID_OK);
    CHECK(!strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_PUBLIC), "pair-new") &&
              !strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_KEY), "pair") &&
              !strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_CERT), "pair"),
          "renaming the public key renames it only");
    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_KEY, "pair-new", (const unsigned char *)"\x07",
                                1, &a),
             DEVID_OK);
    CHECK(!strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_CERT), "pair") &&
              devid_store_id_of(&a, DEVID_STORE_OBJ_CERT, &len)[0] == 50 &&
              devid_store_id_of(&a, DEVID_STORE_OBJ_PUBLIC, &len)[0] == 50 &&
              devid_store_id_of(&a, DEVID_STORE_OBJ_KEY, &len)[0] == 7,
          "renaming the key leaves the certificate and the public key's id");
    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_CERT, "pair-new",
                                (const unsigned char *)"\x07", 1, NULL),
             DEVID_OK);
    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_PUBLIC, NULL, (const unsigned char *)"\x07", 1,
                                &a),
             DEVID_OK);
    CHECK(!a.pub.own && !a.cert.own && !file_has(uid, "public_label") &&
              !file_has(uid, "cert_label"),
          "one name again: the file is in the older format");

    /* two processes rename the public and the private key at once: both renames stay */
    for (int round = 0; round < 5; round++) {
        for (int p = 0; p < 2; p++)
            if (fork() == 0) {
                char label[32];
                snprintf(label, sizeof(label), "r%d-%s", round, p ? "public" : "private");
                _exit(devid_store_rename(uid, p ? DEVID_STORE_OBJ_PUBLIC : DEVID_STORE_OBJ_KEY,
                                         label, NULL, 0, NULL) != DEVID_OK);
            }
        int failed = 0, st;
        for (int p = 0; p < 2; p++)
            failed += wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        char want_pub[32], want_key[32];
        snprintf(want_pub, sizeof(want_pub), "r%d-public", round);
        snprintf(want_key, sizeof(want_key), "r%d-private", round);
        CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
        CHECK(!failed && !strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_PUBLIC), want_pub) &&
                  !strcmp(devid_store_label_of(&a, DEVID_STORE_OBJ_KEY), want_key),
              "concurrent renames, round %d: public '%s', key '%s'", round,
              devid_store_label_of(&a, DEVID_STORE_OBJ_PUBLIC),
              devid_store_label_of(&a, DEVID_STORE_OBJ_KEY));
    }
    /* a certificate's own name goes with it: the next one starts with the group's */
    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_CERT, "old cert", NULL, 0, NULL), DEVID_OK);
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_CERT), DEVID_OK);
    CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
    CHECK(!a.cert.own, "the deleted certificate's name stays behind");
    CHECK_RC(devid_store_rename("0123456789abcdef0123456789abcdef", DEVID_STORE_OBJ_KEY, "x", NULL,
                                0, NULL),
             DEVID_ERR_NOT_FOUND);
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_KEY), DEVID_OK);
    X509_free(cert);
    devid_key_free(key);
}

/* Several processes creating objects at once: every object complete, none lost. */
static void test_concurrent_writers(void)
{
    size_t before = store_count();
    for (int p = 0; p < 4; p++) {
        if (fork() == 0) {
            EVP_PKEY *subject = EVP_EC_gen("P-256");
            X509 *cert = issue_cert(subject);
            int bad = 0;
            for (int i = 0; i < 10; i++) {
                char label[32], uid[DEVID_UID_LEN + 1];
                snprintf(label, sizeof(label), "proc %d cert %d", p, i);
                devid_store_attrs a = attrs_of(label, (unsigned char)i);
                bad += devid_store_put_cert(NULL, cert, &a, uid) != DEVID_OK;
            }
            /* freed before _exit: valgrind checks the child's leaks too (and 3.24 counts
             * what a child holds at _exit as lost) */
            X509_free(cert);
            EVP_PKEY_free(subject);
            _exit(bad);
        }
    }
    int failed = 0;
    for (int p = 0; p < 4; p++) {
        int st;
        wait(&st);
        failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    CHECK(failed == 0, "%d writer processes failed", failed);
    CHECK(store_count() == before + 40, "all 40 objects present: %zu", store_count() - before);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool trash_left(void)
{
    DIR *d = opendir(devid_core_config()->store);
    bool found = false;
    for (struct dirent *de; d && (de = readdir(d));)
        found |= strncmp(de->d_name, ".trash-", 7) == 0;
    if (d)
        closedir(d);
    return found;
}

/* Re-initialising the token removes every group whole: key, certificate, attributes and the
 * chain file devid-enroll keeps next to a service identity, never the LDevID's chain file; a
 * removal a crash interrupted is finished by the next mutation. */
static size_t data_files(void)
{
    DIR *d = opendir(devid_core_config()->store);
    size_t n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        n += l > 4 && strcmp(de->d_name + l - 4, ".dat") == 0;
    }
    if (d)
        closedir(d);
    return n;
}

/* Data objects (PKCS#11 CKO_DATA token objects): a group of their own, listed only for those
 * that ask (a data object labelled like a service identity is no identity), read back,
 * deleted whole. */
static void test_data_objects(void)
{
    static const unsigned char value[] = "configuration\0with a NUL";
    devid_store_attrs a = attrs_of("svc-data", 0);
    a.id_len = 0;
    a.data_private = true;
    snprintf(a.application, sizeof(a.application), "devid test");
    memcpy(a.object_id, "\x06\x03\x2a\x03\x04", 5);
    a.object_id_len = 5;
    size_t keys = store_count();
    char uid[DEVID_UID_LEN + 1] = "";
    CHECK_RC(devid_store_put_data(value, sizeof(value), &a, uid), DEVID_OK);
    CHECK(store_count() == keys, "a data object listed as a key or certificate group");
    devid_store_entry *e = NULL;
    size_t n = 0, found = 0;
    CHECK_RC(devid_store_list_objects(&e, &n), DEVID_OK);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(e[i].uid, uid) != 0)
            continue;
        found++;
        CHECK(e[i].has_data && !e[i].has_key && !e[i].has_cert, "a data group");
        CHECK(e[i].attrs.data_private && !strcmp(e[i].attrs.application, "devid test") &&
                  e[i].attrs.object_id_len == 5 && !memcmp(e[i].attrs.object_id, a.object_id, 5) &&
                  !strcmp(e[i].attrs.label, "svc-data"),
              "data attributes read back");
    }
    free(e);
    CHECK(found == 1, "the data object listed for PKCS#11");
    unsigned char *v = NULL;
    size_t len = 0;
    CHECK_RC(devid_store_read_data(uid, &v, &len), DEVID_OK);
    CHECK(v && len == sizeof(value) && !memcmp(v, value, len), "the value read back");
    free(v);
    devid_store_attrs r;
    CHECK_RC(devid_store_rename(uid, DEVID_STORE_OBJ_KEY, "svc-data-2", NULL, 0, &r), DEVID_OK);
    CHECK(!strcmp(r.label, "svc-data-2") && !r.pub.own && !r.cert.own && r.data_private &&
              r.object_id_len == 5,
          "a data object renamed: no own names for objects it does not have");
    unsigned char *big = calloc(1, DEVID_DATA_MAX + 1);
    char uid2[DEVID_UID_LEN + 1] = "";
    CHECK_RC(devid_store_put_data(big, DEVID_DATA_MAX + 1, &a, uid2), DEVID_ERR_ARG);
    CHECK(data_files() == 1, "an oversized value was written");
    CHECK_RC(devid_store_put_data(big, DEVID_DATA_MAX, &a, uid2), DEVID_OK);
    free(big);
    CHECK_RC(devid_store_delete(uid2, DEVID_STORE_DATA), DEVID_OK);
    CHECK_RC(devid_store_get_attrs(uid2, &a), DEVID_ERR_NOT_FOUND);
    CHECK(data_files() == 1, "a deleted data object left its value");
    devid_clear_error();
}

static const char *variant = "ecc"; /* the fixture variant (argument 1) */

/* Runs after test_data_objects (a step): its data object is still there. */
static void test_clear_whole_groups(void)
{
    const char *store = devid_core_config()->store;
    char uid[DEVID_UID_LEN + 1] = "", chain[4096], ldevid[4096], path[4096];
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "svc-a", 50, uid);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (!key)
        return;
    X509 *cert = issue_cert(devid_key_get_public(key));
    CHECK_RC(devid_store_put_cert(uid, cert, NULL, NULL), DEVID_OK);
    snprintf(chain, sizeof(chain), "%s/svc-a-chain.pem", store);
    write_text(chain, "chain of svc-a\n");
    snprintf(ldevid, sizeof(ldevid), "%s/ldevid-chain.pem", store);
    bool had_ldevid = exists(ldevid);
    CHECK(had_ldevid == (strcmp(variant, "ecc") == 0), "fixture's LDevID chain file");

    /* a removal interrupted after its first step: the group out of listings, its parts not */
    char uid2[DEVID_UID_LEN + 1] = "", trash[4096], chain2[4096];
    gen(DEVID_KEY_EC, NID_X9_62_prime256v1, false, NULL, "svc-b", 51, uid2);
    snprintf(chain2, sizeof(chain2), "%s/svc-b-chain.pem", store);
    write_text(chain2, "chain of svc-b\n");
    snprintf(trash, sizeof(trash), "%s/.trash-%s", store, uid2);
    CHECK(mkdir(trash, 0700) == 0, "trash dir");
    snprintf(path, sizeof(path), "%s/%s.attr", store, uid2);
    char moved[8192];
    snprintf(moved, sizeof(moved), "%s/%s.attr", trash, uid2);
    CHECK(rename(path, moved) == 0, "first step of an interrupted removal");
    size_t before = store_count();
    devid_store_attrs a;
    CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
    CHECK_RC(devid_store_set_attrs(uid, &a), DEVID_OK); /* any mutation finishes it */
    CHECK(!exists(trash) && !exists(chain2), "the interrupted removal was finished");
    CHECK_RC(devid_store_key_path(uid2, path, sizeof(path)), DEVID_OK);
    CHECK(!exists(path), "its key file too");
    CHECK(store_count() == before, "no other group touched");

    CHECK(data_files() == 1, "the data object of test_data_objects");
    CHECK_RC(devid_store_clear(), DEVID_OK);
    CHECK(store_count() == 0, "clear empties the store");
    CHECK(data_files() == 0, "clear removes data objects");
    CHECK(!exists(chain), "the service identity's chain file went with its group");
    CHECK(exists(ldevid) == had_ldevid, "the LDevID's chain file is no store object: kept");
    CHECK(!trash_left(), "no trash left");
    DIR *d = opendir(store);
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        CHECK(n < 5 || (strcmp(de->d_name + n - 4, ".key") && strcmp(de->d_name + n - 4, ".crt") &&
                        strcmp(de->d_name + n - 5, ".attr")),
              "left behind: %s", de->d_name);
    }
    if (d)
        closedir(d);
    X509_free(cert);
    devid_key_free(key);
}

static int setup(void)
{
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    return 0;
}

static void test_fresh_is_empty(void)
{
    CHECK(store_count() == 0, "fresh store is empty (ldevid-chain.pem is no store object)");
}

int main(int argc, char **argv)
{
    if (devid_test_arg(argc, argv, 0))
        variant = devid_test_arg(argc, argv, 0);
    char name[64];
    snprintf(name, sizeof(name), "test_store[%s]", variant);
    devid_test_fixture(setup, devid_core_fini);
    devid_test(test_fresh_is_empty, "/store/fresh-is-empty");
    devid_test(test_ec_and_file, "/store/ec-and-file");
    devid_test(test_rsa_decrypt, "/store/rsa-decrypt");
    devid_test(test_ecdh, "/store/ecdh");
    devid_test(test_auth_and_slots, "/store/auth-and-slots");
    devid_test(test_certs_attrs_delete, "/store/certs-attrs-delete");
    devid_test(test_corruption, "/store/corruption");
    devid_test(test_object_names, "/store/object-names");
    devid_test(test_concurrent_writers, "/store/concurrent-writers");
    devid_test(test_data_objects, "/store/data-objects");
    devid_test_step(test_clear_whole_groups, "/store/clear-whole-groups");
    return devid_test_run(name, argc, argv);
}
