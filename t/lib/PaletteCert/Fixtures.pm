package PaletteCert::Fixtures;

# The certificate fixtures t/lib/gen-certs.sh makes in $TEST_NGINX_CERT_DIR:
# their paths and contents, the SHA-256 of each certificate, and the names
# of the certificates a server presented ("leaf-a+int-ca").  Fixtures are
# read here, never written.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Spec;
use MIME::Base64 qw(decode_base64);

our @EXPORT_OK = qw(cert_dir fixture_path fixture fixture_exists
                    fixture_sha256 ca_file fixture_of cert_names pem_shas
                    pem_to_der served_fixture);


sub cert_dir {
    return $ENV{TEST_NGINX_CERT_DIR};
}


sub fixture_path {
    my ($file) = @_;

    die "PaletteCert::fixture_path: no file name given\n"
        if !defined $file || $file eq '';

    return File::Spec->catfile(cert_dir(), $file);
}


sub fixture {
    my ($file) = @_;

    my $path = fixture_path($file);

    open my $in, '<:raw', $path
        or die "PaletteCert::fixture: cannot open $path: $!\n";
    local $/;
    my $data = <$in>;
    close $in;

    return $data;
}


sub fixture_exists {
    my ($file) = @_;

    return -f fixture_path($file);
}


# The SHA-256 of the certificate NAME.crt, as NAME.sha256 holds it.
sub fixture_sha256 {
    my ($name) = @_;

    my $sha = fixture("$name.sha256");
    $sha =~ s/\s+//g;

    return $sha;
}


# A CA fixture by name: NAME.crt, NAME.pem or the file NAME itself.
sub ca_file {
    my ($name) = @_;

    for my $file ("$name.crt", "$name.pem", $name) {
        return $file if fixture_exists($file);
    }

    return undef;
}


# The fixture of each certificate among the fixtures, by its SHA-256;
# read once, the fixtures do not change while the tests run.
my %By_sha256;


# The fixture a certificate is, by its SHA-256; undef for none.
sub fixture_of {
    my ($sha) = @_;

    if (!%By_sha256) {
        opendir my $dh, cert_dir()
            or die "cannot read " . cert_dir() . ": $!\n";

        for my $file (readdir $dh) {
            my ($name) = $file =~ /^(.+)\.sha256$/ or next;

            $By_sha256{ fixture_sha256($name) } = $name;
        }

        closedir $dh;
    }

    return $By_sha256{$sha};
}


# Certificates by their SHA-256, named after the fixtures they are
# ("leaf-a+int-ca"), the others by the start of their hash.
sub cert_names {
    my (@shas) = @_;

    return join '+', map { fixture_of($_) // 'sha256:' . substr($_, 0, 12) }
                     @shas;
}


# What a server presents for a fixture: "leaf-a+int-ca".
sub served_fixture {
    my ($fixture) = @_;

    return cert_names(pem_shas(fixture("$fixture.chain.pem")));
}


# The SHA-256 of each certificate of a PEM text, in order.
sub pem_shas {
    my ($text) = @_;

    my @pems = ($text // '')
               =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/sg;

    return map { sha256_hex(pem_to_der($_)) } @pems;
}


sub pem_to_der {
    my ($pem) = @_;

    $pem =~ s/-----(?:BEGIN|END) CERTIFICATE-----//g;
    $pem =~ s/\s+//g;

    return decode_base64($pem);
}


1;
