#!/usr/bin/env bash
#
# Build nginx itself, from the upstream source in Debian 12's nginx source
# package (1.22), with the module compiled in (--add-module), into
# build/nginx-FLAVOR/: the binary is build/nginx-FLAVOR/sbin/nginx, the
# source tree and its objs/ are in build/nginx-FLAVOR/src/.
#
# Flavors (all with --with-debug, --with-threads as Debian's nginx, so that
# a change's validation and store writes run in threads, and -Wall -Wextra
# -Werror):
#   release   -O2 -g
#   debug     -O0 -g
#   sanitize  -O1 -g, AddressSanitizer and UndefinedBehaviorSanitizer (gcc),
#             -DNGX_DEBUG_PALLOC=1 so every pool allocation is its own
#             malloc() and ASan sees pool misuse as well
#
# Incremental: configure runs again only when `config` or the flags
# changed; make rebuilds what changed.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--flavor release|debug|sanitize]\n' \
        "$(basename "$0")"
    printf 'Builds build/nginx-FLAVOR/sbin/nginx (default flavor: release)'
    printf ' with the module compiled in.\n'
}

FLAVOR=release

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --flavor) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                  FLAVOR="$2"; shift 2 ;;
        --flavor=*) FLAVOR="${1#--flavor=}"; shift ;;
        *) usage >&2; exit 2 ;;
    esac
done

WARN="-Wall -Wextra -Werror"

case "$FLAVOR" in
    release)
        CC_OPT="-O2 -g $WARN"
        LD_OPT=""
        ;;
    debug)
        CC_OPT="-O0 -g $WARN"
        LD_OPT=""
        ;;
    sanitize)
        SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
        CC_OPT="-O1 -g $SAN -DNGX_DEBUG_PALLOC=1 $WARN"
        # AddressSanitizer's own crypt() makes configure think crypt() is
        # in libc, so nginx would not link libcrypt and auth_basic with a
        # crypt(3) hash would call through a null pointer: link it here.
        LD_OPT="$SAN -Wl,--no-as-needed -lcrypt"
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT="$BUILD_DIR/nginx-$FLAVOR"
SRC="$OUT/src"
NGINX="$OUT/sbin/nginx"

need_packages build-essential libssl-dev libpcre2-dev zlib1g-dev

"$ROOT/scripts/fetch-nginx-source.sh" 1.22 "$SRC"

configure_if_changed "$SRC" \
    --prefix="$OUT" \
    --with-http_ssl_module \
    --with-http_v2_module \
    --with-http_auth_request_module \
    --with-threads \
    --with-debug \
    --with-cc=gcc \
    --with-cc-opt="$CC_OPT" \
    --with-ld-opt="$LD_OPT" \
    --add-module="$ROOT"

make_in "$SRC" build
make_in "$SRC" install

[[ -x "$NGINX" ]] || die "make install produced no $NGINX"


# Smoke test: the binary starts, parses a configuration and stops cleanly
# (under the sanitizers too).

tmp="$(mktemp -d "${TMPDIR:-/tmp}/palette-cert-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/logs"
cat > "$tmp/nginx.conf" <<EOF
error_log stderr;
pid       $tmp/logs/nginx.pid;

events {
}

http {
    access_log off;
}
EOF

if [[ "$FLAVOR" == sanitize ]]; then
    sanitizer_env "$tmp/reports"
fi

if ! out="$("$NGINX" -t -q -p "$tmp/" -c "$tmp/nginx.conf" 2>&1)"; then
    printf '%s\n' "$out" >&2
    sanitizer_reports "$tmp/reports" || true
    die "$NGINX -t failed"
fi

if sanitizer_reports "$tmp/reports"; then
    die "$NGINX -t: sanitizer reports (above)"
fi

"$NGINX" -V 2>&1 | grep -qF -- "--add-module=$ROOT" \
    || die "$NGINX was not configured with --add-module=$ROOT"

log "OK: $NGINX ($FLAVOR, $("$NGINX" -v 2>&1 | sed 's/.*: //')," \
    "module compiled in) ($(elapsed))"
