# The validation battery: every error code of the API for the uploads
# admins get wrong, each with its status, field and message, and the proof
# that a rejected upload changes nothing ("snapshot same": GET's answer and
# ETag, the certificates served and every byte of the store).  Also the
# uploads that look odd but are right, and the order in which the checks
# run when an upload has several problems.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

# Every block starts from the self-signed default, with a store of its own.
PaletteCert::defaults(
    http_config  => zone('names=console.example.com,127.0.0.1,::1'),
    config       => PaletteCert::api_config('console'),
    fresh_store  => '',
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

# the http{} part with these palette_cert_zone parameters
sub zone {
    my ($params) = @_;

    return PaletteCert::zone_server("console:1m $params", store => 'battery');
}

# the fixture files, one after the other
sub pem {
    return join '', map { PaletteCert::fixture($_) } @_;
}

# a JSON object of these members, in this order
sub json {
    return PaletteCert::Body::json_body(@_);
}

# the three fields of a good upload of leaf-a, as name => text, in this
# order; name => text pairs given replace the field of that name
sub good {
    my (%with) = @_;

    my %f = (PaletteCert::Body::upload_fields('leaf-a'), %with);

    return map { $_ => $f{$_} } qw(certificate key ca);
}

# the fields of good() as multipart parts; with $files, each part a file
# named after its field, as "curl -F certificate=@certificate.pem" sends
sub parts {
    my ($files) = @_;

    my @f = good();
    my @parts;

    while (my ($name, $value) = splice @f, 0, 2) {
        push @parts, [$name, $value,
                      $files ? ("$name.pem", 'application/x-pem-file') : ()];
    }

    return @parts;
}

# a multipart/form-data body: each part [name, content, filename, type]
sub multipart {
    return PaletteCert::Body::multipart_body(@_);
}

# an application/x-www-form-urlencoded body of these fields, in this order
sub form {
    return PaletteCert::Body::form_body(@_);
}

# a PEM block cut short: its BEGIN line, $n lines of it and its END line
sub cut_pem {
    my ($pem, $n) = @_;

    my @lines = split /\n/, $pem;

    return join("\n", @lines[0 .. $n], $lines[-1]) . "\n";
}

# a body in chunked transfer encoding, in chunks of $size bytes
sub chunked {
    my ($body, $size) = @_;

    my $out = '';

    for (my $off = 0; $off < length $body; $off += $size) {
        my $chunk = substr $body, $off, $size;
        $out .= sprintf("%x\r\n", length $chunk) . "$chunk\r\n";
    }

    return $out . "0\r\n\r\n";
}

run_tests();

__DATA__

=== TEST 1: an empty body is missing_field for the certificate, and changes nothing
--- request eval
["GET /cert", "PUT /cert\n"]
--- more_headers
Content-Type: application/json
Content-Length: 0
--- error_code eval
[200, 400]
--- response_body_like eval
['"generation":1,"source":"self-signed"',
 '^\{"error":"missing_field","field":"certificate","message":".+"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same



=== TEST 2: text that is not PEM is invalid_certificate, and changes nothing
--- request eval
["GET /cert",
 "PUT /cert\n" . main::json(certificate => "this is my certificate",
                            key => main::pem('leaf-a.key'))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 422]
--- response_body_like eval
['"generation":1',
 '^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: text outside the PEM blocks \(near byte 0\); .+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same



=== TEST 3: the DER bytes of a certificate, sent as a multipart file, are invalid_certificate, and change nothing
--- request eval
["GET /cert",
 "PUT /cert\n" . main::multipart('palette-boundary-1',
                                 ['certificate', main::pem('leaf-a.der'), 'leaf-a.der'],
                                 ['key', main::pem('leaf-a.key'), 'leaf-a.key'],
                                 ['ca', main::pem('ca.pem'), 'ca.pem'])]
--- more_headers
Content-Type: multipart/form-data; boundary=palette-boundary-1
--- error_code eval
[200, 422]
--- response_body_like eval
['"generation":1',
 '^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: .+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same



=== TEST 4: a truncated PEM block is invalid_certificate, whether the END line or half of it is missing, and changes nothing
--- request eval
my $pem = main::pem('leaf-a.crt');
(my $no_end = $pem) =~ s/-----END CERTIFICATE-----\n//;
my $half = main::cut_pem($pem, 4);
["GET /cert",
 "PUT /cert\n" . main::json(certificate => $no_end . main::pem('int-ca.crt'),
                            key => main::pem('leaf-a.key'),
                            ca => main::pem('ca.pem')),
 "PUT /cert\n" . main::json(certificate => $half . main::pem('int-ca.crt'),
                            key => main::pem('leaf-a.key'),
                            ca => main::pem('ca.pem'))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 422, 422]
--- response_body_like eval
['"generation":1',
 '^\{"error":"invalid_certificate","field":"certificate","message":".+"\}$',
 '^\{"error":"invalid_certificate","field":"certificate","message":"certificate 1 of the certificate field cannot be parsed.+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same



=== TEST 5: text before, between or after the PEM blocks is invalid_certificate, and changes nothing
--- request eval
my ($leaf, $int) = (main::pem('leaf-a.crt'), main::pem('int-ca.crt'));
["GET /cert",
 "PUT /cert\n" . main::json(main::good(certificate => "subject=CN=console.example.com\n$leaf$int")),
 "PUT /cert\n" . main::json(main::good(certificate => "$leaf\nintermediate:\n$int")),
 "PUT /cert\n" . main::json(main::good(certificate => "$leaf$int\n-- \nsent from my phone\n"))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 422, 422, 422]
--- response_body_like eval
['"generation":1',
 '^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: text outside the PEM blocks \(near byte 0\); .+"\}$',
 '^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: text outside the PEM blocks \(near byte \d+\); .+"\}$',
 '^\{"error":"invalid_certificate","field":"certificate","message":"the certificate field is not a PEM bundle: text outside the PEM blocks \(near byte \d+\); .+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same
request 4
snapshot same



=== TEST 6: text around the key or the CA is invalid_key or invalid_ca, and changes nothing
--- request eval
["GET /cert",
 "PUT /cert\n" . main::json(main::good(key => "my key:\n" . main::pem('leaf-a.key'))),
 "PUT /cert\n" . main::json(main::good(ca => main::pem('ca.pem') . "(the root)\n"))]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 422, 422]
--- response_body_like eval
['"generation":1',
 '^\{"error":"invalid_key","field":"key","message":"the key field is not PEM: text outside the PEM blocks.+"\}$',
 '^\{"error":"invalid_ca","field":"ca","message":"the ca field is not a PEM bundle: text outside the PEM blocks.+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same



=== TEST 7: CRLF line endings, white space at the end of every line and blank lines between the blocks are accepted
--- request eval
my @f = main::good();
for my $v (@f[1, 3, 5]) {
    $v =~ s/\n/ \t\r\n/g;
    $v = "\r\n \r\n$v\r\n\t\r\n";
}
$f[1] =~ s/(-----END CERTIFICATE-----[ \t]*\r\n)/$1\r\n  \r\n/;
["GET /cert", "PUT /cert\n" . main::json(@f)]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"']
--- steps
request 2
get sha256=leaf-a generation=2 chain=leaf-a+int-ca
handshake count=5 expect=leaf-a served=leaf-a+int-ca



=== TEST 8: two keys in the key field are invalid_key, and change nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a key=leaf-a+leaf-b error=invalid_key field=key message="holds 2 PEM blocks"
snapshot same
upload leaf-a key=leaf-a+leaf-a error=invalid_key field=key message="holds 2 PEM blocks"
snapshot same



=== TEST 9: the key of another certificate is key_mismatch naming the leaf, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a key=leaf-c error=key_mismatch field=key message="^the private key does not match the certificate \(leaf CN=console.example.com\); "
snapshot same
upload leaf-c key=leaf-b error=key_mismatch field=key message="\(leaf CN=www.example.com\)"
snapshot same



=== TEST 10: an encrypted key is encrypted_key, as PKCS#8 and as traditional PEM, and changes nothing
--- request
GET /cert
--- steps
upload leaf-c
snapshot record store=battery
upload leaf-a key=leaf-a.enc error=encrypted_key field=key message="passphrase"
snapshot same
upload leaf-b key=leaf-b.pkcs1-enc error=encrypted_key field=key message="passphrase"
snapshot same



=== TEST 11: PKCS#1 RSA, SEC1 EC and PKCS#8 keys are accepted
--- request
GET /cert
--- steps
upload leaf-b key=leaf-b.pkcs1 key_type="RSA 2048"
handshake count=5 expect=leaf-b
upload leaf-a key=leaf-a.sec1 key_type="EC P-256"
handshake count=5 expect=leaf-a
upload leaf-c key_type="EC P-384"
handshake count=5 expect=leaf-c
upload leaf-b key_type="RSA 2048"
get sha256=leaf-b generation=5 key_type="RSA 2048"



=== TEST 12: a leaf that is not first is key_mismatch, naming the certificate the key belongs to, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a certificate=int-ca.crt+leaf-a.crt error=key_mismatch field=key message="does not match the first certificate \(leaf CN=Palette Test Intermediate CA\) but certificate 2 \(CN=console.example.com\); put the certificate that belongs to the key first"
snapshot same
upload leaf-deep certificate=int-ca.crt+int2.crt+leaf-deep.crt error=key_mismatch field=key message="but certificate 3 \(CN=console.example.com\)"
snapshot same



=== TEST 13: intermediates in any order are accepted and served in issuance order, in GET and in the handshake
--- request
GET /cert
--- steps
upload leaf-deep certificate=leaf-deep.crt+int-ca.crt+int2.crt
get sha256=leaf-deep chain=leaf-deep+int2+int-ca
handshake count=5 expect=leaf-deep chain=3 served=leaf-deep+int2+int-ca
upload leaf-deep chain=chain
get sha256=leaf-deep chain=leaf-deep+int2+int-ca
handshake count=5 expect=leaf-deep served=leaf-deep+int2+int-ca



=== TEST 14: a self-signed root in the certificate field is accepted and not served
--- request
GET /cert
--- steps
upload leaf-a certificate=leaf-a.crt+int-ca.crt+root-ca.crt
get sha256=leaf-a chain=leaf-a+int-ca
handshake count=5 expect=leaf-a chain=2 served=leaf-a+int-ca
upload leaf-deep chain=reversed
get sha256=leaf-deep chain=leaf-deep+int2+int-ca
handshake count=5 expect=leaf-deep served=leaf-deep+int2+int-ca



=== TEST 15: a root in the certificate field is no trust anchor: without a ca the chain is chain_untrusted, and nothing changes
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a certificate=leaf-a.crt+int-ca.crt+root-ca.crt ca=none error=chain_untrusted field=certificate message="the system's trusted CAs"
snapshot same



=== TEST 16: a missing intermediate is chain_incomplete naming the missing issuer, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a chain=crt error=chain_incomplete field=certificate message="^the issuer of the leaf CN=console.example.com, CN=Palette Test Intermediate CA, is in neither the certificate field nor the ca field; "
snapshot same
upload leaf-deep certificate=leaf-deep.crt+int-ca.crt error=chain_incomplete field=certificate message="^the issuer of the leaf CN=console.example.com, CN=Palette Test Intermediate 2 CA, is in neither"
snapshot same



=== TEST 17: a gap deeper in the chain is chain_untrusted naming the certificate whose issuer is missing, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-deep certificate=leaf-deep.crt+int2.crt error=chain_untrusted field=certificate message="CN=Palette Test Intermediate 2 CA \(issued by CN=Palette Test Intermediate CA\)"
snapshot same



=== TEST 18: a chain to another CA is chain_untrusted, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a ca=other-root-ca error=chain_untrusted field=certificate message="does not lead to the ca field"
snapshot same
upload other-leaf error=chain_incomplete field=certificate message="CN=Palette Other Root CA"
snapshot same



=== TEST 19: a leaf whose signature does not verify is chain_untrusted, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-badsig error=chain_untrusted field=certificate message="signature.* at CN=console.example.com \(issued by CN=Palette Test Intermediate CA\)"
snapshot same



=== TEST 20: a ca that is not a CA certificate is invalid_ca naming it, and changes nothing
--- request
GET /cert
--- steps
upload leaf-c
snapshot record store=battery
upload leaf-a ca=leaf-b error=invalid_ca field=ca message="^CN=console.example.com in the ca field is not a CA certificate; "
snapshot same
upload leaf-a ca=root-ca+leaf-c error=invalid_ca field=ca message="^CN=www.example.com in the ca field"
snapshot same



=== TEST 21: several CAs in the ca field are accepted, and an intermediate as the ca anchors the chain and is served
--- request
GET /cert
--- steps
upload leaf-a ca=other-root-ca+root-ca
handshake count=5 expect=leaf-a served=leaf-a+int-ca
upload leaf-c chain=crt ca=int-ca
get sha256=leaf-c chain=leaf-c+int-ca
handshake count=5 expect=leaf-c served=leaf-c+int-ca



=== TEST 22: an expired leaf is expired naming it and its date, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-expired error=expired field=certificate message="^the leaf CN=console.example.com expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; "
snapshot same



=== TEST 23: an expired intermediate is expired naming it, though the leaf is valid, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-under-expired-int error=expired field=certificate message="^the chain certificate CN=Palette Expired Intermediate CA expired on \d{4}-\d\d-\d\dT"
snapshot same



=== TEST 24: a leaf not valid yet is not_yet_valid naming it and its date, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-future error=not_yet_valid field=certificate message="^the leaf CN=console.example.com is not valid before \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; "
snapshot same



=== TEST 25: DNS names are matched against the DNS subject alternative names
--- http_config eval
main::zone('names=console.example.com,www.example.com,localhost')
--- request
GET /cert
--- steps
upload leaf-a
get names=console.example.com,www.example.com,localhost,127.0.0.1,::1
snapshot record store=battery
upload leaf-wrong-name error=name_mismatch field=certificate message="^the leaf CN=other.example.net does not cover console.example.com, www.example.com, localhost \("
snapshot same



=== TEST 26: a wildcard name covers one label
--- http_config eval
main::zone('names=www.example.com,console.example.com')
--- request
GET /cert
--- steps
upload leaf-wildcard
get sha256=leaf-wildcard names=*.example.com
handshake count=5 expect=leaf-wildcard sni=www.example.com



=== TEST 27: a wildcard name covers neither two labels nor the bare domain: name_mismatch lists them, and nothing changes
--- http_config eval
main::zone('names=www.example.com,a.b.example.com,example.com')
--- request
GET /cert
--- steps
snapshot record store=battery
upload leaf-wildcard error=name_mismatch field=certificate message="^the leaf CN=\*.example.com does not cover a.b.example.com, example.com \("
snapshot same



=== TEST 28: IPv4 and IPv6 names are matched against the IP subject alternative names, whatever the IPv6 spelling
--- http_config eval
main::zone('names=127.0.0.1,0:0:0:0:0:0:0:1')
--- request
GET /cert
--- steps
upload leaf-ip-only
get sha256=leaf-ip-only names=127.0.0.1,::1
snapshot record store=battery
upload leaf-wildcard error=name_mismatch field=certificate message="does not cover 127.0.0.1, 0:0:0:0:0:0:0:1 \("
snapshot same



=== TEST 29: an IP address missing from the subject alternative names is name_mismatch naming only it, and changes nothing
--- http_config eval
main::zone('names=127.0.0.1,::1,10.0.0.5')
--- request
GET /cert
--- steps
snapshot record store=battery
upload leaf-a error=name_mismatch field=certificate message="^the leaf CN=console.example.com does not cover 10.0.0.5 \("
snapshot same



=== TEST 30: a DNS name is not covered by IP addresses, nor an IP address by a DNS name
--- http_config eval
main::zone('names=console.example.com,127.0.0.1')
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-ip-only error=name_mismatch field=certificate message="does not cover console.example.com \("
snapshot same
upload leaf-wrong-name error=name_mismatch field=certificate message="does not cover console.example.com, 127.0.0.1 \("
snapshot same



=== TEST 31: a common name without subject alternative names covers nothing: name_mismatch, and nothing changes
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-cn-only error=name_mismatch field=certificate message="^the leaf CN=console.example.com does not cover console.example.com, 127.0.0.1, ::1 \("
snapshot same



=== TEST 32: an RSA key of 1024 bits is weak_key, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-rsa1024 error=weak_key field=key message="^the key of the leaf CN=console.example.com is RSA 1024, under 2048 bits; "
snapshot same



=== TEST 33: a SHA-1 signature is weak_key naming the certificate, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-sha1 error=weak_key field=certificate message="^CN=console.example.com is signed with .*SHA1"
snapshot same



=== TEST 34: curves other than P-256, P-384 and P-521 are weak_key, and change nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-p224 error=weak_key field=key message="^the key of the leaf CN=console.example.com is EC secp224r1; "
snapshot same
upload leaf-k256 error=weak_key field=key message="^the key of the leaf CN=console.example.com is EC secp256k1; "
snapshot same



=== TEST 35: an EC P-521 key is accepted, as key_type "EC P-521"
--- request
GET /cert
--- steps
upload leaf-p521 key_type="EC P-521"
get sha256=leaf-p521 key_type="EC P-521"
handshake count=5 expect=leaf-p521 chain=2



=== TEST 36: a leaf that is a CA is not_server_certificate, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-ca-true error=not_server_certificate field=certificate message="^the leaf CN=console.example.com is a CA certificate"
snapshot same



=== TEST 37: a leaf for client authentication only is not_server_certificate, and changes nothing
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-client-only error=not_server_certificate field=certificate message="^the extended key usage of the leaf CN=console.example.com does not include serverAuth"
snapshot same



=== TEST 38: a body over client_max_body_size is 413 too_large as JSON, and changes nothing
--- config
    location = /cert {
        client_max_body_size 4k;
        palette_cert_api console;
    }
--- request eval
["GET /cert",
 "PUT /cert\n" . main::json(certificate => "A" x 10000, key => "B")]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 413]
--- response_headers eval
["Content-Type: application/json\nETag: \"1\"\nCache-Control: no-store",
 "Content-Type: application/json\nETag: \"2\"\nCache-Control: no-store"]
--- response_body_like eval
['"generation":1',
 '^\{"error":"too_large","field":null,"message":"the upload is larger than 4096 bytes.*"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same
--- no_error_log
[alert]
[crit]
PRIVATE KEY-----



=== TEST 39: a chunked body over client_max_body_size is 413 too_large as JSON, and changes nothing
--- config
    location = /cert {
        client_max_body_size 4k;
        palette_cert_api console;
    }
--- request eval
["GET /cert",
 "PUT /cert\n" . main::chunked(main::json(certificate => "A" x 10000, key => "B"), 1000)]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/json\nTransfer-Encoding: chunked"]
--- error_code eval
[200, 413]
--- response_headers eval
["Content-Type: application/json\nETag: \"1\"\nCache-Control: no-store",
 "Content-Type: application/json\nETag: \"2\"\nCache-Control: no-store"]
--- response_body_like eval
['"generation":1',
 '^\{"error":"too_large","field":null,"message":"the upload is larger than 4096 bytes.*"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same
--- no_error_log
[alert]
[crit]
PRIVATE KEY-----



=== TEST 40: a chunked upload within client_max_body_size is accepted
--- request eval
["GET /cert",
 "PUT /cert\n" . main::chunked(main::json(main::good()), 500)]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/json\nTransfer-Encoding: chunked"]
--- error_code eval
[200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"']
--- steps
request 2
get sha256=leaf-a generation=2
handshake count=5 expect=leaf-a chain=2



=== TEST 41: an upload in another content type is 415, and changes nothing
--- request eval
my $body = main::json(main::good());
["GET /cert", "PUT /cert\n$body", "PUT /cert\n$body", "POST /cert\n$body",
 "PUT /cert\n$body"]
--- more_headers eval
["", "Content-Type: text/plain", "Content-Type: multipart/mixed; boundary=x",
 "Content-Type: application/jsonx", ""]
--- error_code eval
[200, 415, 415, 415, 415]
--- response_body_like eval
['"generation":1',
 '^\{"error":"unsupported_media_type","field":null,"message":".+"\}$',
 '^\{"error":"unsupported_media_type","field":null,"message":".+"\}$',
 '^\{"error":"unsupported_media_type","field":null,"message":".+"\}$',
 '^\{"error":"unsupported_media_type","field":null,"message":".+"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same
request 4
snapshot same
request 5
snapshot same



=== TEST 42: media type names and parameters are read as HTTP says: any letter case, a charset
--- request eval
my $body = main::json(main::good());
["GET /cert", "PUT /cert\n$body", "PUT /cert\n$body"]
--- more_headers eval
["", "Content-Type: application/json; charset=utf-8",
 "Content-Type: Application/JSON"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"',
 '"generation":3,"source":"uploaded"']



=== TEST 43: malformed JSON is 400 malformed_request, and changes nothing
--- request eval
my $ok = main::json(main::good());
["GET /cert",
 "PUT /cert\n" . substr($ok, 0, length($ok) - 1),
 "PUT /cert\n[$ok]",
 "PUT /cert\n$ok $ok",
 "PUT /cert\n{\"certificate\": \"x\", \"key\": }",
 "PUT /cert\n{'certificate': 'x', 'key': 'y'}"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 400, 400, 400, 400, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same
request 4
snapshot same
request 5
snapshot same
request 6
snapshot same



=== TEST 44: JSON that is not UTF-8 is malformed_request, and changes nothing
--- request eval
my $body = main::json(main::good());
$body =~ s/"key": "/"key": "\xff\xfe/;
["GET /cert", "PUT /cert\n$body"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$']
--- steps
upload leaf-a
snapshot record store=battery
request 2
snapshot same



=== TEST 45: JSON escapes in the fields are decoded: \n, \r\n, \u000A, \u00XX and \/
--- request eval
my $body = main::json(main::good());
my $n = 0;
$body =~ s/\\n/++$n % 3 == 0 ? '\\u000A' : $n % 3 == 1 ? '\\r\\n' : '\\u000a'/ge;
$body =~ s/-----BEGIN/\\u002d----BEGIN/g;
$body =~ s{/}{\\/}g;
$body =~ s/M/\\u004d/g;
["GET /cert", "PUT /cert\n$body"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"']
--- steps
request 2
get sha256=leaf-a generation=2
handshake count=5 expect=leaf-a chain=2



=== TEST 46: a field given twice is malformed_request in JSON, multipart and urlencoded bodies, and changes nothing
--- request eval
my %f = main::good();
my $key = main::pem('leaf-a.key');
["GET /cert",
 "PUT /cert\n" . main::json(main::good(), key => $key),
 "PUT /cert\n" . main::multipart('palette-boundary-2',
                                 main::parts(),
                                 ['key', $key]),
 "PUT /cert\n" . main::form(main::good(), certificate => $f{certificate})]
--- more_headers eval
["", "Content-Type: application/json",
 "Content-Type: multipart/form-data; boundary=palette-boundary-2",
 "Content-Type: application/x-www-form-urlencoded"]
--- error_code eval
[200, 400, 400, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .*given more than once.*"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .*given more than once.*"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .*given more than once.*"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same
request 4
snapshot same



=== TEST 47: a malformed urlencoded body is malformed_request, and changes nothing
--- request eval
my $ok = main::form(main::good());
["GET /cert", "POST /cert\n$ok%", "POST /cert\n$ok%zz"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 400, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same



=== TEST 48: multipart parts with file names and content types, and parts without, are accepted
--- request eval
["GET /cert",
 "PUT /cert\n" . main::multipart('palette-boundary-3',
                                 main::parts('files')),
 "POST /cert\n" . main::multipart('palette-boundary-3',
                                  main::parts())]
--- more_headers
Content-Type: multipart/form-data; boundary=palette-boundary-3
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"',
 '"generation":3,"source":"uploaded"']
--- steps
request 3
get sha256=leaf-a generation=3
handshake count=5 expect=leaf-a chain=2



=== TEST 49: a quoted multipart boundary is accepted
--- request eval
["GET /cert",
 "PUT /cert\n" . main::multipart("palette boundary=1 'q'",
                                 main::parts('files'))]
--- more_headers
Content-Type: multipart/form-data; boundary="palette boundary=1 'q'"
--- error_code eval
[200, 200]
--- response_body_like eval
['"generation":1', '"generation":2,"source":"uploaded"']
--- steps
request 2
get sha256=leaf-a generation=2



=== TEST 50: a multipart body without its final boundary, or without any, is malformed_request, and changes nothing
--- request eval
my $body = main::multipart('palette-boundary-4',
                           main::parts('files'));
(my $cut = $body) =~ s/--palette-boundary-4--\r\n$//;
["GET /cert", "PUT /cert\n$cut", "PUT /cert\n" . main::json(main::good())]
--- more_headers
Content-Type: multipart/form-data; boundary=palette-boundary-4
--- error_code eval
[200, 400, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$',
 '^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same
request 3
snapshot same



=== TEST 51: a multipart content type without a boundary is malformed_request, and changes nothing
--- request eval
["GET /cert",
 "PUT /cert\n" . main::multipart('palette-boundary-5',
                                 main::parts())]
--- more_headers
Content-Type: multipart/form-data
--- error_code eval
[200, 400]
--- response_body_like eval
['"generation":1',
 '^\{"error":"malformed_request","field":null,"message":".+"\}$']
--- steps
upload leaf-b
snapshot record store=battery
request 2
snapshot same



=== TEST 52: order of checks: the certificate field is parsed before the key field
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a certificate=leaf-a.key key=leaf-a.enc error=invalid_certificate field=certificate message="^block 1 of the certificate field is .PRIVATE KEY., not .CERTIFICATE."
snapshot same
upload leaf-a as=multipart certificate=leaf-a.der key=leaf-a+leaf-b error=invalid_certificate field=certificate
snapshot same



=== TEST 53: order of checks: the key field is parsed before the ca field
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a key=leaf-a.enc ca=leaf-b error=encrypted_key field=key
snapshot same
upload leaf-a key=leaf-a+leaf-c ca=leaf-b error=invalid_key field=key
snapshot same



=== TEST 54: order of checks: the fields are parsed before the key is matched against the leaf
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a key=leaf-c ca=leaf-b error=invalid_ca field=ca
snapshot same



=== TEST 55: order of checks: the key is matched before the chain is verified
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-a chain=crt key=leaf-c error=key_mismatch field=key
snapshot same
upload leaf-a ca=other-root-ca key=leaf-c error=key_mismatch field=key
snapshot same



=== TEST 56: order of checks: the chain is verified before the dates
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-expired chain=crt error=chain_incomplete field=certificate
snapshot same
upload leaf-under-expired-int ca=other-root-ca error=chain_untrusted field=certificate
snapshot same



=== TEST 57: order of checks: the dates are checked before the names
--- http_config eval
main::zone('names=console.example.com,missing.example.org')
--- request
GET /cert
--- steps
snapshot record store=battery
upload leaf-expired error=expired field=certificate
snapshot same
upload leaf-future error=not_yet_valid field=certificate
snapshot same
upload leaf-under-expired-int error=expired field=certificate
snapshot same



=== TEST 58: order of checks: the names are checked before the policy
--- http_config eval
main::zone('names=console.example.com,missing.example.org')
--- request
GET /cert
--- steps
snapshot record store=battery
upload leaf-rsa1024 error=name_mismatch field=certificate message="does not cover missing.example.org \("
snapshot same
upload leaf-sha1 error=name_mismatch field=certificate
snapshot same
upload leaf-k256 error=name_mismatch field=certificate
snapshot same
upload leaf-ca-true error=name_mismatch field=certificate
snapshot same
upload leaf-client-only error=name_mismatch field=certificate
snapshot same



=== TEST 59: order of checks: within the policy, the key strength, then the signature digests, then the server usage
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=battery
upload leaf-weak-all error=weak_key field=key message="is RSA 1024"
snapshot same
upload leaf-sha1-client error=weak_key field=certificate message="is signed with"
snapshot same
