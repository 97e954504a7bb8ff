
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_action(), the parser of a certificate's
 * query string ("history", "rollback=GEN", "activate_at=TIME", "staged",
 * "csr"), and ngx_palette_cert_parse_rfc3339(), which it asks.  Beyond
 * memory safety: the query is not written; an error is set, and not
 * empty, if and only if the parser fails; and the result is what a
 * reading of the query written here independently finds: no action, or
 * the one named, however often, with its first value counting (a
 * generation from 1 that the parser can count, a time whose %XX decoding
 * fits NGX_PALETTE_CERT_TIME_LEN bytes), or an error when two different
 * actions are named.  The whole input is also given to
 * ngx_palette_cert_parse_rfc3339() as a time: it must agree with a parser
 * written here on timegm(), give no time before 1970, and the time it
 * gives, written back with gmtime_r() at the input's offset, must be the
 * input's date and time of day.
 */


#include "ngx_palette_cert_fuzz.h"


/*
 * The parser takes another digit of a generation only while the number so
 * far is below NGX_MAX_INT_T_VALUE / 10: the generations it counts are
 * those below this.
 */

#define NGX_PALETTE_CERT_FUZZ_GEN_LIMIT  (NGX_MAX_INT_T_VALUE / 10 * 10)


static ngx_int_t ngx_palette_cert_fuzz_expect(u_char *p, size_t len,
    ngx_palette_cert_action_t *a);
static ngx_int_t ngx_palette_cert_fuzz_generation(u_char *p, size_t len,
    ngx_uint_t *gen);
static ngx_int_t ngx_palette_cert_fuzz_activate_at(u_char *p, size_t len,
    time_t *t);
static void ngx_palette_cert_fuzz_time(u_char *p, size_t len);
static time_t ngx_palette_cert_fuzz_rfc3339(u_char *p, size_t len,
    time_t *offset);
static ngx_int_t ngx_palette_cert_fuzz_number(u_char *p, size_t n);
static ngx_int_t ngx_palette_cert_fuzz_hex(u_char c);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                     *buf;
    ngx_int_t                   rc, expect;
    ngx_palette_cert_action_t   a, e;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    ngx_memset(&a, 0xa5, sizeof(ngx_palette_cert_action_t));

    rc = ngx_palette_cert_parse_action(buf, size, &a);

    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_ERROR);
    ngx_palette_cert_fuzz_check(size == 0 || ngx_memcmp(buf, data, size) == 0);

    expect = ngx_palette_cert_fuzz_expect(buf, size, &e);

    ngx_palette_cert_fuzz_check(rc == expect);

    if (rc != NGX_OK) {
        ngx_palette_cert_fuzz_check(a.error != NULL);
        ngx_palette_cert_fuzz_check(a.error[0] != '\0');

    } else {
        ngx_palette_cert_fuzz_check(a.error == NULL);
        ngx_palette_cert_fuzz_check(a.action <= NGX_PALETTE_CERT_ACT_CSR);
        ngx_palette_cert_fuzz_check(a.action == e.action);
        ngx_palette_cert_fuzz_check(a.generation == e.generation);
        ngx_palette_cert_fuzz_check(a.time == e.time);

        /* a rollback names a generation, no other action does */

        ngx_palette_cert_fuzz_check(
            (a.action == NGX_PALETTE_CERT_ACT_ROLLBACK) == (a.generation > 0));

        ngx_palette_cert_fuzz_check(
            a.action == NGX_PALETTE_CERT_ACT_ACTIVATE || a.time == 0);
        ngx_palette_cert_fuzz_check(a.time >= 0);
    }

    ngx_palette_cert_fuzz_time(buf, size);

    free(buf);

    return 0;
}


/*
 * What the query should give, found otherwise than the parser does: the
 * first argument of each action's name is collected in one pass, then
 * judged: none is no action, two different ones are an error, and one is
 * that action with the value of its first argument.
 */

static ngx_int_t
ngx_palette_cert_fuzz_expect(u_char *p, size_t len,
    ngx_palette_cert_action_t *a)
{
    u_char      *pos, *value[NGX_PALETTE_CERT_ACT_CSR + 1];
    size_t       vlen[NGX_PALETTE_CERT_ACT_CSR + 1];
    ngx_str_t    name, v;
    ngx_uint_t   k, first, distinct;

    static ngx_str_t  names[] = {
        ngx_null_string,
        ngx_string("history"),
        ngx_string("rollback"),
        ngx_string("activate_at"),
        ngx_string("staged"),
        ngx_string("csr")
    };

    a->action = NGX_PALETTE_CERT_ACT_NONE;
    a->generation = 0;
    a->time = 0;
    a->error = NULL;

    ngx_memzero(value, sizeof(value));
    ngx_memzero(vlen, sizeof(vlen));

    first = NGX_PALETTE_CERT_ACT_NONE;
    distinct = 0;
    pos = p;

    while (ngx_palette_cert_fuzz_arg(&pos, p + len, &name, &v)) {

        for (k = 1; k <= NGX_PALETTE_CERT_ACT_CSR; k++) {
            if (name.len != names[k].len
                || ngx_memcmp(name.data, names[k].data, name.len) != 0
                || value[k] != NULL)
            {
                continue;
            }

            value[k] = v.data;
            vlen[k] = v.len;

            if (first == NGX_PALETTE_CERT_ACT_NONE) {
                first = k;
            }

            distinct++;
        }
    }

    if (distinct == 0) {
        return NGX_OK;
    }

    if (distinct > 1) {
        return NGX_ERROR;
    }

    a->action = first;

    switch (first) {

    case NGX_PALETTE_CERT_ACT_ROLLBACK:
        return ngx_palette_cert_fuzz_generation(value[first], vlen[first],
                                                &a->generation);

    case NGX_PALETTE_CERT_ACT_ACTIVATE:
        return ngx_palette_cert_fuzz_activate_at(value[first], vlen[first],
                                                 &a->time);

    default:
        return NGX_OK;
    }
}


/* rollback's value: digits, a number from 1 below the parser's limit */

static ngx_int_t
ngx_palette_cert_fuzz_generation(u_char *p, size_t len, ngx_uint_t *gen)
{
    size_t      i;
    ngx_uint_t  v;

    if (len == 0) {
        return NGX_ERROR;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_ERROR;
        }

        /* past the limit, any number is as wrong */

        if (v > NGX_PALETTE_CERT_FUZZ_GEN_LIMIT / 10) {
            v = NGX_PALETTE_CERT_FUZZ_GEN_LIMIT;

        } else {
            v = ngx_min(v * 10 + (p[i] - '0'),
                        (ngx_uint_t) NGX_PALETTE_CERT_FUZZ_GEN_LIMIT);
        }
    }

    if (v == 0 || v >= NGX_PALETTE_CERT_FUZZ_GEN_LIMIT) {
        return NGX_ERROR;
    }

    *gen = v;

    return NGX_OK;
}


/*
 * activate_at's value: %XX decoded ("+" stays a plus), at most
 * NGX_PALETTE_CERT_TIME_LEN bytes decoded, then an RFC 3339 time.
 */

static ngx_int_t
ngx_palette_cert_fuzz_activate_at(u_char *p, size_t len, time_t *t)
{
    u_char    *out;
    size_t     i, n;
    time_t     offset;
    ngx_int_t  rc, hi, lo;

    out = ngx_palette_cert_fuzz_copy(p, len);

    rc = NGX_OK;
    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] != '%') {
            out[n++] = p[i];
            continue;
        }

        hi = (len - i < 3) ? -1 : ngx_palette_cert_fuzz_hex(p[i + 1]);
        lo = (len - i < 3) ? -1 : ngx_palette_cert_fuzz_hex(p[i + 2]);

        if (hi == -1 || lo == -1) {
            rc = NGX_ERROR;
            break;
        }

        out[n++] = (u_char) (hi * 16 + lo);
        i += 2;
    }

    if (rc == NGX_OK && n > NGX_PALETTE_CERT_TIME_LEN) {
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK) {
        *t = ngx_palette_cert_fuzz_rfc3339(out, n, &offset);

        if (*t == NGX_ERROR) {
            rc = NGX_ERROR;
        }
    }

    free(out);

    return rc;
}


/*
 * ngx_palette_cert_parse_rfc3339() on the input as a time: the same as
 * the parser here, never before 1970, and, written back at the input's
 * offset, the input's date and time of day (fractions of a second are
 * dropped; "t" is "T").
 */

static void
ngx_palette_cert_fuzz_time(u_char *p, size_t len)
{
    u_char     text[sizeof("YYYY-MM-DDTHH:MM:SS")];
    time_t     t, expect, offset, local;
    struct tm  tm;

    t = ngx_palette_cert_parse_rfc3339(p, len);
    expect = ngx_palette_cert_fuzz_rfc3339(p, len, &offset);

    ngx_palette_cert_fuzz_check(t == expect);

    if (t == NGX_ERROR) {
        return;
    }

    ngx_palette_cert_fuzz_check(t >= 0);

    local = t + offset;

    ngx_palette_cert_fuzz_check(gmtime_r(&local, &tm) != NULL);
    ngx_palette_cert_fuzz_check(strftime((char *) text, sizeof(text),
                                         "%Y-%m-%dT%H:%M:%S", &tm)
                                == sizeof(text) - 1);

    ngx_palette_cert_fuzz_check(ngx_memcmp(text, p, 10) == 0);
    ngx_palette_cert_fuzz_check(p[10] == 'T' || p[10] == 't');
    ngx_palette_cert_fuzz_check(ngx_memcmp(text + 11, p + 11, 8) == 0);
}


/*
 * An RFC 3339 date-time as the module takes it, "YYYY-MM-DDTHH:MM:SS",
 * a fraction, "Z" or "+HH:MM" / "-HH:MM", read by the template below and
 * counted by timegm(): a date that timegm() moves (February 30) is not
 * one.  *offset is the input's offset east of UTC, in seconds.
 */

static time_t
ngx_palette_cert_fuzz_rfc3339(u_char *p, size_t len, time_t *offset)
{
    u_char     *last, *q, *frac;
    time_t      t;
    ngx_int_t   y, mo, d, h, mi, s, oh, om;
    ngx_uint_t  i;
    struct tm   tm, back;

    /* "0" is any digit, "T" either case */

    static u_char  form[] = "0000-00-00T00:00:00";

    last = p + len;

    if (len < sizeof(form) - 1) {
        return NGX_ERROR;
    }

    for (i = 0; i < sizeof(form) - 1; i++) {
        if (form[i] == '0') {
            if (ngx_palette_cert_fuzz_number(p + i, 1) == -1) {
                return NGX_ERROR;
            }

        } else if (p[i] != form[i] && !(form[i] == 'T' && p[i] == 't')) {
            return NGX_ERROR;
        }
    }

    y = ngx_palette_cert_fuzz_number(p, 4);
    mo = ngx_palette_cert_fuzz_number(p + 5, 2);
    d = ngx_palette_cert_fuzz_number(p + 8, 2);
    h = ngx_palette_cert_fuzz_number(p + 11, 2);
    mi = ngx_palette_cert_fuzz_number(p + 14, 2);
    s = ngx_palette_cert_fuzz_number(p + 17, 2);

    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || s > 59)
    {
        return NGX_ERROR;
    }

    q = p + sizeof(form) - 1;

    if (q < last && *q == '.') {
        frac = ++q;

        while (q < last && *q >= '0' && *q <= '9') {
            q++;
        }

        if (q == frac) {
            return NGX_ERROR;
        }
    }

    oh = (last - q == 6) ? ngx_palette_cert_fuzz_number(q + 1, 2) : -1;
    om = (last - q == 6) ? ngx_palette_cert_fuzz_number(q + 4, 2) : -1;

    if (last - q == 1 && (*q == 'Z' || *q == 'z')) {
        *offset = 0;

    } else if (last - q == 6 && (*q == '+' || *q == '-') && q[3] == ':'
               && oh >= 0 && oh <= 23 && om >= 0 && om <= 59)
    {
        *offset = (oh * 3600 + om * 60) * (*q == '-' ? -1 : 1);

    } else {
        return NGX_ERROR;
    }

    ngx_memzero(&tm, sizeof(struct tm));

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;

    t = timegm(&tm);

    if (gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900
        || back.tm_mon != mo - 1 || back.tm_mday != d)
    {
        return NGX_ERROR;
    }

    t -= *offset;

    return (t < 0) ? NGX_ERROR : t;
}


/* the value of n decimal digits, or -1 if they are not all digits */

static ngx_int_t
ngx_palette_cert_fuzz_number(u_char *p, size_t n)
{
    size_t     i;
    ngx_int_t  v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    return v;
}


/* a hex digit's value, or -1 */

static ngx_int_t
ngx_palette_cert_fuzz_hex(u_char c)
{
    u_char         *h;
    static u_char   hex[] = "0123456789abcdef" "0123456789ABCDEF";

    h = ngx_strlchr(hex, hex + 32, c);

    return h ? (h - hex) % 16 : -1;
}
