
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_multipart_boundary() and
 * ngx_palette_cert_parse_multipart(), the parsers of "multipart/form-data"
 * upload bodies.  The input's first line is the Content-Type header value,
 * the rest is the body; each goes to a buffer of its own.  Beyond memory
 * safety, the boundary must lie inside the header value and be 1 to 70
 * bytes long, and every field returned must lie inside the body, be the
 * part's bytes as sent (nothing is decoded in a part) and be followed by
 * the delimiter "\r\n--BOUNDARY" that it does not itself contain.
 */


#include "ngx_palette_cert_fuzz.h"


static void ngx_palette_cert_fuzz_part(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len, ngx_str_t *boundary);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *ct, *buf, *orig, *nl;
    size_t                      ctlen, len;
    ngx_int_t                   rc;
    ngx_str_t                   type, boundary;
    ngx_palette_cert_fields_t   f;

    nl = ngx_strlchr((u_char *) data, (u_char *) data + size, '\n');

    if (nl == NULL) {
        ctlen = size;
        orig = (u_char *) data + size;
        len = 0;

    } else {
        ctlen = nl - data;
        orig = nl + 1;
        len = size - ctlen - 1;
    }

    ct = ngx_palette_cert_fuzz_copy(data, ctlen);

    type.data = ct;
    type.len = ctlen;

    ngx_str_null(&boundary);

    if (ngx_palette_cert_multipart_boundary(&type, &boundary) != NGX_OK) {
        free(ct);
        return 0;
    }

    ngx_palette_cert_fuzz_check(boundary.data != NULL);
    ngx_palette_cert_fuzz_check(
        ngx_palette_cert_fuzz_inside(&boundary, ct, ctlen));
    ngx_palette_cert_fuzz_check(boundary.len >= 1 && boundary.len <= 70);

    buf = ngx_palette_cert_fuzz_copy(orig, len);

    ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

    rc = ngx_palette_cert_parse_multipart(buf, len, &boundary, &f);

    ngx_palette_cert_fuzz_fields(rc, &f, buf, len);

    if (rc == NGX_OK) {
        if (f.has_certificate) {
            ngx_palette_cert_fuzz_part(&f.certificate, buf, orig, len,
                                       &boundary);
        }

        if (f.has_key) {
            ngx_palette_cert_fuzz_part(&f.key, buf, orig, len, &boundary);
        }

        if (f.has_ca) {
            ngx_palette_cert_fuzz_part(&f.ca, buf, orig, len, &boundary);
        }
    }

    free(buf);
    free(ct);

    return 0;
}


static void
ngx_palette_cert_fuzz_part(ngx_str_t *value, u_char *buf, u_char *orig,
    size_t len, ngx_str_t *boundary)
{
    u_char  *p, *end;
    size_t   off;

    ngx_palette_cert_fuzz_check(value->data != NULL);

    off = value->data - buf;
    p = orig + off;
    end = p + value->len;

    ngx_palette_cert_fuzz_check(value->len == 0
                                || ngx_memcmp(value->data, p, value->len)
                                   == 0);

    ngx_palette_cert_fuzz_check((size_t) (orig + len - end)
                                >= 4 + boundary->len);
    ngx_palette_cert_fuzz_check(ngx_memcmp(end, "\r\n--", 4) == 0);
    ngx_palette_cert_fuzz_check(ngx_memcmp(end + 4, boundary->data,
                                           boundary->len)
                                == 0);

    /* the part ends at the first delimiter */

    for ( /* void */ ; p + 4 + boundary->len <= end; p++) {
        ngx_palette_cert_fuzz_check(
            ngx_memcmp(p, "\r\n--", 4) != 0
            || ngx_memcmp(p + 4, boundary->data, boundary->len) != 0);
    }
}
