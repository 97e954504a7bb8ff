#!/usr/bin/python3
#
# Certificates for scripts/bench-named.sh: many named certificates under
# one bench CA, made with python3-cryptography (Debian's package), which
# makes thousands a minute where the openssl command line makes a few
# dozen.  Run by bench-named.sh, not by hand.
#
#   named-certs.py DIR COUNT RSA [MANIFEST]
#
# Makes, in DIR, whatever is missing of:
#
#   ca.pem, ca.key          the root, EC P-256, CN=Palette Bench Named Root
#   int-K.pem, int-K.key    4 intermediates under it, EC P-256, pathlen 0
#                           (K = 0..3)
#   ec/NNNNN-V.pem          for every name N = 1..COUNT and version V = 1, 2:
#   ec/NNNNN-V.key          an EC P-256 leaf for hNNNNN.bench.test (its only
#                           subjectAltName, DNS) with a key of its own, and
#                           the chain file: the leaf, then its intermediate
#   rsa/NNNNN-V.pem         the same for N = 1..RSA with RSA 2048 keys
#   rsa/NNNNN-V.key
#   default.pem, .key       an EC P-256 leaf for default.bench.test under
#                           intermediate 0, for the zone's default
#   default.tsv             its manifest line (ID "-", version 1)
#   manifest.tsv            (or MANIFEST, wherever it is) one line per
#                           certificate of the COUNT names, sorted by id:
#                           ID NAME TYPE VERSION CHAIN KEY SHA256...
#                           (ID is hNNNNN for EC, hNNNNN-rsa for RSA; TYPE
#                           ec or rsa; SHA256... the lowercase hex SHA-256
#                           of the DER of every certificate of the chain,
#                           the leaf first, separated by commas)
#
# Version 1 of name N is issued by intermediate N mod 4, version 2 by the
# next one, and the RSA leaves by the two after: so a leaf served with the
# chain of another certificate, or of another version of its own, shows.
# Leaves are valid from yesterday for 400 days, the CAs for 20 years; the
# whole set is made again when a leaf has less than 30 days left.  A run
# with a larger COUNT or RSA adds to what is there.

import datetime
import hashlib
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

INTERMEDIATES = 4
DOMAIN = 'bench.test'
LEAF_DAYS = 400
RENEW_DAYS = 30


def name_of(n):
    return 'h%05d.%s' % (n, DOMAIN)


def write(path, data, mode=0o644):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(path):
    with open(path, 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


def load_cert(path):
    with open(path, 'rb') as f:
        return x509.load_pem_x509_certificate(f.read())


def load_chain(path):
    end = b'-----END CERTIFICATE-----'
    with open(path, 'rb') as f:
        blocks = f.read().split(end)
    return [x509.load_pem_x509_certificate(b + end)
            for b in blocks if b.strip()]


def dn(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(
        microsecond=0, tzinfo=None)


def key_usage(sign=False, encipher=False, cert_sign=False):
    """Key usage: signing, key encipherment, and certificate signing."""
    return x509.KeyUsage(
        digital_signature=sign, content_commitment=False,
        key_encipherment=encipher, data_encipherment=False,
        key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False)


def make_ca(subject, key, issuer, issuer_key, pathlen):
    start = now() - datetime.timedelta(days=1)
    b = (x509.CertificateBuilder()
         .subject_name(dn(subject))
         .issuer_name(dn(issuer))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(start + datetime.timedelta(days=365 * 20))
         .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen),
                        critical=True)
         .add_extension(key_usage(cert_sign=True), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False))
    if issuer_key is not key:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_leaf(name, key, issuer, issuer_key, is_rsa):
    start = now() - datetime.timedelta(days=1)
    b = (x509.CertificateBuilder()
         .subject_name(dn(name))
         .issuer_name(issuer.subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(start + datetime.timedelta(days=LEAF_DAYS))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                        critical=True)
         .add_extension(key_usage(sign=True, encipher=is_rsa),
                        critical=True)
         .add_extension(x509.ExtendedKeyUsage(
             [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.SubjectAlternativeName(
             [x509.DNSName(name)]), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False)
         .add_extension(
             x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), critical=False))
    return b.sign(issuer_key, hashes.SHA256())


def sha256_der(cert):
    return hashlib.sha256(
        cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def cas(d):
    """The root and the intermediates, made if missing."""
    if not os.path.exists(os.path.join(d, 'ca.pem')):
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = make_ca('Palette Bench Named Root', root_key, 'Palette Bench'
                       ' Named Root', root_key, None)
        write(os.path.join(d, 'ca.key'), key_pem(root_key), 0o600)
        write(os.path.join(d, 'ca.pem'), cert_pem(root))

    root_key = load_key(os.path.join(d, 'ca.key'))
    ints = []
    for k in range(INTERMEDIATES):
        pem = os.path.join(d, 'int-%d.pem' % k)
        if not os.path.exists(pem):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = make_ca('Palette Bench Named Intermediate %d' % k, key,
                           'Palette Bench Named Root', root_key, 0)
            write(os.path.join(d, 'int-%d.key' % k), key_pem(key), 0o600)
            write(pem, cert_pem(cert))
        ints.append((load_cert(pem),
                     load_key(os.path.join(d, 'int-%d.key' % k))))
    return ints


def leaf(d, ints, kind, n, version):
    """Makes the leaf if missing; returns its manifest line."""
    base = os.path.join(d, kind, '%05d-%d' % (n, version))
    chain_path, key_path = base + '.pem', base + '.key'
    shift = (version - 1) + (2 if kind == 'rsa' else 0)
    inter, inter_key = ints[(n + shift) % INTERMEDIATES]

    if not os.path.exists(chain_path):
        if kind == 'rsa':
            key = rsa.generate_private_key(public_exponent=65537,
                                           key_size=2048)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
        cert = make_leaf(name_of(n), key, inter, inter_key, kind == 'rsa')
        write(key_path, key_pem(key), 0o600)
        write(chain_path, cert_pem(cert) + cert_pem(inter))

    chain = load_chain(chain_path)
    if chain[0].not_valid_after < now() + datetime.timedelta(
            days=RENEW_DAYS):
        raise Expiring(chain_path)

    ident = 'h%05d' % n if kind == 'ec' else 'h%05d-rsa' % n
    return '\t'.join([ident, name_of(n), kind, str(version), chain_path,
                      key_path, ','.join(sha256_der(c) for c in chain)])


class Expiring(Exception):
    pass


def make_default(d, ints):
    chain_path = os.path.join(d, 'default.pem')
    key_path = os.path.join(d, 'default.key')
    name = 'default.' + DOMAIN
    inter, inter_key = ints[0]

    if not os.path.exists(chain_path):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = make_leaf(name, key, inter, inter_key, False)
        write(key_path, key_pem(key), 0o600)
        write(chain_path, cert_pem(cert) + cert_pem(inter))

    chain = load_chain(chain_path)
    line = '\t'.join(['-', name, 'ec', '1', chain_path, key_path,
                      ','.join(sha256_der(c) for c in chain)])
    write(os.path.join(d, 'default.tsv'), (line + '\n').encode())


def make(d, count, nrsa, manifest):
    os.makedirs(os.path.join(d, 'ec'), exist_ok=True)
    os.makedirs(os.path.join(d, 'rsa'), exist_ok=True)
    ints = cas(d)
    make_default(d, ints)
    lines = []

    for n in range(1, count + 1):
        for version in (1, 2):
            lines.append(leaf(d, ints, 'ec', n, version))
        if n <= nrsa:
            for version in (1, 2):
                lines.append(leaf(d, ints, 'rsa', n, version))
        if n % 1000 == 0:
            sys.stderr.write('named-certs.py: %d of %d names\n'
                             % (n, count))

    lines.sort()
    write(manifest, ('\n'.join(lines) + '\n').encode())


def main():
    if len(sys.argv) not in (4, 5) or not sys.argv[2].isdigit() \
       or not sys.argv[3].isdigit():
        sys.stderr.write('usage: named-certs.py DIR COUNT RSA [MANIFEST]\n')
        return 2

    d, count, nrsa = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    manifest = sys.argv[4] if len(sys.argv) == 5 \
        else os.path.join(d, 'manifest.tsv')
    if nrsa > count:
        sys.stderr.write('named-certs.py: RSA must not exceed COUNT\n')
        return 2

    os.makedirs(d, exist_ok=True)
    try:
        make(d, count, nrsa, manifest)
    except Expiring as e:
        sys.stderr.write('named-certs.py: %s expires within %d days; making'
                         ' the set again\n' % (e, RENEW_DAYS))
        for sub in ('ec', 'rsa'):
            for f in os.listdir(os.path.join(d, sub)):
                os.unlink(os.path.join(d, sub, f))
        for f in os.listdir(d):
            if f.endswith(('.pem', '.key')):
                os.unlink(os.path.join(d, f))
        make(d, count, nrsa, manifest)
    return 0


if __name__ == '__main__':
    sys.exit(main())
