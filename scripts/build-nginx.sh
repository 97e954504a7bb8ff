#!/usr/bin/env bash
#
# Build nginx itself from the upstream source in a Debian nginx source
# package, with the module: nginx 1.22 (Debian 12's, the default) or 1.26
# (Debian 13's, --nginx-version 1.26); the module compiled in
# (--add-module, the default) or built as a dynamic module beside nginx
# (--dynamic: --with-compat --add-dynamic-module, loaded with load_module as
# an operator of a packaged nginx loads it).
#
# Into build/nginx-FLAVOR/ for 1.22 with the module compiled in, otherwise
# build/nginx-VERSION-FLAVOR[-dynamic]/ (build/nginx-1.26-release-dynamic/
# for --nginx-version 1.26 --dynamic): the binary is sbin/nginx there, a
# dynamic module modules/ngx_palette_cert_module.so, the source tree and
# its objs/ in src/.  Prints one line on stdout: the binary's path,
# followed by the module's when it is dynamic.
#
# Flavors (all with the ssl, http_v2 and auth_request modules the suite
# uses, --with-debug, --with-threads as Debian's nginx, so that a change's
# validation and store writes run in threads, and -Wall -Wextra -Werror):
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
    printf 'usage: %s [-h] [--flavor release|debug|sanitize]' \
        "$(basename "$0")"
    printf ' [--nginx-version 1.22|1.26] [--dynamic]\n'
    printf 'Builds nginx (default: 1.22, release) from source with the'
    printf ' module compiled in,\nor with --dynamic as a dynamic module;'
    printf ' prints the binary (and the module).\n'
}

FLAVOR=release
VERSION=1.22
DYNAMIC=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --flavor) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                  FLAVOR="$2"; shift 2 ;;
        --flavor=*) FLAVOR="${1#--flavor=}"; shift ;;
        --nginx-version) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                         VERSION="$2"; shift 2 ;;
        --nginx-version=*) VERSION="${1#--nginx-version=}"; shift ;;
        --dynamic) DYNAMIC=1; shift ;;
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

case "$VERSION" in
    1.22|1.26) ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=ngx_palette_cert_module

OUT="$BUILD_DIR/nginx"
[[ "$VERSION" == 1.22 ]] || OUT+="-$VERSION"
OUT+="-$FLAVOR"
ADD=(--add-module="$ROOT")
SO=""

if [[ "$DYNAMIC" -eq 1 ]]; then
    OUT+="-dynamic"
    ADD=(--with-compat --add-dynamic-module="$ROOT")
    SO="$OUT/modules/$MODULE.so"
fi

SRC="$OUT/src"
NGINX="$OUT/sbin/nginx"

need_packages build-essential libssl-dev libpcre2-dev zlib1g-dev

"$ROOT/scripts/fetch-nginx-source.sh" "$VERSION" "$SRC"

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
    "${ADD[@]}"

make_in "$SRC" build
make_in "$SRC" install

[[ -x "$NGINX" ]] || die "make install produced no $NGINX"
[[ -z "$SO" || -f "$SO" ]] || die "make install produced no $SO"

"$NGINX" -V 2>&1 | grep -qF -- "${ADD[-1]}" \
    || die "$NGINX was not configured with ${ADD[-1]}"

# The binary starts, parses a configuration (that loads the module when it
# is dynamic) and stops cleanly, under the sanitizers too.
nginx_smoke_test "$NGINX" "$SO"

if [[ -n "$SO" ]]; then
    log "OK: $NGINX ($FLAVOR, $("$NGINX" -v 2>&1 | sed 's/.*: //')," \
        "loads $SO) ($(elapsed))"
    printf '%s %s\n' "$NGINX" "$SO"
else
    log "OK: $NGINX ($FLAVOR, $("$NGINX" -v 2>&1 | sed 's/.*: //')," \
        "module compiled in) ($(elapsed))"
    printf '%s\n' "$NGINX"
fi
