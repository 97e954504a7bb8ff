# Keys that never travel: POST RES?csr makes the private key inside nginx,
# keeps it in the zone and the store as the certificate's pending key, and
# answers with a PKCS#10 request for the names asked.  The request, signed
# by the test CA with openssl x509 -req, is uploaded without a key and
# served with the pending key, which is then gone.  The key's bytes are
# never in an answer or a log line.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api api_json served wait_served count_log
                          error_log check_hook);

use File::Copy ();
use File::Path ();
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Time::HiRes ();

master_on();
workers(4);
no_shuffle();

my $CERTS = $ENV{TEST_NGINX_CERT_DIR};
my $TMP = File::Temp::tempdir(CLEANUP => 1);
# the store of the blocks around a restart starts empty
File::Path::remove_tree("$ENV{TEST_NGINX_STORE_DIR}/csr-persist");

PaletteCert::defaults(
    PaletteCert::zone_config('c:4m names=console.example.com,127.0.0.1',
                             named => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

check_hook();

run_tests();


sub csr_body {
    my (%o) = @_;

    return JSON::PP->new->canonical->encode({
        names => $o{names} || ['console.example.com', '127.0.0.1'],
        key_type => $o{key_type} || 'EC P-256',
        (exists $o{subject} ? (subject => $o{subject}) : ()),
    });
}


sub make_csr {
    my ($name, $uri, %o) = @_;

    my ($status, $json, $body) = api_json('POST', "$uri?csr",
                                          json => csr_body(%o));

    is($status, 200, "$name - POST $uri?csr: 200");
    unlike($body, qr/PRIVATE KEY/, "$name - no key in the answer");

    return $json || {};
}


sub openssl {
    my (@args) = @_;

    my ($in, $out, $err) = (ref $args[-1] ? ${ pop @args } : '', '', '');

    IPC::Run::run(['openssl', @args], \$in, \$out, \$err,
                  IPC::Run::timeout(30));

    return ($? == 0, $out, $err);
}


# The request signed by the test's intermediate CA: the leaf and the
# intermediate, as "certificate" is uploaded.

sub sign {
    my ($csr) = @_;

    my $n = int(rand(1e9));

    open my $fh, '>', "$TMP/req-$n.pem" or die;
    print $fh $csr;
    close $fh;

    my ($ok, $out, $err) = openssl('x509', '-req', '-in', "$TMP/req-$n.pem",
                                   '-CA', "$CERTS/int-ca.crt",
                                   '-CAkey', "$CERTS/int-ca.key",
                                   '-set_serial', $n, '-days', '30',
                                   '-copy_extensions', 'copy',
                                   '-out', "$TMP/leaf-$n.pem");
    die "openssl x509 -req: $err" if !$ok;

    open $fh, '>', "$TMP/chain-$n.pem" or die;
    print $fh slurp("$TMP/leaf-$n.pem"), slurp("$CERTS/int-ca.crt");
    close $fh;

    return "$TMP/chain-$n.pem";
}


sub upload_signed {
    my ($uri, $chain, %o) = @_;

    my @args = ('curl', '-sS', '-X', 'PUT', '-w', '\n%{http_code}',
                '-F', "certificate=\@$chain", '-F', "ca=\@$CERTS/ca.pem");

    my ($out, $err) = ('', '');

    IPC::Run::run([@args, "http://127.0.0.1:" . PaletteCert::_api_port()
                          . $uri],
                  \undef, \$out, \$err, IPC::Run::timeout(30));

    my ($body, $status) = $out =~ /\A(.*)\n(\d+)\z/s;

    return ($status // 0, eval { JSON::PP->new->decode($body) } || {},
            $body // $out);
}


sub leaf_sha {
    my ($chain) = @_;

    my ($ok, $out) = openssl('x509', '-in', $chain, '-outform', 'DER');

    require Digest::SHA;

    return Digest::SHA::sha256_hex($out);
}


sub slurp {
    my ($file) = @_;

    open my $fh, '<', $file or return '';
    local $/;

    return <$fh>;
}


sub store_dir {
    return PaletteCert::_server_root() . '/palette_cert/c';
}


# The key's base64 lines: none of them may appear in an answer or a log.

sub key_lines {
    my ($file) = @_;

    return grep { length > 20 && !/-----/ } split /\n/, slurp($file);
}


sub no_key_anywhere {
    my ($name, $keyfile, @bodies) = @_;

    my @lines = key_lines($keyfile);

    ok(@lines > 0, "$name - the key file holds a key");

    my $log = join '', error_log();
    my $access = slurp(PaletteCert::_server_root() . '/logs/access.log');

    for my $l (@lines) {
        for my $b ($log, $access, @bodies) {
            if (index($b, $l) >= 0) {
                fail("$name - a line of the key is in an answer or a log");
                return;
            }
        }
    }

    pass("$name - the key's bytes are in no answer and no log");
}


# POST ?csr: the request for the names asked, the key kept in the zone
# (GET shows it pending) and in the store (0600), an audit line.

sub check_make {
    my ($name) = @_;

    my $j = make_csr($name, '/cert');

    like($j->{csr}, qr/^-----BEGIN CERTIFICATE REQUEST-----\n/,
         "$name - a PEM request");
    is_deeply($j->{names}, ['console.example.com', '127.0.0.1'],
              "$name - the names");
    is($j->{key_type}, 'EC P-256', "$name - the key type");
    like($j->{created}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
         "$name - when");

    my ($ok, $text) = openssl('req', '-noout', '-text', '-verify',
                              \$j->{csr});

    ok($ok, "$name - openssl verifies the request's signature");
    like($text, qr/Subject: CN\s*=\s*console\.example\.com/,
         "$name - subject CN: the first name");
    like($text, qr/DNS:console\.example\.com, IP Address:127\.0\.0\.1/,
         "$name - subjectAltName: the names");
    like($text, qr/ASN1 OID: prime256v1/, "$name - an EC P-256 key");

    my ($status, $g, $body) = api_json('GET', '/cert');

    unlike($body, qr/PRIVATE KEY/, "$name - GET: no key");
    is_deeply($g->{csr_pending}{names}, $j->{names},
              "$name - GET: csr_pending names");
    is($g->{csr_pending}{key_type}, 'EC P-256', "$name - GET: key_type");
    is($g->{csr_pending}{created}, $j->{created}, "$name - GET: created");
    is($g->{csr_pending}{csr}, $j->{csr}, "$name - GET: the request again");
    is($g->{source}, 'self-signed', "$name - nothing served changed");

    my $key = store_dir() . '/csr/key.pem';

    ok(-f $key, "$name - the store holds the pending key");
    is((stat $key)[2] & 07777, 0600, "$name - mode 0600");
    is(slurp(store_dir() . '/csr/request.pem'), $j->{csr},
       "$name - and the request");

    is(count_log(qr/palette_cert zone "c" made a key and a certificate request: key_type EC P-256, names console\.example\.com,127\.0\.0\.1/),
       1, "$name - one audit line");

    no_key_anywhere($name, $key, $body, $j->{csr});
}


# The full round trip: the request signed by the test CA, uploaded without
# a key, served by every worker with the pending key, which is consumed.

sub check_round_trip {
    my ($name) = @_;

    my $j = make_csr($name, '/cert', key_type => 'EC P-384',
                     subject => 'CN=console.example.com, O=Example, C=DE');

    my ($ok, $text) = openssl('req', '-noout', '-text', \$j->{csr});
    like($text, qr/Subject: CN\s*=\s*console\.example\.com, O\s*=\s*Example, C\s*=\s*DE/,
         "$name - the subject asked");

    my $keycopy = "$TMP/pending.key";
    File::Copy::copy(store_dir() . '/csr/key.pem', $keycopy);

    my $chain = sign($j->{csr});

    my ($status, $up, $body) = upload_signed('/cert', $chain);

    is($status, 200, "$name - the signed certificate without a key: 200");
    is($up->{sha256}, leaf_sha($chain), "$name - answered with it");
    is($up->{key_type}, 'EC P-384', "$name - its key: the pending one");
    is($up->{csr_pending}, undef, "$name - no key pending any more");

    ok(defined wait_served(leaf_sha($chain), 0.5),
       "$name - every handshake gets it at once");

    ok(!-e store_dir() . '/csr', "$name - the store's pending key is gone");

    my $gen = readlink(store_dir() . '/current');
    is(slurp(store_dir() . "/$gen/key.pem"), slurp($keycopy),
       "$name - the stored key is the pending one");

    ($status, $up) = upload_signed('/cert', $chain);
    is($status, 400, "$name - again without a key: 400");
    is($up->{error}, 'missing_field', "$name - missing_field");
    is($up->{field}, 'key', "$name - field key");

    no_key_anywhere($name, $keycopy, $body);
}


# A leaf of another key is key_mismatch; the pending key stays.

sub check_mismatch {
    my ($name) = @_;

    make_csr($name, '/cert');

    my ($status, $up) = upload_signed('/cert',
                                      "$CERTS/leaf-a.chain.pem");

    is($status, 422, "$name - 422");
    is($up->{error}, 'key_mismatch', "$name - key_mismatch");
    is($up->{field}, 'key', "$name - field key");

    my ($s, $g) = api_json('GET', '/cert');

    ok($g->{csr_pending}, "$name - the key is still pending");
    is($g->{source}, 'self-signed', "$name - nothing changed");
    ok(-f store_dir() . '/csr/key.pem', "$name - still in the store");

    # a dry run uses it too, and leaves it

    my @args = ('-F', "certificate=\@$CERTS/leaf-a.chain.pem");
    ($status, $up) = upload_signed('/cert?dry_run=1',
                                   "$CERTS/leaf-a.chain.pem");
    is($up->{error}, 'key_mismatch', "$name - a dry run: key_mismatch");
}


# What POST ?csr refuses, each naming the field; nothing is made.

sub check_refusals {
    my ($name) = @_;

    my @cases = (
        [csr_body(names => []), 400, 'malformed_request', 'names'],
        ['{"key_type":"EC P-256"}', 400, 'malformed_request', 'names'],
        [csr_body(names => ['console.example.com', 'a..b']), 400,
         'malformed_request', 'names'],
        [csr_body(names => ['console.example.com', 'a.*.b']), 400,
         'malformed_request', 'names'],
        [csr_body(key_type => 'RSA 1024'), 400, 'malformed_request',
         'key_type'],
        [csr_body(key_type => 'Ed25519'), 400, 'malformed_request',
         'key_type'],
        ['{"names":["console.example.com","127.0.0.1"]}', 400,
         'malformed_request', 'key_type'],
        [csr_body(subject => 'XX=1'), 400, 'malformed_request', 'subject'],
        [csr_body(subject => 'CN='), 400, 'malformed_request', 'subject'],
        ['{"names":"a.test","key_type":"EC P-256"}', 400,
         'malformed_request', 'names'],
        ['{"names":[1],"key_type":"EC P-256"}', 400, 'malformed_request',
         'names'],
        ['{"names":["a.test"]', 400, 'malformed_request', undef],
        [csr_body(names => ['console.example.com']), 422, 'name_mismatch',
         'names'],
    );

    for my $c (@cases) {
        my ($body, $code, $error, $field) = @$c;

        my ($status, $json) = api_json('POST', '/cert?csr', json => $body);

        is($status, $code, "$name - $body: $code");
        is($json->{error}, $error, "$name - $body: $error");
        is($json->{field}, $field, "$name - $body: field "
                                   . ($field // 'null'));
    }

    my ($status, $json) = api_json('POST', '/cert?csr',
                                   headers => ['Content-Type: text/plain']);
    is($status, 415, "$name - not JSON: 415");

    ($status, $json) = api_json('GET', '/cert?csr');
    is($status, 405, "$name - GET ?csr: 405");

    ($status, $json) = api_json('PUT', '/cert?csr', json => csr_body());
    is($status, 405, "$name - PUT ?csr: 405");

    ($status, $json) = api_json('GET', '/cert');
    is($json->{csr_pending}, undef, "$name - nothing pending");
    ok(!-e store_dir() . '/csr', "$name - nothing in the store");

    # without a pending key, an upload without one is missing_field

    my ($s, $up) = upload_signed('/cert', "$CERTS/leaf-a.chain.pem");
    is($s, 400, "$name - no key, none pending: 400");
    is($up->{error}, 'missing_field', "$name - missing_field");
    like($up->{message}, qr/POST \?csr/, "$name - the message says how");
}


# Named certificates: their own pending key, RSA, a new id.

sub check_named {
    my ($name) = @_;

    my $j = make_csr($name, '/cert/site-a', names => ['a.test'],
                     key_type => 'RSA 2048');

    is($j->{key_type}, 'RSA 2048', "$name - RSA 2048");

    my ($ok, $text) = openssl('req', '-noout', '-text', \$j->{csr});
    like($text, qr/Public-Key: \(2048 bit\)/, "$name - a 2048-bit key");

    my ($status, $g) = api_json('GET', '/cert/site-a');
    is($status, 404, "$name - no certificate site-a yet");
    like($g->{message}, qr/a key made for it waits for its certificate/,
         "$name - the 404 says a key waits for it");

    ($status, $g) = api_json('GET', '/cert');
    is($g->{csr_pending}, undef, "$name - the default has none pending");

    my $chain = sign($j->{csr});
    my ($s, $up) = upload_signed('/cert/site-a', $chain);

    is($s, 200, "$name - the signed certificate as site-a: 200");
    is($up->{id}, 'site-a', "$name - id");
    ok(defined wait_served(leaf_sha($chain), 0.5, sni => 'a.test'),
       "$name - a.test gets it");

    is(count_log(qr/palette_cert zone "c" certificate "site-a" made a key and a certificate request: key_type RSA 2048, names a\.test/),
       1, "$name - the audit line names the id");
}


# A new request replaces the pending key; a reload keeps it.

sub check_replace {
    my ($name) = @_;

    my $a = make_csr($name, '/cert');
    my $b = make_csr($name, '/cert', key_type => 'RSA 2048');

    isnt($a->{csr}, $b->{csr}, "$name - another request");

    my ($status, $g) = api_json('GET', '/cert');
    is($g->{csr_pending}{key_type}, 'RSA 2048', "$name - the new one pends");

    kill 'HUP', PaletteCert::Nginx::master_pid();
    Time::HiRes::sleep(1.5);

    ($status, $g) = api_json('GET', '/cert');
    is($g->{csr_pending}{csr}, $b->{csr}, "$name - after a reload: pending");

    # the first request's certificate no longer matches

    my ($s, $up) = upload_signed('/cert', sign($a->{csr}));
    is($up->{error}, 'key_mismatch', "$name - the replaced key: mismatch");

    ($s, $up) = upload_signed('/cert', sign($b->{csr}));
    is($s, 200, "$name - the new one's: 200");
}


# A restart reads the pending key from the store.

my %kept;

sub check_persist_make {
    my ($name) = @_;

    my $j = make_csr($name, '/cert');

    $kept{csr} = $j->{csr};
    $kept{created} = $j->{created};
}


sub check_persist_use {
    my ($name) = @_;

    my ($status, $g) = api_json('GET', '/cert');

    is($g->{csr_pending}{created}, $kept{created},
       "$name - after a restart: pending");

    my ($s, $up) = upload_signed('/cert', sign($kept{csr}));
    is($s, 200, "$name - its certificate: 200");
}


__DATA__

=== TEST 1: POST ?csr answers with a request for the names; the key pends in the zone (GET) and the store (0600), never shown or logged
--- request
GET /cert
--- check: make



=== TEST 2: the request signed by the test CA is uploaded without a key and served with the pending key, on every worker; the key is then consumed
--- request
GET /cert
--- check: round_trip



=== TEST 3: a certificate for another key is key_mismatch and the pending key stays
--- request
GET /cert
--- check: mismatch



=== TEST 4: refusals name the field: no names, a bad name, an unknown key type, a bad subject, names not covering names=, not JSON, wrong methods; an upload without key and none pending is missing_field
--- request
GET /cert
--- check: refusals



=== TEST 5: a named certificate has its own pending key, RSA too, before it exists
--- request
GET /cert
--- check: named



=== TEST 6: a new request replaces the pending key, a reload keeps it
--- request
GET /cert
--- check: replace



=== TEST 7: a pending key in the store...
--- http_config
    palette_cert_zone c:4m names=console.example.com,127.0.0.1 store=$TEST_NGINX_STORE_DIR/csr-persist;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert c;
    }
--- request
GET /cert
--- check: persist_make



=== TEST 8: ...is pending again after a restart, and its certificate is taken
--- http_config
    palette_cert_zone c:4m names=console.example.com,127.0.0.1 store=$TEST_NGINX_STORE_DIR/csr-persist;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert c;
    }
--- request
GET /cert
--- check: persist_use
