
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_json(), the parser of "application/json"
 * upload bodies.  Beyond memory safety, every field it returns must lie
 * inside the body, be no longer than the JSON string it was decoded from,
 * be valid UTF-8 without NUL, and equal what a decoder written here
 * independently makes of that string.
 */


#include "ngx_palette_cert_fuzz.h"


static void ngx_palette_cert_fuzz_json_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len);
static size_t ngx_palette_cert_fuzz_json_decode(u_char *p, u_char *last,
    u_char *out, size_t *text);
static uint32_t ngx_palette_cert_fuzz_hex4(u_char *p);
static ngx_uint_t ngx_palette_cert_fuzz_utf8(u_char *p, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_palette_cert_fuzz_in_place(data, size, ngx_palette_cert_parse_json,
                                   ngx_palette_cert_fuzz_json_value);

    return 0;
}


/* a value is the decoding of the string that starts where it starts */

static void
ngx_palette_cert_fuzz_json_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len)
{
    u_char  *out;
    size_t   off, n, text;

    off = value->data - buf;

    ngx_palette_cert_fuzz_check(off > 0 && orig[off - 1] == '"');
    ngx_palette_cert_fuzz_check(ngx_strlchr(value->data,
                                            value->data + value->len, '\0')
                                == NULL);
    ngx_palette_cert_fuzz_check(ngx_palette_cert_fuzz_utf8(value->data,
                                                           value->len));

    out = ngx_palette_cert_fuzz_copy(orig + off, len - off);

    n = ngx_palette_cert_fuzz_json_decode(orig + off, orig + len, out, &text);

    /* decoded, a string is never longer than its text */

    ngx_palette_cert_fuzz_check(value->len <= text);
    ngx_palette_cert_fuzz_check(value->len == n);
    ngx_palette_cert_fuzz_check(n == 0
                                || ngx_memcmp(value->data, out, n) == 0);

    free(out);
}


/*
 * Decodes the JSON string text at p (after its opening quote) into out,
 * and sets *text to the length of that text; the parser accepted it, so
 * anything invalid here is a broken promise.
 */

static size_t
ngx_palette_cert_fuzz_json_decode(u_char *p, u_char *last, u_char *out,
    size_t *text)
{
    u_char    *o, *start, c;
    uint32_t   code, low;

    o = out;
    start = p;

    for ( ;; ) {
        ngx_palette_cert_fuzz_check(p < last);

        c = *p++;

        if (c == '"') {
            *text = p - 1 - start;
            break;
        }

        ngx_palette_cert_fuzz_check(c >= 0x20);

        if (c != '\\') {
            *o++ = c;
            continue;
        }

        ngx_palette_cert_fuzz_check(p < last);

        c = *p++;

        switch (c) {

        case '"':
        case '\\':
        case '/':
            *o++ = c;
            continue;

        case 'b':
            *o++ = 0x08;
            continue;

        case 'f':
            *o++ = 0x0c;
            continue;

        case 'n':
            *o++ = 0x0a;
            continue;

        case 'r':
            *o++ = 0x0d;
            continue;

        case 't':
            *o++ = 0x09;
            continue;

        case 'u':
            break;

        default:
            ngx_palette_cert_fuzz_failed(__FILE__, __LINE__,
                                         "an invalid escape was accepted");
        }

        ngx_palette_cert_fuzz_check(last - p >= 4);

        code = ngx_palette_cert_fuzz_hex4(p);
        p += 4;

        ngx_palette_cert_fuzz_check(code != 0);
        ngx_palette_cert_fuzz_check(code < 0xdc00 || code > 0xdfff);

        if (code >= 0xd800 && code <= 0xdbff) {
            ngx_palette_cert_fuzz_check(last - p >= 6 && p[0] == '\\'
                                        && p[1] == 'u');

            low = ngx_palette_cert_fuzz_hex4(p + 2);
            p += 6;

            ngx_palette_cert_fuzz_check(low >= 0xdc00 && low <= 0xdfff);

            code = 0x10000 + (((code & 0x3ff) << 10) | (low & 0x3ff));
        }

        if (code <= 0x7f) {
            *o++ = (u_char) code;

        } else if (code <= 0x7ff) {
            *o++ = (u_char) (0xc0 + (code >> 6));
            *o++ = (u_char) (0x80 + (code & 0x3f));

        } else if (code <= 0xffff) {
            *o++ = (u_char) (0xe0 + (code >> 12));
            *o++ = (u_char) (0x80 + ((code >> 6) & 0x3f));
            *o++ = (u_char) (0x80 + (code & 0x3f));

        } else {
            *o++ = (u_char) (0xf0 + (code >> 18));
            *o++ = (u_char) (0x80 + ((code >> 12) & 0x3f));
            *o++ = (u_char) (0x80 + ((code >> 6) & 0x3f));
            *o++ = (u_char) (0x80 + (code & 0x3f));
        }
    }

    return o - out;
}


/* four hex digits; anything else is an escape the parser should refuse */

static uint32_t
ngx_palette_cert_fuzz_hex4(u_char *p)
{
    u_char      c;
    uint32_t    code;
    ngx_uint_t  i;

    code = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            code = code * 16 + (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            code = code * 16 + (c - 'a' + 10);

        } else if (c >= 'A' && c <= 'F') {
            code = code * 16 + (c - 'A' + 10);

        } else {
            ngx_palette_cert_fuzz_failed(__FILE__, __LINE__,
                                         "an invalid \\u escape was "
                                         "accepted");
        }
    }

    return code;
}


/* well-formed UTF-8: shortest forms, no surrogates, nothing past U+10FFFF */

static ngx_uint_t
ngx_palette_cert_fuzz_utf8(u_char *p, size_t len)
{
    u_char    *last;
    size_t     n, i;
    uint32_t   c, min;

    last = p + len;

    while (p < last) {
        c = *p++;

        if (c < 0x80) {
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 1;
            c &= 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            c &= 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            c &= 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if ((size_t) (last - p) < n) {
            return 0;
        }

        for (i = 0; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (p[i] & 0x3f);
        }

        p += n;

        if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) {
            return 0;
        }
    }

    return 1;
}
