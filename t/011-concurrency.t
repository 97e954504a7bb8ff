# Overlapping uploads from several clients, some with If-Match of the
# generation they last saw, while fresh TLS handshakes run all along:
# every answer is 200 or, after If-Match, 412 generation_mismatch; the
# generations of the 200 answers are unique and follow each other without
# a gap; no handshake fails or gets a mixed chain; and the API, the
# handshakes and the store agree on the last upload applied.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(4);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'concurrency', reuseport => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nexited on signal\n",
);

run_tests();

__DATA__

=== TEST 1: 60 overlapping uploads from 4 clients during handshakes: 200 or 412 only, consecutive unique generations, the last one served and stored
--- fresh_store
--- request
GET /cert
--- steps
get source=self-signed generation=1
pids record
concurrent uploads=60 clients=4 handshakes=on overlap=50 store=concurrency
store concurrency
pids same



=== TEST 2: 100 more, from 8 clients: the generations go on from where they were
--- request
GET /cert
--- steps
pids record
concurrent uploads=100 clients=8 handshakes=on overlap=50 store=concurrency
store concurrency
handshake expect=current workers=all
pids same
