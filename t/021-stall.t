# A change's validation does not stall its worker: it runs in a thread of
# nginx's pool while the event loop serves the worker's other
# connections.  The validation of an upload sent without "ca" takes the
# root from the folder of trusted CAs (SSL_CERT_DIR, given to the worker
# by "env"), where the file for the fixtures' root is here a named pipe:
# the validation waits there until the test writes the root into it, so
# that the handshakes made meanwhile meet a validation in progress, with
# no timing involved.  One worker, so that they meet the worker that
# validates.  Its client gone meanwhile, the change is applied all the
# same and leaves the zone free for the next one.
#
# nginx built without --with-threads validates in the event loop, where
# the handshakes would wait: the file is skipped.

use lib 't/lib';
use PaletteCert::Nginx ();

BEGIN { PaletteCert::Nginx::skip_without_threads() }

use Test::Nginx::Socket 'no_plan';
use PaletteCert;

use File::Temp ();
use POSIX ();

master_on();
workers(1);
no_shuffle();

# The folder of trusted CAs: the file OpenSSL looks the root up by, named
# after the hash of its subject, is a named pipe, readable by the worker.

my $dir = File::Temp::tempdir('palette-stall.XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
chmod 0755, $dir or die "chmod $dir: $!\n";

my $ca = PaletteCert::fixture_path('ca.pem');
chomp(my $hash = `openssl x509 -hash -noout -in '$ca'`);
$hash =~ /^[0-9a-f]{8}$/ or die "no subject hash of $ca\n";

my $fifo = "$dir/$hash.0";
POSIX::mkfifo($fifo, 0644) or die "mkfifo $fifo: $!\n";
chmod 0644, $fifo or die "chmod $fifo: $!\n";

$ENV{TEST_NGINX_TRUST_DIR} = $dir;
$ENV{TEST_NGINX_TRUST_FIFO} = $fifo;

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'stall'),
    main_config  => "env SSL_CERT_DIR=\$TEST_NGINX_TRUST_DIR;\n",
    no_error_log => "[error]\n[alert]\n[crit]\n",
);

run_tests();

__DATA__

=== TEST 1: while a thread validates an upload, its worker completes handshakes and answers GET; the upload is then answered 200, served and stored
--- fresh_store
--- request
GET /cert
--- steps
get source=self-signed generation=1
stall leaf-a fifo=TEST_NGINX_TRUST_FIFO count=10
handshake count=10 expect=leaf-a
store stall generation=2 sha256=leaf-a



=== TEST 2: an upload whose client goes away while a thread validates it is applied all the same, and the next change finds the zone free
--- request
GET /cert
--- steps
get sha256=leaf-a generation=2
stall leaf-b fifo=TEST_NGINX_TRUST_FIFO gone
handshake count=10 expect=leaf-b
upload leaf-c
delete
get source=self-signed generation=5
store stall generation=5 source=self-signed
