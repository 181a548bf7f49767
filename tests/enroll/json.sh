#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll --json on every command that reports: standard output is exactly one JSON
# document (human lines go to standard error), its fields agree with what is really there
# (the certificates written, the TPM, the store), and every failure is the JSON error object
# {command, ok: false, exit_code, error} with the same exit code as the process.
# usage (under with-swtpm ek-only): json.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
subject="O=Devid Test OEM,CN=Devid JSON Device,serialNumber=SN-7"

jrun() { # jrun ARGS...: devid-enroll --json ARGS; sets $out (stdout), $rc, $err (stderr)
    out=$(enroll --json "$@" 2>"$work/json-err"); rc=$?
    err=$(cat "$work/json-err")
}
jf() { jq -r "$1" <<<"$out"; }
one_doc() { # standard output held one JSON document and nothing else
    [[ $(jq -s length <<<"$out" 2>/dev/null) == 1 ]]
}
ok_doc() { # ok_doc COMMAND DESCRIPTION: a success document of COMMAND
    check "$2: exit 0 (rc $rc: $(head -c 300 <<<"$err"))" test "$rc" -eq 0
    check "$2: one JSON document on stdout ($(head -c 200 <<<"$out"))" one_doc
    check "$2: command, ok, exit_code" test "$(jf '[.command, .ok, .exit_code] | join(" ")')" = "$1 true 0"
}
error_doc() { # error_doc COMMAND WANT-RC DESCRIPTION: the JSON error object, exit code WANT-RC
    check "$3: exit $2 (rc $rc)" test "$rc" -eq "$2"
    check "$3: one JSON document on stdout ($(head -c 200 <<<"$out"))" one_doc
    check "$3: the error object ($out)" test "$(jf '[.command, .ok, .exit_code, (.error | type)] | join(" ")')" = "$1 false $2 string"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
not_after_of() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ; }
sha256_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
cert_matches() { # cert_matches PEM-FILE: serial, not_after, sha256 of the document = the file's
    [[ $(jf '[.serial, .not_after, .sha256] | join(" ")') == "$(serial_of "$1") $(not_after_of "$1") $(sha256_of "$1")" ]]
}

# --- idevid
factory_server
jrun idevid --server "$server"
error_doc idevid 2 "idevid without --subject"
check "idevid error: says what is missing ($out)" grep -q -- "--subject is required" <<<"$(jf .error)"
jrun idevid --server "$server" --subject "$subject" --out "$work/idevid-chain.pem"
ok_doc idevid "idevid"
check "idevid: human lines went to stderr" grep -q "certificate issued" <<<"$err"
check "idevid: the certificate's fields are the chain file's" cert_matches "$work/idevid-chain.pem"
check "idevid: stored in NV, key made, IAK made ($out)" test \
    "$(jf '[.identity, .stored.nv_index, .key_handle, .key_created, .iak, .chain_file, .already_provisioned] | join(" ")')" = \
    "IDevID 0x01c90000 0x81020000 true created $work/idevid-chain.pem false"
check "idevid: the certificate in NV is the one reported" test \
    "$(jf .serial)" = "$(enroll --json status | jq -r '.identities[] | select(.name=="idevid") | .certificate.serial')"
check "idevid: subject and issuer ($out)" test "$(jf '.subject | test("CN=Devid JSON Device")'),$(jf '.issuer | test("OEM")')" = "true,true"
jrun status
ok_doc status "status"
check "status: healthy, the IDevID listed" test "$(jf '[.healthy, (.identities[] | select(.name=="idevid") | .present)] | join(" ")')" = "true true"
jrun idevid --server "$server" --subject "$subject"
ok_doc idevid "idevid again"
check "idevid again: nothing done, same certificate" test \
    "$(jf '[.already_provisioned, .key_created, .serial] | join(" ")')" = "true false $(serial_of "$work/idevid-chain.pem")"

# --- cacerts: into a file, onto stdout (as PEM inside the document), a bad fingerprint
jrun cacerts --server "$server" --out "$work/ca.pem"
ok_doc cacerts "cacerts --out"
check "cacerts: count, out ($out)" test "$(jf '[.count, .out] | join(" ")')" = "1 $work/ca.pem"
check "cacerts: the fingerprint is the file's" test "$(jf '.certificates[0].sha256')" = "$(sha256_of "$work/ca.pem")"
jrun cacerts --server "$server"
ok_doc cacerts "cacerts to stdout"
check "cacerts: the PEM in the document is the CA's" \
    cmp -s <(jf '.certificates[0].pem' | openssl x509) <(openssl x509 -in "$pki/oem-ca.pem")
fp=$(sha256_of "$pki/oem-ca.pem")
jrun cacerts --server "$server" --fingerprint "$fp"
ok_doc cacerts "cacerts bootstrap"
check "cacerts bootstrap: the fingerprint matched" test "$(jf '[.bootstrap, .certificates[0].sha256] | join(" ")')" = "true $fp"
jrun cacerts --server "$server" --fingerprint nothex
error_doc cacerts 2 "cacerts with a malformed fingerprint"
check "cacerts error: says why" grep -q fingerprint <<<"$(jf .error)"
est_server_stop

# --- ldevid
owner_server
jrun ldevid --server "$server" --trust "$work/no-such-file"
check "ldevid with a missing trust anchor: exit 2 and one JSON document" \
    bash -c '[[ $1 == 2 && $(jq -s length <<<"$2") == 1 ]]' _ "$rc" "$out"
check "ldevid error object ($out)" test "$(jf '[.command, .ok, .exit_code] | join(" ")')" = "ldevid false 2"
jrun ldevid --server "$server"
ok_doc ldevid "ldevid"
lchain=$DEVID_STORE/ldevid-chain.pem
check "ldevid: stored in its file, which is the chain file ($out)" test \
    "$(jf '[.identity, .stored.file, .chain_file, .key_created, (.iak // "-")] | join(" ")')" = "LDevID $lchain $lchain true -"
check "ldevid: the certificate's fields are the chain file's" cert_matches "$lchain"

# --- enroll NAME
jrun enroll 'not a name!' --server "$server"
error_doc enroll 2 "enroll with a bad name"
check "enroll error: says why" grep -q "NAME" <<<"$(jf .error)"
jrun enroll web --server "$server"
ok_doc enroll "enroll web"
chain=$DEVID_STORE/web-chain.pem
check "enroll: name and chain file ($out)" test "$(jf '[.name, .chain_file, .already_enrolled] | join(" ")')" = "web $chain false"
check "enroll: the certificate's fields are the chain file's" cert_matches "$chain"
check "enroll: subject CN=web ($(jf .subject))" grep -q "CN=web" <<<"$(jf .subject)"
jrun enroll web --server "$server"
ok_doc enroll "enroll web again"
check "enroll again: already enrolled, same certificate" test \
    "$(jf '[.already_enrolled, .serial] | join(" ")')" = "true $(serial_of "$chain")"

# --- renew: not due, renewed, re-keyed, an unknown name, a broken identity, a failure
jrun renew --server "$server"
ok_doc renew "renew, nothing due"
check "renew: every identity not due, with its due time ($out)" test \
    "$(jf '[.identities[] | "\(.name)=\(.action):\(.due | test("^[0-9-]+T[0-9:]+Z$"))"] | sort | join(" ")')" = \
    "LDevID=not-due:true web=not-due:true"
ser0=$(serial_of "$chain")
write_conf <<CONF
[renew]
hook = echo hook-ran-for-\$DEVID_RENEWED
CONF
jrun renew --server "$server" --force web
write_conf </dev/null
ok_doc renew "renew --force web (the hook writing to its standard output)"
check "renew: the hook ran, its output on stderr ($(head -c 300 <<<"$err"))" grep -q "hook-ran-for-web" <<<"$err"
check "renew: web renewed ($out)" test "$(jf '[.identities[] | "\(.name)=\(.action)"] | join(" ")')" = "web=renewed"
check "renew: and its certificate really is new" test "$(serial_of "$chain")" != "$ser0"
pub0=$(openssl x509 -in "$chain" -noout -pubkey)
jrun renew --server "$server" --force --rekey web
ok_doc renew "renew --force --rekey web"
check "renew: web re-keyed ($out)" test "$(jf '[.identities[] | "\(.name)=\(.action)"] | join(" ")')" = "web=re-keyed"
check "renew: and its key really is new" test "$(openssl x509 -in "$chain" -noout -pubkey)" != "$pub0"
jrun renew --server "$server" no-such-identity
error_doc renew 2 "renew of an unknown name"
check "renew unknown name: says so" grep -q "not every name" <<<"$(jf .error)"
jrun renew --bogus
error_doc renew 2 "renew with an unknown option"
check "renew bad option: says so ($out)" grep -q "bad option" <<<"$(jf .error)"
jrun renew --server "https://127.0.0.1:9" --force web
check "renew against no server: exit 5 (rc $rc)" test "$rc" -eq 5
check "renew failed: one document ($out)" one_doc
check "renew failed: web failed with the error, exit code in the document ($out)" test \
    "$(jf '[.ok, .exit_code, (.identities[] | select(.name=="web") | .action), (.identities[0].error | length > 0)] | join(" ")')" = "false 5 failed true"
cp "$chain" "$DEVID_STORE/ghost-chain.pem" # a chain file with nothing behind it
jrun renew --server "$server"
check "renew with a broken identity: exit 1 (rc $rc)" test "$rc" -eq 1
check "renew broken: one document ($out)" one_doc
check "renew broken: ghost listed as broken with why ($out)" test \
    "$(jf '[.ok, .exit_code, (.identities[] | select(.name=="ghost") | .action, (.error | test("gone")))] | join(" ")')" = "false 1 broken true"
rm -f "$DEVID_STORE/ghost-chain.pem"
est_server_stop

# --- retire
jrun retire </dev/null
error_doc retire 2 "retire without --yes"
check "retire error: says how to confirm ($out)" grep -q -- "confirm with --yes" <<<"$(jf .error)"
check "retire refused: the LDevID is still there" test -s "$lchain"
jrun retire --yes </dev/null
ok_doc retire "retire --yes"
check "retire: the LDevID key and certificate file ($out)" test \
    "$(jf '[.removed.ldevid_key, .removed.ldevid_certificate, .kept] | join(" ")')" = "0x81000002 $lchain IDevID"
check "retire: the service identity web and its chain file ($out)" test \
    "$(jf '[.removed.store_objects[] | select(.label=="web") | .key, .certificate, .chain_file] | join(" ")')" = "true true $chain"
check "retire: really gone" bash -c "test ! -e '$chain' && test ! -e '$lchain'"
check "retire: the LDevID really is gone (status)" \
    test "$(status_of ldevid)" = absent
jrun retire --yes </dev/null
ok_doc retire "retire again"
check "retire again: nothing was there ($out)" test \
    "$(jf '[.removed.ldevid_key, .removed.ldevid_certificate, (.removed.store_objects | length)] | map(tostring) | join(" ")')" = "null null 0"

# --- a configuration that cannot be read: every command answers in JSON
for c in status cacerts idevid ldevid enroll renew retire; do
    out=$(DEVID_CONF=/nonexistent/devid.conf enroll --json "$c" 2>/dev/null); rc=$?
    check "$c with an unreadable configuration: an error document (rc $rc: $out)" \
        bash -c '[[ $1 != 0 && $(jq -s length <<<"$2") == 1 && $(jq -r "[.ok, .exit_code] | join(\" \")" <<<"$2") == "false $1" ]]' _ "$rc" "$out"
done
summary enroll-json
