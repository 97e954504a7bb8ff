package PaletteCert::Util;

# What the modules of the suite's library all need: how long a client
# waits, a file's contents, waiting for a condition, a value made short
# enough for a diagnostic.  Nothing here knows of nginx or the module.

use strict;
use warnings;

use Exporter qw(import);
use Time::HiRes ();

our @EXPORT_OK = qw($IO_TIMEOUT slurp wait_for short);

# Seconds a client waits for a connection, an answer or a condition.
our $IO_TIMEOUT = 10;


# The contents of a file, undef when it cannot be read.
sub slurp {
    my ($file) = @_;

    open my $fh, '<', $file or return undef;
    local $/;
    my $data = <$fh>;
    close $fh;

    return $data;
}


# Waits until $cond returns true, at most $seconds ($IO_TIMEOUT).
sub wait_for {
    my ($cond, $seconds) = @_;

    my $deadline = Time::HiRes::time() + ($seconds // $IO_TIMEOUT);

    while (Time::HiRes::time() < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.05);
    }

    return $cond->();
}


# A value for a diagnostic: on one line, at most 600 characters.
sub short {
    my ($s) = @_;

    return '(none)' if !defined $s;
    $s =~ s/\r?\n/\\n/g;

    return length $s > 600 ? substr($s, 0, 600) . '...' : $s;
}


1;
