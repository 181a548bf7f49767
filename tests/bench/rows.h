/* SPDX-License-Identifier: Apache-2.0 */
/* devid-bench's parent side, shared by main.c (the rows and the command line), runner.c
 * (running a row in child processes) and report.c (the tables and the JSON file). */
#ifndef DEVID_BENCH_ROWS_H
#define DEVID_BENCH_ROWS_H

#include "bench.h"

#include <stdio.h>

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

/* The rows, in table order (main.c). */
extern const phase_def bench_phases[];
extern const size_t bench_nphases;
/* This executable's path: rows run as children of it (main.c sets it). */
extern char bench_self_path[4096];

/* runner.c: one round of a throughput row (timed; then counted through the proxy when
 * `count`), or a cold-start row's fresh processes. */
void bench_run_throughput(bench_result *r, const phase_def *d, const run_opts *ro, bool count);
void bench_run_coldstart(bench_result *r, const phase_def *d, const run_opts *ro);
/* Peer rows run with LeakSanitizer off in sanitizer builds (see runner.c): `enter` sets the
 * environment for a peer row's children, !enter restores it. */
void bench_peer_env(const phase_def *d, bool enter);

/* report.c: a result's row, the tables on stdout, the JSON file. */
const phase_def *bench_def_of(const bench_result *r);
void bench_print_table(const bench_result *rs, size_t n, const run_opts *ro);
void bench_write_json(FILE *f, const bench_result *rs, size_t n, const run_opts *ro,
                      const char *date, const char *swtpm);

#endif
