#!/usr/bin/env bash
#
# Handshake benchmark: what serving the certificate from the module costs
# per TLS handshake, next to a static `ssl_certificate` in the same nginx.
#
# Variants, all on Debian's /usr/sbin/nginx, on loopback:
#
#   static     ssl_certificate / ssl_certificate_key
#   module     load_module build/debian/ngx_palette_cert_module.so,
#              palette_cert_zone bench:1m store=off; palette_cert bench;
#              the same certificate uploaded through the API first
#   uncounted  the module with its handshake counting compiled out
#              (build-module.sh --uncounted), under callgrind only: what
#              counting (the metrics' counters and what a session keeps for
#              the $palette_cert_* variables) costs a handshake
#   tickets    the module with ssl_session_tickets on (nginx's default),
#              under callgrind only
#   variables  the same, with a log_format that names $palette_cert_id:
#              sessions then keep what the variables show, which tickets
#              carry; against tickets, what that costs a handshake
#   openresty  Debian's libnginx-mod-http-lua and lua-resty-core, with an
#              ssl_certificate_by_lua_block that sets cert and key objects
#              parsed once per worker (skipped, with a line saying why, when
#              the packages cannot be installed or loaded; or --no-openresty)
#
# Scenarios: TLS 1.3 with the EC P-256 chain of the test fixture leaf-a,
# and TLS 1.2 (ssl_protocols TLSv1.2) with the RSA-2048 chain of leaf-b.
# Full handshakes only: ssl_session_cache off, ssl_session_tickets off (on
# for tickets and variables), a new connection per handshake and no
# session offered by the client.
#
# Measures:
#
#   1. handshakes/s: one worker (worker_processes 1) pinned to CPU 0, the
#      client (`openssl s_time -new`) pinned to CPU 1, the variants
#      interleaved for --rounds rounds of --seconds each, in the order
#      A B C A' and back (A' B C A ...), where A' is a second, identical
#      static nginx: the control.  Each variant's figure in a round is
#      divided by static's figure in the same round; the ratio printed is
#      the median of those paired ratios.
#   2. server CPU time per handshake: the worker's utime+stime (from
#      /proc/PID/stat) over each round, divided by the round's handshakes;
#      median, and the median paired ratio to static.  The run's own noise
#      is what the control shows: the largest distance from 1 of its
#      paired ratios, the difference between two identical servers.
#   3. instructions per handshake, with valgrind's callgrind: nginx runs
#      with master_process off and daemon off under
#      `valgrind --tool=callgrind --instr-atstart=no`; after a warm-up,
#      instrumentation is switched on and the counters are zeroed
#      (callgrind_control -z) before and dumped (-d) after each batch of
#      96 handshakes, so start-up, upload, warm-up and shutdown do not
#      count.  96 is a multiple of 32: OpenSSL refreshes an RSA key's
#      blinding every 32 uses, so every batch holds as many refreshes; and
#      three times 32, because what else varies from one handshake to the
#      next (random numbers drawn, their rare retries) moves batches of 32
#      by about 0.1% on RSA.  Median over the batches, the extra over
#      static (absolute and %) and the spread of the batches (which must
#      stay within 0.1%).
#
# Targets: instructions per handshake at most +1.0% over static for TLS 1.3
# ECDSA and at most +0.2% for TLS 1.2 RSA; counting at most +0.1% (the
# instructions of the module's certificate callback less the uncounted
# one's, over static's per handshake); CPU time per handshake within the
# run's own noise; the callgrind batches of static and the module within
# 0.1% of each other.  Each is printed PASS or MISS; the exit status is 0
# either way (non-zero only when the benchmark itself could not run).  The
# OpenResty way's batch spread is printed but is not a target: LuaJIT's
# garbage collector runs on a schedule of its own.
#
# Work files (configurations, logs, callgrind dumps and annotations) go to
# build/bench/.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h] [--seconds N] [--rounds N]' \
        '       [--callgrind-only | --throughput-only] [--no-openresty]' \
        'Compares full TLS handshakes: static ssl_certificate, the module,' \
        'and ssl_certificate_by_lua (when available).' \
        '  --seconds N       length of a throughput round (default 5)' \
        '  --rounds N        throughput rounds per variant (default 7)' \
        '  --callgrind-only  only count instructions (no throughput rounds)' \
        '  --throughput-only only the throughput rounds (no callgrind)' \
        '  --no-openresty    leave out the ssl_certificate_by_lua variant'
}

ROUND_SECONDS=5
ROUNDS=7
THROUGHPUT=1
CALLGRIND=1
OPENRESTY=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --seconds|--rounds)
            if [[ $# -lt 2 || ! "$2" =~ ^[1-9][0-9]*$ ]]; then
                usage >&2
                exit 2
            fi
            if [[ "$1" == --seconds ]]; then
                ROUND_SECONDS="$2"
            else
                ROUNDS="$2"
            fi
            shift 2
            ;;
        --callgrind-only) THROUGHPUT=0; shift ;;
        --throughput-only) CALLGRIND=0; shift ;;
        --no-openresty) OPENRESTY=0; shift ;;
        *) usage >&2; exit 2 ;;
    esac
done

if ((!THROUGHPUT && !CALLGRIND)); then
    usage >&2
    exit 2
fi

BENCH="$BUILD_DIR/bench"
CERTS="$BENCH/certs"
SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"
SO_UNCOUNTED="$BUILD_DIR/debian-uncounted/ngx_palette_cert_module.so"
CLIENT="$ROOT/scripts/bench/handshakes.pl"

LUA_MODULES=(/usr/share/nginx/modules/ndk_http_module.so
             /usr/share/nginx/modules/ngx_http_lua_module.so)

# Ports on 127.0.0.1: one per variant, the control, and the module's API.
declare -A PORT=([static]=18441 [module]=18442 [openresty]=18443
                 [uncounted]=18446 [tickets]=18447 [variables]=18448
                 [control]=18445)
API_PORT=18444

SCENARIOS=(tls13-ecdsa tls12-rsa)
declare -A SCEN_LEAF=([tls13-ecdsa]=leaf-a [tls12-rsa]=leaf-b)
declare -A SCEN_TLS=([tls13-ecdsa]=1.3 [tls12-rsa]=1.2)
declare -A SCEN_PROTOCOLS=([tls13-ecdsa]=TLSv1.3 [tls12-rsa]=TLSv1.2)
declare -A SCEN_TITLE=([tls13-ecdsa]='TLS 1.3, ECDSA P-256 (leaf-a)'
                       [tls12-rsa]='TLS 1.2, RSA-2048 (leaf-b)')
declare -A TARGET_INSTR=([tls13-ecdsa]=1.0 [tls12-rsa]=0.2)

CALLGRIND_BATCHES=5
CALLGRIND_BATCH=96
CALLGRIND_WARMUP=32


# Everything started is stopped on exit, whatever the way out.

STARTED=()

stop_all() {
    local pid

    for pid in "${STARTED[@]}"; do
        stop_pid "$pid" QUIT 30
    done
    STARTED=()
}

trap stop_all EXIT
trap 'exit 130' INT TERM


# Preparation.

prepare() {
    need_packages valgrind openssl curl perl libio-socket-ssl-perl \
        util-linux procps

    log "building the module (scripts/build-module.sh)"
    "$ROOT/scripts/build-module.sh"

    if ((CALLGRIND)); then
        log "building it without counting (scripts/build-module.sh --uncounted)"
        "$ROOT/scripts/build-module.sh" --uncounted
    fi

    if [[ ! -f "$CERTS/leaf-b.chain.pem" || ! -f "$CERTS/ca.pem" ]] \
       || ! openssl x509 -checkend 86400 -noout \
                -in "$CERTS/leaf-a.chain.pem" >/dev/null 2>&1
    then
        log "generating the test certificates in $CERTS"
        rm -rf "$CERTS"
        bash "$ROOT/t/lib/gen-certs.sh" "$CERTS" >&2
    fi

    VARIANTS=(static module)
    OPENRESTY_NOTE=""

    if [[ "$OPENRESTY" -eq 0 ]]; then
        OPENRESTY_NOTE="openresty-way: skipped (--no-openresty)"
    elif ! openresty_packages; then
        :
    elif ! openresty_loads; then
        :
    else
        VARIANTS+=(openresty)
    fi
}

# Installs the lua packages; sets OPENRESTY_NOTE and fails when it cannot.
openresty_packages() {
    local -a missing
    local pkg

    mapfile -t missing < <(missing_packages libnginx-mod-http-lua \
                                            lua-resty-core)
    if [[ "${#missing[@]}" -eq 0 ]]; then
        return 0
    fi

    if [[ "$(id -u)" -ne 0 ]]; then
        OPENRESTY_NOTE="openresty-way: skipped (${missing[*]} not installed, and installing needs root)"
        return 1
    fi

    apt_update_if_stale
    for pkg in "${missing[@]}"; do
        if ! apt-cache show "$pkg" >/dev/null 2>&1; then
            OPENRESTY_NOTE="openresty-way: skipped (package $pkg is not available from apt)"
            return 1
        fi
    done

    if ! (need_packages "${missing[@]}") 2>/dev/null; then
        OPENRESTY_NOTE="openresty-way: skipped (apt-get install ${missing[*]} failed)"
        return 1
    fi
}

# Checks that Debian's nginx accepts the lua configuration.
openresty_loads() {
    local dir="$BENCH/openresty-check" out

    write_conf "$dir" openresty tls13-ecdsa daemon
    if ! out="$("$DEBIAN_NGINX" -t -q -p "$dir/" -c "$dir/nginx.conf" 2>&1)"
    then
        OPENRESTY_NOTE="openresty-way: skipped (Debian's nginx does not load the lua module: $(tail -n 1 <<<"$out"))"
        return 1
    fi
}


# nginx configurations.

# write_conf DIR VARIANT SCENARIO MODE: DIR/nginx.conf, MODE being daemon
# (a master and one worker pinned to CPU 0) or callgrind (one process, in
# the foreground).
write_conf() {
    local dir="$1" variant="$2" scen="$3" mode="$4"
    local leaf="${SCEN_LEAF[$scen]}"
    local chain="$CERTS/$leaf.chain.pem" key="$CERTS/$leaf.key"
    local so
    local -a head=()

    rm -rf "$dir"
    mkdir -p "$dir/logs"

    case "$variant" in
        module|tickets|variables) head=("load_module $SO;") ;;
        uncounted) head=("load_module $SO_UNCOUNTED;") ;;
        openresty)
            for so in "${LUA_MODULES[@]}"; do
                head+=("load_module $so;")
            done
            ;;
    esac

    {
        if [[ "$mode" == daemon ]]; then
            nginx_conf_main 1 1024 "${head[@]}" "worker_cpu_affinity 01;"
        else
            nginx_conf_main --foreground 1 1024 "${head[@]}"
        fi

        cat <<EOF

http {
    access_log off;

    ssl_protocols        ${SCEN_PROTOCOLS[$scen]};
    ssl_session_cache    off;
    ssl_session_tickets  $([[ "$variant" == tickets || "$variant" == variables ]] \
                           && echo on || echo off);

EOF

        if [[ "$variant" == variables ]]; then
            printf "    log_format palette '\$palette_cert_id';\n\n"
        fi

        case "$variant" in
            module|uncounted|tickets|variables)
                printf '    palette_cert_zone bench:1m store=off;\n\n'
                ;;
            openresty)
                cat <<EOF
    init_by_lua_block {
        local function slurp(path)
            local f = assert(io.open(path, "rb"))
            local s = f:read("*a")
            f:close()
            return s
        end
        bench_pem = { cert = slurp("$chain"), key = slurp("$key") }
    }

EOF
                ;;
        esac

        cat <<EOF
    server {
        listen 127.0.0.1:${PORT[$variant]} ssl;

EOF
        case "$variant" in
            static|control)
                printf '        ssl_certificate     %s;\n' "$chain"
                printf '        ssl_certificate_key %s;\n' "$key"
                ;;
            module|uncounted|tickets|variables)
                printf '        palette_cert bench;\n'
                ;;
            openresty)
                # nginx wants a certificate on a "listen ssl" server; the
                # same one, replaced on every handshake by the lua block.
                printf '        ssl_certificate     %s;\n' "$chain"
                printf '        ssl_certificate_key %s;\n' "$key"
                cat <<'EOF'

        # Parsed once per worker, set on every handshake.
        ssl_certificate_by_lua_block {
            local c = package.loaded.bench_cert_cache
            if not c then
                local ssl = require "ngx.ssl"
                c = {
                    ssl = ssl,
                    cert = assert(ssl.parse_pem_cert(bench_pem.cert)),
                    key = assert(ssl.parse_pem_priv_key(bench_pem.key)),
                }
                package.loaded.bench_cert_cache = c
            end
            local ssl = c.ssl
            assert(ssl.clear_certs())
            assert(ssl.set_cert(c.cert))
            assert(ssl.set_priv_key(c.key))
        }
EOF
                ;;
        esac

        cat <<EOF

        location / {
            return 200 "bench\n";
        }
    }
EOF

        if [[ "$variant" != static && "$variant" != control
              && "$variant" != openresty ]]
        then
            cat <<EOF

    server {
        listen 127.0.0.1:$API_PORT;

        location = /palette/cert {
            palette_cert_api bench;
            client_max_body_size    64k;
            client_body_buffer_size 64k;
        }
    }
EOF
        fi

        printf '}\n'
    } > "$dir/nginx.conf"
}


# Starting and checking servers.

# upload SCENARIO: the scenario's certificate into the module's zone.
upload() {
    local leaf="${SCEN_LEAF[$1]}" out

    if ! out="$(curl -sS -f -X PUT \
                    -F "certificate=@$CERTS/$leaf.chain.pem" \
                    -F "key=@$CERTS/$leaf.key" \
                    -F "ca=@$CERTS/ca.pem" \
                    "http://127.0.0.1:$API_PORT/palette/cert" 2>&1)"
    then
        printf '%s\n' "$out" >&2
        die "uploading $leaf through the API failed"
    fi
}

# check_cert VARIANT SCENARIO: the variant presents the scenario's leaf.
check_cert() {
    local variant="$1" scen="$2"

    perl "$CLIENT" --port "${PORT[$variant]}" --count 2 \
        --tls "${SCEN_TLS[$scen]}" \
        --sha256 "$(cat "$CERTS/${SCEN_LEAF[$scen]}.sha256")" >/dev/null \
        || die "$variant does not serve ${SCEN_LEAF[$scen]} over TLS ${SCEN_TLS[$scen]}"
}

# start_daemon VARIANT SCENARIO: sets WORKER[VARIANT].
start_daemon() {
    local variant="$1" scen="$2"
    local dir="$BENCH/run/$scen-$variant" master i

    write_conf "$dir" "$variant" "$scen" daemon
    "$DEBIAN_NGINX" -p "$dir/" -c "$dir/nginx.conf" \
        || die "$variant nginx did not start (see $dir/logs/error.log)"

    for ((i = 0; i < 50; i++)); do
        [[ -s "$dir/logs/nginx.pid" ]] && break
        sleep 0.1
    done
    master="$(cat "$dir/logs/nginx.pid")"
    STARTED+=("$master")

    wait_port "${PORT[$variant]}" "$master" 10 \
        || die "$variant nginx does not listen (see $dir/logs/error.log)"

    WORKER[$variant]="$(pgrep -P "$master" | head -n 1)"
    [[ -n "${WORKER[$variant]}" ]] || die "$variant nginx has no worker"

    if [[ "$variant" == module ]]; then
        upload "$scen"
    fi
    check_cert "$variant" "$scen"
}

# CPU time of PID, in clock ticks (utime + stime).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}


# 1 and 2: throughput and CPU time, the variants interleaved.

declare -A WORKER=()

throughput_scenario() {
    local scen="$1" variant round t0 t1 c0 c1 out n hz i
    local res="$BENCH/results/$scen"
    local -a tls_flag order

    hz="$(getconf CLK_TCK)"
    if [[ "${SCEN_TLS[$scen]}" == 1.3 ]]; then
        tls_flag=(-tls1_3)
    else
        tls_flag=(-tls1_2)
    fi

    for variant in "${VARIANTS[@]}" control; do
        start_daemon "$variant" "$scen"
        : > "$res.$variant.hs"
        : > "$res.$variant.cpu"
    done

    for ((round = 1; round <= ROUNDS; round++)); do
        # A B C A', then A' C B A: drift over the run hits all alike
        order=("${VARIANTS[@]}" control)
        if ((round % 2 == 0)); then
            for ((i = 0; i < ${#order[@]} / 2; i++)); do
                variant="${order[i]}"
                order[i]="${order[${#order[@]} - 1 - i]}"
                order[${#order[@]} - 1 - i]="$variant"
            done
        fi

        for variant in "${order[@]}"; do
            c0="$(cpu_ticks "${WORKER[$variant]}")"
            t0="$EPOCHREALTIME"
            out="$(taskset -c 1 openssl s_time -new \
                       -connect "127.0.0.1:${PORT[$variant]}" \
                       "${tls_flag[@]}" -time "$ROUND_SECONDS" 2>&1)" \
                || { printf '%s\n' "$out" >&2; die "s_time failed"; }
            t1="$EPOCHREALTIME"
            c1="$(cpu_ticks "${WORKER[$variant]}")"

            n="$(sed -n 's/^\([0-9][0-9]*\) connections in .* real seconds.*/\1/p' \
                     <<<"$out" | head -n 1)"
            [[ -n "$n" && "$n" -gt 0 ]] \
                || { printf '%s\n' "$out" >&2; die "no handshakes counted"; }

            calc "$n / ($t1 - $t0)" >> "$res.$variant.hs"
            printf '\n' >> "$res.$variant.hs"
            # microseconds of worker CPU per handshake
            calc "($c1 - $c0) * 1000000 / $hz / $n" >> "$res.$variant.cpu"
            printf '\n' >> "$res.$variant.cpu"

            log "$scen round $round/$ROUNDS $variant:" \
                "$(tail -n 1 "$res.$variant.hs") hs/s," \
                "$(tail -n 1 "$res.$variant.cpu") us CPU/hs"
        done
    done

    stop_all
}


# 3: instructions per handshake under callgrind.

callgrind_variant() {
    local scen="$1" variant="$2"
    local dir="$BENCH/callgrind/$scen-$variant" vpid b
    local tls="${SCEN_TLS[$scen]}" port="${PORT[$variant]}"
    local res="$BENCH/results/$scen.$variant.ir"

    write_conf "$dir" "$variant" "$scen" callgrind

    callgrind_nginx "$dir" "$dir/nginx.conf"
    vpid="$CALLGRIND_PID"
    STARTED+=("$vpid")

    wait_port "$port" "$vpid" 120 \
        || die "$variant nginx under valgrind does not listen (see $dir/valgrind.log)"

    if [[ "$variant" != static && "$variant" != openresty ]]; then
        wait_port "$API_PORT" "$vpid" 60 || die "the API does not listen"
        upload "$scen"
    fi

    perl "$CLIENT" --port "$port" --count "$CALLGRIND_WARMUP" --tls "$tls" \
        --sha256 "$(cat "$CERTS/${SCEN_LEAF[$scen]}.sha256")" >/dev/null \
        || die "warm-up handshakes to $variant failed"

    callgrind_control -i on "$vpid" >/dev/null 2>&1
    # A second warm-up, instrumented: code seen for the first time costs
    # instrumentation work, not guest instructions, but be safe.
    perl "$CLIENT" --port "$port" --count 4 --tls "$tls" >/dev/null

    for ((b = 1; b <= CALLGRIND_BATCHES; b++)); do
        callgrind_control -z "$vpid" >/dev/null 2>&1
        perl "$CLIENT" --port "$port" --count "$CALLGRIND_BATCH" \
            --tls "$tls" >/dev/null \
            || die "handshakes to $variant under callgrind failed"
        callgrind_control -d "batch$b" "$vpid" >/dev/null 2>&1
    done

    stop_pid "$vpid" QUIT 30
    wait "$vpid" 2>/dev/null || true

    # One dump per batch, in the order they were made.
    callgrind_batches "$dir" "$CALLGRIND_BATCH" > "$res"
    LAST_DUMP[$variant]="$CALLGRIND_LAST"

    [[ "$(wc -l < "$res")" -ge 3 ]] \
        || die "fewer than 3 callgrind batches for $variant (see $dir)"
}

declare -A LAST_DUMP=()

# callback_ir DUMP: instructions of the module's certificate callback,
# everything it calls included, per handshake of the dump's batch.
callback_ir() {
    callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$1" \
        2>/dev/null \
        | awk -v n="$CALLGRIND_BATCH" '
              /:ngx_palette_cert_handshake( |$)/ && !found {
                  gsub(",", "", $1); ir = $1; found = 1
              }
              END { print (found ? ir / n : 0) }'
}

# The module's functions in its last batch, each with what it called
# (callgrind_annotate --tree=calling), and the top functions of the static
# and module batches, into results/SCENARIO.annotate.txt.
annotate_scenario() {
    local scen="$1"
    local out="$BENCH/results/$scen.annotate.txt"

    [[ -n "${LAST_DUMP[module]:-}" ]] || return 0

    {
        printf '# module: functions of the module, inclusive Ir over %d handshakes
' \
            "$CALLGRIND_BATCH"
        callgrind_annotate --auto=no --tree=calling --inclusive=yes \
            --threshold=100 "${LAST_DUMP[module]}" 2>/dev/null \
            | awk 'BEGIN { RS = ""; ORS = "\n" }
                   /\* [^\n]*ngx_palette_cert/ { print }' || true
        printf '\n# static batch, top functions (self):\n'
        callgrind_annotate --auto=no "${LAST_DUMP[static]}" 2>/dev/null \
            | sed -n '/^Ir/,$p' | sed -n '1,30p'
        printf '\n# module batch, top functions (self):\n'
        callgrind_annotate --auto=no "${LAST_DUMP[module]}" 2>/dev/null \
            | sed -n '/^Ir/,$p' | sed -n '1,30p'
    } > "$out"
}


# Report.

pct() {
    calc "($1 / $2 - 1) * 100"
}

# paired FILE BASE: the ratios FILE[i] / BASE[i], round by round, one a line.
paired() {
    paste "$1" "$2" | awk '$2 > 0 { printf "%.10g\n", $1 / $2 }'
}

report_scenario() {
    local scen="$1" variant tput instr
    local res="$BENCH/results/$scen"
    local s_ir noise cmin cmax
    local hs cpu ir imin imax spread hs_ratio cpu_ratio

    printf '\n%s\n' "${SCEN_TITLE[$scen]}"
    printf '%-10s %12s %7s %12s %7s %14s %12s %8s %8s\n' \
        variant 'hs/s' ratio 'us CPU/hs' ratio 'instr/hs' 'extra instr' \
        'extra %' spread

    if ((THROUGHPUT)); then
        # the control: two identical servers, as far apart as they came
        read -r _ cmin cmax < <(paired "$res.control.cpu" "$res.static.cpu" \
                                | stats)
        noise="$(calc "(1 - $cmin > $cmax - 1 ? 1 - $cmin : $cmax - 1) * 100")"
        NOISE[$scen]="$noise"
    fi

    if ((CALLGRIND)); then
        read -r s_ir _ _ < <(stats < "$res.static.ir")
    fi

    for variant in "${VARIANTS[@]}" uncounted tickets variables control; do
        if [[ "$variant" =~ ^(uncounted|tickets|variables)$ ]] \
           && ((!CALLGRIND))
        then
            continue
        fi

        tput="$(printf '%12s %7s %12s %7s' - - - -)"
        instr=""

        if ((THROUGHPUT)) \
           && [[ ! "$variant" =~ ^(uncounted|tickets|variables)$ ]]
        then
            read -r hs _ _ < <(stats < "$res.$variant.hs")
            read -r cpu _ _ < <(stats < "$res.$variant.cpu")
            read -r hs_ratio _ _ < <(paired "$res.$variant.hs" \
                                         "$res.static.hs" | stats)
            read -r cpu_ratio _ _ < <(paired "$res.$variant.cpu" \
                                          "$res.static.cpu" | stats)
            tput="$(printf '%12.1f %7.3f %12.1f %7.3f' \
                "$hs" "$hs_ratio" "$cpu" "$cpu_ratio")"
            CPU_RATIO[$scen.$variant]="$cpu_ratio"
        elif [[ "$variant" == control ]]; then
            continue
        fi

        if [[ "$variant" == control ]]; then
            instr="$(printf '%14s' '(static again)')"

        elif ((CALLGRIND)); then
            read -r ir imin imax < <(stats < "$res.$variant.ir")
            spread="$(calc "($imax - $imin) / $ir * 100")"
            instr="$(printf '%14.0f %+12.0f %+7.3f%% %7.3f%%' \
                "$ir" "$(calc "$ir - $s_ir")" "$(pct "$ir" "$s_ir")" \
                "$spread")"
            SPREAD[$scen.$variant]="$spread"
            EXTRA_PCT[$scen.$variant]="$(pct "$ir" "$s_ir")"
        fi

        printf '%-10s %s %s\n' "$variant" "$tput" "$instr"
    done

    if ((THROUGHPUT)); then
        printf '(throughput: medians, and medians of the ratios paired by round, over %s\n' \
            "$ROUNDS"
        printf ' rounds of %ss each; control is a second static nginx)\n' \
            "$ROUND_SECONDS"
        printf 'noise: control/static CPU per handshake ranged %.3f to %.3f by round: %.2f%%\n' \
            "$cmin" "$cmax" "$noise"
    fi

    if ((CALLGRIND)); then
        printf '(instructions: medians of %s callgrind batches of %s handshakes each;\n' \
            "$CALLGRIND_BATCHES" "$CALLGRIND_BATCH"
        printf ' spread: (max - min) / median of the batches)\n'

        # What counting costs: the module with and without it.  The
        # handshakes' difference moves with the noise of whole processes
        # (see the spread); the certificate callback's own instructions,
        # everything it calls included, do not.
        read -r ir _ _ < <(stats < "$res.module.ir")
        read -r imin _ _ < <(stats < "$res.uncounted.ir")
        read -r cb_with cb_without < "$res.callback"
        COUNTING[$scen]="$(calc "($cb_with - $cb_without) / $s_ir * 100")"
        printf 'counting: the certificate callback takes %.0f instructions/handshake with it, %.0f without:\n' \
            "$cb_with" "$cb_without"
        printf '          %+.0f (%+.3f%% of static); whole handshakes %+.0f (%+.3f%%, within the spread)\n' \
            "$(calc "$cb_with - $cb_without")" "${COUNTING[$scen]}" \
            "$(calc "$ir - $imin")" "$(calc "($ir - $imin) / $s_ir * 100")"

        # What the variables cost with tickets: the whole handshakes,
        # since the ticket is encoded and encrypted with what it carries.
        read -r ir _ _ < <(stats < "$res.variables.ir")
        read -r imin _ _ < <(stats < "$res.tickets.ir")
        printf 'variables, with session tickets: %+.0f instructions/handshake (%+.3f%% of static)\n' \
            "$(calc "$ir - $imin")" "$(calc "($ir - $imin) / $s_ir * 100")"
    fi
}

declare -A SPREAD=() EXTRA_PCT=() CPU_RATIO=() NOISE=() COUNTING=()

verdict() {
    if [[ "$(calc "$1 ? 1 : 0")" -eq 1 ]]; then
        printf 'PASS'
    else
        printf 'MISS'
    fi
}

report_targets() {
    local scen variant v ratio dev

    printf '\nTargets (module against static)\n'
    for scen in "${SCENARIOS[@]}"; do
        if ((CALLGRIND)); then
            v="${EXTRA_PCT[$scen.module]}"
            printf '%s  instructions/handshake %+.3f%% (target <= +%s%%): %s\n' \
                "$(verdict "$v <= ${TARGET_INSTR[$scen]}")" "$v" \
                "${TARGET_INSTR[$scen]}" "${SCEN_TITLE[$scen]}"

            v="${COUNTING[$scen]}"
            printf '%s  counting %+.3f%% of static (target <= +0.1%%): %s\n' \
                "$(verdict "$v <= 0.1")" "$v" "${SCEN_TITLE[$scen]}"

            for variant in static module; do
                v="${SPREAD[$scen.$variant]}"
                printf '%s  callgrind batches of %s within 0.1%% (%.3f%%): %s\n' \
                    "$(verdict "$v <= 0.1")" "$variant" "$v" \
                    "${SCEN_TITLE[$scen]}"
            done
        fi

        if ((THROUGHPUT)); then
            ratio="${CPU_RATIO[$scen.module]}"
            dev="$(calc "($ratio - 1) * 100")"
            printf '%s  CPU time/handshake ratio %.3f (%+.2f%%; noise %.2f%%): %s\n' \
                "$(verdict "($dev < 0 ? 0 - ($dev) : $dev) <= ${NOISE[$scen]}")" \
                "$ratio" "$dev" "${NOISE[$scen]}" "${SCEN_TITLE[$scen]}"
        fi
    done

    if [[ -n "$OPENRESTY_NOTE" ]]; then
        printf '\n%s\n' "$OPENRESTY_NOTE"
    fi
    printf '\nWork files, callgrind dumps and annotations: %s\n' "$BENCH"
}


main() {
    local scen variant

    prepare

    rm -rf "$BENCH/results" "$BENCH/run" "$BENCH/callgrind"
    mkdir -p "$BENCH/results" "$BENCH/run" "$BENCH/callgrind"

    for scen in "${SCENARIOS[@]}"; do
        if ((THROUGHPUT)); then
            log "throughput: ${SCEN_TITLE[$scen]}, variants ${VARIANTS[*]}"
            throughput_scenario "$scen"
        fi

        if ((CALLGRIND)); then
            LAST_DUMP=()
            for variant in "${VARIANTS[@]}" uncounted tickets variables; do
                log "callgrind: ${SCEN_TITLE[$scen]}, $variant ($(elapsed))"
                callgrind_variant "$scen" "$variant"
            done
            printf '%s %s\n' "$(callback_ir "${LAST_DUMP[module]}")" \
                "$(callback_ir "${LAST_DUMP[uncounted]}")" \
                > "$BENCH/results/$scen.callback"
            annotate_scenario "$scen"
        fi
    done

    printf 'Full TLS handshakes on loopback, Debian %s; variants: %s\n' \
        "$("$DEBIAN_NGINX" -v 2>&1 | sed 's/.*: //')" "${VARIANTS[*]}"
    for scen in "${SCENARIOS[@]}"; do
        report_scenario "$scen"
    done
    report_targets

    for scen in "${SCENARIOS[@]}"; do
        if [[ -s "$BENCH/results/$scen.annotate.txt" ]]; then
            printf '\nModule functions and their callees, %s, Ir over %s handshakes (callgrind_annotate):\n' \
                "$scen" "$CALLGRIND_BATCH"
            sed -n '2,/^$/p' "$BENCH/results/$scen.annotate.txt" \
                | sed '/^$/d'
        fi
    done

    log "done ($(elapsed))"
}

main
