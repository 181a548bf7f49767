#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One TLS connection per operation: /csrattrs and the POST of an enroll, a re-enroll and a
# re-key share one connection (one full handshake, so one TPM signature for the TLS side),
# with and without proof-of-possession; a retry on a new connection resumes the TLS session
# (no new client signature). Counted from the server's record (the connection each request
# came on, and whether it resumed a session) and from devid-enroll's own summary
# (connections, handshakes, TPM commands of the run) and debug log (DEVID_LOG=debug names
# each TPM command). Per operation exactly two TPM2_Sign: the TLS handshake's and the CSR's;
# and no more TPM commands than an operation needs (the bounds below: a regression that opens
# a key twice fails here; TPM2_GetCapability is left out of the bound, as core refreshes its
# handle lists after a second and a loaded machine may take that long). Prints the numbers and
# the wall time next to a minimal client (curl, software key) doing the same POST; nothing
# asserts a time.
# usage (under with-swtpm ecc): connections.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
write_conf <<<'timeout = 5'
log=$work/conn.log

# The most TPM commands other than TPM2_GetCapability an operation may take (ecc fixture:
# the LDevID authenticates a service identity's enroll; the identity its own renewals):
#   enroll   key lookup 1, TLS signature 1, Create 1 (+ its parent's handle 1), Load 1, CSR
#            signature 1, flush 1
#   re-enroll  the IDevID's certificate for the revocation check 2 (+ its handle 1), the
#            identity's key 3 (handle, parent, Load), 2 signatures, flush 1
#   re-key   the re-enroll's, plus Create 1, Load 1, flush 1
#   the LDevID's re-enroll: the IDevID's certificate 3, its key's handle 1, 2 signatures; its
#   re-key: Create 1 (+ parent 1), Load 1, and the rotation at the persistent handle (the
#   handle 1, EvictControl 2, Load 1), flushes 2
# (before this bound: 17, 28 and 42 besides GetCapability, 20, 31 and 45 in all: the key opened
# twice, and every TPM identity's key and certificate read on each key lookup)
declare -A most=([enroll]=7 [re-enroll]=7 [re-key]=10 [re-enroll-ldevid]=5 [re-key-ldevid]=14)
# (the IDevID's certificate read cost one more, a second TPM2_NV_ReadPublic, until core took
# the index's public area from the ESYS object: 8, 11, 6 and 15)
# The fsyncs an operation needs to leave the old identity or the new after a power cut, never
# neither (counted with strace): every file written is fsync'd before its rename; a directory
# is fsync'd after each rename that must be durable before the next step (key before its
# attributes, the pending certificate before the chain file that names it, the relabelling
# before the old group goes, the old group's removal). Where two renames may become durable in
# either order, one directory fsync serves both: a re-enroll's certificate and chain file (the
# same key: either is whole), a re-key's chain file and relabelling (the recovery completes or
# keeps the old). Before that: re-enroll 4, re-key 11.
#   enroll 10: key 2, attributes 2, certificate 2, chain 2, relabelling 2
#   re-enroll 3: chain file 1, certificate 1, the store's directory 1
#   re-key 10: key 2, attributes 2, certificate 2, chain file 1, relabelling 2, removal 1
#   the LDevID's re-enroll 2 (chain file); re-key 9: key 2, attributes 2, certificate 2,
#   chain file 2, the pending group's removal 1
declare -A fsyncs=([enroll]=10 [re-enroll]=3 [re-key]=10 [re-enroll-ldevid]=2 [re-key-ldevid]=9)
# The trust anchors (est.trust_anchor) are read once per operation, by libcurl to verify the
# server (a second connection uses libcurl's copy); the issued certificate is verified against
# those same anchors (before: the file was read and parsed again for that, ~0.5 ms of CPU).

# op LABEL WANT_CONNECTIONS WANT_FULL ARGS...: one devid-enroll run, counted
op() {
    local label=$1 want_conns=$2 want_full=$3 t0 ms out rc conns full reqs tpm signs other synced
    local anchors_read attrs_read groups
    groups=$(find "$DEVID_STORE" -maxdepth 1 -name '*.attr' | wc -l)
    shift 3
    : >"$log"
    t0=$(date +%s%N)
    # (LeakSanitizer cannot run under ptrace: an ASan build checks its leaks in the other
    # enrollment tests, which run the same operations without strace)
    out=$(DEVID_LOG=debug OPENSSL_MODULES=$modules ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace --seccomp-bpf -f -qq -e trace=fsync,open,openat -o "$work/fsync.trace" \
        "$enroll_bin" --server "$server" "$@" 2>&1); rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    synced=$(grep -c 'fsync(' "$work/fsync.trace")
    anchors_read=$(grep -c "open.*\"$work/est-trust.pem\"" "$work/fsync.trace")
    attrs_read=$(grep -cE "open.*\"$DEVID_STORE/[^/\"]*\.attr\"" "$work/fsync.trace")
    conns=$(jq -s '[.[] | select(.op != null) | .conn] | unique | length' "$log")
    full=$(jq -s '[.[] | select(.op != null)] | group_by(.conn) | map(select(.[0].session_reused | not)) | length' "$log")
    reqs=$(jq -r -s '[.[] | select(.op != null) | "\(.op)@\(.conn)"] | join(" ")' "$log")
    tpm=$(grep -oE '[0-9]+ TPM command' <<<"$out" | cut -d' ' -f1)
    signs=$(grep -cE 'TPM command [0-9]+: Esys_Sign$' <<<"$out")
    other=$(grep -E 'TPM command [0-9]+: ' <<<"$out" | grep -cv 'Esys_GetCapability$')
    printf '   %-30s %s connection(s), %s full handshake(s), TPM commands %s (%s signatures, %s other than GetCapability), %s fsyncs, trust anchors read %s time(s), %s attribute files read (%s groups), %d ms: %s\n' \
        "$label" "$conns" "$full" "${tpm:-?}" "$signs" "$other" "$synced" "$anchors_read" \
        "$attrs_read" "$groups" "$ms" "$reqs"
    check "$label: done" test "$rc" -eq 0 || tail -20 <<<"$out"
    check "$label: $want_conns connection(s) ($reqs)" test "$conns" -eq "$want_conns"
    check "$label: $want_full full handshake(s)" test "$full" -eq "$want_full"
    check "$label: devid-enroll counts the same" \
        grep -q "$want_conns TLS connection(s): $want_full full handshake(s)" <<<"$out"
    check "$label: every TPM command logged" test "$(grep -cE 'TPM command [0-9]+: ' <<<"$out")" -eq "${tpm:-x}"
    check "$label: two TPM signatures, the TLS handshake's and the CSR's" test "$signs" -eq 2
    local kind=${label%% *}
    kind=${kind%,}
    [[ $label != *LDevID* ]] || kind+=-ldevid
    check "$label: at most ${most[$kind]} TPM commands besides GetCapability ($other)" \
        test "$other" -le "${most[$kind]}"
    check "$label: ${fsyncs[$kind]} fsyncs ($synced)" test "$synced" -eq "${fsyncs[$kind]}"
    # the summary line's times, which the bench takes from the wall time (tests/bench): the
    # fsyncs it counted are those strace saw, and the TPM commands took some time
    local summary
    summary=$(grep -oE 'in this run \([0-9.]+ ms\), [0-9]+ fsync\(s\) \([0-9.]+ ms\)' <<<"$out")
    check "$label: the summary counts the fsyncs strace saw ($summary)" \
        grep -qE "\), $synced fsync\(s\) \([0-9]+\.[0-9]+ ms\)" <<<"$summary"
    check "$label: the summary times the TPM commands ($summary)" \
        awk -v s="$summary" 'BEGIN { split(s, f, "[(]"); exit !(f[2] + 0 > 0) }'
    check "$label: the trust anchors read once ($anchors_read)" test "$anchors_read" -eq 1
    # a service identity's re-enroll lists the store twice: once for the whole pass (recovery,
    # what is renewable, what is broken) and once in the provider's key lookup, plus the
    # identity's own attributes (before: five listings, 5 x groups + 1 attribute files read)
    if [[ $kind == re-enroll ]]; then
        check "$label: the store listed twice ($attrs_read attribute files, $groups groups)" \
            test "$attrs_read" -le $((2 * groups + 1))
    fi
    # an enroll: the recovery's listing also says whether the name is enrolled (before: 5 x
    # groups + 4, the recovery listing twice and the name looked up in a listing of its own)
    if [[ $kind == enroll ]]; then
        check "$label: the store listed four times ($attrs_read attribute files, $groups groups)" \
            test "$attrs_read" -le $((4 * groups + 4))
    fi
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

# The LDevID's own renewals (the key at its persistent handle)
echo "the LDevID:"
owner_server --log "$log"
op "re-enroll LDevID" 1 1 renew --force LDevID
op "re-key LDevID" 1 1 renew --force --rekey LDevID
est_server_stop

# A retry on a new connection resumes the TLS session: the server drops the first POST
echo "retry after a dropped connection:"
owner_server --fault disconnect --fault-count 1 --log "$log"
op "re-enroll, first POST dropped" 2 1 renew --force svc-13
check "... the second connection resumed the session" \
    test "$(jq -s '[.[] | select(.op != null and .session_reused)] | length' "$log")" -ge 1
est_server_stop

# The issued certificate is verified against the trust anchors the connection verified the
# server with (not read again): a server trusted for TLS (its certificate from the owner CA)
# that issues from a CA outside them (the TPM vendor's) is refused, and nothing is stored
echo "a certificate from a CA outside the trust anchors:"
mkdir -p "$work/foreign-issuer"
"$EST_SERVER" --make-server-cert "$work/foreign-issuer" --hostname localhost >/dev/null \
    --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key"
est_server_start "$work" --tls-cert "$work/foreign-issuer/server.pem" \
    --tls-key "$work/foreign-issuer/server.key" --ca-cert "$pki/vendor-ca.pem" \
    --ca-key "$pki/vendor-ca.key" --client-ca "$pki/oem-ca.pem" --client-ca "$pki/owner-ca.pem" \
    --require tls --log "$log"
out=$(enroll --server "https://localhost:$EST_PORT" enroll svc-foreign 2>&1)
check "foreign issuer: refused" test $? -ne 0
check "foreign issuer: the message says why" grep -q "the issued certificate does not verify" <<<"$out"
check "foreign issuer: the server did issue one" \
    test "$(jq -s '[.[] | select(.op == "simpleenroll" and .status == 200)] | length' "$log")" -eq 1
check "foreign issuer: nothing stored" test "$(count_label svc-foreign)" -eq 0
check "foreign issuer: no chain file" test ! -e "$DEVID_STORE/svc-foreign-chain.pem"
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
