#!/usr/bin/env bash
#
# Run the example: install what is needed, build the module for Debian's
# nginx, and start Debian's /usr/sbin/nginx with it on the configuration in
# scripts/example/nginx.conf:
#
#   https://localhost:8443/               served with the zone's certificate
#   http://127.0.0.1:8444/palette/cert    the admin endpoint (loopback only)
#
# The prefix is /var/lib/palette-cert-example (configuration in conf/, logs
# in logs/, the stored certificate in palette_cert/). An nginx still running
# from that prefix is stopped first. Also writes an example CA, intermediate
# and server certificate for localhost and 127.0.0.1 into example-certs/,
# to try an upload with.

set -euo pipefail

PREFIX=/var/lib/palette-cert-example
HTTPS_PORT=8443
ADMIN_PORT=8444
API_URL="http://127.0.0.1:$ADMIN_PORT/palette/cert"

usage() {
    printf 'usage: %s [-h] [--stop]\n' "$(basename "$0")"
    printf 'Builds the module and starts the example nginx (prefix %s);\n' \
        "$PREFIX"
    printf '%s\n' '--stop stops it.'
}

STOP=0

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --stop) STOP=1 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_root "running the example nginx"

PIDFILE="$PREFIX/logs/nginx.pid"
CERTS="$PREFIX/example-certs"
SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"


# The master pid of an nginx running from PREFIX, if any.
running_master() {
    local pid

    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null \
        | grep -qF -- "$PREFIX" || return 1

    printf '%s\n' "$pid"
}

# Graceful stop (QUIT: open connections are finished), then TERM.
stop_running() {
    local pid

    pid="$(running_master)" || return 0

    log "stopping the nginx running from $PREFIX (master pid $pid)"
    kill -QUIT "$pid"

    if ! wait_gone "$pid" 10; then
        warn "master $pid still running after 10s; sending TERM"
        kill -TERM "$pid"
        wait_gone "$pid" 5 || die "could not stop nginx pid $pid"
    fi

    log "stopped"
}

# Example CA -> intermediate -> server certificate (localhost, 127.0.0.1),
# EC P-256, valid 90 days; kept while valid for another day.
make_example_certs() {
    local d="$CERTS"

    if [[ -f "$d/fullchain.pem" && -f "$d/key.pem" && -f "$d/ca.pem" ]] \
       && openssl x509 -checkend 86400 -noout -in "$d/fullchain.pem" \
              >/dev/null 2>&1
    then
        return 0
    fi

    log "writing example certificates to $d"
    rm -rf "$d"
    mkdir -p "$d/work"
    chmod 0700 "$d"

    (
        cd "$d/work"
        ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc)

        openssl req -x509 "${ec[@]}" -keyout ca.key -out ../ca.pem \
            -days 365 -subj "/CN=Palette Cert Example Root CA" \
            -addext basicConstraints=critical,CA:true \
            -addext keyUsage=critical,keyCertSign,cRLSign

        openssl req "${ec[@]}" -keyout int.key -out int.csr \
            -subj "/CN=Palette Cert Example Intermediate CA"
        printf '%s\n' \
            'basicConstraints=critical,CA:true,pathlen:0' \
            'keyUsage=critical,keyCertSign,cRLSign' \
            'subjectKeyIdentifier=hash' \
            'authorityKeyIdentifier=keyid' > int.ext
        openssl x509 -req -in int.csr -CA ../ca.pem -CAkey ca.key \
            -set_serial "0x$(openssl rand -hex 16)" -days 180 \
            -extfile int.ext -out int.pem

        openssl req "${ec[@]}" -keyout ../key.pem -out leaf.csr \
            -subj "/CN=localhost"
        printf '%s\n' \
            'basicConstraints=critical,CA:false' \
            'keyUsage=critical,digitalSignature' \
            'extendedKeyUsage=serverAuth' \
            'subjectAltName=DNS:localhost,IP:127.0.0.1' \
            'subjectKeyIdentifier=hash' \
            'authorityKeyIdentifier=keyid' > leaf.ext
        openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key \
            -set_serial "0x$(openssl rand -hex 16)" -days 90 \
            -extfile leaf.ext -out leaf.pem

        cat leaf.pem int.pem > ../fullchain.pem
    ) > "$d/openssl.log" 2>&1 || {
        cat "$d/openssl.log" >&2
        die "could not make the example certificates"
    }

    rm -rf "$d/work" "$d/openssl.log"
    chmod 0600 "$d/key.pem"
}

# Wait until URL answers with any HTTP status; print the status.
wait_http() {
    local url="$1" code i

    for ((i = 0; i < 100; i++)); do
        code="$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 \
                "$url" 2>/dev/null || true)"
        if [[ -n "$code" && "$code" != 000 ]]; then
            printf '%s\n' "$code"
            return 0
        fi
        sleep 0.2
    done
    return 1
}


if [[ "$STOP" -eq 1 ]]; then
    if ! running_master >/dev/null; then
        log "no nginx running from $PREFIX"
        exit 0
    fi
    stop_running
    exit 0
fi

"$ROOT/scripts/deps.sh"
"$ROOT/scripts/build-module.sh"

stop_running

mkdir -p "$PREFIX/conf" "$PREFIX/logs"

module_path="$(printf '%s' "$SO" | sed 's/[\\&|]/\\&/g')"
sed "s|@PALETTE_CERT_MODULE@|$module_path|g" \
    "$ROOT/scripts/example/nginx.conf" > "$PREFIX/conf/nginx.conf"
log "configuration: $PREFIX/conf/nginx.conf" \
    "(from scripts/example/nginx.conf)"

make_example_certs

if ! out="$("$DEBIAN_NGINX" -t -q -p "$PREFIX/" \
            -c "$PREFIX/conf/nginx.conf" 2>&1)"
then
    printf '%s\n' "$out" >&2
    die "the example configuration does not pass nginx -t"
fi

log "starting $DEBIAN_NGINX -p $PREFIX/ -c $PREFIX/conf/nginx.conf"
"$DEBIAN_NGINX" -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" \
    || die "nginx did not start (see $PREFIX/logs/error.log)"

if ! https_code="$(wait_http "https://127.0.0.1:$HTTPS_PORT/")" \
   || ! api_code="$(wait_http "$API_URL")"
then
    tail -n 20 "$PREFIX/logs/error.log" >&2 || true
    die "nginx started but does not answer on ports $HTTPS_PORT and" \
        "$ADMIN_PORT (error log above: $PREFIX/logs/error.log)"
fi

master="$(running_master)" || die "nginx exited right after starting"

cat <<EOF

nginx with ngx_palette_cert_module is running.

  master pid      $master
  worker pids     $(workers_of "$master" | sort -n | paste -sd ' ')
  site            https://localhost:$HTTPS_PORT/  (answers $https_code)
  admin endpoint  $API_URL  (answers $api_code; loopback only)
  prefix          $PREFIX  (conf/nginx.conf, logs/error.log)
  module          $SO

Try it (example certificates for localhost and 127.0.0.1 are in
$CERTS):

  cd $CERTS

  # the certificate served now
  openssl s_client -connect 127.0.0.1:$HTTPS_PORT -servername localhost \\
      </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -enddate

  # the same, as the admin endpoint describes it
  curl -s $API_URL

  # upload the example certificate (chain, key, CA); live once answered 200
  curl -s -X PUT -F certificate=@fullchain.pem -F key=@key.pem \\
      -F ca=@ca.pem $API_URL

  # the site, now verified against the example CA
  curl --cacert ca.pem https://localhost:$HTTPS_PORT/

  # back to the self-signed certificate
  curl -s -X DELETE $API_URL

  # stop
  $ROOT/scripts/run.sh --stop

EOF
