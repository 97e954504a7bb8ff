package PaletteCert::Stall;

# The step stall, for t/021-stall.t (a method of PaletteCert::Run, which
# inherits it from here): an upload whose validation waits on a named
# pipe, while handshakes go to the same worker.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

use PaletteCert::API qw($DEFAULT_API);
use PaletteCert::Body qw(json_body);
use PaletteCert::Fixtures qw(fixture fixture_sha256);
use PaletteCert::TLS qw(read_response);
use PaletteCert::Util qw($IO_TIMEOUT);


# stall FIXTURE fifo=ENV [count=N] [port=ENV] [sni=..|none] [gone]
sub step_stall {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $fixture = $step->{pos}[0];
    my $fifo = $ENV{ $args->{fifo} };
    my $what = "stall $fixture";
    $what .= ' gone' if $step->{flags}{gone};

    if (!defined $fifo || !-p $fifo) {
        $self->ok(0, "$what: fifo", "\$$args->{fifo} is not a named pipe");
        return;
    }

    my $before = $self->_known_generation;
    my ($up, $err) = $self->_send_upload($fixture);

    return if !$self->ok($up, "$what: sends the upload", $err);

    # held open with nothing written, the pipe keeps its reader waiting

    my $pipe = _fifo_writer($fifo);

    return if !$self->ok($pipe, "$what: the upload's validation reads the "
                         . "pipe", "no reader opened $fifo");

    $self->step_handshake({ args => {
        count  => $args->{count} || 10,
        expect => 'current',
        map { defined $args->{$_} ? ($_ => $args->{$_}) : () } qw(port sni),
    } });

    $self->ok(!IO::Select->new($up)->can_read(0),
              "$what: the upload is not answered while it is validated");

    $up->close if $step->{flags}{gone};

    my $root = fixture('ca.pem');

    $self->ok(syswrite($pipe, $root) == length $root,
              "$what: the root is written into the pipe", "$!");
    close $pipe;

    my $j;

    if ($step->{flags}{gone}) {
        $j = $self->_applied_after($before) || {};

    } else {
        my $res = _read_answer($up);

        $self->_check_status($what, $res, 200);
        $self->_check_api_answer($what, $res);
        $j = $res->{json} || {};
    }

    $self->is($j->{sha256}, fixture_sha256($fixture),
              "$what: $fixture is applied");

    if (defined $before) {
        $self->is($j->{generation}, $before + 1,
                  "$what: generation grows by one");
    }

    $self->{generation}{ $self->_api_key } = $j->{generation}
        if defined $j->{generation};

    $self->_saw_zone_generation({}, $j->{generation});
}


# Sends the upload of a fixture without "ca" on a connection of its own,
# and returns the connection without reading the answer.
sub _send_upload {
    my ($self, $fixture) = @_;

    my $body = json_body(certificate => fixture("$fixture.chain.pem"),
                         key         => fixture("$fixture.key"));

    my $request = "PUT $DEFAULT_API HTTP/1.1\r\nHost: localhost\r\n"
                  . "Content-Type: application/json\r\n"
                  . "Content-Length: " . length($body) . "\r\n"
                  . "Connection: close\r\n\r\n" . $body;

    my $sock = IO::Socket::INET->new(PeerHost => '127.0.0.1',
                                     PeerPort => $self->{api_port},
                                     Timeout  => $IO_TIMEOUT);

    return (undef, "connect to the API: $!") if !$sock;

    my $off = 0;

    while ($off < length $request) {
        my $n = syswrite($sock, $request, length($request) - $off, $off);
        return (undef, "write: $!") if !defined $n;
        $off += $n;
    }

    return ($sock, undef);
}


# The answer on a connection, as _api_request() returns one.
sub _read_answer {
    my ($sock) = @_;

    my $res = eval {
        local $SIG{ALRM} = sub { die "timed out\n" };
        alarm $IO_TIMEOUT;
        my $r = read_response($sock, 0);
        alarm 0;
        $r;
    } || { status => 599, headers => {}, body => $@ };

    alarm 0;
    $sock->close;

    $res->{json} = eval { JSON::PP->new->utf8->decode($res->{body}) };
    $res->{etag} = $res->{headers}{etag};
    $res->{cc} = $res->{headers}{'cache-control'};

    return $res;
}


# Opens a named pipe for writing once a reader has opened it.
sub _fifo_writer {
    my ($fifo) = @_;

    for (1 .. $IO_TIMEOUT * 20) {
        if (sysopen(my $fh, $fifo, POSIX::O_WRONLY | POSIX::O_NONBLOCK)) {
            return $fh;
        }

        return undef if $! != POSIX::ENXIO;

        Time::HiRes::sleep(0.05);
    }

    return undef;
}


# What GET tells once a change after generation $before is applied.
sub _applied_after {
    my ($self, $before) = @_;

    my $cur;

    for (1 .. $IO_TIMEOUT * 20) {
        $cur = $self->_api_get_quiet;

        last if $cur && defined $before && $cur->{generation} > $before;

        Time::HiRes::sleep(0.05);
    }

    return $cur;
}


1;
