
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


#if (NGX_THREADS)
static ngx_int_t ngx_palette_cert_job_post(ngx_palette_cert_job_t *job,
    void (*handler)(void *data, ngx_log_t *log));
static void ngx_palette_cert_job_check_handler(void *data, ngx_log_t *log);
static void ngx_palette_cert_job_store_handler(void *data, ngx_log_t *log);
static void ngx_palette_cert_job_done(ngx_event_t *ev);
#endif


/* the check, then job->checked() in the event loop */

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

    job->check(job);
    job->checked(job, log);
}


/*
 * Once the change began: the store's writes, then job->finish().
 * NGX_AGAIN when a thread writes the store: job->end() follows the
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

        job->rc = job->store(job);

        if (job->rc != NGX_OK) {
            ngx_palette_cert_store_unlock(zone);
            job->rc = NGX_ERROR;
        }
    }

    job->finish(job, log);

    return NGX_OK;
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

    job->check(job);

    /* what OpenSSL keeps for this thread goes now, as for uploads */

    OPENSSL_thread_stop();
}


static void
ngx_palette_cert_job_store_handler(void *data, ngx_log_t *log)
{
    ngx_palette_cert_job_t  *job = data;

    job->rc = job->store(job);
}


static void
ngx_palette_cert_job_done(ngx_event_t *ev)
{
    ngx_palette_cert_job_t   *job;
    ngx_palette_cert_zone_t  *zone;

    job = ev->data;

    if (!job->storing) {
        job->checked(job, ev->log);
        return;
    }

    zone = job->change.zone;

    job->storing = 0;
    zone->storing = 0;

    if (job->rc != NGX_OK) {
        ngx_palette_cert_store_unlock(zone);
        job->rc = NGX_ERROR;
    }

    job->finish(job, ev->log);
    job->end(job);
}

#endif
