
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * What a certificate keeps aside of the one it serves, in the zone: its
 * pending key (POST ?csr) and its staged version (PUT ?activate_at), by
 * id ("" for the default).  Each is one allocation, made while the
 * change lock is held and known to the zone as pending from then on (so
 * that whoever takes over the lock of a process that died frees it),
 * then linked in place of the one it replaces under the pool's lock.
 * Memory that held a key is cleansed before it is given back.
 */


#include "ngx_palette_cert.h"


ngx_palette_cert_aside_t *
ngx_palette_cert_aside_alloc(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    ngx_str_t *id, time_t time, ngx_str_t *parts)
{
    u_char                    *p;
    size_t                     size;
    ngx_uint_t                 i;
    ngx_palette_cert_aside_t  *e;

    size = offsetof(ngx_palette_cert_aside_t, data);

    for (i = 0; i < 4; i++) {
        size += parts[i].len;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = ngx_slab_calloc_locked(zone->shpool, size);

    if (e) {
        e->kind = kind;
        e->time = time;
        e->id_len = id->len;

        /* the default's id, and parts not given, are NULL and empty */

        if (id->len) {
            ngx_memcpy(e->id, id->data, id->len);
        }

        p = e->data;

        for (i = 0; i < 4; i++) {
            e->len[i] = parts[i].len;

            if (parts[i].len) {
                p = ngx_cpymem(p, parts[i].data, parts[i].len);
            }
        }
    }

    zone->sh->pending_aside = e;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return e;
}


/* under the pool's lock */

void
ngx_palette_cert_aside_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e)
{
    ngx_explicit_memzero(e->data,
                         e->len[0] + e->len[1] + e->len[2] + e->len[3]);
    ngx_slab_free_locked(zone->shpool, e);
}


/* NGX_BUSY when the change was taken over meanwhile (e is freed then) */

ngx_int_t
ngx_palette_cert_aside_publish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e)
{
    ngx_int_t                   rc;
    ngx_str_t                   id;
    ngx_palette_cert_aside_t  **pp;

    ngx_shmtx_lock(&zone->shpool->mutex);

    rc = NGX_BUSY;

    if (ngx_palette_cert_change_owned(zone) && zone->sh->pending_aside == e) {
        id.data = e->id;
        id.len = e->id_len;

        pp = ngx_palette_cert_aside_find(zone, e->kind, &id);

        if (*pp) {
            e->next = (*pp)->next;
            ngx_palette_cert_aside_free(zone, *pp);
        }

        *pp = e;
        zone->sh->pending_aside = NULL;

        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


void
ngx_palette_cert_aside_discard(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e)
{
    ngx_shmtx_lock(&zone->shpool->mutex);

    if (e && ngx_palette_cert_change_owned(zone)
        && zone->sh->pending_aside == e)
    {
        ngx_palette_cert_aside_free(zone, e);
        zone->sh->pending_aside = NULL;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * A copy, from the pool, of what a certificate keeps aside of that kind,
 * made under the pool's lock: the entry with the parts asked for (a bit
 * each, 1 << i), the others left out and empty, so that a key is copied
 * only where it is used.  NGX_DECLINED when there is none, NGX_ERROR when
 * memory runs out.
 */

ngx_int_t
ngx_palette_cert_aside_copy(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    ngx_str_t *id, ngx_uint_t parts, ngx_pool_t *pool,
    ngx_palette_cert_aside_t **copy)
{
    u_char                    *p, *src;
    size_t                     size;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_palette_cert_aside_t  *e, *c;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = *ngx_palette_cert_aside_find(zone, kind, id);

    if (e == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    size = offsetof(ngx_palette_cert_aside_t, data);

    for (i = 0; i < 4; i++) {
        size += (parts & (1 << i)) ? e->len[i] : 0;
    }

    c = ngx_palloc(pool, size);
    if (c == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    ngx_memcpy(c, e, offsetof(ngx_palette_cert_aside_t, data));
    c->next = NULL;

    p = c->data;
    src = e->data;

    for (i = 0; i < 4; i++) {
        if (parts & (1 << i)) {
            p = ngx_cpymem(p, src, e->len[i]);

        } else {
            c->len[i] = 0;
        }

        src += e->len[i];
    }

    *copy = c;
    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/* where the id's one is linked, or would be: under the pool's lock */

ngx_palette_cert_aside_t **
ngx_palette_cert_aside_find(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    ngx_str_t *id)
{
    ngx_palette_cert_aside_t  **pp;

    for (pp = &zone->sh->aside[kind]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id_len == id->len
            && (id->len == 0
                || ngx_memcmp((*pp)->id, id->data, id->len) == 0))
        {
            break;
        }
    }

    return pp;
}


/*
 * Removes the id's one, if it is the one of that time (any, for 0): under
 * the pool's lock.  NGX_DECLINED when there is none such.
 */

ngx_int_t
ngx_palette_cert_aside_remove(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    ngx_str_t *id, time_t time)
{
    ngx_palette_cert_aside_t  **pp, *e;

    pp = ngx_palette_cert_aside_find(zone, kind, id);
    e = *pp;

    if (e == NULL || (time && e->time != time)) {
        return NGX_DECLINED;
    }

    *pp = e->next;
    ngx_palette_cert_aside_free(zone, e);

    return NGX_OK;
}


/* at start, by the master: one read from the store, linked at once */

ngx_int_t
ngx_palette_cert_aside_load(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e)
{
    ngx_str_t                   id;
    ngx_palette_cert_aside_t  **pp;

    if (e == NULL) {
        ngx_log_error(NGX_LOG_EMERG, zone->log, 0,
                      "palette_cert zone \"%V\" is too small for what its "
                      "certificates keep aside", &zone->name);
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    zone->sh->pending_aside = NULL;

    id.data = e->id;
    id.len = e->id_len;

    pp = ngx_palette_cert_aside_find(zone, e->kind, &id);

    if (*pp == NULL) {
        *pp = e;

    } else {
        ngx_palette_cert_aside_free(zone, e);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}
