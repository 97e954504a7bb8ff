# Which certificate a handshake gets, over real TLS handshakes: the named
# certificate whose DNS name equals the SNI (case and a trailing dot
# aside), else one whose wildcard covers it by one label, else the
# default; without SNI, one whose IP address is the one connected to.
# Within the best match, ECDSA for a client that offers it, RSA for one
# that does not.  A change of one certificate changes nothing the others
# serve, reaches every worker at once, survives reload and restart, and
# ends the sessions made under it.
#
# Sessions are handled by openssl s_client (-sess_out, -sess_in), which
# says "New" or "Reused" for each handshake.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api sha s_client check_hook);

use File::Temp ();

master_on();
workers(4);
no_shuffle();

my $TMP = File::Temp::tempdir(CLEANUP => 1);

# The server is also reached at 127.0.0.2, for the IP addresses of named
# certificates.
PaletteCert::defaults(
    PaletteCert::zone_config('sel:4m', named => 1, reuseport => 1,
                             listen => ['127.0.0.1', '127.0.0.2']),
    no_error_log => "[error]\n[alert]\n[crit]\n",
);

# "--- sessions NAME" runs check_NAME below.
check_hook('sessions');

run_tests();


sub upload_ok {
    my ($name, $uri, $fixture) = @_;

    my ($status, $body) = api('PUT', $uri, upload => $fixture);

    is($status, 200, "$name - PUT $uri $fixture answered 200") or diag($body);
}


# A session made under named certificate a, then changes: of the others
# (it still resumes), then of a (it never resumes again, on any worker,
# and the new certificate is presented); a session made after resumes.

sub check_named {
    my ($name, $tls, $others) = @_;

    my $old = "$TMP/named-old-$tls.sess";
    my $new = "$TMP/named-new-$tls.sess";

    upload_ok($name, '/cert/a', 'named-a');
    upload_ok($name, '/cert/b', 'named-b');

    my $r = s_client(sni => 'a.test', tls => $tls, sess_out => $old);

    is($r->{status}, 200, "$name - first handshake");
    is($r->{sha256}, sha('named-a'),
       "$name - named-a is presented for a.test");

    for my $i (1 .. 4) {
        $r = s_client(sni => 'a.test', tls => $tls, sess_in => $old);
        ok($r->{reused}, "$name - before any change, try $i: resumed");
    }

    if ($others) {
        upload_ok($name, '/cert/b', 'named-b2');
        upload_ok($name, '/cert', 'leaf-a');

        for my $i (1 .. 8) {
            $r = s_client(sni => 'a.test', tls => $tls, sess_in => $old);
            ok($r->{reused}, "$name - after changes of b and of the default, "
                             . "try $i: resumed");
        }

        return;
    }

    upload_ok($name, '/cert/a', 'named-a2');

    my $leaf = sha('named-a2');

    for my $i (1 .. 8) {
        $r = s_client(sni => 'a.test', tls => $tls, sess_in => $old);

        ok(!$r->{reused}, "$name - old session, try $i: not resumed");
        is($r->{sha256}, $leaf,
           "$name - old session, try $i: named-a2 is presented");
    }

    $r = s_client(sni => 'a.test', tls => $tls, sess_out => $new);
    is($r->{sha256}, $leaf, "$name - a new session under named-a2");

    for my $i (1 .. 8) {
        $r = s_client(sni => 'a.test', tls => $tls, sess_in => $new);
        ok($r->{reused}, "$name - new session, try $i: resumed");
    }
}


sub check_named12 { check_named($_[0], '1.2') }
sub check_named13 { check_named($_[0], '1.3') }
sub check_others12 { check_named($_[0], '1.2', 1) }
sub check_others13 { check_named($_[0], '1.3', 1) }


__DATA__

=== TEST 1: an SNI equal to a name of a named certificate gets it; other names and no SNI get the default
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b
handshake count=10 sni=a.test expect=named-a chain=2 served=named-a+int-ca
handshake count=10 sni=b.test expect=named-b
handshake count=10 sni=c.test expect=self-signed
handshake count=10 sni=none expect=self-signed
handshake count=10 expect=self-signed
upload leaf-a
handshake count=10 sni=c.test expect=leaf-a
handshake count=10 sni=a.test expect=named-a
handshake count=10 tls=1.2 sni=b.test expect=named-b



=== TEST 2: the SNI matches whatever its case, and a trailing dot in it is ignored
--- request
GET /cert/
--- steps
upload named-a id=a
handshake count=10 sni=A.TEST expect=named-a
handshake count=10 sni=a.Test expect=named-a
handshake count=10 sni=a.test. expect=named-a
handshake count=10 tls=1.2 sni=A.TEST. expect=named-a
handshake count=10 sni=aa.test expect=self-signed



=== TEST 3: a name in capitals in the certificate matches an SNI in small letters
--- request
GET /cert/
--- steps
upload named-a-upper id=upper
handshake count=10 sni=a.test expect=named-a-upper
handshake count=10 sni=A.TEST expect=named-a-upper



=== TEST 4: a wildcard covers exactly one left-most label
--- request
GET /cert/
--- steps
upload leaf-a
upload named-wild id=wild
handshake count=10 sni=x.w.test expect=named-wild
handshake count=10 sni=Y.W.Test expect=named-wild
handshake count=10 sni=x-1.w.test. expect=named-wild
handshake count=10 sni=w.test expect=leaf-a
handshake count=10 sni=a.b.w.test expect=leaf-a
handshake count=10 sni=xw.test expect=leaf-a
handshake count=10 sni=x.w.test.example expect=leaf-a



=== TEST 5: an exact name beats a wildcard, whichever came first; deleting it falls back to the wildcard, deleting that to the default
--- request
GET /cert/
--- steps
upload leaf-a
upload named-xw id=exact
upload named-wild id=wild
handshake count=10 sni=x.w.test expect=named-xw
handshake count=10 sni=y.w.test expect=named-wild
delete id=exact
handshake count=20 sni=x.w.test expect=named-wild workers=all
delete id=wild
handshake count=20 sni=x.w.test expect=leaf-a workers=all
handshake count=10 sni=y.w.test expect=leaf-a
upload named-wild id=wild
upload named-xw id=exact
handshake count=10 sni=x.w.test expect=named-xw
handshake count=10 sni=y.w.test expect=named-wild



=== TEST 6: the match level comes before the key type: an exact RSA certificate beats an ECDSA wildcard for a client that offers ECDSA
--- request
GET /cert/
--- steps
upload named-wild id=wild
upload named-xw-rsa id=exact-rsa
handshake count=10 tls=1.3 sni=x.w.test expect=named-xw-rsa
handshake count=10 tls=1.2 sni=x.w.test expect=named-xw-rsa
handshake count=10 tls=1.3 sni=y.w.test expect=named-wild



=== TEST 7: without SNI, the certificate whose IP address is the one the client connected to; else the default
--- request
GET /cert/
--- steps
upload leaf-a
upload named-ip id=ip
upload named-ip-other id=ip-other
handshake count=10 sni=none expect=named-ip
handshake count=10 tls=1.2 sni=none expect=named-ip
handshake count=10 sni=none host=127.0.0.2 expect=named-ip-other
delete id=ip
handshake count=20 sni=none expect=leaf-a workers=all
handshake count=10 sni=none host=127.0.0.2 expect=named-ip-other
delete id=ip-other
handshake count=10 sni=none host=127.0.0.2 expect=leaf-a



=== TEST 8: an SNI that matches no name gets the default, even if an IP address of a named certificate is the one connected to
--- request
GET /cert/
--- steps
upload leaf-a
upload named-ip id=ip
handshake count=10 sni=nothing.test expect=leaf-a
handshake count=10 tls=1.2 sni=nothing.test expect=leaf-a
handshake count=10 sni=console.example.com expect=leaf-a
handshake count=10 sni=none expect=named-ip



=== TEST 9: one name with an ECDSA and an RSA certificate, TLS 1.3: ECDSA for a client that offers ECDSA signatures, RSA for one that does not
--- request
GET /cert/
--- steps
upload both-ec id=both-ec
upload both-rsa id=both-rsa
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pkcs1_sha256 expect=both-rsa
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=10 tls=1.3 sni=both.test sigalgs=ecdsa_secp256r1_sha256 expect=both-ec
handshake count=10 tls=1.3 sni=both.test sigalgs=ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256 expect=both-ec
handshake count=10 tls=1.3 sni=both.test expect=both-ec



=== TEST 10: a client that offers ECDSA after RSA still gets the ECDSA certificate
--- request
GET /cert/
--- steps
upload both-ec id=both-ec
upload both-rsa id=both-rsa
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256:rsa_pkcs1_sha256:ecdsa_secp256r1_sha256 expect=both-ec
handshake count=10 tls=1.2 sni=both.test ciphers=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 expect=both-ec



=== TEST 11: one name with an ECDSA and an RSA certificate, TLS 1.2: ECDSA for a client with an ECDHE-ECDSA cipher, RSA for one with only ECDHE-RSA ciphers
--- request
GET /cert/
--- steps
upload both-rsa id=both-rsa
upload both-ec id=both-ec
handshake count=10 tls=1.2 sni=both.test ciphers=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384 expect=both-rsa
handshake count=10 tls=1.2 sni=both.test ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384 expect=both-ec
handshake count=10 tls=1.2 sni=both.test expect=both-ec
# an ECDHE-ECDSA cipher without ECDSA signatures is no ECDSA offer
handshake count=10 tls=1.2 sni=both.test sigalgs=RSA+SHA256:RSA-PSS+SHA256 expect=both-rsa



=== TEST 12: a name with one key type only gets it, whatever the client prefers
--- request
GET /cert/
--- steps
upload named-r-rsa id=r
upload named-a id=a
handshake count=10 tls=1.3 sni=r.test expect=named-r-rsa
handshake count=10 tls=1.2 sni=r.test expect=named-r-rsa
handshake count=10 tls=1.3 sni=a.test sigalgs=rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256 expect=named-a
handshake count=10 tls=1.2 sni=a.test ciphers=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 expect=named-a



=== TEST 13: a change of one certificate changes nothing another ID or the default serves
--- request
GET /cert/
--- steps
upload leaf-a
upload named-a id=a
upload named-b id=b
upload named-wild id=wild
upload both-ec id=both-ec
upload both-rsa id=both-rsa
upload named-a2 id=a
handshake count=40 sni=a.test expect=named-a2 workers=all
handshake count=10 sni=b.test expect=named-b
handshake count=10 sni=x.w.test expect=named-wild
handshake count=10 expect=leaf-a
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=10 tls=1.3 sni=both.test expect=both-ec
delete id=b
handshake count=10 sni=a.test expect=named-a2
handshake count=10 sni=b.test expect=leaf-a
upload leaf-b
handshake count=40 expect=leaf-b workers=all
handshake count=10 sni=a.test expect=named-a2
handshake count=10 sni=x.w.test expect=named-wild
# the ECDSA one of a pair changes, the RSA one stays
upload both-ec2 id=both-ec
handshake count=40 tls=1.3 sni=both.test expect=both-ec2 workers=all
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=10 tls=1.2 sni=both.test ciphers=ECDHE-RSA-AES128-GCM-SHA256 expect=both-rsa
delete id=both-ec
handshake count=10 tls=1.3 sni=both.test expect=both-rsa
upload both-rsa2 id=both-rsa
handshake count=40 tls=1.3 sni=both.test expect=both-rsa2 workers=all



=== TEST 14: all four workers present each named change on the very next handshakes, TLS 1.3 and 1.2; the processes stay
--- request
GET /cert/
--- steps
pids record
upload named-a id=a
handshake count=40 tls=1.3 sni=a.test expect=named-a workers=all
handshake count=40 tls=1.2 sni=a.test expect=named-a workers=all
upload named-a2 id=a
handshake count=40 tls=1.3 sni=a.test expect=named-a2 workers=all
handshake count=40 tls=1.2 sni=a.test expect=named-a2 workers=all
delete id=a
handshake count=40 sni=a.test expect=self-signed workers=all
upload named-a-rsa id=a
handshake count=40 tls=1.3 sni=a.test expect=named-a-rsa workers=all
handshake count=40 tls=1.2 sni=a.test expect=named-a-rsa workers=all
pids same



=== TEST 15: connections opened before a named change keep working on their certificate
--- http_config
    palette_cert_zone sel:4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_timeout 60s;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- steps
upload named-a id=a
open before sni=a.test tls=1.3
open before12 sni=a.test tls=1.2
upload named-a2 id=a
reuse before
reuse before12
handshake count=40 sni=a.test expect=named-a2 workers=all
delete id=a
reuse before
reuse before12
handshake count=10 sni=a.test expect=self-signed



=== TEST 16: a server that SNI selects takes the zone's named certificates too, and each zone keeps its own
--- http_config
    palette_cert_zone one:1m;
    palette_cert_zone two:1m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert one;
        location / { return 200 "$pid\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name a.test b.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert one;
        location / { return 200 "$pid\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT2 ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert two;
        location / { return 200 "$pid\n"; }
    }
--- config
    location /cert { palette_cert_api one; }
    location /cert2 { palette_cert_api two; }
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b
handshake count=10 sni=a.test expect=named-a
handshake count=10 sni=b.test expect=named-b
handshake count=10 port=TEST_NGINX_TLS_PORT2 sni=a.test expect=self-signed
upload named-a2 id=a api=/cert2
handshake count=10 port=TEST_NGINX_TLS_PORT2 sni=a.test expect=named-a2
handshake count=10 sni=a.test expect=named-a
list ids=a,b api=/cert
list ids=a api=/cert2



=== TEST 17: named certificates are stored as folders of their own, key files mode 0600, and a reload keeps them
--- http_config
    palette_cert_zone sel:4m store=$TEST_NGINX_STORE_DIR/named;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- fresh_store
--- request
GET /cert/
--- steps
upload leaf-a
upload named-a id=a
upload both-ec id=both-ec
upload both-rsa id=both-rsa
upload named-wild id=wild
store named id=a sha256=named-a
store named id=both-ec sha256=both-ec
store named id=both-rsa sha256=both-rsa
store named id=wild sha256=named-wild
reload
list ids=a,both-ec,both-rsa,wild generation=6 detail
handshake count=40 sni=a.test expect=named-a workers=all
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=10 tls=1.3 sni=both.test expect=both-ec
handshake count=10 sni=x.w.test expect=named-wild
handshake count=10 expect=leaf-a
delete id=wild
store named id=wild absent
upload named-a2 id=a
store named id=a sha256=named-a2
reload
handshake count=40 sni=a.test expect=named-a2 workers=all
handshake count=10 sni=x.w.test expect=leaf-a
list ids=a,both-ec,both-rsa generation=8



=== TEST 18: after a restart the named certificates are served again, at their generations, and changes go on from the zone's
--- http_config
    palette_cert_zone sel:4m store=$TEST_NGINX_STORE_DIR/named;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- steps
list ids=a,both-ec,both-rsa generation=8 detail
get id=a sha256=named-a2 generation=8
get id=both-ec sha256=both-ec generation=4
get id=both-rsa sha256=both-rsa generation=5
get sha256=leaf-a generation=2
get id=wild error=not_found
handshake count=40 sni=a.test expect=named-a2 workers=all
handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=10 tls=1.2 sni=both.test ciphers=ECDHE-ECDSA-AES128-GCM-SHA256 expect=both-ec
handshake count=10 sni=x.w.test expect=leaf-a
store named id=a sha256=named-a2
store named id=wild absent
# a refused change leaves the store as it was, to the byte
snapshot record store=named id=a sni=a.test list
upload named-a id=other error=name_conflict
upload named-a id=a key=named-b error=key_mismatch
upload leaf-expired id=new error=expired
snapshot same
upload named-b id=b
delete id=both-ec
store named id=b sha256=named-b
store named id=both-ec absent



=== TEST 19: a second restart keeps the changes made after the first
--- http_config
    palette_cert_zone sel:4m store=$TEST_NGINX_STORE_DIR/named;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- steps
list ids=a,b,both-rsa generation=10 detail
get id=b sha256=named-b generation=9
handshake count=10 sni=b.test expect=named-b
handshake count=10 tls=1.3 sni=both.test expect=both-rsa



=== TEST 20: with cache=2, each of five named certificates is served right in turn, and a change of one is served at once
--- http_config
    palette_cert_zone sel:4m cache=2;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b
upload named-xw id=xw
upload both-ec id=both-ec
upload both-rsa id=both-rsa
handshake count=20 sni=a.test expect=named-a
handshake count=20 sni=b.test expect=named-b
handshake count=20 sni=x.w.test expect=named-xw
handshake count=20 tls=1.3 sni=both.test expect=both-ec
handshake count=20 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa
handshake count=20 sni=a.test expect=named-a
upload named-a2 id=a
handshake count=40 sni=a.test expect=named-a2 workers=all
handshake count=20 sni=b.test expect=named-b
upload named-b2 id=b
handshake count=40 sni=b.test expect=named-b2 workers=all
handshake count=20 sni=a.test expect=named-a2



=== TEST 21: a TLS 1.2 session id made under a named certificate is not resumed once that certificate changed, on any worker; one made after is
--- http_config
    palette_cert_zone sel:1m;
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- sessions
named12



=== TEST 22: a TLS 1.3 ticket made under a named certificate is not resumed once that certificate changed, on any worker; one made after is
--- http_config
    palette_cert_zone sel:1m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- sessions
named13



=== TEST 23: a TLS 1.2 session made under a named certificate still resumes after changes of another ID and of the default
--- http_config
    palette_cert_zone sel:1m;
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets off;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- sessions
others12



=== TEST 24: a TLS 1.3 ticket made under a named certificate still resumes after changes of another ID and of the default
--- http_config
    palette_cert_zone sel:1m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "$pid\n"; }
    }
--- request
GET /cert/
--- sessions
others13



=== TEST 25: a server chosen by SNI with a zone of its own gets that zone's named certificate, whatever the default server's zone holds
--- http_config
    palette_cert_zone sel:4m;
    palette_cert_zone other:4m;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert sel;
        location / { return 200 "sel\n"; }
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name b.test a.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert other;
        location / { return 200 "other\n"; }
    }
--- config
    location /cert { palette_cert_api sel; }
    location /other/ { palette_cert_api other; }
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b api=/other
handshake count=10 sni=b.test expect=named-b
handshake count=10 tls=1.2 sni=b.test expect=named-b
handshake count=10 sni=a.test expect=self-signed
upload named-a id=a api=/other
handshake count=10 sni=a.test expect=named-a
handshake count=10 sni=console.example.com expect=self-signed
