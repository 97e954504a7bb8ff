# What a zone recovers from, and the numbers it never reuses.  A worker
# killed while it applies a change (its record allocated in the zone, not
# yet current) leaves nothing behind: a small zone takes uploads after any
# number of such deaths.  A change lock held by a live process that is no
# worker of this nginx (a dead holder's pid, reused) makes uploads wait a
# bounded time and answer 503 busy, and is taken over once it is older
# than any change can take; a worker only stalled that long then makes
# nothing current that was freed under it.  A dry run reports the
# generation the upload then gets, also when the store is ahead of the
# zone.  Without a store, a restart never answers with an ETag of the run
# before.  A first name over 64 characters keeps its self-signed default
# across restarts.  While a reload that resizes the zone copies it, the
# master holds the running zone: workers, which cannot signal it, do not
# take it for gone, and refuse the upload rather than answer 200 where
# the new workers would not serve it.
#
# A worker is stopped at a function of the module by gdb, attached to the
# worker that serves a keep-alive connection, and killed there (or let go
# on later); the change lock is set by gdb in the master, which maps the
# zone too.

# Workers run as another user than the master, as in production: they
# cannot signal it.

BEGIN {
    $ENV{TEST_NGINX_WORKER_USER} ||= 'nobody nogroup';
}

use Test::Nginx::Socket 'no_plan';

# before PaletteCert's, so that a block's steps run after what is here

BEGIN {
    Test::Nginx::Socket::add_response_body_check(
        sub { main::zone_check(@_) });
}

use lib 't/lib';
use PaletteCert;
use PaletteCert::Body qw(upload_json);
use PaletteCert::Nginx qw(master_pid worker_pids);
use PaletteCert::Util qw(wait_for);

use File::Spec;
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes ();

master_on();
workers(4);
no_shuffle();

my %sections = PaletteCert::zone_config('console:1m names=console.example.com',
                                        store => 'recovery', reuseport => 1);

# the worker that serves a connection to the API tells its pid at /pid
$sections{config} .= "    location = /pid { return 200 \"\$pid\\n\"; }\n";

PaletteCert::defaults(%sections);

# how long an upload may wait for a change lock before it is refused
my $WAIT_BOUND = 5;

# the highest generation a block answered, by the name the block gives
my %Seen;

# a live process that is no worker, made to hold a zone's change lock
my $Holder;

END {
    end_holder();
}

run_tests();


sub zone_check {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run || ($repeated_req_idx || 0) != 0;

    $req_idx ||= 0;

    # the lock holder of the block before, kept alive for its steps

    end_holder() if $req_idx == 0;

    my $name = $block->name;
    my $request = eval { $block->request };
    my $last = ref $request eq 'ARRAY' ? $#$request : 0;

    if ($req_idx == 0) {
        my $kill = eval { $block->kill_workers };
        kill_workers($name, $kill) if defined $kill;

        my $stall = eval { $block->stall_worker };
        stall_worker($name, $stall) if defined $stall;

        my $dry = eval { $block->dry_run_generation };
        dry_run_generation($name, $dry) if defined $dry;

        my $lock = eval { $block->change_lock };
        change_lock($name, $lock) if defined $lock;

        my $hold = eval { $block->reload_hold };
        reload_hold($name, $hold) if defined $hold;
    }

    return if $req_idx != $last;

    my $gen = generation_of($body);

    my $remember = eval { $block->remember_generation };

    if (defined $remember) {
        chomp $remember;
        Test::More::ok(defined $gen, "$name - generation answered")
            and $Seen{$remember} = $gen;
    }

    my $above = eval { $block->generation_above };

    if (defined $above) {
        chomp $above;

        my $before = $Seen{$above};

        Test::More::ok(defined $before && defined $gen && $gen > $before,
                       "$name - generation after the restart is above "
                       . "every one of the run before")
            or Test::More::diag("  before the restart up to "
                                . ($before // 'none') . ", now "
                                . ($gen // 'none'));
    }
}


sub generation_of {
    my ($body) = @_;

    my $j = eval { JSON::PP::decode_json($body // '') };

    return ref $j eq 'HASH' ? $j->{generation} : undef;
}







sub api {
    my ($method, $path, $body, $timeout) = @_;

    my $http = HTTP::Tiny->new(timeout => $timeout || 30,
                               keep_alive => 0);
    my $url = 'http://127.0.0.1:' . PaletteCert::_api_port() . $path;

    my $t = Time::HiRes::time();
    my $res = $http->request($method, $url, {
        headers => { 'Content-Type' => 'application/json',
                     'Accept' => 'application/json' },
        defined $body ? (content => $body) : (),
    });

    $res->{elapsed} = Time::HiRes::time() - $t;
    $res->{json} = eval { JSON::PP::decode_json($res->{content}) };

    return $res;
}


# gdb, batch mode, no terminal: its output, stderr included, on a pipe.
sub start_gdb {
    my (@args) = @_;

    my $pid = open my $out, '-|';

    die "fork: $!\n" if !defined $pid;

    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        exec('gdb', '-q', '-batch', '-nx', '-ex', 'set pagination off',
             '-ex', 'set confirm off', @args)
            or POSIX::_exit(127);
    }

    return ($pid, $out);
}


# Lines of gdb's output until one matches $re (or it ends, or $seconds
# pass); returns what was read and whether $re was seen.
sub read_gdb {
    my ($out, $re, $seconds) = @_;

    my ($text, $seen) = ('', 0);

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $seconds;

        while (my $line = <$out>) {
            $text .= $line;

            if (defined $re && $line =~ $re) {
                $seen = 1;
                last;
            }
        }

        alarm 0;
        1;
    };

    alarm 0;

    return ($text, $seen);
}


# --- kill_workers
# COUNT FUNCTION FIXTURE: COUNT times, an upload of FIXTURE whose worker is
# stopped by gdb when it enters FUNCTION, and killed there (SIGKILL).
sub kill_workers {
    my ($name, $text) = @_;

    for my $line (grep { /\S/ } split /\n/, $text) {
        my ($count, $func, $fixture) = split ' ', $line;

        for my $i (1 .. $count) {
            kill_one($name, "$func, $i of $count", $func, $fixture)
                or return;
        }
    }
}


# A keep-alive connection to the API and the pid of the worker that
# serves it: the one that gets what is sent next on it.
sub pin_worker {
    my ($name, $what) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => PaletteCert::_api_port(),
                                     Timeout => 10);

    if (!$sock) {
        Test::More::ok(0, "$name - $what: connect: $@");
        return;
    }

    print {$sock} "GET /pid HTTP/1.1\r\nHost: localhost\r\n\r\n";

    my $head = read_until($sock, qr/\r\n\r\n\d+\n/, 10);
    my ($worker) = $head =~ /\r\n\r\n(\d+)\n/;

    if (!$worker) {
        Test::More::ok(0, "$name - $what: the worker tells its pid");
        return;
    }

    return ($sock, $worker);
}


sub read_until {
    my ($sock, $re, $seconds) = @_;

    my $buf = '';

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $seconds;
        while ($buf !~ $re) {
            sysread($sock, $buf, 4096, length $buf) or last;
        }
        alarm 0;
        1;
    };

    alarm 0;

    return $buf;
}


sub send_upload {
    my ($sock, $fixture) = @_;

    my $body = upload_json($fixture);

    print {$sock} "PUT /cert HTTP/1.1\r\nHost: localhost\r\n"
                  . "Content-Type: application/json\r\n"
                  . "Content-Length: " . length($body) . "\r\n\r\n$body";
}


sub kill_one {
    my ($name, $what, $func, $fixture) = @_;

    my $master = master_pid();

    return Test::More::ok(0, "$name - $what: nginx runs") if !$master;

    wait_for(sub { worker_pids($master) >= 4 })
        or return Test::More::ok(0, "$name - $what: 4 workers run");

    my ($sock, $worker) = pin_worker($name, $what) or return;

    my ($gdb, $out) = start_gdb('-p', $worker, '-ex', "break $func",
                                '-ex', 'echo READY\n', '-ex', 'continue',
                                '-ex', 'kill');

    my ($log, $ready) = read_gdb($out, qr/^READY/, 30);

    if (!$ready) {
        kill 'KILL', $gdb;
        waitpid $gdb, 0;
        Test::More::diag($log);
        return Test::More::ok(0, "$name - $what: gdb attached to $worker");
    }

    send_upload($sock, $fixture);

    my ($rest) = read_gdb($out, undef, 30);
    $log .= $rest;

    kill 'KILL', $gdb;
    waitpid $gdb, 0;
    close $out;

    my $answer = '';
    $sock->blocking(0);
    sysread($sock, $answer, 4096);
    close $sock;

    Test::More::ok($log =~ /Breakpoint 1, .*\b\Q$func\E\b/,
                   "$name - $what: worker $worker stopped in $func")
        or Test::More::diag($log);

    Test::More::ok($answer !~ /^HTTP/,
                   "$name - $what: the upload was not answered")
        or Test::More::diag(substr $answer, 0, 200);

    # gone, reaped by the master, and a new worker in its place

    Test::More::ok(wait_for(sub { !-e "/proc/$worker" }),
                   "$name - $what: worker $worker is gone");

    return Test::More::ok(wait_for(sub { worker_pids($master) >= 4 }),
                          "$name - $what: the master runs 4 workers again");
}


# --- reload_hold
# FIXTURE: a reload that doubles the zone's size, the master stopped by
# gdb where the new configuration is about to be used: it then holds the
# running zone's change lock, taken for the copy.  An upload of FIXTURE to
# a worker of the running configuration meanwhile must not take the
# master for gone (workers cannot signal it): it waits, and is answered
# 503 once the master goes on; the new workers serve what they served.
sub reload_hold {
    my ($name, $fixture) = @_;

    chomp $fixture;

    my $what = "a resizing reload held in the master";
    my $master = master_pid();

    return Test::More::ok(0, "$name - $what: nginx runs") if !$master;

    my $dir = File::Temp::tempdir('palette-hold-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $go = "$dir/go";

    my $before = api('GET', '/cert')->{json};
    my ($sock, $worker) = pin_worker($name, $what) or return;

    # the master takes the reload signal itself; gdb stops it only at
    # the breakpoint

    my ($gdb, $out) = start_gdb('-p', $master,
                                '-ex', 'handle SIGHUP SIGCHLD SIGIO SIGALRM '
                                       . 'nostop noprint pass',
                                '-ex', 'break ngx_palette_cert_init_module',
                                '-ex', 'echo READY\n', '-ex', 'continue',
                                '-ex', 'echo STOPPED\n',
                                '-ex', "shell while [ ! -e '$go' ]; do "
                                       . "sleep 0.1; done",
                                '-ex', 'delete', '-ex', 'detach');

    my ($log, $ready) = read_gdb($out, qr/^READY/, 30);
    my $stopped;

    if ($ready) {
        resize_zone('1m', '2m');
        kill 'HUP', $master;
        (my $more, $stopped) = read_gdb($out, qr/^STOPPED/, 30);
        $log .= $more;
    }

    if (!$stopped) {
        kill 'KILL', $gdb;
        waitpid $gdb, 0;
        Test::More::diag($log);
        return Test::More::ok(0, "$name - $what: the master stopped");
    }

    send_upload($sock, $fixture);

    my $early = read_until($sock, qr/\r\n\r\n.*\}\n/s, 2);

    Test::More::unlike($early, qr{^HTTP/1\.1 200},
                       "$name - $what: no 200 while the master holds "
                       . "the zone");

    open my $fh, '>', $go or die "$go: $!";
    close $fh;

    my ($rest) = read_gdb($out, undef, 30);
    $log .= $rest;

    kill 'KILL', $gdb;
    waitpid $gdb, 0;
    close $out;

    my $res = $early =~ /\}\n/ ? $early
              : $early . read_until($sock, qr/\r\n\r\n.*\}\n/s, 15);
    close $sock;

    my ($status) = $res =~ m{^HTTP/1\.1 (\d+)};
    my ($json) = $res =~ /\r\n\r\n(.*)/s;
    my $j = eval { JSON::PP::decode_json($json // '') } || {};

    Test::More::is($status, 503, "$name - $what: the upload is refused")
        or Test::More::diag(substr $res, 0, 300);
    Test::More::like($j->{error} // '', qr/^(?:reloading|busy)$/,
                     "$name - $what: as reloading or busy");

    wait_for(sub { !kill(0, $worker) }, 30);

    my $after = api('GET', '/cert')->{json};

    Test::More::is($after ? $after->{generation} : undef,
                   $before ? $before->{generation} : -1,
                   "$name - $what: the new workers serve the generation "
                   . "served before");
}


sub resize_zone {
    my ($from, $to) = @_;

    my $conf = server_root() . '/conf/nginx.conf';

    open my $in, '<', $conf or die "$conf: $!";
    my $text = do { local $/; <$in> };
    close $in;

    $text =~ s/(palette_cert_zone \S+?):\Q$from\E\b/$1:$to/
        or die "no zone of $from in $conf\n";

    open my $out, '>', $conf or die "$conf: $!";
    print {$out} $text;
    close $out;
}


# --- stall_worker
# FUNCTION FIXTURE: an upload of FIXTURE whose worker gdb stops when it
# enters FUNCTION (the store's lock taken), and keeps stopped while its
# change is made to have begun 120 s ago and an upload of leaf-a takes the
# change lock over, freeing the record of the stalled change: leaf-a is
# refused 503 busy, the store being held.  Then the worker goes on: it
# must not make current the record it no longer owns; its upload is
# applied anew, as a change of its own.
sub stall_worker {
    my ($name, $text) = @_;

    my ($func, $fixture) = split ' ', $text;
    my $what = "stalled in $func";
    my $dir = File::Temp::tempdir('palette-stall-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $go = "$dir/go";

    my ($sock, $worker) = pin_worker($name, $what) or return;

    my ($gdb, $out) = start_gdb('-p', $worker, '-ex', "break $func",
                                '-ex', 'echo READY\n', '-ex', 'continue',
                                '-ex', 'echo STOPPED\n',
                                '-ex', "shell while [ ! -e '$go' ]; do "
                                       . "sleep 0.1; done",
                                '-ex', 'delete', '-ex', 'detach');

    my ($log, $ready) = read_gdb($out, qr/^READY/, 30);
    my $stopped;

    if ($ready) {
        send_upload($sock, $fixture);
        (my $more, $stopped) = read_gdb($out, qr/^STOPPED/, 30);
        $log .= $more;
    }

    if (!$stopped) {
        kill 'KILL', $gdb;
        waitpid $gdb, 0;
        Test::More::diag($log);
        return Test::More::ok(0, "$name - $what: worker $worker stopped");
    }

    my $before = api('GET', '/cert')->{json};

    if (set_zone($name, "$what: its change began 120 s ago",
                 'update_start = ' . (time() - 120)))
    {
        my $other = api('PUT', '/cert', upload_json('leaf-a'),
                        $WAIT_BOUND + 20);

        Test::More::is($other->{status}, 503,
                       "$name - $what: another upload, the store held, "
                       . "gets 503");
        Test::More::is($other->{json} ? $other->{json}{error} : undef,
                       'busy', "$name - $what: error busy");
        Test::More::ok($other->{elapsed} < $WAIT_BOUND + 3,
                       "$name - $what: answered within the bound");
    }

    open my $fh, '>', $go or die "$go: $!";
    close $fh;

    my ($rest) = read_gdb($out, undef, 30);
    $log .= $rest;

    kill 'KILL', $gdb;
    waitpid $gdb, 0;
    close $out;

    Test::More::ok($log =~ /Breakpoint 1, .*\b\Q$func\E\b/
                   && $log =~ /detached/i,
                   "$name - $what: worker $worker went on")
        or Test::More::diag($log);

    my $res = read_until($sock, qr/\r\n\r\n.*\}\n/s, 30);
    close $sock;

    my ($status) = $res =~ m{^HTTP/1\.1 (\d+)};
    my ($json) = $res =~ /\r\n\r\n(.*)/s;
    my $j = eval { JSON::PP::decode_json($json // '') } || {};
    my $g = $before ? $before->{generation} : undef;

    Test::More::is($status, 200, "$name - $what: its upload answered 200")
        or Test::More::diag(substr $res, 0, 300);
    Test::More::is($j->{sha256},
                   PaletteCert::fixture("$fixture.sha256") =~ s/\s+//gr,
                   "$name - $what: with $fixture");
    Test::More::ok(defined $g && defined $j->{generation}
                   && $j->{generation} > $g,
                   "$name - $what: under a new generation")
        or Test::More::diag("  before " . ($g // 'none') . ", now "
                            . ($j->{generation} // 'none'));
}


# --- dry_run_generation
# STORE FIXTURE: the store STORE holds a generation above the zone's; a
# dry run of FIXTURE, then its upload, report the same generation, the one
# after the store's.
sub dry_run_generation {
    my ($name, $text) = @_;

    my ($store, $fixture) = split ' ', $text;
    my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR}, $store);

    my $last = 0;

    if (opendir my $dh, $dir) {
        for (readdir $dh) {
            $last = $1 if /^gen-(\d+)$/ && $1 > $last;
        }
        closedir $dh;
    }

    my $cur = api('GET', '/cert');
    my $zone = $cur->{json} ? $cur->{json}{generation} : undef;

    Test::More::ok(defined $zone && $last > $zone,
                   "$name - the store ($last) is ahead of the zone ("
                   . ($zone // 'none') . ")");

    my $dry = api('PUT', '/cert?dry_run=1', upload_json($fixture));
    my $real = api('PUT', '/cert', upload_json($fixture));

    Test::More::is($dry->{status}, 200, "$name - dry run answered 200");
    Test::More::is($real->{status}, 200, "$name - upload answered 200");

    my $d = $dry->{json} ? $dry->{json}{generation} : undef;
    my $r = $real->{json} ? $real->{json}{generation} : undef;

    Test::More::ok(defined $d && defined $r && $d == $r,
                   "$name - the dry run told the generation the upload got")
        or Test::More::diag("  dry run " . ($d // 'none') . ", upload "
                            . ($r // 'none'));

    Test::More::is($r, $last + 1,
                   "$name - the upload's generation follows the store's");
}


# --- change_lock
# "held": the zone's change lock is set to a live process that is no
# worker, as if its change had just begun; an upload and a DELETE must be
# refused with 503 busy within the bound.  "aged SECONDS": that change is
# made to have begun SECONDS ago.  The process ends with the block.
sub change_lock {
    my ($name, $text) = @_;

    for my $line (grep { /\S/ } split /\n/, $text) {
        my ($action, $arg) = split ' ', $line;

        if ($action eq 'held') {
            hold_lock($name) or last;
            refused_busy($name, 'PUT', '/cert', upload_json('leaf-a'));
            refused_busy($name, 'DELETE', '/cert');

        } elsif ($action eq 'aged') {
            set_zone($name, "the change began $arg s ago",
                     'update_start = ' . (time() - $arg)) or last;

        } else {
            Test::More::ok(0, "$name - change_lock: unknown \"$line\"");
        }
    }
}


sub end_holder {
    return if !$Holder;

    # in END too, where waitpid() would set the script's exit status

    local $?;

    kill 'KILL', $Holder;
    waitpid $Holder, 0;
    undef $Holder;
}


sub hold_lock {
    my ($name) = @_;

    my $master = master_pid();
    my ($worker) = $master ? worker_pids($master) : ();

    return Test::More::ok(0, "$name - a worker runs") if !$worker;

    # of the workers' user, so that it can be signalled as one of them

    open my $in, '<', "/proc/$worker/status"
        or return Test::More::ok(0, "$name - /proc/$worker/status: $!");
    my ($uid, $gid);
    while (<$in>) {
        $uid = $1 if /^Uid:\s+(\d+)/;
        $gid = $1 if /^Gid:\s+(\d+)/;
    }
    close $in;

    $Holder = fork;

    die "fork: $!\n" if !defined $Holder;

    if (!$Holder) {
        POSIX::setgid($gid);
        POSIX::setuid($uid);
        exec('sleep', '300') or POSIX::_exit(127);
    }

    return set_zone($name, "the lock is held by $Holder",
                    "update = $Holder", 'update_start = ' . time());
}


# Sets fields of the first zone's shared struct, through the master.
sub set_zone {
    my ($name, $what, @assign) = @_;

    my $master = master_pid();

    my @expr = (
        'set var $c = *(ngx_cycle_t **) &ngx_cycle',
        'set var $h = (ngx_http_conf_ctx_t *) $c->conf_ctx['
            . '((ngx_module_t *) &ngx_http_module)->index]',
        'set var $m = (ngx_palette_cert_main_conf_t *) $h->main_conf['
            . 'ngx_palette_cert_module.ctx_index]',
        'set var $z = ((ngx_palette_cert_zone_t **) $m->zones.elts)[0]',
        (map { "set var \$z->sh->$_" } @assign),
        'printf "LOCK %lu\n", (unsigned long) $z->sh->update',
        'detach',
    );

    my ($gdb, $out) = start_gdb('-p', $master, map { ('-ex', $_) } @expr);
    my ($log) = read_gdb($out, undef, 30);

    kill 'KILL', $gdb;
    waitpid $gdb, 0;
    close $out;

    return Test::More::ok($log =~ /^LOCK \d+/m
                          && $log !~ /^(?:No symbol|Cannot access|Error)/m,
                          "$name - $what")
        || Test::More::diag($log);
}


sub refused_busy {
    my ($name, $method, $path, $body) = @_;

    my $res = api($method, $path, $body, $WAIT_BOUND + 20);
    my $j = $res->{json} || {};
    my $what = "$name - $method while another change holds the lock";

    Test::More::is($res->{status}, 503, "$what: 503")
        or Test::More::diag("  " . substr($res->{content} // '', 0, 300));
    Test::More::is($j->{error}, 'busy', "$what: error busy");
    Test::More::like($j->{message} // '', qr/\(process $Holder\)/,
                     "$what: the message names the process");
    Test::More::is($res->{headers}{'retry-after'}, '1',
                   "$what: Retry-After: 1");
    Test::More::ok($res->{elapsed} < $WAIT_BOUND + 3,
                   "$what: answered within the bound")
        or Test::More::diag(sprintf "  after %.1f s", $res->{elapsed});
}


__DATA__

=== TEST 1: a worker killed between allocating a change's record and making it current, 4 times in a 32k zone: later uploads still get 200, not 507, and are served
--- fresh_store
--- http_config
    palette_cert_zone small:32k names=console.example.com store=$TEST_NGINX_STORE_DIR/small;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert small;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api small; }
    location = /pid { return 200 "$pid\n"; }
--- request
GET /cert
--- kill_workers
4 ngx_palette_cert_store_save leaf-b
--- steps
upload leaf-b
upload leaf-a
upload leaf-b
handshake expect=leaf-b chain=2 workers=all
store small sha256=leaf-b
--- error_log
which is gone
left unfinished is discarded
--- no_error_log eval
["[emerg]", "[crit]", "too small"]



=== TEST 2: a worker killed once the store held its change, before the zone did: a dry run tells the generation the upload then gets
--- fresh_store
--- request
GET /cert
--- kill_workers
1 ngx_palette_cert_publish leaf-b
--- dry_run_generation
recovery leaf-a
--- steps
handshake expect=leaf-a chain=2 workers=all
store recovery sha256=leaf-a
--- error_log
which is gone
--- no_error_log eval
["[emerg]", "[crit]"]



=== TEST 3: a change lock held by a live process that is no worker: uploads and DELETE answer 503 busy within the bound; once older than any change takes, the lock is taken over
--- fresh_store
--- request
GET /cert
--- change_lock
held
aged 120
--- steps
upload leaf-a
handshake expect=leaf-a chain=2 workers=all
delete
--- error_log
longer than any change takes
--- no_error_log
[emerg]
[crit]



=== TEST 4: a worker stalled in its change longer than the bound: the lock is taken over and its record freed; the other upload, the store held, gets 503 busy; the stalled worker makes nothing current that it no longer owns and applies its upload anew
--- fresh_store
--- request
GET /cert
--- stall_worker
ngx_palette_cert_store_save leaf-b
--- steps
get source=uploaded sha256=leaf-b
handshake expect=leaf-b chain=2 workers=all
store recovery sha256=leaf-b
--- error_log
longer than any change takes
--- no_error_log
[emerg]
[crit]



=== TEST 5: without a store, the generations of a run (before the restart)
--- http_config
    palette_cert_zone volatile:1m store=off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert volatile;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api volatile; }
--- request eval
["GET /cert", "GET /cert"]
--- steps
get source=self-signed
upload leaf-a
upload leaf-b
handshake expect=leaf-b chain=2
--- remember_generation
volatile
--- no_error_log
[error]
[alert]



=== TEST 6: without a store, a restart never answers with an ETag of the run before: its generations start above them, and grow by one
--- http_config
    palette_cert_zone volatile:1m store=off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert volatile;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api volatile; }
--- request
GET /cert
--- generation_above
volatile
--- steps
get source=self-signed
upload leaf-c
upload leaf-a if_match=current
handshake expect=leaf-a chain=2
--- no_error_log
[error]
[alert]



=== TEST 7: a first name over 64 characters: the self-signed default made at the first start
--- fresh_store
--- http_config
    palette_cert_zone long:1m names=a123456789b123456789c123456789d123456789e123456789f123456789g123456789.example.com store=$TEST_NGINX_STORE_DIR/long;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert long;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api long; }
--- request
GET /cert
--- steps
get source=self-signed generation=1 remember=long-default
handshake expect=self-signed
--- no_error_log
[error]
[alert]



=== TEST 8: a first name over 64 characters: after a restart the same self-signed default, not a new one
--- http_config
    palette_cert_zone long:1m names=a123456789b123456789c123456789d123456789e123456789f123456789g123456789.example.com store=$TEST_NGINX_STORE_DIR/long;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert long;
        location / { return 200 "$pid\n"; }
    }
--- config
    location = /cert { palette_cert_api long; }
--- request
GET /cert
--- steps
get source=self-signed generation=1 same_as=long-default
handshake expect=self-signed
--- no_error_log
[error]
[alert]
a new self-signed certificate is made



=== TEST 9: a reload that resizes the zone, held in the master while it copies the zone: an upload to an old worker is refused 503, never answered 200 where the new workers would not serve it
--- request
GET /cert
--- reload_hold
leaf-b
--- no_error_log
which is gone
[crit]
