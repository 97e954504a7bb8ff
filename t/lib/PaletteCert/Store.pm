package PaletteCert::Store;

# The stores of the blocks: the module's default one under the server
# root, removed before each block so that each starts from the self-signed
# default; the folders under $TEST_NGINX_STORE_DIR that a series of blocks
# shares ("--- fresh_store" empties them); what a store folder holds,
# against what the API shows (the step store, a method of PaletteCert::Run,
# which inherits it from here), and a folder's entries, for "snapshot".

use strict;
use warnings;

use Cwd ();
use Digest::SHA ();
use Exporter qw(import);
use File::Basename ();
use File::Path ();
use File::Spec;
use Time::HiRes ();

use PaletteCert::Fixtures qw(fixture_sha256 pem_shas);
use PaletteCert::Nginx qw(server_root);
use PaletteCert::Util qw(slurp);

our @EXPORT_OK = qw(fresh_stores tree tree_diff);


# The module's default store, palette_cert/NAME under the nginx prefix,
# would make Test::Nginx refuse to clean the server root before the next
# block ("not empty?"); it goes before each block, so that every block
# starts from the self-signed default.  A test of persistence across blocks
# gives store= a path outside the server root, in $TEST_NGINX_STORE_DIR,
# which "--- fresh_store" empties: a series of blocks sharing a store
# starts there.
sub fresh_stores {
    my ($block) = @_;

    my $store = File::Spec->catdir(server_root(), 'palette_cert');

    File::Path::remove_tree($store) if -d $store;

    if (defined eval { $block->fresh_store }) {
        File::Path::remove_tree($ENV{TEST_NGINX_STORE_DIR},
                                { keep_root => 1 });
    }
}


# Every entry under DIR: relative path => description.  Contents are
# compared by digest and never shown: the store holds a private key.
sub tree {
    my ($dir) = @_;

    my %tree;
    my @todo = ('.');

    while (@todo) {
        my $rel = shift @todo;
        my $path = "$dir/$rel";
        my @st = lstat $path;

        if (!@st) {
            $tree{$rel} = "cannot stat: $!";
            next;
        }

        my $mode = sprintf '%04o', $st[2] & 07777;
        my $mtime = (Time::HiRes::lstat($path))[9];

        if (-l _) {
            $tree{$rel} = 'link to ' . (readlink($path) // '?')
                          . " mtime $mtime";

        } elsif (-d _) {
            $tree{$rel} = "folder mode $mode mtime $mtime";

            if (opendir my $dh, $path) {
                push @todo, map { $rel eq '.' ? $_ : "$rel/$_" }
                            sort grep { $_ ne '.' && $_ ne '..' }
                            readdir $dh;
                closedir $dh;
            }

        } else {
            my $sha = eval { Digest::SHA->new(256)->addfile($path, 'b')
                                                 ->hexdigest }
                      // 'unreadable';

            $tree{$rel} = "file mode $mode mtime $mtime size $st[7] "
                          . "sha256 $sha";
        }
    }

    return \%tree;
}


sub tree_diff {
    my ($old, $new) = @_;

    my %all = map { $_ => 1 } keys %$old, keys %$new;
    my @diff;

    for my $rel (sort keys %all) {
        if (!exists $old->{$rel}) {
            push @diff, "added $rel: $new->{$rel}";

        } elsif (!exists $new->{$rel}) {
            push @diff, "removed $rel: $old->{$rel}";

        } elsif ($old->{$rel} ne $new->{$rel}) {
            push @diff, "changed $rel: $old->{$rel}", "      now: $new->{$rel}";
        }
    }

    return @diff;
}


# store DIR: the files in $TEST_NGINX_STORE_DIR/DIR hold what GET shows
sub step_store {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR}, $step->{pos}[0]);
    my $what = "store $step->{pos}[0]";

    if (defined $args->{id}) {
        $self->_store_named("$what id=$args->{id}", $dir, $args,
                            $step->{flags}{absent});
        return;
    }

    my $j = $self->_api_get_quiet($args->{api}) || {};

    my $link = readlink "$dir/current";

    if (!$self->ok(defined $link && $link =~ /^gen-([0-9]+)$/,
                   "$what: current is a link to a generation",
                   "readlink $dir/current: " . ($link // $!)))
    {
        return;
    }

    my $gen = $1;

    $self->is($gen, $j->{generation},
              "$what: current is the generation GET shows");
    $self->is($gen, $args->{generation},
              "$what: generation $args->{generation}")
        if defined $args->{generation};

    # the current generation and, below it, the history=N (5) replaced last

    my $history = $args->{history} // 5;
    my @gens = sort { $a <=> $b } map { m{/gen-([0-9]+)$} ? $1 : () }
                                  glob "$dir/gen-*";

    $self->is($gens[-1], $gen, "$what: no generation above the current one");
    $self->ok(@gens <= 1 + $history,
              "$what: the current generation and $history replaced at most",
              "kept: @gens");

    my $cert = slurp("$dir/$link/certificate.pem");
    my ($sha) = pem_shas($cert);

    $sha //= '';

    $self->is($sha, $j->{sha256}, "$what: the stored leaf is the one served");
    $self->is($cert, $j->{certificate},
              "$what: the stored chain is the one served");

    if (defined $args->{sha256}) {
        $self->is($sha, fixture_sha256($args->{sha256}),
                  "$what: the stored leaf is $args->{sha256}");
    }

    my $source = slurp("$dir/$link/source") // '';
    $source =~ s/\s+$//;

    $self->is($source, $j->{source},
              "$what: the stored source is the one served");
    $self->is($source, $args->{source}, "$what: source $args->{source}")
        if defined $args->{source};

    $self->_check_key_mode($what, "$dir/$link/key.pem");
    $self->_check_key_mode($what, "$dir/self-signed/key.pem");

    $self->ok(_key_matches("$dir/$link/certificate.pem",
                           "$dir/$link/key.pem"),
              "$what: the stored key belongs to the stored leaf");

    if ($source eq 'self-signed') {
        $self->is($cert, slurp("$dir/self-signed/certificate.pem"),
                  "$what: the current certificate is the stored "
                  . "self-signed one");
    }
}


sub _check_key_mode {
    my ($self, $what, $key) = @_;

    my @st = stat $key;

    $self->ok(@st && ($st[2] & 07777) == 0600, "$what: $key has mode 0600",
              @st ? sprintf('mode %04o', $st[2] & 07777) : "stat: $!");
}


# store DIR id=ID [sha256=FIXTURE] [absent]: the named certificate ID is
# a folder of its own under the store DIR, holding the chain GET /ID shows
# and its key, of mode 0600, as plain PEM files; with absent, no folder
# of the store holds it any more.
sub _store_named {
    my ($self, $what, $dir, $args, $absent) = @_;

    my @folders = _folders_named($dir, $args->{id});

    if ($absent) {
        my @left = grep { _find_files($_, 'certificate.pem') } @folders;

        $self->ok(!@left, "$what: no folder holds a certificate of it",
                  map { "left: $_" } @left);
        return;
    }

    return if !$self->is(scalar @folders, 1,
                         "$what: one folder $args->{id} in the store",
                         map { "found: $_" } @folders);

    my $j = $self->_api_get_quiet($self->_resource($args)) || {};
    my @certs = _find_files($folders[0], 'certificate.pem');
    my ($served) = grep { (slurp($_) // '') eq ($j->{certificate} // '-') }
                   @certs;

    return if !$self->ok(defined $served,
                         "$what: a certificate.pem in $folders[0] holds the "
                         . "chain GET shows",
                         "certificate.pem files: @certs");

    my ($leaf) = pem_shas(slurp($served));

    $self->is($leaf, $j->{sha256}, "$what: the stored leaf is the one served");
    $self->is($leaf, fixture_sha256($args->{sha256}),
              "$what: the stored leaf is $args->{sha256}")
        if defined $args->{sha256};

    my $key = File::Basename::dirname($served) . '/key.pem';

    $self->ok(_key_matches($served, $key),
              "$what: key.pem next to it belongs to the stored leaf");

    for my $file (_find_files($folders[0], qr/^key.*\.pem$/)) {
        $self->_check_key_mode($what, $file);
    }
}


# The folders named $name under $dir, at any depth.
sub _folders_named {
    my ($dir, $name) = @_;

    my (@found, @todo);

    @todo = ($dir);

    while (defined(my $d = shift @todo)) {
        opendir my $dh, $d or next;

        for my $e (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
            my $path = "$d/$e";

            next if -l $path || !-d _;

            push @found, $path if $e eq $name;
            push @todo, $path;
        }

        closedir $dh;
    }

    return @found;
}


# The files under $dir (links followed, at any depth) whose name is $name
# or matches it.
sub _find_files {
    my ($dir, $name) = @_;

    my (@found, %seen);
    my @todo = ($dir);

    while (defined(my $d = shift @todo)) {
        my $real = Cwd::abs_path($d) // $d;

        next if $seen{$real}++;

        opendir my $dh, $d or next;

        for my $e (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
            my $path = "$d/$e";

            if (-d $path) {
                push @todo, $path;

            } elsif (-f _ && (ref $name ? $e =~ $name : $e eq $name)) {
                push @found, $path;
            }
        }

        closedir $dh;
    }

    return @found;
}


sub _key_matches {
    my ($cert, $key) = @_;

    my $a = `openssl x509 -noout -pubkey -in '$cert' 2>/dev/null`;
    my $b = `openssl pkey -pubout -in '$key' 2>/dev/null`;

    return $a ne '' && $a eq $b;
}



1;
