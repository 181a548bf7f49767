#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every fault mode of the test EST server against a renewal: the client's answer (retry,
# give up with exit 5 "try later", or refuse with exit 4) and, whenever it does not succeed,
# proof that the existing identity did not change.
# usage (under with-swtpm ecc): faults.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
write_conf <<<'timeout = 2'
chain=$DEVID_STORE/device-id-chain.pem

fingerprint() { # the identity as consumers see it: chain file + store objects
    cat "$chain" "$DEVID_STORE"/*.attr "$DEVID_STORE"/*.key "$DEVID_STORE"/*.crt 2>/dev/null | sha256sum
}

owner_server
enroll --server "$server" enroll device-id >/dev/null 2>&1
check "device-id enrolled for the fault tests" test -s "$chain"
est_server_stop

# fault  count  extra-renew-args  expected-exit
cases=(
    "retry-after:1 1 - 0"
    "retry-after-date:1 1 - 0"
    "unavailable:1 2 - 0"
    "unauthorized 1 - 4"
    "server-error 1 - 0"
    "slow:1 1 - 0"
    "server-error 99 - 5"
    "unavailable:1 99 - 5"
    "hang 99 - 5"
    "truncated 99 - 5"
    "disconnect 99 - 5"
    "wrong-content-type 1 - 4"
    "bad-base64 1 - 4"
    "wrong-key 1 - 4"
    "wrong-key 1 --rekey 4"
    "expired-chain 1 - 4"
    "expired-chain:ca 1 - 4"
    "redirect:https://127.0.0.1:9{path} 1 - 4"
    "server-error 99 --rekey 5"
)
for c in "${cases[@]}"; do
    read -r fault count extra want <<<"$c"
    [ "$extra" = - ] && extra=
    owner_server --fault "$fault" --fault-count "$count"
    before=$(fingerprint)
    # shellcheck disable=SC2086
    out=$(enroll --server "$server" renew --force $extra device-id 2>&1)
    rc=$?
    est_server_stop
    check "$fault x$count ${extra}: exit $rc, want $want ($out)" test "$rc" -eq "$want"
    if [ "$want" -ne 0 ]; then
        check "$fault x$count ${extra}: identity unchanged" test "$(fingerprint)" = "$before"
        check "$fault x$count ${extra}: says the identity is unchanged" grep -q "unchanged" <<<"$out"
    else
        check "$fault x$count: renewed" test "$(fingerprint)" != "$before"
    fi
    check "$fault x$count: chain still verifies" openssl verify -CAfile "$pki/owner-ca.pem" "$chain" >/dev/null
done
summary faults
