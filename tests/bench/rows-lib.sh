# SPDX-License-Identifier: Apache-2.0
# rows-lib.sh WHAT TOOL...: what the scripted bench rows share (est-bench.sh, attest-bench.sh),
# sourced after they have set build (the meson build directory). WHAT names the rows in
# messages ("EST rows"); a row set whose build or TOOLs are missing says so and exits 0 (the
# rows are skipped, run-bench.sh goes on). Defines skip, ms_now and stats.
rows_what=$1
shift

skip() {
    echo "$rows_what: SKIPPED: $*"
    exit 0
}
[[ -x $build/enroll/devid-enroll ]] || skip "not built yet (no $build/enroll/devid-enroll)"
[[ -e $build/ossl-provider/devid.so ]] || skip "not built yet (no $build/ossl-provider/devid.so)"
for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is missing"
done

ms_now() { echo $(($(date +%s%N) / 1000000)); }
# median / min / max of the numbers on stdin
stats() { sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                             printf "%s %s %s\n", m, v[1], v[NR] }'; }
