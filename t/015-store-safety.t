# The store's safety: no two zones share a store folder; the master, which
# runs as root, never reads or writes through a link planted in the
# folder the worker user owns; and "200 means live" holds when an upload
# meets a reload that resizes the zone or a binary upgrade.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(2);
no_shuffle();

my %defaults;

$defaults{http_config} = <<'_EOC_';
    palette_cert_zone console:1m names=console.example.com store=$TEST_NGINX_STORE_DIR/safety;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "$pid\n"; }
    }
_EOC_

$defaults{config} = <<'_EOC_';
    location = /cert { palette_cert_api console; }
_EOC_

PaletteCert::defaults(%defaults);

run_tests();

__DATA__

=== TEST 1: nginx -t rejects two zones with the same store= folder, naming both zones and the folder
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/shared;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/shared;
--- nginx_t_error
\[emerg\].*zone "b" of "palette_cert_zone" uses the store ".*/shared" of zone "a"



=== TEST 2: nginx -t rejects the same store folder written in two ways (a trailing slash, a relative path and the default one)
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_zone b:1m store=palette_cert/a/;
--- nginx_t_error
\[emerg\].*zone "b" of "palette_cert_zone" uses the store ".*/palette_cert/a" of zone "a"



=== TEST 3: nginx -t rejects a store folder inside another zone's store, and one holding another's
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/outer;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/outer/inner;
--- nginx_t_error
\[emerg\].*the store ".*/outer/inner" of zone "b" of "palette_cert_zone" and the store ".*/outer" of zone "a" are nested



=== TEST 4: nginx -t rejects a store folder holding another zone's default store
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_zone b:1m store=palette_cert;
--- nginx_t_error
\[emerg\].*the store ".*/palette_cert" of zone "b" of "palette_cert_zone" and the store ".*/palette_cert/a" of zone "a" are nested



=== TEST 5: nginx -t accepts zones whose store folders only share a prefix of their names
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/one;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/one-more;
    palette_cert_zone c:1m store=off;
    palette_cert_zone d:1m store=off;
