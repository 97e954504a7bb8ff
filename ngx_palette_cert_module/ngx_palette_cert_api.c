
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The admin endpoint: GET describes the zone's current certificate,
 * PUT and POST upload a new one, DELETE returns to the self-signed
 * default.  Every answer is JSON, but for a browser's GET, which gets the
 * console page; every answer carries the ETag of the generation live at
 * that moment and "Cache-Control: no-store".
 *
 * A change is applied under the zone's lock: the If-Match check, the
 * allocation in the zone, the store, and the switch of the record, so
 * that concurrent admins are serialised and a failure changes nothing.
 * The request body holds a private key: every copy this file makes or
 * reads is cleansed before the request ends.  Keys are never logged.
 *
 * With threads, the steps that block (the validation, OpenSSL's work on
 * untrusted input, and the store's writes and fsync() calls) run in a
 * thread of nginx's default pool while the event loop serves the worker's
 * other connections; everything in shared memory stays in the event loop.
 *
 * A certificate's query may ask for more: "history" lists the versions
 * the store keeps, "rollback=GEN" uploads one of them again, the upload
 * of "activate_at=TIME" is staged rather than made current, "staged"
 * (DELETE) cancels it, and "csr" makes a pending key.  Staging, cancelling
 * and making a key are changes too, applied the same way under the same
 * locks, but what they change is kept aside (ngx_palette_cert_aside.c).
 */


#include "ngx_palette_cert.h"
#include "ngx_palette_cert_api.h"

#if (NGX_HTTP_V2)
#include <ngx_http_v2_module.h>
#endif


#define NGX_PALETTE_CERT_JSON   1
#define NGX_PALETTE_CERT_FORM   2
#define NGX_PALETTE_CERT_MULTI  3


/* an entry of a page of the list, copied out of the zone */

typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   generation;
    ngx_palette_cert_meta_t      meta;
} ngx_palette_cert_list_item_t;


#if (NGX_THREADS)

/*
 * A step of a change run by a thread: the request is blocked meanwhile,
 * as for nginx's own thread tasks, and goes on in the event loop.  The
 * thread reads what it is given and writes the result here: never the
 * zone's shared memory, the request's pool or the request's log.
 */

typedef struct {
    ngx_http_request_t          *request;
    ngx_palette_cert_zone_t     *zone;
    ngx_palette_cert_ctx_t      *ctx;

    /* the validation: the upload's fields, in the request body */
    ngx_palette_cert_fields_t    fields;

    /* the store: what is written; the change is finished after it */
    ngx_palette_cert_pem_t      *pem;
    ngx_uint_t                   storing;

    /* the store's log: the request's, its context written beforehand */
    ngx_log_t                    log;
    size_t                       log_len;
    u_char                       log_text[512];

    /* nginx shutting down waits for timers, not for threads */
    ngx_event_t                  guard;

    /* what the event loop does once the step is done */
    ngx_int_t                  (*resume)(ngx_http_request_t *r,
                                         ngx_int_t rc,
                                         ngx_palette_cert_error_t *err);

    ngx_int_t                    rc;
    ngx_palette_cert_error_t     err;
} ngx_palette_cert_task_t;

#endif


#if (NGX_HTTP_V2)
static ngx_event_t                       ngx_palette_cert_h2_event;
#endif


static ngx_int_t ngx_palette_cert_api_allowed(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t *rc);
static ngx_int_t ngx_palette_cert_not_allowed(ngx_http_request_t *r,
    char *methods, char *where);
static ngx_uint_t ngx_palette_cert_route(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_palette_cert_api_list(ngx_http_request_t *r);
static void ngx_palette_cert_list_item(ngx_palette_cert_json_t *j,
    ngx_palette_cert_list_item_t *item);
static ngx_int_t ngx_palette_cert_api_get_named(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_read(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);
static ngx_int_t ngx_palette_cert_refuse(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err);
static void ngx_palette_cert_refused(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_discard(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_preread(ngx_http_request_t *r);
static void ngx_palette_cert_api_body(ngx_http_request_t *r);
static void ngx_palette_cert_api_end(ngx_http_request_t *r, ngx_int_t rc);
static ngx_int_t ngx_palette_cert_api_upload(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx);
static ngx_int_t ngx_palette_cert_parse_body(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_fields_t *f);
static ngx_int_t ngx_palette_cert_pending_key(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_fields_t *f,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_check(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_fields_t *f, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_checked(ngx_http_request_t *r,
    ngx_int_t rc, ngx_palette_cert_error_t *err);
static void ngx_palette_cert_stale(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_delete(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_history(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_rollback(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_exists(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_versions(ngx_http_request_t *r,
    ngx_array_t *versions, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_change(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_palette_cert_api_csr(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx);
static ngx_int_t ngx_palette_cert_api_csr_made(ngx_http_request_t *r,
    ngx_int_t rc, ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_send_csr(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone);
static ngx_int_t ngx_palette_cert_api_unstaged(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone);
static ngx_int_t ngx_palette_cert_stage_check(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_store_csr(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_log_t *log);
static u_char *ngx_palette_cert_audit_who(ngx_http_request_t *r, u_char *p,
    u_char *last);
static ngx_int_t ngx_palette_cert_api_commit(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_answer(ngx_http_request_t *r,
    ngx_int_t rc, ngx_palette_cert_error_t *err);
static void ngx_palette_cert_api_retry(ngx_http_request_t *r);
static void ngx_palette_cert_api_wait(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_store(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_store_change(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_pem_t *pem, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_api_aside(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_palette_cert_api_finish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t rc);
static void ngx_palette_cert_api_store_failed(ngx_palette_cert_error_t *err);
static void ngx_palette_cert_api_reloading(ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_busy(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_named_check(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err);
static ngx_int_t ngx_palette_cert_api_apply(ngx_http_request_t *r,
    ngx_palette_cert_pem_t *pem, ngx_palette_cert_error_t *err);
#if (NGX_THREADS)
static ngx_int_t ngx_palette_cert_task_check(ngx_http_request_t *r,
    ngx_palette_cert_fields_t *f);
static void ngx_palette_cert_task_check_handler(void *data, ngx_log_t *log);
static void ngx_palette_cert_task_csr_handler(void *data, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_task_store(ngx_http_request_t *r,
    ngx_palette_cert_pem_t *pem);
static void ngx_palette_cert_task_store_handler(void *data, ngx_log_t *log);
static u_char *ngx_palette_cert_task_log(ngx_log_t *log, u_char *buf,
    size_t len);
static ngx_thread_task_t *ngx_palette_cert_task(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_task_post(ngx_http_request_t *r,
    ngx_thread_task_t *task);
static void ngx_palette_cert_task_done(ngx_event_t *ev);
static void ngx_palette_cert_task_resume(ngx_http_request_t *r);
static void ngx_palette_cert_task_guard(ngx_event_t *ev);
#endif
static ngx_palette_cert_ctx_t *ngx_palette_cert_cleanup_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_api_get(ngx_http_request_t *r);
static ngx_int_t ngx_palette_cert_media_type(ngx_http_request_t *r,
    ngx_str_t *boundary);
static ngx_int_t ngx_palette_cert_collect_body(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_palette_cert_cleanse(void *data);
#if (NGX_HTTP_V2)
static void ngx_palette_cert_cleanse_h2(ngx_http_request_t *r);
static void ngx_palette_cert_cleanse_h2_handler(ngx_event_t *ev);
#endif
static ngx_int_t ngx_palette_cert_if_match(ngx_http_request_t *r,
    ngx_uint_t generation);
static ngx_int_t ngx_palette_cert_field_empty(ngx_str_t *s);
static void ngx_palette_cert_audit(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, const char *what,
    ngx_palette_cert_parsed_t *cur);
static void ngx_palette_cert_audit_line(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, const char *what, ngx_uint_t generation,
    u_char *sha256, ngx_str_t *subject, ngx_str_t *not_after);


ngx_int_t
ngx_palette_cert_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_str_t                 id;
    ngx_uint_t                res, act;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_error_t  err;

    /* If-Match is the API's own, checked against the live generation */

    r->disable_not_modified = 1;

#if (NGX_HTTP_SSL)

    /*
     * OpenSSL cleanses what it decrypted for the rest of the connection;
     * for a server with this location it does from the handshake on.
     */

    if (r->connection->ssl) {
        SSL_set_options(r->connection->ssl->connection,
                        SSL_OP_CLEANSE_PLAINTEXT);
    }

#endif

    if (ngx_palette_cert_preread(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    res = ngx_palette_cert_route(r, &id);

    if (res == NGX_PALETTE_CERT_RES_NONE) {
        ngx_palette_cert_error(&err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                               "there is nothing at this URI; the list of "
                               "certificates is at the location followed by "
                               "a slash, a certificate at the location, a "
                               "slash and its id: up to 64 letters, digits, "
                               "dots, underscores and hyphens, starting with "
                               "a letter or digit");

        return ngx_palette_cert_refuse(r, &err);
    }

    if (res == NGX_PALETTE_CERT_RES_LIST
        && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return ngx_palette_cert_not_allowed(r, "GET, HEAD",
                                            "on the list; change a "
                                            "certificate at its own URI, the "
                                            "list followed by its id");
    }

    ctx = ngx_palette_cert_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->named = (res == NGX_PALETTE_CERT_RES_NAMED);
    ctx->list = (res == NGX_PALETTE_CERT_RES_LIST);
    ctx->id = id;

    if (res != NGX_PALETTE_CERT_RES_LIST
        && ngx_palette_cert_parse_action(r->args.data, r->args.len,
                                         &ctx->action)
           != NGX_OK)
    {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                               "malformed_request", NULL, "%s",
                               ctx->action.error);

        return ngx_palette_cert_refuse(r, &err);
    }

    if (ngx_palette_cert_api_allowed(r, ctx, &rc) != NGX_OK) {
        return rc;
    }

    act = ctx->action.action;

    if (act == NGX_PALETTE_CERT_ACT_ROLLBACK) {
        return ngx_palette_cert_api_rollback(r);
    }

    if (r->method & (NGX_HTTP_PUT|NGX_HTTP_POST)) {
        return ngx_palette_cert_api_read(r);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_DELETE))) {
        return ngx_palette_cert_not_allowed(r, "GET, HEAD, PUT, POST, DELETE",
                                            "here; use GET, PUT, POST or "
                                            "DELETE");
    }

    rc = ngx_palette_cert_discard(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (res == NGX_PALETTE_CERT_RES_LIST) {
        return ngx_palette_cert_api_list(r);
    }

    if (act == NGX_PALETTE_CERT_ACT_HISTORY) {
        return ngx_palette_cert_api_history(r);
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return (res == NGX_PALETTE_CERT_RES_NAMED)
               ? ngx_palette_cert_api_get_named(r)
               : ngx_palette_cert_api_get(r);
    }

    if (ctx->unstage) {
        return ngx_palette_cert_api_change(r, ngx_palette_cert_api_commit(r));
    }

    return ngx_palette_cert_api_delete(r);
}


/*
 * What the query and the method ask for, and whether they may: NGX_DONE
 * with the answer's rc in *rc when they may not.
 */

static ngx_int_t
ngx_palette_cert_api_allowed(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t *rc)
{
    ngx_uint_t                 act;
    ngx_palette_cert_error_t   err;
    ngx_palette_cert_watch_t  *w;

    act = ctx->action.action;

    if (act == NGX_PALETTE_CERT_ACT_HISTORY
        && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        *rc = ngx_palette_cert_not_allowed(r, "GET, HEAD",
                                           "on the history; roll back "
                                           "with POST and ?rollback=GEN");
        return NGX_DONE;
    }

    if (act == NGX_PALETTE_CERT_ACT_ROLLBACK && r->method != NGX_HTTP_POST) {
        *rc = ngx_palette_cert_not_allowed(r, "POST", "for a rollback");
        return NGX_DONE;
    }

    if (act == NGX_PALETTE_CERT_ACT_CSR && r->method != NGX_HTTP_POST) {
        *rc = ngx_palette_cert_not_allowed(r, "POST", "for a certificate "
                                           "request; GET shows the pending "
                                           "one as \"csr_pending\"");
        return NGX_DONE;
    }

    ctx->make_csr = (act == NGX_PALETTE_CERT_ACT_CSR);

    if (act == NGX_PALETTE_CERT_ACT_ACTIVATE) {

        if (!(r->method & (NGX_HTTP_PUT|NGX_HTTP_POST))) {
            *rc = ngx_palette_cert_not_allowed(r, "PUT, POST",
                                               "with activate_at; upload "
                                               "the version to stage");
            return NGX_DONE;
        }

        if (ctx->action.time <= ngx_time()) {
            ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                                   "malformed_request", NULL,
                                   "activate_at is not in the future; "
                                   "upload without it to make the "
                                   "certificate current now");

            *rc = ngx_palette_cert_refuse(r, &err);
            return NGX_DONE;
        }

        ctx->stage = 1;
    }

    if (act == NGX_PALETTE_CERT_ACT_STAGED) {

        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_DELETE))) {
            *rc = ngx_palette_cert_not_allowed(r, "GET, HEAD, DELETE",
                                               "on the staged version; "
                                               "stage one with PUT and "
                                               "?activate_at=TIME");
            return NGX_DONE;
        }

        ctx->unstage = (r->method == NGX_HTTP_DELETE);
    }

    ctx->remove = (ctx->named && r->method == NGX_HTTP_DELETE
                   && !ctx->unstage);

    if ((r->method & (NGX_HTTP_PUT|NGX_HTTP_POST|NGX_HTTP_DELETE))
        && ngx_palette_cert_cross_origin(r))
    {
        ngx_palette_cert_error(&err, NGX_HTTP_FORBIDDEN, "cross_origin",
                               NULL, "a browser sent this change from "
                               "another site; changes are accepted only "
                               "from this endpoint's own pages or from "
                               "clients outside a browser");

        *rc = ngx_palette_cert_refuse(r, &err);
        return NGX_DONE;
    }

    /* a certificate that follows a folder changes there only */

    w = ctx->list
        ? NULL : ngx_palette_cert_watch_find(ngx_palette_cert_api_zone(r),
                                             &ctx->id);

    if (w && (r->method & (NGX_HTTP_PUT|NGX_HTTP_POST|NGX_HTTP_DELETE))) {
        ngx_palette_cert_error(&err, NGX_HTTP_CONFLICT, "managed_by_watch",
                               NULL, "the %s%V%s follows the folder \"%V\" "
                               "(palette_cert_watch): change the files "
                               "there, or remove the directive to change it "
                               "here",
                               ctx->id.len ? "certificate \""
                                           : "default certificate",
                               &w->id, ctx->id.len ? "\"" : "", &w->path);

        *rc = ngx_palette_cert_refuse(r, &err);
        return NGX_DONE;
    }

    return NGX_OK;
}


/* 405, with the methods allowed: "the method X is not allowed " + where */

static ngx_int_t
ngx_palette_cert_not_allowed(ngx_http_request_t *r, char *methods,
    char *where)
{
    ngx_str_t                 allow;
    ngx_palette_cert_error_t  err;

    allow.data = (u_char *) methods;
    allow.len = ngx_strlen(methods);

    if (ngx_palette_cert_add_header(r, "Allow", &allow, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_error(&err, NGX_HTTP_NOT_ALLOWED, "method_not_allowed",
                           NULL, "the method %V is not allowed %s",
                           &r->method_name, where);

    return ngx_palette_cert_refuse(r, &err);
}


/*
 * What the URI names, after the location's name: only a prefix location
 * has more than the default certificate.
 */

static ngx_uint_t
ngx_palette_cert_route(ngx_http_request_t *r, ngx_str_t *id)
{
    size_t                     skip;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_str_null(id);

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

#if (NGX_PCRE)
    if (clcf->regex) {
        return NGX_PALETTE_CERT_RES_DEFAULT;
    }
#endif

    if (clcf->exact_match || clcf->named || clcf->name.len == 0
        || r->uri.len < clcf->name.len
        || ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) != 0)
    {
        return NGX_PALETTE_CERT_RES_DEFAULT;
    }

    /* "location /palette/cert/" holds the list and the named ones only */

    skip = clcf->name.len;

    if (clcf->name.data[skip - 1] == '/') {
        skip--;
    }

    return ngx_palette_cert_resource(r->uri.data + skip, r->uri.len - skip,
                                     id);
}


static ngx_int_t
ngx_palette_cert_api_read(ngx_http_request_t *r)
{
    ngx_int_t                 type;
    ngx_str_t                 boundary;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_error_t  err;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    type = ngx_palette_cert_media_type(r, &boundary);

    if (ctx->make_csr && type != NGX_PALETTE_CERT_JSON) {
        ngx_palette_cert_error(&err, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                               "unsupported_media_type", NULL,
                               "send the certificate request's names and "
                               "key type as application/json");

        return ngx_palette_cert_refuse(r, &err);
    }

    if (type == NGX_DECLINED) {
        ngx_palette_cert_error(&err, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                               "unsupported_media_type", NULL,
                               "send the upload as application/json, "
                               "multipart/form-data or "
                               "application/x-www-form-urlencoded");

        return ngx_palette_cert_refuse(r, &err);
    }

    /* whatever happens to the request, the body it held is cleansed */

    if (ngx_palette_cert_cleanup_ctx(r) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_palette_cert_read_body(r, ngx_palette_cert_api_body);
}


/*
 * The body goes where the cleanup cleanses it.  One over
 * client_max_body_size is refused by nginx itself, before or while it is
 * read; the filter of ngx_palette_cert_answer.c turns that answer into
 * JSON.
 */

static ngx_int_t
ngx_palette_cert_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler)
{
    ngx_int_t  rc;

    r->request_body_in_clean_file = 1;

    rc = ngx_http_read_client_request_body(r, handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * A refused change may carry a key all the same.  Discarded, its body
 * would pass through buffers of nginx's that no module reaches; read,
 * it lands where the cleanup below cleanses it, as an upload's does.
 * client_max_body_size bounds it as it bounds an upload.
 */

static ngx_int_t
ngx_palette_cert_refuse(ngx_http_request_t *r, ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_palette_cert_cleanup_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->refusal = ngx_palloc(r->pool, sizeof(ngx_palette_cert_error_t));
    if (ctx->refusal == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ctx->refusal = *err;
    ctx->refusal->last = ctx->refusal->message + (err->last - err->message);

    return ngx_palette_cert_read_body(r, ngx_palette_cert_refused);
}


static void
ngx_palette_cert_refused(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    rc = ngx_palette_cert_send_error(r, ctx->refusal);

    ngx_palette_cert_cleanse(r);

    ngx_http_finalize_request(r, rc);
}


/* a body sent with GET, HEAD or DELETE is not read, but cleansed too */

static ngx_int_t
ngx_palette_cert_discard(ngx_http_request_t *r)
{
    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return ngx_http_discard_request_body(r);
    }

    if (ngx_palette_cert_cleanup_ctx(r) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_discard_request_body(r);
}


/*
 * Notes where the body's first bytes are: read with the request header,
 * they stay in the client header buffer, which nginx keeps for the next
 * request of the connection or frees as it is.
 */

static ngx_int_t
ngx_palette_cert_preread(ngx_http_request_t *r)
{
    off_t                    len;
    ngx_buf_t               *b;
    ngx_palette_cert_ctx_t  *ctx;

#if (NGX_HTTP_V2)
    if (r->stream) {
        return NGX_OK;
    }
#endif

    b = r->header_in;

    if (r != r->main || b == NULL || b->pos == b->last
        || (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked))
    {
        return NGX_OK;
    }

    ctx = ngx_palette_cert_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    len = b->last - b->pos;

    /* what follows a body of known length is the next request */

    if (!r->headers_in.chunked && len > r->headers_in.content_length_n) {
        len = r->headers_in.content_length_n;
    }

    ctx->preread.data = b->pos;
    ctx->preread.len = (size_t) len;

    return NGX_OK;
}


static void
ngx_palette_cert_api_body(ngx_http_request_t *r)
{
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    ngx_palette_cert_api_end(r, ngx_palette_cert_api_upload(r, ctx));
}


/*
 * A change is answered now, or later: once another change is applied
 * (NGX_BUSY), or once a thread has done a step of it (NGX_AGAIN).
 */

static void
ngx_palette_cert_api_end(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_BUSY) {
        ngx_palette_cert_api_wait(r);
        return;
    }

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_palette_cert_cleanse(r);

    ngx_http_finalize_request(r, rc);
}


/*
 * Another change is being applied: this one is tried again shortly, for a
 * few seconds at most, then refused.
 */

static void
ngx_palette_cert_api_wait(ngx_http_request_t *r)
{
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);
    ctx->wait_start = ngx_current_msec;

    r->write_event_handler = ngx_palette_cert_api_retry;

    ngx_add_timer(r->connection->write, 5);
}


static void
ngx_palette_cert_api_retry(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_event_t             *wev;
    ngx_palette_cert_ctx_t  *ctx;

    wev = r->connection->write;
    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (!wev->timedout) {

        /* the socket became writable: not yet the time to try */

        if (!wev->timer_set) {
            ngx_add_timer(wev, 5);
        }

        return;
    }

    wev->timedout = 0;

    rc = ngx_palette_cert_api_commit(r);

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc == NGX_BUSY) {

        if (ngx_current_msec - ctx->wait_start
            < NGX_PALETTE_CERT_UPDATE_WAIT)
        {
            ngx_add_timer(wev, 5);
            return;
        }

        rc = ngx_palette_cert_api_busy(r);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_palette_cert_cleanse(r);

    ngx_http_finalize_request(r, rc);
}


/* the holder is read without the lock: it only goes into the message */

static ngx_int_t
ngx_palette_cert_api_busy(ngx_http_request_t *r)
{
    time_t                    start;
    ngx_pid_t                 pid;
    ngx_palette_cert_zone_t  *zone;
    ngx_palette_cert_error_t  err;

    zone = ngx_palette_cert_api_zone(r);

    pid = (ngx_pid_t) zone->sh->update;
    start = zone->sh->update_start;

    if (pid == 0) {

        /* the zone's lock is free: another process writes the store */

        ngx_palette_cert_error(&err, NGX_HTTP_SERVICE_UNAVAILABLE, "busy",
                               NULL, "another change is being written to "
                               "the store; nothing was changed, try again");

        return ngx_palette_cert_send_error(r, &err);
    }

    ngx_palette_cert_error(&err, NGX_HTTP_SERVICE_UNAVAILABLE, "busy", NULL,
                           "another change has been in progress for %T "
                           "seconds (process %P); nothing was changed, try "
                           "again", start ? ngx_time() - start : 0, pid);

    return ngx_palette_cert_send_error(r, &err);
}


static ngx_int_t
ngx_palette_cert_api_upload(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_error_t   err;
    ngx_palette_cert_fields_t  f;

    zone = ngx_palette_cert_api_zone(r);

    rc = ngx_palette_cert_collect_body(r, &ctx->body);

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_error(&err, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "too_large", NULL,
                               "the upload is larger than %uz bytes; a "
                               "certificate chain, its key and CA fit in "
                               "far less", (size_t) NGX_PALETTE_CERT_BODY_MAX);
        return ngx_palette_cert_send_error(r, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->make_csr) {
        return ngx_palette_cert_api_csr(r, ctx);
    }

    if (ctx->body.len == 0) {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST, "missing_field",
                               "certificate", "the body is empty; send the "
                               "fields \"certificate\" and \"key\"");
        return ngx_palette_cert_send_error(r, &err);
    }

    ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

    f.named = ctx->named;

    /* a staged version is judged at the time it goes live */

    if (ctx->stage) {
        f.at = ctx->action.time;
    }

    rc = ngx_palette_cert_parse_body(r, ctx, &f);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                               "malformed_request", NULL,
                               "the body cannot be parsed: %s", f.error);
        return ngx_palette_cert_send_error(r, &err);
    }

    if (!f.has_certificate || ngx_palette_cert_field_empty(&f.certificate)) {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST, "missing_field",
                               "certificate", "the field \"certificate\" is "
                               "missing or empty; paste the certificate "
                               "chain, leaf first");
        return ngx_palette_cert_send_error(r, &err);
    }

    if (!f.has_key || ngx_palette_cert_field_empty(&f.key)) {
        rc = ngx_palette_cert_pending_key(zone, ctx, &f, &err);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_palette_cert_send_error(r, &err);
        }
    }

    if (f.has_ca && ngx_palette_cert_field_empty(&f.ca)) {
        f.has_ca = 0;
    }

#if (NGX_THREADS)

    rc = ngx_palette_cert_task_check(r, &f);

    if (rc != NGX_DECLINED) {
        return rc;
    }

#endif

    rc = ngx_palette_cert_api_check(zone, &f, ctx, &err);

    return ngx_palette_cert_api_checked(r, rc, &err);
}


/*
 * The body's fields, by its media type: NGX_DECLINED with f->error set
 * when it does not parse.
 */

static ngx_int_t
ngx_palette_cert_parse_body(ngx_http_request_t *r,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_fields_t *f)
{
    ngx_str_t  boundary, ctype;

    switch (ngx_palette_cert_media_type(r, &boundary)) {

    case NGX_PALETTE_CERT_JSON:
        return ngx_palette_cert_parse_json(ctx->body.data, ctx->body.len, f)
               == NGX_OK ? NGX_OK : NGX_DECLINED;

    case NGX_PALETTE_CERT_FORM:
        return ngx_palette_cert_parse_urlencoded(ctx->body.data,
                                                 ctx->body.len, f)
               == NGX_OK ? NGX_OK : NGX_DECLINED;

    default: /* NGX_PALETTE_CERT_MULTI */
        break;
    }

    /* the boundary is decoded in place: in a copy of the header */

    ctype.len = r->headers_in.content_type->value.len;
    ctype.data = ngx_pnalloc(r->pool, ctype.len);
    if (ctype.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctype.data, r->headers_in.content_type->value.data, ctype.len);

    if (ngx_palette_cert_multipart_boundary(&ctype, &boundary) != NGX_OK) {
        f->error = "the multipart Content-Type has no valid boundary";
        return NGX_DECLINED;
    }

    return ngx_palette_cert_parse_multipart(ctx->body.data, ctx->body.len,
                                            &boundary, f)
           == NGX_OK ? NGX_OK : NGX_DECLINED;
}


/* an upload without a key: the key POST ?csr made, kept in the zone */

static ngx_int_t
ngx_palette_cert_pending_key(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_fields_t *f,
    ngx_palette_cert_error_t *err)
{
    ngx_int_t  rc;

    rc = ngx_palette_cert_csr_key_copy(zone, &ctx->id, &ctx->pending_key,
                                       &ctx->pending_created);

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_error(err, NGX_HTTP_BAD_REQUEST, "missing_field",
                               "key", "the field \"key\" is missing or "
                               "empty, and no key is pending (POST ?csr "
                               "makes one); paste the private key of the "
                               "leaf certificate");
    }

    if (rc != NGX_OK) {
        return rc;
    }

    f->key = ctx->pending_key;
    f->has_key = 1;
    ctx->use_csr = 1;

    return NGX_OK;
}


/*
 * The upload's validation, and the PEM it is stored and kept as;
 * NGX_DECLINED with err set when it is refused.  It may run in a thread:
 * it reads the fields and the zone's configuration, and writes the bundle
 * and the PEM, both cleansed with the request.
 */

static ngx_int_t
ngx_palette_cert_api_check(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_fields_t *f, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err)
{
    if (ngx_palette_cert_validate(zone, f, &ctx->bundle, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_palette_cert_bundle_pem(&ctx->bundle, &ctx->pem) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ctx->named) {
        return NGX_OK;
    }

    /* what it is served for, as the validation found it, for the store */

    if (ngx_palette_cert_meta_text(&ctx->bundle.meta, &ctx->pem.meta)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* after the validation (rc): a dry run's answer, or the change */

static ngx_int_t
ngx_palette_cert_api_checked(ngx_http_request_t *r, ngx_int_t rc,
    ngx_palette_cert_error_t *err)
{
    ngx_uint_t                  dry_run;
    ngx_palette_cert_ctx_t     *ctx;
    ngx_palette_cert_zone_t    *zone;
    ngx_palette_cert_parsed_t  *parsed;

    zone = ngx_palette_cert_api_zone(r);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (rc == NGX_DECLINED) {
        return ngx_palette_cert_send_error(r, err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a dry run checks If-Match where an upload does: after validation */

    dry_run = ngx_palette_cert_dry_run(r);

    if (dry_run && ctx->named) {
        if (ngx_palette_cert_named_check(r, zone, ctx, err) != NGX_OK) {
            return ngx_palette_cert_send_error(r, err);
        }

    } else if (dry_run
               && ngx_palette_cert_if_match(r, zone->sh->generation)
                  != NGX_OK)
    {
        goto mismatch;
    }

    /* the answer describes this upload, whatever others do meanwhile */

    parsed = &ctx->parsed;

    parsed->source = NGX_PALETTE_CERT_UPLOADED;
    parsed->leaf = ctx->bundle.leaf;
    parsed->chain = ctx->bundle.chain;
    parsed->key = ctx->bundle.key;
    parsed->left_out = ctx->bundle.left_out;
    parsed->cert_pem = ctx->pem.cert;
    parsed->ca_pem = ctx->pem.ca;
    parsed->has_ca = ctx->pem.has_ca;

    if (dry_run) {
        parsed->generation = ngx_palette_cert_next_generation(zone);
        return ngx_palette_cert_send_cert(r, zone, parsed, 1);
    }

    return ngx_palette_cert_api_commit(r);

mismatch:

    ngx_palette_cert_stale(zone, err);

    return ngx_palette_cert_send_error(r, err);
}


/* 412: If-Match names a generation of the default that is no longer live */

static void
ngx_palette_cert_stale(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_error(err, NGX_HTTP_PRECONDITION_FAILED,
                           "generation_mismatch", NULL,
                           "the certificate was changed meanwhile (now "
                           "generation %ui); reload it and try again",
                           (ngx_uint_t) zone->sh->generation);
}


static ngx_int_t
ngx_palette_cert_api_delete(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_zone_t  *zone;

    zone = ngx_palette_cert_api_zone(r);

    if (zone->sh == NULL || zone->sh->self_signed == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the copy holds the default's key: cleansed with the request */

    ctx = ngx_palette_cert_cleanup_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->remove) {
        goto commit;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = ngx_palette_cert_record_copy(zone->sh->self_signed, &ctx->pem);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->pem.source = NGX_PALETTE_CERT_SELF_SIGNED;
    ctx->reset = 1;

commit:

    return ngx_palette_cert_api_change(r, ngx_palette_cert_api_commit(r));
}


/*
 * A change begun by the content handler itself (no body to read): it is
 * answered now, or later, once another change is applied or a thread has
 * done a step of it.
 */

static ngx_int_t
ngx_palette_cert_api_change(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_BUSY) {
        r->main->count++;
        ngx_palette_cert_api_wait(r);
        return NGX_DONE;
    }

    if (rc == NGX_AGAIN) {
        r->main->count++;
        return NGX_DONE;
    }

    return rc;
}


/* the certificate the URI names is there: NGX_DECLINED with err set if not */

static ngx_int_t
ngx_palette_cert_exists(ngx_http_request_t *r, ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_named_t  *e;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (!ctx->named) {
        return NGX_OK;
    }

    zone = ngx_palette_cert_api_zone(r);

    ngx_shmtx_lock(&zone->shpool->mutex);
    e = ngx_palette_cert_named_find(zone, ctx->id.data, ctx->id.len);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (e == NULL) {
        ngx_palette_cert_error(err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                               "there is no certificate with the id %V in "
                               "the zone %V", &ctx->id, &zone->name);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The replaced versions the store keeps of the certificate the URI names:
 * NGX_DECLINED with err set when there is no such certificate.
 */

static ngx_int_t
ngx_palette_cert_versions(ngx_http_request_t *r, ngx_array_t *versions,
    ngx_palette_cert_error_t *err)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_palette_cert_ctx_t      *ctx;
    ngx_palette_cert_zone_t     *zone, nz;
    ngx_palette_cert_version_t  *v;

    zone = ngx_palette_cert_api_zone(r);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ngx_array_init(versions, r->pool, 4,
                       sizeof(ngx_palette_cert_version_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_exists(r, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (zone->store.len == 0) {
        return NGX_OK;
    }

    nz = *zone;
    nz.id = ctx->id;

    rc = ngx_palette_cert_store_history(&nz, versions, r->connection->log);

    if (rc == NGX_ERROR) {
        v = versions->elts;

        for (i = 0; i < versions->nelts; i++) {
            ngx_free(v[i].cert.data);
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/* GET RES?history: the replaced versions, newest first */

static ngx_int_t
ngx_palette_cert_api_history(ngx_http_request_t *r)
{
    BIO                         *bio;
    X509                        *x;
    u_char                      *p, buf[NGX_PALETTE_CERT_DN_LEN];
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_array_t                  versions;
    ngx_palette_cert_json_t      j;
    ngx_palette_cert_zone_t     *zone;
    ngx_palette_cert_error_t     err;
    ngx_palette_cert_version_t  *v;

    zone = ngx_palette_cert_api_zone(r);

    if (ngx_palette_cert_json_head(r, zone, &j, 1024) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_palette_cert_versions(r, &versions, &err);

    if (rc == NGX_DECLINED) {
        return ngx_palette_cert_send_error(r, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_json_key(&j, "history");
    ngx_palette_cert_json_raw(&j, "[");

    v = versions.elts;

    for (i = 0; i < versions.nelts; i++) {

        x = NULL;
        bio = BIO_new_mem_buf(v[i].cert.data, (int) v[i].cert.len);

        if (bio) {
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }

        ngx_free(v[i].cert.data);

        if (x == NULL) {
            ERR_clear_error();
            continue;
        }

        ngx_palette_cert_json_raw(&j, (j.pos[-1] == '[') ? "{" : ",{");

        ngx_palette_cert_json_key(&j, "generation");
        ngx_palette_cert_json_uint(&j, v[i].generation);

        ngx_palette_cert_json_key(&j, "sha256");
        p = ngx_palette_cert_sha256(buf, x);
        ngx_palette_cert_json_str(&j, buf, p - buf);

        ngx_palette_cert_json_key(&j, "not_after");
        p = ngx_palette_cert_time(buf, X509_get0_notAfter(x));
        ngx_palette_cert_json_str(&j, buf, p - buf);

        ngx_palette_cert_json_key(&j, "source");
        ngx_palette_cert_json_cstr(&j,
                                   (v[i].source == NGX_PALETTE_CERT_SELF_SIGNED)
                                   ? "self-signed" : "uploaded");

        ngx_palette_cert_json_key(&j, "replaced_at");

        if (v[i].replaced) {
            p = ngx_palette_cert_rfc3339(buf, v[i].replaced);
            ngx_palette_cert_json_str(&j, buf, p - buf);

        } else {
            ngx_palette_cert_json_raw(&j, "null");
        }

        ngx_palette_cert_json_raw(&j, "}");

        X509_free(x);
    }

    ngx_palette_cert_json_raw(&j, "]}\n");

    return ngx_palette_cert_send_json(r, NGX_HTTP_OK, &j,
                                      ngx_palette_cert_etag(r, zone));
}


/*
 * POST RES?rollback=GEN: that version of the history, validated again in
 * full as if it were uploaded now, becomes current as a new generation.
 * The self-signed default in the history of the default certificate is
 * put back as DELETE puts it back.
 */

static ngx_int_t
ngx_palette_cert_api_rollback(ngx_http_request_t *r)
{
    u_char                    *what, name[32];
    ngx_int_t                  rc;
    ngx_uint_t                 gen;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_zone_t   *zone, nz;
    ngx_palette_cert_error_t   err;
    ngx_palette_cert_fields_t  f;

    zone = ngx_palette_cert_api_zone(r);

    /* the version read holds its key: cleansed with the request */

    ctx = ngx_palette_cert_cleanup_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_palette_cert_discard(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_palette_cert_exists(r, &err) != NGX_OK) {
        return ngx_palette_cert_send_error(r, &err);
    }

    gen = ctx->action.generation;

    nz = *zone;
    nz.id = ctx->id;

    if (zone->store.len == 0 || !ngx_palette_cert_store_kept(&nz, gen)) {
        ngx_palette_cert_error(&err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                               "generation %ui is not in the history of "
                               "this certificate; GET it with ?history for "
                               "the versions kept", gen);
        return ngx_palette_cert_send_error(r, &err);
    }

    ngx_sprintf(name, "gen-%ui%Z", gen);

    if (ngx_palette_cert_store_load(&nz, (char *) name, &ctx->version,
                                    r->connection->log)
        != NGX_OK)
    {
        ngx_palette_cert_error(&err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               "store_failed", NULL, "generation %ui could "
                               "not be read from the store, so nothing was "
                               "changed; see the error log", gen);
        return ngx_palette_cert_send_error(r, &err);
    }

    what = ngx_pnalloc(r->pool, sizeof("rolled back to generation ")
                                + NGX_INT_T_LEN
                                + sizeof(" (the self-signed default)"));
    if (what == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->what = what;

    if (ctx->version.source == NGX_PALETTE_CERT_SELF_SIGNED && !ctx->named) {
        ngx_sprintf(what, "rolled back to generation %ui (the self-signed "
                    "default)%Z", gen);

        if (ngx_palette_cert_dry_run(r)) {
            ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                                   "malformed_request", NULL,
                                   "generation %ui is the self-signed "
                                   "default, which needs no check; roll "
                                   "back without dry_run", gen);
            return ngx_palette_cert_send_error(r, &err);
        }

        return ngx_palette_cert_api_delete(r);
    }

    ngx_sprintf(what, "rolled back to generation %ui%Z", gen);

    ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

    f.named = ctx->named;
    f.certificate = ctx->version.cert;
    f.key = ctx->version.key;
    f.has_certificate = 1;
    f.has_key = 1;

    if (ctx->version.has_ca && ctx->version.ca.len) {
        f.ca = ctx->version.ca;
        f.has_ca = 1;
    }

#if (NGX_THREADS)

    rc = ngx_palette_cert_task_check(r, &f);

    if (rc != NGX_DECLINED) {
        return ngx_palette_cert_api_change(r, rc);
    }

#endif

    rc = ngx_palette_cert_api_check(zone, &f, ctx, &err);

    return ngx_palette_cert_api_change(r,
                                       ngx_palette_cert_api_checked(r, rc,
                                                                    &err));
}


/*
 * POST RES?csr: the request checked, then the key and the request made in
 * a thread (in the event loop without threads), then applied as a change
 * that serves nothing new: kept in the zone and the store.
 */

static ngx_int_t
ngx_palette_cert_api_csr(ngx_http_request_t *r, ngx_palette_cert_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_palette_cert_zone_t       *zone;
    ngx_palette_cert_error_t       err;
    ngx_palette_cert_csr_fields_t  c;

    zone = ngx_palette_cert_api_zone(r);

    if (ngx_palette_cert_parse_csr(ctx->body.data, ctx->body.len, &c)
        != NGX_OK)
    {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                               "malformed_request", c.field,
                               "the body cannot be parsed: %s", c.error);
        return ngx_palette_cert_send_error(r, &err);
    }

    rc = ngx_palette_cert_csr_check(zone, &c, ctx->named, &ctx->csr, r->pool,
                                    &err);

    if (rc == NGX_DECLINED) {
        return ngx_palette_cert_send_error(r, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the subject points into the body: copied, as the body is cleansed */

    if (ctx->csr.subject.len) {
        ctx->csr.subject.data = ngx_pstrdup(r->pool, &ctx->csr.subject);
        if (ctx->csr.subject.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->csr.created = ngx_time();

#if (NGX_THREADS)
    {
    ngx_thread_task_t        *task;
    ngx_palette_cert_task_t  *t;

    task = ngx_palette_cert_task(r);

    if (task) {
        t = task->ctx;
        t->resume = ngx_palette_cert_api_csr_made;
        task->handler = ngx_palette_cert_task_csr_handler;

        rc = ngx_palette_cert_task_post(r, task);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }
    }
#endif

    rc = ngx_palette_cert_csr_make(&ctx->csr);

    return ngx_palette_cert_api_csr_made(r, rc, &err);
}


static ngx_int_t
ngx_palette_cert_api_csr_made(ngx_http_request_t *r, ngx_int_t rc,
    ngx_palette_cert_error_t *err)
{
    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "palette_cert: a key and certificate request could "
                      "not be made");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_palette_cert_api_commit(r);
}


/* the answer to POST ?csr, once the key is kept; logged as a change */

static ngx_int_t
ngx_palette_cert_send_csr(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone)
{
    u_char                  *p, buf[32], who[512], *w;
    ngx_palette_cert_ctx_t  *ctx;
    ngx_palette_cert_json_t  j;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    w = ngx_palette_cert_audit_who(r, who, who + sizeof(who));

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "palette_cert zone \"%V\"%s%V%s made a key and a "
                  "certificate request: key_type %V, names %V%*s",
                  &zone->name, ctx->named ? " certificate \"" : "",
                  &ctx->id, ctx->named ? "\"" : "", &ctx->csr.key_type,
                  &ctx->csr.names, w - who, who);

    if (ngx_palette_cert_json_head(r, zone, &j, 2048) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_json_key(&j, "csr");
    ngx_palette_cert_json_str(&j, ctx->csr.req.data, ctx->csr.req.len);

    ngx_palette_cert_json_key(&j, "names");
    ngx_palette_cert_json_list(&j, ctx->csr.names.data, ctx->csr.names.len);

    ngx_palette_cert_json_key(&j, "key_type");
    ngx_palette_cert_json_str(&j, ctx->csr.key_type.data,
                              ctx->csr.key_type.len);

    ngx_palette_cert_json_key(&j, "created");
    p = ngx_palette_cert_rfc3339(buf, ctx->csr.created);
    ngx_palette_cert_json_str(&j, buf, p - buf);

    ngx_palette_cert_json_raw(&j, "}\n");

    return ngx_palette_cert_send_json(r, NGX_HTTP_OK, &j,
                                      ngx_palette_cert_etag(r, zone));
}


/*
 * The preconditions of staging a version or cancelling one, under the
 * change lock: If-Match (and, for a named certificate, If-None-Match and
 * its names) as for an upload; a staged version to cancel.
 */

static ngx_int_t
ngx_palette_cert_stage_check(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_aside_t  *e;

    if (ctx->unstage) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        e = *ngx_palette_cert_aside_find(zone, NGX_PALETTE_CERT_ASIDE_STAGED,
                                         &ctx->id);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (e == NULL) {
            ngx_palette_cert_error(err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                                   "no version of the %s%V%s is staged",
                                   ctx->named ? "certificate \"" : "default "
                                   "certificate", &ctx->id,
                                   ctx->named ? "\"" : "");
            return NGX_DECLINED;
        }
    }

    /* If-Match, as for an upload or a DELETE of the certificate itself */

    if (ctx->named) {
        return ngx_palette_cert_named_check(r, zone, ctx, err);
    }

    if (ngx_palette_cert_if_match(r, zone->sh->generation) != NGX_OK) {
        ngx_palette_cert_stale(zone, err);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* DELETE RES?staged, done: logged, answered with the resource's JSON */

static ngx_int_t
ngx_palette_cert_api_unstaged(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone)
{
    u_char                     who[512], *w;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_json_t    j;
    ngx_palette_cert_named_t  *e;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    w = ngx_palette_cert_audit_who(r, who, who + sizeof(who));

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "palette_cert zone \"%V\"%s%V%s cancelled its staged "
                  "version%*s", &zone->name,
                  ctx->named ? " certificate \"" : "", &ctx->id,
                  ctx->named ? "\"" : "", w - who, who);

    ctx->unstage = 0;

    if (!ctx->named) {
        if (ngx_palette_cert_refresh(zone, r->connection->log) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_palette_cert_send_cert(r, zone, &zone->current, 0);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);
    e = ngx_palette_cert_named_find(zone, ctx->id.data, ctx->id.len);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (e) {
        return ngx_palette_cert_api_get_named(r);
    }

    /* a certificate that was to be made then: nothing of it is left */

    if (ngx_palette_cert_json_head(r, zone, &j, 256) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_staged_json(&j, zone, &ctx->id);
    ngx_palette_cert_csr_json(&j, zone, &ctx->id);

    ngx_palette_cert_json_raw(&j, "}\n");

    return ngx_palette_cert_send_json(r, NGX_HTTP_OK, &j,
                                      ngx_palette_cert_etag(r, zone));
}


/*
 * Applies the change the request carries (ctx->pem) and answers it;
 * NGX_BUSY when another change is being applied, NGX_AGAIN when a thread
 * writes the store (the answer follows once it is done).
 */

static ngx_int_t
ngx_palette_cert_api_commit(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_error_t  err;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    rc = ngx_palette_cert_api_apply(r, &ctx->pem, &err);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_palette_cert_api_answer(r, rc, &err);
}


/* the answer to a change once applied (rc as api_apply() returns it) */

static ngx_int_t
ngx_palette_cert_api_answer(ngx_http_request_t *r, ngx_int_t rc,
    ngx_palette_cert_error_t *err)
{
    const char                *what;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_parsed_t  parsed;

    zone = ngx_palette_cert_api_zone(r);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (rc == NGX_BUSY) {
        return NGX_BUSY;
    }

    if (ctx->make_csr || ctx->unstage) {
        if (rc != NGX_OK) {
            return ngx_palette_cert_send_error(r, err);
        }

        return ctx->make_csr ? ngx_palette_cert_send_csr(r, zone)
                             : ngx_palette_cert_api_unstaged(r, zone);
    }

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_stale(zone, err);
        return ngx_palette_cert_send_error(r, err);
    }

    if (rc != NGX_OK) {
        return ngx_palette_cert_send_error(r, err);
    }

    if (ctx->stage) {
        u_char  what[64], *p;

        p = ngx_sprintf(what, "staged a version to go live at ");
        p = ngx_palette_cert_rfc3339(p, ctx->action.time);
        *p = '\0';

        ctx->parsed.generation = 0;

        ngx_palette_cert_audit(r, zone, (char *) what, &ctx->parsed);

        return ngx_palette_cert_send_cert(r, zone, &ctx->parsed, 0);
    }

    /* counted, and a certificate about to expire is warned of at once */

    ngx_palette_cert_count_change(zone, "ok");
    ngx_palette_cert_expire_check(zone, r->connection->log);

    if (ctx->remove) {
        ngx_palette_cert_audit_line(r, zone, "deleted", ctx->pem.generation,
                                    ctx->old_sha256, NULL, NULL);

        return ngx_palette_cert_send_deleted(r, zone);
    }

    if (!ctx->reset) {
        ctx->parsed.generation = ctx->pem.generation;

        ngx_palette_cert_audit(r, zone,
                               ctx->what ? (char *) ctx->what : "uploaded",
                               &ctx->parsed);

        return ngx_palette_cert_send_cert(r, zone, &ctx->parsed, 0);
    }

    if (ngx_palette_cert_parse_pem(&ctx->pem, &parsed, r->connection->log)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    what = ctx->what ? (char *) ctx->what
                     : "reset to the self-signed default";

    ngx_palette_cert_audit(r, zone, what, &parsed);

    rc = ngx_palette_cert_send_cert(r, zone, &parsed, 0);

    ngx_palette_cert_parsed_free(&parsed);

    return rc;
}


/*
 * Makes pem the zone's current certificate: NGX_BUSY while another
 * change is applied, NGX_DECLINED on a stale If-Match, NGX_ERROR with err
 * set when nothing could be changed, NGX_AGAIN when a thread writes the
 * store (the change is finished once it is done).  A 200 means live:
 * while a reload or a binary upgrade has workers of another configuration
 * or another nginx serve the store, a change is refused with 503, to be
 * tried again.
 */

static ngx_int_t
ngx_palette_cert_api_apply(ngx_http_request_t *r,
    ngx_palette_cert_pem_t *pem, ngx_palette_cert_error_t *err)
{
    ngx_int_t                 rc;
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_zone_t  *zone;

    zone = ngx_palette_cert_api_zone(r);

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ngx_palette_cert_update_trylock(zone) != NGX_OK) {
        return NGX_BUSY;
    }

    /* the new configuration's workers serve a zone of their own */

    if (zone->sh->retired) {
        ngx_palette_cert_api_reloading(err);
        rc = NGX_ERROR;
        goto done;
    }

    if (ctx->stage || ctx->unstage) {
        if (ngx_palette_cert_stage_check(r, zone, ctx, err) != NGX_OK) {
            rc = NGX_ERROR;
            goto done;
        }

        if (ctx->stage) {
            ctx->aside = ngx_palette_cert_staged_alloc(zone, &ctx->id,
                                                       ctx->action.time, pem);
            if (ctx->aside == NULL) {
                goto full;
            }
        }

        goto store;
    }

    if (ctx->make_csr) {

        /* a pending key: no generation, nothing served changes */

        ctx->aside = ngx_palette_cert_csr_alloc(zone, &ctx->id, &ctx->csr);
        if (ctx->aside == NULL) {
            goto full;
        }

        goto store;
    }

    if (ctx->named) {
        if (ngx_palette_cert_named_check(r, zone, ctx, err) != NGX_OK) {
            rc = NGX_ERROR;
            goto done;
        }

    } else if (ngx_palette_cert_if_match(r, zone->sh->generation) != NGX_OK) {
        rc = NGX_DECLINED;
        goto done;
    }

    ctx->change.zone = zone;
    ctx->change.pem = pem;
    ctx->change.meta = &ctx->bundle.meta;

    if (ctx->named) {
        ctx->change.id = ctx->id;

    } else {
        ngx_str_null(&ctx->change.id);
    }

    if (ngx_palette_cert_change_reserve(&ctx->change, ctx->remove) != NGX_OK)
    {
        goto full;
    }

store:

    rc = NGX_OK;

    if (zone->store.len) {
        rc = ngx_palette_cert_change_owned(zone)
             ? ngx_palette_cert_api_store(r, zone, pem, err)
             : NGX_BUSY;

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }
    }

    return ngx_palette_cert_api_finish(zone, ctx, rc);

full:

    ngx_palette_cert_zone_full(zone, err, r->connection->log);
    rc = NGX_ERROR;

done:

    ngx_palette_cert_update_unlock(zone);

    return rc;
}


/*
 * The preconditions of a change of a named certificate, checked under the
 * pool's lock against the certificate as it is: If-Match, If-None-Match,
 * a certificate to delete, and no other of the same key type for one of
 * its names.  NGX_DECLINED with err set when one fails.
 */

static ngx_int_t
ngx_palette_cert_named_check(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_ctx_t *ctx,
    ngx_palette_cert_error_t *err)
{
    ngx_int_t                  rc;
    ngx_str_t                  name;
    ngx_uint_t                 generation;
    ngx_table_elt_t           *inm;
    ngx_palette_cert_named_t  *e, *other;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = ngx_palette_cert_named_find(zone, ctx->id.data, ctx->id.len);
    generation = e ? e->generation : 0;

    if (e) {
        ctx->old_generation = e->generation;
        ngx_memcpy(ctx->old_sha256, e->sha256, sizeof(ctx->old_sha256));
    }

    other = NULL;

    if (!ctx->remove && ctx->bundle.meta.names) {
        other = ngx_palette_cert_named_conflict(zone, &ctx->id,
                                                &ctx->bundle.meta,
                                                &name);
    }

    rc = NGX_OK;

    if (other) {
        ngx_palette_cert_error(err, NGX_HTTP_CONFLICT, "name_conflict",
                               "certificate",
                               "the name %V is served already by the "
                               "certificate \"%*s\" of the same key type; "
                               "delete or replace that one first, or upload "
                               "this one as \"%*s\"",
                               &name, (size_t) other->id_len, other->id,
                               (size_t) other->id_len, other->id);
        rc = NGX_DECLINED;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    inm = r->headers_in.if_none_match;

    if (rc == NGX_OK && e == NULL && r->headers_in.if_match) {
        ngx_palette_cert_error(err, NGX_HTTP_PRECONDITION_FAILED,
                               "generation_mismatch", NULL,
                               "the certificate \"%V\" does not exist "
                               "(If-Match names a generation of it); reload "
                               "the list and try again", &ctx->id);
        rc = NGX_DECLINED;

    } else if (rc == NGX_OK && e
               && ngx_palette_cert_if_match(r, generation) != NGX_OK)
    {
        ngx_palette_cert_error(err, NGX_HTTP_PRECONDITION_FAILED,
                               "generation_mismatch", NULL,
                               "the certificate \"%V\" was changed meanwhile "
                               "(now generation %ui); reload it and try again",
                               &ctx->id, generation);
        rc = NGX_DECLINED;

    } else if (rc == NGX_OK && e && inm
               && inm->value.len == 1 && inm->value.data[0] == '*')
    {
        ngx_palette_cert_error(err, NGX_HTTP_PRECONDITION_FAILED,
                               "generation_mismatch", NULL,
                               "the certificate \"%V\" exists already "
                               "(generation %ui) and If-None-Match: * asks "
                               "to create it only; choose another id or drop "
                               "the header to replace it", &ctx->id,
                               generation);
        rc = NGX_DECLINED;

    } else if (rc == NGX_OK && e == NULL && ctx->remove) {
        ngx_palette_cert_error(err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                               "there is no certificate with the id %V in "
                               "the zone %V", &ctx->id, &zone->name);
        rc = NGX_DECLINED;
    }

    return rc;
}


/*
 * The end of a change, once the store is written (rc): the record or
 * entry is made current, or given back, and the zone's lock is let go.  A
 * change held so long that it was taken over meanwhile neither stores nor
 * publishes anything: it is tried again, after the other (NGX_BUSY).
 */

static ngx_int_t
ngx_palette_cert_api_finish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t rc)
{
    if (rc == NGX_ERROR && zone->store.len
        && !ngx_palette_cert_change_owned(zone))
    {
        rc = NGX_BUSY;
    }

    if (ctx->unstage || ctx->make_csr || ctx->stage) {
        rc = ngx_palette_cert_api_aside(zone, ctx, rc);
        ngx_palette_cert_update_unlock(zone);
        return rc;
    }

    /* NGX_BUSY when it was taken over meanwhile: nothing is made current */

    rc = ngx_palette_cert_change_end(&ctx->change, rc);

    /* the pending key an upload used is gone with it */

    if (rc == NGX_OK && ctx->use_csr) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        (void) ngx_palette_cert_aside_remove(zone, NGX_PALETTE_CERT_ASIDE_CSR,
                                             &ctx->id, ctx->pending_created);
        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    return rc;
}


/*
 * What a change keeps aside (a staged version, a pending key) or cancels
 * (a staged version), once the store is written: made so, or given back.
 */

static ngx_int_t
ngx_palette_cert_api_aside(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        if (!ctx->unstage) {
            ngx_palette_cert_aside_discard(zone, ctx->aside);
            ctx->aside = NULL;
        }

        return rc;
    }

    if (ctx->unstage) {
        ngx_shmtx_lock(&zone->shpool->mutex);

        (void) ngx_palette_cert_aside_remove(zone,
                                             NGX_PALETTE_CERT_ASIDE_STAGED,
                                             &ctx->id, 0);
        ngx_palette_cert_staged_schedule(zone);

        ngx_shmtx_unlock(&zone->shpool->mutex);

    } else {
        rc = ngx_palette_cert_aside_publish(zone, ctx->aside);
        ctx->aside = NULL;

        if (rc == NGX_OK && ctx->stage) {
            ngx_shmtx_lock(&zone->shpool->mutex);
            ngx_palette_cert_staged_schedule(zone);
            ngx_shmtx_unlock(&zone->shpool->mutex);
        }
    }

    if (zone->store.len) {
        ngx_palette_cert_store_unlock(zone);
    }

    return rc;
}


/*
 * Writes pem to the store under the store's lock, held on NGX_OK until
 * the record is published; NGX_BUSY while another process writes the
 * store, NGX_ERROR with err set when nothing was changed, NGX_AGAIN when
 * a thread writes it.
 */

static ngx_int_t
ngx_palette_cert_api_store(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_error_t *err)
{
    ngx_int_t                rc;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    rc = ngx_palette_cert_store_lock(zone, 0, r->connection->log);

    if (rc == NGX_BUSY) {
        return NGX_BUSY;
    }

    if (rc == NGX_OK
        && ngx_palette_cert_store_alone(zone, r->connection->log) != NGX_OK)
    {
        ngx_palette_cert_store_unlock(zone);
        ngx_palette_cert_api_reloading(err);
        return NGX_ERROR;
    }

#if (NGX_THREADS)

    if (rc == NGX_OK && ngx_palette_cert_task_store(r, pem) == NGX_AGAIN) {
        return NGX_AGAIN;
    }

#endif

    if (rc == NGX_OK
        && ngx_palette_cert_store_change(zone, ctx, pem, r->connection->log)
           != NGX_OK)
    {
        ngx_palette_cert_store_unlock(zone);
        rc = NGX_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_palette_cert_api_store_failed(err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the store's part of a change; it may run in a thread */

static ngx_int_t
ngx_palette_cert_store_change(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_int_t                rc;
    ngx_palette_cert_zone_t  nz;

    if (ctx->make_csr) {
        return ngx_palette_cert_store_csr(zone, ctx, log);
    }

    if (ctx->stage || ctx->unstage) {
        nz = *zone;
        nz.id = ctx->id;

        return ctx->stage
               ? ngx_palette_cert_staged_save(&nz, pem, ctx->action.time, log)
               : ngx_palette_cert_store_remove_aside(&nz, "staged", log);
    }

    if (!ctx->named) {
        rc = ngx_palette_cert_store_save(zone, pem, log);

    } else if (ctx->remove) {
        rc = ngx_palette_cert_store_delete_named(zone, &ctx->id,
                                                 pem->generation, log);

    } else {
        rc = ngx_palette_cert_store_save_named(zone, &ctx->id, pem, log);
    }

    /* the pending key it used: the change is made, this is tidying up */

    if (rc == NGX_OK && ctx->use_csr) {
        nz = *zone;
        nz.id = ctx->id;

        (void) ngx_palette_cert_store_remove_aside(&nz, "csr", log);
    }

    return rc;
}


/* STORE[/named/ID]/csr: the pending key, its request, what was asked */

static ngx_int_t
ngx_palette_cert_store_csr(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_ctx_t *ctx, ngx_log_t *log)
{
    u_char                  *p, info[NGX_PALETTE_CERT_CSR_INFO];
    ngx_palette_cert_zone_t  nz;
    ngx_palette_cert_file_t  files[4];

    p = ngx_snprintf(info, sizeof(info), "%V\n%T\n%V\n%V\n",
                     &ctx->csr.key_type, ctx->csr.created, &ctx->csr.names,
                     &ctx->csr.subject);

    files[0].name = "key.pem";
    files[0].data = ctx->csr.key;
    files[0].mode = 0600;

    files[1].name = "request.pem";
    files[1].data = ctx->csr.req;
    files[1].mode = 0644;

    files[2].name = "info";
    files[2].data.data = info;
    files[2].data.len = p - info;
    files[2].mode = 0644;

    files[3].name = NULL;

    nz = *zone;
    nz.id = ctx->id;

    return ngx_palette_cert_store_save_aside(&nz, "csr", files, log);
}


static void
ngx_palette_cert_api_store_failed(ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_error(err, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "store_failed", NULL,
                           "the certificate could not be saved in the "
                           "store, so nothing was changed; see the error "
                           "log");
}


static void
ngx_palette_cert_api_reloading(ngx_palette_cert_error_t *err)
{
    ngx_palette_cert_error(err, NGX_HTTP_SERVICE_UNAVAILABLE, "reloading",
                           NULL,
                           "nginx is being reloaded or upgraded; nothing "
                           "was changed, try again in a moment");
}


/*
 * The generation the next change gets, also after one that only the store
 * holds (its process died before the zone did): what a dry run tells, too.
 */

ngx_uint_t
ngx_palette_cert_next_generation(ngx_palette_cert_zone_t *zone)
{
    ngx_uint_t  next;

    next = ngx_max(zone->sh->zone_generation, zone->sh->reserved);
    next = ngx_max(next, zone->sh->generation) + 1;

    if (zone->store.len) {
        next = ngx_max(next, ngx_palette_cert_store_last(zone) + 1);
    }

    return next;
}


#if (NGX_THREADS)

/* a thread validates the upload; NGX_DECLINED: it is done here instead */

static ngx_int_t
ngx_palette_cert_task_check(ngx_http_request_t *r,
    ngx_palette_cert_fields_t *f)
{
    ngx_thread_task_t        *task;
    ngx_palette_cert_task_t  *t;

    task = ngx_palette_cert_task(r);
    if (task == NULL) {
        return NGX_DECLINED;
    }

    t = task->ctx;

    t->fields = *f;
    t->resume = ngx_palette_cert_api_checked;

    task->handler = ngx_palette_cert_task_check_handler;

    return ngx_palette_cert_task_post(r, task);
}


static void
ngx_palette_cert_task_check_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_task_t  *t = data;

    t->rc = ngx_palette_cert_api_check(t->zone, &t->fields, t->ctx, &t->err);

    /*
     * What OpenSSL keeps for this thread goes now: left until the thread
     * exits with its worker, it would be freed then, racing the
     * worker's own OpenSSL cleanup at exit.
     */

    OPENSSL_thread_stop();
}


/* a thread makes the key and the request of POST ?csr */

static void
ngx_palette_cert_task_csr_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_task_t  *t = data;

    t->rc = ngx_palette_cert_csr_make(&t->ctx->csr);

    OPENSSL_thread_stop();
}


/*
 * A thread writes the store, while this process holds the zone's lock
 * and the store's; NGX_DECLINED: it is written here instead.  The zone
 * notes that the lock is held for a thread, so that another request of
 * this worker waits for the change rather than take the lock over.
 */

static ngx_int_t
ngx_palette_cert_task_store(ngx_http_request_t *r,
    ngx_palette_cert_pem_t *pem)
{
    ngx_int_t                 rc;
    ngx_log_t                *log;
    ngx_thread_task_t        *task;
    ngx_palette_cert_task_t  *t;

    task = ngx_palette_cert_task(r);
    if (task == NULL) {
        return NGX_DECLINED;
    }

    t = task->ctx;

    t->pem = pem;
    t->storing = 1;
    t->resume = ngx_palette_cert_api_answer;

    /*
     * The request's log handler reads the request, which is the event
     * loop's: what it adds to a message is written out now.
     */

    log = r->connection->log;

    t->log = *log;
    t->log.handler = ngx_palette_cert_task_log;
    t->log.data = t;
    t->log_len = 0;

    if (log->handler) {
        t->log_len = log->handler(log, t->log_text, sizeof(t->log_text))
                     - t->log_text;
    }

    task->handler = ngx_palette_cert_task_store_handler;

    rc = ngx_palette_cert_task_post(r, task);

    if (rc == NGX_AGAIN) {
        t->zone->storing = 1;

    } else {
        t->storing = 0;
    }

    return rc;
}


static void
ngx_palette_cert_task_store_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_task_t  *t = data;

    t->rc = ngx_palette_cert_store_change(t->zone, t->ctx, t->pem, &t->log);
}


static u_char *
ngx_palette_cert_task_log(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_palette_cert_task_t  *t = log->data;

    return ngx_cpymem(buf, t->log_text, ngx_min(len, t->log_len));
}


/* the request's task, made once and used for each step */

static ngx_thread_task_t *
ngx_palette_cert_task(ngx_http_request_t *r)
{
    ngx_thread_task_t            *task;
    ngx_palette_cert_ctx_t       *ctx;
    ngx_palette_cert_task_t      *t;
    ngx_palette_cert_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_palette_cert_module);
    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (plcf->thread_pool == NULL || ctx == NULL) {
        return NULL;
    }

    if (ctx->task) {
        return ctx->task;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_palette_cert_task_t));
    if (task == NULL) {
        return NULL;
    }

    t = task->ctx;

    t->request = r;
    t->zone = plcf->zone;
    t->ctx = ctx;

    t->guard.handler = ngx_palette_cert_task_guard;
    t->guard.data = t;
    t->guard.log = r->connection->log;

    task->event.handler = ngx_palette_cert_task_done;
    task->event.data = t;
    task->event.log = r->connection->log;

    ctx->task = task;

    return task;
}


/*
 * The request is blocked until the task is done, as for nginx's own
 * thread tasks: neither finalized nor freed meanwhile, whatever happens
 * to its connection.  A full queue leaves the step to the event loop
 * (NGX_DECLINED), as without threads.
 */

static ngx_int_t
ngx_palette_cert_task_post(ngx_http_request_t *r, ngx_thread_task_t *task)
{
    ngx_palette_cert_task_t      *t;
    ngx_palette_cert_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_palette_cert_module);
    t = task->ctx;

    if (ngx_thread_task_post(plcf->thread_pool, task) != NGX_OK) {
        return NGX_DECLINED;
    }

    r->main->blocked++;
    r->aio = 1;

    r->write_event_handler = ngx_palette_cert_task_resume;

    ngx_add_timer(&t->guard, NGX_PALETTE_CERT_UPDATE_WAIT);

    return NGX_AGAIN;
}


/*
 * In the event loop, once the thread is done: a store's change is
 * finished here, whatever became of the request meanwhile, so that the
 * zone's lock is never left held; then the request goes on.
 */

static void
ngx_palette_cert_task_done(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_palette_cert_task_t  *t;

    t = ev->data;
    r = t->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (t->storing) {
        t->zone->storing = 0;

        if (t->rc != NGX_OK) {
            ngx_palette_cert_store_unlock(t->zone);
            ngx_palette_cert_api_store_failed(&t->err);
            t->rc = NGX_ERROR;
        }

        t->rc = ngx_palette_cert_api_finish(t->zone, t->ctx, t->rc);
        t->storing = 0;
    }

    if (t->guard.timer_set) {
        ngx_del_timer(&t->guard);
    }

    r->main->blocked--;
    r->aio = 0;

    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_palette_cert_task_resume(ngx_http_request_t *r)
{
    ngx_palette_cert_ctx_t   *ctx;
    ngx_palette_cert_task_t  *t;

    /* the socket became writable while the thread runs */

    if (r->aio) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);
    t = ctx->task->ctx;

    ngx_palette_cert_api_end(r, t->resume(r, t->rc, &t->err));
}


static void
ngx_palette_cert_task_guard(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_PALETTE_CERT_UPDATE_WAIT);
}

#endif


static ngx_int_t
ngx_palette_cert_api_get_named(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_uint_t                 staged, pending;
    ngx_palette_cert_ctx_t    *ctx;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_named_t  *e;
    ngx_palette_cert_error_t   err;
    ngx_palette_cert_parsed_t  parsed;

    zone = ngx_palette_cert_api_zone(r);

    /* the copy holds the key: cleansed with the request */

    ctx = ngx_palette_cert_cleanup_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = ngx_palette_cert_named_find(zone, ctx->id.data, ctx->id.len);

    if (e) {
        rc = ngx_palette_cert_named_copy(e, &ctx->pem);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc == NGX_DECLINED) {
        ngx_shmtx_lock(&zone->shpool->mutex);

        staged = *ngx_palette_cert_aside_find(zone,
                                              NGX_PALETTE_CERT_ASIDE_STAGED,
                                              &ctx->id)
                 != NULL;
        pending = *ngx_palette_cert_aside_find(zone,
                                               NGX_PALETTE_CERT_ASIDE_CSR,
                                               &ctx->id)
                  != NULL;

        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_palette_cert_error(&err, NGX_HTTP_NOT_FOUND, "not_found", NULL,
                               "there is no certificate with the id %V in "
                               "the zone %V%s%s", &ctx->id, &zone->name,
                               staged ? "; a version of it is staged "
                                        "(DELETE ?staged cancels it)" : "",
                               pending ? "; a key made for it waits for its "
                                         "certificate (POST ?csr made it)"
                                       : "");
        return ngx_palette_cert_send_error(r, &err);
    }

    if (rc != NGX_OK
        || ngx_palette_cert_parse_pem(&ctx->pem, &parsed, r->connection->log)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_palette_cert_send_cert(r, zone, &parsed, 0);

    ngx_palette_cert_parsed_free(&parsed);

    return rc;
}


/*
 * The list: what each certificate is served for, sorted by id, a page at
 * a time.  It is copied under the lock and written out after it.
 */

static ngx_int_t
ngx_palette_cert_api_list(ngx_http_request_t *r)
{
    ngx_uint_t                     i, n, failed, generation;
    ngx_array_t                    page;
    ngx_palette_cert_zone_t       *zone;
    ngx_palette_cert_json_t        j;
    ngx_palette_cert_named_t      *e;
    ngx_palette_cert_error_t       err;
    ngx_palette_cert_list_query_t  q;
    ngx_palette_cert_list_item_t  *item;

    zone = ngx_palette_cert_api_zone(r);

    /* a browser opening the list gets the console page, as at the default */

    if (ngx_palette_cert_wants_page(r)) {
        return ngx_palette_cert_send_page(r, zone->sh->zone_generation);
    }

    if (ngx_palette_cert_parse_list_query(r->args.data, r->args.len, &q)
        != NGX_OK)
    {
        ngx_palette_cert_error(&err, NGX_HTTP_BAD_REQUEST,
                               "malformed_request", NULL,
                               "the query cannot be used: %s", q.error);
        return ngx_palette_cert_send_error(r, &err);
    }

    if (ngx_array_init(&page, r->pool, ngx_min(q.limit, 100),
                       sizeof(ngx_palette_cert_list_item_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    failed = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    generation = zone->sh->zone_generation;

    for (e = ngx_palette_cert_named_after(zone, &q.after), n = 0;
         e;
         e = ngx_palette_cert_named_next(zone, e), n++)
    {
        if (n == q.limit) {
            break;
        }

        item = ngx_array_push(&page);
        if (item == NULL) {
            failed = 1;
            break;
        }

        item->id.data = ngx_pnalloc(r->pool, e->id_len);
        if (item->id.data == NULL
            || ngx_palette_cert_named_meta(e, &item->meta, r->pool) != NGX_OK)
        {
            failed = 1;
            break;
        }

        ngx_memcpy(item->id.data, e->id, e->id_len);
        item->id.len = e->id_len;
        item->generation = e->generation;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_palette_cert_json_init(&j, r->pool, 256 + page.nelts * 256)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_palette_cert_json_raw(&j, "{");

    ngx_palette_cert_json_key(&j, "zone");
    ngx_palette_cert_json_str(&j, zone->name.data, zone->name.len);

    ngx_palette_cert_json_key(&j, "generation");
    ngx_palette_cert_json_uint(&j, generation);

    ngx_palette_cert_json_key(&j, "certificates");
    ngx_palette_cert_json_raw(&j, "[");

    item = page.elts;

    for (i = 0; i < page.nelts; i++) {
        ngx_palette_cert_json_raw(&j, i ? ",{" : "{");

        ngx_palette_cert_list_item(&j, &item[i]);
        ngx_palette_cert_json_raw(&j, "}");
    }

    ngx_palette_cert_json_raw(&j, "]");

    ngx_palette_cert_json_key(&j, "next");

    if (e && page.nelts) {
        ngx_palette_cert_json_str(&j, item[page.nelts - 1].id.data,
                                  item[page.nelts - 1].id.len);

    } else {
        ngx_palette_cert_json_raw(&j, "null");
    }

    ngx_palette_cert_json_raw(&j, "}\n");

    return ngx_palette_cert_send_json(r, NGX_HTTP_OK, &j, generation);
}


static void
ngx_palette_cert_list_item(ngx_palette_cert_json_t *j,
    ngx_palette_cert_list_item_t *item)
{
    u_char  *p, *last, buf[64];

    ngx_palette_cert_json_key(j, "id");
    ngx_palette_cert_json_str(j, item->id.data, item->id.len);

    ngx_palette_cert_json_key(j, "names");
    ngx_palette_cert_json_raw(j, "[");

    last = item->meta.names + item->meta.names_len;

    for (p = item->meta.names; p < last; p += 2 + p[1]) {
        if (p != item->meta.names) {
            ngx_palette_cert_json_raw(j, ",");
        }

        ngx_palette_cert_json_str(j, p + 2, p[1]);
    }

    ngx_palette_cert_json_raw(j, "]");

    ngx_palette_cert_json_key(j, "key_type");
    ngx_palette_cert_json_str(j, item->meta.key_type.data,
                              item->meta.key_type.len);

    ngx_palette_cert_json_key(j, "not_after");
    ngx_palette_cert_json_str(j, item->meta.not_after.data,
                              item->meta.not_after.len);

    p = ngx_hex_dump(buf, item->meta.sha256, 32);
    ngx_palette_cert_json_key(j, "sha256");
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "generation");
    ngx_palette_cert_json_uint(j, item->generation);
}


static ngx_int_t
ngx_palette_cert_api_get(ngx_http_request_t *r)
{
    ngx_palette_cert_zone_t  *zone;

    zone = ngx_palette_cert_api_zone(r);

    if (ngx_palette_cert_refresh(zone, r->connection->log) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_palette_cert_wants_page(r)) {
        return ngx_palette_cert_send_page(r, zone->current.generation);
    }

    return ngx_palette_cert_send_cert(r, zone, &zone->current, 0);
}


static ngx_int_t
ngx_palette_cert_media_type(ngx_http_request_t *r, ngx_str_t *boundary)
{
    u_char    *p, *last;
    ngx_str_t  type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = r->headers_in.content_type->value;

    p = type.data;
    last = p + type.len;

    while (p < last && *p != ';' && *p != ' ' && *p != '\t') {
        p++;
    }

    type.len = p - type.data;

    if (type.len == 16
        && ngx_strncasecmp(type.data, (u_char *) "application/json", 16) == 0)
    {
        return NGX_PALETTE_CERT_JSON;
    }

    if (type.len == 33
        && ngx_strncasecmp(type.data,
                           (u_char *) "application/x-www-form-urlencoded",
                           33)
           == 0)
    {
        return NGX_PALETTE_CERT_FORM;
    }

    if (type.len == 19
        && ngx_strncasecmp(type.data, (u_char *) "multipart/form-data", 19)
           == 0)
    {
        return NGX_PALETTE_CERT_MULTI;
    }

    return NGX_DECLINED;
}


/* the request body as one buffer, wherever nginx kept it */

static ngx_int_t
ngx_palette_cert_collect_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (len == 0) {
        return NGX_OK;
    }

    if (len > NGX_PALETTE_CERT_BODY_MAX) {
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    body->len = len;
    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "palette_cert: cannot read the request body "
                          "from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


/* the body and everything derived from it hold a private key */

static void
ngx_palette_cert_cleanse(void *data)
{
    ngx_http_request_t  *r = data;

    u_char                  *p;
    ngx_buf_t               *b;
    ngx_chain_t             *cl;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);

    if (ctx) {
        if (ctx->body.data) {
            ngx_explicit_memzero(ctx->body.data, ctx->body.len);
            ngx_str_null(&ctx->body);
        }

        ngx_palette_cert_bundle_free(&ctx->bundle);
        ngx_palette_cert_pem_free(&ctx->pem);
        ngx_palette_cert_pem_free(&ctx->version);
        ngx_palette_cert_csr_free(&ctx->csr);

        if (ctx->pending_key.data) {
            ngx_explicit_memzero(ctx->pending_key.data, ctx->pending_key.len);
            ngx_free(ctx->pending_key.data);
            ngx_str_null(&ctx->pending_key);
        }

        /*
         * The header buffer belongs to the connection and outlives the
         * request; a chunked body ends where reading it stopped, before
         * a pipelined request.
         */

        b = r->header_in;
        p = ctx->preread.data;

        if (p && r->headers_in.chunked && p >= b->start && p <= b->pos) {
            ctx->preread.len = ngx_min(ctx->preread.len,
                                       (size_t) (b->pos - p));
        }

        if (p) {
            ngx_explicit_memzero(p, ctx->preread.len);
            ngx_str_null(&ctx->preread);
        }
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        ngx_palette_cert_cleanse_h2(r);
    }
#endif

    if (r->request_body == NULL) {
        return;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file && b->pos) {
            ngx_explicit_memzero(b->pos, b->last - b->pos);
        }
    }

    b = r->request_body->buf;

    if (b && b->start && !b->in_file) {
        ngx_explicit_memzero(b->start, b->end - b->start);
    }
}


#if (NGX_HTTP_V2)

static void
ngx_palette_cert_cleanse_h2(ngx_http_request_t *r)
{
    ngx_buf_t                *b;
    ngx_event_t              *ev;
    ngx_http_v2_main_conf_t  *h2mcf;

    /*
     * The body the stream received before the handler ran, unless nginx
     * has read it out, and freed the buffer, for r->request_body->buf.
     */

    b = r->stream->preread;

    if (b && (r->request_body == NULL || r->request_body->buf == NULL)) {
        ngx_explicit_memzero(b->start, b->end - b->start);
    }

    /*
     * Every HTTP/2 connection of the worker reads into one buffer, which
     * holds nothing once a read has been handled.  It may be being
     * handled now, so it is cleansed after this event, by a posted one.
     */

    h2mcf = ngx_http_get_module_main_conf(r, ngx_http_v2_module);
    ev = &ngx_palette_cert_h2_event;

    if (h2mcf == NULL || h2mcf->recv_buffer == NULL || ev->posted) {
        return;
    }

    ev->handler = ngx_palette_cert_cleanse_h2_handler;
    ev->data = h2mcf;
    ev->log = ngx_cycle->log;

    ngx_post_event(ev, &ngx_posted_events);
}


static void
ngx_palette_cert_cleanse_h2_handler(ngx_event_t *ev)
{
    ngx_http_v2_main_conf_t  *h2mcf = ev->data;

    ngx_explicit_memzero(h2mcf->recv_buffer, h2mcf->recv_buffer_size);
}

#endif


static ngx_int_t
ngx_palette_cert_if_match(ngx_http_request_t *r, ngx_uint_t generation)
{
    u_char    *p, *last, *start;
    ngx_int_t  n;

    if (r->headers_in.if_match == NULL) {
        return NGX_OK;
    }

    p = r->headers_in.if_match->value.data;
    last = p + r->headers_in.if_match->value.len;

    /* "*", or a list of strong entity tags: "3", "4" */

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        if (p == last) {
            break;
        }

        if (*p == '*') {
            return NGX_OK;
        }

        if (*p != '"') {
            return NGX_DECLINED;
        }

        start = ++p;

        while (p < last && *p != '"') {
            p++;
        }

        if (p == last) {
            return NGX_DECLINED;
        }

        n = ngx_atoi(start, p - start);

        if (n != NGX_ERROR && (ngx_uint_t) n == generation) {
            return NGX_OK;
        }

        p++;
    }

    return NGX_DECLINED;
}


ngx_uint_t
ngx_palette_cert_dry_run(ngx_http_request_t *r)
{
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) "dry_run", 7, &value) != NGX_OK) {
        return 0;
    }

    return (value.len == 1 && value.data[0] == '1')
           || (value.len == 4 && ngx_strncmp(value.data, "true", 4) == 0);
}


static ngx_int_t
ngx_palette_cert_field_empty(ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] != ' ' && s->data[i] != '\t' && s->data[i] != '\r'
            && s->data[i] != '\n')
        {
            return 0;
        }
    }

    return 1;
}


/* the audit line: never any key material */

static void
ngx_palette_cert_audit(ngx_http_request_t *r, ngx_palette_cert_zone_t *zone,
    const char *what, ngx_palette_cert_parsed_t *cur)
{
    u_char       *s, *d, md[EVP_MAX_MD_SIZE];
    u_char        subject[256], date[32];
    ngx_str_t     subj, na;
    unsigned int  n;

    if (X509_digest(cur->leaf, EVP_sha256(), md, &n) != 1 || n != 32) {
        ngx_memzero(md, 32);
    }

    s = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(cur->leaf));
    d = ngx_palette_cert_time(date, X509_get0_notAfter(cur->leaf));

    subj.data = subject;
    subj.len = s - subject;
    na.data = date;
    na.len = d - date;

    ngx_palette_cert_audit_line(r, zone, what, cur->generation, md, &subj,
                                &na);
}


static void
ngx_palette_cert_audit_line(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, const char *what, ngx_uint_t generation,
    u_char *sha256, ngx_str_t *subject, ngx_str_t *not_after)
{
    u_char                  *p, *w, *i;
    u_char                   sha[64], who[512], id[128];
    ngx_palette_cert_ctx_t  *ctx;

    p = ngx_hex_dump(sha, sha256, 32);

    /* a named certificate's id */

    ctx = ngx_http_get_module_ctx(r, ngx_palette_cert_module);
    i = id;

    if (ctx && ctx->named) {
        i = ngx_snprintf(id, sizeof(id), " certificate \"%V\"", &ctx->id);
    }

    w = ngx_palette_cert_audit_who(r, who, who + sizeof(who));

    /* the client address follows, added by the request's log handler */

    if (generation == 0) {

        /* a staged version: no generation yet */

        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "palette_cert zone \"%V\"%*s %s: sha256 %*s, "
                      "subject \"%V\", not_after %V%*s",
                      &zone->name, i - id, id, what, p - sha, sha,
                      subject, not_after, w - who, who);
        return;
    }

    if (subject == NULL) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "palette_cert zone \"%V\"%*s %s: generation %ui, "
                      "sha256 %*s%*s",
                      &zone->name, i - id, id, what, generation, p - sha, sha,
                      w - who, who);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "palette_cert zone \"%V\"%*s %s: generation %ui, "
                  "sha256 %*s, subject \"%V\", not_after %V%*s",
                  &zone->name, i - id, id, what, generation, p - sha, sha,
                  subject, not_after, w - who, who);
}


/*
 * Who made a change, for the audit line: the user name as the client
 * sent it (printable characters only), and a verified client certificate,
 * which may be what let the admin in.
 */

static u_char *
ngx_palette_cert_audit_who(ngx_http_request_t *r, u_char *p, u_char *last)
{
    X509    *peer;
    u_char  *q, *end, user[64], *u, client[256], *c;

    end = r->headers_in.user.data + r->headers_in.user.len;
    u = user;

    for (q = r->headers_in.user.data;
         q < end && u < user + sizeof(user);
         q++)
    {
        *u++ = (*q >= 0x20 && *q < 0x7f && *q != '"') ? *q : '?';
    }

    c = client;

    if (r->connection->ssl
        && SSL_get_verify_result(r->connection->ssl->connection) == X509_V_OK)
    {
        peer = SSL_get0_peer_certificate(r->connection->ssl->connection);

        if (peer) {
            c = ngx_palette_cert_subject(client, client + sizeof(client),
                                         X509_get_subject_name(peer));
        }
    }

    if (u > user) {
        p = ngx_slprintf(p, last, ", user \"%*s\"", u - user, user);
    }

    if (c > client) {
        p = ngx_slprintf(p, last, ", client certificate \"%*s\"",
                         c - client, client);
    }

    return p;
}


/* the request's context, with the cleanup that cleanses what it holds */

static ngx_palette_cert_ctx_t *
ngx_palette_cert_cleanup_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_palette_cert_ctx_t  *ctx;

    ctx = ngx_palette_cert_get_ctx(r);
    if (ctx == NULL || ctx->cleanup) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_palette_cert_cleanse;
    cln->data = r;

    ctx->cleanup = 1;

    return ctx;
}


