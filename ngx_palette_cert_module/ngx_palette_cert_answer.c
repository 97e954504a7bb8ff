
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The admin endpoint's answers: the JSON of a certificate, of a deletion
 * and of an error, the console page, the headers every answer carries
 * (the ETag of the generation live at that moment, "Cache-Control:
 * no-store"), and the filter that gives nginx's own answers in the API
 * location (413, 400, 500) the API's JSON and headers too.
 */


#include "ngx_palette_cert.h"
#include "ngx_palette_cert_api.h"
#include "ngx_palette_cert_page.h"


typedef struct {
    char                        *key;
    ngx_str_t                    value;
} ngx_palette_cert_header_t;


static ngx_str_t  ngx_palette_cert_json_type = ngx_string("application/json");
static ngx_str_t  ngx_palette_cert_html_type =
    ngx_string("text/html; charset=utf-8");


/* on every answer of the API location */

static ngx_palette_cert_header_t  ngx_palette_cert_api_headers[] = {
    { "Cache-Control", ngx_string("no-store") },
    { "X-Content-Type-Options", ngx_string("nosniff") },

    /* GET answers the page or JSON, by Accept */
    { "Vary", ngx_string("Accept") },

    { NULL, ngx_null_string }
};


/* on the console page, besides */

static ngx_palette_cert_header_t  ngx_palette_cert_page_headers[] = {
    { "Content-Security-Policy", ngx_string(NGX_PALETTE_CERT_PAGE_CSP) },
    { "Referrer-Policy", ngx_string("no-referrer") },
    { "X-Frame-Options", ngx_string("DENY") },
    { NULL, ngx_null_string }
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_int_t ngx_palette_cert_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *body,
    ngx_uint_t generation);
static ngx_int_t ngx_palette_cert_headers(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, size_t len, ngx_uint_t generation);
static ngx_int_t ngx_palette_cert_add_headers(ngx_http_request_t *r,
    ngx_uint_t generation);
static ngx_int_t ngx_palette_cert_add_fixed(ngx_http_request_t *r,
    ngx_palette_cert_header_t *headers);
static ngx_int_t ngx_palette_cert_error_json(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err, ngx_palette_cert_json_t *j);
static ngx_int_t ngx_palette_cert_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


/*
 * A browser opening the location gets the console page instead of JSON:
 * it asks for text/html.  A client that names JSON too gets JSON.
 */

ngx_uint_t
ngx_palette_cert_wants_page(ngx_http_request_t *r)
{
    u_char           *last;
    ngx_uint_t        i, html;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    html = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return html;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != 6
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept", 6) != 0)
        {
            continue;
        }

        last = h[i].value.data + h[i].value.len;

        if (ngx_strlcasestrn(h[i].value.data, last,
                             (u_char *) "application/json", 16 - 1)
            != NULL)
        {
            return 0;
        }

        if (ngx_strlcasestrn(h[i].value.data, last,
                             (u_char *) "text/html", 9 - 1)
            != NULL)
        {
            html = 1;
        }
    }
}


/*
 * The page is static: it asks the API for the certificate with the same
 * JSON calls a script makes.  Its policy allows its own inline script and
 * style, by hash, and requests to this origin, nothing else.
 */

ngx_int_t
ngx_palette_cert_send_page(ngx_http_request_t *r, ngx_uint_t generation)
{
    ngx_str_t  page;

    if (ngx_palette_cert_add_fixed(r, ngx_palette_cert_page_headers)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.data = ngx_palette_cert_page;
    page.len = sizeof(ngx_palette_cert_page) - 1;

    return ngx_palette_cert_send(r, NGX_HTTP_OK, &ngx_palette_cert_html_type,
                                 &page, generation);
}


/*
 * A change sent by a browser from another site.  A browser that sends
 * Sec-Fetch-Site says itself whether the request comes from the
 * endpoint's own origin ("same-origin"; "none" for one the user made),
 * also when a proxy in front changed the scheme or the host; otherwise
 * the Origin it sends must be the endpoint's own.  Clients outside a
 * browser send neither header.
 */

ngx_uint_t
ngx_palette_cert_cross_origin(ngx_http_request_t *r)
{
    u_char           *p;
    size_t            len;
    ngx_str_t         scheme, origin, host, site;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(&origin);
    ngx_str_null(&site);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 14
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Sec-Fetch-Site",
                               14)
               == 0)
        {
            if (site.data) {
                return 1;
            }

            site = h[i].value;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin", 6) == 0)
        {
            if (origin.data) {
                return 1;
            }

            origin = h[i].value;
        }
    }

    if (site.data) {
        return !((site.len == 11
                  && ngx_strncasecmp(site.data, (u_char *) "same-origin", 11)
                     == 0)
                 || (site.len == 4
                     && ngx_strncasecmp(site.data, (u_char *) "none", 4)
                        == 0));
    }

    if (origin.data == NULL) {
        return 0;
    }

    /* the endpoint's own origin: its scheme and the Host it was asked as */

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    } else
#endif
    {
        ngx_str_set(&scheme, "http");
    }

    if (r->headers_in.host == NULL) {
        return 1;
    }

    host = r->headers_in.host->value;

    len = scheme.len + 3 + host.len;

    if (origin.len != len) {
        return 1;
    }

    p = origin.data;

    return ngx_strncasecmp(p, scheme.data, scheme.len) != 0
           || ngx_strncmp(p + scheme.len, "://", 3) != 0
           || ngx_strncasecmp(p + scheme.len + 3, host.data, host.len) != 0;
}


ngx_int_t
ngx_palette_cert_send_cert(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_parsed_t *cur,
    ngx_uint_t dry_run)
{
    u_char                    *p, buf[32];
    ngx_str_t                  none;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_json_t    j;
    ngx_palette_cert_watch_t  *w;

    if (ngx_palette_cert_json_init(&j, r->pool, 4096) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_json_raw(&j, "{");

    ngx_palette_cert_json_key(&j, "zone");
    ngx_palette_cert_json_str(&j, zone->name.data, zone->name.len);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx && ctx->named) {
        ngx_palette_cert_json_key(&j, "id");
        ngx_palette_cert_json_str(&j, ctx->id.data, ctx->id.len);
    }

    ngx_palette_cert_json_key(&j, "generation");

    if (ctx && ctx->stage) {
        ngx_palette_cert_json_raw(&j, "null");

    } else {
        ngx_palette_cert_json_uint(&j, cur->generation);
    }

    ngx_str_null(&none);

    w = ngx_palette_cert_watch_find(zone, (ctx && ctx->named) ? &ctx->id
                                                             : &none);

    ngx_palette_cert_json_key(&j, "source");
    ngx_palette_cert_json_cstr(&j, (w && ngx_palette_cert_watch_serves(w,
                                                             cur->generation))
                                   ? "watch"
                                   : cur->source == NGX_PALETTE_CERT_UPLOADED
                                   ? "uploaded" : "self-signed");

    if (w) {
        ngx_palette_cert_json_key(&j, "watch");
        ngx_palette_cert_json_str(&j, w->path.data, w->path.len);
    }

    (void) ngx_palette_cert_info(&j, cur->leaf, cur->chain, cur->key);

    ngx_palette_cert_left_out_json(&j, cur->left_out);

    ngx_palette_cert_json_key(&j, "certificate");
    ngx_palette_cert_json_str(&j, cur->cert_pem.data, cur->cert_pem.len);

    ngx_palette_cert_json_key(&j, "ca");

    if (cur->has_ca) {
        ngx_palette_cert_json_str(&j, cur->ca_pem.data, cur->ca_pem.len);

    } else {
        ngx_palette_cert_json_raw(&j, "null");
    }

    ngx_palette_cert_staged_json(&j, zone, (ctx && ctx->named) ? &ctx->id
                                                              : &none);
    ngx_palette_cert_csr_json(&j, zone, (ctx && ctx->named) ? &ctx->id
                                                           : &none);

    if (ctx && ctx->stage) {
        ngx_palette_cert_json_key(&j, "activate_at");
        p = ngx_palette_cert_rfc3339(buf, ctx->action.time);
        ngx_palette_cert_json_str(&j, buf, p - buf);
    }

    if (dry_run) {
        ngx_palette_cert_json_key(&j, "dry_run");
        ngx_palette_cert_json_raw(&j, "true");
    }

    ngx_palette_cert_json_raw(&j, "}\n");

    /* the ETag is the live generation; a dry run's is not live */

    return ngx_palette_cert_send_json(r, (ctx && ctx->stage && !dry_run)
                                         ? NGX_HTTP_ACCEPTED : NGX_HTTP_OK,
                                      &j,
                                      (!dry_run && !(ctx && ctx->stage))
                                      ? cur->generation
                                      : (ctx && ctx->named)
                                        ? ctx->old_generation
                                        : zone->sh->generation);
}


ngx_int_t
ngx_palette_cert_send_deleted(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_ctx_t  *ctx;
    ngx_palette_cert_json_t  j;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    /* a named certificate: the head names it */

    if (ngx_palette_cert_json_head(r, zone, &j, 256) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_json_key(&j, "deleted");
    ngx_palette_cert_json_raw(&j, "true");

    ngx_palette_cert_json_key(&j, "generation");
    ngx_palette_cert_json_uint(&j, ctx->pem.generation);

    ngx_palette_cert_json_raw(&j, "}\n");

    return ngx_palette_cert_send_json(r, NGX_HTTP_OK, &j,
                                      ctx->pem.generation);
}


ngx_int_t
ngx_palette_cert_send_error(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err)
{
    ngx_str_t                 retry;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_json_t   j;
    ngx_palette_cert_zone_t  *zone;

    zone = ngx_palette_cert_api_zone(r);

    /* a change refused: counted by its code (not a dry run, not the list) */

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if ((r->method & (NGX_HTTP_PUT|NGX_HTTP_POST|NGX_HTTP_DELETE))
        && !(ctx && ctx->list)
        && !ngx_palette_cert_dry_run(r))
    {
        ngx_palette_cert_count_change(zone, err->code);
    }

    /* a refusal that a client can simply try again a moment later */

    if (err->status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        ngx_str_set(&retry, "1");

        if (ngx_palette_cert_add_header(r, "Retry-After", &retry, NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (err->status == NGX_HTTP_INTERNAL_SERVER_ERROR
        && ngx_strcmp(err->code, "internal_error") == 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "palette_cert: %*s", err->last - err->message,
                      err->message);
    }

    if (ngx_palette_cert_error_json(r, err, &j) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_palette_cert_send_json(r, err->status, &j,
                                      ngx_palette_cert_etag(r, zone));
}


/*
 * The ETag of an answer that changes nothing: the generation of what the
 * URI names, the zone's for the list or a certificate that does not exist.
 */

ngx_uint_t
ngx_palette_cert_etag(ngx_http_request_t *r, ngx_palette_cert_zone_t *zone)
{
    ngx_uint_t                 generation;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_named_t  *e;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx == NULL || (!ctx->named && !ctx->list)) {
        return zone->sh->generation;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    generation = zone->sh->zone_generation;

    if (ctx->named) {
        e = ngx_palette_cert_named_find(zone, ctx->id.data, ctx->id.len);

        if (e) {
            generation = e->generation;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return generation;
}


/* an answer's JSON begun: {"zone", and a named certificate's "id" */

ngx_int_t
ngx_palette_cert_json_head(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_json_t *j, size_t size)
{
    ngx_palette_cert_ctx_t  *ctx;

    if (ngx_palette_cert_json_init(j, r->pool, size) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_palette_cert_json_raw(j, "{");

    ngx_palette_cert_json_key(j, "zone");
    ngx_palette_cert_json_str(j, zone->name.data, zone->name.len);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx && ctx->named) {
        ngx_palette_cert_json_key(j, "id");
        ngx_palette_cert_json_str(j, ctx->id.data, ctx->id.len);
    }

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_palette_cert_json_t *j, ngx_uint_t generation)
{
    ngx_str_t  body;

    if (j->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = j->start;
    body.len = j->pos - j->start;

    return ngx_palette_cert_send(r, status, &ngx_palette_cert_json_type,
                                 &body, generation);
}


static ngx_int_t
ngx_palette_cert_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body, ngx_uint_t generation)
{
    ngx_int_t                rc;
    ngx_buf_t               *b;
    ngx_chain_t              out;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_palette_cert_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_palette_cert_headers(r, status, type, body->len, generation)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->own = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* status, ETag, Cache-Control, nosniff, and the type and length */

static ngx_int_t
ngx_palette_cert_headers(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, size_t len, ngx_uint_t generation)
{
    u_char  *p;

    if (ngx_palette_cert_add_headers(r, generation) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    p = ngx_strlchr(type->data, type->data + type->len, ';');

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = p ? (size_t) (p - type->data)
                                        : type->len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    return NGX_OK;
}


/* ETag, Cache-Control and nosniff, on every answer of the API location */

static ngx_int_t
ngx_palette_cert_add_headers(ngx_http_request_t *r, ngx_uint_t generation)
{
    u_char    *p;
    ngx_str_t  value;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "\"%ui\"", generation) - p;

    if (ngx_palette_cert_add_header(r, "ETag", &value,
                                    &r->headers_out.etag)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_palette_cert_add_fixed(r, ngx_palette_cert_api_headers);
}


static ngx_int_t
ngx_palette_cert_error_json(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err, ngx_palette_cert_json_t *j)
{
    if (ngx_palette_cert_json_init(j, r->pool, 512) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_palette_cert_json_raw(j, "{");

    ngx_palette_cert_json_key(j, "error");
    ngx_palette_cert_json_cstr(j, err->code);

    ngx_palette_cert_json_key(j, "field");
    ngx_palette_cert_json_cstr(j, err->field);

    ngx_palette_cert_json_key(j, "message");
    ngx_palette_cert_json_str(j, err->message, err->last - err->message);

    ngx_palette_cert_json_raw(j, "}\n");

    return j->failed ? NGX_ERROR : NGX_OK;
}


ngx_palette_cert_ctx_t *
ngx_palette_cert_get_ctx(ngx_http_request_t *r)
{
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_palette_cert_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_palette_cert_module);
    }

    return ctx;
}


ngx_int_t
ngx_palette_cert_api_init_filters(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_palette_cert_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_palette_cert_body_filter;

    return NGX_OK;
}


/*
 * nginx answers some requests of the API location itself: a body over
 * client_max_body_size (413), a malformed body (400), an internal error
 * (500).  Those answers get the API's JSON, ETag and Cache-Control too.
 */

static ngx_int_t
ngx_palette_cert_header_filter(ngx_http_request_t *r)
{
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_palette_cert_ctx_t       *ctx;
    ngx_palette_cert_json_t       j;
    ngx_palette_cert_error_t      err;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_palette_cert_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_palette_cert_module);

    if (r != r->main || plcf->zone == NULL || plcf->zone->sh == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx && ctx->own) {
        return ngx_http_next_header_filter(r);
    }

    switch (r->headers_out.status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        ngx_palette_cert_error(&err, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too_large", NULL,
                               "the upload is larger than %O bytes, the "
                               "client_max_body_size of this location",
                               clcf->client_max_body_size);
        break;

    case NGX_HTTP_BAD_REQUEST:
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                               "malformed_request", NULL,
                               "the request cannot be parsed");
        break;

    case NGX_HTTP_INTERNAL_SERVER_ERROR:
        ngx_palette_cert_error(&err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               "internal_error", NULL,
                               "the request failed; see the error log");
        break;

    default:

        /* access control answers (401, 403) keep their page */

        if (ngx_palette_cert_add_headers(r,
                                         ngx_palette_cert_etag(r, plcf->zone))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_palette_cert_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_error_json(r, &err, &j) != NGX_OK) {
        return NGX_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    b->pos = j.start;
    b->last = j.pos;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    ctx->own = 1;
    ctx->replace = cl;

    if (ngx_palette_cert_headers(r, err.status, &ngx_palette_cert_json_type,
                                 j.pos - j.start,
                                 ngx_palette_cert_etag(r, plcf->zone))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_palette_cert_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t             *cl;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx == NULL || ctx->replace == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's own page is dropped; the JSON goes once, in its place */

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    /*
     * A later call, such as the flush once the socket is writable again,
     * still has to reach the filters below, which may hold what could not
     * be written at once; so has one for an answer without a body (HEAD).
     */

    if (ctx->sent || r->header_only) {
        return ngx_http_next_body_filter(r, NULL);
    }

    ctx->sent = 1;

    return ngx_http_next_body_filter(r, ctx->replace);
}


static ngx_int_t
ngx_palette_cert_add_fixed(ngx_http_request_t *r,
    ngx_palette_cert_header_t *headers)
{
    ngx_palette_cert_header_t  *h;

    for (h = headers; h->key; h++) {
        if (ngx_palette_cert_add_header(r, h->key, &h->value, NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value, ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}
