# What a security review found in validation, each pinned down here.
#
# Certificates that TLS clients refuse for a server: a leaf whose key may
# not sign, an intermediate for client authentication only.
#
# A chain whose validity depended on the order of its certificates: an
# expired copy of the intermediate given before the valid one.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

# Every block starts from the self-signed default, with a store of its own.
my $zone = <<'_EOC_';
    palette_cert_zone console:1m names=console.example.com,127.0.0.1,::1 store=$TEST_NGINX_STORE_DIR/review;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
_EOC_

PaletteCert::defaults(
    http_config  => $zone,
    config       => "    location = /cert { palette_cert_api console; }\n",
    fresh_store  => '',
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

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
