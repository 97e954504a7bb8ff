
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
 *
 * The client hello callback, which OpenSSL runs before it looks for a
 * session to resume, gives each connection the session id context of its
 * server: nginx's own inputs (the server's certificates and client CA
 * list), the certificate served, and the generation of every zone.  A
 * session made before a change is thus never resumed after it, on any
 * worker, and sessions never cross servers that nginx keeps apart.  When
 * nothing changed it reads one word of shared memory per zone and copies
 * 32 bytes.
 */


#include "ngx_palette_cert.h"


static ngx_int_t ngx_palette_cert_use(SSL *ssl,
    ngx_palette_cert_srv_conf_t *pscf);
static ngx_int_t ngx_palette_cert_named_serve(SSL *ssl,
    ngx_palette_cert_srv_conf_t *pscf);
static ngx_int_t ngx_palette_cert_named_lookup(SSL *ssl,
    ngx_palette_cert_zone_t *zone, u_char *host, size_t len,
    ngx_uint_t *kind, u_char *name, size_t *name_len, ngx_uint_t gen[2]);
static void ngx_palette_cert_served(SSL *ssl, ngx_palette_cert_stats_t *stats,
    ngx_atomic_t *fallback, u_char *tag, size_t len);
static ngx_uint_t ngx_palette_cert_wants_ec(SSL *ssl);
static size_t ngx_palette_cert_local_addr(SSL *ssl, u_char *buf);
static ngx_uint_t ngx_palette_cert_epoch(ngx_palette_cert_srv_conf_t *pscf);
static ngx_uint_t ngx_palette_cert_zone_epoch(
    ngx_palette_cert_srv_conf_t *pscf, ngx_palette_cert_zone_t *zone);
static X509 *ngx_palette_cert_retire_cert(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log);


/* made once, by the master, and shared by its workers */

static X509  *ngx_palette_cert_ec_placeholder;
static X509  *ngx_palette_cert_rsa_placeholder;


int
ngx_palette_cert_handshake(SSL *ssl, void *arg)
{
    ngx_palette_cert_srv_conf_t *pscf = arg;

    ngx_int_t                 rc;
    ngx_log_t                *log;
    ngx_connection_t         *c;
    ngx_palette_cert_zone_t  *zone;

    zone = pscf->zone;

    /* a named certificate for the name the client asked for */

    rc = NGX_DECLINED;

    /* unless the client hello callback found none for this zone */

    if (zone->sh->named_n
        && ((uintptr_t) SSL_get_ex_data(ssl, ngx_palette_cert_conn_index)
            & ~NGX_PALETTE_CERT_COUNTED)
           != ((uintptr_t) zone | NGX_PALETTE_CERT_UNNAMED))
    {
        rc = ngx_palette_cert_named_serve(ssl, pscf);

        if (rc == NGX_OK) {
            return 1;
        }
    }

    if (zone->sh->generation != zone->current.generation
        || pscf->installed != zone->current.generation)
    {
        c = ngx_ssl_get_connection(ssl);
        log = c ? c->log : ngx_cycle->log;

        /* on failure the previous certificate stays in place */

        (void) ngx_palette_cert_refresh(zone, log);
        (void) ngx_palette_cert_install(pscf, log);
    }

    if (pscf->leaf == NULL) {
        return 0;
    }

    /*
     * The connection carries the context's certificates unless the
     * context holds some the zone did not put there, or the connection
     * was created before this process last installed a change.  Then
     * what it copied goes: a certificate of another key type would be
     * chosen over the zone's.
     */

    if ((pscf->exclusive || SSL_get_certificate(ssl) != pscf->leaf)
        && ngx_palette_cert_use(ssl, pscf) != NGX_OK)
    {
        return 0;
    }

    /* a name no named certificate covers got the default */

    ngx_palette_cert_served(ssl, &zone->sh->stats,
                            (rc == NGX_DECLINED
                             && SSL_get_servername(ssl,
                                                   TLSEXT_NAMETYPE_host_name))
                            ? &zone->sh->sni_fallback : NULL,
                            pscf->tag, pscf->tag_len);

    return 1;
}


/*
 * A full handshake presents the certificate: it is counted, and the
 * session made remembers which one it was, for the variables of this
 * connection and of those that resume it (when the configuration uses
 * them).  After a HelloRetryRequest the
 * callback runs again for the same handshake, with a new session: that
 * one remembers too, and the connection's mark keeps the handshake from
 * being counted twice.
 */

static void
ngx_palette_cert_served(SSL *ssl, ngx_palette_cert_stats_t *stats,
    ngx_atomic_t *fallback, u_char *tag, size_t len)
{
#if (NGX_PALETTE_CERT_COUNT)
    uintptr_t     mark;
    SSL_SESSION  *sess;

    if (ngx_palette_cert_remember) {
        sess = SSL_get_session(ssl);

        if (sess && SSL_SESSION_set1_ticket_appdata(sess, tag, len) != 1) {
            ERR_clear_error();
        }
    }

    mark = (uintptr_t) SSL_get_ex_data(ssl, ngx_palette_cert_conn_index);

    if (mark & NGX_PALETTE_CERT_COUNTED) {
        return;
    }

    if (SSL_set_ex_data(ssl, ngx_palette_cert_conn_index,
                        (void *) (mark | NGX_PALETTE_CERT_COUNTED))
        != 1)
    {
        ERR_clear_error();
    }

    (void) ngx_atomic_fetch_add(&stats->handshakes, 1);

    if (fallback) {
        (void) ngx_atomic_fetch_add(fallback, 1);
    }
#endif
}


static ngx_int_t
ngx_palette_cert_use(SSL *ssl, ngx_palette_cert_srv_conf_t *pscf)
{
    ngx_connection_t  *c;

    SSL_certs_clear(ssl);

    if (SSL_use_cert_and_key(ssl, pscf->leaf, pscf->key, pscf->chain, 1)
        != 1)
    {
        c = ngx_ssl_get_connection(ssl);

        ngx_ssl_error(NGX_LOG_ALERT, c ? c->log : ngx_cycle->log, 0,
                      "palette_cert: SSL_use_cert_and_key() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


int
ngx_palette_cert_client_hello(SSL *ssl, int *alert, void *arg)
{
    ngx_palette_cert_srv_conf_t *pscf = arg;

    u_char                   *sid, named[32], host[NGX_PALETTE_CERT_HOST_LEN];
    u_char                    name[NGX_PALETTE_CERT_HOST_LEN + 1];
    size_t                    len, hlen, nlen;
    ngx_int_t                 rc;
    uintptr_t                 mark, next;
    ngx_uint_t                kind, gen[2];
    const u_char             *ext;
    ngx_connection_t         *c;
    ngx_palette_cert_zone_t  *zone;

    if (ngx_palette_cert_epoch(pscf) != pscf->sid_epoch) {
        c = ngx_ssl_get_connection(ssl);
        ngx_palette_cert_session_update(pscf, c ? c->log : ngx_cycle->log);
    }

    sid = pscf->sid;
    zone = pscf->zone;

    /*
     * Sessions made under a named certificate are told apart by the
     * generations of the name's certificates: a change of either ends
     * them, and a change of any other certificate leaves them.
     */

    if (zone && zone->sh && zone->sh->named_n) {
        rc = NGX_DECLINED;
        hlen = 0;

        if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext,
                                      &len)
            == 1)
        {
            rc = ngx_palette_cert_parse_sni(ext, len, host, &hlen);

            if (rc == NGX_OK) {
                rc = ngx_palette_cert_named_lookup(ssl, zone, host, hlen,
                                                   &kind, name, &nlen, gen);
            }

        } else {
            rc = ngx_palette_cert_named_lookup(ssl, zone, NULL, 0, &kind,
                                               name, &nlen, gen);
        }

        if (rc == NGX_OK) {
            ngx_memcpy(named, pscf->sid_base, 16);
            ngx_memcpy(named + 16, &gen[0], 8);
            ngx_memcpy(named + 24, &gen[1], 8);
            sid = named;
        }

        /*
         * The certificate callback need not look again for a name this
         * zone has no certificate for; it runs with the zone of the
         * server the name chose, which may be another.
         */

        mark = (uintptr_t) SSL_get_ex_data(ssl, ngx_palette_cert_conn_index);
        next = (mark & NGX_PALETTE_CERT_COUNTED)
               | (rc == NGX_OK ? 0
                               : (uintptr_t) zone | NGX_PALETTE_CERT_UNNAMED);

        if (next != mark
            && SSL_set_ex_data(ssl, ngx_palette_cert_conn_index,
                               (void *) next)
               != 1)
        {
            ERR_clear_error();
        }
    }

    if (SSL_set_session_id_context(ssl, sid, 32) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    return SSL_CLIENT_HELLO_SUCCESS;
}


/*
 * The named certificate the handshake asked for, installed in the
 * connection: NGX_DECLINED when there is none, NGX_ERROR when it cannot
 * be used (the default is served).
 */

static ngx_int_t
ngx_palette_cert_named_serve(SSL *ssl, ngx_palette_cert_srv_conf_t *pscf)
{
    u_char                      name[NGX_PALETTE_CERT_HOST_LEN + 1];
    u_char                      host[NGX_PALETTE_CERT_HOST_LEN];
    size_t                      hlen, nlen;
    ngx_int_t                   rc;
    ngx_uint_t                  kind, type, gen[2];
    const char                 *sni;
    ngx_log_t                  *log;
    ngx_connection_t           *c;
    ngx_palette_cert_zone_t    *zone;
    ngx_palette_cert_cached_t  *cc;

    zone = pscf->zone;

    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    if (sni) {

        /* as the client hello callback read it */

        rc = ngx_palette_cert_host((u_char *) sni, ngx_strlen(sni), host,
                                   &hlen);

        if (rc == NGX_OK) {
            rc = ngx_palette_cert_named_lookup(ssl, zone, host, hlen, &kind,
                                               name, &nlen, gen);
        }

    } else {
        rc = ngx_palette_cert_named_lookup(ssl, zone, NULL, 0, &kind, name,
                                           &nlen, gen);
    }

    if (rc != NGX_OK) {
        return NGX_DECLINED;
    }

    /* the key type the client can use, else the other one */

    if (gen[NGX_PALETTE_CERT_EC] && gen[NGX_PALETTE_CERT_RSA]) {
        type = ngx_palette_cert_wants_ec(ssl) ? NGX_PALETTE_CERT_EC
                                              : NGX_PALETTE_CERT_RSA;

    } else {
        type = gen[NGX_PALETTE_CERT_EC] ? NGX_PALETTE_CERT_EC
                                        : NGX_PALETTE_CERT_RSA;
    }

    c = ngx_ssl_get_connection(ssl);
    log = c ? c->log : ngx_cycle->log;

    cc = ngx_palette_cert_named_get(zone, kind, name, nlen, type, gen[type],
                                    log);

    if (cc == NULL && gen[type ^ 1]) {
        type ^= 1;
        cc = ngx_palette_cert_named_get(zone, kind, name, nlen, type,
                                        gen[type], log);
    }

    if (cc == NULL || cc->refused) {
        return NGX_ERROR;
    }

    /*
     * The certificate replaces the default of its key type; a certificate
     * of the other type with a key, which OpenSSL could choose instead,
     * goes first.  The connection holds one only when the context holds
     * certificates the zone did not put there, when it was created
     * before this process last installed the default, or when the
     * default is of the other type.
     */

    if (pscf->exclusive
        || SSL_get_certificate(ssl) != pscf->leaf
        || pscf->installed_type != cc->key_id)
    {
        SSL_certs_clear(ssl);
    }

    if (SSL_use_cert_and_key(ssl, cc->leaf, cc->bound ? NULL : cc->key,
                             cc->chain, 1)
        != 1)
    {

        /*
         * Uploads are checked against the servers' TLS settings; a reload
         * that tightened them since is told once per worker, and the
         * default is served for the name until the certificate changes.
         */

        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": a named certificate of "
                      "generation %ui cannot be used by this server, the "
                      "default is served instead: SSL_use_cert_and_key() "
                      "failed", &zone->name, gen[type]);
        cc->refused = 1;
        return NGX_ERROR;
    }

    if (cc->stats) {
        ngx_palette_cert_served(ssl, cc->stats, NULL, cc->tag, cc->tag_len);
    }

    return NGX_OK;
}


/*
 * The name whose certificates serve a handshake, and their generations:
 * the host name exactly, else the wildcard of its parent; without a host
 * name, the address the client connected to.  host is lowercase.
 */

static ngx_int_t
ngx_palette_cert_named_lookup(SSL *ssl, ngx_palette_cert_zone_t *zone,
    u_char *host, size_t len, ngx_uint_t *kind, u_char *name,
    size_t *name_len, ngx_uint_t gen[2])
{
    u_char  *dot;

    if (host == NULL) {
        if (zone->sh->ip_names == 0) {
            return NGX_DECLINED;
        }

        *kind = NGX_PALETTE_CERT_NAME_IP;
        *name_len = ngx_palette_cert_local_addr(ssl, name);

        if (*name_len == 0) {
            return NGX_DECLINED;
        }

        return ngx_palette_cert_named_select(zone, *kind, name, *name_len,
                                             gen);
    }

    *kind = NGX_PALETTE_CERT_NAME_DNS;

    ngx_memcpy(name, host, len);
    *name_len = len;

    if (ngx_palette_cert_named_select(zone, *kind, name, len, gen) == NGX_OK)
    {
        return NGX_OK;
    }

    /* "*.rest" covers one label more than "rest" */

    dot = ngx_strlchr(host, host + len, '.');

    if (dot == NULL || dot == host || dot + 1 == host + len) {
        return NGX_DECLINED;
    }

    name[0] = '*';
    ngx_memcpy(name + 1, dot, host + len - dot);
    *name_len = 1 + (host + len - dot);

    return ngx_palette_cert_named_select(zone, *kind, name, *name_len, gen);
}


/*
 * Whether the client can be served an ECDSA certificate: it offers ECDSA
 * signatures (or, in TLS 1.2, offers no list, which allows them), and in
 * TLS 1.2 an ECDSA cipher suite that the server enables too.
 */

static ngx_uint_t
ngx_palette_cert_wants_ec(SSL *ssl)
{
    int                  i, n, sign;
    const SSL_CIPHER    *cipher;
    STACK_OF(SSL_CIPHER) *client, *server;

    n = SSL_get_sigalgs(ssl, -1, NULL, NULL, NULL, NULL, NULL);

    if (n > 0) {
        for (i = 0; i < n; i++) {
            if (SSL_get_sigalgs(ssl, i, &sign, NULL, NULL, NULL, NULL) > 0
                && sign == EVP_PKEY_EC)
            {
                break;
            }
        }

        if (i == n) {
            return 0;
        }

    } else if (SSL_version(ssl) >= TLS1_3_VERSION) {
        return 0;
    }

    if (SSL_version(ssl) >= TLS1_3_VERSION) {
        return 1;
    }

    client = SSL_get_client_ciphers(ssl);
    server = SSL_get_ciphers(ssl);

    if (client == NULL || server == NULL) {
        return 0;
    }

    for (i = 0; i < sk_SSL_CIPHER_num(client); i++) {
        cipher = sk_SSL_CIPHER_value(client, i);

        if (SSL_CIPHER_get_auth_nid(cipher) == NID_auth_ecdsa
            && sk_SSL_CIPHER_find(server, (SSL_CIPHER *) cipher) >= 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the address the client connected to, as text: an IPv4 one unmapped */

static size_t
ngx_palette_cert_local_addr(SSL *ssl, u_char *buf)
{
    u_char               *p;
    ngx_connection_t     *c;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    c = ngx_ssl_get_connection(ssl);

    if (c == NULL || ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
        return 0;
    }

    switch (c->local_sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) c->local_sockaddr;
        p = (u_char *) &sin->sin_addr;
        return ngx_inet_ntop(AF_INET, p, buf, NGX_INET_ADDRSTRLEN);

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) c->local_sockaddr;
        p = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            return ngx_inet_ntop(AF_INET, p + 12, buf, NGX_INET_ADDRSTRLEN);
        }

        /* as inet_ntop() writes it, which is how the names are kept */

        if (inet_ntop(AF_INET6, p, (char *) buf, NGX_INET6_ADDRSTRLEN)
            == NULL)
        {
            return 0;
        }

        return ngx_strlen(buf);
#endif

    default:
        return 0;
    }
}


/*
 * The sum of the zones' generations: it grows with every change.  Of the
 * server's own zone it is the default's, as named certificates have
 * session id contexts of their own; of another zone, whose server a host
 * name may lead to, it is the zone's, which any change makes grow.
 */

static ngx_uint_t
ngx_palette_cert_epoch(ngx_palette_cert_srv_conf_t *pscf)
{
    ngx_uint_t                 i, epoch;
    ngx_palette_cert_zone_t  **zones;

    zones = pscf->zones->elts;
    epoch = 0;

    for (i = 0; i < pscf->zones->nelts; i++) {
        epoch += ngx_palette_cert_zone_epoch(pscf, zones[i]);
    }

    return epoch;
}


static ngx_uint_t
ngx_palette_cert_zone_epoch(ngx_palette_cert_srv_conf_t *pscf,
    ngx_palette_cert_zone_t *zone)
{
    if (zone->sh == NULL) {
        return 0;
    }

    return (zone == pscf->zone) ? zone->sh->generation
                                : zone->sh->zone_generation;
}


/*
 * The server's part of the session id context, made at configuration
 * time from what nginx makes its own of: the server's certificates (or
 * their names, when they have variables) and its client CA list.
 */

ngx_int_t
ngx_palette_cert_session_base(ngx_palette_cert_srv_conf_t *pscf,
    ngx_array_t *certificates, ngx_log_t *log)
{
    int                   i, n, rc;
    X509                 *x, *current;
    SSL_CTX              *ctx;
    ngx_str_t            *names;
    ngx_uint_t            k;
    EVP_MD_CTX           *md;
    unsigned int          len;
    STACK_OF(X509_NAME)  *list;
    u_char                buf[EVP_MAX_MD_SIZE];

    static u_char         tag[] = "palette_cert session id context";

    ctx = pscf->ssl_ctx;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        goto failed;
    }

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, tag, sizeof(tag) - 1) != 1)
    {
        goto failed;
    }

    current = SSL_CTX_get0_certificate(ctx);

    for (rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
         rc == 1;
         rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT))
    {
        x = SSL_CTX_get0_certificate(ctx);

        if (x == NULL) {
            continue;
        }

        if (X509_digest(x, EVP_sha256(), buf, &len) != 1
            || EVP_DigestUpdate(md, buf, len) != 1)
        {
            goto failed;
        }
    }

    if (current) {
        (void) SSL_CTX_select_current_cert(ctx, current);
    }

    if (certificates) {
        names = certificates->elts;

        for (k = 0; k < certificates->nelts; k++) {
            if (EVP_DigestUpdate(md, names[k].data, names[k].len) != 1) {
                goto failed;
            }
        }
    }

    list = SSL_CTX_get_client_CA_list(ctx);
    n = list ? sk_X509_NAME_num(list) : 0;

    for (i = 0; i < n; i++) {
        if (X509_NAME_digest(sk_X509_NAME_value(list, i), EVP_sha256(), buf,
                             &len)
            != 1
            || EVP_DigestUpdate(md, buf, len) != 1)
        {
            goto failed;
        }
    }

    if (EVP_DigestFinal_ex(md, pscf->sid_base, NULL) != 1) {
        goto failed;
    }

    EVP_MD_CTX_free(md);

    return NGX_OK;

failed:

    ngx_ssl_error(NGX_LOG_EMERG, log, 0,
                  "palette_cert: cannot make a session id context");

    EVP_MD_CTX_free(md);

    return NGX_ERROR;
}


/*
 * Brings the server's certificate and session id context up to date with
 * the zones.  Should the digest fail, the context becomes random: no
 * session is resumed rather than an old one.
 */

void
ngx_palette_cert_session_update(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log)
{
    int                        ok;
    ngx_uint_t                 i, epoch, generation;
    EVP_MD_CTX                *md;
    unsigned int               len;
    ngx_palette_cert_zone_t  **zones;
    u_char                     buf[EVP_MAX_MD_SIZE];

    if (pscf->zone) {
        (void) ngx_palette_cert_refresh(pscf->zone, log);
        (void) ngx_palette_cert_install(pscf, log);
    }

    md = EVP_MD_CTX_new();

    ok = (md != NULL
          && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
          && EVP_DigestUpdate(md, pscf->sid_base, sizeof(pscf->sid_base))
             == 1);

    if (ok && pscf->leaf) {
        ok = (X509_digest(pscf->leaf, EVP_sha256(), buf, &len) == 1
              && EVP_DigestUpdate(md, buf, len) == 1
              && EVP_DigestUpdate(md, &pscf->served, sizeof(ngx_uint_t))
                 == 1);
    }

    zones = pscf->zones->elts;
    epoch = 0;

    for (i = 0; i < pscf->zones->nelts; i++) {
        generation = ngx_palette_cert_zone_epoch(pscf, zones[i]);
        epoch += generation;

        ok = ok && EVP_DigestUpdate(md, &generation, sizeof(ngx_uint_t)) == 1;
    }

    ok = ok && EVP_DigestFinal_ex(md, pscf->sid, NULL) == 1;

    EVP_MD_CTX_free(md);

    if (!ok) {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert: cannot make a session id context, "
                      "sessions are not resumed");

        (void) RAND_bytes(pscf->sid, sizeof(pscf->sid));
        return;
    }

    (void) SSL_CTX_set_session_id_context(pscf->ssl_ctx, pscf->sid,
                                          sizeof(pscf->sid));

    pscf->sid_epoch = epoch;
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
 * A context that refuses it (a security level that the key or a
 * signature does not meet) keeps serving what it had: that is logged
 * once for the generation, not on every handshake.
 */

ngx_int_t
ngx_palette_cert_install(ngx_palette_cert_srv_conf_t *pscf, ngx_log_t *log)
{
    int                         type;
    X509                       *retire;
    STACK_OF(X509)             *chain;
    ngx_palette_cert_parsed_t  *cur;

    cur = &pscf->zone->current;

    if (cur->leaf == NULL || pscf->installed == cur->generation) {
        return NGX_OK;
    }

    pscf->installed = cur->generation;

    chain = cur->chain ? X509_chain_up_ref(cur->chain) : NULL;

    if (cur->chain && chain == NULL) {
        ngx_ssl_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": X509_chain_up_ref() failed",
                      &pscf->zone->name);
        return NGX_ERROR;
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
                      "palette_cert zone \"%V\": generation %ui cannot be "
                      "used by the server in %s:%ui, generation %ui is "
                      "still served: SSL_CTX_use_cert_and_key() failed",
                      &pscf->zone->name, cur->generation, pscf->file,
                      pscf->line, pscf->served);
        X509_free(retire);
        sk_X509_pop_free(chain, X509_free);
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

    ngx_palette_cert_served_free(pscf);

    X509_up_ref(cur->leaf);
    EVP_PKEY_up_ref(cur->key);

    pscf->leaf = cur->leaf;
    pscf->key = cur->key;
    pscf->chain = chain;
    pscf->served = cur->generation;
    pscf->installed_type = type;

    ngx_palette_cert_tag(pscf->tag, &pscf->tag_len, NULL, cur->generation,
                         cur->leaf, 0, NULL);

    return NGX_OK;
}


void
ngx_palette_cert_served_free(ngx_palette_cert_srv_conf_t *pscf)
{
    X509_free(pscf->leaf);
    EVP_PKEY_free(pscf->key);
    sk_X509_pop_free(pscf->chain, X509_free);

    pscf->leaf = NULL;
    pscf->key = NULL;
    pscf->chain = NULL;
}


/* whether every server the zone feeds can use its current certificate */

ngx_int_t
ngx_palette_cert_zone_usable(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    ngx_int_t                   rc;
    ngx_palette_cert_pem_t      pem;
    ngx_palette_cert_error_t    err;
    ngx_palette_cert_bundle_t   b;
    ngx_palette_cert_record_t  *rec;
    ngx_palette_cert_parsed_t   parsed;

    if (zone->sh == NULL || zone->servers.nelts == 0) {
        return NGX_OK;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    rec = ngx_palette_cert_current_record(zone);
    rc = rec ? ngx_palette_cert_record_copy(rec, &pem) : NGX_DECLINED;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc == NGX_DECLINED) {
        /* "nginx -t" makes no certificate */
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_palette_cert_parse_pem(&pem, &parsed, log);

    ngx_palette_cert_pem_free(&pem);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&b, sizeof(ngx_palette_cert_bundle_t));

    b.leaf = parsed.leaf;
    b.chain = parsed.chain;
    b.key = parsed.key;

    rc = ngx_palette_cert_check_install(zone, &b, &err);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "palette_cert zone \"%V\": its certificate "
                      "(generation %ui) cannot be served: %*s",
                      &zone->name, parsed.generation,
                      err.last - err.message, err.message);
    }

    ngx_palette_cert_parsed_free(&parsed);

    return rc;
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
