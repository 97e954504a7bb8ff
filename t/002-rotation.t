# Rotation without reload: once an upload is answered, every new handshake
# on every worker presents the new certificate; connections opened before
# keep working; the master and workers stay the same processes.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(4);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: each upload is presented by all four workers on the very next handshakes, TLS 1.3 and 1.2, with and without SNI
--- http_config
    palette_cert_zone console:1m names=console.example.com,127.0.0.1;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
pids record
handshake count=40 tls=1.3 expect=self-signed workers=all
handshake count=40 tls=1.2 sni=none expect=self-signed
upload leaf-a as=json
handshake count=40 tls=1.3 expect=leaf-a chain=2 workers=all
handshake count=40 tls=1.2 expect=leaf-a chain=2 workers=all
handshake count=40 tls=1.3 sni=none expect=leaf-a
handshake count=40 tls=1.2 sni=none expect=leaf-a
upload leaf-b as=multipart
handshake count=40 tls=1.3 expect=leaf-b chain=2 workers=all
handshake count=40 tls=1.2 expect=leaf-b chain=2 workers=all
handshake count=40 tls=1.2 sni=none expect=leaf-b
upload leaf-c as=urlencoded method=POST
handshake count=40 tls=1.3 expect=leaf-c workers=all
handshake count=40 tls=1.2 sni=none expect=leaf-c
upload leaf-a
handshake count=40 tls=any expect=leaf-a workers=all
get source=uploaded sha256=leaf-a generation=5
pids same
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: connections opened before an upload keep working, new ones get the new certificate
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_timeout 60s;
        palette_cert console;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
pids record
open before tls=1.3
open before12 tls=1.2 sni=none
upload leaf-b
reuse before
reuse before12
handshake count=40 expect=leaf-b workers=all
open during
upload leaf-a
reuse before
reuse during
handshake count=40 expect=leaf-a workers=all
delete
reuse before
reuse before12
reuse during
handshake count=40 expect=self-signed workers=all
pids same
--- no_error_log
[error]
[alert]



=== TEST 3: two servers sharing a zone present the same certificate, by SNI and as default server
--- http_config
    palette_cert_zone shared:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert shared;
        location / { return 200 "$pid\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name www.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert shared;
        location / { return 200 "$pid\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl reuseport;
        server_name other.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert shared;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api shared; }
--- request
GET /cert
--- error_code: 200
--- steps
handshake count=10 expect=current
handshake count=10 sni=www.example.com expect=current
handshake count=10 port=TEST_NGINX_TLS_PORT2 sni=none expect=current
upload leaf-a
handshake count=40 tls=1.3 sni=console.example.com expect=leaf-a workers=all
handshake count=40 tls=1.2 sni=www.example.com expect=leaf-a
handshake count=40 tls=1.3 sni=none expect=leaf-a
handshake count=40 tls=1.3 port=TEST_NGINX_TLS_PORT2 expect=leaf-a workers=all
handshake count=40 tls=1.2 port=TEST_NGINX_TLS_PORT2 sni=none expect=leaf-a
upload leaf-b
handshake count=40 sni=www.example.com expect=leaf-b
handshake count=40 port=TEST_NGINX_TLS_PORT2 expect=leaf-b workers=all
--- no_error_log
[error]



=== TEST 4: zones are independent: an upload to one does not change another
--- http_config
    palette_cert_zone one:1m;
    palette_cert_zone two:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert one;
        location / { return 200 "$pid\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert two;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api one; }
    location = /cert2 { palette_cert_api two; }
--- request
GET /cert
--- error_code: 200
--- steps
upload leaf-a
upload leaf-b api=/cert2
handshake count=40 expect=leaf-a workers=all
handshake count=40 port=TEST_NGINX_TLS_PORT2 expect=leaf-b workers=all
get sha256=leaf-a generation=2
get sha256=leaf-b generation=2 api=/cert2
--- no_error_log
[error]



=== TEST 5: a change of key type (EC to RSA and back) presents only the new certificate
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
upload leaf-a
handshake count=40 tls=1.3 expect=leaf-a workers=all
upload leaf-b
handshake count=40 tls=1.3 expect=leaf-b workers=all
handshake count=40 tls=1.2 expect=leaf-b workers=all
upload leaf-c
handshake count=40 tls=1.3 expect=leaf-c workers=all
handshake count=40 tls=1.2 expect=leaf-c workers=all
--- no_error_log
[error]



=== TEST 6: a static ssl_certificate in the same server is not presented
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        ssl_certificate $TEST_NGINX_CERT_DIR/leaf-b.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/leaf-b.key;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
handshake count=20 tls=1.3 expect=self-signed workers=all
handshake count=20 tls=1.2 expect=self-signed
upload leaf-c
handshake count=40 tls=1.3 expect=leaf-c workers=all
handshake count=40 tls=1.2 expect=leaf-c
--- no_error_log
[error]
