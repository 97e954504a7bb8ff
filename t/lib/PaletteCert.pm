package PaletteCert;

# Test::Nginx::Socket helpers for ngx_palette_cert_module.
#
# Loading this module sets the environment the test configurations use
# ($TEST_NGINX_TLS_PORT, $TEST_NGINX_TLS_PORT2, $TEST_NGINX_CERT_DIR),
# generates the certificate fixtures when they are missing, and registers
# a response body check that runs a block's "--- steps" section against
# the running nginx: real TLS handshakes, real uploads to the API.
# The step syntax is documented in the POD at the end of this file.
#
# Everything a block remembers (pids, open connections, the generation
# last seen) lives in one object made for that block and dropped after it.

use strict;
use warnings;

use Cwd ();
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path ();
use File::Spec;
use File::Temp ();
use Test::More ();

our @EXPORT_OK = qw(fixture fixture_path run_steps parse_steps);

my $IO_TIMEOUT = 10;

my $DEFAULT_COUNT = 40;
my $DEFAULT_SNI = 'console.example.com';
my $DEFAULT_API = '/cert';

# Status of each error code of the API, from the product contract.
my %ERROR_STATUS = (
    malformed_request      => 400,
    missing_field          => 400,
    cross_origin           => 403,
    not_found              => 404,
    method_not_allowed     => 405,
    name_conflict          => 409,
    generation_mismatch    => 412,
    too_large              => 413,
    unsupported_media_type => 415,
    invalid_certificate    => 422,
    invalid_key            => 422,
    encrypted_key          => 422,
    key_mismatch           => 422,
    invalid_ca             => 422,
    chain_incomplete       => 422,
    chain_untrusted        => 422,
    expired                => 422,
    not_yet_valid          => 422,
    name_mismatch          => 422,
    weak_key               => 422,
    not_server_certificate => 422,
    store_failed           => 500,
    zone_full              => 507,
);


# Environment and fixtures, set up once when the module is loaded.

sub project_root {
    my $lib = dirname(File::Spec->rel2abs(__FILE__));

    return Cwd::abs_path(File::Spec->catdir($lib, File::Spec->updir,
                                            File::Spec->updir));
}


sub cert_dir {
    return $ENV{TEST_NGINX_CERT_DIR};
}


sub _setup_env {
    $ENV{TEST_NGINX_TLS_PORT} = 1985 if !defined $ENV{TEST_NGINX_TLS_PORT};
    $ENV{TEST_NGINX_TLS_PORT2} = 1986
        if !defined $ENV{TEST_NGINX_TLS_PORT2};

    my $root = project_root();
    my $dir = $ENV{TEST_NGINX_CERT_DIR};

    if (!defined $dir || $dir eq '') {
        $dir = File::Spec->catdir($root, 't', 'certs');
    }

    $dir = File::Spec->rel2abs($dir);

    # quick when the fixtures are there and of the script's version

    my $script = File::Spec->catfile($root, 't', 'lib', 'gen-certs.sh');

    system('bash', $script, $dir) == 0
        or die "PaletteCert: \"$script $dir\" failed, status $?\n";

    $ENV{TEST_NGINX_CERT_DIR} = $dir;

    # stores that outlive a block (a restart), outside the server root

    if (!defined $ENV{TEST_NGINX_STORE_DIR}
        || $ENV{TEST_NGINX_STORE_DIR} eq '')
    {
        $ENV{TEST_NGINX_STORE_DIR} = File::Spec->catdir($root, 't',
                                                        'servroot-store');
    }

    $ENV{TEST_NGINX_STORE_DIR} = File::Spec->rel2abs(
                                     $ENV{TEST_NGINX_STORE_DIR});

    File::Path::make_path($ENV{TEST_NGINX_STORE_DIR});
}


sub fixture_path {
    my ($file) = @_;

    die "PaletteCert::fixture_path: no file name given\n"
        if !defined $file || $file eq '';

    return File::Spec->catfile(cert_dir(), $file);
}


sub fixture {
    my ($file) = @_;

    my $path = fixture_path($file);

    open my $in, '<:raw', $path
        or die "PaletteCert::fixture: cannot open $path: $!\n";
    local $/;
    my $data = <$in>;
    close $in;

    return $data;
}


sub _fixture_exists {
    my ($file) = @_;

    return -f fixture_path($file);
}


sub _fixture_sha256 {
    my ($name) = @_;

    my $sha = fixture("$name.sha256");
    $sha =~ s/\s+//g;

    return $sha;
}


# A CA fixture by name: NAME.crt, NAME.pem or the file NAME itself.
sub _ca_file {
    my ($name) = @_;

    for my $file ("$name.crt", "$name.pem", $name) {
        return $file if _fixture_exists($file);
    }

    return undef;
}


# The SHA-256 of every certificate among the fixtures, name => sha256;
# read once, the fixtures do not change while the tests run.
my %All_sha256;


sub _all_fixture_sha256 {
    return { %All_sha256 } if %All_sha256;

    my %all;

    opendir my $dh, cert_dir() or die "cannot read " . cert_dir() . ": $!\n";

    for my $file (readdir $dh) {
        if ($file =~ /^(.+)\.sha256$/) {
            $all{$1} = _fixture_sha256($1);
        }
    }

    closedir $dh;

    %All_sha256 = %all;

    return \%all;
}


# Test::Nginx::Socket integration.

# The steps of the block being run, from its first request to its last:
# a "request N" line in "--- steps" defers the lines after it until the
# block's Nth request has been answered.  Dropped when the block is done.
my $Active;


sub _body_check {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    my $steps = eval { $block->steps };
    my $nginx_t = eval { $block->nginx_t };


    if (defined $nginx_t && !$dry_run && !$req_idx && !$repeated_req_idx) {
        config_test($block->name, $nginx_t, eval { $block->nginx_t_error });
    }

    return if !defined $steps;

    # Steps change the server's state: run them once per block, while
    # nginx is still up.
    return if ($repeated_req_idx || 0) != 0;

    $req_idx ||= 0;

    my $name = $block->name;

    if ($req_idx == 0) {
        _finish_active();

        if ($dry_run) {
            SKIP: {
                Test::More::skip("$name - steps - skipped due to $dry_run", 1);
            }
            return;
        }

        my $groups = _step_groups($name, $steps, _request_count($block));

        return if !$groups;

        $Active = { block => $block, groups => $groups,
                    run => PaletteCert::Run->new(name => $name,
                                                 block => $block) };
    }

    return if !$Active || $Active->{block} != $block;

    for my $step (@{ $Active->{groups}[$req_idx] || [] }) {
        $Active->{run}->run($step);
    }

    _finish_active() if $req_idx >= $#{ $Active->{groups} };
}


sub _finish_active {
    return if !$Active;

    $Active->{run}->finish;
    undef $Active;
}



sub _request_count {
    my ($block) = @_;

    my $request = eval { $block->request };

    return ref $request eq 'ARRAY' ? scalar @$request : 1;
}


# The steps of a block by request: [steps after the answer to request 1,
# steps after request 2, ...]; undef, with failed tests, when a step
# cannot be parsed.
sub _step_groups {
    my ($name, $text, $requests) = @_;

    my ($steps, $errors) = parse_steps($text);
    my @groups = ([]);

    for my $step (@$steps) {
        if ($step->{op} ne 'request') {
            push @{ $groups[-1] }, $step;
            next;
        }

        my $n = $step->{pos}[0];

        if ($n > $requests) {
            push @$errors, "steps line $step->{line} \"$step->{text}\": "
                           . "the block sends $requests request(s)";
            next;
        }

        $#groups = $n - 1;
        $groups[$n - 1] = [];
    }

    if (@$errors) {
        for my $err (@$errors) {
            Test::More::fail("$name - $err");
        }

        Test::More::diag("$name - steps not run: fix the errors above");
        return undef;
    }

    return \@groups;
}


# "--- nginx_t" holds the inside of an http{} block; it is tested with
# "nginx -t" in a prefix of its own, with the module loaded as the suite
# loads it.  Each line of "--- nginx_t_error" is a regular expression the
# output must match; without it the test must succeed.
sub config_test {
    my ($name, $http, $expect) = @_;

    my $binary = $Test::Nginx::Util::NginxBinary
                 || $ENV{TEST_NGINX_BINARY} || 'nginx';

    my $prefix = File::Temp::tempdir('palette-nginx-t-XXXXXX', TMPDIR => 1,
                                     CLEANUP => 1);
    mkdir "$prefix/logs";

    my $conf = '';

    for my $mod (split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '') {
        $conf .= "load_module $mod;\n";
    }

    $http =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
              defined $ENV{$1} ? $ENV{$1} : die "$1 is not set\n"/ge;

    $conf .= "pid logs/nginx.pid;\nevents {}\nhttp {\n$http\n}\n";

    open my $fh, '>', "$prefix/nginx.conf" or die "$prefix/nginx.conf: $!";
    print $fh $conf;
    close $fh;

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


# The module's default store, palette_cert/NAME under the nginx prefix,
# would make Test::Nginx refuse to clean the server root before the next
# block ("not empty?"); it goes before each block, so that every block
# starts from the self-signed default.  A test of persistence across blocks
# gives store= a path outside the server root.
sub _fresh_default_store {
    my ($block) = @_;

    my $store = File::Spec->catdir(_server_root(), 'palette_cert');

    File::Path::remove_tree($store) if -d $store;

    # "--- fresh_store" starts a series of blocks sharing a store

    if (defined eval { $block->fresh_store }) {
        File::Path::remove_tree($ENV{TEST_NGINX_STORE_DIR},
                                { keep_root => 1 });
    }

    my $damage = eval { $block->store_damage };

    store_damage($block->name, $damage) if defined $damage;

    _no_crash($block);

    return $block;
}


# "--- store_damage": one action a line, on the files of the stores under
# $TEST_NGINX_STORE_DIR, done before the block's nginx starts (the nginx of
# the block before, about to be stopped, does not write to its store).
# The actions and their arguments, each a validator.
my %DAMAGE = (
    truncate => [['BYTES', \&_v_uint]],
    replace  => [['FILE', \&_v_files]],
    append   => [['TEXT', sub { undef }]],
    insert   => [['LINE', \&_v_uint], ['TEXT', sub { undef }]],
    remove   => [],
    unlink   => [],
);


sub store_damage {
    my ($name, $text) = @_;

    $text = join "\n", @$text if ref $text eq 'ARRAY';

    my $lineno = 0;

    for my $raw (split /\r?\n/, $text) {
        $lineno++;

        my ($words, $line, $err) = _split_words($raw);

        next if !defined $err && !@$words;

        $err = _damage($words) if !defined $err;

        Test::More::ok(!defined $err,
                       "$name - store_damage line $lineno: $line")
            or Test::More::diag("  $err");
    }
}


# Returns an error message, or undef once the damage is done.
sub _damage {
    my ($words) = @_;

    my ($action, $rel, @args) = @$words;
    my $spec = $DAMAGE{$action};

    return "unknown action \"$action\" (known: "
           . join(', ', sort keys %DAMAGE) . ")" if !$spec;

    return "\"$action\" takes PATH "
           . join(' ', map { $_->[0] } @$spec)
        if !defined $rel || @args != @$spec;

    for my $i (0 .. $#$spec) {
        my $err = $spec->[$i][1]->($args[$i]);
        return "bad $spec->[$i][0]: $err" if defined $err;
    }

    return "\"$rel\" is not a path inside the store folder"
        if $rel =~ m{^/|(?:^|/)\.\.(?:/|$)};

    my $path = File::Spec->catfile($ENV{TEST_NGINX_STORE_DIR}, $rel);

    if ($action eq 'unlink') {
        return "$path is not a symbolic link" if !-l $path;
        return unlink($path) ? undef : "unlink $path: $!";
    }

    if ($action eq 'remove') {
        return "$path does not exist" if !-e $path && !-l $path;

        if (-d $path && !-l $path) {
            File::Path::remove_tree($path, { error => \my $errs });
            return @$errs ? "cannot remove $path" : undef;
        }

        return unlink($path) ? undef : "unlink $path: $!";
    }

    return "$path is not a file" if !-f $path;

    open my $in, '<:raw', $path or return "open $path: $!";
    my $data = do { local $/; <$in> } // '';
    close $in;

    my $arg = $args[-1];
    $arg =~ s/\\n/\n/g if defined $arg;

    if ($action eq 'truncate') {
        return "$path has only " . length($data) . " bytes"
            if length $data <= $args[0];
        $data = substr $data, 0, $args[0];

    } elsif ($action eq 'replace') {
        $data = join '', map { fixture($_) } split /\+/, $args[0];

    } elsif ($action eq 'append') {
        $data .= $arg;

    } else {
        my @lines = split /(?<=\n)/, $data;

        return "$path has only " . scalar(@lines) . " lines"
            if $args[0] > @lines;

        splice @lines, $args[0], 0, $arg =~ /\n\z/ ? $arg : "$arg\n";
        $data = join '', @lines;
    }

    # in place: the mode and the owner stay

    open my $out, '+<:raw', $path or return "open $path: $!";
    truncate $out, 0 or return "truncate $path: $!";
    print {$out} $data or return "write $path: $!";
    close $out or return "close $path: $!";

    return undef;
}


# Certificates "get remember=NAME" kept for a later block of the same
# series ("get same_as=NAME"), next to the stores they were served from.
sub _remembered_file {
    my ($name) = @_;

    return File::Spec->catfile($ENV{TEST_NGINX_STORE_DIR}, '.remember',
                               "$name.sha256");
}


# A worker that dies on a signal fails the block, whatever else it checks,
# and so does a sanitizer report of the module's own code: a sanitizer
# build writes what a worker finds to its error log (GCC's UBSan whatever
# log_path says), the frames of a report one a line.  A report is the
# module's when one of its functions is among the first five frames, below
# nginx's string and log helpers at most (nginx's own reports, in its
# HTTP/2 code below one of the module's filters, say, are left to nginx).
# Blocks of one request get the checks added to their "--- no_error_log".
my @NO_CRASH = ('exited on signal',
                qr/^\s*#[0-4] 0x[0-9a-f]+ in ngx_palette_cert_\w+ /);

sub _no_crash {
    my ($block) = @_;

    my $request = eval { $block->request };

    return if !defined $request || ref $request
              || defined eval { $block->must_die };

    my $checks = eval { $block->no_error_log };

    if (!defined $checks) {
        $block->set_value('no_error_log', [@NO_CRASH]);

    } elsif (!ref $checks) {
        $block->set_value('no_error_log',
                          [(grep { $_ ne '' } split /\n+/, $checks),
                           @NO_CRASH]);

    } elsif (ref $checks eq 'ARRAY') {

        # a block that kills workers says so with its own list
        $block->set_value('no_error_log', [@$checks, $NO_CRASH[1]]);
    }
}


# Sections a test file gives every block that does not have its own:
#
#     PaletteCert::defaults(http_config => $text, config => $text);
sub defaults {
    my (%sections) = @_;

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my ($block) = @_;

        for my $name (sort keys %sections) {
            if (!defined eval { $block->$name }) {
                $block->set_value($name, $sections{$name});
            }
        }

        return $block;
    });
}


sub _register {
    if (defined &Test::Nginx::Socket::add_block_preprocessor) {
        Test::Nginx::Socket::add_block_preprocessor(\&_fresh_default_store);
    }

    if (defined &Test::Nginx::Socket::add_response_body_check) {
        Test::Nginx::Socket::add_response_body_check(\&_body_check);
    }
}


sub _api_port {
    if (defined &Test::Nginx::Socket::server_port_for_client) {
        return Test::Nginx::Socket::server_port_for_client();
    }

    if (defined &Test::Nginx::Socket::server_port) {
        return Test::Nginx::Socket::server_port();
    }

    return $ENV{TEST_NGINX_SERVER_PORT} || 1984;
}


sub _server_root {
    if (defined &Test::Nginx::Socket::server_root) {
        return Test::Nginx::Socket::server_root();
    }

    return $ENV{TEST_NGINX_SERVROOT}
           || File::Spec->catdir(Cwd::getcwd(), 't', 'servroot');
}


# Step parsing.

# A validator returns an error message, or undef when the value is good.

sub _v_int {
    my ($v) = @_;

    return $v =~ /^[1-9][0-9]*$/ ? undef : "\"$v\" is not a positive integer";
}


sub _v_uint {
    my ($v) = @_;

    return $v =~ /^(?:0|[1-9][0-9]*)$/ ? undef : "\"$v\" is not an integer";
}


sub _v_status {
    my ($v) = @_;

    return $v =~ /^[1-5][0-9][0-9]$/ ? undef : "\"$v\" is not an HTTP status";
}


sub _v_one_of {
    my @allowed = @_;

    return sub {
        my ($v) = @_;

        return undef if grep { $_ eq $v } @allowed;
        return "\"$v\" is not one of " . join('|', @allowed);
    };
}


sub _v_word {
    my ($v) = @_;

    return $v =~ /^[A-Za-z0-9._:-]+$/ ? undef : "\"$v\" is not a name";
}


sub _v_env {
    my ($v) = @_;

    return $v =~ /^[A-Z_][A-Z0-9_]*$/
           ? undef : "\"$v\" is not an environment variable name";
}


sub _v_path {
    my ($v) = @_;

    return $v =~ m{^/\S*$} ? undef : "\"$v\" is not an absolute URI path";
}


sub _v_cert_fixture {
    my ($v) = @_;

    return _fixture_exists("$v.sha256") ? undef
           : "\"$v\" is not a certificate fixture";
}


sub _v_expect {
    my ($v) = @_;

    return undef if $v eq 'self-signed' || $v eq 'current';
    return _v_cert_fixture($v);
}


sub _v_upload_fixture {
    my ($v) = @_;

    return _fixture_exists("$v.chain.pem") ? undef
           : "\"$v\" is not a server certificate fixture";
}


sub _v_key {
    my ($v) = @_;

    return undef if $v eq 'none';

    for my $name (split /\+/, $v, -1) {
        return "no key fixture \"$name.key\"" if !_fixture_exists("$name.key");
    }

    return undef;
}


sub _v_ca {
    my ($v) = @_;

    return undef if $v eq 'none';

    for my $name (split /\+/, $v, -1) {
        return "no CA fixture \"$name\"" if !defined _ca_file($name);
    }

    return undef;
}


# FILE[+FILE...]: fixture files, sent one after the other
sub _v_files {
    my ($v) = @_;

    for my $file (split /\+/, $v, -1) {
        return "no fixture file \"$file\"" if !_fixture_exists($file);
    }

    return undef;
}


# FIXTURE[+FIXTURE...]: certificates, in this order
sub _v_cert_list {
    my ($v) = @_;

    for my $name (split /\+/, $v, -1) {
        my $err = _v_cert_fixture($name);
        return $err if defined $err;
    }

    return undef;
}


sub _v_section {
    my ($v) = @_;

    return $v =~ /^[a-z_][a-z0-9_]*$/ ? undef : "\"$v\" is not a section name";
}


sub _v_field {
    my ($v) = @_;

    return $v =~ /^(?:certificate|key|ca|null)$/
           ? undef : "\"$v\" is not certificate, key, ca or null";
}


sub _v_regex {
    my ($v) = @_;

    return eval { qr/$v/; 1 } ? undef : "\"$v\" is not a regular expression";
}


sub _v_text {
    my ($v) = @_;

    return $v =~ /^[[:print:]]+$/ ? undef : "\"$v\" is not printable text";
}


sub _v_if_match {
    my ($v) = @_;

    return undef if $v eq 'current' || $v eq 'stale' || $v eq '*';
    return _v_uint($v) ? "\"$v\" is not a generation, current, stale or *"
                       : undef;
}


sub _v_names {
    my ($v) = @_;

    return $v =~ /^[^,\s]+(?:,[^,\s]+)*$/
           ? undef : "\"$v\" is not a comma separated list of names";
}


sub _v_size {
    my ($v) = @_;

    return $v =~ /^[1-9][0-9]*[kKmM]?$/ ? undef : "\"$v\" is not a size";
}


sub _v_error {
    my ($v) = @_;

    return $v =~ /^[a-z_]+$/ ? undef : "\"$v\" is not an error code";
}


# A named certificate's ID as it goes in the URI, written as sent: the
# tests of bad IDs give IDs the API must refuse (a/b, .a, %2F).
sub _v_id {
    my ($v) = @_;

    return $v =~ /^[!-~]+$/ && $v !~ /[?#]/ ? undef
           : "\"$v\" is not an ID (printable, no space, ? or #)";
}


# A list of IDs, or none for an empty one
sub _v_ids {
    my ($v) = @_;

    return undef if $v eq 'none';
    return $v =~ /^[^,\s]+(?:,[^,\s]+)*$/
           ? undef : "\"$v\" is not a comma separated list of IDs, or none";
}


sub _v_ipv4 {
    my ($v) = @_;

    return $v =~ /^127(?:\.[0-9]{1,3}){3}$/
           ? undef : "\"$v\" is not a loopback IPv4 address";
}


# An OpenSSL list: signature algorithms or cipher names
sub _v_openssl_list {
    my ($v) = @_;

    return $v =~ /^[A-Za-z0-9_+.-]+(?::[A-Za-z0-9_+.-]+)*$/
           ? undef : "\"$v\" is not a colon separated OpenSSL list";
}


# A query string, sent as written
sub _v_query {
    my ($v) = @_;

    return $v =~ /^[!-~]+$/ && $v !~ /[?#]/ ? undef
           : "\"$v\" is not a query string (printable, no space, ? or #)";
}


# A client certificate: FIXTURE.crt and FIXTURE.key
sub _v_client_cert {
    my ($v) = @_;

    return _fixture_exists("$v.crt") && _fixture_exists("$v.key") ? undef
           : "\"$v\" is not a certificate fixture with a key";
}


# Each step: the positional arguments it takes (each with a validator),
# the key=value arguments it accepts, the bare flags, the keys it needs.
my %STEPS = (
    handshake => {
        keys => {
            count   => \&_v_int,
            tls     => _v_one_of('1.2', '1.3', 'any'),
            sni     => \&_v_word,
            port    => \&_v_env,
            expect  => \&_v_expect,
            chain   => \&_v_int,
            served  => \&_v_cert_list,
            path    => \&_v_path,
            api     => \&_v_path,
            workers => _v_one_of('all'),
            host    => \&_v_ipv4,
            sigalgs => \&_v_openssl_list,
            ciphers => \&_v_openssl_list,
        },
        required => ['expect'],
    },
    upload => {
        pos  => [['FIXTURE', \&_v_upload_fixture]],
        keys => {
            as          => _v_one_of('json', 'multipart', 'urlencoded'),
            method      => _v_one_of('PUT', 'POST'),
            ca          => \&_v_ca,
            key         => \&_v_key,
            chain       => _v_one_of('crt', 'chain', 'reversed'),
            certificate => \&_v_files,
            if_match    => \&_v_if_match,
            status      => \&_v_status,
            error       => \&_v_error,
            field       => \&_v_field,
            message     => \&_v_regex,
            key_type    => \&_v_text,
            answer      => \&_v_word,
            body        => \&_v_section,
            type        => \&_v_text,
            api         => \&_v_path,
            id          => \&_v_id,
            if_none_match => _v_one_of('*'),
            https       => \&_v_env,
            client_cert => \&_v_client_cert,
        },
        flags => ['dry_run', 'refused'],
    },
    get => {
        keys => {
            status      => \&_v_status,
            source      => _v_one_of('self-signed', 'uploaded'),
            sha256      => \&_v_cert_fixture,
            generation  => \&_v_uint,
            names       => \&_v_names,
            key_type    => \&_v_text,
            chain       => \&_v_cert_list,
            remember    => \&_v_word,
            same_as     => \&_v_word,
            api         => \&_v_path,
            id          => \&_v_id,
            error       => \&_v_error,
            message     => \&_v_regex,
            https       => \&_v_env,
            client_cert => \&_v_client_cert,
        },
    },
    list => {
        keys => {
            limit      => \&_v_uint,
            after      => \&_v_id,
            query      => \&_v_query,
            ids        => \&_v_ids,
            next       => \&_v_id,
            generation => \&_v_uint,
            count      => \&_v_uint,
            status     => \&_v_status,
            error      => \&_v_error,
            message    => \&_v_regex,
            api        => \&_v_path,
        },
        flags => ['all', 'detail'],
    },
    delete => {
        keys => {
            status      => \&_v_status,
            error       => \&_v_error,
            if_match    => \&_v_if_match,
            message     => \&_v_regex,
            api         => \&_v_path,
            id          => \&_v_id,
            https       => \&_v_env,
            client_cert => \&_v_client_cert,
        },
        flags => ['refused'],
    },
    pids => {
        pos => [['record|same', _v_one_of('record', 'same')]],
    },
    reload => {
        keys => {
            from => \&_v_text,
            to   => \&_v_text,
        },
    },
    open => {
        pos  => [['NAME', \&_v_word]],
        keys => {
            port => \&_v_env,
            sni  => \&_v_word,
            tls  => _v_one_of('1.2', '1.3', 'any'),
            path => \&_v_path,
        },
    },
    reuse => {
        pos  => [['NAME', \&_v_word]],
        keys => {
            path => \&_v_path,
        },
    },
    store => {
        pos  => [['DIR', \&_v_word]],
        keys => {
            generation => \&_v_uint,
            source     => _v_one_of('self-signed', 'uploaded'),
            sha256     => \&_v_cert_fixture,
            api        => \&_v_path,
            id         => \&_v_id,
            history    => \&_v_uint,
        },
        flags => ['absent'],
    },
    generation => {
        pos  => [['N', \&_v_uint]],
        keys => {
            api => \&_v_path,
        },
    },
    snapshot => {
        pos  => [['record|same', _v_one_of('record', 'same')]],
        keys => {
            store => \&_v_word,
            api   => \&_v_path,
            port  => \&_v_env,
            sni   => \&_v_word,
            id    => \&_v_id,
        },
        flags => ['no_folder_mtime', 'list'],
    },
    request => {
        pos => [['N', \&_v_int]],
    },
    upgrade => {
        keys => {
            api => \&_v_path,
        },
    },
    storefs => {
        pos  => [['mount|fill|readonly|writable|umount',
                  _v_one_of('mount', 'fill', 'readonly', 'writable',
                            'umount')],
                 ['DIR', \&_v_word]],
        keys => {
            size => \&_v_size,
        },
    },
    stall => {
        pos  => [['FIXTURE', \&_v_upload_fixture]],
        keys => {
            fifo  => \&_v_env,
            count => \&_v_int,
            port  => \&_v_env,
            sni   => \&_v_word,
        },
        required => ['fifo'],
        flags    => ['gone'],
    },
    concurrent => {
        keys => {
            uploads    => \&_v_int,
            clients    => \&_v_int,
            handshakes => _v_one_of('on', 'off'),
            overlap    => \&_v_uint,
            store      => \&_v_word,
            port       => \&_v_env,
            sni        => \&_v_word,
            api        => \&_v_path,
        },
    },
);


# Returns (\@steps, \@errors); each step is
# { op, pos => [...], args => {...}, flags => {...}, line, text }.
sub parse_steps {
    my ($text) = @_;

    my (@steps, @errors);

    if (ref $text eq 'ARRAY') {
        $text = join "\n", @$text;
    }

    my $lineno = 0;
    my $request = 1;

    for my $raw (split /\r?\n/, $text) {
        $lineno++;

        my ($words, $line, $err) = _split_words($raw);

        next if !defined $err && !@$words;

        my $step;

        ($step, $err) = _parse_step($words, $line) if !defined $err;

        if (!defined $err && $step->{op} eq 'request') {
            if ($step->{pos}[0] <= $request) {
                $err = "request $step->{pos}[0] does not follow request "
                       . "$request";
            }

            $request = $step->{pos}[0];
        }

        if (defined $err) {
            push @errors, "steps line $lineno \"$line\": $err";
            next;
        }

        $step->{line} = $lineno;
        push @steps, $step;
    }

    return (\@steps, \@errors);
}


# Splits a line in words at white space, except inside double quotes
# (message="two words"); a word that starts with "#" starts a comment.
# Returns (\@words, the line without the comment, error or undef).
sub _split_words {
    my ($raw) = @_;

    my @words;
    my $end = length $raw;

    while ($raw =~ /\G\s*(?=\S)/gc) {
        my $start = pos $raw;

        if (substr($raw, $start, 1) eq '#') {
            $end = $start;
            last;
        }

        if ($raw !~ /\G((?:[^\s"]+|"[^"]*")+)(?=\s|$)/gc) {
            (my $line = $raw) =~ s/^\s+|\s+$//g;
            return ([], $line, 'a double quote is not closed');
        }

        (my $word = $1) =~ s/"([^"]*)"/$1/g;
        push @words, $word;
    }

    (my $line = substr($raw, 0, $end)) =~ s/^\s+|\s+$//g;

    return (\@words, $line, undef);
}


sub _parse_step {
    my ($all, $line) = @_;

    my ($op, @words) = @$all;
    my $spec = $STEPS{$op};

    if (!$spec) {
        return (undef, "unknown step \"$op\" (known: "
                       . join(', ', sort keys %STEPS) . ")");
    }

    my $step = { op => $op, pos => [], args => {}, flags => {},
                 text => $line };
    my @pos_spec = @{ $spec->{pos} || [] };
    my %flags = map { $_ => 1 } @{ $spec->{flags} || [] };

    for my $word (@words) {
        if ($word =~ /^([a-z_0-9]+)=(.*)$/) {
            my ($k, $v) = ($1, $2);
            my $check = $spec->{keys}{$k};

            return (undef, "\"$op\" takes no argument \"$k\"") if !$check;
            return (undef, "argument \"$k\" given twice")
                if exists $step->{args}{$k};
            return (undef, "argument \"$k\" has no value") if $v eq '';

            my $err = $check->($v);
            return (undef, "bad $k=: $err") if defined $err;

            $step->{args}{$k} = $v;
            next;
        }

        if ($flags{$word}) {
            $step->{flags}{$word} = 1;
            next;
        }

        my $n = @{ $step->{pos} };

        if ($n >= @pos_spec) {
            return (undef, "unexpected argument \"$word\"");
        }

        my ($what, $check) = @{ $pos_spec[$n] };
        my $err = $check->($word);
        return (undef, "bad $what: $err") if defined $err;

        push @{ $step->{pos} }, $word;
    }

    if (@{ $step->{pos} } < @pos_spec) {
        my $given = @{ $step->{pos} };
        my $missing = join ' ', map { $_->[0] }
                                @pos_spec[$given .. $#pos_spec];
        return (undef, "missing $missing");
    }

    for my $k (@{ $spec->{required} || [] }) {
        return (undef, "missing $k=") if !exists $step->{args}{$k};
    }

    my $err = _check_combination($step);
    return (undef, $err) if defined $err;

    return ($step, undef);
}


sub _check_combination {
    my ($step) = @_;

    my $args = $step->{args};

    if ($step->{op} eq 'upload') {
        my $fixture = $step->{pos}[0];

        if (($args->{chain} || '') eq 'reversed'
            && !_fixture_exists("$fixture.fullchain-reversed.pem"))
        {
            return "no fixture $fixture.fullchain-reversed.pem";
        }

        if (defined $args->{certificate} && defined $args->{chain}) {
            return "certificate= and chain= exclude each other";
        }

        if (defined $args->{body}) {
            for my $k (qw(chain certificate key ca as)) {
                return "body= sends a body of its own: no $k="
                    if defined $args->{$k};
            }

            return "body= needs type= (the Content-Type, or none)"
                if !defined $args->{type};
        }

        return "field= goes with error="
            if defined $args->{field} && !defined $args->{error};

        if (defined $args->{key_type} && defined $args->{error}) {
            return "key_type= goes with a successful upload";
        }
    }

    if ($step->{op} eq 'storefs' && defined $args->{size}
        && $step->{pos}[0] ne 'mount')
    {
        return "size= goes with \"storefs mount\"";
    }

    if ($step->{op} eq 'concurrent' && defined $args->{clients}
        && defined $args->{uploads} && $args->{clients} > $args->{uploads})
    {
        return "more clients than uploads";
    }

    if ($step->{op} eq 'snapshot' && $step->{pos}[0] eq 'same'
        && %$args)
    {
        return "\"snapshot same\" takes the arguments of \"snapshot record\"";
    }

    if (defined $args->{client_cert} && !defined $args->{https}) {
        return "client_cert= goes with https=";
    }

    if ($step->{op} eq 'get' || $step->{op} eq 'list') {
        my $err = _check_error_args($args);
        return $err if defined $err;

        return "message= goes with error="
            if defined $args->{message} && !defined $args->{error};
    }

    if ($step->{op} eq 'list' && (defined $args->{error}
                                  || ($args->{status} // 200) != 200))
    {
        for my $k (qw(ids next generation count)) {
            return "$k= goes with a list answered 200" if defined $args->{$k};
        }

        for my $f (qw(all detail)) {
            return "$f goes with a list answered 200" if $step->{flags}{$f};
        }
    }

    if ($step->{op} eq 'store') {
        return "absent goes with id="
            if $step->{flags}{absent} && !defined $args->{id};
        return "id= checks a named certificate: no source=, generation="
            if defined $args->{id}
               && (defined $args->{source} || defined $args->{generation});
    }

    if ($step->{op} eq 'snapshot' && $step->{flags}{list}
        && $step->{pos}[0] eq 'same')
    {
        return "\"snapshot same\" takes the arguments of \"snapshot record\"";
    }

    if ($step->{op} eq 'upload' || $step->{op} eq 'delete') {
        if ($step->{flags}{refused}) {
            return "refused needs status= (the status of the refusal)"
                if !defined $args->{status};
            return "refused expects a refusal, not status $args->{status}"
                if $args->{status} =~ /^[23]/;

            for my $k (qw(error key_type answer)) {
                return "refused: the API does not answer, no $k="
                    if defined $args->{$k};
            }

        } elsif (defined $args->{message} && !defined $args->{error}) {
            return "message= goes with error= or refused";
        }

        my $err = _check_error_args($args);
        return $err if defined $err;
    }

    return undef;
}


sub _check_error_args {
    my ($args) = @_;

    return undef if !defined $args->{error};

    if (defined $args->{status} && $args->{status} =~ /^2/) {
        return "error= expects a failure, not status $args->{status}";
    }

    if (!defined $args->{status} && !$ERROR_STATUS{ $args->{error} }) {
        return "unknown error code \"$args->{error}\": give status=";
    }

    return undef;
}


# Running steps.

sub run_steps {
    my ($name, $text, %opts) = @_;

    my ($steps, $errors) = parse_steps($text);

    if (@$errors) {
        for my $err (@$errors) {
            Test::More::fail("$name - $err");
        }

        Test::More::diag("$name - steps not run: fix the errors above");
        return;
    }

    my $run = PaletteCert::Run->new(name => $name, %opts);

    # without requests to wait for, "request N" lines change nothing

    for my $step (grep { $_->{op} ne 'request' } @$steps) {
        $run->run($step);
    }

    $run->finish;
}


package PaletteCert::Run;

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Basename ();
use File::Path ();
use File::Spec;
use File::Temp ();
use POSIX ();
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Net::SSLeay;
use Test::More ();
use Time::HiRes ();

sub new {
    my ($class, %opts) = @_;

    my $self = {
        name       => $opts{name},
        block      => $opts{block},
        api_port   => $opts{api_port} || PaletteCert::_api_port(),
        servroot   => $opts{servroot} || PaletteCert::_server_root(),
        conns      => {},
        pids       => undef,
        generation => {},
        snapshot   => undef,
        answers    => {},
    };

    return bless $self, $class;
}


sub run {
    my ($self, $step) = @_;

    my $method = "step_$step->{op}";

    $self->{step} = $step;
    $self->$method($step);
    delete $self->{step};
}


sub finish {
    my ($self) = @_;

    for my $conn (values %{ $self->{conns} }) {
        $conn->{sock}->close(SSL_fast_shutdown => 1) if $conn->{sock};
    }

    $self->{conns} = {};

    $self->_storefs_cleanup;

    # an upgrade that failed half-way leaves two masters

    if ($self->{upgrade_old} && _alive($self->{upgrade_old})) {
        kill 'QUIT', delete $self->{upgrade_old};
    }
}


sub DESTROY {
    my ($self) = @_;

    $self->finish;
}


# Test::More wrappers naming each assertion after the block and the step.

sub _label {
    my ($self, $what) = @_;

    return "$self->{name} - $what";
}


sub ok {
    my ($self, $test, $what, @diag) = @_;

    my $ok = Test::More::ok($test, $self->_label($what));

    if (!$ok) {
        Test::More::diag("  step (line $self->{step}{line}): "
                         . $self->{step}{text});
        Test::More::diag("  $_") for grep { defined } @diag;
    }

    return $ok;
}


sub is {
    my ($self, $got, $expected, $what, @diag) = @_;

    my $ok = Test::More::is($got, $expected, $self->_label($what));

    if (!$ok) {
        Test::More::diag("  step (line $self->{step}{line}): "
                         . $self->{step}{text});
        Test::More::diag("  $_") for grep { defined } @diag;
    }

    return $ok;
}


sub _short {
    my ($s) = @_;

    return '(none)' if !defined $s;
    $s =~ s/\r?\n/\\n/g;

    return length $s > 600 ? substr($s, 0, 600) . '...' : $s;
}


# TLS client side.

sub _tls_port {
    my ($self, $env) = @_;

    $env ||= 'TEST_NGINX_TLS_PORT';

    my $port = $ENV{$env};

    return $port if defined $port && $port =~ /^\d+$/;
    return undef;
}


# OpenSSL's SSL_CTRL_SET_SIGALGS_LIST, for SSL_CTX_set1_sigalgs_list(),
# which Net::SSLeay does not wrap.
my $SSL_CTRL_SET_SIGALGS_LIST = 98;


# A fresh full handshake: new context, no session cache, no verification.
# sigalgs= is the list of signature algorithms offered (TLS 1.3, and TLS
# 1.2's signature_algorithms), ciphers= the TLS 1.2 cipher list.
sub _tls_connect {
    my ($self, %o) = @_;

    my %args = (
        PeerHost        => $o{host} || '127.0.0.1',
        PeerPort        => $o{port},
        Timeout         => $IO_TIMEOUT,
        SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_hostname    => defined $o{sni} ? $o{sni} : '',

        # Nothing is verified: loading the system CA store would only
        # cost tens of milliseconds a handshake.
        SSL_ca_file     => undef,
        SSL_ca_path     => undef,
        SSL_ca          => [],
    );

    if ($o{tls} eq '1.2') {
        $args{SSL_version} = 'TLSv1_2';

    } elsif ($o{tls} eq '1.3') {
        $args{SSL_version} = 'TLSv1_3';
    }

    $args{SSL_cipher_list} = $o{ciphers} if defined $o{ciphers};

    my $sigalgs_err;

    if (defined $o{sigalgs}) {
        $args{SSL_create_ctx_callback} = sub {
            my ($ctx) = @_;

            Net::SSLeay::CTX_ctrl($ctx, $SSL_CTRL_SET_SIGALGS_LIST, 0,
                                  $o{sigalgs})
                or $sigalgs_err = "OpenSSL refuses sigalgs \"$o{sigalgs}\"";
        };
    }

    my $sock = IO::Socket::SSL->new(%args);
    my $addr = ($o{host} || '127.0.0.1') . ":$o{port}";

    if ($sigalgs_err) {
        $sock->close(SSL_fast_shutdown => 1) if $sock;
        return (undef, "connect to $addr: $sigalgs_err");
    }

    if (!$sock) {
        my $err = $IO::Socket::SSL::SSL_ERROR || "$!";
        return (undef, "connect to $addr: $err");
    }

    return ($sock, undef);
}


# What the server presented on a connection.
sub _peer {
    my ($sock) = @_;

    my $ssl = $sock->_get_ssl_object;
    my $leaf = Net::SSLeay::get_peer_certificate($ssl);

    return undef if !$leaf;

    my $pem = Net::SSLeay::PEM_get_string_X509($leaf);
    my $subject = Net::SSLeay::X509_NAME_oneline(
                      Net::SSLeay::X509_get_subject_name($leaf));
    my $issuer = Net::SSLeay::X509_NAME_oneline(
                     Net::SSLeay::X509_get_issuer_name($leaf));

    Net::SSLeay::X509_free($leaf);

    # the certificates as the server sent them, the leaf first
    my @chain = Net::SSLeay::get_peer_cert_chain($ssl);
    my @chain_sha = map { sha256_hex(_pem_to_der(
                              Net::SSLeay::PEM_get_string_X509($_))) }
                    @chain;

    return {
        sha256    => sha256_hex(_pem_to_der($pem)),
        subject   => $subject,
        issuer    => $issuer,
        chain     => scalar @chain,
        chain_sha => \@chain_sha,
        version   => Net::SSLeay::get_version($ssl),
        reused    => Net::SSLeay::session_reused($ssl),
    };
}


# Certificates by their SHA-256, named after the fixtures they are
# ("leaf-a+int-ca"), the others by the start of their hash.
sub _cert_names {
    my (@shas) = @_;

    my %known = reverse %{ PaletteCert::_all_fixture_sha256() };

    return join '+', map { $known{$_} || 'sha256:' . substr($_, 0, 12) }
                     @shas;
}


# The SHA-256 of each certificate of a PEM text, in order.
sub _pem_shas {
    my ($text) = @_;

    my @pems = ($text // '')
               =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/sg;

    return map { sha256_hex(_pem_to_der($_)) } @pems;
}


sub _pem_to_der {
    my ($pem) = @_;

    $pem =~ s/-----(?:BEGIN|END) CERTIFICATE-----//g;
    $pem =~ s/\s+//g;

    return decode_base64($pem);
}


# Sends a request and reads one answer.  With $keepalive the answer is
# delimited by Content-Length or chunked encoding; otherwise it is read to
# the end of the connection.  Returns { status, headers, body } or an error.
sub _http_exchange {
    my ($sock, $request, $keepalive) = @_;

    my ($res, $err);

    eval {
        local $SIG{ALRM} = sub { die "timed out\n" };
        alarm $IO_TIMEOUT;

        my $off = 0;
        while ($off < length $request) {
            my $n = syswrite($sock, $request, length($request) - $off, $off);
            die "write: $!\n" if !defined $n;
            $off += $n;
        }

        $res = _read_response($sock, $keepalive);
        alarm 0;
        1;

    } or do {
        $err = $@ || 'unknown error';
        chomp $err;
    };

    alarm 0;

    return ($res, $err);
}


sub _read_more {
    my ($sock, $buf) = @_;

    my $n = sysread($sock, $$buf, 16384, length $$buf);

    die "read: $!\n" if !defined $n;

    return $n;
}


sub _read_response {
    my ($sock, $keepalive) = @_;

    my $buf = '';

    while ($buf !~ /\r\n\r\n/) {
        _read_more($sock, \$buf) or die "connection closed before headers\n";
    }

    $buf =~ s/^(.*?)\r\n\r\n//s;
    my ($status_line, @lines) = split /\r\n/, $1;

    $status_line =~ m{^HTTP/\d\.\d (\d{3})}
        or die "bad status line \"$status_line\"\n";

    my $res = { status => $1, status_line => $status_line, headers => {} };

    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        $res->{headers}{ lc $k } = $v;
    }

    my $len = $res->{headers}{'content-length'};
    my $te = $res->{headers}{'transfer-encoding'} || '';

    if (!$keepalive) {
        1 while _read_more($sock, \$buf);

    } elsif (defined $len) {
        while (length $buf < $len) {
            _read_more($sock, \$buf) or die "connection closed in body\n";
        }

    } elsif ($te =~ /chunked/i) {
        my $body = '';

        while (1) {
            while ($buf !~ /\r\n/) {
                _read_more($sock, \$buf) or die "connection closed in chunk\n";
            }

            $buf =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//
                or die "bad chunk size line\n";
            my $size = hex $1;

            while (length $buf < $size + 2) {
                _read_more($sock, \$buf) or die "connection closed in chunk\n";
            }

            $body .= substr($buf, 0, $size);
            substr($buf, 0, $size + 2) = '';

            last if $size == 0;
        }

        $buf = $body;

    } else {
        die "keep-alive answer with neither Content-Length nor chunked\n";
    }

    $res->{body} = $buf;

    return $res;
}


sub _worker_pid_in {
    my ($body) = @_;

    return $body =~ /\b([0-9]+)\b/ ? $1 : undef;
}


# handshake [count=N] [tls=..] [sni=..|none] [port=ENV] expect=.. [chain=N]
sub step_handshake {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $count = $args->{count} || $DEFAULT_COUNT;
    my $tls = $args->{tls} || 'any';
    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $expect = $args->{expect};
    my $path = $args->{path} || '/';

    my $what = "handshake ${count}x tls$tls sni=$sni";
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} } qw(port host sigalgs ciphers);

    $sni = undef if $sni eq 'none';

    my $port = $self->_tls_port($args->{port});

    if (!defined $port) {
        $self->ok(0, "$what: port", "\$$args->{port} is not set to a port");
        return;
    }

    my ($want, $want_what);

    if ($expect eq 'current') {
        my $cur = $self->_api_get_quiet($args->{api});

        if (!$cur) {
            $self->ok(0, "$what: the API tells the current certificate",
                      $self->{last_error});
            return;
        }

        $want = $cur->{sha256};
        $want_what = "the current certificate ($want)";

    } elsif ($expect eq 'self-signed') {
        $want_what = 'a self-signed certificate';

    } else {
        $want = PaletteCert::_fixture_sha256($expect);
        $want_what = $expect;
    }

    my (@errors, %seen, %chains, %served, %versions, %subjects, %workers);
    my ($reused, $http_bad) = (0, 0);
    my $http_first_bad;

    # with workers=all, handshakes go on (ten times as many at most) until
    # every worker answered: the kernel spreads connections over them at
    # random, and 20 of them miss one of 4 workers about once in 80 runs
    my @pids = $args->{workers} ? $self->_worker_pids : ();
    my $limit = @pids ? $count * 10 : $count;
    my $i = 0;

    while ($i < $count
           || ($i < $limit && grep { !$workers{$_} } @pids))
    {
        $i++;

        my ($sock, $err) = $self->_tls_connect(
                               port => $port, sni => $sni, tls => $tls,
                               map { ($_ => $args->{$_}) }
                               grep { defined $args->{$_} }
                               qw(host sigalgs ciphers));

        if (!$sock) {
            push @errors, "handshake $i: $err";
            next;
        }

        my $peer = _peer($sock);

        if (!$peer) {
            push @errors, "handshake $i: no server certificate";
            $sock->close(SSL_fast_shutdown => 1);
            next;
        }

        $seen{ $peer->{sha256} }++;
        $chains{ $peer->{chain} }++;
        $served{ _cert_names(@{ $peer->{chain_sha} }) }++;
        $versions{ $peer->{version} }++;
        $subjects{ $peer->{sha256} } = [$peer->{subject}, $peer->{issuer}];
        $reused++ if $peer->{reused};

        my $host = defined $sni ? $sni : 'localhost';
        my ($res, $herr) = _http_exchange($sock,
                                          "GET $path HTTP/1.0\r\n"
                                          . "Host: $host\r\n\r\n", 0);

        if (!$res || $res->{status} !~ /^[23]/) {
            $http_bad++;
            $http_first_bad ||= $res ? $res->{status_line} : $herr;

        } elsif ($args->{workers}) {
            my $pid = _worker_pid_in($res->{body});
            $workers{$pid}++ if defined $pid;
        }

        $sock->close(SSL_fast_shutdown => 1);
    }

    $count = $i;

    my $done = $count - @errors;
    my %known = reverse %{ PaletteCert::_all_fixture_sha256() };
    my $seen_list = join ', ', map { ($known{$_} || $_) . " x$seen{$_}" }
                               sort keys %seen;

    $self->ok(!@errors, "$what: all $count handshakes succeed",
              @errors ? ("failed: " . scalar(@errors), $errors[0]) : ());

    return if !$done;

    $self->ok(!$reused, "$what: every handshake is a full one",
              "$reused of $done resumed a session");

    if ($tls ne 'any') {
        my $v = $tls eq '1.2' ? 'TLSv1.2' : 'TLSv1.3';
        $self->is(join(',', sort keys %versions), $v,
                  "$what: negotiates $v");
    }

    if ($expect eq 'self-signed') {
        my @shas = keys %seen;
        my $sha = $shas[0];
        my ($subject, $issuer) = @{ $subjects{$sha} };

        $self->ok(@shas == 1, "$what: presents one certificate",
                  "seen: $seen_list");
        $self->is($subject, $issuer,
                  "$what: presents a self-signed certificate");
        $self->ok(!grep({ $known{$_} } @shas),
                  "$what: presents a certificate of its own, no fixture",
                  map { "seen $_ = fixture $known{$_}" }
                  grep { $known{$_} } @shas);

    } else {
        my $bad = grep { $_ ne $want } keys %seen;
        my $label = $expect eq 'current' ? 'the current certificate' : $expect;

        $self->ok(!$bad, "$what presents $label",
                  "expected $want_what", "seen: $seen_list");
    }

    if ($args->{chain}) {
        $self->is(join(',', sort keys %chains), $args->{chain},
                  "$what: sends $args->{chain} certificate(s)");
    }

    if ($args->{served}) {
        $self->is(join(' | ', sort keys %served), $args->{served},
                  "$what: sends $args->{served}, in this order");
    }

    $self->ok(!$http_bad, "$what: answers HTTP over every connection",
              "$http_bad of $done failed, first: " . _short($http_first_bad));

    if ($args->{workers}) {
        my @all = $self->_worker_pids;
        my @missed = grep { !$workers{$_} } @all;

        $self->ok(@all && !@missed,
                  "$what: every worker answered",
                  "workers: @all", "answered: "
                  . join(' ', map { "$_ x$workers{$_}" } sort keys %workers),
                  "the location must answer with the worker pid (\$pid)");
    }
}


# The API over plain HTTP on the Test::Nginx server port; for the get,
# upload and delete steps with https=ENVNAME, over TLS on that port
# (verification off), with the client certificate client_cert= names.

sub _api_tls {
    my ($self) = @_;

    my $step = $self->{step};

    return undef if !$step || $step->{op} !~ /^(?:get|upload|delete)$/
                    || !defined $step->{args}{https};

    return { env => $step->{args}{https},
             port => $self->_tls_port($step->{args}{https}),
             cert => $step->{args}{client_cert} };
}


sub _api_url {
    my ($self, $path) = @_;

    $path ||= $DEFAULT_API;

    my $tls = $self->_api_tls;

    return "https://127.0.0.1:$tls->{port}$path" if $tls;

    return "http://127.0.0.1:$self->{api_port}$path";
}


sub _api_request {
    my ($self, $method, $path, $headers, $body) = @_;

    my %tiny = (timeout => $IO_TIMEOUT, keep_alive => 0);
    my $tls = $self->_api_tls;

    if ($tls) {
        return { status => 599, body => "\$$tls->{env} is not set to a port" }
            if !defined $tls->{port};

        $tiny{verify_SSL} = 0;
        $tiny{SSL_options} = { SSL_verify_mode => SSL_VERIFY_NONE };

        if (defined $tls->{cert}) {
            $tiny{SSL_options}{SSL_cert_file}
                = PaletteCert::fixture_path("$tls->{cert}.crt");
            $tiny{SSL_options}{SSL_key_file}
                = PaletteCert::fixture_path("$tls->{cert}.key");
        }
    }

    my $http = HTTP::Tiny->new(%tiny);
    my %opts = (headers => { Accept => 'application/json', %$headers });

    $opts{content} = $body if defined $body;

    my $res = $http->request($method, $self->_api_url($path), \%opts);

    my $etag = $res->{headers}{etag};
    $etag = $etag->[0] if ref $etag;

    my $json;
    if (defined $res->{content} && $res->{content} =~ /^\s*\{/) {
        $json = eval { JSON::PP->new->utf8->decode($res->{content}) };
    }

    return {
        status => $res->{status},
        reason => $res->{reason},
        body   => $res->{content},
        etag   => $etag,
        cc     => $res->{headers}{'cache-control'},
        json   => $json,
    };
}


# The checks every answer of the API must pass.  Returns the generation its
# ETag tells, or undef.
#
# $etag_optional: the answer is about no certificate (a named one that
# does not exist, or the list), and need not carry an ETag; one it
# carries must still be a quoted generation.
sub _check_api_answer {
    my ($self, $what, $res, $etag_optional) = @_;

    my $body = defined $res->{body} ? $res->{body} : '';

    $self->ok(defined $res->{json}, "$what: answer is a JSON object",
              "status $res->{status}, body: " . _short($body));

    if (!$etag_optional || defined $res->{etag}) {
        $self->ok(defined $res->{etag} && $res->{etag} =~ /^"[0-9]+"$/,
                  "$what: ETag is a quoted generation",
                  "ETag: " . _short($res->{etag}));
    }

    $self->ok(defined $res->{cc} && $res->{cc} =~ /\bno-store\b/,
              "$what: Cache-Control: no-store",
              "Cache-Control: " . _short($res->{cc}));

    # a message may name a "PRIVATE KEY" block, but never hold one

    $self->ok($body !~ /-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----/,
              "$what: answer holds no private key");

    return undef if !defined $res->{etag} || $res->{etag} !~ /^"([0-9]+)"$/;

    return $1;
}


sub _check_status {
    my ($self, $what, $res, $status) = @_;

    return $self->is($res->{status}, $status, "$what: status $status",
                     "body: " . _short($res->{body}));
}


# The error answer; with $args, also its field= and message= (a regular
# expression).
sub _check_error {
    my ($self, $what, $res, $code, $args) = @_;

    my $j = $res->{json} || {};

    $args ||= {};

    $self->is($j->{error}, $code, "$what: error $code",
              "body: " . _short($res->{body}));
    $self->ok(exists $j->{field}, "$what: error names the field at fault");
    $self->ok(defined $j->{message} && !ref $j->{message}
              && $j->{message} ne '',
              "$what: error has a message");

    if (defined $args->{field}) {
        my $field = $args->{field} eq 'null' ? undef : $args->{field};

        $self->is($j->{field}, $field, "$what: field is $args->{field}",
                  "body: " . _short($res->{body}));
    }

    if (defined $args->{message}) {
        my $re = $args->{message};

        $self->ok(defined $j->{message} && $j->{message} =~ /$re/,
                  "$what: message matches /$re/",
                  "message: " . _short($j->{message}));
    }
}


# answer=NAME: the first answer so named is kept; a later one must have
# the same status and the same JSON, "dry_run" aside.
sub _check_answer {
    my ($self, $what, $name, $res) = @_;

    my %j = %{ $res->{json} || {} };
    delete $j{dry_run};

    my $text = JSON::PP->new->canonical->encode(\%j);
    my $kept = $self->{answers}{$name};

    if (!$kept) {
        $self->{answers}{$name} = { status => $res->{status}, json => $text };
        return;
    }

    $self->is($res->{status}, $kept->{status},
              "$what: the status of answer $name");
    $self->is($text, $kept->{json},
              "$what: the JSON of answer $name, dry_run aside");
}


# Generation live now, from a GET, without assertions (for if_match= and
# expect=current).
sub _api_get_quiet {
    my ($self, $path) = @_;

    my $res = $self->_api_request('GET', $path, {});

    if ($res->{status} != 200 || !$res->{json}) {
        $self->{last_error} = "GET " . ($path || $DEFAULT_API)
                              . ": status $res->{status}, body: "
                              . _short($res->{body});
        return undef;
    }

    return $res->{json};
}


# Generations are remembered per API location: each may serve a zone of
# its own.
sub _api_key {
    my ($self) = @_;

    return $self->_resource($self->{step} ? $self->{step}{args} : {});
}


# The URI of the certificate a step names: the API location (api=, or
# /cert), followed by /ID for the named certificate id=.
sub _resource {
    my ($self, $args) = @_;

    my $api = $args->{api} || $DEFAULT_API;

    return defined $args->{id} ? "$api/$args->{id}" : $api;
}


# The generation of the certificate a step names before a change (its
# ETag, what If-Match compares): the last one an answer of this block
# told, or else the API's; undef for a named certificate that does not
# exist.
sub _known_generation {
    my ($self, $args) = @_;

    my $uri = $self->_resource($args);
    my $known = $self->{generation}{$uri};

    return $known if defined $known;

    my $cur = $self->_api_get_quiet($uri);

    return $cur ? $cur->{generation} : undef;
}


# The zone's generation, which every change of any of its certificates
# makes grow by one: the highest this block saw in a change, a list or an
# answer about the default certificate, or else the API's (the list's
# when the step names a certificate, the default's otherwise: without
# named certificates they are the same).
sub _zone_generation {
    my ($self, $args) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my $known = $self->{zone}{$api};

    return $known if defined $known;

    if (!defined $args->{id}) {
        my $cur = $self->_api_get_quiet($api);

        return $cur ? $cur->{generation} : undef;
    }

    my $res = $self->_api_request('GET', "$api/", {});
    my $j = $res->{json};

    return $res->{status} == 200 && ref $j eq 'HASH' ? $j->{generation}
                                                     : undef;
}


sub _saw_zone_generation {
    my ($self, $args, $gen) = @_;

    return if !defined $gen || $gen !~ /^[0-9]+$/;

    my $api = $args->{api} || $DEFAULT_API;
    my $known = $self->{zone}{$api};

    $self->{zone}{$api} = $gen if !defined $known || $gen > $known;
}


# After an answer about the certificate a step names, with the generation
# its ETag told: what the block knows of it and of the zone.  $exists is
# false once a named certificate is known not to exist.
sub _saw_answer {
    my ($self, $args, $gen, $exists) = @_;

    my $uri = $self->_resource($args);

    if (!$exists) {
        delete $self->{generation}{$uri};
        return;
    }

    return if !defined $gen;

    $self->{generation}{$uri} = $gen;

    # a named certificate's generation is the zone's only after a change
    $self->_saw_zone_generation($args, $gen) if !defined $args->{id};
}


sub _if_match_header {
    my ($self, $if_match, $args) = @_;

    return (undef, undef) if !defined $if_match;
    return ('*', undef) if $if_match eq '*';

    my $gen = $if_match;

    if ($if_match eq 'current' || $if_match eq 'stale') {
        my $cur = $self->_api_get_quiet($self->_resource($args));

        if (!$cur || !defined $cur->{generation}) {
            return (undef, $self->{last_error} || 'no generation in GET');
        }

        $gen = $cur->{generation};

        if ($if_match eq 'stale') {
            $gen = $gen > 0 ? $gen - 1 : $gen + 1;
        }
    }

    return (qq{"$gen"}, undef);
}


sub _upload_body {
    my ($as, $fields) = @_;

    if ($as eq 'json') {
        return ('application/json', _json_body($fields));
    }

    if ($as eq 'multipart') {
        my ($type, $body) = _multipart_body($fields);
        return ($type, $body);
    }

    return ('application/x-www-form-urlencoded', _urlencoded_body($fields));
}


sub _json_string {
    my ($s) = @_;

    my %named = ("\n" => '\n', "\r" => '\r', "\t" => '\t',
                 "\f" => '\f', "\b" => '\b');

    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\n\r\t\f\b])/$named{$1}/g;
    $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;

    return qq{"$s"};
}


# $fields: [[name, content, filename], ...] in order.
sub _json_body {
    my ($fields) = @_;

    return '{' . join(', ', map { _json_string($_->[0]) . ': '
                                  . _json_string($_->[1]) } @$fields) . '}';
}


sub _form_escape {
    my ($s) = @_;

    # The application/x-www-form-urlencoded serializer of browsers.
    $s =~ s/([^A-Za-z0-9*\-._ ])/sprintf('%%%02X', ord $1)/ge;
    $s =~ tr/ /+/;

    return $s;
}


sub _urlencoded_body {
    my ($fields) = @_;

    return join '&', map { _form_escape($_->[0]) . '='
                           . _form_escape($_->[1]) } @$fields;
}


sub _random_boundary {
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');

    return '------------------------'
           . join('', map { $chars[int rand @chars] } 1 .. 24);
}


sub _multipart_body {
    my ($fields) = @_;

    my $boundary;

    do {
        $boundary = _random_boundary();
    } while (grep { index($_->[1], $boundary) >= 0 } @$fields);

    my $body = '';

    for my $f (@$fields) {
        my ($name, $content, $filename) = @$f;

        # As browsers do in a quoted-string.
        $filename =~ s/"/%22/g;
        $filename =~ s/\r/%0D/g;
        $filename =~ s/\n/%0A/g;

        $body .= "--$boundary\r\n"
                 . qq{Content-Disposition: form-data; name="$name"; }
                 . qq{filename="$filename"\r\n}
                 . "Content-Type: application/octet-stream\r\n\r\n"
                 . $content . "\r\n";
    }

    $body .= "--$boundary--\r\n";

    return ("multipart/form-data; boundary=$boundary", $body);
}


# upload FIXTURE [as=..] [method=..] [ca=..|none] [key=..|none] [chain=..]
#        [if_match=..] [if_none_match=*] [dry_run] [status=..] [error=..]
#        [api=..] [id=ID]
sub step_upload {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $fixture = $step->{pos}[0];
    my $as = $args->{as} || 'json';
    my $method = $args->{method} || 'PUT';
    my $chain = $args->{chain} || 'chain';
    my $key = $args->{key} || $fixture;
    my $ca = $args->{ca} || 'ca';
    my $dry = $step->{flags}{dry_run};

    my $error = $args->{error};
    my $status = $args->{status}
                 || (defined $error ? $ERROR_STATUS{$error} : 200);

    my %cert_file = (crt      => "$fixture.crt",
                     chain    => "$fixture.chain.pem",
                     reversed => "$fixture.fullchain-reversed.pem");

    my @files = defined $args->{certificate}
                ? split(/\+/, $args->{certificate}) : ($cert_file{$chain});

    my @fields = (_field('certificate', @files));

    if ($key ne 'none') {
        push @fields, _field('key', map { "$_.key" } split /\+/, $key);
    }

    if ($ca ne 'none') {
        push @fields, _field('ca', map { PaletteCert::_ca_file($_) }
                                   split /\+/, $ca);
    }

    my $named = defined $args->{id};

    my $what = "upload $fixture as=$as method=$method";
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} }
            qw(id chain certificate key ca body if_match if_none_match
               https client_cert);
    $what .= ' dry_run' if $dry;
    $what .= ' refused' if $step->{flags}{refused};

    my ($type, $body) = _upload_body($as, \@fields);

    if (defined $args->{body}) {
        $body = eval { $self->{block}->${\ $args->{body}} };

        if (!defined $body) {
            $self->ok(0, "$what: the block has a section $args->{body}",
                      "no \"--- $args->{body}\" in this block");
            return;
        }
    }

    $type = $args->{type} if defined $args->{type};

    my ($if_match, $err) = $self->_if_match_header($args->{if_match}, $args);

    if (defined $err) {
        $self->ok(0, "$what: learn the generation for If-Match", $err);
        return;
    }

    my %headers = defined $if_match ? ('If-Match' => $if_match) : ();

    $headers{'If-None-Match'} = $args->{if_none_match}
        if defined $args->{if_none_match};
    $headers{'Content-Type'} = $type if $type ne 'none';

    my $path = $self->_resource($args);
    $path .= ($path =~ /\?/ ? '&' : '?') . 'dry_run=1' if $dry;

    if ($step->{flags}{refused}) {
        my $res = $self->_api_request($method, $path, \%headers, $body);
        $self->_check_refused($what, $res, $args);
        return;
    }

    my $zone = $self->_zone_generation($args);
    my $before = $self->_known_generation($args);
    my $res = $self->_api_request($method, $path, \%headers, $body);
    my $changed = $status == 200 && !defined $error && !$dry;

    # a named certificate that did not exist and was not made has no ETag
    my $exists = !$named || defined $before || $changed;

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);

    # No line of a private key sent, in whichever field it was sent.  An
    # EC key holds its public point, which the certificates hold too: a
    # line found in a certificate sent is no secret.

    my @sent = defined $args->{body} ? () : map { $_->[1] } @fields;
    my $public = join '', map { /CERTIFICATE-----(.*?)-----END/sg } @sent;

    my @key_lines = grep { /^[A-Za-z0-9+\/=]{16,}$/
                           && index($public, $_) < 0 }
                    map { split /\s+/ }
                    map { /PRIVATE KEY-----(.*?)-----END/sg } @sent;
    my @leaked = grep { index($res->{body} // '', $_) >= 0 } @key_lines;

    $self->ok(!@leaked, "$what: answer holds no line of the key sent",
              @leaked ? 'found ' . scalar(@leaked) . ' line(s) of it' : ());
    my $j = $res->{json} || {};

    if ($status == 200 && !defined $error) {
        $self->is($j->{sha256}, PaletteCert::_fixture_sha256($fixture),
                  "$what: answers with $fixture");
        $self->is($j->{source}, 'uploaded', "$what: source is uploaded");

        if ($named) {
            $self->is($j->{id}, $args->{id},
                      "$what: answer names the ID $args->{id}");
        }

        if (defined $args->{key_type}) {
            $self->is($j->{key_type}, $args->{key_type},
                      "$what: key_type is $args->{key_type}");
        }

        if ($dry) {
            $self->ok($j->{dry_run} && JSON::PP::is_bool($j->{dry_run}),
                      "$what: answer says dry_run: true");
            $self->_check_unchanged($what, $before, $gen);

            if (defined $zone) {
                $self->is($j->{generation}, $zone + 1,
                          "$what: JSON generation is the one the upload "
                          . "would get");
            }

        } else {
            $self->ok(!exists $j->{dry_run}, "$what: no dry_run member",
                      "dry_run: " . _short($j->{dry_run}));
            $self->_check_same_generation($what, $j, $gen);

            if (defined $zone && defined $gen) {
                $self->is($gen, $zone + 1,
                          "$what: generation grows by one, the zone's "
                          . "$zone + 1");
            }
        }

    } elsif (defined $error) {
        $self->_check_error($what, $res, $error, $args);
        $self->_check_unchanged($what, $before, $gen);
    }

    if (defined $args->{answer}) {
        $self->_check_answer($what, $args->{answer}, $res);
    }

    $self->_saw_answer($args, $gen, $exists);
    $self->_saw_zone_generation($args, $gen) if $changed;
}


# refused: an answer that nginx gives before the API is reached (access
# control, a missing client certificate), which need not be the API's
# JSON: its status, message= (a regular expression) against the body,
# and no private key in it.  Whether anything changed is for "snapshot".
sub _check_refused {
    my ($self, $what, $res, $args) = @_;

    my $body = $res->{body} // '';

    $self->_check_status($what, $res, $args->{status});

    if (defined $args->{message}) {
        my $re = $args->{message};

        $self->ok($body =~ /$re/, "$what: answer matches /$re/",
                  "body: " . _short($body));
    }

    $self->ok($body !~ /-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----/,
              "$what: answer holds no private key");
}


# A body field made of fixture files, one after the other.
sub _field {
    my ($name, @files) = @_;

    return [$name, join('', map { PaletteCert::fixture($_) } @files),
            join('+', @files)];
}


sub _check_same_generation {
    my ($self, $what, $j, $gen) = @_;

    $self->ok(defined $gen && defined $j->{generation}
              && $j->{generation} =~ /^[0-9]+$/ && $j->{generation} == $gen,
              "$what: JSON generation matches the ETag",
              "JSON: " . _short($j->{generation}) . ", ETag: "
              . _short($gen));
}


sub _check_unchanged {
    my ($self, $what, $before, $gen) = @_;

    return if !defined $before || !defined $gen;

    $self->is($gen, $before, "$what: generation unchanged");
}


# get [status=N] [source=..] [sha256=FIXTURE] [generation=N] [names=a,b]
sub step_get {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $error = $args->{error};
    my $status = $args->{status}
                 || (defined $error ? $ERROR_STATUS{$error} : 200);
    my $named = defined $args->{id};

    my $what = 'get';
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} }
            qw(id status error source sha256 generation names key_type chain
               remember same_as api https client_cert);

    my $res = $self->_api_request('GET', $self->_resource($args), {});
    my $exists = !$named || $res->{status} == 200;

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);
    my $j = $res->{json} || {};

    if ($status == 200) {
        $self->_check_same_generation($what, $j, $gen);
        $self->_check_fields($what, $args, $j);
        $self->_remember($what, $args, $j);
        $self->_check_named_json($what, $args->{id}, $j) if $named;

    } elsif (defined $error) {
        $self->_check_error($what, $res, $error, $args);
    }

    $self->_saw_answer($args, $gen, $exists);
}


# The members of the certificate JSON of the contract.
my @CERT_MEMBERS = qw(zone generation source subject issuer serial names
                      not_before not_after sha256 key_type chain_length
                      certificate ca);


# A named certificate's JSON: the certificate JSON plus its "id".
sub _check_named_json {
    my ($self, $what, $id, $j) = @_;

    $self->is($j->{id}, $id, "$what: id is $id");

    my @missing = grep { !exists $j->{$_} } @CERT_MEMBERS;

    $self->ok(!@missing, "$what: the members of the certificate JSON",
              "missing: @missing");
}


sub _check_fields {
    my ($self, $what, $args, $j) = @_;

    if (defined $args->{source}) {
        $self->is($j->{source}, $args->{source},
                  "$what: source is $args->{source}");
    }

    if (defined $args->{sha256}) {
        $self->is($j->{sha256}, PaletteCert::_fixture_sha256($args->{sha256}),
                  "$what: sha256 is $args->{sha256}");
    }

    if (defined $args->{generation}) {
        $self->is($j->{generation}, $args->{generation},
                  "$what: generation is $args->{generation}");
    }

    if (defined $args->{names}) {
        my $got = ref $j->{names} eq 'ARRAY'
                  ? join(',', sort @{ $j->{names} }) : undef;

        $self->is($got, join(',', sort split /,/, $args->{names}),
                  "$what: names are $args->{names}");
    }

    if (defined $args->{key_type}) {
        $self->is($j->{key_type}, $args->{key_type},
                  "$what: key_type is $args->{key_type}");
    }

    if (defined $args->{chain}) {
        my @shas = _pem_shas($j->{certificate});

        $self->is(_cert_names(@shas), $args->{chain},
                  "$what: the certificate field is $args->{chain}, "
                  . "in this order");
        $self->is($j->{chain_length}, scalar @shas,
                  "$what: chain_length counts the certificate field");
    }
}


# remember=NAME keeps the sha256 served for a later block; same_as=NAME
# expects the one kept.
sub _remember {
    my ($self, $what, $args, $j) = @_;

    if (defined $args->{same_as}) {
        my $kept = _slurp(PaletteCert::_remembered_file($args->{same_as}));

        if ($self->ok(defined $kept, "$what: a certificate was remembered "
                                     . "as $args->{same_as}",
                      "use \"get remember=$args->{same_as}\" first"))
        {
            $self->is($j->{sha256}, $kept,
                      "$what: sha256 is the one remembered as "
                      . "$args->{same_as}");
        }
    }

    return if !defined $args->{remember};

    my $file = PaletteCert::_remembered_file($args->{remember});

    File::Path::make_path(File::Basename::dirname($file));

    open my $fh, '>', $file or die "$file: $!";
    print {$fh} $j->{sha256} // '';
    close $fh;
}


# delete [status=N] [error=CODE] [if_match=..]
sub step_delete {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $error = $args->{error};
    my $status = $args->{status}
                 || (defined $error ? $ERROR_STATUS{$error} : 200);

    my $named = defined $args->{id};

    my $what = 'delete';
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} }
            qw(id if_match error api https client_cert);
    $what .= ' refused' if $step->{flags}{refused};

    my ($if_match, $err) = $self->_if_match_header($args->{if_match}, $args);

    if (defined $err) {
        $self->ok(0, "$what: learn the generation for If-Match", $err);
        return;
    }

    my %headers = defined $if_match ? ('If-Match' => $if_match) : ();
    my $path = $self->_resource($args);

    if ($step->{flags}{refused}) {
        my $res = $self->_api_request('DELETE', $path, \%headers);
        $self->_check_refused($what, $res, $args);
        return;
    }

    my $zone = $named ? $self->_zone_generation($args) : undef;
    my $before = $self->_known_generation($args);

    my $res = $self->_api_request('DELETE', $path, \%headers);
    my $deleted = $named && $status == 200 && !defined $error;

    # a named certificate that is gone, or never was, has no ETag
    my $exists = !$named || (defined $before && !$deleted);

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);
    my $j = $res->{json} || {};

    if ($deleted) {
        $self->_check_deleted($what, $args->{id}, $j, $zone);
        $self->_saw_zone_generation($args, $j->{generation});

    } elsif ($status == 200 && !defined $error) {
        $self->is($j->{source}, 'self-signed',
                  "$what: back to the self-signed certificate");
        $self->_check_same_generation($what, $j, $gen);

        if (defined $before && defined $gen) {
            $self->ok($gen >= $before, "$what: generation does not go back",
                      "before $before, now $gen");
        }

    } elsif (defined $error) {
        $self->_check_error($what, $res, $error, $args);
        $self->_check_unchanged($what, $before, $gen);
    }

    $self->_saw_answer($args, $gen, $exists);
}


# The answer to the DELETE of a named certificate:
# {"zone", "id", "deleted": true, "generation"}, the zone's generation
# grown by one.
sub _check_deleted {
    my ($self, $what, $id, $j, $zone) = @_;

    $self->is(join(',', sort keys %$j), 'deleted,generation,id,zone',
              "$what: answer has zone, id, deleted and generation only");
    $self->is($j->{id}, $id, "$what: id is $id");
    $self->ok(JSON::PP::is_bool($j->{deleted}) && $j->{deleted},
              "$what: deleted is true",
              "deleted: " . _short($j->{deleted}));
    $self->ok(defined $j->{zone} && !ref $j->{zone} && $j->{zone} ne '',
              "$what: zone is named", "zone: " . _short($j->{zone}));

    if (defined $zone) {
        $self->is($j->{generation}, $zone + 1,
                  "$what: generation is the zone's $zone + 1");
    }
}


# list [limit=N] [after=ID] [query=TEXT] [ids=A,B..|none] [next=ID|null]
#      [generation=N] [count=N] [all] [detail] [status=N] [error=CODE]
sub step_list {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $error = $args->{error};
    my $status = $args->{status}
                 || (defined $error ? $ERROR_STATUS{$error} : 200);

    my $what = 'list';
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} }
            qw(limit after query status error api);
    $what .= " $_" for grep { $step->{flags}{$_} } qw(all detail);

    my @query = map { "$_=$args->{$_}" }
                grep { defined $args->{$_} } qw(limit after);
    push @query, $args->{query} if defined $args->{query};

    my $page = $self->_list_page($what, $args, \@query, $status);

    return if !$page;

    if ($status != 200) {
        $self->_check_error($what, $page->{res}, $error, $args)
            if defined $error;
        return;
    }

    my @entries = @{ $page->{entries} };
    my $next = $page->{next};
    my $pages = 1;

    # with "all": the pages after this one, as a client walks them

    while ($step->{flags}{all} && defined $next && $pages < 2000) {
        my @q = grep { !/^after=/ } @query;
        push @q, "after=$next";

        my $p = $self->_list_page("$what, page after $next", $args, \@q,
                                  200) or return;

        # "next" is null on the last page: a page after one is not empty

        $self->ok(@{ $p->{entries} } && $p->{entries}[0]{id} gt $next,
                  "$what: the page after $next is not empty and starts "
                  . "after it",
                  "first: " . _short(($p->{entries}[0] || {})->{id}));

        push @entries, @{ $p->{entries} };
        $next = $p->{next};
        $pages++;
    }

    my @ids = map { $_->{id} // '' } @entries;

    if ($step->{flags}{all}) {
        $self->ok(!defined $next, "$what: the last page has next null");
        $self->ok(!grep({ $ids[$_ - 1] ge $ids[$_] } 1 .. $#ids),
                  "$what: all pages together sorted bytewise, no ID twice",
                  "ids: @ids");
    }

    if (defined $args->{ids}) {
        my $want = $args->{ids} eq 'none' ? '' : $args->{ids};

        $self->is(join(',', @ids), $want, "$what: ids $args->{ids}");
    }

    if (defined $args->{count}) {
        $self->is(scalar @ids, $args->{count},
                  "$what: $args->{count} certificates");
    }

    if (defined $args->{next}) {
        $self->is($page->{next}, $args->{next} eq 'null' ? undef
                                                         : $args->{next},
                  "$what: next is $args->{next}");
    }

    if (defined $args->{generation}) {
        $self->is($page->{generation}, $args->{generation},
                  "$what: the zone's generation is $args->{generation}");
    }

    if ($step->{flags}{detail}) {
        $self->_check_list_detail($what, $args, \@entries);
    }

    $self->{zone}{ $args->{api} || $DEFAULT_API } = $page->{generation}
        if defined $page->{generation} && $page->{generation} =~ /^\d+$/;
}


# One GET of the list, with the checks every page must pass: the members,
# each entry's members, sorted bytewise, no more entries than the limit,
# next the last ID of a page (null on the last one).  Returns {res,
# entries, next, generation}, or undef when the answer is no list.
sub _list_page {
    my ($self, $what, $args, $query, $status) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my $uri = "$api/" . (@$query ? '?' . join('&', @$query) : '');
    my $res = $self->_api_request('GET', $uri, {});

    $self->_check_status("$what: GET $uri", $res, $status);
    $self->_check_api_answer("$what: GET $uri", $res, 1);

    return { res => $res } if $status != 200;

    my $j = $res->{json};

    return undef if !$self->ok(ref $j eq 'HASH'
                               && ref $j->{certificates} eq 'ARRAY',
                               "$what: answer has a certificates array",
                               "body: " . _short($res->{body}));

    my @entries = @{ $j->{certificates} };

    $self->is(join(',', sort keys %$j), 'certificates,generation,next,zone',
              "$what: answer has zone, generation, certificates and next");
    $self->ok(defined $j->{zone} && !ref $j->{zone} && $j->{zone} ne '',
              "$what: zone is named", "zone: " . _short($j->{zone}));
    $self->ok(defined $j->{generation} && $j->{generation} =~ /^[0-9]+$/,
              "$what: generation is a number",
              "generation: " . _short($j->{generation}));

    my @bad = grep { ref $_ ne 'HASH'
                     || join(',', sort keys %$_)
                        ne 'generation,id,key_type,names,not_after,sha256' }
              @entries;

    $self->ok(!@bad, "$what: each entry has id, names, key_type, "
                     . "not_after, sha256 and generation only",
              @bad ? 'first bad: ' . JSON::PP->new->canonical
                                     ->encode($bad[0]) : ());

    my @ids = map { ref $_ eq 'HASH' ? $_->{id} // '' : '' } @entries;

    $self->ok(!grep({ $ids[$_ - 1] ge $ids[$_] } 1 .. $#ids),
              "$what: ids sorted bytewise, none twice", "ids: @ids");

    my ($limit) = map { /^limit=(.*)$/ ? $1 : () } @$query;

    $self->ok(@entries <= ($limit // 100),
              "$what: at most " . ($limit // 100) . " certificates",
              scalar(@entries) . ' given');

    my $next = $j->{next};

    $self->ok(exists $j->{next}
              && (!defined $next || (@ids && $next eq $ids[-1])),
              "$what: next is null or the last ID of the page",
              "next: " . _short($next), "last: " . _short($ids[-1]));

    return { res => $res, entries => \@entries, next => $next,
             generation => $j->{generation} };
}


# Each entry of the list says what GET /ID says.
sub _check_list_detail {
    my ($self, $what, $args, $entries) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my @differ;

    for my $e (@$entries) {
        my $res = $self->_api_request('GET', "$api/$e->{id}", {});
        my $j = $res->{json} || {};

        if ($res->{status} != 200) {
            push @differ, "GET $api/$e->{id}: status $res->{status}";
            next;
        }

        for my $k (qw(names key_type not_after sha256 generation)) {
            my ($x, $y) = map { JSON::PP->new->canonical->allow_nonref
                                ->encode($_) } $e->{$k}, $j->{$k};

            push @differ, "$e->{id}: $k is $x in the list, $y in GET"
                if $x ne $y;
        }
    }

    $self->ok(!@differ, "$what: each entry says what GET /ID says",
              @differ > 10 ? (@differ[0 .. 9], '...') : @differ);
}


# snapshot record [store=DIR] [api=/P] [port=ENV] [sni=NAME] | snapshot same
#
# What a rejected upload must leave as it was: GET's whole answer and its
# ETag, the certificates a handshake is given, and, with store=, every
# entry of the store folder $TEST_NGINX_STORE_DIR/DIR (type, mode, mtime,
# link target, size and SHA-256 of the bytes).
sub step_snapshot {
    my ($self, $step) = @_;

    if ($step->{pos}[0] eq 'record') {
        $self->{snapshot} = $self->_snapshot('snapshot record',
                                             $step->{args},
                                             $step->{flags}{list});
        $self->{snapshot}{no_folder_mtime} = $step->{flags}{no_folder_mtime}
            if $self->{snapshot};
        return;
    }

    if ($step->{flags}{no_folder_mtime}) {
        $self->ok(0, 'snapshot same: no_folder_mtime',
                  'no_folder_mtime goes with "snapshot record"');
        return;
    }

    my $old = $self->{snapshot};

    if (!$old) {
        $self->ok(0, 'snapshot same: a snapshot was recorded',
                  'use "snapshot record" first');
        return;
    }

    my $what = 'snapshot same';
    my $new = $self->_snapshot($what, $old->{args}, $old->{list}) or return;

    $self->is($new->{status}, $old->{status}, "$what: the same GET status");
    $self->is($new->{etag}, $old->{etag}, "$what: the same ETag");
    $self->ok($new->{body} eq $old->{body},
              "$what: GET answers the very same JSON",
              "before: " . _short($old->{body}),
              "now:    " . _short($new->{body}));

    if (defined $old->{list}) {
        $self->ok($new->{list} eq $old->{list},
                  "$what: the list is the very same",
                  "before: " . _short($old->{list}),
                  "now:    " . _short($new->{list}));
    }
    $self->is($new->{served}, $old->{served},
              "$what: a handshake is given the same certificates");

    return if !$old->{store};

    my ($before, $now) = ($old->{store}, $new->{store});

    # a write attempted and undone leaves its trace in the folders' mtime

    if ($old->{no_folder_mtime}) {
        ($before, $now) = map { my $t = $_;
                                +{ map { my $v = $t->{$_};
                                         $v =~ s/^(folder .*?) mtime \S+$/$1/;
                                         ($_ => $v) } keys %$t } }
                          $before, $now;
    }

    my @diff = _tree_diff($before, $now);

    $self->ok(!@diff,
              "$what: nothing in store $old->{args}{store} changed",
              @diff > 20 ? (@diff[0 .. 19], '...') : @diff);
}


# With id=, GET /ID, which may be 404 (the certificate a rejected upload
# must not make); with $list, also the whole list.
sub _snapshot {
    my ($self, $what, $args, $list) = @_;

    my $uri = $self->_resource($args);
    my $res = $self->_api_request('GET', $uri, {});

    if (defined $args->{id}) {
        return undef if !$self->ok($res->{status} =~ /^(?:200|404)$/,
                                   "$what: GET $uri answers 200 or 404",
                                   "status $res->{status}");

    } elsif (!$self->_check_status("$what: GET", $res, 200)) {
        return undef;
    }

    my $list_body;

    if ($list) {
        my $api = $args->{api} || $DEFAULT_API;
        my $l = $self->_api_request('GET', "$api/?limit=1000", {});

        return undef if !$self->_check_status("$what: GET $api/", $l, 200);

        $list_body = $l->{body} // '';
    }

    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $port = $self->_tls_port($args->{port});

    if (!defined $port) {
        $self->ok(0, "$what: port", "\$$args->{port} is not set to a port");
        return undef;
    }

    my ($sock, $err) = $self->_tls_connect(port => $port, tls => 'any',
                                           sni => $sni eq 'none'
                                                  ? undef : $sni);

    return undef if !$self->ok($sock, "$what: TLS handshake succeeds", $err);

    my $peer = _peer($sock);

    $sock->close(SSL_fast_shutdown => 1);

    my $snap = {
        args   => $args,
        list   => $list_body,
        status => $res->{status},
        body   => $res->{body} // '',
        etag   => $res->{etag},
        served => $peer ? _cert_names(@{ $peer->{chain_sha} }) : '(none)',
    };

    if (defined $args->{store}) {
        my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR},
                                     $args->{store});

        return undef if !$self->ok(-d $dir, "$what: the store $dir exists");

        $snap->{store} = _tree($dir);
    }

    return $snap;
}


# Every entry under DIR: relative path => description.  Contents are
# compared by digest and never shown: the store holds a private key.
sub _tree {
    my ($dir) = @_;

    my %tree;
    my @todo = ('.');

    while (@todo) {
        my $rel = shift @todo;
        my $path = "$dir/$rel";
        my @st = lstat $path;

        if (!@st) {
            $tree{$rel} = "cannot stat: $!";
            next;
        }

        my $mode = sprintf '%04o', $st[2] & 07777;
        my $mtime = (Time::HiRes::lstat($path))[9];

        if (-l _) {
            $tree{$rel} = 'link to ' . (readlink($path) // '?')
                          . " mtime $mtime";

        } elsif (-d _) {
            $tree{$rel} = "folder mode $mode mtime $mtime";

            if (opendir my $dh, $path) {
                push @todo, map { $rel eq '.' ? $_ : "$rel/$_" }
                            sort grep { $_ ne '.' && $_ ne '..' }
                            readdir $dh;
                closedir $dh;
            }

        } else {
            my $sha = eval { Digest::SHA->new(256)->addfile($path, 'b')
                                                 ->hexdigest }
                      // 'unreadable';

            $tree{$rel} = "file mode $mode mtime $mtime size $st[7] "
                          . "sha256 $sha";
        }
    }

    return \%tree;
}


sub _tree_diff {
    my ($old, $new) = @_;

    my %all = map { $_ => 1 } keys %$old, keys %$new;
    my @diff;

    for my $rel (sort keys %all) {
        if (!exists $old->{$rel}) {
            push @diff, "added $rel: $new->{$rel}";

        } elsif (!exists $new->{$rel}) {
            push @diff, "removed $rel: $old->{$rel}";

        } elsif ($old->{$rel} ne $new->{$rel}) {
            push @diff, "changed $rel: $old->{$rel}", "      now: $new->{$rel}";
        }
    }

    return @diff;
}


# store DIR: the files in $TEST_NGINX_STORE_DIR/DIR hold what GET shows
sub step_store {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR}, $step->{pos}[0]);
    my $what = "store $step->{pos}[0]";

    if (defined $args->{id}) {
        $self->_store_named("$what id=$args->{id}", $dir, $args,
                            $step->{flags}{absent});
        return;
    }

    my $j = $self->_api_get_quiet($args->{api}) || {};

    my $link = readlink "$dir/current";

    if (!$self->ok(defined $link && $link =~ /^gen-([0-9]+)$/,
                   "$what: current is a link to a generation",
                   "readlink $dir/current: " . ($link // $!)))
    {
        return;
    }

    my $gen = $1;

    $self->is($gen, $j->{generation}, "$what: current is the generation GET shows");
    $self->is($gen, $args->{generation}, "$what: generation $args->{generation}")
        if defined $args->{generation};

    # the current generation and, below it, the history=N (5) replaced last

    my $history = $args->{history} // 5;
    my @gens = sort { $a <=> $b } map { m{/gen-([0-9]+)$} ? $1 : () }
                                  glob "$dir/gen-*";

    $self->is($gens[-1], $gen, "$what: no generation above the current one");
    $self->ok(@gens <= 1 + $history,
              "$what: the current generation and $history replaced at most",
              "kept: @gens");

    my $cert = _slurp("$dir/$link/certificate.pem");
    my ($leaf) = ($cert // '') =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s;
    my $sha = defined $leaf ? sha256_hex(_pem_to_der($leaf)) : '';

    $self->is($sha, $j->{sha256}, "$what: the stored leaf is the one served");
    $self->is($cert, $j->{certificate}, "$what: the stored chain is the one served");

    if (defined $args->{sha256}) {
        $self->is($sha, PaletteCert::_fixture_sha256($args->{sha256}),
                  "$what: the stored leaf is $args->{sha256}");
    }

    my $source = _slurp("$dir/$link/source") // '';
    $source =~ s/\s+$//;

    $self->is($source, $j->{source}, "$what: the stored source is the one served");
    $self->is($source, $args->{source}, "$what: source $args->{source}")
        if defined $args->{source};

    for my $key ("$dir/$link/key.pem", "$dir/self-signed/key.pem") {
        my @st = stat $key;

        $self->ok(@st && ($st[2] & 07777) == 0600, "$what: $key has mode 0600",
                  @st ? sprintf('mode %04o', $st[2] & 07777) : "stat: $!");
    }

    $self->ok(_key_matches("$dir/$link/certificate.pem", "$dir/$link/key.pem"),
              "$what: the stored key belongs to the stored leaf");

    my $ss = _slurp("$dir/self-signed/certificate.pem");

    if ($source eq 'self-signed') {
        $self->is($cert, $ss, "$what: the current certificate is the stored self-signed one");
    }
}


# store DIR id=ID [sha256=FIXTURE] [absent]: the named certificate ID is
# a folder of its own under the store DIR, holding the chain GET /ID shows
# and its key, of mode 0600, as plain PEM files; with absent, no folder
# of the store holds it any more.
sub _store_named {
    my ($self, $what, $dir, $args, $absent) = @_;

    my @folders = _folders_named($dir, $args->{id});

    if ($absent) {
        my @left = grep { _find_files($_, 'certificate.pem') } @folders;

        $self->ok(!@left, "$what: no folder holds a certificate of it",
                  map { "left: $_" } @left);
        return;
    }

    return if !$self->is(scalar @folders, 1,
                         "$what: one folder $args->{id} in the store",
                         map { "found: $_" } @folders);

    my $j = $self->_api_get_quiet($self->_resource($args)) || {};
    my @certs = _find_files($folders[0], 'certificate.pem');
    my ($served) = grep { (_slurp($_) // '') eq ($j->{certificate} // '-') }
                   @certs;

    return if !$self->ok(defined $served,
                         "$what: a certificate.pem in $folders[0] holds the "
                         . "chain GET shows",
                         "certificate.pem files: @certs");

    my ($leaf) = _pem_shas(_slurp($served));

    $self->is($leaf, $j->{sha256}, "$what: the stored leaf is the one served");
    $self->is($leaf, PaletteCert::_fixture_sha256($args->{sha256}),
              "$what: the stored leaf is $args->{sha256}")
        if defined $args->{sha256};

    my $key = File::Basename::dirname($served) . '/key.pem';

    $self->ok(_key_matches($served, $key),
              "$what: key.pem next to it belongs to the stored leaf");

    for my $file (_find_files($folders[0], qr/^key.*\.pem$/)) {
        my @st = stat $file;

        $self->ok(@st && ($st[2] & 07777) == 0600,
                  "$what: $file has mode 0600",
                  @st ? sprintf('mode %04o', $st[2] & 07777) : "stat: $!");
    }
}


# The folders named $name under $dir, at any depth.
sub _folders_named {
    my ($dir, $name) = @_;

    my (@found, @todo);

    @todo = ($dir);

    while (defined(my $d = shift @todo)) {
        opendir my $dh, $d or next;

        for my $e (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
            my $path = "$d/$e";

            next if -l $path || !-d _;

            push @found, $path if $e eq $name;
            push @todo, $path;
        }

        closedir $dh;
    }

    return @found;
}


# The files under $dir (links followed, at any depth) whose name is $name
# or matches it.
sub _find_files {
    my ($dir, $name) = @_;

    my (@found, %seen);
    my @todo = ($dir);

    while (defined(my $d = shift @todo)) {
        my $real = Cwd::abs_path($d) // $d;

        next if $seen{$real}++;

        opendir my $dh, $d or next;

        for my $e (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
            my $path = "$d/$e";

            if (-d $path) {
                push @todo, $path;

            } elsif (-f _ && (ref $name ? $e =~ $name : $e eq $name)) {
                push @found, $path;
            }
        }

        closedir $dh;
    }

    return @found;
}


sub _slurp {
    my ($file) = @_;

    open my $fh, '<', $file or return undef;
    local $/;
    my $data = <$fh>;
    close $fh;

    return $data;
}


sub _key_matches {
    my ($cert, $key) = @_;

    my $a = `openssl x509 -noout -pubkey -in '$cert' 2>/dev/null`;
    my $b = `openssl pkey -pubout -in '$key' 2>/dev/null`;

    return $a ne '' && $a eq $b;
}


# generation N
sub step_generation {
    my ($self, $step) = @_;

    my $n = $step->{pos}[0];
    my $what = "generation $n";

    my $res = $self->_api_request('GET', $step->{args}{api}, {});

    $self->_check_status($what, $res, 200);
    my $gen = $self->_check_api_answer($what, $res);

    $self->is(($res->{json} || {})->{generation}, $n,
              "$what: generation is $n");

    $self->_saw_answer($step->{args}, $gen, 1);
}


# The nginx processes.

sub _master_pid {
    my ($self) = @_;

    my $file = File::Spec->catfile($self->{servroot}, 'logs', 'nginx.pid');

    open my $in, '<', $file or return undef;
    my $pid = <$in>;
    close $in;

    return undef if !defined $pid;

    $pid =~ s/\s+//g;

    return $pid =~ /^\d+$/ ? $pid : undef;
}


# Children of the nginx master, from /proc: pid => command line.
sub _children {
    my ($self, $master) = @_;

    my %children;

    opendir my $dh, '/proc' or return {};

    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $in, '<', "/proc/$pid/stat" or next;
        my $stat = <$in>;
        close $in;

        next if !defined $stat || $stat !~ /\)\s+\S+\s+(\d+)/;
        next if $1 != $master;

        my $cmd = '';
        if (open my $c, '<', "/proc/$pid/cmdline") {
            local $/;
            $cmd = <$c> // '';
            close $c;
            $cmd =~ s/\0+/ /g;
            $cmd =~ s/\s+$//;
        }

        $children{$pid} = $cmd;
    }

    closedir $dh;

    return \%children;
}


# reload from=TEXT to=TEXT: the running configuration changes first
sub _edit_conf {
    my ($self, $from, $to) = @_;

    my $file = File::Spec->catfile($self->{servroot}, 'conf', 'nginx.conf');
    my $conf = _slurp($file) // '';

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


sub _worker_pids {
    my ($self) = @_;

    my $master = $self->_master_pid;

    return () if !$master;

    my $children = $self->_children($master);

    # workers of an earlier configuration may still be shutting down

    return sort { $a <=> $b }
           grep { $children->{$_} =~ /worker process/
                  && $children->{$_} !~ /shutting down/ }
           keys %$children;
}


# pids record | pids same
sub step_pids {
    my ($self, $step) = @_;

    my $master = $self->_master_pid;

    if (!$master) {
        $self->ok(0, "pids $step->{pos}[0]: nginx pid file readable",
                  "no pid in $self->{servroot}/logs/nginx.pid");
        return;
    }

    my $children = join ' ', sort { $a <=> $b }
                             keys %{ $self->_children($master) };

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


# reload: SIGHUP to the master, then wait for a whole new set of workers.
sub step_reload {
    my ($self, $step) = @_;

    my $master = $self->_master_pid;

    if (!$master) {
        $self->ok(0, 'reload: nginx pid file readable',
                  "no pid in $self->{servroot}/logs/nginx.pid");
        return;
    }

    my @old = $self->_worker_pids;

    if (!@old) {
        $self->ok(0, 'reload: nginx has worker processes',
                  'reload needs master_on()');
        return;
    }

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


# Long-lived connections.

sub _keepalive_request {
    my ($host, $path) = @_;

    return "GET $path HTTP/1.1\r\nHost: $host\r\n"
           . "Connection: keep-alive\r\n\r\n";
}


# open NAME [port=ENV] [sni=..|none] [tls=..] [path=/..]
sub step_open {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $name = $step->{pos}[0];
    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $what = "open $name";
    $what .= " $_=$args->{$_}"
        for grep { defined $args->{$_} } qw(sni tls port path);

    if ($self->{conns}{$name}) {
        $self->ok(0, "$what: name not in use", "\"$name\" is already open");
        return;
    }

    $sni = undef if $sni eq 'none';

    my $port = $self->_tls_port($args->{port});

    if (!defined $port) {
        $self->ok(0, "$what: port", "\$$args->{port} is not set to a port");
        return;
    }

    my ($sock, $err) = $self->_tls_connect(port => $port, sni => $sni,
                                           tls => $args->{tls} || 'any');

    return if !$self->ok($sock, "$what: TLS handshake succeeds", $err);

    my $peer = _peer($sock);
    my $host = defined $sni ? $sni : 'localhost';
    my $path = $args->{path} || '/';

    my ($res, $herr) = _http_exchange($sock, _keepalive_request($host, $path),
                                      1);

    $self->ok($res && $res->{status} =~ /^[23]/,
              "$what: answers a keep-alive request",
              $res ? $res->{status_line} : $herr);

    $self->{conns}{$name} = { sock => $sock, host => $host, path => $path,
                              sha256 => $peer ? $peer->{sha256} : undef };
}


# reuse NAME [path=/..]
sub step_reuse {
    my ($self, $step) = @_;

    my $name = $step->{pos}[0];
    my $conn = $self->{conns}{$name};
    my $what = "reuse $name";
    $what .= " path=$step->{args}{path}" if defined $step->{args}{path};

    if (!$conn) {
        $self->ok(0, "$what: connection was opened",
                  "use \"open $name\" first");
        return;
    }

    my $path = $step->{args}{path} || $conn->{path};

    my ($res, $err) = _http_exchange($conn->{sock},
                                     _keepalive_request($conn->{host}, $path),
                                     1);

    $self->ok($res && $res->{status} =~ /^[23]/,
              "$what: the connection opened before still answers",
              $res ? $res->{status_line} : $err);

    my $peer = _peer($conn->{sock});

    $self->is($peer ? $peer->{sha256} : undef, $conn->{sha256},
              "$what: the connection keeps its certificate");
}


# stall FIXTURE fifo=ENV [count=N] [port=ENV] [sni=..|none] [gone]
sub step_stall {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $fixture = $step->{pos}[0];
    my $fifo = $ENV{ $args->{fifo} };
    my $what = "stall $fixture";
    $what .= ' gone' if $step->{flags}{gone};

    if (!defined $fifo || !-p $fifo) {
        $self->ok(0, "$what: fifo", "\$$args->{fifo} is not a named pipe");
        return;
    }

    my $before = $self->_known_generation;
    my ($up, $err) = $self->_send_upload($fixture);

    return if !$self->ok($up, "$what: sends the upload", $err);

    # held open with nothing written, the pipe keeps its reader waiting

    my $pipe = _fifo_writer($fifo);

    return if !$self->ok($pipe, "$what: the upload's validation reads the "
                         . "pipe", "no reader opened $fifo");

    $self->step_handshake({ args => {
        count  => $args->{count} || 10,
        expect => 'current',
        map { defined $args->{$_} ? ($_ => $args->{$_}) : () } qw(port sni),
    } });

    $self->ok(!IO::Select->new($up)->can_read(0),
              "$what: the upload is not answered while it is validated");

    $up->close if $step->{flags}{gone};

    my $root = PaletteCert::fixture('ca.pem');

    $self->ok(syswrite($pipe, $root) == length $root,
              "$what: the root is written into the pipe", "$!");
    close $pipe;

    my $j;

    if ($step->{flags}{gone}) {
        $j = $self->_applied_after($before) || {};

    } else {
        my $res = _read_answer($up);

        $self->_check_status($what, $res, 200);
        $self->_check_api_answer($what, $res);
        $j = $res->{json} || {};
    }

    $self->is($j->{sha256}, PaletteCert::_fixture_sha256($fixture),
              "$what: $fixture is applied");

    if (defined $before) {
        $self->is($j->{generation}, $before + 1,
                  "$what: generation grows by one");
    }

    $self->{generation}{ $self->_api_key } = $j->{generation}
        if defined $j->{generation};

    $self->_saw_zone_generation({}, $j->{generation});
}


# Sends the upload of a fixture without "ca" on a connection of its own,
# and returns the connection without reading the answer.
sub _send_upload {
    my ($self, $fixture) = @_;

    my $body = _json_body([
        ['certificate', PaletteCert::fixture("$fixture.chain.pem")],
        ['key', PaletteCert::fixture("$fixture.key")],
    ]);

    my $request = "PUT $DEFAULT_API HTTP/1.1\r\nHost: localhost\r\n"
                  . "Content-Type: application/json\r\n"
                  . "Content-Length: " . length($body) . "\r\n"
                  . "Connection: close\r\n\r\n" . $body;

    my $sock = IO::Socket::INET->new(PeerHost => '127.0.0.1',
                                     PeerPort => $self->{api_port},
                                     Timeout  => $IO_TIMEOUT);

    return (undef, "connect to the API: $!") if !$sock;

    my $off = 0;

    while ($off < length $request) {
        my $n = syswrite($sock, $request, length($request) - $off, $off);
        return (undef, "write: $!") if !defined $n;
        $off += $n;
    }

    return ($sock, undef);
}


# The answer on a connection, as _api_request() returns one.
sub _read_answer {
    my ($sock) = @_;

    my $res = eval {
        local $SIG{ALRM} = sub { die "timed out\n" };
        alarm $IO_TIMEOUT;
        my $r = _read_response($sock, 0);
        alarm 0;
        $r;
    } || { status => 599, headers => {}, body => $@ };

    alarm 0;
    $sock->close;

    $res->{json} = eval { JSON::PP->new->utf8->decode($res->{body}) };
    $res->{etag} = $res->{headers}{etag};
    $res->{cc} = $res->{headers}{'cache-control'};

    return $res;
}


# Opens a named pipe for writing once a reader has opened it.
sub _fifo_writer {
    my ($fifo) = @_;

    for (1 .. $IO_TIMEOUT * 20) {
        if (sysopen(my $fh, $fifo, POSIX::O_WRONLY | POSIX::O_NONBLOCK)) {
            return $fh;
        }

        return undef if $! != POSIX::ENXIO;

        Time::HiRes::sleep(0.05);
    }

    return undef;
}


# What GET tells once a change after generation $before is applied.
sub _applied_after {
    my ($self, $before) = @_;

    my $cur;

    for (1 .. $IO_TIMEOUT * 20) {
        $cur = $self->_api_get_quiet;

        last if $cur && defined $before && $cur->{generation} > $before;

        Time::HiRes::sleep(0.05);
    }

    return $cur;
}


# Binary upgrade.

sub _pid_in {
    my ($file) = @_;

    my $pid = _slurp($file);

    return undef if !defined $pid;

    $pid =~ s/\s+//g;

    return $pid =~ /^\d+$/ ? $pid : undef;
}


# A process that runs (a zombie no longer does).
sub _alive {
    my ($pid) = @_;

    return 0 if !$pid || !kill(0, $pid);

    my $stat = _slurp("/proc/$pid/stat");

    return !(defined $stat && $stat =~ /\)\s+Z\s/);
}


# Waits until $cond returns true, at most $IO_TIMEOUT seconds.
sub _wait_for {
    my ($cond) = @_;

    my $deadline = Time::HiRes::time() + $IO_TIMEOUT;

    while (Time::HiRes::time() < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.05);
    }

    return $cond->();
}


# upgrade: USR2 to the master, which starts a new master from its binary;
# once the new master and its workers are up, QUIT to the old master.
sub step_upgrade {
    my ($self, $step) = @_;

    my $logs = File::Spec->catdir($self->{servroot}, 'logs');
    my $pidfile = File::Spec->catfile($logs, 'nginx.pid');
    my $oldbin = "$pidfile.oldbin";
    my $old = $self->_master_pid;

    if (!$old) {
        $self->ok(0, 'upgrade: nginx pid file readable', "no pid in $pidfile");
        return;
    }

    my @workers = $self->_worker_pids;

    if (!@workers) {
        $self->ok(0, 'upgrade: nginx has worker processes',
                  'upgrade needs master_on()');
        return;
    }

    my $exe = readlink "/proc/$old/exe";

    kill 'USR2', $old;

    my $new;

    my $up = _wait_for(sub {
        $new = _pid_in($pidfile);

        return defined $new && $new != $old
               && (_pid_in($oldbin) // 0) == $old;
    });

    return if !$self->ok($up, 'upgrade: a new master writes nginx.pid, '
                              . 'the old one nginx.pid.oldbin',
                         "old master $old", "nginx.pid: " . ($new // '-'),
                         "nginx.pid.oldbin: " . (_pid_in($oldbin) // '-'));

    $self->{upgrade_old} = $old;

    my @new_workers;

    $up = _wait_for(sub {
        my $children = $self->_children($new);

        @new_workers = grep { $children->{$_} =~ /worker process/ }
                       keys %$children;

        return @new_workers >= @workers;
    });

    $self->ok($up, 'upgrade: the new master starts its workers',
              "old workers: @workers", "new workers: @new_workers");

    $self->is(readlink("/proc/$new/exe"), $exe,
              'upgrade: the new master runs the same binary');

    kill 'QUIT', $old;

    $self->ok(_wait_for(sub { !_alive($old) }),
              'upgrade: the old master exits', "old master $old");
    $self->ok(_wait_for(sub { !grep { _alive($_) } @workers }),
              'upgrade: the old workers exit', "old workers: @workers");
    $self->ok(_wait_for(sub { !-e $oldbin }),
              'upgrade: nginx.pid.oldbin is removed');

    delete $self->{upgrade_old};

    $self->is($self->_master_pid, $new,
              'upgrade: nginx.pid names the new master');
    $self->ok(_alive($new), 'upgrade: the new master runs');

    my @left = $self->_worker_pids;

    $self->ok(@left >= @workers, 'upgrade: the new workers run',
              "workers: @left");
}


# Store folders on a file system of their own.
#
# As root, permissions do not stop a write: a small tmpfs is mounted on
# the store folder (with a copy of what it held), then filled or made
# read-only.  Without root, the folder's mode is 0500 instead.  Unmounting
# copies what the tmpfs holds back into the folder, so that a later block
# finds what nginx wrote.  Whatever is mounted is unmounted after the last
# step of the block, and when the test script ends.

my %Mounted;


sub _run_cmd {
    my (@cmd) = @_;

    my $out = `@{[ join ' ', map { _shell_quote($_) } @cmd ]} 2>&1`;

    return $? == 0 ? undef : "\"@cmd\" failed, status $?: $out";
}


sub _shell_quote {
    my ($s) = @_;

    $s =~ s/'/'\\''/g;

    return "'$s'";
}


sub _copy_tree {
    my ($from, $to) = @_;

    return _run_cmd('cp', '-a', "$from/.", $to);
}


# storefs mount|fill|readonly|writable|umount DIR [size=SIZE]
sub step_storefs {
    my ($self, $step) = @_;

    my ($op, $name) = @{ $step->{pos} };
    my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR}, $name);
    my $what = "storefs $op $name";
    my $fs = $self->{storefs}{$dir};

    if ($op eq 'mount') {
        return if !$self->ok(!$fs, "$what: not mounted yet");
        return if !$self->ok(-d $dir, "$what: the store $dir exists");

        my $err = _storefs_mount($dir, $step->{args}{size} || '1m');

        return if !$self->ok(!defined $err, "$what: the store is mounted",
                             $err);

        $self->{storefs}{$dir} = { root => $> == 0,
                                   mode => (stat $dir)[2] & 07777 };
        return;
    }

    return if !$self->ok($fs, "$what: the store is mounted",
                         "use \"storefs mount $name\" first");

    my $err;

    if ($op eq 'umount') {
        $err = _storefs_writable($dir, $fs) // _storefs_umount($dir, $fs);
        delete $self->{storefs}{$dir};

    } elsif ($op eq 'writable') {
        $err = _storefs_writable($dir, $fs);

    } elsif (!$fs->{root}) {
        $err = chmod(0500, $dir) ? undef : "chmod 0500 $dir: $!";

    } elsif ($op eq 'fill') {
        $err = _storefs_fill($dir);

    } else {
        $err = _run_cmd('mount', '-o', 'remount,ro', $dir);
        $fs->{ro} = 1 if !defined $err;
    }

    $self->ok(!defined $err, "$what: done", $err);
}


sub _storefs_mount {
    my ($dir, $size) = @_;

    if ($> != 0) {
        $Mounted{$dir} = { mode => (stat $dir)[2] & 07777 };
        return undef;
    }

    my @st = stat $dir or return "stat $dir: $!";
    my $copy = File::Temp::tempdir('palette-storefs-XXXXXX', TMPDIR => 1,
                                   CLEANUP => 1);

    my $err = _copy_tree($dir, $copy)
              // _run_cmd('mount', '-t', 'tmpfs', '-o',
                          sprintf('size=%s,mode=%04o,uid=%d,gid=%d', $size,
                                  $st[2] & 07777, $st[4], $st[5]),
                          'palette-store', $dir);

    return $err if defined $err;

    $Mounted{$dir} = { root => 1 };

    $err = _copy_tree($copy, $dir);
    utime $st[8], $st[9], $dir;

    return $err;
}


# Writes a file until the tmpfs is full.
sub _storefs_fill {
    my ($dir) = @_;

    my $file = File::Spec->catfile($dir, 'filler');

    open my $fh, '>:raw', $file or return "open $file: $!";

    my $chunk = "\0" x 4096;

    while (1) {
        my $n = syswrite $fh, $chunk;

        if (!defined $n) {
            my $err = $!;
            close $fh;
            return $!{ENOSPC} || $err =~ /space/i
                   ? undef : "write $file: $err, not ENOSPC";
        }
    }
}


sub _storefs_writable {
    my ($dir, $fs) = @_;

    if (!$fs->{root}) {
        my $mode = $fs->{mode} // ($Mounted{$dir} || {})->{mode} // 0755;
        return chmod($mode, $dir) ? undef : "chmod $dir: $!";
    }

    if ($fs->{ro}) {
        my $err = _run_cmd('mount', '-o', 'remount,rw', $dir);
        return $err if defined $err;
        delete $fs->{ro};
    }

    my $filler = File::Spec->catfile($dir, 'filler');

    return undef if !-e $filler;
    return unlink($filler) ? undef : "unlink $filler: $!";
}


# Unmounts, and puts what the tmpfs held in the folder underneath.
sub _storefs_umount {
    my ($dir, $fs) = @_;

    my $info = delete $Mounted{$dir};

    return undef if !$fs->{root};

    my @st = stat $dir;
    my $copy = File::Temp::tempdir('palette-storefs-XXXXXX', TMPDIR => 1,
                                   CLEANUP => 1);

    my $err = _copy_tree($dir, $copy);

    my $umount = _run_cmd('umount', $dir);
    $umount = _run_cmd('umount', '-l', $dir) if defined $umount;

    return $umount if defined $umount;
    return "the store was not copied out of the tmpfs: $err" if defined $err;

    File::Path::remove_tree($dir, { keep_root => 1 });

    $err = _copy_tree($copy, $dir);
    utime $st[8], $st[9], $dir if @st;

    return $err;
}


sub _storefs_cleanup {
    my ($self) = @_;

    for my $dir (sort keys %{ $self->{storefs} || {} }) {
        my $fs = $self->{storefs}{$dir};
        my $err = _storefs_writable($dir, $fs) // _storefs_umount($dir, $fs);

        Test::More::diag("$self->{name} - storefs: cannot release $dir: "
                         . $err) if defined $err;
    }

    $self->{storefs} = {};
}


END {
    for my $dir (sort keys %Mounted) {
        if ($Mounted{$dir}{root}) {
            system('mount', '-o', 'remount,rw', $dir);
            unlink File::Spec->catfile($dir, 'filler');
            system('umount', $dir) == 0 or system('umount', '-l', $dir);

        } elsif (defined $Mounted{$dir}{mode}) {
            chmod $Mounted{$dir}{mode}, $dir;
        }
    }
}


# Concurrent uploads.

# What the server presents for a fixture: "leaf-a+int-ca".
sub _served_fixture {
    my ($fixture) = @_;

    return _cert_names(_pem_shas(PaletteCert::fixture("$fixture.chain.pem")));
}


sub _write_json_lines {
    my ($file, @records) = @_;

    open my $fh, '>', $file or return;
    print {$fh} JSON::PP->new->canonical->encode($_), "\n" for @records;
    close $fh;
}


sub _read_json_lines {
    my ($file) = @_;

    open my $fh, '<', $file or return ();
    my @records = map { JSON::PP->new->decode($_) } grep { /\S/ } <$fh>;
    close $fh;

    return @records;
}


# One client: the uploads numbered $first, $first + $step, ..., each with
# the next fixture of the list; every second one with If-Match of the
# generation the client last saw.
sub _upload_client {
    my ($self, $o) = @_;

    my @records;
    my $seen = $o->{generation};
    my $n = 0;

    for (my $i = $o->{first}; $i < $o->{uploads}; $i += $o->{step}) {
        my $fixture = $o->{fixtures}[$i % @{ $o->{fixtures} }];
        my %headers = ('Content-Type' => 'application/json');
        my $if_match = $n++ % 2 == 1 && defined $seen;

        $headers{'If-Match'} = qq{"$seen"} if $if_match;

        my $t0 = Time::HiRes::time();
        my $res = $self->_api_request('PUT', $o->{api}, \%headers,
                                      $o->{bodies}{$fixture});
        my $t1 = Time::HiRes::time();
        my $j = $res->{json} || {};
        my ($etag) = ($res->{etag} // '') =~ /^"([0-9]+)"$/;

        $seen = $etag if defined $etag;

        push @records, {
            index => $i, client => $o->{first}, fixture => $fixture,
            if_match => $if_match ? $headers{'If-Match'} : undef,
            status => $res->{status}, etag => $etag,
            generation => $j->{generation}, sha256 => $j->{sha256},
            error => $j->{error}, body => _short($res->{body}),
            t0 => $t0, t1 => $t1,
        };
    }

    return @records;
}


# Fresh handshakes until $stop exists: how many, the failures, the
# certificates presented.
sub _handshake_client {
    my ($self, $o) = @_;

    my %r = (done => 0, failed => 0, errors => [], served => {});
    my $deadline = Time::HiRes::time() + 300;

    while (!-e $o->{stop} && Time::HiRes::time() < $deadline) {
        my ($sock, $err) = $self->_tls_connect(port => $o->{port},
                                               sni => $o->{sni}, tls => 'any');
        my $peer = $sock ? _peer($sock) : undef;

        $sock->close(SSL_fast_shutdown => 1) if $sock;

        if (!$peer) {
            $r{failed}++;
            push @{ $r{errors} }, $err // 'no server certificate'
                if @{ $r{errors} } < 5;
            next;
        }

        $r{done}++;
        $r{served}{ _cert_names(@{ $peer->{chain_sha} }) }++;
    }

    return \%r;
}


sub _fork {
    my ($code) = @_;

    my $pid = fork;

    die "fork: $!\n" if !defined $pid;

    return $pid if $pid;

    # the child never runs the test script's END blocks: they would stop
    # nginx

    my $ok = eval { $code->(); 1 };
    print STDERR "child: $@" if !$ok;
    POSIX::_exit($ok ? 0 : 1);
}


# concurrent [uploads=60] [clients=4] [handshakes=on|off] [overlap=N]
#            [store=DIR] [port=ENV] [sni=NAME] [api=/P]
sub step_concurrent {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $uploads = $args->{uploads} || 60;
    my $clients = $args->{clients} || 4;
    my $handshakes = ($args->{handshakes} || 'on') eq 'on';
    my $overlap = $args->{overlap} // int($uploads / 2);
    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my @fixtures = qw(leaf-a leaf-b leaf-c);
    my $what = "concurrent uploads=$uploads clients=$clients";

    $sni = undef if $sni eq 'none';

    my $port = $self->_tls_port($args->{port});

    if (!defined $port) {
        $self->ok(0, "$what: port", "\$$args->{port} is not set to a port");
        return;
    }

    my $before = $self->_api_get_quiet($args->{api});

    if (!$before) {
        $self->ok(0, "$what: the API tells the generation",
                  $self->{last_error});
        return;
    }

    my $g0 = $before->{generation};
    my %bodies;

    for my $f (@fixtures) {
        $bodies{$f} = _json_body([_field('certificate', "$f.chain.pem"),
                                  _field('key', "$f.key"),
                                  _field('ca', 'ca.pem')]);
    }

    my $tmp = File::Temp::tempdir('palette-concurrent-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $stop = "$tmp/stop";

    pipe my $go_r, my $go_w or die "pipe: $!\n";

    my (@pids, $hs_pid);

    if ($handshakes) {
        $hs_pid = _fork(sub {
            close $go_w;
            sysread $go_r, my $buf, 1;
            my $r = $self->_handshake_client({ port => $port, sni => $sni,
                                               stop => $stop });
            _write_json_lines("$tmp/handshakes", $r);
        });
    }

    for my $c (0 .. $clients - 1) {
        push @pids, _fork(sub {
            close $go_w;
            sysread $go_r, my $buf, 1;
            _write_json_lines("$tmp/client-$c", $self->_upload_client({
                first => $c, step => $clients, uploads => $uploads,
                fixtures => \@fixtures, bodies => \%bodies,
                generation => $g0, api => $args->{api} }));
        });
    }

    # all start at once, when the pipe closes

    close $go_r;
    close $go_w;

    my @failed_children;

    for my $pid (@pids) {
        waitpid $pid, 0;
        push @failed_children, "client $pid: status $?" if $?;
    }

    if (open my $fh, '>', $stop) {
        close $fh;
    }

    if ($hs_pid) {
        waitpid $hs_pid, 0;
        push @failed_children, "handshakes $hs_pid: status $?" if $?;
    }

    $self->ok(!@failed_children, "$what: every client process ends well",
              @failed_children);

    my @answers = sort { $a->{index} <=> $b->{index} }
                  map { _read_json_lines("$tmp/client-$_") }
                  0 .. $clients - 1;

    $self->is(scalar @answers, $uploads, "$what: every upload is answered");

    # statuses: 200, or 412 generation_mismatch when If-Match was sent

    my @bad = grep {
                  !($_->{status} == 200
                    || ($_->{status} == 412 && defined $_->{if_match}
                        && ($_->{error} // '') eq 'generation_mismatch'))
              } @answers;

    $self->ok(!@bad, "$what: every answer is 200, or 412 "
                     . "generation_mismatch after If-Match",
              scalar(@bad) . " other answer(s)",
              map { "upload $_->{index} ($_->{fixture}, If-Match "
                    . ($_->{if_match} // 'none') . "): status "
                    . "$_->{status}, body: $_->{body}" }
              @bad[0 .. ($#bad < 4 ? $#bad : 4)]);

    my @ok = grep { $_->{status} == 200 } @answers;
    my @wrong = grep { ($_->{sha256} // '') ne
                       PaletteCert::_fixture_sha256($_->{fixture})
                       || !defined $_->{generation} || !defined $_->{etag}
                       || $_->{generation} != $_->{etag} } @ok;

    $self->ok(!@wrong, "$what: each 200 answer tells the fixture sent, "
                       . "its JSON generation that of its ETag",
              map { "upload $_->{index} ($_->{fixture}): ETag "
                    . ($_->{etag} // '-') . ", body: $_->{body}" }
              @wrong[0 .. ($#wrong < 4 ? $#wrong : 4)]);

    my %count;
    $count{ $_->{generation} // '-' }++ for @ok;
    my @dup = grep { $count{$_} > 1 } sort keys %count;

    $self->ok(!@dup, "$what: each 200 answer has a generation of its own",
              map { "generation $_ answered $count{$_} times" } @dup);

    my @gens = sort { $a <=> $b } grep { /^[0-9]+$/ } keys %count;
    my @want = @ok ? ($g0 + 1 .. $g0 + @ok) : ();

    $self->is("@gens", "@want", "$what: the generations of the 200 "
                                . "answers follow $g0 without a gap");

    my $i412 = grep { $_->{status} == 412 } @answers;
    Test::More::note("$what: " . scalar(@ok) . " applied, $i412 "
                     . "generation_mismatch");

    # overlap: uploads in flight while another client's was

    my $overlapping = grep {
                          my $u = $_;
                          grep { $_->{client} != $u->{client}
                                 && $_->{t0} < $u->{t1}
                                 && $u->{t0} < $_->{t1} } @answers
                      } @answers;

    $self->ok($overlapping >= $overlap,
              "$what: at least $overlap uploads overlap another",
              "$overlapping did");

    if ($handshakes) {
        my ($hs) = _read_json_lines("$tmp/handshakes");
        $hs ||= { done => 0, failed => -1, errors => ['no result'],
                  served => {} };

        my %allowed = map { _served_fixture($_) => 1 } @fixtures;
        $allowed{ _cert_names(_pem_shas($before->{certificate})) } = 1;

        my @odd = grep { !$allowed{$_} } sort keys %{ $hs->{served} };

        $self->ok($hs->{done} > 0, "$what: handshakes ran meanwhile",
                  "$hs->{done} done");
        $self->is($hs->{failed}, 0, "$what: no handshake failed",
                  @{ $hs->{errors} });
        $self->ok(!@odd, "$what: every handshake is given a whole chain "
                         . "of the ones uploaded",
                  map { "$_ x$hs->{served}{$_}" } @odd);
        Test::More::note("$what: $hs->{done} handshakes");
    }

    return if !@ok;

    my ($last) = sort { $b->{generation} <=> $a->{generation} } @ok;
    my $cur = $self->_api_get_quiet($args->{api}) || {};

    $self->is($cur->{generation}, $last->{generation},
              "$what: GET tells the highest generation answered");
    $self->is($cur->{sha256}, PaletteCert::_fixture_sha256($last->{fixture}),
              "$what: GET tells the certificate of the last upload "
              . "applied ($last->{fixture})");

    $self->step_handshake({ args => { count => $DEFAULT_COUNT,
                                      expect => $last->{fixture},
                                      port => $args->{port},
                                      sni => $args->{sni} } });

    if (defined $args->{store}) {
        my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR},
                                     $args->{store});
        my $cert = _slurp("$dir/current/certificate.pem");
        my ($leaf) = _pem_shas($cert);

        $self->is(readlink("$dir/current"), "gen-$last->{generation}",
                  "$what: the store's current is the last generation");
        $self->is($leaf, PaletteCert::_fixture_sha256($last->{fixture}),
                  "$what: the store holds the last upload applied");
    }

    $self->_saw_answer($args, $last->{generation}, 1);
}


package PaletteCert;

_setup_env();
_register();

1;

__END__

=head1 NAME

PaletteCert - Test::Nginx::Socket helpers for ngx_palette_cert_module

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    use lib 't/lib';
    use PaletteCert;

    master_on();
    workers(4);
    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: an upload is presented on the next handshake
    --- http_config
        palette_cert_zone console:1m names=console.example.com,127.0.0.1;
        server {
            listen $TEST_NGINX_TLS_PORT ssl reuseport;
            ssl_protocols TLSv1.2 TLSv1.3;
            palette_cert console;
            location / { return 200 "$pid\n"; }
        }
    --- config
        location = /cert { palette_cert_api console; }
    --- request
    GET /cert
    --- steps
    handshake count=10 expect=self-signed
    upload leaf-a
    handshake expect=leaf-a chain=2 workers=all
    --- no_error_log
    [error]

=head1 ENVIRONMENT

Set when the module is loaded, unless already set:

    TEST_NGINX_TLS_PORT    1985
    TEST_NGINX_TLS_PORT2   1986
    TEST_NGINX_CERT_DIR    t/certs under the project root, absolute;
                           generated by t/lib/gen-certs.sh when it lacks
                           .complete

=head1 STEPS

A C<--- steps> section holds one step a line; blank lines and C<#>
comments are ignored.  Arguments are separated by white space; a value
in double quotes may hold some (C<key_type="EC P-521">), but no double
quote.  The steps run once per block, after the answer to the block's
first request, while nginx is still running; on a dry run they are
skipped.  A step that cannot be parsed fails the block and no step of it
runs.  FIXTURE is a certificate name from gen-certs.sh; FILE is the name
of any file it makes (C<leaf-a.crt>).  A list of them is written with
C<+> between the names (C<leaf-deep+int2+int-ca>).

=over

=item request N

The steps after this line wait until the answer to the block's Nth
request (with C<--- request eval> giving several) has been checked;
N grows from one such line to the next.  This lets a block record the
state before a request of its own and compare after it:

    --- request eval
    ["GET /cert", "PUT /cert\n..."]
    --- steps
    upload leaf-a
    snapshot record
    request 2
    snapshot same

=item handshake [count=N] [tls=1.2|1.3|any] [sni=NAME|none] [port=ENVNAME] [host=IP] [sigalgs=LIST] [ciphers=LIST] expect=FIXTURE|self-signed|current [chain=N] [served=FIXTURE+FIXTURE...] [path=/P] [workers=all] [api=/P]

N (40) fresh full handshakes to 127.0.0.1:$TEST_NGINX_TLS_PORT (or the
port in the environment variable ENVNAME, at the loopback address
C<host=>), verification off, SNI console.example.com unless given or
C<none> (sent as written: C<A.TEST>, C<a.test.>); each then sends
C<GET / HTTP/1.0> and expects a 2xx or 3xx status.  C<current> compares
with the sha256 the API's GET reports; C<self-signed> expects one
certificate, subject equal to issuer, that is none of the fixtures.
C<chain=N> counts the certificates sent, leaf included; C<served=> names
them, in the order sent (C<served=leaf-deep+int2+int-ca>).  C<workers=all>
expects the answers' bodies to carry the worker pid (C<return 200
"$pid\n">) and every worker of the master to have answered (use
C<listen ... reuseport> so that connections spread); until every worker
has, it makes more handshakes than C<count=>, ten times as many at most,
each held to the same expectations.

C<sigalgs=> restricts the signature algorithms the client offers, in
OpenSSL's list syntax (C<rsa_pss_rsae_sha256:rsa_pkcs1_sha256>,
C<ecdsa_secp256r1_sha256>, C<RSA+SHA256>), for TLS 1.3 and TLS 1.2;
C<ciphers=> the TLS 1.2 cipher list (C<ECDHE-RSA-AES128-GCM-SHA256>).
With them, a client that cannot use the certificate it is given fails
its handshakes, which fails the step.

    handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa

=item upload FIXTURE [id=ID] [as=json|multipart|urlencoded] [method=PUT|POST] [ca=FIXTURE+..|none] [key=FIXTURE+..|none] [chain=crt|chain|reversed] [certificate=FILE+..] [body=SECTION type=TYPE|none] [if_match=N|current|stale|*] [if_none_match=*] [dry_run] [status=CODE] [error=CODE [field=NAME|null] [message=REGEX]] [key_type=TEXT] [answer=NAME] [api=/P] [https=ENVNAME [client_cert=FIXTURE]] [refused status=CODE [message=REGEX]]

Defaults: as=json, method=PUT, certificate FIXTURE.chain.pem, key
FIXTURE.key, ca ca.pem (the root).  C<ca=NAME> sends NAME.crt (or
NAME.pem).  C<chain=crt> sends the leaf alone, C<reversed>
FIXTURE.fullchain-reversed.pem; C<certificate=> sends the files given,
in that order (C<certificate=int-ca.crt+leaf-a.crt>).  A list in C<key=>
or C<ca=> sends those keys or CAs one after the other.  C<body=SECTION>
sends the block's C<--- SECTION> as the whole body, with the
Content-Type C<type=> (or none); the other fields are not sent.
C<if_match=current|stale> asks the API for the generation first (stale
is one less); C<if_match=*> and C<if_none_match=*> send C<*>.

C<id=ID> uploads to the named certificate ID, at C</cert/ID> (the API
location, then C</ID>; ID is sent as written, so that C<id=a%2Fb> or
C<id=.a> test IDs the API refuses).  Its generation is the zone's:
see L</GENERATIONS>.

Without C<error=> it expects 200, the fixture's sha256, source uploaded,
C<key_type> if given, the zone's generation plus one, C<"id"> the ID
with C<id=>, and no C<dry_run> member; with C<dry_run>: C<"dry_run": true>,
an ETag that stays and a JSON generation that is the one the upload
would get.  C<error=CODE> expects that error, with the status from the
contract unless C<status=> is given, the generation unchanged, the field
C<field=> (C<null> for JSON null) and a message matching the regular
expression C<message=>.

Every answer must hold no line of a private key sent.  C<answer=NAME>
keeps the first answer so named; a later upload with the same name must
get the same status and the same JSON, C<dry_run> aside (a dry run and
the real upload: C<upload leaf-a dry_run answer=a>, then C<upload leaf-a
answer=a>).

C<refused> expects the request to be answered before it reaches the
API, by nginx's access control or TLS checks, with C<status=>: the answer
need not be the API's JSON; C<message=> is then matched against its whole
body, which must hold no private key.  Nothing else is checked: record a
C<snapshot> before and compare after to show that nothing changed.

    upload leaf-b api=/palette/cert refused status=403

=item get [id=ID] [status=200] [error=CODE [message=REGEX]] [source=self-signed|uploaded] [sha256=FIXTURE] [generation=N] [names=a,b] [key_type=TEXT] [chain=FIXTURE+FIXTURE...] [remember=NAME] [same_as=NAME] [api=/P] [https=ENVNAME [client_cert=FIXTURE]]

GET with C<Accept: application/json>; checks the fields given (C<names>
as a set) and that the JSON generation equals the ETag's.  C<chain=>
names the certificates of the C<certificate> member in their order, and
expects C<chain_length> to count them.  With C<id=>, GET of the named
certificate ID, whose answer must also hold every member of the
certificate JSON and C<"id">; C<get id=a error=not_found> expects it
gone.

C<remember=NAME> keeps the sha256 served for later blocks of the same
series (in C<$TEST_NGINX_STORE_DIR>, emptied by C<--- fresh_store>);
C<same_as=NAME> expects the sha256 kept so (the self-signed default of
before an upload, served again after a DELETE and a restart).

=item snapshot record [store=DIR] [api=/P] [id=ID] [list] [port=ENVNAME] [sni=NAME|none] [no_folder_mtime] | snapshot same

C<record> keeps what a rejected upload must leave as it was: GET's whole
answer and its ETag, the certificates one handshake is given and, with
C<store=>, every entry under C<$TEST_NGINX_STORE_DIR/DIR> (type, mode,
mtime, link target, size and the SHA-256 of its bytes).  C<same> reads
them again, in the same way, and expects each unchanged, listing the
store entries added, removed or changed.  File contents are compared by
digest and never shown.  With C<id=>, the GET is of the named
certificate ID, and may be 404 (an ID a rejected upload must not make):
its status is compared too; with C<list>, the whole list is compared
too.  With C<no_folder_mtime>, the mtimes of
folders are not compared: an upload that fails to persist has tried to
write, and a temporary folder made and removed changes the store folder's
mtime, not what it holds.

=item delete [id=ID] [status=200] [error=CODE [message=REGEX]] [if_match=N|current|stale|*] [api=/P] [https=ENVNAME [client_cert=FIXTURE]] [refused status=CODE [message=REGEX]]

Expects source self-signed in the answer and a generation that does not
go back; with C<error=> or C<refused>, as for upload.  With C<id=>, the
DELETE of the named certificate ID, answered with exactly
C<{"zone", "id", "deleted": true, "generation"}>, the zone's generation
plus one.

=item list [limit=N] [after=ID] [query=TEXT] [ids=A,B,...|none] [next=ID|null] [generation=N] [count=N] [all] [detail] [status=CODE] [error=CODE [message=REGEX]] [api=/P]

GET of the list, C</cert/> (the API location, then C</>), with
C<?limit=N&after=ID> and the query C<query=> as written
(C<query=limit=abc>).  Every page must hold C<zone>, C<generation>,
C<certificates> and C<next> only; each entry C<id>, C<names>,
C<key_type>, C<not_after>, C<sha256> and C<generation> only; the IDs
sorted bytewise, none twice, at most the limit (100 unless given);
C<next> null or the last ID of the page.  C<ids=> expects these IDs in
this order, C<count=> that many, C<next=> that next, C<generation=> that
zone generation.  C<all> walks the pages after this one as a client
does (C<after=> the C<next> of each), expects each of them to hold
something and the last one to end with C<next> null, and checks C<ids=>
and C<count=> against all of them together.  C<detail> expects each
entry to say what GET /ID says.  C<error=> expects that error instead
(C<list limit=0 error=malformed_request>).

=item generation N [api=/P]

A GET expecting generation N.

=item pids record | pids same

The master pid (from the server root's logs/nginx.pid) and the pids of
all its children; C<same> expects both unchanged.

=item reload [from=TEXT to=TEXT]

Sends SIGHUP to the nginx master and waits until a new set of workers is
running and the old one has stopped serving (needs C<master_on()>).  With
C<from=> and C<to=>, every C<from> in the running nginx.conf becomes C<to>
first (for example C<from=console:1m to=console:2m>).

=item store DIR [generation=N] [source=self-signed|uploaded] [sha256=FIXTURE] | store DIR id=ID [sha256=FIXTURE] [absent]

Checks the store folder C<$TEST_NGINX_STORE_DIR/DIR> against what GET
shows: C<current> links to the generation served, only that generation is
kept, its chain and source are the ones served, the key files have mode
0600 and the key belongs to the leaf.  C<--- fresh_store> in a block empties
C<$TEST_NGINX_STORE_DIR> before the block; given to
C<PaletteCert::defaults(fresh_store =E<gt> '')>, before every block.

With C<id=>, the named certificate ID: one folder named ID in the store
(at any depth), where a C<certificate.pem> holds the chain GET /ID
shows, the C<key.pem> next to it belongs to its leaf, and every
C<key*.pem> has mode 0600.  C<absent>: no folder named ID holds a
certificate any more.

=item upgrade

A binary upgrade: sends SIGUSR2 to the master (from logs/nginx.pid), waits
until a new master has written nginx.pid, the old one's pid is in
nginx.pid.oldbin and the new master runs as many workers as the old one
did, with the same binary; then sends SIGQUIT to the old master and waits
until it, its workers and nginx.pid.oldbin are gone.  The steps after it
talk to the new master, which the next block stops as usual.  nginx
re-executes its argv[0]: Test::Nginx starts it by an absolute path.  Needs
C<master_on()>.

=item storefs mount DIR [size=SIZE] | storefs fill|readonly|writable|umount DIR

Makes the store folder C<$TEST_NGINX_STORE_DIR/DIR> fail to be written,
and then work again, while nginx runs.  As root, where permissions stop
no write: C<mount> mounts a tmpfs of SIZE (C<1m>; a number with C<k> or
C<m>) on the folder, holding a copy of what it held (modes, owners,
links, mtimes); C<fill> writes a file C<filler> in it until the tmpfs is
full (the next write fails with ENOSPC); C<readonly> remounts it
read-only; C<writable> removes the filler and remounts it read-write;
C<umount> unmounts it and puts what it held in the folder underneath, so
that later blocks find what nginx wrote.  Without root, C<mount> does
nothing, C<fill> and C<readonly> set the folder's mode to 0500, and
C<writable> and C<umount> give it back its mode.  Whatever is still
mounted after the block's last step, or when the test script ends, even
after a failure, is made writable and unmounted.

    storefs mount failing size=1m
    storefs fill failing
    snapshot record store=failing no_folder_mtime
    upload leaf-b error=store_failed
    snapshot same
    storefs writable failing
    upload leaf-b
    storefs umount failing

=item concurrent [uploads=60] [clients=4] [handshakes=on|off] [overlap=N] [store=DIR] [port=ENVNAME] [sni=NAME|none] [api=/P]

Forks C<clients> processes that send C<uploads> uploads in all, at once
(they start together), of leaf-a, leaf-b and leaf-c in turn; each client
sends every second upload with C<If-Match> of the generation its last
answer's ETag told.  With C<handshakes=on> (the default) another process
makes fresh full handshakes all along.  Then it expects: every upload
answered, each with 200 or, only after C<If-Match>, 412
C<generation_mismatch>; each 200 answer telling the fixture sent and a
JSON generation equal to its ETag; the generations of the 200 answers
unique and following the one before the step without a gap; at least
C<overlap> (half the uploads) uploads in flight while another client's
was; no handshake failed, and each was given a whole chain of one of the
fixtures or of the certificate served before the step; then GET telling
the highest generation answered and the certificate of that upload, N
(40) handshakes presenting it and, with C<store=DIR>, the store's
C<current> linking to that generation and holding that leaf.

=item stall FIXTURE fifo=ENVNAME [count=N] [port=ENVNAME] [sni=NAME|none] [gone]

Shows that an upload being validated does not hold up the other
connections of its worker.  C<$ENVNAME> names a named pipe that the
validation reads: the file for the fixtures' root in the folder of
trusted CAs the worker has (C<env SSL_CERT_DIR=...;>), read when an upload
comes without C<ca>.  The step sends the upload of FIXTURE (JSON, without
C<ca>) on a connection of its own and waits until the pipe has a reader;
holding the pipe open without writing, so that the validation waits,
it makes N (10) fresh full handshakes as C<handshake expect=current>
does (a GET first), and expects the upload still unanswered.  Then it
writes ca.pem into the pipe and expects the upload answered 200 with
FIXTURE and the generation one more.  With C<gone>, it closes the
upload's connection before writing, and expects GET to tell FIXTURE
under the next generation soon after.  Use one worker (C<workers(1)>), so
that the handshakes reach the worker that validates.

=item open NAME [port=ENVNAME] [sni=NAME|none] [tls=..] [path=/P]

Opens a TLS connection and sends one keep-alive HTTP/1.1 request on it.

=item reuse NAME [path=/P]

Sends another request on that connection and expects an answer, over the
same certificate.  Open connections are closed after the last step.

=back

Every API answer is also checked for an C<ETag: "N"> header,
C<Cache-Control: no-store>, a JSON body and no PEM private key block; an
upload's answer also holds no line of the private key it sent.  An
answer about no certificate (the list, a named certificate that does not
exist or was just deleted) need not carry an ETag, but one it carries
must be a quoted generation.
The API is reached at http://127.0.0.1:server_port() (the server of the
C<--- config> section), at /cert unless C<api=> says otherwise.  With
C<https=ENVNAME>, C<get>, C<upload> and C<delete> reach it over TLS at
https://127.0.0.1:$ENVNAME instead (no verification of the server),
presenting the client certificate C<FIXTURE.crt> with its key
C<FIXTURE.key> when C<client_cert=FIXTURE> is given, and none otherwise;
the GETs such a step makes for itself (C<if_match=current>, the
generation before an upload) go the same way:

    upload leaf-b https=TEST_NGINX_TLS_PORT2 client_cert=admin-client

=head1 GENERATIONS

A zone's generation grows by one on every change of any of its
certificates; each certificate's own generation (its ETag, what
If-Match compares) is the zone's at its last change.  The steps keep
both: a change is expected to get the zone's generation plus one, and a
refused one to leave the certificate's ETag as it was.  The zone's
generation is the highest a change, a C<list> or an answer about the
default told in this block; before any, the API's (the list's for a
step with C<id=>, the default's otherwise).  A block that finds named
certificates already there (after a restart) and changes the default
first starts with a C<list> step.

=head1 SECTIONS

=over

=item --- store_damage

Damages the stores before the block's nginx starts (the nginx of the
block before, about to be stopped, does not write any more), one action a
line, PATH relative to C<$TEST_NGINX_STORE_DIR> and inside it (links are
followed, as in C<console/current/key.pem>); blank lines and C<#>
comments are ignored, TEXT in double quotes may hold spaces and C<\n>.
Each line is a test, that fails when the action cannot be done.

    truncate PATH BYTES     keeps the first BYTES bytes of the file
    replace PATH FILE       the file now holds the fixture FILE (FILE+FILE..)
    append PATH TEXT        adds TEXT at the end of the file
    insert PATH LINE TEXT   adds the line TEXT after line LINE (0: first)
    remove PATH             removes the file or the folder
    unlink PATH             removes the symbolic link (console/current)

Files are rewritten in place: their mode and owner stay.

    --- store_damage
    replace console/current/key.pem leaf-b.key

=back

=head1 NOTES

nginx before 1.23.4 does not enable TLSv1.3 unless told: a server that
C<tls=1.3> steps talk to needs C<ssl_protocols TLSv1.2 TLSv1.3;>.

Before each block the module's default store (palette_cert/ under the
server root) is removed, so that Test::Nginx can clean the server root
and every block starts from the self-signed default.

The steps run once per block, even under C<repeat_each>; a block whose
requests are all ignored (C<--- ignore_response>) never runs them.

=head1 FUNCTIONS

C<PaletteCert::fixture_path('leaf-a.key')> returns the absolute path of a
fixture file, C<PaletteCert::fixture('leaf-a.key')> its contents.

=cut
