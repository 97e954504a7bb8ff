package PaletteCert::Sanitizer;

# The module's own sanitizer reports in a text (an error log, the output
# of the tests): a report (UBSan's "runtime error:", or AddressSanitizer's
# "ERROR:") is the module's when the first frame of its stack that is not
# one of nginx's string, log and memory helpers, nor the C library's, is a
# function of the module.  nginx's own reports (in its HTTP/2 code, say,
# below one of the module's filters) are left to nginx.
#
#     perl -It/lib -MPaletteCert::Sanitizer -e PaletteCert::Sanitizer::main
#
# prints those found on standard input and exits 1 when there are any.

use strict;
use warnings;

my $HELPER = qr/^(?:ngx_(?:v?s[n]?printf\w*|slprintf|vslprintf|sprintf_\w+
                         |log_error\w*|log_debug\w*|cpymem|copy|memcpy
                         |pstrdup|strncmp|strlow|str\w*cmp|escape_\w+)
                  |__\w+|mem\w+|str\w+|_?_?interceptor_\w+)$/x;


# the reports of the module in TEXT, each as its lines
sub reports {
    my ($text) = @_;

    my @found;
    my @lines = split /\n/, $text;

    for (my $i = 0; $i < @lines; $i++) {
        next if $lines[$i] !~ /runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer/;

        my @report = ($lines[$i]);
        my $ours;

        for (my $j = $i + 1; $j < @lines && $j < $i + 80; $j++) {
            my ($fn) = $lines[$j] =~ /^\W*#\d+ 0x[0-9a-f]+ in (\S+)/;

            last if !defined $fn && @report > 1 && $lines[$j] !~ /\S/;
            next if !defined $fn;

            push @report, $lines[$j];

            if (!defined $ours && $fn !~ $HELPER) {
                $ours = ($fn =~ /^ngx_palette_cert_/) ? 1 : 0;
            }
        }

        push @found, \@report if $ours;
    }

    return @found;
}


sub main {
    local $/;
    my $text = <STDIN> // '';

    my @found = reports($text);

    for my $r (@found) {
        print join("\n", @$r), "\n\n";
    }

    return @found ? 1 : 0;
}

1;
