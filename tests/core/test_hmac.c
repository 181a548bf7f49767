/* SPDX-License-Identifier: Apache-2.0 */
/* HMAC-SHA256 keys in the TPM (core/hmac.c), against swtpm: run under
 * tests/fixture/with-swtpm ecc. Generated keys are unknown, so they are checked for
 * determinism, key separation and verification; keys imported from known values
 * (devid_store_import_hmac) are checked against OpenSSL's HMAC, on both the one-command path
 * and the sequence path. */
#include "devid_test.h"
#include "devid.h"
#include "key_internal.h"
#include "keygen.h"
#include "session.h"
#include "tpm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static devid_store_attrs attrs_of(const char *label)
{
    devid_store_attrs a = { 0 };
    snprintf(a.label, sizeof(a.label), "%s", label);
    return a;
}

static devid_key *gen_hmac(const char *label, const char *auth, char uid[DEVID_UID_LEN + 1])
{
    devid_keygen p = { .type = DEVID_KEY_HMAC,
                       .sign = true,
                       .auth = auth,
                       .auth_len = auth ? strlen(auth) : 0 };
    devid_store_attrs a = attrs_of(label);
    devid_key *key = NULL;
    CHECK_RC(devid_store_generate(&p, &a, uid), DEVID_OK);
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (key && auth)
        devid_key_set_auth(key, auth, strlen(auth));
    return key;
}

/* An HMAC key holding `value`, imported (devid_store_import_hmac) and opened from the store. */
static devid_key *known_key(const unsigned char *value, size_t len)
{
    devid_store_attrs a = attrs_of("known");
    char uid[DEVID_UID_LEN + 1];
    devid_key *key = NULL;
    unsigned long sessions = devid_session_started_count();
    CHECK_RC(devid_store_import_hmac(value, len, &a, uid), DEVID_OK);
    CHECK(devid_session_started_count() > sessions || sessions > 0,
          "the key value travelled in a salted, encrypted session");
    CHECK_RC(devid_store_get_attrs(uid, &a), DEVID_OK);
    CHECK(a.secret && a.value_len == len, "stored as a secret key of %zu bytes", len);
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    return key;
}

static void fill(unsigned char *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 31 + seed);
}

static void test_import_limits(void)
{
    unsigned char k[DEVID_HMAC_IMPORT_MAX + 1] = { 0 };
    devid_store_attrs a = attrs_of("bad");
    char uid[DEVID_UID_LEN + 1];
    CHECK_RC(devid_store_import_hmac(k, 0, &a, uid), DEVID_ERR_ARG);
    CHECK_RC(devid_store_import_hmac(NULL, 32, &a, uid), DEVID_ERR_ARG);
    CHECK_RC(devid_store_import_hmac(k, sizeof(k), &a, uid), DEVID_ERR_ARG);
    devid_store_entry *e = NULL;
    size_t n = 0;
    CHECK_RC(devid_store_list(&e, &n), DEVID_OK);
    CHECK(n == 0, "refused imports store nothing");
    free(e);
}

/* A key longer than the hash block goes in as its hash: the MAC is still OpenSSL's. */
static void test_long_key(void)
{
    unsigned char k[200], want[32], got[32];
    fill(k, sizeof(k), 11);
    devid_key *key = known_key(k, sizeof(k));
    if (!key)
        return;
    unsigned int wl = 0;
    HMAC(EVP_sha256(), k, sizeof(k), (const unsigned char *)"abc", 3, want, &wl);
    CHECK_RC(devid_key_hmac(key, (const unsigned char *)"abc", 3, got), DEVID_OK);
    CHECK(memcmp(got, want, 32) == 0, "a 200-byte key: HMAC equals OpenSSL's");
    devid_key_free(key);
}

static void test_known_value(void)
{
    unsigned char k[32], data[5000], want[32], got[32];
    fill(k, sizeof(k), 7);
    fill(data, sizeof(data), 3);
    devid_key *key = known_key(k, sizeof(k));
    if (!key)
        return;
    CHECK(devid_key_get_type(key) == DEVID_KEY_HMAC && !devid_key_get_public(key),
          "keyed-hash object is an HMAC key without public part");
    CHECK(!(devid_key_get_flags(key) & DEVID_KEY_TPM_GENERATED), "imported: not TPM-generated");
    size_t lens[] = { 0, 1, 64, 1023, 1024, 1025, 2048, 2049, 5000 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        unsigned int wl = 0;
        HMAC(EVP_sha256(), k, sizeof(k), data, n, want, &wl);
        memset(got, 0, sizeof(got));
        CHECK_RC(devid_key_hmac(key, data, n, got), DEVID_OK);
        CHECK(memcmp(got, want, 32) == 0, "HMAC of %zu bytes equals OpenSSL's", n);
        if (n <= DEVID_HMAC_ONESHOT_MAX) {
            memset(got, 0, sizeof(got));
            CHECK_RC(devid_key_hmac_path(key, data, n, got, true), DEVID_OK);
            CHECK(memcmp(got, want, 32) == 0, "sequence HMAC of %zu bytes equals OpenSSL's", n);
        }
    }
    devid_key_free(key);
}

static void test_generated(void)
{
    CHECK_RC(devid_store_clear(), DEVID_OK); /* the listing below counts this case's keys */
    char ua[DEVID_UID_LEN + 1], ub[DEVID_UID_LEN + 1];
    devid_key *a = gen_hmac("hmac a", NULL, ua), *b = gen_hmac("hmac b", NULL, ub);
    if (!a || !b)
        return;
    unsigned f = devid_key_get_flags(a);
    CHECK(devid_key_get_type(a) == DEVID_KEY_HMAC && (f & DEVID_KEY_CAN_SIGN) &&
              (f & DEVID_KEY_TPM_GENERATED) && (f & DEVID_KEY_FIXED_TPM) &&
              !(f & DEVID_KEY_CAN_DECRYPT) && devid_key_get_bits(a) == 256,
          "generated HMAC key: type and flags");
    CHECK(devid_key_sig_size(a) == 32 && devid_key_get_public(a) == NULL, "size, no public");

    devid_store_entry *e = NULL;
    size_t n = 0;
    CHECK_RC(devid_store_list(&e, &n), DEVID_OK);
    size_t secrets = 0;
    for (size_t i = 0; i < n; i++)
        secrets += e[i].attrs.secret && e[i].has_key;
    free(e);
    CHECK(secrets == 2, "listing marks both HMAC keys secret (%zu)", secrets);

    unsigned char big[4000], m1[32], m2[32], m3[32];
    fill(big, sizeof(big), 9);
    const unsigned char *msg = (const unsigned char *)"the quick brown fox";
    CHECK_RC(devid_key_hmac(a, msg, 19, m1), DEVID_OK);
    CHECK_RC(devid_key_hmac(a, msg, 19, m2), DEVID_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "same key and data: same MAC");
    CHECK_RC(devid_key_hmac(b, msg, 19, m3), DEVID_OK);
    CHECK(memcmp(m1, m3, 32) != 0, "different keys: different MACs");
    CHECK_RC(devid_key_hmac(a, msg, 18, m3), DEVID_OK);
    CHECK(memcmp(m1, m3, 32) != 0, "different data: different MACs");
    CHECK_RC(devid_key_hmac_path(a, msg, 19, m3, true), DEVID_OK);
    CHECK(memcmp(m1, m3, 32) == 0, "sequence path equals TPM2_HMAC");

    bool ok = false;
    CHECK_RC(devid_key_hmac_verify(a, msg, 19, m1, 32, &ok), DEVID_OK);
    CHECK(ok, "verify accepts the MAC");
    CHECK_RC(devid_key_hmac_verify(b, msg, 19, m1, 32, &ok), DEVID_OK);
    CHECK(!ok, "verify with the other key rejects");
    m2[31] ^= 1;
    CHECK_RC(devid_key_hmac_verify(a, msg, 19, m2, 32, &ok), DEVID_OK);
    CHECK(!ok, "verify rejects a changed MAC");
    CHECK_RC(devid_key_hmac_verify(a, msg, 19, m1, 31, &ok), DEVID_OK);
    CHECK(!ok, "verify rejects a truncated MAC");

    /* long data: the sequence path */
    CHECK_RC(devid_key_hmac(a, big, sizeof(big), m1), DEVID_OK);
    CHECK_RC(devid_key_hmac(a, big, sizeof(big), m2), DEVID_OK);
    CHECK(memcmp(m1, m2, 32) == 0, "long data: deterministic");
    CHECK_RC(devid_key_hmac_verify(a, big, sizeof(big), m1, 32, &ok), DEVID_OK);
    CHECK(ok, "long data: verify accepts");
    CHECK_RC(devid_key_hmac(a, big, sizeof(big) - 1, m3), DEVID_OK);
    CHECK(memcmp(m1, m3, 32) != 0, "long data: one byte less, another MAC");

    /* an HMAC key signs nothing else, decrypts nothing */
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    CHECK_RC(devid_key_sign(a, DEVID_SIG_ECDSA, 0, m1, 32, sig, &siglen), DEVID_ERR_KEY_USAGE);
    siglen = sizeof(sig);
    CHECK_RC(devid_key_sign(a, DEVID_SIG_RSA_PKCS1, 0, m1, 32, sig, &siglen), DEVID_ERR_KEY_USAGE);
    /* EC keys are no HMAC keys */
    devid_keygen ec = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs ea = attrs_of("ec");
    char uec[DEVID_UID_LEN + 1];
    devid_key *eck = NULL;
    CHECK_RC(devid_store_generate(&ec, &ea, uec), DEVID_OK);
    CHECK_RC(devid_store_open_key(uec, &eck), DEVID_OK);
    if (eck)
        CHECK_RC(devid_key_hmac(eck, msg, 19, m3), DEVID_ERR_KEY_USAGE);
    devid_key_free(eck);
    devid_keygen bad = { .type = DEVID_KEY_HMAC, .sign = true, .decrypt = true };
    CHECK_RC(devid_store_generate(&bad, &ea, uec), DEVID_ERR_ARG);

    /* reopened from the store: the same key */
    devid_key_free(a);
    a = NULL;
    CHECK_RC(devid_store_open_key(ua, &a), DEVID_OK);
    if (a) {
        CHECK_RC(devid_key_hmac_verify(a, big, sizeof(big), m1, 32, &ok), DEVID_OK);
        CHECK(ok, "reopened key computes the same MAC");
    }
    devid_key_free(a);
    devid_key_free(b);
    CHECK_RC(devid_store_delete(ua, DEVID_STORE_KEY), DEVID_OK);
    CHECK_RC(devid_store_delete(ub, DEVID_STORE_KEY), DEVID_OK);
}

/* An auth value: salted sessions; without it the TPM refuses. */
static void test_auth(void)
{
    char uid[DEVID_UID_LEN + 1];
    devid_key *k = gen_hmac("hmac auth", "s3cret-auth", uid);
    if (!k)
        return;
    unsigned char m1[32], m2[32];
    unsigned long sessions = devid_session_started_count();
    CHECK_RC(devid_key_hmac(k, (const unsigned char *)"x", 1, m1), DEVID_OK);
    unsigned char big[3000];
    fill(big, sizeof(big), 1);
    CHECK_RC(devid_key_hmac(k, big, sizeof(big), m2), DEVID_OK);
    CHECK(devid_session_started_count() <= sessions + 1, "salted session reused");
    bool ok = false;
    CHECK_RC(devid_key_hmac_verify(k, big, sizeof(big), m2, 32, &ok), DEVID_OK);
    CHECK(ok, "auth key: long-data verify");
    devid_key_set_auth(k, "wrong", 5);
    CHECK(devid_key_hmac(k, (const unsigned char *)"x", 1, m2) == DEVID_ERR_AUTH,
          "wrong auth refused by the TPM");
    devid_key_free(k);
    CHECK_RC(devid_store_delete(uid, DEVID_STORE_KEY), DEVID_OK);
}

/* More keys than the TPM has object slots (3 on swtpm), sequences among them. */
static void test_slots(void)
{
    enum { N = 5 };
    char uid[N][DEVID_UID_LEN + 1];
    devid_key *k[N];
    unsigned char first[N][32], m[32], big[2500];
    fill(big, sizeof(big), 5);
    for (int i = 0; i < N; i++) {
        char label[16];
        snprintf(label, sizeof(label), "slot %d", i);
        k[i] = gen_hmac(label, NULL, uid[i]);
        if (!k[i])
            return;
        CHECK_RC(devid_key_hmac(k[i], big, sizeof(big), first[i]), DEVID_OK);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++) {
            size_t n = (round + i) % 2 ? sizeof(big) : 100;
            CHECK_RC(devid_key_hmac(k[i], big, n, m), DEVID_OK);
            if (n == sizeof(big))
                CHECK(memcmp(m, first[i], 32) == 0, "key %d round %d: same MAC", i, round);
        }
    for (int i = 0; i < N; i++) {
        devid_key_free(k[i]);
        CHECK_RC(devid_store_delete(uid[i], DEVID_STORE_KEY), DEVID_OK);
    }
}

static int setup(void)
{
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    return 0;
}

static void teardown(void)
{
    CHECK_RC(devid_store_clear(), DEVID_OK);
    devid_core_fini();
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, teardown);
    devid_test(test_import_limits, "/hmac/import-limits");
    devid_test(test_known_value, "/hmac/known-value");
    devid_test(test_long_key, "/hmac/long-key");
    devid_test(test_generated, "/hmac/generated");
    devid_test(test_auth, "/hmac/auth");
    devid_test(test_slots, "/hmac/slots");
    return devid_test_run("test_hmac", argc, argv);
}
