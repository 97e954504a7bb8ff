#!/usr/bin/env bash
#
# The console page in a real browser: headless Chromium (Debian's package),
# driven by playwright-core from t/browser/, against a running nginx.
#
# Installs what is missing (chromium, node and npm from Debian's packages,
# playwright-core with `npm ci` into t/browser/node_modules; no browser is
# ever downloaded), builds the module for Debian's nginx unless --nginx
# names a binary with the module compiled in, and starts that nginx from a
# prefix under build/browser/ with two workers and three servers on free
# loopback ports:
#
#   https  a site fed by the zone "console" (names=console.example.com)
#   admin  the API at the prefix location /palette/cert (the default
#          certificate there, named ones below it) behind auth_basic, with
#          a user and password made for the run, and the same zone's API
#          at the exact location /palette/default-only, which has the
#          default certificate only
#   other  "another site": a page whose form posts a certificate to the
#          admin endpoint as soon as it is opened
#
# Then it runs the tests in t/browser/ (node --test), which open the page
# as an admin would, upload through it, and check each change over a fresh
# TLS handshake; each saves a full-page screenshot in build/screenshots/.
# nginx is stopped whatever happens. The last line is
# "browser: N passed, M failed"; the exit status is 0 only when all passed.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--nginx PATH]\n' "$(basename "$0")"
    printf '%s\n' \
        'Runs the console page tests in headless Chromium against Debian'"'"'s' \
        'nginx with the module built by build-module.sh, or against the' \
        'nginx at PATH that has the module compiled in.'
}

NGINX_BIN=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --nginx)
            [[ $# -ge 2 ]] || { usage >&2; exit 2; }
            NGINX_BIN="$2"
            shift 2
            ;;
        --nginx=*) NGINX_BIN="${1#--nginx=}"; shift ;;
        *) usage >&2; exit 2 ;;
    esac
done

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=/usr/bin/chromium
NODE_MAJOR_MIN=20
TESTS="$ROOT/t/browser"
PREFIX="$BUILD_DIR/browser"
SHOTS="$BUILD_DIR/screenshots"
CERTS="${TEST_NGINX_CERT_DIR:-$ROOT/t/certs}"
API_PATH=/palette/cert
EXACT_PATH=/palette/default-only
ZONE=console
MASTER=""


# What is needed: Chromium and its fonts, node and npm, playwright-core.

browser_tools() {
    local major

    need_packages chromium chromium-driver fonts-dejavu-core openssl curl

    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        need_packages nodejs npm
    fi

    major="$(node -p 'process.versions.node.split(".")[0]')"
    if [[ "$major" -lt "$NODE_MAJOR_MIN" ]]; then
        die "node $(node --version) is too old for playwright-core;" \
            "node $NODE_MAJOR_MIN or newer is needed (Debian 12's own" \
            "nodejs is 18: install a newer one, e.g. from NodeSource)"
    fi

    if [[ ! -f "$TESTS/node_modules/playwright-core/package.json" \
          || "$TESTS/package-lock.json" -nt "$TESTS/node_modules" ]]
    then
        log "npm ci in t/browser (playwright-core, no browser download)"
        (cd "$TESTS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
            npm ci --no-audit --no-fund --loglevel=error) >&2 \
            || die "npm ci in $TESTS failed"
        touch "$TESTS/node_modules"
    fi

    log "$("$CHROMIUM" --version 2>/dev/null || echo chromium), node" \
        "$(node --version), playwright-core" \
        "$(node -p 'require("'"$TESTS"'/node_modules/playwright-core/package.json").version')"
}


# Free loopback ports: N of them, from the kernel, in one line.
browser_ports() {
    node -e '
        const net = require("net");
        const n = Number(process.argv[1]);
        const servers = [];
        let left = n;
        for (let i = 0; i < n; i++) {
            const s = net.createServer();
            servers.push(s);
            s.listen(0, "127.0.0.1", () => {
                if (--left === 0) {
                    console.log(servers.map((x) => x.address().port).join(" "));
                    servers.forEach((x) => x.close());
                }
            });
        }' "$1"
}


# The page of "another site": its form posts a real, valid upload to the
# admin endpoint as soon as it loads, as a hostile page an admin visits
# would.
write_other_site() {
    local f

    mkdir -p "$PREFIX/other"

    {
        printf '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        printf '<title>Another site</title></head><body>\n'
        printf '<h1>Another site</h1>\n'
        printf '<form method="post" action="%s" ' "$ADMIN_URL"
        printf 'enctype="application/x-www-form-urlencoded">\n'
        for f in certificate key ca; do
            printf '<textarea name="%s">' "$f"
            case "$f" in
                certificate) cat "$CERTS/leaf-b.chain.pem" ;;
                key) cat "$CERTS/leaf-b.key" ;;
                ca) cat "$CERTS/ca.pem" ;;
            esac
            printf '</textarea>\n'
        done
        printf '</form>\n'
        printf '<script>document.forms[0].submit();</script>\n'
        printf '</body></html>\n'
    } > "$PREFIX/other/index.html"
}

browser_nginx_conf() {
    local -a head=()

    if [[ -z "$NGINX_BIN" ]]; then
        head+=("load_module $SO;")
    fi

    # as root, the workers need a user that exists (nginx's default,
    # nobody:nobody, has no group on Debian)
    if [[ "$(id -u)" -eq 0 ]]; then
        head+=("user www-data;")
    fi

    {
        nginx_conf_main 2 256 "${head[@]}"
        cat <<EOF

http {
    access_log  logs/access.log;
    default_type  text/html;

    client_body_temp_path  $PREFIX/tmp/body;
    proxy_temp_path        $PREFIX/tmp/proxy;
    fastcgi_temp_path      $PREFIX/tmp/fastcgi;
    uwsgi_temp_path        $PREFIX/tmp/uwsgi;
    scgi_temp_path         $PREFIX/tmp/scgi;

    palette_cert_zone  $ZONE:1m  names=console.example.com,127.0.0.1
                       store=$PREFIX/store;

EOF
        nginx_conf_tls_server "$HTTPS_PORT" console.example.com "$ZONE"
        cat <<EOF

    server {
        listen       127.0.0.1:$ADMIN_PORT;
        server_name  localhost;

        location $API_PATH {
            auth_basic            "certificates";
            auth_basic_user_file  $PREFIX/conf/htpasswd;

            palette_cert_api  $ZONE;

            client_max_body_size     64k;
            client_body_buffer_size  64k;
        }

        location = $EXACT_PATH {
            auth_basic            "certificates";
            auth_basic_user_file  $PREFIX/conf/htpasswd;

            palette_cert_api  $ZONE;
        }

        location / {
            return  404;
        }
    }

    server {
        listen       127.0.0.1:$OTHER_PORT;
        server_name  localhost;

        root  $PREFIX/other;
    }
}
EOF
    } > "$PREFIX/conf/nginx.conf"
}

# The master's pid; it writes its pid file after it has become a daemon,
# so give it up to 5 s.
browser_master() {
    local pid i

    for ((i = 0; i < 50; i++)); do
        if [[ -s "$PREFIX/logs/nginx.pid" ]]; then
            pid="$(cat "$PREFIX/logs/nginx.pid")"
            [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
                || return 1
            printf '%s\n' "$pid"
            return 0
        fi
        sleep 0.1
    done

    return 1
}

browser_nginx_start() {
    local i code="" out

    if ! out="$("$NGINX" -t -q -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" \
                2>&1)"
    then
        printf '%s\n' "$out" >&2
        die "the test configuration does not pass nginx -t"
    fi

    "$NGINX" -p "$PREFIX/" -c "$PREFIX/conf/nginx.conf" \
        || die "nginx did not start (see $PREFIX/logs/error.log)"

    MASTER="$(browser_master)" || die "nginx exited right after starting"

    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
                -u "$ADMIN_USER:$ADMIN_PASSWORD" \
                -H 'Accept: application/json' "$ADMIN_URL" || true)"
        [[ "$code" == 200 ]] && return 0
        sleep 0.1
    done

    tail -n 20 "$PREFIX/logs/error.log" >&2 || true
    die "nginx started but the admin endpoint does not answer 200" \
        "(last: ${code:-none})"
}

browser_nginx_stop() {
    local pid="${MASTER:-}" i

    # stopped on the way up: the pid file may be all there is
    if [[ -z "$pid" && -s "$PREFIX/logs/nginx.pid" ]]; then
        pid="$(cat "$PREFIX/logs/nginx.pid")"
        [[ "$pid" =~ ^[0-9]+$ ]] || pid=""
    fi

    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0

    kill -QUIT "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { MASTER=""; return 0; }
        sleep 0.1
    done

    warn "nginx master $pid still running after 10s; sending TERM"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    MASTER=""
}

browser_cleanup() {
    local rc=$?

    trap - EXIT
    browser_nginx_stop
    exit "$rc"
}


cd "$ROOT"

if [[ -n "$NGINX_BIN" ]]; then
    [[ -f "$NGINX_BIN" && -x "$NGINX_BIN" ]] \
        || die "not an executable: $NGINX_BIN"
    NGINX="$(realpath "$NGINX_BIN")"
    SO=""
else
    "$ROOT/scripts/build-module.sh"
    NGINX="$DEBIAN_NGINX"
    SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"
fi

browser_tools

bash "$ROOT/t/lib/gen-certs.sh" "$CERTS" \
    || die "could not make the test certificates in $CERTS"

read -r HTTPS_PORT ADMIN_PORT OTHER_PORT < <(browser_ports 3)
[[ -n "${OTHER_PORT:-}" ]] || die "could not find free ports"

ADMIN_URL="http://127.0.0.1:$ADMIN_PORT$API_PATH"
EXACT_URL="http://127.0.0.1:$ADMIN_PORT$EXACT_PATH"
OTHER_URL="http://localhost:$OTHER_PORT/"
ADMIN_USER="admin"
ADMIN_PASSWORD="$(openssl rand -hex 12)"

rm -rf "$PREFIX" "$SHOTS"
mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/tmp" "$SHOTS"

printf '%s:%s\n' "$ADMIN_USER" \
    "$(openssl passwd -apr1 "$ADMIN_PASSWORD")" > "$PREFIX/conf/htpasswd"
chmod 0644 "$PREFIX/conf/htpasswd"

write_other_site
browser_nginx_conf

trap browser_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "nginx: $NGINX${SO:+, load_module $SO}; prefix $PREFIX"
browser_nginx_start
log "https 127.0.0.1:$HTTPS_PORT, admin $ADMIN_URL, other site $OTHER_URL"

RESULTS="$PREFIX/results.tap"
rc=0

(
    cd "$TESTS"
    PALETTE_ADMIN_URL="$ADMIN_URL" \
    PALETTE_EXACT_URL="$EXACT_URL" \
    PALETTE_ADMIN_USER="$ADMIN_USER" \
    PALETTE_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    PALETTE_TLS_PORT="$HTTPS_PORT" \
    PALETTE_OTHER_URL="$OTHER_URL" \
    PALETTE_CERT_DIR="$CERTS" \
    PALETTE_SCREENSHOTS="$SHOTS" \
    PALETTE_CHROMIUM="$CHROMIUM" \
        node --test \
            --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$RESULTS" \
            console.test.js
) >&2 || rc=$?

browser_nginx_stop

if grep -E '\[(alert|crit|emerg)\]|exited on signal' "$PREFIX/logs/error.log" \
       >&2
then
    warn "the error log has the lines above"
    rc=1
fi

# node writes the summary last; none at all counts as a failure
[[ -f "$RESULTS" ]] || : > "$RESULTS"

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$RESULTS" | tail -n 1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$RESULTS" | tail -n 1)"
passed="${passed:-0}"
failed="${failed:-0}"

if [[ "$rc" -ne 0 && "$failed" -eq 0 ]]; then
    failed=1
fi

log "screenshots: $SHOTS"
printf 'browser: %d passed, %d failed\n' "$passed" "$failed"

if [[ "$rc" -ne 0 || "$failed" -ne 0 || "$passed" -eq 0 ]]; then
    exit 1
fi
