package PaletteCert::Body;

# Request bodies as clients send them: a JSON object of string members,
# application/x-www-form-urlencoded as browsers encode it, and
# multipart/form-data; and the upload of a fixture (its chain, its key and
# the test CA).  Fields are given as name => value pairs, in the order
# they are sent, a name as often as it is sent.

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP ();

use PaletteCert::Fixtures qw(fixture);

our @EXPORT_OK = qw(json_body form_body multipart_body upload_fields
                    upload_json);


# A JSON string, as a browser's JSON.stringify() writes it.
sub _json_string {
    my ($s) = @_;

    my %named = ("\n" => '\n', "\r" => '\r', "\t" => '\t',
                 "\f" => '\f', "\b" => '\b');

    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\n\r\t\f\b])/$named{$1}/g;
    $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;

    return qq{"$s"};
}


# {"name": "value", ...}
sub json_body {
    my (@fields) = @_;

    my @members;

    while (my ($name, $value) = splice @fields, 0, 2) {
        push @members, _json_string($name) . ': ' . _json_string($value);
    }

    return '{' . join(', ', @members) . '}';
}


# The application/x-www-form-urlencoded serializer of browsers.
sub _form_escape {
    my ($s) = @_;

    $s =~ s/([^A-Za-z0-9*\-._ ])/sprintf('%%%02X', ord $1)/ge;
    $s =~ tr/ /+/;

    return $s;
}


# name=value&...
sub form_body {
    my (@fields) = @_;

    my @pairs;

    while (my ($name, $value) = splice @fields, 0, 2) {
        push @pairs, _form_escape($name) . '=' . _form_escape($value);
    }

    return join '&', @pairs;
}


# A multipart/form-data body: each part [NAME, CONTENT], or [NAME, CONTENT,
# FILENAME, TYPE] for a file (TYPE may be undef, for no Content-Type).
sub multipart_body {
    my ($boundary, @parts) = @_;

    my $body = '';

    for my $part (@parts) {
        my ($name, $content, $filename, $type) = @$part;

        $body .= "--$boundary\r\n"
                 . qq{Content-Disposition: form-data; name="$name"};

        if (defined $filename) {

            # as browsers do in a quoted-string
            $filename =~ s/"/%22/g;
            $filename =~ s/\r/%0D/g;
            $filename =~ s/\n/%0A/g;

            $body .= qq{; filename="$filename"};
        }

        $body .= "\r\nContent-Type: $type" if defined $type;
        $body .= "\r\n\r\n$content\r\n";
    }

    return $body . "--$boundary--\r\n";
}


# The fields of a good upload of a fixture: certificate (its chain), key
# and ca (the test root), in this order.
sub upload_fields {
    my ($fixture) = @_;

    return (certificate => fixture("$fixture.chain.pem"),
            key         => fixture("$fixture.key"),
            ca          => fixture('ca.pem'));
}


# That upload as JSON, its members sorted.
sub upload_json {
    my ($fixture) = @_;

    return JSON::PP->new->canonical->encode({ upload_fields($fixture) });
}


1;
