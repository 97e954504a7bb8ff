#!/usr/bin/env bash
#
# Run the tests: install what is needed, build what is needed, and run
#
#   1. the Test::Nginx suite (prove -r t/) against Debian's /usr/sbin/nginx,
#      which loads the module built by build-module.sh;
#   2. the suite again against nginx 1.26, Debian 13's, built from the
#      upstream source in its source package with the module as a dynamic
#      module, loaded with load_module (build-nginx.sh --nginx-version 1.26
#      --dynamic); and a check that the console page's C header was
#      generated from the page as it is;
#   3. the suite again against nginx 1.22 built from source with
#      AddressSanitizer and UndefinedBehaviorSanitizer and the module
#      compiled in (build-nginx.sh --flavor sanitize): any sanitizer report
#      fails the run;
#   4. every fuzz harness of the module's parsers for FUZZ_SECONDS seconds
#      each (default 30, so that the whole run stays under 40 minutes on
#      2 cores; scripts/fuzz.sh);
#   5. uploads while workers are killed, for STRESS_SECONDS seconds
#      (default 60; scripts/stress-crash.sh);
#   6. the console page in headless Chromium: uploads through the page,
#      checked over real TLS handshakes, with screenshots in
#      build/screenshots/ (scripts/test-browser.sh);
#   7. the metrics and the example alerting rules: promtool's checks and
#      unit test of the rules, then a real Prometheus scraping nginx and
#      raising and ending alerts as certificates change
#      (scripts/test-prometheus.sh);
#   8. the example files: the Kubernetes manifests parse and hold together,
#      the certbot deploy hook writes what nginx then follows
#      (scripts/test-examples.sh).
#
# That is what CI runs.  For a quick run of the suite alone:
#     scripts/test.sh --quick              step 1 only
#     scripts/test.sh t/003-api.t -v       step 1 with these prove arguments
#     scripts/test.sh --nginx-version 1.26 [...]
#                                          step 2's suite only (builds
#                                          that nginx first)
#     scripts/test.sh --nginx PATH [...]   the suite against another nginx
#                                          that has the module compiled in
#
# Test::Nginx::Socket from the system is used when installed; otherwise the
# compatible runner in t/compat.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] [--quick] [--nginx PATH | --nginx-version V]' \
        "$(basename "$0")"
    printf ' [PROVE_ARG...]\n'
    printf 'Runs the suite against Debian nginx, nginx 1.26 and under\n'
    printf 'sanitizers, the fuzzers, the crash stress, the browser tests,\n'
    printf 'the Prometheus tests and the examples; --quick, --nginx,\n'
    printf '--nginx-version or prove arguments run the suite alone.\n'
}

NGINX_BIN=""
NGINX_VERSION=""
QUICK=0
PROVE_ARGS=()
HAVE_TESTS_ARG=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --quick) QUICK=1; shift ;;
        --nginx) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                 NGINX_BIN="$2"; QUICK=1; shift 2 ;;
        --nginx=*) NGINX_BIN="${1#--nginx=}"; QUICK=1; shift ;;
        --nginx-version) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                         NGINX_VERSION="$2"; QUICK=1; shift 2 ;;
        --nginx-version=*) NGINX_VERSION="${1#--nginx-version=}"; QUICK=1
                           shift ;;
        --) shift; PROVE_ARGS+=("$@"); QUICK=1; break ;;
        *) PROVE_ARGS+=("$1"); QUICK=1; shift ;;
    esac
done

for i in "${!PROVE_ARGS[@]}"; do
    arg="${PROVE_ARGS[i]}"
    if [[ "$arg" != -* && -e "$arg" ]]; then
        PROVE_ARGS[i]="$(realpath "$arg")"
        HAVE_TESTS_ARG=1
    fi
done

if [[ -n "$NGINX_BIN" ]]; then
    if [[ ! -f "$NGINX_BIN" || ! -x "$NGINX_BIN" ]]; then
        printf '%s: error: not an executable: %s\n' "$(basename "$0")" \
            "$NGINX_BIN" >&2
        exit 1
    fi
    NGINX_BIN="$(realpath "$NGINX_BIN")"
fi

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"

if [[ -z "$(find t -name '*.t' -type f -print -quit 2>/dev/null)" ]]; then
    die "no tests: there is no t/*.t file in $ROOT"
fi

"$ROOT/scripts/deps.sh"

INC=()
if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    log "Test::Nginx::Socket: $(perl -MTest::Nginx::Socket \
        -e 'print $INC{"Test/Nginx/Socket.pm"}')"
else
    [[ -f t/compat/Test/Nginx/Socket.pm ]] \
        || die "Test::Nginx::Socket is not installed and" \
               "t/compat/Test/Nginx/Socket.pm is missing"
    log "Test::Nginx::Socket: t/compat (not installed on the system)"
    INC=(-I t/compat)
fi

if [[ "$HAVE_TESTS_ARG" -eq 0 ]]; then
    PROVE_ARGS=(-r "${PROVE_ARGS[@]}" t/)
fi

TOTAL=0

# run_suite NGINX [MODULE.so]: prove against that nginx; adds the number of
# tests run to TOTAL; false when anything failed.
run_suite() {
    local nginx="$1" module="${2:-}" reports="" out rc=0 version n

    export TEST_NGINX_BINARY="$nginx"

    if [[ -n "$module" ]]; then
        export TEST_NGINX_LOAD_MODULES="$module"
    else
        unset TEST_NGINX_LOAD_MODULES
    fi

    if nginx_is_sanitized "$nginx"; then
        reports="$BUILD_DIR/sanitizer-reports"
        rm -rf "$reports"
        sanitizer_env "$reports"
        log "sanitizer build: reports go to $reports"
    fi

    version="$("$nginx" -v 2>&1 | sed 's/.*: //')"
    if [[ -n "$module" ]]; then
        log "nginx: $nginx ($version), load_module $module"
    else
        log "nginx: $nginx ($version), module compiled in"
    fi
    log "prove ${INC[*]} ${PROVE_ARGS[*]}"

    out="$(mktemp)"
    prove "${INC[@]}" "${PROVE_ARGS[@]}" 2>&1 | tee "$out" || rc=1

    n="$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$out" \
         | tail -n 1)"
    TOTAL=$((TOTAL + ${n:-0}))

    if [[ -n "$reports" ]]; then
        unset ASAN_OPTIONS UBSAN_OPTIONS

        # what UBSan wrote to the stderr of nginx started by the tests,
        # from the module's code
        if ! perl -I"$ROOT/t/lib" -MPaletteCert::Sanitizer \
                -e 'exit PaletteCert::Sanitizer::main' < "$out" >&2
        then
            log "FAILED: sanitizer reports of the module in the output (above)"
            rc=1
        fi

        if sanitizer_reports "$reports"; then
            log "FAILED: sanitizer reports in $reports (above)"
            [[ "$rc" -ne 0 ]] || rc=1
        fi
    fi

    rm -f "$out"

    return "$rc"
}

# run_counted LABEL WHAT SCRIPT: runs SCRIPT, whose last line says "LABEL:
# N passed, M failed"; adds N to TOTAL, and WHAT to FAILED when it fails.
run_counted() {
    local label="$1" what="$2" script="$3" out n

    out="$(mktemp)"
    "$script" | tee "$out" || FAILED+=("$what")
    n="$(sed -n "s/^$label: \\([0-9]*\\) passed, .*/\\1/p" "$out" \
         | tail -n 1)"
    TOTAL=$((TOTAL + ${n:-0}))
    rm -f "$out"
}

# suite_built WHAT BUILD_ARG...: builds nginx with build-nginx.sh
# BUILD_ARG... and runs the suite against it, loading the module when it
# was built as a dynamic module; adds WHAT's build or suite to FAILED and
# is false when either fails.
suite_built() {
    local what="$1" out nginx so
    shift

    if ! out="$("$ROOT/scripts/build-nginx.sh" "$@")"; then
        FAILED+=("$what build")
        return 1
    fi
    read -r nginx so <<<"$out"
    run_suite "$nginx" "$so" || { FAILED+=("suite ($what)"); return 1; }
}

FAILED=()

if [[ -n "$NGINX_BIN" ]]; then
    run_suite "$NGINX_BIN" || { log "FAILED"; exit 1; }
    exit 0
fi

if [[ -n "$NGINX_VERSION" ]]; then
    suite_built "nginx $NGINX_VERSION" --nginx-version "$NGINX_VERSION" \
        --dynamic || { log "FAILED: ${FAILED[*]}"; exit 1; }
    exit 0
fi

"$ROOT/scripts/build-module.sh"
SO="$BUILD_DIR/debian/ngx_palette_cert_module.so"

if [[ "$QUICK" -eq 1 ]]; then
    run_suite "$DEBIAN_NGINX" "$SO" || { log "FAILED"; exit 1; }
    exit 0
fi

log "step 1/8: the suite against Debian's nginx with the module loaded"
run_suite "$DEBIAN_NGINX" "$SO" || FAILED+=("suite (Debian nginx)")

log "step 2/8: the suite against nginx 1.26 with the module loaded," \
    "and the page header"
suite_built "nginx 1.26" --nginx-version 1.26 --dynamic || true
"$ROOT/scripts/gen-page.sh" --check || FAILED+=("page header")

log "step 3/8: the suite under AddressSanitizer and UBSan"
suite_built sanitizers --flavor sanitize || true

log "step 4/8: the fuzzers, ${FUZZ_SECONDS:-30} s each"
"$ROOT/scripts/fuzz.sh" --seconds "${FUZZ_SECONDS:-30}" \
    || FAILED+=("fuzzing")

log "step 5/8: uploads while workers are killed, ${STRESS_SECONDS:-60} s"
"$ROOT/scripts/stress-crash.sh" --seconds "${STRESS_SECONDS:-60}" \
    || FAILED+=("crash stress")

log "step 6/8: the console page in a real browser"
run_counted browser "browser tests" "$ROOT/scripts/test-browser.sh"

log "step 7/8: the metrics and the alerting rules in a real Prometheus"
run_counted prometheus "Prometheus tests" "$ROOT/scripts/test-prometheus.sh"

log "step 8/8: the example manifests, configuration and deploy hook"
run_counted examples "example files" "$ROOT/scripts/test-examples.sh"

if [[ "${#FAILED[@]}" -gt 0 ]]; then
    log "FAILED: ${FAILED[*]}"
    printf 'tests: %d run, failed: %s\n' "$TOTAL" "${FAILED[*]}"
    exit 1
fi

log "all passed: the suite three times (Debian nginx, nginx 1.26," \
    "sanitizers), the fuzzers, the crash stress, the browser tests, the" \
    "Prometheus tests, the examples"
printf 'tests: %d passed, 0 failed\n' "$TOTAL"
