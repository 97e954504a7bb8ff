# What a security review found in validation, each pinned down here.
#
# Certificates that TLS clients refuse for a server: a leaf whose key may
# not sign, an intermediate for client authentication only.
#
# A chain whose validity depended on the order of its certificates: an
# expired copy of the intermediate given before the valid one.
#
# Cross-signs dropped from the served chain with nothing said: they are
# served beside the certificate they stand for, in any order given, and the
# answer to an upload lists what it leaves out and why ("left_out"); GET
# shows what is served.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(sha);

no_shuffle();

# Every block starts from the self-signed default, with a store of its own.
PaletteCert::defaults(
    PaletteCert::zone_config(
        'console:1m names=console.example.com,127.0.0.1,::1',
        store => 'review'),
    fresh_store  => '',
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

# the fixture files, one after the other
sub pem {
    return join '', map { PaletteCert::fixture($_) } @_;
}

# a JSON upload of leaf-a with these certificate files and this CA
sub upload {
    my ($ca, @files) = @_;

    require JSON::PP;

    return JSON::PP->new->canonical->encode({
        certificate => pem(@files),
        key         => pem('leaf-a.key'),
        ca          => pem($ca),
    });
}

# the start of a "left_out" entry, as a regular expression
sub left {
    my ($subject, $name, $reason) = @_;

    return '\{"subject":"' . quotemeta($subject) . '","sha256":"'
           . sha($name) . '","reason":"' . $reason . '"\}';
}

run_tests();

__DATA__

=== TEST 1: a leaf whose key usage is keyAgreement only is not_server_certificate naming it and the reason, dry run and real, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=review
upload leaf-ka-only dry_run error=not_server_certificate field=certificate message="^the key usage of the leaf CN=console.example.com does not include digitalSignature \(it allows keyAgreement\); " answer=ka
snapshot same
upload leaf-ka-only error=not_server_certificate field=certificate answer=ka
snapshot same



=== TEST 2: an RSA leaf whose key usage is keyEncipherment alone is not_server_certificate, and changes nothing
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=review
upload leaf-rsa-kenc-only error=not_server_certificate field=certificate message="^the key usage of the leaf CN=console.example.com does not include digitalSignature \(it allows keyEncipherment\); "
snapshot same



=== TEST 3: a leaf without key usage, and an RSA leaf with digitalSignature and keyEncipherment, are accepted and served over TLS 1.2 and 1.3
--- request
GET /cert
--- steps
upload leaf-no-ku
handshake count=3 tls=1.2 expect=leaf-no-ku served=leaf-no-ku+int-ca
handshake count=3 tls=1.3 expect=leaf-no-ku served=leaf-no-ku+int-ca
upload leaf-b key_type="RSA 2048"
handshake count=3 tls=1.2 expect=leaf-b served=leaf-b+int-ca
handshake count=3 tls=1.3 expect=leaf-b served=leaf-b+int-ca



=== TEST 4: an intermediate for client authentication only is not_server_certificate naming it and the reason, dry run and real, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=review
upload leaf-under-client-int dry_run error=not_server_certificate field=certificate message="^the extended key usage of the chain certificate CN=Palette Client Intermediate CA includes neither serverAuth nor anyExtendedKeyUsage \(it allows clientAuth\); " answer=client_int
snapshot same
upload leaf-under-client-int error=not_server_certificate field=certificate answer=client_int
snapshot same



=== TEST 5: intermediates whose extended key usage includes serverAuth or anyExtendedKeyUsage are accepted and served
--- request
GET /cert
--- steps
upload leaf-under-server-int
get sha256=leaf-under-server-int chain=leaf-under-server-int+int-server-eku
handshake count=3 expect=leaf-under-server-int served=leaf-under-server-int+int-server-eku
upload leaf-under-any-int
get sha256=leaf-under-any-int chain=leaf-under-any-int+int-any-eku
handshake count=3 expect=leaf-under-any-int served=leaf-under-any-int+int-any-eku



=== TEST 6: an expired copy of the intermediate before the valid one is accepted, as in the other order, and the valid one alone is served
--- request
GET /cert
--- steps
upload leaf-a certificate=leaf-a.crt+int-ca-expired-copy.crt+int-ca.crt dry_run
upload leaf-a certificate=leaf-a.crt+int-ca-expired-copy.crt+int-ca.crt
get sha256=leaf-a generation=2 chain=leaf-a+int-ca
handshake count=3 expect=leaf-a served=leaf-a+int-ca
upload leaf-a certificate=leaf-a.crt+int-ca.crt+int-ca-expired-copy.crt
get sha256=leaf-a generation=3 chain=leaf-a+int-ca
handshake count=3 expect=leaf-a served=leaf-a+int-ca



=== TEST 7: an expired copy of the intermediate alone is still expired naming it, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=review
upload leaf-a certificate=leaf-a.crt+int-ca-expired-copy.crt error=expired field=certificate message="^the chain certificate CN=Palette Test Intermediate CA expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; "
snapshot same
upload leaf-a certificate=leaf-a.crt+int-ca-expired-copy.crt+int-ca-expired-copy.crt error=expired field=certificate
snapshot same



=== TEST 8: with an expired copy of the root beside the valid one in the ca, the valid root anchors the chain
--- request
GET /cert
--- steps
upload leaf-a ca=root-ca-expired-copy+root-ca
get sha256=leaf-a chain=leaf-a+int-ca
upload leaf-a ca=root-ca+root-ca-expired-copy
get sha256=leaf-a chain=leaf-a+int-ca



=== TEST 9: when no path is valid, the certificate reported expired is the one that has no valid copy, not an expired copy given first
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=review
upload leaf-a certificate=leaf-a.crt+int-ca-expired-copy.crt+int-ca.crt ca=root-ca-expired-copy error=expired field=certificate message="^the chain certificate CN=Palette Test Root CA expired on "
snapshot same



=== TEST 10: a cross-sign of the intermediate is accepted before or after it, whichever root is the ca, and served right beside it in issuing order
--- request
GET /cert
--- steps
upload leaf-a certificate=leaf-a.crt+int-ca-cross.crt+int-ca.crt
get sha256=leaf-a chain=leaf-a+int-ca+int-ca-cross
handshake count=3 expect=leaf-a served=leaf-a+int-ca+int-ca-cross
upload leaf-a certificate=leaf-a.crt+int-ca.crt+int-ca-cross.crt
get sha256=leaf-a chain=leaf-a+int-ca+int-ca-cross
upload leaf-a certificate=leaf-a.crt+int-ca.crt+int-ca-cross.crt ca=other-root-ca
get sha256=leaf-a chain=leaf-a+int-ca-cross+int-ca
handshake count=3 expect=leaf-a served=leaf-a+int-ca-cross+int-ca
upload leaf-a certificate=leaf-a.crt+int-ca-cross.crt+int-ca.crt ca=other-root-ca
get sha256=leaf-a chain=leaf-a+int-ca-cross+int-ca



=== TEST 11: a cross-signed root is served after the intermediate it issued, and the self-signed root still is not
--- request
GET /cert
--- steps
upload leaf-a certificate=leaf-a.crt+int-ca.crt+root-ca-cross.crt
get sha256=leaf-a chain=leaf-a+int-ca+root-ca-cross
handshake count=3 expect=leaf-a served=leaf-a+int-ca+root-ca-cross
upload leaf-a certificate=leaf-a.crt+root-ca.crt+root-ca-cross.crt+int-ca.crt
get sha256=leaf-a chain=leaf-a+int-ca+root-ca-cross
upload leaf-deep certificate=leaf-deep.crt+int-ca.crt+int2.crt+root-ca-cross.crt ca=other-root-ca
get sha256=leaf-deep chain=leaf-deep+int2+int-ca+root-ca-cross
handshake count=3 expect=leaf-deep served=leaf-deep+int2+int-ca+root-ca-cross



=== TEST 12: the answer to an upload, dry run and real, lists what it leaves out and why; chain_length counts what is served, and GET shows only that
--- request eval
["GET /cert",
 "PUT /cert?dry_run=1\n" . main::upload('ca.pem', qw(leaf-a.crt int-ca.crt int-ca.crt int2.crt int-ca-expired-copy.crt root-ca.crt)),
 "PUT /cert\n" . main::upload('ca.pem', qw(leaf-a.crt int-ca.crt int-ca.crt int2.crt int-ca-expired-copy.crt root-ca.crt)),
 "GET /cert"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
my $left = '"chain_length":2,"left_out":\['
    . main::left('CN=Palette Test Intermediate CA', 'int-ca', 'the same certificate is given more than once; it is served once') . ','
    . main::left('CN=Palette Test Intermediate 2 CA', 'int2', 'neither on the verified path of the leaf nor a cross-sign of a certificate on it') . ','
    . main::left('CN=Palette Test Intermediate CA', 'int-ca-expired-copy', 'expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ') . ','
    . main::left('CN=Palette Test Root CA', 'root-ca', 'a self-signed root is not served: clients have their own')
    . '\],"certificate":';
['"generation":1',
 $left . '.*"dry_run":true\}$',
 '"generation":2,.*' . $left,
 '"generation":2,.*"chain_length":2,"certificate":']
--- steps
request 4
get sha256=leaf-a generation=2 chain=leaf-a+int-ca
handshake count=3 expect=leaf-a served=leaf-a+int-ca



=== TEST 13: when nothing is left out the answer has no left_out, and cross-signs count in chain_length
--- request eval
["GET /cert",
 "PUT /cert\n" . main::upload('ca.pem', qw(leaf-a.crt int-ca-cross.crt int-ca.crt)),
 "GET /cert"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"generation":1',
 '"generation":2,.*"chain_length":3,"certificate":"[^"]+","ca":"[^"]+","staged":null,"csr_pending":null\}$',
 '"generation":2,.*"chain_length":3,"certificate":"[^"]+","ca":"[^"]+","staged":null,"csr_pending":null\}$']
--- steps
request 3
get sha256=leaf-a generation=2 chain=leaf-a+int-ca+int-ca-cross
handshake count=3 expect=leaf-a served=leaf-a+int-ca+int-ca-cross



=== TEST 14: a cross-sign for client authentication only is left out with its reason, and the intermediate it stands beside is served
--- request eval
["GET /cert",
 "PUT /cert\n" . main::upload('ca.pem', qw(leaf-a.crt int-ca-cross-client.crt int-ca.crt))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
['"generation":1',
 '"generation":2,.*"chain_length":2,"left_out":\['
 . main::left('CN=Palette Test Intermediate CA', 'int-ca-cross-client', 'its extended key usage includes neither serverAuth nor anyExtendedKeyUsage')
 . '\],"certificate":']
--- steps
request 2
get sha256=leaf-a generation=2 chain=leaf-a+int-ca
handshake count=3 expect=leaf-a served=leaf-a+int-ca
