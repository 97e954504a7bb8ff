# shellcheck shell=bash
#
# Shared helpers for the scripts in this folder; sourced, never run.
#
# Usage (from a script in scripts/):
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Sets ROOT (the project root, the folder holding `config`) and BUILD_DIR
# (ROOT/build, where every generated file goes), and provides logging,
# Debian package installation, the "configure only when something
# changed" logic shared by the build scripts, the scratch nginx
# instances of the stress test and the benchmarks, and the benchmarks'
# arithmetic (medians, callgrind batches).

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    printf 'usage: . %s   (sourced by the other scripts, not run)\n' "$0"
    exit 2
fi

if [[ -n "${PCERT_LIB_LOADED:-}" ]]; then
    return 0
fi
PCERT_LIB_LOADED=1

PCERT_SCRIPT="$(basename "$0")"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck disable=SC2034  # used by the scripts that source this file
BUILD_DIR="$ROOT/build"

if [[ ! -f "$ROOT/config" ]]; then
    printf '%s: error: %s has no nginx addon "config"\n' \
        "$PCERT_SCRIPT" "$ROOT" >&2
    exit 1
fi


# Logging: progress to stderr, so that stdout stays usable for results.

log() {
    printf '==> %s: %s\n' "$PCERT_SCRIPT" "$*" >&2
}

warn() {
    printf '==> %s: warning: %s\n' "$PCERT_SCRIPT" "$*" >&2
}

die() {
    printf '==> %s: error: %s\n' "$PCERT_SCRIPT" "$*" >&2
    exit 1
}

# say_usage SYNOPSIS [LINE...]: "usage: SCRIPT SYNOPSIS", then the LINEs,
# for a script's usage().
say_usage() {
    printf 'usage: %s %s\n' "$PCERT_SCRIPT" "$1"
    shift
    if [[ $# -gt 0 ]]; then
        printf '%s\n' "$@"
    fi
}

# no_arguments "$@": for a script that takes only -h: its usage() on -h or
# --help (exit 0) or on any other argument (to stderr, exit 2).
no_arguments() {
    case "${1:-}" in
        -h|--help) usage; exit 0 ;;
        "") ;;
        *) usage >&2; exit 2 ;;
    esac
}

# Report where a script stopped when `set -e` ends it on a failed command.
_pcert_rc=0
trap '_pcert_rc=$?; printf "==> %s: error: \"%s\" failed (exit %s, line %s)\n" \
    "$PCERT_SCRIPT" "$BASH_COMMAND" "$_pcert_rc" "$LINENO" >&2' ERR
set -o errtrace

# Seconds since the script started, for timing messages.
elapsed() {
    printf '%ss' "$SECONDS"
}

jobs_count() {
    nproc 2>/dev/null || echo 2
}


# Debian packages.

need_root() {
    if [[ "$(id -u)" -ne 0 ]]; then
        die "$* needs root (run the script as root or with sudo)"
    fi
}

# True when the package lists are missing or were last refreshed more than a
# day ago: installing from stale lists fails with 404 once the archive has
# newer versions. (apt dates the list files by the server's Last-Modified, so
# the folders' own times tell when `apt-get update` last ran.)
apt_lists_stale() {
    local lists=/var/lib/apt/lists

    if ! compgen -G "$lists/*_Packages*" >/dev/null; then
        return 0
    fi

    [[ -z "$(find "$lists" "$lists/partial" -maxdepth 0 -mmin -1440 \
             2>/dev/null)" ]]
}

# Run `apt-get update` at most once per top-level script run (the flag is
# exported, so scripts started from this one skip it too).
apt_update() {
    if [[ -n "${PCERT_APT_UPDATED:-}" ]]; then
        return 0
    fi

    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 \
        || die "apt-get update failed"
    export PCERT_APT_UPDATED=1
}

apt_update_if_stale() {
    if apt_lists_stale; then
        apt_update
    fi
}

# Print the packages among "$@" that are not installed.
missing_packages() {
    local pkg status

    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null \
                  || true)"
        if [[ "$status" != installed ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# need_packages PKG...: install the packages that are missing, without
# recommends and without starting any service they ship (see
# without_service_start). Quick when everything is installed.
need_packages() {
    local -a missing

    mapfile -t missing < <(missing_packages "$@")

    if [[ "${#missing[@]}" -eq 0 ]]; then
        return 0
    fi

    need_root "installing ${missing[*]}"
    apt_update_if_stale

    log "installing ${missing[*]}"

    if ! without_service_start apt_install "${missing[@]}"; then
        if [[ -n "${PCERT_APT_UPDATED:-}" ]]; then
            die "apt-get install ${missing[*]} failed"
        fi

        warn "apt-get install failed; updating package lists and retrying"
        apt_update
        without_service_start apt_install "${missing[@]}" \
            || die "apt-get install ${missing[*]} failed"
    fi
}

# apt-get install, its output kept in a log shown only when it fails.
apt_install() {
    local out rc=0

    out="$(mktemp "${TMPDIR:-/tmp}/palette-cert-apt.XXXXXX")"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o Dpkg::Use-Pty=0 "$@" \
        </dev/null >"$out" 2>&1 || rc=$?

    if [[ "$rc" -ne 0 ]]; then
        tail -n 25 "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

# Run "$@" with a policy-rc.d that forbids starting services, so that
# installing a server package (nginx would try to bind port 80) starts
# nothing. An existing policy-rc.d is left as it is.
without_service_start() {
    local policy=/usr/sbin/policy-rc.d
    local rc=0

    if [[ -e "$policy" ]]; then
        "$@" || rc=$?
        return "$rc"
    fi

    printf '#!/bin/sh\n# temporary, from %s\nexit 101\n' "$PCERT_SCRIPT" \
        > "$policy"
    chmod 0755 "$policy"

    "$@" || rc=$?

    rm -f "$policy"
    return "$rc"
}


# Debian's own nginx (the package, /usr/sbin/nginx) and its service.

DEBIAN_NGINX=/usr/sbin/nginx
DEBIAN_NGINX_SRC=/usr/share/nginx/src

# Installs Debian's nginx and nginx-dev and makes sure the stock service
# neither runs nor starts at boot: the scripts start their own instances
# with their own prefixes and ports.
need_debian_nginx() {
    need_packages nginx nginx-dev
    debian_nginx_service_off
}

debian_nginx_service_off() {
    service_off nginx "$DEBIAN_NGINX" /run/nginx.pid QUIT/10/TERM/5
}

# service_off NAME BINARY PIDFILE RETRY: stops the stock service NAME if
# its BINARY runs from PIDFILE (`service NAME stop`, then
# start-stop-daemon --retry=RETRY), and disables it at boot.
service_off() {
    local name="$1" bin="$2" pidfile="$3" retry="$4"

    if start-stop-daemon --status --pidfile "$pidfile" --exec "$bin" \
           2>/dev/null
    then
        need_root "stopping the $name service"
        log "stopping the stock $name service (it is not used here)"
        if command -v service >/dev/null; then
            service "$name" stop >&2 || true
        fi
        if start-stop-daemon --status --pidfile "$pidfile" --exec "$bin" \
               2>/dev/null
        then
            start-stop-daemon --stop --quiet --retry="$retry" \
                --pidfile "$pidfile" --exec "$bin" \
                || die "could not stop the $name service"
        fi
    fi

    if command -v systemctl >/dev/null \
       && [[ "$(systemctl is-enabled "$name" 2>/dev/null || true)" \
             == enabled ]]
    then
        need_root "disabling the $name service"
        log "disabling the stock $name service at boot"
        systemctl disable --quiet "$name" 2>/dev/null \
            || warn "systemctl disable $name failed"
    fi
}

# Debian's Prometheus (package prometheus: /usr/bin/prometheus and
# /usr/bin/promtool). The suite checks metrics with promtool, and
# test-prometheus.sh starts its own server on a loopback port of its own;
# the stock service, which would listen on every address at port 9090, is
# neither run nor started at boot.

PROMETHEUS=/usr/bin/prometheus
# shellcheck disable=SC2034  # used by the scripts that source this file
PROMTOOL=/usr/bin/promtool

need_prometheus() {
    need_packages prometheus
    prometheus_service_off
}

prometheus_service_off() {
    service_off prometheus "$PROMETHEUS" /run/prometheus/prometheus.pid \
        TERM/10/KILL/5
}

# Debian's configure flags and compiler options, read from nginx-dev and
# from `nginx -V`, into the arrays NGX_CONF_FLAGS and the strings
# DEBIAN_CC_OPT and DEBIAN_LD_OPT.
read_debian_nginx_flags() {
    local v

    [[ -f "$DEBIAN_NGINX_SRC/conf_flags" ]] \
        || die "$DEBIAN_NGINX_SRC/conf_flags is missing (package nginx-dev)"

    # The file is a bash array assignment written by the package build.
    # shellcheck disable=SC1091
    . "$DEBIAN_NGINX_SRC/conf_flags"

    [[ "${#NGX_CONF_FLAGS[@]}" -gt 0 ]] \
        || die "$DEBIAN_NGINX_SRC/conf_flags sets no NGX_CONF_FLAGS"

    v="$("$DEBIAN_NGINX" -V 2>&1)" || die "$DEBIAN_NGINX -V failed"

    # shellcheck disable=SC2034  # used by the scripts that source this file
    DEBIAN_CC_OPT="$(sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p" <<<"$v")"
    # shellcheck disable=SC2034
    DEBIAN_LD_OPT="$(sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p" <<<"$v")"
}

# Version of an nginx source tree ("1.22.1"), from src/core/nginx.h.
nginx_tree_version() {
    sed -n 's/^#define NGINX_VERSION *"\(.*\)"$/\1/p' "$1/src/core/nginx.h"
}


# Building nginx and modules.

# configure_if_changed SRCDIR ARG...: run ./configure ARG... in SRCDIR unless
# the last run there had the same arguments, the same addon `config` and the
# same nginx tree. A new source file is listed in `config`, so adding one
# re-runs configure too; edits to existing sources are make's job.
configure_if_changed() {
    local dir="$1"
    shift

    local stamp="$dir/objs/.palette-configure"
    local sig

    sig="$( { printf '%s\n' "$@"; cat "$ROOT/config"; \
              nginx_tree_version "$dir"; } | sha256sum)"
    sig="${sig%% *}"

    if [[ -f "$dir/objs/Makefile" && -f "$stamp" \
          && "$(cat "$stamp")" == "$sig" ]]
    then
        log "configure: unchanged, skipped"
        return 0
    fi

    log "configure ($dir)"
    rm -f "$stamp"
    (cd "$dir" && ./configure "$@") > "$dir/configure.log" 2>&1 || {
        tail -n 30 "$dir/configure.log" >&2
        die "configure failed (full output: $dir/configure.log)"
    }
    printf '%s\n' "$sig" > "$stamp"
}

# make_in SRCDIR TARGET...: make with all cores; on failure, show the
# compiler's messages and fail. objs/Makefile is named directly: Debian's
# nginx-dev tree writes no top-level Makefile, upstream's only forwards.
make_in() {
    local dir="$1"
    shift

    log "make $* ($dir)"
    if ! make -C "$dir" -f objs/Makefile -j"$(jobs_count)" "$@" \
             > "$dir/make.log" 2>&1
    then
        if ! grep -E -B2 -A6 'error:|warning:' "$dir/make.log" \
                 | head -n 80 >&2
        then
            tail -n 20 "$dir/make.log" >&2
        fi
        die "make $* failed (full output: $dir/make.log)"
    fi
}

# Copy a file so that a process that has the old one open or mapped (a
# running nginx with the module loaded) keeps the old one intact.
replace_file() {
    local src="$1" dst="$2"

    cp -p "$src" "$dst.tmp.$$"
    mv -f "$dst.tmp.$$" "$dst"
}

# nginx_smoke_test NGINX [MODULE.so]: dies unless NGINX passes `nginx -t` on
# a minimal configuration, one that loads MODULE.so when given: the binary
# starts, (loads the module,) parses a configuration and stops cleanly. A
# sanitizer build's reports fail it too.
nginx_smoke_test() {
    local nginx="$1" so="${2:-}" tmp out rc=0

    tmp="$(mktemp -d "${TMPDIR:-/tmp}/palette-cert-check.XXXXXX")"
    mkdir -p "$tmp/logs"
    {
        if [[ -n "$so" ]]; then
            printf 'load_module %s;\n\n' "$so"
        fi
        cat <<CONF
error_log stderr;
pid       $tmp/logs/nginx.pid;

events {
}

http {
    access_log off;
}
CONF
    } > "$tmp/nginx.conf"

    if nginx_is_sanitized "$nginx"; then
        sanitizer_env "$tmp/reports"
    fi

    if ! out="$("$nginx" -t -q -p "$tmp/" -c "$tmp/nginx.conf" 2>&1)"; then
        printf '%s\n' "$out" >&2
        rc=1
    fi
    if sanitizer_reports "$tmp/reports"; then
        rc=2
    fi

    unset ASAN_OPTIONS UBSAN_OPTIONS
    rm -rf "$tmp"

    case "$rc" in
        1) die "$nginx -t failed${so:+ to load $so}" ;;
        2) die "$nginx -t: sanitizer reports (above)" ;;
    esac
}


# Sanitizer builds (build-nginx.sh --flavor sanitize).

# True if the nginx binary "$1" was built with -fsanitize.
nginx_is_sanitized() {
    "$1" -V 2>&1 | grep -q -- '-fsanitize='
}

# sanitizer_env REPORT_DIR: export ASAN_OPTIONS and UBSAN_OPTIONS so that
# every report is written to REPORT_DIR/report.PID rather than to a
# daemon's stderr, and known, harmless undefined behaviour in nginx's core
# (not in the module) is not reported.
#
# Leak detection is off: nginx leaves some memory to the exit on purpose
# (the startup pool in main(), all of a cycle after `nginx -t`, the event
# arrays of a single-process run), which LeakSanitizer reports and, worse,
# turns into exit status 23, which breaks tests of nginx failing to start.
# ASAN_OPTIONS=detect_leaks=1 in the environment turns it on: options
# already in the environment win over these.
sanitizer_env() {
    local dir="$1"
    local supp="$dir/suppressions-ubsan.txt"

    mkdir -p "$dir"

    # nginx copies empty strings with memcpy(dst, NULL, 0).
    cat > "$supp" <<'SUPP'
nonnull-attribute:ngx_pstrdup
SUPP

    export ASAN_OPTIONS="detect_leaks=0:log_path=$dir/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

    # GCC's UBSan writes to stderr whatever log_path says: a worker's
    # reports land in its error log, the master's in the tests' output;
    # the tests look for the module's in the first (t/lib/PaletteCert.pm),
    # run_suite in the second (t/lib/PaletteCert/Sanitizer.pm).
    export UBSAN_OPTIONS="print_stacktrace=1:suppressions=$supp:log_path=$dir/report${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
}

# sanitizer_reports REPORT_DIR: print the reports found; false if none.
sanitizer_reports() {
    local dir="$1" f found=1

    for f in "$dir"/report.*; do
        [[ -f "$f" ]] || continue
        found=0
        printf '\n--- %s\n' "$f" >&2
        head -n 40 "$f" >&2
    done
    return "$found"
}


# Certificates made with openssl (t/lib/gen-certs.sh and the benchmarks).

# genkey FILE ec-CURVE|rsa-BITS: a new key, PKCS#8 PEM, unencrypted, mode
# 0600 (e.g. ec-P-256, rsa-2048).
genkey() {
    local file="$1" type="$2"
    local -a alg

    case "$type" in
        ec-*) alg=(-algorithm EC -pkeyopt "ec_paramgen_curve:${type#ec-}"
                   -pkeyopt ec_param_enc:named_curve) ;;
        rsa-*) alg=(-algorithm RSA -pkeyopt "rsa_keygen_bits:${type#rsa-}") ;;
        *) die "genkey: unknown key type $type" ;;
    esac

    openssl genpkey "${alg[@]}" -out "$file" 2>/dev/null \
        || die "openssl genpkey $type failed"
    chmod 0600 "$file"
}

# openssl_ca DIR: writes DIR/openssl.cnf, the configuration of `openssl req`
# and `openssl ca`, and exports the variables it reads, set for a server
# certificate for localhost and 127.0.0.1 (set one otherwise for one call:
# PALETTE_SAN=DNS:a.test openssl ca ...):
#
#   PALETTE_CA_DB    the folder of `openssl ca`'s database (index.txt,
#                    serial) and of the certificates it issues: DIR
#   PALETTE_PATHLEN  the pathlen of v3_int and v3_int_eku: 0
#   PALETTE_BC       v3_leaf*'s basic constraints: CA:FALSE
#   PALETTE_KU       v3_leaf*'s key usage: digitalSignature
#   PALETTE_EKU      v3_int_eku's and v3_leaf*'s extended key usage:
#                    serverAuth
#   PALETTE_SAN      v3_leaf*'s subject alternative names:
#                    DNS:localhost,IP:127.0.0.1
#
# The extension sections: v3_root (a root), v3_int (an intermediate),
# v3_int_eku (one with an extended key usage), v3_leaf (a server
# certificate), v3_leaf_noku (one without key usage) and v3_leaf_nosan
# (one without subject alternative names). openssl wants every variable
# the file names set for every command that reads it.
openssl_ca() {
    local dir="$1" ext

    export PALETTE_CA_DB="$dir"
    export PALETTE_PATHLEN=0
    export PALETTE_BC="CA:FALSE"
    export PALETTE_KU="digitalSignature"
    export PALETTE_EKU="serverAuth"
    export PALETTE_SAN="DNS:localhost,IP:127.0.0.1"

    # shellcheck disable=SC2016  # openssl's own $ENV:: references
    {
        cat <<'CNF'
[ req ]
distinguished_name  = req_dn
prompt              = no

[ req_dn ]

[ ca ]
default_ca          = palette_ca

[ palette_ca ]
database            = $ENV::PALETTE_CA_DB/index.txt
new_certs_dir       = $ENV::PALETTE_CA_DB
serial              = $ENV::PALETTE_CA_DB/serial
default_md          = sha256
policy              = policy_cn
email_in_dn         = no
unique_subject      = no
copy_extensions     = none

[ policy_cn ]
commonName          = supplied

[ v3_root ]
basicConstraints        = critical, CA:TRUE
keyUsage                = critical, keyCertSign, cRLSign
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid:always
CNF

        for ext in v3_int v3_int_eku; do
            printf '\n[ %s ]\n' "$ext"
            printf 'basicConstraints        = %s\n' \
                'critical, CA:TRUE, pathlen:$ENV::PALETTE_PATHLEN'
            printf 'keyUsage                = critical, keyCertSign, cRLSign\n'
            if [[ "$ext" == v3_int_eku ]]; then
                printf 'extendedKeyUsage        = $ENV::PALETTE_EKU\n'
            fi
            printf 'subjectKeyIdentifier    = hash\n'
            printf 'authorityKeyIdentifier  = keyid:always\n'
        done

        for ext in v3_leaf v3_leaf_noku v3_leaf_nosan; do
            printf '\n[ %s ]\n' "$ext"
            printf 'basicConstraints        = critical, $ENV::PALETTE_BC\n'
            if [[ "$ext" != v3_leaf_noku ]]; then
                printf 'keyUsage                = critical, $ENV::PALETTE_KU\n'
            fi
            printf 'extendedKeyUsage        = $ENV::PALETTE_EKU\n'
            printf 'subjectKeyIdentifier    = hash\n'
            printf 'authorityKeyIdentifier  = keyid\n'
            if [[ "$ext" != v3_leaf_nosan ]]; then
                printf 'subjectAltName          = $ENV::PALETTE_SAN\n'
            fi
        done
    } > "$dir/openssl.cnf"
}


# Scratch nginx instances (scripts/stress-crash.sh and the benchmarks):
# Debian's nginx with the module built by build-module.sh, started as a
# daemon in a prefix of its own under build/, on free loopback ports, and
# stopped when the script exits.

# The module, as build-module.sh builds it for Debian's nginx.
# shellcheck disable=SC2034  # used by the scripts that source this file
MODULE_SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"

# The master pid of the running instance (set by scratch_nginx_start,
# emptied by scratch_nginx_stop), and the pids of the script's background
# jobs, which the exit trap of scratch_nginx_traps ends first.
SCRATCH_MASTER=""
SCRATCH_BG=()

# port_free PORT: true if nothing listens on TCP port PORT.
port_free() {
    [[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}

# free_ports N [FROM]: the first N free TCP ports from FROM (20000 by
# default) up, below 30000, in the array FREE_PORTS.
free_ports() {
    local n="$1" from="${2:-20000}" p

    FREE_PORTS=()
    for ((p = from; ${#FREE_PORTS[@]} < n && p < 30000; p++)); do
        if port_free "$p"; then
            FREE_PORTS+=("$p")
        fi
    done

    [[ "${#FREE_PORTS[@]}" -eq "$n" ]] \
        || die "no $n free ports between $from and 30000"
}

# scratch_prefix TEMPLATE: makes a folder TEMPLATE.XXXXXX with conf/, logs/
# and run/ in it, readable by all (workers that run as another user write
# the store there), and prints its path.
scratch_prefix() {
    local dir

    mkdir -p "$(dirname "$1")"
    dir="$(mktemp -d "$1.XXXXXX")"
    chmod 0755 "$dir"
    mkdir -p "$dir/conf" "$dir/logs" "$dir/run"
    printf '%s\n' "$dir"
}

# nginx_conf_main [--foreground] WORKERS CONNECTIONS [LINE...]: the main
# context of an nginx.conf, the LINEs first (load_module, user), its error
# log (notice) and pid file under its prefix, and the events block: a
# daemon with a master, or with --foreground one process in the
# foreground (for valgrind).
nginx_conf_main() {
    local master=on

    if [[ "$1" == --foreground ]]; then
        master=off
        shift
    fi

    local workers="$1" connections="$2"
    shift 2

    if [[ $# -gt 0 ]]; then
        printf '%s\n' "$@" ''
    fi
    cat <<EOF
worker_processes  $workers;
master_process    $master;
daemon            $master;

error_log  logs/error.log notice;
pid        logs/nginx.pid;

events {
    worker_connections  $connections;
}
EOF
}

# nginx_conf_tls_server PORT NAME ZONE [LINE...]: a server block of http
# on 127.0.0.1:PORT for NAME, TLS 1.2 and 1.3 with the certificate of
# ZONE, the LINEs after ssl_protocols; it answers "tls ok".
nginx_conf_tls_server() {
    local port="$1" name="$2" zone="$3" line
    shift 3

    cat <<EOF
    server {
        listen       127.0.0.1:$port ssl;
        server_name  $name;

        ssl_protocols  TLSv1.2 TLSv1.3;
EOF
    for line in "$@"; do
        printf '        %s\n' "$line"
    done
    cat <<EOF

        palette_cert  $zone;

        location / {
            return  200 "tls ok\n";
        }
    }
EOF
}

# scratch_nginx_conf PREFIX OPTION...: writes PREFIX/conf/nginx.conf: the
# module, a TLS server (TLS 1.2 and 1.3, SNI localhost) on 127.0.0.1:HTTPS
# that takes its certificate from the zone, and the zone's endpoint at
# http://127.0.0.1:ADMIN/cert. The zone has names=localhost,127.0.0.1.
#
#   --ports HTTPS ADMIN  the two ports (required)
#   --zone NAME:SIZE     the zone (required)
#   --store DIR|off      the zone's store (default off)
#   --workers N          worker_processes (default 1)
#   --connections N      worker_connections (default 512)
#   --user USER          the workers' user (default: none set)
#   --no-session-reuse   ssl_session_cache and ssl_session_tickets off
#   --local-admin        the endpoint allows 127.0.0.1 only
#   --body-size SIZE     the endpoint's client_max_body_size and
#                        client_body_buffer_size (default 64k)
scratch_nginx_conf() {
    local prefix="$1"
    local https="" admin="" zone="" store=off workers=1 connections=512
    local user="" reuse=on local_admin="" body=64k
    local -a head reuse_lines=()
    shift

    while [[ $# -gt 0 ]]; do
        case "$1" in
            --ports) https="$2"; admin="$3"; shift 3 ;;
            --zone) zone="$2"; shift 2 ;;
            --store) store="$2"; shift 2 ;;
            --workers) workers="$2"; shift 2 ;;
            --connections) connections="$2"; shift 2 ;;
            --user) user="$2"; shift 2 ;;
            --no-session-reuse) reuse=off; shift ;;
            --local-admin) local_admin=1; shift ;;
            --body-size) body="$2"; shift 2 ;;
            *) die "scratch_nginx_conf: unknown option '$1'" ;;
        esac
    done

    [[ -n "$https" && -n "$admin" && "$zone" == *:* ]] \
        || die "scratch_nginx_conf: --ports and --zone NAME:SIZE are needed"

    head=("load_module $MODULE_SO;")
    if [[ -n "$user" ]]; then
        head+=("user              $user;")
    fi
    if [[ "$reuse" == off ]]; then
        reuse_lines=("ssl_session_cache    off;" "ssl_session_tickets  off;")
    fi

    {
        nginx_conf_main "$workers" "$connections" "${head[@]}"
        cat <<EOF

http {
    access_log  off;

    palette_cert_zone  $zone  names=localhost,127.0.0.1
                       store=$store;

EOF
        nginx_conf_tls_server "$https" localhost "${zone%%:*}" \
            "${reuse_lines[@]}"
        cat <<EOF

    server {
        listen       127.0.0.1:$admin;
        server_name  localhost;

        location /cert {
EOF
        if [[ -n "$local_admin" ]]; then
            printf '            allow  127.0.0.1;\n'
            printf '            deny   all;\n\n'
        fi
        cat <<EOF
            palette_cert_api  ${zone%%:*};

            client_max_body_size     $body;
            client_body_buffer_size  $body;
        }

        location = /metrics {
            palette_cert_metrics;
        }
    }
}
EOF
    } > "$prefix/conf/nginx.conf"
}

# scratch_nginx_test PREFIX: dies unless PREFIX/conf/nginx.conf passes
# nginx -t.
scratch_nginx_test() {
    local out

    if ! out="$("$DEBIAN_NGINX" -t -q -p "$1/" -c "$1/conf/nginx.conf" 2>&1)"
    then
        printf '%s\n' "$out" >&2
        die "the configuration does not pass nginx -t"
    fi
}

# master_pid PREFIX: prints the pid of the master running from PREFIX;
# false if none runs.
master_pid() {
    local pid

    [[ -f "$1/logs/nginx.pid" ]] || return 1
    pid="$(cat "$1/logs/nginx.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# workers_of PID: the pids of the children of process PID (the workers of
# a master), one a line.
workers_of() {
    local children="/proc/$1/task/$1/children" status

    if [[ -r "$children" ]]; then
        tr ' ' '\n' < "$children" | sed '/^$/d'
        return 0
    fi

    for status in /proc/[0-9]*/status; do
        awk -v ppid="$1" '$1 == "PPid:" && $2 == ppid { found = 1 }
                          $1 == "Pid:" { pid = $2 }
                          END { if (found) print pid }' "$status" \
            2>/dev/null || true
    done
}

# http_code URL: the status of a GET, "000" if none came within 5 s.
http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null \
        || true
}

# http_get URL OUT: GET into file OUT; false unless answered 200 within 5 s.
http_get() {
    local code

    code="$(curl -s -o "$2" -w '%{http_code}' --max-time 5 "$1" \
            2>/dev/null || true)"
    [[ "$code" == 200 ]]
}

# nginx_daemon [--may-fail] PREFIX: starts Debian's nginx with
# PREFIX/conf/nginx.conf and waits for its master's pid file (10 s at the
# most); prints the master's pid. If nginx does not start, dies showing
# why, or with --may-fail returns false (why is in PREFIX/logs/start.log).
nginx_daemon() {
    local may_fail="" prefix pid i

    if [[ "$1" == --may-fail ]]; then
        may_fail=1
        shift
    fi
    prefix="$1"

    if ! "$DEBIAN_NGINX" -p "$prefix/" -c "$prefix/conf/nginx.conf" \
             > "$prefix/logs/start.log" 2>&1
    then
        [[ -n "$may_fail" ]] && return 1
        cat "$prefix/logs/start.log" >&2
        die "nginx did not start (see $prefix/logs/error.log)"
    fi

    # the master writes its pid file once it is a daemon
    for ((i = 0; i < 100; i++)); do
        pid="$(master_pid "$prefix")" && break
        sleep 0.1
    done
    [[ -n "$pid" ]] \
        || die "nginx exited right after starting (see $prefix/logs/error.log)"
    printf '%s\n' "$pid"
}

# scratch_nginx_start [--may-fail] PREFIX URL: starts Debian's nginx with
# PREFIX/conf/nginx.conf (nginx_daemon), sets SCRATCH_MASTER and waits
# until URL answers 200. If nginx does not start, dies showing why, or
# with --may-fail returns false (why is in PREFIX/logs/start.log). Dies if
# it starts but URL does not answer 200 within 5 s.
scratch_nginx_start() {
    local -a may_fail=()
    local prefix url i code=000

    if [[ "$1" == --may-fail ]]; then
        may_fail=(--may-fail)
        shift
    fi
    prefix="$1"
    url="$2"

    # SCRATCH_MASTER is set at once, so that scratch_nginx_stop finds it
    # whatever happens next
    if ! SCRATCH_MASTER="$(nginx_daemon "${may_fail[@]}" "$prefix")"; then
        [[ "${#may_fail[@]}" -gt 0 ]] && return 1
        exit 1
    fi

    for ((i = 0; i < 50; i++)); do
        code="$(http_code "$url")"
        if [[ "$code" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done

    tail -n 20 "$prefix/logs/error.log" >&2 || true
    die "nginx started but its endpoint does not answer 200 (last: $code)"
}

# wait_gone PID SECONDS: until process PID has ended; false if it is still
# there after SECONDS.
wait_gone() {
    local pid="$1" secs="$2" i

    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
}

# stop_pid PID [SIGNAL [SECONDS]]: sends SIGNAL (TERM) to PID and waits for
# it to end, KILL if it is still there after SECONDS (10).
stop_pid() {
    local pid="$1" sig="${2:-TERM}" secs="${3:-10}"

    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait_gone "$pid" "$secs" && return 0
    warn "pid $pid still running ${secs}s after $sig; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# scratch_nginx_stop: fast shutdown (TERM) of the instance SCRATCH_MASTER;
# KILL for the master and the workers it had if it is still there after
# 10 s.
scratch_nginx_stop() {
    local pid="$SCRATCH_MASTER"
    local -a workers=()

    SCRATCH_MASTER=""
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0

    mapfile -t workers < <(workers_of "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 && return 0

    warn "nginx master $pid still running after 10s; killing it"
    kill -KILL "$pid" "${workers[@]}" 2>/dev/null || true
}

# scratch_nginx_traps: at exit, TERM the jobs in SCRATCH_BG, wait for them
# and stop the instance; INT and TERM end the script (status 130, 143).
scratch_nginx_traps() {
    trap _scratch_nginx_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_scratch_nginx_exit() {
    local rc=$?

    trap - EXIT INT TERM
    scratch_bg_stop
    scratch_nginx_stop
    exit "$rc"
}

# scratch_bg_stop: TERM the jobs in SCRATCH_BG and wait for them.
scratch_bg_stop() {
    local pid

    for pid in "${SCRATCH_BG[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SCRATCH_BG[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}


# callgrind_nginx DIR CONF: starts Debian's nginx with CONF (one process in
# the foreground) under callgrind, pinned to CPU 0, in the background,
# counting nothing until callgrind_control says so; its dump
# DIR/callgrind.out, its output DIR/valgrind.log. Sets CALLGRIND_PID.
callgrind_nginx() {
    local dir="$1" conf="$2"

    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$dir/callgrind.out" \
        "$DEBIAN_NGINX" -p "$dir/" -c "$conf" \
        > "$dir/valgrind.log" 2>&1 &
    # shellcheck disable=SC2034  # read by the scripts that source this
    CALLGRIND_PID=$!
}


# Benchmark figures.

# Median, min and max of the numbers on stdin: "MEDIAN MIN MAX".
stats() {
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "nan nan nan"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.10g %.10g %.10g\n", m, v[1], v[NR]
        }'
}

# calc EXPR: floating point arithmetic.
calc() {
    awk "BEGIN { printf \"%.10g\", $1 }"
}

# wait_port PORT PID SECONDS: until PORT on 127.0.0.1 accepts connections;
# false if process PID ends first or SECONDS pass.
wait_port() {
    local port="$1" pid="$2" secs="$3" i

    for ((i = 0; i < secs * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# callgrind_batches DIR N: for every dump DIR/callgrind.out.K that
# `callgrind_control -d` wrote (K = 1, 2, ..., in the order they were
# made), its instructions divided by N (the handshakes of a batch), one a
# line; sets CALLGRIND_LAST to the last dump.
callgrind_batches() {
    local dir="$1" per="$2" f ir

    CALLGRIND_LAST=""
    for f in $(find "$dir" -maxdepth 1 -name 'callgrind.out.*' \
                   -printf '%f\n' | sort -t. -k3,3n); do
        ir="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dir/$f")"
        [[ -n "$ir" ]] || ir="$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$dir/$f")"
        [[ -n "$ir" ]] || continue
        calc "$ir / $per"
        printf '\n'
        # shellcheck disable=SC2034  # read by the scripts that source this
        CALLGRIND_LAST="$dir/$f"
    done
}
