package PaletteBench;

# What the clients of the benchmarks (scripts/bench/rotation.pl and
# scripts/bench/named.pl) share besides their handshakes:
#
#   now(), now_us()
#       A monotonic clock, in seconds and in whole microseconds.
#
#   slurp(FILE)
#       The whole file, as text; dies if it cannot be read.
#
#   read_fields(FILE)
#       The file's non-empty lines, each split on white space into an
#       array reference.
#
#   upload_body(JSON, CHAIN_FILE, KEY_FILE, CA)
#       The JSON body of an upload of that chain and key, with CA (PEM
#       text, or undef for none), encoded with the JSON::PP object JSON.

use strict;
use warnings;

use Exporter qw(import);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

our @EXPORT_OK = qw(now now_us slurp read_fields upload_body);

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
    my ($file) = @_;
    my @rows;

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        push @rows, \@f if @f;
    }
    close($fh);

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

1;
