#!/usr/bin/env bash
#
# The metrics and the example alerting rules against a real Prometheus.
#
# Installs Prometheus (Debian's package: prometheus and promtool; its own
# service is kept off), builds the module for Debian's nginx, and checks:
#
#   1. scripts/example/palette-cert.rules.yml with `promtool check rules`,
#      and its unit test palette-cert.rules.test.yml with `promtool test
#      rules`;
#   2. the metrics of a running nginx: Debian's /usr/sbin/nginx with the
#      module, two workers, a prefix under build/ and free loopback ports,
#      a zone "z" fed to an HTTPS server, its API at the prefix location
#      /palette/cert and `palette_cert_metrics` at /metrics. The text
#      format passes `promtool check metrics`, and asked for OpenMetrics it
#      answers OpenMetrics, ending in "# EOF";
#   3. the rules in a real Prometheus server (its own data folder under the
#      prefix, on a loopback port, evaluating the rules every second and
#      scraping the metrics every second twice: at /metrics, where it asks
#      for and gets OpenMetrics, and through a location that asks for the
#      text format; every alert must come from both): a named certificate
#      uploaded with 10 days left raises PaletteCertExpiringSoon, with the
#      subject nginx reports, and one with 90 days left does not; an
#      upload refused with key_mismatch raises PaletteCertChangesRejected;
#      a handshake for a host name without a named certificate makes
#      PaletteCertSniFallbacks pending (it fires after 15 minutes, which
#      the unit test covers); replacing the certificate with one valid for
#      90 days ends the alert; and deleting a named certificate removes its
#      series.
#
# The rules are used as shipped: the expiry and change alerts have no
# `for`, so they fire on the first evaluation that sees the series.
# Every wait is bounded (WAIT seconds, 60 by default); nginx and
# Prometheus are stopped whatever happens. The prefix is removed when all
# passed and kept otherwise. The last line is "prometheus: N passed, M
# failed"; the exit status is 0 only when all passed.

set -euo pipefail

usage() {
    printf 'usage: %s [-h]\n' "$(basename "$0")"
    printf '%s\n' \
        'Checks the example alerting rules with promtool, and the metrics' \
        'of Debian'"'"'s nginx with the module against a real Prometheus.'
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RULES="$ROOT/scripts/example/palette-cert.rules.yml"
RULES_TEST="$ROOT/scripts/example/palette-cert.rules.test.yml"
ZONE=z
WAIT="${WAIT:-60}"

# The scrape jobs: Prometheus asks for OpenMetrics first, and gets it from
# /metrics; /metrics-text passes the scrape on to /metrics asking for the
# text format. The alerts must come the same from both.
JOBS=(nginx-openmetrics nginx-text)

PROM_PID=""
PASSED=0
FAILED=0
PREFIX=""


pass() {
    PASSED=$((PASSED + 1))
    printf 'ok %d - %s\n' "$((PASSED + FAILED))" "$*"
}

fail() {
    FAILED=$((FAILED + 1))
    printf 'not ok %d - %s\n' "$((PASSED + FAILED))" "$*"
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output
# is shown only when it fails.
check() {
    local what="$1" out rc=0
    shift

    out="$("$@" 2>&1)" || rc=$?
    if [[ "$rc" -eq 0 ]]; then
        pass "$what"
    else
        fail "$what"
        printf '%s\n' "$out" | sed 's/^/#   /'
    fi
}

# until_true SECONDS COMMAND...: runs COMMAND every half second until it
# succeeds; false if it has not within SECONDS.
until_true() {
    local secs="$1" i
    shift

    for ((i = 0; i < secs * 2; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

# eventually WHAT COMMAND...: passes WHAT when COMMAND succeeds within
# WAIT seconds (until_true); false if it does not, for the caller to fail
# saying what it found.
eventually() {
    local what="$1"
    shift

    until_true "$WAIT" "$@" || return 1
    pass "$what"
}


# Test certificates: a root CA and leaves it issues directly, EC P-256,
# valid from now for DAYS days, with the SAN names given.

make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
        -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" -days 3650 \
        -subj '/CN=Palette Prometheus Test CA' \
        -addext basicConstraints=critical,CA:true \
        -addext keyUsage=critical,keyCertSign,cRLSign
}

# make_leaf NAME SUBJECT SAN DAYS: NAME.pem and NAME.key.
make_leaf() {
    local name="$1" subj="$2" san="$3" days="$4"

    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc \
        -keyout "$CERTS/$name.key" -out "$CERTS/$name.csr" -subj "$subj"
    printf '%s\n' \
        'basicConstraints=critical,CA:false' \
        'keyUsage=critical,digitalSignature' \
        'extendedKeyUsage=serverAuth' \
        "subjectAltName=$san" \
        'subjectKeyIdentifier=hash' \
        'authorityKeyIdentifier=keyid' > "$CERTS/$name.ext"
    openssl x509 -req -in "$CERTS/$name.csr" -CA "$CERTS/ca.pem" \
        -CAkey "$CERTS/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days "$days" -extfile "$CERTS/$name.ext" -out "$CERTS/$name.pem"
}

make_certs() {
    mkdir -p "$CERTS"
    chmod 0700 "$CERTS"

    {
        make_ca
        # a subject with a quote and a comma, for the label escaping
        make_leaf shop-10d '/O=Palette "Test", Shop/CN=shop.test' \
            DNS:shop.test 10
        make_leaf shop-90d '/O=Palette "Test", Shop/CN=shop.test' \
            DNS:shop.test 90
        make_leaf blog-90d '/CN=blog.test' DNS:blog.test 90
    } > "$CERTS/openssl.log" 2>&1 || {
        cat "$CERTS/openssl.log" >&2
        die "could not make the test certificates"
    }
}


# nginx.

write_nginx_conf() {
    {
        nginx_conf_main 2 256 "load_module  $MODULE_SO;"
        cat <<EOF

http {
    access_log  off;

    palette_cert_zone  $ZONE:1m  names=localhost,127.0.0.1  store=off;

EOF
        nginx_conf_tls_server "$HTTPS_PORT" localhost "$ZONE"
        cat <<EOF

    server {
        listen       127.0.0.1:$ADMIN_PORT;
        server_name  localhost;

        allow  127.0.0.1;
        deny   all;

        location /palette/cert {
            palette_cert_api  $ZONE;

            client_max_body_size     64k;
            client_body_buffer_size  64k;
        }

        location = /metrics {
            palette_cert_metrics;
        }

        # the same, in the text format whatever the client asks
        location = /metrics-text {
            proxy_pass        http://127.0.0.1:$ADMIN_PORT/metrics;
            proxy_set_header  Accept "text/plain; version=0.0.4";
        }

        location / {
            return  404;
        }
    }
}
EOF
    } > "$PREFIX/conf/nginx.conf"
}

# upload ID NAME [KEY]: PUT of NAME.pem (with KEY.key, NAME.key by
# default) as the named certificate ID; prints the status, the answer is in
# PREFIX/run/ID.json.
upload() {
    local id="$1" name="$2" key="${3:-$2}"

    curl -s -o "$PREFIX/run/$id.json" -w '%{http_code}' --max-time 10 \
        -X PUT -F "certificate=@$CERTS/$name.pem" \
        -F "key=@$CERTS/$key.key" -F "ca=@$CERTS/ca.pem" \
        "$API_URL/$id" || true
}

# put_ok WHAT ID NAME: upload ID NAME; passes "PUT WHAT: 200" if it was
# answered 200, fails saying what it was answered otherwise.
put_ok() {
    local what="$1" id="$2" code

    code="$(upload "$id" "$3")"
    if [[ "$code" == 200 ]]; then
        pass "PUT $what: 200"
    else
        fail "PUT $what: $code $(cat "$PREFIX/run/$id.json")"
    fi
}

# fetch_metrics OUT [ACCEPT]: GET /metrics into OUT, its Content-Type into
# OUT.type; false unless answered 200.
fetch_metrics() {
    local out="$1" accept="${2:-}" code
    local -a hdr=()

    [[ -z "$accept" ]] || hdr=(-H "Accept: $accept")
    code="$(curl -s -o "$out" -w '%{http_code} %{content_type}' \
            --max-time 5 "${hdr[@]}" "$METRICS_URL" || true)"
    printf '%s\n' "${code#* }" > "$out.type"
    [[ "${code%% *}" == 200 ]]
}

# promtool check metrics reads the metrics on its standard input.
promtool_metrics() {
    "$PROMTOOL" check metrics < "$1"
}

# A full handshake with SNI HOST.
handshake() {
    timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" \
        -servername "$1" </dev/null >/dev/null 2>&1
}


# Prometheus.

write_prometheus_conf() {
    cp "$RULES" "$PREFIX/conf/palette-cert.rules.yml"
    cat > "$PREFIX/conf/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s

rule_files:
  - palette-cert.rules.yml

scrape_configs:
  - job_name: ${JOBS[0]}
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$ADMIN_PORT']
  - job_name: ${JOBS[1]}
    metrics_path: /metrics-text
    static_configs:
      - targets: ['127.0.0.1:$ADMIN_PORT']
EOF
}

prometheus_start() {
    "$PROMETHEUS" \
        --config.file="$PREFIX/conf/prometheus.yml" \
        --storage.tsdb.path="$PREFIX/prometheus-data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" \
        > "$PREFIX/logs/prometheus.log" 2>&1 &
    PROM_PID=$!

    if ! until_true 30 curl -sf --max-time 2 "$PROM_URL/-/ready"; then
        tail -n 20 "$PREFIX/logs/prometheus.log" >&2 || true
        die "Prometheus is not ready after 30 s" \
            "(see $PREFIX/logs/prometheus.log)"
    fi
}

# query PROMQL: the result vector of an instant query, as JSON.
query() {
    curl -sf --max-time 5 -G --data-urlencode "query=$1" \
        "$PROM_URL/api/v1/query" | jq -ce '.data.result'
}

# series_are N PROMQL: true when the instant query returns N series.
series_are() {
    local n="$1" r

    r="$(query "$2")" || return 1
    [[ "$(jq 'length' <<<"$r")" -eq "$n" ]]
}

# alerts NAME ID [STATE]: the active alerts NAME in STATE (firing by
# default) for the named certificate ID (or, ID "-", for any) as a JSON
# array, from /api/v1/alerts.
alerts() {
    curl -sf --max-time 5 "$PROM_URL/api/v1/alerts" \
        | jq -ce --arg n "$1" --arg id "$2" --arg s "${3:-firing}" \
              '[.data.alerts[] | select(.labels.alertname == $n
                 and ($s == "any" or .state == $s)
                 and ($id == "-" or .labels.id == $id))]'
}

# alert_everywhere NAME ID [STATE]: true when the alert is there for each
# scrape job, that is for both formats.
alert_everywhere() {
    local r

    r="$(alerts "$@")" || return 1
    [[ "$(jq -r '[.[].labels.job] | unique | join(" ")' <<<"$r")" \
       == "${JOBS[*]}" ]]
}

# alert_gone NAME ID: true when the alert is neither pending nor firing.
alert_gone() {
    local r

    r="$(alerts "$1" "$2" any)" || return 1
    [[ "$(jq 'length' <<<"$r")" -eq 0 ]]
}


cleanup() {
    local rc=$?

    trap - EXIT INT TERM
    if [[ -n "$PROM_PID" ]]; then
        stop_pid "$PROM_PID" TERM 10
        wait "$PROM_PID" 2>/dev/null || true
    fi
    scratch_nginx_stop
    if [[ "$rc" -eq 0 && "$FAILED" -eq 0 && -n "$PREFIX" ]]; then
        rm -rf "$PREFIX"
    elif [[ -n "$PREFIX" ]]; then
        log "kept for a look: $PREFIX (logs/error.log, logs/prometheus.log)"
    fi
    exit "$rc"
}


# Start.

cd "$ROOT"

need_prometheus
need_packages curl openssl jq iproute2
"$ROOT/scripts/build-module.sh"

log "promtool: $("$PROMTOOL" --version 2>&1 | head -n 1)"

check "promtool check rules palette-cert.rules.yml" \
    "$PROMTOOL" check rules "$RULES"
check "promtool test rules palette-cert.rules.test.yml" \
    "$PROMTOOL" test rules "$RULES_TEST"

PREFIX="$(scratch_prefix "$BUILD_DIR/prometheus")"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CERTS="$PREFIX/certs"
make_certs

free_ports 3 21000
HTTPS_PORT="${FREE_PORTS[0]}"
ADMIN_PORT="${FREE_PORTS[1]}"
PROM_PORT="${FREE_PORTS[2]}"
API_URL="http://127.0.0.1:$ADMIN_PORT/palette/cert"
METRICS_URL="http://127.0.0.1:$ADMIN_PORT/metrics"
PROM_URL="http://127.0.0.1:$PROM_PORT"

write_nginx_conf
scratch_nginx_test "$PREFIX"
scratch_nginx_start "$PREFIX" "$METRICS_URL"
log "nginx master $SCRATCH_MASTER, https 127.0.0.1:$HTTPS_PORT," \
    "api $API_URL, metrics $METRICS_URL"


# The metrics themselves.

M="$PREFIX/run/metrics"

# check_text_metrics WHEN: text format 0.0.4, clean for promtool.
check_text_metrics() {
    local when="$1" type

    if ! fetch_metrics "$M.txt"; then
        fail "GET /metrics ($when) answers 200"
        return
    fi

    type="$(cat "$M.txt.type")"
    if [[ "$type" == "text/plain; version=0.0.4; charset=utf-8" ]]; then
        pass "GET /metrics ($when): Content-Type $type"
    else
        fail "GET /metrics ($when): Content-Type '$type'," \
            "not text/plain; version=0.0.4; charset=utf-8"
    fi

    check "promtool check metrics ($when)" promtool_metrics "$M.txt"
}

check_openmetrics() {
    local type last

    if ! fetch_metrics "$M.om" \
             'application/openmetrics-text; version=1.0.0'
    then
        fail "GET /metrics as OpenMetrics answers 200"
        return
    fi

    type="$(cat "$M.om.type")"
    last="$(tail -n 1 "$M.om")"
    if [[ "$type" == "application/openmetrics-text; version=1.0.0; charset=utf-8" \
          && "$last" == "# EOF" ]]
    then
        pass "GET /metrics as OpenMetrics: $type, ends in # EOF"
    else
        fail "GET /metrics as OpenMetrics: Content-Type '$type'," \
            "last line '$last'"
    fi
}

check_text_metrics "no named certificate"
check_openmetrics


# Prometheus: scraping, and the rules.

write_prometheus_conf
check "promtool check config" \
    "$PROMTOOL" check config "$PREFIX/conf/prometheus.yml"
prometheus_start
log "Prometheus pid $PROM_PID on $PROM_URL, scraping every second" \
    "(jobs ${JOBS[*]})"

eventually "Prometheus scrapes nginx in both formats (up == 1)" \
    series_are 2 'up{job=~"nginx-.*"} == 1' \
    || fail "Prometheus does not scrape nginx within ${WAIT}s:" \
            "$(query 'up' || true)"

eventually "the key_mismatch changes total is there, at 0, before a refusal" \
    series_are 2 \
    "palette_cert_changes_total{zone=\"$ZONE\",result=\"key_mismatch\"} == 0" \
    || fail "no palette_cert_changes_total{result=\"key_mismatch\"} at 0" \
            "before any refusal: the first refusal would not count"

put_ok "shop, 10 days left" shop shop-10d
SHOP_SUBJECT="$(jq -r '.subject // empty' "$PREFIX/run/shop.json")"

put_ok "blog, 90 days left" blog blog-90d

check_text_metrics "two named certificates"

eventually "PaletteCertExpiringSoon fires for shop, from both formats" \
    alert_everywhere PaletteCertExpiringSoon shop \
    || fail "PaletteCertExpiringSoon does not fire for shop from both" \
            "formats within ${WAIT}s: $(alerts PaletteCertExpiringSoon - any \
                                        || true)"

got="$(alerts PaletteCertExpiringSoon shop \
       | jq -r '[.[].labels.subject] | unique | join(" | ")' || true)"
if [[ -n "$SHOP_SUBJECT" && "$got" == "$SHOP_SUBJECT" ]]; then
    pass "its subject label is GET's subject: $got"
else
    fail "its subject label is '$got', GET says '$SHOP_SUBJECT'"
fi

summary_re="^Certificate \"shop\" of zone \"$ZONE\" expires in 9d 23h"
got="$(alerts PaletteCertExpiringSoon shop \
       | jq -r '.[].annotations.summary' || true)"
if [[ -n "$got" ]] \
   && ! grep -qvE "$summary_re" <<<"$got"
then
    pass "its summary: $(head -n 1 <<<"$got")"
else
    fail "its summary: '$got'"
fi

# Once Prometheus has blog's series from both jobs, two more evaluations.
until_true "$WAIT" series_are 2 \
    "palette_cert_not_after_seconds{zone=\"$ZONE\",id=\"blog\"}" || true
sleep 2
if series_are 2 "palette_cert_not_after_seconds{zone=\"$ZONE\",id=\"blog\"}" \
   && alert_gone PaletteCertExpiringSoon blog \
   && alert_gone PaletteCertExpiringCritical blog
then
    pass "no expiry alert for blog (90 days left)"
else
    fail "an expiry alert for blog, which has 90 days left"
fi

code="$(upload shop shop-90d blog-90d)"
if [[ "$code" == 422 \
      && "$(jq -r .error "$PREFIX/run/shop.json")" == key_mismatch ]]
then
    pass "PUT shop with blog's key: 422 key_mismatch"
else
    fail "PUT shop with blog's key: $code $(cat "$PREFIX/run/shop.json")"
fi

if until_true "$WAIT" alert_everywhere PaletteCertChangesRejected - \
   && alerts PaletteCertChangesRejected - \
          | jq -e --arg z "$ZONE" \
                'all(.[]; .labels.zone == $z
                         and .labels.result == "key_mismatch")' >/dev/null
then
    pass "PaletteCertChangesRejected fires for zone $ZONE, key_mismatch"
else
    fail "PaletteCertChangesRejected does not fire for key_mismatch" \
        "within ${WAIT}s: $(alerts PaletteCertChangesRejected - any \
                            || true)"
fi

if handshake nobody.test; then
    pass "a handshake for nobody.test (no named certificate)"
else
    fail "a handshake for nobody.test failed"
fi

eventually "PaletteCertSniFallbacks pending for zone $ZONE" \
    alert_everywhere PaletteCertSniFallbacks - pending \
    || fail "PaletteCertSniFallbacks not pending within ${WAIT}s:" \
            "$(query "palette_cert_sni_fallback_total" || true)"

put_ok "shop, 90 days left" shop shop-90d
SHOP_SHA="$(jq -r '.sha256 // empty' "$PREFIX/run/shop.json")"

eventually "PaletteCertExpiringSoon for shop resolved" \
    alert_gone PaletteCertExpiringSoon shop \
    || fail "PaletteCertExpiringSoon for shop still active ${WAIT}s after" \
            "the replacement"

# shop_info_is SHA: palette_cert_info of shop is one series a job, with
# that sha256.
shop_info_is() {
    local r

    r="$(query "palette_cert_info{zone=\"$ZONE\",id=\"shop\"}")" || return 1
    [[ -n "$1" \
       && "$(jq -r 'map(.metric.sha256) | join(" ")' <<<"$r")" == "$1 $1" ]]
}

eventually "palette_cert_info for shop: the new sha256 alone, in each job" \
    shop_info_is "$SHOP_SHA" \
    || fail "palette_cert_info for shop:" \
            "$(query "palette_cert_info{id=\"shop\"}" || true)," \
            "the new sha256 is $SHOP_SHA"

code="$(curl -s -o "$PREFIX/run/blog.json" -w '%{http_code}' --max-time 10 \
        -X DELETE "$API_URL/blog" || true)"
if [[ "$code" == 200 ]]; then
    pass "DELETE blog: 200"
else
    fail "DELETE blog: $code $(cat "$PREFIX/run/blog.json")"
fi

eventually "palette_cert_not_after_seconds for blog gone" \
    series_are 0 "palette_cert_not_after_seconds{zone=\"$ZONE\",id=\"blog\"}" \
    || fail "palette_cert_not_after_seconds for blog still there ${WAIT}s" \
            "after DELETE"

if series_are 2 "palette_cert_not_after_seconds{zone=\"$ZONE\",id=\"shop\"}" \
   && series_are 2 "palette_cert_not_after_seconds{zone=\"$ZONE\",id=\"\"}"
then
    pass "the series of shop and of the default are still there"
else
    fail "the series of shop or of the default went with blog's"
fi

check_text_metrics "after the changes"

if [[ "$FAILED" -eq 0 ]]; then
    log "all passed"
else
    log "FAILED: $FAILED of $((PASSED + FAILED)) checks"
fi
printf 'prometheus: %d passed, %d failed\n' "$PASSED" "$FAILED"
if [[ "$FAILED" -ne 0 ]]; then
    exit 1
fi
