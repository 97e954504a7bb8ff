
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Keys that never travel: POST RES?csr makes a private key inside nginx
 * and answers with a certificate signing request (PKCS#10) for the names
 * asked.  The key is the resource's pending key: kept in the zone and in
 * the store (STORE[/named/ID]/csr/key.pem, mode 0600), never returned or
 * logged, and used by the next upload of the resource that has no key.
 *
 * The request is checked in the event loop; the key and the request are
 * made by ngx_palette_cert_csr_make(), which touches neither the zone nor
 * the request, so that a thread runs it (an RSA 3072 key takes a good
 * part of a second).
 */


#include "ngx_palette_cert.h"


static ngx_int_t ngx_palette_cert_csr_name(ngx_str_t *name);
static ngx_int_t ngx_palette_cert_csr_key_type(
    ngx_palette_cert_csr_fields_t *c, ngx_palette_cert_csr_t *csr,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_csr_join(ngx_palette_cert_csr_fields_t *c,
    ngx_palette_cert_csr_t *csr, size_t len, ngx_pool_t *pool);
static ngx_int_t ngx_palette_cert_csr_zone_names(
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_csr_fields_t *c,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_csr_subject(X509_NAME *xn,
    ngx_str_t *subject, X509_NAME **out);
static EVP_PKEY *ngx_palette_cert_csr_key(ngx_uint_t type);
static ngx_int_t ngx_palette_cert_csr_san(ngx_palette_cert_csr_t *csr,
    X509_REQ *req);
static GENERAL_NAME *ngx_palette_cert_csr_general_name(ngx_str_t *name);
static ngx_int_t ngx_palette_cert_csr_loaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files);


static const char  *ngx_palette_cert_csr_types[] = {
    "EC P-256", "EC P-384", "RSA 2048", "RSA 3072", NULL
};


/*
 * What POST RES?csr asked for, checked: names valid and lowercase, a key
 * type known, a subject of KEY=VALUE parts; for the default, names that
 * cover the zone's names=.  NGX_DECLINED with err set when refused.
 */

ngx_int_t
ngx_palette_cert_csr_check(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_csr_fields_t *c, ngx_uint_t named,
    ngx_palette_cert_csr_t *csr, ngx_pool_t *pool,
    ngx_palette_cert_error_t *err)
{
    size_t       len;
    ngx_int_t    rc;
    ngx_uint_t   i;
    X509_NAME   *xn;

    ngx_memzero(csr, sizeof(ngx_palette_cert_csr_t));

    if (c->nnames == 0) {
        ngx_palette_cert_error(err, NGX_HTTP_BAD_REQUEST, "malformed_request",
                               "names", "\"names\" must list the DNS names "
                               "and IP addresses the certificate is for");
        return NGX_DECLINED;
    }

    len = 0;

    for (i = 0; i < c->nnames; i++) {

        if (ngx_palette_cert_csr_name(&c->names[i]) != NGX_OK) {
            ngx_palette_cert_error(err, NGX_HTTP_BAD_REQUEST,
                                   "malformed_request", "names",
                                   "\"%*s\" in \"names\" is neither a DNS "
                                   "name (a wildcard only as the first "
                                   "label) nor an IP address",
                                   ngx_min(c->names[i].len, 256),
                                   c->names[i].data);
            return NGX_DECLINED;
        }

        len += c->names[i].len + 1;
    }

    if (ngx_palette_cert_csr_key_type(c, csr, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (c->subject.len) {
        xn = NULL;
        rc = ngx_palette_cert_csr_subject(NULL, &c->subject, &xn);

        if (xn) {
            X509_NAME_free(xn);
        }

        if (rc != NGX_OK) {
            ngx_palette_cert_error(err, NGX_HTTP_BAD_REQUEST,
                                   "malformed_request", "subject",
                                   "\"subject\" must be KEY=VALUE parts "
                                   "separated by commas, such as "
                                   "\"CN=www.example.com, O=Example\", with "
                                   "the keys CN, O, OU, L, ST and C");
            return NGX_DECLINED;
        }

        csr->subject = c->subject;
    }

    if (ngx_palette_cert_csr_join(c, csr, len, pool) != NGX_OK) {
        return NGX_ERROR;
    }

    if (named) {
        return NGX_OK;
    }

    return ngx_palette_cert_csr_zone_names(zone, c, err);
}


/* "key_type": one of those a key is made of */

static ngx_int_t
ngx_palette_cert_csr_key_type(ngx_palette_cert_csr_fields_t *c,
    ngx_palette_cert_csr_t *csr, ngx_palette_cert_error_t *err)
{
    ngx_uint_t  i;

    for (i = 0; ngx_palette_cert_csr_types[i]; i++) {
        if (c->key_type.len == ngx_strlen(ngx_palette_cert_csr_types[i])
            && ngx_strncmp(c->key_type.data, ngx_palette_cert_csr_types[i],
                           c->key_type.len)
               == 0)
        {
            break;
        }
    }

    if (ngx_palette_cert_csr_types[i] == NULL) {
        ngx_palette_cert_error(err, NGX_HTTP_BAD_REQUEST, "malformed_request",
                               "key_type", "\"key_type\" must be one of "
                               "\"EC P-256\", \"EC P-384\", \"RSA 2048\" and "
                               "\"RSA 3072\"");
        return NGX_DECLINED;
    }

    csr->type = i;
    csr->key_type.data = (u_char *) ngx_palette_cert_csr_types[i];
    csr->key_type.len = ngx_strlen(ngx_palette_cert_csr_types[i]);

    return NGX_OK;
}


/* the names, lowercase, comma-separated, each once (len bytes at most) */

static ngx_int_t
ngx_palette_cert_csr_join(ngx_palette_cert_csr_fields_t *c,
    ngx_palette_cert_csr_t *csr, size_t len, ngx_pool_t *pool)
{
    u_char      *p;
    ngx_uint_t   i, k, n;

    csr->names.data = ngx_pnalloc(pool, len);
    if (csr->names.data == NULL) {
        return NGX_ERROR;
    }

    p = csr->names.data;
    n = 0;

    for (i = 0; i < c->nnames; i++) {

        ngx_strlow(c->names[i].data, c->names[i].data, c->names[i].len);

        for (k = 0; k < i; k++) {
            if (c->names[k].len == c->names[i].len
                && ngx_strncmp(c->names[k].data, c->names[i].data,
                               c->names[i].len)
                   == 0)
            {
                break;
            }
        }

        if (k < i) {
            continue;
        }

        if (n++) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, c->names[i].data, c->names[i].len);
    }

    csr->names.len = p - csr->names.data;

    return NGX_OK;
}


/* the default is served for names=: the request must cover them */

static ngx_int_t
ngx_palette_cert_csr_zone_names(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_csr_fields_t *c, ngx_palette_cert_error_t *err)
{
    u_char      *m, *last, missing[512];
    ngx_str_t   *zn;
    ngx_uint_t   i, k, n;

    zn = zone->names.elts;
    m = missing;
    last = missing + sizeof(missing) - 1;
    n = 0;

    for (i = 0; i < zone->names.nelts; i++) {

        for (k = 0; k < c->nnames; k++) {
            if (ngx_palette_cert_csr_covers(&c->names[k], &zn[i])) {
                break;
            }
        }

        if (k == c->nnames) {
            m = ngx_slprintf(m, last, "%s%V", n++ ? ", " : "", &zn[i]);
        }
    }

    if (n) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "name_mismatch", "names",
                               "the default certificate is served for the "
                               "names of \"palette_cert_zone\"; add %*s to "
                               "\"names\"", m - missing, missing);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* whether a name of the request covers a name of names= (a wildcard too) */

ngx_uint_t
ngx_palette_cert_csr_covers(ngx_str_t *name, ngx_str_t *want)
{
    u_char  *dot;

    if (name->len == want->len
        && ngx_strncasecmp(name->data, want->data, want->len) == 0)
    {
        return 1;
    }

    if (name->len < 3 || name->data[0] != '*' || name->data[1] != '.') {
        return 0;
    }

    dot = ngx_strlchr(want->data, want->data + want->len, '.');

    return dot
           && dot > want->data
           && (size_t) (want->data + want->len - dot) == name->len - 1
           && ngx_strncasecmp(dot, name->data + 1, name->len - 1) == 0
           && !ngx_palette_cert_is_ip(want);
}


/* an IP address, or a DNS name with at most a wildcard as its first label */

static ngx_int_t
ngx_palette_cert_csr_name(ngx_str_t *name)
{
    u_char      *p, *last, c;
    size_t       label;

    if (name->len == 0 || name->len > NGX_PALETTE_CERT_HOST_LEN) {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_is_ip(name)) {
        return NGX_OK;
    }

    p = name->data;
    last = p + name->len;

    if (name->len > 2 && p[0] == '*' && p[1] == '.') {
        p += 2;
    }

    label = 0;

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (c == '.') {
            if (label == 0 || p[-1] == '-') {
                return NGX_ERROR;
            }

            label = 0;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || (c == '-' && label > 0)))
        {
            return NGX_ERROR;
        }

        if (++label > 63) {
            return NGX_ERROR;
        }
    }

    return (label > 0 && last[-1] != '-') ? NGX_OK : NGX_ERROR;
}


/*
 * "CN=a, O=b" into a new name (out), or into xn: KEY=VALUE parts, keys
 * among CN, O, OU, L, ST and C, values not empty.
 */

static ngx_int_t
ngx_palette_cert_csr_subject(X509_NAME *xn, ngx_str_t *subject,
    X509_NAME **out)
{
    u_char      *p, *last, *key, *eq, *end, *v, *ve, buf[8];
    size_t       klen;
    ngx_uint_t   i;

    static const char  *keys[] = { "CN", "O", "OU", "L", "ST", "C", NULL };

    if (xn == NULL) {
        xn = X509_NAME_new();
        if (xn == NULL) {
            return NGX_ERROR;
        }
    }

    *out = xn;

    p = subject->data;
    last = p + subject->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == ',')) {
            p++;
        }

        if (p == last) {
            break;
        }

        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(p, end, '=');
        if (eq == NULL) {
            return NGX_ERROR;
        }

        key = p;
        klen = eq - key;

        while (klen && key[klen - 1] == ' ') {
            klen--;
        }

        v = eq + 1;
        ve = end;

        while (v < ve && *v == ' ') {
            v++;
        }

        while (ve > v && ve[-1] == ' ') {
            ve--;
        }

        if (klen == 0 || klen >= sizeof(buf) || v == ve || ve - v > 64) {
            return NGX_ERROR;
        }

        ngx_memcpy(buf, key, klen);
        buf[klen] = '\0';

        for (i = 0; keys[i]; i++) {
            if (ngx_strcasecmp(buf, (u_char *) keys[i]) == 0) {
                break;
            }
        }

        if (keys[i] == NULL || (i == 5 && ve - v != 2)) {
            return NGX_ERROR;
        }

        if (X509_NAME_add_entry_by_txt(xn, keys[i], MBSTRING_UTF8, v,
                                       (int) (ve - v), -1, 0)
            != 1)
        {
            ERR_clear_error();
            return NGX_ERROR;
        }

        p = end;
    }

    return X509_NAME_entry_count(xn) ? NGX_OK : NGX_ERROR;
}


/*
 * Makes the key and the request: csr->key and csr->req, PEM, ngx_alloc()ed
 * (the key cleansed by ngx_palette_cert_csr_free()).  It may run in a
 * thread: it reads csr only.
 */

ngx_int_t
ngx_palette_cert_csr_make(ngx_palette_cert_csr_t *csr)
{
    BIO        *bio;
    u_char     *end;
    X509_REQ   *req;
    EVP_PKEY   *key;
    ngx_int_t   rc;
    X509_NAME  *xn;

    rc = NGX_ERROR;

    req = NULL;
    bio = NULL;

    key = ngx_palette_cert_csr_key(csr->type);
    if (key == NULL) {
        goto done;
    }

    req = X509_REQ_new();

    if (req == NULL
        || X509_REQ_set_version(req, 0) != 1
        || X509_REQ_set_pubkey(req, key) != 1)
    {
        goto done;
    }

    /* the subject: as asked, or the first name as its CN */

    xn = X509_REQ_get_subject_name(req);

    if (csr->subject.len) {
        if (ngx_palette_cert_csr_subject(xn, &csr->subject, &xn) != NGX_OK) {
            goto done;
        }

    } else {
        end = ngx_strlchr(csr->names.data, csr->names.data + csr->names.len,
                          ',');
        if (end == NULL) {
            end = csr->names.data + csr->names.len;
        }

        if (X509_NAME_add_entry_by_txt(xn, "CN", MBSTRING_UTF8,
                                       csr->names.data,
                                       (int) (end - csr->names.data), -1, 0)
            != 1)
        {
            goto done;
        }
    }

    if (ngx_palette_cert_csr_san(csr, req) != NGX_OK
        || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
    {
        goto done;
    }

    bio = BIO_new(BIO_s_secmem());

    if (bio == NULL
        || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1
        || ngx_palette_cert_bio_str(bio, &csr->key) != NGX_OK)
    {
        goto done;
    }

    BIO_free(bio);

    bio = BIO_new(BIO_s_mem());

    if (bio == NULL
        || PEM_write_bio_X509_REQ(bio, req) != 1
        || ngx_palette_cert_bio_str(bio, &csr->req) != NGX_OK)
    {
        goto done;
    }

    rc = NGX_OK;

done:

    if (rc != NGX_OK) {
        ngx_palette_cert_csr_free(csr);
    }

    ERR_clear_error();

    BIO_free(bio);
    X509_REQ_free(req);
    EVP_PKEY_free(key);

    return rc;
}


/* the request's subjectAltName extension: each name, DNS or IP */

static ngx_int_t
ngx_palette_cert_csr_san(ngx_palette_cert_csr_t *csr, X509_REQ *req)
{
    u_char                    *p, *last, *end;
    ngx_int_t                  rc;
    ngx_str_t                  name;
    GENERAL_NAME              *gn;
    GENERAL_NAMES             *gens;
    X509_EXTENSION            *ext;
    STACK_OF(X509_EXTENSION)  *exts;

    rc = NGX_ERROR;

    gens = GENERAL_NAMES_new();
    exts = sk_X509_EXTENSION_new_null();

    if (gens == NULL || exts == NULL) {
        goto done;
    }

    p = csr->names.data;
    last = p + csr->names.len;

    while (p < last) {
        end = ngx_strlchr(p, last, ',');
        if (end == NULL) {
            end = last;
        }

        name.data = p;
        name.len = end - p;

        gn = ngx_palette_cert_csr_general_name(&name);
        if (gn == NULL) {
            goto done;
        }

        if (sk_GENERAL_NAME_push(gens, gn) == 0) {
            GENERAL_NAME_free(gn);
            goto done;
        }

        p = (end < last) ? end + 1 : last;
    }

    ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);

    if (ext == NULL) {
        goto done;
    }

    if (sk_X509_EXTENSION_push(exts, ext) == 0) {
        X509_EXTENSION_free(ext);
        goto done;
    }

    if (X509_REQ_add_extensions(req, exts) == 1) {
        rc = NGX_OK;
    }

done:

    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);

    return rc;
}


/* a name of the request as a GENERAL_NAME: an IP address, or DNS */

static GENERAL_NAME *
ngx_palette_cert_csr_general_name(ngx_str_t *name)
{
    u_char              buf[NGX_PALETTE_CERT_HOST_LEN + 1];
    GENERAL_NAME       *gn;
    ASN1_OCTET_STRING  *ip;

    ngx_memcpy(buf, name->data, name->len);
    buf[name->len] = '\0';

    if (ngx_palette_cert_is_ip(name)) {
        ip = a2i_IPADDRESS((char *) buf);
        if (ip == NULL) {
            return NULL;
        }

        gn = GENERAL_NAME_new();
        if (gn == NULL) {
            ASN1_OCTET_STRING_free(ip);
            return NULL;
        }

        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);

        return gn;
    }

    gn = GENERAL_NAME_new();
    if (gn == NULL) {
        return NULL;
    }

    gn->type = GEN_DNS;
    gn->d.dNSName = ASN1_IA5STRING_new();

    if (gn->d.dNSName == NULL
        || ASN1_STRING_set(gn->d.dNSName, buf, (int) name->len) != 1)
    {
        GENERAL_NAME_free(gn);
        return NULL;
    }

    return gn;
}


static EVP_PKEY *
ngx_palette_cert_csr_key(ngx_uint_t type)
{
    switch (type) {

    case 0:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    case 1:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

    case 2:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);

    default: /* 3 */
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 3072);
    }
}


void
ngx_palette_cert_csr_free(ngx_palette_cert_csr_t *csr)
{
    if (csr->key.data) {
        ngx_explicit_memzero(csr->key.data, csr->key.len);
        ngx_free(csr->key.data);
        ngx_str_null(&csr->key);
    }

    if (csr->req.data) {
        ngx_free(csr->req.data);
        ngx_str_null(&csr->req);
    }
}


/* the pending key in the zone, not yet linked (see ngx_palette_cert_aside.c) */

ngx_palette_cert_aside_t *
ngx_palette_cert_csr_alloc(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_csr_t *csr)
{
    ngx_str_t                  parts[4];
    ngx_palette_cert_aside_t  *e;

    parts[0] = csr->names;
    parts[1] = csr->key;
    parts[2] = csr->req;
    ngx_str_null(&parts[3]);

    e = ngx_palette_cert_aside_alloc(zone, NGX_PALETTE_CERT_ASIDE_CSR, id,
                                     csr->created, parts);

    if (e) {
        ngx_memcpy(e->key_type, csr->key_type.data, csr->key_type.len);
        e->key_type_len = csr->key_type.len;
    }

    return e;
}


/*
 * The pending key of the id, copied out for an upload without a key
 * (ngx_alloc()ed, cleansed by the caller), with when it was made: the
 * upload consumes that one only.  NGX_DECLINED when there is none.
 */

ngx_int_t
ngx_palette_cert_csr_key_copy(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_str_t *key, time_t *created)
{
    ngx_int_t                  rc;
    ngx_palette_cert_aside_t  *e;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = *ngx_palette_cert_aside_find(zone, NGX_PALETTE_CERT_ASIDE_CSR, id);

    if (e == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    key->data = ngx_alloc(e->len[1], ngx_cycle->log);
    if (key->data == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    ngx_memcpy(key->data, e->data + e->len[0], e->len[1]);
    key->len = e->len[1];

    *created = e->time;

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* "csr_pending": {"names", "key_type", "created", "csr"} or null */

void
ngx_palette_cert_csr_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_zone_t *zone, ngx_str_t *id)
{
    u_char                    *p, buf[32];
    ngx_int_t                  rc;
    ngx_palette_cert_aside_t  *e;

    ngx_palette_cert_json_key(j, "csr_pending");

    /* the names and the request: the key is not copied */

    rc = ngx_palette_cert_aside_copy(zone, NGX_PALETTE_CERT_ASIDE_CSR, id,
                                     1 | 4, j->pool, &e);

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_json_raw(j, "null");
        return;
    }

    if (rc != NGX_OK) {
        j->failed = 1;
        return;
    }

    ngx_palette_cert_json_raw(j, "{");

    ngx_palette_cert_json_key(j, "names");
    ngx_palette_cert_json_list(j, e->data, e->len[0]);

    ngx_palette_cert_json_key(j, "key_type");
    ngx_palette_cert_json_str(j, e->key_type, e->key_type_len);

    ngx_palette_cert_json_key(j, "created");
    p = ngx_palette_cert_rfc3339(buf, e->time);
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "csr");
    ngx_palette_cert_json_str(j, e->data + e->len[0], e->len[2]);

    ngx_palette_cert_json_raw(j, "}");
}


/*
 * At start: the pending keys the store keeps, into the zone.  One that
 * cannot be read is logged and left out.
 */

ngx_int_t
ngx_palette_cert_csr_load(ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_file_t  files[] = {
        { "key.pem", ngx_null_string, 1 },
        { "request.pem", ngx_null_string, 1 },
        { "info", ngx_null_string, 1 },
        { NULL, ngx_null_string, 0 }
    };

    return ngx_palette_cert_store_load_aside(zone, "csr", files,
                                             ngx_palette_cert_csr_loaded,
                                             zone->log);
}


static ngx_int_t
ngx_palette_cert_csr_loaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files)
{
    u_char                  *p, *last, *nl, *line[4];
    ngx_uint_t               i;
    ngx_palette_cert_csr_t   csr;

    ngx_memzero(&csr, sizeof(ngx_palette_cert_csr_t));

    /* info: the key type, when, the names, the subject, a line each */

    p = files[2].data.data;
    last = p + files[2].data.len;

    for (i = 0; i < 4; i++) {
        nl = ngx_strlchr(p, last, '\n');

        if (nl == NULL) {
            goto damaged;
        }

        line[i] = p;
        p = nl + 1;
    }

    csr.key_type.data = line[0];
    csr.key_type.len = line[1] - line[0] - 1;
    csr.created = ngx_atotm(line[1], line[2] - line[1] - 1);
    csr.names.data = line[2];
    csr.names.len = line[3] - line[2] - 1;

    if (csr.key_type.len == 0 || csr.key_type.len > 12
        || csr.created == NGX_ERROR || csr.names.len == 0)
    {
        goto damaged;
    }

    csr.key = files[0].data;
    csr.req = files[1].data;

    return ngx_palette_cert_aside_load(zone, ngx_palette_cert_csr_alloc(zone,
                                                                 &zone->id,
                                                                 &csr));

damaged:

    ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                  "palette_cert zone \"%V\": the pending key of the %s%V%s "
                  "in the store cannot be read, it is left out",
                  &zone->name, zone->id.len ? "certificate \"" : "default",
                  &zone->id, zone->id.len ? "\"" : "");

    return NGX_OK;
}
