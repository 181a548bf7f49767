#!/usr/bin/env bash
# The device's whole life against the test EST servers, on a TPM that has only its EK:
# IDevID (factory) -> LDevID (owner) -> a service identity -> renewal, re-key -> retirement.
# usage (under with-swtpm ek-only): zero-touch.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-4242"

# --- factory: the IDevID, authenticated by the station's Basic credentials and header
factory_server
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "idevid enrolls ($out)" test $rc -eq 0
check "IDevID valid" test "$(status_of idevid)" = valid
check "IDevID certificate in NV" test "$(enroll --json status | jq -r '.identities[] | select(.name=="idevid") | .certificate.source')" = "NV 0x01c90000"
check "serialNumber in the IDevID" grep -q 'serialNumber=SN-4242' <<<"$(enroll status)"
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "idevid again: left alone" test $rc -eq 0
check "idevid again: says so" grep -q "already provisioned" <<<"$out"
enroll --server "$server" cacerts --out "$work/cacerts.pem" >/dev/null 2>&1
check "cacerts (strict TLS)" cmp -s <(openssl x509 -in "$work/cacerts.pem") <(openssl x509 -in "$pki/oem-ca.pem")
fp=$(openssl x509 -in "$pki/oem-ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
DEVID_CONF=/dev/null enroll --server "$server" cacerts --fingerprint "$fp" --out "$work/boot.pem" >/dev/null 2>&1
check "cacerts bootstrap with the right fingerprint" test -s "$work/boot.pem"
DEVID_CONF=/dev/null enroll --server "$server" cacerts --fingerprint "${fp/A/B}" --out "$work/boot2.pem" 2>/dev/null
check "cacerts bootstrap refuses a wrong fingerprint" test ! -e "$work/boot2.pem"
est_server_stop

# --- owner: the LDevID, authenticated by the IDevID over TLS
owner_server
out=$(enroll --server "$server" ldevid 2>&1); rc=$?
check "ldevid enrolls ($out)" test $rc -eq 0
check "LDevID valid" test "$(status_of ldevid)" = valid
check "LDevID chain file" test -s "$DEVID_STORE/ldevid-chain.pem"
check "LDevID keeps the device's serial" bash -c "openssl x509 -in '$DEVID_STORE/ldevid-chain.pem' -noout -subject | grep -q SN-4242"

# --- a service identity, authenticated by the LDevID
out=$(enroll --server "$server" enroll device-id 2>&1); rc=$?
check "enroll device-id ($out)" test $rc -eq 0
chain=$DEVID_STORE/device-id-chain.pem
check "device-id chain verifies" openssl verify -CAfile "$pki/owner-ca.pem" "$chain"
echo "signed by the TPM" >"$work/msg"
ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=device-id" \
    -rawin -digest sha256 -in "$work/msg" -out "$work/sig" 2>"$work/err"
check "device-id signs through the provider ($(head -c 200 "$work/err"))" \
    openssl pkeyutl -verify -certin -inkey "$chain" -rawin -digest sha256 -in "$work/msg" -sigfile "$work/sig"

# --- renewal: the same key, then a new one
pub0=$(pubkey_of_cert "$chain"); ser0=$(serial_of_cert "$chain")
out=$(enroll --server "$server" renew --force device-id 2>&1); rc=$?
check "renew device-id ($out)" test $rc -eq 0
check "renewed: new certificate" test "$(serial_of_cert "$chain")" != "$ser0"
check "renewed: same key" test "$(pubkey_of_cert "$chain")" = "$pub0"
out=$(enroll --server "$server" renew --force --rekey device-id 2>&1); rc=$?
check "re-key device-id ($out)" test $rc -eq 0
check "re-keyed: new key" test "$(pubkey_of_cert "$chain")" != "$pub0"
check "re-keyed: one device-id in the store" test "$(ls "$DEVID_STORE"/*.attr | xargs grep -l '^label=device-id$' | wc -l)" -eq 1
ossl pkeyutl -provider devid -provider default -sign -inkey "devid:object=device-id" \
    -rawin -digest sha256 -in "$work/msg" -out "$work/sig2" 2>/dev/null
check "the new key signs" openssl pkeyutl -verify -certin -inkey "$chain" -rawin -digest sha256 -in "$work/msg" -sigfile "$work/sig2"
lpub0=$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")
out=$(enroll --server "$server" renew --force --rekey LDevID 2>&1); rc=$?
check "re-key LDevID ($out)" test $rc -eq 0
check "LDevID re-keyed" test "$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")" != "$lpub0"
check "LDevID valid after re-key" test "$(status_of ldevid)" = valid
out=$(enroll --server "$server" renew 2>&1); rc=$?
check "nothing due: nothing done ($out)" bash -c "test $rc -eq 0 && grep -q 'not due' <<<'$out'"

# --- /csrattrs: a server that wants P-384 keys and SHA-384 signatures gets them
est_server_stop
cat >"$work/csrattrs.cnf" <<'CNF'
asn1=SEQUENCE:attrs
[attrs]
md=OID:ecdsa-with-SHA384
key=SEQUENCE:ec
[ec]
type=OID:id-ecPublicKey
curves=SET:curves
[curves]
c=OID:secp384r1
CNF
openssl asn1parse -genconf "$work/csrattrs.cnf" -out "$work/csrattrs.der" >/dev/null
owner_server --csrattrs-file "$work/csrattrs.der"
out=$(enroll --server "$server" enroll device-p384 2>&1); rc=$?
check "enroll under /csrattrs wishes ($out)" test $rc -eq 0
check "the key is P-384, as asked" grep -q "NIST CURVE: P-384" \
    <<<"$(openssl x509 -in "$DEVID_STORE/device-p384-chain.pem" -noout -text 2>/dev/null)"

# --- retirement: owner identities go, the IDevID stays
out=$(enroll retire --yes 2>&1); rc=$?
check "retire ($out)" test $rc -eq 0
check "LDevID gone" test "$(status_of ldevid)" = absent
check "store empty" bash -c "! ls '$DEVID_STORE'/*.attr >/dev/null 2>&1"
check "IDevID kept" test "$(status_of idevid)" = valid
summary zero-touch
