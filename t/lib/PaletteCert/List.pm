package PaletteCert::List;

# The list of a zone's named certificates, GET LOCATION/, as a client
# walks its pages: the checks every page must pass and the step list, a
# method of PaletteCert::Run, which inherits it from here.

use strict;
use warnings;

use JSON::PP ();

use PaletteCert::API qw($DEFAULT_API);
use PaletteCert::Util qw(short);


# list [limit=N] [after=ID] [query=TEXT] [ids=A,B..|none] [next=ID|null]
#      [generation=N] [count=N] [all] [detail] [status=N] [error=CODE]
sub step_list {
    my ($self, $step) = @_;

    my $args = $step->{args};
    my $status = $self->_expected_status($args);

    my $what = $self->_describe('list', $args,
                                qw(limit after query status error api));
    $what .= " $_" for grep { $step->{flags}{$_} } qw(all detail);

    my @query = map { "$_=$args->{$_}" }
                grep { defined $args->{$_} } qw(limit after);
    push @query, $args->{query} if defined $args->{query};

    my $page = $self->_list_page($what, $args, \@query, $status);

    return if !$page;

    if ($status != 200) {
        $self->_check_error($what, $page->{res}, $args)
            if defined $args->{error};
        return;
    }

    my @entries = @{ $page->{entries} };
    my $next = $page->{next};
    my $pages = 1;

    # with "all": the pages after this one, as a client walks them

    while ($step->{flags}{all} && defined $next && $pages < 2000) {
        my @q = grep { !/^after=/ } @query;
        push @q, "after=$next";

        my $p = $self->_list_page("$what, page after $next", $args, \@q,
                                  200) or return;

        # "next" is null on the last page: a page after one is not empty

        $self->ok(@{ $p->{entries} } && $p->{entries}[0]{id} gt $next,
                  "$what: the page after $next is not empty and starts "
                  . "after it",
                  "first: " . short(($p->{entries}[0] || {})->{id}));

        push @entries, @{ $p->{entries} };
        $next = $p->{next};
        $pages++;
    }

    my @ids = map { $_->{id} // '' } @entries;

    if ($step->{flags}{all}) {
        $self->ok(!defined $next, "$what: the last page has next null");
        $self->ok(!grep({ $ids[$_ - 1] ge $ids[$_] } 1 .. $#ids),
                  "$what: all pages together sorted bytewise, no ID twice",
                  "ids: @ids");
    }

    if (defined $args->{ids}) {
        my $want = $args->{ids} eq 'none' ? '' : $args->{ids};

        $self->is(join(',', @ids), $want, "$what: ids $args->{ids}");
    }

    if (defined $args->{count}) {
        $self->is(scalar @ids, $args->{count},
                  "$what: $args->{count} certificates");
    }

    if (defined $args->{next}) {
        $self->is($page->{next}, $args->{next} eq 'null' ? undef
                                                         : $args->{next},
                  "$what: next is $args->{next}");
    }

    if (defined $args->{generation}) {
        $self->is($page->{generation}, $args->{generation},
                  "$what: the zone's generation is $args->{generation}");
    }

    if ($step->{flags}{detail}) {
        $self->_check_list_detail($what, $args, \@entries);
    }

    $self->{zone}{ $args->{api} || $DEFAULT_API } = $page->{generation}
        if defined $page->{generation} && $page->{generation} =~ /^\d+$/;
}


# One GET of the list, with the checks every page must pass: the members,
# each entry's members, sorted bytewise, no more entries than the limit,
# next the last ID of a page (null on the last one).  Returns {res,
# entries, next, generation}, or undef when the answer is no list.
sub _list_page {
    my ($self, $what, $args, $query, $status) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my $uri = "$api/" . (@$query ? '?' . join('&', @$query) : '');
    my $res = $self->_api_request('GET', $uri, {});

    $self->_check_status("$what: GET $uri", $res, $status);
    $self->_check_api_answer("$what: GET $uri", $res, 1);

    return { res => $res } if $status != 200;

    my $j = $res->{json};

    return undef if !$self->ok(ref $j eq 'HASH'
                               && ref $j->{certificates} eq 'ARRAY',
                               "$what: answer has a certificates array",
                               "body: " . short($res->{body}));

    my @entries = @{ $j->{certificates} };

    $self->is(join(',', sort keys %$j), 'certificates,generation,next,zone',
              "$what: answer has zone, generation, certificates and next");
    $self->ok(defined $j->{zone} && !ref $j->{zone} && $j->{zone} ne '',
              "$what: zone is named", "zone: " . short($j->{zone}));
    $self->ok(defined $j->{generation} && $j->{generation} =~ /^[0-9]+$/,
              "$what: generation is a number",
              "generation: " . short($j->{generation}));

    my @bad = grep { ref $_ ne 'HASH'
                     || join(',', sort keys %$_)
                        ne 'generation,id,key_type,names,not_after,sha256' }
              @entries;

    $self->ok(!@bad, "$what: each entry has id, names, key_type, "
                     . "not_after, sha256 and generation only",
              @bad ? 'first bad: ' . JSON::PP->new->canonical
                                     ->encode($bad[0]) : ());

    my @ids = map { ref $_ eq 'HASH' ? $_->{id} // '' : '' } @entries;

    $self->ok(!grep({ $ids[$_ - 1] ge $ids[$_] } 1 .. $#ids),
              "$what: ids sorted bytewise, none twice", "ids: @ids");

    my ($limit) = map { /^limit=(.*)$/ ? $1 : () } @$query;

    $self->ok(@entries <= ($limit // 100),
              "$what: at most " . ($limit // 100) . " certificates",
              scalar(@entries) . ' given');

    my $next = $j->{next};

    $self->ok(exists $j->{next}
              && (!defined $next || (@ids && $next eq $ids[-1])),
              "$what: next is null or the last ID of the page",
              "next: " . short($next), "last: " . short($ids[-1]));

    return { res => $res, entries => \@entries, next => $next,
             generation => $j->{generation} };
}


# Each entry of the list says what GET /ID says.
sub _check_list_detail {
    my ($self, $what, $args, $entries) = @_;

    my $api = $args->{api} || $DEFAULT_API;
    my @differ;

    for my $e (@$entries) {
        my $res = $self->_api_request('GET', "$api/$e->{id}", {});
        my $j = $res->{json} || {};

        if ($res->{status} != 200) {
            push @differ, "GET $api/$e->{id}: status $res->{status}";
            next;
        }

        for my $k (qw(names key_type not_after sha256 generation)) {
            my ($x, $y) = map { JSON::PP->new->canonical->allow_nonref
                                ->encode($_) } $e->{$k}, $j->{$k};

            push @differ, "$e->{id}: $k is $x in the list, $y in GET"
                if $x ne $y;
        }
    }

    $self->ok(!@differ, "$what: each entry says what GET /ID says",
              @differ > 10 ? (@differ[0 .. 9], '...') : @differ);
}


# snapshot record [store=DIR] [api=/P] [port=ENV] [sni=NAME] | snapshot same
#
# What a rejected upload must leave as it was: GET's whole answer and its
# ETag, the certificates a handshake is given, and, with store=, every
# entry of the store folder $TEST_NGINX_STORE_DIR/DIR (type, mode, mtime,


1;
