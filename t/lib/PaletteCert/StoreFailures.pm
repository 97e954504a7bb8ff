package PaletteCert::StoreFailures;

# Stores that fail, for t/010-store-failures.t: "--- store_damage", the
# files of a store damaged while nginx is down, and the step storefs, a
# store folder that cannot be written while nginx runs (a method of
# PaletteCert::Run, which inherits it from here).

use strict;
use warnings;

use Exporter qw(import);
use File::Path ();
use File::Spec;
use File::Temp ();
use Test::More ();

use PaletteCert::Fixtures qw(fixture);
use PaletteCert::Steps qw(split_words validator);

our @EXPORT_OK = qw(store_damage damage_before);


# "--- store_damage": one action a line, on the files of the stores under
# $TEST_NGINX_STORE_DIR, done before the block's nginx starts (the nginx of
# the block before, about to be stopped, does not write to its store).
# The actions and their arguments, each a validator.
my %DAMAGE = (
    truncate => [['BYTES', validator('uint')]],
    replace  => [['FILE', validator('files')]],
    append   => [['TEXT', sub { undef }]],
    insert   => [['LINE', validator('uint')], ['TEXT', sub { undef }]],
    remove   => [],
    unlink   => [],
);


# The block's "--- store_damage", before its nginx starts.
sub damage_before {
    my ($block) = @_;

    my $damage = eval { $block->store_damage };

    store_damage($block->name, $damage) if defined $damage;
}


sub store_damage {
    my ($name, $text) = @_;

    $text = join "\n", @$text if ref $text eq 'ARRAY';

    my $lineno = 0;

    for my $raw (split /\r?\n/, $text) {
        $lineno++;

        my ($words, $line, $err) = split_words($raw);

        next if !defined $err && !@$words;

        $err = _damage($words) if !defined $err;

        Test::More::ok(!defined $err,
                       "$name - store_damage line $lineno: $line")
            or Test::More::diag("  $err");
    }
}


# Returns an error message, or undef once the damage is done.
sub _damage {
    my ($words) = @_;

    my ($action, $rel, @args) = @$words;
    my $spec = $DAMAGE{$action};

    return "unknown action \"$action\" (known: "
           . join(', ', sort keys %DAMAGE) . ")" if !$spec;

    return "\"$action\" takes PATH "
           . join(' ', map { $_->[0] } @$spec)
        if !defined $rel || @args != @$spec;

    for my $i (0 .. $#$spec) {
        my $err = $spec->[$i][1]->($args[$i]);
        return "bad $spec->[$i][0]: $err" if defined $err;
    }

    return "\"$rel\" is not a path inside the store folder"
        if $rel =~ m{^/|(?:^|/)\.\.(?:/|$)};

    my $path = File::Spec->catfile($ENV{TEST_NGINX_STORE_DIR}, $rel);

    if ($action eq 'unlink') {
        return "$path is not a symbolic link" if !-l $path;
        return unlink($path) ? undef : "unlink $path: $!";
    }

    if ($action eq 'remove') {
        return "$path does not exist" if !-e $path && !-l $path;

        if (-d $path && !-l $path) {
            File::Path::remove_tree($path, { error => \my $errs });
            return @$errs ? "cannot remove $path" : undef;
        }

        return unlink($path) ? undef : "unlink $path: $!";
    }

    return "$path is not a file" if !-f $path;

    open my $in, '<:raw', $path or return "open $path: $!";
    my $data = do { local $/; <$in> } // '';
    close $in;

    my $arg = $args[-1];
    $arg =~ s/\\n/\n/g if defined $arg;

    if ($action eq 'truncate') {
        return "$path has only " . length($data) . " bytes"
            if length $data <= $args[0];
        $data = substr $data, 0, $args[0];

    } elsif ($action eq 'replace') {
        $data = join '', map { fixture($_) } split /\+/, $args[0];

    } elsif ($action eq 'append') {
        $data .= $arg;

    } else {
        my @lines = split /(?<=\n)/, $data;

        return "$path has only " . scalar(@lines) . " lines"
            if $args[0] > @lines;

        splice @lines, $args[0], 0, $arg =~ /\n\z/ ? $arg : "$arg\n";
        $data = join '', @lines;
    }

    # in place: the mode and the owner stay

    open my $out, '+<:raw', $path or return "open $path: $!";
    truncate $out, 0 or return "truncate $path: $!";
    print {$out} $data or return "write $path: $!";
    close $out or return "close $path: $!";

    return undef;
}






# Store folders on a file system of their own.
#
# As root, permissions do not stop a write: a small tmpfs is mounted on
# the store folder (with a copy of what it held), then filled or made
# read-only.  Without root, the folder's mode is 0500 instead.  Unmounting
# copies what the tmpfs holds back into the folder, so that a later block
# finds what nginx wrote.  Whatever is mounted is unmounted after the last
# step of the block, and when the test script ends.

my %Mounted;


sub _run_cmd {
    my (@cmd) = @_;

    my $out = `@{[ join ' ', map { _shell_quote($_) } @cmd ]} 2>&1`;

    return $? == 0 ? undef : "\"@cmd\" failed, status $?: $out";
}


sub _shell_quote {
    my ($s) = @_;

    $s =~ s/'/'\\''/g;

    return "'$s'";
}


sub _copy_tree {
    my ($from, $to) = @_;

    return _run_cmd('cp', '-a', "$from/.", $to);
}


# storefs mount|fill|readonly|writable|umount DIR [size=SIZE]
sub step_storefs {
    my ($self, $step) = @_;

    my ($op, $name) = @{ $step->{pos} };
    my $dir = File::Spec->catdir($ENV{TEST_NGINX_STORE_DIR}, $name);
    my $what = "storefs $op $name";
    my $fs = $self->{storefs}{$dir};

    if ($op eq 'mount') {
        return if !$self->ok(!$fs, "$what: not mounted yet");
        return if !$self->ok(-d $dir, "$what: the store $dir exists");

        my $err = _storefs_mount($dir, $step->{args}{size} || '1m');

        return if !$self->ok(!defined $err, "$what: the store is mounted",
                             $err);

        $self->{storefs}{$dir} = { root => $> == 0,
                                   mode => (stat $dir)[2] & 07777 };
        return;
    }

    return if !$self->ok($fs, "$what: the store is mounted",
                         "use \"storefs mount $name\" first");

    my $err;

    if ($op eq 'umount') {
        $err = _storefs_writable($dir, $fs) // _storefs_umount($dir, $fs);
        delete $self->{storefs}{$dir};

    } elsif ($op eq 'writable') {
        $err = _storefs_writable($dir, $fs);

    } elsif (!$fs->{root}) {
        $err = chmod(0500, $dir) ? undef : "chmod 0500 $dir: $!";

    } elsif ($op eq 'fill') {
        $err = _storefs_fill($dir);

    } else {
        $err = _run_cmd('mount', '-o', 'remount,ro', $dir);
        $fs->{ro} = 1 if !defined $err;
    }

    $self->ok(!defined $err, "$what: done", $err);
}


sub _storefs_mount {
    my ($dir, $size) = @_;

    if ($> != 0) {
        $Mounted{$dir} = { mode => (stat $dir)[2] & 07777 };
        return undef;
    }

    my @st = stat $dir or return "stat $dir: $!";
    my $copy = File::Temp::tempdir('palette-storefs-XXXXXX', TMPDIR => 1,
                                   CLEANUP => 1);

    my $err = _copy_tree($dir, $copy)
              // _run_cmd('mount', '-t', 'tmpfs', '-o',
                          sprintf('size=%s,mode=%04o,uid=%d,gid=%d', $size,
                                  $st[2] & 07777, $st[4], $st[5]),
                          'palette-store', $dir);

    return $err if defined $err;

    $Mounted{$dir} = { root => 1 };

    $err = _copy_tree($copy, $dir);
    utime $st[8], $st[9], $dir;

    return $err;
}


# Writes a file until the tmpfs is full.
sub _storefs_fill {
    my ($dir) = @_;

    my $file = File::Spec->catfile($dir, 'filler');

    open my $fh, '>:raw', $file or return "open $file: $!";

    my $chunk = "\0" x 4096;

    while (1) {
        my $n = syswrite $fh, $chunk;

        if (!defined $n) {
            my $err = $!;
            close $fh;
            return $!{ENOSPC} || $err =~ /space/i
                   ? undef : "write $file: $err, not ENOSPC";
        }
    }
}


sub _storefs_writable {
    my ($dir, $fs) = @_;

    if (!$fs->{root}) {
        my $mode = $fs->{mode} // ($Mounted{$dir} || {})->{mode} // 0755;
        return chmod($mode, $dir) ? undef : "chmod $dir: $!";
    }

    if ($fs->{ro}) {
        my $err = _run_cmd('mount', '-o', 'remount,rw', $dir);
        return $err if defined $err;
        delete $fs->{ro};
    }

    my $filler = File::Spec->catfile($dir, 'filler');

    return undef if !-e $filler;
    return unlink($filler) ? undef : "unlink $filler: $!";
}


# Unmounts, and puts what the tmpfs held in the folder underneath.
sub _storefs_umount {
    my ($dir, $fs) = @_;

    my $info = delete $Mounted{$dir};

    return undef if !$fs->{root};

    my @st = stat $dir;
    my $copy = File::Temp::tempdir('palette-storefs-XXXXXX', TMPDIR => 1,
                                   CLEANUP => 1);

    my $err = _copy_tree($dir, $copy);

    my $umount = _run_cmd('umount', $dir);
    $umount = _run_cmd('umount', '-l', $dir) if defined $umount;

    return $umount if defined $umount;
    return "the store was not copied out of the tmpfs: $err" if defined $err;

    File::Path::remove_tree($dir, { keep_root => 1 });

    $err = _copy_tree($copy, $dir);
    utime $st[8], $st[9], $dir if @st;

    return $err;
}


sub _storefs_cleanup {
    my ($self) = @_;

    for my $dir (sort keys %{ $self->{storefs} || {} }) {
        my $fs = $self->{storefs}{$dir};
        my $err = _storefs_writable($dir, $fs) // _storefs_umount($dir, $fs);

        Test::More::diag("$self->{name} - storefs: cannot release $dir: "
                         . $err) if defined $err;
    }

    $self->{storefs} = {};
}


END {
    for my $dir (sort keys %Mounted) {
        if ($Mounted{$dir}{root}) {
            system('mount', '-o', 'remount,rw', $dir);
            unlink File::Spec->catfile($dir, 'filler');
            system('umount', $dir) == 0 or system('umount', '-l', $dir);

        } elsif (defined $Mounted{$dir}{mode}) {
            chmod $Mounted{$dir}{mode}, $dir;
        }
    }
}


1;
