
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Parsers of untrusted bytes: the upload body in each accepted content
 * type, and the splitting of a PEM field into blocks.  They read only
 * within the given length, decode in place, allocate nothing and never
 * recurse deeper than NGX_PALETTE_CERT_JSON_DEPTH.
 */


#include "ngx_palette_cert_body.h"


#define NGX_PALETTE_CERT_JSON_DEPTH  32


typedef struct {
    u_char      *pos;
    u_char      *last;
    const char  *error;
} ngx_palette_cert_json_parser_t;


static ngx_uint_t ngx_palette_cert_known_field(ngx_str_t *name);
static ngx_int_t ngx_palette_cert_field(ngx_palette_cert_fields_t *f,
    ngx_str_t *name, ngx_str_t *value);
static void ngx_palette_cert_json_ws(ngx_palette_cert_json_parser_t *jp);
static ngx_int_t ngx_palette_cert_json_string(
    ngx_palette_cert_json_parser_t *jp, ngx_str_t *out);
static ngx_int_t ngx_palette_cert_json_skip(
    ngx_palette_cert_json_parser_t *jp, ngx_uint_t depth);
static ngx_int_t ngx_palette_cert_utf8(u_char *p, u_char *last);
static ngx_int_t ngx_palette_cert_json_literal(
    ngx_palette_cert_json_parser_t *jp, const char *lit);
static ngx_int_t ngx_palette_cert_url_decode(ngx_str_t *s);
static u_char *ngx_palette_cert_find(u_char *p, u_char *last, u_char *s,
    size_t len);
static ngx_int_t ngx_palette_cert_part_name(u_char *p, u_char *last,
    ngx_str_t *name);
static u_char *ngx_palette_cert_param(u_char *p, u_char *last,
    const char *param, ngx_str_t *value);


static ngx_uint_t
ngx_palette_cert_known_field(ngx_str_t *name)
{
    return (name->len == 11
            && ngx_strncmp(name->data, "certificate", 11) == 0)
           || (name->len == 3 && ngx_strncmp(name->data, "key", 3) == 0)
           || (name->len == 2 && ngx_strncmp(name->data, "ca", 2) == 0);
}


/* stores a decoded field; a known field given twice is an error */

static ngx_int_t
ngx_palette_cert_field(ngx_palette_cert_fields_t *f, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_str_t  *dst;
    ngx_uint_t  seen;

    if (name->len == 11 && ngx_strncmp(name->data, "certificate", 11) == 0) {
        dst = &f->certificate;
        seen = f->has_certificate;
        f->has_certificate = 1;

    } else if (name->len == 3 && ngx_strncmp(name->data, "key", 3) == 0) {
        dst = &f->key;
        seen = f->has_key;
        f->has_key = 1;

    } else if (name->len == 2 && ngx_strncmp(name->data, "ca", 2) == 0) {
        dst = &f->ca;
        seen = f->has_ca || f->ca_null;
        f->has_ca = 1;

    } else {
        return NGX_OK;
    }

    if (seen) {
        f->error = "a field is given more than once";
        return NGX_ERROR;
    }

    *dst = *value;

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_parse_json(u_char *p, size_t len,
    ngx_palette_cert_fields_t *f)
{
    ngx_str_t                       name, value;
    ngx_uint_t                      first;
    ngx_palette_cert_json_parser_t  jp;

    jp.pos = p;
    jp.last = p + len;
    jp.error = "the body is not a JSON object";

    ngx_palette_cert_json_ws(&jp);

    if (jp.pos == jp.last || *jp.pos != '{') {
        goto failed;
    }

    jp.pos++;
    first = 1;

    for ( ;; ) {
        ngx_palette_cert_json_ws(&jp);

        if (jp.pos == jp.last) {
            jp.error = "the JSON object is not closed";
            goto failed;
        }

        if (*jp.pos == '}') {
            if (!first) {
                jp.error = "a comma is followed by \"}\" in the JSON object";
                goto failed;
            }

            jp.pos++;
            break;
        }

        first = 0;

        if (*jp.pos != '"') {
            jp.error = "a JSON member name is not a string";
            goto failed;
        }

        if (ngx_palette_cert_json_string(&jp, &name) != NGX_OK) {
            goto failed;
        }

        ngx_palette_cert_json_ws(&jp);

        if (jp.pos == jp.last || *jp.pos != ':') {
            jp.error = "a JSON member name is not followed by \":\"";
            goto failed;
        }

        jp.pos++;

        ngx_palette_cert_json_ws(&jp);

        if (jp.pos == jp.last) {
            jp.error = "the JSON object is not closed";
            goto failed;
        }

        if (*jp.pos == '"') {
            if (ngx_palette_cert_json_string(&jp, &value) != NGX_OK) {
                goto failed;
            }

            if (ngx_palette_cert_field(f, &name, &value) != NGX_OK) {
                return NGX_ERROR;
            }

        } else if (*jp.pos == 'n'
                   && ngx_palette_cert_json_literal(&jp, "null") == NGX_OK)
        {
            /* null stands for an absent field */

            if (name.len == 2 && ngx_strncmp(name.data, "ca", 2) == 0) {
                if (f->has_ca || f->ca_null) {
                    f->error = "a field is given more than once";
                    return NGX_ERROR;
                }

                f->ca_null = 1;
            }

        } else {
            if (ngx_palette_cert_known_field(&name)) {
                jp.error = "the fields \"certificate\", \"key\" and \"ca\" "
                           "must be JSON strings";
                goto failed;
            }

            if (ngx_palette_cert_json_skip(&jp, 0) != NGX_OK) {
                goto failed;
            }
        }

        ngx_palette_cert_json_ws(&jp);

        if (jp.pos == jp.last) {
            jp.error = "the JSON object is not closed";
            goto failed;
        }

        if (*jp.pos == ',') {
            jp.pos++;
            continue;
        }

        if (*jp.pos == '}') {
            jp.pos++;
            break;
        }

        jp.error = "JSON members are not separated by \",\"";
        goto failed;
    }

    ngx_palette_cert_json_ws(&jp);

    if (jp.pos != jp.last) {
        jp.error = "text follows the JSON object";
        goto failed;
    }

    return NGX_OK;

failed:

    f->error = jp.error;

    return NGX_ERROR;
}


static void
ngx_palette_cert_json_ws(ngx_palette_cert_json_parser_t *jp)
{
    while (jp->pos < jp->last
           && (*jp->pos == ' ' || *jp->pos == '\t' || *jp->pos == '\r'
               || *jp->pos == '\n'))
    {
        jp->pos++;
    }
}


/* decodes a string in place; jp->pos is at the opening quote */

static ngx_int_t
ngx_palette_cert_json_string(ngx_palette_cert_json_parser_t *jp,
    ngx_str_t *out)
{
    u_char      *p, *dst, c;
    ngx_int_t    n;
    ngx_uint_t   code, low;

    p = jp->pos + 1;
    dst = p;
    out->data = p;

    for ( ;; ) {

        if (p == jp->last) {
            jp->error = "a JSON string is not closed";
            return NGX_ERROR;
        }

        c = *p++;

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            jp->error = "a JSON string holds a raw control character; "
                        "line breaks must be written as \\n";
            return NGX_ERROR;
        }

        if (c >= 0x80) {
            n = ngx_palette_cert_utf8(p - 1, jp->last);

            if (n == NGX_ERROR) {
                jp->error = "a JSON string is not valid UTF-8";
                return NGX_ERROR;
            }

            /* the sequence is copied as it is */

            *dst++ = c;

            while (--n) {
                *dst++ = *p++;
            }

            continue;
        }

        if (c != '\\') {
            *dst++ = c;
            continue;
        }

        if (p == jp->last) {
            jp->error = "a JSON string is not closed";
            return NGX_ERROR;
        }

        c = *p++;

        switch (c) {

        case '"':
        case '\\':
        case '/':
            *dst++ = c;
            continue;

        case 'b':
            *dst++ = '\b';
            continue;

        case 'f':
            *dst++ = '\f';
            continue;

        case 'n':
            *dst++ = '\n';
            continue;

        case 'r':
            *dst++ = '\r';
            continue;

        case 't':
            *dst++ = '\t';
            continue;

        case 'u':
            break;

        default:
            jp->error = "a JSON string holds an invalid escape";
            return NGX_ERROR;
        }

        n = (jp->last - p < 4) ? NGX_ERROR : ngx_hextoi(p, 4);

        if (n == NGX_ERROR) {
            jp->error = "a JSON string holds an invalid \\u escape";
            return NGX_ERROR;
        }

        code = n;
        p += 4;

        if (code >= 0xdc00 && code <= 0xdfff) {
            jp->error = "a JSON string holds an unpaired surrogate";
            return NGX_ERROR;
        }

        if (code >= 0xd800 && code <= 0xdbff) {

            n = (jp->last - p < 6 || p[0] != '\\' || p[1] != 'u')
                ? NGX_ERROR : ngx_hextoi(p + 2, 4);

            low = (ngx_uint_t) n;

            if (n == NGX_ERROR || low < 0xdc00 || low > 0xdfff) {
                jp->error = "a JSON string holds an unpaired surrogate";
                return NGX_ERROR;
            }

            p += 6;
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }

        if (code == 0) {
            jp->error = "a JSON string holds a NUL character";
            return NGX_ERROR;
        }

        /* UTF-8 is never longer than the escape it comes from */

        if (code < 0x80) {
            *dst++ = (u_char) code;

        } else if (code < 0x800) {
            *dst++ = (u_char) (0xc0 | (code >> 6));
            *dst++ = (u_char) (0x80 | (code & 0x3f));

        } else if (code < 0x10000) {
            *dst++ = (u_char) (0xe0 | (code >> 12));
            *dst++ = (u_char) (0x80 | ((code >> 6) & 0x3f));
            *dst++ = (u_char) (0x80 | (code & 0x3f));

        } else {
            *dst++ = (u_char) (0xf0 | (code >> 18));
            *dst++ = (u_char) (0x80 | ((code >> 12) & 0x3f));
            *dst++ = (u_char) (0x80 | ((code >> 6) & 0x3f));
            *dst++ = (u_char) (0x80 | (code & 0x3f));
        }
    }

    out->len = dst - out->data;
    jp->pos = p;

    return NGX_OK;
}


/* the length of the UTF-8 sequence at p, or NGX_ERROR when it is not one */

static ngx_int_t
ngx_palette_cert_utf8(u_char *p, u_char *last)
{
    u_char      c;
    ngx_int_t   n, i;
    ngx_uint_t  code, min;

    c = *p;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        code = c & 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        code = c & 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        code = c & 0x07;
        min = 0x10000;

    } else {
        return NGX_ERROR;
    }

    if (last - p < n) {
        return NGX_ERROR;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return NGX_ERROR;
        }

        code = (code << 6) | (p[i] & 0x3f);
    }

    /* no overlong forms, surrogates, or code points past U+10FFFF */

    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
    {
        return NGX_ERROR;
    }

    return n;
}


static ngx_int_t
ngx_palette_cert_json_literal(ngx_palette_cert_json_parser_t *jp,
    const char *lit)
{
    size_t  len;

    len = ngx_strlen(lit);

    if ((size_t) (jp->last - jp->pos) < len
        || ngx_strncmp(jp->pos, lit, len) != 0)
    {
        return NGX_ERROR;
    }

    jp->pos += len;

    return NGX_OK;
}


/* skips a value of a member the module does not use */

static ngx_int_t
ngx_palette_cert_json_skip(ngx_palette_cert_json_parser_t *jp,
    ngx_uint_t depth)
{
    u_char      c, close;
    ngx_str_t   s;
    ngx_uint_t  first;

    if (depth >= NGX_PALETTE_CERT_JSON_DEPTH) {
        jp->error = "the JSON body is nested too deeply";
        return NGX_ERROR;
    }

    jp->error = "the body is not valid JSON";

    if (jp->pos == jp->last) {
        return NGX_ERROR;
    }

    c = *jp->pos;

    if (c == '"') {
        return ngx_palette_cert_json_string(jp, &s);
    }

    if (c == 't') {
        return ngx_palette_cert_json_literal(jp, "true");
    }

    if (c == 'f') {
        return ngx_palette_cert_json_literal(jp, "false");
    }

    if (c == 'n') {
        return ngx_palette_cert_json_literal(jp, "null");
    }

    if (c == '-' || (c >= '0' && c <= '9')) {

        /* a number, loosely: the module does not use its value */

        while (jp->pos < jp->last
               && ((*jp->pos >= '0' && *jp->pos <= '9') || *jp->pos == '-'
                   || *jp->pos == '+' || *jp->pos == '.' || *jp->pos == 'e'
                   || *jp->pos == 'E'))
        {
            jp->pos++;
        }

        return NGX_OK;
    }

    if (c != '{' && c != '[') {
        return NGX_ERROR;
    }

    close = (c == '{') ? '}' : ']';
    jp->pos++;
    first = 1;

    for ( ;; ) {
        ngx_palette_cert_json_ws(jp);

        if (jp->pos == jp->last) {
            jp->error = "the body is not valid JSON";
            return NGX_ERROR;
        }

        if (*jp->pos == close && first) {
            jp->pos++;
            return NGX_OK;
        }

        first = 0;

        if (close == '}') {
            if (*jp->pos != '"'
                || ngx_palette_cert_json_string(jp, &s) != NGX_OK)
            {
                jp->error = "the body is not valid JSON";
                return NGX_ERROR;
            }

            ngx_palette_cert_json_ws(jp);

            if (jp->pos == jp->last || *jp->pos != ':') {
                jp->error = "the body is not valid JSON";
                return NGX_ERROR;
            }

            jp->pos++;
            ngx_palette_cert_json_ws(jp);
        }

        if (ngx_palette_cert_json_skip(jp, depth + 1) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_palette_cert_json_ws(jp);

        if (jp->pos == jp->last) {
            jp->error = "the body is not valid JSON";
            return NGX_ERROR;
        }

        if (*jp->pos == ',') {
            jp->pos++;
            continue;
        }

        if (*jp->pos == close) {
            jp->pos++;
            return NGX_OK;
        }

        jp->error = "the body is not valid JSON";
        return NGX_ERROR;
    }
}


ngx_int_t
ngx_palette_cert_parse_urlencoded(u_char *p, size_t len,
    ngx_palette_cert_fields_t *f)
{
    u_char     *last, *start, *eq;
    ngx_str_t   name, value;

    last = p + len;

    while (p < last) {

        start = p;

        while (p < last && *p != '&') {
            p++;
        }

        if (p == start) {
            p++;
            continue;
        }

        eq = start;

        while (eq < p && *eq != '=') {
            eq++;
        }

        name.data = start;
        name.len = eq - start;

        if (eq < p) {
            value.data = eq + 1;
            value.len = p - (eq + 1);

        } else {
            ngx_str_null(&value);
        }

        if (ngx_palette_cert_url_decode(&name) != NGX_OK
            || ngx_palette_cert_url_decode(&value) != NGX_OK)
        {
            f->error = "the form body holds an invalid %-escape";
            return NGX_ERROR;
        }

        if (ngx_palette_cert_field(f, &name, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (p < last) {
            p++;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_url_decode(ngx_str_t *s)
{
    u_char     *p, *last, *dst, c;
    ngx_int_t   n;

    if (s->data == NULL) {
        return NGX_OK;
    }

    p = s->data;
    last = p + s->len;
    dst = p;

    while (p < last) {
        c = *p++;

        if (c == '+') {
            *dst++ = ' ';
            continue;
        }

        if (c != '%') {
            *dst++ = c;
            continue;
        }

        n = (last - p < 2) ? NGX_ERROR : ngx_hextoi(p, 2);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        p += 2;
        *dst++ = (u_char) n;
    }

    s->len = dst - s->data;

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_multipart_boundary(ngx_str_t *content_type,
    ngx_str_t *boundary)
{
    u_char  *p, *last;

    p = content_type->data;
    last = p + content_type->len;

    p = ngx_palette_cert_param(p, last, "boundary", boundary);

    if (p == NULL || boundary->len == 0 || boundary->len > 70) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_parse_multipart(u_char *p, size_t len, ngx_str_t *boundary,
    ngx_palette_cert_fields_t *f)
{
    u_char     *last, *headers, *body, *end, *line, *eol, delim[80];
    size_t      dlen;
    ngx_str_t   name, value;
    ngx_uint_t  named;

    last = p + len;

    /* "\r\n--boundary"; the first one may start the body */

    dlen = ngx_sprintf(delim, "\r\n--%V", boundary) - delim;

    if ((size_t) (last - p) >= dlen - 2
        && ngx_memcmp(p, delim + 2, dlen - 2) == 0)
    {
        p += dlen - 2;

    } else {
        p = ngx_palette_cert_find(p, last, delim, dlen);

        if (p == NULL) {
            f->error = "the multipart body does not contain its boundary";
            return NGX_ERROR;
        }

        p += dlen;
    }

    for ( ;; ) {

        /* after a delimiter: "--" ends the body, a line break a part */

        if (last - p >= 2 && p[0] == '-' && p[1] == '-') {
            return NGX_OK;
        }

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (last - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            p += 2;

        } else {
            f->error = "the multipart body is malformed after a boundary";
            return NGX_ERROR;
        }

        headers = p;

        if (last - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            /* a part without headers */
            end = p - 2;

        } else {
            end = ngx_palette_cert_find(p, last, (u_char *) "\r\n\r\n", 4);

            if (end == NULL) {
                f->error = "the headers of a multipart part are not closed";
                return NGX_ERROR;
            }
        }

        body = end + 4;

        named = 0;
        ngx_str_null(&name);

        for (line = headers; line < end; line = eol + 2) {
            eol = ngx_palette_cert_find(line, end + 2, (u_char *) "\r\n", 2);
            if (eol == NULL) {
                break;
            }

            if (eol - line > 20
                && ngx_strncasecmp(line, (u_char *) "Content-Disposition:",
                                   20)
                   == 0)
            {
                if (ngx_palette_cert_part_name(line + 20, eol, &name)
                    != NGX_OK)
                {
                    f->error = "a multipart part has an invalid "
                               "Content-Disposition";
                    return NGX_ERROR;
                }

                named = 1;
            }
        }

        end = ngx_palette_cert_find(body, last, delim, dlen);

        if (end == NULL) {
            f->error = "the multipart body has no final boundary";
            return NGX_ERROR;
        }

        value.data = body;
        value.len = end - body;

        if (named && ngx_palette_cert_field(f, &name, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        p = end + dlen;
    }
}


/* the "name" parameter of a Content-Disposition header value */

static ngx_int_t
ngx_palette_cert_part_name(u_char *p, u_char *last, ngx_str_t *name)
{
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (last - p < 9 || ngx_strncasecmp(p, (u_char *) "form-data", 9) != 0) {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_param(p + 9, last, "name", name) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Finds ";param=value" in a header value; a quoted value may hold
 * backslash escapes, which are decoded in place.
 */

static u_char *
ngx_palette_cert_param(u_char *p, u_char *last, const char *param,
    ngx_str_t *value)
{
    u_char  *name, *dst;
    size_t   len;

    len = ngx_strlen(param);

    while (p < last) {

        while (p < last && *p != ';') {
            if (*p == '"') {
                /* skip a quoted string */
                for (p++; p < last && *p != '"'; p++) {
                    if (*p == '\\' && p + 1 < last) {
                        p++;
                    }
                }

                if (p == last) {
                    return NULL;
                }
            }

            p++;
        }

        if (p >= last) {
            return NULL;
        }

        p++;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        name = p;

        while (p < last && *p != '=' && *p != ';') {
            p++;
        }

        if (p == last || *p != '=') {
            continue;
        }

        if ((size_t) (p - name) != len
            || ngx_strncasecmp(name, (u_char *) param, len) != 0)
        {
            continue;
        }

        p++;

        if (p < last && *p == '"') {
            p++;
            value->data = p;
            dst = p;

            while (p < last && *p != '"') {
                if (*p == '\\' && p + 1 < last) {
                    p++;
                }

                *dst++ = *p++;
            }

            if (p == last) {
                return NULL;
            }

            value->len = dst - value->data;

            return p + 1;
        }

        value->data = p;

        while (p < last && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }

        value->len = p - value->data;

        return p;
    }

    return NULL;
}


static u_char *
ngx_palette_cert_find(u_char *p, u_char *last, u_char *s, size_t len)
{
    if ((size_t) (last - p) < len) {
        return NULL;
    }

    last -= len;

    for ( /* void */ ; p <= last; p++) {
        if (*p == *s && ngx_memcmp(p, s, len) == 0) {
            return p;
        }
    }

    return NULL;
}


/*
 * Splits a PEM field into its blocks.  Only white space may stand around
 * and between the blocks; carriage returns are dropped in place first,
 * so that CRLF line endings read as LF.
 */

ngx_int_t
ngx_palette_cert_pem_split(u_char *p, size_t len,
    ngx_palette_cert_pem_bundle_t *bundle)
{
    u_char                        *start, *last, *src, *dst, *label, *end;
    size_t                         n;
    ngx_palette_cert_pem_block_t  *b;

    start = p;
    bundle->nblocks = 0;
    bundle->offset = 0;
    bundle->error = NULL;

    dst = p;

    for (src = p; src < p + len; src++) {
        if (*src != '\r') {
            *dst++ = *src;
        }
    }

    last = dst;

    for ( ;; ) {

        while (p < last
               && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        {
            p++;
        }

        if (p == last) {
            return NGX_OK;
        }

        bundle->offset = p - start;

        if ((size_t) (last - p) < 11 || ngx_strncmp(p, "-----BEGIN ", 11) != 0)
        {
            bundle->error = "text outside the PEM blocks";
            return NGX_ERROR;
        }

        if (bundle->nblocks == NGX_PALETTE_CERT_PEM_MAX) {
            bundle->error = "too many PEM blocks";
            return NGX_ERROR;
        }

        b = &bundle->blocks[bundle->nblocks];
        b->text.data = p;

        label = p + 11;
        end = ngx_palette_cert_find(label, last, (u_char *) "-----", 5);

        if (end == NULL || end == label) {
            bundle->error = "a PEM BEGIN line is incomplete";
            return NGX_ERROR;
        }

        for (src = label; src < end; src++) {
            if (*src == '\n') {
                bundle->error = "a PEM BEGIN line is incomplete";
                return NGX_ERROR;
            }
        }

        b->label.data = label;
        b->label.len = end - label;

        p = end + 5;

        /* "-----END LABEL-----", before any other dashed line */

        end = ngx_palette_cert_find(p, last, (u_char *) "-----", 5);

        if (end == NULL) {
            bundle->error = "a PEM block has no END line";
            return NGX_ERROR;
        }

        if ((size_t) (last - end) < 9 || ngx_memcmp(end, "-----END ", 9) != 0)
        {
            bundle->error = "a PEM block has no END line before the next "
                            "BEGIN line";
            return NGX_ERROR;
        }

        p = end + 9;
        n = b->label.len;

        if ((size_t) (last - p) < n + 5
            || ngx_memcmp(p, b->label.data, n) != 0
            || ngx_memcmp(p + n, "-----", 5) != 0)
        {
            bundle->error = "a PEM END line does not match its BEGIN line";
            return NGX_ERROR;
        }

        p += n + 5;

        b->text.len = p - b->text.data;
        bundle->nblocks++;
    }
}
