#!/usr/bin/env perl
#
# TLS client for scripts/stress-crash.sh; run by it, not by hand.
#
#   stress-crash.pl handshakes PORT SECONDS KNOWN [SNI]
#       Fresh TLS handshakes with 127.0.0.1:PORT (SNI localhost unless
#       given, no session reuse, TLS 1.2 and 1.3 in turn) for SECONDS, one
#       line per handshake on stdout:
#
#           MS DUR ok SHA256       completed, the leaf is listed in KNOWN
#           MS DUR unknown SHA256  completed, the leaf is not in KNOWN
#           MS DUR cut ERROR       the server closed or reset the connection
#                                  during the handshake (a killed worker)
#           MS DUR failed ERROR    any other failure (an alert, a time-out)
#
#       MS is the time the handshake started, in milliseconds since the
#       epoch, DUR how long it took, in milliseconds. KNOWN holds one
#       lowercase hex SHA-256 per line: the leaves that may be served. A
#       completed handshake proves that the server holds the private key of
#       the leaf it presented (it signed the key exchange with it), so a
#       mismatched key cannot complete (see bench/PaletteHandshake.pm).
#
#   stress-crash.pl probe PORT COUNT [SNI]
#       COUNT fresh handshakes; prints the SHA-256 of each leaf, one per
#       line. Exits 1 if one fails.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/bench";

use PaletteHandshake qw(version_for);
use Time::HiRes qw(time);

$| = 1;

# A worker killed mid-handshake resets the connection: a write to it must
# fail with EPIPE, not end the client.
$SIG{PIPE} = 'IGNORE';

sub usage {
    print STDERR "usage: $0 handshakes PORT SECONDS KNOWN [SNI]"
        . " | probe PORT COUNT [SNI]\n";
    exit 2;
}

# handshake(PORT, VERSION, SNI): (sha256 of the leaf's DER) or
# (undef, error).
sub handshake {
    my ($port, $version, $sni) = @_;
    my $res = PaletteHandshake::handshake($port, $version, undef, $sni);

    return (undef, $res->{error}) if exists $res->{error};
    return ($res->{chain}[0]);
}

# A failure where the peer went away: what a worker killed mid-handshake
# looks like from the client.
sub is_cut {
    my ($err) = @_;

    return $err =~ /unexpected eof|connection reset|broken pipe|\(EOF\)/i;
}

sub read_known {
    my ($file) = @_;
    my %known;

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        $known{lc $line} = 1 if $line =~ /^[0-9a-fA-F]{64}$/;
    }
    close($fh);

    return \%known;
}

sub run_handshakes {
    my ($port, $seconds, $known_file, $sni) = @_;
    my $known = read_known($known_file);
    my $end = time + $seconds;
    my $n = 0;

    while (time < $end) {
        my $start = time;
        my $version = version_for($n++);
        my ($sha, $err) = handshake($port, $version, $sni);
        my $took = (time - $start) * 1000;

        if (defined $sha) {
            printf "%d %d %s %s\n", $start * 1000, $took,
                $known->{$sha} ? 'ok' : 'unknown', $sha;
        } else {
            printf "%d %d %s %s\n", $start * 1000, $took,
                is_cut($err) ? 'cut' : 'failed', $err;
        }
    }

    return 0;
}

sub run_probe {
    my ($port, $count, $sni) = @_;
    my $rc = 0;

    for my $i (1 .. $count) {
        my ($sha, $err) = handshake($port, version_for($i), $sni);

        if (defined $sha) {
            print "$sha\n";
        } else {
            print STDERR "handshake failed: $err\n";
            $rc = 1;
        }
    }

    return $rc;
}

my $mode = shift @ARGV // usage();

if ($mode eq 'handshakes' && (@ARGV == 3 || @ARGV == 4)) {
    exit run_handshakes(@ARGV);
}

if ($mode eq 'probe' && (@ARGV == 2 || @ARGV == 3)) {
    exit run_probe(@ARGV);
}

usage();
