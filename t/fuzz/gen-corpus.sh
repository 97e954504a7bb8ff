#!/usr/bin/env bash
#
# Writes the seed corpus of the fuzz harnesses: t/fuzz/corpus/NAME/, one
# small file per case worth starting from, valid or not, for the parsers of
# upload bodies (json, urlencoded, multipart), of PEM fields (pem), of the
# URI after the API's location (resource), of the list's query string
# (query), of a certificate's query string (action), of the JSON body of a
# certificate request (csr), of a client hello's server_name extension
# (sni) and of the Accept header of a metrics scrape (accept).
#
# The PEM text comes from the test certificates (t/lib/gen-certs.sh CERTDIR);
# of a private key only the start of its DER header is kept, the rest of its
# body is filler, so no seed holds any part of a key.
# A multipart seed's first line is the Content-Type header value, the rest
# is the body (see fuzz_multipart.c).  An sni seed is the extension's data
# as it stands in a client hello, lengths included (see fuzz_sni.c).
#
# The corpus is committed; this is its recipe.  Run it again only to change
# the seeds: it replaces every file of
# OUTDIR/{json,urlencoded,multipart,pem,resource,query,action,csr,sni,accept}.

set -euo pipefail

usage() {
    printf 'usage: %s [-h] CERTDIR [OUTDIR]\n' "$(basename "$0")"
    printf 'Writes the fuzz seed corpus (default OUTDIR: %s)\n' \
        't/fuzz/corpus'
}

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
esac

if [[ $# -lt 1 || $# -gt 2 ]]; then
    usage >&2
    exit 2
fi

CERTS="${1%/}"
OUT="${2:-$(dirname "${BASH_SOURCE[0]}")/corpus}"
BODY_H="$(dirname "${BASH_SOURCE[0]}")/../../ngx_palette_cert_module"
BODY_H+=/ngx_palette_cert_body.h

# the most PEM blocks a field may hold
PEM_MAX="$(sed -n 's/^#define NGX_PALETTE_CERT_PEM_MAX *\([0-9]*\).*/\1/p' \
           "$BODY_H" 2>/dev/null || true)"

if [[ ! "$PEM_MAX" =~ ^[0-9]+$ ]]; then
    printf '%s: no NGX_PALETTE_CERT_PEM_MAX in %s\n' "$(basename "$0")" \
        "$BODY_H" >&2
    exit 1
fi

for f in leaf-a.chain.pem leaf-a.fullchain-reversed.pem ca.pem leaf-a.key \
         leaf-a.sec1.key leaf-a.enc.key leaf-b.pkcs1-enc.key leaf-c.crt
do
    if [[ ! -f "$CERTS/$f" ]]; then
        printf '%s: %s/%s is missing (make it with t/lib/gen-certs.sh)\n' \
            "$(basename "$0")" "$CERTS" "$f" >&2
        exit 1
    fi
done

command -v perl > /dev/null || {
    printf '%s: perl not found in PATH\n' "$(basename "$0")" >&2
    exit 1
}


# A key's PEM text with its body cut to two lines: the first 8 characters
# (the DER header: sequence, version, no key) and filler. PEM headers such
# as "Proc-Type:" are kept. Looks like a key, holds none of it.
cut_pem() {
    awk 'BEGIN { fill = "AAAAAAAA"; fill = fill fill fill fill fill fill fill }
         /^-----BEGIN / { print; n = 0; next }
         /^-----END /   { print; next }
         /: / || /^$/   { print; next }
         ++n == 1       { print substr($0, 1, 8) fill; next }
         n == 2         { print substr(fill, 1, 22) "==" }' "$1"
}

# stdin as the text of a JSON string: backslash, quote, line breaks escaped.
json_text() {
    perl -0777 -pe 's/\\/\\\\/g; s/"/\\"/g; s/\r/\\r/g; s/\n/\\n/g'
}

# stdin as a form value: what a browser sends for a textarea.
form_text() {
    perl -0777 -pe 's/\n/\r\n/g unless /\r\n/;
                    s/([^A-Za-z0-9_.~ -])/sprintf("%%%02X", ord $1)/ge;
                    tr/ /+/'
}

# stdin with CRLF line endings.
crlf() {
    sed 's/$/\r/'
}

# write DIR/NAME from stdin
seed() {
    cat > "$OUT/$1"
}

# DIR < LINES: for every line "NAME FORMAT", the seed DIR/NAME that printf
# writes with FORMAT, the rest of the line less the white space around it
seeds() {
    local name format

    while read -r name format; do
        # shellcheck disable=SC2059  # the line holds the format
        printf "$format" | seed "$1/$name"
    done
}

# N as the two bytes of a TLS length, most significant first
u16() {
    printf '%b' "$(printf '\\x%02x\\x%02x' "$(($1 >> 8))" "$(($1 & 255))")"
}

# TYPE NAME [TYPE NAME]...: a server_name extension's data (RFC 6066): the
# list's length, then each entry's type, length and name; type 0 is
# host_name
sni() {
    local total=0 n

    for ((n = 2; n <= $#; n += 2)); do
        total=$((total + 3 + $(printf '%s' "${!n}" | wc -c)))
    done

    u16 "$total"

    while [[ $# -ge 2 ]]; do
        printf '%b' "$(printf '\\x%02x' "$1")"
        u16 "$(printf '%s' "$2" | wc -c)"
        printf '%s' "$2"
        shift 2
    done
}

# N CHAR: CHAR N times
repeat() {
    local i

    for ((i = 0; i < $1; i++)); do
        printf '%s' "$2"
    done
}


CHAIN="$(cat "$CERTS/leaf-a.chain.pem")"
REVERSED="$(cat "$CERTS/leaf-a.fullchain-reversed.pem")"
CA="$(cat "$CERTS/ca.pem")"
LEAF_C="$(cat "$CERTS/leaf-c.crt")"
KEY="$(cut_pem "$CERTS/leaf-a.key")"
SEC1="$(cut_pem "$CERTS/leaf-a.sec1.key")"
ENC="$(cut_pem "$CERTS/leaf-a.enc.key")"
PKCS1_ENC="$(cut_pem "$CERTS/leaf-b.pkcs1-enc.key")"

for d in json urlencoded multipart pem resource query action csr sni accept
do
    rm -rf "${OUT:?}/$d"
    mkdir -p "$OUT/$d"
done


# application/json

j_chain="$(json_text <<<"$CHAIN")"
j_key="$(json_text <<<"$KEY")"
j_ca="$(json_text <<<"$CA")"

printf '{"certificate": "%s", "key": "%s", "ca": "%s"}\n' \
    "$j_chain" "$j_key" "$j_ca" | seed json/upload.json

printf '{\r\n\t"key": "%s",\r\n\t"certificate": "%s",\r\n\t"ca": null\r\n}' \
    "$j_key" "$j_chain" | seed json/upload-ca-null-crlf.json

printf '{"certificate":"%s","key":"%s"}' \
    "$(json_text <<<"$REVERSED" | sed 's/\\n/\\r\\n/g')" "$j_key" \
    | seed json/upload-crlf-escapes.json

# the PEM dashes and letters as \u00XX escapes, \/ and surrogate pairs
seed json/escapes.json <<'JSON'
{"certificate":
"\u002d\u002D---BEGIN CERT\u0049FICATE-----\nMI\/w\n-----END CERTIFICATE-----",
 "key": "\ud83d\ude00 \u00e9\u20ac \"quoted\" \\ \b\f\t",
 "comment": "\uD834\uDD1E"}
JSON

printf '{"certificate": "a", "key": "b", "key": "c"}' \
    | seed json/duplicate-key.json
printf '{"ca": null, "certificate": "a", "key": "b", "ca": "%s"}' "$j_ca" \
    | seed json/duplicate-ca-null.json
printf '{"ca": "x", "ca": null, "certificate": "a", "key": "b"}' \
    | seed json/duplicate-ca-then-null.json

seed json/other-members.json <<'JSON'
{"version": 1, "dry": true, "n": -1.5e+3,
 "tags": ["a", {"b": [null, false, {}]}, []],
 "meta": {"x": {"y": {"z": "deep"}}}, "certificate": "c", "key": "k"}
JSON

printf '{"x": %s1%s, "certificate": "c", "key": "k"}' \
    "$(printf '[%.0s' {1..40})" "$(printf ']%.0s' {1..40})" \
    | seed json/nested-too-deep.json
printf '{"x": %s1%s, "certificate": "c", "key": "k"}' \
    "$(printf '[%.0s' {1..31})" "$(printf ']%.0s' {1..31})" \
    | seed json/nested-deepest.json

printf '{"certificate": "\\ud800x", "key": "k"}' \
    | seed json/unpaired-high-surrogate.json
printf '{"certificate": "\\udc00", "key": "k"}' \
    | seed json/unpaired-low-surrogate.json
printf '{"certificate": "\\ud800\\u0041", "key": "k"}' \
    | seed json/bad-low-surrogate.json
seeds json <<'EOF'
nul-escape.json      {"certificate": "a\\u0000b", "key": "k"}
bad-u-escape.json    {"certificate": "a\\u00g0", "key": "k"}
short-u-escape.json  {"certificate": "a\\u00
bad-escape.json      {"certificate": "a\\x", "key": "k"}
EOF
printf '{"certificate": "%s", "key": "k"}' "$CHAIN" \
    | seed json/raw-line-breaks.json
seeds json <<'EOF'
unclosed-string.json  {"certificate": "-----BEGIN CERT
unclosed-object.json  {"certificate": "c", "key": "k"
trailing-comma.json   {"certificate": "c", "key": "k",}
missing-comma.json    {"certificate": "c" "key": "k"}
missing-colon.json    {"certificate" "c"}
unquoted-name.json    {certificate: "c"}
trailing-text.json    {"certificate": "c", "key": "k"} {}
number-field.json     {"certificate": 42, "key": "k"}
EOF
printf '{"certificate": "c", "key": "k", "ca": nul}' \
    | seed json/bad-literal.json
printf '{"certificate": "c", "key": "k", "x": tru}' \
    | seed json/bad-literal-other.json
printf '["certificate", "key"]' | seed json/array.json
printf ' \r\n\t{ }\n' | seed json/empty-object.json
printf '\xef\xbb\xbf{}' | seed json/bom.json
printf '{"certificate": "%b", "key": "k"}' \
    'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92' | seed json/utf8.json
printf '{"certificate": "\xff", "key": "k"}' | seed json/utf8-invalid-byte.json
printf '{"certificate": "\xc0\xaf", "key": "k"}' \
    | seed json/utf8-overlong.json
printf '{"certificate": "\xed\xa0\x80", "key": "k"}' \
    | seed json/utf8-surrogate.json
printf '{"certificate": "\xf4\x90\x80\x80", "key": "k"}' \
    | seed json/utf8-past-max.json
printf '{"certificate": "\xe2\x82", "key": "k"}' \
    | seed json/utf8-truncated.json
printf '{"x": "\xe2\x82' | seed json/utf8-truncated-at-end.json
printf '' | seed json/empty


# application/x-www-form-urlencoded

f_chain="$(form_text <<<"$CHAIN")"
f_key="$(form_text <<<"$KEY")"
f_ca="$(form_text <<<"$CA")"

printf 'certificate=%s&key=%s&ca=%s' "$f_chain" "$f_key" "$f_ca" \
    | seed urlencoded/console-form
printf 'certificate=%s&key=%s&ca=' "$f_chain" "$f_key" \
    | seed urlencoded/console-form-empty-ca
printf 'key=%s&certificate=%s&submit=Upload+certificate' \
    "$(perl -pe 's/([^A-Za-z0-9])/sprintf("%%%02x", ord $1)/ge' <<<"$SEC1")" \
    "$(form_text <<<"$LEAF_C")" \
    | seed urlencoded/lowercase-escapes
seeds urlencoded <<'EOF'
empty-pairs      &&certificate=a+b%%2Bc&&key=%%41%%0a&
encoded-names    c%%65rtificate=x&%%6Bey=y&%%63a=z
no-equals        certificate&key&ca
equals-in-value  certificate==a=b&key=
duplicate-key    certificate=a&key=b&key=c
bad-escape       certificate=%%G1&key=k
short-escape     certificate=c&key=abc%%4
bare-percent     certificate=c&key=abc%%
nul-and-high     certificate=%%00%%ff&key=%%2d
unknown-fields   x=1&y=2&certificate
EOF
printf '' | seed urlencoded/empty


# multipart/form-data: the first line is the Content-Type header value

# BOUNDARY NAME [FILENAME] < CONTENT: one part, CRLF line breaks in headers
part() {
    printf -- '--%s\r\n' "$1"
    if [[ -n "${3:-}" ]]; then
        printf 'Content-Disposition: form-data; name="%s"; filename="%s"\r\n' \
            "$2" "$3"
        printf 'Content-Type: application/octet-stream\r\n\r\n'
    else
        printf 'Content-Disposition: form-data; name="%s"\r\n\r\n' "$2"
    fi
    cat
    printf '\r\n'
}

b=------------------------d74496d66958873e

{
    printf 'multipart/form-data; boundary=%s\n' "$b"
    part "$b" certificate fullchain.pem <<<"$CHAIN"
    part "$b" key key.pem <<<"$KEY"
    part "$b" ca ca.pem <<<"$CA"
    printf -- '--%s--\r\n' "$b"
} | seed multipart/curl-files

{
    printf 'multipart/form-data; boundary=%s\n' "$b"
    part "$b" certificate <<<"$REVERSED"
    part "$b" key < <(crlf <<<"$KEY")
    printf -- '--%s--' "$b"
} | seed multipart/curl-fields-crlf

b2='----WebKitFormBoundary7MA4YWxkTrZu0gW'
{
    printf 'multipart/form-data; charset=utf-8; boundary="%s"\n' "$b2"
    part "$b2" key <<<"$ENC"
    part "$b2" certificate "chain; name=key.pem" <<<"$LEAF_C"
    part "$b2" submit <<<"Upload"
    printf -- '--%s--\r\n' "$b2"
} | seed multipart/quoted-boundary-filename

{
    printf 'Multipart/Form-Data; BOUNDARY="with space\\"quote"\n'
    printf 'preamble that is ignored\r\n'
    part 'with space"quote' certificate <<<"c"
    part 'with space"quote' 'k\ey' <<<"k"
    printf -- '--with space"quote--\r\nepilogue\r\n'
} | seed multipart/quoted-escapes-preamble

{
    printf 'multipart/form-data; boundary=xyz\n'
    printf -- '--xyz  \t\r\ncontent-disposition:form-data;NAME=certificate'
    printf '\r\nX-Other: 1\r\n\r\n%s\r\n' "$CHAIN"
    printf -- '--xyz\r\n\r\nno headers\r\n'
    printf -- '--xyz\r\nContent-Disposition: form-data; name=key\r\n\r\n'
    printf '%s\r\n--xyz--' "$PKCS1_ENC"
} | seed multipart/unquoted-no-headers

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\r\nContent-Disposition: form-data; name="certificate"'
    printf '\r\n\r\n%s\r\n--b\r\nContent-Disposition: form-data; ' "$LEAF_C"
    printf 'name="key"\r\n\r\n%s\r\n' "$KEY"
} | seed multipart/missing-final-boundary

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\nContent-Disposition: form-data; name="key"\n\nk\n--b--\n'
} | seed multipart/lf-only

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nk1'
    printf '\r\n--b\r\nContent-Disposition: form-data; name="key"\r\n\r\n'
    printf 'k2\r\n--b--\r\n'
} | seed multipart/duplicate-key

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\r\nContent-Disposition: attachment; name="key"\r\n\r\n'
    printf 'k\r\n--b--\r\n'
} | seed multipart/not-form-data

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\r\nContent-Disposition: form-data; filename="x"\r\n\r\n'
    printf 'k\r\n--b\r\nContent-Disposition: form-data; name="unclosed\r\n'
    printf '\r\nk\r\n--b--\r\n'
} | seed multipart/no-name-unclosed-quote

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b\r\nContent-Disposition: form-data; name="key"\r\n'
    printf 'k\r\n--b--\r\n'
} | seed multipart/headers-not-closed

{
    printf 'multipart/form-data; boundary=b\n'
    printf -- '--b--\r\n'
} | seed multipart/no-parts

{
    printf 'multipart/form-data; boundary=b\n'
    printf 'certificate=c&key=k'
} | seed multipart/no-boundary-in-body

{
    printf 'multipart/form-data; boundary=%s\n' "$(printf 'x%.0s' {1..70})"
    printf -- '--%s\r\n\r\nv\r\n' "$(printf 'x%.0s' {1..70})"
    printf -- '--%s--' "$(printf 'x%.0s' {1..70})"
} | seed multipart/boundary-70

printf 'multipart/form-data; boundary=%s\n--\r\n' \
    "$(printf 'x%.0s' {1..71})" | seed multipart/boundary-71
printf 'multipart/form-data; boundary=\n--\r\n' \
    | seed multipart/boundary-empty
printf 'multipart/form-data; boundary="b\n--b--\r\n' \
    | seed multipart/boundary-unclosed-quote
printf 'multipart/form-data; name="x;boundary=no"\n--no--\r\n' \
    | seed multipart/boundary-in-quotes
printf 'multipart/form-data\n--b--\r\n' | seed multipart/no-boundary


# PEM fields

printf '%s\n' "$CHAIN" | seed pem/chain.pem
printf '%s\n' "$REVERSED" | seed pem/fullchain-reversed.pem
printf '%s\n' "$KEY" | seed pem/key.pem
printf '%s\n' "$PKCS1_ENC" | seed pem/pkcs1-encrypted-key.pem
printf -- '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n'\
'-----END EC PARAMETERS-----\n%s\n' "$SEC1" | seed pem/ec-parameters-key.pem
crlf <<<"$CHAIN" | seed pem/chain-crlf.pem
printf ' \t\r\n\n%s\n\n\t \n%s  \r\n\r\n' "$LEAF_C" "$CA" \
    | seed pem/white-space-around.pem
printf '%s%s' "$LEAF_C" "$CA" | seed pem/no-line-break-between.pem
printf 'subject=CN = console.example.com\n%s\n' "$LEAF_C" \
    | seed pem/text-before.pem
printf '%s\nBag Attributes\n' "$LEAF_C" | seed pem/text-after.pem
printf '%s\n#\n%s\n' "$LEAF_C" "$CA" | seed pem/text-between.pem
head -c 400 <<<"$CHAIN" | seed pem/truncated.pem
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE' \
    | seed pem/truncated-end-line.pem
printf -- '-----BEGIN CERTIFICATE\nMIIB\n-----END CERTIFICATE-----\n' \
    | seed pem/incomplete-begin.pem
printf -- '-----BEGIN -----\n-----END -----\n' | seed pem/empty-label.pem
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END PRIVATE KEY-----\n' \
    | seed pem/mismatched-end.pem
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATES-----\n' \
    | seed pem/longer-end.pem
printf -- '-----BEGIN X-----\n-----END X-----' | seed pem/minimal.pem
printf -- '-----begin certificate-----\nMIIB\n-----end certificate-----\n' \
    | seed pem/lowercase.pem

# a BEGIN line before the END line of the block before
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n%s\n' "$LEAF_C" \
    | seed pem/nested-begin.pem
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----\n%s\n' \
    '-----END CERTIFICATE-----' | seed pem/dashes-in-body.pem

for i in {1..17}; do
    printf '%s\n' "$CA"
done | seed pem/17-certificates.pem

# as many blocks as a field may hold, and one more
for ((i = 1; i <= PEM_MAX; i++)); do
    printf -- '-----BEGIN CERTIFICATE-----\nMIIB%03d\n' "$i"
    printf -- '-----END CERTIFICATE-----\n'
done | seed pem/"$PEM_MAX"-blocks.pem

for ((i = 0; i <= PEM_MAX; i++)); do
    printf -- '-----BEGIN X-----\n-----END X-----\n'
done | seed pem/"$((PEM_MAX + 1))"-blocks.pem

printf ' \n\t\r\n' | seed pem/white-space-only.pem
printf '' | seed pem/empty

# BEGIN and END labels that differ only after a NUL byte: must not pair
printf -- '-----BEGIN A\0B-----\nAAAA\n-----END A\0C-----\n' \
    | seed pem/label-nul-mismatch.pem

# the URI after the API's location

ID64="$(repeat 63 a)z"

printf '' | seed resource/default
seeds resource <<'EOF'
list               /
named              /leaf-a
named-one-byte     /0
named-all-classes  /Www.Example.com_2025-01
EOF
printf '/%s' "$ID64" | seed resource/named-64
printf '/%sz' "$ID64" | seed resource/named-65
seeds resource <<'EOF'
dot-first       /.hidden
dash-first      /-leaf
two-slashes     //
trailing-slash  /leaf-a/
sub-resource    /leaf-a/key
dot-dot         /../store
no-slash        leaf-a
escaped         /leaf%%2Da
space           /leaf a
nul             /leaf\0a
utf8            /caf\xc3\xa9
EOF


# the list's query string

printf '' | seed query/empty
seeds query <<'EOF'
limit                limit=10
limit-after          limit=10&after=leaf-a
after-limit-max      after=leaf-a&limit=1000
limit-1              limit=1
limit-1001           limit=1001
limit-0              limit=0
limit-leading-zeros  limit=007
EOF
printf 'limit=%s' "$(repeat 25 9)" | seed query/limit-huge
seeds query <<'EOF'
limit-plus                 limit=+5
limit-negative             limit=-1
limit-trailing-text        limit=10x
limit-empty                limit=
limit-no-equals            limit
limit-twice-first-valid    limit=5&limit=x
limit-twice-first-invalid  limit=x&limit=5
after-empty                after=
after-no-equals            after
EOF
printf 'after=%s' "$ID64" | seed query/after-64
printf 'after=%sz' "$ID64" | seed query/after-65
seeds query <<'EOF'
after-dot-dot    after=../x
after-escaped    after=leaf%%2Da
after-twice      after=a&after=bad!
other-arguments  &&x=1&limit=3&&after=leaf-b&y
uppercase-names  LIMIT=5&After=x
equals-in-value  limit=5=5
EOF


# a certificate's query string; an action seed that is a time alone is
# for ngx_palette_cert_parse_rfc3339(), which the harness also gives the
# whole input

printf '' | seed action/empty
seeds action <<'EOF'
history                 history
history-empty-value     history=
staged                  staged
csr                     csr
rollback                rollback=12
rollback-1              rollback=1
rollback-0              rollback=0
rollback-leading-zeros  rollback=007
rollback-empty          rollback=
rollback-no-equals      rollback
rollback-negative       rollback=-1
rollback-trailing-text  rollback=1x
rollback-most           rollback=9223372036854775799
rollback-most-plus-1    rollback=9223372036854775800
EOF
printf 'rollback=%s' "$(repeat 25 9)" | seed action/rollback-huge
seeds action <<'EOF'
rollback-twice-first-valid    rollback=3&rollback=x
rollback-twice-first-invalid  rollback=x&rollback=3
activate-at                   activate_at=2027-01-31T02:00:00Z
EOF
printf 'activate_at=2027-01-31T02%%3A00%%3A00%%2B01%%3A00' \
    | seed action/activate-at-escaped-offset
printf 'activate_at=2027-01-31t02:00:00.123456z' \
    | seed action/activate-at-fraction-lowercase
printf 'activate_at=2027-01-31T02:00:00-05:30' \
    | seed action/activate-at-negative-offset
printf 'activate_at=2027-01-31T02:00:00+01:00' \
    | seed action/activate-at-raw-plus
seeds action <<'EOF'
activate-at-no-zone   activate_at=2027-01-31T02:00:00
activate-at-space     activate_at=2027-01-31 02:00:00Z
activate-at-leap-day  activate_at=2028-02-29T00:00:00Z
EOF
printf 'activate_at=2027-02-29T00:00:00Z' \
    | seed action/activate-at-not-leap-day
seeds action <<'EOF'
activate-at-2100      activate_at=2100-02-29T00:00:00Z
activate-at-april-31  activate_at=2027-04-31T00:00:00Z
activate-at-month-13  activate_at=2027-13-01T00:00:00Z
activate-at-hour-24   activate_at=2027-01-31T24:00:00Z
EOF
printf 'activate_at=2016-12-31T23:59:60Z' \
    | seed action/activate-at-leap-second
printf 'activate_at=1970-01-01T00:00:00Z' | seed action/activate-at-epoch
printf 'activate_at=1970-01-01T00:00:00%%2B00:01' \
    | seed action/activate-at-before-epoch
printf 'activate_at=1969-12-31T23:59:59Z' | seed action/activate-at-1969
printf 'activate_at=9999-12-31T23:59:59-23:59' | seed action/activate-at-last
printf 'activate_at=2027-01-31T02:00:00%%2B24:00' \
    | seed action/activate-at-offset-24
# 64 bytes decoded, the most a time may have, and one more
printf 'activate_at=2027-01-31T02:00:00.%sZ' "$(repeat 43 0)" \
    | seed action/activate-at-64
printf 'activate_at=2027-01-31T02:00:00.%sZ' "$(repeat 44 0)" \
    | seed action/activate-at-65
printf 'activate_at=2027-01-31T02:00:00%%2' \
    | seed action/activate-at-short-escape
printf 'activate_at=2027-01-31T02:00:00%%zz' \
    | seed action/activate-at-bad-escape
seeds action <<'EOF'
activate-at-nul    activate_at=2027-01-31T02:00:00Z%%00
activate-at-empty  activate_at=
dry-run-rollback   dry_run=1&rollback=3
history-csr        history&csr
EOF
printf 'staged&activate_at=2027-01-31T02:00:00Z' \
    | seed action/staged-activate-at
seeds action <<'EOF'
history-twice         history&history=2&x=1
other-arguments       &&x=1&&csr&y=&
near-names            HISTORY&Csr&rollback_=1&csr2
escaped-names         rollback%%3D1&activate%%5Fat=x
time                  2027-01-31T02:00:00Z
time-offset           2027-01-31T02:00:00.5+05:45
time-empty-fraction   2027-01-31T02:00:00.Z
time-offset-no-colon  2027-01-31T02:00:00+0100
time-zeros            0000-00-00T00:00:00Z
EOF


# the JSON body of POST ?csr

printf '{"names":["a.test","10.0.0.1"],"key_type":"EC P-256",%s}' \
    '"subject":"CN=a.test"' | seed csr/request.json
printf '{"names": ["a.test"]}' | seed csr/names-only.json
printf '{\r\n\t"key_type": "RSA 2048",\r\n\t"names": [ ],\r\n\t%s\r\n}' \
    '"subject": null' | seed csr/subject-null-crlf.json
printf '{"names":["b\\u00fccher.test","\\u002A.a.test"],"subject":%s}' \
    '"CN=\"x\", O=\\"' | seed csr/escapes.json
printf '{"names":["%b"],"key_type":"%b"}' 'caf\xc3\xa9.test' \
    '\xe2\x82\xac' | seed csr/utf8.json
printf '{"names":["a.test"],"dry_run":true,"n":-1.5e+3,%s}' \
    '"x":[{"names":5},null,[]]' | seed csr/other-members.json
printf '{"n\\u0061mes":["a.test"],"key\\u005ftype":"EC P-384"}' \
    | seed csr/escaped-member-names.json
printf '{"names":[%s"n100.test"]}' \
    "$(for i in $(seq 1 99); do printf '"n%s.test",' "$i"; done)" \
    | seed csr/names-100.json
printf '{"names":[%s"n101.test"]}' \
    "$(for i in $(seq 1 100); do printf '"n%s.test",' "$i"; done)" \
    | seed csr/names-101.json
printf '{"names":["a.test"],"names":["b.test"]}' | seed csr/names-twice.json
printf '{"key_type":"EC P-256","key_type":"EC P-256"}' \
    | seed csr/key-type-twice.json
seeds csr <<'EOF'
subject-twice.json             {"subject":null,"subject":"CN=a"}
names-string.json              {"names":"a.test"}
names-number-element.json      {"names":["a.test",5]}
names-trailing-comma.json      {"names":["a.test",]}
names-missing-comma.json       {"names":["a.test" "b.test"]}
names-unclosed.json            {"names":["a.test"
names-nul-escape.json          {"names":["a\\u0000b"]}
names-unpaired-surrogate.json  {"names":["\\ud800"]}
names-invalid-utf8.json        {"names":["\xff"]}
key-type-number.json           {"key_type":256}
key-type-null.json             {"key_type":null}
subject-bad-literal.json       {"subject":nul}
subject-array.json             {"subject":["CN=a"]}
upload-body.json               {"certificate":"c","key":"k","ca":null}
EOF
printf '{"x": %s1%s}' "$(printf '[%.0s' {1..31})" "$(printf ']%.0s' {1..31})" \
    | seed csr/nested-deepest.json
printf '{"x": %s1%s}' "$(printf '[%.0s' {1..32})" "$(printf ']%.0s' {1..32})" \
    | seed csr/nested-too-deep.json
seeds csr <<'EOF'
loose-numbers.json   {"x":1.2.3e-,"y":-}
trailing-text.json   {"names":[]} {}
trailing-comma.json  {"names":[],}
array.json           ["a.test"]
EOF
printf ' \r\n\t{ }\n' | seed csr/empty-object.json
printf '' | seed csr/empty


# a client hello's server_name extension: the bytes that
# `openssl s_client -servername Console.Example.com` sends, then others

printf '\x00\x16\x00\x00\x13Console.Example.com' | seed sni/s-client
sni 0 example.com | seed sni/host
sni 0 console.example.com. | seed sni/trailing-dot
sni 0 a.. | seed sni/two-trailing-dots
sni 0 . | seed sni/dot
sni 0 '' | seed sni/empty-name
sni 0 127.0.0.1 | seed sni/ip-address
sni 0 xn--bcher-kva.example | seed sni/punycode
sni 0 "$(printf 'b\xc3\xbccher.example')" | seed sni/utf8
sni 0 a/b.example | seed sni/slash
sni 0 'a b.example' | seed sni/space
printf '\x00\x0a\x00\x00\x07a\x00b.com' | seed sni/nul

# 253 bytes, the most a host name has; with a trailing dot; and one more
n253="$(repeat 63 a).$(repeat 63 b).$(repeat 63 c).$(repeat 61 d)"
sni 0 "$n253" | seed sni/host-253
sni 0 "$n253." | seed sni/host-253-trailing-dot
sni 0 "${n253}d" | seed sni/host-254

sni 1 opaque 0 example.com | seed sni/other-type-first
sni 1 opaque | seed sni/other-type-only
sni 0 first.example 0 second.example | seed sni/two-host-names
seeds sni <<'EOF'
empty-list        \x00\x00
list-longer       \x00\x10\x00\x00\x0bexample.com
byte-after-list   \x00\x0e\x00\x00\x0bexample.com.
name-past-list    \x00\x0e\x00\x00\x0fexample.com
entry-header-cut  \x00\x02\x00\x00
one-byte          \x00
EOF
printf '' | seed sni/empty


# the Accept header of a metrics scrape: Prometheus 2.x's own first, then
# others

printf '%s,%s,%s,%s' 'application/openmetrics-text;version=1.0.0' \
    'application/openmetrics-text;version=0.0.1;q=0.75' \
    'text/plain;version=0.0.4;q=0.5' '*/*;q=0.1' | seed accept/prometheus
seeds accept <<'EOF'
openmetrics             application/openmetrics-text
openmetrics-mixed-case  APPLICATION/OpenMetrics-Text
text-plain              text/plain
any                     */*
application-any         application/*
longer-type             application/openmetrics-textx
shorter-type            application/openmetrics-tex
q-0                     application/openmetrics-text; q=0
q-0.000-uppercase       application/openmetrics-text;Q=0.000
q-0-dot                 application/openmetrics-text;q=0.
q-0.0000                application/openmetrics-text;q=0.0000
q-0.0001                application/openmetrics-text;q=0.0001
q-0.001                 application/openmetrics-text;q=0.001
q-00                    application/openmetrics-text;q=00
q-empty                 application/openmetrics-text;q=
q-twice                 application/openmetrics-text;q=1;q=0
EOF
printf 'application/openmetrics-text;version=1.0.0;q=0 ' \
    | seed accept/q-0-space-after
printf 'application/openmetrics-text;aq=0' | seed accept/other-q-name
printf 'application/openmetrics-text;q=0,application/openmetrics-text' \
    | seed accept/refused-then-accepted
printf 'text/plain;q=0,application/openmetrics-text;q=0.5' \
    | seed accept/second-range
printf ' \t application/openmetrics-text \t; \t q=0 \t, text/plain' \
    | seed accept/white-space
seeds accept <<'EOF'
tabs             \tapplication/openmetrics-text\t
text-after-type  application/openmetrics-text x;q=0
quoted-q         application/openmetrics-text;x="a;q=0;b"
commas           ,,,
commas-around    ,application/openmetrics-text,
EOF
printf ' ' | seed accept/space
printf 'application/openmetrics-text\0' | seed accept/nul-after-type
printf '' | seed accept/empty

printf '%s: wrote %s files in %s\n' "$(basename "$0")" \
    "$(find "$OUT" -type f | wc -l)" "$OUT"
