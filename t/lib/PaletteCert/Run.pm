package PaletteCert::Run;

# One block's steps, run one after the other against the running nginx:
# what the block remembers between them (open connections, the pids
# recorded, the generations seen, a snapshot), assertions named after the
# block and the step, and the dispatch of a step to the method step_OP.
# The steps are written in the modules of their concern, which this class
# inherits them from; it holds no state beyond the block.

use strict;
use warnings;

use Test::More ();

use parent qw(
    PaletteCert::TLS
    PaletteCert::API
    PaletteCert::List
    PaletteCert::Snapshot
    PaletteCert::Store
    PaletteCert::Nginx
    PaletteCert::StoreFailures
    PaletteCert::Stall
    PaletteCert::Concurrent
);

use PaletteCert::Nginx qw(server_root server_port);


# name: the block's name, which every assertion starts with; block: the
# Test::Nginx block (for sections a step reads), if any.
sub new {
    my ($class, %opts) = @_;

    my $self = {
        name       => $opts{name},
        block      => $opts{block},
        api_port   => $opts{api_port} || server_port(),
        servroot   => $opts{servroot} || server_root(),
        conns      => {},
        pids       => undef,
        generation => {},
        snapshot   => undef,
        answers    => {},
    };

    return bless $self, $class;
}


sub run {
    my ($self, $step) = @_;

    my $method = "step_$step->{op}";

    $self->{step} = $step;
    $self->$method($step);
    delete $self->{step};
}


# After the last step: what the steps left open is closed or undone.
sub finish {
    my ($self) = @_;

    $self->_close_connections;
    $self->_storefs_cleanup;
    $self->_finish_upgrade;
}


sub DESTROY {
    my ($self) = @_;

    $self->finish;
}


# Test::More wrappers naming each assertion after the block and the step.

sub ok {
    my ($self, $test, $what, @diag) = @_;

    my $ok = Test::More::ok($test, "$self->{name} - $what");

    $self->_diag_step(@diag) if !$ok;

    return $ok;
}


sub is {
    my ($self, $got, $expected, $what, @diag) = @_;

    my $ok = Test::More::is($got, $expected, "$self->{name} - $what");

    $self->_diag_step(@diag) if !$ok;

    return $ok;
}


sub _diag_step {
    my ($self, @diag) = @_;

    Test::More::diag("  step (line $self->{step}{line}): "
                     . $self->{step}{text});
    Test::More::diag("  $_") for grep { defined } @diag;
}


# The name of a step in its assertions: $what and the arguments @keys it
# was given, in that order ("get id=a status=404").
sub _describe {
    my ($self, $what, $args, @keys) = @_;

    return join ' ', $what,
                     map { "$_=$args->{$_}" } grep { defined $args->{$_} }
                     @keys;
}


1;
