#!/usr/bin/env perl
#
# Client, uploader and checker for scripts/bench-rotation.sh; run by it,
# not by hand.
#
#   rotation.pl handshakes PORT SECONDS
#       Fresh TLS handshakes with 127.0.0.1:PORT (SNI localhost, no session
#       reuse, TLS 1.2 and 1.3 in turn) for SECONDS, one line each:
#
#           START END ok LEAF CHAIN     completed
#           START END failed - ERROR    did not complete
#
#       START and END are microseconds since the epoch; LEAF is the lowercase
#       hex SHA-256 of the leaf's DER, CHAIN the SHA-256 of every certificate
#       presented (the leaf first), joined by ",". A completed handshake
#       proves that the server holds the private key of the leaf it
#       presented: it signed the key exchange (TLS 1.2, ECDHE) or the
#       handshake (TLS 1.3) with it.
#
#   rotation.pl uploads URL SECONDS INTERVAL_MS CERTS NAME...
#       Uploads CERTS/NAME.chain.pem, NAME.key and ca.pem (as JSON, over one
#       keep-alive connection), the names in turn, one every INTERVAL_MS
#       for SECONDS, one line each:
#
#           SENT ANSWERED STATUS GENERATION SHA256 NAME
#
#       SENT is when the request was started, ANSWERED when its answer had
#       arrived (microseconds since the epoch).
#
#   rotation.pl check CHAINS UPLOADS HANDSHAKES...
#       Checks the handshake logs against the upload log. CHAINS holds one
#       line per certificate that may be served: its leaf SHA-256, then the
#       SHA-256 of every certificate of the chain it is served with (the
#       leaf first), separated by spaces. The first line is the certificate
#       served before the first upload. Prints "NAME VALUE" lines: handshakes,
#       failed, stale, mixed, unknown, first_stale, first_mixed,
#       first_failed.
#
#       stale: the handshake started after an upload had been answered 200
#       and presented a certificate older than that upload (one that was
#       neither that upload's nor that of an upload sent before the
#       handshake ended). mixed: the chain presented is not the one the
#       leaf was uploaded with (or the leaf's issuer is not the next
#       certificate's subject). unknown: a leaf that was never uploaded.

use strict;
use warnings;

use HTTP::Tiny;
use IO::Socket::SSL;
use JSON::PP;
use Net::SSLeay;
use Time::HiRes qw(time sleep);

$| = 1;
$SIG{PIPE} = 'IGNORE';

my $TIMEOUT = 5;

sub usage {
    print STDERR "usage: $0 handshakes PORT SECONDS"
        . " | uploads URL SECONDS INTERVAL_MS CERTS NAME..."
        . " | check CHAINS UPLOADS HANDSHAKES...\n";
    exit 2;
}

sub now_us {
    return int(time * 1e6);
}

sub slurp {
    my ($file) = @_;

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    local $/;
    my $text = <$fh>;
    close($fh);

    return $text;
}


# Handshakes.

my %contexts;

sub context {
    my ($version) = @_;

    $contexts{$version} //= IO::Socket::SSL::SSL_Context->new(
        SSL_version      => $version,
        SSL_verify_mode  => SSL_VERIFY_NONE,
        SSL_ca           => [],
    ) or die "$0: cannot make a $version context: $SSL_ERROR\n";

    return $contexts{$version};
}

sub fingerprint {
    my ($x509) = @_;
    my $fp = Net::SSLeay::X509_get_fingerprint($x509, 'sha256') // '';

    $fp =~ s/://g;
    return lc $fp;
}

# handshake(PORT, VERSION): (leaf sha256, chain) or (undef, error).
sub handshake {
    my ($port, $version) = @_;

    my $sock = IO::Socket::SSL->new(
        PeerAddr       => '127.0.0.1',
        PeerPort       => $port,
        Timeout        => $TIMEOUT,
        SSL_hostname   => 'localhost',
        SSL_reuse_ctx  => context($version),
    );

    if (!$sock) {
        my $err = $SSL_ERROR || "$!";
        $err =~ s/\s+/_/g;
        return (undef, $err);
    }

    my $ssl = $sock->_get_ssl_object;

    if (Net::SSLeay::session_reused($ssl)) {
        $sock->close(SSL_fast_shutdown => 1);
        return (undef, 'session_resumed');
    }

    # On the client side the peer's chain includes its leaf, first.
    my @chain = Net::SSLeay::get_peer_cert_chain($ssl);
    my @fps = map { fingerprint($_) } @chain;
    my $linked = 1;

    for my $i (0 .. $#chain - 1) {
        my $issuer = Net::SSLeay::X509_NAME_oneline(
            Net::SSLeay::X509_get_issuer_name($chain[$i]));
        my $next = Net::SSLeay::X509_NAME_oneline(
            Net::SSLeay::X509_get_subject_name($chain[$i + 1]));
        $linked = 0 if $issuer ne $next;
    }

    $sock->close(SSL_fast_shutdown => 1);

    if (!@fps || $fps[0] eq '') {
        return (undef, 'no_certificate_presented');
    }

    return ($fps[0], join(',', @fps) . ($linked ? '' : ',unlinked'));
}

sub run_handshakes {
    my ($port, $seconds) = @_;
    my $end = time + $seconds;
    my $n = 0;

    while (time < $end) {
        my $start = now_us();
        my $version = ($n++ % 2) ? 'TLSv1_3' : 'TLSv1_2';
        my ($leaf, $chain) = handshake($port, $version);
        my $stop = now_us();

        if (defined $leaf) {
            print "$start $stop ok $leaf $chain\n";
        } else {
            print "$start $stop failed - $chain\n";
        }
    }

    return 0;
}


# Uploads.

sub run_uploads {
    my ($url, $seconds, $interval_ms, $certs, @names) = @_;
    my $http = HTTP::Tiny->new(timeout => $TIMEOUT, keep_alive => 1);
    my $json = JSON::PP->new->canonical;
    my $ca = slurp("$certs/ca.pem");
    my %bodies;

    for my $name (@names) {
        $bodies{$name} = $json->encode({
            certificate => slurp("$certs/$name.chain.pem"),
            key         => slurp("$certs/$name.key"),
            ca          => $ca,
        });
    }

    my $start = time;
    my $end = $start + $seconds;
    my $n = 0;

    while (1) {
        my $due = $start + $n * $interval_ms / 1000;
        last if $due >= $end;

        my $wait = $due - time;
        sleep($wait) if $wait > 0;

        my $name = $names[$n++ % @names];
        my $sent = now_us();
        my $res = $http->request('PUT', $url, {
            headers => { 'Content-Type' => 'application/json' },
            content => $bodies{$name},
        });
        my $answered = now_us();
        my ($gen, $sha) = ('-', '-');

        if ($res->{status} == 200) {
            my $doc = eval { $json->decode($res->{content}) } // {};
            $gen = $doc->{generation} // '-';
            $sha = $doc->{sha256} // '-';
        }

        print "$sent $answered $res->{status} $gen $sha $name\n";
    }

    return 0;
}


# The check.

sub read_chains {
    my ($file) = @_;
    my (%chains, $initial);

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    while (my $line = <$fh>) {
        my @f = split ' ', $line;
        next if !@f;
        $initial //= $f[0];
        $chains{$f[0]} = join(',', @f[1 .. $#f]);
    }
    close($fh);

    return (\%chains, $initial);
}

# The uploads answered 200, in order: [answered, sent, sha256].
sub read_uploads {
    my ($file) = @_;
    my @ups;

    open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
    while (my $line = <$fh>) {
        my ($sent, $answered, $status, $gen, $sha) = split ' ', $line;
        next if !defined $status || $status ne '200';
        push @ups, { sent => $sent, answered => $answered, sha => $sha };
    }
    close($fh);

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

sub run_check {
    my ($chains_file, $uploads_file, @logs) = @_;
    my ($chains, $initial) = read_chains($chains_file);
    my $ups = read_uploads($uploads_file);
    my %n = map { $_ => 0 } qw(handshakes failed stale mixed unknown);
    my %first;

    for my $log (@logs) {
        open(my $fh, '<', $log) or die "$0: cannot read $log: $!\n";
        while (my $line = <$fh>) {
            my ($start, $stop, $result, $leaf, $chain) = split ' ', $line;
            next if !defined $chain;
            $n{handshakes}++;

            if ($result ne 'ok') {
                $n{failed}++;
                $first{failed} //= $chain;
                next;
            }

            if (!exists $chains->{$leaf}) {
                $n{unknown}++;
                $first{unknown} //= $leaf;
                next;
            }

            if ($chain ne $chains->{$leaf}) {
                $n{mixed}++;
                $first{mixed} //= "$start:$leaf:$chain";
            }

            if (!allowed($ups, $initial, $start, $stop)->{$leaf}) {
                $n{stale}++;
                $first{stale} //= "$start:$leaf";
            }
        }
        close($fh);
    }

    for my $key (qw(handshakes failed stale mixed unknown)) {
        print "$key $n{$key}\n";
    }
    for my $key (qw(failed unknown mixed stale)) {
        print "first_$key ", $first{$key} // '-', "\n";
    }

    return 0;
}


my $mode = shift @ARGV // usage();

exit run_handshakes(@ARGV) if $mode eq 'handshakes' && @ARGV == 2;
exit run_uploads(@ARGV)    if $mode eq 'uploads' && @ARGV >= 5;
exit run_check(@ARGV)      if $mode eq 'check' && @ARGV >= 3;

usage();
