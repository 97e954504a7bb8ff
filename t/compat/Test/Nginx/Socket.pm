package Test::Nginx::Socket;

# like the original, make lib/ and inc/ of the current directory loadable
use lib 'lib';
use lib 'inc';

# Inherit from Test::Base (without Spiffy's source filter): block parsing,
# filters, "use Test::Nginx::Socket 'no_plan'" / "tests => N" and the
# exports of Test::Base and Test::More all come from there, as in the original.
use Test::Base -base;

use strict;
use warnings;

our $VERSION = '0.29_compat';

use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(EAGAIN);
use Test::LongString;
use Time::HiRes qw(sleep);

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test
    repeat_each config_preamble worker_connections
    master_process_enabled
    no_long_string workers master_on master_off
    log_level no_shuffle no_root_location use_hup
    server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler
    add_response_body_check
);

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

$Test::Nginx::Util::RunTestHelper = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog = \&check_error_log;
$Test::Nginx::Util::CheckShutdownErrorLog = \&check_shutdown_error_log;

sub set_http_config_filter ($) { $Test::Nginx::Util::FilterHttpConfig = shift }

# The check is called as
#   $check->($block, $body, $req_idx, $repeated_req_idx, $dry_run)
# for every response, right after the built-in response body checks, while
# nginx is still running.
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return like($got, $expected, $desc) if ref $expected && ref $expected eq 'Regexp';
    return is($got, $expected, $desc) if $NoLongString;
    return is_string($got, $expected, $desc);
}

sub no_ending { Test::More->builder->no_ending(1) }

# ---------------------------------------------------------------------------
# Building requests
# ---------------------------------------------------------------------------

# Splits "METHOD [URI [VERSION]]\nbody" into its parts and the sizes of the
# original text around them.
sub parse_request ($$) {
    my ($name, $text) = @_;
    my ($first, $content) = ($text // '') =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if !$first;

    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url "
                    . "[version]]' but got \"$first\".");

    my %r = (
        before_method => length $1, method => $2, after_method => length $3,
        url => $5, url_size => defined $5 ? length $5 : 0,
        after_url => defined $6 ? length $6 : 0,
        http_ver => $8, http_ver_size => defined $8 ? length $8 : 0,
        after_http_ver => (defined $9 ? length $9 : 0) + length($10 // ''),
        content => $content, content_size => length $content,
    );
    $r{url} //= '/';
    $r{http_ver} //= 'HTTP/1.1';
    return \%r;
}

# Applies edits ([length of original text, replacement or undef to delete])
# to the request split in packets, keeping the packet boundaries: a
# replacement spanning a boundary is cut at it, text that cannot be mapped
# onto the original stays in the packet where the edit ends.
sub apply_edits ($$) {
    my ($packets, $edits) = @_;
    my @in = @$packets;
    my @todo = map { [@$_] } @$edits;
    my @out;
    my $pkt = shift @in;
    my $pos = 0;

    while (defined $pkt) {
        my $edit = $todo[0];
        if (!$edit) {
            push @out, $pkt;
            ($pkt, $pos) = (shift(@in), 0);
            next;
        }
        my ($len, $repl) = @$edit;
        my $avail = length($pkt) - $pos;

        if ($len <= $avail) {
            substr($pkt, $pos, $len) = $repl // '';
            $pos += length($repl // '');
            shift @todo;
            next;
        }

        # the edit goes on in the next packet
        $edit->[0] -= $avail;
        if (defined $repl) {
            my $head = substr($repl, 0, $avail);
            substr($pkt, $pos) = $head;
            $edit->[1] = substr($repl, length $head);
            push @out, $pkt;
        } elsif ($pos > 0) {
            push @out, $pkt;    # (the original keeps the packet's tail here)
        }
        ($pkt, $pos) = (shift(@in), 0);
    }
    return \@out;
}

# Adds Host, Connection and Content-Length (the body is then trimmed of
# leading and trailing white space) and fixes the request line.
sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn_header, $packets) = @_;
    my $r = parse_request($name, join '', map { $_ // '' } @$packets);

    my $content = $r->{content};
    my $len_header = '';
    if (!$is_chunked && $content ne '' && $more_headers !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn_header\r\n" if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    return apply_edits($packets, [
        [$r->{before_method}, undef],
        [length $r->{method}, "$r->{method} "],
        [$r->{after_method}, undef],
        [$r->{url_size}, "$r->{url} "],
        [$r->{after_url}, undef],
        [$r->{http_ver_size}, "$r->{http_ver}\r\n"],
        [$r->{after_http_ver}, undef],
        [0, $headers],
        [$r->{content_size}, $content],
    ]);
}

# "Key: value" lines (lines starting with # are comments) to header text;
# also tells whether "Transfer-Encoding: chunked" is among them.
sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $is_chunked) = ('');
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val //= '';
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

sub more_headers_for ($$$) {
    my ($name, $more_headers, $i) = @_;
    return parse_more_headers($more_headers) if ref $more_headers ne 'ARRAY';
    my $hdr = $more_headers->[$i];
    bail_out("--- more_headers lacks data for the ${i}th request") if !defined $hdr;
    return parse_more_headers($hdr);
}

# One request given as a string or as an array of packets (strings or
# { value => ..., delay_before => seconds }).
sub build_one_request ($$$) {
    my ($name, $one_req, $hdr_info) = @_;
    my ($hdr, $is_chunked) = @$hdr_info;

    if (!ref $one_req) {
        my $built = build_request_from_packets($name, $hdr, $is_chunked, 'close', [$one_req]);
        return [{ value => $built->[0] }];
    }
    bail_out("$name - Invalid syntax. $one_req should be a string or an array of packets.")
        if ref $one_req ne 'ARRAY';

    my @values = map {
        !ref $_ ? $_
        : ref $_ eq 'HASH' ? $_->{value}
        : bail_out("$name - Invalid syntax. $_ should be a string or hash with value.")
    } @$one_req;
    my $built = build_request_from_packets($name, $hdr, $is_chunked, 'close', \@values);

    my @packets;
    for my $idx (0 .. $#$built) {
        my $orig = $one_req->[$idx];
        push @packets, ref $orig eq 'HASH'
            ? { %$orig, value => $built->[$idx] }
            : { value => $built->[$idx] };
    }
    return \@packets;
}

# Returns the list of requests of the block, each a list of packets.
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [[map { { value => $_ } } @$raw]] if ref $raw eq 'ARRAY';
        return [[{ value => $raw }]];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;   # leading comments
    }
    my $more_headers = $block->more_headers || '';

    if (!ref $request) {
        return [build_one_request($name, $request,
                                  [more_headers_for($name, $more_headers, 0)])];
    }
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if ref $request ne 'ARRAY';

    my @reqs;
    for my $i (0 .. $#$request) {
        push @reqs, build_one_request($name, $request->[$i],
                                      [more_headers_for($name, $more_headers, $i)]);
    }
    return \@reqs;
}

# ---------------------------------------------------------------------------
# The HTTP client: raw non-blocking socket, reads until the server closes
# ---------------------------------------------------------------------------

sub connect_to_server ($$$) {
    my ($name, $addr, $timeout) = @_;
    my $port = $ServerPortForClient;
    my $total = $TotalConnectingTimeouts ? 20 : 50;
    my $err;

    for my $tries (1 .. $total + 1) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                         Proto => 'tcp', Timeout => $timeout);
        return $sock if $sock;
        $err = $!;
        last if $tries > $total;

        my $wait = (sleep_time() + sleep_time() * $tries) * $tries / 2;
        $wait = 1 if $wait >= 1;
        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$port: $err\n";
            warn "\tRetry connecting after $wait sec\n" if $tries + 1 <= $total;
        }
        sleep $wait;
    }

    my $msg = "$name - Can't connect to $addr:$port: $err (aborted)\n";
    if (++$TotalConnectingTimeouts < 3) {
        no_ending();
        fail($msg);
    } else {
        bail_out($msg);
    }
    return undef;
}

# Returns 1 to wait for more, 2 when everything is sent, undef on error.
sub write_available ($) {
    my $ctx = shift;
    while (1) {
        my $rest = length($ctx->{buf}) - $ctx->{off};
        if ($rest > 0) {
            my $n = syswrite $ctx->{sock}, $ctx->{buf}, $rest, $ctx->{off};
            if (!defined $n) {
                return 1 if $! == EAGAIN;
                my $err = "write failed: $!";
                warn "$err\n";
                $ctx->{resp} ||= $err;
                return undef;
            }
            $ctx->{off} += $n;
            next;
        }
        my $next = shift @{ $ctx->{bits} } or return 2;
        ($ctx->{buf}, $ctx->{off}) = ($next->{value} // '', 0);
        my $delay = $next->{delay_before} // $ctx->{middle_delay};
        sleep $delay if $delay;
    }
}

# Returns 1 to wait for more, undef at end of stream or on error.
sub read_available ($) {
    my $ctx = shift;
    while (1) {
        my $n = sysread $ctx->{sock}, my $buf, 1024;
        if (!defined $n) {
            return 1 if $! == EAGAIN;
            warn "WARNING: $ctx->{name} - HTTP response read failure: $!\n";
            return undef;
        }
        return undef if $n == 0;
        $ctx->{resp} .= $buf;
    }
}

# Sends one request and returns (raw response, is a HEAD request).  The
# timeout applies to each wait for the socket, not to the whole exchange.
sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$req;
    my $head_req = (join '', map { $_->{value} // '' } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $sock = connect_to_server($name, $addr, $timeout) or return (undef, $head_req);
    $sock->blocking(0);

    my $first = shift @bits;
    my $ctx = { resp => '', bits => \@bits, buf => $first->{value} // '', off => 0,
                middle_delay => $middle_delay, sock => $sock, name => $name };
    my $readers = IO::Select->new($sock);
    my $writers = IO::Select->new($sock);

    while ($readers->count || $writers->count) {
        my ($readable, $writable) = IO::Select->select($readers, $writers, undef, $timeout);
        if (!$readable && !$writable) {
            socket_timed_out($block, $sock);
            last;
        }
        if (@$readable && !read_available($ctx)) {
            $readers->remove($sock);
            $writers->remove($sock);
            close $sock;
            last;
        }
        next if !@$writable || !$writers->count;
        my $rc = write_available($ctx);
        if (!$rc) {
            $readers->remove($sock);
            $writers->remove($sock);
            close $sock;
        } elsif ($rc == 2) {
            shutdown_socket($block, $sock);
            $writers->remove($sock);
        }
    }
    return ($ctx->{resp}, $head_req);
}

sub shutdown_socket ($$) {
    my ($block, $sock) = @_;
    my $how = $block->shutdown;
    return if !defined $how;
    $how = 1 if $how =~ /^$/s;
    shutdown $sock, $how;
}

sub socket_timed_out ($$) {
    my ($block, $sock) = @_;
    close $sock;
    if (defined $block->abort) {
        sleep 0.005;
        return;
    }
    no_ending();
    fail("ERROR: client socket timed out - " . $block->name . "\n");
}

# ---------------------------------------------------------------------------
# Parsing responses
# ---------------------------------------------------------------------------

# Returns (HTTP::Response, raw header text, extra bytes after the body).
sub parse_response ($$$) {
    my ($name, $raw_resp, $head_req) = @_;

    my $raw_headers = $raw_resp =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw_resp);
    my $code = $res->code;
    if ($code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my $left;

    if (defined $enc && $enc eq 'chunked') {
        my ($decoded, $rest) = decode_chunked($name, $res->content // '');
        return if !defined $decoded;
        $res->content($decoded);
        $left = $rest;
    } elsif (defined $len && $len ne '' && $len >= 0) {
        my $raw = $res->content;
        if (length $raw < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                 length $raw, "\n" if !$head_req;
        } elsif (length $raw > $len) {
            $left = substr $raw, $len;
            $res->content(substr $raw, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# Returns (decoded body, bytes after the last chunk); fails a test and
# returns nothing on malformed data.
sub decode_chunked ($$) {
    my ($name, $raw) = @_;
    my $decoded = '';
    while (1) {
        if ($raw =~ /\G0[ \t]*\r\n\r\n/gc) {
            my $left = $raw =~ /\G(.+)/gcs ? $1 : undef;
            return ($decoded, $left);
        }
        if ($raw =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
            my $size = hex $1;
            my $start = pos $raw;
            if (length($raw) - $start < $size) {
                no_ending();
                fail("$name - invalid chunked data received "
                     . "(not enought octets for the data section)");
                return;
            }
            $decoded .= substr $raw, $start, $size;
            pos($raw) = $start + $size;
            if ($raw !~ /\G\r\n/gc) {
                no_ending();
                fail("$name - invalid chunked data received (expected CRLF).");
                return;
            }
            next;
        }
        no_ending();
        if ($raw =~ /\G(.+)/gcs) {
            fail("$name - invalid chunked body received: $1");
        } else {
            fail("$name - no last chunk found - $raw");
        }
        return;
    }
}

# ---------------------------------------------------------------------------
# Running one block: send each request and check each response
# ---------------------------------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") if !@$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my $need_array = @$reqs > 1;
    my $res;

    for my $req_idx (0 .. $#$reqs) {
        my ($raw_resp, $head_req) = $dry_run
            ? ("200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 0)
            : send_request($reqs->[$req_idx], $block->raw_request_middle_delay,
                           $timeout, $block);
        $raw_resp //= '';

        if (!defined $block->ignore_response) {
            my ($raw_headers, $left);
            if (defined $block->http09) {
                ($res, $raw_headers) = (HTTP::Response->new(200, 'OK', [], $raw_resp), '');
            } else {
                ($res, $raw_headers, $left) = parse_response($name, $raw_resp, $head_req);
            }
            warn_extra_bytes($name, $left) if $left;

            check_error_code($block, $res, $dry_run, $req_idx, $need_array);
            check_raw_response_headers($block, $raw_headers, $dry_run, $req_idx, $need_array);
            check_response_headers($block, $res, $raw_headers, $dry_run, $req_idx, $need_array);
            transform_response_body($block, $res, $req_idx);
            check_response_body($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array);
        }

        if ($req_idx < $#$reqs) {
            # error.log is also checked between the requests of the block
            sleep $block->wait if $block->wait;
            check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
            check_access_log($block, $dry_run, $repeated_req_idx)
                if !defined $block->ignore_response;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
    check_access_log($block, $dry_run, $repeated_req_idx) if !defined $block->ignore_response;
}

sub warn_extra_bytes ($$) {
    my ($name, $left) = @_;
    $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
    warn "WARNING: $name - unexpected extra bytes after last chunk in response: \"$left\"\n";
}

# With several requests, expected values must be arrays (one per request).
sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    my $is_array = ref $value && ref $value eq 'ARRAY';
    if ($need_array) {
        return $value->[$req_idx] if $is_array;
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    return $value if !$is_array;
    bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.") if $req_idx != 0;
    return $value->[0];
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    SKIP: {
        skip "$name - tests skipped due to $dry_run", 1 if $dry_run;
        if (defined $block->error_code_like) {
            my $val = get_indexed_value($name, $block->error_code_like, $req_idx, $need_array);
            like($code, qr/$val/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            is($code, get_indexed_value($name, $block->error_code, $req_idx, $need_array),
               "$name - status code ok");
        } else {
            is($code, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    for my $kind (qw(like unlike)) {
        my $section = "raw_response_headers_$kind";
        my $value = $block->$section;
        next if !defined $value;
        SKIP: {
            skip "$name - $section - tests skipped due to $dry_run", 1 if $dry_run;
            my $expected = get_indexed_value($name, $value, $req_idx, $need_array);
            if ($kind eq 'like') {
                like($raw_headers, qr/$expected/s, "$name - raw resp headers like");
            } else {
                unlike($raw_headers, qr/$expected/s, "$name - raw resp headers unlike");
            }
        }
    }
}

# Like parse_headers() (a later duplicate replaces the value of an earlier
# one), but keeping the order of the lines.
sub header_pairs ($) {
    my $text = shift;
    my $headers = parse_headers($text);
    my (%seen, @pairs);
    for my $line (split /^/, $text) {
        $line =~ s/^\s+|\s+$//g;
        my $key = $line =~ s/^!\s*// ? $line : (split /\s*:\s*/, $line, 2)[0] // '';
        push @pairs, [$key, $headers->{$key}] if !$seen{$key}++;
    }
    return @pairs;
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $spec = get_indexed_value($name, $block->response_headers, $req_idx, $need_array);
        for my $pair (header_pairs($spec)) {
            my ($key, $val) = @$pair;
            if (!defined $val) {
                SKIP: {
                    skip "$name - response_headers - tests skipped due to $dry_run", 1 if $dry_run;
                    unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                           "$name - header $key not present in the raw headers");
                }
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = ($res ? $res->header($key) : undef) // '';
            SKIP: {
                skip "$name - response_headers - tests skipped due to $dry_run", 1 if $dry_run;
                is($actual, $val, "$name - header $key ok");
            }
        }
    } elsif (defined $block->response_headers_like) {
        my $spec = get_indexed_value($name, $block->response_headers_like, $req_idx, $need_array);
        for my $pair (header_pairs($spec)) {
            my ($key, $val) = @$pair;
            my $actual = ($res ? $res->header($key) : undef) // '';
            $val //= '';
            SKIP: {
                skip "$name - response_headers_like - tests skipped due to $dry_run", 1 if $dry_run;
                like($actual, qr/^$val$/, "$name - header $key like ok");
            }
        }
    }
}

my %BodyFilters = (
    md5_hex  => \&Digest::MD5::md5_hex,
    sha1_hex => \&Digest::SHA::sha1_hex,
    uc => sub { uc $_[0] }, lc => sub { lc $_[0] },
    ucfirst => sub { ucfirst $_[0] }, lcfirst => sub { lcfirst $_[0] },
    length => sub { length $_[0] },
);

sub run_body_filter ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;
    return $filter->($content) if ref $filter eq 'CODE';
    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only supports "
                 . "subroutine reference values and string values");
    }
    my $code = $BodyFilters{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $code->($content);
}

# --- response_body_filters: names (md5_hex sha1_hex uc lc ucfirst lcfirst
# length), code refs, an array of them, or one array per request.
sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    return if !$res || !defined $res->content;
    my $filters = $block->response_body_filters;
    return if !defined $filters;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        bail_out("$name - the --- response_body_filters two-dimensional array "
                 . "only be like [[uc], [lc]] not [[uc], lc]")
            if grep { ref $_ ne 'ARRAY' } @$filters;
        $filters = $filters->[$req_idx];
        bail_out("$name - the ---response_body_filters two-dimensional array "
                 . "unmatch the specified request($req_idx)") if !defined $filters;
    }

    my $content = $res->content;
    $content = run_body_filter($block, $_, $content)
        for ref $filters eq 'ARRAY' ? @$filters : ($filters);
    $res->content($content);
}

sub strip_te_lines ($) {
    my $content = shift;
    return $content if !defined $content;
    $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
    $content =~ s/^Connection: TE, close\r\n//gms;
    return $content;
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = strip_te_lines($res ? $res->content : undef);
    my $reqs = "(repeated req $repeated_req_idx, req $req_idx)";

    if (defined $block->response_body) {
        my $expected = get_indexed_value($name, $block->response_body, $req_idx, $need_array);
        Encode::from_to($expected, 'UTF-8', $block->charset) if $block->charset;
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        SKIP: {
            skip "$name - response_body - tests skipped due to $dry_run", 1 if $dry_run;
            if (ref $expected) {
                like($content, $expected, "$name - response_body - like $reqs");
            } elsif ($NoLongString) {
                is($content, $expected, "$name - response_body - response is expected $reqs");
            } else {
                is_string($content, $expected, "$name - response_body - response is expected $reqs");
            }
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $section = "response_body_$type";
        my $pat = get_indexed_value($name, $block->$section, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content) // '';
        SKIP: {
            skip "$name - $section - tests skipped due to $dry_run", 1 if $dry_run;
            my $desc = "$name - $section - response is expected ($summary)";
            if ($type eq 'like') {
                like($content, qr/$pat/s, $desc);
            } else {
                unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx, $repeated_req_idx, $dry_run);
    }
}

# ---------------------------------------------------------------------------
# error.log and access.log checks
# ---------------------------------------------------------------------------

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub value_contains {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }
    return undef;
}

# A section value as a list of patterns: one substring per line, a qr//,
# or an array of substrings and qr//s.
sub pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# Every pattern must match some line: one test per pattern.
sub expect_patterns (%) {
    my %a = @_;
    my $pats = pattern_list($a{patterns});
    for my $line (@{ $a{lines} || [] }) {
        for my $pat (@$pats) {
            next if !defined $pat || !line_matches($line, $pat);
            SKIP: {
                skip $a{skip_msg}, 1 if $a{dry_run};
                pass("$a{name} - pattern \"$pat\" matches a line in $a{file}$a{suffix}");
            }
            undef $pat;
        }
    }
    for my $pat (grep { defined } @$pats) {
        SKIP: {
            skip $a{skip_msg}, 1 if $a{dry_run};
            fail("$a{name} - pattern \"$pat\" should match a line in $a{file}$a{suffix}");
        }
    }
}

# No pattern may match: one failure per matching line, one pass per
# pattern that matched nothing.
sub reject_patterns (%) {
    my %a = @_;
    my $pats = pattern_list($a{patterns});
    my $lines = $a{lines} || [];
    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (grep { defined } @$pats) {
            next if !line_matches($line, $pat);
            no_ending() if $found{$pat}++;
            SKIP: {
                skip "$a{skip_msg} ($line)", 1 if $a{dry_run};
                my ($ln, $p) = (fmt_str($line), fmt_str($pat));
                my $msg = "$a{name} - pattern \"$p\" should not match any line in "
                          . "$a{file} but matches line \"$ln\"$a{suffix}";
                if ($a{context}) {
                    my $end = min($i + 10, @$lines - 1);
                    $msg .= "\n" . join '', @$lines[$i + 1 .. $end - 1];
                }
                fail($msg);
            }
        }
    }
    for my $pat (grep { defined && !$found{$_} } @$pats) {
        SKIP: {
            skip $a{skip_msg}, 1 if $a{dry_run};
            pass("$a{name} - pattern \"" . fmt_str($pat) . "\" does not match a line in $a{file}$a{suffix}");
        }
    }
}

sub check_grep_error_log ($$$$) {
    my ($block, $dry_run, $repeated_req_idx, $lines_ref) = @_;
    my $name = $block->name;
    my $grep_pat = $block->grep_error_log;

    if (!defined $grep_pat) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined")
            if defined $block->grep_error_log_out;
        return;
    }
    $grep_pat = $grep_pat->[$repeated_req_idx] if ref $grep_pat eq 'ARRAY';
    return if !defined $grep_pat;

    my $expected = $block->grep_error_log_out;
    bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
        if !defined $expected;
    $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';

    SKIP: {
        skip "$name - error_log - tests skipped due to $dry_run", 1 if $dry_run;
        $$lines_ref ||= error_log_data();
        my $matched = '';
        for my $line (@{ $$lines_ref || [] }) {
            if ((ref $grep_pat && $line =~ /$grep_pat/) || $line =~ /\Q$grep_pat\E/) {
                my $m = $&;
                $matched .= "$m\n" if $m !~ /\n/;
            }
        }
        my $desc = "$name - grep_error_log_out (req $repeated_req_idx)";
        if (ref $expected eq 'Regexp') {
            like($matched, $expected, $desc);
        } elsif ($NoLongString) {
            is($matched, $expected, $desc);
        } else {
            is_string($matched, $expected, $desc);
        }
    }
}

# Checks the part of error.log written since the previous check.  Besides
# the sections, [alert], [crit] and [emerg] lines only print warnings (unless
# a section mentions them) and "Assertion ... failed" lines fail.
sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_for = ('writing a global lua variable' => 1, '[alert' => 1,
                    '[crit' => 1, '[emerg' => 1);

    check_grep_error_log($block, $dry_run, $repeated_req_idx, \$lines);

    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next if !defined $pats;
        for my $kind (keys %warn_for) {
            $warn_for{$kind} = 0 if value_contains($pats, $kind);
        }
        $lines ||= error_log_data();
        my $check = $section eq 'error_log' ? \&expect_patterns : \&reject_patterns;
        $check->(name => $name, patterns => $pats, lines => $lines,
                 dry_run => $dry_run, file => 'error.log', context => 1,
                 suffix => " (req $repeated_req_idx)",
                 skip_msg => "$name - $section - tests skipped due to $dry_run");
    }

    if (!$dry_run) {
        for my $kind ('writing a global lua variable', '[alert', '[crit', '[emerg') {
            next if !$warn_for{$kind};
            $lines ||= error_log_data();
            my $re = $kind =~ /^\[/ ? qr/\Q$kind\E\]/ : qr/\Q$kind\E/;
            for my $line (grep { /$re/ } @{ $lines || [] }) {
                warn "WARNING: $name - " . fmt_str($line) . "\n";
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        next if $line !~ /\bAssertion .*?failed\b/;
        no_ending();
        chomp(my $l = $line);
        fail("$name - $l\n");
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;
    for my $section (qw(access_log no_access_log)) {
        my $pats = $block->$section;
        next if !defined $pats;
        $lines ||= access_log_data();
        my $check = $section eq 'access_log' ? \&expect_patterns : \&reject_patterns;
        $check->(name => $name, patterns => $pats, lines => $lines,
                 dry_run => $dry_run, file => 'access.log', context => 1,
                 suffix => " (req $repeated_req_idx)",
                 skip_msg => "$name - $section - tests skipped due to $dry_run");
    }
}

# --- shutdown_error_log (and --- no_shutdown_error_log, only checked
# together with it): error.log lines written after the last check of the
# block, checked when its nginx is stopped (next restart or end of file).
sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines;

    if (defined(my $pats = $block->no_shutdown_error_log)) {
        $lines ||= error_log_data();
        reject_patterns(name => $name, patterns => $pats, lines => $lines,
                        dry_run => $dry_run, file => 'error.log', suffix => '',
                        skip_msg => "$name - no_shutdown_error_log - tests skipped due to $dry_run");
    }

    $lines ||= error_log_data();
    expect_patterns(name => $name, patterns => $block->shutdown_error_log,
                    lines => $lines, dry_run => $dry_run, file => 'error.log',
                    suffix => '',
                    skip_msg => "$name - shutdown_error_log - tests skipped due to dry_run");

    for my $line (@{ $lines || [] }) {
        next if $line !~ /\bAssertion .*? failed\.$/;
        no_ending();
        chomp(my $l = $line);
        fail("$name - $l");
    }
}

1;
__END__

=encoding utf-8

=head1 NAME

Test::Nginx::Socket - compatible subset of openresty's Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';

    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello"; }
    --- request
    GET /t
    --- response_body chomp
    hello
    --- no_error_log
    [error]

=head1 DESCRIPTION

A small replacement for L<Test::Nginx::Socket> from the C<test-nginx>
distribution, to be put in C<@INC> (C<prove -I DIR>) only when the real
module is not installed.  It follows the original's semantics (the same
generated F<nginx.conf>, test names, number of tests, environment
variables and quirks), so test files behave the same under both.  It is a
subclass of L<Test::Base>, which parses the blocks and provides the
filters (C<eval>, C<chomp>, ...) and the C<ONLY>, C<SKIP> and C<LAST>
sections.

Blocks are run in random order unless C<no_shuffle()> is called or
C<TEST_NGINX_NO_SHUFFLE> is set.  nginx is restarted (and the server root
F<t/servroot> recreated) for every block that has a C<--- config> section;
a block without one reuses the running nginx of the previous block.

=head2 Exported functions

C<run_tests>, C<run_test>, C<plan>, C<blocks> (and the rest of
L<Test::Base> and L<Test::More>), C<repeat_each>, C<master_on>,
C<master_off>, C<master_process_enabled>, C<workers>, C<worker_connections>,
C<log_level>, C<no_shuffle>, C<no_long_string>, C<no_root_location>,
C<config_preamble>, C<env_to_nginx>, C<server_name>, C<server_addr>,
C<server_port>, C<server_port_for_client>, C<server_root>, C<html_dir>,
C<timeout>, C<no_nginx_manager>, C<check_accum_error_log>,
C<add_block_preprocessor>, C<add_response_body_check>,
C<add_cleanup_handler>, C<bail_out>, C<is_str>.  C<use_hup> is accepted but
does nothing.

=head2 Sections

Server: C<config>, C<http_config>, C<main_config>, C<post_main_config>,
C<server_name>, C<log_level>, C<error_log_file>, C<user_files>,
C<must_die>, C<init>, C<skip_eval>, C<skip_nginx>.

Requests: C<request> (string, array of requests, array of packets),
C<more_headers> (string or array), C<raw_request>,
C<raw_request_middle_delay>, C<timeout>, C<abort>, C<shutdown>, C<wait>,
C<server_addr_for_client>, C<ignore_response>, C<http09>.

Checks: C<error_code>, C<error_code_like>, C<response_headers>,
C<response_headers_like>, C<raw_response_headers_like>,
C<raw_response_headers_unlike>, C<response_body>, C<response_body_like>,
C<response_body_unlike>, C<response_body_filters>, C<charset>,
C<error_log>, C<no_error_log>, C<grep_error_log>, C<grep_error_log_out>,
C<access_log>, C<no_access_log>, C<shutdown_error_log>,
C<no_shutdown_error_log>.

Any other section name is allowed and readable from the block object.
Blocks using a section of the original that is not implemented here
(C<pipelined_requests>, C<tcp_listen>, C<udp_listen>, C<stap>, C<http2>,
C<http3>, C<todo>, ...) make the run bail out instead of passing silently.

=head2 Environment

C<TEST_NGINX_BINARY>, C<TEST_NGINX_PORT>, C<TEST_NGINX_SERVER_PORT>,
C<TEST_NGINX_CLIENT_PORT>, C<TEST_NGINX_SERVROOT>,
C<TEST_NGINX_LOAD_MODULES>, C<TEST_NGINX_NO_CLEAN>, C<TEST_NGINX_SLEEP>,
C<TEST_NGINX_TIMEOUT>, C<TEST_NGINX_NO_SHUFFLE>, C<TEST_NGINX_LOG_LEVEL>,
C<TEST_NGINX_MASTER_PROCESS>, C<TEST_NGINX_WORKER_USER>,
C<TEST_NGINX_EVENT_TYPE>, C<TEST_NGINX_REUSE_PORT>,
C<TEST_NGINX_RANDOMIZE>, C<TEST_NGINX_ERROR_LOG>,
C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>, C<TEST_NGINX_FORCE_RESTART_ON_TEST>,
C<TEST_NGINX_IGNORE_MISSING_DIRECTIVES>, C<TEST_NGINX_NO_NGINX_MANAGER>.
C<$TEST_NGINX_*> in the config sections and user files is replaced by the
environment value; an undefined one bails out the whole run.

Not supported: the HUP, valgrind, systemtap, check-leak, benchmark, HTTP/2
and HTTP/3 modes.

=head1 SEE ALSO

L<Test::Base>, L<https://github.com/openresty/test-nginx>

=cut
