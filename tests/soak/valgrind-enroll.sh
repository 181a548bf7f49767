#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll under valgrind memcheck (tests/soak/valgrind.sh): status, enrollment and
# renewals (same key, new key, the LDevID) against the test EST server, and the failure paths
# of a server that keeps failing (exit 5) or answers with a certificate for the wrong key
# (exit 4). Any memory error or definitely lost block makes valgrind exit 1 instead.
# usage (under tests/fixture/with-swtpm ecc): valgrind-enroll.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/../enroll/lib.sh" "$1"
vg=$src/tests/soak/valgrind.sh
enroll() { OPENSSL_MODULES=$modules "$vg" "$enroll_bin" "$@"; }
# Under memcheck devid-enroll runs some 20 times slower: one TLS handshake (the TPM signs in it)
# takes more than a second on a loaded machine, so the 3 s request timeout of enroll/lib.sh
# could expire on every attempt (exit 5). Here the timeout only has to stop a hang.
write_conf <<<'timeout = 60'

run() { # run WANT_EXIT DESCRIPTION ARGS...
    local want=$1 what=$2 rc=0
    shift 2
    enroll "$@" >"$work/out" 2>&1 || rc=$?
    check "$what: exit $rc, want $want" test "$rc" -eq "$want"
    [ "$rc" -eq "$want" ] || cat "$work/out" >&2
}

run 0 "status" status
run 0 "status --json" --json status
owner_server
run 0 "enroll device-id" --server "$server" enroll device-id
run 0 "renew device-id" --server "$server" renew --force device-id
run 0 "renew device-id with a new key" --server "$server" renew --force --rekey device-id
run 0 "renew the LDevID with a new key" --server "$server" renew --force --rekey LDevID
est_server_stop
owner_server --fault server-error
run 5 "renew against a failing server" --server "$server" renew --force --rekey device-id
est_server_stop
owner_server --fault wrong-key
run 4 "renew answered with the wrong key" --server "$server" renew --force device-id
est_server_stop
run 0 "status after it all" --json status
summary valgrind-enroll
