package PaletteHandshake;

# Fresh TLS handshakes with a scratch nginx on loopback, for the clients of
# scripts/stress-crash.sh (scripts/stress-crash.pl) and
# scripts/bench-rotation.sh (scripts/bench/rotation.pl).
#
#   handshake(PORT, VERSION [, CIPHERS [, SNI]])
#       One full handshake with 127.0.0.1:PORT (SNI localhost, or SNI) on a
#       fresh connection, closed with a close_notify right after it.
#       VERSION is 'TLSv1_2' or 'TLSv1_3'; CIPHERS, if given, the OpenSSL
#       cipher list for TLS 1.2. Returns a hash reference, either
#
#           { chain => [SHA256...], linked => 0|1,
#             protocol => 'TLSv1.3', cipher => 'TLS_AES_256_GCM_SHA384' }
#
#       where chain holds the lowercase hex SHA-256 of the DER of every
#       certificate presented, the leaf first, and linked says whether each
#       one's issuer name is the next one's subject name; or
#
#           { error => MESSAGE }
#
#       when the handshake did not complete, was a resumption or presented
#       no certificate.
#
#   version_for(N)
#       'TLSv1_2' for even N, 'TLSv1_3' for odd N: the versions in turn.
#
# The chain is not verified (no CA is loaded), but a completed handshake
# still proves that the server holds the private key of the leaf it
# presented: OpenSSL checks the server's signature against the leaf's
# public key whatever the verify mode, on the handshake transcript
# (CertificateVerify, TLS 1.3) or on the ECDHE parameters
# (ServerKeyExchange, TLS 1.2), and fails the handshake if it is wrong.

use strict;
use warnings;

use Exporter qw(import);
use IO::Socket::SSL;
use Net::SSLeay;

our @EXPORT_OK = qw(handshake version_for);

my $TIMEOUT = 5;

# One client context per protocol version and cipher list, made once: a new
# context per connection would load the system's CA bundle every time.
# There is no client session cache, so every handshake is a full one.
my %contexts;

sub context {
    my ($version, $ciphers) = @_;
    my $key = join(' ', $version, $ciphers // '');

    $contexts{$key} //= IO::Socket::SSL::SSL_Context->new(
        SSL_version      => $version,
        SSL_verify_mode  => SSL_VERIFY_NONE,
        SSL_ca           => [],
        (defined $ciphers ? (SSL_cipher_list => $ciphers) : ()),
    ) or die "cannot make a $version client context: $SSL_ERROR\n";

    return $contexts{$key};
}

sub version_for {
    my ($n) = @_;

    return ($n % 2) ? 'TLSv1_3' : 'TLSv1_2';
}

sub fingerprint {
    my ($x509) = @_;
    my $fp = Net::SSLeay::X509_get_fingerprint($x509, 'sha256') // '';

    $fp =~ s/://g;
    return lc $fp;
}

sub name_of {
    my ($name) = @_;

    return Net::SSLeay::X509_NAME_oneline($name);
}

# Why IO::Socket::SSL->new failed, on one line.
sub connect_error {
    my $errno = "$!";
    my $err = $SSL_ERROR || $errno;

    # a failed system call: OpenSSL says nothing more, errno does
    if ($err =~ /^SSL connect attempt failed\s*$/) {
        $err .= $errno ne '' ? " ($errno)" : ' (EOF)';
    }

    $err =~ s/\s+/ /g;
    return $err;
}

sub handshake {
    my ($port, $version, $ciphers, $sni) = @_;

    my $sock = IO::Socket::SSL->new(
        PeerAddr       => '127.0.0.1',
        PeerPort       => $port,
        Timeout        => $TIMEOUT,
        SSL_hostname   => $sni // 'localhost',
        SSL_reuse_ctx  => context($version, $ciphers),
    );

    return { error => connect_error() } if !$sock;

    my $ssl = $sock->_get_ssl_object;

    if (Net::SSLeay::session_reused($ssl)) {
        $sock->close(SSL_fast_shutdown => 1);
        return { error => 'session resumed, not a fresh handshake' };
    }

    # On the client side the peer's chain includes its leaf, first.
    my @certs = Net::SSLeay::get_peer_cert_chain($ssl);
    my %res = (
        chain    => [map { fingerprint($_) } @certs],
        linked   => 1,
        protocol => Net::SSLeay::get_version($ssl),
        cipher   => Net::SSLeay::get_cipher($ssl),
    );

    for my $i (0 .. $#certs - 1) {
        if (name_of(Net::SSLeay::X509_get_issuer_name($certs[$i]))
            ne name_of(Net::SSLeay::X509_get_subject_name($certs[$i + 1])))
        {
            $res{linked} = 0;
        }
    }

    $sock->close(SSL_fast_shutdown => 1);

    if (!@{$res{chain}} || $res{chain}[0] eq '') {
        return { error => 'no certificate presented' };
    }

    return \%res;
}

1;
