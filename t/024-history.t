# History and rollback: each certificate keeps its last history=N replaced
# versions in the store as plain PEM, GET RES?history lists them newest
# first, and POST RES?rollback=GEN makes one current again as a new
# generation, validated in full as if uploaded now, for the default and
# for named certificates, on every worker at once.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check qw(api api_json served wait_served sha count_log
                          check_hook);

use File::Path ();

master_on();
workers(4);
no_shuffle();

my $S = "$ENV{TEST_NGINX_STORE_DIR}/history";

# a store as an older nginx left it: an expired version under the current

File::Path::remove_tree($S);
seed("$S/seeded", 2 => 'leaf-expired', 3 => 'leaf-a');

PaletteCert::defaults(
    PaletteCert::zone_config('h:4m names=console.example.com history=2',
                             named => 1, metrics => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

check_hook();

run_tests();


# gen-N folders of fixtures, the last one current

sub seed {
    my ($dir, %gen) = @_;

    for my $n (sort { $a <=> $b } keys %gen) {
        my $g = "$dir/gen-$n";

        File::Path::make_path($g);

        for (['certificate.pem', "$gen{$n}.chain.pem", 0644],
             ['key.pem', "$gen{$n}.key", 0600],
             ['ca.pem', 'ca.pem', 0644])
        {
            my ($to, $from, $mode) = @$_;

            open my $out, '>', "$g/$to" or die "$g/$to: $!";
            print $out PaletteCert::fixture($from);
            close $out;
            chmod $mode, "$g/$to";
        }

        open my $src, '>', "$g/source" or die;
        print $src "uploaded\n";
        close $src;

        unlink "$dir/current";
        symlink "gen-$n", "$dir/current" or die "symlink: $!";
    }
}


sub store_gens {
    my ($dir) = @_;

    opendir my $dh, $dir or return ();
    my @g = sort { $a <=> $b } map { /^gen-(\d+)$/ ? $1 : () } readdir $dh;
    closedir $dh;

    return @g;
}


sub default_store {
    return PaletteCert::_server_root() . '/palette_cert/h';
}


sub no_key {
    my ($name, $body) = @_;

    unlike($body, qr/PRIVATE KEY/, "$name - no key in the answer");
}


sub history {
    my ($name, $uri) = @_;

    my ($status, $json, $body) = api_json('GET', "$uri?history");

    is($status, 200, "$name - GET $uri?history: 200");
    no_key($name, $body);

    return $json ? $json->{history} : [];
}


# Three uploads: the history keeps the two replaced last, newest first,
# with what each was; the store holds those and the current one only.

sub check_history {
    my ($name) = @_;

    for my $f ('leaf-a', 'leaf-b', 'leaf-c') {
        my ($status) = api('PUT', '/cert', upload => $f);
        is($status, 200, "$name - upload $f");
    }

    my $h = history($name, '/cert');

    is(scalar @$h, 2, "$name - two versions");
    is_deeply([map { $_->{generation} } @$h], [3, 2],
              "$name - generations 3, 2: newest first");
    is($h->[0]{sha256}, sha('leaf-b'), "$name - 3 is leaf-b");
    is($h->[1]{sha256}, sha('leaf-a'), "$name - 2 is leaf-a");

    for my $v (@$h) {
        is($v->{source}, 'uploaded', "$name - $v->{generation}: source");
        like($v->{not_after}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
             "$name - $v->{generation}: not_after");
        like($v->{replaced_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
             "$name - $v->{generation}: replaced_at");
        is(join(',', sort keys %$v),
           'generation,not_after,replaced_at,sha256,source',
           "$name - $v->{generation}: the fields");
    }

    is_deeply([store_gens(default_store())], [2, 3, 4],
              "$name - the store: the current one and two replaced");

    ok(-f default_store() . '/gen-3/key.pem'
       && (stat(default_store() . '/gen-3/key.pem'))[2] % 010000 == 0600,
       "$name - a kept version's key is mode 0600");

    my ($status, $body, $head) = api('PUT', '/cert?history');
    is($status, 405, "$name - PUT ?history: 405");
    like($head, qr/^Allow: GET, HEAD\r?$/mi, "$name - Allow: GET, HEAD");
}


# A rollback makes the version current as a new generation on every
# worker, says so in the audit line, and is history in turn.

sub check_rollback {
    my ($name) = @_;

    api('PUT', '/cert', upload => $_) for 'leaf-a', 'leaf-b';

    my ($status, $json, $body) = api_json('POST', '/cert?rollback=2');

    is($status, 200, "$name - POST ?rollback=2: 200");
    no_key($name, $body);
    is($json->{generation}, 4, "$name - a new generation");
    is($json->{sha256}, sha('leaf-a'), "$name - leaf-a again");
    is($json->{source}, 'uploaded', "$name - source uploaded");

    ok(defined wait_served(sha('leaf-a'), 0.5),
       "$name - every handshake gets leaf-a at once");

    is(count_log(qr/palette_cert zone "h" rolled back to generation 2: generation 4, sha256 ${\sha('leaf-a')}, subject "CN=console.example.com"/),
       1, "$name - one audit line");

    my $h = history($name, '/cert');

    is_deeply([map { $_->{generation} } @$h], [3, 2],
              "$name - the history: 3 (leaf-b), then 2");

    ($status, $json) = api_json('GET', '/cert');
    is($json->{generation}, 4, "$name - GET: generation 4");

    ($status, $body) = api('GET', '/metrics');
    like($body, qr/^palette_cert_changes_total\{zone="h",result="ok"\} 3$/m,
         "$name - counted as a change");
}


# Refusals change nothing.

sub check_refusals {
    my ($name) = @_;

    api('PUT', '/cert', upload => $_) for 'leaf-a', 'leaf-b';

    my @cases = (
        ['POST', '/cert?rollback=9', [], 404, 'not_found'],
        ['POST', '/cert?rollback=3', [], 404, 'not_found'],
        ['POST', '/cert?rollback=2', ['If-Match: "2"'], 412,
         'generation_mismatch'],
        ['POST', '/cert?rollback=x', [], 400, 'malformed_request'],
        ['POST', '/cert?rollback=', [], 400, 'malformed_request'],
        ['POST', '/cert?rollback=2&history', [], 400, 'malformed_request'],
        ['GET', '/cert?rollback=2', [], 405, 'method_not_allowed'],
        ['PUT', '/cert?rollback=2', [], 405, 'method_not_allowed'],
    );

    for my $c (@cases) {
        my ($m, $uri, $hdr, $code, $error) = @$c;

        my ($status, $json, $body) = api_json($m, $uri, headers => $hdr);

        is($status, $code, "$name - $m $uri: $code");
        is($json && $json->{error}, $error, "$name - $m $uri: $error");
        ok($json && length $json->{message} > 20,
           "$name - $m $uri: a message");
    }

    my ($status, $json) = api_json('GET', '/cert');
    is($json->{generation}, 3, "$name - still generation 3");
    is(served(), sha('leaf-b'), "$name - still leaf-b");

    # a dry run checks and changes nothing

    ($status, $json) = api_json('POST', '/cert?rollback=2&dry_run=1');
    is($status, 200, "$name - dry run: 200");
    ok($json->{dry_run}, "$name - dry run: \"dry_run\": true");
    is($json->{sha256}, sha('leaf-a'), "$name - dry run: leaf-a");

    ($status, $json) = api_json('POST', '/cert?rollback=2',
                                headers => ['If-Match: "3"']);
    is($status, 200, "$name - with a current If-Match: 200");
    is($json->{generation}, 4, "$name - generation 4");
}


# An older version that has expired since is refused as an upload of it
# would be: 422 expired, nothing changed.

sub check_expired {
    my ($name) = @_;

    my $h = history($name, '/cert');

    is_deeply([map { $_->{generation} } @$h], [2],
              "$name - the seeded history: 2");

    my ($status, $json) = api_json('POST', '/cert?rollback=2');

    is($status, 422, "$name - 422");
    is($json->{error}, 'expired', "$name - expired");
    like($json->{message}, qr/expired on/, "$name - says when");

    ($status, $json) = api_json('GET', '/cert');
    is($json->{generation}, 3, "$name - still generation 3");
    is(served(), sha('leaf-a'), "$name - still leaf-a");
}


# The self-signed default is in the history too, and put back as DELETE
# puts it back.

sub check_self_signed {
    my ($name) = @_;

    my ($status, $json) = api_json('GET', '/cert');
    my $self = $json->{sha256};

    api('PUT', '/cert', upload => 'leaf-a');

    my $h = history($name, '/cert');

    is($h->[0]{generation}, 1, "$name - 1 in the history");
    is($h->[0]{source}, 'self-signed', "$name - source self-signed");

    ($status, $json) = api_json('POST', '/cert?rollback=1');

    is($status, 200, "$name - 200");
    is($json->{source}, 'self-signed', "$name - self-signed again");
    is($json->{sha256}, $self, "$name - the same self-signed certificate");
    is($json->{generation}, 3, "$name - generation 3");
    ok(defined wait_served($self, 0.5), "$name - served");
    is(count_log(qr/rolled back to generation 1 \(the self-signed default\): generation 3/),
       1, "$name - the audit line");
}


# history=0 keeps no version.

sub check_off {
    my ($name) = @_;

    api('PUT', '/cert', upload => $_) for 'leaf-a', 'leaf-b';

    my $h = history($name, '/cert');

    is(scalar @$h, 0, "$name - none listed");
    is_deeply([store_gens(default_store())], [3],
              "$name - the store holds the current one only");

    my ($status, $json) = api_json('POST', '/cert?rollback=2');
    is($status, 404, "$name - rollback: 404");
}


# Named certificates keep their own history; a missing one is 404.

sub check_named {
    my ($name) = @_;

    for my $f ('named-a', 'named-a2', 'named-a') {
        my ($status) = api('PUT', '/cert/a', upload => $f);
        is($status, 200, "$name - upload $f as a");
    }

    api('PUT', '/cert/b', upload => 'named-b');

    my $h = history($name, '/cert/a');

    is_deeply([map { $_->{generation} } @$h], [3, 2],
              "$name - a: 3 (named-a2), 2 (named-a)");
    is($h->[0]{sha256}, sha('named-a2'), "$name - 3 is named-a2");

    is(scalar @{ history($name, '/cert/b') }, 0, "$name - b: none");

    my ($status, $json) = api_json('POST', '/cert/a?rollback=3');

    is($status, 200, "$name - rollback a to 3: 200");
    is($json->{id}, 'a', "$name - \"id\"");
    is($json->{generation}, 6, "$name - the zone's next generation");
    ok(defined wait_served(sha('named-a2'), 0.5, sni => 'a.test'),
       "$name - a.test gets named-a2");
    is(served(sni => 'b.test'), sha('named-b'), "$name - b unchanged");
    is(count_log(qr/palette_cert zone "h" certificate "a" rolled back to generation 3: generation 6/),
       1, "$name - the audit line names the id");

    ($status, $json) = api_json('POST', '/cert/b?rollback=3');
    is($status, 404, "$name - b has no generation 3: 404");

    ($status, $json) = api_json('GET', '/cert/nope?history');
    is($status, 404, "$name - history of a missing id: 404");
    is($json->{error}, 'not_found', "$name - not_found");

    ($status, $json) = api_json('POST', '/cert/nope?rollback=2');
    is($status, 404, "$name - rollback of a missing id: 404");
}


# A rollback is stored like an upload: the store's current is the new
# generation, holding the version's files.

sub check_persisted {
    my ($name) = @_;

    api('PUT', '/cert', upload => $_) for 'leaf-a', 'leaf-b';

    my ($status) = api('POST', '/cert?rollback=2');
    is($status, 200, "$name - rolled back");

    my $link = readlink(default_store() . '/current');
    is($link, 'gen-4', "$name - the store's current is gen-4");

    is(slurp(default_store() . '/gen-4/certificate.pem'),
       slurp(default_store() . '/gen-2/certificate.pem'),
       "$name - holding generation 2's chain");
}


sub slurp {
    my ($file) = @_;

    open my $fh, '<', $file or return "$file: $!";
    local $/;

    return <$fh>;
}

__DATA__

=== TEST 1: the history lists the last history=N replaced versions, newest first, with what each was; the store keeps those only
--- request
GET /cert
--- check: history



=== TEST 2: POST ?rollback=GEN makes that version current as a new generation on every worker, with an audit line; it is counted
--- request
GET /cert
--- check: rollback



=== TEST 3: refusals (unknown or current generation, stale If-Match, bad numbers, two actions, wrong methods) change nothing; a dry run checks only
--- request
GET /cert
--- check: refusals



=== TEST 4: a version that expired since it was replaced is refused as expired; nothing changes
--- http_config
    palette_cert_zone h:4m names=console.example.com store=$TEST_NGINX_STORE_DIR/history/seeded;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert h;
    }
--- request
GET /cert
--- check: expired



=== TEST 5: the self-signed default is in the history, and a rollback to it serves it again
--- request
GET /cert
--- check: self_signed



=== TEST 6: history=0 keeps nothing
--- http_config
    palette_cert_zone h:4m names=console.example.com history=0;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        palette_cert h;
    }
--- request
GET /cert
--- check: off



=== TEST 7: named certificates have their own history and rollback; a missing id is 404
--- request
GET /cert
--- check: named



=== TEST 8: a rollback is stored like an upload: the store's current names the new generation
--- request
GET /cert
--- check: persisted



=== TEST 9: history= outside 0..100 fails nginx -t naming the directive
--- request
GET /cert
--- nginx_t
    palette_cert_zone other:1m history=101;
--- nginx_t_error
\[emerg\].*invalid "history=101" in "palette_cert_zone": the history keeps 0 to 100 versions
