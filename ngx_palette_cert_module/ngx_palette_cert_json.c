
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * JSON output into one growing buffer from the request pool.  A failed
 * allocation is remembered and reported once, by the caller, at the end.
 */


#include "ngx_palette_cert.h"


static ngx_int_t ngx_palette_cert_json_reserve(ngx_palette_cert_json_t *j,
    size_t len);


ngx_int_t
ngx_palette_cert_json_init(ngx_palette_cert_json_t *j, ngx_pool_t *pool,
    size_t size)
{
    j->pool = pool;
    j->failed = 0;

    j->start = ngx_pnalloc(pool, size);
    if (j->start == NULL) {
        return NGX_ERROR;
    }

    j->pos = j->start;
    j->end = j->start + size;

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_json_reserve(ngx_palette_cert_json_t *j, size_t len)
{
    u_char  *p;
    size_t   size;

    if (j->failed) {
        return NGX_ERROR;
    }

    if ((size_t) (j->end - j->pos) >= len) {
        return NGX_OK;
    }

    size = ngx_max((size_t) (j->end - j->start) * 2,
                   (size_t) (j->pos - j->start) + len);

    p = ngx_pnalloc(j->pool, size);
    if (p == NULL) {
        j->failed = 1;
        return NGX_ERROR;
    }

    j->pos = ngx_cpymem(p, j->start, j->pos - j->start);
    j->start = p;
    j->end = p + size;

    return NGX_OK;
}


void
ngx_palette_cert_json_raw(ngx_palette_cert_json_t *j, const char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    if (ngx_palette_cert_json_reserve(j, len) == NGX_OK) {
        j->pos = ngx_cpymem(j->pos, s, len);
    }
}


/* a member name, preceded by a comma unless it opens the object */

void
ngx_palette_cert_json_key(ngx_palette_cert_json_t *j, const char *key)
{
    if (ngx_palette_cert_json_reserve(j, ngx_strlen(key) + 4) != NGX_OK) {
        return;
    }

    if (j->pos > j->start && j->pos[-1] != '{') {
        *j->pos++ = ',';
    }

    *j->pos++ = '"';
    j->pos = ngx_cpymem(j->pos, key, ngx_strlen(key));
    *j->pos++ = '"';
    *j->pos++ = ':';
}


/*
 * A string: nginx's escaping, which writes \", \\ and every control
 * character (\n, \r, \t, \b, \f, else \u00XX) and passes other bytes,
 * UTF-8 among them, as they are.
 */

void
ngx_palette_cert_json_str(ngx_palette_cert_json_t *j, u_char *s, size_t len)
{
    size_t  n;

    n = len + ngx_escape_json(NULL, s, len);

    if (ngx_palette_cert_json_reserve(j, n + 2) != NGX_OK) {
        return;
    }

    *j->pos++ = '"';
    j->pos = (u_char *) ngx_escape_json(j->pos, s, len);
    *j->pos++ = '"';
}


void
ngx_palette_cert_json_cstr(ngx_palette_cert_json_t *j, const char *s)
{
    if (s == NULL) {
        ngx_palette_cert_json_raw(j, "null");
        return;
    }

    ngx_palette_cert_json_str(j, (u_char *) s, ngx_strlen(s));
}


void
ngx_palette_cert_json_uint(ngx_palette_cert_json_t *j, ngx_uint_t n)
{
    if (ngx_palette_cert_json_reserve(j, NGX_INT_T_LEN) == NGX_OK) {
        j->pos = ngx_sprintf(j->pos, "%ui", n);
    }
}


/* "a,b,c" as a JSON array of strings */

void
ngx_palette_cert_json_list(ngx_palette_cert_json_t *j, u_char *p, size_t len)
{
    u_char  *last, *end, *start;

    ngx_palette_cert_json_raw(j, "[");

    start = p;
    last = p + len;

    while (p < last) {
        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        if (p > start) {
            ngx_palette_cert_json_raw(j, ",");
        }

        ngx_palette_cert_json_str(j, p, end - p);

        p = (end < last) ? end + 1 : last;
    }

    ngx_palette_cert_json_raw(j, "]");
}
