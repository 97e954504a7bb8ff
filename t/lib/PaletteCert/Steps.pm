package PaletteCert::Steps;

# The step language of "--- steps": what each step takes (its grammar, the
# validators of its arguments, the combinations it refuses), the parser,
# and the status of each error code of the API.  Running a step is for
# PaletteCert::Run and the modules of its concern; the language is
# documented in the POD at the end of this file.

use strict;
use warnings;

use Exporter qw(import);
use Test::More ();

use PaletteCert::Fixtures qw(fixture_exists ca_file);

our @EXPORT_OK = qw(parse_steps steps_of step_groups split_words
                    error_status validator);


# Status of each error code of the API, from the product contract.
my %ERROR_STATUS = (
    malformed_request      => 400,
    missing_field          => 400,
    cross_origin           => 403,
    not_found              => 404,
    method_not_allowed     => 405,
    name_conflict          => 409,
    generation_mismatch    => 412,
    too_large              => 413,
    unsupported_media_type => 415,
    invalid_certificate    => 422,
    invalid_key            => 422,
    encrypted_key          => 422,
    key_mismatch           => 422,
    invalid_ca             => 422,
    chain_incomplete       => 422,
    chain_untrusted        => 422,
    expired                => 422,
    not_yet_valid          => 422,
    name_mismatch          => 422,
    weak_key               => 422,
    not_server_certificate => 422,
    store_failed           => 500,
    zone_full              => 507,
);


# The status an error code answers with, from the product contract.
sub error_status {
    my ($code) = @_;

    return $ERROR_STATUS{$code};
}


# The validators of arguments, by what they accept.  A validator returns
# an error message, or undef when the value is good.

# Values matching $re, which are $what.
sub _like {
    my ($re, $what) = @_;

    return sub {
        my ($v) = @_;

        return $v =~ $re ? undef : "\"$v\" is not $what";
    };
}


# Values among @allowed.
sub _one_of {
    my @allowed = @_;

    return sub {
        my ($v) = @_;

        return undef if grep { $_ eq $v } @allowed;
        return "\"$v\" is not one of " . join('|', @allowed);
    };
}


# A list of values FIXTURE+FIXTURE..., each good for $one.
sub _each {
    my ($one) = @_;

    return sub {
        for my $v (split /\+/, $_[0], -1) {
            my $err = $one->($v);
            return $err if defined $err;
        }

        return undef;
    };
}


# The words @words too.
sub _or {
    my ($validator, @words) = @_;

    return sub {
        my ($v) = @_;

        return grep({ $_ eq $v } @words) ? undef : $validator->($v);
    };
}


# Fixtures that have the files $name$suffix, for each of @suffixes.
sub _fixture {
    my ($what, @suffixes) = @_;

    return sub {
        my ($v) = @_;

        my @missing = grep { !fixture_exists("$v$_") } @suffixes;

        return @missing ? "\"$v\" is not $what" : undef;
    };
}


# A fixture file, a key fixture FIXTURE.key, a CA fixture.
sub _file {
    return fixture_exists($_[0]) ? undef : "no fixture file \"$_[0]\"";
}


sub _key {
    return fixture_exists("$_[0].key") ? undef
           : "no key fixture \"$_[0].key\"";
}


sub _ca {
    return defined ca_file($_[0]) ? undef : "no CA fixture \"$_[0]\"";
}


# A named certificate's ID in the URI and a query string are sent as
# written: the tests of bad IDs give IDs the API must refuse (a/b, .a,
# %2F).
my $AS_WRITTEN = qr/^(?:(?![?#])[!-~])+$/;
my $LIST = qr/^[^,\s]+(?:,[^,\s]+)*$/;

my %V = (
    int            => _like(qr/^[1-9][0-9]*$/, 'a positive integer'),
    uint           => _like(qr/^(?:0|[1-9][0-9]*)$/, 'an integer'),
    status         => _like(qr/^[1-5][0-9][0-9]$/, 'an HTTP status'),
    word           => _like(qr/^[A-Za-z0-9._:-]+$/, 'a name'),
    env            => _like(qr/^[A-Z_][A-Z0-9_]*$/,
                            'an environment variable name'),
    path           => _like(qr{^/\S*$}, 'an absolute URI path'),
    section        => _like(qr/^[a-z_][a-z0-9_]*$/, 'a section name'),
    field          => _like(qr/^(?:certificate|key|ca|null)$/,
                            'certificate, key, ca or null'),
    text           => _like(qr/^[[:print:]]+$/, 'printable text'),
    if_match       => _like(qr/^(?:current|stale|\*|0|[1-9][0-9]*)$/,
                            'a generation, current, stale or *'),
    names          => _like($LIST, 'a comma separated list of names'),
    size           => _like(qr/^[1-9][0-9]*[kKmM]?$/, 'a size'),
    error          => _like(qr/^[a-z_]+$/, 'an error code'),
    id             => _like($AS_WRITTEN,
                            'an ID (printable, no space, ? or #)'),
    ids            => _or(_like($LIST, 'a comma separated list of IDs, '
                                       . 'or none'), 'none'),
    query          => _like($AS_WRITTEN,
                            'a query string (printable, no space, ? or #)'),
    ipv4           => _like(qr/^127(?:\.[0-9]{1,3}){3}$/,
                            'a loopback IPv4 address'),

    # signature algorithms or cipher names
    openssl_list   => _like(qr/^[A-Za-z0-9_+.-]+(?::[A-Za-z0-9_+.-]+)*$/,
                            'a colon separated OpenSSL list'),

    regex          => sub {
                          my ($v) = @_;

                          return eval { qr/$v/; 1 }
                                 ? undef
                                 : "\"$v\" is not a regular expression";
                      },

    cert_fixture   => _fixture('a certificate fixture', '.sha256'),
    upload_fixture => _fixture('a server certificate fixture', '.chain.pem'),
    client_cert    => _fixture('a certificate fixture with a key', '.crt',
                               '.key'),

    # FILE+FILE..., FIXTURE+FIXTURE...: files sent one after the other,
    # keys or CAs in this order
    files          => _each(\&_file),
    key            => _or(_each(\&_key), 'none'),
    ca             => _or(_each(\&_ca), 'none'),
);

$V{cert_list} = _each($V{cert_fixture});
$V{expect} = _or($V{cert_fixture}, 'self-signed', 'current');


# A validator of the list above, for the sections of other modules.
sub validator {
    my ($name) = @_;

    return $V{$name} // die "no validator \"$name\"\n";
}


# What each key=value argument takes, the same in every step that takes
# it; a step that takes one its own way says so (chain=, count=).
my %ARGS = (

    # named after what they take
    (map { $_ => $V{$_} } qw(ca client_cert error expect field ids if_match
                             key names query size status)),

    (map { $_ => $V{id} } qw(after id next)),
    (map { $_ => $V{word} } qw(answer remember same_as sni store)),
    (map { $_ => $V{path} } qw(api path)),
    (map { $_ => $V{env} } qw(fifo https port)),
    (map { $_ => $V{int} } qw(clients count uploads)),
    (map { $_ => $V{uint} } qw(generation history limit overlap)),
    (map { $_ => $V{text} } qw(from key_type to type)),
    (map { $_ => $V{openssl_list} } qw(ciphers sigalgs)),

    as            => _one_of('json', 'multipart', 'urlencoded'),
    body          => $V{section},
    certificate   => $V{files},
    handshakes    => _one_of('on', 'off'),
    host          => $V{ipv4},
    if_none_match => _one_of('*'),
    message       => $V{regex},
    method        => _one_of('PUT', 'POST'),
    served        => $V{cert_list},
    sha256        => $V{cert_fixture},
    source        => _one_of('self-signed', 'uploaded'),
    tls           => _one_of('1.2', '1.3', 'any'),
    workers       => _one_of('all'),
);


# The key=value arguments a step takes: @$names, as %ARGS has them, and
# %own, its own way.
sub _keys {
    my ($names, %own) = @_;

    return { (map { $_ => $ARGS{$_} // die "no argument \"$_\"\n" }
                  @$names),
             %own };
}


# Arguments several steps take: what an answer of the API must be; the
# certificate a step is about, and the way to the API.
my @ANSWER = qw(status error message);
my @RESOURCE = qw(api id https client_cert);

my $RECORD_SAME = ['record|same', _one_of('record', 'same')];


# Each step: the positional arguments it takes (each with a validator),
# the key=value arguments it accepts, the bare flags, the keys it needs.
my %STEPS = (
    handshake => {
        keys     => _keys([qw(count tls sni port expect served path api
                              workers host sigalgs ciphers)],
                          chain => $V{int}),
        required => ['expect'],
    },
    upload => {
        pos   => [['FIXTURE', $V{upload_fixture}]],
        keys  => _keys([@ANSWER, @RESOURCE,
                        qw(as method ca key certificate if_match
                           if_none_match field key_type answer body type)],
                       chain => _one_of('crt', 'chain', 'reversed')),
        flags => ['dry_run', 'refused'],
    },
    get => {
        keys => _keys([@ANSWER, @RESOURCE,
                       qw(source sha256 generation names key_type remember
                          same_as)],
                      chain => $V{cert_list}),
    },
    list => {
        keys  => _keys([@ANSWER, qw(limit after query ids next generation
                                    api)],
                       count => $V{uint}),
        flags => ['all', 'detail'],
    },
    delete => {
        keys  => _keys([@ANSWER, @RESOURCE, 'if_match']),
        flags => ['refused'],
    },
    pids => {
        pos => [$RECORD_SAME],
    },
    reload => {
        keys => _keys([qw(from to)]),
    },
    open => {
        pos  => [['NAME', $V{word}]],
        keys => _keys([qw(port sni tls path)]),
    },
    reuse => {
        pos  => [['NAME', $V{word}]],
        keys => _keys(['path']),
    },
    store => {
        pos   => [['DIR', $V{word}]],
        keys  => _keys([qw(generation source sha256 api id history)]),
        flags => ['absent'],
    },
    generation => {
        pos  => [['N', $V{uint}]],
        keys => _keys(['api']),
    },
    snapshot => {
        pos   => [$RECORD_SAME],
        keys  => _keys([qw(store api port sni id)]),
        flags => ['no_folder_mtime', 'list'],
    },
    request => {
        pos => [['N', $V{int}]],
    },
    upgrade => {
        keys => _keys(['api']),
    },
    storefs => {
        pos  => [['mount|fill|readonly|writable|umount',
                  _one_of('mount', 'fill', 'readonly', 'writable',
                          'umount')],
                 ['DIR', $V{word}]],
        keys => _keys(['size']),
    },
    stall => {
        pos      => [['FIXTURE', $V{upload_fixture}]],
        keys     => _keys([qw(fifo count port sni)]),
        required => ['fifo'],
        flags    => ['gone'],
    },
    concurrent => {
        keys => _keys([qw(uploads clients handshakes overlap store port sni
                          api)]),
    },
);


# Returns (\@steps, \@errors); each step is
# { op, pos => [...], args => {...}, flags => {...}, line, text }.
sub parse_steps {
    my ($text) = @_;

    my (@steps, @errors);

    if (ref $text eq 'ARRAY') {
        $text = join "\n", @$text;
    }

    my $lineno = 0;
    my $request = 1;

    for my $raw (split /\r?\n/, $text) {
        $lineno++;

        my ($words, $line, $err) = split_words($raw);

        next if !defined $err && !@$words;

        my $step;

        ($step, $err) = _parse_step($words, $line) if !defined $err;

        if (!defined $err && $step->{op} eq 'request') {
            if ($step->{pos}[0] <= $request) {
                $err = "request $step->{pos}[0] does not follow request "
                       . "$request";
            }

            $request = $step->{pos}[0];
        }

        if (defined $err) {
            push @errors, "steps line $lineno \"$line\": $err";
            next;
        }

        $step->{line} = $lineno;
        push @steps, $step;
    }

    return (\@steps, \@errors);
}


# Splits a line in words at white space, except inside double quotes
# (message="two words"); a word that starts with "#" starts a comment.
# Returns (\@words, the line without the comment, error or undef).
sub split_words {
    my ($raw) = @_;

    my @words;
    my $end = length $raw;

    while ($raw =~ /\G\s*(?=\S)/gc) {
        my $start = pos $raw;

        if (substr($raw, $start, 1) eq '#') {
            $end = $start;
            last;
        }

        if ($raw !~ /\G((?:[^\s"]+|"[^"]*")+)(?=\s|$)/gc) {
            (my $line = $raw) =~ s/^\s+|\s+$//g;
            return ([], $line, 'a double quote is not closed');
        }

        (my $word = $1) =~ s/"([^"]*)"/$1/g;
        push @words, $word;
    }

    (my $line = substr($raw, 0, $end)) =~ s/^\s+|\s+$//g;

    return (\@words, $line, undef);
}


sub _parse_step {
    my ($all, $line) = @_;

    my ($op, @words) = @$all;
    my $spec = $STEPS{$op};

    if (!$spec) {
        return (undef, "unknown step \"$op\" (known: "
                       . join(', ', sort keys %STEPS) . ")");
    }

    my $step = { op => $op, pos => [], args => {}, flags => {},
                 text => $line };
    my @pos_spec = @{ $spec->{pos} || [] };
    my %flags = map { $_ => 1 } @{ $spec->{flags} || [] };

    for my $word (@words) {
        if ($word =~ /^([a-z_0-9]+)=(.*)$/) {
            my ($k, $v) = ($1, $2);
            my $check = $spec->{keys}{$k};

            return (undef, "\"$op\" takes no argument \"$k\"") if !$check;
            return (undef, "argument \"$k\" given twice")
                if exists $step->{args}{$k};
            return (undef, "argument \"$k\" has no value") if $v eq '';

            my $err = $check->($v);
            return (undef, "bad $k=: $err") if defined $err;

            $step->{args}{$k} = $v;
            next;
        }

        if ($flags{$word}) {
            $step->{flags}{$word} = 1;
            next;
        }

        my $n = @{ $step->{pos} };

        if ($n >= @pos_spec) {
            return (undef, "unexpected argument \"$word\"");
        }

        my ($what, $check) = @{ $pos_spec[$n] };
        my $err = $check->($word);
        return (undef, "bad $what: $err") if defined $err;

        push @{ $step->{pos} }, $word;
    }

    if (@{ $step->{pos} } < @pos_spec) {
        my $given = @{ $step->{pos} };
        my $missing = join ' ', map { $_->[0] }
                                @pos_spec[$given .. $#pos_spec];
        return (undef, "missing $missing");
    }

    for my $k (@{ $spec->{required} || [] }) {
        return (undef, "missing $k=") if !exists $step->{args}{$k};
    }

    my $err = _check_combination($step);
    return (undef, $err) if defined $err;

    return ($step, undef);
}


sub _check_combination {
    my ($step) = @_;

    my $args = $step->{args};

    if ($step->{op} eq 'upload') {
        my $fixture = $step->{pos}[0];

        if (($args->{chain} || '') eq 'reversed'
            && !fixture_exists("$fixture.fullchain-reversed.pem"))
        {
            return "no fixture $fixture.fullchain-reversed.pem";
        }

        if (defined $args->{certificate} && defined $args->{chain}) {
            return "certificate= and chain= exclude each other";
        }

        if (defined $args->{body}) {
            for my $k (qw(chain certificate key ca as)) {
                return "body= sends a body of its own: no $k="
                    if defined $args->{$k};
            }

            return "body= needs type= (the Content-Type, or none)"
                if !defined $args->{type};
        }

        return "field= goes with error="
            if defined $args->{field} && !defined $args->{error};

        if (defined $args->{key_type} && defined $args->{error}) {
            return "key_type= goes with a successful upload";
        }
    }

    if ($step->{op} eq 'storefs' && defined $args->{size}
        && $step->{pos}[0] ne 'mount')
    {
        return "size= goes with \"storefs mount\"";
    }

    if ($step->{op} eq 'concurrent' && defined $args->{clients}
        && defined $args->{uploads} && $args->{clients} > $args->{uploads})
    {
        return "more clients than uploads";
    }

    if ($step->{op} eq 'snapshot' && $step->{pos}[0] eq 'same'
        && %$args)
    {
        return "\"snapshot same\" takes the arguments of \"snapshot record\"";
    }

    if (defined $args->{client_cert} && !defined $args->{https}) {
        return "client_cert= goes with https=";
    }

    if ($step->{op} eq 'get' || $step->{op} eq 'list') {
        my $err = _check_error_args($args);
        return $err if defined $err;

        return "message= goes with error="
            if defined $args->{message} && !defined $args->{error};
    }

    if ($step->{op} eq 'list' && (defined $args->{error}
                                  || ($args->{status} // 200) != 200))
    {
        for my $k (qw(ids next generation count)) {
            return "$k= goes with a list answered 200" if defined $args->{$k};
        }

        for my $f (qw(all detail)) {
            return "$f goes with a list answered 200" if $step->{flags}{$f};
        }
    }

    if ($step->{op} eq 'store') {
        return "absent goes with id="
            if $step->{flags}{absent} && !defined $args->{id};
        return "id= checks a named certificate: no source=, generation="
            if defined $args->{id}
               && (defined $args->{source} || defined $args->{generation});
    }

    if ($step->{op} eq 'snapshot' && $step->{flags}{list}
        && $step->{pos}[0] eq 'same')
    {
        return "\"snapshot same\" takes the arguments of \"snapshot record\"";
    }

    if ($step->{op} eq 'upload' || $step->{op} eq 'delete') {
        if ($step->{flags}{refused}) {
            return "refused needs status= (the status of the refusal)"
                if !defined $args->{status};
            return "refused expects a refusal, not status $args->{status}"
                if $args->{status} =~ /^[23]/;

            for my $k (qw(error key_type answer)) {
                return "refused: the API does not answer, no $k="
                    if defined $args->{$k};
            }

        } elsif (defined $args->{message} && !defined $args->{error}) {
            return "message= goes with error= or refused";
        }

        my $err = _check_error_args($args);
        return $err if defined $err;
    }

    return undef;
}


sub _check_error_args {
    my ($args) = @_;

    return undef if !defined $args->{error};

    if (defined $args->{status} && $args->{status} =~ /^2/) {
        return "error= expects a failure, not status $args->{status}";
    }

    if (!defined $args->{status} && !$ERROR_STATUS{ $args->{error} }) {
        return "unknown error code \"$args->{error}\": give status=";
    }

    return undef;
}


# The steps of TEXT, or undef, with a failed test for each line that
# cannot be parsed, when there is any.
sub steps_of {
    my ($name, $text) = @_;

    my ($steps, $errors) = parse_steps($text);

    return _failed($name, $errors) ? undef : $steps;
}


# The steps of a block by request: [steps after the answer to request 1,
# steps after request 2, ...]; undef, with failed tests, when a step
# cannot be parsed.
sub step_groups {
    my ($name, $text, $requests) = @_;

    my ($steps, $errors) = parse_steps($text);
    my @groups = ([]);

    for my $step (@$steps) {
        if ($step->{op} ne 'request') {
            push @{ $groups[-1] }, $step;
            next;
        }

        my $n = $step->{pos}[0];

        if ($n > $requests) {
            push @$errors, "steps line $step->{line} \"$step->{text}\": "
                           . "the block sends $requests request(s)";
            next;
        }

        $#groups = $n - 1;
        $groups[$n - 1] = [];
    }

    return _failed($name, $errors) ? undef : \@groups;
}


sub _failed {
    my ($name, $errors) = @_;

    return 0 if !@$errors;

    Test::More::fail("$name - $_") for @$errors;
    Test::More::diag("$name - steps not run: fix the errors above");

    return 1;
}


1;

__END__

=head1 NAME

PaletteCert::Steps - the step language of "--- steps"

=head1 STEPS

A C<--- steps> section holds one step a line; blank lines and C<#>
comments are ignored.  Arguments are separated by white space; a value
in double quotes may hold some (C<key_type="EC P-521">), but no double
quote.  The steps run once per block, after the answer to the block's
first request, while nginx is still running; on a dry run they are
skipped.  A step that cannot be parsed fails the block and no step of it
runs.  FIXTURE is a certificate name from gen-certs.sh; FILE is the name
of any file it makes (C<leaf-a.crt>).  A list of them is written with
C<+> between the names (C<leaf-deep+int2+int-ca>).

=over

=item request N

The steps after this line wait until the answer to the block's Nth
request (with C<--- request eval> giving several) has been checked;
N grows from one such line to the next.  This lets a block record the
state before a request of its own and compare after it:

    --- request eval
    ["GET /cert", "PUT /cert\n..."]
    --- steps
    upload leaf-a
    snapshot record
    request 2
    snapshot same

=item handshake [count=N] [tls=1.2|1.3|any] [sni=NAME|none] [port=ENVNAME] [host=IP] [sigalgs=LIST] [ciphers=LIST] expect=FIXTURE|self-signed|current [chain=N] [served=FIXTURE+FIXTURE...] [path=/P] [workers=all] [api=/P]

N (40) fresh full handshakes to 127.0.0.1:$TEST_NGINX_TLS_PORT (or the
port in the environment variable ENVNAME, at the loopback address
C<host=>), verification off, SNI console.example.com unless given or
C<none> (sent as written: C<A.TEST>, C<a.test.>); each then sends
C<GET / HTTP/1.0> and expects a 2xx or 3xx status.  C<current> compares
with the sha256 the API's GET reports; C<self-signed> expects one
certificate, subject equal to issuer, that is none of the fixtures.
C<chain=N> counts the certificates sent, leaf included; C<served=> names
them, in the order sent (C<served=leaf-deep+int2+int-ca>).  C<workers=all>
expects the answers' bodies to carry the worker pid (C<return 200
"$pid\n">) and every worker of the master to have answered (use
C<listen ... reuseport> so that connections spread); until every worker
has, it makes more handshakes than C<count=>, ten times as many at most,
each held to the same expectations.

C<sigalgs=> restricts the signature algorithms the client offers, in
OpenSSL's list syntax (C<rsa_pss_rsae_sha256:rsa_pkcs1_sha256>,
C<ecdsa_secp256r1_sha256>, C<RSA+SHA256>), for TLS 1.3 and TLS 1.2;
C<ciphers=> the TLS 1.2 cipher list (C<ECDHE-RSA-AES128-GCM-SHA256>).
With them, a client that cannot use the certificate it is given fails
its handshakes, which fails the step.

    handshake count=10 tls=1.3 sni=both.test sigalgs=rsa_pss_rsae_sha256 expect=both-rsa

=item upload FIXTURE [id=ID] [as=json|multipart|urlencoded] [method=PUT|POST] [ca=FIXTURE+..|none] [key=FIXTURE+..|none] [chain=crt|chain|reversed] [certificate=FILE+..] [body=SECTION type=TYPE|none] [if_match=N|current|stale|*] [if_none_match=*] [dry_run] [status=CODE] [error=CODE [field=NAME|null] [message=REGEX]] [key_type=TEXT] [answer=NAME] [api=/P] [https=ENVNAME [client_cert=FIXTURE]] [refused status=CODE [message=REGEX]]

Defaults: as=json, method=PUT, certificate FIXTURE.chain.pem, key
FIXTURE.key, ca ca.pem (the root).  C<ca=NAME> sends NAME.crt (or
NAME.pem).  C<chain=crt> sends the leaf alone, C<reversed>
FIXTURE.fullchain-reversed.pem; C<certificate=> sends the files given,
in that order (C<certificate=int-ca.crt+leaf-a.crt>).  A list in C<key=>
or C<ca=> sends those keys or CAs one after the other.  C<body=SECTION>
sends the block's C<--- SECTION> as the whole body, with the
Content-Type C<type=> (or none); the other fields are not sent.
C<if_match=current|stale> asks the API for the generation first (stale
is one less); C<if_match=*> and C<if_none_match=*> send C<*>.

C<id=ID> uploads to the named certificate ID, at C</cert/ID> (the API
location, then C</ID>; ID is sent as written, so that C<id=a%2Fb> or
C<id=.a> test IDs the API refuses).  Its generation is the zone's:
see L</GENERATIONS>.

Without C<error=> it expects 200, the fixture's sha256, source uploaded,
C<key_type> if given, the zone's generation plus one, C<"id"> the ID
with C<id=>, and no C<dry_run> member; with C<dry_run>: C<"dry_run": true>,
an ETag that stays and a JSON generation that is the one the upload
would get.  C<error=CODE> expects that error, with the status from the
contract unless C<status=> is given, the generation unchanged, the field
C<field=> (C<null> for JSON null) and a message matching the regular
expression C<message=>.

Every answer must hold no line of a private key sent.  C<answer=NAME>
keeps the first answer so named; a later upload with the same name must
get the same status and the same JSON, C<dry_run> aside (a dry run and
the real upload: C<upload leaf-a dry_run answer=a>, then C<upload leaf-a
answer=a>).

C<refused> expects the request to be answered before it reaches the
API, by nginx's access control or TLS checks, with C<status=>: the answer
need not be the API's JSON; C<message=> is then matched against its whole
body, which must hold no private key.  Nothing else is checked: record a
C<snapshot> before and compare after to show that nothing changed.

    upload leaf-b api=/palette/cert refused status=403

=item get [id=ID] [status=200] [error=CODE [message=REGEX]] [source=self-signed|uploaded] [sha256=FIXTURE] [generation=N] [names=a,b] [key_type=TEXT] [chain=FIXTURE+FIXTURE...] [remember=NAME] [same_as=NAME] [api=/P] [https=ENVNAME [client_cert=FIXTURE]]

GET with C<Accept: application/json>; checks the fields given (C<names>
as a set) and that the JSON generation equals the ETag's.  C<chain=>
names the certificates of the C<certificate> member in their order, and
expects C<chain_length> to count them.  With C<id=>, GET of the named
certificate ID, whose answer must also hold every member of the
certificate JSON and C<"id">; C<get id=a error=not_found> expects it
gone.

C<remember=NAME> keeps the sha256 served for later blocks of the same
series (in C<$TEST_NGINX_STORE_DIR>, emptied by C<--- fresh_store>);
C<same_as=NAME> expects the sha256 kept so (the self-signed default of
before an upload, served again after a DELETE and a restart).

=item snapshot record [store=DIR] [api=/P] [id=ID] [list] [port=ENVNAME] [sni=NAME|none] [no_folder_mtime] | snapshot same

C<record> keeps what a rejected upload must leave as it was: GET's whole
answer and its ETag, the certificates one handshake is given and, with
C<store=>, every entry under C<$TEST_NGINX_STORE_DIR/DIR> (type, mode,
mtime, link target, size and the SHA-256 of its bytes).  C<same> reads
them again, in the same way, and expects each unchanged, listing the
store entries added, removed or changed.  File contents are compared by
digest and never shown.  With C<id=>, the GET is of the named
certificate ID, and may be 404 (an ID a rejected upload must not make):
its status is compared too; with C<list>, the whole list is compared
too.  With C<no_folder_mtime>, the mtimes of
folders are not compared: an upload that fails to persist has tried to
write, and a temporary folder made and removed changes the store folder's
mtime, not what it holds.

=item delete [id=ID] [status=200] [error=CODE [message=REGEX]] [if_match=N|current|stale|*] [api=/P] [https=ENVNAME [client_cert=FIXTURE]] [refused status=CODE [message=REGEX]]

Expects source self-signed in the answer and a generation that does not
go back; with C<error=> or C<refused>, as for upload.  With C<id=>, the
DELETE of the named certificate ID, answered with exactly
C<{"zone", "id", "deleted": true, "generation"}>, the zone's generation
plus one.

=item list [limit=N] [after=ID] [query=TEXT] [ids=A,B,...|none] [next=ID|null] [generation=N] [count=N] [all] [detail] [status=CODE] [error=CODE [message=REGEX]] [api=/P]

GET of the list, C</cert/> (the API location, then C</>), with
C<?limit=N&after=ID> and the query C<query=> as written
(C<query=limit=abc>).  Every page must hold C<zone>, C<generation>,
C<certificates> and C<next> only; each entry C<id>, C<names>,
C<key_type>, C<not_after>, C<sha256> and C<generation> only; the IDs
sorted bytewise, none twice, at most the limit (100 unless given);
C<next> null or the last ID of the page.  C<ids=> expects these IDs in
this order, C<count=> that many, C<next=> that next, C<generation=> that
zone generation.  C<all> walks the pages after this one as a client
does (C<after=> the C<next> of each), expects each of them to hold
something and the last one to end with C<next> null, and checks C<ids=>
and C<count=> against all of them together.  C<detail> expects each
entry to say what GET /ID says.  C<error=> expects that error instead
(C<list limit=0 error=malformed_request>).

=item generation N [api=/P]

A GET expecting generation N.

=item pids record | pids same

The master pid (from the server root's logs/nginx.pid) and the pids of
all its children; C<same> expects both unchanged.

=item reload [from=TEXT to=TEXT]

Sends SIGHUP to the nginx master and waits until a new set of workers is
running and the old one has stopped serving (needs C<master_on()>).  With
C<from=> and C<to=>, every C<from> in the running nginx.conf becomes C<to>
first (for example C<from=console:1m to=console:2m>).

=item store DIR [generation=N] [source=self-signed|uploaded] [sha256=FIXTURE] | store DIR id=ID [sha256=FIXTURE] [absent]

Checks the store folder C<$TEST_NGINX_STORE_DIR/DIR> against what GET
shows: C<current> links to the generation served, only that generation is
kept, its chain and source are the ones served, the key files have mode
0600 and the key belongs to the leaf.  C<--- fresh_store> in a block empties
C<$TEST_NGINX_STORE_DIR> before the block; given to
C<PaletteCert::defaults(fresh_store =E<gt> '')>, before every block.

With C<id=>, the named certificate ID: one folder named ID in the store
(at any depth), where a C<certificate.pem> holds the chain GET /ID
shows, the C<key.pem> next to it belongs to its leaf, and every
C<key*.pem> has mode 0600.  C<absent>: no folder named ID holds a
certificate any more.

=item upgrade

A binary upgrade: sends SIGUSR2 to the master (from logs/nginx.pid), waits
until a new master has written nginx.pid, the old one's pid is in
nginx.pid.oldbin and the new master runs as many workers as the old one
did, with the same binary; then sends SIGQUIT to the old master and waits
until it, its workers and nginx.pid.oldbin are gone.  The steps after it
talk to the new master, which the next block stops as usual.  nginx
re-executes its argv[0]: Test::Nginx starts it by an absolute path.  Needs
C<master_on()>.

=item storefs mount DIR [size=SIZE] | storefs fill|readonly|writable|umount DIR

Makes the store folder C<$TEST_NGINX_STORE_DIR/DIR> fail to be written,
and then work again, while nginx runs.  As root, where permissions stop
no write: C<mount> mounts a tmpfs of SIZE (C<1m>; a number with C<k> or
C<m>) on the folder, holding a copy of what it held (modes, owners,
links, mtimes); C<fill> writes a file C<filler> in it until the tmpfs is
full (the next write fails with ENOSPC); C<readonly> remounts it
read-only; C<writable> removes the filler and remounts it read-write;
C<umount> unmounts it and puts what it held in the folder underneath, so
that later blocks find what nginx wrote.  Without root, C<mount> does
nothing, C<fill> and C<readonly> set the folder's mode to 0500, and
C<writable> and C<umount> give it back its mode.  Whatever is still
mounted after the block's last step, or when the test script ends, even
after a failure, is made writable and unmounted.

    storefs mount failing size=1m
    storefs fill failing
    snapshot record store=failing no_folder_mtime
    upload leaf-b error=store_failed
    snapshot same
    storefs writable failing
    upload leaf-b
    storefs umount failing

=item concurrent [uploads=60] [clients=4] [handshakes=on|off] [overlap=N] [store=DIR] [port=ENVNAME] [sni=NAME|none] [api=/P]

Forks C<clients> processes that send C<uploads> uploads in all, at once
(they start together), of leaf-a, leaf-b and leaf-c in turn; each client
sends every second upload with C<If-Match> of the generation its last
answer's ETag told.  With C<handshakes=on> (the default) another process
makes fresh full handshakes all along.  Then it expects: every upload
answered, each with 200 or, only after C<If-Match>, 412
C<generation_mismatch>; each 200 answer telling the fixture sent and a
JSON generation equal to its ETag; the generations of the 200 answers
unique and following the one before the step without a gap; at least
C<overlap> (half the uploads) uploads in flight while another client's
was; no handshake failed, and each was given a whole chain of one of the
fixtures or of the certificate served before the step; then GET telling
the highest generation answered and the certificate of that upload, N
(40) handshakes presenting it and, with C<store=DIR>, the store's
C<current> linking to that generation and holding that leaf.

=item stall FIXTURE fifo=ENVNAME [count=N] [port=ENVNAME] [sni=NAME|none] [gone]

Shows that an upload being validated does not hold up the other
connections of its worker.  C<$ENVNAME> names a named pipe that the
validation reads: the file for the fixtures' root in the folder of
trusted CAs the worker has (C<env SSL_CERT_DIR=...;>), read when an upload
comes without C<ca>.  The step sends the upload of FIXTURE (JSON, without
C<ca>) on a connection of its own and waits until the pipe has a reader;
holding the pipe open without writing, so that the validation waits,
it makes N (10) fresh full handshakes as C<handshake expect=current>
does (a GET first), and expects the upload still unanswered.  Then it
writes ca.pem into the pipe and expects the upload answered 200 with
FIXTURE and the generation one more.  With C<gone>, it closes the
upload's connection before writing, and expects GET to tell FIXTURE
under the next generation soon after.  Use one worker (C<workers(1)>), so
that the handshakes reach the worker that validates.

=item open NAME [port=ENVNAME] [sni=NAME|none] [tls=..] [path=/P]

Opens a TLS connection and sends one keep-alive HTTP/1.1 request on it.

=item reuse NAME [path=/P]

Sends another request on that connection and expects an answer, over the
same certificate.  Open connections are closed after the last step.

=back

Every API answer is also checked for an C<ETag: "N"> header,
C<Cache-Control: no-store>, a JSON body and no PEM private key block; an
upload's answer also holds no line of the private key it sent.  An
answer about no certificate (the list, a named certificate that does not
exist or was just deleted) need not carry an ETag, but one it carries
must be a quoted generation.
The API is reached at http://127.0.0.1:server_port() (the server of the
C<--- config> section), at /cert unless C<api=> says otherwise.  With
C<https=ENVNAME>, C<get>, C<upload> and C<delete> reach it over TLS at
https://127.0.0.1:$ENVNAME instead (no verification of the server),
presenting the client certificate C<FIXTURE.crt> with its key
C<FIXTURE.key> when C<client_cert=FIXTURE> is given, and none otherwise;
the GETs such a step makes for itself (C<if_match=current>, the
generation before an upload) go the same way:

    upload leaf-b https=TEST_NGINX_TLS_PORT2 client_cert=admin-client

=head1 GENERATIONS

A zone's generation grows by one on every change of any of its
certificates; each certificate's own generation (its ETag, what
If-Match compares) is the zone's at its last change.  The steps keep
both: a change is expected to get the zone's generation plus one, and a
refused one to leave the certificate's ETag as it was.  The zone's
generation is the highest a change, a C<list> or an answer about the
default told in this block; before any, the API's (the list's for a
step with C<id=>, the default's otherwise).  A block that finds named
certificates already there (after a restart) and changes the default
first starts with a C<list> step.

=head1 NOTES

The steps run once per block, even under C<repeat_each>; a block whose
requests are all ignored (C<--- ignore_response>) never runs them.

nginx before 1.23.4 does not enable TLSv1.3 unless told: a server that
C<tls=1.3> steps talk to needs C<ssl_protocols TLSv1.2 TLSv1.3;> (the
server of C<PaletteCert::zone_server()> has it).

Each step is a method C<step_OP> of PaletteCert::Run, written in the
module of its concern: handshake, open and reuse in PaletteCert::TLS;
upload, get, delete and generation in PaletteCert::API; list in
PaletteCert::List; snapshot in PaletteCert::Snapshot; store in
PaletteCert::Store; pids, reload and upgrade in PaletteCert::Nginx;
storefs in PaletteCert::StoreFailures, stall in PaletteCert::Stall and
concurrent in PaletteCert::Concurrent.

=cut
