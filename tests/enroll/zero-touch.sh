#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The device's whole life against the test EST servers, on a TPM that has only its EK:
# IDevID (factory) -> LDevID (owner) -> a service identity -> renewal, re-key -> retirement.
# usage (under with-swtpm ek-only): zero-touch.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,OU=Devid Test Device Model 1,CN=Devid Test Device,serialNumber=SN-4242"

check "no IAK before the factory step" test "$(status_of iak)" = absent

# --- a wrong password is tried once: 401 is final (exit 4), never retried into a lockout
est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
    --basic station:not-the-password --log "$work/lockout.log"
out=$(enroll --server "https://localhost:$EST_PORT" idevid --subject "$subject" 2>&1); rc=$?
est_server_stop
check "a refused password: exit 4 ($out)" test $rc -eq 4
check "a refused password: one POST ($(received "$work/lockout.log" | tr '\n' ' '))" \
    test "$(received "$work/lockout.log" | grep -c '^simpleenroll')" -eq 1
check "a refused password: the message says the server offers Basic" grep -q "offers: Basic" <<<"$out"
# The IAK is made before the request goes out; the refused run leaves it for the next run to use.
check "idevid made the IAK" grep -q "IAK: created key at 0x81020001 (EC 256, restricted" <<<"$out"

# --- factory: the IDevID, authenticated by the station's Basic credentials and header
factory_server
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "idevid enrolls ($out)" test $rc -eq 0
check "idevid reused the IAK the refused run made" bash -c '! grep -q "IAK: created" <<<"$1"' _ "$out"
iak_json=$(enroll --json status | jq -c '.identities[] | select(.name=="iak")')
check "IAK in status ($iak_json)" test "$(jq -r '[.present, .key.handle, .key.type, .key.restricted, .chain.status] | join(" ")' <<<"$iak_json")" = "true 0x81020001 EC P-256 true no-certificate"
check "IAK in text status" grep -q "persistent handle 0x81020001, restricted" <<<"$(enroll status)"
check "an IAK without certificate is healthy" enroll status
check "IDevID valid" test "$(status_of idevid)" = valid
check "IDevID certificate in NV" test "$(enroll --json status | jq -r '.identities[] | select(.name=="idevid") | .certificate.source')" = "NV 0x01c90000"
check "serialNumber in the IDevID" grep -q 'serialNumber=SN-4242' <<<"$(enroll status)"
# the password mode proves nothing about the key: status does not say attested, no record made
check "password mode: IDevID not attested" test "$(enroll --json status | jq -r '.identities[] | select(.name=="idevid") | .attested')" = false
check "password mode: no factory record" test ! -e "$(dirname "$DEVID_CONF")/factory-attested"
out=$(enroll --server "$server" idevid --subject "$subject" 2>&1); rc=$?
check "idevid again: left alone" test $rc -eq 0
check "idevid again: says so" grep -q "already provisioned" <<<"$out"
enroll --server "$server" cacerts --out "$work/cacerts.pem" >/dev/null 2>&1
check "cacerts (strict TLS)" cmp -s <(openssl x509 -in "$work/cacerts.pem") <(openssl x509 -in "$pki/oem-ca.pem")
fp=$(openssl x509 -in "$pki/oem-ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
# (with the station's credentials configured: the bootstrap must not send them)
enroll --server "$server" cacerts --fingerprint "$fp" --out "$work/boot.pem" >/dev/null 2>&1
check "cacerts bootstrap with the right fingerprint" test -s "$work/boot.pem"
# A wrong fingerprint differs in the first digit. (Replacing an "A" left the fingerprint as it was
# whenever the random test CA's fingerprint had no "A": a flake one run in ~60.)
if [ "${fp:0:1}" = 0 ]; then wrong_fp="1${fp:1}"; else wrong_fp="0${fp:1}"; fi
check "the wrong fingerprint is wrong" test "$wrong_fp" != "$fp"
DEVID_CONF=/dev/null enroll --server "$server" cacerts --fingerprint "$wrong_fp" --out "$work/boot2.pem" 2>/dev/null
check "cacerts bootstrap refuses a wrong fingerprint" test ! -e "$work/boot2.pem"
est_server_stop
check "factory: every enrollment POST had the password and the header ($(received "$work/factory.log" | tr '\n' ' '))" \
    all_secrets "$work/factory.log" simpleenroll
check "factory: no secret with /cacerts (strict or bootstrap)" no_secrets "$work/factory.log" cacerts
check "factory: the bootstrap fetched /cacerts twice (unverified, then verified)" \
    test "$(received "$work/factory.log" | grep -c '^cacerts')" -eq 4
check "factory: every request named the client $user_agent ($(user_agents "$work/factory.log" | tr '\n' ' '))" \
    test "$(user_agents "$work/factory.log")" = "$user_agent"

# --- bootstrap: after the fingerprint matches, only TLS verified against that CA: a server
# whose TLS certificate another CA issued gets one unauthenticated /cacerts and nothing more
est_server_start "$work" --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key" \
    --log "$work/fake.log"
ofp=$(openssl x509 -in "$pki/owner-ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
mkdir -p "$work/fake"
"$EST_SERVER" --make-server-cert "$work/fake" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" >/dev/null
est_server_stop
est_server_start "$work" --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key" \
    --tls-cert "$work/fake/server.pem" --tls-key "$work/fake/server.key" --log "$work/fake.log" \
    --basic station:station-secret --header 'X-Station-Token: t0k3n'
out=$(enroll --server "https://localhost:$EST_PORT" cacerts --fingerprint "$ofp" --out "$work/boot3.pem" 2>&1); rc=$?
est_server_stop
check "bootstrap: a server not certified by the fingerprinted CA is refused (exit $rc: $out)" \
    bash -c "test $rc -ne 0 && test ! -e '$work/boot3.pem'"
check "bootstrap: the unauthenticated server got no secret ($(received "$work/fake.log" | tr '\n' ' '))" \
    no_secrets "$work/fake.log"

# --- owner: the LDevID, authenticated by the IDevID over TLS
owner_server
full_auth=$hierarchy_auth
# (the -hauth variant) without_owner_auth NAME CMD...: CMD, with the owner's auth value on the
# TPM but no owner_auth_file, is refused with a message naming it before the owner's CA hears of
# it (not even /csrattrs: no certificate issued for nothing), no hierarchy value sent to the TPM,
# nothing changed in the TPM or the store
without_owner_auth() {
    local name=$1 rc=0 sent persistent store
    shift
    sent=$(received "$work/owner.log" | wc -l)
    persistent=$(tpm2_getcap handles-persistent)
    store=$(ls "$DEVID_STORE")
    hierarchy_auth=$(grep -v '^owner_auth_file' <<<"$full_auth")
    write_conf </dev/null
    TSS2_LOG=esys+error "$@" >"$work/$name.out" 2>&1 || rc=$?
    hierarchy_auth=$full_auth
    write_conf </dev/null
    check "$name without owner_auth_file: exit 2 ($(tail -n 2 "$work/$name.out"))" test $rc -eq 2
    check "$name: the message names the setting" \
        grep -q "owner hierarchy has an auth value: set owner_auth_file" "$work/$name.out"
    check "$name: nothing sent to the CA ($(received "$work/owner.log" | tail -n +$((sent + 1)) | cut -f1 | tr '\n' ' '))" \
        test "$(received "$work/owner.log" | wc -l)" -eq "$sent"
    check "$name: no hierarchy value sent to the TPM (none refused)" \
        bash -c "! grep -qiE 'ErrorCode \(0x0000(09a2|098e)\)' '$work/$name.out'"
    check "$name: persistent handles unchanged" test "$(tpm2_getcap handles-persistent)" = "$persistent"
    check "$name: store unchanged" test "$(ls "$DEVID_STORE")" = "$store"
}
if [[ -n $full_auth ]]; then
    without_owner_auth ldevid-no-owner-auth enroll --server "$server" ldevid
fi
out=$(enroll --server "$server" ldevid 2>&1); rc=$?
check "ldevid enrolls ($out)" test $rc -eq 0
check "LDevID valid" test "$(status_of ldevid)" = valid
check "LDevID chain file" test -s "$DEVID_STORE/ldevid-chain.pem"
check "LDevID keeps the device's serial" bash -c "openssl x509 -in '$DEVID_STORE/ldevid-chain.pem' -noout -subject | grep -q SN-4242"

# --- a service identity, authenticated by the LDevID
if [[ -n $full_auth ]]; then # (no persistent SRK on this TPM: a store key needs the owner's)
    without_owner_auth enroll-no-owner-auth enroll --server "$server" enroll device-id
fi
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
if [[ -n $full_auth ]]; then # (TPM2_EvictControl of the new key, after the CA issued it)
    without_owner_auth rekey-no-owner-auth enroll --server "$server" renew --force --rekey LDevID
    check "rekey-no-owner-auth: the LDevID kept its key" \
        test "$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")" = "$lpub0"
fi
out=$(enroll --server "$server" renew --force --rekey LDevID 2>&1); rc=$?
check "re-key LDevID ($out)" test $rc -eq 0
check "LDevID re-keyed" test "$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")" != "$lpub0"
check "LDevID valid after re-key" test "$(status_of ldevid)" = valid
out=$(enroll --server "$server" renew 2>&1); rc=$?
check "nothing due: nothing done ($out)" bash -c "test $rc -eq 0 && grep -q 'not due' <<<'$out'"

check "owner: no request carried the station's password or header ($(received "$work/owner.log" | sort | uniq -c | tr '\n' ' '))" \
    no_secrets "$work/owner.log"

# --- HTTP Digest, with credentials configured for the owner's server explicitly
est_server_stop
: >"$work/owner.log"
owner_server --basic station:station-secret --auth-schemes digest --require tls --require basic
write_conf <<CONF
credentials_for = owner
credentials_server = $server
CONF
out=$(enroll --server "$server" enroll device-digest 2>&1); rc=$?
check "Digest asked, Basic configured: enrolled after one Digest attempt ($out)" test $rc -eq 0
check "Digest: the POSTs were Basic (refused), then Digest ($(received "$work/owner.log" | tr '\n' ' '))" \
    test "$(received "$work/owner.log" | awk -F'\t' '$1 == "simpleenroll" && $3 != "-" {print $3 "/" $2}' | tr '\n' ' ')" = "Basic/401 Digest/200 "
: >"$work/owner.log"
write_conf <<CONF
credentials_for = owner
credentials_server = $server
auth = digest
CONF
out=$(enroll --server "$server" enroll device-digest2 2>&1); rc=$?
check "auth = digest: enrolled ($out)" test $rc -eq 0
check "auth = digest: never Basic ($(received "$work/owner.log" | tr '\n' ' '))" \
    bash -c "! grep -q Basic <<<'$(received "$work/owner.log")'"
write_conf <<CONF
credentials_for = owner
credentials_server = https://localhost:1
CONF
: >"$work/owner.log"
out=$(enroll --server "$server" enroll device-digest3 2>&1); rc=$?
check "credentials for another server: not sent, 401 is final (exit $rc)" test $rc -eq 4
check "credentials for another server: none received" no_secrets "$work/owner.log"
est_server_stop
owner_server --basic station:station-secret --auth-schemes basic,digest --digest-algorithm MD5 --require basic
write_conf <<CONF
credentials_for = both
credentials_server = $server
auth = any
CONF
: >"$work/owner.log"
out=$(enroll --server "$server" enroll device-md5 2>&1); rc=$?
check "auth = any, Basic and Digest (MD5) offered: enrolled ($out)" test $rc -eq 0
check "auth = any: nothing until asked, then Digest ($(received "$work/owner.log" | tr '\n' ' '))" \
    test "$(received "$work/owner.log" | awk -F'\t' '$1 == "simpleenroll" {print $3 "/" $2}' | tr '\n' ' ')" = "-/401 Digest/200 "
write_conf </dev/null
est_server_stop
owner_server

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

# --- (the -hauth variant) a persistent SRK: a store key needs no hierarchy auth, so `enroll`
# works without owner_auth_file; a re-keyed LDevID still needs it
if [[ -n $full_auth ]]; then
    tpm2_createprimary -Q -C o -P "$(<"$pki/owner-auth")" -g sha256 -G ecc256:aes128cfb \
        -a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda' \
        -c "$work/srk.ctx"
    tpm2_evictcontrol -Q -C o -P "$(<"$pki/owner-auth")" -c "$work/srk.ctx" 0x81000001 >/dev/null
    hierarchy_auth=$(grep -v '^owner_auth_file' <<<"$full_auth")
    write_conf </dev/null
    out=$(TSS2_LOG=esys+error enroll --server "$server" enroll device-srk 2>&1); rc=$?
    hierarchy_auth=$full_auth
    write_conf </dev/null
    check "persistent SRK: enroll without owner_auth_file ($out)" test $rc -eq 0
    check "persistent SRK: no authorisation refused" bash -c "! grep -qiE 'ErrorCode \(0x0000(09a2|098e)\)' <<<\"\$1\"" _ "$out"
    # the re-keyed LDevID's new key is made without the owner, its TPM2_EvictControl is not:
    # known before the CA issues a certificate the device could not take
    lpub1=$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")
    without_owner_auth srk-rekey-no-owner-auth enroll --server "$server" renew --force --rekey LDevID
    check "srk-rekey-no-owner-auth: the LDevID kept its key" \
        test "$(pubkey_of_cert "$DEVID_STORE/ldevid-chain.pem")" = "$lpub1"
fi

# --- retirement: owner identities go, the IDevID stays
if [[ -n $full_auth ]]; then # (TPM2_EvictControl of the LDevID key: said before anything goes)
    without_owner_auth retire-no-owner-auth enroll retire --yes
fi
out=$(enroll retire --yes 2>&1); rc=$?
check "retire ($out)" test $rc -eq 0
check "LDevID gone" test "$(status_of ldevid)" = absent
check "store empty" bash -c "! ls '$DEVID_STORE'/*.attr >/dev/null 2>&1"
check "IDevID kept" test "$(status_of idevid)" = valid
summary zero-touch
