
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Validation of an upload, and the description of a certificate.
 *
 * Checks run in a fixed order and the first failure is reported:
 * the certificate field, the key field, the ca field (each parsed),
 * the key against the leaf, the chain (a path valid today when there is
 * one, whatever the order of the upload), the validity dates, the zone's
 * names, and last the policy (key strength, signature digest, server
 * usage).  Messages name the certificate at fault by its subject and say
 * what to do; they never contain key material.  The chain served is the
 * verified path with the cross-signs of its certificates; what else was
 * uploaded is left out, and the answer says why.
 */


#include "ngx_palette_cert.h"

#include <openssl/decoder.h>


#define NGX_PALETTE_CERT_REASON_LEN  160


/* a certificate of the upload that is not served, and why */

typedef struct {
    u_char                        subject[256];
    size_t                        subject_len;
    u_char                        sha256[64];
    size_t                        sha256_len;
    u_char                        reason[NGX_PALETTE_CERT_REASON_LEN];
    size_t                        reason_len;
} ngx_palette_cert_left_t;


struct ngx_palette_cert_left_out_s {
    ngx_uint_t                    n;
    ngx_palette_cert_left_t       items[1];
};


static ngx_int_t ngx_palette_cert_parse_certs(ngx_str_t *field,
    const char *fname, STACK_OF(X509) **out, ngx_palette_cert_error_t *err,
    const char *code);
static ngx_int_t ngx_palette_cert_parse_key(ngx_str_t *field,
    EVP_PKEY **out, ngx_palette_cert_error_t *err);
static EVP_PKEY *ngx_palette_cert_read_key(ngx_str_t *text,
    ngx_uint_t *asked);
static ngx_int_t ngx_palette_cert_check_key(STACK_OF(X509) *certs,
    EVP_PKEY *key, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_check_chain(ngx_palette_cert_zone_t *zone,
    STACK_OF(X509) *certs, STACK_OF(X509) *ca, time_t at,
    STACK_OF(X509) **chain, ngx_palette_cert_error_t *err);
static X509_STORE *ngx_palette_cert_trust_store(
    ngx_palette_cert_zone_t *zone, STACK_OF(X509) *ca, const char **where,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_find_path(X509_STORE_CTX *ctx,
    X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted,
    ngx_uint_t dates, time_t at, STACK_OF(X509) **chain);
static int ngx_palette_cert_cmp_time(const ASN1_TIME *t, time_t at);
static int ngx_palette_cert_ignore_dates(int ok, X509_STORE_CTX *ctx);
static int ngx_palette_cert_set_aside(X509_STORE_CTX *ctx,
    STACK_OF(X509) *set);
static ngx_int_t ngx_palette_cert_has_other(STACK_OF(X509) *set, X509 *x);
static ngx_int_t ngx_palette_cert_same_key(X509 *a, X509 *b);
static void ngx_palette_cert_chain_error(X509_STORE_CTX *ctx, X509 *leaf,
    const char *where, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_check_dates(STACK_OF(X509) *chain,
    time_t at, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_check_names(ngx_palette_cert_zone_t *zone,
    X509 *leaf, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_check_own_names(X509 *leaf,
    ngx_palette_cert_bundle_t *b, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_check_policy(STACK_OF(X509) *chain,
    EVP_PKEY *key, ngx_palette_cert_error_t *err);
static int ngx_palette_cert_weak_digest(X509 *x);
static ngx_int_t ngx_palette_cert_check_usage(STACK_OF(X509) *chain,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_for_servers(X509 *x);
static u_char *ngx_palette_cert_key_usage(u_char *p, u_char *last,
    uint32_t ku);
static u_char *ngx_palette_cert_ext_key_usage(u_char *p, u_char *last,
    X509 *x);
static ngx_int_t ngx_palette_cert_serve(STACK_OF(X509) *certs,
    ngx_palette_cert_bundle_t *b, ngx_palette_cert_error_t *err);
static int ngx_palette_cert_find(STACK_OF(X509) *sk, X509 *x);
static ngx_int_t ngx_palette_cert_push_once(STACK_OF(X509) *sk, X509 *x);
static u_char *ngx_palette_cert_unfit(X509 *x, time_t at, u_char *p,
    u_char *last);
static ngx_int_t ngx_palette_cert_left_out(STACK_OF(X509) *certs,
    STACK_OF(X509) *path, STACK_OF(X509) *served,
    ngx_palette_cert_bundle_t *b);
static u_char *ngx_palette_cert_left_reason(STACK_OF(X509) *certs, int j,
    STACK_OF(X509) *path, STACK_OF(X509) *served, time_t at, u_char *p,
    u_char *last);
static ngx_int_t ngx_palette_cert_is_self_signed(X509 *x);



void
ngx_palette_cert_error(ngx_palette_cert_error_t *err, ngx_uint_t status,
    const char *code, const char *field, const char *fmt, ...)
{
    va_list  args;

    err->status = status;
    err->code = code;
    err->field = field;

    va_start(args, fmt);
    err->last = ngx_vslprintf(err->message,
                              err->message + NGX_PALETTE_CERT_MSG_LEN, fmt,
                              args);
    va_end(args);
}


ngx_int_t
ngx_palette_cert_validate(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_fields_t *up, ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_error_t *err)
{
    ngx_int_t        rc;
    STACK_OF(X509)  *certs;

    ngx_memzero(b, sizeof(ngx_palette_cert_bundle_t));

    /* dates are judged now, or at the time a staged version goes live */

    b->at = up->at;

    certs = NULL;
    rc = NGX_ERROR;

    if (ngx_palette_cert_parse_certs(&up->certificate, "certificate", &certs,
                                     err, "invalid_certificate")
        != NGX_OK)
    {
        goto done;
    }

    if (ngx_palette_cert_parse_key(&up->key, &b->key, err) != NGX_OK) {
        goto done;
    }

    if (up->has_ca && up->ca.len
        && ngx_palette_cert_parse_certs(&up->ca, "ca", &b->ca, err,
                                        "invalid_ca")
           != NGX_OK)
    {
        goto done;
    }

    if (ngx_palette_cert_check_key(certs, b->key, err) != NGX_OK) {
        goto done;
    }

    if (ngx_palette_cert_check_chain(zone, certs, b->ca, b->at, &b->chain,
                                     err)
        != NGX_OK)
    {
        goto done;
    }

    /* b->chain is the verified path: the leaf first, the anchor last */

    if (ngx_palette_cert_check_dates(b->chain, b->at, err) != NGX_OK) {
        goto done;
    }

    /* the zone's names are the default's; a named one is for its own */

    if (up->named) {
        if (ngx_palette_cert_check_own_names(sk_X509_value(b->chain, 0), b,
                                             err)
            != NGX_OK)
        {
            goto done;
        }

    } else if (ngx_palette_cert_check_names(zone, sk_X509_value(b->chain, 0),
                                            err)
               != NGX_OK)
    {
        goto done;
    }

    if (ngx_palette_cert_check_policy(b->chain, b->key, err) != NGX_OK) {
        goto done;
    }

    /* from here on b->leaf, and b->chain is the chain served after it */

    if (ngx_palette_cert_serve(certs, b, err) != NGX_OK) {
        goto done;
    }

    if (ngx_palette_cert_check_install(zone, b, err) != NGX_OK) {
        goto done;
    }

    rc = NGX_OK;

done:

    sk_X509_pop_free(certs, X509_free);

    if (rc != NGX_OK) {
        ngx_palette_cert_bundle_free(b);
    }

    return rc;
}


void
ngx_palette_cert_bundle_free(ngx_palette_cert_bundle_t *b)
{
    X509_free(b->leaf);
    sk_X509_pop_free(b->chain, X509_free);
    EVP_PKEY_free(b->key);
    sk_X509_pop_free(b->ca, X509_free);

    if (b->left_out) {
        ngx_free(b->left_out);
    }

    if (b->meta.names) {
        ngx_free(b->meta.names);
    }

    ngx_memzero(b, sizeof(ngx_palette_cert_bundle_t));
}


static ngx_int_t
ngx_palette_cert_parse_certs(ngx_str_t *field, const char *fname,
    STACK_OF(X509) **out, ngx_palette_cert_error_t *err, const char *code)
{
    BIO                            *bio;
    X509                           *x;
    u_char                          subject[256], *p;
    ngx_uint_t                      i;
    ngx_palette_cert_pem_bundle_t   pb;

    if (ngx_palette_cert_pem_split(field->data, field->len, &pb) != NGX_OK) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY, code,
                               fname,
                               "the %s field is not a PEM bundle: %s "
                               "(near byte %uz); paste the PEM text with "
                               "nothing but white space around the blocks",
                               fname, pb.error, pb.offset);
        return NGX_ERROR;
    }

    if (pb.nblocks == 0) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY, code,
                               fname,
                               "no PEM certificate found in the %s field; "
                               "paste text that starts with "
                               "\"-----BEGIN CERTIFICATE-----\"", fname);
        return NGX_ERROR;
    }

    *out = sk_X509_new_null();
    if (*out == NULL) {
        goto nomem;
    }

    for (i = 0; i < pb.nblocks; i++) {

        if (pb.blocks[i].label.len != 11
            || ngx_strncmp(pb.blocks[i].label.data, "CERTIFICATE", 11) != 0)
        {
            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY, code,
                                   fname,
                                   "block %ui of the %s field is \"%V\", "
                                   "not \"CERTIFICATE\"; only certificates "
                                   "belong in this field", i + 1, fname,
                                   &pb.blocks[i].label);
            goto failed;
        }

        bio = BIO_new_mem_buf(pb.blocks[i].text.data,
                              (int) pb.blocks[i].text.len);
        if (bio == NULL) {
            goto nomem;
        }

        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);

        if (x == NULL) {
            ERR_clear_error();
            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY, code,
                                   fname,
                                   "certificate %ui of the %s field cannot "
                                   "be parsed; it may be truncated or "
                                   "damaged, copy it again", i + 1, fname);
            goto failed;
        }

        if (sk_X509_push(*out, x) == 0) {
            X509_free(x);
            goto nomem;
        }

        if (ngx_strcmp(fname, "ca") == 0 && X509_check_ca(x) == 0) {

            /* "invalid_ca": the ca field holds only CA certificates */

            p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                         X509_get_subject_name(x));
            *p = '\0';

            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY, code,
                                   fname,
                                   "%s in the ca field is not a CA "
                                   "certificate; give the certificate of "
                                   "the authority that issued the chain",
                                   subject);
            goto failed;
        }
    }

    return NGX_OK;

nomem:

    ERR_clear_error();
    ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "internal_error", NULL, "out of memory");

failed:

    sk_X509_pop_free(*out, X509_free);
    *out = NULL;

    return NGX_ERROR;
}


static ngx_int_t
ngx_palette_cert_parse_key(ngx_str_t *field, EVP_PKEY **out,
    ngx_palette_cert_error_t *err)
{
    ngx_str_t                      *label;
    ngx_uint_t                      i, n, asked;
    ngx_palette_cert_pem_bundle_t   pb;
    ngx_palette_cert_pem_block_t   *key;

    if (ngx_palette_cert_pem_split(field->data, field->len, &pb) != NGX_OK) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "invalid_key", "key",
                               "the key field is not PEM: %s (near byte "
                               "%uz); paste the private key with nothing "
                               "but white space around it", pb.error,
                               pb.offset);
        return NGX_ERROR;
    }

    key = NULL;
    n = 0;

    for (i = 0; i < pb.nblocks; i++) {
        label = &pb.blocks[i].label;

        /* "openssl ecparam -genkey" writes the parameters first */

        if (label->len == 13
            && ngx_strncmp(label->data, "EC PARAMETERS", 13) == 0)
        {
            continue;
        }

        key = &pb.blocks[i];
        n++;
    }

    if (n == 0) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "invalid_key", "key",
                               "no PEM private key found in the key field; "
                               "paste text that starts with "
                               "\"-----BEGIN PRIVATE KEY-----\"");
        return NGX_ERROR;
    }

    if (n > 1) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "invalid_key", "key",
                               "the key field holds %ui PEM blocks; paste "
                               "exactly one private key", n);
        return NGX_ERROR;
    }

    label = &key->label;

    if (label->len == 21
        && ngx_strncmp(label->data, "ENCRYPTED PRIVATE KEY", 21) == 0)
    {
        goto encrypted;
    }

    if (!((label->len == 11
           && ngx_strncmp(label->data, "PRIVATE KEY", 11) == 0)
          || (label->len == 15
              && ngx_strncmp(label->data, "RSA PRIVATE KEY", 15) == 0)
          || (label->len == 14
              && ngx_strncmp(label->data, "EC PRIVATE KEY", 14) == 0)))
    {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "invalid_key", "key",
                               "the key field holds a \"%V\" block, not a "
                               "private key", label);
        return NGX_ERROR;
    }

    asked = 0;

    *out = ngx_palette_cert_read_key(&key->text, &asked);
    ERR_clear_error();

    if (asked) {
        EVP_PKEY_free(*out);
        *out = NULL;
        goto encrypted;
    }

    if (*out == NULL) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "invalid_key", "key",
                               "the private key cannot be parsed; it may be "
                               "truncated or damaged, copy it again");
        return NGX_ERROR;
    }

    return NGX_OK;

encrypted:

    ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "encrypted_key", "key",
                           "the private key is protected by a passphrase; "
                           "remove it first, for example with "
                           "\"openssl pkey -in key.pem -out plain.pem\"");
    return NGX_ERROR;
}


/*
 * The private key of a PEM block (BEGIN to END lines).  Its base64 is
 * decoded here, into memory cleansed afterwards: OpenSSL's PEM reading
 * leaves lines of it in buffers it frees as they are (its base64
 * decoder's context, a line buffer).  The key is made from the DER.  An
 * encrypted key (a PKCS#8 one, or a traditional one with its Proc-Type
 * header) sets *asked.
 */

static EVP_PKEY *
ngx_palette_cert_read_key(ngx_str_t *text, ngx_uint_t *asked)
{
    u_char               *p, *last, *begin, *end;
    size_t                left;
    EVP_PKEY             *pkey;
    ngx_str_t             b64, der;
    OSSL_DECODER_CTX     *dctx;
    const unsigned char  *q;

    last = text->data + text->len;

    p = ngx_strnstr(text->data, "-----BEGIN ", text->len);
    begin = p ? ngx_strlchr(p, last, '\n') : NULL;
    end = begin ? ngx_strnstr(begin, "-----END", last - begin) : NULL;

    if (end == NULL) {
        return NULL;
    }

    if (ngx_strnstr(p, "ENCRYPTED", begin - p) != NULL
        || ngx_strlchr(begin, end, ':') != NULL)
    {
        *asked = 1;
        return NULL;
    }

    pkey = NULL;

    b64.data = ngx_alloc(end - begin, ngx_cycle->log);
    der.data = ngx_alloc(ngx_base64_decoded_length(end - begin),
                         ngx_cycle->log);

    if (b64.data == NULL || der.data == NULL) {
        goto done;
    }

    b64.len = 0;

    for (p = begin; p < end; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            b64.data[b64.len++] = *p;
        }
    }

    if (ngx_decode_base64(&der, &b64) != NGX_OK) {
        goto done;
    }

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, NULL,
                                         EVP_PKEY_KEYPAIR, NULL, NULL);

    if (dctx != NULL) {
        q = der.data;
        left = der.len;

        if (OSSL_DECODER_from_data(dctx, &q, &left) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }

        OSSL_DECODER_CTX_free(dctx);
    }

done:

    if (b64.data) {
        ngx_explicit_memzero(b64.data, end - begin);
        ngx_free(b64.data);
    }

    if (der.data) {
        ngx_explicit_memzero(der.data,
                             ngx_base64_decoded_length(end - begin));
        ngx_free(der.data);
    }

    return pkey;
}


static ngx_int_t
ngx_palette_cert_check_key(STACK_OF(X509) *certs, EVP_PKEY *key,
    ngx_palette_cert_error_t *err)
{
    X509    *x;
    int      i;
    u_char   leaf[256], other[256], *p;

    x = sk_X509_value(certs, 0);

    if (X509_check_private_key(x, key) == 1) {
        return NGX_OK;
    }

    ERR_clear_error();

    p = ngx_palette_cert_subject(leaf, leaf + sizeof(leaf),
                                 X509_get_subject_name(x));
    *p = '\0';

    for (i = 1; i < sk_X509_num(certs); i++) {
        x = sk_X509_value(certs, i);

        if (X509_check_private_key(x, key) != 1) {
            ERR_clear_error();
            continue;
        }

        p = ngx_palette_cert_subject(other, other + sizeof(other),
                                     X509_get_subject_name(x));
        *p = '\0';

        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "key_mismatch", "key",
                               "the private key does not match the first "
                               "certificate (leaf %s) but certificate %d "
                               "(%s); put the certificate that belongs to "
                               "the key first", leaf, i + 1, other);
        return NGX_ERROR;
    }

    ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "key_mismatch", "key",
                           "the private key does not match the certificate "
                           "(leaf %s); give the key the certificate was "
                           "issued for", leaf);
    return NGX_ERROR;
}


static ngx_int_t
ngx_palette_cert_check_chain(ngx_palette_cert_zone_t *zone,
    STACK_OF(X509) *certs, STACK_OF(X509) *ca, time_t at,
    STACK_OF(X509) **chain, ngx_palette_cert_error_t *err)
{
    int              i;
    X509            *leaf;
    ngx_int_t        rc;
    const char      *where;
    X509_STORE      *store;
    STACK_OF(X509)  *untrusted;
    X509_STORE_CTX  *ctx;

    ctx = NULL;
    untrusted = NULL;

    store = ngx_palette_cert_trust_store(zone, ca, &where, err);
    if (store == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    untrusted = sk_X509_dup(certs);
    if (untrusted == NULL) {
        goto nomem;
    }

    leaf = sk_X509_shift(untrusted);

    /* with trust=, the ca field may still supply intermediates */

    for (i = 0; zone->trust.len && i < sk_X509_num(ca); i++) {
        if (sk_X509_push(untrusted, sk_X509_value(ca, i)) == 0) {
            goto nomem;
        }
    }

    ctx = X509_STORE_CTX_new();
    if (ctx == NULL) {
        goto nomem;
    }

    /*
     * A path valid today if there is one; else any path, whose dates
     * check_dates() then reports (they are checked there, each with its
     * own error, and usage later still).
     */

    rc = ngx_palette_cert_find_path(ctx, store, leaf, untrusted, 1, at,
                                    chain);

    if (rc == NGX_DECLINED) {
        rc = ngx_palette_cert_find_path(ctx, store, leaf, untrusted, 0, at,
                                        chain);
    }

    if (rc == NGX_OK) {
        goto done;
    }

    if (rc != NGX_DECLINED) {
        goto nomem;
    }

    /*
     * No path: the error reported is that of the certificates as given,
     * the first try of the search above made again
     */

    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        goto nomem;
    }

    if (at) {
        X509_STORE_CTX_set_time(ctx, 0, at);
    }

    X509_STORE_CTX_set_verify_cb(ctx, ngx_palette_cert_ignore_dates);

    if (X509_verify_cert(ctx) == 1) {
        *chain = X509_STORE_CTX_get1_chain(ctx);
        rc = (*chain != NULL) ? NGX_OK : NGX_ERROR;

        if (rc != NGX_OK) {
            goto nomem;
        }

        goto done;
    }

    ERR_clear_error();

    ngx_palette_cert_chain_error(ctx, leaf, where, err);
    rc = NGX_ERROR;

    goto done;

nomem:

    ERR_clear_error();
    ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "internal_error", NULL, "out of memory");
    rc = NGX_ERROR;

done:

    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);

    return rc;
}


/* the CAs an upload's chain must lead to, and where they come from */

static X509_STORE *
ngx_palette_cert_trust_store(ngx_palette_cert_zone_t *zone,
    STACK_OF(X509) *ca, const char **where, ngx_palette_cert_error_t *err)
{
    int          i;
    X509_STORE  *store;

    store = X509_STORE_new();
    if (store == NULL) {
        goto nomem;
    }

    if (zone->trust.len) {
        *where = "the trusted CAs of this zone";

        if (X509_STORE_load_file(store, (char *) zone->trust.data) != 1) {
            ngx_ssl_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "palette_cert zone \"%V\": cannot load \"%V\"",
                          &zone->name, &zone->trust);
            ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "internal_error", NULL,
                                   "the zone's trusted CA file cannot be "
                                   "read; see the error log");
            X509_STORE_free(store);
            return NULL;
        }

    } else if (ca) {
        *where = "the ca field";

        for (i = 0; i < sk_X509_num(ca); i++) {
            if (X509_STORE_add_cert(store, sk_X509_value(ca, i)) != 1) {
                goto nomem;
            }
        }

        /* a CA given by the admin may be an intermediate */

        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);

    } else {
        *where = "the system's trusted CAs";

        if (X509_STORE_set_default_paths(store) != 1) {
            goto nomem;
        }
    }

    ERR_clear_error();

    return store;

nomem:

    ERR_clear_error();
    X509_STORE_free(store);
    ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "internal_error", NULL, "out of memory");
    return NULL;
}


/*
 * OpenSSL takes the first issuer that fits, so with two certificates
 * for one issuer (an expired copy and a valid one, or a cross-sign to
 * another root and the intermediate itself) the order of the upload
 * would decide whether the chain verifies.  When a verification fails,
 * the certificate nearest to the failure that has an alternative (same
 * subject and key) is set aside, and the path is built again: at most
 * once per certificate, in the same order every time.
 *
 * With dates, the path must be valid today; without, dates do not fail
 * it, but OpenSSL still prefers an issuer valid today to one that is not.
 * NGX_OK with the path in *chain, NGX_DECLINED when there is none.
 */

static ngx_int_t
ngx_palette_cert_find_path(X509_STORE_CTX *ctx, X509_STORE *store,
    X509 *leaf, STACK_OF(X509) *untrusted, ngx_uint_t dates, time_t at,
    STACK_OF(X509) **chain)
{
    int              i;
    ngx_int_t        rc;
    STACK_OF(X509)  *set;

    set = sk_X509_dup(untrusted);
    if (set == NULL) {
        return NGX_ERROR;
    }

    for ( ;; ) {
        if (X509_STORE_CTX_init(ctx, store, leaf, set) != 1) {
            rc = NGX_ERROR;
            break;
        }

        if (at) {
            X509_STORE_CTX_set_time(ctx, 0, at);
        }

        if (!dates) {
            X509_STORE_CTX_set_verify_cb(ctx, ngx_palette_cert_ignore_dates);
        }

        if (X509_verify_cert(ctx) == 1) {
            *chain = X509_STORE_CTX_get1_chain(ctx);
            rc = (*chain != NULL) ? NGX_OK : NGX_ERROR;
            break;
        }

        ERR_clear_error();

        i = ngx_palette_cert_set_aside(ctx, set);

        if (i < 0) {
            rc = NGX_DECLINED;
            break;
        }

        X509_STORE_CTX_cleanup(ctx);
        (void) sk_X509_delete(set, i);
    }

    X509_STORE_CTX_cleanup(ctx);
    sk_X509_free(set);

    return rc;
}


/* a verification callback: the validity dates do not fail the path */

static int
ngx_palette_cert_ignore_dates(int ok, X509_STORE_CTX *ctx)
{
    int  error;

    if (ok) {
        return 1;
    }

    error = X509_STORE_CTX_get_error(ctx);

    return error == X509_V_ERR_CERT_HAS_EXPIRED
           || error == X509_V_ERR_CERT_NOT_YET_VALID;
}


/*
 * After a failed verification: the index in set of the certificate to
 * try the path without, or -1.  The candidates are the certificates of
 * the path built, from the one at fault down to the leaf's issuer.
 */

static int
ngx_palette_cert_set_aside(X509_STORE_CTX *ctx, STACK_OF(X509) *set)
{
    int              i, k, depth;
    X509            *x;
    STACK_OF(X509)  *built;

    built = X509_STORE_CTX_get0_chain(ctx);
    depth = X509_STORE_CTX_get_error_depth(ctx);

    if (built == NULL) {
        return -1;
    }

    for (i = ngx_min(depth, sk_X509_num(built) - 1); i > 0; i--) {
        x = sk_X509_value(built, i);

        for (k = 0; k < sk_X509_num(set); k++) {
            if (sk_X509_value(set, k) == x) {
                break;
            }
        }

        if (k < sk_X509_num(set) && ngx_palette_cert_has_other(set, x)) {
            return k;
        }
    }

    return -1;
}


/* another certificate of x's subject and key in set */

static ngx_int_t
ngx_palette_cert_has_other(STACK_OF(X509) *set, X509 *x)
{
    int    i;
    X509  *y;

    for (i = 0; i < sk_X509_num(set); i++) {
        y = sk_X509_value(set, i);

        if (y != x && X509_cmp(x, y) != 0
            && ngx_palette_cert_same_key(x, y))
        {
            return 1;
        }
    }

    return 0;
}


/* the same subject and public key: a copy, or a cross-sign */

static ngx_int_t
ngx_palette_cert_same_key(X509 *a, X509 *b)
{
    EVP_PKEY  *ka, *kb;

    if (X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b))
        != 0)
    {
        return 0;
    }

    ka = X509_get0_pubkey(a);
    kb = X509_get0_pubkey(b);

    if (ka == NULL || kb == NULL) {
        ERR_clear_error();
        return 0;
    }

    return EVP_PKEY_eq(ka, kb) == 1;
}


static void
ngx_palette_cert_chain_error(X509_STORE_CTX *ctx, X509 *leaf,
    const char *where, ngx_palette_cert_error_t *err)
{
    int      error, depth;
    X509    *x;
    u_char   subject[256], issuer[256], *p;

    error = X509_STORE_CTX_get_error(ctx);
    depth = X509_STORE_CTX_get_error_depth(ctx);
    x = X509_STORE_CTX_get_current_cert(ctx);

    if (x == NULL) {
        x = leaf;
    }

    p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(x));
    *p = '\0';

    p = ngx_palette_cert_subject(issuer, issuer + sizeof(issuer),
                                 X509_get_issuer_name(x));
    *p = '\0';

    if (depth == 0
        && (error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            || error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT))
    {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "chain_incomplete", "certificate",
                               "the issuer of the leaf %s, %s, is in neither "
                               "the certificate field nor %s; add the "
                               "intermediate certificate %s after the leaf",
                               subject, issuer, where, issuer);
        return;
    }

    ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "chain_untrusted", "certificate",
                           "the chain does not lead to %s: %s at %s "
                           "(issued by %s); upload the chain and the CA "
                           "that issued it", where,
                           X509_verify_cert_error_string(error), subject,
                           issuer);
}


/* a time of a certificate against now, or against at when it is set */

static int
ngx_palette_cert_cmp_time(const ASN1_TIME *t, time_t at)
{
    return at ? X509_cmp_time(t, &at) : X509_cmp_current_time(t);
}


static ngx_int_t
ngx_palette_cert_check_dates(STACK_OF(X509) *chain, time_t at,
    ngx_palette_cert_error_t *err)
{
    int          i;
    X509        *x;
    u_char       subject[256], date[32], *p;
    const char  *which;

    for (i = 0; i < sk_X509_num(chain); i++) {
        x = sk_X509_value(chain, i);
        which = (i == 0) ? "the leaf" : "the chain certificate";

        if (ngx_palette_cert_cmp_time(X509_get0_notAfter(x), at) <= 0) {
            p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                         X509_get_subject_name(x));
            *p = '\0';
            *ngx_palette_cert_time(date, X509_get0_notAfter(x)) = '\0';

            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "expired", "certificate",
                                   "%s %s expired on %s; renew it and "
                                   "upload the new one", which, subject,
                                   date);
            return NGX_ERROR;
        }

        if (ngx_palette_cert_cmp_time(X509_get0_notBefore(x), at) > 0) {
            p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                         X509_get_subject_name(x));
            *p = '\0';
            *ngx_palette_cert_time(date, X509_get0_notBefore(x)) = '\0';

            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "not_yet_valid", "certificate",
                                   "%s %s is not valid before %s; upload it "
                                   "then, or check the server's clock",
                                   which, subject, date);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_check_names(ngx_palette_cert_zone_t *zone, X509 *leaf,
    ngx_palette_cert_error_t *err)
{
    u_char      subject[256], missing[512], buf[256], *p, *last;
    ngx_str_t  *names;
    ngx_uint_t  i, n;

    names = zone->names.elts;
    p = missing;
    last = missing + sizeof(missing) - 1;
    n = 0;

    for (i = 0; i < zone->names.nelts; i++) {

        ngx_cpystrn(buf, names[i].data,
                    ngx_min(names[i].len + 1, sizeof(buf)));

        if (ngx_palette_cert_is_ip(&names[i])) {
            if (X509_check_ip_asc(leaf, (char *) buf, 0) == 1) {
                continue;
            }

        } else if (X509_check_host(leaf, (char *) buf, names[i].len,
                                   X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
                                   |X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                   NULL)
                   == 1)
        {
            continue;
        }

        p = ngx_slprintf(p, last, "%s%V", n ? ", " : "", &names[i]);
        n++;
    }

    if (n == 0) {
        return NGX_OK;
    }

    *p = '\0';

    p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(leaf));
    *p = '\0';

    ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "name_mismatch", "certificate",
                           "the leaf %s does not cover %s (its subject "
                           "alternative names must list every name clients "
                           "use); get a certificate that includes %s",
                           subject, missing, n > 1 ? "them" : "it");
    return NGX_ERROR;
}


/*
 * A named certificate is served for the names it has: it must have one.
 * What it is served for is kept in the bundle.
 */

static ngx_int_t
ngx_palette_cert_check_own_names(X509 *leaf, ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_error_t *err)
{
    u_char     subject[256], *p;
    ngx_int_t  rc;

    rc = ngx_palette_cert_meta(leaf, b->key, &b->meta, b->meta_buf,
                               sizeof(b->meta_buf));

    if (rc != NGX_DECLINED) {
        return rc;
    }

    p = ngx_palette_cert_subject(subject, subject + sizeof(subject) - 1,
                                 X509_get_subject_name(leaf));
    *p = '\0';

    ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "name_mismatch", "certificate",
                           "the leaf %s has no DNS name or IP address in its "
                           "subject alternative names, so no client could "
                           "be served it; get a certificate that lists the "
                           "names it is for", subject);
    return NGX_ERROR;
}


static ngx_int_t
ngx_palette_cert_check_policy(STACK_OF(X509) *chain, EVP_PKEY *key,
    ngx_palette_cert_error_t *err)
{
    int      i, nid, bits;
    X509    *x, *leaf;
    u_char   subject[256], type[32], *p;

    leaf = sk_X509_value(chain, 0);

    p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(leaf));
    *p = '\0';

    p = ngx_palette_cert_key_type(type, type + sizeof(type) - 1, key);
    *p = '\0';

    switch (EVP_PKEY_base_id(key)) {

    case EVP_PKEY_RSA:
        bits = EVP_PKEY_bits(key);

        if (bits < 2048) {
            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "weak_key", "key",
                                   "the key of the leaf %s is RSA %d, "
                                   "under 2048 bits; issue the certificate "
                                   "for a stronger key", subject, bits);
            return NGX_ERROR;
        }

        break;

    case EVP_PKEY_EC:
        if (ngx_strncmp(type, "EC P-", 5) == 0) {
            break;
        }

        /* fall through */

    default:
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "weak_key", "key",
                               "the key of the leaf %s is %s; use RSA of "
                               "2048 bits or more, or EC P-256, P-384 or "
                               "P-521", subject, type);
        return NGX_ERROR;
    }

    /* the signatures clients check: all but a self-signed root's */

    for (i = 0; i < sk_X509_num(chain); i++) {
        x = sk_X509_value(chain, i);

        if (i > 0 && ngx_palette_cert_is_self_signed(x)) {
            continue;
        }

        nid = ngx_palette_cert_weak_digest(x);

        if (nid != NID_undef) {
            p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                         X509_get_subject_name(x));
            *p = '\0';

            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "weak_key", "certificate",
                                   "%s is signed with %s, which clients "
                                   "reject; have it reissued with SHA-256",
                                   subject, OBJ_nid2sn(nid));
            return NGX_ERROR;
        }
    }

    return ngx_palette_cert_check_usage(chain, err);
}


/* the digest of x's signature if clients reject it, else NID_undef */

static int
ngx_palette_cert_weak_digest(X509 *x)
{
    int  nid;

    if (X509_get_signature_info(x, &nid, NULL, NULL, NULL) != 1) {
        ERR_clear_error();
        return NID_undef;
    }

    if (nid == NID_md5 || nid == NID_sha1 || nid == NID_md5_sha1
        || nid == NID_md4 || nid == NID_md2)
    {
        return nid;
    }

    return NID_undef;
}


/* what clients require of a server's chain: the sslserver purpose */

static ngx_int_t
ngx_palette_cert_check_usage(STACK_OF(X509) *chain,
    ngx_palette_cert_error_t *err)
{
    int        i;
    X509      *x, *leaf;
    u_char     subject[256], usage[256], *p;
    uint32_t   flags, ku;

    leaf = sk_X509_value(chain, 0);
    flags = X509_get_extension_flags(leaf);

    p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(leaf));
    *p = '\0';

    if (flags & EXFLAG_CA) {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "not_server_certificate", "certificate",
                               "the leaf %s is a CA certificate "
                               "(basicConstraints CA:TRUE); upload the "
                               "server certificate it issued", subject);
        return NGX_ERROR;
    }

    /*
     * The handshake is signed with the leaf's key: with ECDHE always, in
     * TLS 1.3 and for every EC key; keyEncipherment alone serves only
     * the RSA key exchange, which current clients no longer offer.
     */

    if (flags & EXFLAG_KUSAGE) {
        ku = X509_get_key_usage(leaf);

        if (!(ku & KU_DIGITAL_SIGNATURE)) {
            p = ngx_palette_cert_key_usage(usage, usage + sizeof(usage) - 1,
                                           ku);
            *p = '\0';

            ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                   "not_server_certificate", "certificate",
                                   "the key usage of the leaf %s does not "
                                   "include digitalSignature (it allows "
                                   "%s); TLS servers sign the handshake "
                                   "with the key, so clients refuse it: "
                                   "have it reissued with digitalSignature",
                                   subject, usage);
            return NGX_ERROR;
        }
    }

    if ((flags & EXFLAG_XKUSAGE)
        && !(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER))
    {
        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "not_server_certificate", "certificate",
                               "the extended key usage of the leaf %s "
                               "does not include serverAuth; it is not "
                               "for TLS servers", subject);
        return NGX_ERROR;
    }

    /* a self-signed root is the client's own: its copy is not checked */

    for (i = 1; i < sk_X509_num(chain); i++) {
        x = sk_X509_value(chain, i);

        if (ngx_palette_cert_is_self_signed(x)
            || ngx_palette_cert_for_servers(x))
        {
            continue;
        }

        p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                     X509_get_subject_name(x));
        *p = '\0';

        p = ngx_palette_cert_ext_key_usage(usage, usage + sizeof(usage) - 1,
                                           x);
        *p = '\0';

        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "not_server_certificate", "certificate",
                               "the extended key usage of the chain "
                               "certificate %s includes neither serverAuth "
                               "nor anyExtendedKeyUsage (it allows %s); "
                               "clients refuse it for TLS servers: use the "
                               "chain of an authority that issues server "
                               "certificates", subject, usage);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a CA that may issue for TLS servers, as far as its EKU says */

static ngx_int_t
ngx_palette_cert_for_servers(X509 *x)
{
    if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE)) {
        return 1;
    }

    return (X509_get_extended_key_usage(x) & (XKU_SSL_SERVER|XKU_ANYEKU))
           != 0;
}


static u_char *
ngx_palette_cert_key_usage(u_char *p, u_char *last, uint32_t ku)
{
    u_char      *start;
    ngx_uint_t   i;

    static struct {
        uint32_t     bit;
        const char  *name;
    } names[] = {
        { KU_DIGITAL_SIGNATURE, "digitalSignature" },
        { KU_NON_REPUDIATION, "nonRepudiation" },
        { KU_KEY_ENCIPHERMENT, "keyEncipherment" },
        { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
        { KU_KEY_AGREEMENT, "keyAgreement" },
        { KU_KEY_CERT_SIGN, "keyCertSign" },
        { KU_CRL_SIGN, "cRLSign" },
        { KU_ENCIPHER_ONLY, "encipherOnly" },
        { KU_DECIPHER_ONLY, "decipherOnly" }
    };

    start = p;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ku & names[i].bit) {
            p = ngx_slprintf(p, last, "%s%s", p == start ? "" : ", ",
                             names[i].name);
        }
    }

    if (p == start) {
        p = ngx_slprintf(p, last, "nothing");
    }

    return p;
}


static u_char *
ngx_palette_cert_ext_key_usage(u_char *p, u_char *last, X509 *x)
{
    int                      i, nid;
    char                     oid[80];
    u_char                  *start;
    const char              *name;
    ASN1_OBJECT             *obj;
    EXTENDED_KEY_USAGE      *eku;

    start = p;

    eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);

    for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        obj = sk_ASN1_OBJECT_value(eku, i);
        nid = OBJ_obj2nid(obj);

        if (nid != NID_undef) {
            name = OBJ_nid2sn(nid);

        } else {
            name = (OBJ_obj2txt(oid, sizeof(oid), obj, 1) > 0) ? oid : "?";
        }

        p = ngx_slprintf(p, last, "%s%s", p == start ? "" : ", ", name);
    }

    EXTENDED_KEY_USAGE_free(eku);
    ERR_clear_error();

    if (p == start) {
        p = ngx_slprintf(p, last, "nothing");
    }

    return p;
}


/*
 * The chain served: the verified path without the leaf and without a
 * self-signed root (clients have their own), and right after each of its
 * certificates the uploaded ones that stand beside it, its cross-signs
 * (the same subject and key), each certificate once.  Whatever else was
 * uploaded is left out, and the answer says so.
 */

static ngx_int_t
ngx_palette_cert_serve(STACK_OF(X509) *certs, ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_error_t *err)
{
    int              i, j;
    X509            *x, *c;
    u_char           reason[NGX_PALETTE_CERT_REASON_LEN];
    STACK_OF(X509)  *path, *served;

    path = b->chain;

    served = sk_X509_new_null();
    if (served == NULL) {
        goto nomem;
    }

    for (i = 1; i < sk_X509_num(path); i++) {
        x = sk_X509_value(path, i);

        if (!ngx_palette_cert_is_self_signed(x)
            && ngx_palette_cert_push_once(served, x) != NGX_OK)
        {
            goto nomem;
        }

        for (j = 1; j < sk_X509_num(certs); j++) {
            c = sk_X509_value(certs, j);

            if (ngx_palette_cert_find(path, c) < 0
                && ngx_palette_cert_same_key(c, x)
                && ngx_palette_cert_unfit(c, b->at, reason,
                                          reason + sizeof(reason))
                   == reason
                && ngx_palette_cert_push_once(served, c) != NGX_OK)
            {
                goto nomem;
            }
        }
    }

    if (ngx_palette_cert_left_out(certs, path, served, b) != NGX_OK) {
        goto nomem;
    }

    b->leaf = sk_X509_shift(path);
    sk_X509_pop_free(path, X509_free);
    b->chain = served;

    return NGX_OK;

nomem:

    ERR_clear_error();
    sk_X509_pop_free(served, X509_free);
    ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "internal_error", NULL, "out of memory");
    return NGX_ERROR;
}


/* the index in sk of a certificate with x's DER, or -1 */

static int
ngx_palette_cert_find(STACK_OF(X509) *sk, X509 *x)
{
    int  i;

    for (i = 0; i < sk_X509_num(sk); i++) {
        if (X509_cmp(sk_X509_value(sk, i), x) == 0) {
            return i;
        }
    }

    return -1;
}


static ngx_int_t
ngx_palette_cert_push_once(STACK_OF(X509) *sk, X509 *x)
{
    if (ngx_palette_cert_find(sk, x) >= 0) {
        return NGX_OK;
    }

    if (X509_up_ref(x) != 1) {
        return NGX_ERROR;
    }

    if (sk_X509_push(sk, x) == 0) {
        X509_free(x);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Why a cross-sign is not served, written at p; p itself when it is.
 * The path was checked before; a cross-sign beside it is served only
 * when it would have passed the same checks.
 */

static u_char *
ngx_palette_cert_unfit(X509 *x, time_t at, u_char *p, u_char *last)
{
    int               nid;
    u_char            date[32];
    const char       *what;
    const ASN1_TIME  *t;

    if (ngx_palette_cert_cmp_time(X509_get0_notAfter(x), at) <= 0) {
        what = "expired on";
        t = X509_get0_notAfter(x);

    } else if (ngx_palette_cert_cmp_time(X509_get0_notBefore(x), at) > 0) {
        what = "not valid before";
        t = X509_get0_notBefore(x);

    } else {
        t = NULL;
        what = NULL;
    }

    if (t) {
        *ngx_palette_cert_time(date, t) = '\0';
        return ngx_slprintf(p, last, "%s %s", what, date);
    }

    if (!ngx_palette_cert_for_servers(x)) {
        return ngx_slprintf(p, last, "its extended key usage includes "
                            "neither serverAuth nor anyExtendedKeyUsage");
    }

    nid = ngx_palette_cert_weak_digest(x);

    if (nid != NID_undef) {
        return ngx_slprintf(p, last, "signed with %s, which clients reject",
                            OBJ_nid2sn(nid));
    }

    return p;
}


/*
 * What was left out of the served chain goes with the bundle, for the
 * answer to the upload.  A record parsed again from its PEM has none, so
 * GET describes what is served, no more.
 */

static ngx_int_t
ngx_palette_cert_left_out(STACK_OF(X509) *certs, STACK_OF(X509) *path,
    STACK_OF(X509) *served, ngx_palette_cert_bundle_t *b)
{
    int                           j;
    X509                         *c;
    u_char                        reason[NGX_PALETTE_CERT_REASON_LEN], *p;
    ngx_uint_t                    n;
    ngx_palette_cert_left_t      *item;
    ngx_palette_cert_left_out_t  *lo;

    n = 0;

    for (j = 1; j < sk_X509_num(certs); j++) {
        if (ngx_palette_cert_left_reason(certs, j, path, served, b->at,
                                         reason, reason + sizeof(reason))
            != reason)
        {
            n++;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    lo = ngx_alloc(offsetof(ngx_palette_cert_left_out_t, items)
                   + n * sizeof(ngx_palette_cert_left_t), ngx_cycle->log);
    if (lo == NULL) {
        return NGX_ERROR;
    }

    lo->n = 0;

    for (j = 1; j < sk_X509_num(certs) && lo->n < n; j++) {
        c = sk_X509_value(certs, j);
        item = &lo->items[lo->n];

        p = ngx_palette_cert_left_reason(certs, j, path, served, b->at,
                                         item->reason,
                                         item->reason + sizeof(item->reason));
        if (p == item->reason) {
            continue;
        }

        item->reason_len = p - item->reason;

        p = ngx_palette_cert_subject(item->subject,
                                     item->subject + sizeof(item->subject),
                                     X509_get_subject_name(c));
        item->subject_len = p - item->subject;

        p = ngx_palette_cert_sha256(item->sha256, c);
        item->sha256_len = p - item->sha256;

        lo->n++;
    }

    b->left_out = lo;

    return NGX_OK;
}


/* why certificate j of the certificate field is not served, or p */

static u_char *
ngx_palette_cert_left_reason(STACK_OF(X509) *certs, int j,
    STACK_OF(X509) *path, STACK_OF(X509) *served, time_t at, u_char *p,
    u_char *last)
{
    int      i;
    X509    *c;
    u_char  *r;

    c = sk_X509_value(certs, j);

    for (i = 0; i < j; i++) {
        if (X509_cmp(sk_X509_value(certs, i), c) != 0) {
            continue;
        }

        /* the first copy says whether it is served, or why not */

        if (i > 0 && ngx_palette_cert_find(served, c) < 0) {
            return p;
        }

        return ngx_slprintf(p, last, "the same certificate is given more "
                            "than once; it is served once");
    }

    if (ngx_palette_cert_find(served, c) >= 0) {
        return p;
    }

    if (ngx_palette_cert_is_self_signed(c)) {
        return ngx_slprintf(p, last, "a self-signed root is not served: "
                            "clients have their own");
    }

    for (i = 1; i < sk_X509_num(path); i++) {
        if (ngx_palette_cert_same_key(c, sk_X509_value(path, i))) {
            r = ngx_palette_cert_unfit(c, at, p, last);

            if (r != p) {
                return r;
            }
        }
    }

    return ngx_slprintf(p, last, "neither on the verified path of the leaf "
                        "nor a cross-sign of a certificate on it");
}


/* the "left_out" member of the answer to an upload, when there is one */

void
ngx_palette_cert_left_out_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_left_out_t *lo)
{
    ngx_uint_t                i;
    ngx_palette_cert_left_t  *item;

    if (lo == NULL || lo->n == 0) {
        return;
    }

    ngx_palette_cert_json_key(j, "left_out");
    ngx_palette_cert_json_raw(j, "[");

    for (i = 0; i < lo->n; i++) {
        item = &lo->items[i];

        ngx_palette_cert_json_raw(j, i ? ",{" : "{");

        ngx_palette_cert_json_key(j, "subject");
        ngx_palette_cert_json_str(j, item->subject, item->subject_len);

        ngx_palette_cert_json_key(j, "sha256");
        ngx_palette_cert_json_str(j, item->sha256, item->sha256_len);

        ngx_palette_cert_json_key(j, "reason");
        ngx_palette_cert_json_str(j, item->reason, item->reason_len);

        ngx_palette_cert_json_raw(j, "}");
    }

    ngx_palette_cert_json_raw(j, "]");
}


/*
 * Whatever the checks above allow, OpenSSL has the last word: the chain
 * must be accepted by an SSL context at the security level of the
 * servers the zone feeds (an intermediate's key may be too small there).
 */

ngx_int_t
ngx_palette_cert_check_install(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_bundle_t *b, ngx_palette_cert_error_t *err)
{
    int                            level;
    u_char                         subject[256], *p;
    SSL_CTX                       *ctx;
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    unsigned long                  e;
    ngx_palette_cert_srv_conf_t  **servers;

    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ERR_clear_error();
        ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               "internal_error", NULL, "out of memory");
        return NGX_ERROR;
    }

    level = SSL_CTX_get_security_level(ctx);
    servers = zone->servers.elts;

    for (i = 0; i < zone->servers.nelts; i++) {
        level = ngx_max(level, SSL_CTX_get_security_level(
                                   servers[i]->ssl_ctx));
    }

    SSL_CTX_set_security_level(ctx, level);

    rc = NGX_OK;

    if (SSL_CTX_use_cert_and_key(ctx, b->leaf, b->key, b->chain, 1) != 1) {
        e = ERR_peek_last_error();

        p = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                     X509_get_subject_name(b->leaf));
        *p = '\0';

        ngx_palette_cert_error(err, NGX_HTTP_UNPROCESSABLE_ENTITY,
                               "weak_key", "certificate",
                               "TLS at security level %d refuses the chain "
                               "of the leaf %s (%s); a key in the chain is "
                               "too small or a signature too weak, have it "
                               "reissued", level, subject,
                               e ? ERR_reason_error_string(e)
                                 : "unknown reason");
        rc = NGX_ERROR;
    }

    ERR_clear_error();
    SSL_CTX_free(ctx);

    return rc;
}


static ngx_int_t
ngx_palette_cert_is_self_signed(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}


ngx_int_t
ngx_palette_cert_bundle_pem(ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_pem_t *pem)
{
    int   i;
    BIO  *bio, *kbio;

    ngx_memzero(pem, sizeof(ngx_palette_cert_pem_t));

    bio = BIO_new(BIO_s_mem());
    kbio = BIO_new(BIO_s_secmem());

    if (bio == NULL || kbio == NULL) {
        goto failed;
    }

    if (PEM_write_bio_X509(bio, b->leaf) != 1) {
        goto failed;
    }

    for (i = 0; i < sk_X509_num(b->chain); i++) {
        if (PEM_write_bio_X509(bio, sk_X509_value(b->chain, i)) != 1) {
            goto failed;
        }
    }

    if (ngx_palette_cert_bio_str(bio, &pem->cert) != NGX_OK) {
        goto failed;
    }

    if (PEM_write_bio_PrivateKey(kbio, b->key, NULL, NULL, 0, NULL, NULL)
        != 1
        || ngx_palette_cert_bio_str(kbio, &pem->key) != NGX_OK)
    {
        goto failed;
    }

    (void) BIO_reset(bio);

    for (i = 0; i < sk_X509_num(b->ca); i++) {
        if (PEM_write_bio_X509(bio, sk_X509_value(b->ca, i)) != 1) {
            goto failed;
        }
    }

    if (ngx_palette_cert_bio_str(bio, &pem->ca) != NGX_OK) {
        goto failed;
    }

    pem->has_ca = (sk_X509_num(b->ca) > 0);
    pem->source = NGX_PALETTE_CERT_UPLOADED;

    BIO_free(bio);
    BIO_free(kbio);

    return NGX_OK;

failed:

    ERR_clear_error();
    ngx_palette_cert_pem_free(pem);

    BIO_free(bio);
    BIO_free(kbio);

    return NGX_ERROR;
}


/* what a memory BIO holds, copied out (the BIO cleanses its own copy) */

ngx_int_t
ngx_palette_cert_bio_str(BIO *bio, ngx_str_t *out)
{
    char  *data;
    long   len;

    len = BIO_get_mem_data(bio, &data);

    if (len < 0) {
        return NGX_ERROR;
    }

    out->data = ngx_alloc(len + 1, ngx_cycle->log);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, data, len);
    out->len = len;

    return NGX_OK;
}


void
ngx_palette_cert_pem_free(ngx_palette_cert_pem_t *pem)
{
    if (pem->cert.data) {
        ngx_free(pem->cert.data);
    }

    if (pem->key.data) {
        ngx_explicit_memzero(pem->key.data, pem->key.len);
        ngx_free(pem->key.data);
    }

    if (pem->ca.data) {
        ngx_free(pem->ca.data);
    }

    if (pem->meta.data) {
        ngx_free(pem->meta.data);
    }

    ngx_str_null(&pem->cert);
    ngx_str_null(&pem->key);
    ngx_str_null(&pem->ca);
    ngx_str_null(&pem->meta);
}


/* parses a record's PEM text: a stored record or a stored file */

ngx_int_t
ngx_palette_cert_parse_pem(ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_parsed_t *parsed, ngx_log_t *log)
{
    BIO         *bio;
    X509        *x;
    ngx_uint_t   asked;

    ngx_memzero(parsed, sizeof(ngx_palette_cert_parsed_t));

    parsed->generation = pem->generation;
    parsed->source = pem->source;
    parsed->has_ca = pem->has_ca;

    bio = BIO_new_mem_buf(pem->cert.data, (int) pem->cert.len);
    if (bio == NULL) {
        goto failed;
    }

    parsed->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    parsed->chain = sk_X509_new_null();
    if (parsed->leaf == NULL || parsed->chain == NULL) {
        BIO_free(bio);
        goto failed;
    }

    for ( ;; ) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }

        if (sk_X509_push(parsed->chain, x) == 0) {
            X509_free(x);
            BIO_free(bio);
            goto failed;
        }
    }

    BIO_free(bio);

    asked = 0;
    parsed->key = ngx_palette_cert_read_key(&pem->key, &asked);

    if (parsed->key == NULL
        || X509_check_private_key(parsed->leaf, parsed->key) != 1)
    {
        goto failed;
    }

    ERR_clear_error();

    parsed->cert_pem.data = ngx_alloc(pem->cert.len + 1, log);
    parsed->ca_pem.data = ngx_alloc(pem->ca.len + 1, log);

    if (parsed->cert_pem.data == NULL || parsed->ca_pem.data == NULL) {
        goto failed;
    }

    ngx_memcpy(parsed->cert_pem.data, pem->cert.data, pem->cert.len);
    parsed->cert_pem.len = pem->cert.len;

    ngx_memcpy(parsed->ca_pem.data, pem->ca.data, pem->ca.len);
    parsed->ca_pem.len = pem->ca.len;

    return NGX_OK;

failed:

    ngx_ssl_error(NGX_LOG_ALERT, log, 0, "palette_cert: cannot parse a "
                  "stored certificate and key");

    ngx_palette_cert_parsed_free(parsed);

    return NGX_ERROR;
}


void
ngx_palette_cert_parsed_free(ngx_palette_cert_parsed_t *parsed)
{
    X509_free(parsed->leaf);
    sk_X509_pop_free(parsed->chain, X509_free);
    EVP_PKEY_free(parsed->key);

    if (parsed->cert_pem.data) {
        ngx_free(parsed->cert_pem.data);
    }

    if (parsed->ca_pem.data) {
        ngx_free(parsed->ca_pem.data);
    }

    ngx_memzero(parsed, sizeof(ngx_palette_cert_parsed_t));
}


/*
 * The members of the certificate JSON that describe the leaf:
 * "subject" ... "chain_length", and "left_out" in the answer to an upload
 * that left certificates out.
 */

ngx_int_t
ngx_palette_cert_info(ngx_palette_cert_json_t *j, X509 *leaf,
    STACK_OF(X509) *chain, EVP_PKEY *key)
{
    int                  i, n;
    u_char               buf[512], *p;
    ngx_uint_t           first;
    const u_char        *data;
    GENERAL_NAME        *gn;
    GENERAL_NAMES       *gens;
    const ASN1_INTEGER  *serial;

    p = ngx_palette_cert_subject(buf, buf + sizeof(buf),
                                 X509_get_subject_name(leaf));
    ngx_palette_cert_json_key(j, "subject");
    ngx_palette_cert_json_str(j, buf, p - buf);

    p = ngx_palette_cert_subject(buf, buf + sizeof(buf),
                                 X509_get_issuer_name(leaf));
    ngx_palette_cert_json_key(j, "issuer");
    ngx_palette_cert_json_str(j, buf, p - buf);

    serial = X509_get0_serialNumber(leaf);
    data = ASN1_STRING_get0_data(serial);
    n = ngx_min(ASN1_STRING_length(serial), (int) (sizeof(buf) / 2));
    p = ngx_hex_dump(buf, (u_char *) data, n);
    ngx_palette_cert_json_key(j, "serial");
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "names");
    ngx_palette_cert_json_raw(j, "[");

    gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    first = 1;

    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        gn = sk_GENERAL_NAME_value(gens, i);

        if (gn->type == GEN_DNS) {
            data = ASN1_STRING_get0_data(gn->d.dNSName);
            n = ASN1_STRING_length(gn->d.dNSName);
            p = (u_char *) data + n;

        } else if (gn->type == GEN_IPADD) {
            n = ngx_palette_cert_ip_text(gn->d.iPAddress, buf, sizeof(buf));

            if (n == 0) {
                continue;
            }

            data = buf;
            p = buf + n;

        } else {
            continue;
        }

        if (!first) {
            ngx_palette_cert_json_raw(j, ",");
        }

        first = 0;
        ngx_palette_cert_json_str(j, (u_char *) data, p - data);
    }

    GENERAL_NAMES_free(gens);

    ngx_palette_cert_json_raw(j, "]");

    p = ngx_palette_cert_time(buf, X509_get0_notBefore(leaf));
    ngx_palette_cert_json_key(j, "not_before");
    ngx_palette_cert_json_str(j, buf, p - buf);

    p = ngx_palette_cert_time(buf, X509_get0_notAfter(leaf));
    ngx_palette_cert_json_key(j, "not_after");
    ngx_palette_cert_json_str(j, buf, p - buf);

    p = ngx_palette_cert_sha256(buf, leaf);
    ngx_palette_cert_json_key(j, "sha256");
    ngx_palette_cert_json_str(j, buf, p - buf);

    p = ngx_palette_cert_key_type(buf, buf + sizeof(buf), key);
    ngx_palette_cert_json_key(j, "key_type");
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "chain_length");
    ngx_palette_cert_json_uint(j, 1 + sk_X509_num(chain));


    return j->failed ? NGX_ERROR : NGX_OK;
}


u_char *
ngx_palette_cert_key_type(u_char *p, u_char *last, EVP_PKEY *key)
{
    char  name[64];

    switch (EVP_PKEY_base_id(key)) {

    case EVP_PKEY_RSA:
        return ngx_slprintf(p, last, "RSA %d", EVP_PKEY_bits(key));

    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(key, name, sizeof(name), NULL) != 1) {
            return ngx_slprintf(p, last, "EC");
        }

        if (ngx_strcmp(name, "prime256v1") == 0
            || ngx_strcmp(name, "P-256") == 0)
        {
            return ngx_slprintf(p, last, "EC P-256");
        }

        if (ngx_strcmp(name, "secp384r1") == 0
            || ngx_strcmp(name, "P-384") == 0)
        {
            return ngx_slprintf(p, last, "EC P-384");
        }

        if (ngx_strcmp(name, "secp521r1") == 0
            || ngx_strcmp(name, "P-521") == 0)
        {
            return ngx_slprintf(p, last, "EC P-521");
        }

        return ngx_slprintf(p, last, "EC %s", name);

    default:
        return ngx_slprintf(p, last, "%s",
                            OBJ_nid2sn(EVP_PKEY_base_id(key)));
    }
}


u_char *
ngx_palette_cert_subject(u_char *p, u_char *last, X509_NAME *name)
{
    BIO   *bio;
    char  *data;
    long   len;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return p;
    }

    /* RFC 2253 order, UTF-8 kept as it is */

    if (X509_NAME_print_ex(bio, name, 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
        >= 0)
    {
        len = BIO_get_mem_data(bio, &data);

        if (len > 0) {
            len = ngx_min(len, last - p - 1);
            p = ngx_cpymem(p, data, len);
        }
    }

    BIO_free(bio);

    return p;
}


u_char *
ngx_palette_cert_sha256(u_char *p, X509 *x)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    if (X509_digest(x, EVP_sha256(), md, &n) != 1) {
        return p;
    }

    return ngx_hex_dump(p, md, n);
}


/* a time as RFC 3339 writes it, in UTC: 2027-01-31T02:00:00Z */

u_char *
ngx_palette_cert_rfc3339(u_char *p, time_t t)
{
    ngx_tm_t  tm;

    ngx_gmtime(t, &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
}


u_char *
ngx_palette_cert_time(u_char *p, const ASN1_TIME *t)
{
    struct tm  tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return p;
    }

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}


ngx_int_t
ngx_palette_cert_is_ip(ngx_str_t *name)
{
    u_char  buf[NGX_SOCKADDR_STRLEN + 1], addr[16];

    if (name->len == 0 || name->len >= sizeof(buf)) {
        return 0;
    }

    ngx_cpystrn(buf, name->data, name->len + 1);

    return inet_pton(AF_INET, (char *) buf, addr) == 1
           || inet_pton(AF_INET6, (char *) buf, addr) == 1;
}
