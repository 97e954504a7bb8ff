# nginx's own answers in the API location (400, 413, 500), replaced by the
# API's JSON, reach a client that reads slowly, and an answer to HEAD gets
# none; the private key a refused or replaced upload carries is not left
# in the memory of nginx once the request is over, over plain HTTP, TLS
# and HTTP/2; uploads over HTTP/2 work.
#
# Sections of this file's own, checked after the block's last request:
#
#   --- client eval       [PORTVAR, TLS, REQUEST, RCVBUF, PAUSE]: one more
#                         request to 127.0.0.1:$PORTVAR ("server_port": the
#                         server of "--- config"), over TLS when TLS is
#                         true, by a client whose receive buffer is RCVBUF
#                         bytes (0: the system's) and that reads nothing for
#                         PAUSE seconds; the answer must be complete within
#                         10 s of that.  REQUEST is sent whole or, as a
#                         list, in parts 0.3 s apart
#   --- client_answer     "STATUS ERROR" expected of that answer ("STATUS -"
#                         for HEAD: no body)
#   --- h2 eval           [[URL, STATUS, CURL ARGS...], ...]: requests over
#                         HTTP/2 with curl, each expecting STATUS
#   --- memory_lacks eval the strings that no writable mapping of the nginx
#                         processes may hold, read from /proc/PID/mem (as
#                         root; skipped for another user who cannot)

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use IO::Socket::SSL;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes ();

no_shuffle();

my $IO_TIMEOUT = 10;

# the upload files curl sends, removed when the test ends
our @keep;

# 64 KiB of response headers: more than the send buffer and the slow
# client's window hold together, so the answer cannot be written at once

my $padding = join '', map {
    "        add_header X-Padding-$_ \"" . ('x' x 2000) . "\" always;\n"
} 1 .. 32;

my %defaults;

$defaults{http_config} = <<"_EOC_";
    palette_cert_zone console:1m names=console.example.com,127.0.0.1;
    server {
        listen 127.0.0.1:\$TEST_NGINX_TLS_PORT ssl http2;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\\n"; }
        location = /cert { palette_cert_api console; }
    }
    server {
        listen 127.0.0.1:\$TEST_NGINX_TLS_PORT2 sndbuf=4k;
        location = /cert {
            palette_cert_api console;
            client_max_body_size 1k;
            send_timeout 60s;
$padding        }
    }
_EOC_

$defaults{config} = PaletteCert::api_config('console');

PaletteCert::defaults(%defaults);

Test::Nginx::Socket::add_response_body_check(\&check_sections);


# The JSON upload of FIXTURE: its chain, its key and the test CA.

sub upload_body {
    return PaletteCert::Body::upload_json(@_);
}


# The request "PUT /cert" of that upload with the extra HEADERS, as its
# header and its body.

sub upload_parts {
    my ($fixture, @headers) = @_;

    my $body = upload_body($fixture);

    return ["PUT /cert HTTP/1.1\r\nHost: localhost\r\n"
            . join('', map { "$_\r\n" } @headers)
            . "Content-Length: " . length($body) . "\r\n"
            . "Connection: close\r\n\r\n", $body];
}


# The upload in a file, for curl.

sub upload_file {
    my ($fixture) = @_;

    my $tmp = File::Temp->new(SUFFIX => '.json');
    print {$tmp} upload_body($fixture);
    $tmp->flush;

    push @main::keep, $tmp;

    return $tmp->filename;
}


# The base64 lines of FIXTURE's private key: what must not stay in memory.

sub key_lines {
    my ($fixture) = @_;

    return [grep { /^[A-Za-z0-9+\/=]{40,}$/ }
            split /\r?\n/, PaletteCert::fixture("$fixture.key")];
}


sub check_sections {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run || ($repeated_req_idx || 0) != 0;

    my $request = $block->request;
    my $last = ref $request eq 'ARRAY' ? $#$request : 0;

    return if ($req_idx || 0) != $last;

    my $name = $block->name;

    if (my $client = eval { $block->client }) {
        check_client($name, $client, $block->client_answer);
    }

    if (my $h2 = eval { $block->h2 }) {
        check_h2($name, $h2);
    }

    if (my $strings = eval { $block->memory_lacks }) {
        check_memory($name, $strings);
    }
}


sub check_client {
    my ($name, $client, $expect) = @_;

    my ($portvar, $tls, $request, $rcvbuf, $pause) = @$client;
    my ($status, $error) = split ' ', $expect;

    my $port = $portvar eq 'server_port' ? server_port_for_client()
                                         : $ENV{$portvar};
    my $sock = IO::Socket::INET->new(Proto => 'tcp');

    if ($rcvbuf) {
        setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $rcvbuf)
            or die "SO_RCVBUF: $!";
    }

    my $addr = Socket::pack_sockaddr_in($port,
                                        Socket::inet_aton('127.0.0.1'));

    if (!connect($sock, $addr)) {
        Test::More::fail("$name - client connects to \$$portvar: $!");
        return;
    }

    if ($tls) {
        IO::Socket::SSL->start_SSL($sock, SSL_verify_mode => SSL_VERIFY_NONE,
                                   SSL_hostname => 'console.example.com')
            or die "TLS: $IO::Socket::SSL::SSL_ERROR";
    }

    my @parts = ref $request ? @$request : ($request);

    while (defined(my $part = shift @parts)) {
        print {$sock} $part;
        $sock->flush;
        Time::HiRes::sleep(0.3) if @parts;
    }

    Time::HiRes::sleep($pause) if $pause;

    my $start = Time::HiRes::time();
    my $head_only = !ref $request && $request =~ /^HEAD /;
    my $answer = read_answer($sock, $start + $IO_TIMEOUT, $head_only);

    close $sock;

    my $took = sprintf '%.1f', Time::HiRes::time() - $start;

    if (!Test::More::ok(defined $answer->{body},
                        "$name - client: the whole answer within "
                        . "$IO_TIMEOUT s"))
    {
        Test::More::diag("got $answer->{got} bytes in $took s, then "
                         . ($answer->{eof} ? "the connection closed"
                                           : "nothing more"));
        return;
    }

    Test::More::is($answer->{status}, $status, "$name - client: status");

    if ($head_only) {
        Test::More::is($answer->{body}, '', "$name - client: no body");
        return;
    }

    Test::More::like($answer->{body}, qr/^\{"error":"\Q$error\E",/,
                     "$name - client: error $error");
}


# Reads an answer with Content-Length until DEADLINE: {status, body} when
# whole, {got, eof} otherwise.  The answer to HEAD has no body: whatever
# comes in the second after its header is its body.

sub read_answer {
    my ($sock, $deadline, $head_only) = @_;

    my $data = '';
    my $eof = 0;
    my $head_end;
    my $sel = IO::Select->new($sock);

    for (;;) {
        if ($data =~ /^HTTP\/1\.[01] (\d+)[^\r\n]*\r\n(.*?)\r\n\r\n/s) {
            my ($status, $head) = ($1, $2);
            my $start = $+[0];

            if ($head_only && !defined $head_end) {
                $head_end = $start;
                $deadline = Time::HiRes::time() + 1;
            }

            if ($head_only && ($eof || $deadline <= Time::HiRes::time())) {
                return { status => $status, body => substr($data, $start) };
            }

            if (!$head_only && $head =~ /^Content-Length:\s*(\d+)/mi
                && length($data) - $start >= $1)
            {
                return { status => $status,
                         body => substr($data, $start, $1) };
            }
        }

        last if $eof;

        my $left = $deadline - Time::HiRes::time();

        if ($left <= 0) {
            next if defined $head_end;
            last;
        }

        if ($sock->can('pending') && $sock->pending
            || $sel->can_read($left))
        {
            my $n = sysread($sock, my $buf, 65536);

            if (!$n) {
                last if !defined $n && $!{EAGAIN};
                $eof = 1;
                next;
            }

            $data .= $buf;
        }
    }

    return { got => length $data, eof => $eof };
}


sub check_h2 {
    my ($name, $requests) = @_;

    for my $h2 (@$requests) {
        my ($url, $status, @args) = @$h2;

        $url =~ s/\$(\w+)/$ENV{$1}/g;

        open my $out, '-|', 'curl', '-sS', '-k', '-o', '/dev/null',
            '-w', '%{http_code} %{http_version}', '--max-time', $IO_TIMEOUT,
            @args, $url
            or die "curl: $!";
        my $got = join '', <$out>;
        close $out;

        Test::More::is($got, "$status 2",
                       "$name - HTTP/2 $url answers $status");
    }
}


# Every readable private or shared mapping of the nginx processes: the
# master, and the workers when there are any.

sub check_memory {
    my ($name, $strings) = @_;

    my @pids = nginx_pids();

    if (!Test::More::ok(@pids, "$name - nginx processes found")) {
        return;
    }

    for my $pid (@pids) {
        my $found = search_memory($pid, $strings);

        if (!defined $found && $> != 0) {
            SKIP: {
                Test::More::skip("$name - the memory of $pid is readable "
                                 . "by root only here: $!", 1);
            }
            next;
        }

        if (!defined $found) {
            Test::More::fail("$name - memory of $pid readable: $!");
            next;
        }

        Test::More::ok(!@$found, "$name - no key line in the memory of "
                                 . "nginx process $pid")
            or Test::More::diag("found in: " . join(', ', @$found));
    }
}


sub nginx_pids {
    my $master = PaletteCert::Nginx::master_pid() or return ();

    return ($master, PaletteCert::Nginx::worker_pids($master));
}


# The mappings of PID that hold one of STRINGS (names or addresses);
# undef when its memory cannot be read.  A mapping is read a few MiB at a
# time; mappings of over 1 GiB are reserved address space, not memory
# nginx wrote (AddressSanitizer's shadow of the whole address space).

my $CHUNK = 4 * 1024 * 1024;
my $RESERVED = 1024 * 1024 * 1024;

sub search_memory {
    my ($pid, $strings) = @_;

    open my $maps, '<', "/proc/$pid/maps" or return undef;
    open my $mem, '<:raw', "/proc/$pid/mem" or return undef;

    my @found;
    my $overlap = 0;

    for my $s (@$strings) {
        $overlap = length($s) - 1 if length($s) - 1 > $overlap;
    }

    while (my $line = <$maps>) {
        my ($from, $to, $perms, $path) = $line
            =~ /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)(?:\s+\S+){3}\s*(.*)$/;

        next if !defined $perms || $perms !~ /^rw/;
        next if $path =~ /^\[v/;

        my ($start, $end);

        {
            no warnings 'portable';

            ($start, $end) = (hex $from, hex $to);
        }

        next if $end - $start > $RESERVED;

        push @found, ($path || "anonymous") . " at $from"
            if mapping_holds($mem, $start, $end, $strings, $overlap);
    }

    close $mem;
    close $maps;

    return \@found;
}


sub mapping_holds {
    my ($mem, $start, $end, $strings, $overlap) = @_;

    my $tail = '';

    for (my $at = $start; $at < $end; $at += $CHUNK) {
        my $want = $end - $at < $CHUNK ? $end - $at : $CHUNK;
        my $data = '';

        return 0 if !sysseek($mem, $at, 0)
                    || !defined sysread($mem, $data, $want);

        $data = $tail . $data;

        for my $s (@$strings) {
            return 1 if index($data, $s) >= 0;
        }

        $tail = length($data) > $overlap ? substr($data, -$overlap)
                                         : $data;
    }

    return 0;
}


run_tests();

__DATA__

=== TEST 1: a 413 too_large from client_max_body_size reaches a client that reads slowly
--- request
GET /cert
--- client eval
["TEST_NGINX_TLS_PORT2", 0,
 "PUT /cert HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
 4096, 1]
--- client_answer
413 too_large
--- no_error_log
[alert]
client timed out



=== TEST 2: a 400 malformed_request from a broken chunked body reaches a client that reads slowly
--- request
GET /cert
--- client eval
["TEST_NGINX_TLS_PORT2", 0,
 "PUT /cert HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
 4096, 1]
--- client_answer
400 malformed_request
--- no_error_log
[alert]
client timed out



=== TEST 3: the key of an upload refused 415, sent with the header, is not left in memory
--- request eval
"PUT /cert\n" . main::upload_body('leaf-b')
--- more_headers
Content-Type: text/plain
--- error_code: 415
--- response_body_like chomp
"error":"unsupported_media_type"
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 4: the key of a change refused 403 cross_origin is not left in memory
--- request eval
"PUT /cert\n" . main::upload_body('leaf-b')
--- more_headers
Content-Type: application/json
Origin: https://evil.example
--- error_code: 403
--- response_body_like chomp
"error":"cross_origin"
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 5: the key of an upload refused 415, sent after the header, is not left in memory
--- request
GET /cert
--- client eval
["server_port", 0, main::upload_parts('leaf-b', 'Content-Type: text/plain'), 0, 0]
--- client_answer
415 unsupported_media_type
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 6: the key of an upload refused 415 over TLS is left neither in nginx's buffers nor in OpenSSL's
--- request
GET /cert
--- client eval
["TEST_NGINX_TLS_PORT", 1,
 CORE::join('', @{ main::upload_parts('leaf-b', 'Content-Type: text/plain') }), 0, 0]
--- client_answer
415 unsupported_media_type
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 7: the key of a change refused 403 over TLS, its body sent after the header, is not left in memory
--- request
GET /cert
--- client eval
["TEST_NGINX_TLS_PORT", 1,
 main::upload_parts('leaf-b', 'Content-Type: application/json',
              'Origin: https://evil.example'), 0, 0]
--- client_answer
403 cross_origin
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 8: a key replaced by another upload is not left in memory
--- request eval
["PUT /cert\n" . main::upload_body('leaf-a'), "PUT /cert\n" . main::upload_body('leaf-b')]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- memory_lacks eval
main::key_lines('leaf-a')
--- no_error_log
[error]



=== TEST 9: uploads over HTTP/2 are answered as over HTTP/1.1: 200, 415 and 403
--- request
GET /cert
--- h2 eval
[["https://127.0.0.1:\$TEST_NGINX_TLS_PORT/cert", 200, '--http2',
  '-X', 'PUT', '-H', 'Content-Type: application/json',
  '--data-binary', '@' . main::upload_file('leaf-a')],
 ["https://127.0.0.1:\$TEST_NGINX_TLS_PORT/cert", 415, '--http2',
  '-X', 'PUT', '-H', 'Content-Type: text/plain',
  '--data-binary', '@' . main::upload_file('leaf-b')],
 ["https://127.0.0.1:\$TEST_NGINX_TLS_PORT/cert", 403, '--http2',
  '-X', 'PUT', '-H', 'Content-Type: application/json',
  '-H', 'Origin: https://evil.example',
  '--data-binary', '@' . main::upload_file('leaf-b')]]
--- no_error_log
[error]



=== TEST 10: the key of an upload refused 415 over HTTP/2 is not left in memory
--- request
GET /cert
--- h2 eval
[["https://127.0.0.1:\$TEST_NGINX_TLS_PORT/cert", 415, '--http2',
  '-X', 'PUT', '-H', 'Content-Type: text/plain',
  '--data-binary', '@' . main::upload_file('leaf-b')]]
--- memory_lacks eval
main::key_lines('leaf-b')
--- no_error_log
[error]



=== TEST 11: a 413 too_large answering HEAD gets no body, also when the header is written in parts
--- request
GET /cert
--- client eval
["TEST_NGINX_TLS_PORT2", 0,
 "HEAD /cert HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
 4096, 1]
--- client_answer
413 -
--- no_error_log
[alert]
client timed out
