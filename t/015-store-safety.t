# The store's safety: no two zones share a store folder; the master, which
# runs as root, never reads or writes through a link planted in the
# folder the worker user owns; and "200 means live" holds when an upload
# meets a reload that resizes the zone or a binary upgrade.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

master_on();
workers(2);
no_shuffle();

my %defaults;

$defaults{http_config} = <<'_EOC_';
    palette_cert_zone console:1m names=console.example.com store=$TEST_NGINX_STORE_DIR/safety;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl reuseport;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "$pid\n"; }
    }
_EOC_

$defaults{config} = <<'_EOC_';
    location = /cert { palette_cert_api console; }
_EOC_

PaletteCert::defaults(%defaults);

# "--- plant": links planted in the store before the block's nginx starts
# (the nginx of the block before no longer writes), one action a line,
# paths relative to $TEST_NGINX_STORE_DIR; "@/PATH" in a link target is
# that path under $TEST_NGINX_STORE_DIR, made absolute:
#
#     copy FROM TO        copies a file or a folder (links followed)
#     link PATH TARGET    replaces PATH (file, folder or link) by a link
#
# "--- outside DIR": a folder outside the store the links lead to; what it
# holds (names, sizes, modes, owners, digests) is recorded after the
# planting, and must be the same once the block's steps have run, with
# nothing added: root neither wrote nor removed anything through a link.
# "--- not_link": paths that must be real folders or files after the steps.

my %outside;

sub store_path {
    my ($rel) = @_;

    die "\"$rel\" is not inside the store folder\n"
        if $rel =~ m{^/|(?:^|/)\.\.(?:/|$)};

    return "$ENV{TEST_NGINX_STORE_DIR}/$rel";
}

sub tree {
    my ($dir) = @_;

    my $out = `cd '$dir' && find . -printf '%p %y %m %U %s %l\\n' | sort 2>&1`;
    $out .= `cd '$dir' && find . -type f -exec sha256sum {} + | sort 2>&1`;

    return $out;
}

sub plant {
    my ($block) = @_;

    my $text = eval { $block->plant };

    return $block if !defined $text;

    for my $line (grep { /\S/ } split /\n/, $text) {
        my ($op, $path, $arg) = split ' ', $line;
        my $err;

        if ($op eq 'copy') {
            my ($from, $to) = (store_path($path), store_path($arg));
            system('mkdir', '-p', $to =~ s{/[^/]+$}{}r);
            $err = system('cp', '-rL', '--', $from, $to) ? "cp failed" : undef;

        } elsif ($op eq 'link') {
            my $at = store_path($path);
            $arg =~ s{^@/}{$ENV{TEST_NGINX_STORE_DIR}/};
            system('rm', '-rf', '--', $at);
            $err = symlink($arg, $at) ? undef : "symlink $at: $!";

        } else {
            $err = "unknown action \"$op\"";
        }

        Test::More::ok(!defined $err, $block->name . " - plant: $line")
            or Test::More::diag($err);
    }

    my $dir = eval { $block->outside };

    if (defined $dir) {
        $dir =~ s/\s+$//;
        $outside{ $block->name } = tree(store_path($dir));
    }

    return $block;
}

Test::Nginx::Socket::add_block_preprocessor(\&plant);

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run || $req_idx || $repeated_req_idx;

    for my $rel (grep { /\S/ } split /\n/, eval { $block->not_link } // '') {
        $rel =~ s/^\s+|\s+$//g;
        Test::More::ok(-e store_path($rel) && !-l store_path($rel),
                       $block->name . " - \"$rel\" is no link");
    }

    my $before = delete $outside{ $block->name };

    return if !defined $before;

    (my $dir = $block->outside) =~ s/\s+$//;

    Test::More::is(tree(store_path($dir)), $before,
                   $block->name . " - nothing changed in \"$dir\"");
});

run_tests();

__DATA__

=== TEST 1: nginx -t rejects two zones with the same store= folder, naming both zones and the folder
--- fresh_store
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/shared;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/shared;
--- nginx_t_error
\[emerg\].*zone "b" of "palette_cert_zone" uses the store ".*/shared" of zone "a"



=== TEST 2: nginx -t rejects the same store folder written in two ways (a trailing slash, a relative path and the default one)
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_zone b:1m store=palette_cert/a/;
--- nginx_t_error
\[emerg\].*zone "b" of "palette_cert_zone" uses the store ".*/palette_cert/a" of zone "a"



=== TEST 3: nginx -t rejects a store folder inside another zone's store, and one holding another's
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/outer;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/outer/inner;
--- nginx_t_error
\[emerg\].*the store ".*/outer/inner" of zone "b" of "palette_cert_zone" and the store ".*/outer" of zone "a" are nested



=== TEST 4: nginx -t rejects a store folder holding another zone's default store
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m;
    palette_cert_zone b:1m store=palette_cert;
--- nginx_t_error
\[emerg\].*the store ".*/palette_cert" of zone "b" of "palette_cert_zone" and the store ".*/palette_cert/a" of zone "a" are nested



=== TEST 5: nginx -t accepts zones whose store folders only share a prefix of their names
--- config
    location = /t { return 200; }
--- request
GET /t
--- nginx_t
    palette_cert_zone a:1m store=$TEST_NGINX_STORE_DIR/one;
    palette_cert_zone b:1m store=$TEST_NGINX_STORE_DIR/one-more;
    palette_cert_zone c:1m store=off;
    palette_cert_zone d:1m store=off;



=== TEST 6: the series starts with an upload, stored as generation 2
--- fresh_store
--- request
GET /cert
--- steps
upload leaf-a
store safety generation=2 sha256=leaf-a
--- no_error_log
[alert]
[crit]



=== TEST 7: a key.pem of the current generation that is a link to a file outside the store is not read: alert, the self-signed default served, the file untouched
--- plant
copy safety/current outside/gen
link safety/gen-2/key.pem @/outside/gen/key.pem
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=3
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=4 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/gen-2/key\.pem}]



=== TEST 8: a generation folder that is a link to a folder outside the store is not read: alert, the self-signed default served, the folder untouched
--- plant
copy safety/current outside/gen-4
link safety/gen-4 @/outside/gen-4
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=5
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=6 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/gen-4}]



=== TEST 9: a current link that leads out of the store is not followed: alert, the self-signed default served
--- plant
copy safety/current outside/gen-6
link safety/current ../outside/gen-6
--- outside
outside
--- request
GET /cert
--- steps
get source=self-signed generation=7
handshake count=4 expect=self-signed
upload leaf-a
store safety generation=8 sha256=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/current}]



=== TEST 10: a self-signed folder that is a link to a folder outside the store is not read: alert, a new default is made in the store, the upload stays served
--- plant
copy safety/self-signed outside/self-signed
link safety/self-signed @/outside/self-signed
--- outside
outside
--- not_link
safety/self-signed
--- request
GET /cert
--- steps
get source=uploaded sha256=leaf-a generation=8
handshake count=4 expect=leaf-a
--- error_log eval
[qr{\[alert\] .*/safety/self-signed}]
