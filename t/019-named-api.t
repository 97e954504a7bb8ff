# Named certificates through the API: PUT or POST LOCATION/ID makes or
# replaces one, GET /ID shows it with its "id", DELETE /ID removes it, GET
# LOCATION/ lists them by ID in pages.  The zone's generation grows on every
# change of any of its certificates; each certificate's own generation (its
# ETag, what If-Match compares) is the zone's at its last change.  Two
# certificates of one key type never share a name.  The default certificate
# at LOCATION answers as it always did.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;
use PaletteCert::Check ();

no_shuffle();

PaletteCert::defaults(
    PaletteCert::zone_config('console:4m names=console.example.com,127.0.0.1',
                             named => 1),
    no_error_log => "[error]\n[alert]\n[crit]\nPRIVATE KEY-----\n",
);

# An upload of a fixture as a JSON body.
sub json_body {
    return PaletteCert::Body::upload_json(@_);
}

# Steps uploading bulk-001 .. bulk-N as IDs b001 .. bNNN, the last first.
sub bulk_uploads {
    my ($n) = @_;

    return join '', map { sprintf "upload bulk-%03d id=b%03d\n", $_, $_ }
                    reverse 1 .. $n;
}

sub sha256 {
    return PaletteCert::Check::sha(@_);
}

run_tests();

__DATA__

=== TEST 1: PUT /ID makes a named certificate, answered with its JSON and "id" at the zone's generation plus one; GET /ID and the list show it
--- request
GET /cert/
--- response_body_like chomp
^\{"zone":"console","generation":1,"certificates":\[\],"next":null\}$
--- steps
list ids=none generation=1 next=null
upload named-a id=site-a key_type="EC P-256"
get id=site-a sha256=named-a generation=2 source=uploaded names=a.test key_type="EC P-256" chain=named-a+int-ca
list ids=site-a generation=2 next=null detail
handshake count=5 sni=a.test expect=named-a chain=2



=== TEST 2: POST /ID makes one too, and PUT or POST on an existing ID replaces it, in every body type
--- request
GET /cert/
--- steps
upload named-a id=a method=POST as=multipart
get id=a sha256=named-a generation=2
upload named-a2 id=a method=PUT as=urlencoded
get id=a sha256=named-a2 generation=3
upload named-a id=a method=POST as=json
get id=a sha256=named-a generation=4
list ids=a generation=4 detail
handshake count=5 sni=a.test expect=named-a



=== TEST 3: named certificates leave GET of the default as it was: no "id", its own generation and ETag
--- request eval
["GET /cert/", "GET /cert"]
--- more_headers
Accept: application/json
--- error_code eval
[200, 200]
--- response_headers eval
["", "ETag: \"1\"\nCache-Control: no-store\nContent-Type: application/json"]
--- response_body_like eval
[qr/"certificates"/,
 qr/^\{"zone":"console","generation":1,"source":"self-signed","subject":"CN=console.example.com","issuer":"CN=console.example.com","serial":"[0-9a-f]+","names":\["console.example.com","127.0.0.1"\],"not_before":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","not_after":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","sha256":"[0-9a-f]{64}","key_type":"EC P-256","chain_length":1,"certificate":"-----BEGIN CERTIFICATE-----\\n[^"]+-----END CERTIFICATE-----\\n","ca":null,"staged":null,"csr_pending":null\}\n?$/]
--- steps
upload named-a id=a
upload named-b id=b
list generation=3 ids=a,b
request 2
get source=self-signed generation=1



=== TEST 4: the zone's generation grows on every change of any certificate; each keeps the zone's generation of its own last change
--- request
GET /cert/
--- steps
list generation=1 ids=none
upload named-a id=a
upload named-b id=b
upload named-a2 id=a
get id=a generation=4 sha256=named-a2
get id=b generation=3 sha256=named-b
get generation=1 source=self-signed
list generation=4 ids=a,b detail
# the default's change takes the next zone generation
upload leaf-a
get generation=5 sha256=leaf-a
get id=b generation=3
# a dry run and a rejected upload change no generation
upload named-b2 id=b dry_run
upload leaf-expired id=c error=expired
list generation=5 ids=a,b
delete id=b
list generation=6 ids=a detail
get id=a generation=4
delete
get generation=7 source=self-signed
list generation=7 ids=a
get id=a generation=4 sha256=named-a2



=== TEST 5: DELETE /ID answers zone, id, deleted and generation; the ID is then unknown, and can be made again
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b
delete id=a
get id=a error=not_found
delete id=a error=not_found
list ids=b generation=4
get id=b sha256=named-b generation=3
upload named-a2 id=a
get id=a sha256=named-a2 generation=5
list ids=a,b generation=5 detail



=== TEST 6: the answer to DELETE /ID is exactly {"zone","id","deleted":true,"generation"}
--- request eval
["PUT /cert/gone\n" . main::json_body('named-a'), "DELETE /cert/gone", "GET /cert/gone"]
--- more_headers eval
["Content-Type: application/json", "", ""]
--- error_code eval
[200, 200, 404]
--- response_body_like eval
[qr/^\{.*"id":"gone".*\}$/,
 qr/^\{"zone":"console","id":"gone","deleted":true,"generation":3\}\n?$/,
 qr/^\{"error":"not_found","field":null,"message":"[^"]+"\}\n?$/]



=== TEST 7: a dry run on /ID makes no certificate and replaces none, and reports what the upload would get
--- request
GET /cert/
--- steps
upload named-a id=a
snapshot record id=a sni=a.test list
upload named-a2 id=a dry_run
upload named-b id=new dry_run
upload leaf-expired id=new dry_run error=expired
upload named-a2 id=new dry_run error=name_conflict
snapshot same
snapshot record id=new sni=b.test list
upload named-b id=new dry_run
snapshot same
get id=new error=not_found
get id=a sha256=named-a generation=2
list ids=a generation=2



=== TEST 8: the list is sorted bytewise by ID and pages with limit, after and next
--- request
GET /cert/
--- steps
upload bulk-005 id=a0
upload bulk-001 id=a
upload bulk-002 id=B
upload bulk-003 id=ab
upload bulk-004 id=a_b
upload bulk-006 id=0
upload bulk-007 id=a.b
upload bulk-008 id=aZ
upload bulk-009 id=a-b
list ids=0,B,a,a-b,a.b,a0,aZ,a_b,ab next=null generation=10 detail
list limit=4 ids=0,B,a,a-b next=a-b
list limit=4 after=a-b ids=a.b,a0,aZ,a_b next=a_b
list limit=4 after=a_b ids=ab next=null
list limit=1 ids=0 next=0
list limit=3 all ids=0,B,a,a-b,a.b,a0,aZ,a_b,ab
list limit=1 all ids=0,B,a,a-b,a.b,a0,aZ,a_b,ab
list limit=1000 ids=0,B,a,a-b,a.b,a0,aZ,a_b,ab next=null
list after=ab ids=none next=null
# the ID a page ended with may be gone by the time the next is asked
list after=a1 ids=aZ,a_b,ab next=null
delete id=a-b
list limit=4 after=a ids=a.b,a0,aZ,a_b next=a_b



=== TEST 9: the list gives 100 certificates unless asked, up to 1000 when asked
--- request
GET /cert/
--- steps eval
main::bulk_uploads(101) . <<'_EOS_'
list count=100 next=b100 generation=102
list after=b100 ids=b101 next=null
list limit=1000 count=101 next=null
list limit=101 count=101 next=null
list limit=100 count=100 next=b100
list limit=7 all count=101 detail
_EOS_



=== TEST 10: a limit outside 1..1000 is a malformed request
--- request
GET /cert/
--- steps
upload named-a id=a
list limit=0 error=malformed_request
list limit=1001 error=malformed_request
list query=limit=-1 error=malformed_request
list query=limit=abc error=malformed_request
list query=limit= error=malformed_request
list limit=1000 ids=a
list limit=1 ids=a next=null



=== TEST 11: PUT, POST and DELETE on the list are 405 with an Allow of the list's methods, and make nothing
--- request eval
["PUT /cert/\n" . main::json_body('named-a'),
 "POST /cert/\n" . main::json_body('named-a'),
 "DELETE /cert/"]
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json", ""]
--- error_code eval
[405, 405, 405]
--- response_headers_like eval
["Allow: GET(, HEAD)?\nCache-Control: no-store",
 "Allow: GET(, HEAD)?\nCache-Control: no-store",
 "Allow: GET(, HEAD)?\nCache-Control: no-store"]
--- response_body_like eval
[qr/^\{"error":"method_not_allowed",/, qr/^\{"error":"method_not_allowed",/,
 qr/^\{"error":"method_not_allowed",/]
--- steps
request 3
list ids=none generation=1
get source=self-signed generation=1



=== TEST 12: IDs outside [A-Za-z0-9][A-Za-z0-9._-]{0,63} are not found, nothing is made; the longest ID is taken
--- request
GET /cert/
--- steps
upload named-a id=L012345678901234567890123456789012345678901234567890123456789abcd error=not_found
upload named-a id=.a error=not_found
upload named-a id=-a error=not_found
upload named-a id=_a error=not_found
upload named-a id=a/b error=not_found
upload named-a id=a/ error=not_found
upload named-a id=a%2Fb error=not_found
upload named-a id=%2e.a error=not_found
upload named-a id=a%20b error=not_found
upload named-a id=a%ff error=not_found
upload named-a id=%C3%A9 error=not_found
get id=a/b error=not_found
get id=.a error=not_found
delete id=.a error=not_found
delete id=a/b error=not_found
list ids=none generation=1
upload named-a id=L012345678901234567890123456789012345678901234567890123456789abc
get id=L012345678901234567890123456789012345678901234567890123456789abc sha256=named-a
list ids=L012345678901234567890123456789012345678901234567890123456789abc generation=2



=== TEST 13: a URI that is neither the default, the list nor /ID is 404 not_found
--- request eval
["GET /certx", "PUT /cert.a\n" . main::json_body('named-a'), "GET /cert/a/b"]
--- more_headers eval
["", "Content-Type: application/json", ""]
--- error_code eval
[404, 404, 404]
--- response_headers eval
["Cache-Control: no-store", "Cache-Control: no-store", "Cache-Control: no-store"]
--- response_body_like eval
[qr/^\{"error":"not_found",/, qr/^\{"error":"not_found",/,
 qr/^\{"error":"not_found",/]
--- steps
request 3
list ids=none generation=1



=== TEST 14: If-Match on /ID compares that certificate's own generation, not the zone's; a stale one is 412 and changes nothing
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-b id=b
# the zone is at 3, a at 2
upload named-a2 id=a if_match=3 error=generation_mismatch
upload named-a2 id=a if_match=2
get id=a sha256=named-a2 generation=4
upload named-a id=a if_match=stale error=generation_mismatch
upload named-a id=a if_match=current
upload named-a id=a if_match=* method=POST
get id=a sha256=named-a generation=6
upload named-b2 id=b if_match=6 error=generation_mismatch
delete id=b if_match=6 error=generation_mismatch
delete id=b if_match=3
get id=b error=not_found
list ids=a generation=7



=== TEST 15: If-Match on a missing ID is 412 and makes nothing; If-None-Match: * makes a new ID and refuses an existing one
--- request
GET /cert/
--- steps
upload named-a id=a if_match=1 error=generation_mismatch
upload named-a id=a if_match=* error=generation_mismatch
delete id=a if_match=1 error=generation_mismatch
list ids=none generation=1
upload named-a id=a if_none_match=*
get id=a sha256=named-a generation=2
upload named-a2 id=a if_none_match=* error=generation_mismatch
upload named-a2 id=a if_none_match=* dry_run error=generation_mismatch
get id=a sha256=named-a generation=2
list ids=a generation=2



=== TEST 16: a name another ID of the same key type covers is 409 name_conflict naming that ID, and changes nothing
--- request
GET /cert/
--- steps
upload named-a id=first
upload named-b id=b
snapshot record id=second sni=a.test list
upload named-a2 id=second error=name_conflict message=(?<![-\w])first(?![-\w])
upload named-a2 id=second method=POST as=multipart error=name_conflict message=(?<![-\w])first(?![-\w])
# one name of several is enough
upload named-ac id=second error=name_conflict message=(?<![-\w])first(?![-\w])
snapshot same
# replacing b by a certificate for a name first has
snapshot record id=b sni=b.test list
upload named-a2 id=b error=name_conflict message=(?<![-\w])first(?![-\w])
snapshot same
# a certificate never conflicts with the one it replaces
upload named-a2 id=first
get id=first sha256=named-a2
list ids=b,first generation=4



=== TEST 17: names conflict whatever their case
--- request
GET /cert/
--- steps
upload named-a id=lower
upload named-a-upper id=upper error=name_conflict message=(?<![-\w])lower(?![-\w])
delete id=lower
upload named-a-upper id=upper
upload named-a id=lower error=name_conflict message=(?<![-\w])upper(?![-\w])
list ids=upper



=== TEST 18: one name may have one ECDSA and one RSA certificate, not two of a kind
--- request
GET /cert/
--- steps
upload named-a id=ec
upload named-a-rsa id=rsa key_type="RSA 2048"
upload named-a-rsa2 id=rsa2 error=name_conflict message=(?<![-\w])rsa(?![-\w])
upload named-a2 id=ec2 error=name_conflict message=(?<![-\w])ec(?![-\w])
upload named-a-rsa2 id=rsa
list ids=ec,rsa generation=4 detail
get id=rsa sha256=named-a-rsa2 key_type="RSA 2048"
get id=ec sha256=named-a key_type="EC P-256"



=== TEST 19: IP addresses conflict like DNS names; a wildcard and a name under it do not
--- request
GET /cert/
--- steps
upload named-ip id=ip
get id=ip names=127.0.0.1
upload named-ip2 id=ip2 error=name_conflict message=(?<![-\w])ip(?![-\w])
upload named-wild id=wild
upload named-xw id=xw
get id=wild names=*.w.test
get id=xw names=x.w.test
list ids=ip,wild,xw generation=4



=== TEST 20: a certificate with neither a DNS nor an IP name is 422 name_mismatch on /ID
--- request
GET /cert/
--- steps
upload leaf-cn-only id=nosan error=name_mismatch
upload named-email-only id=nosan error=name_mismatch
list ids=none generation=1



=== TEST 21: the zone's names= governs only the default: a named certificate for other names is taken, the default must still cover names=
--- request
GET /cert/
--- steps
upload named-a id=a
upload named-a error=name_mismatch message=console.example.com
get source=self-signed generation=1
upload named-ip id=ip
get id=ip sha256=named-ip
list ids=a,ip generation=3



=== TEST 22: the other checks of an upload apply to /ID, each with its code, and make nothing
--- request
GET /cert/
--- steps
upload leaf-expired id=v error=expired
upload leaf-future id=v error=not_yet_valid
upload named-a id=v key=named-b error=key_mismatch field=key
upload named-a id=v key=none error=missing_field field=key
upload leaf-badsig id=v error=chain_untrusted
upload named-a id=v chain=crt error=chain_incomplete
upload leaf-rsa1024 id=v error=weak_key
upload leaf-client-only id=v error=not_server_certificate
upload named-a id=v key=leaf-a.enc error=encrypted_key
upload named-a id=v body=junk type=text/plain error=unsupported_media_type
upload named-a id=v body=junk type=application/json error=malformed_request
list ids=none generation=1
get id=v error=not_found
--- junk
certificate=x



=== TEST 23: the checks on an existing ID keep it as it was, with its ETag
--- request
GET /cert/
--- steps
upload named-a id=v
snapshot record id=v sni=a.test list
upload leaf-expired id=v error=expired
upload named-a2 id=v key=named-b error=key_mismatch
upload named-a2 id=v chain=crt error=chain_incomplete
snapshot same



=== TEST 24: trust= applies to named certificates too
--- http_config
    palette_cert_zone console:4m names=console.example.com trust=$TEST_NGINX_CERT_DIR/ca.pem;
    server {
        listen 127.0.0.1:$TEST_NGINX_TLS_PORT ssl;
        server_name console.example.com;
        ssl_protocols TLSv1.2 TLSv1.3;
        palette_cert console;
        location / { return 200 "tls ok\n"; }
    }
--- request
GET /cert/
--- steps
upload other-leaf id=o ca=other-root-ca error=chain_untrusted
upload named-a id=a ca=other-root-ca
list ids=a generation=2



=== TEST 25: other methods on /ID are 405 with Allow
--- request eval
["PUT /cert/a\n" . main::json_body('named-a'), "PATCH /cert/a"]
--- more_headers eval
["Content-Type: application/json", ""]
--- error_code eval
[200, 405]
--- response_headers_like eval
["", "Allow: GET, HEAD, PUT, POST, DELETE\nETag: \"2\""]
--- response_body_like eval
[qr/"id":"a"/, qr/^\{"error":"method_not_allowed",/]



=== TEST 26: a change of /ID sent by a browser from another site gets 403 cross_origin and changes nothing
--- request eval
["PUT /cert/a\n" . main::json_body('named-a'),
 "PUT /cert/b\n" . main::json_body('named-b'),
 "DELETE /cert/a",
 "POST /cert/b\n" . main::json_body('named-b')]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/json\nOrigin: https://evil.example",
 "Sec-Fetch-Site: cross-site",
 "Content-Type: application/json\nOrigin: https://evil.example\nSec-Fetch-Site: cross-site"]
--- error_code eval
[200, 403, 403, 403]
--- response_body_like eval
['"id":"a"', '^\{"error":"cross_origin",', '^\{"error":"cross_origin",',
 '^\{"error":"cross_origin",']
--- steps
request 4
list ids=a generation=2
get id=a sha256=named-a generation=2



=== TEST 27: the audit line of a change names the ID, with the zone, generation and sha256
--- request
GET /cert/
--- steps
upload named-a id=audit-7
upload named-b id=audit-8
delete id=audit-7
--- error_log eval
my $a = main::sha256('named-a');
my $b = main::sha256('named-b');
[qr/\[notice\] (?=.*palette_cert zone "console")(?=.*\baudit-7\b)(?=.*\bgeneration 2\b)(?=.*\b$a\b)/,
 qr/\[notice\] (?=.*palette_cert zone "console")(?=.*\baudit-8\b)(?=.*\bgeneration 3\b)(?=.*\b$b\b)/,
 qr/\[notice\] (?=.*palette_cert zone "console")(?=.*\baudit-7\b)(?=.*\bgeneration 4\b)/]
--- no_error_log
[error]
[alert]
PRIVATE KEY-----
