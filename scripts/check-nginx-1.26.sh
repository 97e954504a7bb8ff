#!/usr/bin/env bash
#
# Check that the module compiles, warning-free, against nginx 1.26, the
# version in Debian 13: the upstream source from Debian 13's nginx source
# package, configured with --with-http_ssl_module --with-compat
# --add-dynamic-module and -Wall -Wextra -Werror, then `make modules`.
# Builds in build/nginx-1.26/ (incrementally on later runs).

set -euo pipefail

usage() {
    printf 'usage: %s [-h]\n' "$(basename "$0")"
    printf 'Compiles the module against nginx 1.26 (Debian 13) with -Werror.\n'
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=ngx_palette_cert_module
SRC="$BUILD_DIR/nginx-1.26/src"

need_packages build-essential libssl-dev libpcre2-dev zlib1g-dev

"$ROOT/scripts/fetch-nginx-source.sh" 1.26 "$SRC"

configure_if_changed "$SRC" \
    --with-http_ssl_module \
    --with-compat \
    --with-cc-opt="-Wall -Wextra -Werror" \
    --add-dynamic-module="$ROOT"

make_in "$SRC" modules

[[ -f "$SRC/objs/$MODULE.so" ]] || die "make produced no $MODULE.so"

printf 'OK: %s compiles against nginx %s with -Wall -Wextra -Werror\n' \
    "$MODULE" "$(nginx_tree_version "$SRC")"
