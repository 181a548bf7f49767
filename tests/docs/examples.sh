#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command examples in docs/ work as written. Run under tests/fixture/with-swtpm ecc.
# Usage: examples.sh SOURCE_ROOT
#
# Each example is given here exactly as a doc prints it: `example DOC 'LINE'` first requires
# LINE verbatim in docs/DOC (so a doc edit that breaks the pairing fails here), then runs it.
# The one liberty taken: the installed paths of the module and the provider are the build
# tree's ($M is set to the module in the build tree, OPENSSL_MODULES to the provider's
# directory), and placeholders (<hex CKA_ID>) get real values.
set -uo pipefail
root=${1:?usage: examples.sh SOURCE_ROOT}
: "${DEVID_FIXTURE:?run under tests/fixture/with-swtpm}"
module=${DEVID_PKCS11_MODULE:?DEVID_PKCS11_MODULE not set}
export OPENSSL_MODULES=${DEVID_PROVIDER_DIR:?DEVID_PROVIDER_DIR not set}
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0
failed=0

in_doc() { # DOC LINE: LINE must be in docs/DOC, verbatim
    if ! grep -qF -- "$2" "$root/docs/$1"; then
        echo "FAIL: docs/$1 no longer contains: $2"
        failed=$((failed + 1))
        return 1
    fi
}

# Man pages are checked as a reader sees them: rendered to text, no line wrapping.
for page in devid-pkcs11.7 devid-provider.7; do
    MANWIDTH=250 man -l "$root/docs/$page" 2>/dev/null | col -b >"$work/$page"
done
in_man() { # PAGE LINE: LINE is in the rendered page
    if ! grep -qF -- "$2" "$work/$1"; then
        echo "FAIL: $1 (rendered) no longer contains: $2"
        failed=$((failed + 1))
        return 1
    fi
}

# example DOC LINE [RUN]: LINE is in docs/DOC and RUN (default: LINE) succeeds.
example() {
    local doc=$1 line=$2 run=${3:-$2}
    in_doc "$doc" "$line" || return 0
    if (eval "$run") >"$work/out" 2>&1; then
        echo "ok: $doc: $line"
        passed=$((passed + 1))
    else
        echo "FAIL: $doc: $line"
        sed 's/^/    /' "$work/out"
        failed=$((failed + 1))
    fi
}

# the module by its full path; a bare file name is what the docs must not say
M_line='M=$(pkg-config --variable=p11_module_path p11-kit-1)/devid-pkcs11.so'
in_doc pkcs11.md "$M_line"
in_man devid-pkcs11.7 "$M_line"
M=$module
export M
# (meson's LD_LIBRARY_PATH holds the build tree, where a bare name would be found: not a user's)
if (env -u LD_LIBRARY_PATH pkcs11-tool --module devid-pkcs11.so --list-slots) >/dev/null 2>&1; then
    echo "FAIL: self-check: pkcs11-tool found a module by its bare file name; this test assumes it does not"
    failed=$((failed + 1))
fi
for doc in "$root"/docs/*.md "$root"/README.md; do
    if grep -nE -- '(--module|-D) +devid-pkcs11\.so' "$doc"; then
        echo "FAIL: $(basename "$doc") loads the module by a bare file name (not found as written)"
        failed=$((failed + 1))
    fi
done

echo data >data
echo msg >msg

# docs/pkcs11.md: tools that take a module path
example pkcs11.md 'pkcs11-tool --module "$M" --list-objects'
id=$(pkcs11-tool --module "$M" --list-objects --type privkey 2>/dev/null | awk '/ID:/ { print $2; exit }')
example pkcs11.md 'pkcs11-tool --module "$M" --sign -m ECDSA-SHA256 --id <hex CKA_ID> -i data -o sig' \
    "pkcs11-tool --module \"\$M\" --sign -m ECDSA-SHA256 --id $id -i data -o sig && test -s sig"
example pkcs11.md 'ssh-keygen -D "$M"' 'ssh-keygen -D "$M" | grep -q "ecdsa-sha2-nistp256 .* IDevID"'

# docs/openssl-provider.md: the openssl command line
P="-provider devid -provider default"
export P
example openssl-provider.md 'openssl pkey $P -in devid:object=IDevID -pubout'
example openssl-provider.md 'openssl pkey $P -in devid:object=IDevID -text -noout'
example openssl-provider.md 'openssl req $P -new -key devid:object=LDevID -subj /CN=dev42 -out dev42.csr' \
    'openssl req $P -new -key devid:object=LDevID -subj /CN=dev42 -out dev42.csr && openssl req -in dev42.csr -verify -noout'
openssl storeutl $P -certs 'devid:object=LDevID;type=cert' 2>/dev/null |
    sed -n '/^-----BEGIN /,/^-----END /p' >ldevid.pem
example openssl-provider.md 'openssl cms $P -sign -signer ldevid.pem -inkey devid:object=LDevID -in msg -out msg.p7m'
example openssl-provider.md 'openssl pkeyutl $P -sign -inkey devid:object=IDevID -rawin -digest sha256 -in msg -out msg.sig'
example openssl-provider.md "openssl storeutl -provider devid -provider default -certs 'devid:object=IDevID;type=cert' \\" \
    "openssl storeutl -provider devid -provider default -certs 'devid:object=IDevID;type=cert' |
         sed -n '/^-----BEGIN /,/^-----END /p' > idevid.pem && openssl x509 -in idevid.pem -noout"
example openssl-provider.md '    -algorithm EC -pkeyopt group:P-256 -pkeyopt devid-label:mqtt-client -out client.key' \
    'openssl genpkey -provider devid -provider default -algorithm EC -pkeyopt group:P-256 -pkeyopt devid-label:mqtt-client -out client.key && grep -q "BEGIN TSS2 PRIVATE KEY" client.key'
example openssl-provider.md '    -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt devid-label:web -out web.key' \
    'openssl genpkey -provider devid -provider default -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt devid-label:web -out web.key && openssl pkey $P -in devid:object=web -pubout'
example openssl-provider.md 'default -in devid:object=IDevID -out idevid.key' \
    'openssl pkey -provider devid -provider default -in devid:object=IDevID -out idevid.key && grep -q "^devid:" idevid.key'

# PINs, the standard way (docs/pkcs11.md, docs/design.md); last: it clears the store
example pkcs11.md 'pkcs11-tool --module "$M" --init-token --label DevID --so-pin S' \
    'pkcs11-tool --module "$M" --init-token --label DevID --so-pin 87654321'
example pkcs11.md 'pkcs11-tool --module "$M" --init-pin --pin U --so-pin S' \
    'pkcs11-tool --module "$M" --init-pin --pin 1234 --so-pin 87654321'
example pkcs11.md 'pkcs11-tool --module "$M" --change-pin --pin OLD --new-pin NEW' \
    'pkcs11-tool --module "$M" --change-pin --pin 1234 --new-pin 5678 &&
     pkcs11-tool --module "$M" --login --pin 5678 --list-objects --type privkey | grep -q IDevID'

# configuration examples: the module's C_Initialize reads the file and refuses a bad one (core's
# keys; core skips [est] and [renew]), and test_config FILE parses it as core and devid-enroll
# do (both parsers, and devid-enroll's cross-checks)
test_config=${DEVID_TEST_CONFIG:?DEVID_TEST_CONFIG not set (tests/test_config of the build)}
conf_loads() {
    DEVID_CONF=$1 pkcs11-tool --module "$M" --show-info >/dev/null 2>&1 &&
        "$test_config" "$1" >/dev/null 2>&1
}
printf 'est.sever = https://typo.example.com\n' >bad.conf
printf 'stor = /var/lib/devid\n' >bad-core.conf
for bad in bad.conf bad-core.conf; do
    if conf_loads $bad; then
        echo "FAIL: self-check: a configuration with an unknown key loaded: $(cat $bad)"
        failed=$((failed + 1))
    fi
done
config_example() { # WHAT FILE
    if [[ -s $2 ]] && conf_loads "$2"; then
        echo "ok: $1 loads"
        passed=$((passed + 1))
    else
        echo "FAIL: $1 does not load:"
        sed 's/^/    /' "$2"
        failed=$((failed + 1))
    fi
}
awk '/^## Configuration/ { on = 1 } on && /^```/ { if (n++) exit; next } on && n' \
    "$root/docs/enrollment.md" >enrollment.conf
config_example "enrollment.md's devid.conf" enrollment.conf
sed -n '/^\.SH EXAMPLE/,/^\.EE/p' "$root/docs/devid.conf.5" | sed '1,2d;$d' | sed 's/\\-/-/g' \
    >man.conf
config_example "devid.conf(5)'s EXAMPLE" man.conf

# the man pages' examples are the ones run above
for line in 'pkcs11-tool --module "$M" --list-objects' 'ssh-keygen -D "$M"' \
    'pkcs11-tool --module "$M" --init-token --label DevID --so-pin S' \
    'pkcs11-tool --module "$M" --init-pin --pin U --so-pin S'; do
    in_man devid-pkcs11.7 "$line" && in_doc pkcs11.md "$line"
done
for line in 'openssl pkey $P -in devid:object=IDevID -pubout' \
    'openssl req $P -new -key devid:object=LDevID -subj /CN=dev42 -out dev42.csr' \
    '-pkeyopt devid-label:mqtt-client -out client.key'; do
    in_man devid-provider.7 "$line" && in_doc openssl-provider.md "$line"
done

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
