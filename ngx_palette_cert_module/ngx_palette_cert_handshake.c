
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The certificate callback and the per-process copy of each zone's
 * current certificate.
 *
 * Every process keeps the zone's record parsed for the generation it last
 * saw, and installs it in the SSL contexts of the servers the zone feeds;
 * connections created from a context then carry the certificate from the
 * start.  The callback runs on every handshake: when nothing changed it
 * reads one word of shared memory and compares two pointers.  It never
 * parses, allocates from a pool or takes a lock unless the generation in
 * shared memory is newer than the one this process holds.
 */


#include "ngx_palette_cert.h"


static ngx_int_t ngx_palette_cert_use(SSL *ssl,
    ngx_palette_cert_parsed_t *cur);
static X509 *ngx_palette_cert_retire_cert(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log);


/* made once, by the master, and shared by its workers */

static X509  *ngx_palette_cert_ec_placeholder;
static X509  *ngx_palette_cert_rsa_placeholder;


int
ngx_palette_cert_handshake(SSL *ssl, void *arg)
{
    ngx_palette_cert_srv_conf_t *pscf = arg;

    ngx_log_t                  *log;
    ngx_connection_t           *c;
    ngx_palette_cert_zone_t    *zone;
    ngx_palette_cert_parsed_t  *cur;

    zone = pscf->zone;
    cur = &zone->current;

    if (zone->sh->generation != cur->generation
        || pscf->installed != cur->generation)
    {
        c = ngx_ssl_get_connection(ssl);
        log = c ? c->log : ngx_cycle->log;

        /* on failure the previous certificate stays in place */

        (void) ngx_palette_cert_refresh(zone, log);
        (void) ngx_palette_cert_install(pscf, log);
    }

    if (cur->leaf == NULL) {
        return 0;
    }

    /*
     * The connection carries the context's certificates unless the
     * context holds some the zone did not put there, or the connection
     * was created before this process last installed a change.  Then
     * what it copied goes: a certificate of another key type would be
     * chosen over the zone's.
     */

    if (pscf->exclusive || SSL_get_certificate(ssl) != cur->leaf) {
        return ngx_palette_cert_use(ssl, cur) == NGX_OK;
    }

    return 1;
}


static ngx_int_t
ngx_palette_cert_use(SSL *ssl, ngx_palette_cert_parsed_t *cur)
{
    ngx_connection_t  *c;

    SSL_certs_clear(ssl);

    if (SSL_use_cert_and_key(ssl, cur->leaf, cur->key, cur->chain, 1) != 1) {
        c = ngx_ssl_get_connection(ssl);

        ngx_ssl_error(NGX_LOG_ALERT, c ? c->log : ngx_cycle->log, 0,
                      "palette_cert: SSL_use_cert_and_key() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Brings this process's copy of the zone's record up to date: the record
 * is copied under the zone's lock and parsed outside it.
 */

ngx_int_t
ngx_palette_cert_refresh(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_palette_cert_pem_t      pem;
    ngx_palette_cert_record_t  *rec;
    ngx_palette_cert_parsed_t   parsed;

    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    if (zone->sh->generation == zone->current.generation
        && zone->current.leaf)
    {
        return NGX_OK;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    rec = ngx_palette_cert_current_record(zone);

    if (rec == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    rc = ngx_palette_cert_record_copy(rec, &pem);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_palette_cert_parse_pem(&pem, &parsed, log);

    ngx_palette_cert_pem_free(&pem);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": cannot use generation %ui",
                      &zone->name, pem.generation);
        return NGX_ERROR;
    }

    ngx_palette_cert_parsed_free(&zone->current);
    zone->current = parsed;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "palette_cert zone \"%V\": generation %ui parsed",
                   &zone->name, parsed.generation);

    return NGX_OK;
}


/*
 * Installs this process's copy in a server's SSL context.  Connections
 * created from the context afterwards carry it without further work.
 */

ngx_int_t
ngx_palette_cert_install(ngx_palette_cert_srv_conf_t *pscf, ngx_log_t *log)
{
    int                         type;
    X509                       *retire;
    ngx_palette_cert_parsed_t  *cur;

    cur = &pscf->zone->current;

    if (cur->leaf == NULL || pscf->installed == cur->generation) {
        return NGX_OK;
    }

    type = EVP_PKEY_base_id(cur->key);
    retire = NULL;

    if (pscf->installed_type && pscf->installed_type != type
        && !pscf->exclusive)
    {
        retire = ngx_palette_cert_retire_cert(pscf, log);
    }

    if (SSL_CTX_use_cert_and_key(pscf->ssl_ctx, cur->leaf, cur->key,
                                 cur->chain, 1)
        != 1)
    {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": "
                      "SSL_CTX_use_cert_and_key() failed",
                      &pscf->zone->name);
        X509_free(retire);
        return NGX_ERROR;
    }

    /*
     * A context cannot drop a certificate once given: after a change of
     * key type the old one stays beside the new.  Giving its place a
     * certificate that does not match its key leaves it without a key,
     * and OpenSSL never chooses a certificate without one.  Should that
     * fail, each connection gets the zone's certificate installed alone.
     */

    if (pscf->installed_type && pscf->installed_type != type
        && !pscf->exclusive)
    {
        if (retire == NULL
            || SSL_CTX_use_certificate(pscf->ssl_ctx, retire) != 1
            || SSL_CTX_select_current_cert(pscf->ssl_ctx, cur->leaf) != 1)
        {
            ngx_ssl_error(NGX_LOG_WARN, log, 0,
                          "palette_cert zone \"%V\": the certificate of the "
                          "earlier key type cannot be retired, every "
                          "handshake installs the certificate until the "
                          "next reload", &pscf->zone->name);
            pscf->exclusive = 1;
        }
    }

    X509_free(retire);

    /*
     * Sessions made with an earlier certificate are not resumed: the
     * certificate a resumed handshake stands for is the one it started
     * with.
     */

    (void) SSL_CTX_set_session_id_context(pscf->ssl_ctx, cur->sid,
                                          sizeof(cur->sid));

    pscf->installed_type = type;
    pscf->installed = cur->generation;

    return NGX_OK;
}


/*
 * A certificate of the key type installed until now, with another key:
 * one of the installed chain's, or else one made for the purpose.
 */

static X509 *
ngx_palette_cert_retire_cert(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log)
{
    int              i;
    X509            *x;
    EVP_PKEY        *pkey;
    STACK_OF(X509)  *chain;

    chain = NULL;

    if (SSL_CTX_get0_chain_certs(pscf->ssl_ctx, &chain) == 1) {

        for (i = 0; i < sk_X509_num(chain); i++) {
            x = sk_X509_value(chain, i);
            pkey = X509_get0_pubkey(x);

            if (pkey && EVP_PKEY_base_id(pkey) == pscf->installed_type) {
                X509_up_ref(x);
                return x;
            }
        }
    }

    /* made by the master already, unless that failed */

    if (pscf->installed_type == EVP_PKEY_RSA) {
        x = ngx_palette_cert_rsa_placeholder;

    } else {
        x = ngx_palette_cert_ec_placeholder;
    }

    if (x == NULL) {
        x = ngx_palette_cert_placeholder(pscf->installed_type, log);
        if (x == NULL) {
            return NULL;
        }

        if (pscf->installed_type == EVP_PKEY_RSA) {
            ngx_palette_cert_rsa_placeholder = x;

        } else {
            ngx_palette_cert_ec_placeholder = x;
        }
    }

    X509_up_ref(x);

    return x;
}


/*
 * The placeholders that retire a certificate after a change of key type:
 * made by the master at its first start, so that no worker spends a
 * handshake making an RSA key.
 */

void
ngx_palette_cert_placeholders(ngx_log_t *log)
{
    if (ngx_palette_cert_ec_placeholder == NULL) {
        ngx_palette_cert_ec_placeholder =
                              ngx_palette_cert_placeholder(EVP_PKEY_EC, log);
    }

    if (ngx_palette_cert_rsa_placeholder == NULL) {
        ngx_palette_cert_rsa_placeholder =
                             ngx_palette_cert_placeholder(EVP_PKEY_RSA, log);
    }
}
