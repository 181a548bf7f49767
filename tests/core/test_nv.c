/* SPDX-License-Identifier: Apache-2.0 */
/* NV certificate reading against swtpm (ecc fixture): chunked reads, the owner-read fallback,
 * probing the alternative index, malformed indices. Uses tpm2-tools to set indices up, with
 * core disconnected meanwhile (swtpm serves one connection at a time). */
#include "devid_test.h"
#include "devid.h"
#include "tpm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int sh(const char *cmd)
{
    devid_tpm_disconnect();
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_chunked(void)
{
    /* 2000 bytes: more than the TPM's NV buffer (1024 bytes on swtpm; its largest index is 2048) */
    CHECK(
        sh("set -e; head -c 2000 /dev/urandom > \"$DEVID_FIXTURE/big.bin\"; "
           "tpm2_nvdefine 0x01500010 -C o -s 2000 -a 'ownerread|ownerwrite|authread|authwrite|no_da' >/dev/null; "
           "tpm2_nvwrite 0x01500010 -C o -i \"$DEVID_FIXTURE/big.bin\"") == 0,
        "define and write a 2000-byte index");
    unsigned char *data = NULL;
    size_t len = 0;
    CHECK_RC(devid__nv_read(0x01500010, &data, &len), DEVID_OK);
    char path[4096];
    snprintf(path, sizeof(path), "%s/big.bin", getenv("DEVID_FIXTURE"));
    FILE *f = fopen(path, "rb");
    unsigned char want[2000];
    size_t got = f ? fread(want, 1, sizeof(want), f) : 0;
    if (f)
        fclose(f);
    CHECK(len == 2000 && got == 2000 && data && memcmp(data, want, 2000) == 0,
          "chunked read returns all 2000 bytes");
    free(data);
}

static void test_owner_fallback(void)
{
    /* the index has an auth value we do not know, but the owner may read it */
    CHECK(
        sh("set -e; echo -n 'owner readable' > \"$DEVID_FIXTURE/small.bin\"; "
           "tpm2_nvdefine 0x01500011 -C o -s 14 -p secret -a 'ownerread|ownerwrite|authread|authwrite|no_da' >/dev/null; "
           "tpm2_nvwrite 0x01500011 -C o -i \"$DEVID_FIXTURE/small.bin\"; "
           "tpm2_nvdefine 0x01500012 -C o -s 14 -p secret -a 'ownerread|ownerwrite|authread|authwrite' >/dev/null; "
           "tpm2_nvwrite 0x01500012 -C o -i \"$DEVID_FIXTURE/small.bin\"; "
           "tpm2_nvdefine 0x01500013 -C o -s 14 -a 'ppread|ownerwrite|authwrite|no_da' >/dev/null; "
           "tpm2_nvwrite 0x01500013 -C o -i \"$DEVID_FIXTURE/small.bin\"; "
           "tpm2_nvdefine 0x01500014 -C o -s 14 -a 'ownerread|ownerwrite|authread|authwrite|no_da' >/dev/null") ==
            0,
        "define indices");
    unsigned char *data = NULL;
    size_t len = 0;
    CHECK_RC(devid__nv_read(0x01500011, &data, &len), DEVID_OK);
    CHECK(data && len == 14 && memcmp(data, "owner readable", 14) == 0, "owner fallback");
    free(data);
    data = NULL;
    /* Once connected: the index's public area comes with the ESYS object (TR_FromTPMPublic),
     * not from a second TPM2_NV_ReadPublic: TR_FromTPMPublic, the NV_Read with the index's
     * auth that fails, the owner's that works. */
    uint64_t before = devid_tpm_command_count();
    CHECK_RC(devid__nv_read(0x01500011, &data, &len), DEVID_OK);
    CHECK(devid_tpm_command_count() - before == 3, "3 TPM commands per NV read, not %llu",
          (unsigned long long)(devid_tpm_command_count() - before));
    free(data);
    data = NULL;
    /* DA-protected index: read as owner first, so no failed auth is counted */
    CHECK_RC(devid__nv_read(0x01500012, &data, &len), DEVID_OK);
    free(data);
    data = NULL;
    CHECK(sh("tpm2_getcap properties-variable | grep -q 'TPM2_PT_LOCKOUT_COUNTER: 0x0'") == 0,
          "no dictionary-attack failure counted");
    CHECK_RC(devid__nv_read(0x01500013, &data, &len), DEVID_ERR_AUTH);
    CHECK_RC(devid__nv_read(0x01500014, &data, &len), DEVID_ERR_NOT_FOUND); /* never written */
    CHECK(strstr(devid_last_error(), "never written") != NULL, "%s", devid_last_error());
    CHECK_RC(devid__nv_read(0x81000001, &data, &len), DEVID_ERR_ARG);
}

static void test_alt_index(void)
{
    /* the default IDevID index is absent on this "device"; the alternative one holds it */
    char conf[4096];
    snprintf(conf, sizeof(conf), "%s/alt.conf", getenv("DEVID_FIXTURE"));
    FILE *f = fopen(conf, "w");
    if (f) {
        fprintf(f,
                "trust_anchors = %s/pki/trust.pem\n[idevid]\ncert_nv = 0x01C90123\n"
                "cert_nv_alt = 0x01C90000\n",
                getenv("DEVID_FIXTURE"));
        fclose(f);
    }
    devid_core_fini();
    setenv("DEVID_CONF", conf, 1);
    CHECK_RC(devid_core_init(), DEVID_OK);
    devid_identity *id = NULL;
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_OK);
    CHECK(id && id->cert && id->cert_nv == 0x01C90000, "certificate found at the alternative");
    char detail[256];
    CHECK(id && devid_identity_verify(id, detail, sizeof(detail)) == DEVID_CHAIN_VALID, "%s",
          detail);
    devid_identity_free(id);
}

static void test_bad_cert_in_nv(void)
{
    CHECK(
        sh("set -e; echo -n 'not a certificate at all' > \"$DEVID_FIXTURE/junk.bin\"; "
           "tpm2_nvdefine 0x01C90001 -C o -s 24 -a 'ownerread|ownerwrite|authread|authwrite|no_da' >/dev/null; "
           "tpm2_nvwrite 0x01C90001 -C o -i \"$DEVID_FIXTURE/junk.bin\"") == 0,
        "junk in the IAK certificate index");
    devid_identity *id = NULL;
    /* no IAK key and an unreadable certificate: the entry exists but says why */
    devid_rc rc = devid_identity_load(DEVID_MAP_IAK, &id);
    CHECK(rc == DEVID_ERR_NOT_FOUND, "IAK without key or valid cert: %s", devid_rc_name(rc));
    devid_identity_free(id);
    id = NULL;
    CHECK_RC(devid_identity_load(DEVID_MAP_IDEVID, &id), DEVID_OK);
    devid_identity_free(id);
}

static int setup(void)
{
    if (devid_core_init() != DEVID_OK) {
        fprintf(stderr, "core init: %s\n", devid_last_error());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    devid_test_fixture(setup, devid_core_fini);
    devid_test(test_chunked, "/nv/chunked");
    devid_test(test_owner_fallback, "/nv/owner-fallback");
    devid_test(test_bad_cert_in_nv, "/nv/bad-cert-in-nv");
    devid_test(test_alt_index, "/nv/alt-index");
    return devid_test_run("test_nv", argc, argv);
}
