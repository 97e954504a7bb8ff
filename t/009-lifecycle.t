# The certificate's life across nginx's own: a reload, a stop and a start,
# a binary upgrade (USR2, then QUIT to the old master), a reload that
# changes the zone's size, and a DELETE that goes back to the self-signed
# default.  Consecutive blocks share one store, as a restart does; the
# generation never goes back across all of them.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(2);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'lifecycle', reuseport => 1),
    no_error_log => "[error]\n[alert]\n[crit]\n",
);

run_tests();

__DATA__

=== TEST 1: an upload survives nginx -s reload: the same leaf, the same generation
--- fresh_store
--- request
GET /cert
--- steps
get source=self-signed generation=1 remember=default
handshake count=10 expect=self-signed
upload leaf-a
pids record
reload
get source=uploaded sha256=leaf-a generation=2
handshake expect=leaf-a chain=2 workers=all
store lifecycle generation=2 source=uploaded sha256=leaf-a



=== TEST 2: an upload survives a stop and a start (the upload of the block before)
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-a generation=2
handshake expect=leaf-a chain=2 workers=all
upload leaf-b
store lifecycle generation=3 sha256=leaf-b



=== TEST 3: after a stop and a start, the second upload is served
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-b generation=3
handshake expect=leaf-b chain=2



=== TEST 4: a binary upgrade keeps the leaf and the generation, and uploads go on from there
--- request
GET /cert
--- steps
get sha256=leaf-b generation=3
upgrade
get source=uploaded sha256=leaf-b generation=3
handshake expect=leaf-b chain=2 workers=all
pids record
upload leaf-c
handshake expect=leaf-c chain=2 workers=all
store lifecycle generation=4 sha256=leaf-c
reload
get sha256=leaf-c generation=4
handshake count=10 expect=leaf-c
upgrade
get sha256=leaf-c generation=4
handshake expect=leaf-c workers=all
upload leaf-a
get sha256=leaf-a generation=5
store lifecycle generation=5 sha256=leaf-a



=== TEST 5: after the upgraded nginx is stopped, a start serves its last upload
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-a generation=5
handshake expect=leaf-a chain=2



=== TEST 6: a reload that changes the zone's size brings the certificate back, in a larger and in a smaller zone
--- request
GET /cert
--- steps
get sha256=leaf-a generation=5
reload from=console:1m to=console:2m
get source=uploaded sha256=leaf-a generation=5
handshake expect=leaf-a chain=2 workers=all
upload leaf-b
reload from=console:2m to=console:512k
get source=uploaded sha256=leaf-b generation=6
handshake expect=leaf-b chain=2 workers=all
store lifecycle generation=6 sha256=leaf-b



=== TEST 7: DELETE goes back to the self-signed default of before the first upload, under a new generation
--- request
GET /cert
--- steps
get sha256=leaf-b generation=6
delete
get source=self-signed generation=7 same_as=default
handshake expect=self-signed workers=all
store lifecycle generation=7 source=self-signed



=== TEST 8: the DELETE is persisted: after a restart the same self-signed default, generation 7
--- request
GET /cert
--- steps
get source=self-signed generation=7 same_as=default
handshake expect=self-signed
store lifecycle generation=7 source=self-signed
upgrade
get source=self-signed generation=7 same_as=default
upload leaf-c
get sha256=leaf-c generation=8



=== TEST 9: after everything, a restart serves the last upload, generation 8
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-c generation=8
handshake expect=leaf-c chain=2
store lifecycle generation=8 sha256=leaf-c
