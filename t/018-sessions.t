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

use File::Spec ();
use File::Temp ();
use IPC::Run ();

master_on();
workers(2);
no_shuffle();

my $CERTS = $ENV{TEST_NGINX_CERT_DIR};
my $TMP = File::Temp::tempdir(CLEANUP => 1);

# A ticket key file that two servers share, as a fleet shares one.

$ENV{TEST_NGINX_TICKET_KEY} = "$TMP/ticket.key";
system('openssl', 'rand', '-out', "$TMP/ticket.key", '80') == 0
    or die "openssl rand failed\n";

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    my $check = eval { $block->sessions };

    return if !defined $check || $dry_run || $req_idx || $repeated_req_idx;

    $check =~ s/^\s+|\s+$//g;

    my $sub = main->can("check_$check")
        or die "no check_$check in this file\n";

    $sub->($block->name);
});

run_tests();


# One handshake with openssl s_client and one HTTP/1.0 request on it.
# Returns {reused, status, body, sha256}; sha256 is the leaf the server
# presented (in a resumed session, the one the session holds).

sub handshake {
    my (%a) = @_;

    my @cmd = ('openssl', 's_client', '-connect', "127.0.0.1:$a{port}",
               '-servername', 'console.example.com', '-ign_eof',
               $a{tls} eq '1.2' ? '-tls1_2' : '-tls1_3');

    push @cmd, '-sess_out', $a{sess_out} if $a{sess_out};
    push @cmd, '-sess_in', $a{sess_in} if $a{sess_in};
    push @cmd, '-cert', "$CERTS/$a{client}.crt",
               '-key', "$CERTS/$a{client}.key" if $a{client};

    my $in = "GET / HTTP/1.0\r\nHost: console.example.com\r\n\r\n";
    my ($out, $err) = ('', '');

    IPC::Run::run(\@cmd, \$in, \$out, \$err, IPC::Run::timeout(10));

    my %r = (out => $out);

    $r{reused} = $out =~ /^Reused, TLS/m ? 1 : 0;
    $r{status} = $out =~ m{HTTP/1\.[01] (\d{3}) } ? $1 : 0;
    $r{body} = $out =~ /^(verify=.*)$/m ? $1 : '';

    if ($out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/s) {
        my $pem = $1;
        my $fp = '';

        IPC::Run::run(['openssl', 'x509', '-noout', '-fingerprint',
                       '-sha256'], \$pem, \$fp);

        ($r{sha256} = lc($fp =~ /=(.*)/ ? $1 : '')) =~ s/://g;
    }

    return \%r;
}


sub fixture_sha256 {
    my ($name) = @_;

    open my $fh, '<', "$CERTS/$name.sha256" or die "$name.sha256: $!\n";
    my $sha = <$fh>;
    $sha =~ s/\s+//g;

    return $sha;
}


sub upload {
    my ($name) = @_;

    my $port = $ENV{TEST_NGINX_SERVER_PORT};
    my ($out, $err) = ('', '');

    IPC::Run::run(['curl', '-sS', '-o', '/dev/stdout', '-w', '\n%{http_code}',
                   '-X', 'PUT',
                   '-F', "certificate=\@$CERTS/$name.chain.pem",
                   '-F', "key=\@$CERTS/$name.key",
                   '-F', "ca=\@$CERTS/ca.pem",
                   "http://127.0.0.1:$port/cert"],
                  \undef, \$out, \$err, IPC::Run::timeout(10));

    my ($body, $status) = $out =~ /^(.*)\n(\d+)$/s;

    return ($status || 0, $body || $err);
}


sub error_log {
    my $file = File::Spec->catfile($ENV{TEST_NGINX_SERVER_ROOT}, 'logs',
                                   'error.log');

    open my $fh, '<', $file or return '';
    local $/;

    return <$fh>;
}


# A session from the public server, made with a client certificate its CA
# signed, is offered to the admin server, which requires one of another CA.

sub check_cross {
    my ($name, $tls) = @_;

    my $sess = "$TMP/cross-$tls.sess";

    my $r = handshake(port => $ENV{TEST_NGINX_TLS_PORT}, tls => $tls,
                      client => 'other-admin-client', sess_out => $sess);

    is($r->{status}, 200, "$name - public server answers");
    like($r->{body}, qr/verify=SUCCESS/,
         "$name - public server verified the client certificate");

    $r = handshake(port => $ENV{TEST_NGINX_TLS_PORT}, tls => $tls,
                   sess_in => $sess);

    ok($r->{reused}, "$name - the session resumes on the public server");

    for my $i (1 .. 4) {
        $r = handshake(port => $ENV{TEST_NGINX_TLS_PORT2}, tls => $tls,
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

    my $r = handshake(port => $port, tls => $tls, sess_out => $old);
    is($r->{status}, 200, "$name - first handshake");

    my $before = $r->{sha256};

    $r = handshake(port => $port, tls => $tls, sess_in => $old);
    ok($r->{reused}, "$name - the session resumes before the change");

    my ($status, $body) = upload('leaf-b');
    is($status, 200, "$name - upload answered 200") or diag($body);

    my $leaf = fixture_sha256('leaf-b');

    isnt($before, $leaf, "$name - the certificate changed");

    for my $i (1 .. 6) {
        $r = handshake(port => $port, tls => $tls, sess_in => $old);

        ok(!$r->{reused}, "$name - old session, try $i: not resumed");
        is($r->{sha256}, $leaf,
           "$name - old session, try $i: the new certificate is presented");
    }

    $r = handshake(port => $port, tls => $tls, sess_out => $new);
    is($r->{sha256}, $leaf, "$name - a new session under the new certificate");

    for my $i (1 .. 6) {
        $r = handshake(port => $port, tls => $tls, sess_in => $new);
        ok($r->{reused}, "$name - new session, try $i: resumed");
    }
}


sub check_change12 { check_change($_[0], '1.2') }
sub check_change13 { check_change($_[0], '1.3') }


# The server's security level refuses RSA 2048 (112 bits of security).

sub check_seclevel_upload {
    my ($name) = @_;

    my $port = $ENV{TEST_NGINX_TLS_PORT};

    my $r = handshake(port => $port, tls => '1.3');
    is($r->{status}, 200, "$name - the default is served");

    my $before = $r->{sha256};

    my ($status, $body) = upload('leaf-b');
    is($status, 422, "$name - the upload is refused");
    like($body, qr/"error":\s*"weak_key"/, "$name - as weak_key");
    like($body, qr/security level 3/, "$name - naming the security level");

    for my $i (1 .. 4) {
        $r = handshake(port => $port, tls => '1.2');
        is($r->{status}, 200, "$name - try $i: handshake and request");
        is($r->{sha256}, $before, "$name - try $i: the certificate stays");
    }
}


# The served certificate is RSA 2048; a reload raises the security level.

sub check_seclevel_reload {
    my ($name) = @_;

    my $port = $ENV{TEST_NGINX_TLS_PORT};
    my $root = $ENV{TEST_NGINX_SERVER_ROOT};

    my ($status, $body) = upload('leaf-b');
    is($status, 200, "$name - upload") or diag($body);

    my $leaf = fixture_sha256('leaf-b');

    my $conf = "$root/conf/nginx.conf";

    open my $fh, '<', $conf or die "$conf: $!\n";
    my $text = do { local $/; <$fh> };
    close $fh;

    $text =~ s/ssl_ciphers DEFAULT;/ssl_ciphers DEFAULT:\@SECLEVEL=3;/
        or die "no ssl_ciphers line in $conf\n";

    open $fh, '>', $conf or die "$conf: $!\n";
    print $fh $text;
    close $fh;

    open $fh, '<', "$root/logs/nginx.pid" or die "nginx.pid: $!\n";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;

    kill 'HUP', $pid;

    my $log = '';

    for (1 .. 50) {
        $log = error_log();
        last if $log =~ /cannot be served: TLS at security level/;
        select undef, undef, undef, 0.1;
    }

    like($log, qr/\[emerg\].*palette_cert zone "console": its certificate .*cannot be served: TLS at security level 3 refuses/,
         "$name - the reload is refused, naming the zone");

    for my $i (1 .. 6) {
        my $r = handshake(port => $port, tls => $i % 2 ? '1.2' : '1.3');
        is($r->{status}, 200, "$name - try $i: handshake and request");
        is($r->{sha256}, $leaf, "$name - try $i: the certificate stays");
    }

    my $n = () = error_log() =~ /cannot be served: TLS at security level/g;
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
