# Access control around the admin endpoint, as the README shows it:
# allow/deny, auth_basic, auth_request, satisfy any and an admin listener
# that requires a client certificate; the refusal of changes sent by a
# browser from another site; and trust=, which pins the CA an upload must
# chain to.
#
# Every refused request is followed by "snapshot same": GET's answer, the
# certificate a TLS handshake is given and every file of the store are
# what they were.  The API is reachable, for those checks, at /cert, a
# location without access control; with "--- guard", also at
# /palette/cert, behind the directives that section holds, where the
# requests under test go.  A password file, palette.htpasswd, is there
# for auth_basic (alice's password is "wonderland"), and /auth, with
# /check behind it, for auth_request: a stand-in authorization service
# that wants the token "s3cret" in X-Admin-Token.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Body qw(form_body upload_fields);
use PaletteCert::Check qw(sha);

no_shuffle();

my $API = PaletteCert::api_config('console');

my $GUARDED = <<'_EOC_';

    location = /palette/cert {
%s
        palette_cert_api console;
    }

    location = /auth {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }

    location = /check {
        if ($http_x_admin_token != "s3cret") {
            return 401;
        }

        return 204;
    }
_EOC_

# An admin listener on $TEST_NGINX_TLS_PORT2 that requires a client
# certificate of the test CA, with the API at /palette/cert.
my $ADMIN_LISTENER = <<'_EOC_';

    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;

        ssl_verify_client on;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/ca.pem;

        location = /palette/cert {
            palette_cert_api console;
        }
    }
_EOC_

PaletteCert::defaults(
    http_config  => zone(),
    config       => $API,
    fresh_store  => '',
    no_error_log => "[error]\n[alert]\n",
    user_files   => <<'_EOF_',
>>> palette.htpasswd
alice:$6$palette1$ai/JFOgZPol.6vfJcu.KNhtCpb5vSZqQnoGiQfDOixF2YF5G0ZhOb7Ogt3Zs7k/GpHzvnCy2p5jNXtyyL6tNR1
_EOF_
);

Test::Nginx::Socket::add_block_preprocessor(sub {
    my ($block) = @_;

    my $guard = eval { $block->guard };

    if (defined $guard) {
        $guard =~ s/^(?=.)/        /mg;
        $block->set_value('config', $API . sprintf $GUARDED, $guard);
    }

    return $block;
});

# The http{} part: the zone, with these parameters too, and its server.
sub zone {
    my ($params) = @_;

    return PaletteCert::zone_server('console:1m names=console.example.com'
                                    . ($params // ''), store => 'access');
}

# ... and the admin listener.
sub with_admin_listener {
    return zone() . $ADMIN_LISTENER;
}

# An upload of FIXTURE (its chain, its key and the test CA) as the request
# "METHOD PATH", in JSON or as an HTML form would post it.

sub upload_json {
    my ($request, $fixture) = @_;

    return "$request\n" . PaletteCert::Body::upload_json($fixture);
}

sub upload_form {
    my ($request, $fixture) = @_;

    return "$request\n" . form_body(upload_fields($fixture));
}

sub sha256_of {
    return sha(@_);
}

run_tests();

__DATA__

=== TEST 1: allow/deny: an upload and a DELETE from an address that is not allowed get 403 and change nothing
--- guard
allow 127.0.0.2;
deny all;
--- request eval
["GET /cert",
 main::upload_form("POST /palette/cert", "leaf-b"),
 "DELETE /palette/cert"]
--- more_headers eval
["",
 "Content-Type: application/x-www-form-urlencoded",
 ""]
--- error_code eval
[200, 403, 403]
--- response_headers eval
["", "ETag: \"2\"\nCache-Control: no-store", "ETag: \"2\"\nCache-Control: no-store"]
--- response_body_like eval
['"source":"self-signed"', '<title>403 Forbidden</title>', '<title>403 Forbidden</title>']
--- steps
upload leaf-a
snapshot record store=access
request 3
snapshot same
--- no_error_log
[alert]
[crit]



=== TEST 2: allow/deny: an upload and a DELETE from an allowed address are applied
--- guard
allow 127.0.0.1;
deny all;
--- request
GET /palette/cert
--- steps
upload leaf-a api=/palette/cert as=urlencoded method=POST
handshake count=5 expect=leaf-a
store access sha256=leaf-a api=/palette/cert
delete api=/palette/cert
handshake count=5 expect=self-signed



=== TEST 3: auth_basic: an upload and a DELETE without credentials get 401 and change nothing
--- guard
auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
["GET /cert",
 main::upload_json("PUT /palette/cert", "leaf-b"),
 "DELETE /palette/cert"]
--- more_headers eval
["",
 "Content-Type: application/json",
 ""]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["", "WWW-Authenticate: Basic realm=\"certificates\"\nETag: \"2\"",
 "WWW-Authenticate: Basic realm=\"certificates\"\nETag: \"2\""]
--- response_body_like eval
['"source":"self-signed"', '<title>401 Authorization Required</title>', '<title>401 Authorization Required</title>']
--- steps
upload leaf-a
snapshot record store=access
request 3
snapshot same
--- no_error_log
[alert]
[crit]



=== TEST 4: auth_basic: a wrong password or an unknown user gets 401 and changes nothing
--- guard
auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
["GET /cert",
 main::upload_json("PUT /palette/cert", "leaf-b"),
 main::upload_json("PUT /palette/cert", "leaf-b"),
 "DELETE /palette/cert"]
--- more_headers eval
["",
 "Content-Type: application/json\nAuthorization: Basic YWxpY2U6bG9va2luZy1nbGFzcw==",
 "Content-Type: application/json\nAuthorization: Basic bWFsbG9yeTp3b25kZXJsYW5k",
 "Authorization: Basic YWxpY2U6bG9va2luZy1nbGFzcw=="]
--- error_code eval
[200, 401, 401, 401]
--- steps
upload leaf-a
snapshot record store=access
request 4
snapshot same
--- no_error_log
[alert]
[crit]



=== TEST 5: auth_basic: an upload with the right password is applied, and its audit line names the user
--- guard
auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
main::upload_json("PUT /palette/cert", "leaf-a")
--- more_headers
Content-Type: application/json
Authorization: Basic YWxpY2U6d29uZGVybGFuZA==
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- steps
handshake count=5 expect=leaf-a
--- error_log eval
my $sha = main::sha256_of('leaf-a');
qr/\[notice\] .*palette_cert zone "console" uploaded: generation 2, sha256 $sha, subject "CN=console.example.com", not_after [^,]+, user "alice", client: 127\.0\.0\.1, /



=== TEST 6: auth_basic: a DELETE with the right password is applied, and its audit line names the user
--- guard
auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request
DELETE /palette/cert
--- more_headers
Authorization: Basic YWxpY2U6d29uZGVybGFuZA==
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"self-signed"
--- steps
handshake count=5 expect=self-signed
--- error_log eval
qr/\[notice\] .*palette_cert zone "console" reset to the self-signed default: generation 2, sha256 [0-9a-f]{64}, subject "CN=console.example.com", not_after [^,]+, user "alice", client: 127\.0\.0\.1, /



=== TEST 7: auth_request: an upload and a DELETE without the token, or with a wrong one, get 401 and change nothing
--- guard
auth_request /auth;
--- request eval
["GET /cert",
 main::upload_json("PUT /palette/cert", "leaf-b"),
 main::upload_json("PUT /palette/cert", "leaf-b"),
 "DELETE /palette/cert",
 "DELETE /palette/cert"]
--- more_headers eval
["",
 "Content-Type: application/json",
 "Content-Type: application/json\nX-Admin-Token: s3cret-not",
 "",
 "X-Admin-Token: S3CRET"]
--- error_code eval
[200, 401, 401, 401, 401]
--- steps
upload leaf-a
snapshot record store=access
request 5
snapshot same



=== TEST 8: auth_request: with the token, the upload's body still reaches the API and a DELETE is applied
--- guard
auth_request /auth;
--- request eval
[main::upload_json("PUT /palette/cert", "leaf-a"),
 main::upload_form("POST /palette/cert", "leaf-b"),
 "DELETE /palette/cert"]
--- more_headers eval
["Content-Type: application/json\nX-Admin-Token: s3cret",
 "Content-Type: application/x-www-form-urlencoded\nX-Admin-Token: s3cret",
 "X-Admin-Token: s3cret"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"generation":2,"source":"uploaded".*"sha256":"' . main::sha256_of('leaf-a') . '"',
 '"generation":3,"source":"uploaded".*"sha256":"' . main::sha256_of('leaf-b') . '"',
 '"generation":4,"source":"self-signed"']
--- steps
handshake count=5 expect=leaf-a
request 2
handshake count=5 expect=leaf-b
request 3
handshake count=5 expect=self-signed



=== TEST 9: satisfy any: a client neither allowed by address nor authenticated gets 401 and changes nothing
--- guard
satisfy any;

allow 127.0.0.2;
deny all;

auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
["GET /cert",
 main::upload_json("PUT /palette/cert", "leaf-b"),
 "DELETE /palette/cert"]
--- more_headers eval
["",
 "Content-Type: application/json",
 "Authorization: Basic YWxpY2U6bG9va2luZy1nbGFzcw=="]
--- error_code eval
[200, 401, 401]
--- steps
upload leaf-a
snapshot record store=access
request 3
snapshot same
--- no_error_log
[alert]
[crit]



=== TEST 10: satisfy any: a user with the right password is accepted from outside the allowed addresses
--- guard
satisfy any;

allow 127.0.0.2;
deny all;

auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
main::upload_json("PUT /palette/cert", "leaf-a")
--- more_headers
Content-Type: application/json
Authorization: Basic YWxpY2U6d29uZGVybGFuZA==
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- steps
handshake count=5 expect=leaf-a
--- error_log
user "alice", client: 127.0.0.1



=== TEST 11: satisfy any: an allowed address needs no password
--- guard
satisfy any;

allow 127.0.0.1;
deny all;

auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
main::upload_json("PUT /palette/cert", "leaf-a")
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
"generation":2,"source":"uploaded"
--- steps
handshake count=5 expect=leaf-a



=== TEST 12: client-certificate listener: a client without a certificate gets 400 and changes nothing
--- http_config eval
main::with_admin_listener()
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=access
upload leaf-b https=TEST_NGINX_TLS_PORT2 api=/palette/cert refused status=400 message="No required SSL certificate was sent"
delete https=TEST_NGINX_TLS_PORT2 api=/palette/cert refused status=400 message="No required SSL certificate was sent"
snapshot same
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: client-certificate listener: a certificate from another CA gets 400 and changes nothing
--- http_config eval
main::with_admin_listener()
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=access
upload leaf-b https=TEST_NGINX_TLS_PORT2 client_cert=other-admin-client api=/palette/cert refused status=400 message="The SSL certificate error"
delete https=TEST_NGINX_TLS_PORT2 client_cert=other-admin-client api=/palette/cert refused status=400 message="The SSL certificate error"
snapshot same
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: client-certificate listener: an admin's certificate is accepted, for GET, an upload and a DELETE, and the audit lines name it
--- http_config eval
main::with_admin_listener()
--- request
GET /cert
--- steps
get https=TEST_NGINX_TLS_PORT2 client_cert=admin-client api=/palette/cert source=self-signed generation=1
upload leaf-a https=TEST_NGINX_TLS_PORT2 client_cert=admin-client api=/palette/cert as=multipart
handshake count=5 expect=leaf-a
store access sha256=leaf-a
delete https=TEST_NGINX_TLS_PORT2 client_cert=admin-client api=/palette/cert
handshake count=5 expect=self-signed
--- error_log eval
[
qr/\[notice\] .*palette_cert zone "console" uploaded: generation 2, .*, client certificate "CN=Palette Admin", client: 127\.0\.0\.1, /,
qr/\[notice\] .*palette_cert zone "console" reset to the self-signed default: generation 3, .*, client certificate "CN=Palette Admin", client: 127\.0\.0\.1, /,
]



=== TEST 15: a cross-site HTML form post with valid fields gets 403 cross_origin and changes nothing
--- request eval
["GET /cert",
 main::upload_form("POST /cert", "leaf-b")]
--- more_headers eval
["",
 "Content-Type: application/x-www-form-urlencoded\nOrigin: https://evil.example\nSec-Fetch-Site: cross-site\nSec-Fetch-Mode: navigate"]
--- error_code eval
[200, 403]
--- response_body_like eval
['"source":"self-signed"',
 '^\{"error":"cross_origin","field":null,"message":"a browser sent this change from another site; [^"]+"\}$']
--- steps
upload leaf-a
snapshot record store=access
request 2
snapshot same



=== TEST 16: a DELETE with a foreign Origin alone gets 403 cross_origin and changes nothing
--- request eval
["GET /cert",
 "DELETE /cert"]
--- more_headers eval
["",
 "Origin: https://evil.example"]
--- error_code eval
[200, 403]
--- response_body_like eval
['"source":"self-signed"',
 '"error":"cross_origin"']
--- steps
upload leaf-a
snapshot record store=access
request 2
snapshot same



=== TEST 17: an Origin with the endpoint's host but another scheme or another port is foreign
--- request eval
["GET /cert",
 main::upload_json("PUT /cert", "leaf-b"),
 main::upload_json("PUT /cert", "leaf-b"),
 main::upload_json("PUT /cert", "leaf-b")]
--- more_headers eval
["",
 "Content-Type: application/json\nOrigin: https://localhost",
 "Content-Type: application/json\nOrigin: http://localhost:8080",
 "Content-Type: application/json\nHost: admin.example:8444\nOrigin: http://admin.example"]
--- error_code eval
[200, 403, 403, 403]
--- steps
upload leaf-a
snapshot record store=access
request 4
snapshot same



=== TEST 18: a change from the endpoint's own pages is accepted, whether the browser sends Origin or Sec-Fetch-Site: same-origin
--- request eval
[main::upload_json("PUT /cert", "leaf-a"),
 main::upload_form("POST /cert", "leaf-b"),
 main::upload_json("PUT /cert", "leaf-c"),
 "DELETE /cert"]
--- more_headers eval
["Content-Type: application/json\nOrigin: http://localhost",
 "Content-Type: application/x-www-form-urlencoded\nSec-Fetch-Site: same-origin",
 "Content-Type: application/json\nHost: admin.example:8444\nOrigin: http://admin.example:8444",
 "Origin: http://localhost\nSec-Fetch-Site: same-origin"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
['"generation":2,"source":"uploaded"',
 '"generation":3,"source":"uploaded"',
 '"generation":4,"source":"uploaded"',
 '"generation":5,"source":"self-signed"']



=== TEST 19: Sec-Fetch-Site: same-origin vouches for a change whose Origin a proxy in front made look foreign, and anything but same-origin is refused
--- request eval
[main::upload_json("PUT /cert", "leaf-a"),
 main::upload_json("PUT /cert", "leaf-b"),
 main::upload_json("PUT /cert", "leaf-b"),
 "DELETE /cert"]
--- more_headers eval
["Content-Type: application/json\nOrigin: https://localhost\nSec-Fetch-Site: same-origin",
 "Content-Type: application/json\nOrigin: http://localhost\nSec-Fetch-Site: same-site",
 "Content-Type: application/json\nSec-Fetch-Site: cross-site",
 "Origin: http://localhost\nSec-Fetch-Site: same-site"]
--- error_code eval
[200, 403, 403, 403]
--- response_body_like eval
['"generation":2,"source":"uploaded"',
 '"error":"cross_origin"',
 '"error":"cross_origin"',
 '"error":"cross_origin"']
--- steps
handshake count=5 expect=leaf-a
snapshot record store=access
request 4
snapshot same
handshake count=5 expect=leaf-a



=== TEST 20: a browser's cross-site post is refused even when it carries the admin's credentials
--- guard
auth_basic "certificates";
auth_basic_user_file ../html/palette.htpasswd;
--- request eval
["GET /cert",
 main::upload_form("POST /palette/cert", "leaf-b")]
--- more_headers eval
["",
 "Content-Type: application/x-www-form-urlencoded\nAuthorization: Basic YWxpY2U6d29uZGVybGFuZA==\nOrigin: https://evil.example\nSec-Fetch-Site: cross-site"]
--- error_code eval
[200, 403]
--- response_body_like eval
['"source":"self-signed"',
 '"error":"cross_origin"']
--- steps
upload leaf-a
snapshot record store=access
request 2
snapshot same



=== TEST 21: trust=: an upload chained to a CA of the sender's making is chain_untrusted, even with that CA in ca, and changes nothing
--- http_config eval
main::zone(' trust=$TEST_NGINX_CERT_DIR/ca.pem')
--- request
GET /cert
--- steps
upload leaf-a ca=none
snapshot record store=access
upload other-leaf ca=other-root-ca error=chain_untrusted
snapshot same
upload other-leaf ca=other-root-ca as=urlencoded method=POST error=chain_untrusted
snapshot same
upload other-leaf certificate=other-leaf.crt+other-root-ca.crt ca=other-root-ca error=chain_untrusted
snapshot same
upload other-leaf ca=none error=chain_incomplete
snapshot same
upload other-leaf ca=other-root-ca dry_run error=chain_untrusted
snapshot same



=== TEST 22: trust=: a chain to the pinned CA is accepted without a ca field
--- http_config eval
main::zone(' trust=$TEST_NGINX_CERT_DIR/ca.pem')
--- request
GET /cert
--- steps
upload leaf-a ca=none
handshake count=5 expect=leaf-a served=leaf-a+int-ca
upload leaf-deep ca=none as=multipart
handshake count=5 expect=leaf-deep served=leaf-deep+int2+int-ca
store access sha256=leaf-deep



=== TEST 23: without trust=, the same upload with its own CA in ca is accepted: the refusal above is trust='s doing
--- request
GET /cert
--- steps
upload other-leaf ca=other-root-ca
handshake count=5 expect=other-leaf
