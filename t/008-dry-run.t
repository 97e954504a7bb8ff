# Dry runs (?dry_run=1): every check runs, the answer is the one the upload
# would get (200 with "dry_run": true and the generation it would get, or
# the very same error), and nothing changes: "snapshot same" compares GET's
# answer and ETag, the certificates served and every byte of the store.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config(
        'console:1m names=console.example.com,127.0.0.1,::1',
        store => 'dry'),
    fresh_store  => '',
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

# Uploads that fail validation: the arguments of an upload step, with the
# error they get.
my @INVALID = (
    'leaf-a certificate=leaf-a.key error=invalid_certificate',
    'leaf-a key=leaf-a+leaf-b error=invalid_key',
    'leaf-a key=leaf-a.enc error=encrypted_key',
    'leaf-a ca=leaf-b error=invalid_ca',
    'leaf-a key=leaf-c error=key_mismatch',
    'leaf-a certificate=int-ca.crt+leaf-a.crt error=key_mismatch',
    'leaf-a chain=crt error=chain_incomplete',
    'leaf-a ca=other-root-ca error=chain_untrusted',
    'leaf-badsig error=chain_untrusted',
    'leaf-expired error=expired',
    'leaf-under-expired-int error=expired',
    'leaf-future error=not_yet_valid',
    'leaf-wrong-name error=name_mismatch',
    'leaf-cn-only error=name_mismatch',
    'leaf-rsa1024 error=weak_key',
    'leaf-sha1 error=weak_key',
    'leaf-k256 error=weak_key',
    'leaf-ca-true error=not_server_certificate',
    'leaf-client-only error=not_server_certificate',
);

# The steps that send each invalid upload as a dry run, then for real, in
# the body type given: the two answers must be the same, and neither may
# change anything.
sub dry_and_real {
    my ($as) = @_;

    my @steps = ("upload leaf-c as=$as", 'snapshot record store=dry');
    my $n = 0;

    for my $case (@INVALID) {
        $n++;
        push @steps, "upload $case as=$as dry_run answer=case$n",
                     'snapshot same',
                     "upload $case as=$as answer=case$n",
                     'snapshot same';
    }

    return join "\n", @steps, '';
}

# a multipart/form-data body: each part [name, content]
sub multipart {
    return PaletteCert::Body::multipart_body(@_);
}

# the three fields of a good upload of leaf-a, as multipart parts
sub good {
    my %f = PaletteCert::Body::upload_fields('leaf-a');

    return map { [$_, $f{$_}] } qw(certificate key ca);
}

run_tests();

__DATA__

=== TEST 1: a dry run in each body type and method answers as the upload does, with the generation it would get, and changes nothing
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=dry
upload leaf-b as=json dry_run answer=leaf-b key_type="RSA 2048"
snapshot same
upload leaf-b as=multipart method=POST dry_run answer=leaf-b
snapshot same
upload leaf-b as=urlencoded dry_run answer=leaf-b
snapshot same
upload leaf-b as=json method=POST dry_run answer=leaf-b
snapshot same
handshake count=5 expect=leaf-a
upload leaf-b as=json answer=leaf-b
get sha256=leaf-b generation=3
handshake count=5 expect=leaf-b
--- grep_error_log eval
qr/palette_cert zone "console" uploaded: generation \d+/
--- grep_error_log_out
palette_cert zone "console" uploaded: generation 2
palette_cert zone "console" uploaded: generation 3



=== TEST 2: a dry run from the self-signed default, with intermediates out of order, answers as the upload does and changes nothing
--- request
GET /cert
--- steps
snapshot record store=dry
upload leaf-deep chain=reversed dry_run answer=deep
snapshot same
handshake count=5 expect=self-signed
upload leaf-deep chain=reversed answer=deep
get sha256=leaf-deep generation=2 chain=leaf-deep+int2+int-ca



=== TEST 3: dry runs of invalid JSON uploads answer with the very error of the upload, and change nothing
--- request
GET /cert
--- steps eval
main::dry_and_real('json')



=== TEST 4: dry runs of invalid multipart uploads answer with the very error of the upload, and change nothing
--- request
GET /cert
--- steps eval
main::dry_and_real('multipart')



=== TEST 5: dry runs of invalid urlencoded uploads answer with the very error of the upload, and change nothing
--- request
GET /cert
--- steps eval
main::dry_and_real('urlencoded')



=== TEST 6: dry runs of bodies that cannot be read answer with the very error of the upload, and change nothing
--- bad_json
{"certificate": "x", "key": }
--- no_key
{"certificate": "-----BEGIN CERTIFICATE-----"}
--- twice_json eval
'{"certificate": "a", "key": "b", "key": "c"}'
--- bad_form
certificate=%zz&key=b
--- cut_multipart eval
my $body = main::multipart('palette-dry-1', main::good());
$body =~ s/--palette-dry-1--\r\n$//;
$body
--- twice_multipart eval
main::multipart('palette-dry-1', main::good(), ['key', 'b'])
--- empty_body
--- plain_text
certificate=a&key=b
--- request
GET /cert
--- steps
upload leaf-b
snapshot record store=dry
upload leaf-a body=bad_json type=application/json dry_run error=malformed_request field=null answer=bad_json
snapshot same
upload leaf-a body=bad_json type=application/json error=malformed_request answer=bad_json
snapshot same
upload leaf-a body=no_key type=application/json dry_run error=missing_field field=key answer=no_key
snapshot same
upload leaf-a body=no_key type=application/json error=missing_field answer=no_key
snapshot same
upload leaf-a body=twice_json type=application/json dry_run error=malformed_request answer=twice_json
snapshot same
upload leaf-a body=twice_json type=application/json error=malformed_request answer=twice_json
snapshot same
upload leaf-a body=bad_form type=application/x-www-form-urlencoded dry_run error=malformed_request answer=bad_form
snapshot same
upload leaf-a body=bad_form type=application/x-www-form-urlencoded error=malformed_request answer=bad_form
snapshot same
upload leaf-a body=cut_multipart type="multipart/form-data; boundary=palette-dry-1" dry_run error=malformed_request answer=cut_multipart
snapshot same
upload leaf-a body=cut_multipart type="multipart/form-data; boundary=palette-dry-1" error=malformed_request answer=cut_multipart
snapshot same
upload leaf-a body=twice_multipart type="multipart/form-data; boundary=palette-dry-1" dry_run error=malformed_request answer=twice_multipart
snapshot same
upload leaf-a body=twice_multipart type="multipart/form-data; boundary=palette-dry-1" error=malformed_request answer=twice_multipart
snapshot same
upload leaf-a body=empty_body type=application/json dry_run error=missing_field field=certificate answer=empty
snapshot same
upload leaf-a body=empty_body type=application/json error=missing_field answer=empty
snapshot same
upload leaf-a body=plain_text type=text/plain dry_run error=unsupported_media_type field=null answer=text
snapshot same
upload leaf-a body=plain_text type=text/plain error=unsupported_media_type answer=text
snapshot same



=== TEST 7: a dry run of a body over client_max_body_size answers 413 as the upload does, and changes nothing
--- config
    location = /cert {
        client_max_body_size 4k;
        palette_cert_api console;
    }
--- big_body eval
'{"certificate": "' . ('A' x 10000) . '", "key": "B"}'
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=dry
upload leaf-a body=big_body type=application/json dry_run error=too_large field=null answer=big
snapshot same
upload leaf-a body=big_body type=application/json error=too_large answer=big
snapshot same
--- no_error_log
[alert]
[crit]
PRIVATE KEY-----



=== TEST 8: a dry run checks If-Match as the upload does: a current one passes, a stale one is 412, and nothing changes
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=dry
upload leaf-b if_match=current dry_run answer=current
snapshot same
upload leaf-b if_match=stale dry_run error=generation_mismatch answer=stale
snapshot same
upload leaf-b if_match=stale error=generation_mismatch answer=stale
snapshot same
upload leaf-b if_match=current answer=current
get sha256=leaf-b generation=3



=== TEST 9: a dry run of an invalid upload with a stale If-Match answers as the upload does: validation first, then If-Match
--- request
GET /cert
--- steps
upload leaf-a
snapshot record store=dry
upload leaf-expired if_match=stale dry_run error=expired answer=expired
snapshot same
upload leaf-expired if_match=stale error=expired answer=expired
snapshot same
upload leaf-a key=leaf-c if_match=stale dry_run error=key_mismatch answer=mismatch
snapshot same
upload leaf-a key=leaf-c if_match=stale error=key_mismatch answer=mismatch
snapshot same
