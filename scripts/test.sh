#!/usr/bin/env bash
#
# Run the test suite: install what is needed, build the module for Debian's
# nginx (build-module.sh), then `prove -r t/` against Debian's
# /usr/sbin/nginx, which loads the module (TEST_NGINX_LOAD_MODULES).
#
# Arguments other than the options below go to prove; naming test files
# replaces the default `-r t/`:
#     scripts/test.sh                    the whole suite
#     scripts/test.sh t/api_get.t -v     one file, verbose
#
# --nginx PATH runs the suite against another nginx binary with the module
# compiled in, e.g. build/nginx-sanitize/sbin/nginx from build-nginx.sh.
# For a sanitizer build, every ASan/UBSan report is collected in
# build/sanitizer-reports/ and fails the run (see sanitizer_env in lib.sh).
#
# Test::Nginx::Socket from the system is used when installed; otherwise the
# compatible runner in t/compat.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--nginx PATH] [PROVE_ARG...]\n' \
        "$(basename "$0")"
    printf 'Builds the module and runs prove -r t/ (or the given tests).\n'
}

NGINX_BIN=""
PROVE_ARGS=()
HAVE_TESTS_ARG=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --nginx) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                 NGINX_BIN="$2"; shift 2 ;;
        --nginx=*) NGINX_BIN="${1#--nginx=}"; shift ;;
        --) shift; PROVE_ARGS+=("$@"); break ;;
        *) PROVE_ARGS+=("$1"); shift ;;
    esac
done

# Paths given are relative to where the script was started; it runs prove
# from the project root.
for i in "${!PROVE_ARGS[@]}"; do
    arg="${PROVE_ARGS[i]}"
    if [[ "$arg" != -* && -e "$arg" ]]; then
        PROVE_ARGS[i]="$(realpath "$arg")"
        HAVE_TESTS_ARG=1
    fi
done

if [[ -n "$NGINX_BIN" ]]; then
    if [[ ! -f "$NGINX_BIN" || ! -x "$NGINX_BIN" ]]; then
        printf '%s: error: not an executable: %s\n' "$(basename "$0")" \
            "$NGINX_BIN" >&2
        exit 1
    fi
    NGINX_BIN="$(realpath "$NGINX_BIN")"
fi

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"

if [[ -z "$(find t -name '*.t' -type f -print -quit 2>/dev/null)" ]]; then
    die "no tests: there is no t/*.t file in $ROOT"
fi

"$ROOT/scripts/deps.sh"

if [[ -z "$NGINX_BIN" ]]; then
    "$ROOT/scripts/build-module.sh"
    NGINX_BIN="$DEBIAN_NGINX"
    export TEST_NGINX_LOAD_MODULES="$BUILD_DIR/debian/ngx_palette_cert_module.so"
else
    unset TEST_NGINX_LOAD_MODULES
fi

export TEST_NGINX_BINARY="$NGINX_BIN"

INC=()
if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    log "Test::Nginx::Socket: $(perl -MTest::Nginx::Socket \
        -e 'print $INC{"Test/Nginx/Socket.pm"}')"
else
    [[ -f t/compat/Test/Nginx/Socket.pm ]] \
        || die "Test::Nginx::Socket is not installed and" \
               "t/compat/Test/Nginx/Socket.pm is missing"
    log "Test::Nginx::Socket: t/compat (not installed on the system)"
    INC=(-I t/compat)
fi

REPORTS=""
if nginx_is_sanitized "$NGINX_BIN"; then
    REPORTS="$BUILD_DIR/sanitizer-reports"
    rm -rf "$REPORTS"
    sanitizer_env "$REPORTS"
    log "sanitizer build: reports go to $REPORTS"
fi

if [[ "$HAVE_TESTS_ARG" -eq 0 ]]; then
    PROVE_ARGS=(-r "${PROVE_ARGS[@]}" t/)
fi

version="$("$NGINX_BIN" -v 2>&1 | sed 's/.*: //')"
if [[ -n "${TEST_NGINX_LOAD_MODULES:-}" ]]; then
    log "nginx: $NGINX_BIN ($version), load_module $TEST_NGINX_LOAD_MODULES"
else
    log "nginx: $NGINX_BIN ($version), module compiled in"
fi
log "prove ${INC[*]} ${PROVE_ARGS[*]}"

rc=0
prove "${INC[@]}" "${PROVE_ARGS[@]}" || rc=$?

if [[ -n "$REPORTS" ]] && sanitizer_reports "$REPORTS"; then
    log "FAILED: sanitizer reports in $REPORTS (above)"
    [[ "$rc" -ne 0 ]] || rc=1
fi

# On success prove's own summary stays the last thing printed.
if [[ "$rc" -ne 0 ]]; then
    log "FAILED (prove exit $rc)"
    exit "$rc"
fi
