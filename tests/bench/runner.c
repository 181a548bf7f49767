/* SPDX-License-Identifier: Apache-2.0 */
/* devid-bench, running rows: every row runs in a child process of its own (the swtpm serves
 * one connection at a time; a child releases it by exiting), then a sweep flushes whatever
 * the child left loaded. A throughput row runs timed, then through the TPM command counter
 * (proxy.c); a cold-start row runs devid-coldstart in fresh processes. */
#include "rows.h"

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

static void note_append(bench_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
void bench_peer_env(const phase_def *d, bool enter)
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
static void run_child(bench_result *r, const char *const argv[], double timeout, double *t_fork)
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
        execv(argv[0], (char *const *)argv); /* execv does not write them (POSIX) */
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

static void phase_argv(const phase_def *d, const run_opts *ro, bool count, const char *buf[20],
                       char store[4][32])
{
    int k = 0;
    buf[k++] = bench_self_path;
    buf[k++] = "--phase";
    buf[k++] = d->name;
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
    char conf[96], err[256], tcti[512], store[4][32];
    const char *argv[20];
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

void bench_run_throughput(bench_result *r, const phase_def *d, const run_opts *ro, bool count)
{
    char store[4][32];
    const char *argv[20];
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

static int cmp_total(const void *a, const void *b)
{
    double x = ((const bench_result *)a)->total_ms, y = ((const bench_result *)b)->total_ms;
    return x < y ? -1 : x > y;
}

/* devid-coldstart: beside this program unless DEVID_BENCH_COLDSTART says where. */
static const char *coldstart_path(char *cs, size_t len)
{
    snprintf(cs, len, "%s", bench_self_path);
    char *slash = strrchr(cs, '/');
    snprintf(slash ? slash + 1 : cs, len - (size_t)(slash ? slash + 1 - cs : 0), "devid-coldstart");
    return bench_env("DEVID_BENCH_COLDSTART", cs);
}

/* devid-coldstart's command line for target t; argv has room for 16. */
static void coldstart_argv(const char *argv[16], const char *coldstart, const bench_p11_target *t,
                           const char *hex, bool count, bool with_libcrypto)
{
    int k = 0;
    argv[k++] = coldstart;
    argv[k++] = "--module";
    argv[k++] = t->path;
    argv[k++] = "--key";
    argv[k++] = t->key;
    argv[k++] = "--digest";
    argv[k++] = hex;
    if (t->token) {
        argv[k++] = "--token";
        argv[k++] = t->token;
    }
    if (t->pin) {
        argv[k++] = "--pin";
        argv[k++] = t->pin;
    }
    if (count)
        argv[k++] = "--count";
    if (with_libcrypto)
        argv[k++] = "--with-libcrypto";
    argv[k] = NULL;
}

/* One cold start in a fresh process, its total time and its first signature checked (against
 * pub, or the point the child read from the key). 0, or -1 with r set to the failure. */
static int coldstart_once(bench_result *x, bench_result *r, const phase_def *d, const char **argv,
                          void *pub, const unsigned char dgst[32])
{
    bench_result_init(x, d->name);
    double t_fork;
    run_child(x, argv, 120, &t_fork);
    sweep(x);
    if (x->status != BENCH_OK) {
        *r = *x;
        snprintf(r->name, sizeof(r->name), "%s", d->name);
        return -1;
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
        return -1;
    }
    return 0;
}

/* The row's result: the median of the ok runs; command counts from the counting run. */
static void coldstart_result(bench_result *r, const phase_def *d, const run_opts *ro,
                             bench_result *all, int ok, const bench_result *counted)
{
    qsort(all, (size_t)ok, sizeof(*all), cmp_total);
    *r = all[ok / 2]; /* the median run */
    snprintf(r->name, sizeof(r->name), "%s", d->name);
    r->verified = ok;
    r->ops = (uint64_t)ok;
    if (ro->count_ops) {
        memcpy(r->step_cmds, counted->step_cmds, sizeof(r->step_cmds));
        memcpy(r->mix, counted->mix, sizeof(r->mix));
        r->wire_cmds = counted->wire_cmds; /* the whole cold start */
    }
}

void bench_run_coldstart(bench_result *r, const phase_def *d, const run_opts *ro)
{
    bench_result_init(r, d->name);
    bench_p11_target t;
    char note[320], cs[4200];
    if (bench_p11_target_get(d->which, &t, note, sizeof(note))) {
        bench_skip(r, "%s", note);
        return;
    }
    const char *coldstart = coldstart_path(cs, sizeof(cs));
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
        const char *argv[16];
        coldstart_argv(argv, coldstart, &t, hex, count, d->flag);
        if (coldstart_once(count ? &counted : &all[ok], r, d, argv, pub, dgst))
            goto out;
        if (!count)
            ok++;
    }
    coldstart_result(r, d, ro, all, ok, &counted);
out:
    free(all);
    EVP_PKEY_free(pub);
}
