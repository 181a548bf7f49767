#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The factory step authenticated by the EK (est.factory_mode = attested, docs/factory.md "The
# attested exchange") on a TPM that has only its EK, against the test server's factory role:
# each refusal (server's answer, device's exit code and message, nothing stored), then the
# exchange end to end (IAK and IDevID certificates in NV), then replayed and tampered requests.
# usage (under with-swtpm ek-only): factory-attest.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-4242"
tamper=$src/tests/enroll/attest-tamper
printf 'factory_mode = attested\n' | write_conf

attest_server() { # the OEM's CA in its factory role: EK certificates from these vendor CAs
    est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
        --log "$work/attest.log" "$@"
    server=https://localhost:$EST_PORT
}
# the last logged answer to attest-enroll: "STATUS MESSAGE"
last_answer() { jq -s -r '[.[] | select(.op == "attest-enroll")] | last | "\(.status) \(.error)"' "$work/attest.log"; }
nv_indices() { tpm2_getcap handles-nv-index | tr 'A-F' 'a-f'; }
persistent() { tpm2_getcap handles-persistent | tr 'A-F' 'a-f' | sed 's/^- //' | sort | tr '\n' ' '; }
# Nothing of a refused run is kept but the documented state: the two keys, no certificate.
# The factory records (docs/factory.md "The record"): beside the configuration, not in the store.
records=$(dirname "$DEVID_CONF")/factory-attested
record_of() { echo "$records/$(openssl x509 -inform DER -outform DER | sha256sum | cut -d' ' -f1)"; }
nv_cert_record() { tpm2_nvread "$1" -C o 2>/dev/null | record_of; }
status_section() { enroll status | awk -v h="$1:" '$0 == h { p = 1; next } /^$/ { p = 0 } p'; }
attested_of() { enroll --json status | jq -r ".identities[] | select(.name==\"$1\") | .attested"; }
nothing_stored() {
    ! nv_indices | grep -qE '0x1c90000|0x1c90001' &&
        test "$(persistent)" = "0x81010001 0x81020000 0x81020001 " && test ! -e "$records"
}

# --- a software IDevID key: a key imported from outside the TPM (fixedTPM, fixedParent and
# sensitiveDataOrigin clear) at the IDevID's handle; the device certifies it with its IAK and
# the CA refuses it from its attributes
openssl ecparam -name prime256v1 -genkey -noout -out "$work/soft.pem" 2>/dev/null
# (without a resource manager each tool leaves the objects it loaded: flushed after each)
tpm2_createprimary -Q -C o -c "$work/prim.ctx"
tpm2_flushcontext -t
tpm2_import -Q -C "$work/prim.ctx" -G ecc -i "$work/soft.pem" -a 'sign|userwithauth|noda' \
    -u "$work/soft.pub" -r "$work/soft.priv"
tpm2_flushcontext -t
tpm2_load -Q -C "$work/prim.ctx" -u "$work/soft.pub" -r "$work/soft.priv" -c "$work/soft.ctx"
tpm2_evictcontrol -Q -C o -c "$work/soft.ctx" 0x81020000 >/dev/null
tpm2_flushcontext -t
attest_server --ek-ca "$pki/vendor-ca.pem"
check_fails "software IDevID key: refused (exit 4)" 'IDevID key is not an unrestricted signing key.*fixedTPM' \
    enroll --server "$server" idevid --subject "$subject"
check_match "software IDevID key: the server answered 403" '^403 the IDevID key is not' last_answer
check "software IDevID key: nothing stored" nothing_stored
est_server_stop
tpm2_evictcontrol -Q -C o -c 0x81020000 >/dev/null

# --- an EK certificate not issued by the vendor CA the server trusts
attest_server --ek-ca "$pki/owner-ca.pem"
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "foreign EK certificate: exit 4 ($out)" test $rc -eq 4
check "foreign EK certificate: the message says why" grep -q "not issued by a trusted TPM vendor CA" <<<"$out"
check_match "foreign EK certificate: the server answered 403" '^403 the EK certificate is not issued' last_answer
check "foreign EK certificate: nothing stored" nothing_stored
est_server_stop

# --- a credential the TPM cannot activate: made for another EK, or for the name of another
# TPM's IAK (what the server does when a request carries another TPM's IAK): the server
# issued, the device's TPM refuses, and nothing is stored
for fault in other-ek other-iak; do
    attest_server --ek-ca "$pki/vendor-ca.pem" --attest-fault "$fault"
    out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
    check "$fault: exit 4 ($out)" test $rc -eq 4
    check "$fault: the credential does not activate" grep -q "credential does not activate on this TPM" <<<"$out"
    check_match "$fault: the server answered 200" '^200 ' last_answer
    check "$fault: nothing stored" nothing_stored
    est_server_stop
done

# --- an answer whose IAK certificate is for another key: the device refuses it, stores nothing
attest_server --ek-ca "$pki/vendor-ca.pem" --attest-fault wrong-iak-cert
check_fails "IAK certificate for another key: refused (exit 4)" "IAK certificate is not for this IAK" \
    enroll --server "$server" idevid --subject "$subject"
check "IAK certificate for another key: nothing stored" nothing_stored
est_server_stop

# --- the exchange end to end
: >"$work/attest.log"
attest_server --ek-ca "$pki/vendor-ca.pem"
DEVID_LOG=info enroll --json --server "$server" idevid --subject "$subject" >"$work/idevid.json" \
    2>"$work/idevid.err"; rc=$?
out=$(<"$work/idevid.err")
check "attested idevid: exit 0 ($out)" test $rc -eq 0
check "attested idevid --json: attested, the IAK reused, NV 0x01c90000 ($(<"$work/idevid.json"))" \
    test "$(jq -r '[.attested, .iak, .stored.nv_index] | join(" ")' "$work/idevid.json")" = "true reused 0x01c90000"
# The TPM commands of the exchange with both keys in place (measured: 22; the password mode's
# run: 8): EK, IAK and IDevID opened, the EK certificate read, whether the endorsement
# hierarchy has an auth value (TPM2_GetCapability), TPM2_Certify, the EK's policy
# session and TPM2_ActivateCredential, two certificates written into NV.
tpm_commands=$(sed -n 's/.* \([0-9]*\) TPM command(s) in this run.*/\1/p' <<<"$out")
check "attested idevid: ${tpm_commands:-?} TPM commands (at most 24)" test "${tpm_commands:-99}" -le 24
check "attested idevid: the IAK certificate stored" grep -q "IAK: certificate issued on the EK's attestation" <<<"$out"
check "IDevID valid" test "$(status_of idevid)" = valid
check "IAK valid" test "$(status_of iak)" = valid
check "IAK certificate in NV 0x01c90001" test "$(enroll --json status | jq -r '.identities[] | select(.name=="iak") | .certificate.source')" = "NV 0x01c90001"
check "status: healthy" enroll status
# status says both certificates were issued on the exchange, from the records written before NV
check_out "status --json: IDevID attested" true attested_of idevid
check_out "status --json: IAK attested" true attested_of iak
check_match "status: IDevID attested (text)" \
    "attested: yes \(issued on the EK-attested factory exchange\)" status_section IDevID
check_match "status: IAK attested (text)" \
    "attested: yes \(issued on the EK-attested factory exchange\)" status_section IAK
# an EK's certificate is its vendor's: "attested" does not apply to it (no line, no field)
ek_json=$(enroll --json status | jq -c '.identities[] | select(.name=="ek_rsa")')
check "status --json: the EK has a certificate but no attested field ($ek_json)" \
    test "$(jq -r '[(.certificate != null), has("attested")] | join(" ")' <<<"$ek_json")" = "true false"
ek_text=$(status_section "EK (RSA)")
check "status: the EK's section has a certificate but no attested line" \
    bash -c 'grep -q "cert:" <<<"$1" && ! grep -q attested <<<"$1"' _ "$ek_text"
check "the IDevID's record beside the configuration" test -f "$(nv_cert_record 0x01c90000)"
check "the IAK's record beside the configuration" test -f "$(nv_cert_record 0x01c90001)"
check "no factory record in the store (group-writable)" test ! -e "$DEVID_STORE/attested"
# root wrote them (0755 / 0644): status run by another user reads them
if [[ $(id -u) == 0 ]]; then
    chmod 0755 "$DEVID_FIXTURE"
    as_nobody_attested() {
        setpriv --reuid=65534 --regid=65534 --clear-groups -- env OPENSSL_MODULES="$modules" \
            "$enroll_bin" --json status | jq -r '.identities[] | select(.name=="idevid") | .attested'
    }
    check_out "status as another user: IDevID attested" true as_nobody_attested
    chmod 0700 "$DEVID_FIXTURE"
fi
# retire keeps the IDevID, and the records of the factory identities with it
check "retire --yes" enroll retire --yes
check_out "after retire: IDevID still attested" true attested_of idevid
check_out "after retire: IAK still attested" true attested_of iak
# a record directory others may write in vouches for nothing (a forged record could be there)
chmod 0775 "$records"
check_out "a group-writable record directory: IDevID not attested" false attested_of idevid
chmod 0755 "$records"
# a record in the store, where the service users may write, is not believed for the IDevID
mv "$records" "$records.moved"
mkdir -p "$DEVID_STORE/attested"
touch "$DEVID_STORE/attested/$(basename "$(nv_cert_record 0x01c90000)")"
check_out "an IDevID record forged in the store: not attested" false attested_of idevid
rm -r "$DEVID_STORE/attested"
mv "$records.moved" "$records"
check_out "IDevID attested again" true attested_of idevid
check "the exchange: csrattrs, one nonce, one request" test "$(jq -s -r '[.[] | .op] | join(" ")' "$work/attest.log")" = "csrattrs attest-nonce attest-enroll"
# the IAK certificate is for the IAK's key; the IDevID's for the IDevID's
tpm2_readpublic -c 0x81020001 -f pem -o "$work/iak-pub.pem" >/dev/null
tpm2_nvread 0x01c90001 -C o 2>/dev/null | openssl x509 -inform DER -noout -pubkey >"$work/iak-cert-pub.pem"
check "IAK certificate: the IAK's public key" cmp -s "$work/iak-pub.pem" "$work/iak-cert-pub.pem"
check "IDevID certificate in NV: platform-created, write-locked" bash -c \
    "tpm2_nvreadpublic 0x01c90000 | grep -E 'friendly:.*writelocked' | grep -q platformcreate"
check "IAK certificate in NV: platform-created, write-locked" bash -c \
    "tpm2_nvreadpublic 0x01c90001 | grep -E 'friendly:.*writelocked' | grep -q platformcreate"
jq -s -r '[.[] | select(.op == "attest-enroll")] | last | .attest_request' "$work/attest.log" >"$work/request.b64"

post() { # post FILE: the base64 request to attest-enroll, as the device sends it
    curl -s --cacert "$work/est-trust.pem" -H 'Content-Type: application/vnd.devid.attest-request' \
        --data-binary "@$1" -o "$work/answer" -w '%{http_code}' "$server/.well-known/est/attest-enroll"
}
# --- a replayed request: the genuine request again, its nonce used
check_out "replay: 403" 403 post "$work/request.b64"
check "replay: the nonce was used" grep -q "used already" "$work/answer"
# --- a certification over another key than the CSR's: the CSR replaced by another key's
openssl req -new -key "$work/soft.pem" -subj "/CN=other" -outform DER -out "$work/other.csr" 2>/dev/null
"$tamper" "$work/request.b64" csr "$work/other.csr" >"$work/other-csr.b64"
check_out "another key's CSR: 403" 403 post "$work/other-csr.b64"
check "another key's CSR: says so" grep -q "CSR's key is not the certified IDevID key" "$work/answer"
# --- the IDevID's public area with fixedTPM cleared (a key that could have left a TPM)
"$tamper" "$work/request.b64" clear-idevid-attrs 2 >"$work/soft-attrs.b64"
check_out "IDevID without fixedTPM: 403" 403 post "$work/soft-attrs.b64"
check "IDevID without fixedTPM: says so" grep -q "IDevID key is not an unrestricted signing key" "$work/answer"

# --- RSA: an RSA 2048 IDevID and IAK (RSASSA certification), on the same TPM made fresh again
for index in 0x01c90000 0x01c90001; do
    tpm2_nvundefine -C p $index >/dev/null 2>&1 || tpm2_nvundefine $index >/dev/null 2>&1
done
tpm2_evictcontrol -Q -C o -c 0x81020000 >/dev/null
tpm2_evictcontrol -Q -C o -c 0x81020001 >/dev/null
out=$(enroll --server "$server" idevid --rsa --subject "$subject" 2>&1); rc=$?
check "attested idevid --rsa: exit 0 ($out)" test $rc -eq 0
check "attested idevid --rsa: an RSA IAK made" grep -q "IAK: created key at 0x81020001 (RSA 2048" <<<"$out"
check "attested idevid --rsa: IDevID valid" test "$(status_of idevid)" = valid
check "attested idevid --rsa: IAK valid" test "$(status_of iak)" = valid
check_out "attested idevid --rsa: IDevID attested" true attested_of idevid
check_out "attested idevid --rsa: IAK attested" true attested_of iak
check "attested idevid --rsa: the IAK certificate's key is RSA" bash -c \
    "tpm2_nvread 0x01c90001 -C o 2>/dev/null | openssl x509 -inform DER -noout -text | grep -q 'rsaEncryption'"
est_server_stop

# --- an ECC EK (TCG default ECC template at 0x81010002, its certificate from the vendor CA in
# NV 0x01C0000A) with the RSA EK configured away: the credential's seed is shared by ECDH
for index in 0x01c90000 0x01c90001; do
    tpm2_nvundefine -C p $index >/dev/null 2>&1 || tpm2_nvundefine $index >/dev/null 2>&1
done
tpm2_evictcontrol -Q -C o -c 0x81020000 >/dev/null
tpm2_evictcontrol -Q -C o -c 0x81020001 >/dev/null
tpm2_createek -Q -G ecc -c 0x81010002 -u "$work/ek-ecc.pub"
tpm2_flushcontext -t
tpm2_readpublic -c 0x81010002 -f pem -o "$work/ek-ecc.pem" >/dev/null
/usr/bin/python3 - "$pki/vendor-ca.pem" "$pki/vendor-ca.key" "$work/ek-ecc.pem" "$work/ek-ecc.der" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
pub = serialization.load_pem_public_key(open(sys.argv[3], "rb").read())
now = datetime.datetime.utcnow()
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Devid Test ECC EK")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject).public_key(pub)
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
open(sys.argv[4], "wb").write(cert.public_bytes(serialization.Encoding.DER))
PY
tpm2_nvdefine -Q 0x01c0000a -C o -s "$(stat -c %s "$work/ek-ecc.der")" -a "ownerread|ownerwrite|authread|no_da"
tpm2_nvwrite -Q 0x01c0000a -C o -i "$work/ek-ecc.der"
printf 'factory_mode = attested\n[ek_rsa]\nkey = none\n' | write_conf
: >"$work/attest.log"
attest_server --ek-ca "$pki/vendor-ca.pem" --attest-fault other-ek
check_fails "ECC EK, a credential for another EK: refused (exit 4)" "credential does not activate on this TPM" \
    enroll --server "$server" idevid --subject "$subject"
est_server_stop
attest_server --ek-ca "$pki/vendor-ca.pem"
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "ECC EK: attested idevid, exit 0 ($out)" test $rc -eq 0
check "ECC EK: the server saw EC EKs" test "$(jq -s -r '[.[] | select(.op == "attest-enroll") | .ek_key] | join(" ")' "$work/attest.log")" = "ec ec"
check "ECC EK: IDevID valid" test "$(status_of idevid)" = valid
check "ECC EK: IAK valid" test "$(status_of iak)" = valid
est_server_stop

# --- an unknown factory mode is a configuration error naming the line
printf 'factory_mode = ek\n' | write_conf
check_fails "factory_mode = ek: a configuration error" 'factory_mode = ek: expected password or attested' \
    enroll --server "https://localhost:1" cacerts
summary "factory-attest"
