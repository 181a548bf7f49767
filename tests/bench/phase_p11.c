/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 C_Sign (CKM_ECDSA over a SHA-256 digest) through a dlopen()ed module, the way an
 * application uses it: C_SignInit + C_Sign per signature on one logged-in session. */
#include "bench.h"
#include "tpm.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h" /* last: p11-kit's pkcs11.h defines lower-case macros */

#ifndef DEVID_BENCH_PKCS11_DEFAULT
#define DEVID_BENCH_PKCS11_DEFAULT "build/pkcs11/devid-pkcs11.so"
#endif
#ifndef DEVID_BENCH_TPM2_PKCS11_DEFAULT
#define DEVID_BENCH_TPM2_PKCS11_DEFAULT "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"
#endif

int bench_p11_target_get(const char *which, bench_p11_target *t, char *note, size_t notelen)
{
    memset(t, 0, sizeof(*t));
    if (!strcmp(which, "devid")) {
        t->path = bench_env("DEVID_BENCH_PKCS11", DEVID_BENCH_PKCS11_DEFAULT);
        t->token = NULL; /* devid's one token, whatever its configured label */
        t->key = "LDevID";
        t->key_is_ldevid = true;
        if (access(t->path, R_OK)) {
            snprintf(note, notelen, "not built yet (no %s)", t->path);
            return -1;
        }
        return 0;
    }
    t->path = bench_env("DEVID_BENCH_TPM2_PKCS11", DEVID_BENCH_TPM2_PKCS11_DEFAULT);
    t->token = bench_env("DEVID_BENCH_TPM2_TOKEN", "bench");
    t->key = bench_env("DEVID_BENCH_TPM2_KEY", "bench-key");
    t->pin = bench_env("DEVID_BENCH_TPM2_PIN", "1234");
    if (access(t->path, R_OK)) {
        snprintf(note, notelen, "tpm2-pkcs11 not installed (no %s)", t->path);
        return -1;
    }
    if (!getenv("TPM2_PKCS11_STORE")) {
        snprintf(note, notelen,
                 "no tpm2-pkcs11 store (TPM2_PKCS11_STORE unset: "
                 "tests/bench/setup-tpm2-pkcs11.sh makes one)");
        return -1;
    }
    return 0;
}

static int p11_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    io->sig_len = 160;
    return p11_sign(arg, io->dgst, 32, io->sig, &io->sig_len, err, errlen);
}

static double core_count(void)
{
    return (double)devid_tpm_command_count();
}

void phase_p11(bench_result *r, const bench_opts *o, const char *which)
{
    bench_p11_target t;
    char err[320];
    p11_mod m = { 0 };
    void *pub = NULL;
    if (bench_p11_target_get(which, &t, err, sizeof(err))) {
        bench_skip(r, "%s", err);
        return;
    }
    if (p11_load(&m, t.path, err, sizeof(err)) || p11_initialize(&m, err, sizeof(err)) ||
        p11_open(&m, t.token, err, sizeof(err)) || p11_login(&m, t.pin, err, sizeof(err)) ||
        p11_find_key(&m, t.key, err, sizeof(err))) {
        bench_fail(r, "%s", err);
        goto out;
    }
    if (t.key_is_ldevid) {
        pub = bench_ldevid_pub(err, sizeof(err));
    } else {
        unsigned char point[160];
        size_t len = sizeof(point);
        if (p11_ec_point(&m, t.key, point, &len, err, sizeof(err)) == 0)
            pub = bench_pub_from_point(point, len);
    }
    if (!pub) {
        bench_fail(r, "public key for verification: %s", err);
        goto out;
    }
    /* devid's module shares this process's libdevid-core, so its counter is the module's */
    bench_loop(r, o, p11_op, &m, SIG_RAW_RS, pub, !strcmp(which, "devid") ? core_count : NULL);
out:
    p11_close(&m);
    EVP_PKEY_free(pub);
}
