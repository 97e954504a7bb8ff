
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The zone's shared memory: the current record and the self-signed
 * default, each one allocation from the slab pool, replaced as a whole
 * under the pool's lock.  The generation is published last, so a reader
 * that sees it can take the record it names.  Memory that held a private
 * key is cleansed before it is given back, also when the process that
 * allocated it died before it was made current.
 *
 * A reload that changes the zone's size copies the record into the new
 * zone while the old workers still run: the master takes the old zone's
 * update lock for the copy and keeps it until the new configuration is
 * used, then marks the old zone retired, so that no change is applied
 * where the new workers would not see it.
 */


#include "ngx_palette_cert.h"


static ngx_int_t ngx_palette_cert_zone_load(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone);
static ngx_palette_cert_zone_t *ngx_palette_cert_running_zone(
    ngx_palette_cert_zone_t *zone);
static ngx_int_t ngx_palette_cert_zone_inherit(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone);
static ngx_int_t ngx_palette_cert_zone_current(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *cur, ngx_uint_t renewed, ngx_uint_t *last);
static ngx_int_t ngx_palette_cert_zone_default(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_uint_t *renewed);
static ngx_int_t ngx_palette_cert_pem_usable(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, const char *which);
static void ngx_palette_cert_zone_hold(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone);
static ngx_uint_t ngx_palette_cert_first_generation(void);
static ngx_int_t ngx_palette_cert_zone_named(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_palette_cert_pem_t *pem);
static ngx_int_t ngx_palette_cert_inherit_named(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone);
static ngx_int_t ngx_palette_cert_change_alloc(ngx_palette_cert_change_t *ch,
    ngx_uint_t remove);
static ngx_uint_t ngx_palette_cert_change_pending(
    ngx_palette_cert_change_t *ch);
static ngx_int_t ngx_palette_cert_change_publish(
    ngx_palette_cert_change_t *ch);
static void ngx_palette_cert_change_discard(ngx_palette_cert_change_t *ch);


/* a change being written to the store ends in milliseconds */
#define NGX_PALETTE_CERT_LOCK_WAIT  5000


ngx_int_t
ngx_palette_cert_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_palette_cert_zone_t  *ozone = data;

    size_t                    len;
    ngx_int_t                 rc;
    ngx_palette_cert_sh_t    *sh;
    ngx_palette_cert_zone_t  *zone, *oz;

    zone = shm_zone->data;

    /* a reload: with another size, the running zone is not passed */

    oz = ozone ? ozone : ngx_palette_cert_running_zone(zone);

    if (oz && ngx_palette_cert_zone_reloaded(zone, oz) != NGX_OK) {
        return NGX_ERROR;
    }

    if (zone->store.len && !ngx_test_config) {
        (void) ngx_palette_cert_store_lock_init(zone, zone->log);
    }

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(zone->shpool, sizeof(ngx_palette_cert_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sh, sizeof(ngx_palette_cert_sh_t));
    ngx_queue_init(&sh->records);
    ngx_palette_cert_named_init(sh);

    zone->sh = sh;
    zone->shpool->data = sh;

    len = sizeof(" in palette_cert zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in palette_cert zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is answered with 507, not logged */

    zone->shpool->log_nomem = 0;

    /*
     * No change of another nginx (the old one of a binary upgrade) is
     * half-written while the store is read.
     */

    if (zone->store.len && !ngx_test_config
        && ngx_palette_cert_store_lock(zone, NGX_PALETTE_CERT_LOCK_WAIT,
                                      zone->log)
           == NGX_BUSY)
    {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\": the store \"%V\" stayed "
                      "locked, it is read all the same", &zone->name,
                      &zone->store);
    }

    rc = ngx_palette_cert_zone_load(zone, oz);

    /* what the certificates keep aside: pending keys, staged versions */

    if (rc == NGX_OK && zone->store.len && !ngx_test_config) {
        rc = ngx_palette_cert_csr_load(zone);

        if (rc == NGX_OK) {
            rc = ngx_palette_cert_staged_load(zone);
        }
    }

    if (zone->store.len && !ngx_test_config) {
        ngx_palette_cert_store_unlock(zone);
    }

    return rc;
}


/*
 * A new zone starts from, in this order: the zone of the same name in
 * the running configuration (a reload that changed the size), the store,
 * or a new self-signed certificate.
 */

static ngx_int_t
ngx_palette_cert_zone_load(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone)
{
    ngx_int_t                   rc;
    ngx_uint_t                  last, renewed;
    ngx_palette_cert_pem_t      def, cur;
    ngx_palette_cert_record_t  *rec;

    rc = ngx_palette_cert_zone_inherit(zone, ozone);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_memzero(&def, sizeof(ngx_palette_cert_pem_t));
    ngx_memzero(&cur, sizeof(ngx_palette_cert_pem_t));

    if (zone->store.len && !ngx_test_config) {
        ngx_palette_cert_store_clean(zone, zone->log);
    }

    rc = ngx_palette_cert_zone_default(zone, &def, &renewed);

    if (rc == NGX_DECLINED) {
        /* "nginx -t": nothing is generated or written */
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    zone->sh->self_signed = ngx_palette_cert_record_alloc(zone, &def);
    if (zone->sh->self_signed == NULL) {
        goto nomem;
    }

    rc = ngx_palette_cert_zone_current(zone, &cur, renewed, &last);

    if (rc != NGX_OK) {

        /* nothing uploaded yet, or a damaged store: the default */

        cur = def;
        ngx_memzero(&def, sizeof(ngx_palette_cert_pem_t));

        cur.source = NGX_PALETTE_CERT_SELF_SIGNED;
        cur.generation = zone->store.len
                         ? last + 1 : ngx_palette_cert_first_generation();

        if (zone->store.len && !ngx_test_config
            && ngx_palette_cert_store_save(zone, &cur, zone->log) != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                          "palette_cert zone \"%V\": generation %ui cannot "
                          "be stored in \"%V\", it is kept in memory only",
                          &zone->name, cur.generation, &zone->store);
        }
    }

    rec = ngx_palette_cert_record_alloc(zone, &cur);
    if (rec == NULL) {
        goto nomem;
    }

    ngx_palette_cert_publish(zone, rec);

    ngx_palette_cert_pem_free(&cur);
    ngx_palette_cert_pem_free(&def);

    if (zone->store.len) {
        if (ngx_palette_cert_store_load_named(zone,
                                              ngx_palette_cert_zone_named,
                                              zone->log)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* a deletion, the last change, left no generation folder */

        last = ngx_palette_cert_store_named_last(zone, zone->log);

        if (last > zone->sh->zone_generation) {
            zone->sh->zone_generation = last;
        }
    }

    return NGX_OK;

nomem:

    ngx_log_error(NGX_LOG_EMERG, zone->log, 0,
                  "palette_cert zone \"%V\" is too small for its "
                  "certificate", &zone->name);

    ngx_palette_cert_pem_free(&cur);
    ngx_palette_cert_pem_free(&def);

    return NGX_ERROR;
}


/*
 * What the store serves: NGX_DECLINED when it holds nothing usable (or
 * the default it served was replaced by a new one); *last is its
 * generation all the same.
 */

static ngx_int_t
ngx_palette_cert_zone_current(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *cur, ngx_uint_t renewed, ngx_uint_t *last)
{
    ngx_int_t  rc;

    *last = 0;

    if (zone->store.len == 0) {
        return NGX_DECLINED;
    }

    rc = ngx_palette_cert_store_load(zone, "current", cur, zone->log);

    /* the generation is known even when the files are damaged */

    *last = cur->generation;

    if (rc == NGX_ERROR && *last) {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\": generation %ui in "
                      "\"%V\" cannot be used, the self-signed "
                      "certificate is served", &zone->name, *last,
                      &zone->store);
    }

    if (rc == NGX_OK
        && ngx_palette_cert_pem_usable(zone, cur, "current") != NGX_OK)
    {
        ngx_palette_cert_pem_free(cur);
        rc = NGX_ERROR;
    }

    /* the default served until now was replaced by a new one */

    if (rc == NGX_OK && renewed && cur->source == NGX_PALETTE_CERT_SELF_SIGNED)
    {
        ngx_palette_cert_pem_free(cur);
        rc = NGX_DECLINED;
    }

    return rc;
}


/*
 * The zone of the same name in the running configuration, while a reload
 * makes the new one: ngx_cycle is still the running cycle.
 */

static ngx_palette_cert_zone_t *
ngx_palette_cert_running_zone(ngx_palette_cert_zone_t *zone)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *shm_zone;

    if (ngx_cycle == NULL || ngx_cycle->shared_memory.part.elts == NULL) {
        return NULL;
    }

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    shm_zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            shm_zone = part->elts;
            i = 0;
        }

        if (shm_zone[i].tag == &ngx_palette_cert_module
            && shm_zone[i].shm.name.len == zone->name.len
            && ngx_strncmp(shm_zone[i].shm.name.data, zone->name.data,
                           zone->name.len)
               == 0)
        {
            return shm_zone[i].data;
        }
    }
}


static ngx_int_t
ngx_palette_cert_zone_inherit(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone)
{
    ngx_int_t                   rc;
    ngx_palette_cert_pem_t      def, cur;
    ngx_palette_cert_record_t  *rec;

    if (ozone == NULL || ozone->sh == NULL || ozone->sh->self_signed == NULL)
    {
        return NGX_DECLINED;
    }

    ngx_palette_cert_zone_hold(zone, ozone);

    ngx_shmtx_lock(&ozone->shpool->mutex);

    rc = ngx_palette_cert_record_copy(ozone->sh->self_signed, &def);

    if (rc == NGX_OK) {
        rec = ngx_palette_cert_current_record(ozone);
        rc = (rec == NULL) ? NGX_DECLINED
                           : ngx_palette_cert_record_copy(rec, &cur);

        if (rc != NGX_OK) {
            ngx_palette_cert_pem_free(&def);
        }
    }

    ngx_shmtx_unlock(&ozone->shpool->mutex);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = NGX_OK;

    zone->sh->self_signed = ngx_palette_cert_record_alloc(zone, &def);
    rec = ngx_palette_cert_record_alloc(zone, &cur);

    if (zone->sh->self_signed == NULL || rec == NULL) {
        ngx_log_error(NGX_LOG_EMERG, zone->log, 0,
                      "palette_cert zone \"%V\" is too small for its "
                      "certificate", &zone->name);
        rc = NGX_ERROR;

    } else {
        ngx_palette_cert_publish(zone, rec);
        ngx_palette_cert_stats_inherit(zone->sh, ozone->sh);
        rc = ngx_palette_cert_inherit_named(zone, ozone);
    }

    ngx_palette_cert_pem_free(&def);
    ngx_palette_cert_pem_free(&cur);

    return rc;
}


/* the running zone's named certificates, copied as they are */

static ngx_int_t
ngx_palette_cert_inherit_named(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone)
{
    ngx_int_t                  rc;
    ngx_str_t                  none, id;
    ngx_palette_cert_named_t  *o, *e;

    rc = NGX_OK;
    ngx_str_null(&none);

    ngx_shmtx_lock(&ozone->shpool->mutex);

    for (o = ngx_palette_cert_named_after(ozone, &none);
         o;
         o = ngx_palette_cert_named_next(ozone, o))
    {
        e = ngx_palette_cert_named_dup(zone, o);

        id.data = o->id;
        id.len = o->id_len;

        if (e == NULL
            || ngx_palette_cert_named_publish(zone, &id, e, e->generation)
               != NGX_OK)
        {
            if (e) {
                ngx_palette_cert_named_free(zone, e);
            }

            ngx_log_error(NGX_LOG_EMERG, zone->log, 0,
                          "palette_cert zone \"%V\" is too small for its "
                          "%ui named certificates", &zone->name,
                          ozone->sh->named_n);
            rc = NGX_ERROR;
            break;
        }
    }

    zone->sh->zone_generation = ngx_max(zone->sh->zone_generation,
                                        ozone->sh->zone_generation);
    zone->sh->reserved = ngx_max(zone->sh->reserved, ozone->sh->reserved);

    ngx_shmtx_unlock(&ozone->shpool->mutex);

    return rc;
}


/*
 * A named certificate of the store: what it is served for is read from
 * its meta file, or else from the certificate itself.
 */

static ngx_int_t
ngx_palette_cert_zone_named(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_pem_t *pem)
{
    u_char                     buf[NGX_PALETTE_CERT_META_BUF];
    ngx_int_t                  rc;
    ngx_palette_cert_meta_t    m;
    ngx_palette_cert_named_t  *e;
    ngx_palette_cert_parsed_t  parsed;

    rc = NGX_DECLINED;

    if (pem->meta.len) {
        rc = ngx_palette_cert_meta_parse(&pem->meta, &m, buf, sizeof(buf));
    }

    if (rc == NGX_DECLINED) {
        if (ngx_palette_cert_parse_pem(pem, &parsed, zone->log) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                          "palette_cert zone \"%V\": the certificate \"%V\" "
                          "in the store cannot be parsed, it is not served",
                          &zone->name, id);
            return NGX_OK;
        }

        rc = ngx_palette_cert_meta(parsed.leaf, parsed.key, &m, buf,
                                   sizeof(buf));

        ngx_palette_cert_parsed_free(&parsed);

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                          "palette_cert zone \"%V\": the certificate \"%V\" "
                          "in the store names no host or address, it is not "
                          "served", &zone->name, id);
            return NGX_OK;
        }
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    e = ngx_palette_cert_named_alloc(zone, id, &m, pem);

    if (e == NULL
        || ngx_palette_cert_named_publish(zone, id, e, e->generation)
           != NGX_OK)
    {
        if (e) {
            ngx_palette_cert_named_free(zone, e);
        }

        ngx_log_error(NGX_LOG_EMERG, zone->log, 0,
                      "palette_cert zone \"%V\" is too small for the named "
                      "certificates of its store (%ui fit)", &zone->name,
                      zone->sh->named_n);
        rc = NGX_ERROR;
    }

    if (zone->sh->reserved < pem->generation) {
        zone->sh->reserved = pem->generation;
    }

    ngx_free(m.names);

    return rc;
}


/*
 * Takes the running zone's update lock, so that no change is applied there
 * from the copy on; a worker holds it only while it applies one.
 */

static void
ngx_palette_cert_zone_hold(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone)
{
    ngx_msec_t  waited;

    for (waited = 0; waited < NGX_PALETTE_CERT_LOCK_WAIT; waited += 10) {

        if (ngx_palette_cert_update_trylock(ozone) == NGX_OK) {
            zone->retire = ozone->sh;
            return;
        }

        ngx_msleep(10);
    }

    ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                  "palette_cert zone \"%V\": a change still being applied "
                  "is not waited for", &zone->name);

    /* retired all the same once the configuration is used */

    zone->retire = ozone->sh;
}


/*
 * Once the new configuration is used (retire), or given up (not), the
 * zone held for the copy is let go.
 */

void
ngx_palette_cert_zone_retire(ngx_palette_cert_zone_t *zone, ngx_uint_t retire)
{
    ngx_palette_cert_sh_t  *osh;

    osh = zone->retire;

    if (osh == NULL) {
        return;
    }

    zone->retire = NULL;

    if (retire) {
        osh->retired = 1;
        ngx_memory_barrier();
    }

    /* the lock is left as it is when another process holds it */

    (void) ngx_atomic_cmp_set(&osh->update, ngx_pid, 0);
}


/*
 * The self-signed default: from the store, or made now when the store has
 * none, a damaged one, or one for other names than the zone's.
 */

static ngx_int_t
ngx_palette_cert_zone_default(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_uint_t *renewed)
{
    ngx_int_t  rc;

    rc = NGX_DECLINED;
    *renewed = 0;

    if (zone->store.len) {
        rc = ngx_palette_cert_store_load(zone, "self-signed", pem, zone->log);

        if (rc == NGX_OK
            && ngx_palette_cert_pem_usable(zone, pem, "self-signed")
               != NGX_OK)
        {
            ngx_palette_cert_pem_free(pem);
            rc = NGX_ERROR;
        }

        if (rc == NGX_OK) {
            pem->source = NGX_PALETTE_CERT_SELF_SIGNED;

            if (ngx_test_config
                || ngx_palette_cert_self_signed_matches(zone, pem))
            {
                return NGX_OK;
            }

            ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                          "palette_cert zone \"%V\": the names changed, "
                          "a new self-signed certificate is made",
                          &zone->name);

            ngx_palette_cert_pem_free(pem);
        }
    }

    if (ngx_test_config) {
        return NGX_DECLINED;
    }

    if (ngx_palette_cert_self_signed(zone, pem, zone->log) != NGX_OK) {
        return NGX_ERROR;
    }

    *renewed = 1;

    if (zone->store.len
        && ngx_palette_cert_store_save_default(zone, pem, zone->log)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\": the self-signed "
                      "certificate cannot be stored in \"%V\", it is kept "
                      "in memory only", &zone->name, &zone->store);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_pem_usable(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, const char *which)
{
    ngx_palette_cert_parsed_t  parsed;

    if (ngx_palette_cert_parse_pem(pem, &parsed, zone->log) != NGX_OK) {

        if (pem->generation) {
            ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                          "palette_cert zone \"%V\": \"%V/gen-%ui\" cannot "
                          "be used: its certificate.pem and key.pem do not "
                          "parse or do not belong together",
                          &zone->name, &zone->store, pem->generation);

        } else {
            ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                          "palette_cert zone \"%V\": \"%V/%s\" cannot be "
                          "used: its certificate.pem and key.pem do not "
                          "parse or do not belong together",
                          &zone->name, &zone->store, which);
        }

        return NGX_ERROR;
    }

    ngx_palette_cert_parsed_free(&parsed);

    return NGX_OK;
}


/*
 * Without a store nothing tells a new zone which generations an earlier
 * run of nginx answered with.  Starting from the time, in milliseconds,
 * puts every generation of this run above them: a run makes far fewer
 * changes than milliseconds pass.  Where ngx_uint_t has 32 bits, seconds.
 */

static ngx_uint_t
ngx_palette_cert_first_generation(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

#if (NGX_PTR_SIZE == 4)
    return (ngx_uint_t) tp->sec;
#else
    return (ngx_uint_t) tp->sec * 1000 + tp->msec;
#endif
}


ngx_palette_cert_record_t *
ngx_palette_cert_record_alloc(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem)
{
    u_char                     *p;
    size_t                      size;
    ngx_palette_cert_record_t  *rec;

    size = offsetof(ngx_palette_cert_record_t, data)
           + pem->cert.len + pem->key.len + pem->ca.len;

    rec = ngx_slab_alloc_locked(zone->shpool, size);
    if (rec == NULL) {
        return NULL;
    }

    rec->generation = pem->generation;
    rec->source = pem->source;
    rec->cert_len = pem->cert.len;
    rec->key_len = pem->key.len;
    rec->ca_len = pem->ca.len;
    rec->has_ca = pem->has_ca;

    p = ngx_cpymem(rec->data, pem->cert.data, pem->cert.len);
    p = ngx_cpymem(p, pem->key.data, pem->key.len);
    ngx_memcpy(p, pem->ca.data, pem->ca.len);

    return rec;
}


void
ngx_palette_cert_record_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_record_t *rec)
{
    /* the key, and its neighbours with it: nothing is left to be found */

    ngx_explicit_memzero(rec, offsetof(ngx_palette_cert_record_t, data)
                              + rec->cert_len + rec->key_len + rec->ca_len);
    ngx_slab_free_locked(zone->shpool, rec);
}


ngx_palette_cert_record_t *
ngx_palette_cert_current_record(ngx_palette_cert_zone_t *zone)
{
    if (zone->sh == NULL || ngx_queue_empty(&zone->sh->records)) {
        return NULL;
    }

    return ngx_queue_data(ngx_queue_head(&zone->sh->records),
                          ngx_palette_cert_record_t, queue);
}


/* the caller holds the lock, or is the only process (zone set-up) */

void
ngx_palette_cert_publish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_record_t *rec)
{
    ngx_palette_cert_record_t  *old;

    old = ngx_palette_cert_current_record(zone);

    if (old) {
        ngx_queue_remove(&old->queue);
        ngx_palette_cert_record_free(zone, old);
    }

    ngx_queue_insert_head(&zone->sh->records, &rec->queue);

    ngx_memory_barrier();

    zone->sh->generation = rec->generation;

    if (rec->generation > zone->sh->zone_generation) {
        zone->sh->zone_generation = rec->generation;
    }
}


/* copies a record out of shared memory; the caller holds the lock */

ngx_int_t
ngx_palette_cert_record_copy(ngx_palette_cert_record_t *rec,
    ngx_palette_cert_pem_t *pem)
{
    u_char  *p;

    if (ngx_palette_cert_pem_alloc(pem, rec->cert_len, rec->key_len,
                                   rec->ca_len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = rec->data;

    ngx_memcpy(pem->cert.data, p, rec->cert_len);
    pem->cert.len = rec->cert_len;
    p += rec->cert_len;

    ngx_memcpy(pem->key.data, p, rec->key_len);
    pem->key.len = rec->key_len;
    p += rec->key_len;

    ngx_memcpy(pem->ca.data, p, rec->ca_len);
    pem->ca.len = rec->ca_len;

    pem->has_ca = rec->has_ca;
    pem->source = rec->source;
    pem->generation = rec->generation;

    return NGX_OK;
}


/*
 * Changes are applied one at a time.  The lock holds the pid of the
 * process applying one and the time it began; both are read and written
 * under the pool's lock.  Nobody waits for it: a request that finds it
 * taken tries again a moment later, so that a worker goes on serving its
 * connections meanwhile.
 *
 * A process that died holding it (killed while writing the store) does
 * not keep it, nor the record its change allocated: whoever takes the lock
 * over frees that record, and cleanses the key it holds.  A holder whose
 * pid answers but that has held the lock far longer than any change takes
 * is gone too: its pid was given to another process.  The master, which
 * holds the lock of the running zone across a reload that copies it, is
 * never taken to be gone.
 */

ngx_int_t
ngx_palette_cert_update_trylock(ngx_palette_cert_zone_t *zone)
{
    time_t                  now;
    ngx_err_t               err;
    ngx_pid_t               pid;
    ngx_palette_cert_sh_t  *sh;

    sh = zone->sh;
    now = ngx_time();
    err = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    pid = (ngx_pid_t) sh->update;

    if (pid == 0) {
        goto take;
    }

    /* this very process, while one of its threads writes the store */

    if (pid == ngx_pid && zone->storing) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_BUSY;
    }

    /*
     * Gone: no such process, or one that is not a worker of this nginx
     * (workers share a user), or else this very process, which took the
     * pid of a dead holder and holds nothing, since it gives the lock back
     * before it serves anything else.
     */

    if (pid == ngx_pid) {
        err = NGX_ESRCH;

    } else if (pid == ngx_getppid()) {

        /*
         * The master, holding the zone while a reload copies it: workers
         * that run as another user cannot signal it (EPERM), and must not
         * take it for gone.
         */

        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_BUSY;

    } else if (kill(pid, 0) == -1) {
        err = ngx_errno;
    }

    if (err == NGX_ESRCH || err == NGX_EPERM) {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\" was being changed by %P, "
                      "which is gone", &zone->name, pid);

    } else if (err == 0
               && sh->update_start != 0
               && now - sh->update_start > NGX_PALETTE_CERT_UPDATE_STALE)
    {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\" was being changed by %P "
                      "for %T seconds, longer than any change takes: the "
                      "process is taken to be gone, its pid reused",
                      &zone->name, pid, now - sh->update_start);

    } else {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_BUSY;
    }

    if (sh->pending) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": the change %P left "
                      "unfinished is discarded", &zone->name, pid);

        ngx_palette_cert_record_free(zone, sh->pending);
        sh->pending = NULL;
    }

    if (sh->pending_aside) {
        ngx_palette_cert_aside_free(zone, sh->pending_aside);
        sh->pending_aside = NULL;
    }

    if (sh->pending_named) {
        ngx_log_error(NGX_LOG_NOTICE, zone->log, 0,
                      "palette_cert zone \"%V\": the change %P left "
                      "unfinished is discarded", &zone->name, pid);

        ngx_palette_cert_named_free(zone, sh->pending_named);
        sh->pending_named = NULL;

    } else {

        /*
         * The generation it took is given again: a default that the store
         * holds under it is found there (ngx_palette_cert_store_last());
         * only a named certificate's, which may be in the store under its
         * id, keeps its generation from being given to another.
         */

        sh->reserved = 0;
    }

take:

    sh->update_start = now;
    sh->update = ngx_pid;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


void
ngx_palette_cert_update_unlock(ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_sh_t  *sh;

    sh = zone->sh;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (sh->update == (ngx_atomic_uint_t) ngx_pid) {
        sh->update = 0;
        sh->update_start = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * The record or entry of a change, from its allocation until it is made
 * current or given back, is the lock holder's: it is known to the zone as
 * pending from the moment it is allocated, under the same lock.  A named
 * certificate's deletion has no entry.
 */

static ngx_int_t
ngx_palette_cert_change_alloc(ngx_palette_cert_change_t *ch,
    ngx_uint_t remove)
{
    ngx_int_t                 rc;
    ngx_palette_cert_zone_t  *zone;

    zone = ch->zone;
    rc = NGX_OK;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ch->id.len == 0) {
        ch->rec = ngx_palette_cert_record_alloc(zone, ch->pem);
        zone->sh->pending = ch->rec;

        if (ch->rec == NULL) {
            rc = NGX_DECLINED;
        }

    } else if (!remove) {
        ch->entry = ngx_palette_cert_named_alloc(zone, &ch->id, ch->meta,
                                                 ch->pem);

        if (ch->entry
            && ngx_palette_cert_named_reserve(zone, ch->entry) != NGX_OK)
        {
            ngx_palette_cert_named_free(zone, ch->entry);
            ch->entry = NULL;
        }

        zone->sh->pending_named = ch->entry;

        if (ch->entry == NULL) {
            rc = NGX_DECLINED;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* under the pool's lock: whether the change is still this process's */

static ngx_uint_t
ngx_palette_cert_change_pending(ngx_palette_cert_change_t *ch)
{
    ngx_palette_cert_sh_t  *sh;

    sh = ch->zone->sh;

    return sh->update == (ngx_atomic_uint_t) ngx_pid
           && (ch->id.len ? sh->pending_named == ch->entry
                          : sh->pending == ch->rec);
}


/*
 * NGX_BUSY when the change was taken over meanwhile (its record is then
 * already freed, and nothing is published), NGX_ERROR when the index has
 * no room left for a named certificate's names (then nothing changed).
 */

static ngx_int_t
ngx_palette_cert_change_publish(ngx_palette_cert_change_t *ch)
{
    ngx_int_t                 rc;
    ngx_palette_cert_zone_t  *zone;

    zone = ch->zone;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (!ngx_palette_cert_change_pending(ch)) {
        rc = NGX_BUSY;

    } else if (ch->id.len) {
        rc = ngx_palette_cert_named_publish(zone, &ch->id, ch->entry,
                                            ch->pem->generation);

        if (rc == NGX_OK || ch->entry == NULL) {
            zone->sh->pending_named = NULL;
        }

    } else {
        ngx_palette_cert_publish(zone, ch->rec);
        zone->sh->pending = NULL;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static void
ngx_palette_cert_change_discard(ngx_palette_cert_change_t *ch)
{
    ngx_palette_cert_zone_t  *zone;

    zone = ch->zone;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ngx_palette_cert_change_pending(ch)) {

        if (ch->id.len == 0) {
            ngx_palette_cert_record_free(zone, ch->rec);
            zone->sh->pending = NULL;

        } else if (ch->entry) {
            ngx_palette_cert_named_free(zone, ch->entry);
            zone->sh->pending_named = NULL;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* whether this process still holds the change lock it took */

ngx_uint_t
ngx_palette_cert_change_owned(ngx_palette_cert_zone_t *zone)
{
    return zone->sh->update == (ngx_atomic_uint_t) ngx_pid;
}


/*
 * A change nginx makes itself, without a request (a watched folder, a
 * staged version at its time), once its files are validated: the change
 * lock, the names' conflicts, a generation, the record or entry, and the
 * store's lock.  NGX_OK: all held, the store is to be written, then
 * ngx_palette_cert_change_end(); NGX_BUSY: another change, a reload or
 * another nginx: nothing held, try later; NGX_DECLINED: refused (err
 * set), nothing held.
 */

ngx_int_t
ngx_palette_cert_change_begin(ngx_palette_cert_change_t *ch,
    ngx_palette_cert_error_t *err, ngx_log_t *log)
{
    ngx_int_t                  rc;
    ngx_str_t                  name;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_named_t  *other;

    zone = ch->zone;

    if (ngx_palette_cert_update_trylock(zone) != NGX_OK) {
        return NGX_BUSY;
    }

    if (zone->sh->retired) {
        ngx_palette_cert_update_unlock(zone);
        return NGX_BUSY;
    }

    if (ch->id.len) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        other = ngx_palette_cert_named_conflict(zone, &ch->id, ch->meta,
                                                &name);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (other) {
            ngx_palette_cert_update_unlock(zone);

            ngx_palette_cert_error(err, NGX_HTTP_CONFLICT, "name_conflict",
                                   "certificate",
                                   "the name %V is served already by the "
                                   "certificate \"%*s\" of the same key "
                                   "type", &name, (size_t) other->id_len,
                                   other->id);
            return NGX_DECLINED;
        }
    }

    if (ngx_palette_cert_change_reserve(ch, 0) != NGX_OK) {
        ngx_palette_cert_update_unlock(zone);
        ngx_palette_cert_zone_full(zone, err, NULL);
        return NGX_DECLINED;
    }

    if (zone->store.len == 0) {
        return NGX_OK;
    }

    rc = ngx_palette_cert_store_lock(zone, 0, log);

    if (rc == NGX_OK && ngx_palette_cert_store_alone(zone, log) != NGX_OK) {
        ngx_palette_cert_store_unlock(zone);
        rc = NGX_BUSY;
    }

    if (rc != NGX_OK) {
        (void) ngx_palette_cert_change_end(ch, NGX_BUSY);
        return NGX_BUSY;
    }

    return NGX_OK;
}


/*
 * Under the change lock: the change's generation, its record or entry
 * (none for the deletion of a named certificate), and the generation
 * reserved.  Should this process die once the store holds the change, no
 * other change gets its generation; should the store refuse it, the next
 * one does.  NGX_DECLINED when the zone has no room for it.
 */

ngx_int_t
ngx_palette_cert_change_reserve(ngx_palette_cert_change_t *ch,
    ngx_uint_t remove)
{
    ngx_palette_cert_zone_t  *zone;

    zone = ch->zone;

    ch->rec = NULL;
    ch->entry = NULL;

    ch->pem->generation = ngx_palette_cert_next_generation(zone);

    if (ngx_palette_cert_change_alloc(ch, remove) != NGX_OK) {
        return NGX_DECLINED;
    }

    ch->reserved = zone->sh->reserved;
    zone->sh->reserved = ch->pem->generation;

    return NGX_OK;
}


/*
 * A change the zone has no room for: 507, and logged where the caller
 * does not log what it refuses itself.
 */

void
ngx_palette_cert_zone_full(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_error_t *err, ngx_log_t *log)
{
    if (log) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "palette_cert zone \"%V\" is too small for the "
                      "new certificate", &zone->name);
    }

    ngx_palette_cert_error(err, NGX_HTTP_INSUFFICIENT_STORAGE,
                           "zone_full", NULL,
                           "the zone \"%V\" is too small to hold this "
                           "certificate; raise its size in "
                           "\"palette_cert_zone\"", &zone->name);
}


/*
 * Once the store is written (stored: NGX_OK, or NGX_ERROR with the store's
 * lock let go): made current, or given back.  NGX_OK: current; NGX_BUSY:
 * taken over meanwhile; NGX_ERROR: the store refused it, or the index has
 * no room left for its names.
 */

ngx_int_t
ngx_palette_cert_change_end(ngx_palette_cert_change_t *ch, ngx_int_t stored)
{
    ngx_int_t                 rc;
    ngx_palette_cert_zone_t  *zone;

    zone = ch->zone;
    rc = stored;

    if (rc == NGX_OK && !ngx_palette_cert_change_owned(zone)) {
        rc = NGX_BUSY;
    }

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_change_publish(ch);
    }

    if (zone->store.len && stored == NGX_OK) {
        ngx_palette_cert_store_unlock(zone);
    }

    if (rc != NGX_OK) {
        if (ngx_palette_cert_change_owned(zone)) {
            zone->sh->reserved = ch->reserved;
        }

        ngx_palette_cert_change_discard(ch);
    }

    ch->rec = NULL;
    ch->entry = NULL;

    ngx_palette_cert_update_unlock(zone);

    return rc;
}
