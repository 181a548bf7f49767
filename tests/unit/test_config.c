/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the configuration parser and environment overrides: core's keys and
 * devid-enroll's [est] and [renew] (enroll/enroll_config.h), read from the same text. */
#include "devid_test.h"
#include "config.h"
#include "enroll_config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enroll_config *econf; /* devid-enroll's part of the last parse() */

/* Both parsers over the same text, as a device reads it. */
static devid_rc parse(devid_config **cfg, const char *text)
{
    enroll_config_free(econf);
    econf = NULL;
    devid_rc rc = devid_config_new(cfg);
    if (rc == DEVID_OK)
        rc = devid_config_parse(*cfg, text, strlen(text), "test.conf");
    if (rc == DEVID_OK)
        rc = enroll_config_new(&econf);
    if (rc == DEVID_OK)
        rc = enroll_config_parse(econf, text, strlen(text), "test.conf");
    if (rc == DEVID_OK)
        rc = enroll_config_check(econf);
    return rc;
}

static void test_defaults(void)
{
    devid_config *cfg = NULL;
    CHECK_RC(devid_config_new(&cfg), DEVID_OK);
    CHECK(strcmp(cfg->store, "/var/lib/devid") == 0, "store %s", cfg->store);
    CHECK(strcmp(cfg->token_label, "DevID") == 0, "label %s", cfg->token_label);
    CHECK(cfg->tcti == NULL, "tcti set by default");
    CHECK(cfg->map[DEVID_MAP_IDEVID].key_handle == 0x81020000, "idevid handle");
    CHECK(cfg->map[DEVID_MAP_IDEVID].cert_nv == 0x01C90000, "idevid nv");
    CHECK(cfg->map[DEVID_MAP_IDEVID].cert_nv_alt == 0x01C90200, "idevid alt nv");
    CHECK(cfg->map[DEVID_MAP_IAK].cert_nv_alt == 0x01C90100, "iak alt nv");
    CHECK(cfg->map[DEVID_MAP_EK_RSA].cert_nv == 0x01C00002, "ek rsa nv");
    CHECK(cfg->map[DEVID_MAP_EK_ECC].cert_nv == 0x01C0000A, "ek ecc nv");
    CHECK(cfg->map[DEVID_MAP_LDEVID].key_handle == 0x81000002, "ldevid handle");
    CHECK(cfg->map[DEVID_MAP_LDEVID].cert_source == DEVID_CERT_FILE, "ldevid cert in a file");
    CHECK(cfg->map[DEVID_MAP_IDEVID].factory && !cfg->map[DEVID_MAP_LDEVID].factory, "factory");
    CHECK(cfg->store_dir_mode == 02770 && cfg->store_key_mode == 0640 &&
              cfg->store_cert_mode == 0640,
          "group-shared store modes by default");
    devid_config_free(cfg);
}

static void test_valid_file(void)
{
    devid_config *cfg = NULL;
    CHECK_RC(parse(&cfg, "# comment\n"
                         "; other comment\n"
                         "tcti = swtpm:host=127.0.0.1,port=2321\n"
                         "  store=/tmp/devid-store  # where the keys live\n"
                         "log = debug\n"
                         "token_label = \"My Token\"\n"
                         "pin_file = /etc/devid/user.pin\n"
                         "idevid.key = 0x81020010\n"
                         "[ldevid]\n"
                         "key = 0x81000003\n"
                         "cert = /etc/devid/ldevid.pem\n"
                         "[iak]\n"
                         "cert_nv = none\n"
                         "key = none\n"
                         "[est]\n"
                         "server = https://est.example:8443\n"
                         "timeout = 5\n"
                         "[renew]\n"
                         "threshold = 66\n"),
             DEVID_OK);
    const enroll_config *e = econf;
    CHECK(e && e->est.server && strcmp(e->est.server, "https://est.example:8443") == 0, "est");
    CHECK(e && e->est.timeout == 5 && e->est.max_attempts == 8, "est ints and defaults");
    CHECK(e && e->renew.threshold == 66 && e->renew.jitter == 10, "renew");
    CHECK(cfg->tcti && strcmp(cfg->tcti, "swtpm:host=127.0.0.1,port=2321") == 0, "tcti");
    CHECK(strcmp(cfg->store, "/tmp/devid-store") == 0, "store trimmed: '%s'", cfg->store);
    CHECK(cfg->log_level == DEVID_LOG_DEBUG, "log level");
    CHECK(strcmp(cfg->token_label, "My Token") == 0, "quoted label '%s'", cfg->token_label);
    CHECK(cfg->pin_file && strcmp(cfg->pin_file, "/etc/devid/user.pin") == 0, "pin_file");
    CHECK(cfg->map[DEVID_MAP_IDEVID].key_handle == 0x81020010, "dotted key");
    CHECK(cfg->map[DEVID_MAP_LDEVID].key_handle == 0x81000003, "section key");
    CHECK(strcmp(cfg->map[DEVID_MAP_LDEVID].cert_file, "/etc/devid/ldevid.pem") == 0, "cert");
    CHECK(cfg->map[DEVID_MAP_IAK].key_handle == 0, "none disables key");
    CHECK(cfg->map[DEVID_MAP_IAK].cert_source == DEVID_CERT_NONE, "none disables cert");
    devid_config_free(cfg);
}

/* Each bad input must fail with DEVID_ERR_CONFIG and name the line. */
static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *where;
        const char *what;
    } cases[] = {
        { "bogus = 1\n", "test.conf:1", "unknown key 'bogus'" },
        { "\n\nlog = loud\n", "test.conf:3", "log level 'loud'" },
        { "idevid.key = 0x01C90000\n", "test.conf:1", "not a persistent key handle" },
        { "idevid.cert_nv = 0x81000001\n", "test.conf:1", "not a NV index" },
        { "idevid.key = 12abc\n", "test.conf:1", "persistent key handle" },
        { "idevid.key = -1\n", "test.conf:1", "persistent key handle" },
        { "idevid.key = 0x1810000000\n", "test.conf:1", "persistent key handle" },
        { "store = relative/path\n", "test.conf:1", "not an absolute path" },
        { "[nosuch]\nkey = 0x81000001\n", "test.conf:2", "unknown key 'nosuch.key'" },
        { "[est]\ntimeout = 0\n", "test.conf:2", "whole number from 1 to 3600" },
        { "renew.threshold = 80%\n", "test.conf:1", "whole number" },
        { "est.trust_anchor = trust.pem\n", "test.conf:1", "absolute path" },
        { "pin_file = user.pin\n", "test.conf:1", "absolute path" },
        { "est.bogus = 1\n", "test.conf:1", "unknown key 'est.bogus'" },
        { "[idevid\n", "test.conf:1", "malformed section header" },
        { "just words\n", "test.conf:1", "expected 'key = value'" },
        { "token_label = \"unterminated\n", "test.conf:1", "unterminated" },
        { "ldevid.cert = somewhere\n", "test.conf:1", "expected \"store\"" },
        { "tcti =\n", "test.conf:1", "empty value" },
        { "= value\n", "test.conf:1", "invalid key name" },
        { "idevid.bogus = 1\n", "test.conf:1", "unknown key 'idevid.bogus'" },
        { "[renew]\nthreshold = 90\njitter = 10\n", "95%", "renewed" },
        { "[est]\nauth = ntlm\n", "test.conf:2", "expected basic, digest or any" },
        { "[est]\npop = sometimes\n", "test.conf:2", "expected auto, always or never" },
        { "[est]\ncredentials_for = anyone\n", "test.conf:2", "expected factory, owner" },
        { "[est]\ncredentials_for = owner\n", "credentials_server", "one server" },
        { "[est]\ncredentials_server = http://x\n", "test.conf:2", "https:// URL" },
        { "[est]\nserver = http://est.example.com\n", "test.conf:2", "https:// URL" },
        { "[est]\nfingerprint = 12:34:zz\n", "test.conf:2", "SHA-256 fingerprint" },
        { "[est]\nfingerprint = 0123456789abcdef\n", "test.conf:2", "64 hex digits" },
        { "[est]\ncheck_server_revocation = maybe\n", "test.conf:2", "expected no or yes" },
        { "\nstore_key_mode = 0644\n", "test.conf:2", "gives other users access" },
        { "store_dir_mode = 2775\n", "test.conf:1", "gives other users access" },
        { "store_dir_mode = 0670\n", "test.conf:1", "owner rwx" },
        { "store_cert_mode = 640x\n", "test.conf:1", "not an octal file mode" },
        { "store_cert_mode = 2640\n", "test.conf:1", "for the directory" },
        { "token_label = 0123456789abcdef0123456789abcdefX\n", "test.conf:1", "1 to 32 bytes" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        devid_config *cfg = NULL;
        devid_rc rc = parse(&cfg, cases[i].text);
        CHECK(rc == DEVID_ERR_CONFIG, "case %zu: %s", i, devid_rc_name(rc));
        CHECK(strstr(devid_last_error(), cases[i].where) != NULL, "case %zu: '%s' lacks %s", i,
              devid_last_error(), cases[i].where);
        CHECK(strstr(devid_last_error(), cases[i].what) != NULL, "case %zu: '%s' lacks %s", i,
              devid_last_error(), cases[i].what);
        devid_config_free(cfg);
    }
    devid_config *cfg = NULL;
    const char nul[] = "log = debug\0junk\n";
    CHECK_RC(devid_config_new(&cfg), DEVID_OK);
    CHECK_RC(devid_config_parse(cfg, nul, sizeof(nul) - 1, "nul.conf"), DEVID_ERR_CONFIG);
    devid_config_free(cfg);
}

static void test_env_and_files(void)
{
    char dir[] = "/tmp/devid-conf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof(path), "%s/devid.conf", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "create %s", path);
    if (!f)
        return;
    fputs("store = /from/file\nlog = warn\ntcti = device:/dev/tpmrm0\n", f);
    fclose(f);

    setenv("DEVID_CONF", path, 1);
    setenv("DEVID_STORE", "/from/env", 1);
    unsetenv("DEVID_TCTI");
    unsetenv("DEVID_LOG");
    devid_config *cfg = NULL;
    CHECK_RC(devid_config_load(NULL, &cfg), DEVID_OK);
    if (cfg) {
        CHECK(strcmp(cfg->store, "/from/env") == 0, "env overrides file: %s", cfg->store);
        CHECK(cfg->log_level == DEVID_LOG_WARN, "file value kept");
        CHECK(strcmp(cfg->tcti, "device:/dev/tpmrm0") == 0, "tcti from file");
        CHECK(strcmp(cfg->map[DEVID_MAP_LDEVID].cert_file, "/from/env/ldevid-chain.pem") == 0,
              "store cert resolved against the final store: %s",
              cfg->map[DEVID_MAP_LDEVID].cert_file);
        devid_config_free(cfg);
        cfg = NULL;
    }

    /* A host's settings (the provider's openssl.cnf): over the file, under the environment. */
    unsetenv("DEVID_CONF");
    devid_settings host = { .origin = "openssl.cnf",
                            .conf = path,
                            .tcti = "swtpm:port=1",
                            .store = "/from/host",
                            .log = "error" };
    CHECK_RC(devid_config_load(&host, &cfg), DEVID_OK);
    if (cfg) {
        CHECK(strcmp(cfg->store, "/from/env") == 0, "env overrides settings: %s", cfg->store);
        CHECK(strcmp(cfg->tcti, "swtpm:port=1") == 0, "settings override the file: %s", cfg->tcti);
        CHECK(cfg->log_level == DEVID_LOG_ERROR, "log level from the settings");
        devid_config_free(cfg);
        cfg = NULL;
    }
    host.log = "chatty";
    CHECK_RC(devid_config_load(&host, &cfg), DEVID_ERR_CONFIG);
    CHECK(strstr(devid_last_error(), "openssl.cnf: log") != NULL, "names the setting: %s",
          devid_last_error());
    setenv("DEVID_CONF", path, 1);

    f = fopen(path, "w");
    if (f) {
        fputs("store = /from/file\n", f);
        fclose(f);
    }

    setenv("DEVID_LOG", "chatty", 1);
    CHECK_RC(devid_config_load(NULL, &cfg), DEVID_ERR_CONFIG);
    CHECK(strstr(devid_last_error(), "DEVID_LOG") != NULL, "names the variable: %s",
          devid_last_error());
    unsetenv("DEVID_LOG");

    /* A config file named explicitly must exist; the default one may be absent. */
    snprintf(path, sizeof(path), "%s/missing.conf", dir);
    setenv("DEVID_CONF", path, 1);
    CHECK_RC(devid_config_load(NULL, &cfg), DEVID_ERR_NOT_FOUND);
    CHECK(strstr(devid_last_error(), "missing.conf") != NULL, "names the file: %s",
          devid_last_error());

    snprintf(path, sizeof(path), "%s/devid.conf", dir);
    unlink(path);
    rmdir(dir);
    unsetenv("DEVID_CONF");
    unsetenv("DEVID_STORE");
}

/* Credentials scoped to a phase and a server; core ignores devid-enroll's sections. */
static void test_enroll_scopes(void)
{
    devid_config *cfg = NULL;
    CHECK_RC(parse(&cfg, "[est]\nusername = station\nauth = digest\ncredentials_for = both\n"
                         "credentials_server = https://station.example:8443\n"),
             DEVID_OK);
    CHECK(econf && strcmp(econf->est.auth, "digest") == 0, "auth");
    CHECK(econf && strcmp(econf->est.credentials_for, "both") == 0, "scope");
    CHECK(econf && strcmp(econf->est.credentials_server, "https://station.example:8443") == 0,
          "server");
    devid_config_free(cfg);
    cfg = NULL;
    /* core alone accepts what only devid-enroll checks */
    CHECK_RC(devid_config_new(&cfg), DEVID_OK);
    const char text[] = "[est]\nbogus = 1\n";
    CHECK_RC(devid_config_parse(cfg, text, sizeof(text) - 1, "core.conf"), DEVID_OK);
    devid_config_free(cfg);
}

/* The shipped example must stay a valid configuration. */
static void test_example(const void *data)
{
    const char *path = data;
    devid_config *cfg = NULL;
    CHECK_RC(devid_config_new(&cfg), DEVID_OK);
    CHECK_RC(devid_config_read_file(cfg, path), DEVID_OK);
    devid_config_free(cfg);
    enroll_config *e = NULL;
    CHECK_RC(enroll_config_new(&e), DEVID_OK);
    CHECK_RC(enroll_config_read_file(e, path), DEVID_OK);
    CHECK_RC(enroll_config_check(e), DEVID_OK);
    enroll_config_free(e);
}

static void free_last_parse(void)
{
    enroll_config_free(econf);
    econf = NULL;
}

int main(int argc, char **argv)
{
    const char *example = devid_test_arg(argc, argv, 0);
    devid_test_fixture(NULL, free_last_parse);
    if (example)
        devid_testx(test_example, example, "/config/example");
    devid_test(test_defaults, "/config/defaults");
    devid_test(test_valid_file, "/config/valid-file");
    devid_test(test_errors, "/config/errors");
    devid_test(test_env_and_files, "/config/env-and-files");
    devid_test(test_enroll_scopes, "/config/enroll-scopes");
    return devid_test_run("test_config", argc, argv);
}
