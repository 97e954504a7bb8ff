
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_urlencoded(), the parser of
 * "application/x-www-form-urlencoded" upload bodies (the console page's
 * form).  Beyond memory safety, every field it returns must lie inside
 * the body, be no longer than the text after its "=", and equal what a
 * decoder written here independently makes of that text.
 */


#include "ngx_palette_cert_fuzz.h"


static void ngx_palette_cert_fuzz_form_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len);
static ngx_int_t ngx_palette_cert_fuzz_hex(u_char c);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_palette_cert_fuzz_in_place(data, size, ngx_palette_cert_parse_urlencoded,
                                   ngx_palette_cert_fuzz_form_value);

    return 0;
}


/* a value is the decoding of the text from its "=" to the next "&" */

static void
ngx_palette_cert_fuzz_form_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len)
{
    u_char     *p, *last, *out, *o;
    size_t      off;
    ngx_int_t   hi, lo;

    if (value->data == NULL) {
        /* "name" without "=" */
        return;
    }

    off = value->data - buf;

    ngx_palette_cert_fuzz_check(off > 0 && orig[off - 1] == '=');

    p = orig + off;
    last = ngx_strlchr(p, orig + len, '&');

    if (last == NULL) {
        last = orig + len;
    }

    ngx_palette_cert_fuzz_check(value->len <= (size_t) (last - p));

    out = ngx_palette_cert_fuzz_copy(p, last - p);
    o = out;

    while (p < last) {

        if (*p == '+') {
            *o++ = ' ';
            p++;
            continue;
        }

        if (*p != '%') {
            *o++ = *p++;
            continue;
        }

        ngx_palette_cert_fuzz_check(last - p >= 3);

        hi = ngx_palette_cert_fuzz_hex(p[1]);
        lo = ngx_palette_cert_fuzz_hex(p[2]);

        ngx_palette_cert_fuzz_check(hi >= 0 && lo >= 0);

        *o++ = (u_char) (hi * 16 + lo);
        p += 3;
    }

    ngx_palette_cert_fuzz_check(value->len == (size_t) (o - out));
    ngx_palette_cert_fuzz_check(value->len == 0
                                || ngx_memcmp(value->data, out, value->len)
                                   == 0);

    free(out);
}


static ngx_int_t
ngx_palette_cert_fuzz_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
