package PaletteCert::API;

# The admin API as a client sees it: requests over plain HTTP, or over TLS
# with a client certificate (https=, client_cert=), the checks every answer
# must pass, the generations a block has seen; and the steps upload, get,
# delete and generation, methods of PaletteCert::Run, which inherits them
# from here.

use strict;
use warnings;

use Exporter qw(import);
use File::Basename ();
use File::Path ();
use File::Spec;
use HTTP::Tiny;
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use JSON::PP ();

use PaletteCert::Body qw(json_body form_body multipart_body);
use PaletteCert::Fixtures qw(fixture fixture_path fixture_sha256 ca_file
                             cert_names pem_shas);
use PaletteCert::Steps qw(error_status);
use PaletteCert::TLS qw(tls_port);
use PaletteCert::Util qw($IO_TIMEOUT slurp short);

our @EXPORT_OK = qw($DEFAULT_API);

# Where the API is unless a step says api=.
our $DEFAULT_API = '/cert';


# The API over plain HTTP on the Test::Nginx server port; for the get,
# upload and delete steps with https=ENVNAME, over TLS on that port
# (verification off), with the client certificate client_cert= names.

sub _api_tls {
    my ($self) = @_;

    my $step = $self->{step};

    return undef if !$step || $step->{op} !~ /^(?:get|upload|delete)$/
                    || !defined $step->{args}{https};

    return { env => $step->{args}{https},
             port => tls_port($step->{args}{https}),
             cert => $step->{args}{client_cert} };
}


sub _api_url {
    my ($self, $path) = @_;

    $path ||= $DEFAULT_API;

    my $tls = $self->_api_tls;

    return "https://127.0.0.1:$tls->{port}$path" if $tls;

    return "http://127.0.0.1:$self->{api_port}$path";
}


sub _api_request {
    my ($self, $method, $path, $headers, $body) = @_;

    my %tiny = (timeout => $IO_TIMEOUT, keep_alive => 0);
    my $tls = $self->_api_tls;

    if ($tls) {
        return { status => 599, body => "\$$tls->{env} is not set to a port" }
            if !defined $tls->{port};

        $tiny{verify_SSL} = 0;
        $tiny{SSL_options} = { SSL_verify_mode => SSL_VERIFY_NONE };

        if (defined $tls->{cert}) {
            $tiny{SSL_options}{SSL_cert_file}
                = fixture_path("$tls->{cert}.crt");
            $tiny{SSL_options}{SSL_key_file}
                = fixture_path("$tls->{cert}.key");
        }
    }

    my $http = HTTP::Tiny->new(%tiny);
    my %opts = (headers => { Accept => 'application/json', %$headers });

    $opts{content} = $body if defined $body;

    my $res = $http->request($method, $self->_api_url($path), \%opts);

    my $etag = $res->{headers}{etag};
    $etag = $etag->[0] if ref $etag;

    my $json;
    if (defined $res->{content} && $res->{content} =~ /^\s*\{/) {
        $json = eval { JSON::PP->new->utf8->decode($res->{content}) };
    }

    return {
        status => $res->{status},
        reason => $res->{reason},
        body   => $res->{content},
        etag   => $etag,
        cc     => $res->{headers}{'cache-control'},
        json   => $json,
    };
}


# The checks every answer of the API must pass.  Returns the generation its
# ETag tells, or undef.
#
# $etag_optional: the answer is about no certificate (a named one that
# does not exist, or the list), and need not carry an ETag; one it
# carries must still be a quoted generation.
sub _check_api_answer {
    my ($self, $what, $res, $etag_optional) = @_;

    my $body = defined $res->{body} ? $res->{body} : '';

    $self->ok(defined $res->{json}, "$what: answer is a JSON object",
              "status $res->{status}, body: " . short($body));

    if (!$etag_optional || defined $res->{etag}) {
        $self->ok(defined $res->{etag} && $res->{etag} =~ /^"[0-9]+"$/,
                  "$what: ETag is a quoted generation",
                  "ETag: " . short($res->{etag}));
    }

    $self->ok(defined $res->{cc} && $res->{cc} =~ /\bno-store\b/,
              "$what: Cache-Control: no-store",
              "Cache-Control: " . short($res->{cc}));

    # a message may name a "PRIVATE KEY" block, but never hold one

    $self->ok($body !~ /-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----/,
              "$what: answer holds no private key");

    return undef if !defined $res->{etag} || $res->{etag} !~ /^"([0-9]+)"$/;

    return $1;
}


sub _check_status {
    my ($self, $what, $res, $status) = @_;

    return $self->is($res->{status}, $status, "$what: status $status",
                     "body: " . short($res->{body}));
}


# The error answer of a step's error=, with its field= and message= (a
# regular expression) when given.
sub _check_error {
    my ($self, $what, $res, $args) = @_;

    my $j = $res->{json} || {};
    my $code = $args->{error};

    $self->is($j->{error}, $code, "$what: error $code",
              "body: " . short($res->{body}));
    $self->ok(exists $j->{field}, "$what: error names the field at fault");
    $self->ok(defined $j->{message} && !ref $j->{message}
              && $j->{message} ne '',
              "$what: error has a message");

    if (defined $args->{field}) {
        my $field = $args->{field} eq 'null' ? undef : $args->{field};

        $self->is($j->{field}, $field, "$what: field is $args->{field}",
                  "body: " . short($res->{body}));
    }

    if (defined $args->{message}) {
        my $re = $args->{message};

        $self->ok(defined $j->{message} && $j->{message} =~ /$re/,
                  "$what: message matches /$re/",
                  "message: " . short($j->{message}));
    }
}


# answer=NAME: the first answer so named is kept; a later one must have
# the same status and the same JSON, "dry_run" aside.
sub _check_answer {
    my ($self, $what, $name, $res) = @_;

    my %j = %{ $res->{json} || {} };
    delete $j{dry_run};

    my $text = JSON::PP->new->canonical->encode(\%j);
    my $kept = $self->{answers}{$name};

    if (!$kept) {
        $self->{answers}{$name} = { status => $res->{status}, json => $text };
        return;
    }

    $self->is($res->{status}, $kept->{status},
              "$what: the status of answer $name");
    $self->is($text, $kept->{json},
              "$what: the JSON of answer $name, dry_run aside");
}


# Generation live now, from a GET, without assertions (for if_match= and
# expect=current).
sub _api_get_quiet {
    my ($self, $path) = @_;

    my $res = $self->_api_request('GET', $path, {});

    if ($res->{status} != 200 || !$res->{json}) {
        $self->{last_error} = "GET " . ($path || $DEFAULT_API)
                              . ": status $res->{status}, body: "
                              . short($res->{body});
        return undef;
    }

    return $res->{json};
}


# Generations are remembered per API location: each may serve a zone of
# its own.
sub _api_key {
    my ($self) = @_;

    return $self->_resource($self->{step} ? $self->{step}{args} : {});
}


# The URI of the certificate a step names: the API location (api=, or
# /cert), followed by /ID for the named certificate id=.
sub _resource {
    my ($self, $args) = @_;

    my $api = $args->{api} || $DEFAULT_API;

    return defined $args->{id} ? "$api/$args->{id}" : $api;
}


# The generation of the certificate a step names before a change (its
# ETag, what If-Match compares): the last one an answer of this block
# told, or else the API's; undef for a named certificate that does not
# exist.
sub _known_generation {
    my ($self, $args) = @_;

    my $uri = $self->_resource($args);
    my $known = $self->{generation}{$uri};

    return $known if defined $known;

    my $cur = $self->_api_get_quiet($uri);

    return $cur ? $cur->{generation} : undef;
}


# The zone's generation, which every change of any of its certificates
# makes grow by one: the highest this block saw in a change, a list or an
# answer about the default certificate, or else the API's (the list's
# when the step names a certificate, the default's otherwise: without
# named certificates they are the same).
sub _zone_generation {
    my ($self, $args) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my $known = $self->{zone}{$api};

    return $known if defined $known;

    if (!defined $args->{id}) {
        my $cur = $self->_api_get_quiet($api);

        return $cur ? $cur->{generation} : undef;
    }

    my $res = $self->_api_request('GET', "$api/", {});
    my $j = $res->{json};

    return $res->{status} == 200 && ref $j eq 'HASH' ? $j->{generation}
                                                     : undef;
}


sub _saw_zone_generation {
    my ($self, $args, $gen) = @_;

    return if !defined $gen || $gen !~ /^[0-9]+$/;

    my $api = $args->{api} || $DEFAULT_API;
    my $known = $self->{zone}{$api};

    $self->{zone}{$api} = $gen if !defined $known || $gen > $known;
}


# After an answer about the certificate a step names, with the generation
# its ETag told: what the block knows of it and of the zone.  $exists is
# false once a named certificate is known not to exist.
sub _saw_answer {
    my ($self, $args, $gen, $exists) = @_;

    my $uri = $self->_resource($args);

    if (!$exists) {
        delete $self->{generation}{$uri};
        return;
    }

    return if !defined $gen;

    $self->{generation}{$uri} = $gen;

    # a named certificate's generation is the zone's only after a change
    $self->_saw_zone_generation($args, $gen) if !defined $args->{id};
}


sub _if_match_header {
    my ($self, $if_match, $args) = @_;

    return (undef, undef) if !defined $if_match;
    return ('*', undef) if $if_match eq '*';

    my $gen = $if_match;

    if ($if_match eq 'current' || $if_match eq 'stale') {
        my $cur = $self->_api_get_quiet($self->_resource($args));

        if (!$cur || !defined $cur->{generation}) {
            return (undef, $self->{last_error} || 'no generation in GET');
        }

        $gen = $cur->{generation};

        if ($if_match eq 'stale') {
            $gen = $gen > 0 ? $gen - 1 : $gen + 1;
        }
    }

    return (qq{"$gen"}, undef);
}





# An upload of these fields ([name, content, filename] each) as a client
# sends it with "as=" json, multipart or urlencoded: its Content-Type and
# its body.
sub _upload_body {
    my ($as, $fields) = @_;

    my @pairs = map { ($_->[0], $_->[1]) } @$fields;

    return ('application/json', json_body(@pairs)) if $as eq 'json';

    return ('application/x-www-form-urlencoded', form_body(@pairs))
        if $as eq 'urlencoded';

    my $boundary;

    do {
        $boundary = _random_boundary();
    } while (grep { index($_->[1], $boundary) >= 0 } @$fields);

    return ("multipart/form-data; boundary=$boundary",
            multipart_body($boundary, map { [@$_, 'application/octet-stream'] }
                                      @$fields));
}


sub _random_boundary {
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');

    return '------------------------'
           . join('', map { $chars[int rand @chars] } 1 .. 24);
}


# The status a step expects: status=, or the one of its error=, or 200.
sub _expected_status {
    my ($self, $args) = @_;

    return $args->{status}
           || (defined $args->{error} ? error_status($args->{error}) : 200);
}


# The If-Match header a step asks for, as headers; undef after a failed
# test when the generation it needs cannot be learnt.
sub _if_match_headers {
    my ($self, $what, $args) = @_;

    my ($if_match, $err) = $self->_if_match_header($args->{if_match}, $args);

    if (defined $err) {
        $self->ok(0, "$what: learn the generation for If-Match", $err);
        return undef;
    }

    return defined $if_match ? { 'If-Match' => $if_match } : {};
}


# The fields an upload step sends, [name, content, filename] each: the
# certificate (FIXTURE.chain.pem, or what chain= or certificate= says),
# the key (FIXTURE.key, key=) and the CA (the root, ca=).
sub _upload_fields {
    my ($fixture, $args) = @_;

    my $key = $args->{key} || $fixture;
    my $ca = $args->{ca} || 'ca';

    my %cert_file = (crt      => "$fixture.crt",
                     chain    => "$fixture.chain.pem",
                     reversed => "$fixture.fullchain-reversed.pem");

    my @files = defined $args->{certificate}
                ? split(/\+/, $args->{certificate})
                : ($cert_file{ $args->{chain} || 'chain' });

    my @fields = (_field('certificate', @files));

    if ($key ne 'none') {
        push @fields, _field('key', map { "$_.key" } split /\+/, $key);
    }

    if ($ca ne 'none') {
        push @fields, _field('ca', map { ca_file($_) } split /\+/, $ca);
    }

    return @fields;
}


# upload FIXTURE [as=..] [method=..] [ca=..|none] [key=..|none] [chain=..]
#        [if_match=..] [if_none_match=*] [dry_run] [status=..] [error=..]
#        [api=..] [id=ID]
sub step_upload {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $fixture = $step->{pos}[0];
    my $as = $args->{as} || 'json';
    my $method = $args->{method} || 'PUT';
    my $dry = $step->{flags}{dry_run};
    my $error = $args->{error};
    my $status = $self->_expected_status($args);

    my $what = $self->_describe("upload $fixture as=$as method=$method",
                                $args, qw(id chain certificate key ca body
                                          if_match if_none_match https
                                          client_cert));
    $what .= ' dry_run' if $dry;
    $what .= ' refused' if $step->{flags}{refused};

    my @fields = _upload_fields($fixture, $args);
    my ($type, $body) = _upload_body($as, \@fields);

    if (defined $args->{body}) {
        $body = eval { $self->{block}->${\ $args->{body}} };

        if (!defined $body) {
            $self->ok(0, "$what: the block has a section $args->{body}",
                      "no \"--- $args->{body}\" in this block");
            return;
        }
    }

    $type = $args->{type} if defined $args->{type};

    my $headers = $self->_if_match_headers($what, $args) or return;

    $headers->{'If-None-Match'} = $args->{if_none_match}
        if defined $args->{if_none_match};
    $headers->{'Content-Type'} = $type if $type ne 'none';

    my $path = $self->_resource($args);
    $path .= ($path =~ /\?/ ? '&' : '?') . 'dry_run=1' if $dry;

    if ($step->{flags}{refused}) {
        my $res = $self->_api_request($method, $path, $headers, $body);
        $self->_check_refused($what, $res, $args);
        return;
    }

    my $zone = $self->_zone_generation($args);
    my $before = $self->_known_generation($args);
    my $res = $self->_api_request($method, $path, $headers, $body);
    my $changed = $status == 200 && !defined $error && !$dry;

    # a named certificate that did not exist and was not made has no ETag
    my $exists = !defined $args->{id} || defined $before || $changed;

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);

    $self->_check_no_key_sent($what, $res,
                              defined $args->{body} ? ()
                              : map { $_->[1] } @fields);

    if ($status == 200 && !defined $error) {
        $self->_check_uploaded($what, $step, $res->{json} || {}, $gen,
                               $zone, $before);

    } elsif (defined $error) {
        $self->_check_error($what, $res, $args);
        $self->_check_unchanged($what, $before, $gen);
    }

    if (defined $args->{answer}) {
        $self->_check_answer($what, $args->{answer}, $res);
    }

    $self->_saw_answer($args, $gen, $exists);
    $self->_saw_zone_generation($args, $gen) if $changed;
}


# No line of a private key sent, in whichever field it was sent.  An EC
# key holds its public point, which the certificates hold too: a line
# found in a certificate sent is no secret.
sub _check_no_key_sent {
    my ($self, $what, $res, @sent) = @_;

    my $public = join '', map { /CERTIFICATE-----(.*?)-----END/sg } @sent;

    my @key_lines = grep { /^[A-Za-z0-9+\/=]{16,}$/
                           && index($public, $_) < 0 }
                    map { split /\s+/ }
                    map { /PRIVATE KEY-----(.*?)-----END/sg } @sent;
    my @leaked = grep { index($res->{body} // '', $_) >= 0 } @key_lines;

    $self->ok(!@leaked, "$what: answer holds no line of the key sent",
              @leaked ? 'found ' . scalar(@leaked) . ' line(s) of it' : ());
}


# The answer to an upload that succeeds: the fixture sent, source
# uploaded, the zone's generation plus one; for a dry run, that
# generation in the JSON only, and the ETag as it was.
sub _check_uploaded {
    my ($self, $what, $step, $j, $gen, $zone, $before) = @_;

    my $args = $step->{args};
    my $fixture = $step->{pos}[0];

    $self->is($j->{sha256}, fixture_sha256($fixture),
              "$what: answers with $fixture");
    $self->is($j->{source}, 'uploaded', "$what: source is uploaded");

    if (defined $args->{id}) {
        $self->is($j->{id}, $args->{id},
                  "$what: answer names the ID $args->{id}");
    }

    if (defined $args->{key_type}) {
        $self->is($j->{key_type}, $args->{key_type},
                  "$what: key_type is $args->{key_type}");
    }

    if ($step->{flags}{dry_run}) {
        $self->ok($j->{dry_run} && JSON::PP::is_bool($j->{dry_run}),
                  "$what: answer says dry_run: true");
        $self->_check_unchanged($what, $before, $gen);

        if (defined $zone) {
            $self->is($j->{generation}, $zone + 1,
                      "$what: JSON generation is the one the upload "
                      . "would get");
        }

        return;
    }

    $self->ok(!exists $j->{dry_run}, "$what: no dry_run member",
              "dry_run: " . short($j->{dry_run}));
    $self->_check_same_generation($what, $j, $gen);

    if (defined $zone && defined $gen) {
        $self->is($gen, $zone + 1,
                  "$what: generation grows by one, the zone's $zone + 1");
    }
}


# refused: an answer that nginx gives before the API is reached (access
# control, a missing client certificate), which need not be the API's
# JSON: its status, message= (a regular expression) against the body,
# and no private key in it.  Whether anything changed is for "snapshot".
sub _check_refused {
    my ($self, $what, $res, $args) = @_;

    my $body = $res->{body} // '';

    $self->_check_status($what, $res, $args->{status});

    if (defined $args->{message}) {
        my $re = $args->{message};

        $self->ok($body =~ /$re/, "$what: answer matches /$re/",
                  "body: " . short($body));
    }

    $self->ok($body !~ /-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----/,
              "$what: answer holds no private key");
}


# A body field made of fixture files, one after the other.
sub _field {
    my ($name, @files) = @_;

    return [$name, join('', map { fixture($_) } @files),
            join('+', @files)];
}


sub _check_same_generation {
    my ($self, $what, $j, $gen) = @_;

    $self->ok(defined $gen && defined $j->{generation}
              && $j->{generation} =~ /^[0-9]+$/ && $j->{generation} == $gen,
              "$what: JSON generation matches the ETag",
              "JSON: " . short($j->{generation}) . ", ETag: "
              . short($gen));
}


sub _check_unchanged {
    my ($self, $what, $before, $gen) = @_;

    return if !defined $before || !defined $gen;

    $self->is($gen, $before, "$what: generation unchanged");
}


# get [status=N] [source=..] [sha256=FIXTURE] [generation=N] [names=a,b]
sub step_get {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $status = $self->_expected_status($args);
    my $what = $self->_describe('get', $args,
                                qw(id status error source sha256 generation
                                   names key_type chain remember same_as api
                                   https client_cert));

    my $res = $self->_api_request('GET', $self->_resource($args), {});
    my $exists = !defined $args->{id} || $res->{status} == 200;

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);
    my $j = $res->{json} || {};

    if ($status == 200) {
        $self->_check_same_generation($what, $j, $gen);
        $self->_check_fields($what, $args, $j);
        $self->_remember($what, $args, $j);
        $self->_check_named_json($what, $args->{id}, $j)
            if defined $args->{id};

    } elsif (defined $args->{error}) {
        $self->_check_error($what, $res, $args);
    }

    $self->_saw_answer($args, $gen, $exists);
}


# The members of the certificate JSON of the contract.
my @CERT_MEMBERS = qw(zone generation source subject issuer serial names
                      not_before not_after sha256 key_type chain_length
                      certificate ca);


# A named certificate's JSON: the certificate JSON plus its "id".
sub _check_named_json {
    my ($self, $what, $id, $j) = @_;

    $self->is($j->{id}, $id, "$what: id is $id");

    my @missing = grep { !exists $j->{$_} } @CERT_MEMBERS;

    $self->ok(!@missing, "$what: the members of the certificate JSON",
              "missing: @missing");
}


sub _check_fields {
    my ($self, $what, $args, $j) = @_;

    if (defined $args->{source}) {
        $self->is($j->{source}, $args->{source},
                  "$what: source is $args->{source}");
    }

    if (defined $args->{sha256}) {
        $self->is($j->{sha256}, fixture_sha256($args->{sha256}),
                  "$what: sha256 is $args->{sha256}");
    }

    if (defined $args->{generation}) {
        $self->is($j->{generation}, $args->{generation},
                  "$what: generation is $args->{generation}");
    }

    if (defined $args->{names}) {
        my $got = ref $j->{names} eq 'ARRAY'
                  ? join(',', sort @{ $j->{names} }) : undef;

        $self->is($got, join(',', sort split /,/, $args->{names}),
                  "$what: names are $args->{names}");
    }

    if (defined $args->{key_type}) {
        $self->is($j->{key_type}, $args->{key_type},
                  "$what: key_type is $args->{key_type}");
    }

    if (defined $args->{chain}) {
        my @shas = pem_shas($j->{certificate});

        $self->is(cert_names(@shas), $args->{chain},
                  "$what: the certificate field is $args->{chain}, "
                  . "in this order");
        $self->is($j->{chain_length}, scalar @shas,
                  "$what: chain_length counts the certificate field");
    }
}


# remember=NAME keeps the sha256 served for a later block; same_as=NAME
# expects the one kept.
sub _remember {
    my ($self, $what, $args, $j) = @_;

    if (defined $args->{same_as}) {
        my $kept = slurp(_remembered_file($args->{same_as}));

        if ($self->ok(defined $kept, "$what: a certificate was remembered "
                                     . "as $args->{same_as}",
                      "use \"get remember=$args->{same_as}\" first"))
        {
            $self->is($j->{sha256}, $kept,
                      "$what: sha256 is the one remembered as "
                      . "$args->{same_as}");
        }
    }

    return if !defined $args->{remember};

    my $file = _remembered_file($args->{remember});

    File::Path::make_path(File::Basename::dirname($file));

    open my $fh, '>', $file or die "$file: $!";
    print {$fh} $j->{sha256} // '';
    close $fh;
}


# delete [status=N] [error=CODE] [if_match=..]
sub step_delete {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $error = $args->{error};
    my $status = $self->_expected_status($args);
    my $named = defined $args->{id};

    my $what = $self->_describe('delete', $args,
                                qw(id if_match error api https client_cert));
    $what .= ' refused' if $step->{flags}{refused};

    my $headers = $self->_if_match_headers($what, $args) or return;
    my $path = $self->_resource($args);

    if ($step->{flags}{refused}) {
        my $res = $self->_api_request('DELETE', $path, $headers);
        $self->_check_refused($what, $res, $args);
        return;
    }

    my $zone = $named ? $self->_zone_generation($args) : undef;
    my $before = $self->_known_generation($args);

    my $res = $self->_api_request('DELETE', $path, $headers);
    my $deleted = $named && $status == 200 && !defined $error;

    # a named certificate that is gone, or never was, has no ETag
    my $exists = !$named || (defined $before && !$deleted);

    $self->_check_status($what, $res, $status);
    my $gen = $self->_check_api_answer($what, $res, !$exists);
    my $j = $res->{json} || {};

    if ($deleted) {
        $self->_check_deleted($what, $args->{id}, $j, $zone);
        $self->_saw_zone_generation($args, $j->{generation});

    } elsif ($status == 200 && !defined $error) {
        $self->is($j->{source}, 'self-signed',
                  "$what: back to the self-signed certificate");
        $self->_check_same_generation($what, $j, $gen);

        if (defined $before && defined $gen) {
            $self->ok($gen >= $before, "$what: generation does not go back",
                      "before $before, now $gen");
        }

    } elsif (defined $error) {
        $self->_check_error($what, $res, $args);
        $self->_check_unchanged($what, $before, $gen);
    }

    $self->_saw_answer($args, $gen, $exists);
}


# The answer to the DELETE of a named certificate:
# {"zone", "id", "deleted": true, "generation"}, the zone's generation
# grown by one.
sub _check_deleted {
    my ($self, $what, $id, $j, $zone) = @_;

    $self->is(join(',', sort keys %$j), 'deleted,generation,id,zone',
              "$what: answer has zone, id, deleted and generation only");
    $self->is($j->{id}, $id, "$what: id is $id");
    $self->ok(JSON::PP::is_bool($j->{deleted}) && $j->{deleted},
              "$what: deleted is true",
              "deleted: " . short($j->{deleted}));
    $self->ok(defined $j->{zone} && !ref $j->{zone} && $j->{zone} ne '',
              "$what: zone is named", "zone: " . short($j->{zone}));

    if (defined $zone) {
        $self->is($j->{generation}, $zone + 1,
                  "$what: generation is the zone's $zone + 1");
    }
}


# generation N
sub step_generation {
    my ($self, $step) = @_;

    my $n = $step->{pos}[0];
    my $what = "generation $n";

    my $res = $self->_api_request('GET', $step->{args}{api}, {});

    $self->_check_status($what, $res, 200);
    my $gen = $self->_check_api_answer($what, $res);

    $self->is(($res->{json} || {})->{generation}, $n,
              "$what: generation is $n");

    $self->_saw_answer($step->{args}, $gen, 1);
}


# Certificates "get remember=NAME" kept for a later block of the same
# series ("get same_as=NAME"), next to the stores they were served from.
sub _remembered_file {
    my ($name) = @_;

    return File::Spec->catfile($ENV{TEST_NGINX_STORE_DIR}, '.remember',
                               "$name.sha256");
}


1;
