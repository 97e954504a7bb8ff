
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_csr(), the parser of the JSON body of
 * POST ?csr: {"names": [...], "key_type": "...", "subject": "..."|null}.
 * Beyond memory safety: an error is set, and not empty, if and only if
 * the parser fails, and the field it blames is one of the three or none;
 * it fails if and only if a reading of the body written here
 * independently does (JSON as the module takes it, nested at most 32
 * deep, members it does not use skipped; "names" an array of at most 100
 * strings, "key_type" a string, "subject" a string or null, none given
 * twice); on success the has_ flags, the number of names and where each
 * value starts are what that reading finds, and every value lies inside
 * the body and is the decoding of its JSON string
 * (ngx_palette_cert_fuzz_json_value()).  A body with no member either
 * parser handles itself is taken or refused by the upload parser,
 * ngx_palette_cert_parse_json(), alike.
 */


#include "ngx_palette_cert_fuzz.h"


/* as deep as the module skips: NGX_PALETTE_CERT_JSON_DEPTH in body.c */
#define NGX_PALETTE_CERT_FUZZ_DEPTH  32


/* what the reading here finds: offsets of the strings' text in the body */

typedef struct {
    size_t      names[NGX_PALETTE_CERT_CSR_NAMES];
    ngx_uint_t  nnames;
    size_t      key_type;
    size_t      subject;
    unsigned    has_names:1;
    unsigned    has_key_type:1;
    unsigned    has_subject:1;
    unsigned    subject_null:1;

    /* a member the CSR or the upload parser handles itself was seen */
    unsigned    special:1;
} ngx_palette_cert_fuzz_csr_t;


static void ngx_palette_cert_fuzz_value(ngx_str_t *value, ngx_uint_t has,
    size_t off, u_char *buf, u_char *orig, size_t len);
static ngx_int_t ngx_palette_cert_fuzz_expect(u_char *p, size_t len,
    u_char *scratch, ngx_palette_cert_fuzz_csr_t *e);
static u_char *ngx_palette_cert_fuzz_member(u_char *p, u_char *last,
    u_char *start, ngx_str_t *name, u_char *scratch,
    ngx_palette_cert_fuzz_csr_t *e);
static u_char *ngx_palette_cert_fuzz_names(u_char *p, u_char *last,
    u_char *start, u_char *scratch, ngx_palette_cert_fuzz_csr_t *e);
static u_char *ngx_palette_cert_fuzz_skip(u_char *p, u_char *last,
    u_char *scratch, ngx_uint_t depth);
static u_char *ngx_palette_cert_fuzz_literal(u_char *p, u_char *last,
    ngx_str_t *lit);
static ngx_int_t ngx_palette_cert_fuzz_next(u_char **pp, u_char *last,
    u_char close);
static u_char *ngx_palette_cert_fuzz_ws(u_char *p, u_char *last);
static ngx_uint_t ngx_palette_cert_fuzz_is(ngx_str_t *name, char *s);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *buf, *scratch, *upload;
    ngx_int_t                       rc, expect;
    ngx_uint_t                      i;
    ngx_palette_cert_fields_t       f;
    ngx_palette_cert_csr_fields_t   c;
    ngx_palette_cert_fuzz_csr_t     e;

    buf = ngx_palette_cert_fuzz_copy(data, size);
    scratch = ngx_palette_cert_fuzz_copy(data, size);

    ngx_memset(&c, 0xa5, sizeof(ngx_palette_cert_csr_fields_t));

    rc = ngx_palette_cert_parse_csr(buf, size, &c);

    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_ERROR);

    expect = ngx_palette_cert_fuzz_expect((u_char *) data, size, scratch, &e);

    ngx_palette_cert_fuzz_check(rc == expect);

    if (rc != NGX_OK) {
        ngx_palette_cert_fuzz_check(c.error != NULL);
        ngx_palette_cert_fuzz_check(c.error[0] != '\0');
        ngx_palette_cert_fuzz_check(c.field == NULL
                                    || ngx_strcmp(c.field, "names") == 0
                                    || ngx_strcmp(c.field, "key_type") == 0
                                    || ngx_strcmp(c.field, "subject") == 0);

    } else {
        ngx_palette_cert_fuzz_check(c.error == NULL);
        ngx_palette_cert_fuzz_check(c.field == NULL);

        ngx_palette_cert_fuzz_check(c.has_names == e.has_names);
        ngx_palette_cert_fuzz_check(c.has_key_type == e.has_key_type);
        ngx_palette_cert_fuzz_check(c.has_subject == e.has_subject);

        ngx_palette_cert_fuzz_check(c.nnames <= NGX_PALETTE_CERT_CSR_NAMES);
        ngx_palette_cert_fuzz_check(c.nnames == e.nnames);

        for (i = 0; i < c.nnames; i++) {
            ngx_palette_cert_fuzz_value(&c.names[i], 1, e.names[i], buf,
                                        (u_char *) data, size);
        }

        ngx_palette_cert_fuzz_value(&c.key_type, c.has_key_type, e.key_type,
                                    buf, (u_char *) data, size);

        /* null is as if no subject were given */

        ngx_palette_cert_fuzz_value(&c.subject,
                                    c.has_subject && !e.subject_null,
                                    e.subject, buf, (u_char *) data, size);
    }

    /*
     * With none of "names", "key_type", "subject", "certificate", "key"
     * and "ca" up to where the reading here stopped, both parsers only
     * read JSON up to there.
     */

    if (!e.special) {
        upload = ngx_palette_cert_fuzz_copy(data, size);
        ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

        ngx_palette_cert_fuzz_check(
            ngx_palette_cert_parse_json(upload, size, &f) == rc);

        free(upload);
    }

    free(scratch);
    free(buf);

    return 0;
}


/*
 * A value given lies inside the body, where the reading here found its
 * string, and is that string decoded; a value not given is empty.
 */

static void
ngx_palette_cert_fuzz_value(ngx_str_t *value, ngx_uint_t has, size_t off,
    u_char *buf, u_char *orig, size_t len)
{
    if (!has) {
        ngx_palette_cert_fuzz_check(value->len == 0 && value->data == NULL);
        return;
    }

    ngx_palette_cert_fuzz_check(ngx_palette_cert_fuzz_inside(value, buf,
                                                             len));
    ngx_palette_cert_fuzz_check(value->data == buf + off);

    ngx_palette_cert_fuzz_json_value(value, buf, orig, len);
}


/*
 * What the body should give: NGX_ERROR unless it is one JSON object, with
 * white space around, whose members are well-formed and, if one of the
 * three the request uses, of its type and not given before.  Member
 * names are decoded into scratch, as long as the body.
 */

static ngx_int_t
ngx_palette_cert_fuzz_expect(u_char *p, size_t len, u_char *scratch,
    ngx_palette_cert_fuzz_csr_t *e)
{
    u_char     *start, *last;
    size_t      n;
    ngx_int_t   rc;
    ngx_str_t   name;

    ngx_memzero(e, sizeof(ngx_palette_cert_fuzz_csr_t));

    start = p;
    last = p + len;

    p = ngx_palette_cert_fuzz_ws(p, last);

    if (p == last || *p != '{') {
        return NGX_ERROR;
    }

    p = ngx_palette_cert_fuzz_ws(p + 1, last);

    if (p < last && *p == '}') {
        p = ngx_palette_cert_fuzz_ws(p + 1, last);
        return (p == last) ? NGX_OK : NGX_ERROR;
    }

    for ( ;; ) {
        if (p == last || *p != '"') {
            return NGX_ERROR;
        }

        p = ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);
        if (p == NULL) {
            return NGX_ERROR;
        }

        name.data = scratch;
        name.len = n;

        p = ngx_palette_cert_fuzz_ws(p, last);

        if (p == last || *p != ':') {
            return NGX_ERROR;
        }

        p = ngx_palette_cert_fuzz_ws(p + 1, last);

        if (p == last) {
            return NGX_ERROR;
        }

        p = ngx_palette_cert_fuzz_member(p, last, start, &name, scratch, e);
        if (p == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_palette_cert_fuzz_next(&p, last, '}');

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DONE) {
            break;
        }
    }

    p = ngx_palette_cert_fuzz_ws(p, last);

    return (p == last) ? NGX_OK : NGX_ERROR;
}


/* a member's value at p: the end of the value, or NULL */

static u_char *
ngx_palette_cert_fuzz_member(u_char *p, u_char *last, u_char *start,
    ngx_str_t *name, u_char *scratch, ngx_palette_cert_fuzz_csr_t *e)
{
    size_t            n;
    static ngx_str_t  null = ngx_string("null");

    if (ngx_palette_cert_fuzz_is(name, "certificate")
        || ngx_palette_cert_fuzz_is(name, "key")
        || ngx_palette_cert_fuzz_is(name, "ca"))
    {
        e->special = 1;
    }

    if (ngx_palette_cert_fuzz_is(name, "names")) {
        e->special = 1;

        if (e->has_names) {
            return NULL;
        }

        e->has_names = 1;

        return ngx_palette_cert_fuzz_names(p, last, start, scratch, e);
    }

    if (ngx_palette_cert_fuzz_is(name, "key_type")) {
        e->special = 1;

        if (e->has_key_type || *p != '"') {
            return NULL;
        }

        e->has_key_type = 1;
        e->key_type = p + 1 - start;

        return ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);
    }

    if (ngx_palette_cert_fuzz_is(name, "subject")) {
        e->special = 1;

        if (e->has_subject) {
            return NULL;
        }

        e->has_subject = 1;

        if (ngx_palette_cert_fuzz_literal(p, last, &null) != NULL) {
            e->subject_null = 1;
            return p + null.len;
        }

        if (*p != '"') {
            return NULL;
        }

        e->subject = p + 1 - start;

        return ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);
    }

    return ngx_palette_cert_fuzz_skip(p, last, scratch, 0);
}


/* "names": an array of at most NGX_PALETTE_CERT_CSR_NAMES strings */

static u_char *
ngx_palette_cert_fuzz_names(u_char *p, u_char *last, u_char *start,
    u_char *scratch, ngx_palette_cert_fuzz_csr_t *e)
{
    size_t     n;
    ngx_int_t  rc;

    if (*p != '[') {
        return NULL;
    }

    p = ngx_palette_cert_fuzz_ws(p + 1, last);

    if (p < last && *p == ']') {
        return p + 1;
    }

    for ( ;; ) {
        if (p == last || *p != '"'
            || e->nnames == NGX_PALETTE_CERT_CSR_NAMES)
        {
            return NULL;
        }

        e->names[e->nnames++] = p + 1 - start;

        p = ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);
        if (p == NULL) {
            return NULL;
        }

        rc = ngx_palette_cert_fuzz_next(&p, last, ']');

        if (rc != NGX_OK) {
            return (rc == NGX_DONE) ? p : NULL;
        }
    }
}


/*
 * A value the request does not use, depth levels below a member's: the
 * end of the value, or NULL.  Numbers are taken as loosely as the module
 * takes them, any run of digits, signs, dots and exponents.
 */

static u_char *
ngx_palette_cert_fuzz_skip(u_char *p, u_char *last, u_char *scratch,
    ngx_uint_t depth)
{
    u_char            close;
    size_t            n;
    ngx_int_t         rc;
    static u_char     number[] = "0123456789+-.eE";
    static ngx_str_t  lits[] = {
        ngx_string("true"), ngx_string("false"), ngx_string("null")
    };

    if (depth >= NGX_PALETTE_CERT_FUZZ_DEPTH || p == last) {
        return NULL;
    }

    switch (*p) {

    case '"':
        return ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);

    case 't':
        return ngx_palette_cert_fuzz_literal(p, last, &lits[0]);

    case 'f':
        return ngx_palette_cert_fuzz_literal(p, last, &lits[1]);

    case 'n':
        return ngx_palette_cert_fuzz_literal(p, last, &lits[2]);

    case '[':
        close = ']';
        break;

    case '{':
        close = '}';
        break;

    default:
        if (*p != '-' && (*p < '0' || *p > '9')) {
            return NULL;
        }

        while (p < last
               && ngx_strlchr(number, number + sizeof(number) - 1, *p))
        {
            p++;
        }

        return p;
    }

    p = ngx_palette_cert_fuzz_ws(p + 1, last);

    if (p < last && *p == close) {
        return p + 1;
    }

    for ( ;; ) {
        if (close == '}') {
            if (p == last || *p != '"') {
                return NULL;
            }

            p = ngx_palette_cert_fuzz_json_string(p + 1, last, scratch, &n);
            if (p == NULL) {
                return NULL;
            }

            p = ngx_palette_cert_fuzz_ws(p, last);

            if (p == last || *p != ':') {
                return NULL;
            }

            p = ngx_palette_cert_fuzz_ws(p + 1, last);
        }

        p = ngx_palette_cert_fuzz_skip(p, last, scratch, depth + 1);
        if (p == NULL) {
            return NULL;
        }

        rc = ngx_palette_cert_fuzz_next(&p, last, close);

        if (rc != NGX_OK) {
            return (rc == NGX_DONE) ? p : NULL;
        }
    }
}


/* the end of lit at p, or NULL when p does not start with it */

static u_char *
ngx_palette_cert_fuzz_literal(u_char *p, u_char *last, ngx_str_t *lit)
{
    if ((size_t) (last - p) < lit->len
        || ngx_memcmp(p, lit->data, lit->len) != 0)
    {
        return NULL;
    }

    return p + lit->len;
}


/*
 * After a member or an element: white space, then close, which ends the
 * object or the array (NGX_DONE, *pp past it), or "," and white space
 * (NGX_OK, *pp at the next one); anything else is NGX_ERROR.
 */

static ngx_int_t
ngx_palette_cert_fuzz_next(u_char **pp, u_char *last, u_char close)
{
    u_char  *p;

    p = ngx_palette_cert_fuzz_ws(*pp, last);

    if (p == last || (*p != close && *p != ',')) {
        return NGX_ERROR;
    }

    if (*p == close) {
        *pp = p + 1;
        return NGX_DONE;
    }

    *pp = ngx_palette_cert_fuzz_ws(p + 1, last);

    return NGX_OK;
}


static u_char *
ngx_palette_cert_fuzz_ws(u_char *p, u_char *last)
{
    while (p < last
           && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p;
}


static ngx_uint_t
ngx_palette_cert_fuzz_is(ngx_str_t *name, char *s)
{
    return name->len == ngx_strlen(s)
           && ngx_memcmp(name->data, s, name->len) == 0;
}
