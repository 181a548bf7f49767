#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A service identity whose key is gone is reported, never skipped: devid-enroll status and renew
# exit 1 and name it (text and JSON). C_InitToken removes a service identity whole, chain file
# included, so afterwards nothing is left to report.
# usage (under with-swtpm ecc): broken-identity.sh BUILD_ROOT
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
enroll=$1/enroll/devid-enroll
export OPENSSL_MODULES=$1/ossl-provider

# svc1: a store key with its certificate and the chain file devid-enroll writes
check "key" p11 --keypairgen --key-type EC:prime256v1 --label svc1 --id 7a01
p11_pubkey 7a01 >"$work/svc1.pub"
openssl req -new -key <(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256) \
    -subj /CN=svc1 -out "$work/svc1.csr" 2>/dev/null
openssl x509 -req -in "$work/svc1.csr" -force_pubkey "$work/svc1.pub" -CA "$pki/owner-ca.pem" \
    -CAkey "$pki/owner-ca.key" -days 30 -out "$work/svc1.pem" 2>/dev/null
check "certificate" p11 --write-object "$work/svc1.pem" --type cert --id 7a01 --label svc1
cat "$work/svc1.pem" "$pki/owner-ca.pem" >"$DEVID_STORE/svc1-chain.pem"

status() { "$enroll" "$@" status; }
status_any() { "$enroll" status || true; }
renew() { "$enroll" --server https://127.0.0.1:9 renew; }
check "a whole service identity: healthy" status
check "renew: nothing due" renew

check "its key deleted through PKCS#11" p11 --delete-object --type privkey --id 7a01
rc=0
"$enroll" status >"$work/text" || rc=$?
echo "rc=$rc" >>"$work/text"
check_match "status: text names it, exit 1" "svc1 \(service identity\): broken: its key is gone" \
    cat "$work/text"
check_match "status: exit status 1" "^rc=1$" cat "$work/text"
"$enroll" --json status >"$work/json" || true
check_match "status: JSON lists it" "^svc1$" jq -r '.broken_identities[].name' "$work/json"
check_match "status: JSON not healthy" "^false$" jq -r '.healthy' "$work/json"
rc=0
renew >"$work/renew" 2>&1 || rc=$?
echo "rc=$rc" >>"$work/renew"
check_match "renew names it" "svc1: broken: its key is gone" cat "$work/renew"
check_match "renew: exit status 1" "^rc=1$" cat "$work/renew"

# A chain file and nothing else (what an earlier C_InitToken left)
cp "$DEVID_STORE/svc1-chain.pem" "$DEVID_STORE/svc2-chain.pem"
check_match "a lone chain file is reported" "svc2 \(service identity\): broken: its key and certificate are gone" \
    status_any

# C_InitToken takes svc1 whole (its certificate and chain file); svc2 is no store object
check "init token" p11 --init-token --label DevID --so-pin 87654321
check "svc1's chain file went with its group" test ! -e "$DEVID_STORE/svc1-chain.pem"
check "the LDevID's chain file stays" test -e "$DEVID_STORE/ldevid-chain.pem"
rm "$DEVID_STORE/svc2-chain.pem"
check "healthy again" status

summary broken-identity
