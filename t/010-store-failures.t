# When the store fails.  An upload that cannot be persisted (the store's
# file system full or read-only) answers 500 store_failed and changes
# nothing: not the certificate served, not the generation, not the ETag,
# not a byte of the store; once the store is writable again the next
# upload gets the next generation.  A store damaged while nginx was down
# (a truncated or hand-edited certificate, a key of another certificate, a
# missing file, a lost "current" link, a damaged self-signed folder) does
# not stop nginx: it logs the problem at alert and serves the self-signed
# default under a newer generation.  Consecutive blocks share one store.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(2);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'failing'),
);

# The store folder as the error log names it.
sub store_re {
    my ($rel) = @_;

    my $dir = "$ENV{TEST_NGINX_STORE_DIR}/failing";
    $dir .= "/$rel" if defined $rel;

    return quotemeta $dir;
}

run_tests();

__DATA__

=== TEST 1: a full store: uploads and DELETE answer 500 store_failed and change nothing; once there is room, the next upload gets the next generation
--- fresh_store
--- request
GET /cert
--- steps
get source=self-signed generation=1
upload leaf-a
storefs mount failing size=1m
storefs fill failing
snapshot record store=failing no_folder_mtime
upload leaf-b error=store_failed
snapshot same
upload leaf-c as=multipart error=store_failed
delete error=store_failed
snapshot same
handshake count=10 expect=leaf-a
storefs writable failing
upload leaf-b
get sha256=leaf-b generation=3
handshake count=10 expect=leaf-b
store failing generation=3 sha256=leaf-b
storefs umount failing
store failing generation=3 sha256=leaf-b
--- no_error_log
exited on signal
[emerg]



=== TEST 2: a read-only store: uploads and DELETE answer 500 store_failed and change nothing; once writable, the next upload gets the next generation
--- request
GET /cert
--- steps
get sha256=leaf-b generation=3
storefs mount failing size=1m
storefs readonly failing
snapshot record store=failing no_folder_mtime
upload leaf-c error=store_failed
upload leaf-a if_match=current error=store_failed
delete error=store_failed
snapshot same
handshake count=10 expect=leaf-b
storefs writable failing
upload leaf-c
get sha256=leaf-c generation=4
storefs umount failing
store failing generation=4 sha256=leaf-c
--- no_error_log
exited on signal
[emerg]



=== TEST 3: after a restart the store holds what was uploaded once it was writable again
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-c generation=4
handshake count=10 expect=leaf-c chain=2
store failing generation=4 sha256=leaf-c
--- no_error_log
[error]
[alert]



=== TEST 4: a truncated certificate.pem: nginx starts, logs it at alert and serves the self-signed default under a newer generation
--- store_damage
truncate failing/current/certificate.pem 100
--- request
GET /cert
--- steps
get source=self-signed generation=5
handshake count=10 expect=self-signed
store failing generation=5 source=self-signed
upload leaf-a
get sha256=leaf-a generation=6
--- response_body_like chomp
"generation":5,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*${\ main::store_re()}},
 qr{\[alert\] .*(?:${\ main::store_re('gen-4')}|generation 4)}]



=== TEST 5: a key.pem that holds another certificate's key: logged at alert, the self-signed default served
--- store_damage
replace failing/current/key.pem leaf-b.key
--- request
GET /cert
--- steps
get source=self-signed generation=7
handshake count=10 expect=self-signed
store failing generation=7 source=self-signed
upload leaf-b
get sha256=leaf-b generation=8
--- response_body_like chomp
"generation":7,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*${\ main::store_re()}},
 qr{\[alert\] .*(?:${\ main::store_re('gen-6')}|generation 6)},
 qr{\[alert\] .*key.*(?:match|belong)}i]



=== TEST 6: a hand-edited certificate.pem, junk inserted in the PEM block: logged at alert, the self-signed default served
--- store_damage
insert failing/current/certificate.pem 3 "edited by hand"
--- request
GET /cert
--- steps
get source=self-signed generation=9
handshake count=10 expect=self-signed
store failing generation=9 source=self-signed
upload leaf-c
get sha256=leaf-c generation=10
--- response_body_like chomp
"generation":9,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*${\ main::store_re()}},
 qr{\[alert\] .*(?:${\ main::store_re('gen-8')}|generation 8)}]



=== TEST 7: a missing key.pem: logged at alert naming the file, the self-signed default served
--- store_damage
remove failing/current/key.pem
--- request
GET /cert
--- steps
get source=self-signed generation=11
handshake count=10 expect=self-signed
store failing generation=11 source=self-signed
upload leaf-a
get sha256=leaf-a generation=12
--- response_body_like chomp
"generation":11,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*${\ main::store_re('gen-10/key.pem')}},
 qr{\[alert\] .*(?:${\ main::store_re('gen-10')}|generation 10)}]



=== TEST 8: the current link removed while gen-12 is there: logged at alert, the self-signed default served under generation 13
--- store_damage
unlink failing/current
--- request
GET /cert
--- steps
get source=self-signed generation=13
handshake count=10 expect=self-signed
store failing generation=13 source=self-signed
upload leaf-b
get sha256=leaf-b generation=14
--- response_body_like chomp
"generation":13,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*${\ main::store_re()}},
 qr{\[alert\] .*(?:${\ main::store_re('current')}|"current")}]



=== TEST 9: a damaged self-signed folder: logged at alert, a new default is made and stored; the upload stays served
--- store_damage
truncate failing/self-signed/certificate.pem 64
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-b generation=14
handshake count=10 expect=leaf-b
store failing generation=14 sha256=leaf-b
delete
get source=self-signed generation=15
handshake count=10 expect=self-signed
store failing generation=15 source=self-signed
--- response_body_like chomp
"generation":14,"source":"uploaded"
--- error_log eval
[qr{\[alert\] .*(?:"self-signed".*${\ main::store_re()}|${\ main::store_re('self-signed')})}]



=== TEST 10: a self-signed folder whose key is another certificate's, while the default is served: logged at alert, a new default is made and served under the next generation
--- store_damage
replace failing/self-signed/key.pem leaf-a.key
--- request
GET /cert
--- steps
get source=self-signed generation=16
handshake count=10 expect=self-signed
store failing generation=16 source=self-signed
upload leaf-c
get sha256=leaf-c generation=17
--- response_body_like chomp
"generation":16,"source":"self-signed"
--- error_log eval
[qr{\[alert\] .*(?:"self-signed".*${\ main::store_re()}|${\ main::store_re('self-signed')})}]
