/* SPDX-License-Identifier: Apache-2.0 */
/* The TPM dies with a command in flight (ecc fixture; swtpm SIGKILLed by the devidfault TCTI,
 * tcti_fault.c, either before the command reaches it or after it executed the command but
 * before its response is read), all in this one process, which is never restarted:
 *   - signing (TPM2_Sign): a signature has no TPM side effect, so core retries it once on a
 *     new connection: when swtpm comes back at once the call succeeds transparently (its
 *     signature verifies), with persistent (IDevID) and loadable (store) keys alike; when it
 *     stays down the call fails with DEVID_ERR_NO_TPM, and signs again once swtpm is back;
 *   - key generation into the store (TPM2_Create): retried the same way when the TPM comes
 *     back; a TPM that stays down is a clear error and the store directory is unchanged (no
 *     file at all, the listing the same); the next generation works;
 *   - certificate writing into NV (UndefineSpace, DefineSpace, NV_Write, NV_WriteLock): a
 *     clear error (no automatic retry: the sequence changes the TPM), after which the index
 *     holds the old certificate, the complete new one, or none (never written: NOT_FOUND),
 *     never anything else; the next write completes, also without `replace`, when the index
 *     was left defined but never written;
 *   - a certificate larger than the TPM's NV buffer, the TPM killed between two NV_Writes:
 *     the index never parses as a certificate (the unwritten rest reads 0xFF), and the retry
 *     completes without `replace` (it holds no certificate to protect).
 * argv[1]: the built libtss2-tcti-devidfault.so (then the runner's -p PATH, -l). */
#include "devid_test.h"
#include "sign_check.h"
#include "devid.h"
#include "nv.h"
#include "provision.h"
#include "store.h"
#include "token.h"
#include "tpm.h"

#include <dirent.h>
#include <dlfcn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define CC_NV_UNDEFINE 0x122u
#define CC_NV_DEFINE 0x12Au
#define CC_NV_WRITE 0x137u
#define CC_NV_WRITELOCK 0x138u
#define CC_CREATE 0x153u
#define CC_SIGN 0x15Du
#define CC_UNSEAL 0x15Eu
#define IDEVID_NV 0x01C90000u

static void (*fault_kill)(uint32_t cc, int before_response, long skip, const char *command);
static void (*fault_set)(uint32_t cc, uint32_t rc, long count);
static unsigned long (*fault_injected)(void);
static char stop_cmd[1200], start_cmd[1200];

static void swtpm_start(void)
{
    CHECK(system(start_cmd) == 0, "swtpm-ctl start");
}

static void sign_through_kill(devid_key *key, const char *what)
{
    for (int before_response = 0; before_response < 2; before_response++) {
        const char *when = before_response ? "before the response" : "before the command";
        fault_kill(CC_SIGN, before_response, 0, NULL); /* restart at once */
        devid_rc rc = sign_and_verify(key, what);
        CHECK(rc == DEVID_OK, "%s, swtpm restarted %s: transparent retry: %s (%s)", what, when,
              devid_rc_name(rc), devid_last_error());
        CHECK(fault_injected() == 1, "%s: the kill happened (%lu)", what, fault_injected());
    }
    fault_kill(CC_SIGN, 1, 0, stop_cmd); /* and stays down */
    devid_rc rc = sign_and_verify(key, what);
    CHECK(rc == DEVID_ERR_NO_TPM, "%s, swtpm killed for good: %s (%s)", what, devid_rc_name(rc),
          devid_last_error());
    printf("sign, TPM gone: %s: %s\n", devid_rc_name(rc), devid_last_error());
    CHECK_RC(sign_and_verify(key, what), DEVID_ERR_NO_TPM); /* still gone: still clear */
    swtpm_start();
    CHECK_RC(sign_and_verify(key, what), DEVID_OK);
}

/* A PIN check (TPM2_Unseal) through a kill: killed before the command, it is sent again on
 * the new connection; killed after the TPM got it, it is not (the TPM may have counted a
 * failed authorisation: a wrong PIN sent twice would count twice against the lockout), and
 * the caller gets a clear error; the next login works. */
static void login_through_kill(void)
{
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    devid_token_logout();

    fault_kill(CC_UNSEAL, 0, 0, NULL);
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    CHECK(fault_injected() == 1, "login: the kill before the command happened (%lu)",
          fault_injected());
    devid_token_logout();

    fault_kill(CC_UNSEAL, 1, 0, NULL);
    devid_rc rc = devid_token_login(DEVID_ROLE_USER, "1234", 4);
    CHECK(rc == DEVID_ERR_NO_TPM && strstr(devid_last_error(), "not sent again"),
          "login, answer lost: not replayed: %s (%s)", devid_rc_name(rc), devid_last_error());
    CHECK(fault_injected() == 1, "login: the kill before the response happened (%lu)",
          fault_injected());
    printf("login, answer lost: %s: %s\n", devid_rc_name(rc), devid_last_error());
    fault_set(0, 0, 0);
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    devid_token_logout();
}

/* A signature with a key that has a password (dictionary-attack protected): killed after
 * the TPM got the command, it is not sent again (a wrong password would count twice against
 * the lockout): a clear error, and the next signature works. */
static void auth_sign_through_kill(void)
{
    devid_keygen p = { .type = DEVID_KEY_EC,
                       .curve_nid = NID_X9_62_prime256v1,
                       .sign = true,
                       .auth = "s3cret",
                       .auth_len = 6 };
    devid_store_attrs a = { 0 };
    snprintf(a.label, sizeof(a.label), "with-password");
    char uid[DEVID_UID_LEN + 1];
    CHECK_RC(devid_store_generate(&p, &a, uid), DEVID_OK);
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (!key)
        return;
    CHECK_RC(devid_key_set_auth(key, "s3cret", 6), DEVID_OK);
    CHECK_RC(sign_and_verify(key, "password key"), DEVID_OK);
    fault_kill(CC_SIGN, 1, 0, NULL);
    devid_rc rc = sign_and_verify(key, "password key");
    CHECK(rc == DEVID_ERR_NO_TPM && strstr(devid_last_error(), "not sent again"),
          "password key, answer lost: not replayed: %s (%s)", devid_rc_name(rc),
          devid_last_error());
    CHECK(fault_injected() == 1, "password key: the kill happened (%lu)", fault_injected());
    printf("sign with a password, answer lost: %s: %s\n", devid_rc_name(rc), devid_last_error());
    fault_set(0, 0, 0);
    CHECK_RC(sign_and_verify(key, "password key after the kill"), DEVID_OK);
    devid_key_free(key);
}

/* The store directory's file names, sorted and joined. */
static char *store_files(void)
{
    const char *dir = getenv("DEVID_STORE");
    struct dirent **names = NULL;
    int n = dir ? scandir(dir, &names, NULL, alphasort) : -1;
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(names[i]->d_name) + 1;
    char *out = calloc(1, len);
    for (int i = 0; i < n; i++) {
        if (out) {
            strcat(out, names[i]->d_name);
            strcat(out, " ");
        }
        free(names[i]);
    }
    free(names);
    return out;
}

static size_t store_count(void)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    CHECK_RC(devid_store_list(&e, &n), DEVID_OK);
    free(e);
    return n;
}

static devid_rc store_keygen(const char *label, char uid[DEVID_UID_LEN + 1])
{
    devid_keygen p = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs a = { 0 };
    snprintf(a.label, sizeof(a.label), "%s", label);
    return devid_store_generate(&p, &a, uid);
}

static void keygen_through_kill(void)
{
    char uid[DEVID_UID_LEN + 1];
    char *before = store_files();
    size_t n0 = store_count();
    for (int before_response = 0; before_response < 2; before_response++) {
        fault_kill(CC_CREATE, before_response, 0, stop_cmd);
        devid_rc rc = store_keygen("killed", uid);
        CHECK(rc == DEVID_ERR_NO_TPM, "keygen, swtpm killed %s: %s (%s)",
              before_response ? "before the response" : "before the command", devid_rc_name(rc),
              devid_last_error());
        printf("keygen, TPM gone: %s: %s\n", devid_rc_name(rc), devid_last_error());
        char *after = store_files();
        CHECK(before && after && strcmp(before, after) == 0,
              "no file left in the store: before '%s', after '%s'", before, after);
        free(after);
        CHECK(store_count() == n0, "store listing unchanged");
        swtpm_start();
    }
    free(before);

    /* restarted at once: Create changes nothing in the TPM, core retries it */
    fault_kill(CC_CREATE, 1, 0, NULL);
    CHECK_RC(store_keygen("after-kill", uid), DEVID_OK);
    CHECK(fault_injected() == 1, "keygen: the kill happened");
    CHECK(store_count() == n0 + 1, "exactly one new store object");
    devid_key *key = NULL;
    CHECK_RC(devid_store_open_key(uid, &key), DEVID_OK);
    if (key) {
        CHECK_RC(sign_and_verify(key, "new store key"), DEVID_OK);
        sign_through_kill(key, "store key"); /* reloaded into the reset TPM */
    }
    devid_key_free(key);
}

/* A certificate of about `pad` + 400 bytes (a comment extension pads it). */
static unsigned char *make_cert_der(const char *cn, size_t pad, int *len)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_set_subject_name(c, n);
    X509_set_issuer_name(c, n);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, k);
    if (pad) {
        char *text = malloc(pad + 1);
        if (text) {
            memset(text, 'x', pad);
            text[pad] = 0;
            X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, text);
            X509_add_ext(c, ext, -1);
            X509_EXTENSION_free(ext);
            free(text);
        }
    }
    X509_sign(c, k, EVP_sha256());
    unsigned char *der = NULL;
    *len = i2d_X509(c, &der);
    X509_NAME_free(n);
    X509_free(c);
    EVP_PKEY_free(k);
    return der;
}

/* What the index holds: 'o' old, 'n' new, '-' nothing, '?' anything else. */
static char nv_state(const unsigned char *old, int oldlen, const unsigned char *new, int newlen)
{
    unsigned char *data = NULL;
    size_t len = 0;
    devid_rc rc = devid__nv_read(IDEVID_NV, &data, &len);
    char s = '?';
    if (rc == DEVID_ERR_NOT_FOUND)
        s = '-';
    else if (rc == DEVID_OK && len == (size_t)oldlen && memcmp(data, old, len) == 0)
        s = 'o';
    else if (rc == DEVID_OK && len == (size_t)newlen && memcmp(data, new, len) == 0)
        s = 'n';
    free(data);
    return s;
}

static void nv_write_through_kill(void)
{
    unsigned char *old = NULL;
    size_t oldlen = 0;
    CHECK_RC(devid__nv_read(IDEVID_NV, &old, &oldlen), DEVID_OK);
    const struct {
        uint32_t cc;
        const char *name;
    } steps[] = {
        { CC_NV_UNDEFINE, "NV_UndefineSpace" },
        { CC_NV_DEFINE, "NV_DefineSpace" },
        { CC_NV_WRITE, "NV_Write" },
        { CC_NV_WRITELOCK, "NV_WriteLock" },
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        for (int before_response = 0; before_response < 2; before_response++) {
            int newlen = 0;
            char cn[64];
            snprintf(cn, sizeof(cn), "new %zu %d", i, before_response);
            unsigned char *new = make_cert_der(cn, 0, &newlen);
            fault_kill(steps[i].cc, before_response, 0, NULL);
            devid_rc rc = devid_nv_write_cert(IDEVID_NV, new, (size_t)newlen, true);
            const char *when = before_response ? "before the response" : "before the command";
            CHECK(fault_injected() == 1, "%s: the kill happened", steps[i].name);
            CHECK(rc == DEVID_ERR_NO_TPM, "NV write, swtpm killed at %s %s: %s (%s)", steps[i].name,
                  when, devid_rc_name(rc), devid_last_error());
            char s = nv_state(old, (int)oldlen, new, newlen);
            printf("NV write killed at %-16s %-19s: %s; the index then holds %s\n", steps[i].name,
                   when, devid_rc_name(rc),
                   s == 'o'   ? "the old certificate"
                   : s == 'n' ? "the new certificate"
                   : s == '-' ? "nothing"
                              : "GARBAGE");
            CHECK(s == 'o' || s == 'n' || s == '-',
                  "after a kill at %s %s the index holds the old or new certificate or none",
                  steps[i].name, when);
            /* the retry completes; without `replace` too if nothing was written yet */
            bool replace = s != '-';
            CHECK_RC(devid_nv_write_cert(IDEVID_NV, new, (size_t)newlen, replace), DEVID_OK);
            CHECK(nv_state(old, (int)oldlen, new, newlen) == 'n', "the retry wrote it");
            free(old);
            old = malloc((size_t)newlen);
            if (old)
                memcpy(old, new, (size_t)newlen);
            oldlen = (size_t)newlen;
            OPENSSL_free(new);
        }
    }
    free(old);
}

/* A certificate larger than the TPM's NV buffer is written in several TPM2_NV_Write
 * commands: the TPM dies between them. */
static void nv_write_chunks_through_kill(void)
{
    int newlen = 0, oldlen = 0;
    unsigned char *old = NULL;
    size_t len = 0;
    CHECK_RC(devid__nv_read(IDEVID_NV, &old, &len), DEVID_OK);
    oldlen = (int)len;
    unsigned char *new = make_cert_der("large", 1200, &newlen);
    uint16_t chunk = 0;
    ESYS_CONTEXT *ctx;
    CHECK_RC(devid_tpm_lock(&ctx), DEVID_OK);
    CHECK_RC(devid_tpm_nv_buffer_max(ctx, &chunk), DEVID_OK);
    devid_tpm_unlock();
    CHECK(chunk && newlen > chunk, "a %d-byte certificate takes several writes of %u", newlen,
          chunk);
    fault_kill(CC_NV_WRITE, 0, 1, NULL); /* the second write never executes */
    devid_rc rc = devid_nv_write_cert(IDEVID_NV, new, (size_t)newlen, true);
    CHECK(rc == DEVID_ERR_NO_TPM && fault_injected() == 1,
          "NV write killed between two chunks: %s (%s)", devid_rc_name(rc), devid_last_error());
    unsigned char *data = NULL;
    rc = devid__nv_read(IDEVID_NV, &data, &len);
    X509 *parsed = NULL;
    if (rc == DEVID_OK) {
        const unsigned char *p = data;
        parsed = d2i_X509(NULL, &p, (long)len);
    }
    printf("NV write killed between two chunks: read %s (%s), %s\n", devid_rc_name(rc),
           devid_last_error(), parsed ? "PARSES" : "does not parse");
    CHECK((rc == DEVID_OK && !parsed) || rc == DEVID_ERR_NOT_FOUND,
          "a partly written index never parses as a certificate");
    free(data);
    X509_free(parsed);
    /* it holds no certificate: the retry may write it without `replace` */
    CHECK_RC(devid_nv_write_cert(IDEVID_NV, new, (size_t)newlen, false), DEVID_OK);
    CHECK(nv_state(old, oldlen, new, newlen) == 'n', "the retry wrote it");
    free(old);
    OPENSSL_free(new);
}

/* The fixture: core on the fault TCTI (wrapping the fixture's swtpm), the IDevID open and
 * signing, the fault controls found. */
static const char *fault_tcti;
static devid_key *idevid;

static int setup(void)
{
    const char *inner = getenv("DEVID_TCTI"), *fixture = getenv("DEVID_FIXTURE");
    if (!fault_tcti || !inner || !fixture) {
        fprintf(stderr, "usage: test_tpm_kill LIBTSS2_TCTI_DEVIDFAULT (under "
                        "tests/fixture/with-swtpm)\n");
        return 2;
    }
    char tcti[1024];
    snprintf(tcti, sizeof(tcti), "%s:%s", fault_tcti, inner);
    setenv("DEVID_TCTI", tcti, 1);
    snprintf(stop_cmd, sizeof(stop_cmd), "'%s/swtpm-ctl' stop", fixture);
    snprintf(start_cmd, sizeof(start_cmd), "'%s/swtpm-ctl' start", fixture);
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    CHECK_RC(devid_key_open_persistent(0x81020000, &idevid), DEVID_OK); /* connects */
    void *lib = dlopen(fault_tcti, RTLD_NOW | RTLD_NOLOAD);
    fault_kill = lib ? (void (*)(uint32_t, int, long, const char *))dlsym(lib, "devid_fault_kill")
                     : NULL;
    fault_set = lib ? (void (*)(uint32_t, uint32_t, long))dlsym(lib, "devid_fault_set") : NULL;
    fault_injected = lib ? (unsigned long (*)(void))dlsym(lib, "devid_fault_injected") : NULL;
    if (!idevid || !fault_kill || !fault_set || !fault_injected) {
        fprintf(stderr, "the fault TCTI is not loaded (%s)\n", dlerror());
        return 1;
    }
    CHECK_RC(sign_and_verify(idevid, "IDevID"), DEVID_OK);
    return 0;
}

static void teardown(void)
{
    devid_key_free(idevid);
    devid_tpm_disconnect();
    devid_core_fini();
}

static void test_idevid_sign(void)
{
    sign_through_kill(idevid, "IDevID");
}

/* After whatever ran before: no fault left armed, the IDevID still signs. */
static void test_idevid_after(void)
{
    fault_set(0, 0, 0);
    CHECK_RC(sign_and_verify(idevid, "IDevID at the end"), DEVID_OK);
}

int main(int argc, char **argv)
{
    fault_tcti = devid_test_arg(argc, argv, 0);
    devid_test_fixture(setup, teardown);
    devid_test(test_idevid_sign, "/tpm-kill/sign/idevid");
    devid_test(keygen_through_kill, "/tpm-kill/keygen");
    devid_test(nv_write_through_kill, "/tpm-kill/nv-write");
    devid_test(nv_write_chunks_through_kill, "/tpm-kill/nv-write-chunks");
    devid_test(login_through_kill, "/tpm-kill/login");
    devid_test(auth_sign_through_kill, "/tpm-kill/sign/password-key");
    devid_test(test_idevid_after, "/tpm-kill/idevid-after");
    return devid_test_run("tpm-kill", argc, argv);
}
