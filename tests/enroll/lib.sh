# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the enrollment tests (run under tests/fixture/with-swtpm): checks, the EST
# client configuration, and starting the two test EST servers of the zero-touch story.
#   . tests/enroll/lib.sh BUILD_DIR
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../est-server/lib.sh
. "$src/tests/est-server/lib.sh"
# The devid provider is found through OPENSSL_MODULES, given only to the commands that load it
# (the Python test server's own OpenSSL must not see it).
modules=$build/ossl-provider
enroll_bin=$build/enroll/devid-enroll
enroll() { OPENSSL_MODULES=$modules "$enroll_bin" "$@"; }
# An ASan build of the provider inside the uninstrumented openssl needs the sanitizer runtime
# preloaded; openssl's own allocations are not ours to judge (devid-enroll keeps leak checks).
ossl_preload=
if [[ $(ldd "$modules/devid.so") == *libasan* ]]; then
    ossl_preload=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)
fi
ossl() {
    if [ -n "$ossl_preload" ]; then
        LD_PRELOAD=$ossl_preload ASAN_OPTIONS=detect_leaks=0 OPENSSL_MODULES=$modules openssl "$@"
    else
        OPENSSL_MODULES=$modules openssl "$@"
    fi
}
pki=$DEVID_FIXTURE/pki
work=$DEVID_FIXTURE/est
mkdir -p "$work"
# check, check_fails NAME PATTERN CMD..., check_out, check_match, summary NAME
# shellcheck source=../lib/check.sh
. "$src/tests/lib/check.sh"

# The device trusts the OEM and owner roots for its identities, and the EST servers'
# certificates are issued by those same CAs.
cat "$pki/oem-ca.pem" "$pki/owner-ca.pem" >"$work/est-trust.pem"
printf 'station-secret\n' >"$work/password"
printf 'X-Station-Token: t0k3n\n' >"$work/header"
chmod 600 "$work/password" "$work/header"
# the fixture's hierarchy auth settings (the -hauth variants), kept in every config written
hierarchy_auth=$(grep '_auth_file = ' "$DEVID_FIXTURE/devid.conf" || true)
write_conf() { # extra lines on stdin are appended
    {
        printf 'trust_anchors = %s\n' "$pki/trust.pem"
        [[ -z $hierarchy_auth ]] || printf '%s\n' "$hierarchy_auth"
        printf '[est]\ntrust_anchor = %s\nusername = station\npassword_file = %s\n' \
            "$work/est-trust.pem" "$work/password"
        printf 'header_file = %s\ntimeout = 3\nmax_attempts = 3\n' "$work/header"
        printf 'retry_base_ms = 100\nretry_cap_ms = 400\n'
        cat
    } >"$DEVID_FIXTURE/devid.conf"
}
write_conf </dev/null

# Each server records every request it gets, headers included, in its own log (JSON lines,
# appended): $work/factory.log and $work/owner.log. What a server received is the test's
# evidence of what the device sent it.
factory_server() { # the OEM's station server: HTTP Basic + a header secret
    est_server_start "$work" --ca-cert "$pki/oem-ca.pem" --ca-key "$pki/oem-ca.key" \
        --basic station:station-secret --header 'X-Station-Token: t0k3n' \
        --log "$work/factory.log" "$@"
    server=https://localhost:$EST_PORT
}

owner_server() { # the owner's server: TLS client certificates from the IDevID or LDevID
    est_server_start "$work" --ca-cert "$pki/owner-ca.pem" --ca-key "$pki/owner-ca.key" \
        --client-ca "$pki/oem-ca.pem" --client-ca "$pki/owner-ca.pem" --require tls \
        --log "$work/owner.log" "$@"
    server=https://localhost:$EST_PORT
}

# One line per request of a server log: op, HTTP status, the Authorization scheme sent ("-"
# for none), whether the station's header secret was sent (yes/no), the client certificate
# sent ("-" for none).
received() { # received LOGFILE: the requests in the order they arrived
    jq -s -r 'sort_by(.seq // 0)[] | select(.op != null) |
        [.op, (.status // "none" | tostring),
         ([.headers[] | select(.[0] | ascii_downcase == "authorization") | .[1] | split(" ")[0]]
            | if length == 0 then "-" else join(",") end),
         (if any(.headers[]; .[0] | ascii_downcase == "x-station-token") then "yes" else "no" end),
         (.client_cert // "-")] | @tsv' "$1"
}
# True if every OP request in LOGFILE carried a Basic or Digest password and the header.
all_secrets() { # all_secrets LOGFILE OP
    received "$1" | awk -F'\t' -v op="$2" '$1 == op {n++; if ($3 == "-" || $4 != "yes") bad++}
        END {exit !(n > 0 && bad == 0)}'
}
# True if no request in LOGFILE (of operation OP, or any) carried a password or the header.
no_secrets() { # no_secrets LOGFILE [OP]
    ! received "$1" | awk -F'\t' -v op="${2:-}" '(op == "" || $1 == op) && ($3 != "-" || $4 != "no")' | grep -q .
}
# The User-Agent values the requests in LOGFILE carried, each once ("-": a request without one).
user_agents() { # user_agents LOGFILE
    jq -s -r '[.[] | select(.op != null) | [.headers[] | select(.[0] | ascii_downcase == "user-agent") | .[1]]
        | if length == 0 then "-" else join(",") end] | unique[]' "$1"
}
# What devid-enroll calls itself in every HTTP request (the version meson gives the test)
user_agent=devid-enroll/${DEVID_PROJECT_VERSION:-unknown-version}
trap est_server_stop EXIT

count_label() { grep -l "^label=$1\$" "$DEVID_STORE"/*.attr 2>/dev/null | wc -l; }
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
serial_of_cert() { openssl x509 -in "$1" -noout -serial; }
status_of() { # status_of NAME → chain status from devid-enroll --json status
    enroll --json status | jq -r ".identities[] | select(.name==\"$1\") | if .present then .chain.status else \"absent\" end"
}
