# Directives: what starts, and what "nginx -t" rejects, naming the directive.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a server with "listen ... ssl" and palette_cert starts without ssl_certificate
--- http_config
    palette_cert_zone console:1m names=console.example.com;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
handshake count=5 expect=self-signed
handshake count=5 sni=none expect=self-signed
get source=self-signed generation=1 names=console.example.com
--- no_error_log
[error]
[alert]



=== TEST 2: palette_cert at http level feeds every server, an outer ssl_certificate is not used
--- http_config
    ssl_certificate $TEST_NGINX_CERT_DIR/leaf-b.crt;
    ssl_certificate_key $TEST_NGINX_CERT_DIR/leaf-b.key;
    palette_cert_zone console:1m;
    palette_cert console;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "tls ok\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- error_code: 200
--- steps
handshake count=5 expect=current
upload leaf-a
handshake count=5 tls=1.3 expect=leaf-a
handshake count=5 tls=1.2 expect=leaf-a
--- no_error_log
[error]



=== TEST 3: a zone used before it is declared is found
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert late;
        location / { return 200 "tls ok\n"; }
    }
    palette_cert_zone late:64k;
--- config
    location = /cert { palette_cert_api late; }
--- request
GET /cert
--- error_code: 200
--- steps
handshake count=2 expect=self-signed
--- no_error_log
[error]



=== TEST 4: nginx -t rejects palette_cert naming an undeclared zone
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    server {
        listen 127.0.0.1:8443 ssl;
        palette_cert nosuch;
    }
--- nginx_t_error
\[emerg\].*"palette_cert" refers to zone "nosuch" that is not declared by "palette_cert_zone"



=== TEST 5: nginx -t rejects palette_cert_api naming an undeclared zone
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:8080;
        location = /cert { palette_cert_api other; }
    }
--- nginx_t_error
\[emerg\].*"palette_cert_api" refers to zone "other" that is not declared by "palette_cert_zone"



=== TEST 6: nginx -t rejects a zone declared twice
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m;
    palette_cert_zone console:1m;
--- nginx_t_error
\[emerg\].*duplicate zone "console" in "palette_cert_zone"



=== TEST 7: nginx -t rejects a bad zone size
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:lots;
--- nginx_t_error
\[emerg\].*invalid zone size "console:lots" in "palette_cert_zone"



=== TEST 8: nginx -t rejects a zone too small to be usable
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:4k;
--- nginx_t_error
\[emerg\].*zone "console" of "palette_cert_zone" is too small



=== TEST 9: nginx -t rejects a zone without a size
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console;
--- nginx_t_error
\[emerg\].*invalid zone "console" in "palette_cert_zone", expected NAME:SIZE



=== TEST 10: nginx -t rejects an unknown parameter
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m name=console.example.com;
--- nginx_t_error
\[emerg\].*invalid parameter "name=console.example.com" in "palette_cert_zone"



=== TEST 11: nginx -t rejects an invalid name in names=
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m names=console.example.com,,10.0.0.5;
--- nginx_t_error
\[emerg\].*invalid name "" in "names=" of "palette_cert_zone"



=== TEST 12: nginx -t rejects palette_cert with an ssl_certificate that has variables
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:8443 ssl;
        palette_cert console;
        ssl_certificate $ssl_server_name.crt;
        ssl_certificate_key $ssl_server_name.key;
    }
--- nginx_t_error
\[emerg\].*"palette_cert" cannot be combined with "ssl_certificate" containing variables



=== TEST 13: nginx -t rejects a trust= file that cannot be read
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m trust=/nonexistent/ca.pem;
--- nginx_t_error
\[emerg\].*cannot read "trust=/nonexistent/ca.pem" of "palette_cert_zone"



=== TEST 14: nginx -t rejects a trust= file without a CA certificate
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m trust=$TEST_NGINX_CERT_DIR/leaf-a.crt;
--- nginx_t_error
\[emerg\].*"trust=.*leaf-a.crt" of "palette_cert_zone" holds no CA certificate



=== TEST 15: nginx -t accepts a zone with every parameter
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m names=console.example.com,10.0.0.5,::1 store=off trust=$TEST_NGINX_CERT_DIR/ca.pem;
    server {
        listen 127.0.0.1:8443 ssl;
        palette_cert console;
        location = /cert { palette_cert_api console; }
    }



=== TEST 16: nginx -t rejects a zone name that is not a plain folder name
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone ../etc:1m;
--- nginx_t_error
\[emerg\].*invalid zone name "\.\./etc" in "palette_cert_zone", use letters, digits, "_" and "-"



=== TEST 17: nginx -t rejects a parameter given twice
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m store=off store=off;
--- nginx_t_error
\[emerg\].*duplicate parameter "store=off" in "palette_cert_zone"



=== TEST 18: several zones with default stores each get their own folder and certificate
--- http_config
    palette_cert_zone one:1m names=one.example.com;
    palette_cert_zone two:1m names=two.example.com;
    palette_cert_zone a-very-long-zone-name_3:1m names=three.example.com;
--- config
    location = /one { palette_cert_api one; }
    location = /two { palette_cert_api two; }
    location = /three { palette_cert_api a-very-long-zone-name_3; }
--- request eval
["GET /one", "GET /two", "GET /three"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"subject":"CN=one.example.com"', '"subject":"CN=two.example.com"', '"subject":"CN=three.example.com"']
--- no_error_log eval
["[alert]", "[alert]", "[alert]"]



=== TEST 19: a first name over 64 characters still gets a self-signed default, named in its SAN
--- http_config
    palette_cert_zone console:1m names=a123456789b123456789c123456789d123456789e123456789f123456789g123456789.example.com;
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- response_body_like chomp
"subject":"CN=console".*"names":\["a123456789b123456789c123456789d123456789e123456789f123456789g123456789.example.com"\]




=== TEST 20: nginx -t rejects cache=0, naming the directive
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m cache=0;
--- nginx_t_error
\[emerg\].*invalid parameter "cache=0" in "palette_cert_zone"



=== TEST 21: nginx -t rejects a cache= that is not a number
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m cache=many;
--- nginx_t_error
\[emerg\].*invalid parameter "cache=many" in "palette_cert_zone"



=== TEST 22: nginx -t rejects cache= given twice
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m cache=10 cache=20;
--- nginx_t_error
\[emerg\].*duplicate parameter "cache=20" in "palette_cert_zone"



=== TEST 23: nginx -t accepts cache=1
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone console:1m cache=1;
