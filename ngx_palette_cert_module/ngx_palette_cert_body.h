
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Parsers of untrusted bytes: upload bodies (JSON, multipart/form-data,
 * x-www-form-urlencoded) and PEM bundles.  They depend on nothing but
 * nginx's core types, allocate nothing, and decode in place: a value
 * never grows when decoded, so it is written over its own encoding and
 * the caller cleanses the one buffer afterwards.
 */


#ifndef _NGX_PALETTE_CERT_BODY_H_INCLUDED_
#define _NGX_PALETTE_CERT_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_PALETTE_CERT_PEM_MAX  64

/* a named certificate's id: [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
#define NGX_PALETTE_CERT_ID_LEN   64

/* what the URI after the API's location names */
#define NGX_PALETTE_CERT_RES_DEFAULT    0
#define NGX_PALETTE_CERT_RES_LIST       1
#define NGX_PALETTE_CERT_RES_NAMED      2
#define NGX_PALETTE_CERT_RES_NONE       3

#define NGX_PALETTE_CERT_LIST_LIMIT     100
#define NGX_PALETTE_CERT_LIST_MAX       1000

/* a host name in the server_name extension, at most */
#define NGX_PALETTE_CERT_HOST_LEN       253


typedef struct {
    ngx_str_t   label;       /* "CERTIFICATE", "PRIVATE KEY", ... */
    ngx_str_t   text;        /* the whole block, BEGIN to END lines */
} ngx_palette_cert_pem_block_t;


typedef struct {
    ngx_palette_cert_pem_block_t  blocks[NGX_PALETTE_CERT_PEM_MAX];
    ngx_uint_t                    nblocks;

    /* set when parsing fails: where, and why */
    size_t                        offset;
    const char                   *error;
} ngx_palette_cert_pem_bundle_t;


/* one upload field as found in a body; value points into the body */

typedef struct {
    ngx_str_t   certificate;
    ngx_str_t   key;
    ngx_str_t   ca;
    unsigned    has_certificate:1;
    unsigned    has_key:1;
    unsigned    has_ca:1;
    unsigned    ca_null:1;

    /* set by the caller: for a named certificate, not the default */
    unsigned    named:1;

    /* set by the caller: dates are judged at this time (0: now) */
    time_t      at;

    const char *error;       /* why the body is malformed */
} ngx_palette_cert_fields_t;


/* the list's query: "limit" and "after" */

typedef struct {
    ngx_uint_t  limit;
    ngx_str_t   after;       /* points into the query; empty: from the start */
    const char *error;
} ngx_palette_cert_list_query_t;


/* POST ?csr: the names asked for, at most */
#define NGX_PALETTE_CERT_CSR_NAMES      100

typedef struct {
    ngx_str_t   names[NGX_PALETTE_CERT_CSR_NAMES];
    ngx_uint_t  nnames;
    ngx_str_t   key_type;
    ngx_str_t   subject;     /* empty when absent or null */
    unsigned    has_names:1;
    unsigned    has_key_type:1;
    unsigned    has_subject:1;

    const char *field;       /* the field at fault, or NULL */
    const char *error;       /* why the body is malformed */
} ngx_palette_cert_csr_fields_t;


/* what a certificate's query asks for besides the certificate */

#define NGX_PALETTE_CERT_ACT_NONE       0
#define NGX_PALETTE_CERT_ACT_HISTORY    1
#define NGX_PALETTE_CERT_ACT_ROLLBACK   2
#define NGX_PALETTE_CERT_ACT_ACTIVATE   3
#define NGX_PALETTE_CERT_ACT_STAGED     4
#define NGX_PALETTE_CERT_ACT_CSR        5

/* an RFC 3339 time, decoded, at most */
#define NGX_PALETTE_CERT_TIME_LEN       64

typedef struct {
    ngx_uint_t  action;
    ngx_uint_t  generation;  /* rollback= */
    time_t      time;        /* activate_at= */
    const char *error;
} ngx_palette_cert_action_t;


ngx_int_t ngx_palette_cert_parse_json(u_char *p, size_t len,
    ngx_palette_cert_fields_t *f);
ngx_int_t ngx_palette_cert_parse_csr(u_char *p, size_t len,
    ngx_palette_cert_csr_fields_t *c);
ngx_int_t ngx_palette_cert_parse_urlencoded(u_char *p, size_t len,
    ngx_palette_cert_fields_t *f);
ngx_int_t ngx_palette_cert_multipart_boundary(ngx_str_t *content_type,
    ngx_str_t *boundary);
ngx_int_t ngx_palette_cert_parse_multipart(u_char *p, size_t len,
    ngx_str_t *boundary, ngx_palette_cert_fields_t *f);
ngx_int_t ngx_palette_cert_pem_split(u_char *p, size_t len,
    ngx_palette_cert_pem_bundle_t *bundle);
ngx_uint_t ngx_palette_cert_id_valid(u_char *id, size_t len);
ngx_uint_t ngx_palette_cert_resource(u_char *p, size_t len, ngx_str_t *id);
ngx_int_t ngx_palette_cert_parse_list_query(u_char *p, size_t len,
    ngx_palette_cert_list_query_t *q);
ngx_int_t ngx_palette_cert_parse_action(u_char *p, size_t len,
    ngx_palette_cert_action_t *a);
time_t ngx_palette_cert_parse_rfc3339(u_char *p, size_t len);
time_t ngx_palette_cert_timegm(ngx_uint_t year, ngx_uint_t month,
    ngx_uint_t day, ngx_uint_t hour, ngx_uint_t min, ngx_uint_t sec);
ngx_int_t ngx_palette_cert_parse_sni(const u_char *p, size_t len,
    u_char *host, size_t *host_len);
ngx_uint_t ngx_palette_cert_wants_openmetrics(u_char *p, size_t len);
ngx_int_t ngx_palette_cert_host(const u_char *p, size_t n, u_char *host,
    size_t *host_len);


#endif /* _NGX_PALETTE_CERT_BODY_H_INCLUDED_ */
