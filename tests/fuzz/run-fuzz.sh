#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run-fuzz.sh [TARGET...]
#
# A short coverage-guided fuzzing pass over core's parsers (./run tests runs it after the unit
# and sanitizer tests). Builds the libFuzzer targets in a clang build dir (-Dfuzzing=true),
# then runs each target (default: every tests/fuzz/fuzz_<name>.c) for FUZZ_SECONDS, starting
# from its committed corpus. Fails if any target crashes, leaks, trips UBSan, times out or
# violates one of its properties. Without clang or libFuzzer it says so and skips (exit 0).
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 5)
#   FUZZ_JOBS     targets fuzzed at once (default: the number of CPUs)
#   FUZZ_BUILD    the build dir (default build-fuzz, in the source root)
#   FUZZ_ARGS     extra libFuzzer flags, e.g. "-use_value_profile=1 -max_len=8192"
#
# In the build dir: fuzz-corpus/<target>/ collects the inputs the runs found (the committed
# corpus is only read), fuzz-artifacts/ keeps crashing inputs, fuzz-logs/<target>.log the
# libFuzzer output, fuzz-results.json one meson-testlog-style line per target (./run's
# summary counts them). A crash: add the input to tests/fuzz/corpus/<target>/ as
# regress-<what>, fix, and check with build/tests/fuzz/fuzz_<target> <that file>.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-5}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
build=${FUZZ_BUILD:-build-fuzz}
read -r -a extra <<<"${FUZZ_ARGS:-}"

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in tests/fuzz/fuzz_*.c; do
        f=${f##*/fuzz_}
        targets+=("${f%.c}")
    done
fi

skip() {
    echo "run-fuzz: $*: fuzzing pass skipped" >&2
    rm -f "$build/fuzz-results.json"
    exit 0
}

command -v clang >/dev/null || skip "clang not found (Debian: clang, libclang-rt-dev)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    >"$probe/probe.c"
clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" 2>/dev/null ||
    skip "clang cannot link libFuzzer (Debian: libclang-rt-dev)"

# Build only the fuzz targets (and core from sources, instrumented).
rm -f "$build/fuzz-results.json"
mkdir -p "$build/fuzz-logs" "$build/fuzz-artifacts"
if [[ ! -f $build/build.ninja ]]; then
    CC=clang meson setup "$build" -Dfuzzing=true -Dbuildtype=debugoptimized \
        >"$build/fuzz-logs/setup.log" 2>&1 || { cat "$build/fuzz-logs/setup.log" >&2; exit 1; }
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}" >"$build/fuzz-logs/ninja.log" 2>&1 ||
    { cat "$build/fuzz-logs/ninja.log" >&2; exit 1; }

# Targets that need a TPM (fuzz_tpm_targets in tests/fuzz/meson.build): each fuzzing process
# gets its own swtpm from the test fixture, started once (the target resets its own state
# between inputs).
declare -A tpm_variant=([pkcs11_template]=ecc)
export DEVID_FIXTURE_CACHE=${DEVID_FIXTURE_CACHE:-$root/$build/fixture-cache}

fuzz() { # fuzz TARGET: one libFuzzer run; its exit status goes to fuzz-logs/TARGET.status
    local t=$1 corpus=$build/fuzz-corpus/$1 status=0 wrap=()
    mkdir -p "$corpus"
    if [[ -n ${tpm_variant[$t]:-} ]]; then
        # the fixture (swtpm state, store) on tmpfs when there is one: every created object
        # is fsynced, which halves the execs/s on a disk
        local tmp=${TMPDIR:-/tmp}
        [[ -d /dev/shm && -w /dev/shm ]] && tmp=/dev/shm
        wrap=(env "TMPDIR=$tmp" tests/fixture/with-swtpm "${tpm_variant[$t]}" --)
    fi
    "${wrap[@]}" "$build/tests/fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" "${extra[@]}" \
        >"$build/fuzz-logs/$t.log" 2>&1 || status=$?
    echo "$status" >"$build/fuzz-logs/$t.status"
}

running=0
for t in "${targets[@]}"; do
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    rm -f "$build/fuzz-logs/$t.status"
    fuzz "$t" &
    running=$((running + 1))
done
wait

failed=0
for t in "${targets[@]}"; do
    log=$build/fuzz-logs/$t.log
    if [[ $(cat "$build/fuzz-logs/$t.status" 2>/dev/null) == 0 ]]; then
        result=OK
        # "#N DONE cov: C ft: F corp: K/SIZE ... exec/s: E" and the final stats.
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
        cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
        corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")
        execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
        rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
        printf 'fuzz %-16s OK    %9s execs (%s/s) in %ss, cov %s, corpus %s\n' \
            "$t" "${execs:-?}" "${rate:-?}" "$seconds" "${cov:-?}" "${corp:-?}"
    else
        result=FAIL
        failed=$((failed + 1))
        printf 'fuzz %-16s FAIL  (log: %s)\n' "$t" "$log"
        grep -vE '^(INFO:|#[0-9]+[[:space:]])' "$log" | tail -40 | sed 's/^/    /' >&2
        find "$build/fuzz-artifacts" -name "$t-*" -printf '    input: %p\n' >&2
    fi
    printf '{"name": "fuzz-run-%s", "result": "%s"}\n' "$t" "$result" >>"$build/fuzz-results.json"
done
echo "fuzz: ${#targets[@]} targets, $failed failed (${seconds}s each, $jobs at a time)"
((failed == 0))
