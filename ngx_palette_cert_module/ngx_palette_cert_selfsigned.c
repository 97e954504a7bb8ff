
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The self-signed default a zone serves until something is uploaded:
 * an EC P-256 key and a certificate for the zone's "names=" (or for the
 * host name when there are none).  Made once, in the master, when the
 * store holds none.
 */


#include "ngx_palette_cert.h"


#define NGX_PALETTE_CERT_SELF_SIGNED_DAYS  3650


static X509 *ngx_palette_cert_x509_new(int type, long before, long after,
    EVP_PKEY **key);
static EVP_PKEY *ngx_palette_cert_key_new(int type);
static ngx_int_t ngx_palette_cert_self_signed_names(X509 *x,
    ngx_palette_cert_zone_t *zone, ngx_str_t *host);


ngx_int_t
ngx_palette_cert_self_signed(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    X509                       *x;
    u_char                      serial[16];
    BIGNUM                     *bn;
    EVP_PKEY                   *key;
    ngx_int_t                   rc;
    ngx_str_t                  *names, cn, host;
    X509_NAME                  *name;
    ngx_palette_cert_bundle_t   b;

    rc = NGX_ERROR;
    key = NULL;
    bn = NULL;

    x = ngx_palette_cert_x509_new(EVP_PKEY_EC, -3600,
                                  86400L * NGX_PALETTE_CERT_SELF_SIGNED_DAYS,
                                  &key);
    if (x == NULL) {
        goto failed;
    }

    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        goto failed;
    }

    serial[0] &= 0x7f;

    bn = BN_bin2bn(serial, sizeof(serial), NULL);

    if (bn == NULL
        || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
    {
        goto failed;
    }

    host = zone->cycle->hostname;

    if (zone->names.nelts) {
        names = zone->names.elts;
        cn = names[0];

    } else {
        cn = host;
    }

    /*
     * A common name is at most 64 characters; the names are in the SAN,
     * whole, and only they are compared when the default is loaded again.
     */

    if (cn.len > 64) {
        cn = zone->name;
        cn.len = ngx_min(cn.len, 64);
    }

    name = X509_get_subject_name(x);

    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn.data,
                                   (int) cn.len, -1, 0)
        != 1
        || X509_set_issuer_name(x, name) != 1)
    {
        goto failed;
    }

    if (ngx_palette_cert_self_signed_names(x, zone, &host) != NGX_OK) {
        goto failed;
    }

    if (X509_sign(x, key, EVP_sha256()) == 0) {
        goto failed;
    }

    b.leaf = x;
    b.chain = NULL;
    b.key = key;
    b.ca = NULL;

    rc = ngx_palette_cert_bundle_pem(&b, pem);

    pem->source = NGX_PALETTE_CERT_SELF_SIGNED;

failed:

    if (rc != NGX_OK) {
        ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                      "palette_cert zone \"%V\": cannot make a self-signed "
                      "certificate", &zone->name);
    }

    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(key);

    return rc;
}


/* whether a stored default was made for the zone's present names */

ngx_uint_t
ngx_palette_cert_self_signed_matches(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem)
{
    int             i, n;
    BIO            *bio;
    X509           *x;
    ngx_str_t      *names, host;
    ngx_uint_t      j, found, ok;
    GENERAL_NAME   *gn;
    GENERAL_NAMES  *gens;
    u_char          buf[NGX_SOCKADDR_STRLEN + 1];

    bio = BIO_new_mem_buf(pem->cert.data, (int) pem->cert.len);
    if (bio == NULL) {
        return 0;
    }

    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (x == NULL) {
        ERR_clear_error();
        return 0;
    }

    if (zone->names.nelts) {
        names = zone->names.elts;
        n = zone->names.nelts;

    } else {
        host = zone->cycle->hostname;
        names = &host;
        n = 1;
    }

    /* every name is covered, and nothing else is named */

    gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ok = (sk_GENERAL_NAME_num(gens) == n);

    for (i = 0; ok && i < n; i++) {
        ngx_cpystrn(buf, names[i].data,
                    ngx_min(names[i].len + 1, sizeof(buf)));

        if (ngx_palette_cert_is_ip(&names[i])) {
            found = (X509_check_ip_asc(x, (char *) buf, 0) == 1);

        } else {
            found = 0;

            for (j = 0; j < (ngx_uint_t) sk_GENERAL_NAME_num(gens); j++) {
                gn = sk_GENERAL_NAME_value(gens, j);

                if (gn->type == GEN_DNS
                    && (size_t) ASN1_STRING_length(gn->d.dNSName)
                       == names[i].len
                    && ngx_strncasecmp((u_char *) ASN1_STRING_get0_data(
                                                      gn->d.dNSName),
                                       names[i].data, names[i].len)
                       == 0)
                {
                    found = 1;
                    break;
                }
            }
        }

        ok = found;
    }

    GENERAL_NAMES_free(gens);
    X509_free(x);

    return ok;
}


/*
 * A certificate of a key type, with a key of its own, for nothing but to
 * take the place of a certificate an SSL context must stop choosing.
 */

X509 *
ngx_palette_cert_placeholder(int type, ngx_log_t *log)
{
    X509       *x;
    EVP_PKEY   *key;
    X509_NAME  *name;

    key = NULL;

    x = ngx_palette_cert_x509_new(type, 0, 86400, &key);
    name = x ? X509_get_subject_name(x) : NULL;

    if (x == NULL
        || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1
        || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                      (u_char *) "palette_cert placeholder",
                                      -1, -1, 0)
           != 1
        || X509_set_issuer_name(x, name) != 1
        || X509_sign(x, key, EVP_sha256()) == 0)
    {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert: cannot make a placeholder certificate");

        X509_free(x);
        x = NULL;
    }

    /* the certificate holds its public key; the private one is not needed */

    EVP_PKEY_free(key);

    return x;
}


/*
 * A version 3 certificate for a new key of that type (into *key), valid
 * from "before" to "after" seconds from now; its serial, names and
 * signature are the caller's.
 */

static X509 *
ngx_palette_cert_x509_new(int type, long before, long after, EVP_PKEY **key)
{
    X509  *x;

    *key = ngx_palette_cert_key_new(type);
    if (*key == NULL) {
        return NULL;
    }

    x = X509_new();
    if (x == NULL) {
        return NULL;
    }

    if (X509_set_version(x, 2) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x), before) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), after) == NULL
        || X509_set_pubkey(x, *key) != 1)
    {
        X509_free(x);
        return NULL;
    }

    return x;
}


/* an RSA 2048 key, or else an EC P-256 one */

static EVP_PKEY *
ngx_palette_cert_key_new(int type)
{
    EVP_PKEY      *key;
    EVP_PKEY_CTX  *ctx;

    key = NULL;

    ctx = EVP_PKEY_CTX_new_id(type == EVP_PKEY_RSA ? EVP_PKEY_RSA
                                                   : EVP_PKEY_EC, NULL);
    if (ctx == NULL) {
        return NULL;
    }

    if (EVP_PKEY_keygen_init(ctx) != 1
        || (type == EVP_PKEY_RSA
            ? EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048)
            : EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx,
                                                     NID_X9_62_prime256v1))
           != 1
        || EVP_PKEY_keygen(ctx, &key) != 1)
    {
        key = NULL;
    }

    EVP_PKEY_CTX_free(ctx);

    return key;
}


/* the SAN: the zone's names, or else the host's, as self_signed_matches() */

static ngx_int_t
ngx_palette_cert_self_signed_names(X509 *x, ngx_palette_cert_zone_t *zone,
    ngx_str_t *host)
{
    u_char           addr[16];
    ngx_int_t        rc;
    ngx_str_t       *names, *name;
    ngx_uint_t       i, n;
    GENERAL_NAME    *gn;
    GENERAL_NAMES   *gens;
    ASN1_IA5STRING  *ia5;
    u_char           buf[NGX_SOCKADDR_STRLEN + 1];

    gens = GENERAL_NAMES_new();
    if (gens == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    names = zone->names.elts;
    n = zone->names.nelts ? zone->names.nelts : 1;

    for (i = 0; i < n; i++) {
        name = zone->names.nelts ? &names[i] : host;

        gn = GENERAL_NAME_new();
        if (gn == NULL) {
            goto done;
        }

        if (sk_GENERAL_NAME_push(gens, gn) == 0) {
            GENERAL_NAME_free(gn);
            goto done;
        }

        if (ngx_palette_cert_is_ip(name)) {
            ngx_cpystrn(buf, name->data, ngx_min(name->len + 1, sizeof(buf)));

            gn->type = GEN_IPADD;
            gn->d.iPAddress = ASN1_OCTET_STRING_new();

            if (gn->d.iPAddress == NULL) {
                goto done;
            }

            if (inet_pton(AF_INET, (char *) buf, addr) == 1) {
                if (ASN1_OCTET_STRING_set(gn->d.iPAddress, addr, 4) != 1) {
                    goto done;
                }

            } else if (inet_pton(AF_INET6, (char *) buf, addr) == 1) {
                if (ASN1_OCTET_STRING_set(gn->d.iPAddress, addr, 16) != 1) {
                    goto done;
                }

            } else {
                goto done;
            }

            continue;
        }

        ia5 = ASN1_IA5STRING_new();
        if (ia5 == NULL) {
            goto done;
        }

        gn->type = GEN_DNS;
        gn->d.dNSName = ia5;

        if (ASN1_STRING_set(ia5, name->data, (int) name->len) != 1) {
            goto done;
        }
    }

    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1) {
        rc = NGX_OK;
    }

done:

    GENERAL_NAMES_free(gens);

    return rc;
}
