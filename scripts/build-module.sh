#!/usr/bin/env bash
#
# Build build/debian/ngx_palette_cert_module.so for Debian 12's own nginx
# (package nginx, /usr/sbin/nginx), against the tree that package nginx-dev
# installs in /usr/share/nginx/src, configured with Debian's flags and
# compiler options (--with-compat), plus -Wall -Wextra -Werror.
#
# Then prove it loads: Debian's nginx must pass `nginx -t` on a minimal
# configuration that does `load_module` of the new file.
#
# Incremental: configure runs again only when `config`, the flags or the
# nginx-dev tree changed; make rebuilds what changed.
#
# --uncounted builds build/debian-uncounted/ngx_palette_cert_module.so, the
# same module with its handshake counting compiled out
# (-DNGX_PALETTE_CERT_COUNT=0): only for the benchmark that tells what
# counting costs a handshake.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--uncounted]\n' "$(basename "$0")"
    printf 'Builds build/debian/ngx_palette_cert_module.so for %s\n' \
        "Debian's /usr/sbin/nginx and checks that it loads."
}

VARIANT=debian
EXTRA_CC_OPT=""

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --uncounted) VARIANT=debian-uncounted
                 EXTRA_CC_OPT=" -DNGX_PALETTE_CERT_COUNT=0" ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=ngx_palette_cert_module
OUT="$BUILD_DIR/$VARIANT"
SRC="$OUT/nginx-src"
SO="$OUT/$MODULE.so"

need_debian_nginx
need_packages build-essential libssl-dev libpcre2-dev zlib1g-dev

read_debian_nginx_flags

flags=("${NGX_CONF_FLAGS[@]}")
if [[ " ${flags[*]} " != *" --with-compat "* ]]; then
    flags+=(--with-compat)
fi

# Copy the nginx-dev tree (read-only, owned by the package) to build in it;
# a new nginx-dev version replaces the copy.
dev_version="$(dpkg-query -W -f='${Version}' nginx-dev)"

if [[ ! -f "$SRC/.palette-nginx-dev" \
      || "$(cat "$SRC/.palette-nginx-dev")" != "$dev_version" ]]
then
    log "copying $DEBIAN_NGINX_SRC (nginx-dev $dev_version) to $SRC"
    rm -rf "$SRC"
    mkdir -p "$OUT"
    cp -a "$DEBIAN_NGINX_SRC" "$SRC"
    chmod u+x "$SRC/configure"
    printf '%s\n' "$dev_version" > "$SRC/.palette-nginx-dev"
fi

configure_if_changed "$SRC" \
    "${flags[@]}" \
    --with-cc-opt="$DEBIAN_CC_OPT -Wall -Wextra -Werror$EXTRA_CC_OPT" \
    --with-ld-opt="$DEBIAN_LD_OPT" \
    --add-dynamic-module="$ROOT"

make_in "$SRC" modules

[[ -f "$SRC/objs/$MODULE.so" ]] || die "make produced no $MODULE.so"

if ! cmp -s "$SRC/objs/$MODULE.so" "$SO"; then
    replace_file "$SRC/objs/$MODULE.so" "$SO"
fi
log "built $SO"


# The proof: Debian's nginx loads the module and accepts the configuration.
nginx_smoke_test "$DEBIAN_NGINX" "$SO"

log "OK: $DEBIAN_NGINX ($("$DEBIAN_NGINX" -v 2>&1 | sed 's/.*: //')) loads" \
    "$SO ($(elapsed))"
