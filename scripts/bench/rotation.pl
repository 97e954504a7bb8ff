#!/usr/bin/env perl
#
# Client, uploader and checker for scripts/bench-rotation.sh; run by it,
# not by hand.
#
# Every time below (START, END, SENT, ANSWERED) is CLOCK_MONOTONIC in
# microseconds: one clock for the whole machine, so the times the client
# and uploader processes log compare with each other, and one the wall
# clock's adjustments do not move.
#
#   rotation.pl handshakes PORT SECONDS
#       Fresh TLS handshakes with 127.0.0.1:PORT (SNI localhost, no session
#       reuse, TLS 1.2 with ECDHE and TLS 1.3 in turn) for SECONDS, one line
#       each:
#
#           START END ok LEAF CHAIN PROTOCOL CIPHER   completed
#           START END failed - ERROR                  did not complete
#
#       LEAF is the lowercase hex SHA-256 of the leaf's DER, CHAIN the
#       SHA-256 of every certificate presented (the leaf first), joined by
#       "," and followed by ",unlinked" if a certificate's issuer is not the
#       next one's subject. A completed handshake proves that the server
#       holds the private key of the leaf it presented: it signed the ECDHE
#       parameters (TLS 1.2) or the handshake (TLS 1.3) with it, and the
#       client checked that signature against the leaf
#       (PaletteHandshake.pm).
#
#   rotation.pl upload URL CA NAME CHAIN KEY
#       Uploads the chain CHAIN with key KEY and CA file CA as JSON and
#       prints one upload line (below); exits 1 unless it was answered 200.
#
#   rotation.pl uploads URL SECONDS INTERVAL_MS CA MANIFEST
#       Uploads the chains of MANIFEST (lines "NAME CHAIN KEY") in order,
#       from the first again if there are more uploads than lines, one
#       every INTERVAL_MS for SECONDS, over one keep-alive connection, one
#       line each:
#
#           SENT ANSWERED STATUS GENERATION SHA256 NAME
#
#       SENT is when the request was started, ANSWERED when its answer had
#       arrived.
#
#   rotation.pl chains MANIFEST...
#       For every line "NAME CHAIN ..." of the manifests, prints "NAME" and
#       the SHA-256 of every certificate of the PEM file CHAIN, the leaf
#       first, separated by spaces: the input of "check".
#
#   rotation.pl check CHAINS UPLOADS HANDSHAKES...
#       Checks the handshake logs against the chains that may be served
#       (CHAINS, from "chains", the one served before the first upload
#       first) and the upload log. Prints "KEY VALUE" lines: handshakes,
#       failed, stale, mixed, unknown, first_failed, first_unknown,
#       first_mixed, first_stale, presented (NAME:COUNT,...) and kx
#       (PROTOCOL/CIPHER:COUNT,...).
#
#       failed: did not complete. unknown: the leaf is none of CHAINS.
#       mixed: the chain presented (every certificate's SHA-256, in order)
#       is not exactly the chain its leaf belongs to in CHAINS, so a leaf
#       served with another chain's intermediate counts; a key that does
#       not match the leaf fails the handshake instead. stale: the
#       handshake started after upload K had been answered 200 and
#       presented a leaf that is neither K's nor that of an upload sent
#       after K and before the handshake ended. When every upload has a
#       leaf of its own, as bench-rotation.sh makes them, that is exactly
#       "a certificate older than K's".

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use HTTP::Tiny;
use JSON::PP;
use Net::SSLeay;
use PaletteBench qw(now slurp read_fields upload_body put completed
                    print_counts timed_handshake);
use PaletteHandshake qw(version_for);
use Time::HiRes qw(sleep);

$| = 1;
$SIG{PIPE} = 'IGNORE';

my $TIMEOUT = 5;

# TLS 1.2 with a server signature on the key exchange only.
my $TLS12_CIPHERS = 'ECDHE:!aNULL';

sub usage {
    print STDERR "usage: $0 handshakes PORT SECONDS"
        . " | upload URL CA NAME CHAIN KEY"
        . " | uploads URL SECONDS INTERVAL_MS CA MANIFEST"
        . " | chains MANIFEST... | check CHAINS UPLOADS HANDSHAKES...\n";
    exit 2;
}


# Handshakes.

sub run_handshakes {
    my ($port, $seconds) = @_;
    my $end = now() + $seconds;
    my $n = 0;

    while (now() < $end) {
        my $version = version_for($n++);
        my ($start, $stop, $result, @rest) = timed_handshake($port, $version,
            $version eq 'TLSv1_2' ? $TLS12_CIPHERS : undef);

        # a failed line has "-" where a completed one has the leaf
        print join(' ', $start, $stop, $result,
                   $result eq 'ok' ? () : '-', @rest), "\n";
    }

    return 0;
}


# Uploads.

sub run_upload {
    my ($url, $ca_file, $name, $chain, $key) = @_;
    my $http = HTTP::Tiny->new(timeout => $TIMEOUT);
    my $json = JSON::PP->new->canonical;
    my $body = upload_body($json, $chain, $key, slurp($ca_file));

    return put($http, $url, $body, $name) == 200 ? 0 : 1;
}

sub run_uploads {
    my ($url, $seconds, $interval_ms, $ca_file, $manifest) = @_;
    my $http = HTTP::Tiny->new(timeout => $TIMEOUT, keep_alive => 1);
    my $json = JSON::PP->new->canonical;
    my $ca = slurp($ca_file);
    my @todo = map { [$_->[0], upload_body($json, $_->[1], $_->[2], $ca)] }
               read_fields($manifest);

    die "$0: $manifest lists no chain\n" if !@todo;

    my $start = now();
    my $end = $start + $seconds;
    my $n = 0;

    while (1) {
        my $due = $start + $n * $interval_ms / 1000;
        last if $due >= $end;

        my $wait = $due - now();
        sleep($wait) if $wait > 0;

        my ($name, $body) = @{$todo[$n++ % @todo]};
        put($http, $url, $body, $name);
    }

    return 0;
}


# Chains.

sub pem_chain_sha256 {
    my ($file) = @_;
    my $bio = Net::SSLeay::BIO_new_file($file, 'r')
        or die "$0: cannot read $file\n";
    my @shas;

    while (my $x509 = Net::SSLeay::PEM_read_bio_X509($bio)) {
        my $fp = Net::SSLeay::X509_get_fingerprint($x509, 'sha256');
        Net::SSLeay::X509_free($x509);
        $fp =~ s/://g;
        push @shas, lc $fp;
    }
    Net::SSLeay::BIO_free($bio);

    die "$0: $file holds no certificate\n" if !@shas;
    return @shas;
}

sub run_chains {
    my (@manifests) = @_;

    for my $manifest (@manifests) {
        for my $row (read_fields($manifest)) {
            print join(' ', $row->[0], pem_chain_sha256($row->[1])), "\n";
        }
    }

    return 0;
}


# The check.

# { leaf => { name, chain } } and the initial leaf.
sub read_chains {
    my ($file) = @_;
    my (%chains, $initial);

    for my $f (read_fields($file)) {
        my ($name, @shas) = @$f;
        next if !@shas;
        $initial //= $shas[0];
        $chains{$shas[0]} = { name => $name, chain => join(',', @shas) };
    }

    return (\%chains, $initial);
}

# The uploads answered 200, in order: { answered, sent, sha }.
sub read_uploads {
    my ($file) = @_;
    my @ups;

    for my $f (read_fields($file)) {
        my ($sent, $answered, $status, $gen, $sha) = @$f;
        next if !defined $sha || $status ne '200';
        push @ups, { sent => $sent, answered => $answered, sha => $sha };
    }

    return \@ups;
}

# Index of the last upload answered before $t (-1 if none), by bisection.
sub last_answered {
    my ($ups, $t) = @_;
    my ($lo, $hi) = (0, scalar @$ups);

    while ($lo < $hi) {
        my $mid = int(($lo + $hi) / 2);
        if ($ups->[$mid]{answered} < $t) {
            $lo = $mid + 1;
        } else {
            $hi = $mid;
        }
    }

    return $lo - 1;
}

# The leaves a handshake from $start to $stop may present: the last upload
# answered before it started, and every later one sent before it ended.
sub allowed {
    my ($ups, $initial, $start, $stop) = @_;
    my $k = last_answered($ups, $start);
    my %ok = ($k >= 0 ? $ups->[$k]{sha} : $initial, 1);

    for (my $j = $k + 1; $j < @$ups && $ups->[$j]{sent} <= $stop; $j++) {
        $ok{$ups->[$j]{sha}} = 1;
    }

    return \%ok;
}

sub tally {
    my ($counts) = @_;

    return join(',', map { "$_:$counts->{$_}" } sort keys %$counts) || '-';
}

sub run_check {
    my ($chains_file, $uploads_file, @logs) = @_;
    my ($chains, $initial) = read_chains($chains_file);
    my $ups = read_uploads($uploads_file);
    my %n = map { $_ => 0 } qw(handshakes failed stale mixed unknown);
    my (%first, %presented, %kx);

    for my $f (read_fields(@logs)) {
        my ($start, $stop, $result, $leaf, $chain, $proto, $cipher) = @$f;
        next if !defined $chain;
        next if !completed(\%n, \%first, $result, $chain);

        $kx{($proto // '?') . '/' . ($cipher // '?')}++;

        my $known = $chains->{$leaf};

        if (!$known) {
            $n{unknown}++;
            $first{unknown} //= $leaf;
            next;
        }

        $presented{$known->{name}}++;

        if ($chain ne $known->{chain}) {
            $n{mixed}++;
            $first{mixed} //= "$start:$leaf:$chain";
        }

        if (!allowed($ups, $initial, $start, $stop)->{$leaf}) {
            $n{stale}++;
            $first{stale} //= "$start:$leaf";
        }
    }

    print_counts(\%n, \%first, [qw(handshakes failed stale mixed unknown)],
                 [qw(failed unknown mixed stale)]);
    print 'presented ', tally(\%presented), "\n";
    print 'kx ', tally(\%kx), "\n";

    return 0;
}


my $mode = shift @ARGV // usage();

exit run_handshakes(@ARGV) if $mode eq 'handshakes' && @ARGV == 2;
exit run_upload(@ARGV)     if $mode eq 'upload' && @ARGV == 5;
exit run_uploads(@ARGV)    if $mode eq 'uploads' && @ARGV == 5;
exit run_chains(@ARGV)     if $mode eq 'chains' && @ARGV >= 1;
exit run_check(@ARGV)      if $mode eq 'check' && @ARGV >= 3;

usage();
