#!/usr/bin/env bash
#
# Benchmark: handshakes while the certificate is replaced.
#
# Builds the module for Debian's nginx and starts /usr/sbin/nginx with it
# on a private configuration (2 workers, TLS 1.2 and 1.3, no session cache,
# no session tickets, a zone with a store, the API on loopback) in a
# temporary prefix under build/bench/. Then:
#
#   baseline  two client processes do full handshakes (a fresh connection
#             each) for --seconds (30 by default), nothing else happens
#             but that leaf-a, leaf-b and leaf-c are each served for a third
#             of the time (their keys, EC P-256, RSA 2048 and EC P-384, do
#             not cost the same per handshake; rotation serves them all);
#   rotation  the same two clients, while a new certificate (leaf-a, leaf-b,
#             leaf-c of t/lib/gen-certs.sh in turn) is uploaded every
#             --interval-ms (100 by default) for --seconds.
#
# Every upload's answer time, generation and sha256, and every handshake's
# start, end, result, leaf and chain are logged (scripts/bench/rotation.pl),
# then checked:
#
#   failed  handshakes that did not complete (a completed one proves the
#           server held the key of the leaf it presented);
#   stale   handshakes that started after an upload had been answered 200
#           but presented an older certificate than that upload;
#   mixed   handshakes whose chain is not the one their leaf was uploaded
#           with (or whose leaf's issuer is not the next certificate);
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
CHAINS=(leaf-a leaf-b leaf-c)
SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"
HELPER="$ROOT/scripts/bench/rotation.pl"
CERTS="$BUILD_DIR/bench/certs"

PREFIX=""
MASTER=""
BG_PIDS=()


port_free() {
    [[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}

# Two free loopback ports from 20000 up, in HTTPS_PORT and ADMIN_PORT.
pick_ports() {
    local p=$((20000 + RANDOM % 5000))
    local -a found=()

    while [[ "${#found[@]}" -lt 2 && "$p" -lt 30000 ]]; do
        if port_free "$p"; then
            found+=("$p")
        fi
        p=$((p + 1))
    done

    [[ "${#found[@]}" -eq 2 ]] || die "no free port between 20000 and 30000"

    HTTPS_PORT="${found[0]}"
    ADMIN_PORT="${found[1]}"
    API_URL="http://127.0.0.1:$ADMIN_PORT/cert"
}

write_config() {
    cat > "$PREFIX/conf/nginx.conf" <<EOF
load_module $SO;

user              www-data;
worker_processes  $WORKERS;
master_process    on;
daemon            on;

error_log  logs/error.log notice;
pid        logs/nginx.pid;

events {
    worker_connections  1024;
}

http {
    access_log  off;

    palette_cert_zone  $ZONE:1m  names=localhost,127.0.0.1
                       store=$PREFIX/store;

    server {
        listen       127.0.0.1:$HTTPS_PORT ssl;
        server_name  localhost;

        ssl_protocols        TLSv1.2 TLSv1.3;
        ssl_session_cache    off;
        ssl_session_tickets  off;

        palette_cert  $ZONE;

        location / {
            return  200 "ok\n";
        }
    }

    server {
        listen       127.0.0.1:$ADMIN_PORT;
        server_name  localhost;

        location = /cert {
            allow  127.0.0.1;
            deny   all;

            palette_cert_api  $ZONE;

            client_max_body_size     64k;
            client_body_buffer_size  64k;
        }
    }
}
EOF
}

now_us() {
    local t="$EPOCHREALTIME"

    printf '%s\n' "$(( ${t%.*} * 1000000 + 10#${t#*.} ))"
}

master_pid() {
    local pid

    [[ -f "$PREFIX/logs/nginx.pid" ]] || return 1
    pid="$(cat "$PREFIX/logs/nginx.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

start_nginx() {
    local i code=000

    "$DEBIAN_NGINX" -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" \
        || die "nginx did not start (see $PREFIX/logs/error.log)"

    for ((i = 0; i < 50; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
                "$API_URL" 2>/dev/null || true)"
        if [[ "$code" == 200 ]] && MASTER="$(master_pid)"; then
            return 0
        fi
        sleep 0.1
    done

    die "nginx started but its endpoint does not answer 200 (last: $code)"
}

# TERM, then KILL if the master is still there after 10 s (its workers go
# with it: they watch the master).
stop_nginx() {
    local pid="${MASTER:-}" i

    MASTER=""
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0

    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done

    warn "nginx master $pid still running after 10s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid

    trap - EXIT INT TERM

    for pid in "${BG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done

    stop_nginx
    exit "$rc"
}

# SHA-256 of the DER of every certificate of PEM file "$1", one a line.
pem_chain_sha256() {
    local pem="$1" tmp block

    tmp="$(mktemp -d "$PREFIX/run/split.XXXXXX")"
    awk -v dir="$tmp" '/-----BEGIN CERTIFICATE-----/ { n++ }
                       n { print > sprintf("%s/%03d.pem", dir, n) }' "$pem"
    for block in "$tmp"/*.pem; do
        openssl x509 -in "$block" -outform DER | sha256sum | cut -d' ' -f1
    done
    rm -rf "$tmp"
}

# One CHAINS line for the checker: the leaf, then the whole chain.
chain_line() {
    local -a shas

    mapfile -t shas < <(pem_chain_sha256 "$1")
    printf '%s %s\n' "${shas[0]}" "${shas[*]}"
}

# run_clients PHASE SECONDS: the clients' logs are run/PHASE-N.log.
start_clients() {
    local phase="$1" seconds="$2" c

    for ((c = 0; c < CLIENTS; c++)); do
        perl "$HELPER" handshakes "$HTTPS_PORT" "$seconds" \
            > "$PREFIX/run/$phase-$c.log" &
        BG_PIDS+=("$!")
    done
}

wait_background() {
    local pid

    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" || die "a client ended with status $?"
    done
    BG_PIDS=()
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

mkdir -p "$BUILD_DIR/bench"
bash "$ROOT/t/lib/gen-certs.sh" "$CERTS"

PREFIX="$(mktemp -d "$BUILD_DIR/bench/rotation.XXXXXX")"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The workers (www-data) write the store under the prefix.
chmod 0755 "$PREFIX"
mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/run"

pick_ports
write_config

if ! out="$("$DEBIAN_NGINX" -t -q -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" \
            2>&1)"
then
    printf '%s\n' "$out" >&2
    die "the configuration does not pass nginx -t"
fi

start_nginx

curl -s --max-time 5 -o "$PREFIX/run/start.json" "$API_URL" \
    || die "GET $API_URL failed"
GEN0="$(jq -r .generation "$PREFIX/run/start.json")"
jq -r .certificate "$PREFIX/run/start.json" > "$PREFIX/run/start.pem"

# The chains that may be served: the one at start first, then the uploads.
{
    chain_line "$PREFIX/run/start.pem"
    for name in "${CHAINS[@]}"; do
        chain_line "$CERTS/$name.chain.pem"
        [[ "$(head -c 64 "$CERTS/$name.sha256")" \
           == "$(pem_chain_sha256 "$CERTS/$name.chain.pem" | head -n 1)" ]] \
            || die "$name.sha256 is not the sha256 of $name.chain.pem's leaf"
    done
} > "$PREFIX/run/chains.txt"

log "nginx master $MASTER ($WORKERS workers), https 127.0.0.1:$HTTPS_PORT," \
    "api $API_URL, generation $GEN0"

# The baseline: each chain served in turn, uploaded before the clients run.
BASE_SECS=$(( (DURATION + ${#CHAINS[@]} - 1) / ${#CHAINS[@]} ))
: > "$PREFIX/run/uploads-baseline.log"
for name in "${CHAINS[@]}"; do
    log "baseline: $name, $CLIENTS clients, ${BASE_SECS}s, no upload"
    sent="$(now_us)"
    code="$(curl -s -o "$PREFIX/run/baseline.json" -w '%{http_code}' \
            --max-time 10 -X PUT -F "certificate=@$CERTS/$name.chain.pem" \
            -F "key=@$CERTS/$name.key" -F "ca=@$CERTS/ca.pem" "$API_URL" \
            || true)"
    [[ "$code" == 200 ]] || die "baseline upload of $name answered '$code'"
    printf '%s %s 200 %s %s %s\n' "$sent" "$(now_us)" \
        "$(jq -r .generation "$PREFIX/run/baseline.json")" \
        "$(jq -r .sha256 "$PREFIX/run/baseline.json")" "$name" \
        >> "$PREFIX/run/uploads-baseline.log"
    start_clients "baseline-$name" "$BASE_SECS"
    wait_background
done

log "rotation: $CLIENTS clients, ${DURATION}s, an upload every" \
    "${INTERVAL_MS} ms"
start_clients rotation "$DURATION"
perl "$HELPER" uploads "$API_URL" "$DURATION" "$INTERVAL_MS" "$CERTS" \
    "${CHAINS[@]}" > "$PREFIX/run/uploads.log" &
BG_PIDS+=("$!")
wait_background

curl -s --max-time 5 -o "$PREFIX/run/end.json" "$API_URL" \
    || die "GET $API_URL failed at the end"
GEN1="$(jq -r .generation "$PREFIX/run/end.json")"

stop_nginx


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

base_rate="$(rate "$((BASE_SECS * ${#CHAINS[@]}))" "${base_logs[@]}")"
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

# Leaves presented during rotation, per chain name.
presented="$(
    for name in "${CHAINS[@]}"; do
        printf '%s %s\n' "$(head -c 64 "$CERTS/$name.sha256")" "$name"
    done | awk 'NR == FNR { name[$1] = $2; next }
                $3 == "ok" { n[($4 in name) ? name[$4] : "other"]++ }
                END { for (k in n) printf "%s %d\n", k, n[k] }' \
                - "${rot_logs[@]}" | sort | paste -sd ' '
)"

bad=0
problems=()
for k in failed stale mixed unknown; do
    total=$(( ${base[$k]} + ${rot[$k]} ))
    if [[ "$total" -ne 0 ]]; then
        bad=1
        problems+=("$k: $total (first: baseline ${base[first_$k]:--}, rotation ${rot[first_$k]:--})")
    fi
done
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
(TLS 1.2 and 1.3 in turn, no session reuse)
  baseline    ${BASE_SECS}s each for ${CHAINS[*]}, no upload in between
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
              presented: ${presented:-none}
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
