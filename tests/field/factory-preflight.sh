#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Nothing half-done in the factory and owner steps: what can be checked without the TPM (the
# EST trust anchors, where the result goes, the server URL) is checked before a key is made
# persistent; a run that fails after making the key (server unreachable) leaves it, and the
# next run enrolls that same key instead of making another.
# usage (under with-swtpm ek-only, then ecc): factory-preflight.sh BUILD_ROOT
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
enroll_bin=$1/enroll/devid-enroll
export OPENSSL_MODULES=$1/ossl-provider

printf 'trust_anchors = %s\n[est]\nmax_attempts = 1\ntimeout = 5\n' "$pki/trust.pem" \
    >"$work/devid.conf"
export DEVID_CONF=$work/devid.conf
server=(--server https://127.0.0.1:9) # nothing listens there: connection refused
persistent() { tpm2_getcap handles-persistent; }
no_handle() { ! persistent | grep -qi "$1"; }
not_in() { ! grep -q -- "$1" "$2"; }

if [[ $variant == ek-only ]]; then
    check_fails "idevid without est.trust_anchor: exit 2, names it" "set est.trust_anchor" \
        "$enroll_bin" "${server[@]}" idevid --subject CN=dev1
    check "... and no key was made" no_handle 0x81020000
    check_fails "idevid with an unreadable trust anchor" "est.trust_anchor /nonexistent" \
        "$enroll_bin" "${server[@]}" --trust /nonexistent idevid --subject CN=dev1
    echo "not a certificate" >"$work/junk.pem"
    check_fails "idevid with a trust anchor that holds no certificate" "no CA certificate" \
        "$enroll_bin" "${server[@]}" --trust "$work/junk.pem" idevid --subject CN=dev1
    check_fails "idevid --out into a missing directory" "directory $work/missing" \
        "$enroll_bin" "${server[@]}" --trust "$pki/trust.pem" idevid --subject CN=dev1 \
        --out "$work/missing/chain.pem"
    check_fails "idevid with a bad --subject" \
        "subject: 'no equals sign' is not TYPE=value" \
        "$enroll_bin" "${server[@]}" --trust "$pki/trust.pem" idevid --subject 'no equals sign'
    printf '[est]\nusername = station\npassword_file = %s/no-password\n' "$work" \
        >>"$work/devid.conf"
    check_fails "idevid with a missing password file" "$work/no-password" \
        "$enroll_bin" "${server[@]}" --trust "$pki/trust.pem" idevid --subject CN=dev1
    sed -i '/^username = station$/d; /^password_file = /d' "$work/devid.conf"
    # attested mode: the factory records go beside the configuration (docs/factory.md "The
    # record"); a station that may not write there is told so before the TPM is touched. Run
    # as nobody (root may write anywhere), with the configuration in a directory root owns.
    if [[ $(id -u) == 0 ]]; then
        ro=$(mktemp -d)
        chmod 0755 "$ro"
        printf 'trust_anchors = %s/trust.pem
[est]
factory_mode = attested
max_attempts = 1
' \
            "$ro" >"$ro/devid.conf"
        cp "$pki/trust.pem" "$ro/trust.pem"
        chmod 0644 "$ro/devid.conf" "$ro/trust.pem"
        rc=0
        DEVID_CONF=$ro/devid.conf setpriv --reuid=65534 --regid=65534 --clear-groups -- \
            "$enroll_bin" "${server[@]}" --trust "$ro/trust.pem" idevid --subject CN=dev1 \
            >"$work/out" 2>&1 || rc=$?
        check "attested idevid, the configuration's directory not writable: exit 2 ($rc)" test $rc -eq 2
        check_match "... the message says where the records go and why not" \
            "records its certificates beside the configuration, in $ro/factory-attested: $ro: Permission denied" \
            cat "$work/out"
        rm -r "$ro"
    else
        echo "# (not root: the unwritable configuration directory is not tried)"
    fi
    check "after all of them: no key at 0x81020000" no_handle 0x81020000
    # Past the checks the key is made; the server is unreachable: the key stays (documented)
    rc=0
    "$enroll_bin" "${server[@]}" --trust "$pki/trust.pem" idevid --subject CN=dev1 \
        >"$work/out" 2>&1 || rc=$?
    check "idevid with the server down fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 2
    check_match "the key made before the enrollment failed stays at 0x81020000" "0x81020000" \
        persistent
    tpm2_readpublic -c 0x81020000 -o "$work/first.pub" >/dev/null
    "$enroll_bin" "${server[@]}" --trust "$pki/trust.pem" idevid --subject CN=dev1 \
        >"$work/out2" 2>&1 || true
    check "the next run reuses it (no new key)" not_in "created key" "$work/out2"
    tpm2_readpublic -c 0x81020000 -o "$work/second.pub" >/dev/null
    check "the same key" cmp "$work/first.pub" "$work/second.pub"
else
    # ldevid: the owner step, authenticated by the IDevID; the LDevID key is removed first
    tpm2_evictcontrol -C o -c 0x81000002 >/dev/null
    rm -f "$DEVID_STORE/ldevid-chain.pem"
    check_fails "ldevid without est.trust_anchor: exit 2, names it" "set est.trust_anchor" \
        "$enroll_bin" "${server[@]}" ldevid
    check_fails "ldevid with a trust anchor that holds no certificate" "no CA certificate" \
        "$enroll_bin" "${server[@]}" --trust /dev/null ldevid
    check_fails "ldevid with an http:// server" "https://" \
        "$enroll_bin" --server http://127.0.0.1:9 --trust "$pki/trust.pem" ldevid
    check "no LDevID key was made" no_handle 0x81000002
fi

summary "factory-preflight-$variant"
