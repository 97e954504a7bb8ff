package Test::Nginx::Util;

# Server-side half of the compatible Test::Nginx subset: settings, the
# generated nginx.conf, the server root and the nginx process.  See the POD
# of Test::Nginx::Socket in this directory for what is supported.

use strict;
use warnings;

our $VERSION = '0.29_compat';

use base 'Exporter';

use Carp qw(croak);
use Config ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGKILL SIGTERM WNOHANG);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep);

# ---------------------------------------------------------------------------
# Settings (same names, defaults and environment variables as the original)
# ---------------------------------------------------------------------------

our $NoLongString;
our $FirstTime = 1;
our $RepeatEach = 1;
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoNginxManager = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $Verbose = $ENV{TEST_NGINX_VERBOSE};
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ReusePort = $ENV{TEST_NGINX_REUSE_PORT};
our $EventType = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our $Randomize = $ENV{TEST_NGINX_RANDOMIZE};
our $NginxBinary = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers = 1;
our $WorkerConnections = 64;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled = 'on';
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $NoRootLocation = 0;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $WorkerUser = $ENV{TEST_NGINX_WORKER_USER};
if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

# modes of the original that this subset does not implement
our ($UseHup, $UseStap, $UseValgrind, $CheckLeak, $Benchmark, $BenchmarkWarmup)
    = (0, 0, 0, 0, 0, 0);
for my $var (qw(TEST_NGINX_USE_HUP TEST_NGINX_USE_VALGRIND TEST_NGINX_USE_STAP
                TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK TEST_NGINX_USE_HTTP2
                TEST_NGINX_USE_HTTP3 TEST_NGINX_USE_RR))
{
    warn "WARNING: $var is not supported by this Test::Nginx subset; ignored\n"
        if $ENV{$var};
}

our ($ConfigPreamble, @EnvToNginx, @BlockPreprocessors, @CleanupHandlers) = ('');
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog, $FilterHttpConfig);
our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion);
our ($PrevConfig, $PrevBlock, $ErrLogFilePos, $InSubprocess);

srand $$;

if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        or die "Cannot find an available listening port number.\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

our @EXPORT = qw(
    env_to_nginx is_running $NoLongString no_long_string $ServerAddr
    server_addr $ServerName server_name parse_time verbose sleep_time
    bail_out add_cleanup_handler access_log_data error_log_data
    setup_server_root write_config_file get_canon_version get_nginx_version
    trim show_all_chars parse_headers run_tests run_test get_pid_from_pidfile
    $ServerPortForClient $ServerPort $NginxVersion $PidFile $ServRoot
    $ConfFile $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog
    $FilterHttpConfig $NoNginxManager $RepeatEach $CheckLeak $Benchmark
    $BenchmarkWarmup $UseStap add_block_preprocessor timeout
    worker_connections workers master_on master_off config_preamble
    repeat_each master_process_enabled log_level no_shuffle no_root_location
    html_dir server_root server_port server_port_for_client no_nginx_manager
    use_hup check_accum_error_log
);

# ---------------------------------------------------------------------------
# Setters and getters exported to test files
# ---------------------------------------------------------------------------

sub _get_set {
    my ($ref, @args) = @_;
    $$ref = $args[0] if @args;
    return $$ref;
}

sub repeat_each (@)        { return _get_set(\$RepeatEach, @_) }
sub workers (@)            { return _get_set(\$Workers, @_) }
sub worker_connections (@) { return _get_set(\$WorkerConnections, @_) }
sub log_level (@)          { return _get_set(\$LogLevel, @_) }
sub server_port (@)        { return _get_set(\$ServerPort, @_) }
sub server_port_for_client (@) { return _get_set(\$ServerPortForClient, @_) }
sub server_addr (@)        { return _get_set(\$ServerAddr, @_) }
sub server_name (@)        { return _get_set(\$ServerName, @_) }
sub timeout (@)            { return _get_set(\$Timeout, @_) }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub no_shuffle ()          { $NoShuffle = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub no_long_string ()      { $NoLongString = 1 }
sub no_nginx_manager ()    { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub html_dir ()            { return $HtmlDir }
sub server_root ()         { return $ServRoot }
sub sleep_time             { return $TestNginxSleep }
sub verbose                { return $Verbose }

sub use_hup () {
    warn "WARNING: use_hup() is not supported by this Test::Nginx subset; ignored\n";
}

sub master_process_enabled (@) {
    $MasterProcessEnabled = $_[0] ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" if !@_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

# preprocessors run in reverse order of registration, like the original
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

sub parse_time ($) {
    my $tm = shift;
    return $tm if !defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm = $tm / 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

# "Name: value" lines; "!Name" means the header must be absent (undef value)
sub parse_headers ($) {
    my $s = shift;
    my %headers;
    for my $line (split /^/, $s) {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub get_canon_version (@) {
    return sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

# A process that has exited but was not reaped (a zombie) counts as gone:
# a daemonized nginx is reparented to PID 1, which may never reap it.
sub is_running ($) {
    my $pid = shift;
    return 0 if !$pid || !kill(0, $pid);
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        return 0 if $stat =~ /^\d+ \(.*\) Z/s;
    }
    return 1;
}

# QUIT (graceful stop) and wait up to timeout(), then TERM, then KILL.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;

    if ($wait) {
        kill SIGQUIT, $pid;
        my $left = timeout();
        while ($left > 0 && is_running($pid)) {
            waitpid $pid, WNOHANG;
            sleep 0.05;
            $left -= 0.05;
        }
        if (is_running($pid)) {
            warn "$name - timeout when waiting for the process $pid to exit\n";
            kill SIGKILL, $pid;
            sleep 0.05;
        }
    }

    my $step = $TestNginxSleep;
    for (1 .. 20) {
        return if !is_running($pid);
        kill SIGTERM, $pid;
        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
    }

    warn "$name - WARNING: killing the child process $pid with force...\n";
    kill SIGKILL, $pid;
    waitpid $pid, WNOHANG;
}

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    $tries //= 1000;
    $used //= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port,
                                         Proto => 'tcp', Timeout => 0.1);
        next if !$sock;
        $sock->close;
        return $port;
    }
    return undef;
}

# Replaces $TEST_NGINX_* by the environment value (bails out when undefined);
# $TEST_NGINX_RAND_PORT_N by a free port, the same one within a block.
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef if !defined $text;

    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        _expand_one($1, $name, $rand_ports, \%used)
    }eg;
    return $text;
}

sub _expand_one {
    my ($var, $name, $rand_ports, $used) = @_;
    if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
        if (!defined $rand_ports->{$var}) {
            my $port = gen_rand_port(1000, $used);
            bail_out("$name - Cannot find an available listening port number for $var.\n")
                if !defined $port;
            $rand_ports->{$var} = $port;
            $used->{$port} = 1;
        }
        return $rand_ports->{$var};
    }
    bail_out("$name - No environment $var defined.\n") if !defined $ENV{$var};
    return $ENV{$var};
}

sub can_run {
    my $cmd = shift;
    if ($cmd =~ m{[/\\]}) {
        return -f $cmd && -x $cmd ? $cmd : undef;
    }
    for my $dir ((split /\Q$Config::Config{path_sep}\E/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: " . ($out // ''));
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}s) {
        $OpenSSLVersion = get_canon_version($1, $2, $3);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# ---------------------------------------------------------------------------
# Log files
# ---------------------------------------------------------------------------

# Lines of error.log written since the previous call (all of it with
# check_accum_error_log); undef when the file does not exist.
sub error_log_data () {
    sleep $TestNginxSleep * 3;    # let the log phase finish
    open my $in, '<', $ErrLogFile or return undef;
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in if !$CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or do {
        die "open $AccLogFile failed: $!" if $AccLogFile ne 'off';
        return undef;
    };
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# Server root, user files and nginx.conf
# ---------------------------------------------------------------------------

# Removes only what the runner creates: conf, html, logs, *_temp, *_cache.
# Anything else left in the server root makes the rmdir (and the run) fail.
sub setup_server_root ($) {
    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        remove_tree($HtmlDir, $LogDir);
        rmdir $ServRoot or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    for my $dir ($ServRoot, $LogDir, $HtmlDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to do mkdir $dir\n");
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
    mkdir $ConfDir or bail_out("Failed to do mkdir $ConfDir\n");
}

sub parse_user_files {
    my ($raw) = @_;
    my (@files, $fname, $body, $date);
    for my $line (split /^/, $raw) {
        if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
            push @files, [$fname, $body, $date] if $fname;
            ($fname, $date, $body) = ($1, $2, undef);
        } else {
            $body .= $line;
        }
    }
    push @files, [$fname, $body, $date] if $fname;
    return \@files;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files or return;

    if (!ref $files) {
        $files = parse_user_files($files);
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            if (!-d $dir) {
                make_path($dir) or bail_out("$name - Cannot create directory ", $dir);
            }
        }
        $body = expand_env_in_text($body // '', $name, $rand_ports);
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' $HtmlDir/$fname";
            system($cmd) == 0 or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;
    undef $PostponeOutput if $http_config =~ /\bpostpone_output\b/;
    if (defined $PostponeOutput && $PostponeOutput !~ /^\d+$/) {
        bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput\n");
    }
    # (the original only emits postpone_output in its HUP mode)

    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @modules = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config .= join ' ', @modules;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);
    my $post_main_config =
        expand_env_in_text($block->post_main_config // '', $name, $rand_ports);

    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name = $block->server_name // $ServerName;
    my $listen_opts = $ReusePort ? ' reuseport' : '';
    $config //= '';

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_

    # The original quotes values with spaces in place, so such a value gets
    # quoted once more on every later write; kept for identical behaviour.
    for my $v (@EnvToNginx) {
        $v = "'$v'" if $v =~ /\s/;
        print $out "env $v;\n";
    }

    print $out <<_EOC_;
#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile;
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$server_name';

        client_max_body_size 30M;
        #client_body_buffer_size 4k;


        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_

    print $out <<_EOC_ if !$NoRootLocation;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    print $out <<_EOC_;
    }
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
_EOC_
    print $out "    use $EventType;\n" if $EventType;
    print $out "}\n";
    print $out <<_EOC_;
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
_EOC_

    if (defined $WorkerUser) {
        print $out "user $WorkerUser;\n";
    } elsif ($> == 0) {
        print $out "user root;\n";
    }
    close $out;
}

# ---------------------------------------------------------------------------
# Running the blocks
# ---------------------------------------------------------------------------

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        if !defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks if !$NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
        $PrevBlock = $block;
    }
    cleanup();
}

my @UnsupportedSections = qw(
    pipelined_requests request_eval response_body_eval tcp_listen udp_listen
    stap http2 http3 skip_nginx2 skip_openssl skip_slave todo todo_nginx
);

sub check_supported ($) {
    my $block = shift;
    for my $section (@UnsupportedSections) {
        next if !defined $block->$section;
        bail_out($block->name . " - the --- $section section is not supported"
                 . " by this Test::Nginx subset");
    }
}

# Returns (number of tests to skip, reason) when the block must be skipped.
sub skip_info ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($count, $code) = ($1, $2);
            my $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
            return ($count, 'skip_eval') if $skip;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$}
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($count, $op, $reason) = ($1, $2, $6 || "nginx version $2 $3.$4.$5");
        my $ver = get_canon_version($3, $4, $5);
        my $skip = !defined $NginxVersion ? $op =~ /^</ : eval "$NginxVersion $op $ver";
        return ($count, $reason) if $skip;
    }
    return;
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    check_supported($block);

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);
    local $LogLevel = $block->log_level || $LogLevel;
    my $dry_run = 0;

    my $should_restart = 0;
    if (!$NoNginxManager) {
        if (!defined $config) {
            # keep the nginx of the previous block running, untouched
            bail_out("$name - No '--- config' section specified and could not"
                     . " get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?")
                if !defined $PrevConfig;
        } else {
            $should_restart = $ForceRestartOnTest || !defined $PrevConfig
                              || $config ne $PrevConfig;
        }
    } elsif (defined $config) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
    }

    my ($tests_to_skip, $skip_reason) = skip_info($block);
    my $first_time = $FirstTime;
    undef $FirstTime;

    if ($should_restart && !defined $tests_to_skip) {
        $PrevConfig = $config;
        stop_nginx($name);
        check_prev_block_shutdown_error_log();

        setup_server_root($first_time);
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);
        if (!can_run($NginxBinary)) {
            bail_out("$name - Cannot find the nginx executable in the PATH environment");
        }

        my $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile > /dev/null";
        $ErrLogFilePos = 0;
        if (defined $block->must_die) {
            run_must_die($block, $cmd);
            return;
        }
        $dry_run = start_nginx($name, $cmd);
        sleep $TestNginxSleep;
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;
        if (defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }
            next;
        }
        $RunTestHelper->($block, $dry_run, $i - 1);
    }

    append_total_error_log($name);
}

# Stops the nginx of the previous block, found through the pid file.
sub stop_nginx ($) {
    my $name = shift;
    return if !-f $PidFile;
    my $pid = get_pid_from_pidfile($name);
    return if !defined $pid || $pid eq '';
    if (is_running($pid)) {
        kill_process($pid, 1, $name);
    } else {
        unlink $PidFile or warn "WARNING: failed to remove pid file $PidFile\n";
    }
}

# Runs the start command until it succeeds, retrying for about 30 seconds.
# Returns the dry-run reason (with TEST_NGINX_IGNORE_MISSING_DIRECTIVES).
sub start_nginx ($$) {
    my ($name, $cmd) = @_;
    my ($i, $waited) = (0, 0);
    while (1) {
        system($cmd);
        my $status = $?;
        return 0 if $status == 0;

        if ($ENV{TEST_NGINX_IGNORE_MISSING_DIRECTIVES}) {
            my $directive = missing_directive();
            return "the lack of directive $directive" if $directive;
        }
        $i++;
        my $delay = 0.1 * $i;
        $delay = 1 if $delay > 1;
        sleep $delay;
        $waited += $delay;
        next if $waited < 30;
        bail_out("$name - Cannot start nginx using command \"$cmd\" (status code $status).");
    }
}

sub missing_directive () {
    open my $in, '<', $ErrLogFile
        or bail_out("check_if_missing_directives: Cannot open $ErrLogFile for reading: $!\n");
    while (my $line = <$in>) {
        return $1 if $line =~ /\[emerg\] \S+?: unknown directive "([^"]+)"/;
    }
    return 0;
}

# --- must_die: nginx must fail to start; its exit code is compared when the
# section has a numeric value.  --- error_log etc. are then checked against
# logs/error.log only (what nginx prints on stderr is not captured).
sub run_must_die ($$) {
    my ($block, $cmd) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;

    for my $i (0 .. $RepeatEach - 1) {
        system($cmd);
        my $status = $?;
        my $exit_code = $status >> 8;
        my $coredump = $status & 128;

        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($coredump) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $exit_code, "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            for (1 .. 15) {
                last if -f $PidFile;
                sleep $TestNginxSleep;
            }
            kill_process(get_pid_from_pidfile($name), 1, $name);
        }
    }
}

sub check_prev_block_shutdown_error_log () {
    my $block = $PrevBlock or return;
    return if !defined $block->shutdown_error_log;
    $CheckShutdownErrorLog->($block, $ENV{TEST_NGINX_NO_CLEAN} ? 1 : 0);
}

sub append_total_error_log ($) {
    my $name = shift;
    my $total = $ENV{TEST_NGINX_ERROR_LOG} or return;
    return if !-s $ErrLogFile;
    open my $out, '>>', $total
        or bail_out("Failed to append test case title to $total: $!\n");
    print $out "\n=== $0 $name\n";
    if (open my $in, '<', $ErrLogFile) {
        local $/;
        print $out scalar <$in>;
    }
    close $out;
}

END {
    return if $InSubprocess;
    cleanup();

    if (!$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;    # keep the test script's exit status
        if (defined $PidFile && -f $PidFile) {
            my $pid = get_pid_from_pidfile('');
            if ($pid && is_running($pid)) {
                kill_process($pid, 1, 'END');
            } else {
                unlink $PidFile;
            }
        }
    }

    {
        local $?;
        check_prev_block_shutdown_error_log();
    }

    if ($Randomize && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        remove_tree($ServRoot);
    }
}

1;
