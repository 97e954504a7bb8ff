# Making a key does not stall its worker: POST ?csr makes it in a thread of
# nginx's pool while the event loop serves the worker's other connections.
# One worker, so that the handshakes made meanwhile meet the worker that
# makes the key; RSA 3072, which takes a good part of a second, three times
# in a row.  A handshake that met a key being made in the event loop would
# wait for it: none may take half as long as the slowest key did.
#
# nginx built without --with-threads makes the key in the event loop: the
# file is skipped.

use lib 't/lib';
use PaletteCert::Nginx ();

BEGIN { PaletteCert::Nginx::skip_without_threads() }

use Test::Nginx::Socket 'no_plan';
use PaletteCert;
use PaletteCert::Check qw(served check_hook);

use IPC::Run ();
use Time::HiRes ();

master_on();
workers(1);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('c:4m names=console.example.com', named => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

check_hook();

run_tests();


sub check_no_stall {
    my ($name) = @_;

    my $port = PaletteCert::_api_port();
    my ($slowest, $n, $slowest_key) = (0, 0, 0);

    for my $round (1 .. 3) {
        my ($out, $err) = ('', '');
        my $start = Time::HiRes::time();

        my $h = IPC::Run::start(['curl', '-sS', '-o', '/dev/null',
                                 '-w', '%{http_code}',
                                 '-H', 'Content-Type: application/json',
                                 '--data-binary',
                                 '{"names":["console.example.com"],'
                                 . '"key_type":"RSA 3072"}',
                                 "http://127.0.0.1:$port/cert?csr"],
                                \undef, \$out, \$err);

        while ($h->pumpable) {
            my $t = Time::HiRes::time();
            my $got = served();
            my $took = Time::HiRes::time() - $t;

            $n++ if defined $got;
            $slowest = $took if $took > $slowest;

            $h->pump_nb;
        }

        $h->finish;

        my $key = Time::HiRes::time() - $start;
        $slowest_key = $key if $key > $slowest_key;

        is($out, '200', "$name - RSA 3072, round $round: 200");
    }

    ok($n >= 3, "$name - handshakes completed meanwhile ($n)");
    ok($slowest < $slowest_key / 2,
       "$name - the slowest handshake took ${slowest}s, the slowest key"
       . " ${slowest_key}s");
}

__DATA__

=== TEST 1: RSA 3072 keys are made in a thread: the worker's handshakes go on meanwhile
--- request
GET /cert
--- check: no_stall
