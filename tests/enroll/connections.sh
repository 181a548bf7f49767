#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One TLS connection per operation: /csrattrs and the POST of an enroll, a re-enroll and a
# re-key share one connection (one full handshake, so one TPM signature for the TLS side),
# with and without proof-of-possession; a retry on a new connection resumes the TLS session
# (no new client signature). Counted from the server's record (the connection each request
# came on, and whether it resumed a session) and from devid-enroll's own summary
# (DEVID_LOG=info: connections, handshakes, TPM commands of the run). Prints the numbers and
# the wall time next to a minimal client (curl, software key) doing the same POST; nothing
# asserts a time.
# usage (under with-swtpm ecc): connections.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
write_conf <<<'timeout = 5'
log=$work/conn.log

# op LABEL WANT_CONNECTIONS WANT_FULL ARGS...: one devid-enroll run, counted
op() {
    local label=$1 want_conns=$2 want_full=$3 t0 ms out rc conns full reqs tpm
    shift 3
    : >"$log"
    t0=$(date +%s%N)
    out=$(DEVID_LOG=info enroll --server "$server" "$@" 2>&1); rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    conns=$(jq -s '[.[] | select(.op != null) | .conn] | unique | length' "$log")
    full=$(jq -s '[.[] | select(.op != null)] | group_by(.conn) | map(select(.[0].session_reused | not)) | length' "$log")
    reqs=$(jq -r -s '[.[] | select(.op != null) | "\(.op)@\(.conn)"] | join(" ")' "$log")
    tpm=$(grep -oE '[0-9]+ TPM command' <<<"$out" | cut -d' ' -f1)
    printf '   %-30s %s connection(s), %s full handshake(s), TPM commands %s, %d ms: %s\n' \
        "$label" "$conns" "$full" "${tpm:-?}" "$ms" "$reqs"
    check "$label: done ($out)" test "$rc" -eq 0
    check "$label: $want_conns connection(s) ($reqs)" test "$conns" -eq "$want_conns"
    check "$label: $want_full full handshake(s)" test "$full" -eq "$want_full"
    check "$label: devid-enroll counts the same" \
        grep -q "$want_conns TLS connection(s): $want_full full handshake(s)" <<<"$out"
}

for pop in "" --pop; do
    for v in 1.2 1.3; do
        owner_server --tls-version "$v" $pop --log "$log"
        name=svc${pop:+-pop}-${v/./}
        echo "TLS $v${pop:+, proof-of-possession}:"
        op "enroll $name" 1 1 enroll "$name"
        op "re-enroll $name" 1 1 renew --force "$name"
        op "re-key $name" 1 1 renew --force --rekey "$name"
        if [ -n "$pop" ]; then
            check "TLS $v: the CSRs carried the connection's binding" \
                test "$(jq -r 'select(.op=="simplereenroll") | .pop' "$log")" = ok
        fi
        est_server_stop
    done
done

# A retry on a new connection resumes the TLS session: the server drops the first POST
echo "retry after a dropped connection:"
owner_server --fault disconnect --fault-count 1 --log "$log"
op "re-enroll, first POST dropped" 2 1 renew --force svc-13
check "... the second connection resumed the session" \
    test "$(jq -s '[.[] | select(.op != null and .session_reused)] | length' "$log")" -ge 1
est_server_stop

# The same POST by a minimal client (curl, software key and certificate) for scale
owner_server --log "$log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=curl-client \
    -keyout "$work/curl.key" -out "$work/curl.csr" 2>/dev/null
openssl x509 -req -in "$work/curl.csr" -CA "$pki/owner-ca.pem" -CAkey "$pki/owner-ca.key" \
    -days 1 -out "$work/curl.pem" 2>/dev/null
openssl req -in "$work/curl.csr" -outform DER | base64 >"$work/curl.b64"
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$work/est-trust.pem" \
    --cert "$work/curl.pem" --key "$work/curl.key" -H 'Content-Type: application/pkcs10' \
    --data-binary @"$work/curl.b64" "$EST_URL/simpleenroll")
printf '   %-30s %d ms (HTTP %s)\n' "curl POST, software key" $((($(date +%s%N) - t0) / 1000000)) "$code"
est_server_stop
summary connections
