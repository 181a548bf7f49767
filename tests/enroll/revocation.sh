#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Revocation in the device's life: the OEM CA publishes a CRL (CDP in the IDevID), the owner
# CA answers OCSP (openssl ocsp, AIA in the LDevID and service certificates). status shows each
# identity's revocation status (text and JSON), cached until nextUpdate; the renewal pass
# re-keys a revoked service identity or LDevID at once; a revoked IDevID is fatal (exit 1); an
# unreachable responder is a warning, never a lost identity.
# usage (under with-swtpm ek-only): revocation.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-77"
rev=$work/rev
mkdir -p "$rev/crl"
: >"$rev/oem-index"
: >"$rev/owner-index"
pids=()
cleanup() { est_server_stop; [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; }
trap cleanup EXIT

# The CRL of the OEM CA, made from its index with openssl ca, served over HTTP (port 0)
gencrl() {
    printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ndefault_md = sha256\ndefault_crl_days = 1\n' \
        "$rev/oem-index" >"$rev/oem-ca.cnf"
    openssl ca -config "$rev/oem-ca.cnf" -gencrl -keyfile "$pki/oem-ca.key" -cert "$pki/oem-ca.pem" \
        -out "$rev/crl/oem.pem" 2>/dev/null &&
        openssl crl -in "$rev/crl/oem.pem" -outform DER -out "$rev/crl/oem.crl"
}
gencrl
# (each request logged with the User-Agent it carried: the device's fetches must name it)
/usr/bin/python3 -u - "$rev/crl" >"$rev/http.out" 2>&1 <<'EOF' &
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        agent = self.headers.get("User-Agent") if getattr(self, "headers", None) else None
        print("request %s user-agent %s" % (getattr(self, "path", "?"), agent), flush=True)
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print("serving on port %d" % server.server_port, flush=True)
server.serve_forever()
EOF
pids+=($!)
# the OCSP responder of the owner CA (port 0; it says which)
openssl ocsp -index "$rev/owner-index" -CA "$pki/owner-ca.pem" -rsigner "$pki/owner-ca.pem" \
    -rkey "$pki/owner-ca.key" -port 0 >"$rev/ocsp.out" 2>&1 &
ocsp_pid=$!
pids+=($ocsp_pid)
for _ in $(seq 200); do
    crl_port=$(grep -oE 'port [0-9]+' "$rev/http.out" | grep -oE '[0-9]+' || true)
    ocsp_port=$(grep -oE 'ACCEPT .*:[0-9]+' "$rev/ocsp.out" | grep -oE '[0-9]+$' || true)
    [ -n "$crl_port" ] && [ -n "$ocsp_port" ] && break
    sleep 0.05
done
check "CRL server and OCSP responder started" test -n "$crl_port" -a -n "$ocsp_port"
crl_url=http://127.0.0.1:$crl_port/oem.crl
ocsp_url=http://127.0.0.1:$ocsp_port

revoke() { # revoke INDEX CERTFILE: marks its index line revoked
    local serial
    serial=$(openssl x509 -in "$2" -noout -serial | cut -d= -f2)
    sed -i "s/^V\t\([0-9Z]*\)\t\t${serial}\t/R\t\1\t$(date -u +%y%m%d%H%M%SZ)\t${serial}\t/" "$1"
    grep -q "^R.*	${serial}	" "$1"
}
# openssl ocsp rereads a changed index only after the next request it answers: one request
# of our own lets it catch up before devid-enroll asks. It tells "changed" by the file's times
# in whole seconds, so an index written in the second it was last read looks unchanged: each
# poke first moves the time on to a second no earlier read can have seen.
poke_count=0
ocsp_poke() {
    poke_count=$((poke_count + 1))
    touch -m -d "@$(($(date +%s) + poke_count))" "$rev/owner-index"
    openssl ocsp -issuer "$pki/owner-ca.pem" -serial 1 -url "$ocsp_url" -noverify >/dev/null 2>&1 || true
}
revocation_of() { enroll --json status | jq -r ".identities[] | select(.name==\"$1\") | .revocation | \"\(.status) \(.source)\""; }
service_text_has() { grep -A9 "^$1 (service identity):" <<<"$2" | grep -q "$3"; } # NAME TEXT RE
service_revocation_of() { enroll --json status | jq -r ".service_identities[] | select(.name==\"$1\") | .revocation | \"\(.status) \(.source)\""; }

# --- enrollment with revocation pointers in every certificate
factory_server --crl-url "$crl_url" --ca-index "$rev/oem-index"
out=$(enroll --server "$server" idevid --subject "$subject" --out "$work/idevid.pem" 2>&1); rc=$?
check "idevid with a CRL distribution point ($out)" test $rc -eq 0
est_server_stop
gencrl
owner_server --ocsp-url "$ocsp_url" --ca-index "$rev/owner-index"
out=$(enroll --server "$server" ldevid 2>&1); rc=$?
check "ldevid with an OCSP responder ($out)" test $rc -eq 0
out=$(enroll --server "$server" enroll device-id 2>&1); rc=$?
check "enroll device-id ($out)" test $rc -eq 0
ocsp_poke

out=$(enroll status 2>&1); rc=$?
check "status: healthy (exit $rc)" test $rc -eq 0
check "status: the IDevID is good by the CRL" test "$(revocation_of idevid)" = "good crl"
check "the CRL fetches named the client $user_agent ($(grep '^request /oem.crl' "$rev/http.out" | sort -u | tr '\n' ' '))" \
    test "$(grep '^request /oem.crl' "$rev/http.out" | sort -u)" = "request /oem.crl user-agent $user_agent"
check "status: the LDevID is good by OCSP" test "$(revocation_of ldevid)" = "good ocsp"
check "status text shows revocation ($out)" grep -q "revocation: good (ocsp $ocsp_url" <<<"$out"
check "status: the service identity device-id is good by OCSP" \
    test "$(service_revocation_of device-id)" = "good ocsp"
check "status text: device-id with its revocation status ($out)" \
    service_text_has device-id "$out" "revocation: good (ocsp $ocsp_url"
check "the CRL answer is cached until its nextUpdate" \
    test "$(enroll --json status | jq -r '.identities[] | select(.name=="idevid") | "\(.revocation.cached) \(.revocation.next_update != null)"')" = "true true"

# --- a revoked service identity: renewed at once, with a new key
chain=$DEVID_STORE/device-id-chain.pem
pub0=$(pubkey_of_cert "$chain")
check "device-id revoked in the owner CA's index" revoke "$rev/owner-index" "$chain"
ocsp_poke
out=$(enroll status 2>&1); rc=$?
check "status: a revoked service identity needs attention (exit $rc)" test $rc -eq 1
check "status: ... device-id revoked by OCSP" test "$(service_revocation_of device-id)" = "revoked ocsp"
check "status text: ... says so ($out)" \
    service_text_has device-id "$out" "revocation: revoked since"
out=$(enroll --server "$server" renew 2>&1); rc=$?
check "renew: a revoked device-id is renewed now ($out)" test $rc -eq 0
check "... says why" grep -q "device-id: revoked (ocsp" <<<"$out"
check "... with a new key" test "$(pubkey_of_cert "$chain")" != "$pub0"
check "... the LDevID (not revoked) was not due" grep -q "LDevID: not due" <<<"$out"

# --- a revoked LDevID: status says so (exit 1), renew re-keys it
lchain=$DEVID_STORE/ldevid-chain.pem
lpub0=$(pubkey_of_cert "$lchain")
check "LDevID revoked in the owner CA's index" revoke "$rev/owner-index" "$lchain"
ocsp_poke
out=$(enroll status 2>&1); rc=$?
check "status: a revoked LDevID needs attention (exit $rc)" test $rc -eq 1
check "status: ... revoked by OCSP" test "$(revocation_of ldevid)" = "revoked ocsp"
out=$(enroll --json --server "$server" renew 2>"$work/renew-err"); rc=$?
check "renew: the revoked LDevID is re-keyed ($out $(head -c 300 "$work/renew-err"))" test $rc -eq 0
check "... new key" test "$(pubkey_of_cert "$lchain")" != "$lpub0"
check "... --json says revoked-renewed ($out)" test \
    "$(jq -r '.identities[] | select(.name=="LDevID") | "\(.action) \(.revoked)"' <<<"$out")" = "revoked-renewed true"
check "... and the human lines went to stderr" grep -q "LDevID: revoked (ocsp" "$work/renew-err"
ocsp_poke
check "status: healthy again" enroll status
est_server_stop

# --- the EST server's own certificate (est.check_server_revocation = yes): checked in the
# handshake; revoked, the handshake fails before any request goes out
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$rev/srv.key" -out "$rev/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nauthorityInfoAccess=OCSP;URI:%s\n' \
    "$ocsp_url" >"$rev/srv.ext"
openssl x509 -req -in "$rev/srv.csr" -CA "$pki/owner-ca.pem" -CAkey "$pki/owner-ca.key" -days 1 \
    -extfile "$rev/srv.ext" -out "$rev/srv.pem" 2>/dev/null
printf 'V\t%s\t\t%s\tunknown\t/CN=localhost\n' \
    "$(date -u -d "$(openssl x509 -in "$rev/srv.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)" \
    "$(openssl x509 -in "$rev/srv.pem" -noout -serial | cut -d= -f2)" >>"$rev/owner-index"
ocsp_poke
write_conf <<<'check_server_revocation = yes'
: >"$rev/srv.log"
owner_server --tls-cert "$rev/srv.pem" --tls-key "$rev/srv.key" --log "$rev/srv.log"
out=$(enroll --server "$server" cacerts 2>&1); rc=$?
check "server certificate good by OCSP: cacerts works ($rc)" test $rc -eq 0
check "revoke the server's certificate" revoke "$rev/owner-index" "$rev/srv.pem"
ocsp_poke
rm -rf "$DEVID_STORE/revocation"
: >"$rev/srv.log"
out=$(enroll --server "$server" cacerts 2>&1); rc=$?
check "server certificate revoked: refused, exit 4 ($out)" test $rc -eq 4
check "... no request reached the server" test "$(jq -s '[.[] | select(.op != null)] | length' "$rev/srv.log")" -eq 0
write_conf </dev/null
out=$(enroll --server "$server" cacerts 2>&1); rc=$?
check "... not checked by default ($rc)" test $rc -eq 0
est_server_stop

# --- an unreachable responder: a warning, nothing lost
kill "$ocsp_pid"
wait "$ocsp_pid" 2>/dev/null
before=$(cat "$lchain" "$chain" | sha256sum)
out=$(DEVID_LOG=warn enroll status 2>&1); rc=$?
check "responder down: status still healthy (exit $rc)" test $rc -eq 0
check "... the LDevID's revocation is unavailable" test "$(revocation_of ldevid)" = "unavailable ocsp"
check "... with a warning" grep -q "revocation status unavailable" <<<"$out"
owner_server
out=$(enroll --server "$server" renew 2>&1); rc=$?
est_server_stop
check "responder down: renew does nothing, exit 0 ($out)" test $rc -eq 0
check "... identities unchanged" test "$(cat "$lchain" "$chain" | sha256sum)" = "$before"

# --- a revoked IDevID: fatal for the renewal pass (exit 1), nothing renewed
check "IDevID revoked in the OEM CA's index" revoke "$rev/oem-index" "$work/idevid.pem"
gencrl
rm -rf "$DEVID_STORE/revocation" # the cached good answer holds until nextUpdate (a day)
owner_server
out=$(enroll --server "$server" renew --force 2>&1); rc=$?
json=$(enroll --json --server "$server" renew --force 2>/dev/null); jrc=$?
# the daemon stops on it (the one result that ends it), after its first pass
dout=$(OPENSSL_MODULES=$modules DEVID_LOG_STDERR=1 timeout 120 "$enroll_bin" --server "$server" run --interval 1 2>&1 \
    </dev/null); drc=$?
est_server_stop
check "run with a revoked IDevID stops: exit 1 (exit $drc: $dout)" test $drc -eq 1
check "... says why" grep -q "IDevID is revoked" <<<"$dout"
check "renew with a revoked IDevID: exit 1 ($out)" test $rc -eq 1
check "... says it is fatal" grep -q "IDevID is revoked" <<<"$out"
check "... --json: the error object, exit 1 ($json)" test \
    "$jrc $(jq -r '[.command, .ok, .exit_code, (.error | test("IDevID is revoked"))] | join(" ")' <<<"$json")" = "1 renew false 1 true"
check "... nothing renewed" test "$(cat "$lchain" "$chain" | sha256sum)" = "$before"
out=$(enroll status 2>&1); rc=$?
check "status: the revoked IDevID needs attention (exit $rc)" test $rc -eq 1
check "status: ... revoked by the CRL" test "$(revocation_of idevid)" = "revoked crl"
summary revocation
