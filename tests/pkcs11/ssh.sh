#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OpenSSH with the module: ssh-keygen -D lists the DevID public keys; ssh-agent loads the
# module (ssh-add -s, through ssh-pkcs11-helper) and signs with the TPM keys, checked by
# ssh-keygen -Y verify.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

tool ssh-keygen -D "$M" >"$work/listed" 2>"$work/listed.err" || true
for ident in ek idevid ldevid; do
    [[ -f $pki/$ident.pem ]] || continue
    label=$(sed 's/^ek$/EK/; s/devid$/DevID/; s/^i/I/; s/^l/L/' <<<"$ident")
    cert_pub "$pki/$ident.pem" >"$work/$ident.pem"
    want=$(ssh-keygen -i -m PKCS8 -f "$work/$ident.pem")
    check "ssh-keygen -D lists the $label key" grep -qF "$want $label" "$work/listed"
done

if [[ ( $variant == ecc || $variant == rsa ) && -z ${DEVID_TEST_PRELOAD:-} ]]; then
    # (skipped in sanitizer builds: the setgid ssh-agent ignores LD_PRELOAD)
    printf '#!/bin/sh\necho 1234\n' >"$work/askpass"
    chmod +x "$work/askpass"
    eval "$("${tool_env[@]}" ssh-agent -s -P "$M" -a "$work/agent.sock")" >/dev/null
    trap 'kill "$SSH_AGENT_PID" 2>/dev/null; rm -rf "$work"' EXIT
    check "ssh-add -s (the agent loads the module)" env SSH_ASKPASS="$work/askpass" \
        SSH_ASKPASS_REQUIRE=force DISPLAY=none ssh-add -s "$M"
    ssh-add -L >"$work/agent-keys" 2>/dev/null || true
    echo "signed through ssh-agent" >"$work/data"
    for label in IDevID LDevID; do
        grep " $label\$" "$work/agent-keys" >"$work/key.pub" || true
        check "agent holds the $label key" test -s "$work/key.pub"
        rm -f "$work/data.sig"
        check "$label signs (ssh-keygen -Y sign)" ssh-keygen -Y sign -f "$work/key.pub" -n test \
            "$work/data"
        echo "device $(cut -d' ' -f1,2 "$work/key.pub")" >"$work/allowed"
        check "$label signature verifies" bash -c "ssh-keygen -Y verify -f '$work/allowed' \
            -I device -n test -s '$work/data.sig' <'$work/data'"
    done
fi

summary "pkcs11-ssh-$variant"
