/* SPDX-License-Identifier: Apache-2.0 */
/* devid-bench, reporting: the tables on stdout (ratios to the floor and to the software TLS
 * ceiling, commands per operation) and the JSON results file. */
#include "rows.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const phase_def *bench_def_of(const bench_result *r)
{
    for (size_t i = 0; i < bench_nphases; i++)
        if (!strcmp(bench_phases[i].name, r->name))
            return &bench_phases[i];
    return NULL;
}

static const bench_result *find(const bench_result *rs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rs[i].name, name) && rs[i].status == BENCH_OK)
            return &rs[i];
    return NULL;
}

static void fmt_num(char *b, size_t n, double v, int decimals)
{
    if (v < 0)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.*f", decimals, v);
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
    const phase_def *d = bench_def_of(r);
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

/* Signatures/s of the throughput rows, against the floor rows. */
static void print_signature_table(const bench_result *rs, size_t n, const run_opts *ro)
{
    const bench_result *floor = find(rs, n, "floor-pw"), *enc = find(rs, n, "floor-enc");
    char b[8][32];
    printf("\nECDSA P-256 signatures/s, same swtpm, one run (%s per row)\n",
           ro->iterations ? "fixed iterations" : "time-boxed");
    printf("  %-17s %-44s %7s %11s %6s %6s %7s %6s %7s %7s %6s %6s %5s %5s\n", "row", "what",
           "sig/s", "rounds", "/floor", "/enc", "1/p50", "/floor", "p50 us", "p99 us", "cpu us",
           "tpm us", "cmds", "core");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = bench_def_of(r);
        if (!d || d->kind == K_COLD || d->kind == K_TLS)
            continue;
        if (r->status != BENCH_OK) {
            print_status(r, d->label);
            continue;
        }
        fmt_num(b[0], 32, floor ? r->ops_per_s / floor->ops_per_s : -1, 2);
        fmt_num(b[1], 32, enc ? r->ops_per_s / enc->ops_per_s : -1, 2);
        fmt_num(b[2], 32, r->tpm_cpu_us, 0);
        fmt_num(b[3], 32, r->wire_cmds, 2);
        fmt_num(b[4], 32, r->core_cmds, 2);
        fmt_range(b[5], 32, r);
        fmt_num(b[6], 32, floor ? floor->p50_us / r->p50_us : -1, 2);
        printf("  %-17s %-44s %7.0f %11s %6s %6s %7.0f %6s %7.0f %7.0f %6.0f %6s %5s %5s\n",
               r->name, d->label, r->ops_per_s, b[5], b[0], b[1], 1e6 / r->p50_us, b[6], r->p50_us,
               r->p99_us, r->client_cpu_us, b[2], b[3], b[4]);
        if (r->note[0])
            printf("  %-17s   note: %s\n", "", r->note);
    }
    printf("  sig/s: median round; rounds: slowest-fastest round; /floor, /enc: sig/s relative to "
           "floor-pw, floor-enc;\n  1/p50: the rate the median latency implies (robust to "
           "stalls from other load), /floor: that relative to floor-pw;\n  p50/p99: latency of "
           "one op; cpu us: this process's user+sys per op; tpm us: the swtpm process's;\n  cmds: "
           "TPM commands per op counted on the wire; core: devid_tpm_command_count() per op\n");
}

/* The cold starts: each step's time, peak and base RSS, TPM commands per step. */
static void print_coldstart_table(const bench_result *rs, size_t n, const run_opts *ro)
{
    printf("\nCold start, fresh process each (median of %d): dlopen → C_Initialize → "
           "C_OpenSession → C_Login → find key → first C_Sign\n",
           ro->coldstart_runs);
    printf("  %-19s %-18s %7s %7s %7s %7s %7s %7s %7s %8s %9s %9s  %s\n", "row", "module", "exec",
           "dlopen", "init", "open", "login", "find", "sign", "total ms", "peak RSS", "base RSS",
           "TPM cmds init/open/login/find/sign");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = bench_def_of(r);
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
        printf(
            "  %-19s %-18s %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %8.1f %6ld kB %6ld kB  %s\n",
            r->name, d->label, r->exec_ms, r->step_ms[CS_DLOPEN], r->step_ms[CS_INITIALIZE],
            r->step_ms[CS_OPEN], r->step_ms[CS_LOGIN], r->step_ms[CS_FIND], r->step_ms[CS_SIGN],
            r->total_ms, r->rss_peak_kb, r->rss_base_kb, cmds);
    }
}

/* TLS handshakes/s, against the software key's. */
static void print_tls_table(const bench_result *rs, size_t n)
{
    const bench_result *soft = find(rs, n, "tls-soft");
    char b[8][32];
    printf("\nMutual TLS 1.3 full handshakes/s, one process (server thread: software P-256, "
           "client certificate required)\n");
    printf("  %-17s %-44s %7s %11s %6s %7s %6s %7s %7s %6s %6s %5s %5s\n", "row", "client key",
           "hs/s", "rounds", "/soft", "1/p50", "/soft", "p50 us", "p99 us", "cpu us", "tpm us",
           "cmds", "core");
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = bench_def_of(r);
        if (!d || d->kind != K_TLS)
            continue;
        if (r->status != BENCH_OK) {
            print_status(r, d->label);
            continue;
        }
        fmt_num(b[0], 32, soft ? r->ops_per_s / soft->ops_per_s : -1, 2);
        fmt_num(b[2], 32, r->tpm_cpu_us, 0);
        fmt_num(b[3], 32, r->wire_cmds, 2);
        fmt_num(b[4], 32, r->core_cmds, 2);
        fmt_range(b[5], 32, r);
        fmt_num(b[6], 32, soft ? soft->p50_us / r->p50_us : -1, 2);
        printf("  %-17s %-44s %7.0f %11s %6s %7.0f %6s %7.0f %7.0f %6.0f %6s %5s %5s\n", r->name,
               d->label, r->ops_per_s, b[5], b[0], 1e6 / r->p50_us, b[6], r->p50_us, r->p99_us,
               r->client_cpu_us, b[2], b[3], b[4]);
        if (r->note[0])
            printf("  %-17s   note: %s\n", "", r->note);
    }
}

void bench_print_table(const bench_result *rs, size_t n, const run_opts *ro)
{
    print_signature_table(rs, n, ro);
    print_coldstart_table(rs, n, ro);
    print_tls_table(rs, n);
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

void bench_write_json(FILE *f, const bench_result *rs, size_t n, const run_opts *ro,
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
    static const char *steps[] = { "dlopen", "initialize", "open_session",
                                   "login",  "find_key",   "first_sign" };
    for (size_t i = 0; i < n; i++) {
        const bench_result *r = &rs[i];
        const phase_def *d = bench_def_of(r);
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
