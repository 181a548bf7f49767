#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run-bench.sh [--build-dir DIR] [--quick] [--json FILE] [devid-bench options...]
#
# Runs the whole benchmark suite on a private, provisioned swtpm (tests/fixture/with-swtpm
# ecc) and prints the table; the JSON goes to FILE (default DIR/bench-results.json).
#   --build-dir DIR  the meson build directory (default: build/ at the top of the tree)
#   --quick          smoke mode: 20 iterations a row, every signature verified, no timing
#                    claims (the bench-smoke test)
#   --nice N         run everything (swtpm included) at this nice value, e.g. -10 on a machine
#                    busy with other work (needs root for negative values)
#   --est-runs N     runs per EST and attestation row (est-bench.sh, attest-bench.sh; default
#                    15, 3 with --quick)
# Other options go to devid-bench (e.g. --seconds 5, --only floor,core,p11); --only selects the
# EST rows too when a name in it is a prefix of "est" rows' names (est, est-enroll, ...), and the
# attestation rows (attest-bench.sh) when it names "attest".
#
# Around devid-bench it sets up what the peer rows need: a private D-Bus session bus (for
# tpm2-abrmd, see abrmd.sh) and a tpm2-pkcs11 store (setup-tpm2-pkcs11.sh). Missing pieces
# make those rows report SKIPPED, never fail the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build
args=()
json=
est_runs=
est=1
attest=1
quick=
while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir) build=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --nice) renice -n "$2" -p $$ >/dev/null; shift 2 ;;
    --est-runs) est_runs=$2; shift 2 ;;
    --only) args+=("$1" "$2")
        est=
        attest=
        IFS=, read -ra wanted <<<"$2"
        for w in "${wanted[@]}"; do
            [[ -n $w && ( est-enroll == "$w"* || est-reenroll == "$w"* || est-rekey == "$w"* ||
                         est-ldevid == "$w"* ) ]] && est=1
            [[ -n $w && attest == "$w"* ]] && attest=1
        done
        shift 2 ;;
    --quick) args+=("$1"); quick=1; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
build=$(cd "$build" && pwd)
json=${json:-$build/bench-results.json}
bench=$build/tests/bench/devid-bench
if [[ ! -x $bench ]]; then
    echo "run-bench.sh: $bench is not built (meson setup build && ninja -C build)" >&2
    exit 2
fi

if [[ -z ${DEVID_FIXTURE:-} ]]; then
    export DEVID_FIXTURE_CACHE=${DEVID_FIXTURE_CACHE:-$build/tests/fixture-cache}
    exec "$top/tests/fixture/with-swtpm" ecc -- "$0" --build-dir "$build" --json "$json" \
        ${est_runs:+--est-runs "$est_runs"} ${args[@]+"${args[@]}"}
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/devid-bench.XXXXXX")
dbus_pid=
cleanup() {
    DEVID_BENCH_WORK=$work "$here/abrmd.sh" stop 2>/dev/null || true
    [[ -n $dbus_pid ]] && kill "$dbus_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export DEVID_BENCH_WORK=$work

# A private session bus for tpm2-abrmd: no system bus, no root policy, gone with this run.
if command -v dbus-daemon >/dev/null && command -v tpm2-abrmd >/dev/null; then
    if out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 2>"$work/dbus.log"); then
        export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p <<<"$out")
        dbus_pid=$(sed -n 2p <<<"$out")
        export DEVID_BENCH_ABRMD=$here/abrmd.sh
    else
        echo "run-bench.sh: no D-Bus session bus: tpm2-abrmd rows will be skipped" >&2
        cat "$work/dbus.log" >&2
    fi
else
    echo "run-bench.sh: dbus-daemon or tpm2-abrmd missing: tpm2-abrmd rows will be skipped" >&2
fi

if [[ -n ${DEVID_BENCH_ABRMD:-} ]]; then
    if env_lines=$("$here/setup-tpm2-pkcs11.sh" "$work/tpm2-pkcs11"); then
        while IFS= read -r line; do
            export "${line?}"
        done <<<"$env_lines"
    else
        echo "run-bench.sh: tpm2-pkcs11 store setup failed: its rows will be skipped" >&2
    fi
fi

status=0
"$bench" --json "$json" ${args[@]+"${args[@]}"} || status=$?
# The EST rows last: they add store keys and rewrite devid.conf (est-bench.sh)
if [[ -n $est ]]; then
    runs=${est_runs:-$([[ -n $quick ]] && echo 3 || echo 15)}
    "$here/est-bench.sh" "$build" "$runs" "${json%.json}-est.json" || status=1
fi
# The attestation rows on their own EK-only swtpm (attest-bench.sh)
if [[ -n $attest ]]; then
    runs=${est_runs:-$([[ -n $quick ]] && echo 3 || echo 15)}
    "$here/attest-bench.sh" "$build" "$runs" "${json%.json}-attest.json" || status=1
fi
exit $status
