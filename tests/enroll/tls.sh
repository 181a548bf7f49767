#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Enrollment at the TLS level: proof-of-possession (RFC 7030 3.5) with tls-unique over TLS 1.2
# and the tls-exporter (RFC 9266) over TLS 1.3, a CSR replayed on another connection; and a
# client certificate the server refuses (expired) under TLS 1.2 and 1.3: exit 4,
# "authentication refused", never 5 "unavailable". The identity is unchanged whenever it fails.
# usage (under with-swtpm ecc): tls.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
write_conf <<<'timeout = 5'
log=$work/est.log
absent() { test "$(count_label "$1")" -eq 0 && test "$(count_label "$1.pending")" -eq 0; }
logged() { jq -s -e "[.[] | select($1)] | length >= ${2:-1}" "$log" >/dev/null; }

# --- PoP over TLS 1.2: the server lists challengePassword in /csrattrs and checks it
owner_server --tls-version 1.2 --pop --log "$log"
out=$(enroll --server "$server" enroll pop-id 2>&1); rc=$?
check "PoP enrollment over TLS 1.2 ($out)" test $rc -eq 0
check "the server accepted the binding" logged '.op=="simpleenroll" and .status==200 and .pop=="ok"'
out=$(enroll --server "$server" renew --force pop-id 2>&1); rc=$?
check "PoP re-enrollment, same key ($out)" test $rc -eq 0
out=$(enroll --server "$server" renew --force --rekey pop-id 2>&1); rc=$?
check "PoP re-enrollment, new key ($out)" test $rc -eq 0
check "both re-enrollments carried the binding" logged '.op=="simplereenroll" and .status==200 and .pop=="ok"' 2
check "pop-id chain verifies" openssl verify -CAfile "$pki/owner-ca.pem" "$DEVID_STORE/pop-id-chain.pem"

# The CSR devid-enroll sent (signed in the TPM), replayed on a connection of its own by a
# client the server otherwise accepts (a software certificate from the owner CA).
csr=$(jq -r 'select(.op=="simpleenroll" and .pop=="ok") | .csr' "$log" | head -1)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=replayer \
    -keyout "$work/replayer.key" -out "$work/replayer.csr" 2>/dev/null
openssl x509 -req -in "$work/replayer.csr" -CA "$pki/owner-ca.pem" -CAkey "$pki/owner-ca.key" \
    -days 1 -out "$work/replayer.pem" 2>/dev/null
code=$(printf '%s\n' "$csr" | curl -s -o "$work/replay.out" -w '%{http_code}' --max-time 10 \
    --cacert "$work/est-trust.pem" --cert "$work/replayer.pem" --key "$work/replayer.key" \
    -H 'Content-Type: application/pkcs10' --data-binary @- "$EST_URL/simpleenroll")
check "a PoP CSR replayed on another connection is refused (HTTP $code)" test "$code" = 400
check "... because its tls-unique is another connection's ($(cat "$work/replay.out"))" \
    grep -q "not this TLS connection's tls-unique" "$work/replay.out"
check "the server saw the mismatch" logged '.pop=="mismatch"'

# est.pop = never: the CSR carries no binding, the server refuses it, nothing is kept
write_conf <<<$'timeout = 5\npop = never'
out=$(enroll --server "$server" enroll pop-never 2>&1); rc=$?
check "est.pop = never against a server requiring PoP: exit 4 ($out)" test $rc -eq 4
check "... the server's reason is shown" grep -q "no challengePassword" <<<"$out"
check "... no pop-never identity left" absent pop-never
est_server_stop

# --- a server that requires PoP without listing it in /csrattrs: only est.pop = always works
owner_server --tls-version 1.2 --pop --pop-unlisted
write_conf <<<'timeout = 5'
out=$(enroll --server "$server" enroll pop-unlisted 2>&1); rc=$?
check "est.pop = auto, PoP required but not listed: refused, exit 4 ($out)" test $rc -eq 4
check "... no pop-unlisted identity left" absent pop-unlisted
write_conf <<<$'timeout = 5\npop = always'
out=$(enroll --server "$server" enroll pop-unlisted 2>&1); rc=$?
check "est.pop = always: enrolled ($out)" test $rc -eq 0
est_server_stop

# --- a server that closes the connection after /csrattrs: the bound CSR is never sent on
# another connection; devid-enroll retries (a new connection, a new binding) and gives up
owner_server --tls-version 1.2 --pop --fault close --fault-on csrattrs --log "$log.close"
out=$(enroll --server "$server" enroll pop-closed 2>&1); rc=$?
check "connection closed after /csrattrs: exit 5 ($out)" test $rc -eq 5
check "... says the bound connection was closed" grep -q "closed the TLS connection this request is bound to" <<<"$out"
check "... the CSR never went out on another connection" \
    test "$(jq -s '[.[] | select(.op=="simpleenroll")] | length' "$log.close")" -eq 0
check "... no pop-closed identity left" absent pop-closed
est_server_stop

# --- TLS 1.3: tls-unique does not exist there; the CSR carries the tls-exporter binding
owner_server --tls-version 1.3 --pop --log "$log.13"
write_conf <<<'timeout = 5'
out=$(enroll --server "$server" enroll pop-tls13 2>&1); rc=$?
check "PoP over TLS 1.3 (tls-exporter) ($out)" test $rc -eq 0
check "... the server checked the tls-exporter binding" \
    test "$(jq -r 'select(.op=="simpleenroll") | "\(.status) \(.pop) \(.pop_binding)"' "$log.13")" = "200 ok tls-exporter"
out=$(enroll --server "$server" renew --force --rekey pop-tls13 2>&1); rc=$?
check "PoP re-key over TLS 1.3 ($out)" test $rc -eq 0
csr=$(jq -r 'select(.op=="simpleenroll" and .pop=="ok") | .csr' "$log.13" | head -1)
code=$(printf '%s\n' "$csr" | curl -s -o "$work/replay13.out" -w '%{http_code}' --max-time 10 \
    --cacert "$work/est-trust.pem" --cert "$work/replayer.pem" --key "$work/replayer.key" \
    -H 'Content-Type: application/pkcs10' --data-binary @- "$EST_URL/simpleenroll")
check "a TLS 1.3 PoP CSR replayed on another connection is refused (HTTP $code)" test "$code" = 400
check "... because its tls-exporter is another connection's ($(cat "$work/replay13.out"))" \
    grep -q "not this TLS connection's tls-exporter" "$work/replay13.out"
est_server_stop

# --- an expired client certificate, refused by the server's TLS layer
fingerprint() { cat "$DEVID_STORE/short-id-chain.pem" "$DEVID_STORE"/*.attr "$DEVID_STORE"/*.crt | sha256sum; }
owner_server --validity-seconds 3
out=$(enroll --server "$server" enroll short-id 2>&1); rc=$?
check "a 3-second identity enrolled ($out)" test $rc -eq 0
est_server_stop
end=$(date -d "$(openssl x509 -in "$DEVID_STORE/short-id-chain.pem" -noout -enddate | cut -d= -f2)" +%s)
while [ "$(date +%s)" -le $((end + 1)) ]; do sleep 0.5; done
for v in 1.2 1.3; do
    owner_server --tls-version "$v"
    before=$(fingerprint)
    out=$(enroll --server "$server" renew --force short-id 2>&1); rc=$?
    est_server_stop
    check "expired client certificate, TLS $v: exit 4, not 5 ($out)" test $rc -eq 4
    check "... says authentication was refused" grep -q "authentication refused" <<<"$out"
    check "... names the alert" grep -q "TLS alert 'certificate expired'" <<<"$out"
    check "... says our certificate has expired" grep -q "has expired" <<<"$out"
    check "... identity unchanged" test "$(fingerprint)" = "$before"
done
summary tls
