
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * What the admin endpoint's two files share: the request's context, and
 * the answers (ngx_palette_cert_answer.c) that the change flow
 * (ngx_palette_cert_api.c) sends.
 */


#ifndef _NGX_PALETTE_CERT_API_H_INCLUDED_
#define _NGX_PALETTE_CERT_API_H_INCLUDED_


#include "ngx_palette_cert.h"


typedef struct {
    ngx_str_t                    body;
    ngx_palette_cert_bundle_t    bundle;
    ngx_palette_cert_pem_t       pem;

    /* what a change answers with, once applied */
    ngx_palette_cert_parsed_t    parsed;

    /* an answer nginx itself makes here, replaced by the API's JSON */
    ngx_chain_t                 *replace;

    /* a refused request's answer, sent once its body is read */
    ngx_palette_cert_error_t    *refusal;

    /* the body's bytes read with the header, in the client header buffer */
    ngx_str_t                    preread;

    /* when the change first found another one being applied */
    ngx_msec_t                   wait_start;

    /* what a change makes current, and the generation given before it */
    ngx_palette_cert_change_t    change;

    /* a named certificate: its id */
    ngx_str_t                    id;

    /* what a deletion removed, for the audit line */
    ngx_uint_t                   old_generation;
    u_char                       old_sha256[32];

    /* what the query asks for besides the certificate */
    ngx_palette_cert_action_t    action;

    /* a rollback: the version read from the store, and the audit's words */
    ngx_palette_cert_pem_t       version;
    u_char                      *what;

    /* POST ?csr: the key and request made, and their entry in the zone */
    ngx_palette_cert_csr_t       csr;
    ngx_palette_cert_aside_t    *aside;

    /* an upload without a key: the pending key it uses, made then */
    ngx_str_t                    pending_key;
    time_t                       pending_created;

#if (NGX_THREADS)
    /* the step of a change that a thread runs */
    ngx_thread_task_t           *task;
#endif

    unsigned                     own:1;
    unsigned                     sent:1;
    unsigned                     cleanup:1;
    unsigned                     reset:1;
    unsigned                     named:1;
    unsigned                     list:1;
    unsigned                     remove:1;
    unsigned                     make_csr:1;
    unsigned                     use_csr:1;
    unsigned                     stage:1;
    unsigned                     unstage:1;
} ngx_palette_cert_ctx_t;


/* the zone of the request's API location */
#define ngx_palette_cert_api_zone(r)                                          \
    ((ngx_palette_cert_loc_conf_t *)                                          \
         ngx_http_get_module_loc_conf(r, ngx_palette_cert_module))->zone


/* ngx_palette_cert_api.c */
ngx_uint_t ngx_palette_cert_dry_run(ngx_http_request_t *r);


/* ngx_palette_cert_answer.c */
ngx_palette_cert_ctx_t *ngx_palette_cert_get_ctx(ngx_http_request_t *r);
ngx_uint_t ngx_palette_cert_wants_page(ngx_http_request_t *r);
ngx_int_t ngx_palette_cert_send_page(ngx_http_request_t *r,
    ngx_uint_t generation);
ngx_uint_t ngx_palette_cert_cross_origin(ngx_http_request_t *r);
ngx_uint_t ngx_palette_cert_etag(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_send_cert(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_parsed_t *cur,
    ngx_uint_t dry_run);
ngx_int_t ngx_palette_cert_send_deleted(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_send_error(ngx_http_request_t *r,
    ngx_palette_cert_error_t *err);
ngx_int_t ngx_palette_cert_json_head(ngx_http_request_t *r,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_json_t *j, size_t size);
ngx_int_t ngx_palette_cert_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_palette_cert_json_t *j, ngx_uint_t generation);
ngx_int_t ngx_palette_cert_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value, ngx_table_elt_t **out);


#endif /* _NGX_PALETTE_CERT_API_H_INCLUDED_ */
