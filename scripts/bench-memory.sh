#!/usr/bin/env bash
#
# Benchmark: shared memory taken by a stored certificate.
#
# Builds the module for Debian's nginx, then, for zone sizes from 32k up in
# 4k steps, starts /usr/sbin/nginx with it (one worker, a zone of that
# size with store=off, the API on loopback, in a temporary prefix under
# build/bench/) and uploads, twice in a row, one of two chains of
# t/lib/gen-certs.sh:
#
#   EC P-256   leaf-a (leaf + intermediate, EC P-256 key)
#   RSA 2048   leaf-b (leaf + intermediate, RSA 2048 key)
#
# The second upload is the steady state of a rotation: the new record is
# allocated while the old one is still current. Reports, per chain, the
# bytes of the record the module stores (served chain PEM + PKCS#8 key PEM +
# CA PEM, in one slab allocation) and the smallest zone in which nginx
# starts and both uploads are answered 200.
#
# Then, in a zone that holds the EC chain but not the RSA one (or, if both
# need the same size, 4k less than that), shows that the upload that does
# not fit is answered 507 zone_full and changes nothing: GET and the
# certificate served are the same before and after.
#
# Exits 1 if a size up to 1m is not enough or the 507 check fails.

set -euo pipefail

usage() {
    printf 'usage: %s [-h]\n' "$(basename "$0")"
    printf '%s\n' \
        'Finds the smallest zone that holds an EC P-256 and an RSA 2048' \
        'chain, and checks that an upload that does not fit gets 507.'
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root "running nginx"

ZONE=bench
CERTS="$BUILD_DIR/bench/certs"
MIN_KB=32
STEP_KB=4
MAX_KB=1024
EC=leaf-a
RSA=leaf-b


# write_config SIZE_KB: one worker, a zone of that size with no store.
write_config() {
    scratch_nginx_conf "$PREFIX" --ports "$HTTPS_PORT" "$ADMIN_PORT" \
        --zone "$ZONE:${1}k" --connections 64 --local-admin --body-size 1m
}

# start_nginx SIZE_KB: false if nginx does not start with that zone (the
# reason is in logs/start.log).
start_nginx() {
    write_config "$1"
    : > "$PREFIX/logs/error.log"
    scratch_nginx_start --may-fail "$PREFIX" "$API_URL"
}

# upload NAME OUT [CA]: prints the status; the body goes to OUT.
upload() {
    curl -s -o "$2" -w '%{http_code}' --max-time 10 -X PUT \
        -F "certificate=@$CERTS/$1.chain.pem" -F "key=@$CERTS/$1.key" \
        -F "ca=@${3:-$CERTS/ca.pem}" "$API_URL" 2>/dev/null || printf '000'
}

api_get() {
    http_get "$API_URL" "$1"
}

# SHA-256 of the leaf a fresh handshake presents.
served_sha256() {
    openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost \
        </dev/null 2>/dev/null \
        | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# try_size SIZE_KB NAME: sets RES to "start-failed" or the two upload
# statuses ("200 200", "200 507", "507 507"...).
try_size() {
    local kb="$1" name="$2" a b

    if ! start_nginx "$kb"; then
        RES=start-failed
        return 0
    fi

    a="$(upload "$name" "$PREFIX/run/up1.json")"
    b="$(upload "$name" "$PREFIX/run/up2.json")"
    scratch_nginx_stop
    RES="$a $b"
}

# smallest NAME: sets SMALLEST[NAME] to the smallest zone (kB) in which
# nginx starts and both uploads of NAME are answered 200, and START_KB[NAME]
# to the smallest in which nginx starts at all; logs every try.
declare -A START_KB SMALLEST
smallest() {
    local name="$1" kb

    for ((kb = MIN_KB; kb <= MAX_KB; kb += STEP_KB)); do
        try_size "$kb" "$name"
        log "$name in ${kb}k: $RES"
        if [[ "$RES" != start-failed && -z "${START_KB[$name]:-}" ]]; then
            START_KB[$name]="$kb"
        fi
        if [[ "$RES" == "200 200" ]]; then
            SMALLEST[$name]="$kb"
            return 0
        fi
    done

    return 1
}

# record_bytes NAME: what the module stores for it, from a live upload's
# JSON (served chain and CA) and the key file (PKCS#8 PEM already).
record_bytes() {
    local json="$1" name="$2" chain ca key

    chain="$(jq -j .certificate "$json" | wc -c)"
    ca="$(jq -j '.ca // ""' "$json" | wc -c)"
    key="$(wc -c < "$CERTS/$name.key")"
    printf '%s %s %s %s\n' "$((chain + key + ca))" "$chain" "$key" "$ca"
}


# Start.

"$ROOT/scripts/build-module.sh"
need_packages curl openssl jq iproute2

mkdir -p "$BUILD_DIR/bench"
bash "$ROOT/t/lib/gen-certs.sh" "$CERTS"

PREFIX="$(scratch_prefix "$BUILD_DIR/bench/memory")"
scratch_nginx_traps

free_ports 2 $((20000 + RANDOM % 5000))
HTTPS_PORT="${FREE_PORTS[0]}"
ADMIN_PORT="${FREE_PORTS[1]}"
API_URL="http://127.0.0.1:$ADMIN_PORT/cert"

write_config 1024
scratch_nginx_test "$PREFIX"

# The record sizes, from uploads into a roomy zone.
start_nginx 1024 || die "nginx does not start with a 1m zone"
declare -A REC
for name in "$EC" "$RSA"; do
    [[ "$(upload "$name" "$PREFIX/run/$name.json")" == 200 ]] \
        || die "upload of $name into a 1m zone failed:" \
               "$(cat "$PREFIX/run/$name.json")"
    REC[$name]="$(record_bytes "$PREFIX/run/$name.json" "$name")"
    log "$name: key type $(jq -r .key_type "$PREFIX/run/$name.json")," \
        "chain length $(jq -r .chain_length "$PREFIX/run/$name.json")"
done
scratch_nginx_stop

smallest "$EC" || die "$EC does not fit in ${MAX_KB}k"
smallest "$RSA" || die "$RSA does not fit in ${MAX_KB}k"
EC_KB="${SMALLEST[$EC]}"
RSA_KB="${SMALLEST[$RSA]}"


# An upload that does not fit: 507 zone_full, nothing changes.

failures=()

# The smallest zone nginx accepts may hold both chains. What cannot fit
# then is a record larger than the zone: the RSA chain with a CA field of
# root-ca repeated until it is bigger than the zone.
if [[ "$EC_KB" -lt "$RSA_KB" ]]; then
    DEMO_KB="$EC_KB"
    BIG_CA="$CERTS/ca.pem"
    BIG_WHAT="$RSA"
else
    DEMO_KB="$EC_KB"
    BIG_CA="$PREFIX/run/big-ca.pem"
    : > "$BIG_CA"
    while [[ "$(wc -c < "$BIG_CA")" -le "$((DEMO_KB * 1024))" ]]; do
        cat "$CERTS/ca.pem" >> "$BIG_CA"
    done
    BIG_WHAT="$RSA with a $(wc -c < "$BIG_CA")-byte CA field"
fi
FIRST="$EC"

start_nginx "$DEMO_KB" \
    || die "nginx does not start with a ${DEMO_KB}k zone: $(cat "$PREFIX/logs/start.log")"

code="$(upload "$FIRST" "$PREFIX/run/first.json")"
[[ "$code" == 200 ]] || failures+=("upload of $FIRST into ${DEMO_KB}k: $code")

api_get "$PREFIX/run/before.json" || die "GET failed"
served_before="$(served_sha256)"

code="$(upload "$RSA" "$PREFIX/run/full.json" "$BIG_CA")"
error="$(jq -r '.error // empty' "$PREFIX/run/full.json" 2>/dev/null || true)"

api_get "$PREFIX/run/after.json" || die "GET failed"
served_after="$(served_sha256)"
scratch_nginx_stop

if [[ "$code" != 507 || "$error" != zone_full ]]; then
    failures+=("upload of $BIG_WHAT into ${DEMO_KB}k: $code ${error:-} ($(jq -r '.message // empty' "$PREFIX/run/full.json" 2>/dev/null || true)), not 507 zone_full")
fi
if ! cmp -s "$PREFIX/run/before.json" "$PREFIX/run/after.json"; then
    failures+=("GET changed after the 507: $(diff "$PREFIX/run/before.json" "$PREFIX/run/after.json" | head -n 4 | paste -sd ' ')")
fi
want="$(jq -r .sha256 "$PREFIX/run/before.json")"
if [[ "$served_before" != "$served_after" ]] || [[ "$want" != "$served_after" ]]
then
    failures+=("served leaf $served_before before, $served_after after the 507, GET says $want")
fi


# Summary.

read -r ec_total ec_chain ec_key ec_ca <<<"${REC[$EC]}"
read -r rsa_total rsa_chain rsa_key rsa_ca <<<"${REC[$RSA]}"

cat <<EOF

bench-memory: zone sizes from ${MIN_KB}k in ${STEP_KB}k steps, store=off
  record bytes (chain PEM + key PEM + CA PEM, plus a small header)
    EC P-256  ($EC)  $ec_total = $ec_chain + $ec_key + $ec_ca
    RSA 2048  ($RSA)  $rsa_total = $rsa_chain + $rsa_key + $rsa_ca
  smallest zone where nginx starts and two uploads in a row succeed
    EC P-256  ${EC_KB}k (nginx starts from ${START_KB[$EC]}k)
    RSA 2048  ${RSA_KB}k (nginx starts from ${START_KB[$RSA]}k)
    difference $((RSA_KB - EC_KB))k
  too large an upload (${DEMO_KB}k zone, $FIRST live, $BIG_WHAT uploaded)
    answer $code ${error:-}; generation $(jq -r .generation "$PREFIX/run/before.json") \
before, $(jq -r .generation "$PREFIX/run/after.json") after;
    GET $(cmp -s "$PREFIX/run/before.json" "$PREFIX/run/after.json" && echo unchanged || echo CHANGED); \
served leaf $( [[ "$served_before" == "$served_after" ]] && echo unchanged || echo CHANGED)
EOF

if [[ "${#failures[@]}" -gt 0 ]]; then
    printf '  failures\n'
    printf '    %s\n' "${failures[@]}"
    printf 'FAILED (%s; prefix kept: %s)\n' "$(elapsed)" "$PREFIX"
    exit 1
fi

rm -rf "$PREFIX"
printf 'OK (%s)\n' "$(elapsed)"
