# Persistence: the self-signed default and every upload are written to the
# store, survive a restart (each block starts nginx anew) and a reload, and
# the generation never goes back.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(2);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'console'),
);

run_tests();

__DATA__

=== TEST 1: first start: a self-signed default is made and stored, key files mode 0600
--- fresh_store
--- request
GET /cert
--- steps
get source=self-signed generation=1
store console generation=1 source=self-signed
handshake count=5 expect=current
--- no_error_log
[error]
[alert]



=== TEST 2: after a restart the same self-signed certificate is served, at the same generation
--- request
GET /cert
--- steps
get source=self-signed generation=1
store console generation=1 source=self-signed
handshake count=5 expect=current
upload leaf-a
store console generation=2 source=uploaded sha256=leaf-a
--- no_error_log
[error]



=== TEST 3: after a restart the upload is served, and a reload keeps it
--- request
GET /cert
--- steps
handshake count=10 expect=leaf-a chain=2
get sha256=leaf-a generation=2 source=uploaded
reload
handshake count=10 expect=leaf-a chain=2
get sha256=leaf-a generation=2
upload leaf-b
reload
handshake count=10 expect=leaf-b
store console generation=3 sha256=leaf-b
--- no_error_log
[error]



=== TEST 4: a rejected upload leaves the store as it was; DELETE stores the very same self-signed default under a new generation
--- request
GET /cert
--- steps
get sha256=leaf-b generation=3
upload leaf-expired error=expired
store console generation=3 sha256=leaf-b
delete
store console generation=4 source=self-signed
handshake count=5 expect=self-signed



=== TEST 5: after a restart the default is served again, generation 4
--- request
GET /cert
--- steps
get source=self-signed generation=4
store console generation=4 source=self-signed
upload leaf-c
--- no_error_log
[error]



=== TEST 6: a restart with a larger zone reads the store
--- http_config
    palette_cert_zone console:2m names=console.example.com store=$TEST_NGINX_STORE_DIR/console;
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
get sha256=leaf-c generation=5
handshake count=5 expect=leaf-c



=== TEST 7: store=off keeps the certificate in memory only and writes nothing
--- http_config
    palette_cert_zone volatile:1m store=off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert volatile;
        location / { return 200 "tls ok\n"; }
    }
--- config
    location = /cert { palette_cert_api volatile; }
--- request
GET /cert
--- steps
get source=self-signed
upload leaf-a
reload
handshake count=5 expect=leaf-a
# the generation goes on from the upload's, past the reload
upload leaf-b
get sha256=leaf-b
--- no_error_log
[error]



=== TEST 8: a reload that changes the zone's size carries the certificate over, with or without a store
--- http_config
    palette_cert_zone volatile:1m store=off;
    palette_cert_zone console:1m names=console.example.com store=$TEST_NGINX_STORE_DIR/console;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert volatile;
        location / { return 200 "tls ok\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- config
    location = /cert { palette_cert_api volatile; }
    location = /cert2 { palette_cert_api console; }
--- request
GET /cert
--- steps
upload leaf-b
upload leaf-a api=/cert2
reload from=volatile:1m to=volatile:256k
handshake count=10 expect=leaf-b
# the generation goes on from the upload's, past the reload
upload leaf-c
reload from=console:1m to=console:3m
handshake count=10 port=TEST_NGINX_TLS_PORT2 expect=leaf-a
get sha256=leaf-a generation=6 api=/cert2
store console generation=6 sha256=leaf-a api=/cert2
--- no_error_log
[error]
[alert]



=== TEST 9: the self-signed default is made again when names= changes (first with the old names)
--- fresh_store
--- http_config
    palette_cert_zone console:1m names=old.example.com store=$TEST_NGINX_STORE_DIR/console;
--- request
GET /cert
--- response_body_like chomp
"generation":1,"source":"self-signed","subject":"CN=old.example.com".*"names":\["old.example.com"\]



=== TEST 10: after a restart with new names, a new default is served under the next generation
--- http_config
    palette_cert_zone console:1m names=new.example.com,10.0.0.5 store=$TEST_NGINX_STORE_DIR/console;
--- request
GET /cert
--- response_body_like chomp
"generation":2,"source":"self-signed","subject":"CN=new.example.com".*"names":\["new.example.com","10.0.0.5"\]
--- error_log
the names changed, a new self-signed certificate is made



=== TEST 11: a reload says when each change of the zone takes effect: trust= and history= now, store= at the next restart (until then the zone keeps writing where it read)
--- fresh_store
--- http_config eval
PaletteCert::zone_server('console:1m names=console.example.com trust=$TEST_NGINX_CERT_DIR/ca.pem history=5', store => 'console')
--- request
GET /cert
--- steps
upload leaf-a
reload from=/console; to=/moved;
upload leaf-b
store console sha256=leaf-b
handshake count=5 expect=leaf-b
reload from=certs/ca.pem to=certs/other-root-ca.crt
upload other-leaf ca=other-root-ca
reload from=history=5 to=history=2
reload from=names=console.example.com to=names=console.example.com,10.0.0.9
upload other-leaf ca=other-root-ca error=name_mismatch
handshake count=5 expect=other-leaf
--- error_log eval
[
qr/\[warn\].*palette_cert zone "console": "store=" changes from "[^"]*\/console" to "[^"]*\/moved" at the next restart, until then it stays "[^"]*\/console"/,
qr/\[notice\].*palette_cert zone "console": "trust=" changes from "[^"]*\/ca\.pem" to "[^"]*\/other-root-ca\.crt" now/,
qr/\[notice\].*palette_cert zone "console": "history=" changes from 5 to 2 now/,
qr/\[warn\].*palette_cert zone "console": "names=" changed: uploads are checked against the new names now, the self-signed default is made for them at the next restart/,
]
--- no_error_log
[error]
[alert]



=== TEST 12: the restart reads the new store= folder
--- http_config
    palette_cert_zone console:1m names=console.example.com store=$TEST_NGINX_STORE_DIR/moved;
--- request
GET /cert
--- steps
get source=self-signed generation=1
