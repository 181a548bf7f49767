# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The one check library of the shell tests (sourced). Each check prints a TAP-style line,
# "ok - NAME" or "not ok - NAME" (with the command's output indented below), and `summary`
# prints "N passed, N failed" and returns non-zero if anything failed.
#   check NAME CMD...                 CMD succeeds
#   check_fails NAME PATTERN CMD...   CMD fails cleanly (exit 1..125, no sanitizer report) and
#                                     its output (both streams) matches PATTERN (grep -E); an
#                                     empty PATTERN is an error of the test (exit 99)
#   check_out NAME EXPECTED CMD...    CMD succeeds and its standard output is EXPECTED
#   check_match NAME PATTERN CMD...   CMD succeeds and its output matches PATTERN (grep -E)
#   skip NAME [REASON]                a check that cannot run here, said so
#   summary [NAME]
# The caller sets `work` (a scratch directory) before sourcing; the last check's output is in
# $work/check.log.

: "${work:?set work (a scratch directory) before sourcing tests/lib/check.sh}"
passed=0
failed=0
skipped=0

ok() {
    passed=$((passed + 1))
    echo "ok - $*"
}
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $*"
}
# the last check's output, indented, after a "not ok" line
check_show_log() {
    sed 's/^/    /' "$work/check.log" | tail -n 25
}

check() {
    local name=$1
    shift
    if "$@" >"$work/check.log" 2>&1; then
        ok "$name"
    else
        not_ok "$name (exit $?)"
        check_show_log
    fi
}

# a crash or a sanitizer abort is never the expected failure
check_sanitizer_report='AddressSanitizer|LeakSanitizer|runtime error:'

check_fails() {
    local name=$1 pattern=$2 rc=0
    shift 2
    if [[ -z $pattern ]]; then
        echo "test error: check_fails '$name' needs the pattern that proves the right failure" >&2
        exit 99
    fi
    "$@" >"$work/check.log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        not_ok "$name (succeeded)"
    elif [[ $rc -gt 125 ]] || grep -qE -- "$check_sanitizer_report" "$work/check.log"; then
        not_ok "$name (exit $rc: a crash, not a clean failure)"
    elif ! grep -qE -- "$pattern" "$work/check.log"; then
        not_ok "$name (exit $rc, no '$pattern' in the output)"
    else
        ok "$name"
        return 0
    fi
    check_show_log
}

check_out() {
    local name=$1 expected=$2 out rc=0
    shift 2
    out=$("$@" 2>"$work/check.log") || rc=$?
    if [[ $rc -ne 0 ]]; then
        not_ok "$name (exit $rc)"
    elif [[ $out != "$expected" ]]; then
        not_ok "$name (output '$out', want '$expected')"
    else
        ok "$name"
        return 0
    fi
    check_show_log
}

check_match() {
    local name=$1 pattern=$2 rc=0
    shift 2
    "$@" >"$work/check.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        not_ok "$name (exit $rc)"
    elif ! grep -qE -- "$pattern" "$work/check.log"; then
        not_ok "$name (no '$pattern' in the output)"
    else
        ok "$name"
        return 0
    fi
    check_show_log
}

skip() {
    skipped=$((skipped + 1))
    echo "ok - $1 # SKIP${2:+ $2}"
}

summary() {
    [[ -z ${1:-} ]] || echo "# $1"
    [[ $skipped -eq 0 ]] || echo "# $skipped skipped"
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}
