package PaletteCert::Snapshot;

# The step snapshot, a method of PaletteCert::Run, which inherits it from
# here: what a refused change must leave as it was, recorded, then read
# again and compared (the API's answer and ETag, the certificates a
# handshake is given, the list, every entry of a store folder).

use strict;
use warnings;

use File::Spec;

use PaletteCert::API qw($DEFAULT_API);
use PaletteCert::Fixtures qw(cert_names);
use PaletteCert::Store qw(tree tree_diff);
use PaletteCert::TLS qw($DEFAULT_SNI tls_connect peer);
use PaletteCert::Util qw(short);


# snapshot record [store=DIR] [api=/P] [port=ENV] [sni=NAME] | snapshot same
#
# What a rejected upload must leave as it was: GET's whole answer and its
# ETag, the certificates a handshake is given, and, with store=, every
# entry of the store folder $TEST_NGINX_STORE_DIR/DIR (type, mode, mtime,
# link target, size and SHA-256 of the bytes).
sub step_snapshot {
    my ($self, $step) = @_;

    if ($step->{pos}[0] eq 'record') {
        $self->{snapshot} = $self->_snapshot('snapshot record',
                                             $step->{args},
                                             $step->{flags}{list});
        $self->{snapshot}{no_folder_mtime} = $step->{flags}{no_folder_mtime}
            if $self->{snapshot};
        return;
    }

    if ($step->{flags}{no_folder_mtime}) {
        $self->ok(0, 'snapshot same: no_folder_mtime',
                  'no_folder_mtime goes with "snapshot record"');
        return;
    }

    my $old = $self->{snapshot};

    if (!$old) {
        $self->ok(0, 'snapshot same: a snapshot was recorded',
                  'use "snapshot record" first');
        return;
    }

    my $what = 'snapshot same';
    my $new = $self->_snapshot($what, $old->{args}, $old->{list}) or return;

    $self->is($new->{status}, $old->{status}, "$what: the same GET status");
    $self->is($new->{etag}, $old->{etag}, "$what: the same ETag");
    $self->ok($new->{body} eq $old->{body},
              "$what: GET answers the very same JSON",
              "before: " . short($old->{body}),
              "now:    " . short($new->{body}));

    if (defined $old->{list}) {
        $self->ok($new->{list} eq $old->{list},
                  "$what: the list is the very same",
                  "before: " . short($old->{list}),
                  "now:    " . short($new->{list}));
    }
    $self->is($new->{served}, $old->{served},
              "$what: a handshake is given the same certificates");

    return if !$old->{store};

    my ($before, $now) = ($old->{store}, $new->{store});

    # a write attempted and undone leaves its trace in the folders' mtime

    if ($old->{no_folder_mtime}) {
        ($before, $now) = map { my $t = $_;
                                +{ map { my $v = $t->{$_};
                                         $v =~ s/^(folder .*?) mtime \S+$/$1/;
                                         ($_ => $v) } keys %$t } }
                          $before, $now;
    }

    my @diff = tree_diff($before, $now);

    $self->ok(!@diff,
              "$what: nothing in store $old->{args}{store} changed",
              @diff > 20 ? (@diff[0 .. 19], '...') : @diff);
}


# With id=, GET /ID, which may be 404 (the certificate a rejected upload
# must not make); with $list, also the whole list.
sub _snapshot {
    my ($self, $what, $args, $list) = @_;

    my $uri = $self->_resource($args);
    my $res = $self->_api_request('GET', $uri, {});

    if (defined $args->{id}) {
        return undef if !$self->ok($res->{status} =~ /^(?:200|404)$/,
                                   "$what: GET $uri answers 200 or 404",
                                   "status $res->{status}");

    } elsif (!$self->_check_status("$what: GET", $res, 200)) {
        return undef;
    }

    my $list_body;

    if ($list) {
        my $api = $args->{api} || $DEFAULT_API;
        my $l = $self->_api_request('GET', "$api/?limit=1000", {});

        return undef if !$self->_check_status("$what: GET $api/", $l, 200);

        $list_body = $l->{body} // '';
    }

    my $sni = defined $args->{sni} ? $args->{sni} : $DEFAULT_SNI;
    my $port = $self->_step_port($what, $args) // return undef;
    my ($sock, $err) = tls_connect(port => $port, tls => 'any',
                                   sni => $sni eq 'none' ? undef : $sni);

    return undef if !$self->ok($sock, "$what: TLS handshake succeeds", $err);

    my $peer = peer($sock);

    $sock->close(SSL_fast_shutdown => 1);

    my $snap = {
        args   => $args,
        list   => $list_body,
        status => $res->{status},
        body   => $res->{body} // '',
        etag   => $res->{etag},
        served => $peer ? cert_names(@{ $peer->{chain_sha} }) : '(none)',
    };

    if (defined $args->{store}) {
        my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR},
                                     $args->{store});

        return undef if !$self->ok(-d $dir, "$what: the store $dir exists");

        $snap->{store} = tree($dir);
    }

    return $snap;
}


1;
