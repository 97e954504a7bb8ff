#!/usr/bin/env bash
#
# Benchmarks of a zone holding many named certificates (chosen by SNI).
#
# The certificates: scripts/bench/named-certs.py makes, with Debian's
# python3-cryptography, a root and 4 intermediates (EC P-256), for every
# name hNNNNN.bench.test (N = 1..--count) an EC P-256 leaf with a key of
# its own and a second version of it (another serial, key and
# intermediate), for the first --rsa names the same with RSA 2048 keys
# (one name may be covered by one ECDSA and one RSA certificate), and a
# leaf for the zone's default.  They are kept in build/bench/named/certs
# and reused; a larger --count adds to them.  RSA keys are slow to make,
# and the RSA scenarios need a few names only: the zone holds --count EC
# certificates and --rsa RSA ones.
#
# The stores: a zone of every size needed (0, 1, --count / 5 and --count
# named certificates, plus the default) is filled once through the API
# (PUT LOCATION/ID, --jobs at a time) by Debian's nginx with the module,
# and its store folder kept in build/bench/named/stores; every run starts
# from a copy of it.
#
# Modes (all of them when none is given):
#
#   handshake  instructions per full handshake under callgrind, as
#              bench-handshake.sh counts them (--batches of 96 after a
#              warm-up, median), for TLS 1.3 with an EC P-256 chain and
#              TLS 1.2 (ECDHE+aRSA ciphers only) with an RSA 2048 one:
#                static       ssl_certificate with the named certificate's
#                             chain, the client sending its name
#                default-0    the zone's default (the same chain), no
#                             named certificate in the zone
#                default      the same, --count named ones in the zone, an
#                             SNI that matches none of them
#                named        --count named ones, SNI one of them, parsed
#                             by the worker before (a cache hit)
#                miss         the same with cache=1 and the SNI switching
#                             between two names: every handshake parses
#              Targets: named at most +1.0% over static, default at most
#              +0.1%; miss is printed, not judged.
#   start      time from exec of nginx (2 workers, --count stored) to the
#              first handshake that presents the certificate of a named
#              SNI; the same with no named certificate (the SNI gets the
#              default); then time from a reload signal (HUP) to the
#              first handshake on a port only the new configuration
#              listens on that presents the named certificate, with the
#              zone's size unchanged (the zone is kept) and changed (the
#              certificates are carried into a new zone).  --rounds each,
#              median.  Target: under 3 s.
#   memory     zone bytes per named certificate: EC certificates are
#              uploaded (--jobs at a time) into zones (store=off) of two
#              sizes until one is answered 507; the difference of the
#              sizes over the difference of the counts is what one
#              costs.  Target: at most 1.25 x its PEM bytes (chain, key
#              and CA as uploaded) + 512.  Then worker memory (RSS, PSS
#              and private bytes of each of 2 workers,
#              /proc/PID/smaps_rollup) with cache=1000 (less when
#              --count / 5 is under 2000), after two handshakes for every
#              stored name (so that each worker's cache is full), with
#              --count / 5 and with --count stored: the private bytes
#              must not grow with the count (at most +10%).
#   upload     time to the 200 of an upload replacing a named certificate,
#              with one named certificate in the zone and with --count,
#              two nginx side by side (stores on disk), --rounds rounds of
#              --uploads each, interleaved; ratio of the medians.  Target:
#              at most 1.5.
#   rotation   2 workers, --count stored; 2 clients make full handshakes
#              with a name and a key type drawn at random; for --seconds
#              without changes, then while --replacements IDs drawn at
#              random are replaced by their second version (one after the
#              other, --interval-ms apart).  Every handshake is checked
#              (scripts/bench/named.pl check): failed, wrong name (not a
#              certificate of the SNI's name), wrong type, mixed (a chain
#              not exactly the one uploaded with its leaf; a key that does
#              not match the leaf fails the handshake), stale (the
#              replaced version, in a handshake begun after the
#              replacement was answered 200); then every replaced name
#              once more, expecting its new version.  Target: 0 of each.
#
# Prints PASS or MISS for every target; exits 0 either way (1 when the
# benchmark itself could not run, or a rotation check found a problem).
# Work files go to build/bench/named/.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h] [--quick] [--count N] [--rsa N] [--rounds N]' \
        '       [--batches N] [--uploads N] [--seconds N] [--replacements N]' \
        '       [--interval-ms N] [--jobs N]' \
        '       [handshake|start|memory|upload|rotation]...' \
        'Benchmarks a zone with many named certificates chosen by SNI.' \
        '  --count N         named EC certificates stored (default 10000)' \
        '  --rsa N           of these names, how many also have an RSA' \
        '                    certificate (default 100)' \
        '  --rounds N        start, reload and upload rounds (default 3)' \
        '  --batches N       callgrind batches of 96 handshakes (default 7)' \
        '  --uploads N       uploads per upload round (default 20)' \
        '  --seconds N       rotation: the phase without changes (default 10)' \
        '  --replacements N  rotation: IDs replaced (default 1000)' \
        '  --interval-ms N   rotation: time between replacements (default 0)' \
        '  --jobs N          parallel uploads when filling stores (default 4)' \
        '  --quick           --count 1000 --rsa 20 --rounds 2 --batches 3' \
        '                    --uploads 10 --seconds 5 --replacements 200' \
        'Modes: all when none is given (see the head of the script).'
}

COUNT=10000
RSA=100
ROUNDS=3
BATCHES=7
UPLOADS=20
SECONDS_QUIET=10
REPLACEMENTS=1000
INTERVAL_MS=0
JOBS=4
MODES=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --quick)
            COUNT=1000 RSA=20 ROUNDS=2 BATCHES=3 UPLOADS=10 SECONDS_QUIET=5
            REPLACEMENTS=200
            shift
            ;;
        --count|--rsa|--rounds|--batches|--uploads|--seconds|\
        --replacements|--interval-ms|--jobs)
            [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
            case "$1" in
                --count) COUNT="$2" ;;
                --rsa) RSA="$2" ;;
                --rounds) ROUNDS="$2" ;;
                --batches) BATCHES="$2" ;;
                --uploads) UPLOADS="$2" ;;
                --seconds) SECONDS_QUIET="$2" ;;
                --replacements) REPLACEMENTS="$2" ;;
                --interval-ms) INTERVAL_MS="$2" ;;
                *) JOBS="$2" ;;
            esac
            shift 2
            ;;
        handshake|start|memory|upload|rotation) MODES+=("$1"); shift ;;
        *) usage >&2; exit 2 ;;
    esac
done

if [[ "${#MODES[@]}" -eq 0 ]]; then
    MODES=(handshake start memory upload rotation)
fi
if ((COUNT < 10 || RSA < 2 || RSA > COUNT || ROUNDS < 1 || UPLOADS < 2
     || JOBS < 1 || REPLACEMENTS < 1 || BATCHES < 3))
then
    printf '%s\n' 'need --count >= 10, 2 <= --rsa <= --count, and the' \
        'other numbers at least 1 (--uploads at least 2, --batches 3)' >&2
    exit 2
fi

need_root "running nginx with workers as www-data"

WORK="$BUILD_DIR/bench/named"
CERTS="$WORK/certs"
MANIFEST="$WORK/manifest-$COUNT-$RSA.tsv"
STORES="$WORK/stores"
RUN="$WORK/run"
RESULTS="$WORK/results"
HELPER="$ROOT/scripts/bench/named.pl"
CLIENT="$ROOT/scripts/bench/handshakes.pl"
PY=/usr/bin/python3

ZONE=bench
API=/palette/cert
# roughly 6k of zone per certificate, and room to spare
ZONE_MB=$(( (COUNT + RSA) * 6 / 1024 + 4 ))
SMALL=$((COUNT / 5))
# the workers' cache in the memory mode: 1000, the default, unless the
# smaller store could not fill it (each of 2 workers sees about 3/4 of
# the names in two sweeps)
MEM_CACHE=1000
if ((SMALL < 2000)); then
    MEM_CACHE=$((SMALL / 2))
fi

TARGET_NAMED=1.0
TARGET_DEFAULT=0.1
TARGET_START=3
TARGET_UPLOAD=1.5

CALLGRIND_BATCHES="$BATCHES"
CALLGRIND_BATCH=96
CALLGRIND_WARMUP=32


# Instances: every nginx started is stopped at exit, and so is every
# background job.

MASTERS=()

cleanup() {
    local rc=$? pid

    trap - EXIT INT TERM
    scratch_bg_stop
    for pid in "${MASTERS[@]}"; do
        stop_pid "$pid" TERM 20
    done
    exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_instance PREFIX: stops the nginx running from PREFIX.
stop_instance() {
    local pid

    pid="$(master_pid "$1")" || return 0
    stop_pid "$pid" TERM 20
}


# Configurations.

# write_conf PREFIX OPTION...: PREFIX/conf/nginx.conf.
#
#   --https PORT         a TLS port of the server (repeat for more)
#   --admin PORT         the API's port (module only)
#   --store DIR|off      the zone's store (default off)
#   --size SIZE          the zone's size (default ZONE_MB m)
#   --cache N            the zone's cache= (default: not set)
#   --workers N          worker_processes (default 2)
#   --protocols LIST     ssl_protocols (default TLSv1.2 TLSv1.3)
#   --static CHAIN KEY   ssl_certificate and ssl_certificate_key, no module
#   --callgrind          one process in the foreground (master_process off)
write_conf() {
    local prefix="$1"
    local admin="" store=off size="${ZONE_MB}m" cache="" nworkers=2
    local protocols="TLSv1.2 TLSv1.3" chain="" key="" callgrind="" port
    local -a https=() head=()
    shift

    while [[ $# -gt 0 ]]; do
        case "$1" in
            --https) https+=("$2"); shift 2 ;;
            --admin) admin="$2"; shift 2 ;;
            --store) store="$2"; shift 2 ;;
            --size) size="$2"; shift 2 ;;
            --cache) cache="$2"; shift 2 ;;
            --workers) nworkers="$2"; shift 2 ;;
            --protocols) protocols="$2"; shift 2 ;;
            --static) chain="$2"; key="$3"; shift 3 ;;
            --callgrind) callgrind=1; shift ;;
            *) die "write_conf: unknown option '$1'" ;;
        esac
    done

    mkdir -p "$prefix/conf" "$prefix/logs"

    if [[ -z "$chain" ]]; then
        head+=("load_module $MODULE_SO;")
    fi

    {
        if [[ -n "$callgrind" ]]; then
            nginx_conf_main --foreground 1 1024 "${head[@]}"
        else
            nginx_conf_main "$nworkers" 1024 "${head[@]}" "user www-data;"
        fi
        cat <<EOF

http {
    access_log off;

    ssl_protocols        $protocols;
    ssl_session_cache    off;
    ssl_session_tickets  off;

EOF
        if [[ -z "$chain" ]]; then
            printf '    palette_cert_zone %s:%s store=%s%s;\n\n' \
                "$ZONE" "$size" "$store" "${cache:+ cache=$cache}"
        fi

        printf '    server {\n'
        for port in "${https[@]}"; do
            printf '        listen 127.0.0.1:%s ssl;\n' "$port"
        done
        printf '\n'
        if [[ -n "$chain" ]]; then
            printf '        ssl_certificate     %s;\n' "$chain"
            printf '        ssl_certificate_key %s;\n' "$key"
        else
            printf '        palette_cert %s;\n' "$ZONE"
        fi
        cat <<EOF

        location / {
            return 200 "bench\n";
        }
    }
EOF
        if [[ -z "$chain" && -n "$admin" ]]; then
            cat <<EOF

    server {
        listen 127.0.0.1:$admin;

        location $API {
            allow 127.0.0.1;
            deny  all;

            palette_cert_api $ZONE;

            client_max_body_size    64k;
            client_body_buffer_size 64k;
        }
    }
EOF
        fi
        printf '}\n'
    } > "$prefix/conf/nginx.conf"
}

# start_instance PREFIX: starts nginx (daemon) from PREFIX and waits for
# its pid; the master's pid goes to MASTERS and INSTANCE_PID.
start_instance() {
    local prefix="$1"

    : > "$prefix/logs/error.log"
    INSTANCE_PID="$(nginx_daemon "$prefix")"
    MASTERS+=("$INSTANCE_PID")
}

# wait_api URL: until URL answers 200 (30 s at the most).
wait_api() {
    local i

    for ((i = 0; i < 300; i++)); do
        [[ "$(http_code "$1")" == 200 ]] && return 0
        sleep 0.1
    done
    die "$1 does not answer 200"
}

# named_count URL: the number of named certificates the list shows.
named_count() {
    local url="$1" after="" n=0 page

    page="$(mktemp "$RUN/list.XXXXXX")"
    while :; do
        http_get "$url/?limit=1000${after:+&after=$after}" "$page" \
            || die "GET $url/ failed"
        n=$((n + $(jq '.certificates | length' "$page")))
        after="$(jq -r '.next // empty' "$page")"
        [[ -n "$after" ]] || break
    done
    rm -f "$page"
    printf '%s\n' "$n"
}


# The certificates and the stores.

# line_of ID VERSION: the manifest line of a certificate.
line_of() {
    awk -F '\t' -v id="$1" -v v="$2" '$1 == id && $4 == v' "$MANIFEST"
}

# field LINE N: the N-th field of a manifest line.
field() {
    cut -f "$2" <<<"$1"
}

leaf_sha() {
    field "$1" 7 | cut -d, -f1
}

prepare() {
    need_debian_nginx
    need_packages curl jq openssl valgrind iproute2 procps python3 \
        python3-cryptography libio-socket-ssl-perl libnet-ssleay-perl \
        libjson-pp-perl

    "$ROOT/scripts/build-module.sh"

    mkdir -p "$CERTS" "$STORES" "$RUN" "$RESULTS"
    log "certificates: $COUNT names, $RSA with RSA too, in $CERTS"
    "$PY" "$ROOT/scripts/bench/named-certs.py" "$CERTS" "$COUNT" "$RSA" \
        "$MANIFEST" || die "cannot make the certificates"
    DEFAULT_LINE="$(cat "$CERTS/default.tsv")"
}

# subset N OUT: the manifest lines of the first N names, both versions.
subset() {
    awk -F '\t' -v n="$1" \
        '{ k = substr($1, 2, 5) + 0 } k >= 1 && k <= n' "$MANIFEST" > "$2"
}

# ensure_store N: STORES/N, a store with the default's certificate and
# the version 1 certificates of the first N names (N = 1: the first EC
# one only), filled through the API once and kept.
ensure_store() {
    local n="$1" dir="$STORES/$1" ports sum
    local list="$STORES/$1.tsv"
    local -a FREE_PORTS

    if ((n == 1)); then
        awk -F '\t' '$1 == "h00001"' "$MANIFEST" > "$list"
    else
        subset "$n" "$list"
    fi
    sum="$( { sha256sum < "$list"; cat "$CERTS/default.tsv"; } \
            | sha256sum | cut -d' ' -f1)"

    if [[ -f "$dir.ok" && "$(cat "$dir.ok")" == "$sum" && -d "$dir/store" ]]
    then
        return 0
    fi

    log "filling a store with $n named certificates through the API" \
        "($JOBS at a time)"
    rm -rf "$dir" "$dir.ok"
    mkdir -p "$dir/conf" "$dir/logs"
    chmod 0755 "$dir"
    free_ports 2 $((20000 + RANDOM % 5000))
    ports=("${FREE_PORTS[@]}")
    write_conf "$dir" --https "${ports[0]}" --admin "${ports[1]}" \
        --store "$dir/store"
    start_instance "$dir"
    local url="http://127.0.0.1:${ports[1]}$API"
    wait_api "$url"

    perl "$HELPER" upload "$url" "$CERTS/ca.pem" \
        "$(field "$DEFAULT_LINE" 5)" "$(field "$DEFAULT_LINE" 6)" \
        > "$dir/logs/default-upload.log" \
        || die "uploading the default failed"
    perl "$HELPER" seed "$url" "$CERTS/ca.pem" "$list" 1 "$JOBS" \
        > "$dir/logs/seed.log" \
        || die "filling the store failed: $(awk '$3 != 200' \
                "$dir/logs/seed.log" | head -n 3)"

    local got want
    got="$(named_count "$url")"
    want="$(awk -F '\t' '$4 == 1' "$list" | wc -l)"
    [[ "$got" -eq "$want" ]] \
        || die "the list shows $got named certificates, not $want"
    log "filled in $(awk '{ if (!s || $1 < s) s = $1; if ($2 > e) e = $2 }
                      END { printf "%.1f", (e - s) / 1e6 }' \
                      "$dir/logs/seed.log") s"

    stop_instance "$dir"
    printf '%s\n' "$sum" > "$dir.ok"
}

# copy_store N PREFIX: PREFIX/store, a copy of store N.
copy_store() {
    ensure_store "$1"
    rm -rf "$2/store"
    cp -a "$STORES/$1/store" "$2/store"
}

# new_prefix NAME: an empty RUN/NAME.
new_prefix() {
    local dir="$RUN/$1"

    if [[ -d "$dir" ]]; then
        stop_instance "$dir"
        rm -rf "$dir"
    fi
    mkdir -p "$dir/conf" "$dir/logs"
    chmod 0755 "$dir"
    printf '%s\n' "$dir"
}

# check_store PREFIX URL N: the instance shows N named certificates.
check_store() {
    local got

    got="$(named_count "$2")"
    [[ "$got" -eq "$3" ]] \
        || die "nginx in $1 shows $got named certificates, not $3" \
               "(see $1/logs/error.log)"
}

stored_count() {
    awk -F '\t' '$4 == 1' "$STORES/$1.tsv" | wc -l
}


# Figures.

# pct X BASE: (X / BASE - 1) in percent.
pct() {
    calc "($1 / $2 - 1) * 100"
}

verdict() {
    if [[ "$(calc "$1 ? 1 : 0")" -eq 1 ]]; then
        printf 'PASS'
    else
        printf 'MISS'
    fi
}

# summary LINE...: kept for the report at the end.
SUMMARY=()
summary() {
    SUMMARY+=("$@")
}

# kb_of PID FIELD: a field of /proc/PID/smaps_rollup, in kB.
kb_of() {
    awk -v f="$2:" '$1 == f { print $2; found = 1 }
                    END { if (!found) print 0 }' "/proc/$1/smaps_rollup"
}


# 1. Instructions per handshake.

# The scenarios: the name served, its certificate's ID, the client.
declare -A SC_TITLE SC_TLS SC_CIPHERS SC_ID SC_ID2 SC_PROTOCOLS
SCENARIOS=(tls13-ecdsa tls12-rsa)

# scenario NAME TITLE TLS CIPHERS PROTOCOLS ID ID2: one scenario's entries.
scenario() {
    SC_TITLE[$1]="$2"
    SC_TLS[$1]="$3"
    SC_CIPHERS[$1]="$4"
    SC_PROTOCOLS[$1]="$5"
    SC_ID[$1]="$6"
    SC_ID2[$1]="$7"
}

scenarios() {
    local mid=$((COUNT / 2)) rmid=$((RSA / 2))

    scenario tls13-ecdsa "TLS 1.3, ECDSA P-256" 1.3 "" TLSv1.3 \
        "$(printf 'h%05d' "$mid")" "$(printf 'h%05d' $((mid + 1)))"
    scenario tls12-rsa "TLS 1.2, RSA 2048 (ECDHE+aRSA ciphers)" 1.2 \
        "ECDHE+aRSA" TLSv1.2 \
        "$(printf 'h%05d-rsa' "$rmid")" "$(printf 'h%05d-rsa' $((rmid + 1)))"
}

VARIANTS=(static default-0 default named miss)

# callgrind_variant SCENARIO VARIANT: RESULTS/SCENARIO.VARIANT.ir, the
# instructions per handshake of every batch.
callgrind_variant() {
    local scen="$1" variant="$2"
    local line line2 name name2 sni chain key sha sha2 prefix vpid url
    local -a conf tls=(--tls "${SC_TLS[$scen]}") names b
    local res="$RESULTS/$scen.$variant.ir"

    line="$(line_of "${SC_ID[$scen]}" 1)"
    line2="$(line_of "${SC_ID2[$scen]}" 1)"
    name="$(field "$line" 2)"
    name2="$(field "$line2" 2)"
    chain="$(field "$line" 5)"
    key="$(field "$line" 6)"
    sha="$(leaf_sha "$line")"
    sha2="$(leaf_sha "$line2")"
    if [[ -n "${SC_CIPHERS[$scen]}" ]]; then
        tls+=(--ciphers "${SC_CIPHERS[$scen]}")
    fi

    prefix="$(new_prefix "cg-$scen-$variant")"
    free_ports 2 $((20000 + RANDOM % 5000))
    conf=(--callgrind --https "${FREE_PORTS[0]}"
          --protocols "${SC_PROTOCOLS[$scen]}")
    url="http://127.0.0.1:${FREE_PORTS[1]}$API"

    # the SNI: the name, or one of the same length that no certificate
    # has, so that the servers compare on equal terms
    sni="$name"
    case "$variant" in
        static) conf+=(--static "$chain" "$key") ;;
        default-0)
            conf+=(--admin "${FREE_PORTS[1]}" --store "$prefix/store")
            sni="x${name#h}"
            ;;
        default)
            copy_store "$COUNT" "$prefix"
            conf+=(--admin "${FREE_PORTS[1]}" --store "$prefix/store")
            sni="x${name#h}"
            ;;
        named)
            copy_store "$COUNT" "$prefix"
            conf+=(--admin "${FREE_PORTS[1]}" --store "$prefix/store")
            ;;
        miss)
            copy_store "$COUNT" "$prefix"
            conf+=(--admin "${FREE_PORTS[1]}" --store "$prefix/store"
                   --cache 1)
            ;;
    esac
    write_conf "$prefix" "${conf[@]}"

    callgrind_nginx "$prefix" "$prefix/conf/nginx.conf"
    vpid="$CALLGRIND_PID"
    SCRATCH_BG+=("$vpid")

    wait_port "${FREE_PORTS[0]}" "$vpid" 600 \
        || die "$variant nginx under valgrind does not listen" \
               "(see $prefix/valgrind.log, $prefix/logs/error.log)"

    case "$variant" in
        default|default-0)
            wait_port "${FREE_PORTS[1]}" "$vpid" 60 \
                || die "the API does not listen"
            perl "$HELPER" upload "$url" "$CERTS/ca.pem" "$chain" "$key" \
                > "$prefix/logs/upload.log" \
                || die "uploading the default failed"
            ;;
    esac

    # warm-up, checking what is served
    if [[ "$variant" == miss ]]; then
        names=(--sni "$name" --sni "$name2")
        perl "$CLIENT" --port "${FREE_PORTS[0]}" --count 2 "${tls[@]}" \
            --sni "$name2" --sha256 "$sha2" >/dev/null \
            || die "$variant does not serve $name2 its certificate"
    else
        names=(--sni "$sni")
    fi
    perl "$CLIENT" --port "${FREE_PORTS[0]}" --count "$CALLGRIND_WARMUP" \
        "${tls[@]}" --sni "$sni" --sha256 "$sha" >/dev/null \
        || die "$variant ($scen) does not serve the expected certificate" \
               "for SNI $sni"

    callgrind_control -i on "$vpid" >/dev/null 2>&1
    perl "$CLIENT" --port "${FREE_PORTS[0]}" --count 4 "${tls[@]}" \
        "${names[@]}" >/dev/null

    for ((b = 1; b <= CALLGRIND_BATCHES; b++)); do
        callgrind_control -z "$vpid" >/dev/null 2>&1
        perl "$CLIENT" --port "${FREE_PORTS[0]}" \
            --count "$CALLGRIND_BATCH" "${tls[@]}" "${names[@]}" \
            >/dev/null || die "handshakes to $variant under callgrind failed"
        callgrind_control -d "batch$b" "$vpid" >/dev/null 2>&1
    done

    stop_pid "$vpid" TERM 20
    wait "$vpid" 2>/dev/null || true
    SCRATCH_BG=()

    callgrind_batches "$prefix" "$CALLGRIND_BATCH" > "$res"
    [[ "$(wc -l < "$res")" -ge 3 ]] \
        || die "fewer than 3 callgrind batches for $variant (see $prefix)"
    LAST_DUMP[$scen.$variant]="$CALLGRIND_LAST"
}

declare -A LAST_DUMP=() IR=() OWN=()

# annotate SCENARIO VARIANT: the module's functions in the variant's last
# batch, inclusive, with their callees, and what OpenSSL does to install a
# certificate on a connection.
annotate() {
    local dump="${LAST_DUMP[$1.$2]:-}"

    [[ -n "$dump" ]] || return 0
    callgrind_annotate --auto=no --tree=calling --inclusive=yes \
        --threshold=100 "$dump" 2>/dev/null \
        | awk 'BEGIN { RS = ""; ORS = "\n" }
               /\* [^\n]*(ngx_palette_cert|SSL_use_cert_and_key)/ {
                   print
               }' || true
}

# module_ir SCENARIO VARIANT: the instructions per handshake spent in the
# module's two callbacks (client hello and certificate), everything they
# call included, in the variant's last batch.
module_ir() {
    local dump="${LAST_DUMP[$1.$2]:-}"

    if [[ -z "$dump" || "$2" == static ]]; then
        printf -- '-'
        return 0
    fi
    callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$dump" \
        2>/dev/null \
        | awk -v n="$CALLGRIND_BATCH" '
              match($0, /:ngx_palette_cert_(handshake|client_hello) /) {
                  fn = substr($0, RSTART, RLENGTH)
                  if (seen[fn]++) {
                      next
                  }
                  gsub(",", "", $1)
                  sum += $1
              }
              END { printf "%.0f", sum / n }'
}

mode_handshake() {
    local scen variant ir imin imax spread s_ir extra own

    scenarios
    for scen in "${SCENARIOS[@]}"; do
        for variant in "${VARIANTS[@]}"; do
            log "callgrind: ${SC_TITLE[$scen]}, $variant ($(elapsed))"
            callgrind_variant "$scen" "$variant"
        done
    done

    {
        printf '\nInstructions per full handshake (callgrind, median of %s batches of %s)\n' \
            "$CALLGRIND_BATCHES" "$CALLGRIND_BATCH"
        for scen in "${SCENARIOS[@]}"; do
            read -r s_ir _ _ < <(stats < "$RESULTS/$scen.static.ir")
            printf '\n%s: %s among %s named (SNI %s)\n' \
                "${SC_TITLE[$scen]}" "${SC_ID[$scen]}" "$COUNT" \
                "$(field "$(line_of "${SC_ID[$scen]}" 1)" 2)"
            printf '%-10s %14s %12s %9s %8s %12s\n' variant instr/hs \
                'extra instr' 'extra %' spread 'in module'
            for variant in "${VARIANTS[@]}"; do
                read -r ir imin imax < <(stats < "$RESULTS/$scen.$variant.ir")
                spread="$(calc "($imax - $imin) / $ir * 100")"
                extra="$(pct "$ir" "$s_ir")"
                own="$(module_ir "$scen" "$variant")"
                IR[$scen.$variant]="$extra"
                if [[ "$own" != - ]]; then
                    OWN[$scen.$variant]="$(calc "$own / $s_ir * 100")"
                fi
                printf '%-10s %14.0f %+12.0f %+8.3f%% %7.3f%% %12s\n' \
                    "$variant" "$ir" "$(calc "$ir - $s_ir")" "$extra" \
                    "$spread" "$own"
            done
        done
        printf '(default: the zone'"'"'s default, SNI matching no name; named: a cache hit;\n'
        printf ' miss: cache=1, the SNI switching between %s and the next name;\n' \
            "the name"
        printf ' in module: instructions per handshake in the module'"'"'s callbacks,\n'
        printf ' what they call included)\n'
    } > "$RESULTS/handshake.txt"
    cat "$RESULTS/handshake.txt"

    # Each figure twice: the difference to static, which includes the
    # variation from one nginx process to the next (about 0.1%), and the
    # module's own instructions, which do not vary.
    for scen in "${SCENARIOS[@]}"; do
        summary "$(printf '%s  named certificate, cache hit: %+.3f%% instructions (target <= +%s%%): %s' \
            "$(verdict "${IR[$scen.named]} <= $TARGET_NAMED")" \
            "${IR[$scen.named]}" "$TARGET_NAMED" "${SC_TITLE[$scen]}")"
        summary "$(printf '%s  named certificate, cache hit: the module'"'"'s own %.3f%% of static (target <= %s%%): %s' \
            "$(verdict "${OWN[$scen.named]} <= $TARGET_NAMED")" \
            "${OWN[$scen.named]}" "$TARGET_NAMED" "${SC_TITLE[$scen]}")"
        summary "$(printf '%s  default certificate, %s named: %+.3f%% instructions (target <= +%s%%): %s' \
            "$(verdict "${IR[$scen.default]} <= $TARGET_DEFAULT")" \
            "$COUNT" "${IR[$scen.default]}" "$TARGET_DEFAULT" \
            "${SC_TITLE[$scen]}")"
        summary "$(printf '%s  default certificate, %s named: the module'"'"'s own %.3f%% of static (target <= %s%%): %s' \
            "$(verdict "${OWN[$scen.default]} <= $TARGET_DEFAULT")" \
            "$COUNT" "${OWN[$scen.default]}" "$TARGET_DEFAULT" \
            "${SC_TITLE[$scen]}")"
        summary "$(printf 'info  cache miss: %+.1f%% instructions: %s' \
            "${IR[$scen.miss]}" "${SC_TITLE[$scen]}")"
    done

    for scen in "${SCENARIOS[@]}"; do
        for variant in named miss; do
            annotate "$scen" "$variant" \
                > "$RESULTS/$scen.$variant.annotate.txt"
        done
        for variant in named miss; do
            printf '\nModule functions, %s, %s, inclusive Ir over %s handshakes:\n' \
                "$scen" "$variant" "$CALLGRIND_BATCH"
            sed '/^$/d' "$RESULTS/$scen.$variant.annotate.txt" \
                | head -n 40
        done
    done
}


# 2. Start and reload.

mode_start() {
    local n prefix ports url r line sni sha t
    local -a conf start0 startn reload_same reload_size

    for n in 0 "$COUNT"; do
        prefix="$(new_prefix "start-$n")"
        if ((n > 0)); then
            copy_store "$n" "$prefix"
        else
            copy_store 1 "$prefix"
        fi
        free_ports 2 $((20000 + RANDOM % 5000))
        ports=("${FREE_PORTS[@]}")
        url="http://127.0.0.1:${ports[1]}$API"
        conf=(--https "${ports[0]}" --admin "${ports[1]}"
              --store "$prefix/store")
        write_conf "$prefix" "${conf[@]}"

        if ((n == 0)); then
            # store 1 without its named certificate: the default only
            start_instance "$prefix"
            wait_api "$url"
            curl -s -f -o /dev/null -X DELETE "$url/h00001" \
                || die "DELETE $url/h00001 failed"
            stop_instance "$prefix"
        fi

        for ((r = 1; r <= ROUNDS; r++)); do
            if ((n > 0)); then
                line="$(awk -F '\t' '$3 == "ec" && $4 == 1' "$MANIFEST" \
                        | shuf -n 1)"
                sni="$(field "$line" 2)"
                sha="$(leaf_sha "$line")"
            else
                sni=h00001.bench.test
                sha="$(leaf_sha "$DEFAULT_LINE")"
            fi

            t="$(perl "$HELPER" wait "${ports[0]}" "$sni" ec "$sha" 60 \
                    exec "$DEBIAN_NGINX" -p "$prefix/" \
                    -c "$prefix/conf/nginx.conf")" \
                || die "no handshake presented the certificate of $sni" \
                       "after a start with $n named (see $prefix/logs)"
            INSTANCE_PID="$(master_pid "$prefix")" \
                || die "nginx in $prefix is gone"
            MASTERS+=("$INSTANCE_PID")
            log "start with $n named: $t s (SNI $sni)"
            if ((n > 0)); then
                startn+=("$t")
            else
                start0+=("$t")
            fi

            if ((n > 0 && r == 1)); then
                check_store "$prefix" "$url" "$(stored_count "$n")"
            fi

            if ((n > 0)); then
                reload_round "$prefix" same "${conf[@]}"
                reload_same+=("$RELOAD_T")
                reload_round "$prefix" size "${conf[@]}"
                reload_size+=("$RELOAD_T")
                check_store "$prefix" "$url" "$(stored_count "$n")"
            fi

            stop_instance "$prefix"
            write_conf "$prefix" "${conf[@]}"
        done
    done

    local m0 mn ms mz
    m0="$(printf '%s\n' "${start0[@]}" | stats | cut -d' ' -f1)"
    mn="$(printf '%s\n' "${startn[@]}" | stats | cut -d' ' -f1)"
    ms="$(printf '%s\n' "${reload_same[@]}" | stats | cut -d' ' -f1)"
    mz="$(printf '%s\n' "${reload_size[@]}" | stats | cut -d' ' -f1)"

    {
        printf '\nStart and reload, 2 workers, to the first handshake presenting the right certificate\n'
        printf '%-34s %8s %8s  %s\n' '' median ratio 'rounds (s)'
        printf '%-34s %8.3f %8s  %s\n' 'start, default only' "$m0" 1 \
            "${start0[*]}"
        printf '%-34s %8.3f %8.2f  %s\n' "start, $COUNT named" "$mn" \
            "$(calc "$mn / $m0")" "${startn[*]}"
        printf '%-34s %8.3f %8s  %s\n' "reload (HUP), $COUNT named" "$ms" \
            - "${reload_same[*]}"
        printf '%-34s %8.3f %8s  %s\n' "reload, zone resized, $COUNT named" \
            "$mz" - "${reload_size[*]}"
    } > "$RESULTS/start.txt"
    cat "$RESULTS/start.txt"

    summary "$(printf '%s  start with %s named: %.3f s (target < %s s)' \
        "$(verdict "$mn < $TARGET_START")" "$COUNT" "$mn" "$TARGET_START")"
    summary "$(printf '%s  reload with %s named: %.3f s, zone resized %.3f s (target < %s s)' \
        "$(verdict "$ms < $TARGET_START && $mz < $TARGET_START")" \
        "$COUNT" "$ms" "$mz" "$TARGET_START")"
}

# reload_round PREFIX same|size CONF...: a new port in the configuration
# (and, for "size", a zone 1m larger), HUP, and the time to the first
# handshake on the new port presenting a named certificate, in RELOAD_T.
reload_round() {
    local prefix="$1" how="$2" pid line port
    local -a conf
    shift 2

    conf=("$@")
    free_ports 1 $((20000 + RANDOM % 5000))
    port="${FREE_PORTS[0]}"
    conf+=(--https "$port")
    if [[ "$how" == size ]]; then
        RESIZED=$(( ${RESIZED:-$ZONE_MB} + 1 ))
        conf+=(--size "${RESIZED}m")
    fi
    write_conf "$prefix" "${conf[@]}"
    scratch_nginx_conf_ok "$prefix"

    line="$(awk -F '\t' '$3 == "ec" && $4 == 1' "$MANIFEST" | shuf -n 1)"
    pid="$(master_pid "$prefix")" || die "nginx in $prefix is gone"

    RELOAD_T="$(perl "$HELPER" wait "$port" "$(field "$line" 2)" ec \
                    "$(leaf_sha "$line")" 60 signal HUP "$pid")" \
        || die "no handshake on the new port presented the certificate" \
               "of $(field "$line" 2) after the reload ($how;" \
               "see $prefix/logs/error.log)"
    log "reload ($how): $RELOAD_T s"

    # the old workers finish: the next round starts from a quiet server
    sleep 1
}

scratch_nginx_conf_ok() {
    local out

    out="$("$DEBIAN_NGINX" -t -q -p "$1/" -c "$1/conf/nginx.conf" 2>&1)" \
        || { printf '%s\n' "$out" >&2; die "the new configuration fails nginx -t"; }
}


# 3. Memory.

# zone_fill SIZE_MB: fills a zone of that size (store=off) with EC
# certificates until one is refused; RESULTS/fill-SIZE_MB holds "FITTED
# PEM_BYTES STATUS ERROR".
zone_fill() {
    local mb="$1" prefix url ec_list out

    prefix="$(new_prefix "fill-$mb")"
    free_ports 2 $((20000 + RANDOM % 5000))
    url="http://127.0.0.1:${FREE_PORTS[1]}$API"
    write_conf "$prefix" --https "${FREE_PORTS[0]}" --admin "${FREE_PORTS[1]}" \
        --size "${mb}m" --workers 1
    start_instance "$prefix"
    wait_api "$url"

    ec_list="$RUN/ec-v1.tsv"
    awk -F '\t' '$3 == "ec" && $4 == 1' "$MANIFEST" > "$ec_list"
    out="$(perl "$HELPER" fill "$url" "$CERTS/ca.pem" "$ec_list" "$JOBS")" \
        || die "filling a ${mb}m zone failed"
    stop_instance "$prefix"

    # "fitted N pem B status S error E"
    awk '{ print $2, $4, $6, $8 }' <<<"$out" > "$RESULTS/fill-$mb"
    log "a ${mb}m zone: $out"
}

# worker_memory N: handshakes (two sweeps) over all N stored names, with
# cache=MEM_CACHE, then one line per worker "PID RSS PSS PRIVATE" (kB)
# into RESULTS/workers-N.
worker_memory() {
    local n="$1" prefix url list pid sweep part w bg
    local -a ports wpids

    prefix="$(new_prefix "mem-$n")"
    copy_store "$n" "$prefix"
    free_ports 2 $((20000 + RANDOM % 5000))
    ports=("${FREE_PORTS[@]}")
    url="http://127.0.0.1:${ports[1]}$API"
    write_conf "$prefix" --https "${ports[0]}" --admin "${ports[1]}" \
        --store "$prefix/store" --cache "$MEM_CACHE"
    start_instance "$prefix"
    pid="$INSTANCE_PID"
    wait_api "$url"
    check_store "$prefix" "$url" "$(stored_count "$n")"

    mapfile -t wpids < <(workers_of "$pid")
    for w in "${wpids[@]}"; do
        printf '%s %s %s %s\n' "$w" "$(kb_of "$w" Rss)" "$(kb_of "$w" Pss)" \
            "$(( $(kb_of "$w" Private_Clean) + $(kb_of "$w" Private_Dirty) ))"
    done > "$RESULTS/workers-$n.before"

    list="$STORES/$n.tsv"
    for sweep in 1 2; do
        log "worker memory, $n stored: sweep $sweep over every name"
        for part in 0 1; do
            perl "$HELPER" sweep "${ports[0]}" "$list" 1 "$part" 2 \
                > "$RUN/sweep-$n-$part.log" &
            SCRATCH_BG+=("$!")
        done
        for bg in "${SCRATCH_BG[@]}"; do
            wait "$bg" || die "sweep over $n names: $(cat "$RUN"/sweep-"$n"-*.log)"
        done
        SCRATCH_BG=()
    done

    for w in "${wpids[@]}"; do
        printf '%s %s %s %s\n' "$w" "$(kb_of "$w" Rss)" "$(kb_of "$w" Pss)" \
            "$(( $(kb_of "$w" Private_Clean) + $(kb_of "$w" Private_Dirty) ))"
    done > "$RESULTS/workers-$n"
    stop_instance "$prefix"
}

mode_memory() {
    local s1 s2 k1 b1 st1 e1 k2 b2 st2 e2 per pem allowed n

    s1=$(( (COUNT * 8 / 10 + 1023) / 1024 ))
    s2=$(( (COUNT * 2 + 1023) / 1024 ))
    ((s1 >= 1)) || s1=1
    ((s2 > s1)) || s2=$((s1 + 1))

    log "zone bytes: filling a ${s1}m and a ${s2}m zone"
    zone_fill "$s1"
    zone_fill "$s2"
    read -r k1 b1 st1 e1 < "$RESULTS/fill-$s1"
    read -r k2 b2 st2 e2 < "$RESULTS/fill-$s2"

    for n in "$SMALL" "$COUNT"; do
        worker_memory "$n"
    done

    {
        printf '\nZone bytes per named certificate (EC P-256 chain + key + CA, store=off)\n'
        printf '%-8s %10s %14s %s\n' zone fitted 'PEM bytes' refused
        printf '%-8s %10s %14s %s %s\n' "${s1}m" "$k1" "$b1" "$st1" "$e1"
        printf '%-8s %10s %14s %s %s\n' "${s2}m" "$k2" "$b2" "$st2" "$e2"
    } | tee "$RESULTS/memory.txt"

    if [[ "$st1" != 507 || "$st2" != 507 || "$k2" -le "$k1" ]]; then
        printf 'the zones did not both fill up with a 507 (too few certificates: raise --count)\n' \
            | tee -a "$RESULTS/memory.txt"
        summary "MISS  zone bytes per certificate: not measured (zones did not fill)"
    else
        per="$(calc "($s2 - $s1) * 1048576 / ($k2 - $k1)")"
        pem="$(calc "($b2 - $b1) / ($k2 - $k1)")"
        allowed="$(calc "1.25 * $pem + 512")"
        printf 'per certificate: %.0f zone bytes for %.0f PEM bytes (%.3f x); allowed %.0f\n' \
            "$per" "$pem" "$(calc "$per / $pem")" "$allowed" \
            | tee -a "$RESULTS/memory.txt"
        printf '(whole zone / fitted: %.0f and %.0f bytes)\n' \
            "$(calc "$s1 * 1048576 / $k1")" "$(calc "$s2 * 1048576 / $k2")" \
            | tee -a "$RESULTS/memory.txt"
        summary "$(printf '%s  zone bytes per certificate: %.0f for %.0f PEM bytes (target <= 1.25 x PEM + 512 = %.0f)' \
            "$(verdict "$per <= $allowed")" "$per" "$pem" "$allowed")"
    fi

    local rs ps us rl pl ul
    read -r rs ps us < <(awk '{ r += $2; p += $3; u += $4 }
                              END { print r, p, u }' "$RESULTS/workers-$SMALL")
    read -r rl pl ul < <(awk '{ r += $2; p += $3; u += $4 }
                              END { print r, p, u }' "$RESULTS/workers-$COUNT")
    {
        printf '\nWorker memory, cache=%s, 2 workers, after 2 handshakes per stored name (kB)\n' \
            "$MEM_CACHE"
        printf '%-8s %-10s %10s %10s %10s\n' stored worker RSS PSS private
        for n in "$SMALL" "$COUNT"; do
            while read -r w r p u; do
                printf '%-8s %-10s %10s %10s %10s\n' "$n" "$w" "$r" "$p" "$u"
            done < "$RESULTS/workers-$n"
            read -r r p u < <(awk '{ r += $2; p += $3; u += $4 }
                                   END { print r, p, u }' \
                                   "$RESULTS/workers-$n.before")
            printf '%-8s %-10s %10s %10s %10s\n' "$n" '(at start)' \
                "$r" "$p" "$u"
        done
        printf 'both workers: %s stored RSS %s PSS %s private %s; %s stored RSS %s PSS %s private %s\n' \
            "$SMALL" "$rs" "$ps" "$us" "$COUNT" "$rl" "$pl" "$ul"
        printf 'ratio %s / %s stored: RSS %.3f, PSS %.3f, private %.3f\n' \
            "$COUNT" "$SMALL" "$(calc "$rl / $rs")" "$(calc "$pl / $ps")" \
            "$(calc "$ul / $us")"
    } | tee -a "$RESULTS/memory.txt"

    summary "$(printf '%s  worker private memory, %s vs %s stored, cache=%s: %.3f x (%s kB vs %s kB; target: no growth, <= 1.10)' \
        "$(verdict "$ul / $us <= 1.10")" "$COUNT" "$SMALL" "$MEM_CACHE" \
        "$(calc "$ul / $us")" "$ul" "$us")"
}


# 4. Upload latency.

mode_upload() {
    local n r which prefix url v1 v2 m1 mn p1 pn ratio
    local -A URL

    v1="$(line_of h00001 1)"
    v2="$(line_of h00001 2)"

    for which in one many; do
        prefix="$(new_prefix "upload-$which")"
        if [[ "$which" == one ]]; then
            n=1
        else
            n="$COUNT"
        fi
        copy_store "$n" "$prefix"
        free_ports 2 $((20000 + RANDOM % 5000))
        URL[$which]="http://127.0.0.1:${FREE_PORTS[1]}$API"
        write_conf "$prefix" --https "${FREE_PORTS[0]}" \
            --admin "${FREE_PORTS[1]}" --store "$prefix/store"
        start_instance "$prefix"
        wait_api "${URL[$which]}"
        check_store "$prefix" "${URL[$which]}" "$(stored_count "$n")"
        : > "$RESULTS/upload-$which.log"
    done

    for ((r = 1; r <= ROUNDS; r++)); do
        for which in one many; do
            url="${URL[$which]}/h00001"
            perl "$HELPER" toggle "$url" "$CERTS/ca.pem" \
                "$(field "$v1" 5)" "$(field "$v1" 6)" \
                "$(field "$v2" 5)" "$(field "$v2" 6)" "$UPLOADS" \
                >> "$RESULTS/upload-$which.log" \
                || die "uploads to $url were refused"
        done
        log "upload round $r/$ROUNDS done"
    done

    for which in one many; do
        stop_instance "$RUN/upload-$which"
    done

    read -r m1 _ _ < <(awk '{ print ($2 - $1) / 1000 }' \
                           "$RESULTS/upload-one.log" | stats)
    read -r mn _ _ < <(awk '{ print ($2 - $1) / 1000 }' \
                           "$RESULTS/upload-many.log" | stats)
    p1="$(awk '{ print ($2 - $1) / 1000 }' "$RESULTS/upload-one.log" | p90)"
    pn="$(awk '{ print ($2 - $1) / 1000 }' "$RESULTS/upload-many.log" | p90)"
    ratio="$(calc "$mn / $m1")"

    {
        printf '\nUpload latency to the 200 (replacing h00001, store on disk, %s x %s uploads)\n' \
            "$ROUNDS" "$UPLOADS"
        printf '%-12s %10s %10s\n' stored 'median ms' 'p90 ms'
        printf '%-12s %10.1f %10.1f\n' 1 "$m1" "$p1"
        printf '%-12s %10.1f %10.1f\n' "$COUNT" "$mn" "$pn"
        printf 'ratio of the medians: %.3f\n' "$ratio"
    } | tee "$RESULTS/upload.txt"

    summary "$(printf '%s  upload latency with %s stored / with 1: %.3f (target <= %s)' \
        "$(verdict "$ratio <= $TARGET_UPLOAD")" "$COUNT" "$ratio" \
        "$TARGET_UPLOAD")"
}

p90() {
    sort -g | awk '{ v[NR] = $1 }
                   END { if (NR) printf "%.10g\n", v[int((NR * 9 + 9) / 10)];
                         else print "nan" }'
}


# 5. Rotation under load.

mode_rotation() {
    local prefix url port c k v seed replaced_list
    local -A quiet rot
    local -a ports bad=()

    prefix="$(new_prefix rotation)"
    copy_store "$COUNT" "$prefix"
    free_ports 2 $((20000 + RANDOM % 5000))
    ports=("${FREE_PORTS[@]}")
    port="${ports[0]}"
    url="http://127.0.0.1:${ports[1]}$API"
    write_conf "$prefix" --https "$port" --admin "${ports[1]}" \
        --store "$prefix/store"
    start_instance "$prefix"
    wait_api "$url"
    check_store "$prefix" "$url" "$(stored_count "$COUNT")"

    seed=$RANDOM
    : > "$prefix/logs/none.log"

    log "rotation: ${SECONDS_QUIET}s of handshakes without changes"
    for c in 0 1; do
        perl "$HELPER" handshakes "$port" "$MANIFEST" "$SECONDS_QUIET" \
            "$((seed + c))" > "$RUN/quiet-$c.log" &
        SCRATCH_BG+=("$!")
    done
    for bg in "${SCRATCH_BG[@]}"; do
        wait "$bg" || die "a client failed"
    done
    SCRATCH_BG=()

    log "rotation: replacing $REPLACEMENTS IDs under load"
    for c in 0 1; do
        perl "$HELPER" handshakes "$port" "$MANIFEST" 86400 \
            "$((seed + 10 + c))" > "$RUN/rotation-$c.log" &
        SCRATCH_BG+=("$!")
    done
    local t0=$EPOCHREALTIME
    perl "$HELPER" replace "$url" "$CERTS/ca.pem" "$MANIFEST" \
        "$REPLACEMENTS" "$INTERVAL_MS" "$seed" > "$RUN/replace.log" \
        2> "$RUN/replace.err" || die "the replacements failed"
    local t1=$EPOCHREALTIME
    sleep 1
    for bg in "${SCRATCH_BG[@]}"; do
        kill -TERM "$bg" 2>/dev/null || true
        wait "$bg" 2>/dev/null || true
    done
    SCRATCH_BG=()

    # every replaced name once more, expecting its new version
    replaced_list="$RUN/replaced.tsv"
    awk 'NR == FNR { if ($3 == 200) r[$6] = 1; next }
         ($1 in r) && $4 == 2' "$RUN/replace.log" FS='\t' "$MANIFEST" \
        > "$replaced_list"
    perl "$HELPER" sweep "$port" "$replaced_list" 2 0 1 \
        > "$RUN/after.log" 2>&1 || bad+=("after: $(cat "$RUN/after.log")")

    stop_instance "$prefix"

    while read -r k v; do quiet[$k]="$v"; done < <(
        perl "$HELPER" check "$MANIFEST" "$prefix/logs/none.log" \
            "$RUN"/quiet-*.log)
    while read -r k v; do rot[$k]="$v"; done < <(
        perl "$HELPER" check "$MANIFEST" "$RUN/replace.log" \
            "$RUN"/rotation-*.log)

    local sent ok secs qrate rrate
    sent="$(wc -l < "$RUN/replace.log")"
    ok="$(awk '$3 == 200' "$RUN/replace.log" | wc -l)"
    secs="$(calc "$t1 - $t0")"
    qrate="$(calc "${quiet[handshakes]} / $SECONDS_QUIET")"
    rrate="$(awk -v t0="$(head -n 1 "$RUN/replace.log" | cut -d' ' -f1)" \
                 -v t1="$(tail -n 1 "$RUN/replace.log" | cut -d' ' -f2)" \
                 '$1 >= t0 && $2 <= t1 { n++ }
                  END { if (t1 > t0) printf "%.1f", n / ((t1 - t0) / 1e6);
                        else print 0 }' "$RUN"/rotation-*.log)"

    for k in failed wrong_name wrong_type mixed stale; do
        if [[ "$(( ${quiet[$k]} + ${rot[$k]} ))" -ne 0 ]]; then
            bad+=("$k: ${quiet[$k]} without changes, ${rot[$k]} during (first: ${quiet[first_$k]} / ${rot[first_$k]})")
        fi
    done
    [[ "$ok" -eq "$sent" ]] || bad+=("only $ok of $sent replacements answered 200")
    [[ "${rot[replaced]}" -gt 0 ]] || bad+=("no handshake presented a replaced certificate")

    {
        printf '\nRotation under load: %s named, 2 workers, 2 clients, random names and key types\n' \
            "$COUNT"
        printf '%-24s %12s %12s\n' '' 'no changes' 'replacing'
        for k in handshakes failed wrong_name wrong_type mixed stale replaced; do
            printf '%-24s %12s %12s\n' "$k" "${quiet[$k]}" "${rot[$k]}"
        done
        printf '%-24s %12.1f %12.1f   (ratio %.3f)\n' 'handshakes/s' \
            "$qrate" "$rrate" "$(calc "$rrate / $qrate")"
        printf 'replacements: %s sent, %s answered 200 in %.1f s; time to 200 median %s ms\n' \
            "$sent" "$ok" "$secs" \
            "$(awk '$3 == 200 { print ($2 - $1) / 1000 }' "$RUN/replace.log" \
               | stats | cut -d' ' -f1)"
        printf 'afterwards, every replaced name once: %s\n' \
            "$(cat "$RUN/after.log")"
    } | tee "$RESULTS/rotation.txt"

    if [[ "${#bad[@]}" -gt 0 ]]; then
        printf 'problems:\n' | tee -a "$RESULTS/rotation.txt"
        printf '  %s\n' "${bad[@]}" | tee -a "$RESULTS/rotation.txt"
        summary "MISS  rotation: ${bad[*]}"
        ROTATION_FAILED=1
    else
        summary "$(printf 'PASS  rotation, %s replaced under load: 0 failed, 0 stale, 0 mixed, 0 wrong name (%s handshakes)' \
            "$ok" "${rot[handshakes]}")"
    fi
}


main() {
    local mode

    prepare
    ROTATION_FAILED=0

    # the stores the modes start from, filled first if need be
    for mode in "${MODES[@]}"; do
        case "$mode" in
            start|upload) ensure_store 1; ensure_store "$COUNT" ;;
            memory) ensure_store "$SMALL"; ensure_store "$COUNT" ;;
            *) ensure_store "$COUNT" ;;
        esac
    done

    for mode in "${MODES[@]}"; do
        log "mode $mode ($(elapsed))"
        "mode_$mode"
    done

    printf '\nbench-named: %s named EC certificates (%s names with RSA too), Debian nginx %s\n' \
        "$COUNT" "$RSA" "$("$DEBIAN_NGINX" -v 2>&1 | sed 's/.*: //')"
    printf '%s\n' "${SUMMARY[@]}"
    printf 'Work files: %s\n' "$WORK"
    log "done ($(elapsed))"

    return "$ROTATION_FAILED"
}

main
