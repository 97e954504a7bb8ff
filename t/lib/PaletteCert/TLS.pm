package PaletteCert::TLS;

# The TLS client side: fresh full handshakes with what a step asks for
# (version, SNI, signature algorithms, ciphers), what the server presented
# on a connection, one HTTP exchange over it; and the steps handshake,
# open and reuse, methods of PaletteCert::Run, which inherits them from
# here.  Nothing is verified: the tests compare what was presented.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use Net::SSLeay;

use PaletteCert::Fixtures qw(fixture_sha256 fixture_of cert_names
                             pem_to_der);
use PaletteCert::Util qw($IO_TIMEOUT short);

our @EXPORT_OK = qw($DEFAULT_SNI $DEFAULT_COUNT tls_port tls_connect peer
                    http_exchange read_response);

# What a handshake step does unless told.
our $DEFAULT_SNI = 'console.example.com';
our $DEFAULT_COUNT = 40;


# The port in the environment variable $env ($TEST_NGINX_TLS_PORT), or
# undef.
sub tls_port {
    my ($env) = @_;

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
sub tls_connect {
    my (%o) = @_;

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
sub peer {
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
    my @chain_sha = map { sha256_hex(pem_to_der(
                              Net::SSLeay::PEM_get_string_X509($_))) }
                    @chain;

    return {
        sha256    => sha256_hex(pem_to_der($pem)),
        subject   => $subject,
        issuer    => $issuer,
        chain     => scalar @chain,
        chain_sha => \@chain_sha,
        version   => Net::SSLeay::get_version($ssl),
        reused    => Net::SSLeay::session_reused($ssl),
    };
}


# Sends a request and reads one answer.  With $keepalive the answer is
# delimited by Content-Length or chunked encoding; otherwise it is read to
# the end of the connection.  Returns { status, headers, body } or an error.
sub http_exchange {
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

        $res = read_response($sock, $keepalive);
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


sub read_response {
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


sub _keepalive_request {
    my ($host, $path) = @_;

    return "GET $path HTTP/1.1\r\nHost: $host\r\n"
           . "Connection: keep-alive\r\n\r\n";
}


# The steps, methods of PaletteCert::Run.

# The TLS port of a step's port=ENVNAME ($TEST_NGINX_TLS_PORT), or undef
# after a failed test.
sub _step_port {
    my ($self, $what, $args) = @_;

    my $port = tls_port($args->{port});

    $self->ok(0, "$what: port", "\$$args->{port} is not set to a port")
        if !defined $port;

    return $port;
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

    my $what = $self->_describe("handshake ${count}x tls$tls sni=$sni",
                                $args, qw(port host sigalgs ciphers));

    $sni = undef if $sni eq 'none';

    my $port = $self->_step_port($what, $args) // return;

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
        $want = fixture_sha256($expect);
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

        my ($sock, $err) = tls_connect(
                               port => $port, sni => $sni, tls => $tls,
                               map { ($_ => $args->{$_}) }
                               grep { defined $args->{$_} }
                               qw(host sigalgs ciphers));

        if (!$sock) {
            push @errors, "handshake $i: $err";
            next;
        }

        my $peer = peer($sock);

        if (!$peer) {
            push @errors, "handshake $i: no server certificate";
            $sock->close(SSL_fast_shutdown => 1);
            next;
        }

        $seen{ $peer->{sha256} }++;
        $chains{ $peer->{chain} }++;
        $served{ cert_names(@{ $peer->{chain_sha} }) }++;
        $versions{ $peer->{version} }++;
        $subjects{ $peer->{sha256} } = [$peer->{subject}, $peer->{issuer}];
        $reused++ if $peer->{reused};

        my $host = defined $sni ? $sni : 'localhost';
        my ($res, $herr) = http_exchange($sock,
                                         "GET $path HTTP/1.0\r\n"
                                         . "Host: $host\r\n\r\n", 0);

        if (!$res || $res->{status} !~ /^[23]/) {
            $http_bad++;
            $http_first_bad ||= $res ? $res->{status_line} : $herr;

        } elsif ($args->{workers}) {
            my ($pid) = $res->{body} =~ /\b([0-9]+)\b/;
            $workers{$pid}++ if defined $pid;
        }

        $sock->close(SSL_fast_shutdown => 1);
    }

    $count = $i;

    my $done = $count - @errors;
    my $seen_list = join ', ', map { (fixture_of($_) // $_) . " x$seen{$_}" }
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
        $self->ok(!grep({ fixture_of($_) } @shas),
                  "$what: presents a certificate of its own, no fixture",
                  map { "seen $_ = fixture " . fixture_of($_) }
                  grep { fixture_of($_) } @shas);

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
              "$http_bad of $done failed, first: " . short($http_first_bad));

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


# open NAME [port=ENV] [sni=..|none] [tls=..] [path=/..]
sub step_open {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $name = $step->{pos}[0];
    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $what = $self->_describe("open $name", $args, qw(sni tls port path));

    if ($self->{conns}{$name}) {
        $self->ok(0, "$what: name not in use", "\"$name\" is already open");
        return;
    }

    $sni = undef if $sni eq 'none';

    my $port = $self->_step_port($what, $args) // return;
    my ($sock, $err) = tls_connect(port => $port, sni => $sni,
                                   tls => $args->{tls} || 'any');

    return if !$self->ok($sock, "$what: TLS handshake succeeds", $err);

    my $peer = peer($sock);
    my $host = defined $sni ? $sni : 'localhost';
    my $path = $args->{path} || '/';

    my ($res, $herr) = http_exchange($sock, _keepalive_request($host, $path),
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
    my $what = $self->_describe("reuse $name", $step->{args}, 'path');

    if (!$conn) {
        $self->ok(0, "$what: connection was opened",
                  "use \"open $name\" first");
        return;
    }

    my $path = $step->{args}{path} || $conn->{path};

    my ($res, $err) = http_exchange($conn->{sock},
                                    _keepalive_request($conn->{host}, $path),
                                    1);

    $self->ok($res && $res->{status} =~ /^[23]/,
              "$what: the connection opened before still answers",
              $res ? $res->{status_line} : $err);

    my $peer = peer($conn->{sock});

    $self->is($peer ? $peer->{sha256} : undef, $conn->{sha256},
              "$what: the connection keeps its certificate");
}


# The connections "open" opened are closed after the block's last step.
sub _close_connections {
    my ($self) = @_;

    for my $conn (values %{ $self->{conns} }) {
        $conn->{sock}->close(SSL_fast_shutdown => 1) if $conn->{sock};
    }

    $self->{conns} = {};
}


1;
