#!/usr/bin/env bash
#
# The example files the README points operators to, checked as they would
# use them:
#
#   1. every YAML file under scripts/example/ parses (python3-yaml, as
#      kubectl's parser takes the same YAML 1.1), each document with
#      apiVersion and kind where it is a Kubernetes manifest;
#   2. the Kubernetes example holds together: the Deployment mounts the
#      Secret that the cert-manager Certificate names, read-only, with
#      defaultMode 0440 and an fsGroup, at the folder that the ConfigMap's
#      palette_cert_watch follows; the ConfigMap's nginx configuration
#      passes `nginx -t` with the module;
#   3. the certbot deploy hook: run on a lineage written as certbot writes
#      one (t/lib/watch-write.sh certbot), it leaves fullchain.pem and
#      privkey.pem with the lineage's bytes, the key 0640 and of the
#      group given;
#   4. Debian's nginx with the module follows the folder the hook wrote:
#      it serves the certificate, and the next renewal's, over TLS.
#
# The last line is "examples: N passed, M failed"; the exit status is 0
# only when all passed.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h]' 'Checks the example manifests, configuration and hook.'
}

no_arguments "$@"

need_packages python3 python3-yaml openssl curl
"$ROOT/scripts/build-module.sh" >&2

EXAMPLE="$ROOT/scripts/example"
SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/palette-examples.XXXXXX")"
CERTS="$ROOT/t/certs"
PASSED=0
FAILED=0
NGINX_PID=""

cleanup() {
    if [[ -n "$NGINX_PID" ]]; then
        "$DEBIAN_NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" \
            -s quit 2>/dev/null || true
    fi
    rm -rf "$WORK"
}

trap cleanup EXIT

pass() {
    PASSED=$((PASSED + 1))
    printf 'ok: %s\n' "$1"
}

fail() {
    FAILED=$((FAILED + 1))
    printf 'FAILED: %s\n' "$1"
}

check() {
    local what="$1"
    shift

    if "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
}


# 1 and 2: the YAML files and the Kubernetes example.

yaml_checks() {
    python3 - "$EXAMPLE" "$WORK/palette-cert.conf" <<'EOF'
import glob, os, sys, yaml

example, conf_out = sys.argv[1], sys.argv[2]
failed = 0

def check(ok, what):
    global failed
    print(("ok: " if ok else "FAILED: ") + what)
    failed += not ok

docs = {}

for path in sorted(glob.glob(os.path.join(example, "**", "*.y*ml"),
                             recursive=True)):
    name = os.path.relpath(path, example)
    try:
        with open(path) as f:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        check(False, "%s parses as YAML: %s" % (name, e))
        continue
    check(len(loaded) > 0, "%s parses as YAML" % name)
    if name.startswith("k8s/"):
        for d in loaded:
            check(isinstance(d, dict) and "apiVersion" in d and "kind" in d,
                  "%s: a manifest with apiVersion and kind" % name)
            docs.setdefault(d.get("kind"), []).append(d)

cert = docs.get("Certificate", [{}])[0]
dep = docs.get("Deployment", [{}])[0]
cm = docs.get("ConfigMap", [{}])[0]

check(cert.get("apiVersion") == "cert-manager.io/v1",
      "the Certificate is cert-manager's")
secret = cert.get("spec", {}).get("secretName")
check(bool(secret), "the Certificate names its Secret")

pod = dep.get("spec", {}).get("template", {}).get("spec", {})
vols = {v["name"]: v for v in pod.get("volumes", [])}
svol = [v for v in vols.values()
        if v.get("secret", {}).get("secretName") == secret]
check(len(svol) == 1, "the Deployment mounts the Secret %s" % secret)
check(bool(svol) and svol[0]["secret"].get("defaultMode") == 0o440,
      "the Secret's files are 0440")
check(pod.get("securityContext", {}).get("fsGroup") is not None,
      "the pod sets fsGroup, the group that reads the key")

mounts = [m for c in pod.get("containers", [])
          for m in c.get("volumeMounts", [])
          if svol and m.get("name") == svol[0]["name"]]
check(len(mounts) == 1 and mounts[0].get("readOnly") is True,
      "the Secret is mounted read-only")

conf = next(iter(cm.get("data", {}).values()), "")
watched = [l.split()[2] for l in conf.splitlines()
           if l.strip().startswith("palette_cert_watch")]
check(bool(mounts) and watched == [mounts[0].get("mountPath")],
      "palette_cert_watch follows the folder the Secret is mounted at")

with open(conf_out, "w") as f:
    f.write(conf)

sys.exit(1 if failed else 0)
EOF
}

nginx_t_example() {
    mkdir -p "$WORK/t/logs"

    cat > "$WORK/t/nginx.conf" <<EOF
load_module $SO;
error_log logs/error.log;
pid logs/nginx.pid;
events {}
http {
    include $WORK/palette-cert.conf;
}
EOF

    "$DEBIAN_NGINX" -t -q -p "$WORK/t/" -c "$WORK/t/nginx.conf"
}


# 3 and 4: the certbot deploy hook, and nginx following what it writes.

served_sha() {
    echo | openssl s_client -connect "127.0.0.1:$TLS_PORT" \
               -servername console.example.com 2>/dev/null \
        | openssl x509 -outform DER 2>/dev/null \
        | openssl dgst -sha256 -r 2>/dev/null | cut -d' ' -f1
}

wait_sha() {
    local want="$1" i

    for ((i = 0; i < 50; i++)); do
        [[ "$(served_sha)" == "$want" ]] && return 0
        sleep 0.2
    done

    return 1
}

hook_checks() {
    local live="$WORK/le/live/console.example.com" dest="$WORK/dest"
    local group

    group="$(id -gn)"

    # the suite's certificates, made when missing or outdated
    bash "$ROOT/t/lib/gen-certs.sh" "$CERTS" >/dev/null

    sh "$ROOT/t/lib/watch-write.sh" certbot "$live" \
        "$CERTS/leaf-a.chain.pem" "$CERTS/leaf-a.key"

    check "the deploy hook passes sh -n" \
        sh -n "$EXAMPLE/certbot-deploy-hook.sh"

    RENEWED_LINEAGE="$live" PALETTE_CERT_DIR="$dest" \
        PALETTE_CERT_GROUP="$group" sh "$EXAMPLE/certbot-deploy-hook.sh"

    local out="$dest/console.example.com"

    check "the hook copies the chain" \
        cmp -s "$out/fullchain.pem" "$CERTS/leaf-a.chain.pem"
    check "the hook copies the key" cmp -s "$out/privkey.pem" "$CERTS/leaf-a.key"
    check "the key is 0640" \
        test "$(stat -c %a "$out/privkey.pem")" = 640
    check "the key is of the group given" \
        test "$(stat -c %G "$out/privkey.pem")" = "$group"

    # nginx follows the folder

    TLS_PORT="$(free_port)"
    mkdir -p "$WORK/nginx/logs"

    {
        nginx_conf_main 2 64 "load_module $SO;"
        cat <<EOF

http {
    access_log off;
    palette_cert_zone console:1m names=console.example.com
                      trust=$CERTS/ca.pem store=off;
    palette_cert_watch console $out interval=1s;
    server {
        listen 127.0.0.1:$TLS_PORT ssl;
        palette_cert console;
    }
}
EOF
    } > "$WORK/nginx/nginx.conf"

    # the workers (nobody, when started as root) read what the hook wrote

    if [[ "$(id -u)" -eq 0 ]]; then
        chmod 0755 "$WORK" "$dest"
        chgrp nogroup "$out" "$out/privkey.pem"
    fi

    "$DEBIAN_NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" \
        && NGINX_PID=started

    check "nginx serves the certificate the hook wrote" \
        wait_sha "$(cat "$CERTS/leaf-a.sha256")"

    # a renewal: certbot, then the hook

    sh "$ROOT/t/lib/watch-write.sh" certbot "$live" \
        "$CERTS/leaf-c.chain.pem" "$CERTS/leaf-c.key"
    RENEWED_LINEAGE="$live" PALETTE_CERT_DIR="$dest" \
        PALETTE_CERT_GROUP="$(stat -c %G "$out/privkey.pem")" \
        sh "$EXAMPLE/certbot-deploy-hook.sh"

    check "nginx follows the renewal" wait_sha "$(cat "$CERTS/leaf-c.sha256")"
    check "nginx logged no error" \
        bash -c "! grep -E '\\[(error|alert|crit|emerg)\\]' '$WORK/nginx/logs/error.log'"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}


yaml_checks > "$WORK/yaml.out" || true

cat "$WORK/yaml.out"
PASSED=$((PASSED + $(grep -c '^ok: ' "$WORK/yaml.out" || true)))
FAILED=$((FAILED + $(grep -c '^FAILED: ' "$WORK/yaml.out" || true)))

check "the ConfigMap's configuration passes nginx -t" nginx_t_example
hook_checks

printf 'examples: %d passed, %d failed\n' "$PASSED" "$FAILED"

[[ "$FAILED" -eq 0 ]]
