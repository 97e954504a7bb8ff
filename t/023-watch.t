# palette_cert_watch: a certificate that follows a folder written by
# someone else, checked over real TLS handshakes.  The folders are written
# by t/lib/watch-write.sh exactly as the kubelet's atomic writer updates a
# mounted Secret, as certbot renews, and as a careless script does (the
# certificate, then the key).  Valid files win over the store at start,
# reach every worker and every instance that watches the folder, and are
# never served half-written; invalid ones are refused once, logged once,
# and the certificate in service stays.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(served wait_served sha error_log count_log
                          check_hook);

use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

master_on();
workers(4);
no_shuffle();

my $CERTS = $ENV{TEST_NGINX_CERT_DIR};
my $W = "$ENV{TEST_NGINX_STORE_DIR}/watch";
my $WRITE = PaletteCert::project_root() . '/t/lib/watch-write.sh';
my $TMP = File::Temp::tempdir(CLEANUP => 1);

# the keys are given to the group of the worker user, as the README says
# to do with a Secret volume or certbot's keys

my $GROUP = '';

if ($> == 0) {
    my $gid = (getpwnam('nobody'))[3];
    $GROUP = defined $gid ? (getgrgid($gid))[0] : '';
}

# the folders as they are before the blocks' nginx start

File::Path::remove_tree($W, map { "$ENV{TEST_NGINX_STORE_DIR}/$_" }
                            qw(watch-store watch-none watch-none-store));

write_files('kubelet', "$W/start", 'leaf-a');
write_files('kubelet', "$W/expired-start", 'leaf-expired');
write_files('kubelet', "$W/swap", 'leaf-a');
write_files('certbot', "$W/le/live/a", 'named-a');
write_files('naive', "$W/naive", 'leaf-a');
write_files('kubelet', "$W/bad", 'leaf-a');
write_files('kubelet', "$W/fleet", 'leaf-a');

PaletteCert::defaults(
    PaletteCert::zone_config('w:4m', named => 1, metrics => 1),
    no_error_log => "[error]\n[alert]\n[crit]\n",
);

check_hook();

run_tests();


# watch-write.sh MODE DIR: the fixture's chain and key (and the test CA,
# but for certbot, which has none); key => another fixture's key, ca => 0
# without the CA, pause => seconds between the certificate and the key.

sub write_files {
    my ($mode, $dir, $fixture, %o) = @_;

    my $chain = $o{chain} || "$CERTS/$fixture.chain.pem";
    my $key = "$CERTS/" . ($o{key} || $fixture) . '.key';
    my @ca = ($mode ne 'certbot' && ($o{ca} // 1)) ? ("$CERTS/ca.pem") : ();

    push @ca, '' if !@ca && defined $o{pause};
    push @ca, $o{pause} if defined $o{pause};

    local $ENV{WATCH_GROUP} = $o{unreadable} ? '' : $GROUP;
    local $ENV{WATCH_KEY_MODE} = $o{unreadable} ? ($> == 0 ? 'dir' : '0000')
                                                : '0640';

    system('sh', $WRITE, $mode, $dir, $chain, $key, @ca) == 0
        or die "$WRITE $mode $dir $fixture failed: $?\n";
}


# Handshakes without a pause in a child until stop_load(): what each got.

sub start_load {
    my (%o) = @_;

    my $file = "$TMP/load-" . time() . "-$$";
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open my $out, '>', $file or POSIX::_exit(1);
        $out->autoflush(1);

        my $stop = 0;
        local $SIG{TERM} = sub { $stop = 1 };

        while (!$stop) {
            my $got = served(%o);
            print $out ($got // 'failed'), "\n";
        }

        close $out;
        POSIX::_exit(0);
    }

    return { pid => $pid, file => $file };
}


sub stop_load {
    my ($load) = @_;

    kill 'TERM', $load->{pid};
    waitpid $load->{pid}, 0;

    open my $in, '<', $load->{file} or die "$load->{file}: $!";
    my @got = map { chomp; $_ } <$in>;
    close $in;

    return @got;
}


sub check_load {
    my ($name, $got, @allowed) = @_;

    my %allowed = map { $_ => 1 } @allowed;
    my @failed = grep { $_ eq 'failed' } @$got;
    my @other = grep { $_ ne 'failed' && !$allowed{$_} } @$got;

    ok(@$got >= 20, "$name - handshakes ran the whole time (" . @$got . ")");
    is(scalar @failed, 0, "$name - none of them failed");
    is(scalar @other, 0, "$name - each got one of the certificates, whole");
}


# The API; a PUT uploads leaf-b.
sub api {
    my ($method, $uri) = @_;

    return PaletteCert::Check::api($method, $uri,
                                   $method eq 'PUT' ? (upload => 'leaf-b')
                                                    : ());
}


sub metric {
    my ($line) = @_;

    my ($status, $body) = api('GET', '/metrics');

    return $body =~ /^\Q$line\E (\S+)$/m ? $1 : undef;
}


my %generation;


# Valid watched files win over the store at start: served from the first
# handshake, a new generation, source "watch"; the API refuses changes.

sub check_start_wins {
    my ($name) = @_;

    is(served(), sha('leaf-a'), "$name - the first handshake gets the files'");

    my ($status, $body) = api('GET', '/cert');

    like($body, qr/"source":"watch"/, "$name - GET: source watch");
    like($body, qr/"watch":"\Q$W\E\/start"/, "$name - GET: the folder");

    ($generation{start}) = $body =~ /"generation":(\d+)/;

    ok($generation{start} > $generation{uploaded},
       "$name - a generation after the stored one");

    is(count_log(qr/palette_cert zone "w" changed by the watched folder "\Q$W\E\/start": generation $generation{start}, sha256 ${\sha('leaf-a')}, subject "CN=console.example.com"/),
       1, "$name - one audit line naming the folder");

    ($status, $body) = api('GET', '/metrics');

    like($body, qr/^palette_cert_info\{zone="w",id="",sha256="${\sha('leaf-a')}",[^}]*,source="watch"\} 1$/m,
         "$name - the metrics: source watch");

    for my $m ('PUT', 'POST', 'DELETE') {
        ($status, $body) = api($m, '/cert');

        is($status, 409, "$name - $m: 409");
        like($body, qr/"error":"managed_by_watch"/,
             "$name - $m: managed_by_watch");
    }

    is(served(), sha('leaf-a'), "$name - still the files' certificate");
}


sub check_uploaded {
    my ($name) = @_;

    my ($status, $body) = api('GET', '/cert');

    ($generation{uploaded}) = $body =~ /"generation":(\d+)/;

    is(served(), sha('leaf-b'), "$name - the store holds leaf-b");
}


# A restart over the same files and store: nothing changes.

sub check_restart_same {
    my ($name) = @_;

    my ($status, $body) = api('GET', '/cert');

    is(($body =~ /"generation":(\d+)/)[0], $generation{start},
       "$name - the same generation");
    like($body, qr/"source":"watch"/, "$name - source watch");
    is(served(), sha('leaf-a'), "$name - the files' certificate");
}


# Invalid watched files at start: the stored certificate stays in service.

sub check_start_invalid {
    my ($name) = @_;

    is(served(), sha('leaf-a'), "$name - the stored certificate is served");

    my ($status, $body) = api('GET', '/cert');

    is(($body =~ /"generation":(\d+)/)[0], $generation{start},
       "$name - its generation");
    like($body, qr/"source":"uploaded".*"watch":"\Q$W\E\/expired-start"/,
         "$name - GET: not the watched files', but the folder is shown");

    is(count_log(qr/\[error\].*palette_cert zone "w": the watched folder "\Q$W\E\/expired-start" is refused \(expired\): /),
       1, "$name - one error line, at start");

    Time::HiRes::sleep(2.5);

    is(count_log(qr/is refused/), 1, "$name - and no more at the checks");
}


# The kubelet swaps the Secret while handshakes run on 4 workers.

sub check_kubelet_swap {
    my ($name) = @_;

    is(served(), sha('leaf-a'), "$name - before: leaf-a");

    my $load = start_load();

    Time::HiRes::sleep(0.5);

    write_files('kubelet', "$W/swap", 'leaf-b');

    my $t = wait_served(sha('leaf-b'), 5);

    ok(defined $t && $t <= 2, "$name - every handshake gets leaf-b within "
                              . "interval + 1 s (" . ($t // 'never') . ")");

    Time::HiRes::sleep(0.5);

    check_load($name, [stop_load($load)], sha('leaf-a'), sha('leaf-b'));

    my $same = 1;

    for (1 .. 40) {
        $same = 0 if (served() // '') ne sha('leaf-b');
    }

    ok($same, "$name - 40 handshakes after, on every worker: leaf-b");

    is(metric('palette_cert_changes_total{zone="w",result="ok"}'), 2,
       "$name - two changes counted ok: at start, and the swap");
}


# certbot renews a named certificate; the zone trusts the test CA, as
# certbot's folder has no CA file.

sub check_certbot {
    my ($name) = @_;

    is(served(sni => 'a.test'), sha('named-a'), "$name - a.test: named-a");

    my ($status, $body) = api('GET', '/cert/a');

    like($body, qr/"id":"a".*"source":"watch".*"watch":"\Q$W\E\/le\/live\/a"/,
         "$name - GET /cert/a: source watch, the folder");

    ($status, $body) = api('PUT', '/cert/a');
    is($status, 409, "$name - PUT /cert/a: 409 managed_by_watch");

    ($status, $body) = api('PUT', '/cert/other');
    is($status, 200, "$name - another id is uploaded as usual");

    write_files('certbot', "$W/le/live/a", 'named-a2');

    my $t = wait_served(sha('named-a2'), 5, sni => 'a.test');

    ok(defined $t && $t <= 2, "$name - a.test: named-a2 within interval + 1 s "
                              . "(" . ($t // 'never') . ")");

    is(served(), sha('leaf-b'), "$name - the default is left alone");
}


# The certificate written before the key, 2 s apart: the pair caught
# half-written is never served nor refused, the new one follows.

sub check_naive {
    my ($name) = @_;

    my $load = start_load();

    Time::HiRes::sleep(0.3);

    write_files('naive', "$W/naive", 'leaf-b', pause => 2);

    my $t = wait_served(sha('leaf-b'), 8);

    ok(defined $t, "$name - leaf-b served once its key is written ("
                   . ($t // 'never') . ")");

    check_load($name, [stop_load($load)], sha('leaf-a'), sha('leaf-b'));
}


# Refused files: logged once each, counted, the certificate stays.

sub check_refused {
    my ($name) = @_;

    my $garbage = "$TMP/garbage.pem";

    open my $fh, '>', $garbage or die "$garbage: $!";
    print $fh "this is not a certificate\n";
    close $fh;

    my @cases = (
        [ 'expired', sub { write_files('kubelet', "$W/bad", 'leaf-expired') },
          3 ],
        [ 'key_mismatch',
          sub { write_files('kubelet', "$W/bad", 'leaf-c', key => 'leaf-a') },
          6 ],
        [ 'name_mismatch',
          sub { write_files('kubelet', "$W/bad", 'leaf-wrong-name') }, 3 ],
        [ 'invalid_certificate',
          sub { write_files('kubelet', "$W/bad", 'leaf-a',
                            chain => $garbage) }, 3 ],
    );

    for my $c (@cases) {
        my ($code, $write, $wait) = @$c;

        $write->();
        Time::HiRes::sleep($wait);

        is(count_log(qr/\[error\].*palette_cert zone "w": the watched folder "\Q$W\E\/bad" is refused \($code\): .*; the certificate in service stays/),
           1, "$name - $code: one error line");

        is(served(), sha('leaf-a'), "$name - $code: leaf-a stays");
        is(metric("palette_cert_changes_total{zone=\"w\",result=\"$code\"}"),
           1, "$name - $code: counted");
    }

    # the same files are not tried again

    Time::HiRes::sleep(2.5);

    is(count_log(qr/is refused/), 4, "$name - no line more");
    is(count_log(qr/key_mismatch/), 1,
       "$name - the half-written pair was waited for, then refused once");
}


# A folder missing at start, then there, then gone, then with a key the
# workers cannot read.

sub check_missing {
    my ($name) = @_;

    my $dir = "$ENV{TEST_NGINX_STORE_DIR}/watch-none";

    is(count_log(qr/\[error\].*the watched folder "\Q$dir\E" cannot be used; the certificate in service stays/),
       1, "$name - at start: one error line");

    my ($status, $body) = api('GET', '/cert');
    like($body, qr/"source":"self-signed"/, "$name - the default stays");

    write_files('kubelet', $dir, 'leaf-a');

    ok(defined wait_served(sha('leaf-a'), 5), "$name - once there: served");

    File::Path::remove_tree($dir);
    Time::HiRes::sleep(3);

    is(served(), sha('leaf-a'), "$name - gone: leaf-a stays");
    is(count_log(qr/the watched folder "\Q$dir\E" cannot be used/), 2,
       "$name - gone: one more error line, however many checks");

    # a key the worker user cannot read (the workers of a test run as root
    # run as root: then a folder where the key should be)

    write_files('kubelet', $dir, 'leaf-b', unreadable => 1);

    Time::HiRes::sleep(3);

    is(served(), sha('leaf-a'), "$name - unreadable: leaf-a stays");
    is(count_log(qr/\[error\].*"\Q$dir\E\/tls.key" cannot be read by the worker user/),
       1, "$name - unreadable: one error line");
}


# Three nginx instances, each with its own prefix and store, watch one
# folder: one swap reaches the three within interval + 1 s.

sub check_fleet {
    my ($name) = @_;

    my $binary = PaletteCert::Nginx::binary();
    my @ports = ($ENV{TEST_NGINX_TLS_PORT});
    my @prefixes;

    for my $i (1 .. 2) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Listen => 1,
                                      ReuseAddr => 1)
            or die "no free port: $!";
        my $port = $s->sockport;
        close $s;

        my $prefix = "$ENV{TEST_NGINX_STORE_DIR}/watch-fleet-$i";
        File::Path::remove_tree($prefix);

        my $main = "worker_processes 2;\nerror_log logs/error.log notice;\n";

        PaletteCert::Nginx::conf($prefix, <<"_EOC_", $main);
    access_log off;
    palette_cert_zone w:1m store=$prefix/store;
    palette_cert_watch w $W/fleet interval=1s;
    server {
        listen 127.0.0.1:$port ssl;
        palette_cert w;
    }
_EOC_

        system($binary, '-p', "$prefix/", '-c', "$prefix/nginx.conf") == 0
            or die "nginx $i did not start: $?\n";

        push @ports, $port;
        push @prefixes, $prefix;
    }

    for my $port (@ports) {
        my $got;

        for (1 .. 50) {
            $got = served(port => $port);
            last if defined $got;
            Time::HiRes::sleep(0.1);
        }

        is($got, sha('leaf-a'), "$name - port $port: leaf-a at start");
    }

    write_files('kubelet', "$W/fleet", 'leaf-b');

    my $start = Time::HiRes::time();
    my %when;

    while (keys %when < @ports && Time::HiRes::time() - $start < 6) {
        for my $port (@ports) {
            next if $when{$port};

            $when{$port} = Time::HiRes::time() - $start
                if (served(port => $port) // '') eq sha('leaf-b');
        }

        Time::HiRes::sleep(0.05);
    }

    for my $port (@ports) {
        ok(defined $when{$port} && $when{$port} <= 2,
           "$name - port $port: leaf-b within interval + 1 s ("
           . ($when{$port} // 'never') . ")");
    }

    for my $prefix (@prefixes) {
        system($binary, '-p', "$prefix/", '-c', "$prefix/nginx.conf",
               '-s', 'quit');

        my $log = do { local (@ARGV, $/) = "$prefix/logs/error.log"; <> };

        unlike($log, qr/\[(error|alert|crit|emerg)\]|exited on signal/,
               "$name - $prefix: a clean error log");
    }
}

__DATA__

=== TEST 1: nginx -t: what palette_cert_watch takes
--- request
GET /cert
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_watch b /tmp;
--- nginx_t_error
\[emerg\].*"palette_cert_watch" refers to zone "b" that is not declared by "palette_cert_zone" before it


=== TEST 2: nginx -t: an invalid id
--- request
GET /cert
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_watch a/-x /tmp;
--- nginx_t_error
\[emerg\].*invalid certificate id "-x" in "palette_cert_watch"


=== TEST 3: nginx -t: one watch a certificate
--- request
GET /cert
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_watch a/x /tmp;
    palette_cert_watch a/x /var;
--- nginx_t_error
\[emerg\].*"palette_cert_watch": the certificate "x" of zone "a" is watched already


=== TEST 4: nginx -t: interval= of a second at least, no other parameter
--- request
GET /cert
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_watch a /tmp interval=500ms;
--- nginx_t_error
\[emerg\].*invalid "interval=500ms" in "palette_cert_watch", at least 1s is needed


=== TEST 5: nginx -t: an unknown parameter; in http only
--- request
GET /cert
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_watch a /tmp every=5s;
--- nginx_t_error
\[emerg\].*invalid parameter "every=5s" in "palette_cert_watch"


=== TEST 6: a store that holds an uploaded certificate (made so here)
--- http_config
    palette_cert_zone w:4m store=$TEST_NGINX_STORE_DIR/watch-store;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- steps
upload leaf-b
--- check
uploaded


=== TEST 7: (the same store) valid watched files win over it at start, and the API refuses changes
--- http_config
    palette_cert_zone w:4m store=$TEST_NGINX_STORE_DIR/watch-store;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/start interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
start_wins


=== TEST 8: (the same store and files) a restart changes nothing
--- http_config
    palette_cert_zone w:4m store=$TEST_NGINX_STORE_DIR/watch-store;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/start interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
restart_same
--- no_error_log
changed by the watched folder
[error]


=== TEST 9: (the same store) invalid watched files at start: the stored certificate stays, one error line
--- http_config
    palette_cert_zone w:4m store=$TEST_NGINX_STORE_DIR/watch-store;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/expired-start interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
start_invalid
--- no_error_log
[alert]
[crit]


=== TEST 10: the kubelet swaps the Secret while handshakes run: none fails, every worker follows
--- http_config
    palette_cert_zone w:4m;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/swap interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
kubelet_swap


=== TEST 11: certbot renews a named certificate, which the API then leaves to the folder
--- http_config
    palette_cert_zone w:4m trust=$TEST_NGINX_CERT_DIR/ca.pem;
    palette_cert_watch w/a $TEST_NGINX_STORE_DIR/watch/le/live/a interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
certbot


=== TEST 12: a writer that replaces the certificate, then the key: never a mix, never refused
--- http_config
    palette_cert_zone w:4m;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/naive interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
naive


=== TEST 13: expired, mismatched, wrong names, garbage: refused, logged once each, the old one kept
--- http_config
    palette_cert_zone w:4m names=console.example.com;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/bad interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
refused
--- no_error_log
[alert]
[crit]


=== TEST 14: a folder missing at start, then written, then gone, then unreadable: one line a problem
--- http_config
    palette_cert_zone w:4m store=$TEST_NGINX_STORE_DIR/watch-none-store;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch-none interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
missing
--- no_error_log
[alert]
[crit]


=== TEST 15: a fleet: three instances watching one folder follow one swap
--- http_config
    palette_cert_zone w:4m;
    palette_cert_watch w $TEST_NGINX_STORE_DIR/watch/fleet interval=1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        palette_cert w;
    }
--- request
GET /cert
--- check
fleet
