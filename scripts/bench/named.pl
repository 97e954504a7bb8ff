#!/usr/bin/env perl
#
# Clients, uploaders, timers and the checker of scripts/bench-named.sh; run
# by it, not by hand.
#
# MANIFEST is the manifest.tsv of scripts/bench/named-certs.py: lines
# "ID NAME TYPE VERSION CHAIN KEY SHA256,..." (TYPE ec or rsa). Every time
# logged (START, END, SENT, ANSWERED) is CLOCK_MONOTONIC in microseconds,
# so that the logs of several processes compare.
#
# How a client asks for a key type: an "ec" handshake is TLS 1.3, or TLS
# 1.2 offering every ECDHE cipher (ECDSA and RSA), in turn; an "rsa" one is
# TLS 1.2 offering ECDHE+aRSA ciphers only. A client that offers ECDSA
# must get the name's ECDSA certificate, the other one its RSA
# certificate.
#
#   named.pl seed URL CA MANIFEST VERSION JOBS
#       Uploads every certificate of MANIFEST of version VERSION to URL/ID
#       (JSON, with CA as "ca"), JOBS processes at a time, each over a
#       keep-alive connection. Prints one line per upload,
#       "SENT ANSWERED STATUS GENERATION SHA256 ID", and exits 1 unless
#       every upload was answered 200.
#
#   named.pl upload URL CA CHAIN KEY
#       One upload to URL (an ID's or the default's); prints its line
#       (ID "-"); exits 1 unless it was answered 200.
#
#   named.pl toggle URL CA CHAIN1 KEY1 CHAIN2 KEY2 COUNT
#       COUNT uploads to URL, the two certificates in turn, starting with
#       the second, over a keep-alive connection: upload lines.
#
#   named.pl replace URL CA MANIFEST COUNT INTERVAL_MS SEED
#       Replaces COUNT IDs of MANIFEST, drawn at random (seeded with SEED)
#       without repeats, each by its version 2, one after the other, the
#       next one INTERVAL_MS after the last was sent (or at once when its
#       answer took longer): upload lines.
#
#   named.pl fill URL CA MANIFEST JOBS
#       Uploads the version 1 certificates of MANIFEST to URL/ID, JOBS
#       processes at a time, each until one of its uploads is refused;
#       prints "fitted N pem BYTES status STATUS error CODE": the number
#       answered 200, the PEM bytes they uploaded (chain, key and CA, as
#       sent), and the first refusal ("none -" when every certificate
#       fitted). Once the zone is full, the other processes may still fit
#       a certificate each, smaller than the one refused, as one would.
#
#   named.pl sweep PORT MANIFEST VERSION PART PARTS
#       One handshake for every certificate of version VERSION of MANIFEST
#       whose line number is PART modulo PARTS, asking for its key type
#       with its name as SNI; prints "handshakes N failed N wrong N" and
#       exits 1 unless every handshake presented that certificate.
#
#   named.pl handshakes PORT MANIFEST SECONDS SEED
#       Handshakes for SECONDS with an SNI and key type drawn at random
#       (seeded with SEED) from the certificates of MANIFEST, one line
#       each:
#
#           START END ok SNI TYPE LEAF CHAIN PROTOCOL CIPHER
#           START END failed SNI TYPE ERROR
#
#       CHAIN is the SHA-256 of every certificate presented, leaf first,
#       joined by ",", and followed by ",unlinked" if one's issuer is not
#       the next one's subject. A completed handshake proves the server
#       holds the key of the leaf it presented (PaletteHandshake.pm).
#
#   named.pl check MANIFEST UPLOADS HANDSHAKES...
#       Checks handshake logs against MANIFEST and the upload log UPLOADS
#       (from "replace"). Prints "KEY VALUE" lines: handshakes, failed,
#       wrong_name (the leaf is no certificate of the SNI's name: another
#       name's, the default, or unknown), wrong_type (the name's
#       certificate of the other key type), mixed (the chain is not
#       exactly the one uploaded with the leaf), stale (the handshake
#       started after the upload replacing that ID was answered 200 and
#       presented the replaced version), replaced (handshakes that
#       presented a version 2), and first_KEY, the first of each.
#
#   named.pl wait PORT SNI TYPE SHA256 TIMEOUT exec CMD ARG...
#   named.pl wait PORT SNI TYPE SHA256 TIMEOUT signal SIGNAL PID
#       Runs CMD (or sends SIGNAL to PID), then makes handshakes with SNI,
#       asking for TYPE, until one presents the leaf SHA256; prints the
#       seconds from just before CMD (or the signal) to the end of that
#       handshake. A connection refused or a handshake that presents
#       another leaf is tried again 5 ms later. Exits 1 after TIMEOUT
#       seconds.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use HTTP::Tiny;
use JSON::PP;
use List::Util qw(shuffle);
use PaletteBench qw(now now_us slurp read_fields upload_body put
                    completed print_counts timed_handshake);
use PaletteHandshake qw(handshake);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

$| = 1;
$SIG{PIPE} = 'IGNORE';

my $TIMEOUT = 10;

my %CIPHERS = (ec => 'ECDHE:!aNULL', rsa => 'ECDHE+aRSA');

sub usage {
    print STDERR "usage: $0 seed URL CA MANIFEST VERSION JOBS"
        . " | upload URL CA CHAIN KEY"
        . " | toggle URL CA CHAIN1 KEY1 CHAIN2 KEY2 COUNT"
        . " | replace URL CA MANIFEST COUNT INTERVAL_MS SEED"
        . " | fill URL CA MANIFEST JOBS"
        . " | sweep PORT MANIFEST VERSION PART PARTS"
        . " | handshakes PORT MANIFEST SECONDS SEED"
        . " | check MANIFEST UPLOADS HANDSHAKES..."
        . " | wait PORT SNI TYPE SHA256 TIMEOUT exec CMD... | signal SIG PID"
        . "\n";
    exit 2;
}

# The manifest: a list of { id, name, type, version, chain, key, shas }.
sub read_manifest {
    my ($file) = @_;
    my @certs;

    for my $f (read_fields($file)) {
        push @certs, {
            id => $f->[0], name => $f->[1], type => $f->[2],
            version => $f->[3], chain => $f->[4], key => $f->[5],
            shas => $f->[6],
        };
    }
    die "$0: $file lists no certificate\n" if !@certs;

    return @certs;
}


# Handshakes.

# (VERSION, CIPHERS) of the N-th handshake asking for TYPE.
sub client_hello {
    my ($type, $n) = @_;

    return ('TLSv1_2', $CIPHERS{rsa}) if $type eq 'rsa';
    return ($n % 2) ? ('TLSv1_3', undef) : ('TLSv1_2', $CIPHERS{ec});
}

sub leaf_of {
    my ($shas) = @_;

    return (split /,/, $shas)[0];
}

sub run_sweep {
    my ($port, $manifest, $version, $part, $parts) = @_;
    my @certs = grep { $_->{version} == $version } read_manifest($manifest);
    my %n = (handshakes => 0, failed => 0, wrong => 0);
    my $i = 0;

    for my $c (@certs) {
        next if $i++ % $parts != $part;

        my $res = handshake($port, client_hello($c->{type}, $i),
                            $c->{name});
        $n{handshakes}++;

        if (exists $res->{error}) {
            $n{failed}++;
            print STDERR "named.pl: $c->{name} ($c->{type}): $res->{error}\n"
                if $n{failed} <= 3;
        } elsif ($res->{chain}[0] ne leaf_of($c->{shas})) {
            $n{wrong}++;
            print STDERR "named.pl: $c->{name} ($c->{type}): another leaf\n"
                if $n{wrong} <= 3;
        }
    }

    print "handshakes $n{handshakes} failed $n{failed} wrong $n{wrong}\n";
    return ($n{failed} || $n{wrong}) ? 1 : 0;
}

sub run_handshakes {
    my ($port, $manifest, $seconds, $seed) = @_;
    my @certs = grep { $_->{version} == 1 } read_manifest($manifest);
    my $end = now() + $seconds;
    my $n = 0;

    srand($seed);

    while (now() < $end) {
        my $c = $certs[int(rand(@certs))];
        my ($start, $stop, $result, @rest) = timed_handshake($port,
            client_hello($c->{type}, $n++), $c->{name});

        print join(' ', $start, $stop, $result, $c->{name}, $c->{type},
                   @rest), "\n";
    }

    return 0;
}


# Uploads.

sub http {
    return HTTP::Tiny->new(timeout => $TIMEOUT, keep_alive => 1);
}

sub run_seed {
    my ($url, $ca_file, $manifest, $version, $jobs) = @_;
    my @certs = grep { $_->{version} == $version } read_manifest($manifest);
    my $ca = slurp($ca_file);
    my @pids;

    for my $job (0 .. $jobs - 1) {
        my $pid = fork() // die "$0: fork: $!\n";

        if ($pid == 0) {
            my $http = http();
            my $json = JSON::PP->new;
            my $bad = 0;

            for (my $i = $job; $i < @certs; $i += $jobs) {
                my $c = $certs[$i];
                my $b = upload_body($json, $c->{chain}, $c->{key}, $ca);
                $bad++ if put($http, "$url/$c->{id}", $b, $c->{id}) != 200;
            }
            exit($bad ? 1 : 0);
        }
        push @pids, $pid;
    }

    my $rc = 0;
    for my $pid (@pids) {
        waitpid($pid, 0);
        $rc = 1 if $?;
    }

    return $rc;
}

sub run_upload {
    my ($url, $ca_file, $chain, $key) = @_;
    my $body = upload_body(JSON::PP->new, $chain, $key, slurp($ca_file));

    return put(http(), $url, $body, '-') == 200 ? 0 : 1;
}

sub run_toggle {
    my ($url, $ca_file, $chain1, $key1, $chain2, $key2, $count) = @_;
    my $json = JSON::PP->new;
    my $ca = slurp($ca_file);
    my @bodies = (upload_body($json, $chain1, $key1, $ca),
                  upload_body($json, $chain2, $key2, $ca));
    my $http = http();
    my $bad = 0;

    for my $i (1 .. $count) {
        $bad++ if put($http, $url, $bodies[$i % 2], '-') != 200;
    }

    return $bad ? 1 : 0;
}

sub run_fill {
    my ($url, $ca_file, $manifest, $jobs) = @_;
    my @certs = grep { $_->{version} == 1 } read_manifest($manifest);
    my $ca = slurp($ca_file);
    my %pids;

    for my $job (0 .. $jobs - 1) {
        pipe(my $r, my $w) or die "$0: pipe: $!\n";
        my $pid = fork() // die "$0: fork: $!\n";

        if ($pid == 0) {
            close($r);
            print {$w} fill_part($url, $ca, \@certs, $job, $jobs);
            exit(0);
        }
        close($w);
        $pids{$pid} = $r;
    }

    my ($n, $bytes, $status, $error, $first) = (0, 0, 'none', '-', 0);

    for my $pid (sort keys %pids) {
        my $fh = $pids{$pid};
        my ($k, $b, $st, $err, $at) = split ' ', (<$fh> // '');
        waitpid($pid, 0);
        die "$0: a fill process failed\n" if $? || !defined $at;

        $n += $k;
        $bytes += $b;

        # the refusal that came first
        if ($st ne 'none' && (!$first || $at < $first)) {
            ($status, $error, $first) = ($st, $err, $at);
        }
    }

    print "fitted $n pem $bytes status $status error $error\n";
    return 0;
}

# Uploads every JOBS-th certificate from the JOB-th until one is refused:
# "FITTED BYTES STATUS ERROR WHEN".
sub fill_part {
    my ($url, $ca, $certs, $job, $jobs) = @_;
    my $json = JSON::PP->new;
    my $http = http();
    my ($n, $bytes) = (0, 0);

    for (my $i = $job; $i < @$certs; $i += $jobs) {
        my $c = $certs->[$i];
        my $chain = slurp($c->{chain});
        my $key = slurp($c->{key});
        my $res = $http->request('PUT', "$url/$c->{id}", {
            headers => { 'Content-Type' => 'application/json' },
            content => $json->encode({ certificate => $chain, key => $key,
                                       ca => $ca }),
        });

        if ($res->{status} != 200) {
            my $doc = eval { $json->decode($res->{content}) } // {};
            return join(' ', $n, $bytes, $res->{status},
                        $doc->{error} // '-', now_us()) . "\n";
        }

        $n++;
        $bytes += length($chain) + length($key) + length($ca);
    }

    return "$n $bytes none - 0\n";
}


sub run_replace {
    my ($url, $ca_file, $manifest, $count, $interval_ms, $seed) = @_;
    my @certs = grep { $_->{version} == 2 } read_manifest($manifest);
    my $json = JSON::PP->new;
    my $ca = slurp($ca_file);
    my $http = http();

    srand($seed);
    @certs = (shuffle(@certs))[0 .. ($count < @certs ? $count : @certs) - 1];

    my $next = now();

    for my $c (@certs) {
        my $wait = $next - now();
        sleep($wait) if $wait > 0;
        $next = now() + $interval_ms / 1000;

        put($http, "$url/$c->{id}", upload_body($json, $c->{chain}, $c->{key}, $ca),
            $c->{id});
    }

    return 0;
}


# The check.

sub run_check {
    my ($manifest, $uploads_file, @logs) = @_;
    my (%by_leaf, %by_name_type, %ups);
    my %n = map { $_ => 0 }
            qw(handshakes failed wrong_name wrong_type mixed stale replaced);
    my %first;

    for my $c (read_manifest($manifest)) {
        $by_leaf{leaf_of($c->{shas})} = $c;
        $by_name_type{"$c->{name} $c->{type}"}{$c->{version}} = $c;
    }

    # the uploads answered 200, by id, in the order they were sent
    for my $f (read_fields($uploads_file)) {
        my ($sent, $answered, $status, $gen, $sha, $id) = @$f;
        next if !defined $id || $status ne '200';
        push @{$ups{$id}}, { sent => $sent, answered => $answered,
                             sha => $sha };
    }

    for my $f (read_fields(@logs)) {
        my ($start, $stop, $result, $sni, $type, $leaf, $chain) = @$f;
        next if !defined $type;
        next if !completed(\%n, \%first, $result,
                           "$sni:$type:" . ($leaf // ''));

        my $c = $by_leaf{$leaf};

        if (!$c || $c->{name} ne $sni) {
            $n{wrong_name}++;
            $first{wrong_name} //= "$sni:$type:$leaf";
            next;
        }
        if ($c->{type} ne $type) {
            $n{wrong_type}++;
            $first{wrong_type} //= "$sni:$type:$leaf";
            next;
        }

        $n{replaced}++ if $c->{version} == 2;

        if ($chain ne $c->{shas}) {
            $n{mixed}++;
            $first{mixed} //= "$sni:$type:$chain";
        }

        # allowed: the last upload of the ID answered before the
        # handshake started (version 1 if none), and every one of it
        # sent before the handshake ended
        my $mine = $ups{$c->{id}} // [];
        my %ok;
        my $k = -1;

        for my $j (0 .. $#$mine) {
            $k = $j if $mine->[$j]{answered} < $start;
        }
        $ok{$k >= 0 ? $mine->[$k]{sha}
                    : leaf_of($by_name_type{"$sni $type"}{1}{shas})} = 1;
        for my $j ($k + 1 .. $#$mine) {
            $ok{$mine->[$j]{sha}} = 1 if $mine->[$j]{sent} <= $stop;
        }

        if (!$ok{$leaf}) {
            $n{stale}++;
            $first{stale} //= "$start:$sni:$type:$leaf";
        }
    }

    print_counts(\%n, \%first,
                 [qw(handshakes failed wrong_name wrong_type mixed stale
                     replaced)],
                 [qw(failed wrong_name wrong_type mixed stale)]);

    return 0;
}


# Start and reload times.

sub run_wait {
    my ($port, $sni, $type, $sha256, $timeout, $how, @what) = @_;
    my ($child, $t0);

    usage() if !@what;

    if ($how eq 'exec') {
        $t0 = now();
        $child = fork() // die "$0: fork: $!\n";
        if ($child == 0) {
            exec { $what[0] } @what or die "$0: exec $what[0]: $!\n";
        }
    } elsif ($how eq 'signal' && @what == 2) {
        $t0 = now();
        kill($what[0], $what[1]) or die "$0: kill $what[0] $what[1]: $!\n";
    } else {
        usage();
    }

    my $n = 0;
    my $last = '';

    while (now() - $t0 < $timeout) {
        my $res = handshake($port, client_hello($type, 1), $sni);

        if ($child && waitpid($child, WNOHANG) == $child) {
            die "$0: $what[0] exited with status " . ($? >> 8) . "\n"
                if $?;
            $child = undef;
        }

        if (!exists $res->{error} && $res->{chain}[0] eq $sha256) {
            printf "%.3f\n", now() - $t0;
            waitpid($child, 0) if $child;
            return 0;
        }

        $last = $res->{error} // "leaf $res->{chain}[0]";
        $n++;
        sleep(0.005);
    }

    print STDERR "named.pl: no handshake presented $sha256 for $sni within"
        . " ${timeout}s ($n tries; last: $last)\n";
    return 1;
}


my $mode = shift @ARGV // usage();

exit run_seed(@ARGV)       if $mode eq 'seed' && @ARGV == 5;
exit run_upload(@ARGV)     if $mode eq 'upload' && @ARGV == 4;
exit run_toggle(@ARGV)     if $mode eq 'toggle' && @ARGV == 7;
exit run_replace(@ARGV)    if $mode eq 'replace' && @ARGV == 6;
exit run_fill(@ARGV)       if $mode eq 'fill' && @ARGV == 4;
exit run_sweep(@ARGV)      if $mode eq 'sweep' && @ARGV == 5;
exit run_handshakes(@ARGV) if $mode eq 'handshakes' && @ARGV == 4;
exit run_check(@ARGV)      if $mode eq 'check' && @ARGV >= 3;
exit run_wait(@ARGV)       if $mode eq 'wait' && @ARGV >= 7;

usage();
