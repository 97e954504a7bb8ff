#!/usr/bin/env bash
#
# Generates the certificates the test suite uploads and expects, with the
# openssl command line only.  Every fixture is made here from its recipe;
# none is committed.
#
#   root-ca        EC P-256 self-signed root, CN=Palette Test Root CA
#   int-ca         EC P-256 intermediate under root-ca, pathlen 0
#   other-root-ca  another EC P-256 root, CN=Palette Other Root CA
#   other-leaf     EC P-256 server certificate issued directly by other-root-ca
#   leaf-a         EC P-256 server certificate under int-ca
#   leaf-b         RSA 2048 server certificate under int-ca
#   leaf-c         EC P-384 server certificate under int-ca (CN=www.example.com)
#   leaf-expired   like leaf-a, but its validity ended yesterday
#   leaf-future    like leaf-a, but valid only from a year from now
#   leaf-wrong-name  like leaf-a, but its only name is other.example.net
#
# For every certificate NAME: NAME.crt (that certificate alone), NAME.key
# (PKCS#8, unencrypted) and NAME.sha256 (lowercase hex SHA-256 of its DER).
# For every server certificate also NAME.chain.pem (leaf, then the
# intermediate when there is one); leaf-a.fullchain-reversed.pem holds
# leaf-a, root-ca, int-ca (intermediates out of order).  ca.pem is root-ca.
#
# The work is done in a temporary directory renamed to OUTDIR at the end, so
# concurrent callers are safe and OUTDIR is never seen half-written.  An
# OUTDIR whose .complete names this script's fixture version is left alone;
# one made by another version is made again.

set -euo pipefail

usage() {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}

[ "$#" -eq 1 ] || usage
[ -n "$1" ] || usage

out="${1%/}"

# Raise when the set of fixtures changes.
version=2

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

cat > "$work/openssl.cnf" << 'EOF'
[ req ]
distinguished_name  = req_dn
prompt              = no

[ req_dn ]

[ ca ]
default_ca          = palette_ca

[ palette_ca ]
database            = $ENV::PALETTE_CA_DB/index.txt
new_certs_dir       = $ENV::PALETTE_CA_DB
serial              = $ENV::PALETTE_CA_DB/serial
default_md          = sha256
policy              = policy_cn
email_in_dn         = no
unique_subject      = no
copy_extensions     = none

[ policy_cn ]
commonName          = supplied

[ v3_root ]
basicConstraints        = critical, CA:TRUE
keyUsage                = critical, keyCertSign, cRLSign
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid:always

[ v3_int ]
basicConstraints        = critical, CA:TRUE, pathlen:0
keyUsage                = critical, keyCertSign, cRLSign
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid:always

[ v3_leaf_ec ]
basicConstraints        = critical, CA:FALSE
keyUsage                = critical, digitalSignature
extendedKeyUsage        = serverAuth
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid
subjectAltName          = $ENV::PALETTE_SAN

[ v3_leaf_rsa ]
basicConstraints        = critical, CA:FALSE
keyUsage                = critical, digitalSignature, keyEncipherment
extendedKeyUsage        = serverAuth
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid
subjectAltName          = $ENV::PALETTE_SAN
EOF

# "openssl ca" reads these through $ENV:: in the config; they must always
# be set, even for the sections that do not use them.
export PALETTE_CA_DB="$work"
export PALETTE_SAN="$san_std"

# genkey NAME ec-P-256|ec-P-384|rsa-2048: NAME.key, PKCS#8 unencrypted.
genkey() {
    local name="$1" type="$2"

    case "$type" in
    ec-*)
        openssl genpkey -algorithm EC \
            -pkeyopt "ec_paramgen_curve:${type#ec-}" \
            -pkeyopt ec_param_enc:named_curve \
            -out "$tmp/$name.key" 2> /dev/null
        ;;
    rsa-*)
        openssl genpkey -algorithm RSA \
            -pkeyopt "rsa_keygen_bits:${type#rsa-}" \
            -out "$tmp/$name.key" 2> /dev/null
        ;;
    *)
        echo "$0: unknown key type $type" >&2
        exit 1
        ;;
    esac

    chmod 0600 "$tmp/$name.key"
}

# sign NAME CN ISSUER|self EXTENSIONS START END: NAME.crt from NAME.key.
sign() {
    local name="$1" cn="$2" issuer="$3" ext="$4" start="$5" end="$6"
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

    PALETTE_CA_DB="$db" openssl ca -batch -notext -rand_serial \
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

# leaf NAME KEYTYPE CN ISSUER START END [SAN]
leaf() {
    local name="$1" type="$2" cn="$3" issuer="$4" start="$5" end="$6"
    local san="${7:-$san_std}" ext=v3_leaf_ec

    if [ "${type%%-*}" = rsa ]; then
        ext=v3_leaf_rsa
    fi

    genkey "$name" "$type"
    PALETTE_SAN="$san" sign "$name" "$cn" "$issuer" "$ext" "$start" "$end"
    fingerprint "$name"

    if [ "$issuer" = int-ca ]; then
        cat "$tmp/$name.crt" "$tmp/int-ca.crt" > "$tmp/$name.chain.pem"
    else
        cat "$tmp/$name.crt" > "$tmp/$name.chain.pem"
    fi
}

genkey root-ca ec-P-256
sign root-ca "Palette Test Root CA" self v3_root "$ca_start" "$ca_end"
fingerprint root-ca

genkey int-ca ec-P-256
sign int-ca "Palette Test Intermediate CA" root-ca v3_int \
    "$ca_start" "$ca_end"
fingerprint int-ca

genkey other-root-ca ec-P-256
sign other-root-ca "Palette Other Root CA" self v3_root "$ca_start" "$ca_end"
fingerprint other-root-ca

leaf leaf-a ec-P-256 console.example.com int-ca "$now_minus_1d" "$now_plus_1y"
leaf leaf-b rsa-2048 console.example.com int-ca "$now_minus_1d" "$now_plus_1y"
leaf leaf-c ec-P-384 www.example.com int-ca "$now_minus_1d" "$now_plus_1y"
leaf leaf-expired ec-P-256 console.example.com int-ca \
    "$(when '-400 days')" "$now_minus_1d"
leaf leaf-future ec-P-256 console.example.com int-ca \
    "$now_plus_1y" "$now_plus_2y"
leaf leaf-wrong-name ec-P-256 other.example.net int-ca \
    "$now_minus_1d" "$now_plus_1y" "DNS:other.example.net"
leaf other-leaf ec-P-256 console.example.com other-root-ca \
    "$now_minus_1d" "$now_plus_1y"

cat "$tmp/leaf-a.crt" "$tmp/root-ca.crt" "$tmp/int-ca.crt" \
    > "$tmp/leaf-a.fullchain-reversed.pem"
cp "$tmp/root-ca.crt" "$tmp/ca.pem"

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
