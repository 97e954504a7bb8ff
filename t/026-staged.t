# Staged activation: PUT RES?activate_at=TIME validates the upload now with
# its dates judged at TIME, answers 202 and keeps it aside (GET shows it as
# "staged"); within a second after TIME exactly one worker makes it
# current, also when nginx was reloaded or restarted in between.  One that
# no longer validates then stays aside, refused, with one alert line and a
# count; DELETE RES?staged cancels.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api api_json served wait_served sha count_log
                          check_hook);

use File::Path ();
use IPC::Run ();
use POSIX ();
use Time::HiRes ();

master_on();
workers(4);
no_shuffle();

# the store of the blocks around a restart starts empty
File::Path::remove_tree("$ENV{TEST_NGINX_STORE_DIR}/staged-persist");

PaletteCert::defaults(
    PaletteCert::zone_config('s:4m names=console.example.com',
                             named => 1, metrics => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

check_hook();

run_tests();


sub rfc3339 {
    my ($t) = @_;

    return POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $t);
}


# the fixture's notBefore or notAfter, as seconds

sub cert_time {
    my ($fixture, $which) = @_;

    my ($out, $err) = ('', '');

    IPC::Run::run(['openssl', 'x509',
                   '-in', PaletteCert::fixture_path("$fixture.crt"),
                   '-noout', "-$which", '-dateopt', 'iso_8601'],
                  \undef, \$out, \$err);

    my ($y, $mo, $d, $h, $mi, $s) =
        $out =~ /(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/
        or die "openssl x509 -$which: $out$err";

    local $ENV{TZ} = 'UTC';
    POSIX::tzset();

    return POSIX::mktime($s, $mi, $h, $d, $mo - 1, $y - 1900);
}


sub stage {
    my ($uri, $fixture, $at, %o) = @_;

    my $sep = $uri =~ /\?/ ? '&' : '?';

    return api_json('PUT', "$uri${sep}activate_at=" . rfc3339($at),
                    upload => $fixture, %o);
}


sub store_dir {
    return PaletteCert::_server_root() . '/palette_cert/s';
}


sub wait_until {
    my ($t) = @_;

    my $d = $t - Time::HiRes::time();

    Time::HiRes::sleep($d) if $d > 0;
}


sub metric {
    my ($line) = @_;

    my ($status, $body) = api('GET', '/metrics');

    return $body =~ /^\Q$line\E (\S+)$/m ? $1 : 0;
}


# Staged, answered 202 and shown; served at its time by every worker, once.

sub check_activate {
    my ($name) = @_;

    my ($s, $g) = api_json('GET', '/cert');
    my $gen = $g->{generation};
    my $self = $g->{sha256};

    my $at = time() + 3;
    my ($status, $j, $body) = stage('/cert', 'leaf-b', $at);

    is($status, 202, "$name - 202");
    is($j->{activate_at}, rfc3339($at), "$name - activate_at");
    is($j->{sha256}, sha('leaf-b'), "$name - the staged certificate");
    ok(exists $j->{generation} && !defined $j->{generation},
       "$name - no generation yet");
    unlike($body, qr/PRIVATE KEY/, "$name - no key");

    ($s, $g) = api_json('GET', '/cert');
    is($g->{generation}, $gen, "$name - nothing changed yet");
    is($g->{staged}{activate_at}, rfc3339($at), "$name - GET: staged");
    is($g->{staged}{sha256}, sha('leaf-b'), "$name - GET: its sha256");
    is($g->{staged}{refused}, undef, "$name - GET: not refused");
    is(served(), $self, "$name - still the self-signed one");

    my $key = store_dir() . '/staged/key.pem';
    ok(-f $key, "$name - the store keeps it");
    is((stat $key)[2] & 07777, 0600, "$name - its key mode 0600");

    is(count_log(qr/palette_cert zone "s" staged a version to go live at \Q${\rfc3339($at)}\E: sha256 ${\sha('leaf-b')}/),
       1, "$name - an audit line for the staging");

    wait_until($at - 0.5);
    is(served(), $self, "$name - not before its time");

    my $t = wait_served(sha('leaf-b'), 4);
    ok(defined $t, "$name - served within a second or so after its time");
    ok(Time::HiRes::time() - $at < 2.5,
       "$name - within 1 s after it (plus the checks' own time)");

    Time::HiRes::sleep(1.5);

    ($s, $g) = api_json('GET', '/cert');
    is($g->{generation}, $gen + 1, "$name - one new generation");
    is($g->{staged}, undef, "$name - nothing staged any more");
    is($g->{sha256}, sha('leaf-b'), "$name - GET: leaf-b");

    is(count_log(qr/palette_cert zone "s" activated the version staged for \Q${\rfc3339($at)}\E: generation ${\($gen + 1)}, sha256 ${\sha('leaf-b')}/),
       1, "$name - exactly one audit line, by one worker");
    is(metric('palette_cert_changes_total{zone="s",result="ok"}'), 1,
       "$name - counted once");

    ok(!-e store_dir() . '/staged', "$name - the staged copy is gone");
    is(readlink(store_dir() . '/current'), 'gen-' . ($gen + 1),
       "$name - the store's current");
}


# Dates are judged at the time given: a certificate valid from then on is
# the normal case; one expired by then, or not yet valid, is refused.

sub check_dates {
    my ($name) = @_;

    my $nb = cert_time('leaf-future', 'startdate');
    my ($status, $j) = stage('/cert', 'leaf-future', $nb + 86400);

    is($status, 202, "$name - a leaf valid from then on: 202");

    ($status, $j) = stage('/cert', 'leaf-future', time() + 60);
    is($status, 422, "$name - not yet valid then: 422");
    is($j->{error}, 'not_yet_valid', "$name - not_yet_valid");

    my $na = cert_time('leaf-a', 'enddate');
    ($status, $j) = stage('/cert', 'leaf-a', $na + 86400);
    is($status, 422, "$name - expired by then: 422");
    is($j->{error}, 'expired', "$name - expired");

    my ($s, $g) = api_json('GET', '/cert');
    is($g->{staged}{sha256}, sha('leaf-future'),
       "$name - the refused ones left the staged one as it was");

    # the same upload without activate_at is refused now

    ($status, $j) = api_json('PUT', '/cert', upload => 'leaf-future');
    is($j->{error}, 'not_yet_valid', "$name - uploaded now: not_yet_valid");
}


# Refusals of the request itself.

sub check_refusals {
    my ($name) = @_;

    my @cases = (
        ['PUT', '/cert?activate_at=' . rfc3339(time() - 10), 'leaf-a', 400,
         'malformed_request'],
        ['PUT', '/cert?activate_at=tomorrow', 'leaf-a', 400,
         'malformed_request'],
        ['PUT', '/cert?activate_at=' . rfc3339(time() + 60) . '&csr',
         'leaf-a', 400, 'malformed_request'],
        ['DELETE', '/cert?activate_at=' . rfc3339(time() + 60), undef, 405,
         'method_not_allowed'],
        ['POST', '/cert?staged', 'leaf-a', 405, 'method_not_allowed'],
        ['DELETE', '/cert?staged', undef, 404, 'not_found'],
        ['PUT', '/cert?activate_at=' . rfc3339(time() + 60), 'leaf-a', 412,
         'generation_mismatch', ['If-Match: "7"']],
    );

    for my $c (@cases) {
        my ($m, $uri, $up, $code, $error, $hdr) = @$c;

        my ($status, $j) = api_json($m, $uri, ($up ? (upload => $up) : ()),
                                    headers => $hdr || []);

        is($status, $code, "$name - $m $uri: $code");
        is($j->{error}, $error, "$name - $m $uri: $error");
    }

    my ($s, $g) = api_json('GET', '/cert');
    is($g->{staged}, undef, "$name - nothing staged");

    # a dry run of a staging: checked, answered as the staging would be
    # but with 200, nothing staged

    my $at = time() + 60;
    my ($status, $j) = stage('/cert?dry_run=1', 'leaf-a', $at);
    is($status, 200, "$name - dry run: 200");
    ok($j->{dry_run}, "$name - dry run: \"dry_run\": true");
    ok(exists $j->{generation} && !defined $j->{generation},
       "$name - dry run: no generation, as the staged version has none");
    is($j->{activate_at}, rfc3339($at), "$name - dry run: activate_at");

    ($s, $g) = api_json('GET', '/cert');
    is($g->{staged}, undef, "$name - the dry run staged nothing");

    # cancelling is conditional too

    stage('/cert', 'leaf-a', $at);

    ($status, $j) = api_json('DELETE', '/cert?staged',
                             headers => ['If-Match: "999"']);
    is($status, 412, "$name - DELETE ?staged with a stale If-Match: 412");
    is($j->{error}, 'generation_mismatch', "$name - generation_mismatch");

    ($s, $g) = api_json('GET', '/cert');
    ok($g->{staged}, "$name - still staged");

    ($status, $j) = api_json('DELETE', '/cert?staged',
                             headers => ["If-Match: \"$g->{generation}\""]);
    is($status, 200, "$name - with the current one: 200");
}


# DELETE ?staged cancels; a new PUT replaces the staged one.

sub check_cancel {
    my ($name) = @_;

    stage('/cert', 'leaf-a', time() + 3600);

    my ($status, $j) = stage('/cert', 'leaf-b', time() + 2);
    is($status, 202, "$name - staged again: 202");

    ($status, $j) = api_json('GET', '/cert');
    is($j->{staged}{sha256}, sha('leaf-b'), "$name - replaced");

    ($status, $j) = api_json('DELETE', '/cert?staged');
    is($status, 200, "$name - DELETE ?staged: 200");
    is($j->{staged}, undef, "$name - answered: nothing staged");
    is($j->{source}, 'self-signed', "$name - with the resource's JSON");
    ok(!-e store_dir() . '/staged', "$name - gone from the store");

    is(count_log(qr/palette_cert zone "s" cancelled its staged version/), 1,
       "$name - an audit line");

    Time::HiRes::sleep(3.5);

    is(served(), $j->{sha256}, "$name - nothing was activated");
}


# A version that no longer validates at its time stays aside, refused,
# with one alert line and a count; the certificate in service stays.

sub check_refused_then {
    my ($name) = @_;

    api('PUT', '/cert/x', upload => 'named-b');

    my $at = time() + 3;
    my ($status, $j) = stage('/cert/x', 'named-a', $at);
    is($status, 202, "$name - x: named-a staged");

    # meanwhile another certificate takes a.test

    ($status) = api('PUT', '/cert/y', upload => 'named-a');
    is($status, 200, "$name - y takes a.test now");

    wait_until($at + 3);

    is(served(sni => 'b.test'), sha('named-b'), "$name - x still serves b");
    is(served(sni => 'a.test'), sha('named-a'), "$name - a.test: y's");

    ($status, $j) = api_json('GET', '/cert/x');
    is($j->{staged}{refused}, 'name_conflict',
       "$name - GET: staged, refused: name_conflict");

    is(count_log(qr/\[alert\].*palette_cert zone "s" certificate "x": the version staged for \Q${\rfc3339($at)}\E is not activated \(name_conflict\)/),
       1, "$name - one alert line");
    is(metric('palette_cert_changes_total{zone="s",result="name_conflict"}'),
       1, "$name - counted");

    ($status, $j) = api_json('DELETE', '/cert/x?staged');
    is($status, 200, "$name - cancelled");
    is($j->{staged}, undef, "$name - nothing staged");
}


# A staged version for an id that does not exist yet makes it at its time.

sub check_named_new {
    my ($name) = @_;

    my $at = time() + 2;
    my ($status, $j) = stage('/cert/n', 'named-b', $at);
    is($status, 202, "$name - 202");
    is($j->{id}, 'n', "$name - id");

    ($status, $j) = api_json('GET', '/cert/n');
    is($status, 404, "$name - not there yet");
    like($j->{message}, qr/a version of it is staged/,
         "$name - the 404 says a version is staged");

    ok(defined wait_served(sha('named-b'), 5, sni => 'b.test'),
       "$name - b.test gets it at its time");

    ($status, $j) = api_json('GET', '/cert/n');
    is($status, 200, "$name - GET /n: 200");
    is($j->{staged}, undef, "$name - nothing staged");

    is(count_log(qr/palette_cert zone "s" certificate "n" activated the version staged for/),
       1, "$name - one audit line");
}


# A reload in between: still exactly one activation.

sub check_reload {
    my ($name) = @_;

    my ($s, $g) = api_json('GET', '/cert');
    my $gen = $g->{generation};

    my $at = time() + 3;
    stage('/cert', 'leaf-c', $at);

    my $pid = PaletteCert::Nginx::master_pid();

    kill 'HUP', $pid;
    Time::HiRes::sleep(1);
    kill 'HUP', $pid;

    ok(defined wait_served(sha('leaf-c'), 6), "$name - served after it");

    Time::HiRes::sleep(2);

    ($s, $g) = api_json('GET', '/cert');
    is($g->{generation}, $gen + 1, "$name - one new generation");
    is(count_log(qr/activated the version staged for/), 1,
       "$name - one audit line");
}


# A binary upgrade in between: the old nginx and the new one both hold
# the version; exactly one of them activates it.

sub check_upgrade {
    my ($name) = @_;

    my ($s, $g) = api_json('GET', '/cert');
    my $gen = $g->{generation};

    my $at = time() + 3;
    my ($status) = stage('/cert', 'leaf-c', $at);
    is($status, 202, "$name - staged");

    my $run = PaletteCert::Run->new(name => $name);
    $run->run({ op => 'upgrade', pos => [], args => {}, flags => {},
                line => 0, text => 'upgrade' });
    $run->finish;

    ok(defined wait_served(sha('leaf-c'), 8), "$name - served after it");

    Time::HiRes::sleep(2);

    ($s, $g) = api_json('GET', '/cert');
    is($g->{generation}, $gen + 1, "$name - one new generation");
    is($g->{staged}, undef, "$name - nothing staged");
    is(count_log(qr/activated the version staged for/), 1,
       "$name - one audit line, of one of the two nginx");
}


my %kept;

sub check_persist_stage {
    my ($name) = @_;

    $kept{at} = time() + 4;

    my ($status) = stage('/cert', 'leaf-b', $kept{at});
    is($status, 202, "$name - staged");
}


sub check_persist_after {
    my ($name) = @_;

    ok(defined wait_served(sha('leaf-b'), 8),
       "$name - after a restart, activated at its time");

    is(count_log(qr/activated the version staged for \Q${\rfc3339($kept{at})}\E/),
       1, "$name - by one worker");

    my ($s, $g) = api_json('GET', '/cert');
    is($g->{staged}, undef, "$name - nothing staged");
}

__DATA__

=== TEST 1: PUT ?activate_at answers 202 with the staged version, GET shows it, the store keeps it; at its time one worker makes it current for all
--- request
GET /cert
--- check: activate



=== TEST 2: dates are judged at activate_at: a leaf valid only from then on is accepted, one expired or not yet valid then is refused
--- request
GET /cert
--- check: dates



=== TEST 3: refusals: a time in the past or malformed, two actions, wrong methods, nothing to cancel, a stale If-Match
--- request
GET /cert
--- check: refusals



=== TEST 4: DELETE ?staged cancels; a new PUT replaces the staged version
--- request
GET /cert
--- check: cancel



=== TEST 5: a staged version that no longer validates at its time stays aside, refused, with one alert and a count
--- request
GET /cert
--- check: refused_then
--- no_error_log eval
["[error]", "[crit]", "PRIVATE KEY-----", "exited on signal"]



=== TEST 6: a named certificate that does not exist yet is made at its time
--- request
GET /cert
--- check: named_new



=== TEST 7: reloads in between: one activation, one new generation
--- request
GET /cert
--- check: reload



=== TEST 8: a binary upgrade in between: one activation, by the old nginx or the new one
--- request
GET /cert
--- check: upgrade



=== TEST 9: staged in the store...
--- http_config
    palette_cert_zone s:4m names=console.example.com store=$TEST_NGINX_STORE_DIR/staged-persist;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert s;
    }
--- request
GET /cert
--- check: persist_stage



=== TEST 10: ...is activated at its time by the next nginx, once
--- http_config
    palette_cert_zone s:4m names=console.example.com store=$TEST_NGINX_STORE_DIR/staged-persist;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert s;
    }
--- request
GET /cert
--- check: persist_after
