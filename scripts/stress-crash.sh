#!/usr/bin/env bash
#
# Crash test: certificate uploads while workers are killed.
#
# Builds the module for Debian's nginx and starts /usr/sbin/nginx with it on
# a private configuration (4 workers, a TLS server fed by the zone, the
# admin endpoint, a store) in a temporary prefix under build/. Then, for
# --seconds (60 by default):
#
#   - several clients upload certificates in turn with curl (chains from
#     t/lib/gen-certs.sh): two replace the default (three chains), one the
#     named certificate "sa" (two ECDSA and one RSA chain for a.test), and
#     one creates the named certificate "sb" (b.test) and deletes it;
#     one goes through the rest of the API on the named certificate "sc"
#     (*.w.test, x.w.test): a key made by nginx (?csr), a version staged
#     a second ahead (?activate_at), the history and a rollback to its
#     newest version, a cancelled staging (DELETE ?staged);
#   - a killer sends SIGKILL to a random worker every 100-500 ms (the
#     master starts a new one);
#   - three clients keep doing fresh TLS handshakes
#     (scripts/stress-crash.pl), with SNI localhost, a.test and b.test.
#
# Afterwards, once the workers are back, it checks that:
#
#   a. the endpoint still answers GET and an upload in time (no lock is
#      left held by a dead worker), for the default and "sa";
#   b. new handshakes present the leaf GET reports, for the default (SNI
#      localhost) and "sa" (SNI a.test);
#   c. the store agrees: current -> gen-GENERATION, its chain and key
#      (mode 0600) are that leaf's, in the store and in named/sa;
#   d. after a restart, nginx serves the same certificates and generations
#      and the store holds no temporary folder of a dead process;
#   e. the error log has no [emerg] and no alert or crit other than the
#      ones a killed worker causes (nginx's "exited on signal 9" and "was
#      locked by", the module's "was being changed by ..., which is gone");
#   f. the generation grew at least by the number of uploads answered 200;
#   g. the metrics, scraped all along, were each time either clean for
#      promtool or cut by a kill;
#
# and that no handshake completed with a certificate that was never
# uploaded for its name (or the default's, for a name without one), and
# none failed but those cut by a kill. Prints a summary and
# OK or FAILED; exits 1 on failure. The prefix is removed on success and
# kept on failure.

set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    say_usage '[-h] [--seconds N]' \
        'Uploads certificates while killing nginx workers for N seconds' \
        '(default 60), then checks that nothing is left broken.'
}

DURATION=60

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --seconds)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
            DURATION="$2"
            shift 2
            ;;
        *) usage >&2; exit 2 ;;
    esac
done

need_root "running nginx with workers as www-data"

ZONE=stress
UPLOADERS=4
WORKERS=4
CHAINS=(leaf-a leaf-b leaf-c)
SA_CHAINS=(named-a named-a2 named-a-rsa)
SB_CHAINS=(named-b named-b2)
HELPER="$ROOT/scripts/stress-crash.pl"

FAILURES=()


fail() {
    FAILURES+=("$*")
    printf '==> %s: FAIL: %s\n' "$PCERT_SCRIPT" "$*" >&2
}

now_ms() {
    local t="$EPOCHREALTIME"

    printf '%s\n' "$(( ${t%.*} * 1000 + 10#${t#*.} / 1000 ))"
}

# Wait until the master runs WORKERS workers.
wait_workers() {
    local i

    for ((i = 0; i < 50; i++)); do
        if [[ "$(workers_of "$SCRATCH_MASTER" | wc -l)" -ge "$WORKERS" ]]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# JSON of GET into "$1"; false unless answered 200 within 5 s.
api_get() {
    http_get "$API_URL" "$1"
}

# upload CHAIN OUT [MAX [URL]]: the status of a PUT of that chain (to the
# default, or URL), the body in OUT, followed by curl's exit code ("200 0",
# "000 52", ...).
upload() {
    local name="$1" out="$2" max="${3:-5}" url="${4:-$API_URL}" code rc=0

    code="$(curl -s -o "$out" -w '%{http_code}' --max-time "$max" \
            -X PUT -F "certificate=@$CERTS/$name.chain.pem" \
            -F "key=@$CERTS/$name.key" -F "ca=@$CERTS/ca.pem" \
            "$url" 2>/dev/null)" || rc=$?
    printf '%s %s\n' "${code:-000}" "$rc"
}

# remove URL OUT: the status of a DELETE, as upload() gives it.
remove() {
    request DELETE "$1" "$2"
}

# request METHOD URL OUT [CURL-ARGS...]: the same for any request.
request() {
    local method="$1" url="$2" out="$3" code rc=0

    shift 3
    code="$(curl -s -o "$out" -w '%{http_code}' --max-time 5 -X "$method" \
            "$@" "$url" 2>/dev/null)" || rc=$?
    printf '%s %s\n' "${code:-000}" "$rc"
}


# The load.

# Uploader 0 and 1 replace the default, 2 the named "sa", 3 creates the
# named "sb" and deletes it in turn; a refused DELETE of "sb" (404, when a
# kill cut the PUT before it) is not a failure.
uploader() {
    local id="$1" end="$2" i="$1" name out res

    out="$PREFIX/run/upload-$id.json"

    while [[ "$EPOCHSECONDS" -lt "$end" ]]; do
        case "$id" in
            2)
                name="${SA_CHAINS[i % ${#SA_CHAINS[@]}]}"
                res="$(upload "$name" "$out" 5 "$API_URL/sa")"
                ;;
            3)
                if ((i % 2)); then
                    name="${SB_CHAINS[(i / 2) % ${#SB_CHAINS[@]}]}"
                    res="$(upload "$name" "$out" 5 "$API_URL/sb")"
                else
                    name=delete-sb
                    res="$(remove "$API_URL/sb" "$out")"
                    [[ "${res%% *}" == 404 ]] && res="200 0"
                fi
                ;;
            *)
                name="${CHAINS[i % ${#CHAINS[@]}]}"
                res="$(upload "$name" "$out")"
                ;;
        esac
        i=$((i + 1))
        if [[ "${res%% *}" != 200 && -s "$out" ]]; then
            res="$res $(jq -r '.error // empty' "$out" 2>/dev/null || true)"
        fi
        printf '%s %s\n' "$res" "$name"
    done > "$PREFIX/run/uploads-$id.log"
}

# The rest of the API on "sc": each answer a success, a refusal that the
# others' changes explain (404: nothing staged, or the version rolled back
# to was pruned meanwhile; 503 busy; 400 for a staging whose answer came
# only after the time it named, under the load) or cut by a kill.
aside_client() {
    local end="$1" i=0 out code what gen at

    out="$PREFIX/run/aside.json"

    while [[ "$EPOCHSECONDS" -lt "$end" ]]; do
        case $((i % 5)) in
            0)
                what=csr
                code="$(request POST "$API_URL/sc?csr" "$out" \
                        -H 'Content-Type: application/json' \
                        -d '{"names":["c.test"],"key_type":"EC P-256"}')"
                ;;
            1)
                what=upload
                code="$(upload "$( ((i % 2)) && echo named-xw \
                                   || echo named-wild)" "$out" 5 \
                        "$API_URL/sc")"
                ;;
            2)
                what=stage
                at="$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)"
                code="$(upload named-wild "$out" 5 \
                        "$API_URL/sc?activate_at=$at")"
                ;;
            3)
                what=rollback
                gen="$(curl -s --max-time 5 "$API_URL/sc?history" \
                       | jq -r '.history[0].generation // empty' \
                         2>/dev/null || true)"
                if [[ -z "$gen" ]]; then
                    i=$((i + 1))
                    continue
                fi
                code="$(request POST "$API_URL/sc?rollback=$gen" "$out")"
                ;;
            4)
                what=unstage
                code="$(remove "$API_URL/sc?staged" "$out")"
                ;;
        esac
        i=$((i + 1))
        if [[ "${code%% *}" != 20[02] && -s "$out" ]]; then
            code="$code $(jq -r '.error // empty' "$out" 2>/dev/null || true)"
        fi
        printf '%s %s\n' "$code" "$what"
    done > "$PREFIX/run/aside.log"
}

# Metrics while all that goes on: each answer must be whole (promtool
# clean) or cut by a kill.
scraper() {
    local end="$1" n=0 code

    while [[ "$EPOCHSECONDS" -lt "$end" ]]; do
        n=$((n + 1))
        code="$(curl -s -o "$PREFIX/run/metrics-$((n % 2)).txt" \
                -w '%{http_code}' --max-time 5 \
                "http://127.0.0.1:$ADMIN_PORT/metrics" || true)"
        if [[ "$code" == 200 ]] \
           && ! promtool check metrics \
                    < "$PREFIX/run/metrics-$((n % 2)).txt" \
                    > "$PREFIX/run/promtool.txt" 2>&1
        then
            code=invalid
        fi
        printf '%s\n' "$code"
        sleep 0.2
    done > "$PREFIX/run/scrapes.log"
}

killer() {
    local end="$1" pid
    local -a workers

    while [[ "$EPOCHSECONDS" -lt "$end" ]]; do
        sleep "$(printf '0.%03d' $((100 + RANDOM % 400)))"
        mapfile -t workers < <(workers_of "$SCRATCH_MASTER")
        [[ "${#workers[@]}" -gt 0 ]] || continue
        pid="${workers[RANDOM % ${#workers[@]}]}"
        if kill -KILL "$pid" 2>/dev/null; then
            printf '%s %s\n' "$(now_ms)" "$pid"
        fi
    done > "$PREFIX/run/kills.log"
}


# The checks.

# sha256 of the first certificate of PEM file "$1".
pem_sha256() {
    openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum \
        | cut -d' ' -f1
}

# check_served SHA WHAT [SNI]: fresh handshakes all present leaf SHA.
check_served() {
    local want="$1" what="$2" sni="${3:-localhost}" got bad

    if ! got="$(perl "$HELPER" probe "$HTTPS_PORT" 6 "$sni")"; then
        fail "$what: a handshake failed"
        return
    fi

    bad="$(grep -cvxF "$want" <<<"$got" || true)"
    if [[ "$bad" -ne 0 ]]; then
        fail "$what: $bad of 6 handshakes presented another leaf than" \
            "GET's sha256 $want: $(sort -u <<<"$got" | paste -sd ' ')"
    fi
}

# check_store GEN SHA [FOLDER]: the current generation of the store (or of
# its FOLDER, a named certificate's) is GEN, with leaf SHA.
check_store() {
    local gen="$1" sha="$2" store="$PREFIX/store${3:+/$3}" link dir mode

    link="$(readlink "$store/current" 2>/dev/null || true)"
    if [[ "$link" != "gen-$gen" ]]; then
        fail "store: current -> '${link}', GET says generation $gen"
        return
    fi

    dir="$store/$link"

    if [[ "$(pem_sha256 "$dir/certificate.pem")" != "$sha" ]]; then
        fail "store: $link/certificate.pem does not start with leaf $sha"
    fi

    mode="$(stat -c %a "$dir/key.pem" 2>/dev/null || true)"
    if [[ "$mode" != 600 ]]; then
        fail "store: $link/key.pem has mode '${mode}', not 600"
    fi

    if ! cmp -s <(openssl pkey -in "$dir/key.pem" -pubout 2>/dev/null) \
                <(openssl x509 -in "$dir/certificate.pem" -pubkey -noout \
                      2>/dev/null)
    then
        fail "store: $link/key.pem does not match its certificate.pem"
    fi
}

# Temporary folders in the store whose process is gone.
stale_tmp_dirs() {
    local d pid

    for d in "$PREFIX/store"/.tmp-* "$PREFIX/store"/named/*/.tmp-*; do
        [[ -e "$d" ]] || continue
        pid="${d##*.tmp-}"
        if ! kill -0 "$pid" 2>/dev/null; then
            printf '%s\n' "${d#"$PREFIX/store/"}"
        fi
    done
}

# Alert, crit and emerg lines that a killed worker does not explain.
unexpected_log_lines() {
    grep -E '\[(emerg|alert|crit)\]' "$PREFIX/logs/error.log" \
        | grep -vE '\[alert\] [0-9]+#[0-9]+: (worker process [0-9]+ exited on signal 9|shared memory zone "[^"]*" was locked by [0-9]+|palette_cert zone "[^"]*" was being changed by [0-9]+, which is gone)$' \
        || true
}


# Start.

"$ROOT/scripts/build-module.sh"
need_packages curl openssl jq iproute2 libio-socket-ssl-perl \
    libnet-ssleay-perl
need_prometheus

PREFIX="$(scratch_prefix "$BUILD_DIR/stress-crash")"
scratch_nginx_traps
CERTS="$PREFIX/certs"

bash "$ROOT/t/lib/gen-certs.sh" "$CERTS"

free_ports 2
HTTPS_PORT="${FREE_PORTS[0]}"
ADMIN_PORT="${FREE_PORTS[1]}"
API_URL="http://127.0.0.1:$ADMIN_PORT/cert"

scratch_nginx_conf "$PREFIX" --ports "$HTTPS_PORT" "$ADMIN_PORT" \
    --zone "$ZONE:1m" --store "$PREFIX/store" --workers "$WORKERS" \
    --user www-data
scratch_nginx_test "$PREFIX"

scratch_nginx_start "$PREFIX" "$API_URL"
wait_workers || die "nginx does not run $WORKERS workers"

api_get "$PREFIX/run/start.json" || die "GET $API_URL failed at start"
GEN0="$(jq -r .generation "$PREFIX/run/start.json")"

# The leaves that may be served: the self-signed default and the uploads;
# for a.test and b.test also theirs.
{
    jq -r .sha256 "$PREFIX/run/start.json"
    for name in "${CHAINS[@]}"; do
        cat "$CERTS/$name.sha256"
    done
} > "$PREFIX/run/known.txt"

for name in "${SA_CHAINS[@]}"; do
    cat "$CERTS/$name.sha256"
done | cat - "$PREFIX/run/known.txt" > "$PREFIX/run/known-a.txt"

for name in "${SB_CHAINS[@]}"; do
    cat "$CERTS/$name.sha256"
done | cat - "$PREFIX/run/known.txt" > "$PREFIX/run/known-b.txt"

log "nginx master $SCRATCH_MASTER, https 127.0.0.1:$HTTPS_PORT, api $API_URL," \
    "generation $GEN0; $UPLOADERS uploaders, killing workers for" \
    "${DURATION}s"

END=$((EPOCHSECONDS + DURATION))

for ((u = 0; u < UPLOADERS; u++)); do
    uploader "$u" "$END" &
    SCRATCH_BG+=("$!")
done

killer "$END" &
SCRATCH_BG+=("$!")

aside_client "$END" &
SCRATCH_BG+=("$!")

scraper "$END" &
SCRATCH_BG+=("$!")

perl "$HELPER" handshakes "$HTTPS_PORT" "$DURATION" "$PREFIX/run/known.txt" \
    > "$PREFIX/run/handshakes-localhost.log" &
SCRATCH_BG+=("$!")

perl "$HELPER" handshakes "$HTTPS_PORT" "$DURATION" \
    "$PREFIX/run/known-a.txt" a.test > "$PREFIX/run/handshakes-a.log" &
SCRATCH_BG+=("$!")

perl "$HELPER" handshakes "$HTTPS_PORT" "$DURATION" \
    "$PREFIX/run/known-b.txt" b.test > "$PREFIX/run/handshakes-b.log" &
SCRATCH_BG+=("$!")

for pid in "${SCRATCH_BG[@]}"; do
    wait "$pid" || fail "a load process ended with status $?"
done
SCRATCH_BG=()

log "load done ($(elapsed)); letting the workers settle"

if ! wait_workers; then
    fail "the master does not run $WORKERS workers again"
fi
sleep 1


# Tallies of the load.

cat "$PREFIX"/run/uploads-*.log > "$PREFIX/run/uploads.log"
up_sent="$(wc -l < "$PREFIX/run/uploads.log")"
up_200="$(awk '$1 == 200' "$PREFIX/run/uploads.log" | wc -l)"
# no answer because the worker was killed: curl's empty reply (52),
# failure to send the body (55) or to receive (56)
up_cut="$(awk '$1 == "000" && $2 ~ /^5[256]$/' \
          "$PREFIX/run/uploads.log" | wc -l)"
up_other="$((up_sent - up_200 - up_cut))"
kills="$(wc -l < "$PREFIX/run/kills.log")"

hs="$PREFIX/run/handshakes.log"
sort -n "$PREFIX"/run/handshakes-*.log > "$hs"
hs_done="$(wc -l < "$hs")"
hs_ok="$(awk '$3 == "ok"' "$hs" | wc -l)"
hs_unknown="$(awk '$3 == "unknown"' "$hs" | wc -l)"
hs_failed="$(awk '$3 == "failed"' "$hs" | wc -l)"
# the durations of the completed ones: median, 99th percentile, maximum
read -r hs_p50 hs_p99 hs_max < <(
    awk '$3 == "ok" || $3 == "unknown" { print $2 }' "$hs" | sort -n \
        | awk '{ d[NR] = $1 }
               END { if (NR == 0) { print "- - -"; exit }
                     print d[int((NR + 1) / 2)], d[int((NR * 99 + 99) / 100)],
                           d[NR] }')

# A handshake cut short counts as cut by a kill if a worker was killed
# within a second of its start; otherwise it is a failure.
read -r hs_cut hs_cut_alone < <(
    awk 'NR == FNR { k[NR] = $1; n = NR; next }
         $3 == "cut" {
             hit = 0
             for (i = 1; i <= n; i++) {
                 if (k[i] >= $1 - 200 && k[i] <= $1 + 1000) { hit = 1; break }
             }
             if (hit) { cut++ } else { alone++ }
         }
         END { print cut + 0, alone + 0 }' \
        "$PREFIX/run/kills.log" "$hs")

if [[ "$hs_unknown" -ne 0 ]]; then
    fail "$hs_unknown handshakes presented a leaf that was never uploaded:" \
        "$(awk '$3 == "unknown" { print $4 }' "$hs" | sort -u | paste -sd ' ')"
fi
if [[ "$((hs_failed + hs_cut_alone))" -ne 0 ]]; then
    fail "$((hs_failed + hs_cut_alone)) handshakes failed without a kill;" \
        "first: $(awk '$3 == "failed" { $1 = $2 = $3 = ""; print; exit }' "$hs")"
fi
if [[ "$up_other" -ne 0 ]]; then
    fail "$up_other uploads answered neither 200 nor cut by a kill:" \
        "$(awk '$1 != 200 && !($1 == "000" && $2 ~ /^5[256]$/) {
                    print $1 "/" $2 ($3 ~ /^leaf-/ ? "" : "/" $3)
                }' \
               "$PREFIX/run/uploads.log" | sort | uniq -c \
               | awk '{ print $2 " x" $1 }' | paste -sd ' ')"
fi
if [[ "$kills" -eq 0 ]]; then
    fail "no worker was killed"
fi

aside_sent="$(wc -l < "$PREFIX/run/aside.log")"
aside_ok="$(awk '$1 ~ /^20[02]$/' "$PREFIX/run/aside.log" | wc -l)"
aside_bad="$(awk '!($1 ~ /^(200|202|404|503)$/ \
                   || ($1 == 400 && $NF == "stage") \
                   || ($1 == "000" && $2 ~ /^5[256]$/))' \
             "$PREFIX/run/aside.log")"
if [[ -n "$aside_bad" ]]; then
    fail "the rest of the API on sc answered otherwise:" \
        "$(printf '%s\n' "$aside_bad" | awk '{ print $1 "/" $NF }' \
           | sort | uniq -c | awk '{ print $2 " x" $1 }' | paste -sd ' ')"
fi
if [[ "$aside_ok" -eq 0 ]]; then
    fail "none of $aside_sent requests of the rest of the API on sc succeeded"
fi

scrapes="$(wc -l < "$PREFIX/run/scrapes.log")"
scrapes_200="$(grep -c '^200$' "$PREFIX/run/scrapes.log" || true)"
scrapes_bad="$(grep -c '^invalid$' "$PREFIX/run/scrapes.log" || true)"
if [[ "$scrapes_bad" -ne 0 ]]; then
    fail "$scrapes_bad metrics answers are not clean for promtool:" \
        "$(head -n 3 "$PREFIX/run/promtool.txt")"
fi
if [[ "$scrapes_200" -eq 0 ]]; then
    fail "no metrics answer in $scrapes scrapes"
fi


# a. The endpoint answers: GETs, an upload, a GET.

get_ok=0
for ((i = 0; i < 3; i++)); do
    if api_get "$PREFIX/run/get.json"; then
        get_ok=$((get_ok + 1))
    fi
done
if [[ "$get_ok" -ne 3 ]]; then
    fail "a. only $get_ok of 3 GETs answered 200 within 5 s"
fi

# An upload cut by a kill after the store switched "current" but before
# shared memory did leaves the store one generation ahead until the next
# change (a restart then would serve that upload): noted, not a failure.
if jq -r .generation "$PREFIX/run/get.json" > "$PREFIX/run/get-gen.txt" \
       2>/dev/null \
   && [[ "$(readlink "$PREFIX/store/current" 2>/dev/null || true)" \
         != "gen-$(cat "$PREFIX/run/get-gen.txt")" ]]
then
    log "store: current -> $(readlink "$PREFIX/store/current" || true)" \
        "while GET says generation $(cat "$PREFIX/run/get-gen.txt")" \
        "(an upload cut by a kill after the store switched)"
fi

final="$(upload leaf-a "$PREFIX/run/final.json" 10)"
if [[ "${final%% *}" == 200 ]]; then
    up_200=$((up_200 + 1))
else
    fail "a. the upload after the load answered '$final' (within 10 s)"
fi

if ! api_get "$PREFIX/run/get.json"; then
    fail "a. GET after the final upload failed"
fi

GEN="$(jq -r '.generation // empty' "$PREFIX/run/get.json" 2>/dev/null || true)"
SHA="$(jq -r '.sha256 // empty' "$PREFIX/run/get.json" 2>/dev/null || true)"

if [[ -z "$GEN" || -z "$SHA" ]]; then
    fail "a. GET does not describe a certificate"
else
    if [[ "${final%% *}" == 200 && "$SHA" != "$(cat "$CERTS/leaf-a.sha256")" ]]
    then
        fail "a. GET's sha256 $SHA is not leaf-a's, the last upload"
    fi

    # b, c, f
    check_served "$SHA" "b. after the load"
    check_store "$GEN" "$SHA"

    if [[ "$GEN" -lt "$((GEN0 + up_200))" ]]; then
        fail "f. generation $GEN < $GEN0 + $up_200 uploads answered 200"
    fi
fi

# The named "sa": an upload after the load, then what GET, the
# handshakes with SNI a.test and the store say.

final_sa="$(upload named-a2 "$PREFIX/run/final-sa.json" 10 "$API_URL/sa")"
if [[ "${final_sa%% *}" != 200 ]]; then
    fail "a. the upload of sa after the load answered '$final_sa'"
fi

if ! http_get "$API_URL/sa" "$PREFIX/run/get-sa.json"; then
    fail "a. GET sa after the final upload failed"
fi

GEN_SA="$(jq -r '.generation // empty' "$PREFIX/run/get-sa.json" 2>/dev/null \
          || true)"
SHA_SA="$(jq -r '.sha256 // empty' "$PREFIX/run/get-sa.json" 2>/dev/null \
          || true)"

if [[ "$SHA_SA" != "$(cat "$CERTS/named-a2.sha256")" ]]; then
    fail "a. GET sa's sha256 '$SHA_SA' is not named-a2's, the last upload"
else
    check_served "$SHA_SA" "b. sa after the load" a.test
    check_store "$GEN_SA" "$SHA_SA" named/sa
fi

mapfile -t stale < <(stale_tmp_dirs)
if [[ "${#stale[@]}" -gt 0 ]]; then
    log "store: temporary folders of dead workers before the restart:" \
        "${stale[*]}"
fi


# d. A restart serves the same certificate and generation.

scratch_nginx_stop
scratch_nginx_start "$PREFIX" "$API_URL"

if ! api_get "$PREFIX/run/restart.json"; then
    fail "d. GET after the restart failed"
elif [[ -n "$GEN" ]]; then
    gen2="$(jq -r .generation "$PREFIX/run/restart.json")"
    sha2="$(jq -r .sha256 "$PREFIX/run/restart.json")"

    if [[ "$gen2" != "$GEN" || "$sha2" != "$SHA" ]]; then
        fail "d. after the restart generation $gen2 sha256 $sha2," \
            "before generation $GEN sha256 $SHA"
    fi
    check_served "$SHA" "d. after the restart"
    check_store "$GEN" "$SHA"
fi

if [[ -n "$GEN_SA" ]]; then
    if ! http_get "$API_URL/sa" "$PREFIX/run/restart-sa.json"; then
        fail "d. GET sa after the restart failed"
    elif [[ "$(jq -r .generation "$PREFIX/run/restart-sa.json")" != "$GEN_SA" \
            || "$(jq -r .sha256 "$PREFIX/run/restart-sa.json")" != "$SHA_SA" ]]
    then
        fail "d. after the restart sa is not generation $GEN_SA, $SHA_SA"
    else
        check_served "$SHA_SA" "d. sa after the restart" a.test
    fi
fi

mapfile -t stale < <(stale_tmp_dirs)
if [[ "${#stale[@]}" -gt 0 ]]; then
    fail "c. the store keeps temporary folders after the restart:" \
        "${stale[*]}"
fi


# e. The error log.

scratch_nginx_stop

if grep -q '\[emerg\]' "$PREFIX/logs/error.log"; then
    fail "e. the error log has [emerg] lines"
fi

mapfile -t unexpected < <(unexpected_log_lines)
if [[ "${#unexpected[@]}" -gt 0 ]]; then
    fail "e. ${#unexpected[@]} unexpected alert/crit/emerg lines in the" \
        "error log:"
    printf '    %s\n' "${unexpected[@]:0:20}" >&2
fi

signal9="$(grep -c 'exited on signal 9' "$PREFIX/logs/error.log" || true)"
locked="$(grep -c 'was locked by' "$PREFIX/logs/error.log" || true)"
gone="$(grep -c 'which is gone' "$PREFIX/logs/error.log" || true)"


# Summary.

cat <<EOF

stress-crash: ${DURATION}s, $UPLOADERS upload clients, $WORKERS workers
  uploads     sent $up_sent, answered 200 $up_200 (with the final one),
              cut by a kill $up_cut, other $up_other
  workers     killed $kills (log: $signal9 exited on signal 9, $locked slab
              locks and $gone update locks recovered)
  handshakes  done $hs_done, ok $hs_ok, cut by a kill $hs_cut,
              failed otherwise $((hs_failed + hs_cut_alone)),
              unknown certificate $hs_unknown
              time in ms: median $hs_p50, 99% $hs_p99, max $hs_max
  sc          csr, upload, staging, rollback, cancel: sent $aside_sent,
              succeeded $aside_ok
  generation  $GEN0 at start, ${GEN:-?} at the end (sa: ${GEN_SA:-?})
  metrics     scraped $scrapes times, whole $scrapes_200, not clean for
              promtool $scrapes_bad
EOF

if [[ "${#FAILURES[@]}" -gt 0 ]]; then
    printf '  failures\n'
    printf '    %s\n' "${FAILURES[@]}"
    printf 'FAILED (%s; prefix kept: %s)\n' "$(elapsed)" "$PREFIX"
    exit 1
fi

rm -rf "$PREFIX"
printf 'OK (%s)\n' "$(elapsed)"
