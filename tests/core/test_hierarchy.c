/* SPDX-License-Identifier: Apache-2.0 */
/* Hierarchy auth values (core/hierarchy.h) on the ek-only-hauth fixture, whose owner and
 * endorsement hierarchies have auth values named by owner_auth_file / endorsement_auth_file in
 * its devid.conf. With them: the standard SRK is made under the owner (store keys, the PIN seals
 * of C_InitToken), factory keys in the endorsement hierarchy are made persistent by the owner,
 * certificates go into owner-defined NV. Without them, or with a wrong or unreadable file: an
 * error naming the setting, and nothing half-made.
 * usage: test_hierarchy   (under tests/fixture/with-swtpm ek-only-hauth) */
#include "devid_test.h"
#include "devid.h"
#include "tpm.h"

#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char conf_dir[4096];

/* Writes a devid.conf with `extra` lines into the fixture dir and returns its path. */
static const char *write_conf(const char *name, const char *extra)
{
    static char path[4200];
    snprintf(path, sizeof(path), "%s/%s.conf", conf_dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(extra, f);
        fclose(f);
    }
    return path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    CHECK(chmod(path, mode) == 0, "chmod %s", path);
}

static devid_rc gen_store_key(void)
{
    devid_keygen p = { .type = DEVID_KEY_EC, .curve_nid = NID_X9_62_prime256v1, .sign = true };
    devid_store_attrs a = { .label = "hauth" };
    char uid[DEVID_UID_LEN + 1];
    return devid_store_generate(&p, &a, uid);
}

static devid_rc make_idevid(uint32_t handle)
{
    devid_provision_spec s = { .handle = handle,
                               .hierarchy = DEVID_HIER_ENDORSEMENT,
                               .type = DEVID_KEY_EC,
                               .curve_nid = NID_X9_62_prime256v1 };
    devid_key *k = NULL;
    devid_rc rc = devid_provision_key(&s, &k);
    devid_key_free(k);
    return rc;
}

/* In a child process with config `conf` (a fresh core: nothing cached from another config):
 * store key generation and an endorsement key must fail with DEVID_ERR_CONFIG naming
 * `owner_needle` / `endorsement_needle`. */
static void expect_refused(const char *what, const char *conf, const char *owner_needle,
                           const char *endorsement_needle)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("DEVID_CONF", conf, 1);
        if (devid_core_init() != DEVID_OK)
            _exit(90);
        CHECK_RC(gen_store_key(), DEVID_ERR_CONFIG);
        CHECK(strstr(devid_last_error(), owner_needle) != NULL, "%s: store key: '%s' lacks '%s'",
              what, devid_last_error(), owner_needle);
        CHECK_RC(make_idevid(0x81020000), DEVID_ERR_CONFIG);
        CHECK(strstr(devid_last_error(), endorsement_needle) != NULL,
              "%s: endorsement key: '%s' lacks '%s'", what, devid_last_error(), endorsement_needle);
        devid_identity *id = NULL;
        CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_ERR_NOT_FOUND);
        devid_identity_free(id); /* nothing persisted by the failed attempt */
        devid_core_fini();
        _exit(check_failed ? 1 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status %d", what, st);
}

static char wrong[4200], owner[4200], endorsement[4200];
static bool core_up;

static int setup(void)
{
    const char *fixture = getenv("DEVID_FIXTURE");
    if (!fixture) {
        fprintf(stderr, "DEVID_FIXTURE is not set (run under tests/fixture/with-swtpm)\n");
        return 2;
    }
    snprintf(conf_dir, sizeof(conf_dir), "%s", fixture);
    snprintf(owner, sizeof(owner), "%s/pki/owner-auth", fixture);
    snprintf(endorsement, sizeof(endorsement), "%s/pki/endorsement-auth", fixture);
    snprintf(wrong, sizeof(wrong), "%s/wrong-auth", fixture);
    write_file(wrong, "not-the-auth-value\n", 0600);
    return 0;
}

static void teardown(void)
{
    if (core_up)
        devid_core_fini();
}

/* Each refusal in a child with its own config: the parent holds no TPM connection. */
static void test_refused_no_settings(void)
{
    expect_refused("no settings", write_conf("none", ""), "set owner_auth_file",
                   "set endorsement_auth_file");
}

static void test_refused_wrong_values(void)
{
    char text[16384];
    snprintf(text, sizeof(text), "owner_auth_file = %s\nendorsement_auth_file = %s\n", wrong,
             wrong);
    expect_refused("wrong values", write_conf("wrong", text),
                   "refused the auth value in owner_auth_file",
                   "refused the auth value in endorsement_auth_file");
}

static void test_refused_missing_files(void)
{
    expect_refused("missing files",
                   write_conf("missing", "owner_auth_file = /nonexistent/owner\n"
                                         "endorsement_auth_file = /nonexistent/e\n"),
                   "owner_auth_file: ", "endorsement_auth_file: ");
}

/* The right values in files others can read or write: refused before they are read (and
 * before anything reaches the TPM), naming the setting, the file and the fix. */
static void test_refused_unsafe_modes(void)
{
    char readable[4200], writable[4200], text[16384];
    snprintf(readable, sizeof(readable), "%s/readable-auth", conf_dir);
    snprintf(writable, sizeof(writable), "%s/writable-auth", conf_dir);
    write_file(readable, "devid-owner-auth\n", 0644);
    write_file(writable, "devid-endorsement-auth\n", 0620);
    snprintf(text, sizeof(text), "owner_auth_file = %s\nendorsement_auth_file = %s\n", readable,
             writable);
    char readable_says[4400], writable_says[4400];
    snprintf(readable_says, sizeof(readable_says),
             "owner_auth_file %s is readable by every user and holds a secret: refused; chmod 600",
             readable);
    snprintf(writable_says, sizeof(writable_says),
             "endorsement_auth_file %s is writable by its group and holds a secret: refused; "
             "chmod 600",
             writable);
    expect_refused("unsafe modes", write_conf("unsafe", text), readable_says, writable_says);
}

static void test_fixture_config(void)
{
    /* the fixture's own config names the right files */
    core_up = devid_core_init() == DEVID_OK;
    CHECK(core_up, "core init: %s", devid_last_error());
    if (!core_up)
        return;
    CHECK_RC(gen_store_key(), DEVID_OK);
    CHECK_RC(devid_token_init("so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_login(DEVID_ROLE_SO, "so-pin", 6), DEVID_OK);
    CHECK_RC(devid_token_set_pin(DEVID_ROLE_USER, "user-pin", 8), DEVID_OK);
    CHECK_RC(devid_token_login(DEVID_ROLE_USER, "user-pin", 8), DEVID_OK);
    CHECK_RC(gen_store_key(), DEVID_OK);
    CHECK_RC(make_idevid(0x81020000), DEVID_OK);
    devid_identity *id = NULL;
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_OK);
    CHECK(id && id->key, "the IDevID key is there");
    devid_identity_free(id);
}

static void test_nv_by_owner(void)
{
    /* NV certificates on a deployed device: the platform hierarchy is disabled after boot, so
     * the owner defines the index and writes it (several chunks: each authorised) */
    devid_tpm_disconnect(); /* swtpm serves one connection at a time */
    CHECK(system("tpm2_hierarchycontrol -C p phEnable clear >/dev/null 2>&1") == 0,
          "platform hierarchy disabled");
    static unsigned char der[1800]; /* > TPM2_PT_NV_BUFFER_MAX (1024 on swtpm) */
    for (size_t i = 0; i < sizeof(der); i++)
        der[i] = (unsigned char)(i * 7);
    CHECK_RC(devid_nv_write_cert(0x01C90000, der, sizeof(der), true), DEVID_OK);
    unsigned char *back = NULL;
    size_t len = 0;
    CHECK_RC(devid__nv_read(0x01C90000, &back, &len), DEVID_OK);
    CHECK(back && len == sizeof(der) && memcmp(back, der, len) == 0, "NV round trip");
    free(back);
    CHECK_RC(devid_nv_write_cert(0x01C90000, der, 100, true), DEVID_OK); /* owner undefines */
    CHECK_RC(devid_provision_remove_key(0x81020000), DEVID_OK);
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, teardown);
    devid_test(test_refused_no_settings, "/hierarchy/refused/no-settings");
    devid_test(test_refused_wrong_values, "/hierarchy/refused/wrong-values");
    devid_test(test_refused_missing_files, "/hierarchy/refused/missing-files");
    devid_test(test_refused_unsafe_modes, "/hierarchy/refused/unsafe-modes");
    devid_test(test_fixture_config, "/hierarchy/fixture-config");
    devid_test_step(test_nv_by_owner, "/hierarchy/nv-by-owner");
    return devid_test_run("test_hierarchy", argc, argv);
}
