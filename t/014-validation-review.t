# What a security review found in validation, each pinned down here.
#
# Certificates that TLS clients refuse for a server: a leaf whose key may
# not sign, an intermediate for client authentication only.

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
