
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Staged activation: PUT RES?activate_at=TIME validates an upload with
 * its dates judged at TIME and keeps it aside, in the zone and in the
 * store (STORE[/named/ID]/staged).  At that time exactly one worker makes
 * it current: every worker looks twice a second, the zone lets one of them
 * at a time act, and the version, validated again in full (now), is
 * applied as an upload is, its staged copy removed in the same step.  One
 * that no longer validates stays aside, marked refused, with an alert.
 *
 * The validation and the store's writes run in a thread of the default
 * pool, when nginx has threads.
 */


#include "ngx_palette_cert.h"


/* how often each worker looks at the staged versions' clock (ms) */
#define NGX_PALETTE_CERT_STAGED_TICK  500


typedef struct {
    ngx_palette_cert_zone_t      *zone;
    ngx_event_t                   event;
    ngx_uint_t                    running;

    /* nginx shutting down waits for timers, not for threads */
    ngx_event_t                   guard;
#if (NGX_THREADS)
    ngx_thread_task_t            *task;
#endif
} ngx_palette_cert_staged_timer_t;


/* an activation in progress */

typedef struct {
    ngx_palette_cert_job_t        job;          /* first: its steps' */

    ngx_palette_cert_staged_timer_t  *timer;

    ngx_str_t                     id;
    u_char                        id_data[NGX_PALETTE_CERT_ID_LEN];
    time_t                        time;

    /* the staged version, copied out */
    ngx_palette_cert_pem_t        staged;
} ngx_palette_cert_staged_job_t;


static void ngx_palette_cert_staged_handler(ngx_event_t *ev);
static ngx_int_t ngx_palette_cert_staged_take(ngx_palette_cert_zone_t *zone);
static void ngx_palette_cert_staged_release(ngx_palette_cert_zone_t *zone);
static void ngx_palette_cert_staged_check(ngx_palette_cert_job_t *j);
static void ngx_palette_cert_staged_checked(ngx_palette_cert_job_t *j,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_staged_store(ngx_palette_cert_job_t *j);
static void ngx_palette_cert_staged_finish(ngx_palette_cert_job_t *j,
    ngx_log_t *log);
static void ngx_palette_cert_staged_refused(
    ngx_palette_cert_staged_job_t *job, ngx_log_t *log);
static void ngx_palette_cert_staged_end(ngx_palette_cert_job_t *j);
static ngx_int_t ngx_palette_cert_staged_loaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files);


static ngx_palette_cert_job_ops_t  ngx_palette_cert_staged_ops = {
    ngx_palette_cert_staged_check,
    ngx_palette_cert_staged_store,
    ngx_palette_cert_staged_checked,
    ngx_palette_cert_staged_finish,
    ngx_palette_cert_staged_end
};


static ngx_connection_t  ngx_palette_cert_staged_conn;


/* the staged version in the zone, not yet linked */

ngx_palette_cert_aside_t *
ngx_palette_cert_staged_alloc(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    time_t time, ngx_palette_cert_pem_t *pem)
{
    ngx_str_t  parts[4];

    parts[0] = pem->cert;
    parts[1] = pem->key;
    parts[2] = pem->has_ca ? pem->ca : (ngx_str_t) ngx_null_string;
    parts[3] = pem->meta;

    return ngx_palette_cert_aside_alloc(zone, NGX_PALETTE_CERT_ASIDE_STAGED,
                                        id, time, parts);
}


/* the earliest time a staged version is due: under the pool's lock */

void
ngx_palette_cert_staged_schedule(ngx_palette_cert_zone_t *zone)
{
    time_t                     next;
    ngx_palette_cert_aside_t  *e;

    next = 0;

    for (e = zone->sh->aside[NGX_PALETTE_CERT_ASIDE_STAGED]; e; e = e->next)
    {
        if (!e->refused[0] && (next == 0 || e->time < next)) {
            next = e->time;
        }
    }

    zone->sh->staged_next = (ngx_atomic_uint_t) next;
}


/* "staged": what GET shows of the staged version, or null */

void
ngx_palette_cert_staged_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_zone_t *zone, ngx_str_t *id)
{
    BIO                       *bio;
    X509                      *x;
    u_char                    *p, buf[NGX_PALETTE_CERT_DN_LEN];
    ngx_int_t                  rc;
    ngx_palette_cert_aside_t  *e;

    ngx_palette_cert_json_key(j, "staged");

    /* the certificate only: the key is not copied */

    rc = ngx_palette_cert_aside_copy(zone, NGX_PALETTE_CERT_ASIDE_STAGED, id,
                                     1, j->pool, &e);

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_json_raw(j, "null");
        return;
    }

    x = NULL;
    bio = (rc == NGX_OK) ? BIO_new_mem_buf(e->data, (int) e->len[0]) : NULL;

    if (bio) {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }

    if (x == NULL) {
        ERR_clear_error();
        j->failed = 1;
        return;
    }

    ngx_palette_cert_json_raw(j, "{");

    ngx_palette_cert_json_key(j, "activate_at");
    p = ngx_palette_cert_rfc3339(buf, e->time);
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "sha256");
    p = ngx_palette_cert_sha256(buf, x);
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "subject");
    p = ngx_palette_cert_subject(buf, buf + sizeof(buf),
                                 X509_get_subject_name(x));
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "not_before");
    p = ngx_palette_cert_time(buf, X509_get0_notBefore(x));
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "not_after");
    p = ngx_palette_cert_time(buf, X509_get0_notAfter(x));
    ngx_palette_cert_json_str(j, buf, p - buf);

    ngx_palette_cert_json_key(j, "refused");

    if (e->refused[0]) {
        ngx_palette_cert_json_cstr(j, (char *) e->refused);

    } else {
        ngx_palette_cert_json_raw(j, "null");
    }

    ngx_palette_cert_json_raw(j, "}");

    X509_free(x);
}


/* STORE[/named/ID]/staged: the version's files and when it goes live */

ngx_int_t
ngx_palette_cert_staged_save(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, time_t time, ngx_log_t *log)
{
    u_char                  *p, buf[NGX_TIME_T_LEN + 2];
    ngx_uint_t               n;
    ngx_palette_cert_file_t  files[NGX_PALETTE_CERT_FILES];

    p = ngx_sprintf(buf, "%T\n", time);

    n = ngx_palette_cert_store_files(pem, files);

    files[n].name = "activate_at";
    files[n].data.data = buf;
    files[n].data.len = p - buf;
    files[n++].mode = 0644;

    files[n].name = NULL;

    return ngx_palette_cert_store_save_aside(zone, "staged", files, log);
}


/* at start: the staged versions the store keeps, into the zone */

ngx_int_t
ngx_palette_cert_staged_load(ngx_palette_cert_zone_t *zone)
{
    ngx_int_t                rc;
    ngx_palette_cert_file_t  files[6];

    files[0].name = "certificate.pem";
    files[0].mode = 1;
    files[1].name = "key.pem";
    files[1].mode = 1;
    files[2].name = "activate_at";
    files[2].mode = 1;
    files[3].name = "ca.pem";
    files[3].mode = 0;
    files[4].name = "meta";
    files[4].mode = 0;
    files[5].name = NULL;

    rc = ngx_palette_cert_store_load_aside(zone, "staged", files,
                                           ngx_palette_cert_staged_loaded,
                                           zone->log);

    ngx_shmtx_lock(&zone->shpool->mutex);
    ngx_palette_cert_staged_schedule(zone);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_palette_cert_staged_loaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files)
{
    size_t                  len;
    time_t                  time;
    ngx_palette_cert_pem_t  pem;

    len = files[2].data.len;

    while (len && (files[2].data.data[len - 1] == '\n')) {
        len--;
    }

    time = ngx_atotm(files[2].data.data, len);

    if (time == NGX_ERROR || files[0].data.len == 0
        || files[1].data.len == 0)
    {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\": the staged version of the "
                      "%s%V%s in the store cannot be read, it is left out",
                      &zone->name,
                      zone->id.len ? "certificate \"" : "default",
                      &zone->id, zone->id.len ? "\"" : "");
        return NGX_OK;
    }

    ngx_memzero(&pem, sizeof(ngx_palette_cert_pem_t));

    pem.cert = files[0].data;
    pem.key = files[1].data;
    pem.ca = files[3].data;
    pem.has_ca = (files[3].data.len != 0);
    pem.meta = files[4].data;

    return ngx_palette_cert_aside_load(zone,
                                       ngx_palette_cert_staged_alloc(zone,
                                                                     &zone->id,
                                                                     time,
                                                                     &pem));
}


/* every worker looks at each zone's clock twice a second */

ngx_int_t
ngx_palette_cert_staged_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i;
    ngx_palette_cert_zone_t         **zones;
    ngx_palette_cert_main_conf_t     *pmcf;
    ngx_palette_cert_staged_timer_t  *st;

    pmcf = ngx_palette_cert_worker_conf(cycle);
    if (pmcf == NULL) {
        return NGX_OK;
    }

    ngx_palette_cert_staged_conn.fd = (ngx_socket_t) -1;

    zones = pmcf->zones.elts;

    for (i = 0; i < pmcf->zones.nelts; i++) {

        if (zones[i]->sh == NULL) {
            continue;
        }

        st = ngx_pcalloc(cycle->pool, sizeof(ngx_palette_cert_staged_timer_t));
        if (st == NULL) {
            return NGX_ERROR;
        }

        st->zone = zones[i];

        st->event.handler = ngx_palette_cert_staged_handler;
        st->event.data = &ngx_palette_cert_staged_conn;
        st->event.log = cycle->log;
        st->event.cancelable = 1;

        st->guard.data = st;
        st->guard.log = cycle->log;
        st->guard.handler = ngx_palette_cert_job_guard;

        ngx_add_timer(&st->event,
                      ngx_random() % NGX_PALETTE_CERT_STAGED_TICK + 1);
    }

    return NGX_OK;
}


static void
ngx_palette_cert_staged_handler(ngx_event_t *ev)
{
    time_t                            next;
    ngx_palette_cert_aside_t         *e, *due;
    ngx_palette_cert_zone_t          *zone;
    ngx_palette_cert_staged_job_t    *job;
    ngx_palette_cert_staged_timer_t  *st;

    st = (ngx_palette_cert_staged_timer_t *)
             ((u_char *) ev - offsetof(ngx_palette_cert_staged_timer_t,
                                       event));
    zone = st->zone;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_add_timer(ev, NGX_PALETTE_CERT_STAGED_TICK);

    /* nothing due: one read of the zone, no lock */

    next = (time_t) zone->sh->staged_next;

    if (next == 0 || next > ngx_time() || st->running || zone->sh->retired) {
        return;
    }

    if (ngx_palette_cert_staged_take(zone) != NGX_OK) {
        return;
    }

    job = ngx_calloc(sizeof(ngx_palette_cert_staged_job_t), ev->log);
    if (job == NULL) {
        ngx_palette_cert_staged_release(zone);
        return;
    }

    job->timer = st;

    /* the earliest due, copied out */

    ngx_shmtx_lock(&zone->shpool->mutex);

    due = NULL;

    for (e = zone->sh->aside[NGX_PALETTE_CERT_ASIDE_STAGED]; e; e = e->next)
    {
        if (!e->refused[0] && e->time <= ngx_time()
            && (due == NULL || e->time < due->time))
        {
            due = e;
        }
    }

    if (due) {
        job->time = due->time;
        job->id.data = job->id_data;
        job->id.len = due->id_len;
        ngx_memcpy(job->id_data, due->id, due->id_len);

        job->staged.cert.data = ngx_alloc(due->len[0] + due->len[1]
                                          + due->len[2] + due->len[3] + 4,
                                          ev->log);
    }

    if (due && job->staged.cert.data) {
        e = due;

        job->staged.cert.len = e->len[0];
        ngx_memcpy(job->staged.cert.data, e->data, e->len[0]);

        job->staged.key.data = job->staged.cert.data + e->len[0] + 1;
        job->staged.key.len = e->len[1];
        ngx_memcpy(job->staged.key.data, e->data + e->len[0], e->len[1]);

        job->staged.ca.data = job->staged.key.data + e->len[1] + 1;
        job->staged.ca.len = e->len[2];
        ngx_memcpy(job->staged.ca.data, e->data + e->len[0] + e->len[1],
                   e->len[2]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (due == NULL || job->staged.cert.data == NULL) {
        ngx_free(job);
        ngx_palette_cert_staged_release(zone);
        return;
    }

    st->running = 1;

    ngx_palette_cert_job_init(&job->job, &ngx_palette_cert_staged_ops, zone,
                              &job->id);

#if (NGX_THREADS)
    job->job.thread_pool = zone->thread_pool;
    job->job.task = &st->task;
    job->job.guard = &st->guard;
#endif

    ngx_palette_cert_job_check(&job->job, ev->log);
}


/* one process at a time acts; one that died is not waited for */

static ngx_int_t
ngx_palette_cert_staged_take(ngx_palette_cert_zone_t *zone)
{
    ngx_pid_t  pid;

    pid = (ngx_pid_t) zone->sh->staged_busy;

    if (pid != 0 && pid != ngx_pid
        && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH))
    {
        return NGX_BUSY;
    }

    return ngx_atomic_cmp_set(&zone->sh->staged_busy, (ngx_atomic_uint_t) pid,
                              (ngx_atomic_uint_t) ngx_pid)
           ? NGX_OK : NGX_BUSY;
}


static void
ngx_palette_cert_staged_release(ngx_palette_cert_zone_t *zone)
{
    (void) ngx_atomic_cmp_set(&zone->sh->staged_busy,
                              (ngx_atomic_uint_t) ngx_pid, 0);
}


/* validated again in full, now: it may run in a thread */

static void
ngx_palette_cert_staged_check(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_staged_job_t *job = (ngx_palette_cert_staged_job_t *) j;

    ngx_palette_cert_job_validate(j, job->timer->zone, &job->staged);
}


/* in the event loop, once checked: refused, or applied as an upload is */

static void
ngx_palette_cert_staged_checked(ngx_palette_cert_job_t *j, ngx_log_t *log)
{
    ngx_palette_cert_staged_job_t *job = (ngx_palette_cert_staged_job_t *) j;

    ngx_int_t  rc;

    if (job->job.rc == NGX_DECLINED) {
        ngx_palette_cert_staged_refused(job, log);
        goto end;
    }

    if (job->job.rc != NGX_OK) {
        goto end;
    }

    /* another change in progress, or a reload: the next tick tries again */

    rc = ngx_palette_cert_change_begin(&job->job.change, &job->job.err, log);

    if (rc == NGX_DECLINED) {
        ngx_palette_cert_staged_refused(job, log);
        goto end;
    }

    if (rc != NGX_OK) {
        goto end;
    }

    if (ngx_palette_cert_job_store(j, log) == NGX_AGAIN) {
        return;
    }

end:

    ngx_palette_cert_staged_end(j);
}


/* the store's part: the new generation, then the staged copy goes */

static ngx_int_t
ngx_palette_cert_staged_store(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_staged_job_t *job = (ngx_palette_cert_staged_job_t *) j;

    ngx_int_t                 rc;
    ngx_palette_cert_zone_t   nz;

    nz = *job->timer->zone;
    nz.id = job->id;

    if (job->id.len) {
        rc = ngx_palette_cert_store_save_named(job->timer->zone, &job->id,
                                               &job->job.pem, ngx_cycle->log);

    } else {
        rc = ngx_palette_cert_store_save(&nz, &job->job.pem, ngx_cycle->log);
    }

    if (rc == NGX_OK) {
        (void) ngx_palette_cert_store_remove_aside(&nz, "staged",
                                                   ngx_cycle->log);
    }

    return rc;
}


/* once the store is written (rc): made current or given back */

static void
ngx_palette_cert_staged_finish(ngx_palette_cert_job_t *j, ngx_log_t *log)
{
    ngx_palette_cert_staged_job_t *job = (ngx_palette_cert_staged_job_t *) j;

    u_char                   *h, *s, *d, *t;
    u_char                    sha[64], subject[256], date[32], when[32];
    ngx_int_t                 rc;
    ngx_palette_cert_zone_t  *zone;

    zone = job->timer->zone;

    rc = ngx_palette_cert_change_end(&job->job.change, job->job.rc);

    if (rc == NGX_OK) {

        /*
         * made current: the staged one is gone, the clock set again (no
         * other worker looks meanwhile: this one holds the zone's turn)
         */

        ngx_shmtx_lock(&zone->shpool->mutex);

        (void) ngx_palette_cert_aside_remove(zone,
                                             NGX_PALETTE_CERT_ASIDE_STAGED,
                                             &job->id, job->time);
        ngx_palette_cert_staged_schedule(zone);

        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    if (job->job.rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "palette_cert zone \"%V\": the version staged for "
                      "%s%V%s could not be saved in the store, it is tried "
                      "again", &zone->name,
                      job->id.len ? "the certificate \"" : "the default",
                      &job->id, job->id.len ? "\"" : "");
        return;
    }

    if (rc == NGX_ERROR) {

        /* the index of names has no room left for this one's */

        ngx_palette_cert_error(&job->job.err, NGX_HTTP_INSUFFICIENT_STORAGE,
                               "zone_full", NULL, "the zone \"%V\" is too "
                               "small for the names of this certificate",
                               &zone->name);

        ngx_palette_cert_staged_refused(job, log);
        return;
    }

    if (rc != NGX_OK) {
        return;
    }

    h = ngx_palette_cert_sha256(sha, job->job.bundle.leaf);
    s = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(job->job.bundle.leaf));
    d = ngx_palette_cert_time(date, X509_get0_notAfter(job->job.bundle.leaf));
    t = ngx_palette_cert_rfc3339(when, job->time);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "palette_cert zone \"%V\"%s%V%s activated the version "
                  "staged for %*s: generation %ui, sha256 %*s, subject "
                  "\"%*s\", not_after %*s",
                  &zone->name, job->id.len ? " certificate \"" : "",
                  &job->id, job->id.len ? "\"" : "", t - when, when,
                  job->job.pem.generation, h - sha, sha, s - subject, subject,
                  d - date, date);

    ngx_palette_cert_count_change(zone, "ok");
    ngx_palette_cert_expire_check(zone, log);
}


/*
 * It no longer validates: it stays aside, marked refused, and is not
 * tried again; an alert says why, and it is counted.
 */

static void
ngx_palette_cert_staged_refused(ngx_palette_cert_staged_job_t *job,
    ngx_log_t *log)
{
    u_char                     when[32], *t;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_aside_t  *e;

    zone = job->timer->zone;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = *ngx_palette_cert_aside_find(zone, NGX_PALETTE_CERT_ASIDE_STAGED,
                                     &job->id);

    if (e && e->time == job->time) {
        ngx_cpystrn(e->refused, (u_char *) job->job.err.code,
                    sizeof(e->refused));
    }

    ngx_palette_cert_staged_schedule(zone);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    t = ngx_palette_cert_rfc3339(when, job->time);

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "palette_cert zone \"%V\"%s%V%s: the version staged for "
                  "%*s is not activated (%s): %*s; the certificate in "
                  "service stays",
                  &zone->name, job->id.len ? " certificate \"" : "",
                  &job->id, job->id.len ? "\"" : "", t - when, when,
                  job->job.err.code, job->job.err.last - job->job.err.message,
                  job->job.err.message);

    ngx_palette_cert_count_change(zone, job->job.err.code);
}


static void
ngx_palette_cert_staged_end(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_staged_job_t *job = (ngx_palette_cert_staged_job_t *) j;

    size_t  len;

    if (job->staged.cert.data) {
        len = job->staged.cert.len + job->staged.key.len + job->staged.ca.len
              + 4;
        ngx_explicit_memzero(job->staged.cert.data, len);
        ngx_free(job->staged.cert.data);
    }

    ngx_palette_cert_job_free(&job->job);

    job->timer->running = 0;

    if (job->timer->guard.timer_set) {
        ngx_del_timer(&job->timer->guard);
    }

    ngx_palette_cert_staged_release(job->timer->zone);

    ngx_explicit_memzero(job, sizeof(ngx_palette_cert_staged_job_t));
    ngx_free(job);
}
