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

/* The command line. */
typedef struct {
    const char *module, *key, *token, *pin, *hex;
    bool count, with_libcrypto;
    unsigned char dgst[64];
    int dlen;
} cs_args;

/* 0, or 2 after the usage line. */
static int parse_args(int argc, char **argv, cs_args *a)
{
    *a = (cs_args){ .hex = "" };
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--module") && v)
            a->module = v, i++;
        else if (!strcmp(o, "--key") && v)
            a->key = v, i++;
        else if (!strcmp(o, "--token") && v)
            a->token = v, i++;
        else if (!strcmp(o, "--pin") && v)
            a->pin = v, i++;
        else if (!strcmp(o, "--digest") && v)
            a->hex = v, i++;
        else if (!strcmp(o, "--count"))
            a->count = true;
        else if (!strcmp(o, "--with-libcrypto"))
            a->with_libcrypto = true;
        else
            a->module = NULL, i = argc;
    }
    a->dlen = unhex(a->hex, a->dgst, sizeof(a->dgst));
    if (!a->module || !a->key || a->dlen <= 0) {
        fprintf(stderr, "usage: devid-coldstart --module PATH --key LABEL --digest HEX "
                        "[--token LABEL] [--pin PIN] [--count] [--with-libcrypto]\n");
        return 2;
    }
    return 0;
}

/* One step of the cold start; 0 or -1 with err. */
static int run_step(int step, p11_mod *m, const cs_args *a, bench_result *r, size_t *sig_len,
                    char *err, size_t errlen)
{
    switch (step) {
    case CS_DLOPEN:
        return p11_load(m, a->module, err, errlen);
    case CS_INITIALIZE:
        return p11_initialize(m, err, errlen);
    case CS_OPEN:
        return p11_open(m, a->token, err, errlen);
    case CS_LOGIN:
        return p11_login(m, a->pin, err, errlen);
    case CS_FIND:
        return p11_find_key(m, a->key, err, errlen);
    case CS_SIGN:
        return p11_sign(m, a->dgst, (size_t)a->dlen, r->sig, sig_len, err, errlen);
    }
    return 0;
}

/* The steps, timed (and counted with --count), then the signature and the key's point for
 * devid-bench to verify. */
static void cold_start(p11_mod *m, const cs_args *a, bench_result *r)
{
    char err[256] = "";
    bench_counts c[CS_STEPS + 1];
    size_t sig_len = sizeof(r->sig);
    double t = bench_now();
    for (int step = 0; step < CS_STEPS; step++) {
        if (a->count)
            bench_proxy_snapshot(&c[step]);
        int rc = run_step(step, m, a, r, &sig_len, err, sizeof(err));
        double t2 = bench_now();
        r->step_ms[step] = (t2 - t) * 1e3;
        t = t2;
        if (rc) {
            bench_fail(r, "%s", err);
            break;
        }
    }
    r->rss_peak_kb = bench_maxrss_kb();
    if (a->count && r->status == BENCH_OK) {
        bench_proxy_snapshot(&c[CS_STEPS]);
        for (int s = 0; s < CS_STEPS; s++)
            r->step_cmds[s] = (double)(c[s + 1].total - c[s].total);
        bench_counts_apply(r, &c[0], &c[CS_STEPS], 1); /* the whole cold start's mix */
    }
    if (r->status == BENCH_OK) {
        r->sig_len = (uint32_t)sig_len;
        size_t plen = sizeof(r->point);
        if (p11_ec_point(m, a->key, r->point, &plen, err, sizeof(err)) == 0)
            r->point_len = (uint32_t)plen;
        r->ops = 1;
    }
}

static int send_result(int fd, const bench_result *r)
{
    const char *p = (const char *)r;
    size_t left = sizeof(*r);
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double t_main = bench_now();
    cs_args a;
    if (parse_args(argc, argv, &a))
        return 2;
    if (a.with_libcrypto && !dlopen("libcrypto.so.3", RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "devid-coldstart: %s\n", dlerror());
        return 1;
    }
    long rss_base = bench_maxrss_kb();

    bench_result r;
    bench_result_init(&r, "coldstart");
    r.exec_ms = t_main * 1e3; /* devid-bench turns this into fork → main() */
    r.rss_base_kb = rss_base;
    char err[256] = "";
    if (a.count && bench_proxy_start(err, sizeof(err))) {
        bench_fail(&r, "%s", err);
        return send_result(3, &r);
    }
    p11_mod m;
    memset(&m, 0, sizeof(m));
    cold_start(&m, &a, &r);
    p11_close(&m);
    return send_result(3, &r);
}
