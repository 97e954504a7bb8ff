
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Helpers linked into every fuzz harness, and stand-ins for the few nginx
 * globals that src/core/ngx_string.c refers to.  The parsers under test
 * allocate nothing, so the stand-ins are never called: if one is, a
 * parser broke that promise, and the harness aborts.
 */


#include "ngx_palette_cert_fuzz.h"


volatile ngx_cycle_t  *ngx_cycle;


void *
ngx_alloc(size_t size, ngx_log_t *log)
{
    ngx_palette_cert_fuzz_failed(__FILE__, __LINE__,
                                 "a parser called ngx_alloc()");
    return NULL;
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    ngx_palette_cert_fuzz_failed(__FILE__, __LINE__,
                                 "a parser called ngx_pnalloc()");
    return NULL;
}


void
ngx_palette_cert_fuzz_failed(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: broken promise: %s\n", file, line, expr);
    abort();
}


/* no NUL terminator: a parser reading one byte too far hits the redzone */

u_char *
ngx_palette_cert_fuzz_copy(const uint8_t *data, size_t size)
{
    u_char  *buf;

    buf = malloc(size);
    if (buf == NULL) {
        ngx_palette_cert_fuzz_failed(__FILE__, __LINE__, "malloc()");
    }

    if (size) {
        ngx_memcpy(buf, data, size);
    }

    return buf;
}


/* a string with no data (a form field without "=") is inside anything */

ngx_uint_t
ngx_palette_cert_fuzz_inside(ngx_str_t *s, u_char *buf, size_t len)
{
    uintptr_t  start, end, data;

    if (s->data == NULL) {
        return s->len == 0;
    }

    start = (uintptr_t) buf;
    end = start + len;
    data = (uintptr_t) s->data;

    return data >= start && data <= end && s->len <= end - data;
}


/*
 * A certificate id, [A-Za-z0-9][A-Za-z0-9._-]{0,63}, checked apart from
 * ngx_palette_cert_id_valid(): by lookup in the list of allowed bytes.
 */

ngx_uint_t
ngx_palette_cert_fuzz_id(u_char *p, size_t len)
{
    size_t         i, n;
    static u_char  allowed[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789" "._-";

    if (len < 1 || len > NGX_PALETTE_CERT_ID_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {

        /* the first byte is a letter or a digit: not the last three */

        n = (i == 0) ? sizeof(allowed) - 1 - 3 : sizeof(allowed) - 1;

        if (ngx_strlchr(allowed, allowed + n, p[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* what every body parser promises about the fields it returns */

void
ngx_palette_cert_fuzz_fields(ngx_int_t rc, ngx_palette_cert_fields_t *f,
    u_char *buf, size_t len)
{
    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_ERROR);

    if (rc != NGX_OK) {
        ngx_palette_cert_fuzz_check(f->error != NULL);
        ngx_palette_cert_fuzz_check(f->error[0] != '\0');
        return;
    }

    /* the caller zeroes the fields: one not found stays empty */

    if (f->has_certificate) {
        ngx_palette_cert_fuzz_check(
            ngx_palette_cert_fuzz_inside(&f->certificate, buf, len));

    } else {
        ngx_palette_cert_fuzz_check(f->certificate.len == 0
                                    && f->certificate.data == NULL);
    }

    if (f->has_key) {
        ngx_palette_cert_fuzz_check(
            ngx_palette_cert_fuzz_inside(&f->key, buf, len));

    } else {
        ngx_palette_cert_fuzz_check(f->key.len == 0 && f->key.data == NULL);
    }

    if (f->has_ca) {
        ngx_palette_cert_fuzz_check(
            ngx_palette_cert_fuzz_inside(&f->ca, buf, len));

    } else {
        ngx_palette_cert_fuzz_check(f->ca.len == 0 && f->ca.data == NULL);
    }

    ngx_palette_cert_fuzz_check(!(f->has_ca && f->ca_null));
}


/*
 * One run of a parser that decodes the body in place: parse a copy, check
 * the promises, then check each field found against the original bytes.
 */

void
ngx_palette_cert_fuzz_in_place(const uint8_t *data, size_t size,
    ngx_palette_cert_fuzz_parse_pt parse,
    ngx_palette_cert_fuzz_value_pt value)
{
    u_char                     *buf;
    ngx_int_t                   rc;
    ngx_palette_cert_fields_t   f;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

    rc = parse(buf, size, &f);

    ngx_palette_cert_fuzz_fields(rc, &f, buf, size);

    if (rc == NGX_OK) {
        if (f.has_certificate) {
            value(&f.certificate, buf, (u_char *) data, size);
        }

        if (f.has_key) {
            value(&f.key, buf, (u_char *) data, size);
        }

        if (f.has_ca) {
            value(&f.ca, buf, (u_char *) data, size);
        }
    }

    free(buf);
}
