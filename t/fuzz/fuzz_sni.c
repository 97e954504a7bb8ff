
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_sni(), the parser of a client hello's
 * server_name extension (RFC 6066, section 3); the input is the
 * extension's data.  The host goes to a heap buffer of exactly
 * NGX_PALETTE_CERT_HOST_LEN bytes, so that AddressSanitizer reports a
 * write past it.  Beyond memory safety: a host found is 1 to 253 bytes,
 * without uppercase or a trailing dot, and the result is what a reading
 * of the extension written here independently finds: malformed, no
 * usable host, or the first host_name, lowercase, without its one
 * trailing dot.
 */


#include "ngx_palette_cert_fuzz.h"


static ngx_int_t ngx_palette_cert_fuzz_expect(const u_char *p, size_t len,
    const u_char **name, size_t *name_len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char        *buf, *host, c;
    size_t         host_len, name_len, i;
    ngx_int_t      rc, expect;
    const u_char  *name;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    host = malloc(NGX_PALETTE_CERT_HOST_LEN);
    if (host == NULL) {
        ngx_palette_cert_fuzz_failed(__FILE__, __LINE__, "malloc()");
    }

    host_len = 0;

    rc = ngx_palette_cert_parse_sni(buf, size, host, &host_len);

    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_DECLINED
                                || rc == NGX_ERROR);

    if (rc == NGX_OK) {
        ngx_palette_cert_fuzz_check(host_len >= 1
                                    && host_len <= NGX_PALETTE_CERT_HOST_LEN);
        ngx_palette_cert_fuzz_check(host[host_len - 1] != '.');

        for (i = 0; i < host_len; i++) {
            ngx_palette_cert_fuzz_check(host[i] < 'A' || host[i] > 'Z');
        }
    }

    expect = ngx_palette_cert_fuzz_expect(buf, size, &name, &name_len);

    ngx_palette_cert_fuzz_check(rc == expect);

    if (rc == NGX_OK) {
        ngx_palette_cert_fuzz_check(host_len == name_len);

        for (i = 0; i < name_len; i++) {
            c = name[i];

            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }

            ngx_palette_cert_fuzz_check(host[i] == c);
        }
    }

    free(host);
    free(buf);

    return 0;
}


/*
 * The extension is a list of 2-byte length, of entries of a 1-byte type
 * and a 2-byte length; the first of type 0, host_name, counts.  Its name
 * is used if, without one trailing dot, it is 1 to 253 printable ASCII
 * bytes other than "/", and does not end in a dot: an empty label.
 */

static ngx_int_t
ngx_palette_cert_fuzz_expect(const u_char *p, size_t len,
    const u_char **name, size_t *name_len)
{
    size_t         off, n, i;
    const u_char  *s;

    if (len < 2 || (size_t) (p[0] * 256 + p[1]) + 2 != len) {
        return NGX_ERROR;
    }

    s = NULL;
    n = 0;

    for (off = 2; off < len; off += n) {

        if (len - off < 3) {
            return NGX_ERROR;
        }

        n = p[off + 1] * 256 + p[off + 2];

        if (n > len - off - 3) {
            return NGX_ERROR;
        }

        if (p[off] == 0) {
            s = p + off + 3;
            break;
        }

        off += 3;
    }

    if (s == NULL) {
        return NGX_DECLINED;
    }

    if (n > 0 && s[n - 1] == '.') {
        n--;
    }

    if (n == 0 || n > NGX_PALETTE_CERT_HOST_LEN || s[n - 1] == '.') {
        return NGX_DECLINED;
    }

    for (i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '/') {
            return NGX_DECLINED;
        }
    }

    *name = s;
    *name_len = n;

    return NGX_OK;
}
