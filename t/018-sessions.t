# TLS sessions under the zone's certificate.  A session made before a
# change is never resumed once the change was answered 200, on any worker,
# by session id or by ticket, TLS 1.2 and 1.3; the first session made
# after it is.  Sessions never cross servers that verify client
# certificates differently.  A certificate that a server's TLS settings
# refuse is refused at upload, and a reload that would make the served one
# unusable is refused, the running configuration staying.
#
# Sessions are handled by openssl s_client (-sess_out, -sess_in), which
# says "New" or "Reused" for each handshake.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api sha s_client error_log check_hook);

use File::Temp ();

master_on();
workers(2);
no_shuffle();

my $TMP = File::Temp::tempdir(CLEANUP => 1);

# A ticket key file that two servers share, as a fleet shares one.

$ENV{TEST_NGINX_TICKET_KEY} = "$TMP/ticket.key";
system('openssl', 'rand', '-out', "$TMP/ticket.key", '80') == 0
    or die "openssl rand failed\n";

# "--- sessions NAME" runs check_NAME below.
check_hook('sessions');

run_tests();


# The error log, as one text.

sub error_text {
    return join '', error_log();
}


# A session from the public server, made with a client certificate its CA
# signed, is offered to the admin server, which requires one of another CA.

sub check_cross {
    my ($name, $tls) = @_;

    my $sess = "$TMP/cross-$tls.sess";

    my $r = s_client(port => $ENV{TEST_NGINX_TLS_PORT}, tls => $tls,
                      client => 'other-admin-client', sess_out => $sess);

    is($r->{status}, 200, "$name - public server answers");
    like($r->{out}, qr/^verify=SUCCESS/m,
         "$name - public server verified the client certificate");

    $r = s_client(port => $ENV{TEST_NGINX_TLS_PORT}, tls => $tls,
                   sess_in => $sess);

    ok($r->{reused}, "$name - the session resumes on the public server");

    for my $i (1 .. 4) {
        $r = s_client(port => $ENV{TEST_NGINX_TLS_PORT2}, tls => $tls,
                       sess_in => $sess);

        ok(!$r->{reused}, "$name - admin server, try $i: not resumed");
        is($r->{status}, 400,
           "$name - admin server, try $i: no client certificate, 400");
    }
}


sub check_cross12 { check_cross($_[0], '1.2') }
sub check_cross13 { check_cross($_[0], '1.3') }


# A session made under the certificate, then an upload: the saved
# session is offered again and again, so that both workers see it.

sub check_change {
    my ($name, $tls) = @_;

    my $old = "$TMP/old-$tls.sess";
    my $new = "$TMP/new-$tls.sess";
    my $port = $ENV{TEST_NGINX_TLS_PORT};

    my $r = s_client(port => $port, tls => $tls, sess_out => $old);
    is($r->{status}, 200, "$name - first handshake");

    my $before = $r->{sha256};

    $r = s_client(port => $port, tls => $tls, sess_in => $old);
    ok($r->{reused}, "$name - the session resumes before the change");

    my ($status, $body) = api('PUT', '/cert', upload => 'leaf-b');
    is($status, 200, "$name - upload answered 200") or diag($body);

    my $leaf = sha('leaf-b');

    isnt($before, $leaf, "$name - the certificate changed");

    for my $i (1 .. 6) {
        $r = s_client(port => $port, tls => $tls, sess_in => $old);

        ok(!$r->{reused}, "$name - old session, try $i: not resumed");
        is($r->{sha256}, $leaf,
           "$name - old session, try $i: the new certificate is presented");
    }

    $r = s_client(port => $port, tls => $tls, sess_out => $new);
    is($r->{sha256}, $leaf, "$name - a new session under the new certificate");

    for my $i (1 .. 6) {
        $r = s_client(port => $port, tls => $tls, sess_in => $new);
        ok($r->{reused}, "$name - new session, try $i: resumed");
    }
}


sub check_change12 { check_change($_[0], '1.2') }
sub check_change13 { check_change($_[0], '1.3') }


# The server's security level refuses RSA 2048 (112 bits of security).

sub check_seclevel_upload {
    my ($name) = @_;

    my $port = $ENV{TEST_NGINX_TLS_PORT};

    my $r = s_client(port => $port, tls => '1.3');
    is($r->{status}, 200, "$name - the default is served");

    my $before = $r->{sha256};

    my ($status, $body) = api('PUT', '/cert', upload => 'leaf-b');
    is($status, 422, "$name - the upload is refused");
    like($body, qr/"error":\s*"weak_key"/, "$name - as weak_key");
    like($body, qr/security level 3/, "$name - naming the security level");

    for my $i (1 .. 4) {
        $r = s_client(port => $port, tls => '1.2');
        is($r->{status}, 200, "$name - try $i: handshake and request");
        is($r->{sha256}, $before, "$name - try $i: the certificate stays");
    }
}


# The served certificate is RSA 2048; a reload raises the security level.

sub check_seclevel_reload {
    my ($name) = @_;

    my $port = $ENV{TEST_NGINX_TLS_PORT};
    my $root = $ENV{TEST_NGINX_SERVER_ROOT};

    my ($status, $body) = api('PUT', '/cert', upload => 'leaf-b');
    is($status, 200, "$name - upload") or diag($body);

    my $leaf = sha('leaf-b');

    my $conf = "$root/conf/nginx.conf";

    open my $fh, '<', $conf or die "$conf: $!\n";
    my $text = do { local $/; <$fh> };
    close $fh;

    $text =~ s/ssl_ciphers DEFAULT;/ssl_ciphers DEFAULT:\@SECLEVEL=3;/
        or die "no ssl_ciphers line in $conf\n";

    open $fh, '>', $conf or die "$conf: $!\n";
    print $fh $text;
    close $fh;

    kill 'HUP', PaletteCert::Nginx::master_pid();

    my $log = '';

    for (1 .. 50) {
        $log = error_text();
        last if $log =~ /cannot be served: TLS at security level/;
        select undef, undef, undef, 0.1;
    }

    like($log, qr/\[emerg\].*palette_cert zone "console": its certificate .*cannot be served: TLS at security level 3 refuses/,
         "$name - the reload is refused, naming the zone");

    for my $i (1 .. 6) {
        my $r = s_client(port => $port, tls => $i % 2 ? '1.2' : '1.3');
        is($r->{status}, 200, "$name - try $i: handshake and request");
        is($r->{sha256}, $leaf, "$name - try $i: the certificate stays");
    }

    my $n = () = error_text() =~ /cannot be served: TLS at security level/g;
    is($n, 1, "$name - one line for the refusal, none per handshake");
}


__DATA__

=== TEST 1: a TLS 1.2 session never crosses to a server that verifies clients against another CA
--- http_config
    palette_cert_zone console:1m;
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        ssl_verify_client optional;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/other-root-ca.crt;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        ssl_verify_client on;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/root-ca.crt;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
cross12
--- no_error_log
[alert]
[crit]



=== TEST 2: a TLS 1.3 ticket never crosses to such a server, though both share the ticket key
--- http_config
    palette_cert_zone console:1m;
    ssl_session_tickets on;
    ssl_session_ticket_key $TEST_NGINX_TICKET_KEY;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        ssl_verify_client optional;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/other-root-ca.crt;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        ssl_verify_client on;
        ssl_client_certificate $TEST_NGINX_CERT_DIR/root-ca.crt;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
cross13
--- no_error_log
[alert]
[crit]



=== TEST 3: a TLS 1.2 session id made before an upload is not resumed after its 200, on any worker; the first one after is
--- http_config
    palette_cert_zone console:1m;
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
change12
--- no_error_log
[alert]
[crit]



=== TEST 4: a TLS 1.3 ticket made before an upload is not resumed after its 200, on any worker; the first one after is
--- http_config
    palette_cert_zone console:1m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
change13
--- no_error_log
[alert]
[crit]



=== TEST 5: an upload that the server's security level refuses is 422 weak_key, and the served certificate stays
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers DEFAULT:@SECLEVEL=3;
        palette_cert console;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
seclevel_upload
--- no_error_log
[alert]
[crit]



=== TEST 6: a reload whose security level refuses the served certificate is refused once, and the certificate stays in service
--- http_config
    palette_cert_zone console:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers DEFAULT;
        palette_cert console;
        location / { return 200 "verify=$ssl_client_verify\n"; }
    }
--- config
    location = /cert { palette_cert_api console; }
--- request
GET /cert
--- sessions
seclevel_reload
--- no_error_log
[alert]
[crit]
