
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


typedef struct ngx_palette_cert_json_parser_s  ngx_palette_cert_json_parser_t;

struct ngx_palette_cert_json_parser_s {
    u_char      *pos;
    u_char      *last;
    const char  *error;

    /* each member of the object, its value at pos */
    ngx_int_t  (*member)(ngx_palette_cert_json_parser_t *jp,
                         ngx_str_t *name);
    void        *data;
};


static ngx_uint_t ngx_palette_cert_known_field(ngx_str_t *name);
static ngx_int_t ngx_palette_cert_field(ngx_palette_cert_fields_t *f,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_palette_cert_upload_member(
    ngx_palette_cert_json_parser_t *jp, ngx_str_t *name);
static ngx_int_t ngx_palette_cert_csr_member(
    ngx_palette_cert_json_parser_t *jp, ngx_str_t *name);
static ngx_int_t ngx_palette_cert_csr_string(
    ngx_palette_cert_json_parser_t *jp, ngx_palette_cert_csr_fields_t *c,
    const char *field, ngx_str_t *value, const char *error);
static ngx_int_t ngx_palette_cert_csr_names(
    ngx_palette_cert_json_parser_t *jp, ngx_palette_cert_csr_fields_t *c);
static ngx_int_t ngx_palette_cert_json_parse(u_char *p, size_t len,
    ngx_int_t (*member)(ngx_palette_cert_json_parser_t *jp, ngx_str_t *name),
    void *data, const char **error);
static ngx_int_t ngx_palette_cert_json_object(
    ngx_palette_cert_json_parser_t *jp);
static ngx_int_t ngx_palette_cert_json_open(
    ngx_palette_cert_json_parser_t *jp, u_char close, const char *unclosed);
static ngx_int_t ngx_palette_cert_json_name(
    ngx_palette_cert_json_parser_t *jp, ngx_str_t *name);
static ngx_int_t ngx_palette_cert_json_next(
    ngx_palette_cert_json_parser_t *jp, u_char close, const char *unclosed,
    const char *unseparated);
static ngx_int_t ngx_palette_cert_json_more(
    ngx_palette_cert_json_parser_t *jp, const char *unclosed);
static void ngx_palette_cert_json_ws(ngx_palette_cert_json_parser_t *jp);
static ngx_int_t ngx_palette_cert_json_string(
    ngx_palette_cert_json_parser_t *jp, ngx_str_t *out);
static ngx_int_t ngx_palette_cert_json_escape(
    ngx_palette_cert_json_parser_t *jp, u_char **pos, u_char **dst);
static u_char *ngx_palette_cert_utf8_write(u_char *dst, ngx_uint_t code);
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
static u_char *ngx_palette_cert_next_arg(u_char *p, u_char *last,
    u_char **name, size_t *nlen, u_char **value, size_t *vlen);
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
    return ngx_palette_cert_json_parse(p, len, ngx_palette_cert_upload_member,
                                       f, &f->error);
}


/* a member of an upload's object, its value at jp->pos */

static ngx_int_t
ngx_palette_cert_upload_member(ngx_palette_cert_json_parser_t *jp,
    ngx_str_t *name)
{
    ngx_str_t                   value;
    ngx_palette_cert_fields_t  *f = jp->data;

    if (*jp->pos == '"') {
        if (ngx_palette_cert_json_string(jp, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_palette_cert_field(f, name, &value) != NGX_OK) {
            jp->error = NULL;
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (*jp->pos == 'n'
        && ngx_palette_cert_json_literal(jp, "null") == NGX_OK)
    {
        /* null stands for an absent field */

        if (name->len == 2 && ngx_strncmp(name->data, "ca", 2) == 0) {
            if (f->has_ca || f->ca_null) {
                f->error = "a field is given more than once";
                jp->error = NULL;
                return NGX_ERROR;
            }

            f->ca_null = 1;
        }

        return NGX_OK;
    }

    if (ngx_palette_cert_known_field(name)) {
        jp->error = "the fields \"certificate\", \"key\" and \"ca\" must be "
                    "JSON strings";
        return NGX_ERROR;
    }

    return ngx_palette_cert_json_skip(jp, 0);
}


/*
 * POST ?csr: {"names": [...], "key_type": "...", "subject": "..."}, the
 * strings decoded in place; other members are skipped.
 */

ngx_int_t
ngx_palette_cert_parse_csr(u_char *p, size_t len,
    ngx_palette_cert_csr_fields_t *c)
{
    ngx_memzero(c, sizeof(ngx_palette_cert_csr_fields_t));

    return ngx_palette_cert_json_parse(p, len, ngx_palette_cert_csr_member,
                                       c, &c->error);
}


static ngx_int_t
ngx_palette_cert_csr_member(ngx_palette_cert_json_parser_t *jp,
    ngx_str_t *name)
{
    ngx_palette_cert_csr_fields_t  *c = jp->data;

    if (name->len == 5 && ngx_strncmp(name->data, "names", 5) == 0) {

        if (c->has_names) {
            goto twice;
        }

        c->has_names = 1;

        return ngx_palette_cert_csr_names(jp, c);
    }

    if (name->len == 8 && ngx_strncmp(name->data, "key_type", 8) == 0) {

        if (c->has_key_type) {
            goto twice;
        }

        c->has_key_type = 1;

        return ngx_palette_cert_csr_string(jp, c, "key_type", &c->key_type,
                                           "\"key_type\" must be a JSON "
                                           "string");
    }

    if (name->len == 7 && ngx_strncmp(name->data, "subject", 7) == 0) {

        if (c->has_subject) {
            goto twice;
        }

        c->has_subject = 1;

        if (*jp->pos == 'n'
            && ngx_palette_cert_json_literal(jp, "null") == NGX_OK)
        {
            return NGX_OK;
        }

        return ngx_palette_cert_csr_string(jp, c, "subject", &c->subject,
                                           "\"subject\" must be a JSON "
                                           "string or null");
    }

    return ngx_palette_cert_json_skip(jp, 0);

twice:

    c->field = NULL;
    jp->error = "a field is given more than once";

    return NGX_ERROR;
}


/* a member of the request that must be a string, decoded in place */

static ngx_int_t
ngx_palette_cert_csr_string(ngx_palette_cert_json_parser_t *jp,
    ngx_palette_cert_csr_fields_t *c, const char *field, ngx_str_t *value,
    const char *error)
{
    if (*jp->pos != '"') {
        c->field = field;
        jp->error = error;
        return NGX_ERROR;
    }

    return ngx_palette_cert_json_string(jp, value);
}


/* "names": an array of strings, decoded in place */

static ngx_int_t
ngx_palette_cert_csr_names(ngx_palette_cert_json_parser_t *jp,
    ngx_palette_cert_csr_fields_t *c)
{
    ngx_int_t  rc;

    if (*jp->pos != '[') {
        goto not_strings;
    }

    rc = ngx_palette_cert_json_open(jp, ']', "the JSON array is not closed");

    while (rc == NGX_AGAIN) {

        if (*jp->pos != '"') {
            goto not_strings;
        }

        if (c->nnames == NGX_PALETTE_CERT_CSR_NAMES) {
            c->field = "names";
            jp->error = "\"names\" holds more names than a certificate "
                        "request takes (100)";
            return NGX_ERROR;
        }

        if (ngx_palette_cert_json_string(jp, &c->names[c->nnames]) != NGX_OK)
        {
            return NGX_ERROR;
        }

        c->nnames++;

        rc = ngx_palette_cert_json_next(jp, ']',
                                        "the JSON array is not closed",
                                        "JSON array elements are not "
                                        "separated by \",\"");
    }

    return rc;

not_strings:

    c->field = "names";
    jp->error = "\"names\" must be a JSON array of strings";

    return NGX_ERROR;
}


/*
 * Parses a body that must be one JSON object, each member given to the
 * member handler; *error is set to why it failed, unless the handler
 * set an error of its own.
 */

static ngx_int_t
ngx_palette_cert_json_parse(u_char *p, size_t len,
    ngx_int_t (*member)(ngx_palette_cert_json_parser_t *jp, ngx_str_t *name),
    void *data, const char **error)
{
    ngx_palette_cert_json_parser_t  jp;

    jp.pos = p;
    jp.last = p + len;
    jp.error = NULL;
    jp.data = data;
    jp.member = member;

    if (ngx_palette_cert_json_object(&jp) == NGX_OK) {
        return NGX_OK;
    }

    /* the JSON's error, or the handler's own (jp.error left NULL) */

    if (jp.error) {
        *error = jp.error;
    }

    return NGX_ERROR;
}


/*
 * A JSON object, each member's value given to jp->member at its first
 * byte; NGX_ERROR with jp->error set when the JSON is malformed (or left
 * NULL by the member handler that set an error of its own).
 */

static ngx_int_t
ngx_palette_cert_json_object(ngx_palette_cert_json_parser_t *jp)
{
    ngx_int_t  rc;
    ngx_str_t  name;

    jp->error = "the body is not a JSON object";

    ngx_palette_cert_json_ws(jp);

    if (jp->pos == jp->last || *jp->pos != '{') {
        return NGX_ERROR;
    }

    rc = ngx_palette_cert_json_open(jp, '}', "the JSON object is not closed");

    while (rc == NGX_AGAIN) {

        if (*jp->pos == '}') {
            jp->error = "a comma is followed by \"}\" in the JSON object";
            return NGX_ERROR;
        }

        if (*jp->pos != '"') {
            jp->error = "a JSON member name is not a string";
            return NGX_ERROR;
        }

        if (ngx_palette_cert_json_name(jp, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        if (jp->pos == jp->last) {
            jp->error = "the JSON object is not closed";
            return NGX_ERROR;
        }

        if (jp->member(jp, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_palette_cert_json_next(jp, '}',
                                        "the JSON object is not closed",
                                        "JSON members are not separated "
                                        "by \",\"");
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_palette_cert_json_ws(jp);

    if (jp->pos != jp->last) {
        jp->error = "text follows the JSON object";
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Passes the opening bracket at jp->pos: NGX_OK when the object or the
 * array is empty (its closing bracket passed as well), NGX_AGAIN when a
 * value follows at jp->pos, NGX_ERROR when the body ends first.
 */

static ngx_int_t
ngx_palette_cert_json_open(ngx_palette_cert_json_parser_t *jp, u_char close,
    const char *unclosed)
{
    jp->pos++;

    if (ngx_palette_cert_json_more(jp, unclosed) != NGX_OK) {
        return NGX_ERROR;
    }

    if (*jp->pos == close) {
        jp->pos++;
        return NGX_OK;
    }

    return NGX_AGAIN;
}


/*
 * A member's name, decoded in place, and the colon after it; jp->pos is
 * at the name's opening quote, and is left at the member's value.
 */

static ngx_int_t
ngx_palette_cert_json_name(ngx_palette_cert_json_parser_t *jp,
    ngx_str_t *name)
{
    if (ngx_palette_cert_json_string(jp, name) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_palette_cert_json_ws(jp);

    if (jp->pos == jp->last || *jp->pos != ':') {
        jp->error = "a JSON member name is not followed by \":\"";
        return NGX_ERROR;
    }

    jp->pos++;

    ngx_palette_cert_json_ws(jp);

    return NGX_OK;
}


/*
 * What follows a value in an object or an array: a comma (NGX_AGAIN,
 * another value follows at jp->pos) or the closing bracket (NGX_OK),
 * either passed; NGX_ERROR when the body ends first or holds another
 * byte there.
 */

static ngx_int_t
ngx_palette_cert_json_next(ngx_palette_cert_json_parser_t *jp, u_char close,
    const char *unclosed, const char *unseparated)
{
    if (ngx_palette_cert_json_more(jp, unclosed) != NGX_OK) {
        return NGX_ERROR;
    }

    if (*jp->pos == close) {
        jp->pos++;
        return NGX_OK;
    }

    if (*jp->pos != ',') {
        jp->error = unseparated;
        return NGX_ERROR;
    }

    jp->pos++;

    if (ngx_palette_cert_json_more(jp, unclosed) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/* skips white space; NGX_ERROR, with jp->error, where the body ends */

static ngx_int_t
ngx_palette_cert_json_more(ngx_palette_cert_json_parser_t *jp,
    const char *unclosed)
{
    ngx_palette_cert_json_ws(jp);

    if (jp->pos == jp->last) {
        jp->error = unclosed;
        return NGX_ERROR;
    }

    return NGX_OK;
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
    u_char     *p, *dst, c;
    ngx_int_t   n;

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

        if (ngx_palette_cert_json_escape(jp, &p, &dst) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    out->len = dst - out->data;
    jp->pos = p;

    return NGX_OK;
}


/*
 * The escape after a backslash at *pos, decoded to *dst; both are moved
 * past what they hold.  UTF-8 is never longer than the escape it comes
 * from, so the decoded string never overtakes its encoding.
 */

static ngx_int_t
ngx_palette_cert_json_escape(ngx_palette_cert_json_parser_t *jp,
    u_char **pos, u_char **dst)
{
    u_char      *p, c;
    ngx_int_t    n;
    ngx_uint_t   code, low;

    p = *pos;

    if (p == jp->last) {
        jp->error = "a JSON string is not closed";
        return NGX_ERROR;
    }

    c = *p++;

    switch (c) {

    case '"':
    case '\\':
    case '/':
        break;

    case 'b':
        c = '\b';
        break;

    case 'f':
        c = '\f';
        break;

    case 'n':
        c = '\n';
        break;

    case 'r':
        c = '\r';
        break;

    case 't':
        c = '\t';
        break;

    case 'u':
        goto unicode;

    default:
        jp->error = "a JSON string holds an invalid escape";
        return NGX_ERROR;
    }

    *(*dst)++ = c;
    *pos = p;

    return NGX_OK;

unicode:

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

    *dst = ngx_palette_cert_utf8_write(*dst, code);
    *pos = p;

    return NGX_OK;
}


static u_char *
ngx_palette_cert_utf8_write(u_char *dst, ngx_uint_t code)
{
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

    return dst;
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
    u_char     c, close;
    ngx_int_t  rc;
    ngx_str_t  s;

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

    rc = ngx_palette_cert_json_open(jp, close, "the body is not valid JSON");

    while (rc == NGX_AGAIN) {

        if (close == '}'
            && (*jp->pos != '"'
                || ngx_palette_cert_json_name(jp, &s) != NGX_OK))
        {
            jp->error = "the body is not valid JSON";
            return NGX_ERROR;
        }

        if (ngx_palette_cert_json_skip(jp, depth + 1) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_palette_cert_json_next(jp, close,
                                        "the body is not valid JSON",
                                        "the body is not valid JSON");
    }

    return rc;
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


/* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */

ngx_uint_t
ngx_palette_cert_id_valid(u_char *id, size_t len)
{
    u_char      c;
    ngx_uint_t  i;

    if (len == 0 || len > NGX_PALETTE_CERT_ID_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = id[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (i > 0 && (c == '.' || c == '_' || c == '-')) {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * What the URI after the API's location names: nothing is the default
 * certificate, "/" the list, "/ID" a named certificate; id points into p.
 */

ngx_uint_t
ngx_palette_cert_resource(u_char *p, size_t len, ngx_str_t *id)
{
    ngx_str_null(id);

    if (len == 0) {
        return NGX_PALETTE_CERT_RES_DEFAULT;
    }

    if (p[0] != '/') {
        return NGX_PALETTE_CERT_RES_NONE;
    }

    if (len == 1) {
        return NGX_PALETTE_CERT_RES_LIST;
    }

    if (!ngx_palette_cert_id_valid(p + 1, len - 1)) {
        return NGX_PALETTE_CERT_RES_NONE;
    }

    id->data = p + 1;
    id->len = len - 1;

    return NGX_PALETTE_CERT_RES_NAMED;
}


/*
 * The query's argument at p: its name and value (nothing decoded), and
 * where the next one begins.
 */

static u_char *
ngx_palette_cert_next_arg(u_char *p, u_char *last, u_char **name,
    size_t *nlen, u_char **value, size_t *vlen)
{
    u_char  *end, *eq;

    end = ngx_strlchr(p, last, '&');
    if (end == NULL) {
        end = last;
    }

    *name = p;

    eq = ngx_strlchr(p, end, '=');

    if (eq == NULL) {
        *nlen = end - p;
        *value = end;
        *vlen = 0;

    } else {
        *nlen = eq - p;
        *value = eq + 1;
        *vlen = end - (eq + 1);
    }

    return (end < last) ? end + 1 : last;
}


/*
 * The list's query string: "limit=N" (1 to 1000) and "after=ID"; other
 * arguments are left to others.  The first of each counts, as with
 * nginx's $arg_ variables.  q->after points into p.
 */

ngx_int_t
ngx_palette_cert_parse_list_query(u_char *p, size_t len,
    ngx_palette_cert_list_query_t *q)
{
    u_char      *last, *name, *value;
    size_t       nlen, vlen;
    ngx_uint_t   i, limit, seen_limit, seen_after;

    q->limit = NGX_PALETTE_CERT_LIST_LIMIT;
    ngx_str_null(&q->after);
    q->error = NULL;

    last = p + len;
    seen_limit = 0;
    seen_after = 0;

    while (p < last) {
        p = ngx_palette_cert_next_arg(p, last, &name, &nlen, &value, &vlen);

        if (nlen == 5 && ngx_strncmp(name, "limit", 5) == 0) {
            if (seen_limit++) {
                continue;
            }

            limit = 0;

            for (i = 0; i < vlen; i++) {
                if (value[i] < '0' || value[i] > '9'
                    || limit > NGX_PALETTE_CERT_LIST_MAX)
                {
                    break;
                }

                limit = limit * 10 + (value[i] - '0');
            }

            if (vlen == 0 || i < vlen || limit < 1
                || limit > NGX_PALETTE_CERT_LIST_MAX)
            {
                q->error = "limit must be a whole number from 1 to 1000";
                return NGX_ERROR;
            }

            q->limit = limit;
            continue;
        }

        if (nlen == 5 && ngx_strncmp(name, "after", 5) == 0) {
            if (seen_after++) {
                continue;
            }

            if (vlen && !ngx_palette_cert_id_valid(value, vlen)) {
                q->error = "after must be a certificate id, as \"next\" in "
                           "the list gives it";
                return NGX_ERROR;
            }

            q->after.data = value;
            q->after.len = vlen;
        }
    }

    return NGX_OK;
}


/*
 * What a certificate's query asks for besides the certificate itself:
 * "history", "rollback=GEN", "activate_at=RFC3339", "staged" or "csr",
 * one of them at most; other arguments are left to others.  The first
 * of each counts, as with nginx's $arg_ variables.  The query is not
 * written: activate_at's value is decoded into a buffer of its own.
 */

ngx_int_t
ngx_palette_cert_parse_action(u_char *p, size_t len,
    ngx_palette_cert_action_t *a)
{
    u_char      *last, *name, *value, *d;
    u_char       buf[NGX_PALETTE_CERT_TIME_LEN];
    size_t       nlen, vlen;
    ngx_int_t    n;
    ngx_uint_t   i, action, gen;

    static const char  *names[] = {
        NULL, "history", "rollback", "activate_at", "staged", "csr"
    };

    a->action = NGX_PALETTE_CERT_ACT_NONE;
    a->generation = 0;
    a->time = 0;
    a->error = NULL;

    last = p + len;

    while (p < last) {
        p = ngx_palette_cert_next_arg(p, last, &name, &nlen, &value, &vlen);

        for (action = 1; action < sizeof(names) / sizeof(names[0]); action++) {
            if (nlen == ngx_strlen(names[action])
                && ngx_strncmp(name, names[action], nlen) == 0)
            {
                break;
            }
        }

        if (action == sizeof(names) / sizeof(names[0])
            || action == a->action)
        {
            continue;
        }

        if (a->action != NGX_PALETTE_CERT_ACT_NONE) {
            a->error = "ask for one of history, rollback, activate_at, "
                       "staged and csr at a time";
            return NGX_ERROR;
        }

        a->action = action;

        if (action == NGX_PALETTE_CERT_ACT_ROLLBACK) {
            gen = 0;

            for (i = 0; i < vlen; i++) {
                if (value[i] < '0' || value[i] > '9'
                    || gen >= NGX_MAX_INT_T_VALUE / 10)
                {
                    break;
                }

                gen = gen * 10 + (value[i] - '0');
            }

            if (vlen == 0 || i < vlen || gen == 0) {
                a->error = "rollback must name a generation of the history, "
                           "a whole number";
                return NGX_ERROR;
            }

            a->generation = gen;
            continue;
        }

        if (action != NGX_PALETTE_CERT_ACT_ACTIVATE) {
            continue;
        }

        /* %XX decoded ("+" is a plus sign: an offset, not a space) */

        d = buf;

        for (i = 0; i < vlen; i++) {

            if (d == buf + sizeof(buf)) {
                goto bad_time;
            }

            if (value[i] != '%') {
                *d++ = value[i];
                continue;
            }

            if (vlen - i < 3) {
                goto bad_time;
            }

            n = ngx_hextoi(&value[i + 1], 2);
            if (n == NGX_ERROR) {
                goto bad_time;
            }

            *d++ = (u_char) n;
            i += 2;
        }

        a->time = ngx_palette_cert_parse_rfc3339(buf, d - buf);

        if (a->time == NGX_ERROR) {
            goto bad_time;
        }
    }

    return NGX_OK;

bad_time:

    a->error = "activate_at must be a time as RFC 3339 writes it, such as "
               "2027-01-31T02:00:00Z";
    return NGX_ERROR;
}


/*
 * An RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, optional fractional seconds
 * (ignored), then Z or an offset +HH:MM / -HH:MM; NGX_ERROR otherwise.
 * Years from 1970 to 9999; leap seconds are not taken.
 */

time_t
ngx_palette_cert_parse_rfc3339(u_char *p, size_t len)
{
    u_char     *last;
    time_t      t;
    int64_t     y, m, d, hh, mm, ss, off;
    ngx_uint_t  i;

    static const u_char  mdays[] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    last = p + len;

    if (len < 20) {
        return NGX_ERROR;
    }

    for (i = 0; i < 19; i++) {
        if (i == 4 || i == 7) {
            if (p[i] != '-') {
                return NGX_ERROR;
            }

        } else if (i == 10) {
            if (p[i] != 'T' && p[i] != 't') {
                return NGX_ERROR;
            }

        } else if (i == 13 || i == 16) {
            if (p[i] != ':') {
                return NGX_ERROR;
            }

        } else if (p[i] < '0' || p[i] > '9') {
            return NGX_ERROR;
        }
    }

    y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10
        + (p[3] - '0');
    m = (p[5] - '0') * 10 + (p[6] - '0');
    d = (p[8] - '0') * 10 + (p[9] - '0');
    hh = (p[11] - '0') * 10 + (p[12] - '0');
    mm = (p[14] - '0') * 10 + (p[15] - '0');
    ss = (p[17] - '0') * 10 + (p[18] - '0');

    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]
        || (m == 2 && d == 29
            && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        || hh > 23 || mm > 59 || ss > 59)
    {
        return NGX_ERROR;
    }

    p += 19;

    if (*p == '.') {
        p++;

        if (p == last || *p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p == last) {
        return NGX_ERROR;
    }

    if ((*p == 'Z' || *p == 'z') && p + 1 == last) {
        off = 0;

    } else if ((*p == '+' || *p == '-') && last - p == 6
               && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'
               && p[3] == ':'
               && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9')
    {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600
              + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;

        if ((p[1] - '0') * 10 + (p[2] - '0') > 23
            || (p[4] - '0') * 10 + (p[5] - '0') > 59)
        {
            return NGX_ERROR;
        }

        if (*p == '-') {
            off = -off;
        }

    } else {
        return NGX_ERROR;
    }

    t = ngx_palette_cert_timegm(y, m, d, hh, mm, ss) - off;

    return (t < 0) ? NGX_ERROR : t;
}


/* seconds since the epoch of a UTC date: days from the civil calendar */

time_t
ngx_palette_cert_timegm(ngx_uint_t year, ngx_uint_t month, ngx_uint_t day,
    ngx_uint_t hour, ngx_uint_t min, ngx_uint_t sec)
{
    int64_t  y, era, yoe, doy, doe, days;

    y = (int64_t) year - (month <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * ((int64_t) month + (month > 2 ? -3 : 9)) + 2) / 5
          + (int64_t) day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    return (time_t) (days * 86400 + (int64_t) hour * 3600
                     + (int64_t) min * 60 + (int64_t) sec);
}


/*
 * The host name of a server_name extension (RFC 6066, section 3) as a
 * client hello carries it, lowercase and without a trailing dot, into
 * host (NGX_PALETTE_CERT_HOST_LEN bytes).  NGX_DECLINED: it names no
 * host, or one no certificate can be for; NGX_ERROR: it is malformed.
 */

ngx_int_t
ngx_palette_cert_parse_sni(const u_char *p, size_t len, u_char *host,
    size_t *host_len)
{
    size_t         list, n;
    ngx_uint_t     type;
    const u_char  *last;

    if (len < 2) {
        return NGX_ERROR;
    }

    list = ((size_t) p[0] << 8) | p[1];
    p += 2;

    if (list != len - 2) {
        return NGX_ERROR;
    }

    last = p + list;

    while (p < last) {
        if (last - p < 3) {
            return NGX_ERROR;
        }

        type = p[0];
        n = ((size_t) p[1] << 8) | p[2];
        p += 3;

        if ((size_t) (last - p) < n) {
            return NGX_ERROR;
        }

        if (type != 0) {
            p += n;
            continue;
        }

        return ngx_palette_cert_host(p, n, host, host_len);
    }

    return NGX_DECLINED;
}


/*
 * A host name as certificates are looked up by: lowercase, without a
 * trailing dot, into host (NGX_PALETTE_CERT_HOST_LEN bytes); NGX_DECLINED
 * for one no certificate can be for.
 */

ngx_int_t
ngx_palette_cert_host(const u_char *p, size_t n, u_char *host,
    size_t *host_len)
{
    u_char      c;
    ngx_uint_t  i;

    if (n && p[n - 1] == '.') {
        n--;
    }

    /* a name still ending in a dot, "a..", has an empty label */

    if (n == 0 || n > NGX_PALETTE_CERT_HOST_LEN || p[n - 1] == '.') {
        return NGX_DECLINED;
    }

    for (i = 0; i < n; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;

        } else if (c <= ' ' || c >= 0x7f || c == '/') {
            return NGX_DECLINED;
        }

        host[i] = c;
    }

    *host_len = n;

    return NGX_OK;
}


/*
 * Whether an Accept header asks for OpenMetrics: one of its media ranges
 * is application/openmetrics-text with a q above 0.  Nothing else is
 * judged: the text format is the answer otherwise.
 */

ngx_uint_t
ngx_palette_cert_wants_openmetrics(u_char *p, size_t len)
{
    u_char      *last, *end, *s, *v;
    size_t       n;
    ngx_uint_t   i;

    static u_char  type[] = "application/openmetrics-text";

    last = p + len;

    while (p < last) {

        /* a media range: up to the next comma */

        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        n = sizeof(type) - 1;

        if ((size_t) (end - p) >= n && ngx_strncasecmp(p, type, n) == 0
            && (p + n == end || p[n] == ';' || p[n] == ' ' || p[n] == '\t'))
        {
            /* its parameters: q=0 (0.0, 0.00, 0.000) refuses it */

            for (s = p + n; s < end; s++) {
                if (*s != ';') {
                    continue;
                }

                v = s + 1;

                while (v < end && (*v == ' ' || *v == '\t')) {
                    v++;
                }

                if (end - v < 2 || (v[0] != 'q' && v[0] != 'Q') || v[1] != '=')
                {
                    continue;
                }

                v += 2;

                if (v < end && *v == '0') {
                    v++;

                    /* a qvalue has at most three decimals */

                    if (v < end && *v == '.') {
                        v++;

                        for (i = 0; i < 3 && v < end && *v == '0'; i++) {
                            v++;
                        }
                    }

                    if (v == end || *v == ';' || *v == ' ' || *v == '\t') {
                        break;
                    }
                }
            }

            if (s == end) {
                return 1;
            }
        }

        p = end + 1;
    }

    return 0;
}
