package PaletteCert::Check;

# Helpers for blocks whose checks are Perl subs ("--- check NAME" runs
# check_NAME of the test file once the block's first request is answered):
# the API through curl, the leaf a fresh handshake gets, a handshake with
# openssl s_client (sessions), the error log.

use strict;
use warnings;

use Exporter 'import';
use IPC::Run ();
use JSON::PP ();
use Time::HiRes ();

use PaletteCert ();
use PaletteCert::Fixtures qw(fixture_path fixture_sha256 pem_shas);
use PaletteCert::Nginx qw(server_port server_root);
use PaletteCert::TLS qw(tls_connect peer);

our @EXPORT_OK = qw(api api_json served wait_served sha s_client error_log
                    count_log check_hook);


# Runs check_NAME of the test file for each block with a section SECTION
# ("check" unless given) that says NAME.

sub check_hook {
    my ($section) = @_;

    $section //= 'check';

    Test::Nginx::Socket::add_response_body_check(sub {
        my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

        return if $dry_run || $req_idx || $repeated_req_idx;

        my $check = eval { $block->$section };

        return if !defined $check;

        $check =~ s/^\s+|\s+$//g;

        my $sub = main->can("check_$check")
            or die "no check_$check in this file\n";

        $sub->($block->name);
    });
}


# The SHA-256 of a fixture certificate.

sub sha {
    my ($fixture) = @_;

    return fixture_sha256($fixture);
}


# api(METHOD, URI, upload => FIXTURE, json => TEXT, headers => [...]):
# (status, body, headers) of the answer of the admin endpoint.

sub api {
    my ($method, $uri, %o) = @_;

    my $certs = $ENV{TEST_NGINX_CERT_DIR};
    my @args = ('curl', '-sS', '-X', $method, '-D', '-',
                '-H', 'Accept: application/json');

    if ($o{upload}) {
        push @args, '-F', "certificate=\@$certs/$o{upload}.chain.pem";
        push @args, '-F', "key=\@$certs/$o{upload}.key" if !$o{no_key};
        push @args, '-F', "ca=\@$certs/ca.pem";
    }

    if (defined $o{json}) {
        push @args, '-H', 'Content-Type: application/json',
                    '--data-binary', $o{json};
    }

    push @args, map { ('-H', $_) } @{ $o{headers} || [] };

    my $port = server_port();
    my ($out, $err) = ('', '');

    IPC::Run::run([@args, "http://127.0.0.1:$port$uri"],
                  \undef, \$out, \$err, IPC::Run::timeout($o{timeout} || 30));

    # the last header block: a 100 Continue may come first

    my @parts = split /\r\n\r\n/, $out, -1;
    my ($head, $body) = ('', $out);

    while (@parts > 1 && $parts[0] =~ m{^HTTP/}) {
        $head = shift @parts;
        $body = join "\r\n\r\n", @parts;
        last if $head !~ m{^HTTP/\S+ 100};
    }

    my ($status) = $head =~ m{^HTTP/\S+ (\d+)};

    return ($status // 0, $body, $head);
}


# The answer's JSON, decoded (undef if it is none), after the status.

sub api_json {
    my ($status, $body, $head) = api(@_);

    my $json = eval { JSON::PP->new->decode($body) };

    return ($status, $json, $body, $head);
}


# The SHA-256 of the leaf a fresh full handshake gets, or undef.

sub served {
    my (%o) = @_;

    my ($sock) = tls_connect(port => $o{port} || $ENV{TEST_NGINX_TLS_PORT},
                             sni  => $o{sni} || 'console.example.com',
                             tls  => 'any');
    return undef if !$sock;

    my $peer = peer($sock);

    $sock->close(SSL_fast_shutdown => 1);

    return $peer ? $peer->{sha256} : undef;
}


# Seconds until every handshake of a few in a row gets the leaf (undef
# past the timeout).

sub wait_served {
    my ($sha, $timeout, %o) = @_;

    my $start = Time::HiRes::time();

    while (Time::HiRes::time() - $start < $timeout) {
        my $all = 1;

        for (1 .. 8) {
            my $got = served(%o);

            if (!defined $got || $got ne $sha) {
                $all = 0;
                last;
            }
        }

        return Time::HiRes::time() - $start if $all;

        Time::HiRes::sleep(0.05);
    }

    return undef;
}


# One handshake with openssl s_client to 127.0.0.1:PORT
# ($TEST_NGINX_TLS_PORT), SNI SNI (console.example.com), TLS 1.2 or 1.3,
# saving the session to SESS_OUT or resuming the one in SESS_IN, with the
# fixture CLIENT as client certificate; and one HTTP/1.0 request for / on
# it.  Returns {out, reused, status, sha256}: what s_client wrote, whether
# the session was resumed, the status answered, and the leaf the server
# presented (in a resumed session, the one the session holds).

sub s_client {
    my (%a) = @_;

    my $port = $a{port} || $ENV{TEST_NGINX_TLS_PORT};
    my $sni = $a{sni} // 'console.example.com';
    my @cmd = ('openssl', 's_client', '-connect', "127.0.0.1:$port",
               '-servername', $sni, '-ign_eof',
               $a{tls} eq '1.2' ? '-tls1_2' : '-tls1_3');

    push @cmd, '-sess_out', $a{sess_out} if $a{sess_out};
    push @cmd, '-sess_in', $a{sess_in} if $a{sess_in};
    push @cmd, '-cert', fixture_path("$a{client}.crt"),
               '-key', fixture_path("$a{client}.key") if $a{client};

    my $in = "GET / HTTP/1.0\r\nHost: $sni\r\n\r\n";
    my ($out, $err) = ('', '');

    IPC::Run::run(\@cmd, \$in, \$out, \$err, IPC::Run::timeout(10));

    my ($leaf) = pem_shas($out);

    return {
        out    => $out,
        reused => $out =~ /^Reused, TLS/m ? 1 : 0,
        status => $out =~ m{HTTP/1\.[01] (\d{3}) } ? $1 : 0,
        sha256 => $leaf,
    };
}


sub error_log {
    my $log = server_root() . '/logs/error.log';

    open my $fh, '<', $log or die "$log: $!";
    my @lines = <$fh>;
    close $fh;

    return @lines;
}


sub count_log {
    my ($re) = @_;

    return scalar grep { /$re/ } error_log();
}


1;
