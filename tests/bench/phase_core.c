/* SPDX-License-Identifier: Apache-2.0 */
/* libdevid-core directly: devid_key_sign on devid_key_open_persistent().
 *
 *  core       the LDevID (0x81000002, empty auth): the path both front-ends take
 *  core-auth  the fixture's key with an auth value (0x81000010): devid's salted, encrypted
 *             session path, to compare with floor-enc
 */
#include "bench.h"
#include "devid.h"
#include "tpm.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <string.h>

static int core_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    size_t len = 160;
    devid_rc rc = devid_key_sign(arg, DEVID_SIG_ECDSA, NID_sha256, io->dgst, 32, io->sig, &len);
    if (rc != DEVID_OK) {
        snprintf(err, errlen, "devid_key_sign: %s (%s)", devid_rc_name(rc), devid_last_error());
        return -1;
    }
    io->sig_len = len;
    return 0;
}

static double core_count(void)
{
    return (double)devid_tpm_command_count();
}

void phase_core(bench_result *r, const bench_opts *o, bool with_auth)
{
    char err[256];
    devid_key *key = NULL;
    uint32_t handle = with_auth ? 0x81000010u : 0x81000002u;
    devid_rc rc = devid_core_init();
    if (rc != DEVID_OK) {
        bench_fail(r, "devid_core_init: %s (%s)", devid_rc_name(rc), devid_last_error());
        return;
    }
    void *pub = with_auth ? NULL : bench_ldevid_pub(err, sizeof(err));
    if (!with_auth && !pub) {
        bench_fail(r, "%s", err);
        goto out;
    }
    rc = devid_key_open_persistent(handle, &key);
    if (rc == DEVID_OK && with_auth)
        rc = devid_key_set_auth(key, "devid-test-auth", 15);
    if (rc != DEVID_OK) {
        bench_fail(r, "key 0x%08x: %s (%s)", handle, devid_rc_name(rc), devid_last_error());
        goto out;
    }
    bench_loop(r, o, core_op, key, SIG_RAW_RS, with_auth ? devid_key_get_public(key) : pub,
               core_count);
out:
    devid_key_free(key);
    EVP_PKEY_free(pub);
    devid_core_fini();
}
