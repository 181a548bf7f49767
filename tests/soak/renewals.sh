#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Renewal soak: COUNT renewals (devid-enroll renew --force; every 4th with --rekey; every 10th
# of the LDevID, the others of a store-key identity, device-id) against the test EST server
# failing at random (--fault-rate, seeded: 500, 503, 202 Retry-After, 401, hangs past the
# client's timeout, slow answers, truncated bodies, dropped connections, wrong content type,
# bad base64, a certificate for the wrong key, expired leaf or CA, redirects).
# After EVERY attempt the renewed identity must be complete and usable: its store key signs
# and the certificate in its PEM chain file verifies that signature (so key and certificate
# match), the chain verifies to the owner CA, exactly one object holds its label and no
# pending rotation is left; a success must have changed the certificate and a failure must
# have left everything as it was, with exit status 4 (refused) or 5 (try later).
# Prints the number of successful renewals and the server's fault counts.
# usage (under tests/fixture/with-swtpm ecc): renewals.sh BUILD_DIR [COUNT [SEED [RATE]]]
set -uo pipefail
. "$(dirname "$0")/../enroll/lib.sh" "$1"
count=${2:-100} seed=${3:-1} rate=${4:-0.5}
# Short timeouts and backoff, so that hangs and retries cost little: the soak is about what
# survives, not about waiting.
write_conf <<<'timeout = 1
max_attempts = 2
retry_base_ms = 20
retry_cap_ms = 50'

chain_of() { [ "$1" = LDevID ] && echo "$DEVID_STORE/ldevid-chain.pem" || echo "$DEVID_STORE/device-id-chain.pem"; }
count_label() { grep -l "^label=$1\$" "$DEVID_STORE"/*.attr 2>/dev/null | wc -l; }
echo "soak" >"$work/msg"

# usable NAME: the identity works for a consumer that reads the key through the provider and
# the certificate from the PEM chain file. (The LDevID is a persistent TPM key, not a store
# object: it has no label file.)
usable() {
    local name=$1 chain
    chain=$(chain_of "$name")
    rm -f "$work/sig"
    ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=$name" -rawin \
        -digest sha256 -in "$work/msg" -out "$work/sig" 2>"$work/usable.err" &&
        openssl pkeyutl -verify -certin -inkey "$chain" -rawin -digest sha256 -in "$work/msg" \
            -sigfile "$work/sig" >/dev/null 2>>"$work/usable.err" &&
        openssl verify -CAfile "$pki/owner-ca.pem" -untrusted "$chain" "$chain" \
            >/dev/null 2>>"$work/usable.err" &&
        { [ "$name" = LDevID ] || [ "$(count_label "$name")" -eq 1 ]; } &&
        [ "$(count_label "$name.pending")" -eq 0 ] ||
        { cat "$work/usable.err" >&2; return 1; }
}

owner_server
enroll --server "$server" enroll device-id >/dev/null 2>&1
check "device-id enrolled" usable device-id
check "LDevID usable" usable LDevID
est_server_stop

faults=(server-error unavailable:0 retry-after:0 retry-after-date:0 unauthorized hang slow:0.2
    truncated disconnect wrong-content-type bad-base64 wrong-key expired-chain expired-chain:ca
    "redirect:https://127.0.0.1:9{path}")
fault_args=()
for f in "${faults[@]}"; do fault_args+=(--fault "$f"); done
owner_server --fault-rate "$rate" --fault-seed "$seed" "${fault_args[@]}" --stats

ok=0 refused=0 later=0 lost=0
declare -A by_rc
start=$SECONDS
for ((i = 1; i <= count; i++)); do
    name=device-id
    ((i % 10 == 0)) && name=LDevID
    extra=()
    ((i % 4 == 0)) && extra=(--rekey)
    chain=$(chain_of "$name")
    before=$(sha256sum <"$chain")
    out=$(enroll --server "$server" renew --force "${extra[@]}" "$name" 2>&1)
    rc=$?
    by_rc[$rc]=$((${by_rc[$rc]:-0} + 1))
    what="renewal $i ($name ${extra[*]}): exit $rc"
    case $rc in
    0) ok=$((ok + 1)); check "$what: certificate changed" test "$(sha256sum <"$chain")" != "$before" ;;
    4 | 5)
        [ $rc = 4 ] && refused=$((refused + 1)) || later=$((later + 1))
        check "$what: identity unchanged" test "$(sha256sum <"$chain")" = "$before" ;;
    *) check "$what: an expected exit status (0, 4, 5): $out" false ;;
    esac
    if ! usable "$name"; then
        lost=$((lost + 1))
        check "$what: identity usable afterwards ($out)" false
    fi
    ((i % 100 == 0)) && echo "... $i attempts: $ok renewed, $((i - ok)) failed cleanly, $lost lost"
done
elapsed=$((SECONDS - start))
check "device-id usable at the end" usable device-id
check "LDevID usable at the end" usable LDevID
stats=$(curl -sS --cacert "$work/est-trust.pem" "$server/.well-known/est/_stats" |
    jq -c '{requests, issued, by_fault}')
est_server_stop
echo "renewal soak (seed $seed, fault rate $rate): $count attempts in ${elapsed} s:" \
    "$ok renewed, $refused refused (exit 4), $later try-later (exit 5), $lost identities lost"
echo "exit statuses: $(for k in "${!by_rc[@]}"; do printf '%s:%s ' "$k" "${by_rc[$k]}"; done)"
echo "server: $stats"
check "some renewals succeeded and some failed (the faults bit)" test "$ok" -gt 0 -a "$ok" -lt "$count"
summary renewals
