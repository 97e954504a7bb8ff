# The admin endpoint: methods, body types, answers, headers, If-Match,
# dry runs and nginx's own limits, all answered with the API's JSON.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

PaletteCert::defaults(PaletteCert::zone_config(
    'console:1m names=console.example.com,127.0.0.1,::1'));

# An upload of a fixture as a JSON body.
sub json_body {
    return PaletteCert::Body::upload_json(@_);
}

run_tests();

__DATA__

=== TEST 1: GET describes the self-signed default as JSON, with ETag and Cache-Control
--- request
GET /cert
--- more_headers
Accept: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
ETag: "1"
Cache-Control: no-store
--- response_body_like chomp
^\{"zone":"console","generation":1,"source":"self-signed","subject":"CN=console.example.com","issuer":"CN=console.example.com","serial":"[0-9a-f]+","names":\["console.example.com","127.0.0.1","::1"\],"not_before":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","not_after":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","sha256":"[0-9a-f]{64}","key_type":"EC P-256","chain_length":1,"certificate":"-----BEGIN CERTIFICATE-----\\n[^"]+-----END CERTIFICATE-----\\n","ca":null,"staged":null,"csr_pending":null\}$
--- no_error_log
[error]



=== TEST 2: HEAD answers like GET without a body
--- request
HEAD /cert
--- error_code: 200
--- response_headers
Content-Type: application/json
ETag: "1"
--- response_body



=== TEST 3: other methods get 405 with Allow, as JSON
--- request
PATCH /cert
--- error_code: 405
--- response_headers
Allow: GET, HEAD, PUT, POST, DELETE
ETag: "1"
Cache-Control: no-store
--- response_body_like chomp
"error":"method_not_allowed"



=== TEST 4: an upload without a content type gets 415
--- request
PUT /cert
{"certificate": "x", "key": "y"}
--- error_code: 415
--- response_headers
ETag: "1"
--- response_body_like chomp
^\{"error":"unsupported_media_type","field":null,"message":"send the upload as application/json, multipart/form-data or application/x-www-form-urlencoded"\}$



=== TEST 5: an upload in another content type gets 415
--- request
PUT /cert
certificate=x
--- more_headers
Content-Type: text/plain
--- error_code: 415
--- response_body_like chomp
"error":"unsupported_media_type"



=== TEST 6: malformed JSON gets 400 malformed_request
--- request
PUT /cert
{"certificate": "x", "key": }
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
^\{"error":"malformed_request","field":null,"message":"the body cannot be parsed: .+"\}$



=== TEST 7: a missing key gets 400 missing_field naming the field
--- request
PUT /cert
{"certificate": "-----BEGIN CERTIFICATE-----"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
^\{"error":"missing_field","field":"key",



=== TEST 8: an empty certificate gets 400 missing_field naming the field
--- request
POST /cert
certificate=%20%0A&key=abc
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body_like chomp
^\{"error":"missing_field","field":"certificate",



=== TEST 9: a field given twice is malformed
--- request
PUT /cert
{"certificate": "a", "key": "b", "key": "c"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
"error":"malformed_request".*given more than once



=== TEST 10: uploads in all three body types, PUT and POST, each answered with the new certificate
--- request
GET /cert
--- steps
upload leaf-a as=json method=PUT
get sha256=leaf-a source=uploaded generation=2
upload leaf-b as=multipart method=POST
get sha256=leaf-b generation=3
upload leaf-c as=urlencoded method=PUT
get sha256=leaf-c generation=4
upload leaf-a as=multipart method=PUT chain=reversed
get sha256=leaf-a generation=5
upload leaf-b as=json ca=none error=chain_untrusted
upload leaf-b chain=crt ca=none error=chain_incomplete
upload leaf-b chain=crt error=chain_incomplete
handshake count=10 expect=leaf-a chain=2
--- no_error_log
[error]



=== TEST 11: If-Match: a current generation is applied, a stale one gets 412 and changes nothing
--- request
GET /cert
--- steps
upload leaf-a if_match=current
upload leaf-b if_match=stale error=generation_mismatch
get sha256=leaf-a generation=2
upload leaf-b if_match=2
get sha256=leaf-b generation=3
delete if_match=2 error=generation_mismatch
delete if_match=current
get source=self-signed generation=4
handshake count=10 expect=self-signed



=== TEST 12: If-Match "*" always matches, and a weak tag never does
--- request eval
["PUT /cert\n" . main::json_body('leaf-a'), "PUT /cert\n" . main::json_body('leaf-a')]
--- more_headers eval
["If-Match: W/\"1\"\nContent-Type: application/json",
 "If-Match: *\nContent-Type: application/json"]
--- error_code eval
[412, 200]
--- response_body_like eval
['"error":"generation_mismatch"', '"generation":2,"source":"uploaded"']



=== TEST 13: a dry run answers as an upload would and changes nothing
--- request
GET /cert
--- steps
upload leaf-a dry_run
get source=self-signed generation=1
handshake count=10 expect=self-signed
upload leaf-a key=leaf-b dry_run error=key_mismatch
upload leaf-a
upload leaf-b dry_run as=multipart
get sha256=leaf-a generation=2
handshake count=10 expect=leaf-a



=== TEST 14: a dry run says so in its answer, with the generation it would get
--- request
GET /cert
--- steps
upload leaf-a dry_run
--- response_body_like chomp
"generation":1
--- no_error_log
[error]



=== TEST 15: a body over client_max_body_size gets 413 too_large as JSON
--- config
    location = /cert {
        client_max_body_size 100;
        palette_cert_api console;
    }
--- request eval
"PUT /cert\n" . ("x" x 1000)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_headers
ETag: "1"
Cache-Control: no-store
--- response_body_like chomp
^\{"error":"too_large","field":null,"message":"the upload is larger than 100 bytes



=== TEST 16: bodies that nginx keeps in a temporary file are read from it
--- config
    location = /cert {
        client_body_buffer_size 1k;
        client_body_in_file_only clean;
        palette_cert_api console;
    }
--- request
GET /cert
--- steps
upload leaf-b as=multipart
upload leaf-a as=json
upload leaf-c as=urlencoded
handshake count=10 expect=leaf-c
--- no_error_log
[error]



=== TEST 17: DELETE returns to the very same self-signed default
--- request
GET /cert
--- steps
handshake count=5 expect=self-signed
upload leaf-a
delete
get source=self-signed generation=3
handshake count=5 expect=self-signed
--- response_body_like chomp
"generation":1



=== TEST 18: JSON escapes (\u00XX, \/, \n) in the fields are decoded
--- request eval
require JSON::PP;
my $body = JSON::PP->new->canonical->encode({
    certificate => PaletteCert::fixture('leaf-a.chain.pem'),
    key => PaletteCert::fixture('leaf-a.key'),
    ca => PaletteCert::fixture('ca.pem'),
});
$body =~ s/-/\\u002d/g;
$body =~ s{/}{\\/}g;
$body =~ s/B/\\u0042/g;
"PUT /cert\n$body"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- steps
handshake count=5 expect=leaf-a



=== TEST 19: an invalid escape or a raw line break in a JSON string is malformed
--- request eval
["PUT /cert\n{\"certificate\": \"\\x41\", \"key\": \"k\"}",
 "PUT /cert\n{\"certificate\": \"a\nb\", \"key\": \"k\"}",
 "PUT /cert\n{\"certificate\": \"\\ud800\", \"key\": \"k\"}"]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body_like eval
['"error":"malformed_request".*invalid escape',
 '"error":"malformed_request".*raw control character',
 '"error":"malformed_request".*unpaired surrogate']



=== TEST 20: a change sent by a browser from another site gets 403 cross_origin and changes nothing
--- request eval
["PUT /cert\n" . main::json_body('leaf-a'),
 "DELETE /cert",
 "POST /cert\ncertificate=x&key=y",
 "GET /cert"]
--- more_headers eval
["Content-Type: application/json\nOrigin: https://evil.example",
 "Sec-Fetch-Site: cross-site",
 "Content-Type: application/x-www-form-urlencoded\nOrigin: null",
 "Origin: https://evil.example\nSec-Fetch-Site: cross-site"]
--- error_code eval
[403, 403, 403, 200]
--- response_body_like eval
['^\{"error":"cross_origin","field":null,"message":"a browser sent this change from another site; .+"\}\n$',
 '"error":"cross_origin"',
 '"error":"cross_origin"',
 '"generation":1,"source":"self-signed"']



=== TEST 21: a change from the endpoint's own origin, or from a client that sends no Origin, is accepted
--- request eval
["PUT /cert\n" . main::json_body('leaf-a'),
 "PUT /cert\n" . main::json_body('leaf-b'),
 "PUT /cert\n" . main::json_body('leaf-c')]
--- more_headers eval
["Content-Type: application/json\nOrigin: http://localhost\nSec-Fetch-Site: same-origin",
 "Content-Type: application/json",
 "Content-Type: application/json\nSec-Fetch-Site: none"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"generation":2', '"generation":3', '"generation":4']
