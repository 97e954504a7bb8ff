#!/usr/bin/env bash
#
# Benchmark: handshakes while the certificate is replaced.
#
# Builds the module for Debian's nginx and starts /usr/sbin/nginx with it
# on a private configuration (2 workers, TLS 1.2 and 1.3, no session cache,
# no session tickets, a zone with a store, the API on loopback) in a
# temporary prefix under build/bench/.
#
# The certificates are made there with openssl first: a root CA and four
# chains under it, each with an intermediate of its own and a leaf key of
# its own, EC P-256 and RSA 2048 in turn (p256-1, rsa2048-2, p256-3,
# rsa2048-4), all for localhost and 127.0.0.1; and a leaf certificate of
# its own (its own serial) for every upload (up to 2000). So a leaf served
# with another chain's intermediate, or a certificate older than the last
# upload, can be told from the right one. Then:
#
#   baseline  two client processes do full handshakes (a fresh connection
#             each) for --seconds (30 by default), nothing else happens
#             but that each chain is served for a quarter of the time (EC
#             and RSA keys do not cost the same per handshake; rotation
#             serves them all);
#   rotation  the same two clients, while a new certificate (the chains in
#             turn, so the key type changes at every upload) is uploaded
#             every --interval-ms (100 by default) for --seconds.
#
# Every upload's send and answer time, generation and sha256, and every
# handshake's start, end, result, chain, protocol and cipher are logged
# (scripts/bench/rotation.pl; the times on one monotonic clock), then
# checked:
#
#   failed  handshakes that did not complete (a completed one proves the
#           server held the key of the leaf it presented: the client
#           checked the server's signature, on the ECDHE parameters with
#           TLS 1.2, on the handshake with TLS 1.3, against that leaf);
#   stale   handshakes that started after an upload had been answered 200
#           but presented an older certificate than that upload;
#   mixed   handshakes whose chain (the SHA-256 of every certificate) is
#           not exactly the chain their leaf was uploaded with;
#
# and the handshake rate during rotation is compared with the baseline.
# Exits 1 if any handshake failed, was stale or mixed (or presented a leaf
# that was never uploaded). The prefix is removed on success and kept on
# failure.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--seconds N] [--interval-ms N]\n' \
        "$(basename "$0")"
    printf '%s\n' \
        'Measures the handshake rate without and with a certificate upload' \
        'every N ms, and checks that no handshake failed, got an old' \
        'certificate after an upload was answered, or a mixed chain.'
}

DURATION=30
INTERVAL_MS=100

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --seconds|--interval-ms)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
            if [[ "$1" == --seconds ]]; then
                DURATION="$2"
            else
                INTERVAL_MS="$2"
            fi
            shift 2
            ;;
        *) usage >&2; exit 2 ;;
    esac
done

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root "running nginx with workers as www-data"

ZONE=bench
WORKERS=2
CLIENTS=2
CHAIN_COUNT=4
# leaves made for the rotation at the most; more uploads reuse them
MAX_LEAVES=2000
HELPER="$ROOT/scripts/bench/rotation.pl"

CHAINS=()


# The certificates.

# chain_name J: the name of chain J (1..CHAIN_COUNT), after its leaf key.
chain_name() {
    if (( $1 % 2 )); then
        printf 'p256-%s\n' "$1"
    else
        printf 'rsa2048-%s\n' "$1"
    fi
}

# issue DB CA_NAME EXTENSIONS CSR COUNT: COUNT certificates for CSR from
# the CA CA_NAME (its .crt and .key in WORK), each with a serial of its
# own, in the folder DB; their paths, in issuance order, in DB/issued.txt.
issue() {
    local db="$1" ca="$2" ext="$3" csr="$4" count="$5" i
    local -a csrs=()

    if [[ ! -f "$db/serial" ]]; then
        mkdir -p "$db"
        : > "$db/index.txt"
        # fixed-width hex serials: the file names sort in issuance order
        printf '100000\n' > "$db/serial"
    fi

    for ((i = 0; i < count; i++)); do
        csrs+=("$csr")
    done

    find "$db" -maxdepth 1 -name '*.pem' | sort > "$db/before.txt"
    PALETTE_CA_DB="$db" openssl ca -batch -notext -days 30 \
        -config "$WORK/openssl.cnf" \
        -cert "$WORK/$ca.crt" -keyfile "$WORK/$ca.key" \
        -extfile "$WORK/openssl.cnf" -extensions "$ext" \
        -out /dev/null -infiles "${csrs[@]}" > "$db/ca.log" 2>&1 || {
            cat "$db/ca.log" >&2
            die "openssl ca ($ca) failed"
        }
    find "$db" -maxdepth 1 -name '*.pem' | sort \
        | comm -13 "$db/before.txt" - > "$db/issued.txt"

    [[ "$(wc -l < "$db/issued.txt")" -eq "$count" ]] \
        || die "openssl ca ($ca) issued $(wc -l < "$db/issued.txt")" \
               "certificates, not $count"
}

# make_chains DIR PER_CHAIN: DIR/ca.pem (the root); for every chain NAME,
# DIR/NAME.key and PER_CHAIN chain files DIR/NAME-K.chain.pem (a new leaf,
# then the chain's intermediate); and the manifests DIR/baseline.txt (leaf
# 0 of every chain) and DIR/rotation.txt (the other leaves, the chains in
# turn), lines "NAME CHAIN KEY". Sets CHAINS to the names; the CAs and
# their databases are in WORK, DIR/work.
make_chains() {
    local dir="$1" per="$2" j k name type itype ku
    local -a leaves

    WORK="$dir/work"
    mkdir -p "$WORK"
    openssl_ca "$WORK"

    genkey "$WORK/root.key" ec-P-256
    openssl req -x509 -new -config "$WORK/openssl.cnf" -extensions v3_root \
        -key "$WORK/root.key" -subj "/CN=Palette Bench Root CA" -days 30 \
        -out "$WORK/root.crt" 2>/dev/null || die "cannot make the root CA"
    cp "$WORK/root.crt" "$dir/ca.pem"

    CHAINS=()
    : > "$dir/baseline.txt"
    for ((j = 1; j <= CHAIN_COUNT; j++)); do
        name="$(chain_name "$j")"
        CHAINS+=("$name")
        if (( j % 2 )); then
            type=ec-P-256 itype=rsa-2048 ku=digitalSignature
        else
            type=rsa-2048 itype=ec-P-256
            ku="digitalSignature, keyEncipherment"
        fi

        # the intermediate, of the other key type than its leaf
        genkey "$WORK/int-$j.key" "$itype"
        openssl req -new -config "$WORK/openssl.cnf" -key "$WORK/int-$j.key" \
            -subj "/CN=Palette Bench Intermediate $j" \
            -out "$WORK/int-$j.csr" 2>/dev/null \
            || die "cannot make intermediate $j's request"
        issue "$WORK/db-root" root v3_int "$WORK/int-$j.csr" 1
        cp "$(cat "$WORK/db-root/issued.txt")" "$WORK/int-$j.crt"

        genkey "$dir/$name.key" "$type"
        openssl req -new -config "$WORK/openssl.cnf" -key "$dir/$name.key" \
            -subj "/CN=localhost" -out "$WORK/$name.csr" 2>/dev/null \
            || die "cannot make $name's request"
        PALETTE_KU="$ku" \
            issue "$WORK/db-$j" "int-$j" v3_leaf "$WORK/$name.csr" "$per"

        mapfile -t leaves < "$WORK/db-$j/issued.txt"
        for ((k = 0; k < per; k++)); do
            cat "${leaves[k]}" "$WORK/int-$j.crt" > "$dir/$name-$k.chain.pem"
        done

        printf '%s %s %s\n' "$name" "$dir/$name-0.chain.pem" \
            "$dir/$name.key" >> "$dir/baseline.txt"
    done

    for ((k = 1; k < per; k++)); do
        for name in "${CHAINS[@]}"; do
            printf '%s %s %s\n' "$name" "$dir/$name-$k.chain.pem" \
                "$dir/$name.key"
        done
    done > "$dir/rotation.txt"
}


# The load and the tallies.

# start_clients PHASE SECONDS: the clients' logs are run/PHASE-N.log.
start_clients() {
    local phase="$1" seconds="$2" c

    for ((c = 0; c < CLIENTS; c++)); do
        perl "$HELPER" handshakes "$HTTPS_PORT" "$seconds" \
            > "$PREFIX/run/$phase-$c.log" &
        SCRATCH_BG+=("$!")
    done
}

wait_background() {
    local pid

    for pid in "${SCRATCH_BG[@]}"; do
        wait "$pid" || die "a client ended with status $?"
    done
    SCRATCH_BG=()
}

# rate SECONDS LOG...: completed handshakes per second over the logs.
rate() {
    local secs="$1"
    shift
    awk -v secs="$secs" '$3 == "ok" { n++ }
                             END { printf "%.1f\n", n / secs }' "$@"
}

# Handshake durations in ms, completed ones: median, 99th percentile, max.
latency() {
    awk '$3 == "ok" { print ($2 - $1) / 1000 }' "$@" | sort -n \
        | awk '{ d[NR] = $1 }
               END { if (NR == 0) { print "- - -"; exit }
                     printf "%.2f %.2f %.2f\n", d[int((NR + 1) / 2)],
                            d[int((NR * 99 + 99) / 100)], d[NR] }'
}


# Start.

"$ROOT/scripts/build-module.sh"
need_packages curl openssl jq iproute2 libio-socket-ssl-perl \
    libnet-ssleay-perl

PREFIX="$(scratch_prefix "$BUILD_DIR/bench/rotation")"
scratch_nginx_traps
CERTS="$PREFIX/certs"

UPLOADS=$(( (DURATION * 1000 + INTERVAL_MS - 1) / INTERVAL_MS ))
PER_CHAIN=$(( (UPLOADS + CHAIN_COUNT - 1) / CHAIN_COUNT + 1 ))
if [[ "$((PER_CHAIN * CHAIN_COUNT))" -gt "$MAX_LEAVES" ]]; then
    PER_CHAIN=$((MAX_LEAVES / CHAIN_COUNT))
    warn "$((PER_CHAIN * CHAIN_COUNT - CHAIN_COUNT)) leaves for $UPLOADS" \
        "uploads: later uploads reuse leaves, and a stale handshake that" \
        "presents a reused leaf goes unnoticed"
fi
log "making $CHAIN_COUNT chains and $((PER_CHAIN * CHAIN_COUNT)) leaves" \
    "in $CERTS"
make_chains "$CERTS" "$PER_CHAIN"

free_ports 2 $((20000 + RANDOM % 5000))
HTTPS_PORT="${FREE_PORTS[0]}"
ADMIN_PORT="${FREE_PORTS[1]}"
API_URL="http://127.0.0.1:$ADMIN_PORT/cert"

scratch_nginx_conf "$PREFIX" --ports "$HTTPS_PORT" "$ADMIN_PORT" \
    --zone "$ZONE:1m" --store "$PREFIX/store" --workers "$WORKERS" \
    --user www-data --connections 1024 --no-session-reuse --local-admin
scratch_nginx_test "$PREFIX"
scratch_nginx_start "$PREFIX" "$API_URL"

http_get "$API_URL" "$PREFIX/run/start.json" || die "GET $API_URL failed"
GEN0="$(jq -r .generation "$PREFIX/run/start.json")"
jq -r .certificate "$PREFIX/run/start.json" > "$PREFIX/run/start.pem"

# The chains that may be served: the one at start first, then the uploads.
printf 'initial %s -\n' "$PREFIX/run/start.pem" > "$PREFIX/run/start.txt"
perl "$HELPER" chains "$PREFIX/run/start.txt" "$CERTS/baseline.txt" \
    "$CERTS/rotation.txt" > "$PREFIX/run/chains.txt"

log "nginx master $SCRATCH_MASTER ($WORKERS workers)," \
    "https 127.0.0.1:$HTTPS_PORT, api $API_URL, generation $GEN0"

# The baseline: each chain served in turn, uploaded before the clients run.
BASE_SECS=$(( (DURATION + CHAIN_COUNT - 1) / CHAIN_COUNT ))
: > "$PREFIX/run/uploads-baseline.log"
for name in "${CHAINS[@]}"; do
    log "baseline: $name, $CLIENTS clients, ${BASE_SECS}s, no upload"
    perl "$HELPER" upload "$API_URL" "$CERTS/ca.pem" "$name" \
        "$CERTS/$name-0.chain.pem" "$CERTS/$name.key" \
        >> "$PREFIX/run/uploads-baseline.log" \
        || die "baseline upload of $name failed:" \
               "$(tail -n 1 "$PREFIX/run/uploads-baseline.log")"
    start_clients "baseline-$name" "$BASE_SECS"
    wait_background
done

log "rotation: $CLIENTS clients, ${DURATION}s, an upload every" \
    "${INTERVAL_MS} ms"
start_clients rotation "$DURATION"
perl "$HELPER" uploads "$API_URL" "$DURATION" "$INTERVAL_MS" \
    "$CERTS/ca.pem" "$CERTS/rotation.txt" > "$PREFIX/run/uploads.log" &
SCRATCH_BG+=("$!")
wait_background

http_get "$API_URL" "$PREFIX/run/end.json" \
    || die "GET $API_URL failed at the end"
GEN1="$(jq -r .generation "$PREFIX/run/end.json")"

scratch_nginx_stop


# Tallies.

up_sent="$(wc -l < "$PREFIX/run/uploads.log")"
up_200="$(awk '$3 == 200' "$PREFIX/run/uploads.log" | wc -l)"
up_other="$(awk '$3 != 200 { print $3 }' "$PREFIX/run/uploads.log" \
            | sort | uniq -c | awk '{ print $2 " x" $1 }' | paste -sd ' ')"
read -r up_p50 up_p99 up_max < <(
    awk '$3 == 200 { print ($2 - $1) / 1000 }' "$PREFIX/run/uploads.log" \
        | sort -n | awk '{ d[NR] = $1 }
            END { if (NR == 0) { print "- - -"; exit }
                  printf "%.1f %.1f %.1f\n", d[int((NR + 1) / 2)],
                         d[int((NR * 99 + 99) / 100)], d[NR] }')
# The generations answered must grow by one, upload after upload.
gen_gaps="$(awk '$3 == 200 { if (prev != "" && $4 != prev + 1) n++
                             prev = $4 }
                 END { print n + 0 }' "$PREFIX/run/uploads.log")"

base_logs=("$PREFIX"/run/baseline-*.log)
rot_logs=("$PREFIX"/run/rotation-*.log)

declare -A base rot
while read -r k v; do base[$k]="$v"; done < <(
    perl "$HELPER" check "$PREFIX/run/chains.txt" \
        "$PREFIX/run/uploads-baseline.log" "${base_logs[@]}")
while read -r k v; do rot[$k]="$v"; done < <(
    perl "$HELPER" check "$PREFIX/run/chains.txt" \
        <(cat "$PREFIX/run/uploads-baseline.log" "$PREFIX/run/uploads.log") \
        "${rot_logs[@]}")

base_rate="$(rate "$((BASE_SECS * CHAIN_COUNT))" "${base_logs[@]}")"
rot_rate="$(rate "$DURATION" "${rot_logs[@]}")"
ratio="$(awk -v a="$rot_rate" -v b="$base_rate" \
         'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "-" }')"
per_chain="$(
    for name in "${CHAINS[@]}"; do
        printf '%s %s/s\n' "$name" \
            "$(rate "$BASE_SECS" "$PREFIX/run/baseline-$name"-*.log)"
    done | paste -sd ' '
)"
read -r base_p50 base_p99 base_max < <(latency "${base_logs[@]}")
read -r rot_p50 rot_p99 rot_max < <(latency "${rot_logs[@]}")

# "a:1,b:2" as "a 1, b 2"
pairs() {
    sed 's/:/ /g; s/,/, /g' <<<"$1"
}

# "PROTOCOL/CIPHER:N,..." as aligned lines "PROTOCOL CIPHER N", the first
# after "key exchange", the others under it.
kx_lines() {
    tr ',' '\n' <<<"$1" \
        | awk -F '[/:]' '{ printf "%s%-7s  %-30s %7s\n",
                                  NR == 1 ? "" : sprintf("%28s", ""),
                                  $1, $2, $3 }'
}

bad=0
problems=()
for k in failed stale mixed unknown; do
    total=$(( ${base[$k]} + ${rot[$k]} ))
    if [[ "$total" -ne 0 ]]; then
        bad=1
        problems+=("$k: $total (first: baseline ${base[first_$k]:--}, rotation ${rot[first_$k]:--})")
    fi
done
# Every TLS 1.2 handshake must have had a key exchange signed by the leaf.
unsigned="$(awk -v RS=, '/^TLSv1\.2\// && !/^TLSv1\.2\/ECDHE-/ {
                            printf "%s ", $0 }' <<<"${base[kx]},${rot[kx]}")"
if [[ -n "$unsigned" ]]; then
    bad=1
    problems+=("TLS 1.2 handshakes without ECDHE: $unsigned")
fi
if [[ "$up_200" -eq 0 ]]; then
    bad=1
    problems+=("no upload was answered 200")
fi
if [[ "$gen_gaps" -ne 0 ]]; then
    bad=1
    problems+=("$gen_gaps uploads answered 200 with a generation not one more than the previous")
fi


# Summary.

cat <<EOF

bench-rotation: $WORKERS workers, $CLIENTS clients, full handshakes
(TLS 1.2 with ECDHE and TLS 1.3 in turn, no session reuse)
  chains      $CHAIN_COUNT under one root, each with its own intermediate:
              ${CHAINS[*]}; a new leaf for every upload
  baseline    ${BASE_SECS}s for each chain, no upload in between
              handshakes ${base[handshakes]}, failed ${base[failed]}, \
rate $base_rate/s
              per chain: $per_chain
              time in ms: median $base_p50, 99% $base_p99, max $base_max
  rotation    ${DURATION}s
              handshakes ${rot[handshakes]}, failed ${rot[failed]}, \
rate $rot_rate/s
              time in ms: median $rot_p50, 99% $rot_p99, max $rot_max
              stale ${rot[stale]}, mixed ${rot[mixed]}, \
unknown leaf ${rot[unknown]}
              presented: $(pairs "${rot[presented]}")
              key exchange  $(kx_lines "${rot[kx]}")
  uploads     every ${INTERVAL_MS} ms: sent $up_sent, answered 200 \
$up_200${up_other:+, other: $up_other}
              time to 200 in ms: median $up_p50, 99% $up_p99, max $up_max
  generation  $GEN0 at start, $GEN1 at the end
  rate        rotation / baseline = $ratio
EOF

if [[ "$bad" -ne 0 ]]; then
    printf '  problems\n'
    printf '    %s\n' "${problems[@]}"
    printf 'FAILED (%s; prefix kept: %s)\n' "$(elapsed)" "$PREFIX"
    exit 1
fi

rm -rf "$PREFIX"
printf 'OK (%s)\n' "$(elapsed)"
