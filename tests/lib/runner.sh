#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C test runner (tests/lib/devid_test.h): -l lists the cases, -p runs one case or one
# group alone (with the fixture's setup before it), an unknown path is an error, a failing
# CHECK makes its case "not ok"; judged on the library's own self-test program and on a real
# test (test_rsa_pad) run one case alone.
# usage: runner.sh DEVID_TEST_SELFTEST TEST_RSA_PAD
# shellcheck disable=SC1091,SC2016  # check.sh is beside this file; bash -c bodies are single-quoted on purpose
set -uo pipefail
self=$1 rsa_pad=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/check.sh"

check_out "-l lists every case in order" $'/self/pass\n/self/group/a\n/self/group/b\n/self/fail\n/selfx/data\n/selfx/args\n/story/one\n/story/two\n/story/after' \
    "$self" -l
check_out "-p PATH runs that case alone, after the setup" \
    $'# setup 1\nok 1 /self/pass\n# teardown\nself: 1 passed, 0 failed' "$self" -p /self/pass
check_out "-p PREFIX/ runs the group" \
    $'# setup 1\nok 1 /self/group/a\nok 2 /self/group/b\n# teardown\nself: 2 passed, 0 failed' \
    "$self" -p /self/group/
check_out "-p twice runs both, in registration order" \
    $'# setup 1\nok 1 /self/pass\nok 2 /selfx/data\n# teardown\nself: 2 passed, 0 failed' \
    "$self" -p /selfx/data -p /self/pass
check_out "the program's own arguments around the options" \
    $'# setup 1\n# args one two\nok 1 /selfx/args\n# teardown\nself: 0 passed, 0 failed' \
    "$self" one -p /selfx/args two
check_out "-p on a step runs the case it continues from first" \
    $'# setup 1\nok 1 /story/one\nok 2 /story/two\n# teardown\nself: 1 passed, 0 failed' \
    "$self" -p /story/two
check_fails "an unknown path is an error" '^self: no test case matches -p /self/nope' \
    "$self" -p /self/nope
check_fails "a prefix without its '/' matches no case" 'no test case matches -p /self/group \(-l' \
    "$self" -p /self/group
check_fails "-p without a path is an error" '^self: -p needs a test path' "$self" -p
check_fails "a failing CHECK: its case is not ok, FAIL file:line on stderr" \
    'devid_test_selftest.c:[0-9]+: 0: the case that fails' "$self" -p /self/fail
check_out "the whole run: each case once, the failed one marked" \
    $'# setup 1\nok 1 /self/pass\nok 2 /self/group/a\nok 3 /self/group/b\nnot ok 4 /self/fail\nok 5 /selfx/data\n# args - -\nok 6 /selfx/args\nok 7 /story/one\nok 8 /story/two\nok 9 /story/after\n# teardown\nself: 6 passed, 1 failed\nexit 1' \
    bash -c '"$0"; echo "exit $?"' "$self"

# A real test program: one named case alone, and nothing else ran
check_out "test_rsa_pad -p /rsa-pad/pkcs1: that case alone" "ok 1 /rsa-pad/pkcs1" \
    bash -c '"$0" -p /rsa-pad/pkcs1 | grep -v "^test_rsa_pad: [1-9][0-9]* passed, 0 failed$"' \
    "$rsa_pad"
check_match "test_rsa_pad -l lists its cases" '^/rsa-pad/pss/4096-sha512$' "$rsa_pad" -l
check_fails "test_rsa_pad -p with an unknown path" 'no test case matches -p /rsa-pad/nope' \
    "$rsa_pad" -p /rsa-pad/nope
summary "c-test-runner"
