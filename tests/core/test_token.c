/* SPDX-License-Identifier: Apache-2.0 */
/* PINs checked by the TPM (core/token.h), against swtpm (ecc fixture). */
#include "devid_test.h"
#include "devid.h"
#include "tpm.h"

#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static devid_rc gen(char uid[DEVID_UID_LEN + 1])
{
    devid_keygen p = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs a = { .label = "token key" };
    return devid_store_generate(&p, &a, uid);
}

static devid_rc sign_with(const char *uid)
{
    devid_key *key = NULL;
    devid_rc rc = devid_store_open_key(uid, &key);
    if (rc != DEVID_OK)
        return rc;
    unsigned char d[32] = { 5 }, sig[64];
    size_t siglen = sizeof(sig);
    rc = devid_key_sign(key, DEVID_SIG_ECDSA, 0, d, 32, sig, &siglen);
    devid_key_free(key);
    return rc;
}

static size_t store_count(void)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_store_list(&e, &n);
    free(e);
    return n;
}

/* One token's life, in steps (each continues from the one before: devid_test_step). */
static devid_token_state st;
static char k0[DEVID_UID_LEN + 1], k1[DEVID_UID_LEN + 1], k2[DEVID_UID_LEN + 1];

static int setup(void)
{
    return devid_core_init() == DEVID_OK ? 0 : 1;
}

static void test_fresh(void)
{
    /* factory-fresh: no PINs, keys without auth */
    CHECK_RC(devid_token_state_get(&st), DEVID_OK);
    CHECK(!st.so_pin_set && !st.user_pin_set, "no PINs on a fresh token");
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_ERR_NOT_FOUND);
    CHECK_RC(gen(k0), DEVID_OK);
    CHECK_RC(sign_with(k0), DEVID_OK);
}

static void test_init(void)
{
    /* C_InitToken: sets the SO PIN, clears the store */
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    devid_token_state_get(&st);
    CHECK(st.so_pin_set && !st.user_pin_set, "SO PIN set, no user PIN");
    CHECK(store_count() == 0, "store cleared by token init");
    CHECK_RC(gen(k1), DEVID_ERR_AUTH); /* PINs set: no keys without a login */
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "1234", 4), DEVID_ERR_AUTH);
}

static void test_so_init_pin(void)
{
    /* C_Login(SO) + C_InitPIN */
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "wrong", 5), DEVID_ERR_AUTH);
    CHECK(strstr(devid_last_error(), "incorrect SO PIN") != NULL, "%s", devid_last_error());
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    devid_token_logout();
}

static void test_user_login(void)
{
    /* user login: keys get the token secret as auth; the TPM enforces it */
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    CHECK_RC(gen(k1), DEVID_OK);
    CHECK_RC(sign_with(k1), DEVID_OK);
    devid_token_logout();
    CHECK_RC(sign_with(k1), DEVID_ERR_AUTH);
}

static void test_user_set_pin(void)
{
    /* C_SetPIN by the user: keys untouched */
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "5678", 4), DEVID_OK);
    devid_token_logout();
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "1234", 4), DEVID_ERR_AUTH);
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "5678", 4), DEVID_OK);
    CHECK_RC(sign_with(k1), DEVID_OK);
    devid_token_logout();
}

static void test_so_resets_pin(void)
{
    /* the SO resets a forgotten user PIN: keys still work */
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "0000", 4), DEVID_OK);
    devid_token_logout();
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "0000", 4), DEVID_OK);
    CHECK_RC(sign_with(k1), DEVID_OK);
    devid_token_logout();
}

static void test_key_file_alone(void)
{
    /* the key file alone is useless: tpm2-openssl cannot use it without the token secret */
    devid_tpm_disconnect();
    char path[4096], cmd[8192];
    devid_store_key_path(k1, path, sizeof(path));
    snprintf(cmd, sizeof(cmd),
             "echo hi | TPM2OPENSSL_TCTI=\"$DEVID_TCTI\" openssl pkeyutl -provider tpm2 "
             "-provider default -sign -inkey '%s' -passin pass: >/dev/null 2>&1",
             path);
    int st2 = system(cmd);
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) != 0, "tpm2-openssl cannot sign without the secret");
}

static void test_lockout(void)
{
    /* dictionary-attack lockout limits PIN guessing (fixture: 32 tries) */
    devid_rc rc = DEVID_OK;
    int tries = 0;
    for (; tries < 40; tries++) {
        rc = devid_token_login(DEVID_ROLE_USER, "guess", 5);
        if (rc != DEVID_ERR_AUTH)
            break;
    }
    CHECK(rc == DEVID_ERR_LOCKOUT, "lockout after %d wrong PINs: %s", tries, devid_rc_name(rc));
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "0000", 4), DEVID_ERR_LOCKOUT);
    CHECK_RC(sign_with(k1), DEVID_ERR_AUTH); /* keys are not DA-protected: just not logged in */
    devid_tpm_disconnect();
    int st2 = system("tpm2_dictionarylockout --clear-lockout >/dev/null");
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) == 0, "owner clears the lockout");
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "0000", 4), DEVID_OK);
    CHECK_RC(sign_with(k1), DEVID_OK);
}

static void test_reinit(void)
{
    /* re-initialisation needs the SO PIN; it removes keys and the user PIN */
    CHECK_RC(devid_token_init("nope", 4), DEVID_ERR_AUTH);
    CHECK(store_count() == 1, "a wrong SO PIN changes nothing");
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    devid_token_state_get(&st);
    CHECK(st.so_pin_set && !st.user_pin_set && store_count() == 0, "token re-initialised");
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(gen(k2), DEVID_OK);
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, devid_core_fini);
    devid_test(test_fresh, "/token/fresh");
    devid_test_step(test_init, "/token/init");
    devid_test_step(test_so_init_pin, "/token/so-init-pin");
    devid_test_step(test_user_login, "/token/user-login");
    devid_test_step(test_user_set_pin, "/token/user-set-pin");
    devid_test_step(test_so_resets_pin, "/token/so-resets-pin");
    devid_test_step(test_key_file_alone, "/token/key-file-alone");
    devid_test_step(test_lockout, "/token/lockout");
    devid_test_step(test_reinit, "/token/reinit");
    return devid_test_run("test_token", argc, argv);
}
