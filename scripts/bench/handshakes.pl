#!/usr/bin/env perl
#
# Client for scripts/bench-handshake.sh and scripts/bench-named.sh: COUNT
# full TLS handshakes, one after the other, each on a fresh connection and
# with no session to resume, to 127.0.0.1:PORT. Each connection is closed
# with a close_notify right after the handshake; nothing is sent on it.
#
# With --sni NAME, the client hello names NAME; given more than once, the
# names are used in turn. With --ciphers LIST, TLS 1.2 offers only the
# OpenSSL cipher list LIST (say, ECDHE+aRSA for a client that cannot take
# an ECDSA certificate).
#
# With --sha256 HEX, every handshake must have been answered with the
# certificate whose DER has that SHA-256 (lowercase hex), so that a server
# still presenting another certificate is not measured by mistake.
#
# Prints the number of handshakes done; exits 1 on the first failure.

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Socket::SSL qw(SSL_VERIFY_NONE);

sub usage {
    my ($fh) = @_;

    print {$fh} "usage: handshakes.pl --port PORT [--count N]"
        . " [--tls 1.2|1.3] [--sha256 HEX] [--sni NAME]..."
        . " [--ciphers LIST]\n";
    return;
}

sub one_handshake {
    my ($port, $version, $sha256, $sni, $ciphers) = @_;

    my $s = IO::Socket::SSL->new(
        PeerAddr        => '127.0.0.1',
        PeerPort        => $port,
        SSL_version     => $version,
        SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_session_cache_size => 0,
        (defined $sni ? (SSL_hostname => $sni) : ()),
        (defined $ciphers ? (SSL_cipher_list => $ciphers) : ()),
    ) or die "handshake to 127.0.0.1:$port failed: $IO::Socket::SSL::SSL_ERROR\n";

    if (defined $sha256) {
        my $fp = $s->get_fingerprint('sha256') // '';
        $fp =~ s/^sha256\$//;
        $fp = lc $fp;
        if ($fp ne $sha256) {
            die "127.0.0.1:$port presented certificate sha256 $fp,"
                . " expected $sha256\n";
        }
    }

    $s->close(SSL_fast_shutdown => 1);
    return;
}

sub main {
    my ($port, $count, $tls, $sha256, $ciphers) = (undef, 1, '1.3', undef,
                                                   undef);
    my @sni;
    my $help = 0;

    GetOptions(
        'port=i'    => \$port,
        'count=i'   => \$count,
        'tls=s'     => \$tls,
        'sha256=s'  => \$sha256,
        'sni=s'     => \@sni,
        'ciphers=s' => \$ciphers,
        'help|h'    => \$help,
    ) or do { usage(\*STDERR); return 2 };

    if ($help) {
        usage(\*STDOUT);
        return 0;
    }
    if (!defined $port || $count < 1 || ($tls ne '1.2' && $tls ne '1.3')) {
        usage(\*STDERR);
        return 2;
    }

    my $version = $tls eq '1.3' ? 'TLSv1_3' : 'TLSv1_2';
    $sha256 = lc $sha256 if defined $sha256;

    for my $i (1 .. $count) {
        my $sni = @sni ? $sni[($i - 1) % @sni] : undef;

        eval { one_handshake($port, $version, $sha256, $sni, $ciphers); 1 }
        or do {
            print {*STDERR} "handshakes.pl: handshake $i of $count: $@";
            return 1;
        };
    }

    print "$count\n";
    return 0;
}

exit main();
