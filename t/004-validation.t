# Validation: every rejected upload gets its error code and a message that
# names the certificate at fault, and changes nothing (the steps check the
# generation after each error; the handshakes check the served leaf).

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

PaletteCert::defaults(PaletteCert::zone_config(
    'console:1m names=console.example.com,127.0.0.1,::1'));

sub json_upload {
    my (%f) = @_;

    require JSON::PP;

    return "PUT /cert\n" . JSON::PP->new->canonical->encode(\%f);
}

run_tests();

__DATA__

=== TEST 1: every key encoding is accepted: PKCS#8, SEC1 EC, PKCS#1 RSA
--- request
GET /cert
--- steps
upload leaf-a key=leaf-a.sec1
handshake count=5 expect=leaf-a
upload leaf-b key=leaf-b.pkcs1
handshake count=5 expect=leaf-b
upload leaf-a
--- no_error_log
[error]



=== TEST 2: the key of another certificate is key_mismatch, nothing changes
--- request
GET /cert
--- steps
upload leaf-a
upload leaf-c key=leaf-b error=key_mismatch
upload leaf-a key=leaf-c error=key_mismatch
handshake count=5 expect=leaf-a
get sha256=leaf-a generation=2



=== TEST 3: key_mismatch names the leaf
--- request eval
main::json_upload(certificate => PaletteCert::fixture('leaf-a.chain.pem'),
                  key => PaletteCert::fixture('leaf-b.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"error":"key_mismatch","field":"key","message":"the private key does not match the certificate \(leaf CN=console.example.com\); .+"\}$



=== TEST 4: a leaf that is not first is key_mismatch with a hint naming the certificate the key belongs to
--- request eval
main::json_upload(certificate => PaletteCert::fixture('int-ca.crt')
                                 . PaletteCert::fixture('leaf-a.crt'),
                  key => PaletteCert::fixture('leaf-a.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
"error":"key_mismatch".*does not match the first certificate \(leaf CN=Palette Test Intermediate CA\) but certificate 2 \(CN=console.example.com\); put the certificate that belongs to the key first



=== TEST 5: a missing intermediate is chain_incomplete and names the missing issuer
--- request eval
main::json_upload(certificate => PaletteCert::fixture('leaf-a.crt'),
                  key => PaletteCert::fixture('leaf-a.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"error":"chain_incomplete","field":"certificate","message":"the issuer of the leaf CN=console.example.com, CN=Palette Test Intermediate CA, is in neither the certificate field nor the ca field; .+"\}$



=== TEST 6: a chain from another CA is chain_untrusted, and without a ca the system's trust store decides
--- request
GET /cert
--- steps
upload leaf-a ca=other-root-ca error=chain_untrusted
upload other-leaf error=chain_incomplete
upload leaf-a ca=none error=chain_untrusted
upload leaf-a chain=crt ca=none error=chain_incomplete
upload other-leaf ca=other-root-ca
handshake count=5 expect=other-leaf chain=1



=== TEST 7: a ca that is not a CA certificate is invalid_ca
--- request
GET /cert
--- steps
upload leaf-a ca=leaf-b error=invalid_ca
get source=self-signed generation=1



=== TEST 8: intermediates in any order are served in issuance order, without the self-signed root
--- request
GET /cert
--- steps
upload leaf-a chain=reversed
handshake count=5 expect=leaf-a chain=2
get sha256=leaf-a



=== TEST 9: expired and not yet valid leaves are refused
--- request
GET /cert
--- steps
upload leaf-expired error=expired
upload leaf-future error=not_yet_valid
get source=self-signed generation=1
handshake count=5 expect=self-signed



=== TEST 10: expired names the certificate and the date
--- request eval
main::json_upload(certificate => PaletteCert::fixture('leaf-expired.chain.pem'),
                  key => PaletteCert::fixture('leaf-expired.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"error":"expired","field":"certificate","message":"the leaf CN=console.example.com expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; renew it and upload the new one"\}$



=== TEST 11: a leaf that does not cover a name of names= is name_mismatch, listing the names
--- request eval
main::json_upload(certificate => PaletteCert::fixture('leaf-wrong-name.chain.pem'),
                  key => PaletteCert::fixture('leaf-wrong-name.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"error":"name_mismatch","field":"certificate","message":"the leaf CN=other.example.net does not cover console.example.com, 127.0.0.1, ::1 \(.+"\}$



=== TEST 12: DNS, IPv4 and IPv6 names are matched against the subject alternative names
--- http_config
    palette_cert_zone console:1m names=www.example.com,localhost,127.0.0.1,0:0:0:0:0:0:0:1;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- request
GET /cert
--- steps
upload leaf-a
get names=console.example.com,www.example.com,localhost,127.0.0.1,::1
upload leaf-wrong-name error=name_mismatch



=== TEST 13: without names= any name is accepted
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- request
GET /cert
--- steps
upload leaf-wrong-name
handshake count=5 expect=leaf-wrong-name



=== TEST 14: encrypted keys are encrypted_key, in PKCS#8 and traditional PEM
--- request
GET /cert
--- steps
upload leaf-a key=leaf-a.enc error=encrypted_key
upload leaf-b key=leaf-b.pkcs1-enc error=encrypted_key
get source=self-signed generation=1



=== TEST 15: text that is not PEM is invalid_certificate
--- request eval
main::json_upload(certificate => "hello, this is my certificate",
                  key => PaletteCert::fixture('leaf-a.key'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: text outside the PEM blocks \(near byte 0\); .+"\}$



=== TEST 16: junk between PEM blocks is invalid_certificate
--- request eval
main::json_upload(certificate => PaletteCert::fixture('leaf-a.crt')
                                 . "intermediate:\n"
                                 . PaletteCert::fixture('int-ca.crt'),
                  key => PaletteCert::fixture('leaf-a.key'),
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
"error":"invalid_certificate".*text outside the PEM blocks



=== TEST 17: a truncated PEM block is invalid_certificate
--- request eval
my $pem = PaletteCert::fixture('leaf-a.crt');
$pem =~ s/-----END CERTIFICATE-----\n//;
main::json_upload(certificate => $pem, key => PaletteCert::fixture('leaf-a.key'))
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
"error":"invalid_certificate".*a PEM block has no END line



=== TEST 18: CRLF line endings and white space around the blocks are accepted
--- request eval
my $chain = PaletteCert::fixture('leaf-a.chain.pem');
$chain =~ s/\n/\r\n/g;
main::json_upload(certificate => "\r\n  $chain  \r\n\t\n",
                  key => "\n" . PaletteCert::fixture('leaf-a.key') . "\n\n",
                  ca => PaletteCert::fixture('ca.pem'))
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- steps
handshake count=5 expect=leaf-a chain=2



=== TEST 19: a key that is not PEM is invalid_key, two keys are invalid_key
--- request eval
[main::json_upload(certificate => PaletteCert::fixture('leaf-a.chain.pem'),
                   key => "not a key"),
 main::json_upload(certificate => PaletteCert::fixture('leaf-a.chain.pem'),
                   key => PaletteCert::fixture('leaf-a.key')
                          . PaletteCert::fixture('leaf-b.key'))]
--- more_headers
Content-Type: application/json
--- error_code eval
[422, 422]
--- response_body_like eval
['"error":"invalid_key","field":"key"', '"error":"invalid_key".*holds 2 PEM blocks']



=== TEST 20: checks run in a fixed order: the key is checked before the chain, the chain before the dates
--- request eval
[main::json_upload(certificate => PaletteCert::fixture('leaf-expired.crt'),
                   key => PaletteCert::fixture('leaf-a.key'),
                   ca => PaletteCert::fixture('ca.pem')),
 main::json_upload(certificate => PaletteCert::fixture('leaf-expired.crt'),
                   key => PaletteCert::fixture('leaf-expired.key'),
                   ca => PaletteCert::fixture('ca.pem')),
 main::json_upload(certificate => PaletteCert::fixture('leaf-wrong-name.chain.pem')
                                  . "junk",
                   key => PaletteCert::fixture('leaf-a.key'),
                   ca => PaletteCert::fixture('ca.pem'))]
--- more_headers
Content-Type: application/json
--- error_code eval
[422, 422, 422]
--- response_body_like eval
['"error":"key_mismatch"', '"error":"chain_incomplete"', '"error":"invalid_certificate"']



=== TEST 21: trust= overrides the ca field: a chain to another CA is refused even when that CA is given
--- http_config
    palette_cert_zone console:1m trust=$TEST_NGINX_CERT_DIR/ca.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- request
GET /cert
--- steps
upload other-leaf ca=other-root-ca error=chain_untrusted
upload leaf-a ca=other-root-ca
handshake count=5 expect=leaf-a
