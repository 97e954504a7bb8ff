# The console page: what a browser gets from the API location, with its
# policy and headers, and that everything else there stays JSON.

use Test::Nginx::Socket 'no_plan';
use lib 't/lib';
use PaletteCert;

use Digest::SHA ();
use File::Spec ();

no_shuffle();

PaletteCert::defaults(PaletteCert::zone_config(
    'console:1m names=console.example.com,127.0.0.1,::1'));

# What a browser sends when it opens a page.
our $BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,'
               . '*/*;q=0.8';

# The page as the module must serve it: the bytes of the page's source file.
sub page {
    my $file = File::Spec->catfile(PaletteCert::project_root(),
                                   'ngx_palette_cert_module',
                                   'ngx_palette_cert_page.html');

    open my $in, '<:raw', $file or die "cannot open $file: $!\n";
    local $/;
    my $page = <$in>;
    close $in;

    return $page;
}

# Its Content-Security-Policy, with the hashes of its one inline script and
# one inline style computed here from the page itself.
sub csp {
    my $page = page();

    my ($script) = $page =~ m{<script>(.*?)</script>}s;
    my ($style) = $page =~ m{<style>(.*?)</style>}s;

    die "the page has no <script> or no <style>\n"
        if !defined $script || !defined $style;

    my $hash = sub {
        my $b64 = Digest::SHA::sha256_base64(shift);
        return $b64 . '=' x ((4 - length($b64) % 4) % 4);
    };

    return "default-src 'none'; script-src 'sha256-" . $hash->($script)
           . "'; style-src 'sha256-" . $hash->($style) . "'; "
           . "connect-src 'self'; img-src data:; form-action 'none'; "
           . "base-uri 'none'; frame-ancestors 'none'";
}

# An upload of a fixture as a JSON body.
sub json_body {
    return PaletteCert::Body::upload_json(@_);
}

run_tests();

__DATA__

=== TEST 1: a browser's GET gets the page, byte for byte, with its policy and headers
--- request
GET /cert
--- more_headers eval
"Accept: $main::BROWSER"
--- error_code: 200
--- response_headers eval
"Content-Type: text/html; charset=utf-8
Content-Security-Policy: " . main::csp() . "
Referrer-Policy: no-referrer
X-Content-Type-Options: nosniff
X-Frame-Options: DENY
Cache-Control: no-store
ETag: \"1\"
Vary: Accept
Content-Length: " . length(main::page())
--- response_body eval
main::page()
--- no_error_log
[error]



=== TEST 2: the policy allows nothing from elsewhere, no inline code but the page's own by hash, and no framing
--- request
GET /cert
--- more_headers
Accept: text/html
--- error_code: 200
--- response_headers_like
Content-Security-Policy: default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]{43}='; style-src 'sha256-[A-Za-z0-9+/]{43}='; connect-src 'self'; img-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'
Content-Type: text/html; charset=utf-8
--- raw_response_headers_unlike
(?i)unsafe-inline|unsafe-eval|unsafe-hashes|\*



=== TEST 3: the page is self-contained: no address of another host, no external script, style, image or frame
--- request
GET /cert
--- more_headers eval
"Accept: $main::BROWSER"
--- error_code: 200
--- response_body_unlike chomp
(?i)https?:|//[a-z0-9-]+\.|<(?:script|link|img|iframe|object|embed|source|audio|video)\b[^>]*\s(?:src|srcset|data)\s*=|<link\b[^>]*\shref\s*=\s*"(?!data:)|@import|(?<![a-z])url\(



=== TEST 4: the page has the three labelled fields with file pickers, Check and Save, and one inline script and style
--- request
GET /cert
--- more_headers
Accept: text/html
--- error_code: 200
--- response_body_like chomp
\A<!DOCTYPE html>\n<html lang="en">.*<meta name="viewport" content="width=device-width, initial-scale=1">.*<label[^>]* for="certificate">Certificate</label>.*<textarea id="certificate"[^>]*>.*<input type="file" id="certificate-file".*<label[^>]* for="key">Key</label>.*<textarea id="key"[^>]*>.*<input type="file" id="key-file".*<label[^>]* for="ca">Certificate authority</label>.*<textarea id="ca"[^>]*>.*<input type="file" id="ca-file".*<button type="button" id="check">Check</button>.*<button type="submit" id="save"[^>]*>Save</button>.*<script>.*"If-Match".*</script>\n</body>\n</html>\n\z



=== TEST 5: HEAD from a browser gets the page's headers and no body
--- request
HEAD /cert
--- more_headers
Accept: text/html
--- error_code: 200
--- response_headers_like
Content-Type: text/html; charset=utf-8
Content-Security-Policy: default-src 'none'; .*frame-ancestors 'none'
Referrer-Policy: no-referrer
X-Content-Type-Options: nosniff
X-Frame-Options: DENY
Cache-Control: no-store
ETag: "1"
Vary: Accept
Content-Length: [1-9][0-9]+
--- response_body



=== TEST 6: GET with Accept: application/json gets JSON, without the page's policy
--- request
GET /cert
--- more_headers
Accept: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
ETag: "1"
Cache-Control: no-store
X-Content-Type-Options: nosniff
Vary: Accept
!Content-Security-Policy
!X-Frame-Options
--- response_body_like chomp
^\{"zone":"console","generation":1,"source":"self-signed",.*\}$



=== TEST 7: GET whose Accept names JSON beside text/html gets JSON
--- request
GET /cert
--- more_headers
Accept: application/json, text/html;q=0.1
--- error_code: 200
--- response_headers
Content-Type: application/json
!Content-Security-Policy
--- response_body_like chomp
^\{"zone":"console","generation":1,"source":"self-signed",.*\}$



=== TEST 8: GET with Accept: */* gets JSON
--- request
GET /cert
--- more_headers
Accept: */*
--- error_code: 200
--- response_headers
Content-Type: application/json
Vary: Accept
!Content-Security-Policy
--- response_body_like chomp
^\{"zone":"console","generation":1,



=== TEST 9: GET without Accept gets JSON
--- request
GET /cert
--- error_code: 200
--- response_headers
Content-Type: application/json
ETag: "1"
!Content-Security-Policy
--- response_body_like chomp
^\{"zone":"console","generation":1,



=== TEST 10: HEAD with Accept: application/json answers like the JSON GET
--- request
HEAD /cert
--- more_headers
Accept: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
ETag: "1"
!Content-Security-Policy
--- response_body



=== TEST 11: uploads and errors sent with a browser's Accept still get JSON, and the page follows the generation
--- request eval
["POST /cert\n" . main::json_body('leaf-a'),
 "PUT /cert\n{\"certificate\": \"x\"}",
 "PUT /cert?dry_run=1\n" . main::json_body('leaf-b'),
 "PATCH /cert",
 "GET /cert",
 "DELETE /cert",
 "GET /cert"]
--- more_headers eval
["Accept: $main::BROWSER\nContent-Type: application/json",
 "Accept: $main::BROWSER\nContent-Type: application/json",
 "Accept: text/html\nContent-Type: application/json",
 "Accept: text/html",
 "Accept: text/html",
 "Accept: $main::BROWSER",
 "Accept: $main::BROWSER"]
--- error_code eval
[200, 400, 200, 405, 200, 200, 200]
--- response_headers_like eval
["Content-Type: application/json\nETag: \"2\"",
 "Content-Type: application/json\nETag: \"2\"",
 "Content-Type: application/json\nETag: \"2\"",
 "Content-Type: application/json\nETag: \"2\"",
 "Content-Type: text/html; charset=utf-8\nETag: \"2\"",
 "Content-Type: application/json\nETag: \"3\"",
 "Content-Type: text/html; charset=utf-8\nETag: \"3\""]
--- response_body_like eval
['^\{"zone":"console","generation":2,"source":"uploaded",',
 '^\{"error":"missing_field","field":"key",',
 '^\{"zone":"console","generation":3,"source":"uploaded",.*"dry_run":true\}$',
 '^\{"error":"method_not_allowed",',
 '^<!DOCTYPE html>',
 '^\{"zone":"console","generation":3,"source":"self-signed",',
 '^<!DOCTYPE html>']
--- steps
request 7
get generation=3 source=self-signed
--- no_error_log
[error]



=== TEST 12: a cross-site POST from a browser gets 403 cross_origin as JSON, not the page
--- request
POST /cert
certificate=x&key=y
--- more_headers eval
"Accept: $main::BROWSER
Content-Type: application/x-www-form-urlencoded
Origin: https://other.example
Sec-Fetch-Site: cross-site"
--- error_code: 403
--- response_headers
Content-Type: application/json
ETag: "1"
Cache-Control: no-store
!Content-Security-Policy
--- response_body_like chomp
^\{"error":"cross_origin","field":null,



=== TEST 13: an upload from the page's own origin with an empty "ca" is taken as one without a CA
--- request eval
["PUT /cert\n" . do {
    require JSON::PP;
    JSON::PP->new->canonical->encode({
        certificate => PaletteCert::fixture('leaf-a.chain.pem'),
        key => PaletteCert::fixture('leaf-a.key'),
        ca => '',
    });
 },
 "PUT /cert\n" . do {
    require JSON::PP;
    JSON::PP->new->canonical->encode({
        certificate => PaletteCert::fixture('leaf-a.chain.pem'),
        key => PaletteCert::fixture('leaf-a.key'),
        ca => "  \n",
    });
 }]
--- more_headers eval
["Accept: application/json\nContent-Type: application/json\nOrigin: http://localhost\nSec-Fetch-Site: same-origin\nIf-Match: \"1\"",
 "Accept: application/json\nContent-Type: application/json\nOrigin: http://localhost\nSec-Fetch-Site: same-origin\nIf-Match: \"1\""]
--- error_code eval
[422, 422]
--- response_body_like eval
['^\{"error":"chain_untrusted",',
 '^\{"error":"chain_untrusted",']
--- steps
request 2
get generation=1 source=self-signed
