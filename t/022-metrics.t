# What is counted and shown: the palette_cert_metrics endpoint (Prometheus
# text format, OpenMetrics when asked), its exact counts after real
# handshakes and changes, its escaping, the $palette_cert_* variables
# (in an access log, add_header, map and return; a resumed session shows
# the certificate it was made under) and the expiry warnings.
#
# "--- metrics" lists lines that the endpoint's answer, fetched after the
# block's steps (with the block's Accept header), must hold, exactly; a
# line starting with "!" is a start no line of it may have.
# @sha256:FIXTURE@ stands for the fixture's SHA-256.  Every text-format
# answer fetched so is checked by promtool (Debian's prometheus package).

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api sha s_client check_hook);

use File::Path ();
use File::Temp ();
use IPC::Run ();

master_on();
workers(4);
no_shuffle();

my $CERTS = $ENV{TEST_NGINX_CERT_DIR};
my $TMP = File::Temp::tempdir(CLEANUP => 1);

# TEST 14, TEST 23 and TEST 25 start from an empty store, which the next
# test starts from again
File::Path::remove_tree("$ENV{TEST_NGINX_STORE_DIR}/warn-start",
                        "$ENV{TEST_NGINX_STORE_DIR}/old-meta",
                        "$ENV{TEST_NGINX_STORE_DIR}/no-vars");

my %defaults;

$defaults{http_config} = <<'_EOC_';
    log_format palette '$palette_cert_id|$palette_cert_generation|$palette_cert_sha256|$palette_cert_not_after|$ssl_session_reused';
    palette_cert_zone m:4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:S:1m;
        palette_cert m;
        access_log logs/palette.log palette;
        location / {
            return 200 "id=$palette_cert_id generation=$palette_cert_generation sha256=$palette_cert_sha256 not_after=$palette_cert_not_after\n";
        }
    }
_EOC_

$defaults{config} = PaletteCert::api_config('m', named => 1, metrics => 1);

$defaults{no_error_log} = "[error]\n[alert]\n[crit]\n";

PaletteCert::defaults(%defaults);

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run || $req_idx || $repeated_req_idx;

    my $name = $block->name;
    my $want = eval { $block->metrics };

    # after the block's steps: the metrics as they are now

    if (defined $want) {
        my $accept = (eval { $block->more_headers } || '') =~ /^Accept: (.*)$/m
                     ? $1 : undef;

        $body = metrics($accept);

        check_metrics($name, $body, $want);
        promtool($name, $body) if $body !~ /^# EOF$/m;
    }
});

check_hook();

run_tests();


sub check_metrics {
    my ($name, $body, $want) = @_;

    my %have = map { $_ => 1 } split /\n/, $body;

    for my $line (grep { /\S/ } split /\n/, $want) {
        $line =~ s/^\s+|\s+$//g;
        $line =~ s/\@sha256:([\w-]+)\@/sha($1)/ge;

        if ($line =~ s/^!//) {
            my @found = grep { index($_, $line) == 0 } keys %have;

            Test::More::ok(!@found, "$name - no line starts with $line")
                or Test::More::diag(join "\n", @found);
            next;
        }

        Test::More::ok($have{$line}, "$name - metrics have: $line")
            or Test::More::diag(join "\n",
                                grep { index($_, (split /[{ ]/, $line)[0]) == 0 }
                                keys %have);
    }
}


# promtool check metrics: the text is valid and lints clean.
sub promtool {
    my ($name, $body) = @_;

    my ($out, $err) = ('', '');

    my $ok = eval {
        IPC::Run::run(['promtool', 'check', 'metrics'], \$body, \$out, \$err,
                      IPC::Run::timeout(30));
    };

    Test::More::ok($ok, "$name - promtool check metrics finds nothing")
        or Test::More::diag($@ || "$out$err");
}


sub metrics {
    my ($accept) = @_;

    my ($out, $err) = ('', '');

    IPC::Run::run(['curl', '-sS', '-H', "Accept: " . ($accept || '*/*'),
                   "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/metrics"],
                  \undef, \$out, \$err, IPC::Run::timeout(10));

    return $out;
}


# One handshake with openssl s_client and one request for /: what
# PaletteCert::Check::s_client() returns, and the body, the certificate's
# variables.
sub handshake {
    my $r = s_client(@_);

    $r->{body} = $r->{out} =~ /^(id=.*)$/m ? $1 : '';

    return $r;
}


sub series {
    my ($text, $line) = @_;

    return $text =~ /^\Q$line\E (\S+)$/m ? $1 : undef;
}


# A session made under named certificate a resumes, with the variables
# of a, after the default changed; resumed handshakes are not counted.

sub check_resumed {
    my ($name) = @_;

    for my $tls ('1.2', '1.3') {
        my $sess = "$TMP/resumed-$tls.sess";

        my $before = series(metrics(),
                            'palette_cert_handshakes_total{zone="m",id="a"}');

        my $r = handshake(sni => 'a.test', tls => $tls, sess_out => $sess);

        like($r->{body}, qr/^id=a generation=\d+ sha256=/,
             "$name - TLS $tls: a full handshake for a.test shows id a");

        my $first = $r->{body};

        my ($status) = api('PUT', '/cert',
                           upload => $tls eq '1.2' ? 'leaf-a' : 'leaf-b');

        is($status, 200, "$name - TLS $tls: the default is replaced");

        for my $i (1 .. 4) {
            $r = handshake(sni => 'a.test', tls => $tls, sess_in => $sess);

            ok($r->{reused}, "$name - TLS $tls, try $i: the session resumes");
            is($r->{body}, $first, "$name - TLS $tls, try $i: the variables "
                                   . "show the certificate of the session");
        }

        my $after = series(metrics(),
                           'palette_cert_handshakes_total{zone="m",id="a"}');

        is($after - $before, 1, "$name - TLS $tls: the 4 resumed handshakes "
                                . "are not counted, the full one is");
    }
}


# The access log names the certificate of each connection across uploads.

sub check_access_log {
    my ($name) = @_;

    my $log = PaletteCert::_server_root() . '/logs/palette.log';

    open my $fh, '<', $log or die "$log: $!";
    my @lines = map { chomp; $_ } <$fh>;
    close $fh;

    my @want = (
        qr/^\|1\|[0-9a-f]{64}\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\.$/,
        qr/^\|2\|${\sha('leaf-a')}\|\d{4}-[^|]+Z\|\.$/,
        qr/^a\|3\|${\sha('named-a')}\|\d{4}-[^|]+Z\|\.$/,
        qr/^a\|4\|${\sha('named-a2')}\|\d{4}-[^|]+Z\|\.$/,
        qr/^\|2\|${\sha('leaf-a')}\|\d{4}-[^|]+Z\|\.$/,
    );

    is(scalar @lines, scalar @want, "$name - one log line per request")
        or diag(join "\n", @lines);

    for my $i (0 .. $#want) {
        like($lines[$i] // '', $want[$i], "$name - log line " . ($i + 1));
    }

    # not_after as the certificate says it

    my ($na) = $lines[2] =~ /\|([^|]+)\|\.$/;
    my $end = `openssl x509 -in $CERTS/named-a.crt -noout -enddate -dateopt iso_8601 2>/dev/null`;

    if ($end =~ /=(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)Z/) {
        is($na, "$1T$2Z", "$name - \$palette_cert_not_after is the leaf's");
    } else {
        $end = `openssl x509 -in $CERTS/named-a.crt -noout -enddate`;
        ok($na, "$name - \$palette_cert_not_after is set ($end)");
    }
}


sub check_last_change {
    my ($name) = @_;

    my $t = series(metrics(), 'palette_cert_last_change_seconds{zone="m"}');

    ok(defined $t && abs($t - time) < 120,
       "$name - the last change was a moment ago") or diag($t);
}


sub check_openmetrics_end {
    my ($name) = @_;

    like(metrics('application/openmetrics-text; version=1.0.0'),
         qr/\A# HELP palette_cert .*\npalette_cert_last_change_seconds\{zone="m"\} \d+\n# EOF\n\z/s,
         "$name - the first family is the info one, the answer ends in # EOF");
}


# A TLS 1.3 client whose key share the server does not take gets a
# HelloRetryRequest: its handshake is one, counted once.

sub check_retry {
    my ($name) = @_;

    my $key = 'palette_cert_handshakes_total{zone="m",id=""}';
    my $before = series(metrics(), $key);

    for my $i (1 .. 3) {
        my $in = "GET / HTTP/1.0\r\n\r\n";
        my ($out, $err) = ('', '');

        IPC::Run::run(['openssl', 's_client', '-connect',
                       "127.0.0.1:$ENV{TEST_NGINX_TLS_PORT}",
                       '-servername', 'console.example.com', '-tls1_3',
                       '-groups', 'X448:P-256', '-msg', '-ign_eof'],
                      \$in, \$out, \$err, IPC::Run::timeout(10));

        like($out, qr/^id= generation=1$/m, "$name - handshake $i answered");
        like($out, qr/HelloRetryRequest|ServerHello.*\n(?s:.*)ServerHello/,
             "$name - handshake $i had a HelloRetryRequest");
    }

    is(series(metrics(), $key) - $before, 3,
       "$name - three handshakes with a retry count three");
}


# A store written before meta files held the dates, subject and issuer:
# the meta file loses them, as such a store has it.

sub check_old_meta {
    my ($name) = @_;

    my $dir = "$ENV{TEST_NGINX_STORE_DIR}/old-meta/named/a/current";
    my $meta = "$dir/meta";

    open my $fh, '<', $meta or die "$meta: $!";
    my @lines = grep { !/^(not_before|subject|issuer) / } <$fh>;
    close $fh;

    ok(@lines >= 4, "$name - the meta file is there");

    open $fh, '>', $meta or die "$meta: $!";
    print $fh @lines;
    close $fh;
}


# add_header, map and return see the certificate of the connection.

sub check_add_header {
    my ($name) = @_;

    for my $case (['a.test', 'named a \d+', sha('named-a')],
                  ['console.example.com', 'default  1', '[0-9a-f]{64}'])
    {
        my ($sni, $body, $sha) = @$case;
        my ($out, $err) = ('', '');

        IPC::Run::run(['curl', '-sSk', '-D', '-',
                       '--resolve', "$sni:$ENV{TEST_NGINX_TLS_PORT}:127.0.0.1",
                       "https://$sni:$ENV{TEST_NGINX_TLS_PORT}/"],
                      \undef, \$out, \$err, IPC::Run::timeout(10));

        like($out, qr/^X-Cert-Sha256: $sha\r?$/mi,
             "$name - $sni: add_header has the certificate's SHA-256");
        like($out, qr/^$body$/m, "$name - $sni: map and return see its id");
    }
}


__DATA__

=== TEST 1: a fresh zone: every family with HELP and TYPE, the default's series, every result at 0, clean for promtool
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- metrics
# TYPE palette_cert_info gauge
# TYPE palette_cert_not_before_seconds gauge
# TYPE palette_cert_not_after_seconds gauge
# TYPE palette_cert_generation gauge
# TYPE palette_cert_handshakes_total counter
# TYPE palette_cert_sni_fallback_total counter
# TYPE palette_cert_changes_total counter
# TYPE palette_cert_last_change_seconds gauge
palette_cert_generation{zone="m",id=""} 1
palette_cert_handshakes_total{zone="m",id=""} 0
palette_cert_sni_fallback_total{zone="m"} 0
palette_cert_changes_total{zone="m",result="ok"} 0
palette_cert_changes_total{zone="m",result="expired"} 0
palette_cert_changes_total{zone="m",result="key_mismatch"} 0
palette_cert_changes_total{zone="m",result="name_conflict"} 0
palette_cert_last_change_seconds{zone="m"} 0
--- response_body_like: \npalette_cert_info\{zone="m",id="",sha256="[0-9a-f]{64}",subject="CN=[^"]+",issuer="CN=[^"]+",key_type="EC P-256",source="self-signed"\} 1\n



=== TEST 2: exact counts: every full handshake counts for the certificate it presented; an SNI no named certificate covers counts as a fallback
--- request
GET /metrics
--- steps
handshake count=7 expect=self-signed
handshake count=3 sni=none expect=self-signed
upload named-a id=a
upload named-b id=b
handshake count=5 sni=a.test expect=named-a
handshake count=2 tls=1.2 sni=a.test expect=named-a
handshake count=3 sni=B.test expect=named-b
handshake count=4 sni=zzz.test expect=self-signed
--- metrics
palette_cert_handshakes_total{zone="m",id=""} 14
palette_cert_handshakes_total{zone="m",id="a"} 7
palette_cert_handshakes_total{zone="m",id="b"} 3
palette_cert_sni_fallback_total{zone="m"} 11
palette_cert_changes_total{zone="m",result="ok"} 2
palette_cert_info{zone="m",id="a",sha256="@sha256:named-a@",subject="CN=a.test",issuer="CN=Palette Test Intermediate CA",key_type="EC P-256",source="uploaded"} 1
palette_cert_generation{zone="m",id="a"} 2
palette_cert_generation{zone="m",id="b"} 3



=== TEST 3: a resumed session is not counted, and its variables show the certificate it was made under, after other changes too
--- request
GET /metrics
--- steps
upload named-a id=a
--- check
resumed



=== TEST 4: changes are counted by result: ok and each error code; dry runs and reads are not; the time of the last accepted change
--- request
GET /metrics
--- steps
upload leaf-a
upload leaf-expired error=expired
upload leaf-a key=leaf-b error=key_mismatch
upload leaf-expired dry_run error=expired
upload leaf-b dry_run
upload named-a id=a
upload named-ac id=c error=name_conflict
delete id=nothing error=not_found
delete id=a
get
--- metrics
palette_cert_changes_total{zone="m",result="ok"} 3
palette_cert_changes_total{zone="m",result="expired"} 1
palette_cert_changes_total{zone="m",result="key_mismatch"} 1
palette_cert_changes_total{zone="m",result="name_conflict"} 1
palette_cert_changes_total{zone="m",result="not_found"} 1
palette_cert_changes_total{zone="m",result="malformed_request"} 0
!palette_cert_last_change_seconds{zone="m"} 0
!palette_cert_info{zone="m",id="a"
!palette_cert_info{zone="m",id="c"
--- check
last_change



=== TEST 5: a replacement keeps the id's series with the new values and goes on counting; a deletion takes every series of the id at once
--- request
GET /metrics
--- steps
upload named-a id=a
upload named-b id=b
handshake count=3 sni=a.test expect=named-a
handshake count=2 sni=b.test expect=named-b
upload named-a2 id=a
handshake count=4 sni=a.test expect=named-a2
delete id=b
--- metrics
palette_cert_info{zone="m",id="a",sha256="@sha256:named-a2@",subject="CN=a.test",issuer="CN=Palette Test Intermediate CA",key_type="EC P-256",source="uploaded"} 1
palette_cert_handshakes_total{zone="m",id="a"} 7
palette_cert_generation{zone="m",id="a"} 4
!palette_cert_info{zone="m",id="a",sha256="@sha256:named-a@"
!palette_cert_info{zone="m",id="b"
!palette_cert_not_before_seconds{zone="m",id="b"
!palette_cert_not_after_seconds{zone="m",id="b"
!palette_cert_generation{zone="m",id="b"
!palette_cert_handshakes_total{zone="m",id="b"
palette_cert_handshakes_total{zone="m",id=""} 0



=== TEST 6: label values are escaped: a subject with quotes and a backslash
--- request
GET /metrics
--- steps
upload named-quote id=quote
upload leaf-a
--- metrics
palette_cert_info{zone="m",id="quote",sha256="@sha256:named-quote@",subject="CN=Quote \\\"Q\\\" \\\\ Back",issuer="CN=Palette Test Intermediate CA",key_type="EC P-256",source="uploaded"} 1
palette_cert_info{zone="m",id="",sha256="@sha256:leaf-a@",subject="CN=console.example.com",issuer="CN=Palette Test Intermediate CA",key_type="EC P-256",source="uploaded"} 1



=== TEST 7: OpenMetrics when the Accept header asks for it: info and counter families by their names, units, "# EOF" at the end
--- request
GET /metrics
--- more_headers
Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1
--- steps
upload named-a id=a
handshake count=2 sni=a.test expect=named-a
--- response_headers
Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8
--- metrics
# TYPE palette_cert info
# TYPE palette_cert_handshakes counter
# TYPE palette_cert_sni_fallback counter
# TYPE palette_cert_changes counter
# TYPE palette_cert_not_after_seconds gauge
# UNIT palette_cert_not_after_seconds seconds
# UNIT palette_cert_last_change_seconds seconds
palette_cert_handshakes_total{zone="m",id="a"} 2
!# TYPE palette_cert_info
!# TYPE palette_cert_handshakes_total
--- check
openmetrics_end



=== TEST 8: the text format when OpenMetrics is refused (q=0) or not asked for
--- request
GET /metrics
--- more_headers
Accept: application/openmetrics-text; q=0, text/plain
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- metrics
# TYPE palette_cert_info gauge
!# EOF



=== TEST 9: the variables in an access log across uploads: the default, a new default, a named certificate, its replacement
--- request
GET /metrics
--- steps
handshake count=1 expect=self-signed
upload leaf-a
handshake count=1 expect=leaf-a
upload named-a id=a
handshake count=1 sni=a.test expect=named-a
upload named-a2 id=a
handshake count=1 sni=a.test expect=named-a2
handshake count=1 sni=b.test expect=leaf-a
--- check
access_log



=== TEST 10: the variables in add_header, map and return; empty on a connection no zone served
--- http_config
    palette_cert_zone m:4m;
    map $palette_cert_id $which {
        ""       default;
        default  named;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert m;
        location / {
            add_header X-Cert-Sha256 $palette_cert_sha256;
            return 200 "$which $palette_cert_id $palette_cert_generation\n";
        }
    }
--- config
    location /cert { palette_cert_api m; }
    location = /plain {
        return 200 "[$palette_cert_id][$palette_cert_generation][$palette_cert_sha256][$palette_cert_not_after]\n";
    }
--- request
GET /plain
--- steps
upload named-a id=a
handshake count=4 sni=a.test expect=named-a
handshake count=4 expect=self-signed
--- response_body
[][][][]
--- check
add_header



=== TEST 11: a change that brings a certificate within expire_warn (30 days by default) is warned of at once, once, naming zone, ID, subject and not_after
--- request
GET /metrics
--- steps
upload named-soon id=soon
upload named-a id=a
--- grep_error_log eval
qr/palette_cert zone "m": certificate "[^"]*"[^,]* expires in \d+ days: subject "[^"]*", not_after [\dT:Z-]+/
--- grep_error_log_out eval
qr/\Apalette_cert zone "m": certificate "soon" expires in (9|10) days: subject "CN=soon.test", not_after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\z/



=== TEST 12: the default too, and a replacement that is valid for long is not warned of
--- request
GET /metrics
--- steps
upload leaf-soon
upload named-soon2 id=soon
--- grep_error_log eval
qr/palette_cert zone "m": certificate "[^"]*"[^,]* expires in \d+ days: subject "[^"]*"/
--- grep_error_log_out eval
qr/\Apalette_cert zone "m": certificate "" \(the default\) expires in (9|10) days: subject "CN=console.example.com"\n\z/



=== TEST 13: expire_warn= sets how long before: 5d warns of nothing 10 days off
--- http_config
    palette_cert_zone m:4m expire_warn=5d;
--- config
    location /cert { palette_cert_api m; }
--- request
GET /cert/
--- steps
upload named-soon id=soon
upload leaf-soon
--- no_error_log
expires in
[error]



=== TEST 14: at start, one worker of four warns once of each certificate within expire_warn; the store is kept for the next test
--- http_config
    palette_cert_zone m:4m store=$TEST_NGINX_STORE_DIR/warn-start;
--- config
    location /cert { palette_cert_api m; }
--- request
GET /cert/
--- steps
upload named-soon id=soon
upload leaf-soon
--- grep_error_log eval
qr/certificate "[^"]*"[^,]* expires in/
--- grep_error_log_out eval
qr/\A(certificate "soon" expires in\ncertificate "" \(the default\) expires in\n|certificate "" \(the default\) expires in\ncertificate "soon" expires in\n)\z/



=== TEST 15: (the same store) a start warns at once, from one worker
--- http_config
    palette_cert_zone m:4m store=$TEST_NGINX_STORE_DIR/warn-start;
--- config
    location /cert { palette_cert_api m; }
--- request
GET /cert/
--- wait: 1.5
--- grep_error_log eval
qr/certificate "[^"]*"[^,]* expires in/
--- grep_error_log_out eval
qr/\A(certificate "soon" expires in\ncertificate "" \(the default\) expires in\n|certificate "" \(the default\) expires in\ncertificate "soon" expires in\n)\z/



=== TEST 16: a reload that changes the zone's size keeps the counts
--- http_config
    palette_cert_zone m:4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert m;
        location / { return 200 "ok\n"; }
    }
--- request
GET /metrics
--- steps
upload named-a id=a
handshake count=3 sni=a.test expect=named-a
handshake count=2 sni=zzz.test expect=self-signed
upload leaf-expired error=expired
reload from=m:4m to=m:5m
handshake count=1 sni=a.test expect=named-a
--- metrics
palette_cert_handshakes_total{zone="m",id="a"} 4
palette_cert_handshakes_total{zone="m",id=""} 2
palette_cert_sni_fallback_total{zone="m"} 2
palette_cert_changes_total{zone="m",result="ok"} 1
palette_cert_changes_total{zone="m",result="expired"} 1



=== TEST 17: the endpoint answers GET and HEAD only
--- request
POST /metrics
--- error_code: 405



=== TEST 18: nginx -t: a bad or repeated expire_warn=, palette_cert_metrics with an argument or beside palette_cert_api
--- request
GET /metrics
--- nginx_t
    palette_cert_zone a:1m expire_warn=soon;
--- nginx_t_error
\[emerg\].*invalid parameter "expire_warn=soon" in "palette_cert_zone"



=== TEST 19: nginx -t: expire_warn= given twice
--- request
GET /metrics
--- nginx_t
    palette_cert_zone a:1m expire_warn=1d expire_warn=2d;
--- nginx_t_error
\[emerg\].*duplicate parameter "expire_warn=2d" in "palette_cert_zone"



=== TEST 20: nginx -t: palette_cert_metrics takes no argument
--- request
GET /metrics
--- nginx_t
    server { location = /m { palette_cert_metrics on; } }
--- nginx_t_error
\[emerg\].*invalid number of arguments in "palette_cert_metrics" directive



=== TEST 21: nginx -t: palette_cert_metrics and palette_cert_api in one location
--- request
GET /metrics
--- nginx_t
    palette_cert_zone a:1m;
    server { location /m { palette_cert_api a; palette_cert_metrics; } }
--- nginx_t_error
\[emerg\].*"palette_cert_metrics" directive cannot be used in a location of "palette_cert_api"



=== TEST 22: a handshake with a HelloRetryRequest is counted once
--- http_config
    palette_cert_zone m:4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ecdh_curve prime256v1;
        palette_cert m;
        location / {
            return 200 "id=$palette_cert_id generation=$palette_cert_generation\n";
        }
    }
--- request
GET /metrics
--- check
retry



=== TEST 23: a named certificate stored with a meta file of before its dates, subject and issuer were kept (made so here)
--- http_config
    palette_cert_zone m:4m store=$TEST_NGINX_STORE_DIR/old-meta;
--- request
GET /metrics
--- steps
upload named-a id=a
--- check
old_meta



=== TEST 24: (the same store) a start reads it from the certificate: its metrics are whole
--- http_config
    palette_cert_zone m:4m store=$TEST_NGINX_STORE_DIR/old-meta;
--- request
GET /metrics
--- metrics
palette_cert_info{zone="m",id="a",sha256="@sha256:named-a@",subject="CN=a.test",issuer="CN=Palette Test Intermediate CA",key_type="EC P-256",source="uploaded"} 1
palette_cert_generation{zone="m",id="a"} 2
!palette_cert_not_before_seconds{zone="m",id="a"} 0
!palette_cert_not_after_seconds{zone="m",id="a"} 0



=== TEST 25: a configuration that names none of the variables counts all the same
--- http_config
    palette_cert_zone m:4m store=$TEST_NGINX_STORE_DIR/no-vars;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:S:1m;
        palette_cert m;
        location / {
            return 200 "no variables\n";
        }
    }
--- request
GET /metrics
--- steps
handshake count=4 expect=self-signed
upload named-a id=a
handshake count=3 sni=a.test expect=named-a
handshake count=2 tls=1.2 sni=zzz.test expect=self-signed
--- metrics
palette_cert_handshakes_total{zone="m",id=""} 6
palette_cert_handshakes_total{zone="m",id="a"} 3
palette_cert_sni_fallback_total{zone="m"} 6
palette_cert_changes_total{zone="m",result="ok"} 1
