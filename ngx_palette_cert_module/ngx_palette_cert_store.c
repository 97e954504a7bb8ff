
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Persistence in the zone's store folder, as plain PEM files that standard
 * tools read:
 *
 *     STORE/current -> gen-N        symbolic link, switched atomically
 *     STORE/gen-N/certificate.pem   the chain as served
 *     STORE/gen-N/key.pem           the private key, mode 0600
 *     STORE/gen-N/ca.pem            the CA certificates, when given
 *     STORE/gen-N/source            "uploaded" or "self-signed"
 *     STORE/self-signed/...         the self-signed default, kept apart
 *     STORE/named/ID/current, gen-N/ a named certificate, the same way,
 *                                   with gen-N/meta: the names it is
 *                                   served for, its key type, not_after
 *                                   and sha256, so that a start reads
 *                                   them without parsing it
 *
 * A new generation is written into a temporary folder, each file and the
 * folder are synced, the folder is renamed to gen-N, and a new link
 * replaces "current" by rename(): a crash at any moment leaves either the
 * old or the new generation.  Once "current" is switched, the change is
 * made.  Files are never read or written on the handshake path.
 *
 * The master reads and writes as root in a folder the worker user owns, so
 * whatever the worker user can put there is not trusted: the store folder
 * is opened once per operation, never through a link, and everything else
 * is reached relative to it (openat() and friends) by a name of the
 * store's own pattern ("gen-N", ".tmp-N", "self-signed", "current",
 * "named", an id, and the five file names), never following a link:
 * "current" is read as text and must name a generation folder, folders
 * and files are opened with O_NOFOLLOW, and only regular files are read.
 * Files are created exclusively in a folder only root can write to until
 * it is complete, and handed to the worker user last.
 *
 * Two nginx instances may run over one store: the old and the new one of
 * a binary upgrade, each with its own shared memory.  STORE/.lock tells
 * them apart.  Each instance opens it once, in the master, and holds a
 * shared lock on byte 1 through that open file (an open file description
 * lock: the workers share it, it survives the master's daemonisation and
 * ends with the last process of the instance).  A process changing the
 * store holds a write lock on byte 0 (a process's lock, gone when it
 * dies); a worker that finds another instance's lock on byte 1 changes
 * nothing, as that instance would not serve the change, and a master
 * reads the store only once no change is half-written.
 */


#include "ngx_palette_cert.h"

#include <dirent.h>


#define NGX_PALETTE_CERT_FILE_MAX  (1024 * 1024)


/* the lock file of each store this process opened, kept across reloads */

typedef struct ngx_palette_cert_lock_s  ngx_palette_cert_lock_t;

struct ngx_palette_cert_lock_s {
    ngx_palette_cert_lock_t     *next;
    ngx_fd_t                     fd;
    size_t                       len;
    u_char                       path[1];
};


static ngx_palette_cert_lock_t  *ngx_palette_cert_locks;


/* a walk over the named certificates of the store: what its steps need */

typedef struct ngx_palette_cert_walk_s  ngx_palette_cert_walk_t;

typedef ngx_int_t (*ngx_palette_cert_step_pt)(ngx_palette_cert_zone_t *nz,
    ngx_palette_cert_walk_t *w);

struct ngx_palette_cert_walk_s {
    ngx_palette_cert_zone_t     *zone;
    const char                  *which;
    ngx_palette_cert_file_t     *files;
    ngx_log_t                   *log;

    ngx_int_t                  (*named)(ngx_palette_cert_zone_t *zone,
                                        ngx_str_t *id,
                                        ngx_palette_cert_pem_t *pem);
    ngx_int_t                  (*aside)(ngx_palette_cert_zone_t *zone,
                                        ngx_palette_cert_file_t *files);
};


/* a path for messages only: files are never opened by it */

typedef struct {
    u_char      buf[NGX_MAX_PATH];
} ngx_palette_cert_path_t;


static u_char *ngx_palette_cert_path(ngx_palette_cert_path_t *path,
    ngx_palette_cert_zone_t *zone, const char *dir, const char *file);
static void ngx_palette_cert_named_clean(DIR *dir, char *name, size_t len);
static ngx_fd_t ngx_palette_cert_descend(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *name, ngx_uint_t create, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_named_each(ngx_palette_cert_zone_t *zone,
    ngx_fd_t nfd, ngx_palette_cert_step_pt step, ngx_palette_cert_walk_t *w);
static ngx_int_t ngx_palette_cert_named_step(ngx_palette_cert_zone_t *nz,
    ngx_palette_cert_walk_t *w);
static ngx_int_t ngx_palette_cert_aside_step(ngx_palette_cert_zone_t *nz,
    ngx_palette_cert_walk_t *w);
static ngx_int_t ngx_palette_cert_aside_give(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, ngx_palette_cert_walk_t *w);
static void ngx_palette_cert_named_generation(ngx_palette_cert_zone_t *zone,
    ngx_fd_t nfd, ngx_uint_t generation, ngx_log_t *log);
static ngx_fd_t ngx_palette_cert_named_open(ngx_palette_cert_zone_t *zone,
    ngx_fd_t sfd, ngx_uint_t create, ngx_log_t *log);
static ngx_fd_t ngx_palette_cert_subdir(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *name, ngx_uint_t create, ngx_log_t *log);
static ngx_fd_t ngx_palette_cert_store_open(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_name_number(u_char *name, size_t len,
    const char *prefix);
static ngx_int_t ngx_palette_cert_current(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, u_char *name, size_t size, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_load_current(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, u_char *dir, size_t size, ngx_palette_cert_pem_t *pem,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_read_pem(ngx_palette_cert_zone_t *zone,
    ngx_fd_t gfd, const char *dir, ngx_palette_cert_pem_t *pem,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_read_source(ngx_palette_cert_zone_t *zone,
    ngx_fd_t gfd, const char *dir, ngx_uint_t *source, ngx_log_t *log);
static ngx_uint_t ngx_palette_cert_last(ngx_fd_t dfd);
static DIR *ngx_palette_cert_scan(ngx_fd_t dfd);
static ngx_int_t ngx_palette_cert_read(ngx_palette_cert_zone_t *zone,
    ngx_fd_t gfd, const char *dir, const char *file, ngx_str_t *out,
    ngx_uint_t optional, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_write_dir(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *dir, ngx_palette_cert_pem_t *pem,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_write_files(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *dir, ngx_palette_cert_file_t *files,
    ngx_log_t *log);
static ngx_fd_t ngx_palette_cert_resource_open(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_read_aside(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *which, ngx_palette_cert_file_t *files,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_write(ngx_palette_cert_zone_t *zone,
    ngx_fd_t gfd, const char *dir, const char *file, ngx_str_t *data,
    ngx_uint_t access, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_sync_dir(ngx_palette_cert_zone_t *zone,
    ngx_fd_t fd, const char *dir, ngx_log_t *log);
static void ngx_palette_cert_store_prune(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, u_char *keep, ngx_log_t *log);
static ngx_uint_t ngx_palette_cert_history_scan(ngx_palette_cert_zone_t *zone,
    DIR *dir, ngx_int_t current, ngx_uint_t *kept);
static ngx_int_t ngx_palette_cert_history_open(ngx_palette_cert_zone_t *zone,
    ngx_fd_t *dfd, u_char *cur, ngx_uint_t *kept, ngx_uint_t *nkept);
static void ngx_palette_cert_remove_dir(ngx_palette_cert_zone_t *zone,
    ngx_fd_t dfd, const char *dir, ngx_log_t *log);
static void ngx_palette_cert_close(ngx_palette_cert_zone_t *zone,
    ngx_fd_t fd, const char *dir, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_owner(ngx_palette_cert_zone_t *zone,
    ngx_uid_t *uid, ngx_gid_t *gid);
static void ngx_palette_cert_lock_byte(struct flock *fl, short type,
    off_t byte);
static ngx_int_t ngx_palette_cert_fd_info(ngx_palette_cert_zone_t *zone,
    ngx_fd_t fd, const char *dir, const char *file, ngx_file_info_t *fi,
    ngx_uint_t level, ngx_log_t *log);


static const char  *ngx_palette_cert_files[] = {
    "certificate.pem", "key.pem", "ca.pem", "source", "meta",
    "request.pem", "info", "activate_at", NULL
};


ngx_int_t
ngx_palette_cert_store_load(ngx_palette_cert_zone_t *zone, const char *which,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    u_char                   dir[32];
    ngx_fd_t                 dfd, gfd;
    ngx_int_t                rc, gen;
    ngx_err_t                err;
    ngx_palette_cert_path_t  path;

    ngx_memzero(pem, sizeof(ngx_palette_cert_pem_t));

    dfd = ngx_palette_cert_store_open(zone, log);

    if (dfd == NGX_INVALID_FILE) {

        /* not made yet ("nginx -t" before the first start): empty */

        return (ngx_errno == NGX_ENOENT) ? NGX_DECLINED : NGX_ERROR;
    }

    gfd = NGX_INVALID_FILE;

    if (ngx_strcmp(which, "current") == 0) {

        rc = ngx_palette_cert_load_current(zone, dfd, dir, sizeof(dir), pem,
                                           log);
        if (rc != NGX_OK) {
            goto done;
        }

        which = (const char *) dir;
    }

    gfd = openat(dfd, which, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (gfd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (err == NGX_ENOENT && ngx_strcmp(which, "self-signed") == 0) {
            rc = NGX_DECLINED;
            goto done;
        }

        ngx_log_error(NGX_LOG_ALERT, log, err,
                      "palette_cert zone \"%V\": \"%s\" is not a folder "
                      "that can be opened (links are not followed)",
                      &zone->name,
                      ngx_palette_cert_path(&path, zone, which, NULL));
        rc = NGX_ERROR;
        goto done;
    }

    rc = ngx_palette_cert_read_pem(zone, gfd, which, pem, log);

    if (rc != NGX_OK) {
        gen = pem->generation;
        ngx_palette_cert_pem_free(pem);
        pem->generation = gen;

        /* a file missing from a generation is damage, not absence */

        rc = (rc == NGX_DECLINED) ? NGX_DECLINED : NGX_ERROR;
        goto done;
    }

    if (pem->ca.data == NULL) {
        pem->ca.data = ngx_alloc(1, log);
        if (pem->ca.data == NULL) {
            ngx_palette_cert_pem_free(pem);
            rc = NGX_ERROR;
            goto done;
        }
    }

    rc = NGX_OK;

done:

    if (gfd != NGX_INVALID_FILE) {
        ngx_palette_cert_close(zone, gfd, which, log);
    }

    ngx_palette_cert_close(zone, dfd, NULL, log);

    return rc;
}


/*
 * The generation folder "current" names, into dir, and its number into
 * pem->generation; when "current" is lost or damaged, the highest
 * generation in the store, so that none is reused.
 */

static ngx_int_t
ngx_palette_cert_load_current(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    u_char *dir, size_t size, ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_int_t                gen;
    ngx_palette_cert_path_t  path;

    gen = ngx_palette_cert_current(zone, dfd, dir, size, log);

    if (gen == NGX_DECLINED) {

        /* a lost link: generations never go back all the same */

        pem->generation = ngx_palette_cert_last(dfd);

        if (pem->generation == 0) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" is missing, though "
                      "generation %ui is in the store", &zone->name,
                      ngx_palette_cert_path(&path, zone, "current", NULL),
                      pem->generation);
        return NGX_ERROR;
    }

    if (gen == NGX_ERROR) {

        /* a link damaged or not ours: no generation is reused */

        pem->generation = ngx_palette_cert_last(dfd);
        return NGX_ERROR;
    }

    pem->generation = gen;

    return NGX_OK;
}


/* the files of a generation folder; the caller frees them on failure */

static ngx_int_t
ngx_palette_cert_read_pem(ngx_palette_cert_zone_t *zone, ngx_fd_t gfd,
    const char *dir, ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_int_t  rc;

    rc = ngx_palette_cert_read(zone, gfd, dir, "certificate.pem", &pem->cert,
                               0, log);

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_read(zone, gfd, dir, "key.pem", &pem->key, 0,
                                   log);
    }

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_read(zone, gfd, dir, "ca.pem", &pem->ca, 1,
                                   log);
        pem->has_ca = (rc == NGX_OK && pem->ca.data != NULL);
    }

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_read_source(zone, gfd, dir, &pem->source, log);
    }

    if (rc == NGX_OK && zone->id.len) {
        rc = ngx_palette_cert_read(zone, gfd, dir, "meta", &pem->meta, 1,
                                   log);
    }

    return rc;
}


/* the "source" file: self-signed, or uploaded (as when it is absent) */

static ngx_int_t
ngx_palette_cert_read_source(ngx_palette_cert_zone_t *zone, ngx_fd_t gfd,
    const char *dir, ngx_uint_t *source, ngx_log_t *log)
{
    ngx_int_t  rc;
    ngx_str_t  text;

    ngx_str_null(&text);

    rc = ngx_palette_cert_read(zone, gfd, dir, "source", &text, 1, log);

    *source = (text.len >= 11
               && ngx_strncmp(text.data, "self-signed", 11) == 0)
              ? NGX_PALETTE_CERT_SELF_SIGNED
              : NGX_PALETTE_CERT_UPLOADED;

    if (text.data) {
        ngx_free(text.data);
    }

    return rc;
}


ngx_int_t
ngx_palette_cert_store_save(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    u_char                   tmp[64], gen[32], old[32];
    ngx_fd_t                 dfd;
    ngx_int_t                rc;
    ngx_uid_t                uid;
    ngx_gid_t                gid;
    ngx_palette_cert_path_t  path, to;

    ngx_sprintf(tmp, ".tmp-%P%Z", ngx_pid);
    ngx_sprintf(gen, "gen-%ui%Z", pem->generation);

    dfd = ngx_palette_cert_store_open(zone, log);

    if (dfd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    /* the generation now current, removed once it is replaced */

    if (ngx_palette_cert_current(zone, dfd, old, sizeof(old), NULL) > 0
        && ngx_strcmp(old, gen) == 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": the store already holds "
                      "generation %ui", &zone->name, pem->generation);
        goto done;
    }

    ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);
    ngx_palette_cert_remove_dir(zone, dfd, (char *) gen, log);

    if (ngx_palette_cert_write_dir(zone, dfd, (char *) tmp, pem, log)
        != NGX_OK)
    {
        ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);
        goto done;
    }

    if (renameat(dfd, (char *) tmp, dfd, (char *) gen) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "renameat() \"%s\" to \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, (char *) tmp, NULL),
                      ngx_palette_cert_path(&to, zone, (char *) gen, NULL));
        ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);
        goto done;
    }

    if (ngx_palette_cert_sync_dir(zone, dfd, NULL, log) != NGX_OK) {
        goto failed;
    }

    /* a new link, then renamed over "current" */

    (void) unlinkat(dfd, ".current", 0);

    if (symlinkat((char *) gen, dfd, ".current") == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "symlinkat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, ".current", NULL));
        goto failed;
    }

    if (ngx_palette_cert_owner(zone, &uid, &gid) == NGX_OK
        && fchownat(dfd, ".current", uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
    {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchownat(\"%s\", %uL) failed",
                      ngx_palette_cert_path(&path, zone, ".current", NULL),
                      (uint64_t) uid);
    }

    if (renameat(dfd, ".current", dfd, "current") == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "renameat() \"%s\" to \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, ".current", NULL),
                      ngx_palette_cert_path(&to, zone, "current", NULL));
        (void) unlinkat(dfd, ".current", 0);
        goto failed;
    }

    /*
     * The change is made: a failure to sync the folder now is logged,
     * and the next start still finds the new generation or the old one.
     */

    (void) ngx_palette_cert_sync_dir(zone, dfd, NULL, log);

    /* the generation replaced, and any a damaged start left behind */

    ngx_palette_cert_store_prune(zone, dfd, gen, log);

    rc = NGX_OK;

    goto done;

failed:

    ngx_palette_cert_remove_dir(zone, dfd, (char *) gen, log);

done:

    ngx_palette_cert_close(zone, dfd, NULL, log);

    return rc;
}


/*
 * A named certificate is stored the same way, in a folder of its own: a
 * copy of the zone with its id stands for that folder.
 */

ngx_int_t
ngx_palette_cert_store_save_named(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_fd_t                 sfd, nfd, fd;
    ngx_palette_cert_zone_t  nz;

    nz = *zone;
    nz.id = *id;

    /* named/ID, made if need be */

    fd = ngx_palette_cert_resource_open(&nz, log);

    if (fd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    (void) close(fd);

    if (ngx_palette_cert_store_save(&nz, pem, log) != NGX_OK) {
        return NGX_ERROR;
    }

    sfd = ngx_palette_cert_store_open(zone, log);

    if (sfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    nfd = ngx_palette_cert_descend(zone, sfd, "named", 0, log);

    if (nfd != NGX_INVALID_FILE) {
        ngx_palette_cert_named_generation(zone, nfd, pem->generation, log);
        (void) close(nfd);
    }

    return NGX_OK;
}


/*
 * STORE/named/.generation: the generation of the last change of a named
 * certificate, so that a deletion, which leaves no folder, is not
 * forgotten by the next start.  Written once the change is made; should
 * that fail, only the zone's generation a start tells is lower.
 */

static void
ngx_palette_cert_named_generation(ngx_palette_cert_zone_t *zone,
    ngx_fd_t nfd, ngx_uint_t generation, ngx_log_t *log)
{
    u_char     tmp[64], buf[NGX_INT_T_LEN + 1];
    ngx_str_t  text;

    ngx_sprintf(tmp, ".generation.%P%Z", ngx_pid);

    (void) unlinkat(nfd, (char *) tmp, 0);

    text.data = buf;
    text.len = ngx_sprintf(buf, "%ui\n", generation) - buf;

    if (ngx_palette_cert_write(zone, nfd, "named", (char *) tmp, &text, 0644,
                               log)
        != NGX_OK)
    {
        (void) unlinkat(nfd, (char *) tmp, 0);
        return;
    }

    if (renameat(nfd, (char *) tmp, nfd, ".generation") == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "renameat() \"%s\" failed", tmp);
        (void) unlinkat(nfd, (char *) tmp, 0);
        return;
    }

    (void) fsync(nfd);
}


/* the generation of the last change of a named certificate, or 0 */

ngx_uint_t
ngx_palette_cert_store_named_last(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log)
{
    u_char      buf[NGX_INT_T_LEN + 1];
    ssize_t     n;
    ngx_fd_t    sfd, nfd, fd;
    ngx_int_t   gen;

    sfd = ngx_palette_cert_store_open(zone, NULL);

    if (sfd == NGX_INVALID_FILE) {
        return 0;
    }

    nfd = ngx_palette_cert_descend(zone, sfd, "named", 0, NULL);

    if (nfd == NGX_INVALID_FILE) {
        return 0;
    }

    fd = openat(nfd, ".generation",
                O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC);

    (void) close(nfd);

    if (fd == NGX_INVALID_FILE) {
        return 0;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    (void) close(fd);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    gen = (n > 0) ? ngx_atoi(buf, n) : NGX_ERROR;

    if (gen == NGX_ERROR) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "palette_cert zone \"%V\": \"%V/named/.generation\" "
                      "holds no generation, it is ignored", &zone->name,
                      &zone->store);
        return 0;
    }

    return gen;
}


/*
 * Removing "current" is the change; the generations and the folder go
 * after it, and a start that finds a folder without "current" removes it.
 */

ngx_int_t
ngx_palette_cert_store_delete_named(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_uint_t generation, ngx_log_t *log)
{
    u_char                   name[NGX_PALETTE_CERT_ID_LEN + 1];
    ngx_fd_t                 dfd, sfd, nfd;
    ngx_palette_cert_zone_t  nz;
    ngx_palette_cert_path_t  path;

    nz = *zone;
    nz.id = *id;

    dfd = ngx_palette_cert_store_open(&nz, NULL);

    if (dfd == NGX_INVALID_FILE) {
        if (ngx_errno != NGX_ENOENT) {
            (void) ngx_palette_cert_store_open(&nz, log);
            return NGX_ERROR;
        }

        goto folder;
    }

    if (unlinkat(dfd, "current", 0) == -1 && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "unlinkat() \"%s\" failed",
                      ngx_palette_cert_path(&path, &nz, "current", NULL));
        ngx_palette_cert_close(&nz, dfd, NULL, log);
        return NGX_ERROR;
    }

    (void) ngx_palette_cert_sync_dir(&nz, dfd, NULL, log);

    ngx_palette_cert_store_prune(&nz, dfd, (u_char *) "", log);

    ngx_palette_cert_close(&nz, dfd, NULL, log);

folder:

    /* the folder itself, unless something else is left in it */

    sfd = ngx_palette_cert_store_open(zone, NULL);

    if (sfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    nfd = ngx_palette_cert_descend(zone, sfd, "named", 0, NULL);

    if (nfd != NGX_INVALID_FILE) {
        ngx_palette_cert_named_generation(zone, nfd, generation, log);

        ngx_cpystrn(name, id->data, id->len + 1);
        (void) unlinkat(nfd, (char *) name, AT_REMOVEDIR);
        (void) close(nfd);
    }

    return NGX_OK;
}


/* a generation file a process that died while writing it left */

static void
ngx_palette_cert_named_clean(DIR *dir, char *name, size_t len)
{
    ngx_int_t  pid;

    if (ngx_test_config || len <= 12
        || ngx_strncmp(name, ".generation.", 12) != 0)
    {
        return;
    }

    pid = ngx_atoi((u_char *) name + 12, len - 12);

    if (pid == NGX_ERROR || kill((ngx_pid_t) pid, 0) == 0
        || ngx_errno != NGX_ESRCH)
    {
        return;
    }

    (void) unlinkat(dirfd(dir), name, 0);
}


/* each named certificate of the store, given to the handler */

ngx_int_t
ngx_palette_cert_store_load_named(ngx_palette_cert_zone_t *zone,
    ngx_int_t (*handler)(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_pem_t *pem), ngx_log_t *log)
{
    ngx_fd_t                 sfd, nfd;
    ngx_palette_cert_walk_t  w;

    sfd = ngx_palette_cert_store_open(zone, NULL);

    if (sfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    nfd = ngx_palette_cert_descend(zone, sfd, "named", 0, log);

    if (nfd == NGX_INVALID_FILE) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_ERROR;
    }

    ngx_memzero(&w, sizeof(ngx_palette_cert_walk_t));

    w.zone = zone;
    w.named = handler;
    w.log = log;

    return ngx_palette_cert_named_each(zone, nfd, ngx_palette_cert_named_step,
                                       &w);
}


static ngx_int_t
ngx_palette_cert_named_step(ngx_palette_cert_zone_t *nz,
    ngx_palette_cert_walk_t *w)
{
    ngx_fd_t                dfd;
    ngx_int_t               rc;
    ngx_palette_cert_pem_t  pem;

    /* what a process that died while writing left, a key among it */

    if (!ngx_test_config) {
        ngx_palette_cert_store_clean(nz, w->log);
    }

    switch (ngx_palette_cert_store_load(nz, "current", &pem, w->log)) {

    case NGX_OK:
        rc = w->named(w->zone, &nz->id, &pem);
        ngx_palette_cert_pem_free(&pem);

        return rc;

    case NGX_DECLINED:

        /* deleted: what the deletion left is removed */

        dfd = ngx_palette_cert_store_open(nz, NULL);

        if (dfd != NGX_INVALID_FILE) {
            ngx_palette_cert_store_prune(nz, dfd, (u_char *) "", w->log);
            (void) close(dfd);
        }

        return NGX_OK;

    default:
        ngx_log_error(NGX_LOG_ALERT, w->log, 0,
                      "palette_cert zone \"%V\": the certificate \"%V\" in "
                      "the store cannot be read, it is not served",
                      &nz->name, &nz->id);
        return NGX_OK;
    }
}


/*
 * A folder of the store inside another one (dfd, closed here), made if
 * asked to; ngx_errno tells why it cannot be opened.
 */

static ngx_fd_t
ngx_palette_cert_descend(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *name, ngx_uint_t create, ngx_log_t *log)
{
    ngx_fd_t   fd;
    ngx_err_t  err;

    fd = ngx_palette_cert_subdir(zone, dfd, name, create, log);
    err = ngx_errno;

    (void) close(dfd);

    ngx_set_errno(err);

    return fd;
}


/*
 * Each certificate folder in STORE/named (nfd, closed), given to the step
 * with a copy of the zone that stands for it (its id set); the walk ends
 * at the first step that fails.
 */

static ngx_int_t
ngx_palette_cert_named_each(ngx_palette_cert_zone_t *zone, ngx_fd_t nfd,
    ngx_palette_cert_step_pt step, ngx_palette_cert_walk_t *w)
{
    u_char                   name[NGX_PALETTE_CERT_ID_LEN + 1];
    DIR                     *dir;
    size_t                   len;
    ngx_int_t                rc;
    struct dirent           *de;
    ngx_palette_cert_zone_t  nz;

    dir = ngx_palette_cert_scan(nfd);

    (void) close(nfd);

    if (dir == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_OK;

    while ((de = readdir(dir)) != NULL) {

        len = ngx_strlen(de->d_name);

        if (!ngx_palette_cert_id_valid((u_char *) de->d_name, len)) {
            ngx_palette_cert_named_clean(dir, de->d_name, len);
            continue;
        }

        ngx_memcpy(name, de->d_name, len + 1);

        nz = *zone;
        nz.id.data = name;
        nz.id.len = len;

        rc = step(&nz, w);

        if (rc != NGX_OK) {
            break;
        }
    }

    (void) closedir(dir);

    return rc;
}


/*
 * Removes every generation folder but the one named, the one "current"
 * names now, and the history=N replaced ones right below it.  A folder is
 * first renamed out of the generations' pattern, so that no half-removed
 * generation is ever listed or rolled back to; a start removes what a
 * process that died meanwhile left.
 */

static void
ngx_palette_cert_store_prune(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    u_char *keep, ngx_log_t *log)
{
    u_char          cur[32], old[64];
    size_t          len;
    DIR            *dir;
    ngx_int_t       n, current;
    ngx_uint_t      nkept, kept[NGX_PALETTE_CERT_HISTORY_MAX];
    struct dirent  *de;

    dir = ngx_palette_cert_scan(dfd);
    if (dir == NULL) {
        return;
    }

    current = ngx_palette_cert_current(zone, dfd, cur, sizeof(cur), NULL);

    if (current <= 0) {
        cur[0] = '\0';
        current = 0;
    }

    /* the history: the highest generations below the current one */

    nkept = current ? ngx_palette_cert_history_scan(zone, dir, current, kept)
                    : 0;

    rewinddir(dir);

    while ((de = readdir(dir)) != NULL) {

        len = ngx_strlen(de->d_name);

        n = ngx_palette_cert_name_number((u_char *) de->d_name, len, "gen-");

        if (n == NGX_ERROR
            || ngx_strcmp(de->d_name, keep) == 0
            || ngx_strcmp(de->d_name, cur) == 0)
        {
            continue;
        }

        if (n < current && nkept && (ngx_uint_t) n >= kept[nkept - 1]) {
            continue;
        }

        ngx_sprintf(old, ".old-%i%Z", n);

        if (renameat(dfd, de->d_name, dfd, (char *) old) == -1) {
            ngx_palette_cert_remove_dir(zone, dfd, de->d_name, log);
            continue;
        }

        ngx_palette_cert_remove_dir(zone, dfd, (char *) old, log);
    }

    (void) closedir(dir);
}


/*
 * The history kept below the generation "current" names: the history=N
 * highest generations under it, into kept[], highest first.
 */

static ngx_uint_t
ngx_palette_cert_history_scan(ngx_palette_cert_zone_t *zone, DIR *dir,
    ngx_int_t current, ngx_uint_t *kept)
{
    ngx_int_t       n;
    ngx_uint_t      i, j, nkept;
    struct dirent  *de;

    nkept = 0;

    while (zone->history && (de = readdir(dir)) != NULL) {

        n = ngx_palette_cert_name_number((u_char *) de->d_name,
                                         ngx_strlen(de->d_name), "gen-");

        if (n == NGX_ERROR || n >= current
            || (nkept == zone->history && (ngx_uint_t) n <= kept[nkept - 1]))
        {
            continue;
        }

        for (i = 0; i < nkept && kept[i] > (ngx_uint_t) n; i++) {
            /* void */
        }

        if (nkept < zone->history) {
            nkept++;
        }

        for (j = nkept - 1; j > i; j--) {
            kept[j] = kept[j - 1];
        }

        kept[i] = n;
    }

    return nkept;
}


/*
 * The store folder of a certificate, opened (dfd), the generation folder
 * "current" names (cur) and the history kept below it (kept[], nkept).
 * NGX_DECLINED when there is no current one.
 */

static ngx_int_t
ngx_palette_cert_history_open(ngx_palette_cert_zone_t *zone, ngx_fd_t *dfd,
    u_char *cur, ngx_uint_t *kept, ngx_uint_t *nkept)
{
    DIR        *dir;
    ngx_int_t   current;

    *dfd = ngx_palette_cert_store_open(zone, NULL);

    if (*dfd == NGX_INVALID_FILE) {
        return (ngx_errno == NGX_ENOENT) ? NGX_DECLINED : NGX_ERROR;
    }

    current = ngx_palette_cert_current(zone, *dfd, cur, 32, NULL);
    dir = (current > 0) ? ngx_palette_cert_scan(*dfd) : NULL;

    if (dir == NULL) {
        (void) close(*dfd);
        return (current > 0) ? NGX_ERROR : NGX_DECLINED;
    }

    *nkept = ngx_palette_cert_history_scan(zone, dir, current, kept);

    (void) closedir(dir);

    return NGX_OK;
}


/* whether the history of a certificate holds that generation */

ngx_uint_t
ngx_palette_cert_store_kept(ngx_palette_cert_zone_t *zone,
    ngx_uint_t generation)
{
    u_char      cur[32];
    ngx_fd_t    dfd;
    ngx_uint_t  i, nkept, kept[NGX_PALETTE_CERT_HISTORY_MAX];

    if (ngx_palette_cert_history_open(zone, &dfd, cur, kept, &nkept)
        != NGX_OK)
    {
        return 0;
    }

    (void) close(dfd);

    for (i = 0; i < nkept; i++) {
        if (kept[i] == generation) {
            return 1;
        }
    }

    return 0;
}


/*
 * The replaced versions the store keeps of a certificate, newest first:
 * their generation, source, chain, and when they were replaced (when the
 * next one was written).  NGX_DECLINED when there is no current one.
 */

ngx_int_t
ngx_palette_cert_store_history(ngx_palette_cert_zone_t *zone,
    ngx_array_t *versions, ngx_log_t *log)
{
    u_char                       cur[32], name[32];
    ngx_fd_t                     dfd, gfd;
    ngx_int_t                    rc;
    ngx_uint_t                   i, nkept, kept[NGX_PALETTE_CERT_HISTORY_MAX];
    struct stat                  st;
    ngx_palette_cert_version_t  *v;

    rc = ngx_palette_cert_history_open(zone, &dfd, cur, kept, &nkept);

    if (rc != NGX_OK) {
        return rc;
    }

    /* replaced when the next one was written: the current one first */

    if (fstatat(dfd, (char *) cur, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        st.st_mtime = 0;
    }

    for (i = 0; i < nkept; i++) {

        v = ngx_array_push(versions);
        if (v == NULL) {
            rc = NGX_ERROR;
            break;
        }

        ngx_memzero(v, sizeof(ngx_palette_cert_version_t));

        v->generation = kept[i];
        v->replaced = st.st_mtime;

        ngx_sprintf(name, "gen-%ui%Z", kept[i]);

        gfd = openat(dfd, (char *) name,
                     O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

        if (gfd == NGX_INVALID_FILE) {
            versions->nelts--;
            continue;
        }

        if (fstat(gfd, &st) == -1) {
            st.st_mtime = 0;
        }

        if (ngx_palette_cert_read(zone, gfd, (char *) name, "certificate.pem",
                                  &v->cert, 0, log)
            != NGX_OK
            || ngx_palette_cert_read_source(zone, gfd, (char *) name,
                                            &v->source, log)
               != NGX_OK)
        {
            if (v->cert.data) {
                ngx_free(v->cert.data);
            }

            versions->nelts--;
        }

        (void) close(gfd);
    }

    (void) close(dfd);

    return rc;
}


/* the highest generation folder in the store, or 0 */

ngx_uint_t
ngx_palette_cert_store_last(ngx_palette_cert_zone_t *zone)
{
    ngx_fd_t    dfd;
    ngx_uint_t  last;

    dfd = ngx_palette_cert_store_open(zone, NULL);

    if (dfd == NGX_INVALID_FILE) {
        return 0;
    }

    last = ngx_palette_cert_last(dfd);

    (void) close(dfd);

    return last;
}


static ngx_uint_t
ngx_palette_cert_last(ngx_fd_t dfd)
{
    DIR            *dir;
    ngx_int_t       n;
    ngx_uint_t      last;
    struct dirent  *de;

    dir = ngx_palette_cert_scan(dfd);
    if (dir == NULL) {
        return 0;
    }

    last = 0;

    while ((de = readdir(dir)) != NULL) {
        n = ngx_palette_cert_name_number((u_char *) de->d_name,
                                         ngx_strlen(de->d_name), "gen-");

        if (n != NGX_ERROR && (ngx_uint_t) n > last) {
            last = n;
        }
    }

    (void) closedir(dir);

    return last;
}


/*
 * What a certificate keeps aside of the current one, in a folder of its
 * own next to its generations (STORE/WHICH, STORE/named/ID/WHICH): a
 * pending key ("csr") or a staged version ("staged").  It is written into
 * a temporary folder that then takes the place of the old one at once
 * (renameat2() exchanges them), so that a crash leaves the old or the new.
 */

ngx_int_t
ngx_palette_cert_store_save_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_palette_cert_file_t *files, ngx_log_t *log)
{
    u_char                   tmp[64];
    ngx_fd_t                 dfd;
    ngx_int_t                rc;
    ngx_palette_cert_path_t  path;

    dfd = ngx_palette_cert_resource_open(zone, log);

    if (dfd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    ngx_sprintf(tmp, ".tmp-%P%Z", ngx_pid);

    ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);

    rc = ngx_palette_cert_write_files(zone, dfd, (char *) tmp, files, log);

    if (rc != NGX_OK) {
        ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);
        goto done;
    }

    if (renameat2(dfd, (char *) tmp, dfd, which, RENAME_EXCHANGE) == 0) {

        /* the old one is in the temporary folder's place now */

        ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);

    } else if (ngx_errno != NGX_ENOENT
               || renameat(dfd, (char *) tmp, dfd, which) == -1)
    {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "renameat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, which, NULL));
        ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);
        rc = NGX_ERROR;
        goto done;
    }

    rc = ngx_palette_cert_sync_dir(zone, dfd, NULL, log);

done:

    ngx_palette_cert_close(zone, dfd, NULL, log);

    return rc;
}


/* removes it: renamed away at once, then emptied */

ngx_int_t
ngx_palette_cert_store_remove_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_log_t *log)
{
    u_char                   tmp[64];
    ngx_fd_t                 dfd;
    ngx_int_t                rc;
    ngx_palette_cert_path_t  path;

    dfd = ngx_palette_cert_store_open(zone, NULL);

    if (dfd == NGX_INVALID_FILE) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_ERROR;
    }

    ngx_sprintf(tmp, ".tmp-%P%Z", ngx_pid);

    ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);

    rc = NGX_OK;

    if (renameat(dfd, which, dfd, (char *) tmp) == -1) {
        if (ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "renameat() \"%s\" failed",
                          ngx_palette_cert_path(&path, zone, which, NULL));
            rc = NGX_ERROR;
        }

        goto done;
    }

    (void) ngx_palette_cert_sync_dir(zone, dfd, NULL, log);

    ngx_palette_cert_remove_dir(zone, dfd, (char *) tmp, log);

done:

    ngx_palette_cert_close(zone, dfd, NULL, log);

    return rc;
}


/*
 * What each certificate of the store keeps aside as WHICH, the default's
 * first: the files named are read (ngx_alloc()ed, freed and cleansed
 * after the handler), and given to the handler with the zone standing for
 * the certificate (its id set).  Damaged ones are logged and skipped.
 */

ngx_int_t
ngx_palette_cert_store_load_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_palette_cert_file_t *files,
    ngx_int_t (*handler)(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files), ngx_log_t *log)
{
    ngx_fd_t                 sfd, nfd;
    ngx_int_t                rc;
    ngx_palette_cert_walk_t  w;

    ngx_memzero(&w, sizeof(ngx_palette_cert_walk_t));

    w.zone = zone;
    w.which = which;
    w.files = files;
    w.aside = handler;
    w.log = log;

    sfd = ngx_palette_cert_store_open(zone, NULL);

    if (sfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    /* the default's first */

    rc = ngx_palette_cert_aside_give(zone, sfd, &w);

    if (rc != NGX_OK) {
        (void) close(sfd);
        return rc;
    }

    nfd = ngx_palette_cert_descend(zone, sfd, "named", 0, NULL);

    if (nfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    return ngx_palette_cert_named_each(zone, nfd, ngx_palette_cert_aside_step,
                                       &w);
}


static ngx_int_t
ngx_palette_cert_aside_step(ngx_palette_cert_zone_t *nz,
    ngx_palette_cert_walk_t *w)
{
    ngx_fd_t   dfd;
    ngx_int_t  rc;

    dfd = ngx_palette_cert_store_open(nz, NULL);

    if (dfd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    rc = ngx_palette_cert_aside_give(nz, dfd, w);

    (void) close(dfd);

    return rc;
}


/* what a certificate keeps aside, if anything, given to the handler */

static ngx_int_t
ngx_palette_cert_aside_give(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    ngx_palette_cert_walk_t *w)
{
    ngx_int_t  rc;

    if (ngx_palette_cert_read_aside(zone, dfd, w->which, w->files, w->log)
        != NGX_OK)
    {
        return NGX_OK;
    }

    rc = w->aside(zone, w->files);

    ngx_palette_cert_files_free(w->files);

    return rc;
}


static ngx_int_t
ngx_palette_cert_read_aside(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *which, ngx_palette_cert_file_t *files, ngx_log_t *log)
{
    ngx_fd_t                  gfd;
    ngx_palette_cert_file_t  *f;

    for (f = files; f->name; f++) {
        ngx_str_null(&f->data);
    }

    gfd = openat(dfd, which, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (gfd == NGX_INVALID_FILE) {
        return NGX_DECLINED;
    }

    for (f = files; f->name; f++) {
        if (ngx_palette_cert_read(zone, gfd, which, f->name, &f->data,
                                  f->mode == 0, log)
            != NGX_OK)
        {
            ngx_palette_cert_files_free(files);
            (void) close(gfd);
            return NGX_ERROR;
        }
    }

    (void) close(gfd);

    return NGX_OK;
}


void
ngx_palette_cert_files_free(ngx_palette_cert_file_t *files)
{
    for ( /* void */ ; files->name; files++) {
        if (files->data.data) {
            ngx_explicit_memzero(files->data.data, files->data.len);
            ngx_free(files->data.data);
            ngx_str_null(&files->data);
        }
    }
}


/* the certificate's folder, a named one's made if need be */

static ngx_fd_t
ngx_palette_cert_resource_open(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    ngx_fd_t                 sfd;
    ngx_palette_cert_zone_t  sz;

    if (zone->id.len == 0) {
        return ngx_palette_cert_store_open(zone, log);
    }

    sz = *zone;
    ngx_str_null(&sz.id);

    sfd = ngx_palette_cert_store_open(&sz, log);

    if (sfd == NGX_INVALID_FILE) {
        return NGX_INVALID_FILE;
    }

    return ngx_palette_cert_named_open(zone, sfd, 1, log);
}


/*
 * Leftovers of a process that died while writing: temporary folders
 * (holding a key) whose process is gone.
 */

void
ngx_palette_cert_store_clean(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    DIR            *dir;
    size_t          len;
    ngx_fd_t        dfd;
    ngx_int_t       pid;
    struct dirent  *de;

    dfd = ngx_palette_cert_store_open(zone, log);

    if (dfd == NGX_INVALID_FILE) {
        return;
    }

    dir = ngx_palette_cert_scan(dfd);

    if (dir == NULL) {
        (void) close(dfd);
        return;
    }

    while ((de = readdir(dir)) != NULL) {

        len = ngx_strlen(de->d_name);

        /* a replaced generation being removed */

        if (ngx_palette_cert_name_number((u_char *) de->d_name, len, ".old-")
            != NGX_ERROR)
        {
            ngx_palette_cert_remove_dir(zone, dfd, de->d_name, log);
            continue;
        }

        pid = ngx_palette_cert_name_number((u_char *) de->d_name, len,
                                           ".tmp-");

        if (pid == NGX_ERROR || kill((ngx_pid_t) pid, 0) == 0
            || ngx_errno != NGX_ESRCH)
        {
            continue;
        }

        ngx_palette_cert_remove_dir(zone, dfd, de->d_name, log);
    }

    (void) closedir(dir);
    (void) close(dfd);
}


/*
 * The self-signed default, kept apart from the generations: it takes the
 * place of the one before as a pending key or a staged version does, a
 * damaged one or a link in its place too.
 */

ngx_int_t
ngx_palette_cert_store_save_default(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_palette_cert_file_t  files[NGX_PALETTE_CERT_FILES];

    (void) ngx_palette_cert_store_files(pem, files);

    return ngx_palette_cert_store_save_aside(zone, "self-signed", files, log);
}


/*
 * Opens the store's lock file, once per store in the life of the
 * process: closing any descriptor of it would release the process's
 * locks on it.  A failure is logged and leaves the store without the
 * lock.
 */

ngx_int_t
ngx_palette_cert_store_lock_init(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log)
{
    ngx_fd_t                  dfd, fd;
    struct flock              fl;
    ngx_file_info_t           fi;
    ngx_palette_cert_lock_t  *lk;
    ngx_palette_cert_path_t   path;

    for (lk = ngx_palette_cert_locks; lk; lk = lk->next) {
        if (lk->len == zone->store.len
            && ngx_strncmp(lk->path, zone->store.data, lk->len) == 0)
        {
            zone->lock = lk->fd;
            return NGX_OK;
        }
    }

    dfd = ngx_palette_cert_store_open(zone, log);

    if (dfd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    fd = openat(dfd, ".lock", O_RDWR|O_CREAT|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC,
                0600);

    ngx_palette_cert_close(zone, dfd, NULL, log);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "palette_cert zone \"%V\": openat() \"%s\" failed",
                      &zone->name,
                      ngx_palette_cert_path(&path, zone, ".lock", NULL));
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || !ngx_is_file(&fi)) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" is not a regular "
                      "file", &zone->name,
                      ngx_palette_cert_path(&path, zone, ".lock", NULL));
        (void) close(fd);
        return NGX_ERROR;
    }

#ifdef F_OFD_SETLK

    ngx_palette_cert_lock_byte(&fl, F_RDLCK, 1);

    if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "palette_cert zone \"%V\": fcntl(F_OFD_SETLK) \"%s\" "
                      "failed", &zone->name,
                      ngx_palette_cert_path(&path, zone, ".lock", NULL));
    }

#else

    (void) fl;

#endif

    lk = ngx_alloc(sizeof(ngx_palette_cert_lock_t) + zone->store.len, log);
    if (lk == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    lk->fd = fd;
    lk->len = zone->store.len;
    ngx_memcpy(lk->path, zone->store.data, zone->store.len);

    lk->next = ngx_palette_cert_locks;
    ngx_palette_cert_locks = lk;

    zone->lock = fd;

    return NGX_OK;
}


/*
 * The write lock on byte 0 for a change of the store: NGX_BUSY while
 * another process holds it, after waiting up to "wait" milliseconds.
 * Without a lock file (logged at start) the store is changed unlocked.
 */

ngx_int_t
ngx_palette_cert_store_lock(ngx_palette_cert_zone_t *zone, ngx_msec_t wait,
    ngx_log_t *log)
{
    ngx_err_t     err;
    ngx_msec_t    waited;
    struct flock  fl;

    if (zone->lock == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    ngx_palette_cert_lock_byte(&fl, F_WRLCK, 0);

    for (waited = 0; /* void */ ; waited += 10) {

        if (fcntl(zone->lock, F_SETLK, &fl) != -1) {
            return NGX_OK;
        }

        err = ngx_errno;

        if (err != NGX_EAGAIN && err != NGX_EACCES) {
            ngx_log_error(NGX_LOG_ALERT, log, err,
                          "palette_cert zone \"%V\": fcntl(F_SETLK) on the "
                          "lock of \"%V\" failed", &zone->name,
                          &zone->store);
            return NGX_ERROR;
        }

        if (waited >= wait) {
            return NGX_BUSY;
        }

        ngx_msleep(10);
    }
}


void
ngx_palette_cert_store_unlock(ngx_palette_cert_zone_t *zone)
{
    struct flock  fl;

    if (zone->lock == NGX_INVALID_FILE) {
        return;
    }

    ngx_palette_cert_lock_byte(&fl, F_UNLCK, 0);

    (void) fcntl(zone->lock, F_SETLK, &fl);
}


/* a lock of one byte of the lock file: 0 for changes, 1 for instances */

static void
ngx_palette_cert_lock_byte(struct flock *fl, short type, off_t byte)
{
    ngx_memzero(fl, sizeof(struct flock));

    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = byte;
    fl->l_len = 1;
}


/*
 * NGX_DECLINED when another nginx instance runs over the store: a change
 * made here would not be served there, nor here after the other one
 * takes over.
 */

ngx_int_t
ngx_palette_cert_store_alone(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
#ifdef F_OFD_GETLK

    struct flock  fl;

    if (zone->lock == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    ngx_palette_cert_lock_byte(&fl, F_WRLCK, 1);

    if (fcntl(zone->lock, F_OFD_GETLK, &fl) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "palette_cert zone \"%V\": fcntl(F_OFD_GETLK) on the "
                      "lock of \"%V\" failed", &zone->name, &zone->store);
        return NGX_OK;
    }

    if (fl.l_type != F_UNLCK) {
        return NGX_DECLINED;
    }

#endif

    return NGX_OK;
}


/*
 * The store folder itself, where every operation starts: its path is the
 * operator's, but its last component must not be a link the worker user
 * could have put there.
 */

static ngx_fd_t
ngx_palette_cert_store_open(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    ngx_fd_t   fd;
    ngx_err_t  err;

    fd = open((char *) zone->store.data,
              O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (fd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (log && err != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_ALERT, log, err,
                          "palette_cert zone \"%V\": the store \"%V\" is "
                          "not a folder that can be opened (links are not "
                          "followed)", &zone->name, &zone->store);
        }

        ngx_set_errno(err);
        return fd;
    }

    if (zone->id.len == 0) {
        return fd;
    }

    /* a named certificate's folder, made when it is written first */

    return ngx_palette_cert_named_open(zone, fd, 0, log);
}


/* STORE/named/ID from the store folder (sfd, closed here) */

static ngx_fd_t
ngx_palette_cert_named_open(ngx_palette_cert_zone_t *zone, ngx_fd_t sfd,
    ngx_uint_t create, ngx_log_t *log)
{
    u_char    id[NGX_PALETTE_CERT_ID_LEN + 1];
    ngx_fd_t  nfd;

    ngx_cpystrn(id, zone->id.data, zone->id.len + 1);

    nfd = ngx_palette_cert_descend(zone, sfd, "named", create, log);

    if (nfd == NGX_INVALID_FILE) {
        return NGX_INVALID_FILE;
    }

    return ngx_palette_cert_descend(zone, nfd, (char *) id, create, log);
}


/*
 * A folder of the store, made (mode 0755) when asked to and missing;
 * never through a link.
 */

static ngx_fd_t
ngx_palette_cert_subdir(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *name, ngx_uint_t create, ngx_log_t *log)
{
    ngx_fd_t   fd;
    ngx_err_t  err;
    ngx_uid_t  uid;
    ngx_gid_t  gid;

    fd = openat(dfd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (fd != NGX_INVALID_FILE) {
        return fd;
    }

    err = ngx_errno;

    if (err == NGX_ENOENT && create) {
        if (mkdirat(dfd, name, 0755) == -1 && ngx_errno != NGX_EEXIST) {
            err = ngx_errno;
            goto failed;
        }

        if (ngx_palette_cert_owner(zone, &uid, &gid) == NGX_OK
            && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
        {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "fchownat(\"%s\", %uL) failed", name,
                          (uint64_t) uid);
        }

        fd = openat(dfd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

        if (fd != NGX_INVALID_FILE) {
            return fd;
        }

        err = ngx_errno;
    }

failed:

    if (log && err != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_ALERT, log, err,
                      "palette_cert zone \"%V\": \"%s\" in the store \"%V\" "
                      "is not a folder that can be opened (links are not "
                      "followed)", &zone->name, name, &zone->store);
    }

    ngx_set_errno(err);

    return NGX_INVALID_FILE;
}


/*
 * The number in a name of the store's own pattern, PREFIX and digits as
 * the store writes them ("gen-12", ".tmp-4321"), or NGX_ERROR for any
 * other name.
 */

static ngx_int_t
ngx_palette_cert_name_number(u_char *name, size_t len, const char *prefix)
{
    size_t     n;
    ngx_int_t  number;

    n = ngx_strlen(prefix);

    if (len <= n || ngx_strncmp(name, prefix, n) != 0 || name[n] == '0') {
        return NGX_ERROR;
    }

    number = ngx_atoi(name + n, len - n);

    return (number > 0) ? number : NGX_ERROR;
}


/*
 * Reads "current" as text into name: the generation it names, NGX_DECLINED
 * when there is no such link, NGX_ERROR (logged with a log) when it is no
 * link or names anything but a generation folder.
 */

static ngx_int_t
ngx_palette_cert_current(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    u_char *name, size_t size, ngx_log_t *log)
{
    ssize_t                  n;
    ngx_int_t                gen;
    ngx_err_t                err;
    ngx_palette_cert_path_t  path;

    name[0] = '\0';

    n = readlinkat(dfd, "current", (char *) name, size - 1);

    if (n == -1) {
        err = ngx_errno;

        if (err == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        if (log) {
            ngx_log_error(NGX_LOG_ALERT, log, err,
                          "palette_cert zone \"%V\": readlinkat() \"%s\" "
                          "failed", &zone->name,
                          ngx_palette_cert_path(&path, zone, "current",
                                                NULL));
        }

        return NGX_ERROR;
    }

    name[n] = '\0';

    gen = ngx_palette_cert_name_number(name, n, "gen-");

    if (gen == NGX_ERROR || (size_t) n == size - 1) {
        if (log) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "palette_cert zone \"%V\": \"%s\" points to "
                          "\"%s\", not to a generation", &zone->name,
                          ngx_palette_cert_path(&path, zone, "current",
                                                NULL),
                          name);
        }

        name[0] = '\0';

        return NGX_ERROR;
    }

    return gen;
}


/* a listing of the store folder; fdopendir() takes a descriptor of its own */

static DIR *
ngx_palette_cert_scan(ngx_fd_t dfd)
{
    DIR       *dir;
    ngx_fd_t   fd;

    fd = openat(dfd, ".", O_RDONLY|O_DIRECTORY|O_CLOEXEC);

    if (fd == NGX_INVALID_FILE) {
        return NULL;
    }

    dir = fdopendir(fd);

    if (dir == NULL) {
        (void) close(fd);
    }

    return dir;
}


static u_char *
ngx_palette_cert_path(ngx_palette_cert_path_t *path,
    ngx_palette_cert_zone_t *zone, const char *dir, const char *file)
{
    u_char  *p, *last;

    last = path->buf + sizeof(path->buf) - 1;

    p = ngx_slprintf(path->buf, last, "%V", &zone->store);

    if (zone->id.len) {
        p = ngx_slprintf(p, last, "/named/%V", &zone->id);
    }

    if (dir) {
        p = ngx_slprintf(p, last, "/%s", dir);
    }

    if (file) {
        p = ngx_slprintf(p, last, "/%s", file);
    }

    *p = '\0';

    return path->buf;
}


static ngx_int_t
ngx_palette_cert_read(ngx_palette_cert_zone_t *zone, ngx_fd_t gfd,
    const char *dir, const char *file, ngx_str_t *out, ngx_uint_t optional,
    ngx_log_t *log)
{
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_int_t                rc;
    ngx_file_info_t          fi;
    ngx_palette_cert_path_t  path;

    /* no link, and no FIFO or device left to block or feed the master */

    fd = openat(gfd, file, O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC);

    if (fd == NGX_INVALID_FILE) {
        if (optional && ngx_errno == NGX_ENOENT) {
            return NGX_OK;
        }

        if (ngx_errno == NGX_ENOENT && ngx_strcmp(dir, "self-signed") == 0
            && ngx_strcmp(file, "certificate.pem") == 0)
        {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "palette_cert zone \"%V\": openat() \"%s\" failed "
                      "(links are not followed)", &zone->name,
                      ngx_palette_cert_path(&path, zone, dir, file));
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_palette_cert_fd_info(zone, fd, dir, file, &fi, NGX_LOG_ALERT,
                                 log)
        != NGX_OK)
    {
        goto done;
    }

    if (!ngx_is_file(&fi)) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" is not a regular "
                      "file", &zone->name,
                      ngx_palette_cert_path(&path, zone, dir, file));
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_PALETTE_CERT_FILE_MAX) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" is too large",
                      &zone->name,
                      ngx_palette_cert_path(&path, zone, dir, file));
        goto done;
    }

    out->len = ngx_file_size(&fi);
    out->data = ngx_alloc(out->len + 1, log);
    if (out->data == NULL) {
        goto done;
    }

    n = ngx_read_fd(fd, out->data, out->len);

    if (n != (ssize_t) out->len) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "palette_cert zone \"%V\": cannot read \"%s\"",
                      &zone->name,
                      ngx_palette_cert_path(&path, zone, dir, file));
        ngx_explicit_memzero(out->data, out->len);
        ngx_free(out->data);
        ngx_str_null(out);
        goto done;
    }

    rc = NGX_OK;

done:

    ngx_palette_cert_close(zone, fd, dir, log);

    return rc;
}


static ngx_int_t
ngx_palette_cert_fd_info(ngx_palette_cert_zone_t *zone, ngx_fd_t fd,
    const char *dir, const char *file, ngx_file_info_t *fi, ngx_uint_t level,
    ngx_log_t *log)
{
    ngx_palette_cert_path_t  path;

    if (ngx_fd_info(fd, fi) == NGX_FILE_ERROR) {
        ngx_log_error(level, log, ngx_errno, ngx_fd_info_n " \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_write_dir(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *dir, ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_palette_cert_file_t  files[NGX_PALETTE_CERT_FILES];

    (void) ngx_palette_cert_store_files(pem, files);

    return ngx_palette_cert_write_files(zone, dfd, dir, files, log);
}


/*
 * The files a version is stored as, into files[] (NGX_PALETTE_CERT_FILES
 * of them at most, the last with a NULL name): the index of that last.
 */

ngx_uint_t
ngx_palette_cert_store_files(ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_file_t *files)
{
    ngx_uint_t  n;

    n = 0;

    files[n].name = "certificate.pem";
    files[n].data = pem->cert;
    files[n++].mode = 0644;

    files[n].name = "key.pem";
    files[n].data = pem->key;
    files[n++].mode = 0600;

    if (pem->has_ca) {
        files[n].name = "ca.pem";
        files[n].data = pem->ca;
        files[n++].mode = 0644;
    }

    files[n].name = "source";
    files[n].mode = 0644;

    if (pem->source == NGX_PALETTE_CERT_SELF_SIGNED) {
        ngx_str_set(&files[n].data, "self-signed\n");

    } else {
        ngx_str_set(&files[n].data, "uploaded\n");
    }

    n++;

    if (pem->meta.len) {
        files[n].name = "meta";
        files[n].data = pem->meta;
        files[n++].mode = 0644;
    }

    files[n].name = NULL;

    return n;
}


/*
 * A new folder of files, each synced, then the folder: made by this
 * process only (0700) until complete, then handed to the worker user.
 */

static ngx_int_t
ngx_palette_cert_write_files(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *dir, ngx_palette_cert_file_t *files, ngx_log_t *log)
{
    ngx_fd_t                 gfd;
    ngx_int_t                rc;
    ngx_uid_t                uid;
    ngx_gid_t                gid;
    ngx_file_info_t          fi;
    ngx_palette_cert_path_t  path;

    if (mkdirat(dfd, dir, 0700) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "mkdirat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL));
        return NGX_ERROR;
    }

    /*
     * The folder just made, and no other: a link put in its place is not
     * followed, and a folder of the worker user's is not written into.
     */

    gfd = openat(dfd, dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (gfd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "openat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL));
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_palette_cert_fd_info(zone, gfd, dir, NULL, &fi, NGX_LOG_CRIT,
                                 log)
        != NGX_OK)
    {
        goto done;
    }

    if (fi.st_uid != geteuid() || (fi.st_mode & 0077)) {
        ngx_log_error(NGX_LOG_CRIT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" was replaced "
                      "while being written", &zone->name,
                      ngx_palette_cert_path(&path, zone, dir, NULL));
        goto done;
    }

    for ( /* void */ ; files->name; files++) {
        if (ngx_palette_cert_write(zone, gfd, dir, files->name, &files->data,
                                   files->mode, log)
            != NGX_OK)
        {
            goto done;
        }
    }

    if (ngx_palette_cert_sync_dir(zone, gfd, dir, log) != NGX_OK) {
        goto done;
    }

    /* complete: now the worker user's, as the rest of the store */

    if (ngx_palette_cert_owner(zone, &uid, &gid) == NGX_OK
        && fchown(gfd, uid, gid) == -1)
    {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchown(\"%s\", %uL) failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL),
                      (uint64_t) uid);
    }

    rc = NGX_OK;

done:

    ngx_palette_cert_close(zone, gfd, dir, log);

    return rc;
}


static ngx_int_t
ngx_palette_cert_write(ngx_palette_cert_zone_t *zone, ngx_fd_t gfd,
    const char *dir, const char *file, ngx_str_t *data, ngx_uint_t access,
    ngx_log_t *log)
{
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_int_t                rc;
    ngx_uid_t                uid;
    ngx_gid_t                gid;
    ngx_palette_cert_path_t  path;

    fd = openat(gfd, file, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
                access);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "openat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    /* the mode asked for, whatever the umask */

    if (fchmod(fd, access) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchmod() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        goto done;
    }

    n = ngx_write_fd(fd, data->data, data->len);

    if (n != (ssize_t) data->len) {
        ngx_log_error(NGX_LOG_CRIT, log, n == -1 ? ngx_errno : 0,
                      ngx_write_fd_n " \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        goto done;
    }

    if (ngx_palette_cert_owner(zone, &uid, &gid) == NGX_OK
        && fchown(fd, uid, gid) == -1)
    {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchown(\"%s\", %uL) failed",
                      ngx_palette_cert_path(&path, zone, dir, file),
                      (uint64_t) uid);
    }

    if (fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        goto done;
    }

    rc = NGX_OK;

done:

    if (close(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, file));
        rc = NGX_ERROR;
    }

    return rc;
}


static ngx_int_t
ngx_palette_cert_sync_dir(ngx_palette_cert_zone_t *zone, ngx_fd_t fd,
    const char *dir, ngx_log_t *log)
{
    ngx_palette_cert_path_t  path;

    if (fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL));
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Removes a folder the store wrote: only the file names it uses, inside
 * the folder opened, so that a link put in its place is removed itself
 * and never followed.
 */

static void
ngx_palette_cert_remove_dir(ngx_palette_cert_zone_t *zone, ngx_fd_t dfd,
    const char *dir, ngx_log_t *log)
{
    ngx_fd_t                 gfd;
    ngx_uint_t               i;
    ngx_palette_cert_path_t  path;

    gfd = openat(dfd, dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);

    if (gfd == NGX_INVALID_FILE) {

        /* ENOENT: nothing there; ELOOP or ENOTDIR: no folder, removed */

        if (ngx_errno != NGX_ENOENT) {
            (void) unlinkat(dfd, dir, 0);
        }

        return;
    }

    for (i = 0; ngx_palette_cert_files[i]; i++) {
        (void) unlinkat(gfd, ngx_palette_cert_files[i], 0);
    }

    (void) close(gfd);

    if (unlinkat(dfd, dir, AT_REMOVEDIR) == -1 && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "unlinkat() \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL));
    }
}


static void
ngx_palette_cert_close(ngx_palette_cert_zone_t *zone, ngx_fd_t fd,
    const char *dir, ngx_log_t *log)
{
    ngx_palette_cert_path_t  path;

    if (close(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed",
                      ngx_palette_cert_path(&path, zone, dir, NULL));
    }
}


/*
 * What the master writes belongs to the worker user, like temp paths:
 * NGX_DECLINED when nothing is to be changed (not root, or no user).
 */

static ngx_int_t
ngx_palette_cert_owner(ngx_palette_cert_zone_t *zone, ngx_uid_t *uid,
    ngx_gid_t *gid)
{
    ngx_core_conf_t  *ccf;

    if (geteuid() != 0) {
        return NGX_DECLINED;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(zone->cycle->conf_ctx,
                                           ngx_core_module);

    if (ccf == NULL || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return NGX_DECLINED;
    }

    *uid = ccf->user;
    *gid = ccf->group;

    return NGX_OK;
}
