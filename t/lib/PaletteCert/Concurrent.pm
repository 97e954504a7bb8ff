package PaletteCert::Concurrent;

# The step concurrent, for t/011-concurrency.t (a method of
# PaletteCert::Run, which inherits it from here): uploads from several
# client processes at once, with If-Match of the generation each last saw,
# while another process makes fresh handshakes all along.

use strict;
use warnings;

use File::Spec;
use File::Temp ();
use JSON::PP ();
use POSIX ();
use Test::More ();
use Time::HiRes ();

use PaletteCert::Body qw(json_body upload_fields);
use PaletteCert::Fixtures qw(fixture_sha256 cert_names pem_shas
                             served_fixture);
use PaletteCert::TLS qw($DEFAULT_SNI $DEFAULT_COUNT tls_connect peer);
use PaletteCert::Util qw(slurp short);


sub _write_json_lines {
    my ($file, @records) = @_;

    open my $fh, '>', $file or return;
    print {$fh} JSON::PP->new->canonical->encode($_), "\n" for @records;
    close $fh;
}


sub _read_json_lines {
    my ($file) = @_;

    open my $fh, '<', $file or return ();
    my @records = map { JSON::PP->new->decode($_) } grep { /\S/ } <$fh>;
    close $fh;

    return @records;
}


# One client: the uploads numbered $first, $first + $step, ..., each with
# the next fixture of the list; every second one with If-Match of the
# generation the client last saw.
sub _upload_client {
    my ($self, $o) = @_;

    my @records;
    my $seen = $o->{generation};
    my $n = 0;

    for (my $i = $o->{first}; $i < $o->{uploads}; $i += $o->{step}) {
        my $fixture = $o->{fixtures}[$i % @{ $o->{fixtures} }];
        my %headers = ('Content-Type' => 'application/json');
        my $if_match = $n++ % 2 == 1 && defined $seen;

        $headers{'If-Match'} = qq{"$seen"} if $if_match;

        my $t0 = Time::HiRes::time();
        my $res = $self->_api_request('PUT', $o->{api}, \%headers,
                                      $o->{bodies}{$fixture});
        my $t1 = Time::HiRes::time();
        my $j = $res->{json} || {};
        my ($etag) = ($res->{etag} // '') =~ /^"([0-9]+)"$/;

        $seen = $etag if defined $etag;

        push @records, {
            index => $i, client => $o->{first}, fixture => $fixture,
            if_match => $if_match ? $headers{'If-Match'} : undef,
            status => $res->{status}, etag => $etag,
            generation => $j->{generation}, sha256 => $j->{sha256},
            error => $j->{error}, body => short($res->{body}),
            t0 => $t0, t1 => $t1,
        };
    }

    return @records;
}


# Fresh handshakes until $stop exists: how many, the failures, the
# certificates presented.
sub _handshake_client {
    my ($self, $o) = @_;

    my %r = (done => 0, failed => 0, errors => [], served => {});
    my $deadline = Time::HiRes::time() + 300;

    while (!-e $o->{stop} && Time::HiRes::time() < $deadline) {
        my ($sock, $err) = tls_connect(port => $o->{port},
                                       sni => $o->{sni}, tls => 'any');
        my $peer = $sock ? peer($sock) : undef;

        $sock->close(SSL_fast_shutdown => 1) if $sock;

        if (!$peer) {
            $r{failed}++;
            push @{ $r{errors} }, $err // 'no server certificate'
                if @{ $r{errors} } < 5;
            next;
        }

        $r{done}++;
        $r{served}{ cert_names(@{ $peer->{chain_sha} }) }++;
    }

    return \%r;
}


sub _fork {
    my ($code) = @_;

    my $pid = fork;

    die "fork: $!\n" if !defined $pid;

    return $pid if $pid;

    # the child never runs the test script's END blocks: they would stop
    # nginx

    my $ok = eval { $code->(); 1 };
    print STDERR "child: $@" if !$ok;
    POSIX::_exit($ok ? 0 : 1);
}


# concurrent [uploads=60] [clients=4] [handshakes=on|off] [overlap=N]
#            [store=DIR] [port=ENV] [sni=NAME] [api=/P]
sub step_concurrent {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $uploads = $args->{uploads} || 60;
    my $clients = $args->{clients} || 4;
    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $what = "concurrent uploads=$uploads clients=$clients";

    my $port = $self->_step_port($what, $args) // return;
    my $before = $self->_api_get_quiet($args->{api});

    if (!$before) {
        $self->ok(0, "$what: the API tells the generation",
                  $self->{last_error});
        return;
    }

    my $run = {
        uploads    => $uploads,
        clients    => $clients,
        handshakes => ($args->{handshakes} || 'on') eq 'on',
        port       => $port,
        sni        => $sni eq 'none' ? undef : $sni,
        api        => $args->{api},
        generation => $before->{generation},
        fixtures   => [qw(leaf-a leaf-b leaf-c)],
        tmp        => File::Temp::tempdir('palette-concurrent-XXXXXX',
                                          TMPDIR => 1, CLEANUP => 1),
    };

    $self->_run_clients($what, $run);

    my @answers = sort { $a->{index} <=> $b->{index} }
                  map { _read_json_lines("$run->{tmp}/client-$_") }
                  0 .. $clients - 1;

    $self->is(scalar @answers, $uploads, "$what: every upload is answered");

    my @ok = $self->_check_answers($what, $run, @answers);

    # overlap: uploads in flight while another client's was

    my $overlap = $args->{overlap} // int($uploads / 2);
    my $overlapping = grep {
                          my $u = $_;
                          grep { $_->{client} != $u->{client}
                                 && $_->{t0} < $u->{t1}
                                 && $u->{t0} < $_->{t1} } @answers
                      } @answers;

    $self->ok($overlapping >= $overlap,
              "$what: at least $overlap uploads overlap another",
              "$overlapping did");

    $self->_check_handshakes($what, $run, $before) if $run->{handshakes};

    return if !@ok;

    my ($last) = sort { $b->{generation} <=> $a->{generation} } @ok;

    $self->_check_last($what, $args, $last);
}


# Forks the clients, and the handshakes when asked for, starts them at
# once and waits for them: each writes what it saw to a file of its own.
sub _run_clients {
    my ($self, $what, $run) = @_;

    my $tmp = $run->{tmp};
    my %bodies = map { $_ => json_body(upload_fields($_)) }
                 @{ $run->{fixtures} };

    pipe my $go_r, my $go_w or die "pipe: $!\n";

    my (@pids, $hs_pid);

    if ($run->{handshakes}) {
        $hs_pid = _fork(sub {
            close $go_w;
            sysread $go_r, my $buf, 1;
            my $r = $self->_handshake_client({ port => $run->{port},
                                               sni => $run->{sni},
                                               stop => "$tmp/stop" });
            _write_json_lines("$tmp/handshakes", $r);
        });
    }

    for my $c (0 .. $run->{clients} - 1) {
        push @pids, _fork(sub {
            close $go_w;
            sysread $go_r, my $buf, 1;
            _write_json_lines("$tmp/client-$c", $self->_upload_client({
                first => $c, step => $run->{clients},
                uploads => $run->{uploads}, fixtures => $run->{fixtures},
                bodies => \%bodies, generation => $run->{generation},
                api => $run->{api} }));
        });
    }

    # all start at once, when the pipe closes

    close $go_r;
    close $go_w;

    my @failed_children;

    for my $pid (@pids) {
        waitpid $pid, 0;
        push @failed_children, "client $pid: status $?" if $?;
    }

    if (open my $fh, '>', "$tmp/stop") {
        close $fh;
    }

    if ($hs_pid) {
        waitpid $hs_pid, 0;
        push @failed_children, "handshakes $hs_pid: status $?" if $?;
    }

    $self->ok(!@failed_children, "$what: every client process ends well",
              @failed_children);
}


# Every answer is 200, or 412 generation_mismatch when If-Match was
# sent; each 200 tells the fixture sent and a generation of its own, and
# the generations of all follow the one before without a gap.  Returns
# the 200 answers.
sub _check_answers {
    my ($self, $what, $run, @answers) = @_;

    my $g0 = $run->{generation};
    my @bad = grep {
                  !($_->{status} == 200
                    || ($_->{status} == 412 && defined $_->{if_match}
                        && ($_->{error} // '') eq 'generation_mismatch'))
              } @answers;

    $self->ok(!@bad, "$what: every answer is 200, or 412 "
                     . "generation_mismatch after If-Match",
              scalar(@bad) . " other answer(s)",
              map { "upload $_->{index} ($_->{fixture}, If-Match "
                    . ($_->{if_match} // 'none') . "): status "
                    . "$_->{status}, body: $_->{body}" }
              @bad[0 .. ($#bad < 4 ? $#bad : 4)]);

    my @ok = grep { $_->{status} == 200 } @answers;
    my @wrong = grep { ($_->{sha256} // '') ne
                       fixture_sha256($_->{fixture})
                       || !defined $_->{generation} || !defined $_->{etag}
                       || $_->{generation} != $_->{etag} } @ok;

    $self->ok(!@wrong, "$what: each 200 answer tells the fixture sent, "
                       . "its JSON generation that of its ETag",
              map { "upload $_->{index} ($_->{fixture}): ETag "
                    . ($_->{etag} // '-') . ", body: $_->{body}" }
              @wrong[0 .. ($#wrong < 4 ? $#wrong : 4)]);

    my %count;
    $count{ $_->{generation} // '-' }++ for @ok;
    my @dup = grep { $count{$_} > 1 } sort keys %count;

    $self->ok(!@dup, "$what: each 200 answer has a generation of its own",
              map { "generation $_ answered $count{$_} times" } @dup);

    my @gens = sort { $a <=> $b } grep { /^[0-9]+$/ } keys %count;
    my @want = @ok ? ($g0 + 1 .. $g0 + @ok) : ();

    $self->is("@gens", "@want", "$what: the generations of the 200 "
                                . "answers follow $g0 without a gap");

    my $i412 = grep { $_->{status} == 412 } @answers;
    Test::More::note("$what: " . scalar(@ok) . " applied, $i412 "
                     . "generation_mismatch");

    return @ok;
}


# No handshake failed, and each was given a whole chain of one of the
# fixtures uploaded or of the certificate served before.
sub _check_handshakes {
    my ($self, $what, $run, $before) = @_;

    my ($hs) = _read_json_lines("$run->{tmp}/handshakes");
    $hs ||= { done => 0, failed => -1, errors => ['no result'],
              served => {} };

    my %allowed = map { served_fixture($_) => 1 } @{ $run->{fixtures} };
    $allowed{ cert_names(pem_shas($before->{certificate})) } = 1;

    my @odd = grep { !$allowed{$_} } sort keys %{ $hs->{served} };

    $self->ok($hs->{done} > 0, "$what: handshakes ran meanwhile",
              "$hs->{done} done");
    $self->is($hs->{failed}, 0, "$what: no handshake failed",
              @{ $hs->{errors} });
    $self->ok(!@odd, "$what: every handshake is given a whole chain "
                     . "of the ones uploaded",
              map { "$_ x$hs->{served}{$_}" } @odd);
    Test::More::note("$what: $hs->{done} handshakes");
}


# The last upload applied is what GET tells, what handshakes are given
# and, with store=, what the store holds.
sub _check_last {
    my ($self, $what, $args, $last) = @_;

    my $cur = $self->_api_get_quiet($args->{api}) || {};

    $self->is($cur->{generation}, $last->{generation},
              "$what: GET tells the highest generation answered");
    $self->is($cur->{sha256}, fixture_sha256($last->{fixture}),
              "$what: GET tells the certificate of the last upload "
              . "applied ($last->{fixture})");

    $self->step_handshake({ args => { count => $DEFAULT_COUNT,
                                      expect => $last->{fixture},
                                      port => $args->{port},
                                      sni => $args->{sni} } });

    if (defined $args->{store}) {
        my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR},
                                     $args->{store});
        my ($leaf) = pem_shas(slurp("$dir/current/certificate.pem"));

        $self->is(readlink("$dir/current"), "gen-$last->{generation}",
                  "$what: the store's current is the last generation");
        $self->is($leaf, fixture_sha256($last->{fixture}),
                  "$what: the store holds the last upload applied");
    }

    $self->_saw_answer($args, $last->{generation}, 1);
}


1;
