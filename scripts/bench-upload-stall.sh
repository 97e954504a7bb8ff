#!/usr/bin/env bash
#
# Benchmark: does an upload stall the other connections of its worker?
#
# Builds the module for Debian's nginx and starts /usr/sbin/nginx with it
# on a private configuration in a temporary prefix under build/bench/:
# one worker (worker_processes 1, so that whatever the upload does in the
# worker's event loop delays every handshake), TLS 1.2 and 1.3, no session
# cache, no session tickets, a zone whose store is a folder on the disk
# (so the store's fsync() calls are paid), the API on loopback.
#
# The certificates are made with openssl first: a root CA, an intermediate
# and two leaves for localhost and 127.0.0.1, every key RSA 4096, so that
# an upload is a realistic one whose validation costs what a large chain
# costs.  Then, for --rounds rounds (2 by default):
#
#   quiet    one client does full handshakes (a fresh connection each, TLS
#            1.2 with ECDHE and TLS 1.3 in turn; scripts/bench/rotation.pl)
#            for --seconds (20 by default), nothing else happens;
#   uploads  the same client, while the two leaves are uploaded in turn,
#            each chain with its key and the root as "ca", one upload every
#            --interval-ms (100 by default).
#
# Each handshake's time, from connect() to the end of the handshake, is
# logged; the 99th percentile of the quiet rounds and of the upload rounds
# are printed side by side with their ratio.  Target: ratio at most 1.5.
# Prints PASS or MISS; exits 1 only if the benchmark could not run, a
# handshake failed, or an upload was not answered 200.  The prefix is
# removed on success and kept on failure.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h] [--seconds N] [--interval-ms N] [--rounds N]' \
        'Compares the 99th percentile of handshake times of one nginx worker' \
        'without uploads and with an RSA 4096 upload every N ms.' \
        '  --seconds N      length of each phase (default 20)' \
        '  --interval-ms N  time between two uploads (default 100)' \
        '  --rounds N       quiet and upload phases, in turn (default 2)'
}

DURATION=20
INTERVAL_MS=100
ROUNDS=2

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --seconds|--interval-ms|--rounds)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
            case "$1" in
                --seconds) DURATION="$2" ;;
                --interval-ms) INTERVAL_MS="$2" ;;
                *) ROUNDS="$2" ;;
            esac
            shift 2
            ;;
        *) usage >&2; exit 2 ;;
    esac
done

need_root "running nginx with its worker as www-data"

ZONE=stall
TARGET=1.5
HELPER="$ROOT/scripts/bench/rotation.pl"


# The certificates.

# sign CSR CA EXTENSIONS OUT: OUT, issued for CSR by the CA named CA (its
# .crt and .key in the same folder), with the extensions of that section.
sign() {
    local dir
    dir="$(dirname "$1")"

    openssl x509 -req -in "$1" -CA "$dir/$2.crt" -CAkey "$dir/$2.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
        -extfile "$dir/openssl.cnf" -extensions "$3" -out "$4" \
        2>/dev/null || die "openssl x509 -req ($2, $3) failed"
}

# make_chains DIR: DIR/ca.pem (the root), DIR/leaf-N.chain.pem (a leaf and
# the intermediate) and DIR/leaf-N.key for N = 1, 2, and the manifest
# DIR/uploads.txt, lines "NAME CHAIN KEY".
make_chains() {
    local dir="$1" n

    mkdir -p "$dir"
    openssl_ca "$dir"
    # RSA leaves: the key may encrypt as well as sign
    export PALETTE_KU="digitalSignature, keyEncipherment"

    genkey "$dir/root.key" rsa-4096
    openssl req -x509 -new -config "$dir/openssl.cnf" -extensions v3_root \
        -key "$dir/root.key" -sha256 -days 30 \
        -subj "/CN=Palette Stall Root CA" \
        -out "$dir/root.crt" 2>/dev/null || die "cannot make the root CA"
    cp "$dir/root.crt" "$dir/ca.pem"

    genkey "$dir/int.key" rsa-4096
    openssl req -new -config "$dir/openssl.cnf" -key "$dir/int.key" \
        -subj "/CN=Palette Stall Intermediate" -out "$dir/int.csr" \
        2>/dev/null || die "cannot make the intermediate's request"
    sign "$dir/int.csr" root v3_int "$dir/int.crt"

    : > "$dir/uploads.txt"
    for n in 1 2; do
        genkey "$dir/leaf-$n.key" rsa-4096
        openssl req -new -config "$dir/openssl.cnf" -key "$dir/leaf-$n.key" \
            -subj "/CN=localhost" \
            -out "$dir/leaf-$n.csr" 2>/dev/null \
            || die "cannot make leaf $n's request"
        sign "$dir/leaf-$n.csr" int v3_leaf "$dir/leaf-$n.crt"
        cat "$dir/leaf-$n.crt" "$dir/int.crt" > "$dir/leaf-$n.chain.pem"
        printf 'leaf-%s %s %s\n' "$n" "$dir/leaf-$n.chain.pem" \
            "$dir/leaf-$n.key" >> "$dir/uploads.txt"
    done
}


# The figures.

# percentiles LOG...: the times in ms of the completed handshakes of the
# logs: "MEDIAN P99 MAX COUNT".
percentiles() {
    awk '$3 == "ok" { print ($2 - $1) / 1000 }' "$@" | sort -n \
        | awk '{ d[NR] = $1 }
               END { if (NR == 0) { print "- - - 0"; exit }
                     printf "%.2f %.2f %.2f %d\n", d[int((NR + 1) / 2)],
                            d[int((NR * 99 + 99) / 100)], d[NR], NR }'
}

# failed LOG...: the number of handshakes that did not complete.
failed() {
    awk '$3 != "ok" { n++ } END { print n + 0 }' "$@"
}


# Start.

"$ROOT/scripts/build-module.sh"
need_packages openssl curl jq iproute2 libio-socket-ssl-perl \
    libnet-ssleay-perl

PREFIX="$(scratch_prefix "$BUILD_DIR/bench/upload-stall")"
scratch_nginx_traps
CERTS="$PREFIX/certs"

log "making an RSA 4096 root, intermediate and two leaves in $CERTS"
make_chains "$CERTS"

free_ports 2 $((20000 + RANDOM % 5000))
HTTPS_PORT="${FREE_PORTS[0]}"
ADMIN_PORT="${FREE_PORTS[1]}"
API_URL="http://127.0.0.1:$ADMIN_PORT/cert"

scratch_nginx_conf "$PREFIX" --ports "$HTTPS_PORT" "$ADMIN_PORT" \
    --zone "$ZONE:1m" --store "$PREFIX/store" --workers 1 \
    --user www-data --no-session-reuse --local-admin
scratch_nginx_test "$PREFIX"
scratch_nginx_start "$PREFIX" "$API_URL"

# Both phases serve the same kind of certificate: an RSA 4096 leaf.
perl "$HELPER" upload "$API_URL" "$CERTS/ca.pem" leaf-1 \
    "$CERTS/leaf-1.chain.pem" "$CERTS/leaf-1.key" \
    > "$PREFIX/run/first-upload.log" \
    || die "the first upload failed: $(cat "$PREFIX/run/first-upload.log")"

log "nginx master $SCRATCH_MASTER (1 worker), https 127.0.0.1:$HTTPS_PORT," \
    "api $API_URL, store $PREFIX/store"

for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round/$ROUNDS: quiet, ${DURATION}s"
    perl "$HELPER" handshakes "$HTTPS_PORT" "$DURATION" \
        > "$PREFIX/run/quiet-$round.log"

    log "round $round/$ROUNDS: an upload every ${INTERVAL_MS} ms," \
        "${DURATION}s"
    perl "$HELPER" handshakes "$HTTPS_PORT" "$DURATION" \
        > "$PREFIX/run/uploads-hs-$round.log" &
    SCRATCH_BG+=("$!")
    perl "$HELPER" uploads "$API_URL" "$DURATION" "$INTERVAL_MS" \
        "$CERTS/ca.pem" "$CERTS/uploads.txt" \
        > "$PREFIX/run/uploads-$round.log"
    for pid in "${SCRATCH_BG[@]}"; do
        wait "$pid" || die "the handshake client ended with status $?"
    done
    SCRATCH_BG=()
done

scratch_nginx_stop


# Summary.

quiet_logs=("$PREFIX"/run/quiet-*.log)
busy_logs=("$PREFIX"/run/uploads-hs-*.log)
upload_logs=("$PREFIX"/run/uploads-[0-9]*.log)

read -r q_p50 q_p99 q_max q_n < <(percentiles "${quiet_logs[@]}")
read -r u_p50 u_p99 u_max u_n < <(percentiles "${busy_logs[@]}")
q_failed="$(failed "${quiet_logs[@]}")"
u_failed="$(failed "${busy_logs[@]}")"

up_sent="$(cat "${upload_logs[@]}" | wc -l)"
up_200="$(awk '$3 == 200' "${upload_logs[@]}" | wc -l)"
up_p50="$(awk '$3 == 200 { print ($2 - $1) / 1000 }' "${upload_logs[@]}" \
          | sort -n | awk '{ d[NR] = $1 }
                           END { if (NR) printf "%.1f", d[int((NR + 1) / 2)];
                                 else print "-" }')"

ratio="$(awk -v a="$u_p99" -v b="$q_p99" \
         'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
verdict="$(awk -v r="$ratio" -v t="$TARGET" \
           'BEGIN { print (r != "-" && r <= t) ? "PASS" : "MISS" }')"

cat <<EOF

bench-upload-stall: 1 worker, 1 client doing full handshakes (TLS 1.2 with
ECDHE and TLS 1.3 in turn, no session reuse), RSA 4096 chains, store on disk
$(printf '%-10s %12s %12s %12s %10s %8s' phase 'median ms' 'p99 ms' \
    'max ms' handshakes failed)
$(printf '%-10s %12s %12s %12s %10s %8s' quiet "$q_p50" "$q_p99" "$q_max" \
    "$q_n" "$q_failed")
$(printf '%-10s %12s %12s %12s %10s %8s' uploads "$u_p50" "$u_p99" \
    "$u_max" "$u_n" "$u_failed")
uploads     every ${INTERVAL_MS} ms, ${ROUNDS} x ${DURATION}s: sent \
$up_sent, answered 200 $up_200, median time to 200 ${up_p50} ms
p99         uploads / quiet = $ratio (target <= $TARGET): $verdict
EOF

if [[ "$q_failed" -ne 0 || "$u_failed" -ne 0 || "$up_200" -ne "$up_sent" \
      || "$up_sent" -eq 0 ]]
then
    printf 'FAILED: handshakes failed or uploads refused (prefix kept: %s)\n' \
        "$PREFIX"
    exit 1
fi

rm -rf "$PREFIX"
printf 'OK (%s)\n' "$(elapsed)"
