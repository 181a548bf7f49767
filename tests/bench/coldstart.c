/* SPDX-License-Identifier: Apache-2.0 */
/* devid-coldstart: one PKCS#11 cold start in a fresh, lean process (libc only, so its peak
 * RSS is the module's and its dependencies', not the benchmark's).
 *
 * usage: devid-coldstart --module PATH --key LABEL --digest HEX [--token LABEL] [--pin PIN]
 *                        [--count] [--with-libcrypto]
 * Times dlopen+C_GetFunctionList, C_Initialize, C_GetSlotList+C_OpenSession, C_Login,
 * C_FindObjects and the first C_SignInit+C_Sign (CKM_ECDSA over the digest), takes
 * getrusage()'s ru_maxrss, and writes a bench_result (with the signature and the key's
 * CKA_EC_POINT, for devid-bench to verify) to fd 3. --count runs through the TPM command
 * counter (proxy.c) and fills the per-step command counts instead. --with-libcrypto maps
 * libcrypto before the clock starts, as in the module's usual hosts (keyd, pkcs11-tool, curl,
 * any OpenSSL application): then dlopen is the module's own cost.
 */
#include "bench.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h"

static int unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = strlen(s) / 2;
    if (n > max || strlen(s) % 2)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    double t_main = bench_now();
    const char *module = NULL, *key = NULL, *token = NULL, *pin = NULL, *hex = "";
    bool count = false, with_libcrypto = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--module") && v)
            module = v, i++;
        else if (!strcmp(a, "--key") && v)
            key = v, i++;
        else if (!strcmp(a, "--token") && v)
            token = v, i++;
        else if (!strcmp(a, "--pin") && v)
            pin = v, i++;
        else if (!strcmp(a, "--digest") && v)
            hex = v, i++;
        else if (!strcmp(a, "--count"))
            count = true;
        else if (!strcmp(a, "--with-libcrypto"))
            with_libcrypto = true;
        else
            module = NULL, i = argc;
    }
    unsigned char dgst[64];
    int dlen = unhex(hex, dgst, sizeof(dgst));
    if (!module || !key || dlen <= 0) {
        fprintf(stderr, "usage: devid-coldstart --module PATH --key LABEL --digest HEX "
                        "[--token LABEL] [--pin PIN] [--count] [--with-libcrypto]\n");
        return 2;
    }
    if (with_libcrypto && !dlopen("libcrypto.so.3", RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "devid-coldstart: %s\n", dlerror());
        return 1;
    }
    long rss_base = bench_maxrss_kb();

    bench_result r;
    bench_result_init(&r, "coldstart");
    r.exec_ms = t_main * 1e3; /* devid-bench turns this into fork → main() */
    r.rss_base_kb = rss_base;
    char err[256] = "";
    bench_counts c[CS_STEPS + 1];
    if (count && bench_proxy_start(err, sizeof(err))) {
        bench_fail(&r, "%s", err);
        goto send;
    }
    p11_mod m;
    memset(&m, 0, sizeof(m));
    size_t sig_len = sizeof(r.sig);
    double t = bench_now();
    for (int step = 0; step < CS_STEPS; step++) {
        if (count)
            bench_proxy_snapshot(&c[step]);
        int rc = 0;
        switch (step) {
        case CS_DLOPEN: rc = p11_load(&m, module, err, sizeof(err)); break;
        case CS_INITIALIZE: rc = p11_initialize(&m, err, sizeof(err)); break;
        case CS_OPEN: rc = p11_open(&m, token, err, sizeof(err)); break;
        case CS_LOGIN: rc = p11_login(&m, pin, err, sizeof(err)); break;
        case CS_FIND: rc = p11_find_key(&m, key, err, sizeof(err)); break;
        case CS_SIGN:
            rc = p11_sign(&m, dgst, (size_t)dlen, r.sig, &sig_len, err, sizeof(err));
            break;
        }
        double t2 = bench_now();
        r.step_ms[step] = (t2 - t) * 1e3;
        t = t2;
        if (rc) {
            bench_fail(&r, "%s", err);
            break;
        }
    }
    r.rss_peak_kb = bench_maxrss_kb();
    if (count && r.status == BENCH_OK) {
        bench_proxy_snapshot(&c[CS_STEPS]);
        for (int s = 0; s < CS_STEPS; s++)
            r.step_cmds[s] = (double)(c[s + 1].total - c[s].total);
        bench_counts_apply(&r, &c[0], &c[CS_STEPS], 1); /* the whole cold start's mix */
    }
    if (r.status == BENCH_OK) {
        r.sig_len = (uint32_t)sig_len;
        size_t plen = sizeof(r.point);
        if (p11_ec_point(&m, key, r.point, &plen, err, sizeof(err)) == 0)
            r.point_len = (uint32_t)plen;
        r.ops = 1;
    }
    p11_close(&m);
send:;
    const char *p = (const char *)&r;
    size_t left = sizeof(r);
    while (left) {
        ssize_t n = write(3, p, left);
        if (n <= 0)
            return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}
