#!/bin/sh
#
# Writes a certificate, its key and CA into a folder the way the tools that
# palette_cert_watch follows do:
#
#   watch-write.sh kubelet DIR CHAIN KEY [CA]
#       as the kubelet's atomic writer updates a Secret volume: a new
#       timestamped folder, a "..data_tmp" link to it renamed over
#       "..data", "tls.crt", "tls.key" (and "ca.crt") linking through
#       "..data", the old folder removed
#   watch-write.sh certbot DIR CHAIN KEY
#       as certbot renews: new numbered files in DIR/../archive/NAME, the
#       links "fullchain.pem" and "privkey.pem" in DIR pointed at them
#   watch-write.sh naive DIR CHAIN KEY [CA] [PAUSE]
#       the files written in place, one after the other, the certificate
#       before the key, PAUSE seconds (default 0) between them
#
# Keys are written 0640 (as a Secret volume with defaultMode 0640 and an
# fsGroup, or certbot's privkey made readable by a group), and given to the
# group WATCH_GROUP when it is set; WATCH_KEY_MODE sets another mode, or
# "dir" to make the key a folder (kubelet only), which no one reads.

set -eu

mode="$1" dir="$2" chain="$3" key="$4"
ca="${5:-}"

mkdir -p "$dir"

key_mode() {
    chmod "${WATCH_KEY_MODE:-0640}" "$1"
    [ -z "${WATCH_GROUP:-}" ] || chgrp "$WATCH_GROUP" "$1"
}

case "$mode" in
kubelet)
    ts="..$(date +%Y_%m_%d_%H_%M_%S).$$.$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
    mkdir "$dir/$ts"
    cp "$chain" "$dir/$ts/tls.crt"
    if [ "${WATCH_KEY_MODE:-}" = dir ]; then
        mkdir "$dir/$ts/tls.key"
    else
        cp "$key" "$dir/$ts/tls.key"
        key_mode "$dir/$ts/tls.key"
    fi
    [ -z "$ca" ] || cp "$ca" "$dir/$ts/ca.crt"
    chmod 0755 "$dir/$ts"

    old="$(readlink "$dir/..data" 2>/dev/null || true)"

    ln -sfn "$ts" "$dir/..data_tmp"
    mv -T "$dir/..data_tmp" "$dir/..data"

    for f in tls.crt tls.key ca.crt; do
        if [ -e "$dir/..data/$f" ]; then
            [ -L "$dir/$f" ] || ln -sfn "..data/$f" "$dir/$f"
        else
            rm -f "$dir/$f"
        fi
    done

    [ -z "$old" ] || rm -rf "${dir:?}/$old"
    ;;

certbot)
    name="$(basename "$dir")"
    archive="$(dirname "$dir")/../archive/$name"
    mkdir -p "$archive"
    n=1
    while [ -e "$archive/fullchain$n.pem" ]; do n=$((n + 1)); done
    cp "$chain" "$archive/fullchain$n.pem"
    cp "$key" "$archive/privkey$n.pem"
    key_mode "$archive/privkey$n.pem"
    rel="../../archive/$name"
    ln -sfn "$rel/fullchain$n.pem" "$dir/fullchain.pem"
    ln -sfn "$rel/privkey$n.pem" "$dir/privkey.pem"
    ;;

naive)
    pause="${6:-0}"
    cat "$chain" > "$dir/tls.crt"
    sleep "$pause"
    cat "$key" > "$dir/tls.key"
    key_mode "$dir/tls.key"
    if [ -n "$ca" ]; then cat "$ca" > "$dir/ca.crt"; else rm -f "$dir/ca.crt"; fi
    ;;

*)
    echo "usage: $0 kubelet|certbot|naive DIR CHAIN KEY [CA] [PAUSE]" >&2
    exit 2
    ;;
esac
