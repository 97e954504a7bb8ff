#!/usr/bin/env bash
#
# Generates the certificates the test suite uploads and expects, with the
# openssl command line only.  Every fixture is made here from its recipe;
# none is committed.
#
# Authorities (all EC P-256, valid from 800 days ago for 2300 days unless
# said otherwise):
#
#   root-ca        self-signed root, CN=Palette Test Root CA
#   int-ca         intermediate under root-ca, pathlen 1,
#                  CN=Palette Test Intermediate CA
#   int2           intermediate under int-ca, pathlen 0,
#                  CN=Palette Test Intermediate 2 CA
#   int-expired    intermediate under root-ca whose validity ended
#                  yesterday, CN=Palette Expired Intermediate CA
#   other-root-ca  another self-signed root, CN=Palette Other Root CA
#   int-ca-expired-copy  int-ca's subject and key, issued by root-ca, whose
#                  validity ended yesterday (an old copy of int-ca)
#   int-ca-cross   int-ca's subject and key, issued by other-root-ca (a
#                  cross-sign of int-ca)
#   int-ca-cross-client  like int-ca-cross, but its extended key usage is
#                  clientAuth only
#   root-ca-cross  root-ca's subject and key, issued by other-root-ca (a
#                  cross-signed root, as "ISRG Root X1" by "DST Root CA X3")
#   root-ca-expired-copy  root-ca's subject and key, self-signed, whose
#                  validity ended yesterday (an old copy of root-ca)
#   int-client-only  intermediate under root-ca whose extended key usage is
#                  clientAuth only, CN=Palette Client Intermediate CA
#   int-any-eku    intermediate under root-ca whose extended key usage is
#                  anyExtendedKeyUsage, CN=Palette Any Usage Intermediate CA
#   int-server-eku intermediate under root-ca whose extended key usage is
#                  serverAuth and clientAuth,
#                  CN=Palette Server Intermediate CA
#
# Server certificates.  Unless said otherwise: EC P-256,
# CN=console.example.com, issued by int-ca, valid from yesterday for a
# year, subject alternative names console.example.com, www.example.com,
# localhost, 127.0.0.1 and ::1, CA:FALSE, extended key usage serverAuth,
# signed with SHA-256:
#
#   leaf-a         as above
#   leaf-b         RSA 2048
#   leaf-c         EC P-384, CN=www.example.com
#   leaf-p521      EC P-521
#   leaf-expired   its validity ended yesterday
#   leaf-future    valid only from a year from now
#   leaf-wrong-name  its only name is DNS:other.example.net
#   leaf-cn-only   no subject alternative names at all
#   leaf-wildcard  CN=*.example.com, its only name is DNS:*.example.com
#   leaf-ip-only   its only names are IP:127.0.0.1 and IP:::1
#   leaf-rsa1024   RSA 1024 (weak)
#   leaf-p224      EC on secp224r1 (a curve outside P-256/P-384/P-521)
#   leaf-k256      EC on secp256k1 (a curve outside P-256/P-384/P-521)
#   leaf-sha1      signed with ecdsa-with-SHA1 by int-ca
#   leaf-ca-true   basicConstraints CA:TRUE (keyCertSign too)
#   leaf-client-only  extended key usage clientAuth only
#   leaf-sha1-client  signed with SHA-1 and extended key usage clientAuth
#                  only (two policy problems: the digest comes first)
#   leaf-weak-all  RSA 1024, signed with SHA-1, CA:TRUE, clientAuth only
#                  (every policy problem: the key strength comes first)
#   leaf-badsig    like leaf-a, but the last byte of its signature is
#                  flipped: int-ca's signature on it does not verify
#   leaf-deep      issued by int2: root-ca > int-ca > int2 > leaf-deep
#   leaf-under-expired-int  issued by int-expired; the leaf itself is valid
#   other-leaf     issued directly by other-root-ca
#   leaf-ka-only   key usage keyAgreement only (no digitalSignature)
#   leaf-rsa-kenc-only  RSA 2048, key usage keyEncipherment only
#   leaf-no-ku     no key usage extension at all
#   leaf-soon      valid for 10 more days only
#   leaf-under-client-int  issued by int-client-only
#   leaf-under-any-int     issued by int-any-eku
#   leaf-under-server-int  issued by int-server-eku
#
# Named certificates, for the SNI tests: as above, but CN is the first
# name and the subject alternative names are only those given:
#
#   named-a        DNS:a.test
#   named-a2       DNS:a.test, another key (a replacement for named-a)
#   named-a-rsa    RSA 2048, DNS:a.test
#   named-a-rsa2   RSA 2048, DNS:a.test, another key
#   named-a-upper  DNS:A.TEST (the same name in capitals)
#   named-ac       DNS:c.test and DNS:a.test
#   named-b        DNS:b.test
#   named-b2       DNS:b.test, another key
#   named-wild     DNS:*.w.test
#   named-xw       DNS:x.w.test
#   named-xw-rsa   RSA 2048, DNS:x.w.test
#   named-ip       IP:127.0.0.1 only, CN=ip.test
#   named-ip2      DNS:ip2.test and IP:127.0.0.1
#   named-ip-other IP:127.0.0.2 only, CN=ip-other.test
#   named-email-only  only an email name, email:admin@a.test, CN=a.test
#   both-ec        DNS:both.test
#   both-ec2       DNS:both.test, another key
#   both-rsa       RSA 2048, DNS:both.test
#   both-rsa2      RSA 2048, DNS:both.test, another key
#   named-r-rsa    RSA 2048, DNS:r.test
#   named-soon     DNS:soon.test, valid for 10 more days only
#   named-soon2    DNS:soon.test, another key, valid for a year
#   named-quote    DNS:quote.test, CN=Quote "Q" \ Back (a subject with
#                  a quote and a backslash, as metrics labels escape them)
#   bulk-001 .. bulk-101  DNS:bulk-NNN.test, all with bulk-001's key
#
# Client certificates, for an admin listener that requires one: EC P-256,
# no subject alternative names, CA:FALSE, extended key usage clientAuth
# only, valid from yesterday for a year:
#
#   admin-client       CN=Palette Admin, issued directly by root-ca
#   other-admin-client CN=Palette Admin, issued directly by other-root-ca
#
# For every certificate NAME: NAME.crt (that certificate alone, PEM),
# NAME.key (its key, PKCS#8, unencrypted) and NAME.sha256 (lowercase hex
# SHA-256 of its DER).  For every server certificate also NAME.chain.pem:
# the leaf, then the intermediates up to the root in issuance order (the
# root not included).  More:
#
#   ca.pem                       root-ca
#   leaf-a.fullchain-reversed.pem  leaf-a, root-ca, int-ca
#   leaf-deep.fullchain-reversed.pem  leaf-deep, root-ca, int-ca, int2
#                                (intermediates out of order, root inside)
#   leaf-a.der                   leaf-a in DER
#   leaf-a.sec1.key              leaf-a's key as SEC1 "EC PRIVATE KEY"
#   leaf-b.pkcs1.key             leaf-b's key as PKCS#1 "RSA PRIVATE KEY"
#   leaf-a.enc.key               leaf-a's key, encrypted PKCS#8 (AES-256)
#   leaf-b.pkcs1-enc.key         leaf-b's key, traditional PEM encrypted
#                                with AES-256 ("Proc-Type: 4,ENCRYPTED")
#
# The passphrase of the encrypted keys is "secret".
#
# The work is done in a temporary directory renamed to OUTDIR at the end, so
# concurrent callers are safe and OUTDIR is never seen half-written.  An
# OUTDIR whose .complete names this script's fixture version is left alone;
# one made by another version is made again.

set -euo pipefail

# shellcheck source=scripts/lib.sh source-path=SCRIPTDIR/../..
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

usage() {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}

[ "$#" -eq 1 ] || usage
[ -n "$1" ] || usage

out="${1%/}"

# Raise when the set of fixtures changes.
version=9

if [ -e "$out/.complete" ]; then
    if [ "$(cat "$out/.complete")" = "$version" ]; then
        exit 0
    fi

    rm -rf "$out"
fi

command -v openssl > /dev/null || {
    echo "$0: openssl not found in PATH" >&2
    exit 1
}

mkdir -p "$(dirname "$out")"
tmp="$(mktemp -d "$out.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

work="$tmp/.work"
mkdir "$work"

# UTCTime relative to now, as "openssl ca -startdate/-enddate" takes it.
when() {
    date -u -d "$1" +%y%m%d%H%M%SZ
}

now_minus_1d="$(when '-1 day')"
now_plus_1y="$(when '+365 days')"
now_plus_2y="$(when '+730 days')"
# The CAs outlive every leaf, the expired and the future one included, so
# that those leaves fail on their own dates and not on their issuer's.
ca_start="$(when '-800 days')"
ca_end="$(when '+1500 days')"

san_std="DNS:console.example.com,DNS:www.example.com,DNS:localhost"
san_std="$san_std,IP:127.0.0.1,IP:::1"

# The configuration of openssl req and openssl ca, and the variables it
# reads (scripts/lib.sh): server certificates have the names above unless
# said otherwise.
openssl_ca "$work"
export PALETTE_SAN="$san_std"

# sign NAME CN ISSUER|self EXTENSIONS START END [DIGEST]: NAME.crt from
# NAME.key.
sign() {
    local name="$1" cn="$2" issuer="$3" ext="$4" start="$5" end="$6"
    local md="${7:-sha256}"
    local db="$work/db-$issuer"
    local -a signer

    openssl req -new -config "$work/openssl.cnf" -subj "/CN=$cn" \
        -key "$tmp/$name.key" -out "$work/$name.csr"

    if [ "$issuer" = self ]; then
        db="$work/db-$name"
        signer=(-selfsign -keyfile "$tmp/$name.key")
    else
        signer=(-cert "$tmp/$issuer.crt" -keyfile "$tmp/$issuer.key")
    fi

    if [ ! -d "$db" ]; then
        mkdir -p "$db"
        touch "$db/index.txt"
        openssl rand -hex 16 > "$db/serial"
    fi

    PALETTE_CA_DB="$db" openssl ca -batch -notext -rand_serial -md "$md" \
        -config "$work/openssl.cnf" "${signer[@]}" \
        -extfile "$work/openssl.cnf" -extensions "$ext" \
        -startdate "$start" -enddate "$end" \
        -in "$work/$name.csr" -out "$tmp/$name.crt" 2> "$work/$name.log" \
        || {
            cat "$work/$name.log" >&2
            echo "$0: cannot sign $name" >&2
            exit 1
        }
}

fingerprint() {
    local name="$1" fp

    fp="$(openssl x509 -noout -fingerprint -sha256 -in "$tmp/$name.crt")"
    fp="${fp#*=}"
    fp="${fp//:/}"
    printf '%s\n' "$fp" | tr 'A-F' 'a-f' > "$tmp/$name.sha256"
}

# root NAME CN: a self-signed root.
root() {
    local name="$1" cn="$2"

    genkey "$tmp/$name.key" ec-P-256
    sign "$name" "$cn" self v3_root "$ca_start" "$ca_end"
    fingerprint "$name"

    # the intermediates from a certificate this CA issues up to the root
    : > "$work/$name.up.pem"
}

# intermediate NAME CN ISSUER PATHLEN [START END [EKU]]: with EKU, an
# extended key usage extension of that value.
intermediate() {
    local name="$1" cn="$2" issuer="$3" pathlen="$4"
    local start="${5:-$ca_start}" end="${6:-$ca_end}" eku="${7:-}"
    local ext=v3_int

    if [ -n "$eku" ]; then
        ext=v3_int_eku
    fi

    genkey "$tmp/$name.key" ec-P-256
    PALETTE_PATHLEN="$pathlen" PALETTE_EKU="${eku:-serverAuth}" \
        sign "$name" "$cn" "$issuer" "$ext" "$start" "$end"
    fingerprint "$name"

    cat "$tmp/$name.crt" "$work/$issuer.up.pem" > "$work/$name.up.pem"
}

# copy NAME OF CN ISSUER|self EXTENSIONS [START END]: another certificate
# for OF's subject CN and OF's key, issued by ISSUER (a cross-sign, or an
# older copy with other dates).
copy() {
    local name="$1" of="$2" cn="$3" issuer="$4" ext="$5"
    local start="${6:-$ca_start}" end="${7:-$ca_end}"

    cp "$tmp/$of.key" "$tmp/$name.key"
    PALETTE_PATHLEN=1 sign "$name" "$cn" "$issuer" "$ext" "$start" "$end"
    fingerprint "$name"
}

# leaf NAME [--key TYPE] [--key-of NAME] [--cn CN] [--issuer CA]
#           [--start T] [--end T] [--san SAN|none] [--eku EKU]
#           [--ku KU|none] [--ca] [--md DIGEST]
#
# A server certificate, with the defaults described at the top.  --ku
# gives the whole key usage (none: no such extension), in place of the
# one made from the key type and --ca.  --key-of uses a copy of another
# fixture's key (of the type --key says) instead of a new one.
leaf() {
    local name="$1"
    local type=ec-P-256 cn=console.example.com issuer=int-ca
    local start="$now_minus_1d" end="$now_plus_1y" san="$san_std"
    local eku=serverAuth bc="CA:FALSE" ku=digitalSignature md=sha256
    local ext=v3_leaf given_ku="" key_of=""

    shift

    while [ "$#" -gt 0 ]; do
        case "$1" in
        --key)    type="$2"; shift 2 ;;
        --key-of) key_of="$2"; shift 2 ;;
        --cn)     cn="$2"; shift 2 ;;
        --issuer) issuer="$2"; shift 2 ;;
        --start)  start="$2"; shift 2 ;;
        --end)    end="$2"; shift 2 ;;
        --san)    san="$2"; shift 2 ;;
        --eku)    eku="$2"; shift 2 ;;
        --ku)     given_ku="$2"; shift 2 ;;
        --md)     md="$2"; shift 2 ;;
        --ca)     bc="CA:TRUE"; shift ;;
        *)
            echo "$0: leaf $name: unknown option $1" >&2
            exit 1
            ;;
        esac
    done

    if [ "${type%%-*}" = rsa ]; then
        ku="$ku, keyEncipherment"
    fi

    if [ "$bc" = "CA:TRUE" ]; then
        ku="$ku, keyCertSign"
    fi

    if [ -n "$given_ku" ]; then
        ku="$given_ku"
    fi

    if [ "$san" = none ]; then
        ext=v3_leaf_nosan
        san="$san_std"
    fi

    if [ "$ku" = none ]; then
        ext=v3_leaf_noku
        ku=digitalSignature
    fi

    if [ -n "$key_of" ]; then
        cp "$tmp/$key_of.key" "$tmp/$name.key"
    else
        genkey "$tmp/$name.key" "$type"
    fi

    PALETTE_SAN="$san" PALETTE_BC="$bc" PALETTE_KU="$ku" PALETTE_EKU="$eku" \
        sign "$name" "$cn" "$issuer" "$ext" "$start" "$end" "$md"
    fingerprint "$name"

    cat "$tmp/$name.crt" "$work/$issuer.up.pem" > "$tmp/$name.chain.pem"
}

# damage_signature NAME: flips the last byte of NAME.crt's DER, the end of
# its signature, and writes it back as PEM.
damage_signature() {
    local name="$1" der="$work/$1.der" size last

    openssl x509 -in "$tmp/$name.crt" -outform DER -out "$der"

    size="$(stat -c %s "$der")"
    last="$(tail -c 1 "$der" | od -An -tu1 | tr -d ' ')"

    # shellcheck disable=SC2059 # the format is the byte, as an octal escape
    printf "\\$(printf '%03o' $((last ^ 1)))" \
        | dd of="$der" bs=1 seek=$((size - 1)) conv=notrunc status=none

    {
        echo "-----BEGIN CERTIFICATE-----"
        openssl base64 -in "$der"
        echo "-----END CERTIFICATE-----"
    } > "$tmp/$name.crt"

    fingerprint "$name"
}

root root-ca "Palette Test Root CA"
intermediate int-ca "Palette Test Intermediate CA" root-ca 1
intermediate int2 "Palette Test Intermediate 2 CA" int-ca 0
intermediate int-expired "Palette Expired Intermediate CA" root-ca 0 \
    "$ca_start" "$now_minus_1d"
root other-root-ca "Palette Other Root CA"
copy int-ca-expired-copy int-ca "Palette Test Intermediate CA" root-ca v3_int \
    "$ca_start" "$now_minus_1d"
copy int-ca-cross int-ca "Palette Test Intermediate CA" other-root-ca v3_int
PALETTE_EKU=clientAuth copy int-ca-cross-client int-ca \
    "Palette Test Intermediate CA" other-root-ca v3_int_eku
copy root-ca-cross root-ca "Palette Test Root CA" other-root-ca v3_root
copy root-ca-expired-copy root-ca "Palette Test Root CA" self v3_root \
    "$ca_start" "$now_minus_1d"
intermediate int-client-only "Palette Client Intermediate CA" root-ca 0 \
    "$ca_start" "$ca_end" clientAuth
intermediate int-any-eku "Palette Any Usage Intermediate CA" root-ca 0 \
    "$ca_start" "$ca_end" anyExtendedKeyUsage
intermediate int-server-eku "Palette Server Intermediate CA" root-ca 0 \
    "$ca_start" "$ca_end" "serverAuth, clientAuth"

leaf leaf-a
leaf leaf-b --key rsa-2048
leaf leaf-c --key ec-P-384 --cn www.example.com
leaf leaf-p521 --key ec-P-521
leaf leaf-expired --start "$(when '-400 days')" --end "$now_minus_1d"
leaf leaf-future --start "$now_plus_1y" --end "$now_plus_2y"
leaf leaf-wrong-name --cn other.example.net --san DNS:other.example.net
leaf leaf-cn-only --san none
leaf leaf-wildcard --cn '*.example.com' --san 'DNS:*.example.com'
leaf leaf-ip-only --san 'IP:127.0.0.1,IP:::1'
leaf leaf-rsa1024 --key rsa-1024
leaf leaf-p224 --key ec-secp224r1
leaf leaf-k256 --key ec-secp256k1
leaf leaf-sha1 --md sha1
leaf leaf-ca-true --ca
leaf leaf-client-only --eku clientAuth
leaf leaf-sha1-client --md sha1 --eku clientAuth
leaf leaf-weak-all --key rsa-1024 --md sha1 --ca --eku clientAuth
leaf leaf-badsig
leaf leaf-deep --issuer int2
leaf leaf-under-expired-int --issuer int-expired
leaf other-leaf --issuer other-root-ca
leaf leaf-ka-only --ku keyAgreement
leaf leaf-rsa-kenc-only --key rsa-2048 --ku keyEncipherment
leaf leaf-no-ku --ku none
leaf leaf-soon --end "$(when '+10 days')"
leaf leaf-under-client-int --issuer int-client-only
leaf leaf-under-any-int --issuer int-any-eku
leaf leaf-under-server-int --issuer int-server-eku

leaf named-a --cn a.test --san DNS:a.test
leaf named-a2 --cn a.test --san DNS:a.test
leaf named-a-rsa --key rsa-2048 --cn a.test --san DNS:a.test
leaf named-a-rsa2 --key rsa-2048 --cn a.test --san DNS:a.test
leaf named-a-upper --cn A.TEST --san DNS:A.TEST
leaf named-ac --cn c.test --san DNS:c.test,DNS:a.test
leaf named-b --cn b.test --san DNS:b.test
leaf named-b2 --cn b.test --san DNS:b.test
leaf named-wild --cn '*.w.test' --san 'DNS:*.w.test'
leaf named-xw --cn x.w.test --san DNS:x.w.test
leaf named-xw-rsa --key rsa-2048 --cn x.w.test --san DNS:x.w.test
leaf named-ip --cn ip.test --san IP:127.0.0.1
leaf named-ip2 --cn ip2.test --san DNS:ip2.test,IP:127.0.0.1
leaf named-ip-other --cn ip-other.test --san IP:127.0.0.2
leaf named-email-only --cn a.test --san email:admin@a.test
leaf both-ec --cn both.test --san DNS:both.test
leaf both-ec2 --cn both.test --san DNS:both.test
leaf both-rsa --key rsa-2048 --cn both.test --san DNS:both.test
leaf both-rsa2 --key rsa-2048 --cn both.test --san DNS:both.test
leaf named-r-rsa --key rsa-2048 --cn r.test --san DNS:r.test
leaf named-soon --cn soon.test --san DNS:soon.test --end "$(when '+10 days')"
leaf named-soon2 --cn soon.test --san DNS:soon.test
leaf named-quote --cn 'Quote "Q" \\ Back' --san DNS:quote.test

leaf bulk-001 --cn bulk-001.test --san DNS:bulk-001.test
for i in $(seq -f '%03g' 2 101); do
    leaf "bulk-$i" --key-of bulk-001 --cn "bulk-$i.test" \
        --san "DNS:bulk-$i.test"
done

leaf admin-client --issuer root-ca --cn 'Palette Admin' --san none \
    --eku clientAuth
leaf other-admin-client --issuer other-root-ca --cn 'Palette Admin' \
    --san none --eku clientAuth

damage_signature leaf-badsig
cat "$tmp/leaf-badsig.crt" "$work/int-ca.up.pem" > "$tmp/leaf-badsig.chain.pem"

cat "$tmp/leaf-a.crt" "$tmp/root-ca.crt" "$tmp/int-ca.crt" \
    > "$tmp/leaf-a.fullchain-reversed.pem"
cat "$tmp/leaf-deep.crt" "$tmp/root-ca.crt" "$tmp/int-ca.crt" \
    "$tmp/int2.crt" > "$tmp/leaf-deep.fullchain-reversed.pem"
cp "$tmp/root-ca.crt" "$tmp/ca.pem"
openssl x509 -in "$tmp/leaf-a.crt" -outform DER -out "$tmp/leaf-a.der"

# The same keys in the other encodings an admin may paste.
openssl ec -in "$tmp/leaf-a.key" -out "$tmp/leaf-a.sec1.key" 2> /dev/null
openssl rsa -in "$tmp/leaf-b.key" -traditional -out "$tmp/leaf-b.pkcs1.key" \
    2> /dev/null
openssl pkey -in "$tmp/leaf-a.key" -aes256 -passout pass:secret \
    -out "$tmp/leaf-a.enc.key"
openssl rsa -in "$tmp/leaf-b.key" -traditional -aes256 -passout pass:secret \
    -out "$tmp/leaf-b.pkcs1-enc.key" 2> /dev/null
chmod 0600 "$tmp"/*.key

rm -rf "$work"
chmod 0755 "$tmp"
printf '%s\n' "$version" > "$tmp/.complete"

if ! mv -T "$tmp" "$out" 2> /dev/null; then
    if [ "$(cat "$out/.complete" 2> /dev/null)" = "$version" ]; then
        # Another caller finished first; its fixtures are as good as ours.
        exit 0
    fi

    echo "$0: cannot rename $tmp to $out: $out exists and is incomplete" >&2
    exit 1
fi

trap - EXIT
