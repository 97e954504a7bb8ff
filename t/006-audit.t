# The audit trail: every change is logged at notice with the zone, the
# generation, the sha256, the subject, not_after, the client address and
# the authenticated user; key material is never logged.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com'));

# The request "PUT /cert" of an upload of a fixture, in JSON.
sub json_upload {
    my ($name) = @_;

    return "PUT /cert\n" . PaletteCert::Body::upload_json($name);
}

run_tests();

__DATA__

=== TEST 1: an upload is logged at notice with zone, generation, sha256, subject, not_after and client
--- config
    location = /cert { palette_cert_api console; }
--- request eval
main::json_upload('leaf-a')
--- more_headers
Content-Type: application/json
--- error_code: 200
--- error_log eval
my $sha = PaletteCert::fixture('leaf-a.sha256');
$sha =~ s{\s+$}{};
qr/\[notice\] .*palette_cert zone "console" uploaded: generation 2, sha256 $sha, subject "CN=console.example.com", not_after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, client: 127\.0\.0\.1, /
--- no_error_log eval
my $key = PaletteCert::fixture('leaf-a.key');
my ($line) = $key =~ /\n([A-Za-z0-9+\/=]{20,})\n/;
["PRIVATE KEY", substr($line, 0, 40), "[error]"]



=== TEST 2: a reset is logged too, and a rejected upload is not
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- steps
upload leaf-expired error=expired
delete
--- error_log eval
qr/\[notice\] .*palette_cert zone "console" reset to the self-signed default: generation 2, sha256 [0-9a-f]{64}, subject "CN=console.example.com", not_after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, client: 127\.0\.0\.1, /
--- no_error_log
palette_cert zone "console" uploaded
[error]



=== TEST 3: behind auth_basic, a request without credentials is refused and changes nothing
--- config
    location = /cert {
        auth_basic "certificates";
        auth_basic_user_file ../html/htpasswd;
        palette_cert_api console;
    }
--- user_files
>>> htpasswd
alice:{PLAIN}wonderland
--- request eval
main::json_upload('leaf-a')
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_headers
ETag: "1"
Cache-Control: no-store
--- error_log
no user/password was provided for basic authentication
--- no_error_log
palette_cert zone "console" uploaded



=== TEST 4: behind auth_basic, the audit line names the user
--- config
    location = /cert {
        auth_basic "certificates";
        auth_basic_user_file ../html/htpasswd;
        palette_cert_api console;
    }
--- user_files
>>> htpasswd
alice:{PLAIN}wonderland
--- request eval
main::json_upload('leaf-a')
--- more_headers
Content-Type: application/json
Authorization: Basic YWxpY2U6d29uZGVybGFuZA==
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- error_log eval
qr/\[notice\] .*palette_cert zone "console" uploaded: generation 2, sha256 [0-9a-f]{64}, subject "CN=console.example.com", not_after [^,]+, user "alice", client: 127\.0\.0\.1, /
--- no_error_log
[error]
