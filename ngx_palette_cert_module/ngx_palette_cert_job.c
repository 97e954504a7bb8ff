
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * The steps of a change nginx makes itself, without a request (a watched
 * folder, a staged version at its time): the check of its files, then,
 * once ngx_palette_cert_change_begin() holds the locks, the store's
 * writes.  With threads each runs in a thread of the given pool and is
 * followed by its part in the event loop; nginx shutting down waits for
 * the guard timer meanwhile, not for threads.  What a step reads and
 * writes is the job's own: never the zone's shared memory.
 */


#include "ngx_palette_cert.h"


static void ngx_palette_cert_job_stored(ngx_palette_cert_job_t *job,
    ngx_log_t *log);
#if (NGX_THREADS)
static ngx_int_t ngx_palette_cert_job_post(ngx_palette_cert_job_t *job,
    void (*handler)(void *data, ngx_log_t *log));
static void ngx_palette_cert_job_check_handler(void *data, ngx_log_t *log);
static void ngx_palette_cert_job_store_handler(void *data, ngx_log_t *log);
static void ngx_palette_cert_job_done(ngx_event_t *ev);
#endif


/* what the change is about: known from the start, before any step */

void
ngx_palette_cert_job_init(ngx_palette_cert_job_t *job,
    ngx_palette_cert_job_ops_t *ops, ngx_palette_cert_zone_t *zone,
    ngx_str_t *id)
{
    job->ops = ops;

    job->change.zone = zone;
    job->change.id = *id;
    job->change.pem = &job->pem;
    job->change.meta = &job->bundle.meta;
}


/* the check, then job->ops->checked() in the event loop */

void
ngx_palette_cert_job_check(ngx_palette_cert_job_t *job, ngx_log_t *log)
{
#if (NGX_THREADS)
    if (job->thread_pool
        && ngx_palette_cert_job_post(job, ngx_palette_cert_job_check_handler)
           == NGX_OK)
    {
        return;
    }
#endif

    job->ops->check(job);
    job->ops->checked(job, log);
}


/*
 * The check: the files of pem (cert, key, and ca, empty when there is
 * none) validated as an upload is, at the time it is made, into the job's
 * bundle and PEM.
 * rc: NGX_DECLINED, with err set, when they are refused.
 */

void
ngx_palette_cert_job_validate(ngx_palette_cert_job_t *job,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_pem_t *pem)
{
    ngx_palette_cert_fields_t  f;

    ngx_memzero(&f, sizeof(ngx_palette_cert_fields_t));

    f.certificate = pem->cert;
    f.key = pem->key;
    f.ca = pem->ca;
    f.has_certificate = 1;
    f.has_key = 1;
    f.has_ca = (pem->ca.len != 0);
    f.named = (job->change.id.len != 0);

    if (ngx_palette_cert_validate(zone, &f, &job->bundle, &job->err)
        != NGX_OK)
    {
        job->rc = NGX_DECLINED;
        return;
    }

    if (ngx_palette_cert_bundle_pem(&job->bundle, &job->pem) != NGX_OK
        || (f.named
            && ngx_palette_cert_meta_text(&job->bundle.meta, &job->pem.meta)
               != NGX_OK))
    {
        job->rc = NGX_ERROR;
        return;
    }

    job->pem.source = NGX_PALETTE_CERT_UPLOADED;
    job->rc = NGX_OK;
}


/* what the job holds, given back; the key's bytes cleansed */

void
ngx_palette_cert_job_free(ngx_palette_cert_job_t *job)
{
    ngx_palette_cert_bundle_free(&job->bundle);
    ngx_palette_cert_pem_free(&job->pem);
}


/*
 * Once the change began: the store's writes, then job->ops->finish().
 * NGX_AGAIN when a thread writes the store: job->ops->end() follows the
 * finish then; otherwise it is the caller's.
 */

ngx_int_t
ngx_palette_cert_job_store(ngx_palette_cert_job_t *job, ngx_log_t *log)
{
    ngx_palette_cert_zone_t  *zone;

    zone = job->change.zone;

    job->rc = NGX_OK;

    if (zone->store.len) {

#if (NGX_THREADS)

        if (job->thread_pool) {
            job->storing = 1;
            zone->storing = 1;

            if (ngx_palette_cert_job_post(job,
                                          ngx_palette_cert_job_store_handler)
                == NGX_OK)
            {
                return NGX_AGAIN;
            }

            job->storing = 0;
            zone->storing = 0;
        }

#endif

        job->rc = job->ops->store(job);
    }

    ngx_palette_cert_job_stored(job, log);

    return NGX_OK;
}


/* the store written (job->rc), or not: the lock given back on failure */

static void
ngx_palette_cert_job_stored(ngx_palette_cert_job_t *job, ngx_log_t *log)
{
    if (job->rc != NGX_OK) {
        ngx_palette_cert_store_unlock(job->change.zone);
        job->rc = NGX_ERROR;
    }

    job->ops->finish(job, log);
}


void
ngx_palette_cert_job_guard(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_PALETTE_CERT_UPDATE_WAIT);
}


#if (NGX_THREADS)

static ngx_int_t
ngx_palette_cert_job_post(ngx_palette_cert_job_t *job,
    void (*handler)(void *data, ngx_log_t *log))
{
    ngx_thread_task_t  *task;

    task = *job->task;

    if (task == NULL) {
        task = ngx_thread_task_alloc(ngx_cycle->pool, 0);
        if (task == NULL) {
            return NGX_ERROR;
        }

        task->event.handler = ngx_palette_cert_job_done;
        task->event.log = ngx_cycle->log;

        *job->task = task;
    }

    task->ctx = job;
    task->handler = handler;
    task->event.data = job;

    if (ngx_thread_task_post(job->thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_add_timer(job->guard, NGX_PALETTE_CERT_UPDATE_WAIT);

    return NGX_OK;
}


static void
ngx_palette_cert_job_check_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_job_t  *job = data;

    job->ops->check(job);

    /* what OpenSSL keeps for this thread goes now, as for uploads */

    OPENSSL_thread_stop();
}


static void
ngx_palette_cert_job_store_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_job_t  *job = data;

    job->rc = job->ops->store(job);
}


static void
ngx_palette_cert_job_done(ngx_event_t *ev)
{
    ngx_palette_cert_job_t  *job;

    job = ev->data;

    if (!job->storing) {
        job->ops->checked(job, ev->log);
        return;
    }

    job->storing = 0;
    job->change.zone->storing = 0;

    ngx_palette_cert_job_stored(job, ev->log);
    job->ops->end(job);
}

#endif
