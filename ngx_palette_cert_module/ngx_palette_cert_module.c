
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The module itself: its directives, their configuration, and the hand-over
 * to nginx's SSL contexts.  It owns no request or handshake path; it only
 * decides, at configuration time, which SSL contexts the zones feed, and
 * makes OpenSSL cleanse what it decrypts for servers of the admin endpoint.
 */


#include "ngx_palette_cert.h"
#include <ngx_http_ssl_module.h>


static void *ngx_palette_cert_create_main_conf(ngx_conf_t *cf);
static void *ngx_palette_cert_create_srv_conf(ngx_conf_t *cf);
static char *ngx_palette_cert_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void *ngx_palette_cert_create_loc_conf(ngx_conf_t *cf);
static char *ngx_palette_cert_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_palette_cert_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ssize_t ngx_palette_cert_zone_size(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name);
static ngx_int_t ngx_palette_cert_zone_params(ngx_conf_t *cf,
    ngx_palette_cert_zone_t *zone);
static ngx_int_t ngx_palette_cert_zone_param(ngx_conf_t *cf,
    ngx_palette_cert_zone_t *zone, ngx_str_t *param, ngx_uint_t *store);
static ngx_int_t ngx_palette_cert_zone_path(ngx_conf_t *cf,
    ngx_palette_cert_zone_t *zone, ngx_str_t *value);
static ngx_int_t ngx_palette_cert_zone_names(ngx_conf_t *cf,
    ngx_palette_cert_zone_t *zone, ngx_str_t *value);
static ngx_int_t ngx_palette_cert_zone_trust(ngx_conf_t *cf,
    ngx_palette_cert_zone_t *zone);
static ngx_int_t ngx_palette_cert_zone_store(ngx_conf_t *cf,
    ngx_palette_cert_main_conf_t *pmcf, ngx_palette_cert_zone_t *zone);
static ngx_uint_t ngx_palette_cert_str_eq(ngx_str_t *a, ngx_str_t *b);
static ngx_int_t ngx_palette_cert_add_path(ngx_conf_t *cf, ngx_str_t *name);
static char *ngx_palette_cert(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_palette_cert_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_palette_cert_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_palette_cert_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_palette_cert_srv_cleanup(void *data);
static void ngx_palette_cert_zone_cleanup(void *data);
static ngx_int_t ngx_palette_cert_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_palette_cert_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_palette_cert_postconfiguration(ngx_conf_t *cf);


static ngx_command_t  ngx_palette_cert_commands[] = {

    { ngx_string("palette_cert_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_palette_cert_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("palette_cert"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_palette_cert,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("palette_cert_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_palette_cert_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("palette_cert_watch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_palette_cert_watch,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("palette_cert_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_palette_cert_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_palette_cert_module_ctx = {
    ngx_palette_cert_metrics_preconf,      /* preconfiguration */
    ngx_palette_cert_postconfiguration,    /* postconfiguration */

    ngx_palette_cert_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_palette_cert_create_srv_conf,      /* create server configuration */
    ngx_palette_cert_merge_srv_conf,       /* merge server configuration */

    ngx_palette_cert_create_loc_conf,      /* create location configuration */
    ngx_palette_cert_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_palette_cert_module = {
    NGX_MODULE_V1,
    &ngx_palette_cert_module_ctx,          /* module context */
    ngx_palette_cert_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_palette_cert_init_module,          /* init module */
    ngx_palette_cert_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_palette_cert_create_main_conf(ngx_conf_t *cf)
{
    ngx_palette_cert_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_palette_cert_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->zones, cf->pool, 1,
                       sizeof(ngx_palette_cert_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&pmcf->servers, cf->pool, 4,
                       sizeof(ngx_palette_cert_srv_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return pmcf;
}


static void *
ngx_palette_cert_create_srv_conf(ngx_conf_t *cf)
{
    ngx_palette_cert_srv_conf_t  *pscf;

    pscf = ngx_pcalloc(cf->pool, sizeof(ngx_palette_cert_srv_conf_t));
    if (pscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     pscf->zone_name = { 0, NULL };
     *     pscf->zone = NULL;
     *     pscf->ssl_ctx = NULL;
     *     pscf->installed = 0;
     *     pscf->exclusive = 0;
     *     pscf->api = 0;
     */

    return pscf;
}


static char *
ngx_palette_cert_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_palette_cert_srv_conf_t *prev = parent;
    ngx_palette_cert_srv_conf_t *conf = child;

    ngx_pool_cleanup_t             *cln;
    ngx_http_ssl_srv_conf_t        *sscf;
    ngx_palette_cert_srv_conf_t   **pscfp;
    ngx_palette_cert_main_conf_t   *pmcf;

    /* the SSL module has merged this server already: it comes first */

    sscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_ssl_module);

    /*
     * The admin endpoint receives private keys: OpenSSL cleanses each
     * record it decrypted once nginx has read it, on every connection to
     * the server, from the request line on.  A connection that reached
     * the endpoint through another server's context gets it from the
     * handler, for what it still reads.
     */

    if (conf->api && sscf->ssl.ctx) {
        SSL_CTX_set_options(sscf->ssl.ctx, SSL_OP_CLEANSE_PLAINTEXT);
    }

    if (conf->zone_name.data == NULL) {
        conf->zone_name = prev->zone_name;
        conf->file = prev->file;
        conf->line = prev->line;
    }

    if (conf->zone_name.data) {
        conf->zone = ngx_palette_cert_find_zone(cf, &conf->zone_name);

        if (conf->zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"palette_cert\" refers to zone \"%V\" that is "
                          "not declared by \"palette_cert_zone\" in %s:%ui",
                          &conf->zone_name, conf->file, conf->line);
            return NGX_CONF_ERROR;
        }

        if (sscf->certificate_values) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"palette_cert\" cannot be combined with "
                          "\"ssl_certificate\" containing variables in "
                          "%s:%ui", conf->file, conf->line);
            return NGX_CONF_ERROR;
        }
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_palette_cert_module);

    if (sscf->ssl.ctx == NULL || pmcf->zones.nelts == 0) {
        return NGX_CONF_OK;
    }

    /*
     * Every server with an SSL context gets the session id context of
     * the module: the listening socket's default server is the one
     * whose context decides on resumption, whichever server the client
     * names.
     */

    conf->ssl_ctx = sscf->ssl.ctx;
    conf->zones = &pmcf->zones;

    if (ngx_palette_cert_session_base(conf, sscf->certificate_values
                                            ? sscf->certificates : NULL,
                                      cf->log)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_palette_cert_srv_cleanup;
    cln->data = conf;

    SSL_CTX_set_client_hello_cb(conf->ssl_ctx, ngx_palette_cert_client_hello,
                                conf);

    pscfp = ngx_array_push(&pmcf->servers);
    if (pscfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pscfp = conf;

    if (conf->zone == NULL) {
        return NGX_CONF_OK;
    }

    conf->exclusive = (sscf->certificates && sscf->certificates->nelts);

    SSL_CTX_set_cert_cb(conf->ssl_ctx, ngx_palette_cert_handshake, conf);

    pscfp = ngx_array_push(&conf->zone->servers);
    if (pscfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pscfp = conf;

    return NGX_CONF_OK;
}


/*
 * The zone's content, and whether the servers it feeds can use it: a
 * certificate that a server's TLS settings refuse (a reload that raised
 * the security level) fails the start or the reload, as a static
 * "ssl_certificate" would, and on a reload the running configuration
 * stays.  Later, that could only fail the workers' handshakes.
 */

static ngx_int_t
ngx_palette_cert_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_palette_cert_zone_t  *zone = shm_zone->data;

    if (ngx_palette_cert_init_zone(shm_zone, data) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_palette_cert_zone_usable(zone, zone->log);
}


static void
ngx_palette_cert_srv_cleanup(void *data)
{
    ngx_palette_cert_srv_conf_t  *pscf = data;

    ngx_palette_cert_served_free(pscf);
}


static void *
ngx_palette_cert_create_loc_conf(ngx_conf_t *cf)
{
    ngx_palette_cert_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_palette_cert_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    return plcf;
}


static char *
ngx_palette_cert_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_palette_cert_loc_conf_t *conf = child;

    /* the API location is not inherited by nested locations */

    if (conf->zone_name.data == NULL || conf->zone) {
        return NGX_CONF_OK;
    }

    conf->zone = ngx_palette_cert_find_zone(cf, &conf->zone_name);

    if (conf->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"palette_cert_api\" refers to zone \"%V\" that is "
                      "not declared by \"palette_cert_zone\" in %s:%ui",
                      &conf->zone_name, conf->file, conf->line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The module's configuration in a process that serves it (a worker, or
 * nginx run as a single process), for what such a process starts on its
 * own at init_process: NULL elsewhere, or when http is not configured.
 */

ngx_palette_cert_main_conf_t *
ngx_palette_cert_worker_conf(ngx_cycle_t *cycle)
{
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NULL;
    }

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NULL;
    }

    return ngx_http_cycle_get_module_main_conf(cycle, ngx_palette_cert_module);
}


ngx_palette_cert_zone_t *
ngx_palette_cert_find_zone(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_palette_cert_zone_t      **zones;
    ngx_palette_cert_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_palette_cert_module);

    zones = pmcf->zones.elts;

    for (i = 0; i < pmcf->zones.nelts; i++) {
        if (zones[i]->name.len == name->len
            && ngx_strncmp(zones[i]->name.data, name->data, name->len) == 0)
        {
            return zones[i];
        }
    }

    return NULL;
}


static char *
ngx_palette_cert_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_palette_cert_main_conf_t *pmcf = conf;

    ssize_t                    size;
    ngx_str_t                 *value, name;
    ngx_shm_zone_t            *shm_zone;
    ngx_pool_cleanup_t        *cln;
    ngx_palette_cert_zone_t   *zone, **zonep;

    value = cf->args->elts;

    size = ngx_palette_cert_zone_size(cf, &value[1], &name);
    if (size == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (ngx_palette_cert_find_zone(cf, &name)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\" in \"palette_cert_zone\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_palette_cert_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = name;
    zone->cycle = cf->cycle;
    zone->log = &cf->cycle->new_log;
    zone->lock = NGX_INVALID_FILE;
    zone->cache_max = NGX_CONF_UNSET_UINT;
    zone->expire_warn = NGX_CONF_UNSET;
    zone->history = NGX_CONF_UNSET_UINT;

#if (NGX_THREADS)
    zone->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (zone->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }
#endif

    ngx_palette_cert_cache_init(zone);

    if (ngx_array_init(&zone->names, cf->pool, 2, sizeof(ngx_str_t))
        != NGX_OK
        || ngx_array_init(&zone->servers, cf->pool, 2,
                          sizeof(ngx_palette_cert_srv_conf_t *))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_palette_cert_zone_params(cf, zone) != NGX_OK
        || ngx_palette_cert_zone_store(cf, pmcf, zone) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_palette_cert_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared memory zone \"%V\" of "
                           "\"palette_cert_zone\" is already in use", &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_palette_cert_zone_init;
    shm_zone->data = zone;
    zone->shm_zone = shm_zone;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_palette_cert_zone_cleanup;
    cln->data = zone;

    zonep = ngx_array_push(&pmcf->zones);
    if (zonep == NULL) {
        return NGX_CONF_ERROR;
    }

    *zonep = zone;

    return NGX_CONF_OK;
}


/* NAME:SIZE; the name is also a folder name under the prefix */

static ssize_t
ngx_palette_cert_zone_size(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *name)
{
    u_char    *p;
    ssize_t    size;
    ngx_str_t  s;

    p = (u_char *) ngx_strchr(value->data, ':');

    if (p == NULL || p == value->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"palette_cert_zone\", "
                           "expected NAME:SIZE", value);
        return NGX_ERROR;
    }

    name->data = value->data;
    name->len = p - value->data;

    for (p = name->data; p < name->data + name->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid zone name \"%V\" in "
                               "\"palette_cert_zone\", use letters, "
                               "digits, \"_\" and \"-\"", name);
            return NGX_ERROR;
        }
    }

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"palette_cert_zone\"",
                           value);
        return NGX_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" of \"palette_cert_zone\" is too "
                           "small, at least %uzk is needed",
                           name, 8 * ngx_pagesize / 1024);
        return NGX_ERROR;
    }

    return size;
}


/* the parameters after NAME:SIZE, and the defaults of those not given */

static ngx_int_t
ngx_palette_cert_zone_params(ngx_conf_t *cf, ngx_palette_cert_zone_t *zone)
{
    ngx_int_t    rc;
    ngx_str_t   *value;
    ngx_uint_t   i, store;

    value = cf->args->elts;
    store = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        rc = ngx_palette_cert_zone_param(cf, zone, &value[i], &store);

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in "
                               "\"palette_cert_zone\"", &value[i]);
            return NGX_ERROR;
        }

        if (rc == NGX_BUSY) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate parameter \"%V\" in "
                               "\"palette_cert_zone\"", &value[i]);
            return NGX_ERROR;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ngx_conf_init_uint_value(zone->history, NGX_PALETTE_CERT_HISTORY);
    ngx_conf_init_uint_value(zone->cache_max, NGX_PALETTE_CERT_CACHE);
    ngx_conf_init_value(zone->expire_warn, NGX_PALETTE_CERT_EXPIRE_WARN);

    return store ? NGX_OK : ngx_palette_cert_zone_path(cf, zone, NULL);
}


/*
 * One NAME=VALUE parameter: NGX_DECLINED when it is invalid, NGX_BUSY
 * when it was given before, NGX_ERROR when it was logged here.
 */

static ngx_int_t
ngx_palette_cert_zone_param(ngx_conf_t *cf, ngx_palette_cert_zone_t *zone,
    ngx_str_t *param, ngx_uint_t *store)
{
    ngx_int_t  n;
    ngx_str_t  s;

    s.data = (u_char *) ngx_strchr(param->data, '=');

    if (s.data == NULL || s.data + 1 == param->data + param->len) {
        return NGX_DECLINED;
    }

    s.data++;
    s.len = param->data + param->len - s.data;

    if (ngx_strncmp(param->data, "names=", 6) == 0) {

        if (zone->names.nelts) {
            return NGX_BUSY;
        }

        return ngx_palette_cert_zone_names(cf, zone, &s);
    }

    if (ngx_strncmp(param->data, "store=", 6) == 0) {

        if ((*store)++) {
            return NGX_BUSY;
        }

        return ngx_palette_cert_zone_path(cf, zone, &s);
    }

    if (ngx_strncmp(param->data, "trust=", 6) == 0) {

        if (zone->trust.data) {
            return NGX_BUSY;
        }

        zone->trust = s;

        return ngx_palette_cert_zone_trust(cf, zone);
    }

    if (ngx_strncmp(param->data, "cache=", 6) == 0) {

        if (zone->cache_max != NGX_CONF_UNSET_UINT) {
            return NGX_BUSY;
        }

        n = ngx_atoi(s.data, s.len);

        if (n == NGX_ERROR || n == 0) {
            return NGX_DECLINED;
        }

        zone->cache_max = n;

        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "expire_warn=", 12) == 0) {

        if (zone->expire_warn != NGX_CONF_UNSET) {
            return NGX_BUSY;
        }

        zone->expire_warn = ngx_parse_time(&s, 1);

        return (zone->expire_warn == (time_t) NGX_ERROR) ? NGX_DECLINED
                                                         : NGX_OK;
    }

    if (ngx_strncmp(param->data, "history=", 8) != 0) {
        return NGX_DECLINED;
    }

    if (zone->history != NGX_CONF_UNSET_UINT) {
        return NGX_BUSY;
    }

    n = ngx_atoi(s.data, s.len);

    if (n == NGX_ERROR || n > NGX_PALETTE_CERT_HISTORY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" in \"palette_cert_zone\": the "
                           "history keeps 0 to %d versions", param,
                           NGX_PALETTE_CERT_HISTORY_MAX);
        return NGX_ERROR;
    }

    zone->history = n;

    return NGX_OK;
}


/*
 * The store folder of store=PATH, "off", or, without store=,
 * palette_cert/NAME under the prefix; nginx creates the folders at start.
 * Paths are used as C strings: the terminating NUL is kept.
 */

static ngx_int_t
ngx_palette_cert_zone_path(ngx_conf_t *cf, ngx_palette_cert_zone_t *zone,
    ngx_str_t *value)
{
    ngx_str_t  s;

    if (value == NULL) {
        ngx_str_set(&s, "palette_cert");

        if (ngx_conf_full_name(cf->cycle, &s, 0) != NGX_OK
            || ngx_palette_cert_add_path(cf, &s) != NGX_OK)
        {
            return NGX_ERROR;
        }

        zone->store.len = s.len + 1 + zone->name.len;
        zone->store.data = ngx_pnalloc(cf->pool, zone->store.len + 1);
        if (zone->store.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(zone->store.data, "%V/%V%Z", &s, &zone->name);

        return ngx_palette_cert_add_path(cf, &zone->store);
    }

    if (value->len == 3 && ngx_strncmp(value->data, "off", 3) == 0) {
        return NGX_OK;
    }

    zone->store = *value;

    if (ngx_conf_full_name(cf->cycle, &zone->store, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    /* "dir/" and "dir" are one folder */

    while (zone->store.len > 1
           && zone->store.data[zone->store.len - 1] == '/')
    {
        zone->store.len--;
    }

    zone->store.data[zone->store.len] = '\0';

    return ngx_palette_cert_add_path(cf, &zone->store);
}


static ngx_int_t
ngx_palette_cert_zone_names(ngx_conf_t *cf, ngx_palette_cert_zone_t *zone,
    ngx_str_t *value)
{
    u_char     *p, *last, *start, c;
    ngx_str_t  *name;
    ngx_uint_t  ok;

    p = value->data;
    last = p + value->len;

    while (p <= last) {

        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        name = ngx_array_push(&zone->names);
        if (name == NULL) {
            return NGX_ERROR;
        }

        name->data = start;
        name->len = p - start;

        ok = (name->len > 0 && name->len <= 253);

        if (ok && !ngx_palette_cert_is_ip(name)) {

            /* a host name: letters, digits, hyphens and dots */

            for (start = name->data; ok && start < p; start++) {
                c = *start;
                ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '-' || c == '.';
            }

            ok = ok && name->data[0] != '.' && name->data[0] != '-';
        }

        if (!ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid name \"%V\" in \"names=\" of "
                               "\"palette_cert_zone\"", name);
            return NGX_ERROR;
        }

        p++;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_zone_trust(ngx_conf_t *cf, ngx_palette_cert_zone_t *zone)
{
    BIO        *bio;
    X509       *x;
    ngx_uint_t  n;

    if (ngx_conf_full_name(cf->cycle, &zone->trust, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the file is read again for every upload; here it is only checked */

    bio = BIO_new_file((char *) zone->trust.data, "r");
    if (bio == NULL) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "cannot read \"trust=%V\" of \"palette_cert_zone\"",
                      &zone->trust);
        return NGX_ERROR;
    }

    n = 0;

    for ( ;; ) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            break;
        }

        if (X509_check_ca(x)) {
            n++;
        }

        X509_free(x);
    }

    ERR_clear_error();
    BIO_free(bio);

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"trust=%V\" of \"palette_cert_zone\" holds no "
                           "CA certificate", &zone->trust);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Each zone owns its store folder: two zones writing one folder would
 * prune each other's generations, and after a restart one would serve
 * the other's key.  A folder inside another's would be taken for damage.
 */

static ngx_int_t
ngx_palette_cert_zone_store(ngx_conf_t *cf,
    ngx_palette_cert_main_conf_t *pmcf, ngx_palette_cert_zone_t *zone)
{
    ngx_str_t                 *s, *l;
    ngx_uint_t                 i;
    ngx_palette_cert_zone_t  **zones;

    if (zone->store.len == 0) {
        return NGX_OK;
    }

    zones = pmcf->zones.elts;

    for (i = 0; i < pmcf->zones.nelts; i++) {

        if (zones[i]->store.len == 0) {
            continue;
        }

        if (zones[i]->store.len == zone->store.len
            && ngx_strncmp(zones[i]->store.data, zone->store.data,
                           zone->store.len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "zone \"%V\" of \"palette_cert_zone\" uses "
                               "the store \"%V\" of zone \"%V\"",
                               &zone->name, &zone->store, &zones[i]->name);
            return NGX_ERROR;
        }

        if (zones[i]->store.len < zone->store.len) {
            s = &zones[i]->store;
            l = &zone->store;

        } else {
            s = &zone->store;
            l = &zones[i]->store;
        }

        if (ngx_strncmp(s->data, l->data, s->len) == 0
            && (s->len == 1 || l->data[s->len] == '/'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the store \"%V\" of zone \"%V\" of "
                               "\"palette_cert_zone\" and the store \"%V\" "
                               "of zone \"%V\" are nested",
                               &zone->store, &zone->name, &zones[i]->store,
                               &zones[i]->name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A reload compares each zone with the running one of the same name, as
 * limit_req compares its key, and says what takes effect when: store=
 * at the next restart (until then the zone keeps the folder it was read
 * from, or none), names= at once for what is checked and at the next
 * restart for the self-signed default, the rest at once.
 */

ngx_int_t
ngx_palette_cert_zone_reloaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone)
{
    u_char     *p;
    ngx_str_t   off, none, *os, *ns, *names, *onames;
    ngx_uint_t  i, same;

    ngx_str_set(&off, "off");
    ngx_str_set(&none, "none");

    if (!ngx_palette_cert_str_eq(&zone->store, &ozone->store)) {
        os = ozone->store.len ? &ozone->store : &off;
        ns = zone->store.len ? &zone->store : &off;

        ngx_log_error(NGX_LOG_WARN, zone->log, 0,
                      "palette_cert zone \"%V\": \"store=\" changes from "
                      "\"%V\" to \"%V\" at the next restart, until then "
                      "it stays \"%V\"", &zone->name, os, ns, os);

        p = ngx_pnalloc(zone->cycle->pool, ozone->store.len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ozone->store.data, ozone->store.len);
        p[ozone->store.len] = '\0';

        zone->store.data = p;
        zone->store.len = ozone->store.len;
    }

    names = zone->names.elts;
    onames = ozone->names.elts;
    same = (zone->names.nelts == ozone->names.nelts);

    for (i = 0; same && i < zone->names.nelts; i++) {
        same = ngx_palette_cert_str_eq(&names[i], &onames[i]);
    }

    if (!same) {
        ngx_log_error(NGX_LOG_WARN, zone->log, 0,
                      "palette_cert zone \"%V\": \"names=\" changed: uploads "
                      "are checked against the new names now, the "
                      "self-signed default is made for them at the next "
                      "restart", &zone->name);
    }

    if (!ngx_palette_cert_str_eq(&zone->trust, &ozone->trust)) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": \"trust=\" changes from "
                      "\"%V\" to \"%V\" now", &zone->name,
                      ozone->trust.len ? &ozone->trust : &none,
                      zone->trust.len ? &zone->trust : &none);
    }

    if (zone->history != ozone->history) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": \"history=\" changes from "
                      "%ui to %ui now, for each certificate at its next "
                      "change", &zone->name, ozone->history, zone->history);
    }

    if (zone->cache_max != ozone->cache_max) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": \"cache=\" changes from "
                      "%ui to %ui now", &zone->name, ozone->cache_max,
                      zone->cache_max);
    }

    if (zone->expire_warn != ozone->expire_warn) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": \"expire_warn=\" changes "
                      "from %Ts to %Ts now", &zone->name, ozone->expire_warn,
                      zone->expire_warn);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_palette_cert_str_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len
           && (a->len == 0 || ngx_memcmp(a->data, b->data, a->len) == 0);
}


static ngx_int_t
ngx_palette_cert_add_path(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_path_t  *path;

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_ERROR;
    }

    path->name = *name;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    /* nginx creates the folder at start, owned by the worker user */

    return ngx_add_path(cf, &path);
}


static char *
ngx_palette_cert(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_palette_cert_srv_conf_t *pscf = conf;

    ngx_str_t                *value;
    ngx_http_ssl_srv_conf_t  *sscf;

    if (pscf->zone_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    pscf->zone_name = value[1];
    pscf->file = cf->conf_file->file.name.data;
    pscf->line = cf->conf_file->line;

    /*
     * Without certificates, the SSL module neither creates the server's
     * SSL context nor accepts "listen ... ssl".  An empty list satisfies
     * both, keeps an "ssl_certificate" of an outer level from being
     * inherited, and still takes an "ssl_certificate" given at this level.
     */

    sscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_ssl_module);

    if (sscf->certificates == NGX_CONF_UNSET_PTR) {
        sscf->certificates = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (sscf->certificates == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (sscf->certificate_keys == NGX_CONF_UNSET_PTR) {
        sscf->certificate_keys = ngx_array_create(cf->pool, 1,
                                                  sizeof(ngx_str_t));
        if (sscf->certificate_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_palette_cert_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_palette_cert_loc_conf_t *plcf = conf;

    ngx_str_t                    *value;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_palette_cert_srv_conf_t  *pscf;

    if (plcf->zone_name.data) {
        return "is duplicate";
    }

    if (plcf->metrics) {
        return "cannot be used in a location of \"palette_cert_metrics\"";
    }

    value = cf->args->elts;

    plcf->zone_name = value[1];
    plcf->file = cf->conf_file->file.name.data;
    plcf->line = cf->conf_file->line;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_palette_cert_api_handler;

#if (NGX_THREADS)

    /* a change's validation and store writes run in nginx's default pool */

    plcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (plcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

#endif

    /* its connections carry keys: see ngx_palette_cert_merge_srv_conf() */

    pscf = ngx_http_conf_get_module_srv_conf(cf, ngx_palette_cert_module);
    pscf->api = 1;

    return NGX_CONF_OK;
}


static char *
ngx_palette_cert_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_palette_cert_loc_conf_t *plcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->metrics) {
        return "is duplicate";
    }

    if (plcf->zone_name.data) {
        return "cannot be used in a location of \"palette_cert_api\"";
    }

    plcf->metrics = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_palette_cert_metrics_handler;

    return NGX_CONF_OK;
}


static void
ngx_palette_cert_zone_cleanup(void *data)
{
    ngx_palette_cert_zone_t  *zone = data;

    /* a reload that failed: the running zone goes on taking changes */

    ngx_palette_cert_zone_retire(zone, 0);

    ngx_palette_cert_parsed_free(&zone->current);
    ngx_palette_cert_cache_free(zone);
}


/*
 * Runs in the master once the zones are set up, before workers are
 * started: every SSL context fed by a zone gets the zone's current
 * certificate, so that the first handshake of a new worker has nothing
 * to do, and every SSL context its session id context.  Failing here
 * would stop the master on a reload: what can fail is checked when the
 * zone is set up.
 */

static ngx_int_t
ngx_palette_cert_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_palette_cert_zone_t      **zones;
    ngx_palette_cert_srv_conf_t  **servers;
    ngx_palette_cert_main_conf_t  *pmcf;

    if (ngx_test_config || cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_palette_cert_module);
    if (pmcf == NULL) {
        return NGX_OK;
    }

    ngx_palette_cert_remember = pmcf->remember;

    if (pmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    zones = pmcf->zones.elts;

    /*
     * The configuration is used from now on: zones it carried over from
     * the running one (a reload that changed their size) stop taking
     * changes there.
     */

    for (i = 0; i < pmcf->zones.nelts; i++) {
        ngx_palette_cert_zone_retire(zones[i], 1);
    }

    ngx_palette_cert_placeholders(cycle->log);

    /* the watched folders, checked before anything is served */

    for (i = 0; i < pmcf->zones.nelts; i++) {
        if (ngx_palette_cert_watch_init(cycle, zones[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    /* a failure to read a zone is logged and left to the handshakes */

    for (i = 0; i < pmcf->zones.nelts; i++) {
        (void) ngx_palette_cert_refresh(zones[i], cycle->log);
    }

    servers = pmcf->servers.elts;

    for (i = 0; i < pmcf->servers.nelts; i++) {
        ngx_palette_cert_session_update(servers[i], cycle->log);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_init_process(ngx_cycle_t *cycle)
{
    if (ngx_palette_cert_staged_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_watch_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_palette_cert_expire_init(cycle);
}


static ngx_int_t
ngx_palette_cert_postconfiguration(ngx_conf_t *cf)
{
    ngx_palette_cert_variables_used(cf);

    return ngx_palette_cert_api_init_filters(cf);
}
