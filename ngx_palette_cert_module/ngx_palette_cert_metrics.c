
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * What is counted and shown of the certificates served:
 *
 *   - counters in each zone's shared memory, added to without a lock:
 *     full handshakes per certificate (kept across its replacements),
 *     handshakes whose name no named certificate covered, changes by
 *     result;
 *   - the palette_cert_metrics endpoint: every zone's certificates and
 *     counters in Prometheus's text format, or OpenMetrics;
 *   - the $palette_cert_* variables: the certificate a connection's
 *     handshake presented, as its session remembers it (a resumed
 *     session remembers the certificate it was made under);
 *   - expiry warnings: once a day per certificate, from one worker, and
 *     after each change.
 */


#include "ngx_palette_cert.h"


#define NGX_PALETTE_CERT_EXPIRE_EVERY   60000       /* milliseconds */


typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   generation;
    ngx_uint_t                   source;
    ngx_atomic_uint_t            handshakes;
    time_t                       not_before;
    time_t                       not_after;
    ngx_str_t                    subject;
    ngx_str_t                    issuer;
    ngx_str_t                    key_type;
    u_char                       sha256[32];
} ngx_palette_cert_metric_cert_t;


typedef struct {
    ngx_palette_cert_zone_t     *zone;
    ngx_array_t                  certs;   /* of metric_cert_t */
} ngx_palette_cert_metric_zone_t;


typedef struct {
    ngx_pool_t                  *pool;
    ngx_chain_t                 *out;
    ngx_chain_t                **last;
    ngx_buf_t                   *b;
    ngx_uint_t                   openmetrics;
    ngx_uint_t                   failed;
} ngx_palette_cert_metrics_out_t;


typedef struct {
    ngx_str_t                    id;
    ngx_str_t                    subject;
    time_t                       not_after;
} ngx_palette_cert_expiring_t;


static void ngx_palette_cert_metrics_write(ngx_palette_cert_metrics_out_t *o,
    ngx_array_t *zones);
static ngx_int_t ngx_palette_cert_metrics_certs(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_array_t *certs);
static ngx_int_t ngx_palette_cert_metrics_default(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_array_t *certs);
static ngx_int_t ngx_palette_cert_metrics_named(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_named_t *e,
    ngx_palette_cert_metric_cert_t *mc);
static ngx_uint_t ngx_palette_cert_metrics_source(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id, ngx_uint_t generation,
    ngx_uint_t source);
static u_char *ngx_palette_cert_named_label(ngx_palette_cert_named_t *e,
    u_char *p, ngx_str_t *id, ngx_str_t *subject);
static u_char *ngx_palette_cert_metrics_reserve(
    ngx_palette_cert_metrics_out_t *o, size_t len);
static void ngx_palette_cert_metrics_text(ngx_palette_cert_metrics_out_t *o,
    const char *text);
static void ngx_palette_cert_metrics_cert(ngx_palette_cert_metrics_out_t *o,
    ngx_uint_t f, ngx_palette_cert_metric_cert_t *mc);
static void ngx_palette_cert_metrics_series(ngx_palette_cert_metrics_out_t *o,
    const char *name, ngx_palette_cert_zone_t *zone);
static void ngx_palette_cert_metrics_atomic(ngx_palette_cert_metrics_out_t *o,
    ngx_atomic_uint_t n);
static void ngx_palette_cert_metrics_family(ngx_palette_cert_metrics_out_t *o,
    const char *name, const char *type, const char *unit, const char *help);
static void ngx_palette_cert_metrics_label(ngx_palette_cert_metrics_out_t *o,
    const char *name, ngx_str_t *value, ngx_uint_t first);
static ngx_int_t ngx_palette_cert_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_palette_cert_expire_handler(ngx_event_t *ev);
static void ngx_palette_cert_expire_default(ngx_palette_cert_zone_t *zone,
    time_t now, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_expire_named(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e, time_t now, ngx_array_t *due);
static void ngx_palette_cert_expire_log(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_expiring_t *x, ngx_log_t *log);


/* what a change is counted by: "ok" and every error code of the API */

static const char  *ngx_palette_cert_results[] = {
    "ok",
    "malformed_request",
    "missing_field",
    "too_large",
    "unsupported_media_type",
    "invalid_certificate",
    "invalid_key",
    "invalid_ca",
    "encrypted_key",
    "key_mismatch",
    "weak_key",
    "not_server_certificate",
    "expired",
    "not_yet_valid",
    "name_mismatch",
    "chain_incomplete",
    "chain_untrusted",
    "chain_length",
    "name_conflict",
    "managed_by_watch",
    "not_found",
    "generation_mismatch",
    "zone_full",
    "store_failed",
    "busy",
    "reloading",
    "cross_origin",
    "method_not_allowed",
    "internal_error",
    NULL
};


static ngx_http_variable_t  ngx_palette_cert_vars[] = {

    { ngx_string("palette_cert_id"), NULL, ngx_palette_cert_variable,
      0, 0, 0 },

    { ngx_string("palette_cert_generation"), NULL, ngx_palette_cert_variable,
      1, 0, 0 },

    { ngx_string("palette_cert_sha256"), NULL, ngx_palette_cert_variable,
      2, 0, 0 },

    { ngx_string("palette_cert_not_after"), NULL, ngx_palette_cert_variable,
      3, 0, 0 },

      ngx_http_null_variable
};


static ngx_event_t       ngx_palette_cert_expire_event;
static ngx_connection_t  ngx_palette_cert_expire_conn;


/*
 * Made once: a reload finds the module loaded still, with its value, and
 * OpenSSL's indexes are never given back.
 */

int  ngx_palette_cert_conn_index = -1;


/* set by init_module: a configuration that failed leaves it alone */

ngx_uint_t  ngx_palette_cert_remember;


/* counters: the caller holds the zone's lock, or is the only process */

ngx_palette_cert_stats_t *
ngx_palette_cert_stats_alloc(ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_stats_t  *st;

    st = zone->sh->free_stats;

    if (st) {
        zone->sh->free_stats = st->next;

    } else {
        st = ngx_slab_alloc_locked(zone->shpool,
                                   sizeof(ngx_palette_cert_stats_t));
        if (st == NULL) {
            return NULL;
        }
    }

    st->handshakes = 0;
    st->next = NULL;
    st->warned = 0;
    st->warned_generation = 0;

    return st;
}


void
ngx_palette_cert_stats_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_stats_t *st)
{
    /* never freed: a handshake may still add to it */

    st->next = zone->sh->free_stats;
    zone->sh->free_stats = st;
}


/* a reload that changed the zone's size: what was counted goes on */

void
ngx_palette_cert_stats_inherit(ngx_palette_cert_sh_t *sh,
    ngx_palette_cert_sh_t *osh)
{
    ngx_uint_t  i;

    sh->stats.handshakes = osh->stats.handshakes;
    sh->stats.warned = osh->stats.warned;
    sh->stats.warned_generation = osh->stats.warned_generation;

    sh->sni_fallback = osh->sni_fallback;
    sh->last_change = osh->last_change;
    sh->expire_next = osh->expire_next;

    for (i = 0; i < NGX_PALETTE_CERT_RESULTS; i++) {
        sh->changes[i] = osh->changes[i];
    }
}


void
ngx_palette_cert_count_change(ngx_palette_cert_zone_t *zone,
    const char *result)
{
    ngx_uint_t  i;

    if (zone == NULL || zone->sh == NULL) {
        return;
    }

    for (i = 0; ngx_palette_cert_results[i]; i++) {
        if (ngx_strcmp(ngx_palette_cert_results[i], result) == 0) {
            (void) ngx_atomic_fetch_add(&zone->sh->changes[i], 1);
            break;
        }
    }

    if (i == 0) {
        zone->sh->last_change = ngx_time();
    }
}


/*
 * What a session remembers of the certificate presented: the id is NULL
 * for the default; from the leaf when given, else not_after and sha256.
 */

void
ngx_palette_cert_tag(u_char *tag, size_t *len, ngx_str_t *id,
    ngx_uint_t generation, X509 *leaf, time_t not_after, u_char *sha256)
{
    u_char        md[EVP_MAX_MD_SIZE];
    int64_t       t;
    uint64_t      g;
    unsigned int  n;

    if (leaf) {
        not_after = ngx_palette_cert_asn1_time(X509_get0_notAfter(leaf));

        if (X509_digest(leaf, EVP_sha256(), md, &n) != 1) {
            ERR_clear_error();
            ngx_memzero(md, 32);
        }

        sha256 = md;
    }

    g = generation;
    t = not_after;

    tag[0] = 1;
    tag[1] = (u_char) (id ? id->len : 0);
    ngx_memcpy(tag + 2, &g, 8);
    ngx_memcpy(tag + 10, &t, 8);
    ngx_memcpy(tag + 18, sha256, 32);

    if (id) {
        ngx_memcpy(tag + 50, id->data, id->len);
    }

    *len = 50 + tag[1];
}


ngx_int_t
ngx_palette_cert_metrics_preconf(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    if (ngx_palette_cert_conn_index == -1) {
        ngx_palette_cert_conn_index = SSL_get_ex_new_index(0, NULL, NULL,
                                                              NULL, NULL);

        if (ngx_palette_cert_conn_index == -1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "palette_cert: SSL_get_ex_new_index() failed");
            return NGX_ERROR;
        }
    }

    for (v = ngx_palette_cert_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char        *p, *tag;
    void          *appdata;
    size_t         len;
    int64_t        t;
    uint64_t       g;
    ngx_tm_t       tm;
    SSL_SESSION   *sess;

    v->not_found = 1;

    if (r->connection->ssl == NULL) {
        return NGX_OK;
    }

    sess = SSL_get_session(r->connection->ssl->connection);

    if (sess == NULL
        || SSL_SESSION_get0_ticket_appdata(sess, &appdata, &len) != 1
        || len < 50)
    {
        return NGX_OK;
    }

    tag = appdata;

    if (tag[0] != 1 || tag[1] > NGX_PALETTE_CERT_ID_LEN
        || len != (size_t) 50 + tag[1])
    {
        return NGX_OK;
    }

    switch (data) {

    case 0:
        len = tag[1];
        p = ngx_pnalloc(r->pool, len ? len : 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, tag + 50, len);
        break;

    case 1:
        ngx_memcpy(&g, tag + 2, 8);

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = ngx_sprintf(p, "%uL", g) - p;
        break;

    case 2:
        p = ngx_pnalloc(r->pool, 64);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = ngx_hex_dump(p, tag + 18, 32) - p;
        break;

    default: /* 3 */
        ngx_memcpy(&t, tag + 10, 8);

        p = ngx_pnalloc(r->pool, sizeof("1970-01-01T00:00:00Z") - 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_gmtime((time_t) t, &tm);

        len = ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02dZ",
                          tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                          tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec)
              - p;
        break;
    }

    v->data = p;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * What the variables show is kept in each session, which costs every full
 * handshake that issues a ticket or fills the session cache a few
 * thousand instructions (the session is serialised with it, and the
 * ticket encrypted): only a configuration that refers to one of them,
 * in log_format, add_header, map, return, set and the like, pays it.
 */

void
ngx_palette_cert_variables_used(ngx_conf_t *cf)
{
    ngx_uint_t                     i;
    ngx_http_variable_t           *v;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_palette_cert_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_palette_cert_module);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len > sizeof("palette_cert_") - 1
            && ngx_strncmp(v[i].name.data, "palette_cert_",
                           sizeof("palette_cert_") - 1)
               == 0)
        {
            pmcf->remember = 1;
            return;
        }
    }
}


/* the metrics endpoint */

ngx_int_t
ngx_palette_cert_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_uint_t                       i;
    ngx_array_t                      mzones;
    ngx_chain_t                     *cl;
    ngx_palette_cert_zone_t        **zones;
    ngx_palette_cert_main_conf_t    *pmcf;
    ngx_palette_cert_metric_zone_t  *mz;
    ngx_palette_cert_metrics_out_t   o;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_palette_cert_module);

    ngx_memzero(&o, sizeof(ngx_palette_cert_metrics_out_t));
    o.pool = r->pool;
    o.last = &o.out;

    o.openmetrics = r->headers_in.accept
                    && ngx_palette_cert_wants_openmetrics(
                           r->headers_in.accept->value.data,
                           r->headers_in.accept->value.len);

    if (ngx_array_init(&mzones, r->pool, pmcf->zones.nelts + 1,
                       sizeof(ngx_palette_cert_metric_zone_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* what is shown is copied first, then written family by family */

    zones = pmcf->zones.elts;

    for (i = 0; i < pmcf->zones.nelts; i++) {
        if (zones[i]->sh == NULL) {
            continue;
        }

        mz = ngx_array_push(&mzones);
        if (mz == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        mz->zone = zones[i];

        if (ngx_array_init(&mz->certs, r->pool, zones[i]->sh->named_n + 1,
                           sizeof(ngx_palette_cert_metric_cert_t))
            != NGX_OK
            || ngx_palette_cert_metrics_certs(r, zones[i], &mz->certs)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_palette_cert_metrics_write(&o, &mzones);

    if (o.openmetrics) {
        ngx_palette_cert_metrics_text(&o, "# EOF\n");
    }

    if (o.failed || o.out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;

    for (cl = o.out; cl; cl = cl->next) {
        r->headers_out.content_length_n += ngx_buf_size(cl->buf);

        if (cl->next == NULL) {
            cl->buf->last_buf = (r == r->main) ? 1 : 0;
            cl->buf->last_in_chain = 1;
        }
    }

    if (o.openmetrics) {
        ngx_str_set(&r->headers_out.content_type,
                    "application/openmetrics-text; version=1.0.0; "
                    "charset=utf-8");
    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, o.out);
}


/*
 * The zone's certificates as the metrics show them, copied: the default
 * from this process's copy, the named ones under the zone's lock.
 */

static ngx_int_t
ngx_palette_cert_metrics_certs(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_array_t *certs)
{
    ngx_str_t                        none;
    ngx_uint_t                       failed;
    ngx_palette_cert_named_t        *e;
    ngx_palette_cert_metric_cert_t  *mc;

    (void) ngx_palette_cert_refresh(zone, r->connection->log);

    if (zone->current.leaf
        && ngx_palette_cert_metrics_default(r, zone, certs) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the named ones, in the order of their ids */

    if (zone->sh->named_n == 0) {
        return NGX_OK;
    }

    failed = 0;
    ngx_str_null(&none);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (e = ngx_palette_cert_named_after(zone, &none);
         e;
         e = ngx_palette_cert_named_next(zone, e))
    {
        mc = ngx_array_push(certs);
        if (mc == NULL) {
            failed = 1;
            break;
        }

        if (ngx_palette_cert_metrics_named(r, zone, e, mc) != NGX_OK) {
            failed = 1;
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return failed ? NGX_ERROR : NGX_OK;
}


/* the default, from this process's copy */

static ngx_int_t
ngx_palette_cert_metrics_default(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_array_t *certs)
{
    u_char                          *p, *last, *text;
    u_char                           buf[2 * NGX_PALETTE_CERT_DN_LEN + 16];
    ngx_palette_cert_parsed_t       *cur;
    ngx_palette_cert_metric_cert_t  *mc;

    cur = &zone->current;

    mc = ngx_array_push(certs);
    if (mc == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(mc, sizeof(ngx_palette_cert_metric_cert_t));

    mc->generation = cur->generation;
    mc->source = ngx_palette_cert_metrics_source(zone, &mc->id,
                                                 cur->generation,
                                                 cur->source);
    mc->handshakes = zone->sh->stats.handshakes;
    mc->not_before = ngx_palette_cert_asn1_time(
                                              X509_get0_notBefore(cur->leaf));
    mc->not_after = ngx_palette_cert_asn1_time(X509_get0_notAfter(cur->leaf));

    if (X509_digest(cur->leaf, EVP_sha256(), mc->sha256, NULL) != 1) {
        ERR_clear_error();
    }

    /* subject, issuer and key type, one after the other */

    last = buf + sizeof(buf);

    p = ngx_palette_cert_subject(buf, buf + NGX_PALETTE_CERT_DN_LEN,
                                 X509_get_subject_name(cur->leaf));
    mc->subject.len = p - buf;

    text = p;
    p = ngx_palette_cert_subject(p, p + NGX_PALETTE_CERT_DN_LEN,
                                 X509_get_issuer_name(cur->leaf));
    mc->issuer.len = p - text;

    text = p;
    p = ngx_palette_cert_key_type(p, last, cur->key);
    mc->key_type.len = p - text;

    text = ngx_pnalloc(r->pool, p - buf);
    if (text == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(text, buf, p - buf);

    mc->subject.data = text;
    mc->issuer.data = text + mc->subject.len;
    mc->key_type.data = mc->issuer.data + mc->issuer.len;

    return NGX_OK;
}


/* a named one, from the zone: under the pool's lock */

static ngx_int_t
ngx_palette_cert_metrics_named(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_named_t *e,
    ngx_palette_cert_metric_cert_t *mc)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, e->id_len + e->subject_len + e->issuer_len
                             + e->key_type_len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p = ngx_palette_cert_named_label(e, p, &mc->id, &mc->subject);

    mc->issuer.data = p;
    mc->issuer.len = e->issuer_len;
    p = ngx_cpymem(p, e->names + e->names_len + e->subject_len,
                   e->issuer_len);

    mc->key_type.data = p;
    mc->key_type.len = e->key_type_len;
    ngx_memcpy(p, e->key_type, e->key_type_len);

    mc->generation = e->generation;
    mc->source = ngx_palette_cert_metrics_source(zone, &mc->id, e->generation,
                                                 NGX_PALETTE_CERT_UPLOADED);
    mc->handshakes = e->stats ? e->stats->handshakes : 0;
    mc->not_before = e->not_before_time;
    mc->not_after = e->not_after_time;
    ngx_memcpy(mc->sha256, e->sha256, 32);

    return NGX_OK;
}


/* the source as shown: a certificate that follows a folder is "watch" */

static ngx_uint_t
ngx_palette_cert_metrics_source(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_uint_t generation, ngx_uint_t source)
{
    ngx_palette_cert_watch_t  *w;

    w = ngx_palette_cert_watch_find(zone, id);

    if (w && ngx_palette_cert_watch_serves(w, generation)) {
        return NGX_PALETTE_CERT_WATCHED;
    }

    return source;
}


/*
 * A named certificate's id and subject, copied from the zone to p; what
 * follows them is returned.
 */

static u_char *
ngx_palette_cert_named_label(ngx_palette_cert_named_t *e, u_char *p,
    ngx_str_t *id, ngx_str_t *subject)
{
    id->data = p;
    id->len = e->id_len;
    p = ngx_cpymem(p, e->id, e->id_len);

    subject->data = p;
    subject->len = e->subject_len;

    return ngx_cpymem(p, e->names + e->names_len, e->subject_len);
}


/* every family in turn, each with the series of every zone */

static void
ngx_palette_cert_metrics_write(ngx_palette_cert_metrics_out_t *o,
    ngx_array_t *zones)
{
    ngx_str_t                        value;
    ngx_uint_t                       f, i, k, z;
    ngx_palette_cert_sh_t           *sh;
    ngx_palette_cert_metric_zone_t  *mz;
    ngx_palette_cert_metric_cert_t  *mc;

    static const struct {
        const char  *name;
        const char  *type;
        const char  *unit;
        const char  *help;
    } families[] = {
        { "palette_cert_info", "info", NULL,
          "The certificate a zone serves: its SHA-256, subject, issuer, key "
          "type and source (id \"\" is the zone's default)." },
        { "palette_cert_not_before_seconds", "gauge", "seconds",
          "Start of the certificate's validity, in seconds since the "
          "epoch." },
        { "palette_cert_not_after_seconds", "gauge", "seconds",
          "End of the certificate's validity, in seconds since the epoch." },
        { "palette_cert_generation", "gauge", NULL,
          "Generation of the certificate: it grows with every change." },
        { "palette_cert_handshakes_total", "counter", NULL,
          "Full handshakes that presented the certificate (resumed ones "
          "are not counted)." },
        { "palette_cert_sni_fallback_total", "counter", NULL,
          "Handshakes whose server name matched no named certificate of "
          "the zone and got its default." },
        { "palette_cert_changes_total", "counter", NULL,
          "Changes of the zone's certificates through the API, by result "
          "(ok or the error code)." },
        { "palette_cert_last_change_seconds", "gauge", "seconds",
          "Time of the zone's last accepted change through the API, in "
          "seconds since the epoch (0: none since nginx started)." }
    };

    mz = zones->elts;

    for (f = 0; f < sizeof(families) / sizeof(families[0]); f++) {

        ngx_palette_cert_metrics_family(o, families[f].name, families[f].type,
                                        families[f].unit, families[f].help);

        for (z = 0; z < zones->nelts; z++) {
            sh = mz[z].zone->sh;

            /* the zone's own series */

            if (f == 6) {
                for (k = 0; ngx_palette_cert_results[k]; k++) {
                    value.data = (u_char *) ngx_palette_cert_results[k];
                    value.len = ngx_strlen(value.data);

                    ngx_palette_cert_metrics_series(o, families[f].name,
                                                    mz[z].zone);
                    ngx_palette_cert_metrics_label(o, "result", &value, 0);
                    ngx_palette_cert_metrics_atomic(o, sh->changes[k]);
                }

                continue;
            }

            if (f == 5 || f == 7) {
                ngx_palette_cert_metrics_series(o, families[f].name,
                                                mz[z].zone);
                ngx_palette_cert_metrics_atomic(o, f == 5 ? sh->sni_fallback
                                                          : sh->last_change);
                continue;
            }

            /* a series for each certificate */

            mc = mz[z].certs.elts;

            for (i = 0; i < mz[z].certs.nelts; i++) {
                ngx_palette_cert_metrics_series(o, families[f].name,
                                                mz[z].zone);
                ngx_palette_cert_metrics_label(o, "id", &mc[i].id, 0);
                ngx_palette_cert_metrics_cert(o, f, &mc[i]);
            }
        }
    }
}


/* the rest of a certificate's series in family f, after its id */

static void
ngx_palette_cert_metrics_cert(ngx_palette_cert_metrics_out_t *o,
    ngx_uint_t f, ngx_palette_cert_metric_cert_t *mc)
{
    u_char     *p, hex[64];
    ngx_str_t   value;

    if (f == 0) {
        value.data = hex;
        value.len = ngx_hex_dump(hex, mc->sha256, 32) - hex;
        ngx_palette_cert_metrics_label(o, "sha256", &value, 0);
        ngx_palette_cert_metrics_label(o, "subject", &mc->subject, 0);
        ngx_palette_cert_metrics_label(o, "issuer", &mc->issuer, 0);
        ngx_palette_cert_metrics_label(o, "key_type", &mc->key_type, 0);

        if (mc->source == NGX_PALETTE_CERT_SELF_SIGNED) {
            ngx_str_set(&value, "self-signed");

        } else if (mc->source == NGX_PALETTE_CERT_WATCHED) {
            ngx_str_set(&value, "watch");

        } else {
            ngx_str_set(&value, "uploaded");
        }

        ngx_palette_cert_metrics_label(o, "source", &value, 0);
        ngx_palette_cert_metrics_text(o, "} 1\n");
        return;
    }

    p = ngx_palette_cert_metrics_reserve(o, NGX_INT64_LEN + 4);
    if (p == NULL) {
        return;
    }

    switch (f) {

    case 1:
        p = ngx_sprintf(p, "} %T\n", mc->not_before);
        break;

    case 2:
        p = ngx_sprintf(p, "} %T\n", mc->not_after);
        break;

    case 3:
        p = ngx_sprintf(p, "} %ui\n", mc->generation);
        break;

    default: /* 4 */
        p = ngx_sprintf(p, "} %uA\n", mc->handshakes);
        break;
    }

    o->b->last = p;
}


/* a sample's name and its zone label, the first */

static void
ngx_palette_cert_metrics_series(ngx_palette_cert_metrics_out_t *o,
    const char *name, ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_metrics_text(o, name);
    ngx_palette_cert_metrics_label(o, "zone", &zone->name, 1);
}


/* the end of a sample's labels, and its value: a counter of the zone */

static void
ngx_palette_cert_metrics_atomic(ngx_palette_cert_metrics_out_t *o,
    ngx_atomic_uint_t n)
{
    u_char  *p;

    p = ngx_palette_cert_metrics_reserve(o, NGX_ATOMIC_T_LEN + 4);
    if (p) {
        o->b->last = ngx_sprintf(p, "} %uA\n", n);
    }
}


static void
ngx_palette_cert_metrics_family(ngx_palette_cert_metrics_out_t *o,
    const char *name, const char *type, const char *unit, const char *help)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(name);

    if (o->openmetrics) {

        /* OpenMetrics names a family without its samples' suffix */

        if (ngx_strcmp(type, "counter") == 0) {
            len -= sizeof("_total") - 1;

        } else if (ngx_strcmp(type, "info") == 0) {
            len -= sizeof("_info") - 1;
        }

    } else if (ngx_strcmp(type, "info") == 0) {
        type = "gauge";
    }

    p = ngx_palette_cert_metrics_reserve(o, 3 * len + ngx_strlen(help)
                                            + ngx_strlen(type)
                                            + (unit ? ngx_strlen(unit) : 0)
                                            + sizeof("# HELP  \n# TYPE  \n"
                                                     "# UNIT  \n"));
    if (p == NULL) {
        return;
    }

    p = ngx_sprintf(p, "# HELP %*s %s\n# TYPE %*s %s\n",
                    len, name, help, len, name, type);

    if (o->openmetrics && unit) {
        p = ngx_sprintf(p, "# UNIT %*s %s\n", len, name, unit);
    }

    o->b->last = p;
}


/* name="value" (name=" when first, after a "{"), escaped for the format */

static void
ngx_palette_cert_metrics_label(ngx_palette_cert_metrics_out_t *o,
    const char *name, ngx_str_t *value, ngx_uint_t first)
{
    u_char  *p, *s, *last;

    p = ngx_palette_cert_metrics_reserve(o, ngx_strlen(name) + 4
                                            + 2 * value->len);
    if (p == NULL) {
        return;
    }

    p = ngx_sprintf(p, "%s%s=\"", first ? "{" : ",", name);

    last = value->data + value->len;

    for (s = value->data; s < last; s++) {
        switch (*s) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = *s;
        }
    }

    *p++ = '"';

    o->b->last = p;
}


static void
ngx_palette_cert_metrics_text(ngx_palette_cert_metrics_out_t *o,
    const char *text)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(text);

    p = ngx_palette_cert_metrics_reserve(o, len);
    if (p) {
        o->b->last = ngx_cpymem(p, text, len);
    }
}


/* room for len bytes at the end of the output: a new buffer when needed */

static u_char *
ngx_palette_cert_metrics_reserve(ngx_palette_cert_metrics_out_t *o,
    size_t len)
{
    ngx_chain_t  *cl;

    if (o->failed) {
        return NULL;
    }

    if (o->b && (size_t) (o->b->end - o->b->last) >= len) {
        return o->b->last;
    }

    cl = ngx_alloc_chain_link(o->pool);
    if (cl == NULL) {
        o->failed = 1;
        return NULL;
    }

    o->b = ngx_create_temp_buf(o->pool, ngx_max(len, 64 * 1024));
    if (o->b == NULL) {
        o->failed = 1;
        return NULL;
    }

    cl->buf = o->b;
    cl->next = NULL;

    *o->last = cl;
    o->last = &cl->next;

    return o->b->last;
}


/* expiry warnings */

ngx_int_t
ngx_palette_cert_expire_init(ngx_cycle_t *cycle)
{
    ngx_palette_cert_main_conf_t  *pmcf;

    pmcf = ngx_palette_cert_worker_conf(cycle);
    if (pmcf == NULL || pmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    ngx_palette_cert_expire_conn.fd = (ngx_socket_t) -1;

    ngx_palette_cert_expire_event.handler = ngx_palette_cert_expire_handler;
    ngx_palette_cert_expire_event.data = &ngx_palette_cert_expire_conn;
    ngx_palette_cert_expire_event.log = cycle->log;
    ngx_palette_cert_expire_event.cancelable = 1;

    /* at start: soon, by whichever worker comes first */

    ngx_add_timer(&ngx_palette_cert_expire_event,
                  500 + (ngx_random() % 500));

    return NGX_OK;
}


static void
ngx_palette_cert_expire_handler(ngx_event_t *ev)
{
    time_t                          now;
    ngx_uint_t                      i;
    ngx_atomic_uint_t               next;
    ngx_palette_cert_zone_t       **zones;
    ngx_palette_cert_main_conf_t   *pmcf;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_palette_cert_module);
    zones = pmcf->zones.elts;
    now = ngx_time();

    for (i = 0; i < pmcf->zones.nelts; i++) {
        if (zones[i]->sh == NULL) {
            continue;
        }

        /* one worker a minute looks */

        next = zones[i]->sh->expire_next;

        if ((time_t) next <= now
            && ngx_atomic_cmp_set(&zones[i]->sh->expire_next, next,
                                  (ngx_atomic_uint_t) now
                                  + NGX_PALETTE_CERT_EXPIRE_EVERY / 1000))
        {
            ngx_palette_cert_expire_check(zones[i], ev->log);
        }
    }

    ngx_add_timer(ev, NGX_PALETTE_CERT_EXPIRE_EVERY);
}


/*
 * Warns of every certificate of the zone within expire_warn= of its
 * not_after that was not warned of today, or since it changed.  Which
 * are due is decided under the zone's lock, so that two workers never
 * warn of the same; the lines are written after it.
 */

void
ngx_palette_cert_expire_check(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    time_t                        now;
    ngx_str_t                     none;
    ngx_uint_t                    i;
    ngx_pool_t                   *pool;
    ngx_array_t                   due;
    ngx_palette_cert_named_t     *e;
    ngx_palette_cert_expiring_t  *x;

    if (zone->sh == NULL) {
        return;
    }

    now = ngx_time();

    ngx_palette_cert_expire_default(zone, now, log);

    if (zone->sh->named_n == 0) {
        return;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    if (ngx_array_init(&due, pool, 4, sizeof(ngx_palette_cert_expiring_t))
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_str_null(&none);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (e = ngx_palette_cert_named_after(zone, &none);
         e;
         e = ngx_palette_cert_named_next(zone, e))
    {
        if (ngx_palette_cert_expire_named(zone, e, now, &due) != NGX_OK) {
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    x = due.elts;

    for (i = 0; i < due.nelts; i++) {
        ngx_palette_cert_expire_log(zone, &x[i], log);
    }

    ngx_destroy_pool(pool);
}


/* the default, from this process's copy */

static void
ngx_palette_cert_expire_default(ngx_palette_cert_zone_t *zone, time_t now,
    ngx_log_t *log)
{
    u_char                       *p, dn[NGX_PALETTE_CERT_DN_LEN];
    time_t                        not_after;
    ngx_uint_t                    warn, generation;
    ngx_palette_cert_stats_t     *st;
    ngx_palette_cert_expiring_t   def;

    (void) ngx_palette_cert_refresh(zone, log);

    if (zone->current.leaf == NULL) {
        return;
    }

    not_after = ngx_palette_cert_asn1_time(
                                      X509_get0_notAfter(zone->current.leaf));
    generation = zone->current.generation;

    if (not_after - now > zone->expire_warn) {
        return;
    }

    st = &zone->sh->stats;

    ngx_shmtx_lock(&zone->shpool->mutex);

    warn = (st->warned_generation != generation
            || now - st->warned >= NGX_PALETTE_CERT_WARN_AGAIN);

    if (warn) {
        st->warned = now;
        st->warned_generation = generation;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!warn) {
        return;
    }

    p = ngx_palette_cert_subject(dn, dn + sizeof(dn),
                                 X509_get_subject_name(zone->current.leaf));

    ngx_str_set(&def.id, "");
    def.subject.data = dn;
    def.subject.len = p - dn;
    def.not_after = not_after;

    ngx_palette_cert_expire_log(zone, &def, log);
}


/*
 * A named one, under the pool's lock: added to what is due when it is,
 * and taken as warned of.  NGX_ERROR when memory runs out.
 */

static ngx_int_t
ngx_palette_cert_expire_named(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e, time_t now, ngx_array_t *due)
{
    u_char                       *p;
    ngx_palette_cert_stats_t     *st;
    ngx_palette_cert_expiring_t  *x;

    st = e->stats;

    if (st == NULL || e->not_after_time - now > zone->expire_warn
        || (st->warned_generation == e->generation
            && now - st->warned < NGX_PALETTE_CERT_WARN_AGAIN))
    {
        return NGX_OK;
    }

    x = ngx_array_push(due);
    if (x == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(due->pool, e->id_len + e->subject_len);
    if (p == NULL) {
        due->nelts--;
        return NGX_ERROR;
    }

    (void) ngx_palette_cert_named_label(e, p, &x->id, &x->subject);

    x->not_after = e->not_after_time;

    st->warned = now;
    st->warned_generation = e->generation;

    return NGX_OK;
}


static void
ngx_palette_cert_expire_log(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_expiring_t *x, ngx_log_t *log)
{
    u_char    when[sizeof("1970-01-01T00:00:00Z")];
    time_t    left;
    ngx_tm_t  tm;

    ngx_gmtime(x->not_after, &tm);

    ngx_sprintf(when, "%4d-%02d-%02dT%02d:%02d:%02dZ%Z",
                tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    left = x->not_after - ngx_time();

    if (left <= 0) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "palette_cert zone \"%V\": certificate \"%V\"%s has "
                      "expired: subject \"%V\", not_after %s", &zone->name,
                      &x->id, x->id.len ? "" : " (the default)", &x->subject,
                      when);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "palette_cert zone \"%V\": certificate \"%V\"%s expires in "
                  "%T days: subject \"%V\", not_after %s", &zone->name,
                  &x->id, x->id.len ? "" : " (the default)",
                  left / 86400, &x->subject, when);
}


/* dates */

time_t
ngx_palette_cert_asn1_time(const ASN1_TIME *t)
{
    struct tm  tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;
    }

    return ngx_palette_cert_timegm(tm.tm_year + 1900, tm.tm_mon + 1,
                                   tm.tm_mday, tm.tm_hour, tm.tm_min,
                                   tm.tm_sec);
}


/* "2027-01-31T12:00:00Z", as ngx_palette_cert_time() writes it; 0 if not */

time_t
ngx_palette_cert_parse_time(u_char *p, size_t len)
{
    time_t  t;

    t = ngx_palette_cert_parse_rfc3339(p, len);

    return (t == NGX_ERROR) ? 0 : t;
}
