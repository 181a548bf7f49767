# SPDX-License-Identifier: Apache-2.0
# Shared by the PKCS#11 tool tests; sourced, run under tests/fixture/with-swtpm.
# Environment (tests/pkcs11/meson.build): DEVID_PKCS11_MODULE (the module in the build tree),
# DEVID_TEST_PRELOAD (the ASan runtime in sanitizer builds, so uninstrumented tools can
# dlopen the instrumented module), plus the fixture's DEVID_FIXTURE, DEVID_TCTI, ...
set -euo pipefail

M=${DEVID_PKCS11_MODULE:?DEVID_PKCS11_MODULE not set}
variant=$(<"$DEVID_FIXTURE/variant")
pki=$DEVID_FIXTURE/pki
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# check, check_fails NAME PATTERN CMD..., check_out, check_match NAME REGEX CMD..., summary
# shellcheck source=../lib/check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
# bad WHAT: a failed check that is not a command's exit status
bad() { not_ok "$@"; }

# Runs a tool that loads the module (with the sanitizer runtime first in sanitizer builds;
# leaks in the tools themselves are not ours to find).
tool_env=()
if [[ -n ${DEVID_TEST_PRELOAD:-} ]]; then
    tool_env=(env "LD_PRELOAD=$DEVID_TEST_PRELOAD" ASAN_OPTIONS=detect_leaks=0)
fi
tool() {
    "${tool_env[@]}" "$@"
}

p11() {
    tool pkcs11-tool --module "$M" "$@"
}

# decrypts_to WANT ARGS...: pkcs11-tool --decrypt ARGS writes exactly WANT. The plaintext goes to
# a file (-o): OpenSC 0.26 prints notes about OAEP parameters on stdout.
decrypts_to() {
    local want=$1
    shift
    rm -f "$work/decrypted"
    p11 --decrypt "$@" -o "$work/decrypted" && cmp "$want" "$work/decrypted"
}



# The CKA_ID devid gives a key and its certificate: SHA-1 of the subjectPublicKey bits
# (RFC 5280 key identifier method 1), as hex.
cert_id() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER -out "$work/spki.der"
    local line off hl len
    line=$(openssl asn1parse -inform DER -in "$work/spki.der" | grep 'd=1 .*BIT STRING')
    read -r off hl len < <(sed -E 's/^ *([0-9]+):d=1 +hl= *([0-9]+) +l= *([0-9]+).*/\1 \2 \3/' \
        <<<"$line")
    tail -c +$((off + hl + 2)) "$work/spki.der" | head -c $((len - 1)) | sha1sum | cut -c1-40
}

# The certificate's public key as PEM.
cert_pub() {
    openssl x509 -in "$1" -noout -pubkey
}

# The public key of the object with CKA_ID $1 (hex), PEM (tests/pkcs11/p11-pubkey.c).
p11_pubkey() {
    tool "${DEVID_P11_PUBKEY:?}" "$M" "$1"
}

# Tools that link libp11-kit (p11tool, gnutls-cli, p11-kit) hang in libp11-kit's exit-time
# destructor when the ASan runtime is preloaded (glibc's setlocale lock; with or without this
# module), and setgid ssh-agent ignores LD_PRELOAD: meson registers the tests of those tools in
# the normal build only (tests/pkcs11/meson.build); this guard stops a manual run in a sanitizer
# build. The module's own code runs under the sanitizers in keyd-replay, p11-api and the
# pkcs11-tool tests.
needs_unsanitized_tools() {
    if [[ -n ${DEVID_TEST_PRELOAD:-} ]]; then
        echo "SKIP: $1 cannot run with the ASan runtime preloaded"
        exit 77
    fi
}

