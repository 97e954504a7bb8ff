package PaletteCert;

# Test::Nginx::Socket helpers for ngx_palette_cert_module.
#
# Loading this module sets the environment the test configurations use
# ($TEST_NGINX_TLS_PORT, $TEST_NGINX_TLS_PORT2, $TEST_NGINX_CERT_DIR,
# $TEST_NGINX_STORE_DIR), generates the certificate fixtures when they are
# missing, and hooks into Test::Nginx::Socket: before each block, the
# stores are made ready and a crash is made to fail it; after its
# requests, a block's "--- steps" run against the running nginx (real TLS
# handshakes, real uploads to the API) and its "--- nginx_t" is tested.
# It also writes the configuration most test files share (zone_config()).
#
# The rest lives in modules by concern, under PaletteCert/:
#
#     Steps           the step language: grammar, parser (and its POD)
#     Run             one block's steps: state, assertions, dispatch
#     TLS             the TLS client; steps handshake, open, reuse
#     API             the API client; steps upload, get, delete, generation
#     List            the list of named certificates; step list
#     Snapshot        step snapshot
#     Store           the stores; step store
#     Nginx           the master and workers, nginx -t; steps pids, reload,
#                     upgrade
#     Fixtures        the certificate fixtures
#     Body            request bodies (JSON, form, multipart)
#     Util            what they all share
#     Check           helpers for blocks whose checks are Perl subs
#     Sanitizer       the module's sanitizer reports in a text
#     StoreFailures   for t/010: "--- store_damage", step storefs
#     Stall           for t/021: step stall
#     Concurrent      for t/011: step concurrent
#
# Everything a block remembers lives in one PaletteCert::Run made for that
# block and dropped after it.

use strict;
use warnings;

use Cwd ();
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path ();
use File::Spec;
use Test::More ();

use PaletteCert::Fixtures ();
use PaletteCert::Nginx ();
use PaletteCert::Run;
use PaletteCert::Steps ();
use PaletteCert::Store ();
use PaletteCert::StoreFailures ();

our @EXPORT_OK = qw(fixture fixture_path run_steps parse_steps);

# The names the test files know.
*cert_dir = \&PaletteCert::Fixtures::cert_dir;
*fixture = \&PaletteCert::Fixtures::fixture;
*fixture_path = \&PaletteCert::Fixtures::fixture_path;
*parse_steps = \&PaletteCert::Steps::parse_steps;
*config_test = \&PaletteCert::Nginx::config_test;
*store_damage = \&PaletteCert::StoreFailures::store_damage;
*_api_port = \&PaletteCert::Nginx::server_port;
*_server_root = \&PaletteCert::Nginx::server_root;


# Environment and fixtures, set up once when the module is loaded.

sub project_root {
    my $lib = dirname(File::Spec->rel2abs(__FILE__));

    return Cwd::abs_path(File::Spec->catdir($lib, File::Spec->updir,
                                            File::Spec->updir));
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


# Test::Nginx::Socket integration.

sub _register {
    if (defined &Test::Nginx::Socket::add_block_preprocessor) {
        Test::Nginx::Socket::add_block_preprocessor(\&_before_block);
    }

    if (defined &Test::Nginx::Socket::add_response_body_check) {
        Test::Nginx::Socket::add_response_body_check(\&_body_check);
    }
}


# Before a block's nginx starts: the stores (PaletteCert::Store), its
# "--- store_damage" and the checks that its workers do not crash.
sub _before_block {
    my ($block) = @_;

    PaletteCert::Store::fresh_stores($block);
    PaletteCert::StoreFailures::damage_before($block);
    _no_crash($block);

    return $block;
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

        my $groups = PaletteCert::Steps::step_groups($name, $steps,
                                                     _request_count($block));

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


# The "--- http_config" most test files share: the zone of
# "palette_cert_zone $zone", and a TLS server on
# 127.0.0.1:$TEST_NGINX_TLS_PORT that presents its certificate and answers
# "/" with the pid of the worker (for "handshake workers=all").
# store => DIR keeps the zone's store in $TEST_NGINX_STORE_DIR/DIR;
# reuseport => 1 spreads the connections over the workers; listen =>
# [ADDRESS, ...] listens on these addresses.
sub zone_server {
    my ($zone, %o) = @_;

    my ($name) = $zone =~ /^([^:\s]+)/;

    $zone .= " store=\$TEST_NGINX_STORE_DIR/$o{store}" if defined $o{store};

    my $ssl = $o{reuseport} ? 'ssl reuseport' : 'ssl';
    my $listen = join '', map {
                     "        listen $_:\$TEST_NGINX_TLS_PORT $ssl;\n"
                 } @{ $o{listen} || ['127.0.0.1'] };

    return <<"_EOC_";
    palette_cert_zone $zone;
    server {
$listen        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert $name;
        location / { return 200 "\$pid\\n"; }
    }
_EOC_
}


# The "--- config" most test files share: the API of the zone $name at
# /cert (with named => 1, at /cert/ID too) and, with metrics => 1,
# palette_cert_metrics at /metrics.
sub api_config {
    my ($name, %o) = @_;

    my $location = $o{named} ? '/cert' : '= /cert';
    my $config = "    location $location { palette_cert_api $name; }\n";

    $config .= "    location = /metrics { palette_cert_metrics; }\n"
        if $o{metrics};

    return $config;
}


# Both for one zone: PaletteCert::defaults(PaletteCert::zone_config(...)).
# $zone and the options of zone_server(), and those of api_config().
sub zone_config {
    my ($zone, %o) = @_;

    my ($name) = $zone =~ /^([^:\s]+)/;

    return (http_config => zone_server($zone, %o),
            config      => api_config($name, %o));
}


# The steps of TEXT, run at once against the running nginx; a test file's
# own checks use them for what the steps already do.
sub run_steps {
    my ($name, $text, %opts) = @_;

    my $steps = PaletteCert::Steps::steps_of($name, $text) or return;
    my $run = PaletteCert::Run->new(name => $name, %opts);

    # without requests to wait for, "request N" lines change nothing

    for my $step (grep { $_->{op} ne 'request' } @$steps) {
        $run->run($step);
    }

    $run->finish;
}


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

    # the zone, a TLS server presenting its certificate, the API at /cert
    PaletteCert::defaults(
        PaletteCert::zone_config('console:1m names=console.example.com',
                                 reuseport => 1));

    run_tests();

    __DATA__

    === TEST 1: an upload is presented on the next handshake
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
    TEST_NGINX_STORE_DIR   t/servroot-store under the project root, for
                           stores that outlive a block

=head1 SECTIONS

=over

=item --- steps

Steps run against the running nginx after the block's requests: see
L<PaletteCert::Steps>.

=item --- nginx_t, --- nginx_t_error

C<--- nginx_t> holds the inside of an http{} block, tested with C<nginx
-t> in a prefix of its own, with the module loaded as the suite loads it;
each line of C<--- nginx_t_error> is a regular expression its output must
match, and without it the test must succeed.

=item --- fresh_store

Empties C<$TEST_NGINX_STORE_DIR> before the block: a series of blocks
sharing a store starts there.  Given to
C<PaletteCert::defaults(fresh_store =E<gt> '')>, before every block.

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

Before each block the module's default store (palette_cert/ under the
server root) is removed, so that Test::Nginx can clean the server root
and every block starts from the self-signed default.

A block of one request fails when a worker exits on a signal or the
module's code is named in a sanitizer report in the error log: the checks
are added to its C<--- no_error_log>.

=head1 FUNCTIONS

C<PaletteCert::fixture_path('leaf-a.key')> returns the absolute path of a
fixture file, C<PaletteCert::fixture('leaf-a.key')> its contents.

C<PaletteCert::defaults(SECTION =E<gt> TEXT, ...)> gives every block
that has no section of that name this one.

C<PaletteCert::zone_server(ZONE, [store =E<gt> DIR], [reuseport =E<gt>
1], [listen =E<gt> [ADDRESS, ...]])> is the C<--- http_config> most files
share: the zone C<palette_cert_zone ZONE> (its store in
C<$TEST_NGINX_STORE_DIR/DIR> with C<store>) and a TLS server on
127.0.0.1:$TEST_NGINX_TLS_PORT, server_name console.example.com, that
presents its certificate and answers C</> with the worker's pid.
C<PaletteCert::api_config(NAME, [named =E<gt> 1], [metrics =E<gt> 1])>
is the C<--- config> they share: the API of the zone NAME at C</cert>
(C</cert/ID> too with C<named>), and C<palette_cert_metrics> at
C</metrics>.  C<PaletteCert::zone_config(ZONE, OPTIONS)> is both, as
C<http_config =E<gt> ..., config =E<gt> ...>, for
C<PaletteCert::defaults()>.

C<PaletteCert::run_steps(NAME, TEXT)> runs steps at once, from a test
file's own checks.

=cut
