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
printf '{"certificate": "a\\u0000b", "key": "k"}' | seed json/nul-escape.json
printf '{"certificate": "a\\u00g0", "key": "k"}' | seed json/bad-u-escape.json
printf '{"certificate": "a\\u00' | seed json/short-u-escape.json
printf '{"certificate": "a\\x", "key": "k"}' | seed json/bad-escape.json
printf '{"certificate": "%s", "key": "k"}' "$CHAIN" \
    | seed json/raw-line-breaks.json
printf '{"certificate": "-----BEGIN CERT' | seed json/unclosed-string.json
printf '{"certificate": "c", "key": "k"' | seed json/unclosed-object.json
printf '{"certificate": "c", "key": "k",}' | seed json/trailing-comma.json
printf '{"certificate": "c" "key": "k"}' | seed json/missing-comma.json
printf '{"certificate" "c"}' | seed json/missing-colon.json
printf '{certificate: "c"}' | seed json/unquoted-name.json
printf '{"certificate": "c", "key": "k"} {}' | seed json/trailing-text.json
printf '{"certificate": 42, "key": "k"}' | seed json/number-field.json
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
printf '&&certificate=a+b%%2Bc&&key=%%41%%0a&' | seed urlencoded/empty-pairs
printf 'c%%65rtificate=x&%%6Bey=y&%%63a=z' | seed urlencoded/encoded-names
printf 'certificate&key&ca' | seed urlencoded/no-equals
printf 'certificate==a=b&key=' | seed urlencoded/equals-in-value
printf 'certificate=a&key=b&key=c' | seed urlencoded/duplicate-key
printf 'certificate=%%G1&key=k' | seed urlencoded/bad-escape
printf 'certificate=c&key=abc%%4' | seed urlencoded/short-escape
printf 'certificate=c&key=abc%%' | seed urlencoded/bare-percent
printf 'certificate=%%00%%ff&key=%%2d' | seed urlencoded/nul-and-high
printf 'x=1&y=2&certificate' | seed urlencoded/unknown-fields
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
printf '/' | seed resource/list
printf '/leaf-a' | seed resource/named
printf '/0' | seed resource/named-one-byte
printf '/Www.Example.com_2025-01' | seed resource/named-all-classes
printf '/%s' "$ID64" | seed resource/named-64
printf '/%sz' "$ID64" | seed resource/named-65
printf '/.hidden' | seed resource/dot-first
printf '/-leaf' | seed resource/dash-first
printf '//' | seed resource/two-slashes
printf '/leaf-a/' | seed resource/trailing-slash
printf '/leaf-a/key' | seed resource/sub-resource
printf '/../store' | seed resource/dot-dot
printf 'leaf-a' | seed resource/no-slash
printf '/leaf%%2Da' | seed resource/escaped
printf '/leaf a' | seed resource/space
printf '/leaf\0a' | seed resource/nul
printf '/caf\xc3\xa9' | seed resource/utf8


# the list's query string

printf '' | seed query/empty
printf 'limit=10' | seed query/limit
printf 'limit=10&after=leaf-a' | seed query/limit-after
printf 'after=leaf-a&limit=1000' | seed query/after-limit-max
printf 'limit=1' | seed query/limit-1
printf 'limit=1001' | seed query/limit-1001
printf 'limit=0' | seed query/limit-0
printf 'limit=007' | seed query/limit-leading-zeros
printf 'limit=%s' "$(repeat 25 9)" | seed query/limit-huge
printf 'limit=+5' | seed query/limit-plus
printf 'limit=-1' | seed query/limit-negative
printf 'limit=10x' | seed query/limit-trailing-text
printf 'limit=' | seed query/limit-empty
printf 'limit' | seed query/limit-no-equals
printf 'limit=5&limit=x' | seed query/limit-twice-first-valid
printf 'limit=x&limit=5' | seed query/limit-twice-first-invalid
printf 'after=' | seed query/after-empty
printf 'after' | seed query/after-no-equals
printf 'after=%s' "$ID64" | seed query/after-64
printf 'after=%sz' "$ID64" | seed query/after-65
printf 'after=../x' | seed query/after-dot-dot
printf 'after=leaf%%2Da' | seed query/after-escaped
printf 'after=a&after=bad!' | seed query/after-twice
printf '&&x=1&limit=3&&after=leaf-b&y' | seed query/other-arguments
printf 'LIMIT=5&After=x' | seed query/uppercase-names
printf 'limit=5=5' | seed query/equals-in-value


# a certificate's query string; an action seed that is a time alone is
# for ngx_palette_cert_parse_rfc3339(), which the harness also gives the
# whole input

printf '' | seed action/empty
printf 'history' | seed action/history
printf 'history=' | seed action/history-empty-value
printf 'staged' | seed action/staged
printf 'csr' | seed action/csr
printf 'rollback=12' | seed action/rollback
printf 'rollback=1' | seed action/rollback-1
printf 'rollback=0' | seed action/rollback-0
printf 'rollback=007' | seed action/rollback-leading-zeros
printf 'rollback=' | seed action/rollback-empty
printf 'rollback' | seed action/rollback-no-equals
printf 'rollback=-1' | seed action/rollback-negative
printf 'rollback=1x' | seed action/rollback-trailing-text
printf 'rollback=9223372036854775799' | seed action/rollback-most
printf 'rollback=9223372036854775800' | seed action/rollback-most-plus-1
printf 'rollback=%s' "$(repeat 25 9)" | seed action/rollback-huge
printf 'rollback=3&rollback=x' | seed action/rollback-twice-first-valid
printf 'rollback=x&rollback=3' | seed action/rollback-twice-first-invalid
printf 'activate_at=2027-01-31T02:00:00Z' | seed action/activate-at
printf 'activate_at=2027-01-31T02%%3A00%%3A00%%2B01%%3A00' \
    | seed action/activate-at-escaped-offset
printf 'activate_at=2027-01-31t02:00:00.123456z' \
    | seed action/activate-at-fraction-lowercase
printf 'activate_at=2027-01-31T02:00:00-05:30' \
    | seed action/activate-at-negative-offset
printf 'activate_at=2027-01-31T02:00:00+01:00' \
    | seed action/activate-at-raw-plus
printf 'activate_at=2027-01-31T02:00:00' | seed action/activate-at-no-zone
printf 'activate_at=2027-01-31 02:00:00Z' | seed action/activate-at-space
printf 'activate_at=2028-02-29T00:00:00Z' | seed action/activate-at-leap-day
printf 'activate_at=2027-02-29T00:00:00Z' \
    | seed action/activate-at-not-leap-day
printf 'activate_at=2100-02-29T00:00:00Z' | seed action/activate-at-2100
printf 'activate_at=2027-04-31T00:00:00Z' | seed action/activate-at-april-31
printf 'activate_at=2027-13-01T00:00:00Z' | seed action/activate-at-month-13
printf 'activate_at=2027-01-31T24:00:00Z' | seed action/activate-at-hour-24
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
printf 'activate_at=2027-01-31T02:00:00Z%%00' | seed action/activate-at-nul
printf 'activate_at=' | seed action/activate-at-empty
printf 'dry_run=1&rollback=3' | seed action/dry-run-rollback
printf 'history&csr' | seed action/history-csr
printf 'staged&activate_at=2027-01-31T02:00:00Z' \
    | seed action/staged-activate-at
printf 'history&history=2&x=1' | seed action/history-twice
printf '&&x=1&&csr&y=&' | seed action/other-arguments
printf 'HISTORY&Csr&rollback_=1&csr2' | seed action/near-names
printf 'rollback%%3D1&activate%%5Fat=x' | seed action/escaped-names
printf '2027-01-31T02:00:00Z' | seed action/time
printf '2027-01-31T02:00:00.5+05:45' | seed action/time-offset
printf '2027-01-31T02:00:00.Z' | seed action/time-empty-fraction
printf '2027-01-31T02:00:00+0100' | seed action/time-offset-no-colon
printf '0000-00-00T00:00:00Z' | seed action/time-zeros


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
printf '{"subject":null,"subject":"CN=a"}' | seed csr/subject-twice.json
printf '{"names":"a.test"}' | seed csr/names-string.json
printf '{"names":["a.test",5]}' | seed csr/names-number-element.json
printf '{"names":["a.test",]}' | seed csr/names-trailing-comma.json
printf '{"names":["a.test" "b.test"]}' | seed csr/names-missing-comma.json
printf '{"names":["a.test"' | seed csr/names-unclosed.json
printf '{"names":["a\\u0000b"]}' | seed csr/names-nul-escape.json
printf '{"names":["\\ud800"]}' | seed csr/names-unpaired-surrogate.json
printf '{"names":["\xff"]}' | seed csr/names-invalid-utf8.json
printf '{"key_type":256}' | seed csr/key-type-number.json
printf '{"key_type":null}' | seed csr/key-type-null.json
printf '{"subject":nul}' | seed csr/subject-bad-literal.json
printf '{"subject":["CN=a"]}' | seed csr/subject-array.json
printf '{"certificate":"c","key":"k","ca":null}' | seed csr/upload-body.json
printf '{"x": %s1%s}' "$(printf '[%.0s' {1..31})" "$(printf ']%.0s' {1..31})" \
    | seed csr/nested-deepest.json
printf '{"x": %s1%s}' "$(printf '[%.0s' {1..32})" "$(printf ']%.0s' {1..32})" \
    | seed csr/nested-too-deep.json
printf '{"x":1.2.3e-,"y":-}' | seed csr/loose-numbers.json
printf '{"names":[]} {}' | seed csr/trailing-text.json
printf '{"names":[],}' | seed csr/trailing-comma.json
printf '["a.test"]' | seed csr/array.json
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
printf '\x00\x00' | seed sni/empty-list
printf '\x00\x10\x00\x00\x0bexample.com' | seed sni/list-longer
printf '\x00\x0e\x00\x00\x0bexample.com.' | seed sni/byte-after-list
printf '\x00\x0e\x00\x00\x0fexample.com' | seed sni/name-past-list
printf '\x00\x02\x00\x00' | seed sni/entry-header-cut
printf '\x00' | seed sni/one-byte
printf '' | seed sni/empty


# the Accept header of a metrics scrape: Prometheus 2.x's own first, then
# others

printf '%s,%s,%s,%s' 'application/openmetrics-text;version=1.0.0' \
    'application/openmetrics-text;version=0.0.1;q=0.75' \
    'text/plain;version=0.0.4;q=0.5' '*/*;q=0.1' | seed accept/prometheus
printf 'application/openmetrics-text' | seed accept/openmetrics
printf 'APPLICATION/OpenMetrics-Text' | seed accept/openmetrics-mixed-case
printf 'text/plain' | seed accept/text-plain
printf '*/*' | seed accept/any
printf 'application/*' | seed accept/application-any
printf 'application/openmetrics-textx' | seed accept/longer-type
printf 'application/openmetrics-tex' | seed accept/shorter-type
printf 'application/openmetrics-text; q=0' | seed accept/q-0
printf 'application/openmetrics-text;Q=0.000' | seed accept/q-0.000-uppercase
printf 'application/openmetrics-text;q=0.' | seed accept/q-0-dot
printf 'application/openmetrics-text;q=0.0000' | seed accept/q-0.0000
printf 'application/openmetrics-text;q=0.0001' | seed accept/q-0.0001
printf 'application/openmetrics-text;q=0.001' | seed accept/q-0.001
printf 'application/openmetrics-text;q=00' | seed accept/q-00
printf 'application/openmetrics-text;q=' | seed accept/q-empty
printf 'application/openmetrics-text;q=1;q=0' | seed accept/q-twice
printf 'application/openmetrics-text;version=1.0.0;q=0 ' \
    | seed accept/q-0-space-after
printf 'application/openmetrics-text;aq=0' | seed accept/other-q-name
printf 'application/openmetrics-text;q=0,application/openmetrics-text' \
    | seed accept/refused-then-accepted
printf 'text/plain;q=0,application/openmetrics-text;q=0.5' \
    | seed accept/second-range
printf ' \t application/openmetrics-text \t; \t q=0 \t, text/plain' \
    | seed accept/white-space
printf '\tapplication/openmetrics-text\t' | seed accept/tabs
printf 'application/openmetrics-text x;q=0' | seed accept/text-after-type
printf 'application/openmetrics-text;x="a;q=0;b"' | seed accept/quoted-q
printf ',,,' | seed accept/commas
printf ',application/openmetrics-text,' | seed accept/commas-around
printf ' ' | seed accept/space
printf 'application/openmetrics-text\0' | seed accept/nul-after-type
printf '' | seed accept/empty

printf '%s: wrote %s files in %s\n' "$(basename "$0")" \
    "$(find "$OUT" -type f | wc -l)" "$OUT"
