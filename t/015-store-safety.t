# The store's safety: no two zones share a store folder; the master, which
# runs as root, never reads or writes through a link planted in the
# folder the worker user owns; and "200 means live" holds when an upload
# meets a reload that resizes the zone or a binary upgrade.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Body qw(upload_json);
use PaletteCert::Nginx qw(pid_in worker_pids);
use PaletteCert::Util qw(wait_for);

use IO::Socket::INET;
use JSON::PP qw(decode_json);
use Time::HiRes ();

master_on();
workers(2);
no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:1m names=console.example.com',
                             store => 'safety', reuseport => 1));

# "--- plant": links planted in the store before the block's nginx starts
# (the nginx of the block before no longer writes), one action a line,
# paths relative to $TEST_NGINX_STORE_DIR; "@/PATH" in a link target is
# that path under $TEST_NGINX_STORE_DIR, made absolute:
#
#     copy FROM TO        copies a file or a folder (links followed)
#     link PATH TARGET    replaces PATH (file, folder or link) by a link
#
# "--- outside DIR": a folder outside the store the links lead to; what it
# holds (names, sizes, modes, owners, digests) is recorded after the
# planting, and must be the same once the block's steps have run, with
# nothing added: root neither wrote nor removed anything through a link.
# "--- not_link": paths that must be real folders or files after the steps.

my %outside;

sub store_path {
    my ($rel) = @_;

    die "\"$rel\" is not inside the store folder\n"
        if $rel =~ m{^/|(?:^|/)\.\.(?:/|$)};

    return "$ENV{TEST_NGINX_STORE_DIR}/$rel";
}

sub tree {
    my ($dir) = @_;

    my $out = `cd '$dir' && find . -printf '%p %y %m %U %s %l\\n' | sort 2>&1`;
    $out .= `cd '$dir' && find . -type f -exec sha256sum {} + | sort 2>&1`;

    return $out;
}

sub plant {
    my ($block) = @_;

    my $text = eval { $block->plant };

    return $block if !defined $text;

    for my $line (grep { /\S/ } split /\n/, $text) {
        my ($op, $path, $arg) = split ' ', $line;
        my $err;

        if ($op eq 'copy') {
            my ($from, $to) = (store_path($path), store_path($arg));
            system('mkdir', '-p', $to =~ s{/[^/]+$}{}r);
            $err = system('cp', '-rL', '--', $from, $to) ? "cp failed" : undef;

        } elsif ($op eq 'link') {
            my $at = store_path($path);
            $arg =~ s{^@/}{$ENV{TEST_NGINX_STORE_DIR}/};
            system('rm', '-rf', '--', $at);
            $err = symlink($arg, $at) ? undef : "symlink $at: $!";

        } else {
            $err = "unknown action \"$op\"";
        }

        Test::More::ok(!defined $err, $block->name . " - plant: $line")
            or Test::More::diag($err);
    }

    my $dir = eval { $block->outside };

    if (defined $dir) {
        $dir =~ s/\s+$//;
        $outside{ $block->name } = tree(store_path($dir));
    }

    return $block;
}


# "--- straddle reload|failed_reload|upgrade": an upload that meets a
# reload resizing the zone (one that succeeds, one that fails), or a
# binary upgrade, driven from here; its checks are in the subs below.
# Either the upload is answered 200 and then served by the workers that
# serve from then on, or it is refused with 503 "reloading" and
# Retry-After, and nothing changed; never 200 and not served.

# One HTTP/1.1 exchange on a connection of its own; $pause, when given,
# runs after half the body was sent.  Returns (status, headers, JSON).
sub exchange {
    my ($method, $body, $pause) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => PaletteCert::_api_port(),
                                     Timeout => 10)
        or return (0, '', {});

    my $half = int(length($body) / 2);

    print {$sock} "$method /cert HTTP/1.1\r\nHost: localhost\r\n"
                  . "Accept: application/json\r\n"
                  . "Content-Type: application/json\r\n"
                  . "Content-Length: " . length($body) . "\r\n"
                  . "Connection: close\r\n\r\n" . substr($body, 0, $half);

    $pause->() if $pause;

    print {$sock} substr($body, $half);

    my $answer = '';
    my $deadline = Time::HiRes::time() + 10;

    while (Time::HiRes::time() < $deadline) {
        my $n = sysread $sock, my $buf, 65536;
        last if !$n;
        $answer .= $buf;
    }

    close $sock;

    my ($head, $json) = split /\r\n\r\n/, $answer, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d+)};

    return ($status // 0, $head // '', eval { decode_json($json) } || {});
}

sub current {
    my ($status, $head, $j) = exchange('GET', '');

    return $j;
}

sub store_current {
    my $link = readlink store_path('safety/current') // '-';

    return -d store_path("safety/$link") ? $link : "$link (missing)";
}

# A 200 must be live for whoever serves next; a 503 must change nothing.
sub check_answer {
    my ($name, $fixture, $status, $head, $j, $before, $link) = @_;

    if ($status == 200) {
        my $now = current();

        Test::More::is($now->{generation}, $j->{generation},
                       "$name - the 200 answer's generation is served");
        Test::More::is("gen-$j->{generation}", store_current(),
                       "$name - the store's current is that generation");
        PaletteCert::run_steps("$name - after the 200",
                               "handshake count=10 expect=$fixture");
        return;
    }

    Test::More::is($status, 503, "$name - the upload is answered 503")
        or Test::More::diag($head);
    Test::More::is($j->{error}, 'reloading', "$name - error \"reloading\"");
    Test::More::like($head, qr/\r\nRetry-After: 1\r\n/i,
                     "$name - Retry-After: 1");

    my $now = current();

    Test::More::is($now->{generation}, $before->{generation},
                   "$name - the generation stays");
    Test::More::is($now->{sha256}, $before->{sha256},
                   "$name - the certificate served stays");
    Test::More::is(store_current(), $link,
                   "$name - the store's current stays, and exists");
}

sub straddle_reload {
    my ($name) = @_;

    PaletteCert::run_steps("$name - first", "upload leaf-a");

    my $before = current();
    my $link = store_current();

    my ($status, $head, $j) = exchange('PUT', upload_json('leaf-b'), sub {
        Time::HiRes::sleep(0.3);
        PaletteCert::run_steps("$name - meanwhile",
                               "reload from=console:1m to=console:2m");
    });

    check_answer($name, 'leaf-b', $status, $head, $j, $before, $link);

    PaletteCert::run_steps("$name - then", <<'_EOS_');
upload leaf-c
handshake count=10 expect=leaf-c workers=all
store safety sha256=leaf-c
_EOS_
}

# A reload that resizes the zone and then fails (a port it cannot bind):
# the running workers go on taking changes.
sub straddle_failed_reload {
    my ($name) = @_;

    my $root = Test::Nginx::Socket::server_root();
    my $port = $ENV{TEST_NGINX_TLS_PORT2};
    my $busy = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                     Listen => 1, ReuseAddr => 1);

    Test::More::ok($busy, "$name - port $port is held") or return;

    open my $in, '<', "$root/conf/nginx.conf" or die "nginx.conf: $!";
    my $conf = do { local $/; <$in> };
    close $in;

    $conf =~ s{palette_cert_zone console:1m}
              {server { listen 127.0.0.1:$port; return 204; }
    palette_cert_zone console:2m};

    open my $out, '>', "$root/conf/nginx.conf" or die "nginx.conf: $!";
    print {$out} $conf;
    close $out;

    kill 'HUP', pid_in("$root/logs/nginx.pid");

    Test::More::ok(wait_for(sub {
                       open my $log, '<', "$root/logs/error.log" or return 0;
                       local $/;
                       return <$log> =~ /still could not bind\(\)/;
                   }), "$name - the reload fails");

    PaletteCert::run_steps("$name - then", <<'_EOS_');
pids record
upload leaf-b
get sha256=leaf-b
handshake count=10 expect=leaf-b workers=all
store safety sha256=leaf-b
pids same
_EOS_
}

sub straddle_upgrade {
    my ($name) = @_;

    PaletteCert::run_steps("$name - first", "upload leaf-c");

    my $pidfile = Test::Nginx::Socket::server_root() . '/logs/nginx.pid';
    my $old = pid_in($pidfile);
    my @old_workers = worker_pids($old);
    my $before = current();
    my $link = store_current();
    my $new;

    kill 'USR2', $old;

    my $up = wait_for(sub {
        $new = pid_in($pidfile);
        return defined $new && $new != $old && worker_pids($new);
    });

    Test::More::ok($up, "$name - a new master and its workers run");

    # the old instance and the new one both serve: whichever answers,
    # the upload cannot be live in both

    for my $i (1 .. 6) {
        my $fixture = $i % 2 ? 'leaf-a' : 'leaf-b';
        my ($status, $head, $j) = exchange('PUT', upload_json($fixture));
        check_answer("$name - upload $i while both run", $fixture, $status,
                     $head, $j, $before, $link);
        $before = current() if $status == 200;
        $link = store_current() if $status == 200;
    }

    kill 'QUIT', $old;

    Test::More::ok(wait_for(sub {
                       !kill(0, $old) && !grep { kill 0, $_ } @old_workers
                   }), "$name - the old master and its workers exit");

    PaletteCert::run_steps("$name - once the old master is gone", <<'_EOS_');
upload leaf-a
get sha256=leaf-a
handshake count=10 expect=leaf-a workers=all
store safety sha256=leaf-a
_EOS_
}

Test::Nginx::Socket::add_block_preprocessor(\&plant);

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run || $req_idx || $repeated_req_idx;

    my $straddle = eval { $block->straddle };

    if (defined $straddle) {
        $straddle =~ s/\s+//g;
        straddle_reload($block->name) if $straddle eq 'reload';
        straddle_upgrade($block->name) if $straddle eq 'upgrade';
        straddle_failed_reload($block->name) if $straddle eq 'failed_reload';
    }

    for my $rel (grep { /\S/ } split /\n/, eval { $block->not_link } // '') {
        $rel =~ s/^\s+|\s+$//g;
        Test::More::ok(-e store_path($rel) && !-l store_path($rel),
                       $block->name . " - \"$rel\" is no link");
    }

    my $before = delete $outside{ $block->name };

    return if !defined $before;

    (my $dir = $block->outside) =~ s/\s+$//;

    Test::More::is(tree(store_path($dir)), $before,
                   $block->name . " - nothing changed in \"$dir\"");
});

run_tests();

__DATA__

=== TEST 1: nginx -t rejects two zones with the same store= folder, naming both zones and the folder
--- fresh_store
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



=== TEST 6: the series starts with an upload, stored as generation 2
--- fresh_store
--- request
GET /cert
--- steps
upload leaf-a
store safety generation=2 sha256=leaf-a
--- no_error_log
[alert]
[crit]



=== TEST 7: a key.pem of the current generation that is a link to a file outside the store is not read: alert, the self-signed default served, the file untouched
--- plant
copy safety/current outside/gen
link safety/gen-2/key.pem @/outside/gen/key.pem
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=3
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=4 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/gen-2/key\.pem}]



=== TEST 8: a generation folder that is a link to a folder outside the store is not read: alert, the self-signed default served, the folder untouched
--- plant
copy safety/current outside/gen-4
link safety/gen-4 @/outside/gen-4
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=5
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=6 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/gen-4}]



=== TEST 9: a current link that leads out of the store is not followed: alert, the self-signed default served
--- plant
copy safety/current outside/gen-6
link safety/current ../outside/gen-6
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=7
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=8 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/current}]



=== TEST 10: a self-signed folder that is a link to a folder outside the store is not read: alert, a new default is made in the store, the upload stays served
--- plant
copy safety/self-signed outside/self-signed
link safety/self-signed @/outside/self-signed
--- outside
outside
--- not_link
safety/self-signed
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-a generation=8
handshake count=4 expect=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/self-signed}]



=== TEST 11: an upload an old worker reads across a reload that resizes the zone is answered 200 and served by the new workers, or 503 reloading and nothing changed
--- request
GET /cert
--- straddle
reload
--- no_error_log
[crit]



=== TEST 12: a reload that would resize the zone but fails leaves the running workers taking changes, answered 200 and served
--- request
GET /cert
--- straddle
failed_reload



=== TEST 13: while an old and a new nginx both run during a binary upgrade, uploads are answered 503 reloading and nothing changes; once the old master quits, an upload is 200 and served
--- request
GET /cert
--- straddle
upgrade
--- no_error_log
[crit]
