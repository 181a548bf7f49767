#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The check library judged by its own rules: check_fails accepts only a clean failure that
# says what the pattern says (not a success, a crash, a sanitizer report or another message)
# and refuses to run without a pattern; check_out wants equal output; summary's line and status.
# usage: selftest.sh
# shellcheck disable=SC1090,SC1091,SC2016,SC2030,SC2031  # bash -c bodies are single-quoted; work= per subshell on purpose
set -uo pipefail
lib=$(cd "$(dirname "$0")" && pwd)/check.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The judging is done here, not by the library under test (a broken library must not pass
# its own test): expect NAME REGEX CMD... wants CMD's whole output to match REGEX.
passed=0 failed=0
expect() {
    local name=$1 regex=$2 out
    shift 2
    out=$("$@" 2>&1)
    if [[ $out =~ $regex ]]; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        printf '    %s\n' "$out"
    fi
}

# inner CHECK-ARGS...: runs one check of a fresh library in a subshell; prints its TAP line
inner() {
    (
        work=$(mktemp -d -p "$work")
        . "$lib"
        "$@" >"$work/tap"
        head -n 1 "$work/tap"
    )
}
crash() { bash -c 'echo "$1"; kill -SEGV $$' _ "$1"; }
says_fails() { echo "$1"; return "${2:-1}"; }

expect "check_fails: a clean failure with the message" '^ok - x$' \
    inner check_fails x 'no such key' says_fails 'error: no such key'
expect "check_fails: a success is not a failure" '^not ok - x \(succeeded\)' \
    inner check_fails x 'no such key' says_fails 'error: no such key' 0
expect "check_fails: another message is not the failure" "^not ok - x \(exit 1, no 'no such key'" \
    inner check_fails x 'no such key' says_fails 'error: permission denied'
expect "check_fails: a crash is not a clean failure" '^not ok - x \(exit 139: a crash' \
    inner check_fails x 'no such key' crash 'no such key'
expect "check_fails: exit 134 (sanitizer abort) is not clean" '^not ok - x \(exit 134' \
    inner check_fails x 'no such key' says_fails 'no such key' 134
expect "check_fails: a sanitizer report is not clean" '^not ok - x \(exit 1: a crash' \
    inner check_fails x 'no such key' says_fails 'no such key; ==1==ERROR: AddressSanitizer: heap-use-after-free'
expect "check_fails: an empty pattern is an error of the test (exit 99)" '^99$' \
    bash -c '( work=$1; . "$2"; check_fails x "" false ) >/dev/null 2>&1; echo $?' _ "$work" "$lib"
expect "check_out: equal output" '^ok - x$' inner check_out x 'a b' echo 'a b'
expect "check_out: more output is not equal" "^not ok - x \(output 'a b c', want 'a b'\)" \
    inner check_out x 'a b' echo 'a b c'
expect "check_out: the command must succeed" '^not ok - x \(exit 3\)' \
    inner check_out x 'a b' says_fails 'a b' 3
expect "check_match: a match" '^ok - x$' inner check_match x '^a.c$' echo abc
expect "check_match: no match" "^not ok - x \(no 'abd'" inner check_match x abd echo abc
expect "check: a failure shows the exit status" '^not ok - x \(exit 2\)' inner check x says_fails x 2
expect "summary: the counts and a failing status" $'^# t\n1 passed, 1 failed\nstatus 1$' \
    bash -c '( work=$1; . "$2"; check a true; check b false; summary t ) | grep -v "^ok\|^not ok\|^    "
             echo "status ${PIPESTATUS[0]}"' _ "$work" "$lib"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
