
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Certificates that follow a folder written by someone else: a mounted
 * Kubernetes TLS Secret (tls.crt, tls.key and an optional ca.crt, behind
 * the kubelet's "..data" link) or certbot's live folder (fullchain.pem and
 * privkey.pem, links into its archive).
 *
 * Every worker has a timer for each watch, but the zone lets one of them
 * at a time check: it stat()s the files and compares what it finds with
 * the files last acted upon, which the zone keeps.  Only a change is read
 * and validated as an upload is (in a thread of the default pool, when
 * nginx has threads), then applied as an upload is: a new generation in
 * the zone and in the store.  A refusal is logged once and not tried
 * again until the files change; a key that does not match its certificate
 * is taken to be caught half-written and looked at again at the next
 * checks before it is refused.  The handshakes never see any of it.
 *
 * At start the master checks every watch before the workers serve, so
 * that valid watched files win over the store.
 */


#include "ngx_palette_cert.h"


/* a key that does not match its certificate is looked at this often more */
#define NGX_PALETTE_CERT_WATCH_TRIES    3

/* a watched file holds a few kilobytes */
#define NGX_PALETTE_CERT_WATCH_FILE_MAX (1024 * 1024)


/* a check in progress, from its stat() to its end */

typedef struct {
    ngx_palette_cert_job_t          job;        /* first: its steps' */

    ngx_palette_cert_watch_t       *watch;
    ngx_palette_cert_watch_sig_t    sig;
    ngx_uint_t                      layout;

    /* the files' bytes, the key's cleansed */
    ngx_str_t                       data[3];

    /* a file that could not be read, and why */
    ngx_uint_t                      failed_file;
    ngx_err_t                       failed_err;

} ngx_palette_cert_watch_job_t;


static char *ngx_palette_cert_watch_file_names[2][3] = {
    { "tls.crt", "tls.key", "ca.crt" },
    { "fullchain.pem", "privkey.pem", NULL }
};


static ngx_palette_cert_zone_t *ngx_palette_cert_watch_target(ngx_conf_t *cf,
    ngx_str_t *value, ngx_str_t *id);
static void ngx_palette_cert_watch_handler(ngx_event_t *ev);
static ngx_int_t ngx_palette_cert_watch_take(ngx_palette_cert_watch_t *w);
static void ngx_palette_cert_watch_release(ngx_palette_cert_watch_t *w);
static void ngx_palette_cert_watch_check(ngx_palette_cert_watch_t *w,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_watch_stat(ngx_palette_cert_watch_t *w,
    ngx_palette_cert_watch_sig_t *sig, ngx_uint_t *layout, ngx_log_t *log);
static void ngx_palette_cert_watch_load(ngx_palette_cert_job_t *j);
static ngx_int_t ngx_palette_cert_watch_read(ngx_palette_cert_watch_job_t *job,
    ngx_uint_t i);
static void ngx_palette_cert_watch_loaded(ngx_palette_cert_job_t *j,
    ngx_log_t *log);
static ngx_uint_t ngx_palette_cert_watch_equal(ngx_palette_cert_pem_t *pem,
    ngx_str_t *cert, ngx_str_t *ca, ngx_uint_t has_ca);
static ngx_uint_t ngx_palette_cert_watch_same(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log);
static void ngx_palette_cert_watch_refused(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_watch_apply(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_watch_store(ngx_palette_cert_job_t *j);
static void ngx_palette_cert_watch_finish(ngx_palette_cert_job_t *j,
    ngx_log_t *log);
static void ngx_palette_cert_watch_audit(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log);
static void ngx_palette_cert_watch_problem(ngx_palette_cert_watch_t *w,
    ngx_uint_t file, ngx_err_t err, const char *what, ngx_log_t *log);
static void ngx_palette_cert_watch_end(ngx_palette_cert_job_t *j);
static ngx_msec_t ngx_palette_cert_watch_now(void);



/* what timer events point at: nginx's debug log reads it as a connection */

static ngx_palette_cert_job_ops_t  ngx_palette_cert_watch_ops = {
    ngx_palette_cert_watch_load,
    ngx_palette_cert_watch_store,
    ngx_palette_cert_watch_loaded,
    ngx_palette_cert_watch_finish,
    ngx_palette_cert_watch_end
};


static ngx_connection_t  ngx_palette_cert_watch_conn;

/* a worker, or the single process, with its thread pools running */

static ngx_uint_t  ngx_palette_cert_watch_live;


/* a store that refused a change: logged once, as a folder's problem is */
#define NGX_PALETTE_CERT_WATCH_STORE_FAILED  1

/* and tried again this much later (milliseconds) */
#define NGX_PALETTE_CERT_WATCH_STORE_AGAIN   60000


/* palette_cert_watch ZONE[/ID] PATH [interval=TIME] */

char *
ngx_palette_cert_watch(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                    *p;
    ngx_str_t                 *value, id, s;
    ngx_uint_t                 i;
    ngx_msec_t                 interval;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_watch_t  *w, **wp;

    value = cf->args->elts;

    zone = ngx_palette_cert_watch_target(cf, &value[1], &id);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    interval = 5000;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            interval = ngx_parse_time(&s, 0);

            if (interval == (ngx_msec_t) NGX_ERROR || interval < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"palette_cert_watch\", "
                                   "at least 1s is needed", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"palette_cert_watch\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    w = ngx_pcalloc(cf->pool, sizeof(ngx_palette_cert_watch_t));
    if (w == NULL) {
        return NGX_CONF_ERROR;
    }

    w->zone = zone;
    w->id = id;
    w->path = value[2];
    w->interval = interval;

    if (ngx_conf_full_name(cf->cycle, &w->path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the path, as it is opened: NUL-terminated, no trailing slash */

    while (w->path.len > 1 && w->path.data[w->path.len - 1] == '/') {
        w->path.len--;
    }

    p = ngx_pnalloc(cf->pool, w->path.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, w->path.data, w->path.len);
    p[w->path.len] = '\0';
    w->path.data = p;

    w->key = ngx_crc32_short(w->path.data, w->path.len) ^ (uint32_t) id.len;

    if (id.len) {
        w->key ^= ngx_crc32_short(id.data, id.len) * 31;
    }

#if (NGX_THREADS)
    w->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (w->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }
#endif

    if (zone->watches.elts == NULL
        && ngx_array_init(&zone->watches, cf->pool, 2,
                          sizeof(ngx_palette_cert_watch_t *))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    wp = ngx_array_push(&zone->watches);
    if (wp == NULL) {
        return NGX_CONF_ERROR;
    }

    *wp = w;

    return NGX_CONF_OK;
}


/* ZONE or ZONE/ID: the zone, and the id (empty for the default) */

static ngx_palette_cert_zone_t *
ngx_palette_cert_watch_target(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *id)
{
    u_char                   *p;
    ngx_str_t                 name;
    ngx_palette_cert_zone_t  *zone;

    name = *value;

    /* the default's: empty, but never NULL, as it goes into messages */
    ngx_str_set(id, "");

    p = ngx_strlchr(name.data, name.data + name.len, '/');

    if (p) {
        id->data = p + 1;
        id->len = name.data + name.len - id->data;
        name.len = p - name.data;

        if (!ngx_palette_cert_id_valid(id->data, id->len)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid certificate id \"%V\" in "
                               "\"palette_cert_watch\": up to 64 letters, "
                               "digits, dots, underscores and hyphens, "
                               "starting with a letter or digit", id);
            return NULL;
        }
    }

    zone = ngx_palette_cert_find_zone(cf, &name);

    if (zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"palette_cert_watch\" refers to zone \"%V\" "
                           "that is not declared by \"palette_cert_zone\" "
                           "before it", &name);
        return NULL;
    }

    if (ngx_palette_cert_watch_find(zone, id)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"palette_cert_watch\": the %s%V%s of zone "
                           "\"%V\" is watched already",
                           id->len ? "certificate \"" : "default certificate",
                           id, id->len ? "\"" : "", &zone->name);
        return NULL;
    }

    return zone;
}


ngx_palette_cert_watch_t *
ngx_palette_cert_watch_find(ngx_palette_cert_zone_t *zone, ngx_str_t *id)
{
    ngx_uint_t                  i;
    ngx_palette_cert_watch_t  **w;

    w = zone->watches.elts;

    for (i = 0; i < zone->watches.nelts; i++) {
        if (w[i]->id.len == id->len
            && (id->len == 0
                || ngx_strncmp(w[i]->id.data, id->data, id->len) == 0))
        {
            return w[i];
        }
    }

    return NULL;
}


/* whether the certificate in service is the watched files' */

ngx_uint_t
ngx_palette_cert_watch_serves(ngx_palette_cert_watch_t *w,
    ngx_uint_t generation)
{
    return w->sh && w->sh->generation == generation && generation != 0;
}


/*
 * Each watch's state in the zone, found again after a reload that kept
 * the zone; then, at the first start, the check that lets valid watched
 * files win over the store.  Run by the master, or the single process.
 */

ngx_int_t
ngx_palette_cert_watch_init(ngx_cycle_t *cycle, ngx_palette_cert_zone_t *zone)
{
    ngx_uint_t                    i;
    ngx_palette_cert_watch_t    **w;
    ngx_palette_cert_watch_sh_t  *wsh;

    if (zone->sh == NULL || zone->watches.nelts == 0) {
        return NGX_OK;
    }

    w = zone->watches.elts;

    for (i = 0; i < zone->watches.nelts; i++) {

        ngx_shmtx_lock(&zone->shpool->mutex);

        for (wsh = zone->sh->watches; wsh; wsh = wsh->next) {
            if (wsh->key == w[i]->key) {
                break;
            }
        }

        if (wsh == NULL) {
            wsh = ngx_slab_calloc_locked(zone->shpool,
                                         sizeof(ngx_palette_cert_watch_sh_t));

            if (wsh) {
                wsh->key = w[i]->key;
                wsh->next = zone->sh->watches;
                zone->sh->watches = wsh;
            }
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (wsh == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "palette_cert zone \"%V\" is too small for the "
                          "state of \"palette_cert_watch\" of \"%V\"",
                          &zone->name, &w[i]->path);
            return NGX_ERROR;
        }

        w[i]->sh = wsh;

        /* a check its process left unfinished is not waited for */

        wsh->busy = 0;
        wsh->next_check = 0;

        /* at start, before anything is served; after a reload, a worker */

        if (cycle->old_cycle == NULL
            || cycle->old_cycle->conf_ctx == NULL)
        {
            ngx_palette_cert_watch_check(w[i], cycle->log);
        }
    }

    return NGX_OK;
}


/* every worker looks at the watches' clock */

ngx_int_t
ngx_palette_cert_watch_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i, j;
    ngx_palette_cert_zone_t      **zones;
    ngx_palette_cert_watch_t     **w;
    ngx_palette_cert_main_conf_t  *pmcf;

    pmcf = ngx_palette_cert_worker_conf(cycle);
    if (pmcf == NULL) {
        return NGX_OK;
    }

    ngx_palette_cert_watch_conn.fd = (ngx_socket_t) -1;
    ngx_palette_cert_watch_live = 1;

    zones = pmcf->zones.elts;

    for (i = 0; i < pmcf->zones.nelts; i++) {
        w = zones[i]->watches.elts;

        for (j = 0; j < zones[i]->watches.nelts; j++) {
            if (w[j]->sh == NULL) {
                continue;
            }

            w[j]->event.handler = ngx_palette_cert_watch_handler;
            w[j]->event.data = &ngx_palette_cert_watch_conn;
            w[j]->event.log = cycle->log;
            w[j]->event.cancelable = 1;

#if (NGX_THREADS)
            w[j]->guard.handler = ngx_palette_cert_job_guard;
            w[j]->guard.data = w[j];
            w[j]->guard.log = cycle->log;
#endif

            ngx_add_timer(&w[j]->event,
                          ngx_random() % ngx_min(w[j]->interval, 1000) + 1);
        }
    }

    return NGX_OK;
}


static void
ngx_palette_cert_watch_handler(ngx_event_t *ev)
{
    ngx_msec_t                 now;
    ngx_atomic_uint_t          next;
    ngx_palette_cert_watch_t  *w;

    w = (ngx_palette_cert_watch_t *)
            ((u_char *) ev - offsetof(ngx_palette_cert_watch_t, event));

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* every worker comes by twice an interval; one of them checks */

    ngx_add_timer(ev, w->interval / 2);

    if (w->running || w->zone->sh->retired) {
        return;
    }

    now = ngx_palette_cert_watch_now();
    next = w->sh->next_check;

    if ((ngx_msec_t) next > now
        || !ngx_atomic_cmp_set(&w->sh->next_check, next,
                               (ngx_atomic_uint_t) (now + w->interval)))
    {
        return;
    }

    ngx_palette_cert_watch_check(w, ev->log);
}


/* one process at a time checks a watch; one that died is not waited for */

static ngx_int_t
ngx_palette_cert_watch_take(ngx_palette_cert_watch_t *w)
{
    ngx_pid_t  pid;

    if (ngx_atomic_cmp_set(&w->sh->busy, 0, ngx_pid)) {
        return NGX_OK;
    }

    pid = (ngx_pid_t) w->sh->busy;

    if (pid != ngx_pid && pid != 0
        && kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH
        && ngx_atomic_cmp_set(&w->sh->busy, pid, ngx_pid))
    {
        return NGX_OK;
    }

    return NGX_BUSY;
}


static void
ngx_palette_cert_watch_release(ngx_palette_cert_watch_t *w)
{
    w->running = 0;

    (void) ngx_atomic_cmp_set(&w->sh->busy, ngx_pid, 0);
}


static void
ngx_palette_cert_watch_check(ngx_palette_cert_watch_t *w, ngx_log_t *log)
{
    ngx_uint_t                     layout;
    ngx_palette_cert_watch_sig_t   sig;
    ngx_palette_cert_watch_job_t  *job;

    if (ngx_palette_cert_watch_take(w) != NGX_OK) {
        return;
    }

    if (ngx_palette_cert_watch_stat(w, &sig, &layout, log) != NGX_OK) {
        ngx_palette_cert_watch_release(w);
        return;
    }

    /* the files acted upon last: served, or refused */

    if (ngx_memcmp(&sig, &w->sh->seen, sizeof(sig)) == 0
        && w->sh->tries == 0)
    {
        w->sh->problem = 0;
        ngx_palette_cert_watch_release(w);
        return;
    }

    job = ngx_calloc(sizeof(ngx_palette_cert_watch_job_t), log);
    if (job == NULL) {
        ngx_palette_cert_watch_release(w);
        return;
    }

    job->watch = w;
    job->sig = sig;
    job->layout = layout;

    w->running = 1;

    ngx_palette_cert_job_init(&job->job, &ngx_palette_cert_watch_ops, w->zone,
                              &w->id);

#if (NGX_THREADS)

    /* at start the master reads the folders itself */

    job->job.thread_pool = ngx_palette_cert_watch_live ? w->thread_pool : NULL;
    job->job.task = &w->task;
    job->job.guard = &w->guard;

#endif

    ngx_palette_cert_job_check(&job->job, log);
}


/*
 * What the folder holds now: the files' identities, sizes and times, a
 * few stat() calls.  NGX_DECLINED, logged once, when it holds no pair.
 */

static ngx_int_t
ngx_palette_cert_watch_stat(ngx_palette_cert_watch_t *w,
    ngx_palette_cert_watch_sig_t *sig, ngx_uint_t *layout, ngx_log_t *log)
{
    u_char       path[NGX_MAX_PATH];
    char        *name;
    ngx_err_t    err;
    ngx_uint_t   i, l;
    struct stat  st;

    ngx_memzero(sig, sizeof(ngx_palette_cert_watch_sig_t));

    if (stat((char *) w->path.data, &st) == -1) {
        ngx_palette_cert_watch_problem(w, 3, ngx_errno, NULL, log);
        return NGX_DECLINED;
    }

    if (!S_ISDIR(st.st_mode)) {
        ngx_palette_cert_watch_problem(w, 3, NGX_ENOTDIR, NULL, log);
        return NGX_DECLINED;
    }

    err = 0;

    for (l = 0; l < 2; l++) {
        for (i = 0; i < 3; i++) {
            name = ngx_palette_cert_watch_file_names[l][i];

            if (name == NULL) {
                break;
            }

            ngx_snprintf(path, sizeof(path), "%V/%s%Z", &w->path, name);

            if (stat((char *) path, &st) == -1) {
                err = ngx_errno;

                if (i == 0) {
                    break;
                }

                if (i == 2 && err == NGX_ENOENT) {

                    /* the CA is optional */

                    ngx_memzero(&sig->file[i], sizeof(sig->file[i]));
                    err = 0;
                    continue;
                }

                ngx_palette_cert_watch_problem(w, l * 3 + i, err, NULL, log);
                return NGX_DECLINED;
            }

            sig->file[i].dev = st.st_dev;
            sig->file[i].ino = st.st_ino;
            sig->file[i].size = st.st_size;
            sig->file[i].mtime = st.st_mtim.tv_sec;
            sig->file[i].mtime_nsec = st.st_mtim.tv_nsec;
            sig->file[i].ctime = st.st_ctim.tv_sec;
            sig->file[i].ctime_nsec = st.st_ctim.tv_nsec;
            sig->file[i].present = 1;
        }

        if (i > 0) {
            *layout = l;
            return NGX_OK;
        }
    }

    /* neither tls.crt nor fullchain.pem */

    ngx_palette_cert_watch_problem(w, 0, err, NULL, log);

    return NGX_DECLINED;
}


/*
 * Reads the files and validates them as an upload is, then looks at the
 * files again: a writer that changed them meanwhile is waited for
 * (NGX_AGAIN).  It may run in a thread: it reads the zone's configuration
 * only, and writes the job.
 */

static void
ngx_palette_cert_watch_load(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_watch_job_t *job = (ngx_palette_cert_watch_job_t *) j;

    ngx_uint_t                     i, layout;
    ngx_palette_cert_pem_t         pem;
    ngx_palette_cert_watch_t      *w;
    ngx_palette_cert_watch_sig_t   sig;

    w = job->watch;

    for (i = 0; i < 3; i++) {
        if (job->sig.file[i].present
            && ngx_palette_cert_watch_read(job, i) != NGX_OK)
        {
            job->job.rc = NGX_ABORT;
            return;
        }
    }

    /* a pair whose files changed while read is read again later */

    if (ngx_palette_cert_watch_stat(w, &sig, &layout, NULL) != NGX_OK
        || layout != job->layout
        || ngx_memcmp(&sig, &job->sig, sizeof(sig)) != 0)
    {
        job->job.rc = NGX_AGAIN;
        return;
    }

    ngx_memzero(&pem, sizeof(ngx_palette_cert_pem_t));

    pem.cert = job->data[0];
    pem.key = job->data[1];
    pem.ca = job->data[2];

    ngx_palette_cert_job_validate(j, w->zone, &pem);
}


static ngx_int_t
ngx_palette_cert_watch_read(ngx_palette_cert_watch_job_t *job, ngx_uint_t i)
{
    u_char       path[NGX_MAX_PATH], *buf;
    size_t       size;
    ssize_t      n;
    ngx_fd_t     fd;
    struct stat  st;

    ngx_snprintf(path, sizeof(path), "%V/%s%Z", &job->watch->path,
                 ngx_palette_cert_watch_file_names[job->layout][i]);

    job->failed_file = job->layout * 3 + i;

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        job->failed_err = ngx_errno;
        return NGX_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        job->failed_err = ngx_errno;
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    if (st.st_size > NGX_PALETTE_CERT_WATCH_FILE_MAX) {
        job->failed_err = EFBIG;
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    size = (size_t) st.st_size;

    buf = ngx_alloc(size + 1, ngx_cycle->log);
    if (buf == NULL) {
        job->failed_err = NGX_ENOMEM;
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    job->data[i].data = buf;
    job->data[i].len = 0;

    while (job->data[i].len < size) {
        n = read(fd, buf + job->data[i].len, size - job->data[i].len);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            job->failed_err = ngx_errno;
            (void) ngx_close_file(fd);
            return NGX_ERROR;
        }

        if (n == 0) {
            break;
        }

        job->data[i].len += n;
    }

    (void) ngx_close_file(fd);

    return NGX_OK;
}


/* in the event loop, once read and validated */

static void
ngx_palette_cert_watch_loaded(ngx_palette_cert_job_t *j, ngx_log_t *log)
{
    ngx_palette_cert_watch_job_t *job = (ngx_palette_cert_watch_job_t *) j;

    ngx_palette_cert_watch_t     *w;
    ngx_palette_cert_watch_sh_t  *wsh;

    w = job->watch;
    wsh = w->sh;

    switch (job->job.rc) {

    case NGX_AGAIN:

        /* a writer is at work: soon again */

        wsh->next_check = 0;
        break;

    case NGX_ABORT:
        ngx_palette_cert_watch_problem(w, job->failed_file, job->failed_err,
                                       NULL, log);
        break;

    case NGX_DECLINED:

        /* a key caught before its certificate, or after, is waited for */

        if (ngx_strcmp(job->job.err.code, "key_mismatch") == 0
            && wsh->tries < NGX_PALETTE_CERT_WATCH_TRIES)
        {
            wsh->tries++;
            break;
        }

        ngx_palette_cert_watch_refused(job, log);
        wsh->problem = 0;
        break;

    case NGX_OK:

        if (ngx_palette_cert_watch_same(job, log)) {
            wsh->seen = job->sig;
            wsh->tries = 0;
            wsh->problem = 0;
            break;
        }

        if (ngx_palette_cert_watch_apply(job, log) == NGX_AGAIN) {

            /* a thread writes the store: finished when it is done */

            return;
        }

        break;

    default:
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": the watched folder \"%V\" "
                      "could not be checked", &w->zone->name, &w->path);
        break;
    }

    ngx_palette_cert_watch_end(j);
}


/*
 * The files are refused (job->job.err says why): logged and counted once,
 * and not looked at again until they change.
 */

static void
ngx_palette_cert_watch_refused(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log)
{
    ngx_palette_cert_error_t  *err;
    ngx_palette_cert_watch_t  *w;

    w = job->watch;
    err = &job->job.err;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "palette_cert zone \"%V\"%s%V%s: the watched folder "
                  "\"%V\" is refused (%s): %*s; the certificate in "
                  "service stays",
                  &w->zone->name, w->id.len ? " certificate \"" : "",
                  &w->id, w->id.len ? "\"" : "", &w->path, err->code,
                  err->last - err->message, err->message);

    ngx_palette_cert_count_change(w->zone, err->code);

    w->sh->seen = job->sig;
    w->sh->tries = 0;
}


/* the same chain and CA as served: then the key is the same too */

static ngx_uint_t
ngx_palette_cert_watch_equal(ngx_palette_cert_pem_t *pem, ngx_str_t *cert,
    ngx_str_t *ca, ngx_uint_t has_ca)
{
    return cert->len == pem->cert.len
           && ngx_memcmp(cert->data, pem->cert.data, pem->cert.len) == 0
           && has_ca == pem->has_ca
           && (!has_ca
               || (ca->len == pem->ca.len
                   && ngx_memcmp(ca->data, pem->ca.data, pem->ca.len) == 0));
}


/*
 * Whether the files hold the certificate in service, as after a restart:
 * then nothing changes, but it is known to be the watched one.
 */

static ngx_uint_t
ngx_palette_cert_watch_same(ngx_palette_cert_watch_job_t *job, ngx_log_t *log)
{
    ngx_int_t                  rc;
    ngx_uint_t                 same, generation;
    ngx_palette_cert_pem_t     cur, *pem;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_named_t  *e;
    ngx_palette_cert_watch_t  *w;

    w = job->watch;
    zone = w->zone;
    pem = &job->job.pem;

    if (w->id.len == 0) {
        (void) ngx_palette_cert_refresh(zone, log);

        same = zone->current.leaf
               && zone->current.source == NGX_PALETTE_CERT_UPLOADED
               && ngx_palette_cert_watch_equal(pem, &zone->current.cert_pem,
                                               &zone->current.ca_pem,
                                               zone->current.has_ca);

        if (same) {
            w->sh->generation = zone->current.generation;
        }

        return same;
    }

    rc = NGX_DECLINED;
    generation = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = ngx_palette_cert_named_find(zone, w->id.data, w->id.len);

    if (e) {
        rc = ngx_palette_cert_named_copy(e, &cur);
        generation = e->generation;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc != NGX_OK) {
        return 0;
    }

    same = ngx_palette_cert_watch_equal(pem, &cur.cert, &cur.ca, cur.has_ca);

    ngx_palette_cert_pem_free(&cur);

    if (same) {
        w->sh->generation = generation;
    }

    return same;
}


/*
 * Makes the files' certificate current, as an upload is: under the zone's
 * change lock, in the zone and the store.  Another change being applied,
 * or a reload or an upgrade running over the store, leave it to the next
 * check.  NGX_AGAIN when a thread writes the store.
 */

static ngx_int_t
ngx_palette_cert_watch_apply(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log)
{
    ngx_int_t  rc;

    rc = ngx_palette_cert_change_begin(&job->job.change, &job->job.err, log);

    if (rc == NGX_BUSY) {

        /* another change, a reload or another nginx: soon again */

        job->watch->sh->next_check = 0;
        return NGX_BUSY;
    }

    if (rc == NGX_DECLINED) {

        /* a name of another certificate, or no room: until they change */

        ngx_palette_cert_watch_refused(job, log);
        return NGX_DECLINED;
    }

    return ngx_palette_cert_job_store(&job->job, log);
}


/* the store's part; it may run in a thread */

static ngx_int_t
ngx_palette_cert_watch_store(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_watch_job_t *job = (ngx_palette_cert_watch_job_t *) j;

    ngx_palette_cert_watch_t  *w;

    w = job->watch;

    if (w->id.len) {
        return ngx_palette_cert_store_save_named(w->zone, &w->id, &job->job.pem,
                                                 ngx_cycle->log);
    }

    return ngx_palette_cert_store_save(w->zone, &job->job.pem, ngx_cycle->log);
}


/* once the store is written (rc): made current or given back */

static void
ngx_palette_cert_watch_finish(ngx_palette_cert_job_t *j, ngx_log_t *log)
{
    ngx_palette_cert_watch_job_t *job = (ngx_palette_cert_watch_job_t *) j;

    ngx_int_t                  rc;
    ngx_palette_cert_zone_t   *zone;
    ngx_palette_cert_watch_t  *w;

    w = job->watch;
    zone = w->zone;

    rc = ngx_palette_cert_change_end(&job->job.change, job->job.rc);

    if (job->job.rc == NGX_ERROR) {
        w->sh->next_check = ngx_palette_cert_watch_now()
                            + NGX_PALETTE_CERT_WATCH_STORE_AGAIN;

        if (w->sh->problem != NGX_PALETTE_CERT_WATCH_STORE_FAILED) {
            w->sh->problem = NGX_PALETTE_CERT_WATCH_STORE_FAILED;

            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "palette_cert zone \"%V\": the certificate of "
                          "the watched folder \"%V\" could not be saved in "
                          "the store, it is tried again every minute",
                          &zone->name, &w->path);

            ngx_palette_cert_count_change(zone, "store_failed");
        }

        return;
    }

    w->sh->problem = 0;

    if (rc == NGX_ERROR) {

        /* the index of names has no room left for this one's */

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "palette_cert zone \"%V\" is too small for the names "
                      "of the certificate of the watched folder \"%V\"; "
                      "the certificate in service stays",
                      &zone->name, &w->path);

        ngx_palette_cert_count_change(zone, "zone_full");

        w->sh->seen = job->sig;
        return;
    }

    if (rc != NGX_OK) {

        /* another change came first: the next check tries again */

        w->sh->next_check = 0;
        return;
    }

    w->sh->seen = job->sig;
    w->sh->tries = 0;
    w->sh->generation = job->job.pem.generation;

    ngx_palette_cert_watch_audit(job, log);

    ngx_palette_cert_count_change(zone, "ok");

    if (ngx_palette_cert_watch_live) {
        ngx_palette_cert_expire_check(zone, log);
    }
}


/* the audit line: never any key material */

static void
ngx_palette_cert_watch_audit(ngx_palette_cert_watch_job_t *job,
    ngx_log_t *log)
{
    u_char                    *s, *d, *h;
    u_char                     subject[256], date[32], sha[64], md[32];
    X509                      *leaf;
    unsigned int               n;
    ngx_palette_cert_watch_t  *w;

    w = job->watch;
    leaf = job->job.bundle.leaf;

    if (X509_digest(leaf, EVP_sha256(), md, &n) != 1 || n != 32) {
        ngx_memzero(md, 32);
    }

    h = ngx_hex_dump(sha, md, 32);
    s = ngx_palette_cert_subject(subject, subject + sizeof(subject),
                                 X509_get_subject_name(leaf));
    d = ngx_palette_cert_time(date, X509_get0_notAfter(leaf));

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "palette_cert zone \"%V\"%s%V%s changed by the watched "
                  "folder \"%V\": generation %ui, sha256 %*s, subject "
                  "\"%*s\", not_after %*s",
                  &w->zone->name, w->id.len ? " certificate \"" : "", &w->id,
                  w->id.len ? "\"" : "", &w->path, job->job.pem.generation,
                  h - sha, sha, s - subject, subject, d - date, date);
}


/*
 * A folder that cannot be used (file is the index of the file at fault,
 * 3 the folder itself): logged once until another problem, or none.
 */

static void
ngx_palette_cert_watch_problem(ngx_palette_cert_watch_t *w, ngx_uint_t file,
    ngx_err_t err, const char *what, ngx_log_t *log)
{
    char     *name;
    uint32_t  problem;

    if (log == NULL) {
        return;
    }

    problem = (uint32_t) (file + 1) * 65599 + (uint32_t) err + 2;

    if (w->sh->problem == problem) {
        return;
    }

    w->sh->problem = problem;

    if (file == 3) {
        ngx_log_error(NGX_LOG_ERR, log, err,
                      "palette_cert zone \"%V\"%s%V%s: the watched folder "
                      "\"%V\" cannot be used; the certificate in service "
                      "stays", &w->zone->name,
                      w->id.len ? " certificate \"" : "", &w->id,
                      w->id.len ? "\"" : "", &w->path);
        return;
    }

    if (file == 0 && err == NGX_ENOENT) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "palette_cert zone \"%V\"%s%V%s: the watched folder "
                      "\"%V\" holds neither \"tls.crt\" and \"tls.key\" nor "
                      "\"fullchain.pem\" and \"privkey.pem\"; the "
                      "certificate in service stays", &w->zone->name,
                      w->id.len ? " certificate \"" : "", &w->id,
                      w->id.len ? "\"" : "", &w->path);
        return;
    }

    name = ngx_palette_cert_watch_file_names[file / 3][file % 3];

    ngx_log_error(NGX_LOG_ERR, log, err,
                  "palette_cert zone \"%V\"%s%V%s: \"%V/%s\" cannot be read "
                  "by the worker user%s; the certificate in service stays",
                  &w->zone->name, w->id.len ? " certificate \"" : "", &w->id,
                  w->id.len ? "\"" : "", &w->path, name,
                  err == NGX_EACCES ? " (see its mode and group)" : "");
}


static void
ngx_palette_cert_watch_end(ngx_palette_cert_job_t *j)
{
    ngx_palette_cert_watch_job_t *job = (ngx_palette_cert_watch_job_t *) j;

    ngx_uint_t  i;

    for (i = 0; i < 3; i++) {
        if (job->data[i].data) {
            ngx_explicit_memzero(job->data[i].data, job->data[i].len);
            ngx_free(job->data[i].data);
        }
    }

    ngx_palette_cert_job_free(&job->job);

#if (NGX_THREADS)
    if (job->watch->guard.timer_set) {
        ngx_del_timer(&job->watch->guard);
    }
#endif

    ngx_palette_cert_watch_release(job->watch);

    ngx_explicit_memzero(job, sizeof(ngx_palette_cert_watch_job_t));
    ngx_free(job);
}


static ngx_msec_t
ngx_palette_cert_watch_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}
