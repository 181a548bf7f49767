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
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { K_FLOOR, K_CORE, K_P11, K_PROV, K_COLD, K_TLS };

typedef struct {
    const char *name;
    enum kind kind;
    const char *which; /* module / provider / TLS client */
    bool flag;         /* floor: encrypted; core: auth key; prov: digest-sign;
                          cold: libcrypto already mapped (as in an OpenSSL application) */
    bool peer;         /* a peer project's row: its failure is reported, not fatal */
    const char *label;
} phase_def;

static const phase_def phases[] = {
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
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

typedef struct {
    double seconds;
    uint64_t iterations;
    uint64_t count_ops;
    int coldstart_runs;
    int rounds;
    bool quick;
    const char *json;
    const char *only;
} run_opts;

static char self_path[4096];

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
    for (size_t i = 0; name && i < NPHASES; i++)
        if (!strcmp(phases[i].name, name))
            d = &phases[i];
    if (!d)
        return 2;
    bench_result r;
    bench_result_init(&r, d->name);
    char err[256];
    if (o.count_ops && bench_proxy_start(err, sizeof(err))) {
        bench_fail(&r, "%s", err);
    } else {
        switch (d->kind) {
        case K_FLOOR: phase_floor(&r, &o, d->flag); break;
        case K_CORE: phase_core(&r, &o, d->flag); break;
        case K_P11: phase_p11(&r, &o, d->which); break;
        case K_PROV: phase_prov(&r, &o, d->which, d->flag); break;
        case K_TLS: phase_tls(&r, &o, d->which); break;
        case K_COLD: break;
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

/* ------------------------------------------------------------------ parent side */

static void note_append(bench_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies the child's output (tpm2-tss and friends log to stderr) to our stderr; when the row
 * failed, its last ERROR line goes into the note too. */
static void child_log(bench_result *r, FILE *log)
{
    char line[1024], last[1024] = "";
    rewind(log);
    while (fgets(line, sizeof(line), log)) {
        fputs(line, stderr);
        if (strstr(line, "ERROR"))
            snprintf(last, sizeof(last), "%s", line);
    }
    fclose(log);
    last[strcspn(last, "\n")] = 0;
    if (r->status == BENCH_FAILED && last[0])
        note_append(r, "log: %s", last);
}

/* Peer rows run with LeakSanitizer off in sanitizer builds: tpm2-pkcs11 1.9 leaks 66 bytes
 * per C_Sign (README), which is not ours to report on every run. */
static void peer_env(const phase_def *d, bool enter)
{
    static char saved[1024];
    static bool had;
    if (!d->peer)
        return;
    if (enter) {
        const char *v = getenv("ASAN_OPTIONS");
        had = v != NULL;
        snprintf(saved, sizeof(saved), "%s", v ? v : "");
        char opts[1100];
        snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", saved, saved[0] ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    } else if (had) {
        setenv("ASAN_OPTIONS", saved, 1);
    } else {
        unsetenv("ASAN_OPTIONS");
    }
}

/* Runs argv with its fd 3 on a pipe, reads one bench_result from it. */
static void run_child(bench_result *r, char *const argv[], double timeout, double *t_fork)
{
    int pfd[2];
    FILE *log = tmpfile();
    if (!log || pipe(pfd)) {
        bench_fail(r, "pipe/tmpfile: %s", strerror(errno));
        if (log)
            fclose(log);
        return;
    }
    *t_fork = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
        bench_fail(r, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        fclose(log);
        return;
    }
    if (pid == 0) {
        close(pfd[0]);
        /* output first: the log may sit on fd 3 itself */
        dup2(fileno(log), 1);
        dup2(fileno(log), 2);
        if (pfd[1] != 3) {
            dup2(pfd[1], 3);
            close(pfd[1]);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    bench_result got;
    size_t have = 0;
    double deadline = bench_now() + timeout;
    bool timed_out = false;
    while (have < sizeof(got)) {
        int ms = (int)((deadline - bench_now()) * 1000);
        if (ms <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        int pr = poll(&p, 1, ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        ssize_t n = read(pfd[0], (char *)&got + have, sizeof(got) - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    if (have == sizeof(got)) {
        *r = got;
    } else if (timed_out) {
        bench_fail(r, "timed out after %.0f s (killed)", timeout);
    } else if (WIFSIGNALED(st)) {
        bench_fail(r, "crashed (signal %d: %s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    } else {
        bench_fail(r, "exited with status %d without a result", WEXITSTATUS(st));
    }
    child_log(r, log);
}

static void note_append(bench_result *r, const char *fmt, ...)
{
    size_t n = strlen(r->note);
    if (n && n + 2 < sizeof(r->note)) {
        strcpy(r->note + n, "; ");
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note + n, sizeof(r->note) - n, fmt, ap);
    va_end(ap);
}

static void sweep(bench_result *r)
{
    char err[256];
    int n = bench_tpm_sweep(err, sizeof(err));
    if (n > 0)
        note_append(r, "left %d transient object(s)/session(s) loaded in the TPM (flushed)", n);
    else if (n < 0)
        fprintf(stderr, "devid-bench: %s\n", err);
}

static void phase_argv(const phase_def *d, const run_opts *ro, bool count, char *buf[20],
                       char store[4][32])
{
    int k = 0;
    buf[k++] = self_path;
    buf[k++] = "--phase";
    buf[k++] = (char *)d->name;
    buf[k++] = "--result-fd";
    buf[k++] = "3";
    snprintf(store[0], 32, "%g", ro->seconds);
    buf[k++] = "--seconds";
    buf[k++] = store[0];
    if (ro->iterations) {
        snprintf(store[1], 32, "%llu", (unsigned long long)ro->iterations);
        buf[k++] = "--iterations";
        buf[k++] = store[1];
    }
    if (count) {
        snprintf(store[2], 32, "%llu", (unsigned long long)ro->count_ops);
        buf[k++] = "--count";
        buf[k++] = store[2];
    }
    if (ro->quick) {
        buf[k++] = "--verify-all";
        buf[k++] = "--warmup";
        buf[k++] = "1";
    }
    buf[k] = NULL;
}

/* abrmd.sh start|stop (DEVID_BENCH_ABRMD): start prints the TCTI to use. `upstream` (NULL:
 * DEVID_TCTI) is the TPM abrmd itself talks to. */
static int abrmd(const char *action, const char *upstream, char *tcti, size_t len)
{
    const char *script = getenv("DEVID_BENCH_ABRMD");
    if (!script)
        return -1;
    char cmd[4200], saved[512];
    snprintf(saved, sizeof(saved), "%s", bench_env("DEVID_TCTI", ""));
    if (upstream)
        setenv("DEVID_TCTI", upstream, 1);
    snprintf(cmd, sizeof(cmd), "'%s' %s", script, action);
    FILE *f = popen(cmd, "r");
    if (upstream)
        setenv("DEVID_TCTI", saved, 1);
    if (!f)
        return -1;
    char line[512] = "";
    if (!fgets(line, sizeof(line), f))
        line[0] = 0;
    int st = pclose(f);
    line[strcspn(line, "\n")] = 0;
    if (tcti)
        snprintf(tcti, len, "%s", line);
    return st == 0 ? 0 : -1;
}

/* TPM commands per op behind abrmd: abrmd talks to swtpm through a counting proxy in this
 * process, and the row runs twice with different iteration counts; the difference is per op
 * (abrmd's own context swapping included: that is what the TPM sees). */
static void count_through_abrmd(bench_result *r, const phase_def *d, const run_opts *ro)
{
    char conf[96], err[256], tcti[512], *argv[20], store[4][32];
    if (bench_proxy_listen(conf, sizeof(conf), err, sizeof(err)) ||
        abrmd("start", conf, tcti, sizeof(tcti))) {
        note_append(r, "TPM commands not counted (%s)", err);
        abrmd("stop", NULL, NULL, 0);
        return;
    }
    setenv("TPM2OPENSSL_TCTI", tcti, 1);
    run_opts o = *ro;
    o.quick = true; /* verify every op: the same number of ops in both runs */
    uint64_t n[2] = { 2, 2 + ro->count_ops };
    double cmds[2] = { 0, 0 };
    for (int k = 0; k < 2; k++) {
        bench_counts a, b;
        bench_result c;
        double t_fork;
        bench_result_init(&c, d->name);
        o.iterations = n[k];
        o.seconds = 600;
        phase_argv(d, &o, false, argv, store);
        bench_proxy_snapshot(&a);
        run_child(&c, argv, ro->seconds * 3 + 90, &t_fork);
        nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL); /* abrmd's flushes */
        bench_proxy_snapshot(&b);
        if (c.status != BENCH_OK) {
            note_append(r, "counting pass failed: %s", c.note);
            abrmd("stop", NULL, NULL, 0);
            return;
        }
        cmds[k] = (double)(b.total - a.total);
        if (k == 1) {
            bench_counts_apply(r, &a, &b, 1); /* the mix of the whole second run, scaled below */
            double total = cmds[1];
            r->wire_cmds = (cmds[1] - cmds[0]) / (double)ro->count_ops;
            for (int m = 0; m < BENCH_MIX_MAX; m++)
                r->mix[m].per_op = total > 0 ? r->mix[m].per_op / total * r->wire_cmds : 0;
            /* setup: the short run less its ops (warm-up + 2 timed) */
            r->setup_wire_cmds = cmds[0] - (double)(n[0] + 1) * r->wire_cmds;
            if (r->setup_wire_cmds < 0)
                r->setup_wire_cmds = 0;
        }
    }
    abrmd("stop", NULL, NULL, 0);
    note_append(r, "through tpm2-abrmd: TPM commands include abrmd's context swapping; "
                   "mix is the whole run's, scaled");
}

static void run_throughput(bench_result *r, const phase_def *d, const run_opts *ro, bool count)
{
    char *argv[20], store[4][32];
    double t_fork, timeout = ro->seconds * 3 + 90;
    bench_result_init(r, d->name);
    char saved_tcti[512] = "";
    bool via_abrmd = !strcmp(d->name, "tls-tpm2-abrmd");
    run_opts slow;
    if (via_abrmd && ro->quick) {
        /* a few handshakes/s: keep the smoke test short */
        slow = *ro;
        slow.iterations = 5;
        slow.count_ops = 0;
        ro = &slow;
    }
    if (via_abrmd) {
        char tcti[512];
        if (abrmd("start", NULL, tcti, sizeof(tcti)) || !tcti[0]) {
            bench_skip(r, "tpm2-abrmd could not be started (DEVID_BENCH_ABRMD=%s)",
                       bench_env("DEVID_BENCH_ABRMD", "unset: run-bench.sh sets it"));
            abrmd("stop", NULL, NULL, 0);
            return;
        }
        snprintf(saved_tcti, sizeof(saved_tcti), "%s", bench_env("TPM2OPENSSL_TCTI", ""));
        setenv("TPM2OPENSSL_TCTI", tcti, 1);
    }
    phase_argv(d, ro, false, argv, store);
    run_child(r, argv, timeout, &t_fork);
    if (via_abrmd) {
        abrmd("stop", NULL, NULL, 0);
        if (r->status == BENCH_OK && ro->count_ops && count)
            count_through_abrmd(r, d, ro);
        setenv("TPM2OPENSSL_TCTI", saved_tcti, 1);
        sweep(r);
        return;
    }
    sweep(r);
    if (r->status != BENCH_OK || !ro->count_ops || !count)
        return;
    bench_result c;
    bench_result_init(&c, d->name);
    phase_argv(d, ro, true, argv, store);
    run_child(&c, argv, timeout, &t_fork);
    sweep(&c);
    if (c.status != BENCH_OK) {
        note_append(r, "counting pass failed: %s", c.note);
        return;
    }
    r->wire_cmds = c.wire_cmds;
    r->setup_wire_cmds = c.setup_wire_cmds;
    memcpy(r->mix, c.mix, sizeof(r->mix));
    if (r->core_cmds < 0)
        r->core_cmds = c.core_cmds;
    r->verified += c.verified;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_total(const void *a, const void *b)
{
    double x = ((const bench_result *)a)->total_ms, y = ((const bench_result *)b)->total_ms;
    return x < y ? -1 : x > y;
}

static void run_coldstart(bench_result *r, const phase_def *d, const run_opts *ro)
{
    bench_result_init(r, d->name);
    bench_p11_target t;
    char note[320], cs[4200];
    if (bench_p11_target_get(d->which, &t, note, sizeof(note))) {
        bench_skip(r, "%s", note);
        return;
    }
    snprintf(cs, sizeof(cs), "%s", self_path);
    char *slash = strrchr(cs, '/');
    snprintf(slash ? slash + 1 : cs, sizeof(cs) - (size_t)(slash ? slash + 1 - cs : 0),
             "devid-coldstart");
    const char *coldstart = bench_env("DEVID_BENCH_COLDSTART", cs);
    void *pub = NULL;
    if (t.key_is_ldevid && !(pub = bench_ldevid_pub(note, sizeof(note)))) {
        bench_fail(r, "%s", note);
        return;
    }
    unsigned char dgst[32];
    char hex[65];
    EVP_Digest("devid-bench cold start", 22, dgst, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dgst[i]);
    int runs = ro->coldstart_runs > 0 ? ro->coldstart_runs : 1;
    bench_result *all = calloc((size_t)runs, sizeof(*all));
    bench_result counted;
    bench_result_init(&counted, d->name);
    int ok = 0;
    for (int i = 0; i <= runs && all; i++) {
        bool count = i == runs; /* last: one counting run through the proxy */
        if (count && !ro->count_ops)
            break;
        char *argv[16];
        int k = 0;
        argv[k++] = (char *)coldstart;
        argv[k++] = "--module";
        argv[k++] = (char *)t.path;
        argv[k++] = "--key";
        argv[k++] = (char *)t.key;
        argv[k++] = "--digest";
        argv[k++] = hex;
        if (t.token) {
            argv[k++] = "--token";
            argv[k++] = (char *)t.token;
        }
        if (t.pin) {
            argv[k++] = "--pin";
            argv[k++] = (char *)t.pin;
        }
        if (count)
            argv[k++] = "--count";
        if (d->flag)
            argv[k++] = "--with-libcrypto";
        argv[k] = NULL;
        bench_result *x = count ? &counted : &all[ok];
        bench_result_init(x, d->name);
        double t_fork;
        run_child(x, argv, 120, &t_fork);
        sweep(x);
        if (x->status != BENCH_OK) {
            *r = *x;
            snprintf(r->name, sizeof(r->name), "%s", d->name);
            goto out;
        }
        /* the child's step timings are from main(); total_ms is fork → first signature */
        x->exec_ms -= t_fork * 1e3;
        x->total_ms = x->exec_ms;
        for (int s = 0; s < CS_STEPS; s++)
            x->total_ms += x->step_ms[s];
        void *key = pub ? pub : bench_pub_from_point(x->point, x->point_len);
        bool good = key && bench_verify(key, SIG_RAW_RS, dgst, x->sig, x->sig_len);
        if (key != pub)
            EVP_PKEY_free(key);
        if (!good) {
            *r = *x;
            snprintf(r->name, sizeof(r->name), "%s", d->name);
            r->verify_failed = 1;
            bench_fail(r, "the first signature does not verify");
            goto out;
        }
        if (!count)
            ok++;
    }
    qsort(all, (size_t)ok, sizeof(*all), cmp_total);
    *r = all[ok / 2]; /* the median run */
    snprintf(r->name, sizeof(r->name), "%s", d->name);
    r->verified = ok;
    r->ops = (uint64_t)ok;
    if (ro->count_ops) {
        memcpy(r->step_cmds, counted.step_cmds, sizeof(r->step_cmds));
        memcpy(r->mix, counted.mix, sizeof(r->mix));
        r->wire_cmds = counted.wire_cmds; /* the whole cold start */
    }
out:
    free(all);
    EVP_PKEY_free(pub);
}

/* ------------------------------------------------------------------ output */

static const phase_def *def_of(const bench_result *r)
{
    for (size_t i = 0; i < NPHASES; i++)
        if (!strcmp(phases[i].name, r->name))
            return &phases[i];
    return NULL;
}

static const bench_result *find(const bench_result *rs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rs[i].name, name) && rs[i].status == BENCH_OK)
            return &rs[i];
    return NULL;
}

static void fmt_num(char *b, size_t n, double v, const char *f)
{
    if (v < 0)
        snprintf(b, n, "-");
    else
        snprintf(b, n, f, v);
}

/* "min-max" of the rounds' throughput */
static void fmt_range(char *b, size_t n, const bench_result *r)
{
    if (r->rounds < 2) {
        snprintf(b, n, "-");
        return;
    }
    double lo = r->round_ops_per_s[0], hi = lo;
    for (int i = 1; i < r->rounds; i++) {
        lo = r->round_ops_per_s[i] < lo ? r->round_ops_per_s[i] : lo;
        hi = r->round_ops_per_s[i] > hi ? r->round_ops_per_s[i] : hi;
    }
    snprintf(b, n, "%.0f-%.0f", lo, hi);
}

static void print_mix(const bench_result *r)
{
    if (r->wire_cmds < 0)
        return;
    const phase_def *d = def_of(r);
    if (d && d->kind == K_COLD)
        printf("  %-17s %5.0f in all:", r->name, r->wire_cmds);
    else
        printf("  %-17s %5.2f/op:", r->name, r->wire_cmds);
    for (int k = 0; k < BENCH_MIX_MAX && r->mix[k].per_op > 0; k++) {
        const char *nm = r->mix[k].cc ? bench_cc_name(r->mix[k].cc) : NULL;
        int prec = d && d->kind == K_COLD ? 0 : 2;
        if (nm)
            printf(" %s %.*f", nm, prec, r->mix[k].per_op);
        else
            printf(" 0x%x %.*f", r->mix[k].cc, prec, r->mix[k].per_op);
    }
    if (r->setup_wire_cmds >= 0)
        printf("  (before the first op: %.0f)", r->setup_wire_cmds);
    printf("\n");
}

static void print_status(const bench_result *r, const char *label)
{
    printf("  %-17s %-44s %s: %s\n", r->name, label,
           r->status == BENCH_SKIPPED ? "SKIPPED" : "FAILED", r->note);
}

static void print_table(const bench_result *rs, size_t n, const run_opts *ro)
{
    const bench_result *floor = find(rs, n, "floor-pw"), *enc = find(rs, n, "floor-enc");
    const bench_result *soft = find(rs, n, "tls-soft");
    char b[8][32];
    printf("\nECDSA P-256 signatures/s, same swtpm, one run (%s per row)\n",
           ro->iterations ? "fixed iterations" : "time-boxed");
    printf("  %-17s %-44s %7s %11s %6s %6s %7s %6s %7s %7s %6s %6s %5s %5s\n", "row", "what",
           "sig/s", "rounds", "/floor", "/enc", "1/p50", "/floor", "p50 us", "p99 us", "cpu us",
           "tpm us", "cmds", "core");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = def_of(r);
        if (!d || d->kind == K_COLD || d->kind == K_TLS)
            continue;
        if (r->status != BENCH_OK) {
            print_status(r, d->label);
            continue;
        }
        fmt_num(b[0], 32, floor ? r->ops_per_s / floor->ops_per_s : -1, "%.2f");
        fmt_num(b[1], 32, enc ? r->ops_per_s / enc->ops_per_s : -1, "%.2f");
        fmt_num(b[2], 32, r->tpm_cpu_us, "%.0f");
        fmt_num(b[3], 32, r->wire_cmds, "%.2f");
        fmt_num(b[4], 32, r->core_cmds, "%.2f");
        fmt_range(b[5], 32, r);
        fmt_num(b[6], 32, floor ? floor->p50_us / r->p50_us : -1, "%.2f");
        printf("  %-17s %-44s %7.0f %11s %6s %6s %7.0f %6s %7.0f %7.0f %6.0f %6s %5s %5s\n",
               r->name, d->label, r->ops_per_s, b[5], b[0], b[1], 1e6 / r->p50_us, b[6],
               r->p50_us, r->p99_us, r->client_cpu_us, b[2], b[3], b[4]);
        if (r->note[0])
            printf("  %-17s   note: %s\n", "", r->note);
    }
    printf("  sig/s: median round; rounds: slowest-fastest round; /floor, /enc: sig/s relative to "
           "floor-pw, floor-enc;\n  1/p50: the rate the median latency implies (robust to "
           "stalls from other load), /floor: that relative to floor-pw;\n  p50/p99: latency of "
           "one op; cpu us: this process's user+sys per op; tpm us: the swtpm process's;\n  cmds: "
           "TPM commands per op counted on the wire; core: devid_tpm_command_count() per op\n");

    printf("\nCold start, fresh process each (median of %d): dlopen → C_Initialize → "
           "C_OpenSession → C_Login → find key → first C_Sign\n", ro->coldstart_runs);
    printf("  %-19s %-18s %7s %7s %7s %7s %7s %7s %7s %8s %9s %9s  %s\n", "row", "module",
           "exec", "dlopen", "init", "open", "login", "find", "sign", "total ms", "peak RSS",
           "base RSS", "TPM cmds init/open/login/find/sign");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = def_of(r);
        if (!d || d->kind != K_COLD)
            continue;
        if (r->status != BENCH_OK) {
            print_status(r, d->label);
            continue;
        }
        char cmds[96] = "-";
        if (r->step_cmds[CS_INITIALIZE] >= 0)
            snprintf(cmds, sizeof(cmds), "%.0f/%.0f/%.0f/%.0f/%.0f", r->step_cmds[CS_INITIALIZE],
                     r->step_cmds[CS_OPEN], r->step_cmds[CS_LOGIN], r->step_cmds[CS_FIND],
                     r->step_cmds[CS_SIGN]);
        printf("  %-19s %-18s %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %8.1f %6ld kB %6ld kB  %s\n",
               r->name, d->label, r->exec_ms, r->step_ms[CS_DLOPEN], r->step_ms[CS_INITIALIZE],
               r->step_ms[CS_OPEN], r->step_ms[CS_LOGIN], r->step_ms[CS_FIND],
               r->step_ms[CS_SIGN], r->total_ms, r->rss_peak_kb, r->rss_base_kb, cmds);
    }

    printf("\nMutual TLS 1.3 full handshakes/s, one process (server thread: software P-256, "
           "client certificate required)\n");
    printf("  %-17s %-44s %7s %11s %6s %7s %6s %7s %7s %6s %6s %5s %5s\n", "row", "client key",
           "hs/s", "rounds", "/soft", "1/p50", "/soft", "p50 us", "p99 us", "cpu us", "tpm us",
           "cmds", "core");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = def_of(r);
        if (!d || d->kind != K_TLS)
            continue;
        if (r->status != BENCH_OK) {
            print_status(r, d->label);
            continue;
        }
        fmt_num(b[0], 32, soft ? r->ops_per_s / soft->ops_per_s : -1, "%.2f");
        fmt_num(b[2], 32, r->tpm_cpu_us, "%.0f");
        fmt_num(b[3], 32, r->wire_cmds, "%.2f");
        fmt_num(b[4], 32, r->core_cmds, "%.2f");
        fmt_range(b[5], 32, r);
        fmt_num(b[6], 32, soft ? soft->p50_us / r->p50_us : -1, "%.2f");
        printf("  %-17s %-44s %7.0f %11s %6s %7.0f %6s %7.0f %7.0f %6.0f %6s %5s %5s\n", r->name,
               d->label, r->ops_per_s, b[5], b[0], 1e6 / r->p50_us, b[6], r->p50_us, r->p99_us,
               r->client_cpu_us, b[2], b[3], b[4]);
        if (r->note[0])
            printf("  %-17s   note: %s\n", "", r->note);
    }

    printf("\nTPM commands per operation, counted on the wire (most frequent first)\n");
    for (size_t i = 0; i < n; i++)
        if (rs[i].status == BENCH_OK)
            print_mix(&rs[i]);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, const char *k, double v)
{
    if (v < 0)
        fprintf(f, ",\"%s\":null", k);
    else
        fprintf(f, ",\"%s\":%.6g", k, v);
}

static void json_mix(FILE *f, const bench_result *r)
{
    fprintf(f, ",\"tpm_cmd_mix\":{");
    for (int k = 0, first = 1; k < BENCH_MIX_MAX && r->mix[k].per_op > 0; k++, first = 0) {
        const char *nm = r->mix[k].cc ? bench_cc_name(r->mix[k].cc) : NULL;
        char hex[16];
        snprintf(hex, sizeof(hex), "0x%x", r->mix[k].cc);
        fprintf(f, "%s", first ? "" : ",");
        json_str(f, nm ? nm : hex);
        fprintf(f, ":%.4g", r->mix[k].per_op);
    }
    fprintf(f, "}");
}

static void write_json(FILE *f, const bench_result *rs, size_t n, const run_opts *ro,
                       const char *date, const char *swtpm)
{
    const bench_result *floor = find(rs, n, "floor-pw"), *soft = find(rs, n, "tls-soft");
    fprintf(f, "{\"date\":");
    json_str(f, date);
    fprintf(f, ",\"machine\":{\"cores\":%ld,\"swtpm\":", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(f, swtpm);
    fprintf(f, "},\"seconds_per_row\":%g,\"iterations\":%llu,\"rows\":[", ro->seconds,
            (unsigned long long)ro->iterations);
    static const char *status[] = { "ok", "skipped", "failed" };
    static const char *steps[] = { "dlopen", "initialize", "open_session", "login", "find_key",
                                   "first_sign" };
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = def_of(r);
        fprintf(f, "%s{\"name\":", i ? "," : "");
        json_str(f, r->name);
        fprintf(f, ",\"what\":");
        json_str(f, d ? d->label : "");
        fprintf(f, ",\"status\":\"%s\",\"note\":", status[r->status]);
        json_str(f, r->note);
        if (r->status == BENCH_OK && d && d->kind == K_COLD) {
            fprintf(f, ",\"runs\":%llu", (unsigned long long)r->ops);
            json_num(f, "exec_ms", r->exec_ms);
            for (int s = 0; s < CS_STEPS; s++) {
                char k[48];
                snprintf(k, sizeof(k), "%s_ms", steps[s]);
                json_num(f, k, r->step_ms[s]);
                snprintf(k, sizeof(k), "%s_tpm_cmds", steps[s]);
                json_num(f, k, r->step_cmds[s]);
            }
            json_num(f, "total_ms", r->total_ms);
            fprintf(f, ",\"peak_rss_kb\":%ld,\"base_rss_kb\":%ld", r->rss_peak_kb, r->rss_base_kb);
            json_num(f, "tpm_cmds", r->wire_cmds);
            json_mix(f, r);
        } else if (r->status == BENCH_OK) {
            const bench_result *ref = d && d->kind == K_TLS ? soft : floor;
            fprintf(f, ",\"ops\":%llu", (unsigned long long)r->ops);
            json_num(f, "seconds", r->seconds);
            json_num(f, "ops_per_s", r->ops_per_s);
            json_num(f, d && d->kind == K_TLS ? "ratio_to_soft" : "ratio_to_floor",
                     ref ? r->ops_per_s / ref->ops_per_s : -1);
            fprintf(f, ",\"rounds_ops_per_s\":[");
            for (int k = 0; k < r->rounds; k++)
                fprintf(f, "%s%.6g", k ? "," : "", r->round_ops_per_s[k]);
            fprintf(f, "]");
            json_num(f, "p50_us", r->p50_us);
            json_num(f, "ops_per_s_at_p50", r->p50_us > 0 ? 1e6 / r->p50_us : -1);
            if (ref && r->p50_us > 0)
                json_num(f, d && d->kind == K_TLS ? "p50_ratio_to_soft" : "p50_ratio_to_floor",
                         ref->p50_us / r->p50_us);
            json_num(f, "p99_us", r->p99_us);
            json_num(f, "client_cpu_us_per_op", r->client_cpu_us);
            json_num(f, "swtpm_cpu_us_per_op", r->tpm_cpu_us);
            json_num(f, "tpm_cmds_per_op", r->wire_cmds);
            json_num(f, "core_cmds_per_op", r->core_cmds);
            json_num(f, "setup_tpm_cmds", r->setup_wire_cmds);
            json_mix(f, r);
        }
        fprintf(f, ",\"verified\":%d}", r->verified);
    }
    fprintf(f, "]}\n");
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

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--phase"))
            return child_main(argc, argv);

    run_opts ro = { .seconds = 2, .count_ops = 50, .coldstart_runs = 5, .rounds = 3,
                    .json = "bench-results.json" };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--seconds") && has)
            ro.seconds = atof(argv[++i]);
        else if (!strcmp(a, "--iterations") && has)
            ro.iterations = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--json") && has)
            ro.json = argv[++i];
        else if (!strcmp(a, "--only") && has)
            ro.only = argv[++i];
        else if (!strcmp(a, "--rounds") && has)
            ro.rounds = atoi(argv[++i]);
        else if (!strcmp(a, "--coldstart-runs") && has)
            ro.coldstart_runs = atoi(argv[++i]);
        else if (!strcmp(a, "--count-ops") && has)
            ro.count_ops = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--quick"))
            ro.quick = true;
        else
            usage();
    }
    if (ro.quick) {
        if (!ro.iterations)
            ro.iterations = 20;
        ro.seconds = 60;
        ro.count_ops = 5;
        ro.coldstart_runs = 1;
        ro.rounds = 1;
    }
    if (ro.rounds < 1 || ro.rounds > MAX_ROUNDS) {
        fprintf(stderr, "devid-bench: --rounds must be 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    ssize_t sl = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    if (sl <= 0) {
        fprintf(stderr, "devid-bench: cannot find my own executable\n");
        return 1;
    }
    self_path[sl] = 0;
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

    char date[64], swtpm[128] = "unknown";
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    FILE *v = popen("swtpm --version 2>/dev/null", "r");
    if (v) {
        char line[256];
        if (fgets(line, sizeof(line), v)) {
            char *p = strstr(line, "version ");
            if (p) {
                p += 8;
                p[strcspn(p, ", \n")] = 0;
                snprintf(swtpm, sizeof(swtpm), "swtpm %s", p);
            }
        }
        pclose(v);
    }
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
    for (size_t i = 0; i < NPHASES; i++)
        if (selected(&ro, phases[i].name))
            defs[n++] = &phases[i];
    /* Rounds are interleaved (every row, then every row again) so that a burst of load from
     * elsewhere on the machine hits one round of several rows, not every round of one row;
     * each row reports its median round. */
    for (int round = 0; round < ro.rounds; round++) {
        for (size_t k = 0; k < n; k++) {
            const phase_def *d = defs[k];
            bench_result *r = round == 0 ? &rs[k] : &all[k][round];
            if (round > 0 && (d->kind == K_COLD || rs[k].status != BENCH_OK))
                continue;
            fprintf(stderr, "devid-bench: %s%s ...\n", d->name,
                    ro.rounds > 1 ? (round == 0 ? " (round 1)" : " (next round)") : "");
            double t0 = bench_now();
            peer_env(d, true);
            if (d->kind == K_COLD)
                run_coldstart(r, d, &ro);
            else
                run_throughput(r, d, &ro, round == 0);
            peer_env(d, false);
            t0 = bench_now() - t0;
            if (round == 0)
                all[k][0] = *r;
            else if (r->status != BENCH_OK)
                rs[k] = *r; /* a later round failed: the row failed */
            if (r->status == BENCH_OK && r->ops)
                fprintf(stderr, "devid-bench: %s: %.0f/s%s [%.1f s]\n", d->name,
                        d->kind == K_COLD ? 1e3 / r->total_ms : r->ops_per_s,
                        d->kind == K_COLD ? " (1/total time)" : "", t0);
            else
                fprintf(stderr, "devid-bench: %s: %s %s [%.1f s]\n", d->name,
                        r->status == BENCH_SKIPPED ? "skipped:" : "FAILED:", r->note, t0);
        }
    }
    for (size_t k = 0; k < n; k++) {
        bench_result *r = &rs[k];
        if (defs[k]->kind == K_COLD || r->status != BENCH_OK)
            continue;
        double v[MAX_ROUNDS];
        int m = ro.rounds;
        for (int i = 0; i < m; i++)
            v[i] = r->round_ops_per_s[i] = all[k][i].ops_per_s;
        r->rounds = m;
        qsort(v, (size_t)m, sizeof(v[0]), cmp_double);
        for (int i = 0; i < m; i++) {
            const bench_result *x = &all[k][i];
            if (x->ops_per_s != v[m / 2])
                continue;
            /* the median round's timings; counts and checks from all rounds */
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
            r->verified += all[k][i].verified;
    }
    print_table(rs, n, &ro);

    int status = 0;
    for (size_t i = 0; i < n; i++) {
        const phase_def *d = def_of(&rs[i]);
        if (rs[i].verify_failed || (rs[i].status == BENCH_FAILED && d && !d->peer))
            status = 1;
    }
    FILE *f = fopen(ro.json, "w");
    if (f) {
        write_json(f, rs, n, &ro, date, swtpm);
        fclose(f);
        printf("\nJSON: %s\n", ro.json);
    } else {
        fprintf(stderr, "devid-bench: cannot write %s: %s\n", ro.json, strerror(errno));
        status = 1;
    }
    return status;
}
