package PaletteBench;

# What the clients of the benchmarks (scripts/bench/rotation.pl and
# scripts/bench/named.pl) share:
#
#   now(), now_us()
#       A monotonic clock, in seconds and in whole microseconds.
#
#   slurp(FILE)
#       The whole file, as text; dies if it cannot be read.
#
#   read_fields(FILE...)
#       The files' non-empty lines, each split on white space into an
#       array reference.
#
#   upload_body(JSON, CHAIN_FILE, KEY_FILE, CA)
#       The JSON body of an upload of that chain and key, with CA (PEM
#       text, or undef for none), encoded with the JSON::PP object JSON.
#
#   put(HTTP, URL, BODY, ID)
#       Uploads BODY with the HTTP::Tiny object HTTP, prints the upload line
#       "SENT ANSWERED STATUS GENERATION SHA256 ID" (times in microseconds,
#       "-" for what a failed upload did not say; what it did say goes to
#       stderr) and returns the status.
#
#   completed(N, FIRST, RESULT, EXAMPLE)
#       Counts a handshake of a log, whose result is RESULT, in the hash
#       N: as "handshakes", and unless RESULT is "ok" as "failed" too,
#       with EXAMPLE as FIRST's "failed" if it is the first. True if it
#       completed.
#
#   print_counts(N, FIRST, KEYS, FIRST_KEYS)
#       A check's findings: "KEY COUNT" for each of KEYS (an array
#       reference) from the hash N, then "first_KEY EXAMPLE" ("-" for
#       none) for each of FIRST_KEYS from the hash FIRST.
#
#   timed_handshake(PORT, VERSION, CIPHERS, SNI)
#       One handshake() of PaletteHandshake.pm, timed: the list (START,
#       END, 'ok', LEAF, CHAIN, PROTOCOL, CIPHER) when it completed, or
#       (START, END, 'failed', ERROR) when not, with the times in
#       microseconds, LEAF the SHA-256 of the leaf, CHAIN that of every
#       certificate presented, leaf first, joined by "," and followed by
#       ",unlinked" if one's issuer is not the next one's subject, and the
#       white space in ERROR replaced by "_".

use strict;
use warnings;

use Exporter qw(import);
use File::Basename qw(basename);
use JSON::PP;
use PaletteHandshake qw(handshake);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

our @EXPORT_OK = qw(now now_us slurp read_fields upload_body put
                    completed print_counts timed_handshake);

sub now {
    return clock_gettime(CLOCK_MONOTONIC);
}

sub now_us {
    return int(now() * 1e6);
}

sub slurp {
    my ($file) = @_;

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);

    return $text;
}

sub read_fields {
    my @rows;

    for my $file (@_) {
        open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            push @rows, \@f if @f;
        }
        close($fh);
    }

    return @rows;
}

sub upload_body {
    my ($json, $chain, $key, $ca) = @_;

    return $json->encode({
        certificate => slurp($chain),
        key         => slurp($key),
        ca          => $ca,
    });
}

sub put {
    my ($http, $url, $body, $id) = @_;
    my $me = basename($0);

    my $sent = now_us();
    my $res = $http->request('PUT', $url, {
        headers => { 'Content-Type' => 'application/json' },
        content => $body,
    });
    my $answered = now_us();
    my ($gen, $sha) = ('-', '-');

    if ($res->{status} == 200) {
        my $doc = eval { JSON::PP->new->decode($res->{content}) } // {};
        $gen = $doc->{generation} // '-';
        $sha = $doc->{sha256} // '-';
    } elsif ($res->{status} != 599) {
        (my $msg = $res->{content} // '') =~ s/\s+/ /g;
        print STDERR "$me: PUT $url: $res->{status} $msg\n";
    } else {
        print STDERR "$me: PUT $url: $res->{content}";
    }

    print "$sent $answered $res->{status} $gen $sha $id\n";
    return $res->{status};
}

sub completed {
    my ($n, $first, $result, $example) = @_;

    $n->{handshakes}++;
    return 1 if $result eq 'ok';

    $n->{failed}++;
    $first->{failed} //= $example;
    return 0;
}

sub print_counts {
    my ($n, $first, $keys, $first_keys) = @_;

    print "$_ $n->{$_}\n" for @$keys;
    print "first_$_ ", $first->{$_} // '-', "\n" for @$first_keys;
}

sub timed_handshake {
    my ($port, $version, $ciphers, $sni) = @_;

    my $start = now_us();
    my $res = handshake($port, $version, $ciphers, $sni);
    my $stop = now_us();

    if (exists $res->{error}) {
        (my $err = $res->{error}) =~ s/\s+/_/g;
        return ($start, $stop, 'failed', $err);
    }

    my @chain = @{$res->{chain}};
    push @chain, 'unlinked' if !$res->{linked};

    return ($start, $stop, 'ok', $chain[0], join(',', @chain),
            $res->{protocol}, $res->{cipher});
}

1;
