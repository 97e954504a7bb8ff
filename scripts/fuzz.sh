#!/usr/bin/env bash
#
# Fuzz the parsers of untrusted bytes (ngx_palette_cert_body.c) with
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer. One harness
# per parser, in t/fuzz/fuzz_NAME.c, each with a seed corpus in
# t/fuzz/corpus/NAME/:
#
#   json        ngx_palette_cert_parse_json
#   urlencoded  ngx_palette_cert_parse_urlencoded
#   multipart   ngx_palette_cert_multipart_boundary + _parse_multipart
#   pem         ngx_palette_cert_pem_split
#   resource    ngx_palette_cert_resource + _id_valid
#   query       ngx_palette_cert_parse_list_query
#   action      ngx_palette_cert_parse_action + _parse_rfc3339
#   csr         ngx_palette_cert_parse_csr
#   sni         ngx_palette_cert_parse_sni
#   accept      ngx_palette_cert_wants_openmetrics
#
#   scripts/fuzz.sh                       every harness, 60 seconds each
#   scripts/fuzz.sh --seconds 600 pem     one harness, ten minutes
#   scripts/fuzz.sh --check               every seed once, no fuzzing
#
# The harnesses are built into build/fuzz/ with clang against a minimal
# nginx tree (the upstream source of Debian 12's nginx, configured with
# clang and no modules, in build/fuzz/nginx-src) and linked with the one
# nginx core file the parsers need, src/core/ngx_string.c.
#
# Each harness fuzzes a copy of its seeds in build/fuzz/corpus-NAME/, where
# the inputs it finds stay for the next run; nothing is written to t/.
# Harnesses run side by side, as many as there are CPUs. A crash, leak,
# timeout, sanitizer report or broken parser promise fails the run; the
# input that caused it is kept in build/fuzz/artifacts/NAME/ and named in
# the output with the command that replays it.

set -euo pipefail

HARNESSES=(json urlencoded multipart pem resource query action csr sni
           accept)

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h] [--check] [--seconds N] [HARNESS...]' \
        'Builds the libFuzzer harnesses of t/fuzz/ and runs each for N' \
        'seconds (default 60), or with --check over its seed corpus once.' \
        "Harnesses: ${HARNESSES[*]} (default: all)"
}

DURATION=60
CHECK=0
SELECTED=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --check) CHECK=1; shift ;;
        --seconds) [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                   DURATION="$2"; shift 2 ;;
        --seconds=*) DURATION="${1#--seconds=}"; shift ;;
        -*) usage >&2; exit 2 ;;
        *) SELECTED+=("$1"); shift ;;
    esac
done

if [[ ! "$DURATION" =~ ^[1-9][0-9]*$ ]]; then
    printf '%s: --seconds wants a whole number of seconds, not "%s"\n' \
        "$(basename "$0")" "$DURATION" >&2
    exit 2
fi

if [[ "${#SELECTED[@]}" -eq 0 ]]; then
    SELECTED=("${HARNESSES[@]}")
fi

for name in "${SELECTED[@]}"; do
    if [[ " ${HARNESSES[*]} " != *" $name "* ]]; then
        printf '%s: unknown harness "%s" (known: %s)\n' "$(basename "$0")" \
            "$name" "${HARNESSES[*]}" >&2
        exit 2
    fi
done

OUT="$BUILD_DIR/fuzz"
SRC="$OUT/nginx-src"
FUZZ="$ROOT/t/fuzz"
MODULE_DIR="$ROOT/ngx_palette_cert_module"

# Flags of every harness; a change rebuilds them all.
CFLAGS=(-g -O1 -fno-omit-frame-pointer -ffile-prefix-map="$ROOT/="
        "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined
        -W -Wall -Wpointer-arith -Wno-unused-parameter -Werror)

# Options of every libFuzzer run.
FUZZER_OPTS=(-max_len=65536 -timeout=10)

# A path for messages: relative to the project root when inside it.
rel() {
    printf '%s\n' "${1#"$ROOT"/}"
}


# The nginx tree: headers and objs/ngx_auto_config.h for clang, and
# src/core/ngx_string.c.

# libFuzzer comes with the compiler-rt of clang's own version (14 on
# Debian 12).
need_packages clang
clang_major="$(clang -dumpversion)"
need_packages "libclang-rt-${clang_major%%.*}-dev"

"$ROOT/scripts/fetch-nginx-source.sh" 1.22 "$SRC"

# Configured once: only the headers it writes are used, so changes to the
# module's `config` do not matter here.
conf_args=(--with-cc=clang --without-http --without-pcre)
conf_stamp="$SRC/objs/.palette-fuzz-configure"

if [[ ! -f "$SRC/objs/ngx_auto_config.h" \
      || "$(cat "$conf_stamp" 2>/dev/null || true)" != "${conf_args[*]}" ]]
then
    log "configure ($(rel "$SRC"))"
    rm -f "$conf_stamp"
    if ! (cd "$SRC" && ./configure "${conf_args[@]}") \
             > "$SRC/configure.log" 2>&1
    then
        tail -n 30 "$SRC/configure.log" >&2
        die "configure failed (full output: $(rel "$SRC")/configure.log)"
    fi
    printf '%s\n' "${conf_args[*]}" > "$conf_stamp"
fi

[[ -f "$SRC/objs/ngx_auto_config.h" ]] \
    || die "configure wrote no $(rel "$SRC")/objs/ngx_auto_config.h"


# Build: a harness is rebuilt when a source or the flags changed.

INCLUDES=(-I "$SRC/src/core" -I "$SRC/src/event" -I "$SRC/src/event/modules"
          -I "$SRC/src/os/unix" -I "$SRC/objs" -I "$MODULE_DIR" -I "$FUZZ")

needs_build() {
    local bin="$1" stamp="$1.flags" f
    shift

    [[ -x "$bin" && -f "$stamp" ]] || return 0
    [[ "$(cat "$stamp")" == "${CFLAGS[*]} ${INCLUDES[*]}" ]] || return 0

    for f in "$@"; do
        [[ "$f" -nt "$bin" ]] && return 0
    done

    return 1
}

build_harness() {
    local name="$1" bin="$OUT/fuzz_$1"
    local -a sources=("$FUZZ/fuzz_$name.c" "$FUZZ/ngx_palette_cert_fuzz.c"
                      "$MODULE_DIR/ngx_palette_cert_body.c"
                      "$SRC/src/core/ngx_string.c")

    if ! needs_build "$bin" "${sources[@]}" "$FUZZ/ngx_palette_cert_fuzz.h" \
             "$MODULE_DIR/ngx_palette_cert_body.h" \
             "$SRC/objs/ngx_auto_config.h"
    then
        return 0
    fi

    rm -f "$bin.flags"
    clang "${CFLAGS[@]}" "${INCLUDES[@]}" "${sources[@]}" -o "$bin.tmp" \
        || return 1
    mv -f "$bin.tmp" "$bin"
    printf '%s\n' "${CFLAGS[*]} ${INCLUDES[*]}" > "$bin.flags"
}

mkdir -p "$OUT"

declare -A PIDS=()

for name in "${SELECTED[@]}"; do
    build_harness "$name" > "$OUT/build-$name.log" 2>&1 &
    PIDS[$name]=$!
done

failed_builds=()

for name in "${SELECTED[@]}"; do
    if ! wait "${PIDS[$name]}"; then
        failed_builds+=("$name")
        head -n 40 "$OUT/build-$name.log" >&2
    fi
done

if [[ "${#failed_builds[@]}" -gt 0 ]]; then
    die "building fuzz_${failed_builds[*]} failed (logs:" \
        "$(rel "$OUT")/build-NAME.log)"
fi

log "harnesses built in $(rel "$OUT") ($(elapsed))"


# Run: one libFuzzer process per harness, as many at once as CPUs; each
# writes its own log, read when all are done.

# run_harness NAME: runs the harness, writes the fuzzer's process id to
# log-NAME.pid while it runs and its exit status to log-NAME.rc.
run_harness() {
    local name="$1" rc=0 pid
    local bin="$OUT/fuzz_$name" art="$OUT/artifacts/$name"
    local logf="$OUT/log-$name.txt"
    local -a args

    mkdir -p "$art"

    if [[ "$CHECK" -eq 1 ]]; then
        # An empty first folder: libFuzzer writes only there, never to t/.
        rm -rf "$OUT/check-$name"
        mkdir -p "$OUT/check-$name"

        args=(-runs=0 "$OUT/check-$name" "$FUZZ/corpus/$name")
    else
        mkdir -p "$OUT/corpus-$name"
        cp -rf "$FUZZ/corpus/$name/." "$OUT/corpus-$name/"

        args=(-max_total_time="$DURATION" -print_final_stats=1
              "$OUT/corpus-$name")
    fi

    "$bin" "${FUZZER_OPTS[@]}" -artifact_prefix="$art/" "${args[@]}" \
        > "$logf" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" > "$OUT/log-$name.pid"

    wait "$pid" || rc=$?

    rm -f "$OUT/log-$name.pid"
    printf '%s\n' "$rc" > "$OUT/log-$name.rc"
}

# On an interrupt, stop the fuzzers this run started, by their ids.
stop_running() {
    local name pid

    for name in "${SELECTED[@]}"; do
        pid="$(cat "$OUT/log-$name.pid" 2>/dev/null || true)"
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
        fi
    done
}

trap 'stop_running; exit 130' INT TERM

max_jobs="$(jobs_count)"

if [[ "$CHECK" -eq 1 ]]; then
    log "replaying the seed corpus of: ${SELECTED[*]}"
else
    log "fuzzing ${SELECTED[*]} for ${DURATION}s each," \
        "$max_jobs at a time"
fi

# A process id left by an interrupted run must not be taken for a new one.
for name in "${SELECTED[@]}"; do
    rm -f "$OUT/log-$name.rc" "$OUT/log-$name.pid"
done

for name in "${SELECTED[@]}"; do
    while [[ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]]; do
        wait -n || true
    done

    run_harness "$name" &
done

wait || true


# Report: one line per harness, then the verdict.

# The last libFuzzer status line ("#N DONE cov: C ft: F corp: K/SIZE ...").
status_field() {
    awk -v field="$2:" '
        /^#[0-9]+/ && / cov: / {
            for (i = 2; i < NF; i++) {
                if ($i == field) {
                    value = $(i + 1)
                }
            }
        }
        END { print value }' "$1"
}

# What a log holds when something went wrong, whatever the exit status.
REPORT_RE='broken promise|runtime error:'
REPORT_RE+='|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)'

failed=()

for name in "${SELECTED[@]}"; do
    logf="$OUT/log-$name.txt"
    rc="$(cat "$OUT/log-$name.rc" 2>/dev/null || echo missing)"

    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf")"
    if [[ -z "$runs" ]]; then
        runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$logf")"
    fi
    cov="$(status_field "$logf" cov)"
    ft="$(status_field "$logf" ft)"
    corp="$(status_field "$logf" corp)"

    if [[ "$rc" == 0 ]] && ! grep -qE "$REPORT_RE" "$logf"; then
        if [[ "$CHECK" -eq 1 ]]; then
            printf '%-10s ok: %s seeds replayed, coverage %s edges,' \
                "$name" "${runs:-?}" "${cov:-?}"
            printf ' %s features\n' "${ft:-?}"
        else
            printf '%-10s ok: %s runs in %ss, coverage %s edges,' \
                "$name" "${runs:-?}" "$DURATION" "${cov:-?}"
            printf ' %s features, corpus %s inputs (%s)\n' "${ft:-?}" \
                "${corp%%/*}" "$(rel "$OUT/corpus-$name")"
        fi
        continue
    fi

    failed+=("$name")

    printf '%-10s FAILED (exit %s)%s:\n' "$name" "$rc" \
        "${runs:+ after $runs runs}"
    grep -E "$REPORT_RE|^SUMMARY:" "$logf" | head -n 6 | sed 's/^/    /' \
        || true

    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logf" \
             | tail -n 1)"
    if [[ -n "$input" ]]; then
        printf '    input:  %s\n' "$(rel "$input")"
        for f in "$FUZZ/corpus/$name"/*; do
            if [[ -f "$input" ]] && cmp -s "$f" "$input"; then
                printf '    seed:   %s\n' "$(rel "$f")"
            fi
        done
        printf '    replay: %s %s\n' "$(rel "$OUT/fuzz_$name")" \
            "$(rel "$input")"
    fi
    printf '    log:    %s\n' "$(rel "$logf")"
done

if [[ "${#failed[@]}" -gt 0 ]]; then
    die "${#failed[@]} of ${#SELECTED[@]} harnesses failed:" \
        "${failed[*]} ($(elapsed))"
fi

if [[ "$CHECK" -eq 1 ]]; then
    log "OK: the seed corpus of ${#SELECTED[@]} harnesses passes" \
        "($(elapsed))"
else
    log "OK: ${#SELECTED[@]} harnesses fuzzed ${DURATION}s each, no" \
        "crash, leak, timeout or sanitizer report ($(elapsed))"
fi
