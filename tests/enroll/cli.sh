#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll's command line as people and scripts use it: --version, --help and
# COMMAND --help, global options before or after the command, --json refused (in JSON) by the
# daemon, retire asking for confirmation, RFC 4514 subjects with UTF-8
# that come back as UTF-8.
# usage (under with-swtpm ek-only): cli.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
check_cli() { # check_cli DESCRIPTION EXPECTED-RC REGEX CMD...: exit code and output (both streams)
    local what=$1 want=$2 re=$3 out rc
    shift 3
    out=$("$@" 2>&1); rc=$?
    check "$what (exit $rc, want $want: $(head -c 300 <<<"$out"))" \
        bash -c '[[ $1 == "$2" ]] && grep -Eq -- "$3" <<<"$4"' _ "$rc" "$want" "$re" "$out"
}

check_cli "--version" 0 '^devid-enroll [0-9]+\.[0-9]+\.[0-9]+$' enroll --version
check_cli "--help lists the commands" 0 'retire' enroll --help
for c in status cacerts idevid ldevid enroll renew run retire; do
    check_cli "$c --help" 0 "^usage: devid-enroll \[OPTIONS\] $c" enroll "$c" --help
done
check_cli "help after the command's options" 0 'usage: devid-enroll \[OPTIONS\] renew' \
    enroll renew --rekey --help
check_cli "an unknown command" 2 "unknown command 'frob'" enroll frob
check_cli "an unknown option" 2 "unknown option '--frob'" enroll --frob status

# --json before or after the command; refused, as JSON, where there is no JSON form
check "status --json is JSON" bash -c "OPENSSL_MODULES=$modules $enroll_bin status --json | jq -e .identities >/dev/null"
check "--json status is the same" bash -c "diff <(OPENSSL_MODULES=$modules $enroll_bin status --json) \
    <(OPENSSL_MODULES=$modules $enroll_bin --json status)"
# (every other command's JSON: json.sh)
for c in run; do
    out=$(enroll "$c" --json 2>"$work/err"); rc=$?
    check "$c --json: refused (exit $rc)" test "$rc" -eq 2
    check "$c --json: the refusal is JSON ($out)" jq -e '.error | test("json")' <<<"$out"
    check "$c --json: and said on stderr" grep -q "no machine-readable output" "$work/err"
done
out=$(enroll --json $'fr\xffob' 2>/dev/null); rc=$?
check "an unknown command that is not UTF-8: exit 2, parsable JSON ($out)" \
    test "$rc $(jq -r '[.ok, .exit_code, (.error | test("unknown command"))] | join(" ")' <<<"$out")" = "2 false 2 true"
check_cli "run --help says why it has no --json" 0 'no --json: a daemon' enroll run --help

# the factory step with --server after the command, an RFC 4514 subject: an escaped comma, a
# multi-valued RDN, UTF-8
factory_server
subject=$'O=Soci\u00e9t\u00e9 G\u00e9n\u00e9rale\\, SA,OU=Mod\u00e8le 7,CN=Ger\u00e4t+serialNumber=SN-9'
# EST secret files that others can read or write: refused before anything is sent, naming the
# setting, the file and the fix (exit 2, configuration)
requests() { wc -l <"$work/factory.log" 2>/dev/null || echo 0; }
sent=$(requests)
chmod 644 "$work/password"
check_cli "idevid with a world-readable est.password_file" 2 \
    "est.password_file $work/password \(in $DEVID_FIXTURE/devid.conf\) is readable by every user.*chmod 600 $work/password" \
    enroll idevid --subject "$subject" --server "$server"
chmod 600 "$work/password"
chmod 620 "$work/header"
check_cli "idevid with a group-writable est.header_file" 2 \
    "est.header_file $work/header \(in .*\) is writable by its group.*chmod 600" \
    enroll idevid --subject "$subject" --server "$server"
chmod 602 "$work/header"
check_cli "idevid with a world-writable est.header_file" 2 "est.header_file $work/header .*writable by every user" \
    enroll idevid --subject "$subject" --server "$server"
chmod 640 "$work/header" # readable by its group: allowed
check "... no request reached the server" test "$(requests)" = "$sent"
out=$(enroll idevid --subject "$subject" --server "$server" 2>&1); rc=$?
check "idevid with --server after the command ($out)" test $rc -eq 0
check "idevid prints the subject as UTF-8 ($out)" \
    grep -qF $'Soci\u00e9t\u00e9 G\u00e9n\u00e9rale\\, SA' <<<"$out"
out=$(enroll idevid --json --subject "$subject" --server "$server" 2>/dev/null)
check "idevid --json: the subject as UTF-8 in the JSON text, RFC 4514 escapes JSON-escaped ($out)" \
    grep -qF $'"subject": "CN=Ger\u00e4t+serialNumber=SN-9,OU=Mod\u00e8le 7,O=Soci\u00e9t\u00e9 G\u00e9n\u00e9rale\\\\, SA"' <<<"$out"
out=$(enroll status 2>&1)
check "status prints the subject as UTF-8 ($out)" grep -qF $'CN=Ger\u00e4t+serialNumber=SN-9' <<<"$out"
check "status: no \\XX escapes of UTF-8" bash -c '! grep -q "\\\\C3" <<<"$1"' _ "$out"
est_server_stop

# retire: not on a terminal without --yes: refused, nothing removed
# what retire would remove: the identities (key handle, certificate serial) and the store's files
# (not status's text: its "days left" may tick over between two calls)
identities() {
    enroll --json status | jq -c '[.identities[] | {name, present, key, serial: .certificate.serial}]'
    (cd "$DEVID_STORE" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
before=$(identities)
check_cli "retire without --yes, not on a terminal" 2 'confirm with --yes' enroll retire </dev/null
check "retire refused: nothing changed" test "$(identities)" = "$before"
# on a terminal it asks; anything but "yes" keeps everything
out=$(printf 'no\n' | OPENSSL_MODULES=$modules script -qec "$enroll_bin retire" /dev/null 2>&1); rc=$?
check "retire on a terminal asks ($out)" grep -q "Type 'yes' to confirm" <<<"$out"
check "retire on a terminal: 'no' keeps everything (exit $rc)" test $rc -eq 2
check_cli "retire --yes" 0 '^retired' enroll retire --yes </dev/null
check "retire kept the IDevID" test "$(status_of idevid)" = valid
summary enroll-cli
