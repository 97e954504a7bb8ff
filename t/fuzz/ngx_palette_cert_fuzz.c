
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


static ngx_int_t ngx_palette_cert_fuzz_hex4(u_char *p, uint32_t *code);
static ngx_uint_t ngx_palette_cert_fuzz_utf8(u_char *p, size_t len);


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


/*
 * The next argument of a query string that ends at last, from *pos: its
 * name, and its value after the first "=" (none: empty, at the end of the
 * argument).  *pos moves past the argument and its "&", to NULL after the
 * last one; returns 0 when *pos is NULL.  "a&&b" has three arguments, ""
 * one, empty.
 */

ngx_uint_t
ngx_palette_cert_fuzz_arg(u_char **pos, u_char *last, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char  *arg, *end, *eq;

    arg = *pos;

    if (arg == NULL) {
        return 0;
    }

    end = ngx_strlchr(arg, last, '&');

    if (end == NULL) {
        end = last;
        *pos = NULL;

    } else {
        *pos = end + 1;
    }

    eq = ngx_strlchr(arg, end, '=');

    name->data = arg;
    name->len = (eq ? eq : end) - arg;

    value->data = eq ? eq + 1 : end;
    value->len = end - value->data;

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


/*
 * A JSON value the parsers decoded in place is the decoding of the string
 * that starts where it starts, in the body as it was.
 */

void
ngx_palette_cert_fuzz_json_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len)
{
    u_char  *out, *end;
    size_t   off, n, text;

    off = value->data - buf;

    ngx_palette_cert_fuzz_check(off > 0 && orig[off - 1] == '"');
    ngx_palette_cert_fuzz_check(ngx_strlchr(value->data,
                                            value->data + value->len, '\0')
                                == NULL);
    ngx_palette_cert_fuzz_check(ngx_palette_cert_fuzz_utf8(value->data,
                                                           value->len));

    out = ngx_palette_cert_fuzz_copy(orig + off, len - off);

    /* the parser accepted the string: so must the decoder here */

    end = ngx_palette_cert_fuzz_json_string(orig + off, orig + len, out, &n);

    ngx_palette_cert_fuzz_check(end != NULL);

    /* decoded, a string is never longer than its text */

    text = end - 1 - (orig + off);

    ngx_palette_cert_fuzz_check(value->len <= text);
    ngx_palette_cert_fuzz_check(value->len == n);
    ngx_palette_cert_fuzz_check(n == 0
                                || ngx_memcmp(value->data, out, n) == 0);

    free(out);
}


/*
 * Decodes the JSON string text at p (after its opening quote) into out,
 * which has room for last - p bytes, and sets *n to the length decoded.
 * Returns the end of the text, past its closing quote, or NULL when the
 * parsers must refuse it: a raw control character, an invalid escape,
 * \u0000, a surrogate not in a pair, or UTF-8 that is not well-formed.
 */

u_char *
ngx_palette_cert_fuzz_json_string(u_char *p, u_char *last, u_char *out,
    size_t *n)
{
    u_char    *o, c;
    uint32_t   code, low;

    o = out;

    for ( ;; ) {
        if (p == last) {
            return NULL;
        }

        c = *p++;

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            return NULL;
        }

        if (c != '\\') {
            *o++ = c;
            continue;
        }

        if (p == last) {
            return NULL;
        }

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
            return NULL;
        }

        if (last - p < 4 || ngx_palette_cert_fuzz_hex4(p, &code) != NGX_OK) {
            return NULL;
        }

        p += 4;

        if (code == 0 || (code >= 0xdc00 && code <= 0xdfff)) {
            return NULL;
        }

        if (code >= 0xd800 && code <= 0xdbff) {
            if (last - p < 6 || p[0] != '\\' || p[1] != 'u'
                || ngx_palette_cert_fuzz_hex4(p + 2, &low) != NGX_OK
                || low < 0xdc00 || low > 0xdfff)
            {
                return NULL;
            }

            p += 6;

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

    /*
     * Bytes from 0x80 are copied as they are; an escape's UTF-8 never
     * starts with a continuation byte, so they are well-formed in the
     * text if and only if they are in the decoding.
     */

    if (!ngx_palette_cert_fuzz_utf8(out, o - out)) {
        return NULL;
    }

    *n = o - out;

    return p;
}


/* four hex digits, or NGX_ERROR */

static ngx_int_t
ngx_palette_cert_fuzz_hex4(u_char *p, uint32_t *code)
{
    u_char      c;
    ngx_uint_t  i;

    *code = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            *code = *code * 16 + (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            *code = *code * 16 + (c - 'a' + 10);

        } else if (c >= 'A' && c <= 'F') {
            *code = *code * 16 + (c - 'A' + 10);

        } else {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
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
