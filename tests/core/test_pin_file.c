/* SPDX-License-Identifier: Apache-2.0 */
/* The PIN source of front-ends without a prompt (pin_file in devid.conf, core/token.h), against
 * swtpm (ecc fixture): login from the file, a refused PIN never sent to the TPM again (counted
 * TPM commands), a file others can read or write refused, errors that name the setting, and the lazy
 * login of devid_token_use_configured_pin. */
#include "devid_test.h"
#include "devid.h"
#include "tpm.h"

#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char conf_plain[4096], conf_pin[4096], pin_path[4096];

static devid_rc gen(char uid[DEVID_UID_LEN + 1])
{
    devid_keygen p = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs a = { .label = "pin file key" };
    return devid_store_generate(&p, &a, uid);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0 && chmod(path, mode) == 0, "writing %s", path);
}

/* The fixture's devid.conf, as is and with pin_file. */
static void make_configs(const char *dir)
{
    const char *fixture = getenv("DEVID_CONF");
    FILE *in = fixture ? fopen(fixture, "r") : NULL;
    char text[16384] = "";
    size_t n = in ? fread(text, 1, sizeof(text) - 1, in) : 0;
    if (in)
        fclose(in);
    text[n] = '\0';
    snprintf(conf_plain, sizeof(conf_plain), "%s/plain.conf", dir);
    snprintf(conf_pin, sizeof(conf_pin), "%s/pin.conf", dir);
    snprintf(pin_path, sizeof(pin_path), "%s/user.pin", dir);
    write_text(conf_plain, text, 0600);
    char with_pin[sizeof(text) + sizeof(pin_path) + 16];
    snprintf(with_pin, sizeof(with_pin), "pin_file = %s\n%s", pin_path, text);
    write_text(conf_pin, with_pin, 0600);
}

static bool core_with(const char *conf)
{
    devid_core_fini();
    setenv("DEVID_CONF", conf, 1);
    return devid_core_init() == DEVID_OK;
}

/* The PIN's story, in steps (each continues from the one before: devid_test_step). */
static char dir[] = "/tmp/devid-pin-file-XXXXXX", uid[DEVID_UID_LEN + 1];

static int setup(void)
{
    bool made = mkdtemp(dir) != NULL;
    CHECK(made, "temporary directory");
    if (!made)
        return 1;
    make_configs(dir);
    bool up = core_with(conf_plain);
    CHECK(up, "core starts");
    return up ? 0 : 1;
}

static void teardown(void)
{
    devid_core_fini();
    unlink(pin_path);
    unlink(conf_pin);
    unlink(conf_plain);
    rmdir(dir);
}

static void test_no_pins(void)
{
    /* no PINs: nothing to do, no TPM command */
    uint64_t n0 = devid_tpm_command_count();
    CHECK_RC(devid_token_login_configured(), DEVID_OK);
    CHECK(devid_tpm_command_count() == n0, "no PINs: no TPM command");
}

static void test_set_pins(void)
{
    /* PINs set (C_InitToken, C_Login(SO), C_InitPIN) */
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "1234", 4), DEVID_OK);
    devid_token_logout();
}

static void test_no_source(void)
{
    /* no PIN source configured: the error names the setting and the file */
    CHECK_RC(devid_token_login_configured(), DEVID_ERR_AUTH);
    char want[8192];
    snprintf(want, sizeof(want), "no PIN source is configured: set pin_file in %s", conf_plain);
    CHECK(strstr(devid_last_error(), want) != NULL, "%s", devid_last_error());
}

static void test_pin_file(void)
{
    CHECK(core_with(conf_pin), "core with pin_file");
    /* missing file */
    CHECK(devid_token_login_configured() != DEVID_OK &&
              strstr(devid_last_error(), pin_path) != NULL,
          "missing pin_file named: %s", devid_last_error());
    /* a wrong PIN: refused by the TPM once, then never sent again */
    write_text(pin_path, "9999\n", 0600);
    CHECK_RC(devid_token_login_configured(), DEVID_ERR_AUTH);
    CHECK(strstr(devid_last_error(), "incorrect user PIN in pin_file") != NULL, "%s",
          devid_last_error());
    uint64_t n1 = devid_tpm_command_count();
    CHECK_RC(devid_token_login_configured(), DEVID_ERR_AUTH);
    CHECK(strstr(devid_last_error(), "not sent again") != NULL, "%s", devid_last_error());
    CHECK(devid_tpm_command_count() == n1, "the refused PIN was not sent to the TPM again");
    /* readable by every user, or writable by its group or every user (someone else could
     * put their PIN in), or owned by another user: refused before anything is read, naming
     * the file and the fix; no TPM command */
    static const struct {
        mode_t mode;
        const char *says;
    } unsafe[] = { { 0644, "readable by every user" },
                   { 0604, "readable by every user" },
                   { 0660, "writable by its group" },
                   { 0620, "writable by its group" },
                   { 0602, "writable by every user" } };
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
        write_text(pin_path, "1234\n", unsafe[i].mode);
        uint64_t before = devid_tpm_command_count();
        CHECK_RC(devid_token_login_configured(), DEVID_ERR_CONFIG);
        CHECK(strstr(devid_last_error(), unsafe[i].says) && strstr(devid_last_error(), pin_path) &&
                  strstr(devid_last_error(), "chmod 600") && strstr(devid_last_error(), "pin_file"),
              "mode %04o: %s", (unsigned)unsafe[i].mode, devid_last_error());
        CHECK(devid_tpm_command_count() == before, "mode %04o: no TPM command",
              (unsigned)unsafe[i].mode);
    }
    if (geteuid() == 0) { /* (only root can give the file away) */
        write_text(pin_path, "1234\n", 0600);
        CHECK(chown(pin_path, 65534, (gid_t)-1) == 0, "chown");
        CHECK_RC(devid_token_login_configured(), DEVID_ERR_CONFIG);
        CHECK(strstr(devid_last_error(), "owned by uid 65534") &&
                  strstr(devid_last_error(), "chown root"),
              "another user's file: %s", devid_last_error());
        CHECK(chown(pin_path, 0, (gid_t)-1) == 0, "chown back");
    }
    /* the right PIN (the file was corrected: a new PIN is tried) */
    CHECK(chmod(pin_path, 0640) == 0, "chmod");
    CHECK_RC(devid_token_login_configured(), DEVID_OK);
    CHECK_RC(gen(uid), DEVID_OK);
    devid_token_logout();
}

static void test_uri_pin(void)
{
    /* a PIN given without a prompt (a URI's pin-value): a refused one is not sent again */
    CHECK_RC(devid_token_login_once("4321", 4), DEVID_ERR_AUTH);
    uint64_t n2 = devid_tpm_command_count();
    CHECK_RC(devid_token_login_once("4321", 4), DEVID_ERR_AUTH);
    CHECK(devid_tpm_command_count() == n2 && strstr(devid_last_error(), "not sent again"),
          "the refused URI PIN was not sent again: %s", devid_last_error());
    CHECK_RC(devid_token_login_once("1234", 4), DEVID_OK);
    devid_token_logout();
}

static void test_lazy_login(void)
{
    /* lazily: with the configured PIN in use, generating a key logs in by itself */
    CHECK_RC(gen(uid), DEVID_ERR_AUTH); /* not in use: a login is needed first */
    devid_token_use_configured_pin();
    CHECK(devid_token_configured_pin_in_use(), "in use");
    CHECK_RC(gen(uid), DEVID_OK);
    devid_store_attrs a;
    CHECK(devid_store_get_attrs(uid, &a) == DEVID_OK && a.token_bound, "key bound to the token");
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, teardown);
    devid_test(test_no_pins, "/pin-file/no-pins");
    devid_test_step(test_set_pins, "/pin-file/set-pins");
    devid_test_step(test_no_source, "/pin-file/no-source");
    devid_test_step(test_pin_file, "/pin-file/pin-file");
    devid_test_step(test_uri_pin, "/pin-file/uri-pin");
    devid_test_step(test_lazy_login, "/pin-file/lazy-login");
    return devid_test_run("test_pin_file", argc, argv);
}
