/* SPDX-License-Identifier: Apache-2.0 */
/* The timed loop shared by every throughput phase. */
#include "bench.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_input(uint64_t i, unsigned char msg[64], unsigned char dgst[32])
{
    memset(msg, 0, 64);
    snprintf((char *)msg, 64, "devid-bench message %llu", (unsigned long long)i);
    SHA256(msg, 64, dgst);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One op, checked: 0 on success (r is failed otherwise). */
static int run_one(bench_result *r, bench_op_fn op, void *arg, uint64_t i, bool verify,
                   bench_sig_format fmt, void *pub, double *lat)
{
    unsigned char msg[64], dgst[32], sig[160];
    char err[256] = "";
    make_input(i, msg, dgst);
    bench_op_io io = { .msg = msg, .msg_len = sizeof(msg), .dgst = dgst, .sig = sig };
    double t = bench_now();
    int rc = op(arg, &io, err, sizeof(err));
    if (lat)
        *lat = bench_now() - t;
    if (rc != 0) {
        bench_fail(r, "op %llu failed: %s", (unsigned long long)i, err);
        return -1;
    }
    if (verify && fmt != SIG_NONE && pub) {
        if (bench_verify(pub, fmt, dgst, sig, io.sig_len)) {
            r->verified++;
        } else {
            r->verify_failed++;
            bench_fail(r, "signature %llu (%zu bytes) does not verify with the key's public key",
                       (unsigned long long)i, io.sig_len);
            return -1;
        }
    }
    return 0;
}

void bench_loop(bench_result *r, const bench_opts *o, bench_op_fn op, void *arg,
                bench_sig_format fmt, void *pub, bench_counter_fn core_count)
{
    bench_counts c0 = { 0 }, c1 = { 0 };
    uint64_t i = 0;
    if (o->count_ops) {
        bench_proxy_snapshot(&c0);
        r->setup_wire_cmds = (double)c0.total;
    }
    for (int w = 0; w < o->warmup; w++, i++)
        if (run_one(r, op, arg, i, true, fmt, pub, NULL))
            return;

    if (o->count_ops) {
        /* counting pass: exact commands per op, no timing */
        bench_proxy_snapshot(&c0);
        double k0 = core_count ? core_count() : 0;
        for (uint64_t n = 0; n < o->count_ops; n++, i++)
            if (run_one(r, op, arg, i, o->verify_all, fmt, pub, NULL))
                return;
        bench_proxy_snapshot(&c1);
        bench_counts_apply(r, &c0, &c1, o->count_ops);
        if (core_count && core_count() > k0)
            r->core_cmds = (core_count() - k0) / (double)o->count_ops;
        return;
    }

    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof(*lat));
    if (!lat) {
        bench_fail(r, "out of memory");
        return;
    }
    long swtpm = bench_swtpm_pid();
    double k0 = core_count ? core_count() : 0;
    double cpu0 = bench_cpu_self(), tpm0 = bench_cpu_pid(swtpm), t0 = bench_now(), t1 = t0;
    while ((o->max_ops == 0 || n < o->max_ops) && t1 - t0 < o->seconds) {
        if (n == cap) {
            double *m = realloc(lat, 2 * cap * sizeof(*lat));
            if (!m)
                break;
            lat = m;
            cap *= 2;
        }
        if (run_one(r, op, arg, i++, o->verify_all, fmt, pub, &lat[n])) {
            free(lat);
            return;
        }
        n++;
        t1 = bench_now();
    }
    double cpu1 = bench_cpu_self(), tpm1 = bench_cpu_pid(swtpm);
    r->ops = n;
    r->seconds = t1 - t0;
    if (n) {
        r->ops_per_s = (double)n / r->seconds;
        r->client_cpu_us = (cpu1 - cpu0) * 1e6 / (double)n;
        if (tpm0 >= 0 && tpm1 >= 0)
            r->tpm_cpu_us = (tpm1 - tpm0) * 1e6 / (double)n;
        /* 0: the front-end did not share our libdevid-core (or never used it) */
        if (core_count && core_count() > k0)
            r->core_cmds = (core_count() - k0) / (double)n;
        qsort(lat, n, sizeof(*lat), cmp_double);
        r->p50_us = lat[n / 2] * 1e6;
        r->p99_us = lat[n * 99 / 100 < n ? n * 99 / 100 : n - 1] * 1e6;
    }
    free(lat);
    /* the last signature is checked even when the loop did not check every one */
    if (!o->verify_all)
        run_one(r, op, arg, i, true, fmt, pub, NULL);
}
