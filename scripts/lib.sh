# shellcheck shell=bash
#
# Shared helpers for the scripts in this folder; sourced, never run.
#
# Usage (from a script in scripts/):
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Sets ROOT (the project root, the folder holding `config`) and BUILD_DIR
# (ROOT/build, where every generated file goes), and provides logging,
# Debian package installation and the "configure only when something
# changed" logic shared by the build scripts.

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
    if start-stop-daemon --status --pidfile /run/nginx.pid \
           --exec "$DEBIAN_NGINX" 2>/dev/null
    then
        need_root "stopping the nginx service"
        log "stopping the stock nginx service (it is not used here)"
        if command -v service >/dev/null; then
            service nginx stop >&2 || true
        fi
        if start-stop-daemon --status --pidfile /run/nginx.pid \
               --exec "$DEBIAN_NGINX" 2>/dev/null
        then
            start-stop-daemon --stop --quiet --retry=QUIT/10/TERM/5 \
                --pidfile /run/nginx.pid --exec "$DEBIAN_NGINX" \
                || die "could not stop the nginx service"
        fi
    fi

    if command -v systemctl >/dev/null \
       && [[ "$(systemctl is-enabled nginx 2>/dev/null || true)" == enabled ]]
    then
        need_root "disabling the nginx service"
        log "disabling the stock nginx service at boot"
        systemctl disable --quiet nginx 2>/dev/null \
            || warn "systemctl disable nginx failed"
    fi
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
