#!/bin/sh
#
# A certbot deploy hook for hosts where nginx's worker user must not read
# /etc/letsencrypt: it copies each renewed certificate into a folder of its
# own, readable by that user's group, in the layout palette_cert_watch
# follows:
#
#   palette_cert_watch console /etc/palette-cert/console.example.com;
#
# Install it as /etc/letsencrypt/renewal-hooks/deploy/palette-cert.sh
# (certbot runs it after every renewal with RENEWED_LINEAGE set);
# PALETTE_CERT_DIR (default /etc/palette-cert) and PALETTE_CERT_GROUP
# (default nogroup, the group of Debian's "nobody") change where it writes
# and which group reads the key.  The key
# is written before the certificate, each by a rename: nginx never reads
# half a file, and a key caught beside the old certificate is waited for.

set -eu

: "${RENEWED_LINEAGE:?certbot sets it}"

group="${PALETTE_CERT_GROUP:-nogroup}"
dest="${PALETTE_CERT_DIR:-/etc/palette-cert}/$(basename "$RENEWED_LINEAGE")"

install -d -m 0750 -g "$group" "$dest"

install -m 0640 -g "$group" "$RENEWED_LINEAGE/privkey.pem" "$dest/.privkey.pem.new"
mv -f "$dest/.privkey.pem.new" "$dest/privkey.pem"

install -m 0644 "$RENEWED_LINEAGE/fullchain.pem" "$dest/.fullchain.pem.new"
mv -f "$dest/.fullchain.pem.new" "$dest/fullchain.pem"
