/* SPDX-License-Identifier: Apache-2.0 */
/* devid-bench: devid against the raw TPM floor and the peer projects, on one swtpm, in one run.
 *
 * usage: devid-bench [--seconds S] [--iterations N] [--quick] [--json FILE] [--only A,B,...]
 *                    [--rounds N] [--coldstart-runs N] [--count-ops N]
 *   --seconds S         time box of one row in one round (default 2)
 *   --rounds N          rounds over all rows, interleaved; a row reports its median (default 3)
 *   --iterations N      stop a row after N ops instead (the smoke test: 20)
 *   --quick             smoke mode: 20 iterations, 1 round, every signature verified
 *   --only A,B          rows whose names start with A or B (e.g. floor,core,tls)
 *   --coldstart-runs N  fresh processes per module for the cold start (median; default 5)
 *   --count-ops N       ops in each counting pass (default 50; 0: no counting)
 *        (run it under tests/fixture/with-swtpm ecc; tests/bench/run-bench.sh does that)
 *
 * Every row runs in a child process of its own (the swtpm serves one connection at a time;
 * a child releases it by exiting), then a sweep flushes whatever the child left loaded.
 * Each throughput row runs twice: timed (straight to swtpm), then a short counting pass
 * through a TPM command counter (proxy.c) for the commands per operation.
 *
 * Exit status: 0, or 1 when a devid or floor row failed or any signature did not verify
 * (peer rows that fail are reported, not fatal), 2 on bad usage.
 */
#include "rows.h"

#include <errno.h>
#include <signal.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const phase_def bench_phases[] = {
    { "floor-pw", K_FLOOR, NULL, false, false, "ESAPI TPM2_Sign, password session (floor)" },
    { "floor-enc", K_FLOOR, NULL, true, false, "ESAPI TPM2_Sign, salted HMAC + AES-128-CFB" },
    { "core", K_CORE, NULL, false, false, "devid core devid_key_sign (LDevID)" },
    { "core-auth", K_CORE, NULL, true, false, "devid core, key with auth (salted+enc)" },
    { "p11-devid", K_P11, "devid", false, false, "devid PKCS#11 C_Sign CKM_ECDSA" },
    { "p11-tpm2", K_P11, "tpm2", false, true, "tpm2-pkcs11 C_Sign CKM_ECDSA" },
    { "prov-devid-sign", K_PROV, "devid", false, false, "devid provider EVP_PKEY_sign" },
    { "prov-devid-dsign", K_PROV, "devid", true, false, "devid provider EVP_DigestSign" },
    { "prov-tpm2-sign", K_PROV, "tpm2", false, true, "tpm2-openssl EVP_PKEY_sign" },
    { "prov-tpm2-dsign", K_PROV, "tpm2", true, true, "tpm2-openssl EVP_DigestSign" },
    { "cold-p11-devid", K_COLD, "devid", false, false, "devid-pkcs11.so" },
    { "cold-p11-tpm2", K_COLD, "tpm2", false, true, "libtpm2_pkcs11.so" },
    { "cold-p11-devid-ossl", K_COLD, "devid", true, false, "devid, ossl mapped" },
    { "cold-p11-tpm2-ossl", K_COLD, "tpm2", true, true, "tpm2, ossl mapped" },
    { "tls-soft", K_TLS, "soft", false, false, "software client key (ceiling)" },
    { "tls-soft-devid", K_TLS, "soft-devid", false, false, "software key, devid+default loaded" },
    { "tls-devid", K_TLS, "devid", false, false, "devid provider client key" },
    { "tls-tpm2", K_TLS, "tpm2", false, true, "tpm2-openssl client key, no RM" },
    { "tls-tpm2-abrmd", K_TLS, "tpm2", false, true, "tpm2-openssl client key, tpm2-abrmd" },
};
#define NPHASES (sizeof(bench_phases) / sizeof(bench_phases[0])) /* a constant: no VLAs */
const size_t bench_nphases = NPHASES;

char bench_self_path[4096];

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ child side */

static int child_main(int argc, char **argv)
{
    const char *name = NULL;
    int fd = 1;
    bench_opts o = { .seconds = 3, .warmup = 5 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--phase"))
            name = v, i++;
        else if (!strcmp(a, "--result-fd"))
            fd = atoi(v), i++;
        else if (!strcmp(a, "--seconds"))
            o.seconds = atof(v), i++;
        else if (!strcmp(a, "--iterations"))
            o.max_ops = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--count"))
            o.count_ops = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--verify-all"))
            o.verify_all = true;
        else if (!strcmp(a, "--warmup"))
            o.warmup = atoi(v), i++;
    }
    const phase_def *d = NULL;
    for (size_t i = 0; name && i < bench_nphases; i++)
        if (!strcmp(bench_phases[i].name, name))
            d = &bench_phases[i];
    if (!d)
        return 2;
    bench_result r;
    bench_result_init(&r, d->name);
    char err[256];
    if (o.count_ops && bench_proxy_start(err, sizeof(err))) {
        bench_fail(&r, "%s", err);
    } else {
        switch (d->kind) {
        case K_FLOOR:
            phase_floor(&r, &o, d->flag);
            break;
        case K_CORE:
            phase_core(&r, &o, d->flag);
            break;
        case K_P11:
            phase_p11(&r, &o, d->which);
            break;
        case K_PROV:
            phase_prov(&r, &o, d->which, d->flag);
            break;
        case K_TLS:
            phase_tls(&r, &o, d->which);
            break;
        case K_COLD:
            break;
        }
    }
    const char *p = (const char *)&r;
    size_t left = sizeof(r);
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

static bool selected(const run_opts *ro, const char *name)
{
    if (!ro->only)
        return true;
    const char *p = ro->only;
    size_t n = strlen(name);
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && len <= n && !strncmp(p, name, len)) /* prefixes select groups */
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static void usage(void)
{
    fprintf(stderr, "usage: devid-bench [--seconds S] [--iterations N] [--quick] [--json FILE]\n"
                    "                   [--only ROW,PREFIX,...] [--rounds N] [--coldstart-runs N] "
                    "[--count-ops N]\n");
    exit(2);
}

/* The command line into ro; exits 2 on bad usage. */
static void parse_args(int argc, char **argv, run_opts *ro)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--seconds") && has)
            ro->seconds = atof(argv[++i]);
        else if (!strcmp(a, "--iterations") && has)
            ro->iterations = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--json") && has)
            ro->json = argv[++i];
        else if (!strcmp(a, "--only") && has)
            ro->only = argv[++i];
        else if (!strcmp(a, "--rounds") && has)
            ro->rounds = atoi(argv[++i]);
        else if (!strcmp(a, "--coldstart-runs") && has)
            ro->coldstart_runs = atoi(argv[++i]);
        else if (!strcmp(a, "--count-ops") && has)
            ro->count_ops = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--quick"))
            ro->quick = true;
        else
            usage();
    }
    if (ro->quick) {
        if (!ro->iterations)
            ro->iterations = 20;
        ro->seconds = 60;
        ro->count_ops = 5;
        ro->coldstart_runs = 1;
        ro->rounds = 1;
    }
    if (ro->rounds < 1 || ro->rounds > MAX_ROUNDS) {
        fprintf(stderr, "devid-bench: --rounds must be 1..%d\n", MAX_ROUNDS);
        exit(2);
    }
}

/* Our own path (children are this program again), the fixture's TPM for the peers too.
 * Returns the exit status to end with, or -1 to go on. */
static int prepare(void)
{
    ssize_t sl = readlink("/proc/self/exe", bench_self_path, sizeof(bench_self_path) - 1);
    if (sl <= 0) {
        fprintf(stderr, "devid-bench: cannot find my own executable\n");
        return 1;
    }
    bench_self_path[sl] = 0;
    if (!getenv("DEVID_TCTI") || !getenv("DEVID_FIXTURE")) {
        fprintf(stderr, "devid-bench: run under tests/fixture/with-swtpm ecc -- (or use "
                        "tests/bench/run-bench.sh)\n");
        return 2;
    }
    /* The peers talk to the same swtpm, one at a time. */
    setenv("TPM2OPENSSL_TCTI", bench_env("TPM2OPENSSL_TCTI", getenv("DEVID_TCTI")), 1);
    setenv("TPM2_PKCS11_TCTI", bench_env("TPM2_PKCS11_TCTI", getenv("DEVID_TCTI")), 1);
    setenv("TPM2_PKCS11_BACKEND", bench_env("TPM2_PKCS11_BACKEND", "esysdb"), 1);
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

/* "swtpm X.Y.Z" from swtpm --version; "unknown" stays if it says nothing we understand. */
static void swtpm_version(char *out, size_t len)
{
    FILE *v = popen("swtpm --version 2>/dev/null", "r");
    if (!v)
        return;
    char line[256];
    if (fgets(line, sizeof(line), v)) {
        char *p = strstr(line, "version ");
        if (p) {
            p += 8;
            p[strcspn(p, ", \n")] = 0;
            snprintf(out, len, "swtpm %s", p);
        }
    }
    pclose(v);
}

/* One row in one round, with its progress lines on stderr. */
static void run_row(bench_result *r, const phase_def *d, const run_opts *ro, int round)
{
    fprintf(stderr, "devid-bench: %s%s ...\n", d->name,
            ro->rounds > 1 ? (round == 0 ? " (round 1)" : " (next round)") : "");
    double t0 = bench_now();
    bench_peer_env(d, true);
    if (d->kind == K_COLD)
        bench_run_coldstart(r, d, ro);
    else
        bench_run_throughput(r, d, ro, round == 0);
    bench_peer_env(d, false);
    t0 = bench_now() - t0;
    if (r->status == BENCH_OK && r->ops)
        fprintf(stderr, "devid-bench: %s: %.0f/s%s [%.1f s]\n", d->name,
                d->kind == K_COLD ? 1e3 / r->total_ms : r->ops_per_s,
                d->kind == K_COLD ? " (1/total time)" : "", t0);
    else
        fprintf(stderr, "devid-bench: %s: %s %s [%.1f s]\n", d->name,
                r->status == BENCH_SKIPPED ? "skipped:" : "FAILED:", r->note, t0);
}

/* Rounds are interleaved (every row, then every row again) so that a burst of load from
 * elsewhere on the machine hits one round of several rows, not every round of one row.
 * rs[k]: row k's first round (or its failed one); all[k][round]: every round. */
static void run_rounds(const phase_def **defs, size_t n, const run_opts *ro, bench_result *rs,
                       bench_result all[][MAX_ROUNDS])
{
    for (int round = 0; round < ro->rounds; round++) {
        for (size_t k = 0; k < n; k++) {
            const phase_def *d = defs[k];
            bench_result *r = round == 0 ? &rs[k] : &all[k][round];
            if (round > 0 && (d->kind == K_COLD || rs[k].status != BENCH_OK))
                continue;
            run_row(r, d, ro, round);
            if (round == 0)
                all[k][0] = *r;
            else if (r->status != BENCH_OK)
                rs[k] = *r; /* a later round failed: the row failed */
        }
    }
}

/* A row's result: the median round's timings; counts and checks from all rounds. */
static void take_median(bench_result *r, const bench_result *rounds, int m)
{
    double rates[MAX_ROUNDS];
    for (int i = 0; i < m; i++)
        rates[i] = r->round_ops_per_s[i] = rounds[i].ops_per_s;
    r->rounds = m;
    qsort(rates, (size_t)m, sizeof(rates[0]), cmp_double);
    for (int i = 0; i < m; i++) {
        const bench_result *x = &rounds[i];
        if (x->ops_per_s != rates[m / 2])
            continue;
        r->ops = x->ops;
        r->seconds = x->seconds;
        r->ops_per_s = x->ops_per_s;
        r->p50_us = x->p50_us;
        r->p99_us = x->p99_us;
        r->client_cpu_us = x->client_cpu_us;
        r->tpm_cpu_us = x->tpm_cpu_us;
        if (x->core_cmds >= 0)
            r->core_cmds = x->core_cmds;
        break;
    }
    for (int i = 1; i < m; i++)
        r->verified += rounds[i].verified;
}

/* 1 when a devid or floor row failed or a signature did not verify; peers' failures are
 * reported, not fatal. */
static int rows_status(const bench_result *rs, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        const phase_def *d = bench_def_of(&rs[i]);
        if (rs[i].verify_failed || (rs[i].status == BENCH_FAILED && d && !d->peer))
            status = 1;
    }
    return status;
}

static int write_json(const bench_result *rs, size_t n, const run_opts *ro, const char *date,
                      const char *swtpm)
{
    FILE *f = fopen(ro->json, "w");
    if (!f) {
        fprintf(stderr, "devid-bench: cannot write %s: %s\n", ro->json, strerror(errno));
        return 1;
    }
    bench_write_json(f, rs, n, ro, date, swtpm);
    fclose(f);
    printf("\nJSON: %s\n", ro->json);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--phase"))
            return child_main(argc, argv);

    run_opts ro = { .seconds = 2,
                    .count_ops = 50,
                    .coldstart_runs = 5,
                    .rounds = 3,
                    .json = "bench-results.json" };
    parse_args(argc, argv, &ro);
    int early = prepare();
    if (early >= 0)
        return early;

    char date[64], swtpm[128] = "unknown";
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    swtpm_version(swtpm, sizeof(swtpm));
    printf("devid-bench %s, %ld cores, %s, %s\n", date, sysconf(_SC_NPROCESSORS_ONLN), swtpm,
           ro.iterations ? "fixed iterations per row" : "time-boxed rows");
    fflush(stdout);

    bench_result rs[NPHASES], all[NPHASES][MAX_ROUNDS];
    const phase_def *defs[NPHASES];
    size_t n = 0;
    char err[256];
    if (bench_tpm_sweep(err, sizeof(err)) < 0) {
        fprintf(stderr, "devid-bench: the TPM is not reachable: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < bench_nphases; i++)
        if (selected(&ro, bench_phases[i].name))
            defs[n++] = &bench_phases[i];
    run_rounds(defs, n, &ro, rs, all);
    for (size_t k = 0; k < n; k++)
        if (defs[k]->kind != K_COLD && rs[k].status == BENCH_OK)
            take_median(&rs[k], all[k], ro.rounds);
    bench_print_table(rs, n, &ro);

    int status = rows_status(rs, n);
    if (write_json(rs, n, &ro, date, swtpm))
        status = 1;
    return status;
}
