package PaletteCert::Nginx;

# nginx as the tests run it: the binary, the server root and the port
# Test::Nginx gives it, its master and workers (from the pid file and
# /proc), the nginx.conf of an nginx of a test's own, "nginx -t" of a
# configuration ("--- nginx_t"), and the steps that signal the master:
# pids, reload and upgrade.  The steps are methods of PaletteCert::Run,
# which inherits them from here.

use strict;
use warnings;

use Cwd ();
use Exporter qw(import);
use File::Path ();
use File::Spec;
use File::Temp ();
use Test::More ();
use Time::HiRes ();

use PaletteCert::Util qw($IO_TIMEOUT slurp wait_for);

our @EXPORT_OK = qw(server_root server_port master_pid worker_pids pid_in
                    alive binary conf config_test);


# The server root of the block being run.
sub server_root {
    if (defined &Test::Nginx::Socket::server_root) {
        return Test::Nginx::Socket::server_root();
    }

    return $ENV{TEST_NGINX_SERVROOT}
           || File::Spec->catdir(Cwd::getcwd(), 't', 'servroot');
}


# The port of the server of "--- config", where the API is.
sub server_port {
    if (defined &Test::Nginx::Socket::server_port_for_client) {
        return Test::Nginx::Socket::server_port_for_client();
    }

    if (defined &Test::Nginx::Socket::server_port) {
        return Test::Nginx::Socket::server_port();
    }

    return $ENV{TEST_NGINX_SERVER_PORT} || 1984;
}


# The pid a pid file holds, or undef.
sub pid_in {
    my ($file) = @_;

    my $pid = slurp($file);

    return undef if !defined $pid;

    $pid =~ s/\s+//g;

    return $pid =~ /^\d+$/ ? $pid : undef;
}


# The pid of the master whose server root is $root (the block's).
sub master_pid {
    my ($root) = @_;

    return pid_in(File::Spec->catfile($root // server_root(), 'logs',
                                      'nginx.pid'));
}


# Children of a master, from /proc: pid => command line.
sub _children {
    my ($master) = @_;

    my %children;

    opendir my $dh, '/proc' or return {};

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my $stat = slurp("/proc/$pid/stat");

        next if !defined $stat || $stat !~ /\)\s+\S+\s+(\d+)/;
        next if $1 != $master;

        my $cmd = slurp("/proc/$pid/cmdline") // '';
        $cmd =~ s/\0+/ /g;
        $cmd =~ s/\s+$//;

        $children{$pid} = $cmd;
    }

    closedir $dh;

    return \%children;
}


# The workers of a master, in order; workers of an earlier configuration
# that are shutting down, and the dead, are none.
sub worker_pids {
    my ($master) = @_;

    my $children = _children($master);
    my @workers = sort { $a <=> $b }
                  grep { $children->{$_} =~ /worker process/
                         && $children->{$_} !~ /shutting down/ }
                  keys %$children;

    return @workers;
}


# A process that runs (a zombie no longer does).
sub alive {
    my ($pid) = @_;

    return 0 if !$pid || !kill(0, $pid);

    my $stat = slurp("/proc/$pid/stat");

    return !(defined $stat && $stat =~ /\)\s+Z\s/);
}


# The nginx binary the tests run.
sub binary {
    return $Test::Nginx::Util::NginxBinary || $ENV{TEST_NGINX_BINARY}
           || 'nginx';
}


# A test file of what nginx does in a thread of its pool skips itself when
# nginx is built without --with-threads: from a BEGIN block, before
# Test::Nginx::Socket is loaded.
sub skip_without_threads {
    my $nginx = binary();

    if (`$nginx -V 2>&1` !~ /--with-threads\b/) {
        print "1..0 # SKIP $nginx is built without --with-threads\n";
        exit 0;
    }
}


# The nginx.conf of an nginx of a test's own, in the prefix $prefix: the
# module loaded as the suite loads it, the main directives $main, the pid
# file in logs/, and $http inside http{}.
sub conf {
    my ($prefix, $http, $main) = @_;

    my $conf = join '', map { "load_module $_;\n" }
                        split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '';

    $conf .= ($main // '') . "pid logs/nginx.pid;\nevents {}\n"
             . "http {\n$http}\n";

    File::Path::make_path("$prefix/logs");

    open my $fh, '>', "$prefix/nginx.conf" or die "$prefix/nginx.conf: $!";
    print $fh $conf;
    close $fh;

    return "$prefix/nginx.conf";
}


# "--- nginx_t" holds the inside of an http{} block; it is tested with
# "nginx -t" in a prefix of its own, with the module loaded as the suite
# loads it.  Each line of "--- nginx_t_error" is a regular expression the
# output must match; without it the test must succeed.
sub config_test {
    my ($name, $http, $expect) = @_;

    my $binary = binary();
    my $prefix = File::Temp::tempdir('palette-nginx-t-XXXXXX', TMPDIR => 1,
                                     CLEANUP => 1);

    $http =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
              defined $ENV{$1} ? $ENV{$1} : die "$1 is not set\n"/ge;

    conf($prefix, "$http\n");

    my $out = `$binary -e stderr -p $prefix/ -c $prefix/nginx.conf -t 2>&1`;
    my $status = $? >> 8;

    if (!defined $expect) {
        Test::More::is($status, 0, "$name - nginx -t succeeds")
            or Test::More::diag($out);
        return;
    }

    Test::More::isnt($status, 0, "$name - nginx -t fails")
        or Test::More::diag($out);

    for my $re (grep { /\S/ } split /\n/, $expect) {
        Test::More::like($out, qr/$re/, "$name - nginx -t says /$re/");
    }
}


# The steps, methods of PaletteCert::Run.

sub _master_pid {
    my ($self) = @_;

    return master_pid($self->{servroot});
}


sub _worker_pids {
    my ($self) = @_;

    my $master = $self->_master_pid;

    return $master ? worker_pids($master) : ();
}


# The master, or undef after a failed test when there is no pid file.
sub _running_master {
    my ($self, $what) = @_;

    my $master = $self->_master_pid;

    $self->ok(0, "$what: nginx pid file readable",
              "no pid in $self->{servroot}/logs/nginx.pid") if !$master;

    return $master;
}


# The workers of the master, or none after a failed test.
sub _running_workers {
    my ($self, $what) = @_;

    my @workers = $self->_worker_pids;

    $self->ok(0, "$what: nginx has worker processes",
              "$what needs master_on()") if !@workers;

    return @workers;
}


# pids record | pids same
sub step_pids {
    my ($self, $step) = @_;

    my $master = $self->_running_master("pids $step->{pos}[0]") or return;
    my $children = join ' ', sort { $a <=> $b } keys %{ _children($master) };

    if ($step->{pos}[0] eq 'record') {
        $self->{pids} = { master => $master, children => $children };
        $self->ok(kill(0, $master), "pids record: nginx master is running");
        return;
    }

    if (!$self->{pids}) {
        $self->ok(0, 'pids same: pids were recorded',
                  'use "pids record" first');
        return;
    }

    $self->is($master, $self->{pids}{master},
              'pids same: the nginx master is the same process');
    $self->ok(kill(0, $master), 'pids same: nginx master is running');
    $self->is($children, $self->{pids}{children},
              'pids same: the nginx workers are the same processes');
}


# reload from=TEXT to=TEXT: the running configuration changes first
sub _edit_conf {
    my ($self, $from, $to) = @_;

    my $file = File::Spec->catfile($self->{servroot}, 'conf', 'nginx.conf');
    my $conf = slurp($file) // '';

    if (!$self->ok($from ne '' && index($conf, $from) >= 0,
                   "reload: nginx.conf contains \"$from\""))
    {
        return 0;
    }

    $conf =~ s/\Q$from\E/$to/g;

    open my $fh, '>', $file or die "$file: $!";
    print $fh $conf;
    close $fh;

    return 1;
}


# reload: SIGHUP to the master, then wait for a whole new set of workers.
sub step_reload {
    my ($self, $step) = @_;

    my $master = $self->_running_master('reload') or return;
    my @old = $self->_running_workers('reload') or return;
    my ($from, $to) = @{ $step->{args} }{qw(from to)};

    if (defined $from || defined $to) {
        return if !$self->_edit_conf($from // '', $to // '');
    }

    kill 'HUP', $master;

    my %old = map { $_ => 1 } @old;
    my @new;
    my $deadline = Time::HiRes::time() + $IO_TIMEOUT;

    while (Time::HiRes::time() < $deadline) {
        @new = grep { !$old{$_} } $self->_worker_pids;
        last if @new >= @old;
        Time::HiRes::sleep(0.05);
    }

    $self->ok(@new >= @old, 'reload: new workers are up',
              "old: @old", "new: @new");

    # the master tells the old workers to quit a moment after starting the
    # new ones; the reload is over when none of them serves any more

    my @left;

    while (Time::HiRes::time() < $deadline) {
        @left = grep { $old{$_} } $self->_worker_pids;
        last if !@left;
        Time::HiRes::sleep(0.05);
    }

    $self->ok(!@left, 'reload: old workers stopped serving', "left: @left");
    $self->is($self->_master_pid, $master, 'reload: the master stays');
}


# upgrade: USR2 to the master, which starts a new master from its binary;
# once the new master and its workers are up, QUIT to the old master.
sub step_upgrade {
    my ($self, $step) = @_;

    my $pidfile = File::Spec->catfile($self->{servroot}, 'logs',
                                      'nginx.pid');
    my $oldbin = "$pidfile.oldbin";
    my $old = $self->_running_master('upgrade') or return;
    my @workers = $self->_running_workers('upgrade') or return;

    my $exe = readlink "/proc/$old/exe";

    kill 'USR2', $old;

    my $new;

    my $up = wait_for(sub {
        $new = pid_in($pidfile);

        return defined $new && $new != $old
               && (pid_in($oldbin) // 0) == $old;
    });

    return if !$self->ok($up, 'upgrade: a new master writes nginx.pid, '
                              . 'the old one nginx.pid.oldbin',
                         "old master $old", "nginx.pid: " . ($new // '-'),
                         "nginx.pid.oldbin: " . (pid_in($oldbin) // '-'));

    $self->{upgrade_old} = $old;

    my @new_workers;

    $up = wait_for(sub {
        @new_workers = worker_pids($new);

        return @new_workers >= @workers;
    });

    $self->ok($up, 'upgrade: the new master starts its workers',
              "old workers: @workers", "new workers: @new_workers");

    $self->is(readlink("/proc/$new/exe"), $exe,
              'upgrade: the new master runs the same binary');

    kill 'QUIT', $old;

    $self->ok(wait_for(sub { !alive($old) }),
              'upgrade: the old master exits', "old master $old");
    $self->ok(wait_for(sub { !grep { alive($_) } @workers }),
              'upgrade: the old workers exit', "old workers: @workers");
    $self->ok(wait_for(sub { !-e $oldbin }),
              'upgrade: nginx.pid.oldbin is removed');

    delete $self->{upgrade_old};

    $self->is($self->_master_pid, $new,
              'upgrade: nginx.pid names the new master');
    $self->ok(alive($new), 'upgrade: the new master runs');

    my @left = $self->_worker_pids;

    $self->ok(@left >= @workers, 'upgrade: the new workers run',
              "workers: @left");
}


# An upgrade that failed half-way leaves two masters: the old one goes.
sub _finish_upgrade {
    my ($self) = @_;

    if ($self->{upgrade_old} && alive($self->{upgrade_old})) {
        kill 'QUIT', delete $self->{upgrade_old};
    }
}


1;
