#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# selftest.sh — checks est-server against curl and openssl.
#
#   tests/est-server/selftest.sh                                  (throwaway CAs)
#   tests/fixture/with-swtpm ecc -- tests/est-server/selftest.sh  (the fixture's CAs)
#
# Under with-swtpm the owner CA issues, the OEM CA authenticates enrollment
# (TLS client certificates) and the vendor CA is the stranger; standalone, three
# throwaway CAs play those parts. Only software keys are used.
#
# The checks come in sections that run in parallel, each with its own servers
# and directory; their output is printed in order afterwards. Prints one line
# per check ("ok - ..." or "not ok - ...") and finally "N passed, M failed"; exits
# non-zero if any check failed.
# shellcheck disable=SC2016,SC2030,SC2031  # eval'd checks are single-quoted; work= per subshell on purpose
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
server=$here/est-server
. "$here/lib.sh"
top=$(mktemp -d)
pki=$top/pki
mkdir -p "$pki"
work=$top # a section's own directory while it runs

# Every server started (by any section) is listed in $top/pids.
cleanup() {
    local p
    if [[ -f $top/pids ]]; then
        while read -r p; do
            kill "$p" 2>/dev/null || true
        done <"$top/pids"
    fi
    wait 2>/dev/null || true
    rm -rf "$top"
}
trap cleanup EXIT

# check, check_fails, check_out, ...: one assertion each; CMD's output is shown only if it
# fails. Sections run in parallel subshells: their "ok - " / "not ok - " lines are counted below.
# shellcheck source=../lib/check.sh
. "$here/../lib/check.sh"

not() { ! "$@"; }

# same ACTUAL EXPECTED
same() {
    [[ $1 == "$2" ]] || {
        printf 'expected: %s\nactual:   %s\n' "$2" "$1"
        return 1
    }
}

quiet() {
    "$@" >"$top/quiet.log" 2>&1 || {
        cat "$top/quiet.log" >&2
        echo "failed: $*" >&2
        return 1
    }
}

# ms_since T0: milliseconds since $EPOCHREALTIME was T0
ms_since() {
    local now=$EPOCHREALTIME
    echo $(((${now/./} - ${1/./}) / 1000))
}

# --- PKI ------------------------------------------------------------------------

cnf=$top/openssl.cnf
cat >"$cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[device]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:device-1.example, IP:192.0.2.1
EOF

# make_ca NAME SUBJECT
make_ca() {
    quiet openssl req -x509 -new -config "$cnf" -extensions ca -noenc \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$pki/$1.key" \
        -subj "$2" -days 30 -out "$pki/$1.pem"
}

if [[ -n ${DEVID_FIXTURE:-} ]]; then
    mode="fixture CAs"
    for pair in issuing:owner client:oem other:vendor; do
        cp "$DEVID_FIXTURE/pki/${pair#*:}-ca.pem" "$pki/${pair%%:*}.pem"
        cp "$DEVID_FIXTURE/pki/${pair#*:}-ca.key" "$pki/${pair%%:*}.key"
    done
else
    mode="throwaway CAs"
    make_ca issuing "/O=est-server selftest/CN=Issuing CA"
    make_ca client "/O=est-server selftest/CN=Client CA"
    make_ca other "/O=est-server selftest/CN=Stranger CA"
fi
make_ca label "/O=est-server selftest/CN=Label CA"

# key NAME [ec|rsa]: $pki/NAME.key and its public key $pki/NAME.key.pub
key() {
    if [[ ${2:-ec} == rsa ]]; then
        quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/$1.key"
    else
        quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key"
    fi
    quiet openssl pkey -in "$pki/$1.key" -pubout -out "$pki/$1.key.pub"
}

# csr NAME KEY SUBJECT [openssl req args...]: $pki/NAME.b64 (base64 DER) and .der
csr() {
    local name=$1 k=$2 subj=$3
    shift 3
    quiet openssl req -new -config "$cnf" -key "$pki/$k.key" -subj "$subj" "$@" \
        -outform DER -out "$pki/$name.der"
    base64 -w0 "$pki/$name.der" >"$pki/$name.b64"
}

# cert NAME KEY CA SUBJECT EXTENSIONS: a certificate made with openssl, $pki/NAME.pem
cert() {
    quiet openssl req -new -config "$cnf" -key "$pki/$2.key" -subj "$4" -out "$top/$1.csr"
    quiet openssl x509 -req -in "$top/$1.csr" -CA "$pki/$3.pem" -CAkey "$pki/$3.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$cnf" -extensions "$5" \
        -out "$pki/$1.pem"
}

subj="/O=est-server selftest/CN=device-1/serialNumber=SN1"
san="subjectAltName=DNS:device-1.example,IP:192.0.2.1"
key dev
key dev2
key device
key stranger
key rsa rsa
# device: the enrollment credential (client CA); stranger: from an unknown CA;
# cur: dev's current certificate from the issuing CA, as the factory made it.
cert device device client "$subj" leaf
cert stranger stranger other "/O=est-server selftest/CN=stranger" leaf
cert cur dev issuing "$subj" device
# expired: dev's certificate from the issuing CA that expired yesterday
# (openssl 3.0's x509 command cannot backdate, so python3-cryptography makes it)
/usr/bin/python3 - "$pki" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
pki = sys.argv[1]
cur = x509.load_pem_x509_certificate(open(f"{pki}/cur.pem", "rb").read())
ca_key = serialization.load_pem_private_key(open(f"{pki}/issuing.key", "rb").read(), None)
now = datetime.datetime.utcnow()
b = (x509.CertificateBuilder().subject_name(cur.subject).issuer_name(cur.issuer)
     .public_key(cur.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(days=3))
     .not_valid_after(now - datetime.timedelta(days=1)))
for ext in cur.extensions:
    b = b.add_extension(ext.value, ext.critical)
cert = b.sign(ca_key, hashes.SHA256())
open(f"{pki}/expired.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
EOF
csr dev dev "$subj" -addext "$san"
csr rekey dev2 "$subj" -addext "$san"
csr othersubj dev "/O=est-server selftest/CN=device-2/serialNumber=SN1" -addext "$san"
csr othersan dev "$subj" -addext "subjectAltName=DNS:device-9.example"
csr nosan dev "$subj"
csr rsa rsa "/CN=rsa device"

# --- helpers for requests --------------------------------------------------------------

# start [ARGS...]: a server (lib.sh) with the issuing CA and ARGS; sets $port
# and $pid. Its log is $work/log.json (cleared first).
start() {
    rm -f "$work/log.json"
    est_server_start "$work" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" \
        --log "$work/log.json" "$@" || return 1
    pid=$EST_PID
    port=$EST_PORT
    echo "$pid" >>"$top/pids"
}

stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# req OUT PATH [CURL ARGS...]: request https://localhost:PORT/.well-known/est/PATH.
# Leaves $work/OUT.{body,hdr,code,rc}: body, headers, HTTP status, curl's exit.
req() {
    local out=$1 path=$2 rc=0
    shift 2
    curl -sS --max-time 10 --cacert "$pki/issuing.pem" -o "$work/$out.body" \
        -D "$work/$out.hdr" -w '%{http_code}' "$@" \
        "https://localhost:$port/.well-known/est/$path" >"$work/$out.code" \
        2>"$work/$out.err" || rc=$?
    echo "$rc" >"$work/$out.rc"
}

# enroll OUT PATH CSR [CURL ARGS...]: POST a base64 CSR as application/pkcs10.
enroll() {
    local out=$1 path=$2 csr=$3
    shift 3
    req "$out" "$path" -H "Content-Type: application/pkcs10" --data-binary "@$pki/$csr.b64" "$@"
}

status() { same "$(<"$work/$1.code")" "$2"; }
curl_rc() { same "$(<"$work/$1.rc")" "$2"; }

# header OUT NAME: the value of header NAME (any case) in OUT's answer.
header() {
    local line name
    while IFS= read -r line; do
        line=${line%$'\r'}
        name=${line%%:*}
        if [[ $line == *:* && ${name,,} == "${2,,}" ]]; then
            echo "${line#*: }"
            return 0
        fi
    done <"$work/$1.hdr"
}
header_is() { same "$(header "$1" "$2")" "$3"; }

# certs OUT: the PKCS#7 answer OUT as PEM certificates in $work/OUT.pem.
certs() {
    base64 -d "$work/$1.body" >"$work/$1.p7" &&
        openssl pkcs7 -inform DER -in "$work/$1.p7" -print_certs -out "$work/$1.pem" &&
        [[ $(<"$work/$1.pem") == *"BEGIN CERTIFICATE"* ]] && leaf_first "$work/$1.pem"
}
# leaf_first PEM: puts the leaf (the one certificate that issued none of the others) first, if
# there is one. The order inside a PKCS#7 SET OF carries no meaning: python3-cryptography 43
# sorts it (38 kept it).
leaf_first() {
    local dir=$1.split c subject issuer issuers= leaf=
    rm -rf "$dir" && mkdir "$dir" &&
        awk -v d="$dir" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (d "/" n ".pem") }' "$1" ||
        return 1
    for c in "$dir"/*.pem; do
        subject=$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
        issuer=$(openssl x509 -in "$c" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
        [[ $issuer == "$subject" ]] || issuers+=$issuer$'\n' # (a self-signed one issued no other)
    done
    for c in "$dir"/*.pem; do
        subject=$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
        grep -qxF -- "$subject" <<<"$issuers" && continue
        [[ -z $leaf ]] || return 0 # unrelated certificates (/cacerts with --ca-chain)
        leaf=$c
    done
    [[ -n $leaf ]] || return 0
    { cat "$leaf"; for c in "$dir"/*.pem; do [[ $c == "$leaf" ]] || cat "$c"; done; } >"$1"
}
ncerts() { grep -c 'BEGIN CERTIFICATE' "$work/$1.pem"; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
# fingerprints PEM: of every certificate in PEM, sorted (a PKCS#7 holds a set, not a list)
fingerprints() {
    awk '/-----BEGIN/ { c = "" } { c = c $0 "\n" }
        /-----END/ { cmd = "openssl x509 -noout -fingerprint -sha256"; printf "%s", c | cmd; close(cmd) }' \
        "$1" | sort
}
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pubkey_of_key() { echo "$(<"$pki/$1.key.pub")"; }

# issued OUT KEY [CA]: OUT was a 200 PKCS#7 (certs-only) with a certificate for
# KEY that verifies against the issuing CA (or CA).
issued() {
    status "$1" 200 &&
        header_is "$1" Content-Type "application/pkcs7-mime; smime-type=certs-only" &&
        certs "$1" &&
        openssl verify -CAfile "$pki/${3:-issuing}.pem" "$work/$1.pem" &&
        same "$(pubkey_of_cert "$work/$1.pem")" "$(pubkey_of_key "$2")"
}

subject_of() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253; }
san_of() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }
lifetime() {
    local nb na
    nb=$(openssl x509 -in "$1" -noout -startdate) && na=$(openssl x509 -in "$1" -noout -enddate) &&
        echo $(($(date -d "${na#*=}" +%s) - $(date -d "${nb#*=}" +%s)))
}

# --- section: /cacerts, /csrattrs, routing, CSR checks, log and stats ------------------------

sec_routing() {
    printf '\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07' >"$work/csrattrs.der"
    start --ca-chain "$pki/other.pem" --csrattrs-file "$work/csrattrs.der" \
        --label "lbl=$pki/label.pem:$pki/label.key" --stats
    check "ready file names 127.0.0.1 and a port" \
        grep -Eq '^127\.0\.0\.1 [0-9]+$' "$work/est-server.ready"

    req cacerts cacerts
    check "/cacerts: 200 application/pkcs7-mime, base64 in lines of 76" eval '
        status cacerts 200 &&
        header_is cacerts Content-Type application/pkcs7-mime &&
        header_is cacerts Content-Transfer-Encoding base64 &&
        grep -q "^.\{76\}\$" "$work/cacerts.body" && not grep -q ".\{77\}" "$work/cacerts.body"'
    check "/cacerts parses (openssl pkcs7 -print_certs): the CA and the --ca-chain one" eval '
        certs cacerts && same "$(ncerts cacerts)" 2 &&
        same "$(fingerprints "$work/cacerts.pem")" \
            "$(cat "$pki/issuing.pem" "$pki/other.pem" | fingerprints /dev/stdin)"'
    req head cacerts --head
    check "HEAD /cacerts: 200 with the GET's Content-Length" eval '
        status head 200 && header_is head Content-Length "$(header cacerts Content-Length)"'
    req csrattrs csrattrs
    check "/csrattrs: 200 application/csrattrs, the configured DER" eval '
        status csrattrs 200 && header_is csrattrs Content-Type application/csrattrs &&
        base64 -d "$work/csrattrs.body" | cmp - "$work/csrattrs.der"'
    req lblcacerts lbl/cacerts
    check "CA label: /lbl/cacerts is the label CA" eval '
        certs lblcacerts && same "$(ncerts lblcacerts)" 1 &&
        same "$(fingerprint "$work/lblcacerts.pem")" "$(fingerprint "$pki/label.pem")"'
    enroll lblenroll lbl/simpleenroll dev
    check "CA label: /lbl/simpleenroll issues from the label CA" issued lblenroll dev label
    req nolabel nosuch/cacerts
    check "unknown CA label: 404" status nolabel 404
    req unknown nosuchop
    check "unknown operation: 404" status unknown 404
    curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/issuing.pem" \
        "https://localhost:$port/index.html" >"$work/outside.code" 2>&1 || true
    check "path outside /.well-known/est: 404" status outside 404
    req fullcmc fullcmc -H "Content-Type: application/pkcs7-mime" --data-binary x
    check "/fullcmc (not offered): 501" status fullcmc 501
    req getenroll simpleenroll
    check "GET /simpleenroll: 405, Allow: POST" eval '
        status getenroll 405 && header_is getenroll Allow POST'
    req postcacerts cacerts --data-binary x
    check "POST /cacerts: 405, Allow: GET, HEAD" eval '
        status postcacerts 405 && header_is postcacerts Allow "GET, HEAD"'
    req putenroll simpleenroll -X PUT --data-binary x
    check "PUT /simpleenroll: 405" status putenroll 405
    req ctype simpleenroll -H "Content-Type: application/x-pem-file" --data-binary "@$pki/dev.b64"
    check "enroll with Content-Type application/x-pem-file: 415" status ctype 415

    enroll open simpleenroll dev
    check "no auth configured: enroll issues a cert that verifies, for the CSR's key" issued open dev
    check "issued cert: the CSR's subject and subjectAltName" eval '
        same "$(subject_of "$work/open.pem")" \
            "subject=serialNumber=SN1,CN=device-1,O=est-server selftest" &&
        same "$(san_of "$work/open.pem")" "DNS:device-1.example,IPAddress:192.0.2.1"'
    check "issued cert: not a CA, keyUsage digitalSignature" eval '
        openssl x509 -in "$work/open.pem" -noout -ext basicConstraints,keyUsage | tr -d "\n " |
        grep -q "critical.*CA:FALSE.*critical.*DigitalSignature"'
    check "issued cert: default lifetime 365 days" same "$(lifetime "$work/open.pem")" 31536000
    enroll rsa simpleenroll rsa
    check "RSA 2048 CSR: issued" issued rsa rsa

    # Body encodings: RFC 8951 base64 with any line breaks and whitespace.
    base64 -w 64 "$pki/dev.der" | sed 's/$/\r/' >"$pki/wrapped.b64"
    enroll wrapped simpleenroll wrapped
    check "CSR base64 wrapped at 64 columns with CRLF: accepted" issued wrapped dev
    { printf '  '; base64 -w 10 "$pki/dev.der" | sed 's/^/ \t/'; } >"$pki/spaced.b64"
    enroll spaced simpleenroll spaced
    check "CSR base64 with spaces and tabs: accepted" issued spaced dev
    openssl req -in "$pki/dev.der" -inform DER -out "$pki/pem.b64"
    enroll pem simpleenroll pem
    check "CSR sent as PEM (not base64 DER): 400" status pem 400
    printf 'not base64 at all!' >"$pki/junk.b64"
    enroll junk simpleenroll junk
    check "body not base64: 400" status junk 400
    base64 -w0 "$pki/dev.key" >"$pki/notcsr.b64"
    enroll notcsr simpleenroll notcsr
    check "base64 of something not a CSR: 400" status notcsr 400
    # Flip a bit of the CSR's subject: the signature no longer covers it.
    /usr/bin/python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[d.find(b"device-1")] ^= 0x01
open(sys.argv[2], "wb").write(d)' "$pki/dev.der" "$pki/badsig.der"
    base64 -w0 "$pki/badsig.der" >"$pki/badsig.b64"
    enroll badsig simpleenroll badsig
    check "CSR with a bad signature: 400 with a message" eval '
        status badsig 400 && grep -qi signature "$work/badsig.body"'

    req stats _stats
    check "GET /_stats (--stats): JSON request counts" eval '
        status stats 200 && header_is stats Content-Type application/json &&
        same "$(jq -c "[.by_op.simpleenroll[\"200\"], .by_op.cacerts[\"200\"], .issued]" \
            "$work/stats.body")" "[5,3,5]"'
    stop
    check "--stats: counts printed on exit" \
        grep -q '^est-server stats: {.*"requests"' "$work/est-server.err"
    check "--log: a JSON line per request: time, method, path, auth, cert, status, fault" eval '
        same "$(jq -s length "$work/log.json")" 22 &&
        same "$(jq -s "[.[] | select(.op == \"simpleenroll\" and .status == 200)] | length" \
            "$work/log.json")" 5 &&
        jq -e -s "all(.[]; has(\"time\") and has(\"method\") and has(\"path\") and has(\"auth\")
            and has(\"client_cert\") and has(\"status\") and has(\"fault\"))" "$work/log.json"'
}

# --- section: authentication modes -----------------------------------------------------

sec_auth() {
    local dev_tls=(--cert "$pki/device.pem" --key "$pki/device.key")
    start --client-ca "$pki/client.pem" --basic estuser:estpass --header "X-EST-Token: s3cret"
    enroll a0 simpleenroll dev "${dev_tls[@]}" -H "X-EST-Token: s3cret"
    check "all three required: no Basic credentials: 401, WWW-Authenticate: Basic realm" eval '
        status a0 401 && [[ $(header a0 WWW-Authenticate) =~ ^Basic\ realm=\".+\"$ ]]'
    enroll a1 simpleenroll dev "${dev_tls[@]}" -H "X-EST-Token: s3cret" -u estuser:wrong
    check "all three required: wrong Basic password: 401" status a1 401
    enroll a2 simpleenroll dev "${dev_tls[@]}" -u estuser:estpass
    check "all three required: no secret header: 403" status a2 403
    enroll a3 simpleenroll dev "${dev_tls[@]}" -u estuser:estpass -H "X-EST-Token: guess"
    check "all three required: wrong secret header: 403" status a3 403
    enroll a4 simpleenroll dev -u estuser:estpass -H "X-EST-Token: s3cret"
    check "all three required: no TLS client cert: 403" status a4 403
    enroll a5 simpleenroll dev --cert "$pki/stranger.pem" --key "$pki/stranger.key" \
        -u estuser:estpass -H "X-EST-Token: s3cret"
    check "client cert from an unknown CA: the TLS handshake is refused" eval '
        status a5 000 && not curl_rc a5 0'
    # cur.pem chains to the issuing CA, which the TLS layer trusts (for
    # re-enrollment), but it is no --client-ca credential.
    enroll a6 simpleenroll dev --cert "$pki/cur.pem" --key "$pki/dev.key" \
        -u estuser:estpass -H "X-EST-Token: s3cret"
    check "a cert of the issuing CA is no enrollment credential: 403" status a6 403
    enroll a7 simpleenroll dev "${dev_tls[@]}" -u estuser:estpass -H "x-est-token: s3cret"
    check "all three given (header name in another case): issued" issued a7 dev
    check "log: auth [tls, basic, header] and the client cert subject" eval '
        jq -e -s "any(.[]; .auth == [\"tls\", \"basic\", \"header\"] and .status == 200 and
            (.client_cert | test(\"CN=device-1\")))" "$work/log.json"'
    enroll a8 simpleenroll dev "${dev_tls[@]}" -u estuser:estpass -H "X-EST-Token: s3cret" \
        --tls-max 1.2
    check "all three over TLS 1.2: issued" issued a8 dev
    stop

    start --client-ca "$pki/client.pem" --basic u:p --header "X-Secret: 42" --require basic
    enroll b0 simpleenroll dev -u u:p
    check "--require basic (tls, header configured too): Basic alone: issued" issued b0 dev
    enroll b1 simpleenroll dev "${dev_tls[@]}" -H "X-Secret: 42"
    check "--require basic: TLS and header without Basic: 401" status b1 401
    stop

    start --basic u:p --auth-schemes digest
    enroll d0 simpleenroll dev -u u:p
    check "--auth-schemes digest: Basic refused: 401 offering Digest only" eval '
        status d0 401 && [[ $(header d0 WWW-Authenticate) == "Digest realm="*"algorithm=SHA-256"* ]]'
    enroll d1 simpleenroll dev --digest -u u:p
    # (the answer's headers hold the 401 first: the status and body are the 200's)
    check "--auth-schemes digest: curl --digest: issued" eval 'status d1 200 && certs d1'
    enroll d2 simpleenroll dev --digest -u u:wrong
    check "--auth-schemes digest: a wrong password: 401" status d2 401
    check "log: auth [digest], and the headers as received" eval '
        jq -e -s "any(.[]; .auth == [\"digest\"] and .status == 200 and
            any(.headers[]; .[0] == \"Authorization\" and (.[1] | startswith(\"Digest \"))))" \
            "$work/log.json"'
    stop
    start --basic u:p --auth-schemes basic,digest --digest-algorithm MD5
    enroll d3 simpleenroll dev --anyauth -u u:p
    check "--auth-schemes basic,digest (MD5): curl --anyauth picks Digest: issued" eval '
        status d3 200 && certs d3 && jq -e -s "any(.[]; .auth == [\"digest\"])" "$work/log.json"'
    enroll d4 simpleenroll dev -u u:p
    check "--auth-schemes basic,digest: Basic still accepted" issued d4 dev
    stop

    start --basic u:p --header "X-Secret: 42" --require header
    enroll h0 simpleenroll dev -H "X-Secret: 42"
    check "--require header: the header alone: issued" issued h0 dev
    enroll h1 simpleenroll dev -u u:p
    check "--require header: Basic alone: 403" status h1 403
    stop
}

# --- section: TLS client certificate auth and re-enrollment ---------------------------------

sec_reenroll() {
    local cur=(--cert "$pki/cur.pem" --key "$pki/dev.key")
    start --client-ca "$pki/client.pem" --require tls --validity-seconds 3600
    enroll t0 simpleenroll dev
    check "--require tls: no client cert: 403" status t0 403
    enroll t1 simpleenroll dev --cert "$pki/device.pem" --key "$pki/device.key"
    check "--require tls: client cert from the client CA: issued" issued t1 dev
    check "--validity-seconds 3600: issued lifetime 3600 s" same "$(lifetime "$work/t1.pem")" 3600
    enroll r1 simplereenroll dev "${cur[@]}"
    check "reenroll with the current cert, same key: issued" issued r1 dev
    check "reenroll: same subject and SAN, new serial" eval '
        same "$(subject_of "$work/r1.pem")" "$(subject_of "$pki/cur.pem")" &&
        same "$(san_of "$work/r1.pem")" "$(san_of "$pki/cur.pem")" &&
        not same "$(openssl x509 -in "$work/r1.pem" -noout -serial)" \
            "$(openssl x509 -in "$pki/cur.pem" -noout -serial)"'
    check "log: reenroll authenticated by tls, cert subject recorded" eval '
        jq -e -s "any(.[]; .op == \"simplereenroll\" and .auth == [\"tls\"] and .status == 200
            and (.client_cert | test(\"CN=device-1\")))" "$work/log.json"'
    enroll r2 simplereenroll dev --cert "$work/r1.pem" --key "$pki/dev.key"
    check "reenroll with the cert this server issued: issued" issued r2 dev
    enroll r3 simplereenroll rekey "${cur[@]}"
    check "reenroll with a new key (rekey): issued for the new key" issued r3 dev2
    enroll r4 simplereenroll dev
    check "reenroll without a client cert: 403" status r4 403
    enroll r5 simplereenroll dev --cert "$pki/device.pem" --key "$pki/device.key"
    check "reenroll with a cert of another CA (the client CA): 403" status r5 403
    enroll r6 simplereenroll othersubj "${cur[@]}"
    check "reenroll with another subject: 400" eval '
        status r6 400 && grep -q subject "$work/r6.body"'
    enroll r7 simplereenroll othersan "${cur[@]}"
    check "reenroll with another subjectAltName: 400" status r7 400
    enroll r8 simplereenroll nosan "${cur[@]}"
    check "reenroll dropping the subjectAltName: 400" status r8 400
    enroll r9 simplereenroll dev "${cur[@]}" --tls-max 1.2
    check "reenroll over TLS 1.2: issued" issued r9 dev
    enroll r10 simplereenroll dev --cert "$pki/expired.pem" --key "$pki/dev.key"
    check "reenroll with an expired cert: the TLS handshake is refused" eval '
        status r10 000 && not curl_rc r10 0'
    stop

    start --reenroll-expired --client-ca "$pki/issuing.pem" --require tls
    enroll x0 simplereenroll dev --cert "$pki/expired.pem" --key "$pki/dev.key"
    check "--reenroll-expired: reenroll with the expired cert: issued, logged" eval '
        issued x0 dev &&
        jq -e -s "any(.[]; .op == \"simplereenroll\" and .client_cert_expired == true)" \
            "$work/log.json"'
    enroll x1 simpleenroll dev --cert "$pki/expired.pem" --key "$pki/dev.key"
    check "--reenroll-expired: enroll with the expired cert as credential: 403" eval '
        status x1 403 && grep -q expired "$work/x1.body"'
    enroll x2 simpleenroll dev --cert "$pki/stranger.pem" --key "$pki/stranger.key"
    check "--reenroll-expired: a cert of an unknown CA is still refused by TLS" status x2 000
    stop
}

# --- section: fault modes ---------------------------------------------------------------

sec_faults() {
    # hang: its own server and directory; its request runs in the background
    # while the rest of the section goes on.
    local hang_job
    mkdir -p "$work/hang"
    (
        work=$work/hang
        start --fault hang
        t0=$EPOCHREALTIME
        enroll hang simpleenroll dev --max-time 2
        ms_since "$t0" >"$work/hang.ms"
        # The server logs the request once it sees the client go.
        exec {nap}<> <(:)
        for ((i = 0; i < 100; i++)); do
            [[ -s $work/log.json ]] && break
            read -rt 0.05 -u "$nap" || true
        done
        stop
    ) &
    hang_job=$!

    # Every other fault on one server: the i-th enroll request gets the i-th fault.
    faults=(retry-after:7 retry-after-date:30 unavailable:3 unauthorized server-error slow:1
        truncated wrong-content-type wrong-content-type:application/pkcs7-mime bad-base64
        wrong-key expired-chain expired-chain:ca 'redirect:https://127.0.0.2:1{path}' disconnect)
    local fault_args=() f i t0
    for f in "${faults[@]}"; do fault_args+=(--fault "$f"); done
    start "${fault_args[@]}" --fault-count ${#faults[@]}
    for ((i = 0; i < ${#faults[@]}; i++)); do
        t0=$EPOCHREALTIME
        enroll "f$i" simpleenroll dev
        ms_since "$t0" >"$work/f$i.ms"
    done
    enroll fdone simpleenroll dev
    check "retry-after:7: 202 with Retry-After: 7" eval 'status f0 202 && header_is f0 Retry-After 7'
    check "retry-after-date:30: 202 with an HTTP-date 30 s after the Date header" eval '
        status f1 202 &&
        when=$(header f1 Retry-After) &&
        [[ $when =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ GMT$ ]] &&
        delta=$(($(date -d "$when" +%s) - $(date -d "$(header f1 Date)" +%s))) &&
        ((delta >= 29 && delta <= 31))'
    check "unavailable:3: 503 with Retry-After: 3" eval 'status f2 503 && header_is f2 Retry-After 3'
    check "unauthorized: 401 with WWW-Authenticate: Basic" eval '
        status f3 401 && [[ $(header f3 WWW-Authenticate) == "Basic realm="* ]]'
    check "server-error: 500" status f4 500
    check "slow:1: issued after at least a second" eval '
        issued f5 dev && (($(<"$work/f5.ms") >= 1000))'
    check "truncated: 200, Content-Length larger than the body, close (curl exit 18)" eval '
        status f6 200 && curl_rc f6 18 &&
        (($(header f6 Content-Length) > $(stat -c %s "$work/f6.body")))'
    check "wrong-content-type: 200 text/plain with a good body" eval '
        status f7 200 && header_is f7 Content-Type text/plain && certs f7'
    check "wrong-content-type:TYPE: that type" header_is f8 Content-Type application/pkcs7-mime
    check "bad-base64: 200, body undecodable for strict and junk-skipping decoders" eval '
        status f9 200 &&
        header_is f9 Content-Type "application/pkcs7-mime; smime-type=certs-only" &&
        not base64 -d "$work/f9.body" >/dev/null 2>&1 &&
        not base64 -di "$work/f9.body" >/dev/null 2>&1'
    check "wrong-key: 200, a valid cert with the right subject for another key" eval '
        status f10 200 && certs f10 &&
        openssl verify -CAfile "$pki/issuing.pem" "$work/f10.pem" &&
        not same "$(pubkey_of_cert "$work/f10.pem")" "$(pubkey_of_key dev)" &&
        same "$(subject_of "$work/f10.pem")" \
            "subject=serialNumber=SN1,CN=device-1,O=est-server selftest"'
    check "expired-chain: 200, the issued cert has expired" eval '
        status f11 200 && certs f11 &&
        not openssl verify -CAfile "$pki/issuing.pem" "$work/f11.pem" >"$work/v" 2>&1 &&
        grep -q "certificate has expired" "$work/v" &&
        same "$(pubkey_of_cert "$work/f11.pem")" "$(pubkey_of_key dev)"'
    check "expired-chain:ca: valid leaf + expired intermediate; the chain does not verify" eval '
        status f12 200 && certs f12 && same "$(ncerts f12)" 2 &&
        openssl x509 -in "$work/f12.pem" -noout -checkend 3600 &&
        not openssl verify -CAfile "$pki/issuing.pem" -untrusted "$work/f12.pem" \
            "$work/f12.pem" >"$work/v" 2>&1 &&
        grep -q "certificate has expired" "$work/v"'
    check "redirect:URL: 302 with Location on the other origin ({path} filled in)" eval '
        status f13 302 &&
        header_is f13 Location "https://127.0.0.2:1/.well-known/est/simpleenroll"'
    check "disconnect: no answer at all (status 000, curl fails, no headers)" eval '
        status f14 000 && not curl_rc f14 0 && not test -s "$work/f14.hdr"'
    check "after --fault-count requests: issued normally" issued fdone dev
    check "log: each request's fault, in turn" eval '
        same "$(jq -r -s "[.[] | .fault // \"-\"] | join(\" \")" "$work/log.json")" \
            "${faults[*]} -"'
    stop

    wait "$hang_job" || true
    check "hang: no answer; curl --max-time 2 gives up (exit 28) after 2 s" eval '
        curl_rc hang/hang 28 && status hang/hang 000 && (($(<"$work/hang/hang.ms") >= 1900))'
    check "hang: the server got the request and logged it unanswered" \
        jq -e -s '.[0] | .fault == "hang" and .status == null and .op == "simpleenroll"' \
        "$work/hang/log.json"
}

# --- section: --fault-on, server certificate, TLS version, signals, errors -----------------

sec_misc() {
    start --fault server-error --fault-on cacerts,simplereenroll --fault-count 2 \
        --no-cte --b64-wrap 0
    req o0 cacerts
    enroll o1 simpleenroll dev
    enroll o2 simplereenroll dev --cert "$pki/cur.pem" --key "$pki/dev.key"
    enroll o3 simplereenroll dev --cert "$pki/cur.pem" --key "$pki/dev.key"
    req o4 cacerts
    check "--fault-on cacerts,simplereenroll: those faulted, enroll untouched, then normal" eval '
        status o0 500 && issued o1 dev && status o2 500 && issued o3 dev && status o4 200'
    check "--no-cte --b64-wrap 0: no Content-Transfer-Encoding, one base64 line" eval '
        same "$(header o4 Content-Transfer-Encoding)" "" && same "$(wc -l <"$work/o4.body")" 1 &&
        same "$(header o1 Content-Transfer-Encoding)" "" && same "$(wc -l <"$work/o1.body")" 1'
    req o5 csrattrs
    check "/csrattrs without --csrattrs-file: 204, no body, no Content-Length" eval '
        status o5 204 && not test -s "$work/o5.body" && same "$(header o5 Content-Length)" ""'
    stop

    # random mode: a seeded draw per request, the same for the same seed
    local i run codes=()
    for run in 1 2; do
        start --fault server-error --fault unavailable:0 --fault-rate 0.5 --fault-seed 7 \
            --fault-on cacerts
        for i in $(seq 12); do req "r$run.$i" cacerts; done
        codes[run]=$(for i in $(seq 12); do printf '%s ' "$(<"$work/r$run.$i.code")"; done)
        stop
    done
    check "--fault-rate 0.5 --fault-seed 7: some faulted (500, 503), some not (200)" eval '
        grep -q 500 <<<"${codes[1]}" && grep -q 503 <<<"${codes[1]}" && grep -q 200 <<<"${codes[1]}"'
    check "--fault-seed: the same seed gives the same faults (${codes[1]})" \
        same "${codes[1]}" "${codes[2]}"
    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --fault-rate 0.5 \
        2>"$work/err" || rc=$?
    check "--fault-rate without --fault: exit 2" same "$rc" 2

    "$server" --make-server-cert "$work/srv" --hostname est.test --ca-cert "$pki/other.pem" \
        --ca-key "$pki/other.key" >/dev/null
    check "--make-server-cert: SAN DNS:est.test, DNS:localhost, IP 127.0.0.1 and ::1" eval '
        same "$(san_of "$work/srv/server.pem")" \
            "DNS:est.test,DNS:localhost,IPAddress:127.0.0.1,IPAddress:0:0:0:0:0:0:0:1" &&
        openssl verify -CAfile "$pki/other.pem" "$work/srv/server.pem"'
    start --tls-cert "$work/srv/server.pem" --tls-key "$work/srv/server.key" --tls-version 1.3
    local code code2 rc
    code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/other.pem" \
        "https://localhost:$port/.well-known/est/cacerts" 2>&1) || true
    code2=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/other.pem" \
        "https://127.0.0.1:$port/.well-known/est/cacerts" 2>&1) || true
    check "--tls-cert: served, verifies as localhost and as 127.0.0.1" same "$code $code2" "200 200"
    check "--tls-version 1.3: a TLS 1.2-only client is refused" not curl -sS -o /dev/null \
        --cacert "$pki/other.pem" --tls-max 1.2 "https://localhost:$port/.well-known/est/cacerts"
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    check "SIGTERM: exits 0" same "$rc" 0

    # the server certificate made at start, out of its validity (a client clock behind/ahead)
    local why
    start --server-cert-not-before-days 3
    why=$(curl -sS -o /dev/null --cacert "$pki/issuing.pem" \
        "https://localhost:$port/.well-known/est/cacerts" 2>&1) || true
    stop
    check "--server-cert-not-before-days 3: not yet valid to a client ($why)" \
        grep -q "not yet valid" <<<"$why"
    start --server-cert-expired
    why=$(curl -sS -o /dev/null --cacert "$pki/issuing.pem" \
        "https://localhost:$port/.well-known/est/cacerts" 2>&1) || true
    stop
    check "--server-cert-expired: expired to a client ($why)" grep -q "has expired" <<<"$why"
    check "... no request reached the HTTP layer" \
        same "$(cat "$work/log.json" 2>/dev/null | jq -s '[.[] | select(.op != null)] | length')" 0
    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --server-cert-expired \
        --tls-cert "$work/srv/server.pem" --tls-key "$work/srv/server.key" 2>"$work/err" || rc=$?
    check "--server-cert-expired with --tls-cert: exit 2" same "$rc" 2

    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --require tls \
        2>"$work/err" || rc=$?
    check "--require tls without --client-ca: exit 2 with a message" eval '
        same "$rc" 2 && grep -q -- "--client-ca" "$work/err"'
    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/other.key" 2>"$work/err" || rc=$?
    check "CA key that does not match the CA cert: exit 2" same "$rc" 2
    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --fault nosuch \
        2>"$work/err" || rc=$?
    check "unknown fault mode: exit 2" same "$rc" 2
}

# --- section: proof-of-possession (--pop) --------------------------------------------------

# pop OUT MODE TLS: pop-client against the server; $work/OUT.attrs (the /csrattrs base64),
# OUT.code (the enrollment's status), OUT.body (its answer)
pop() {
    local line
    line=$(/usr/bin/python3 "$here/pop-client" "$port" "$pki/issuing.pem" "$pki/dev.key" "$2" \
        "$3" 2>"$work/$1.body") || line="error error"
    echo "${line% *}" >"$work/$1.attrs"
    echo "${line##* }" >"$work/$1.code"
}
lists_challenge() { base64 -d "$work/$1.attrs" | openssl asn1parse -inform DER | grep -q challengePassword; }

sec_pop() {
    start --pop
    pop p1 bound 1.2
    pop p2 replay 1.2
    pop p3 none 1.2
    pop p4 bound 1.3
    pop p5 replay 1.3
    check "--pop: /csrattrs lists challengePassword" lists_challenge p1
    check "--pop, TLS 1.2: a CSR bound to its connection is issued" status p1 200
    check "--pop: a CSR bound to another connection is refused (400, tls-unique)" eval '
        status p2 400 && grep -q "not this TLS connection.s tls-unique" "$work/p2.body"'
    check "--pop: a CSR without challengePassword is refused (400)" eval '
        status p3 400 && grep -q "no challengePassword" "$work/p3.body"'
    check "--pop, TLS 1.3: a CSR bound to its connection (tls-exporter) is issued" status p4 200
    check "--pop, TLS 1.3: a CSR bound to another connection is refused (400, tls-exporter)" eval '
        status p5 400 && grep -q "not this TLS connection.s tls-exporter" "$work/p5.body"'
    local i # (the log line is written once the answer has gone out)
    for ((i = 0; i < 40; i++)); do
        [[ $(grep -c '"op": "simpleenroll"' "$work/log.json") -ge 5 ]] && break
        sleep 0.05
    done
    check "--pop: the log says ok, mismatch, missing and keeps the CSR" eval '
        same "$(jq -r "select(.op==\"simpleenroll\") | .pop" "$work/log.json" | LC_ALL=C sort | tr "\n" " ")" \
            "mismatch mismatch missing ok ok " &&
        same "$(jq -r "select(.pop==\"ok\") | .pop_binding" "$work/log.json" | LC_ALL=C sort | tr "\n" " ")" \
            "tls-exporter tls-unique " &&
        jq -s -e "[.[] | select(.pop==\"ok\")][0].csr | length > 100" "$work/log.json"'
    stop
    printf 'MAsGCSqGSIb3DQEJBw==\n' >"$work/only-cp.b64" # SEQUENCE { challengePassword }
    start --pop --pop-unlisted --csrattrs-file "$work/only-cp.b64"
    pop u1 none 1.2
    check "--pop-unlisted: /csrattrs is the file's, unchanged; the CSR is still checked" eval '
        same "$(<"$work/u1.attrs")" "MAsGCSqGSIb3DQEJBw==" && status u1 400'
    stop
    local url n0 n1
    start --fault close --fault-on cacerts --fault-count 1
    url="https://localhost:$port/.well-known/est/cacerts"
    n0=$(curl -sS --cacert "$pki/issuing.pem" -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' "$url" "$url")
    n1=$(curl -sS --cacert "$pki/issuing.pem" -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' "$url" "$url")
    check "fault close: answered, then closed (the next request connects anew); unfaulted: reused" \
        same "$n0/$n1" "200:1 200:1 /200:1 200:0 "
    stop
    rc=0
    "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --pop-unlisted \
        2>"$work/err" || rc=$?
    check "--pop-unlisted without --pop: exit 2" same "$rc" 2
}

# --- run ------------------------------------------------------------------------------

echo "est-server selftest with $mode"
# --- section: the factory role's attested enrollment (--ek-ca): the endpoints' shape; the
# exchange itself with a TPM is tests/enroll/factory-attest.sh -------------------------------

sec_attest() {
    start
    req nononce attest-nonce
    check "attest-nonce without --ek-ca: 404" status nononce 404
    est_server_stop
    start --ek-ca "$pki/other.pem"
    req nonce1 attest-nonce
    req nonce2 attest-nonce
    check "attest-nonce: 200 application/vnd.devid.attest-nonce, 32 bytes base64" eval '
        status nonce1 200 && header_is nonce1 Content-Type application/vnd.devid.attest-nonce &&
        same "$(base64 -d "$work/nonce1.body" | wc -c)" 32'
    check "attest-nonce: a new nonce each time" not cmp -s "$work/nonce1.body" "$work/nonce2.body"
    req attestget attest-enroll
    check "GET attest-enroll: 405" status attestget 405
    req attestct attest-enroll -H "Content-Type: application/pkcs10" --data-binary MAo=
    check "attest-enroll with another content type: 415" status attestct 415
    req attestbad attest-enroll -H "Content-Type: application/vnd.devid.attest-request" \
        --data-binary MAA=
    check "attest-enroll with an empty SEQUENCE: 400, says so" eval '
        status attestbad 400 && grep -q "not an AttestEnrollRequest" "$work/attestbad.body"'
    check_fails "--attest-fault without --ek-ca: a configuration error" "needs --ek-ca" \
        "$server" --ca-cert "$pki/issuing.pem" --ca-key "$pki/issuing.key" --attest-fault other-ek
}

sections=(routing auth reenroll faults misc pop attest)
jobs_=()
for s in "${sections[@]}"; do
    mkdir -p "$top/$s"
    (
        work=$top/$s
        "sec_$s"
    ) >"$top/$s.log" 2>&1 &
    jobs_+=($!)
done
passed=0
failed=0
for i in "${!sections[@]}"; do
    rc=0
    wait "${jobs_[$i]}" || rc=$?
    cat "$top/${sections[$i]}.log"
    n=$(grep -c '^ok - ' "$top/${sections[$i]}.log" || true)
    m=$(grep -c '^not ok - ' "$top/${sections[$i]}.log" || true)
    if [[ $rc != 0 ]]; then
        echo "not ok - section ${sections[$i]} stopped early (exit $rc)"
        m=$((m + 1))
    fi
    passed=$((passed + n))
    failed=$((failed + m))
done

summary "est-server selftest"
