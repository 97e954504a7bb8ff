/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_wants_openmetrics(), the reading of an Accept
 * header value that chooses OpenMetrics over Prometheus's text format.
 * Beyond memory safety: the value is not written, the answer is 0 or 1,
 * and it is what a reading of the value written here independently finds:
 * 1 if a media range, the value split at commas and without leading white
 * space, is application/openmetrics-text in any case, followed by its
 * end, ";" or white space, and no parameter after a ";" is a q of zero:
 * "0", "0.", "0.0", "0.00" or "0.000", the zeros RFC 9110's qvalue
 * allows, up to white space.  Neither reading knows quoted strings.
 */


#include "ngx_palette_cert_fuzz.h"


static ngx_uint_t ngx_palette_cert_fuzz_expect(u_char *p, size_t len);
static ngx_uint_t ngx_palette_cert_fuzz_range(u_char *p, size_t len);
static ngx_uint_t ngx_palette_cert_fuzz_q_zero(u_char *p, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *buf;
    ngx_uint_t   rc;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    rc = ngx_palette_cert_wants_openmetrics(buf, size);

    ngx_palette_cert_fuzz_check(rc == 0 || rc == 1);
    ngx_palette_cert_fuzz_check(size == 0 || ngx_memcmp(buf, data, size) == 0);

    ngx_palette_cert_fuzz_check(rc == ngx_palette_cert_fuzz_expect(buf, size));

    free(buf);

    return 0;
}


/* 1 if any media range between commas asks for OpenMetrics */

static ngx_uint_t
ngx_palette_cert_fuzz_expect(u_char *p, size_t len)
{
    size_t  i, start;

    start = 0;

    for (i = 0; i <= len; i++) {

        if (i < len && p[i] != ',') {
            continue;
        }

        if (ngx_palette_cert_fuzz_range(p + start, i - start)) {
            return 1;
        }

        start = i + 1;
    }

    return 0;
}


static ngx_uint_t
ngx_palette_cert_fuzz_range(u_char *p, size_t len)
{
    u_char         c;
    size_t         i, n, next;
    static u_char  type[] = "application/openmetrics-text";

    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }

    n = sizeof(type) - 1;

    if (len < n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        }

        if (c != type[i]) {
            return 0;
        }
    }

    if (len > n && p[n] != ';' && p[n] != ' ' && p[n] != '\t') {
        return 0;
    }

    /* each parameter runs from a ";" to the next or to the range's end */

    for (i = n; i < len && p[i] != ';'; i++) {
        /* void */
    }

    while (i < len) {

        for (next = i + 1; next < len && p[next] != ';'; next++) {
            /* void */
        }

        if (ngx_palette_cert_fuzz_q_zero(p + i + 1, next - i - 1)) {
            return 0;
        }

        i = next;
    }

    return 1;
}


static ngx_uint_t
ngx_palette_cert_fuzz_q_zero(u_char *p, size_t len)
{
    size_t         n;
    ngx_uint_t     i;
    static char   *zero[] = { "0", "0.", "0.0", "0.00", "0.000" };

    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }

    if (len < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') {
        return 0;
    }

    p += 2;
    len -= 2;

    for (n = 0; n < len && p[n] != ' ' && p[n] != '\t'; n++) {
        /* void */
    }

    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (n == ngx_strlen(zero[i]) && ngx_memcmp(p, zero[i], n) == 0) {
            return 1;
        }
    }

    return 0;
}
