
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
 *
 * A new generation is written into a temporary folder, each file and the
 * folder are synced, the folder is renamed to gen-N, and a new link
 * replaces "current" by rename(): a crash at any moment leaves either the
 * old or the new generation.  Once "current" is switched, the change is
 * made.  Files are never read or written on the handshake path.
 *
 * The master writes as root into a folder the worker user owns: files are
 * created exclusively, never through a symbolic link, in a folder only
 * root can write to until it is complete, and handed to the worker user
 * last.
 */


#include "ngx_palette_cert.h"


#define NGX_PALETTE_CERT_FILE_MAX  (1024 * 1024)


typedef struct {
    u_char     *end;
    u_char      buf[NGX_MAX_PATH];
} ngx_palette_cert_path_t;


static ngx_int_t ngx_palette_cert_path(ngx_palette_cert_path_t *path,
    ngx_palette_cert_zone_t *zone, const char *dir, const char *file);
static ngx_int_t ngx_palette_cert_read(ngx_palette_cert_zone_t *zone,
    const char *dir, const char *file, ngx_str_t *out, ngx_uint_t optional,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_write_dir(ngx_palette_cert_zone_t *zone,
    const char *dir, ngx_palette_cert_pem_t *pem, ngx_log_t *log);
static ngx_int_t ngx_palette_cert_write(ngx_palette_cert_zone_t *zone,
    const char *dir, const char *file, ngx_str_t *data, ngx_uint_t access,
    ngx_log_t *log);
static ngx_int_t ngx_palette_cert_sync_dir(u_char *name, ngx_log_t *log);
static void ngx_palette_cert_store_prune(ngx_palette_cert_zone_t *zone,
    u_char *keep, ngx_log_t *log);
static void ngx_palette_cert_remove_dir(ngx_palette_cert_zone_t *zone,
    const char *dir, ngx_log_t *log);
static void ngx_palette_cert_chown(ngx_palette_cert_zone_t *zone,
    u_char *name, ngx_log_t *log);
static void ngx_palette_cert_fchown(ngx_palette_cert_zone_t *zone,
    ngx_fd_t fd, u_char *name, ngx_log_t *log);


static const char  *ngx_palette_cert_files[] = {
    "certificate.pem", "key.pem", "ca.pem", "source", NULL
};


ngx_int_t
ngx_palette_cert_store_load(ngx_palette_cert_zone_t *zone, const char *which,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    u_char                   dir[32];
    ssize_t                  n;
    ngx_int_t                rc, gen;
    ngx_str_t                source;
    ngx_palette_cert_path_t  path;

    ngx_memzero(pem, sizeof(ngx_palette_cert_pem_t));

    if (ngx_strcmp(which, "current") == 0) {

        if (ngx_palette_cert_path(&path, zone, "current", NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        n = readlink((char *) path.buf, (char *) dir, sizeof(dir) - 1);

        if (n == -1) {
            if (ngx_errno == NGX_ENOENT) {

                /* a lost link: generations never go back all the same */

                pem->generation = ngx_palette_cert_store_last(zone);

                if (pem->generation == 0) {
                    return NGX_DECLINED;
                }

                ngx_log_error(NGX_LOG_ALERT, log, 0,
                              "palette_cert zone \"%V\": \"%s\" is "
                              "missing, though generation %ui is in the "
                              "store", &zone->name, path.buf,
                              pem->generation);
                return NGX_ERROR;
            }

            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "palette_cert zone \"%V\": readlink() \"%s\" "
                          "failed", &zone->name, path.buf);
            return NGX_ERROR;
        }

        dir[n] = '\0';

        gen = (n > 4 && ngx_strncmp(dir, "gen-", 4) == 0)
              ? ngx_atoi(dir + 4, n - 4) : NGX_ERROR;

        if (gen <= 0) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "palette_cert zone \"%V\": \"%s\" points to "
                          "\"%s\", not to a generation", &zone->name,
                          path.buf, dir);
            return NGX_ERROR;
        }

        pem->generation = gen;
        which = (const char *) dir;
    }

    rc = ngx_palette_cert_read(zone, which, "certificate.pem", &pem->cert, 0,
                               log);

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_read(zone, which, "key.pem", &pem->key, 0, log);
    }

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_read(zone, which, "ca.pem", &pem->ca, 1, log);
        pem->has_ca = (rc == NGX_OK && pem->ca.data != NULL);
    }

    if (rc == NGX_OK) {
        ngx_str_null(&source);

        rc = ngx_palette_cert_read(zone, which, "source", &source, 1, log);

        pem->source = (source.len >= 11
                       && ngx_strncmp(source.data, "self-signed", 11) == 0)
                      ? NGX_PALETTE_CERT_SELF_SIGNED
                      : NGX_PALETTE_CERT_UPLOADED;

        if (source.data) {
            ngx_free(source.data);
        }
    }

    if (rc != NGX_OK) {
        gen = pem->generation;
        ngx_palette_cert_pem_free(pem);
        pem->generation = gen;

        /* a file missing from a generation is damage, not absence */

        return (rc == NGX_DECLINED) ? NGX_DECLINED : NGX_ERROR;
    }

    if (pem->ca.data == NULL) {
        pem->ca.data = ngx_alloc(1, log);
        if (pem->ca.data == NULL) {
            ngx_palette_cert_pem_free(pem);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_palette_cert_store_save(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    u_char                   tmp[64], gen[32], old[32];
    ssize_t                  n;
    ngx_palette_cert_path_t  path, to;

    ngx_sprintf(tmp, ".tmp-%P%Z", ngx_pid);
    ngx_sprintf(gen, "gen-%ui%Z", pem->generation);


    /* the generation now current, removed once it is replaced */

    if (ngx_palette_cert_path(&path, zone, "current", NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    n = readlink((char *) path.buf, (char *) old, sizeof(old) - 1);
    old[n > 0 ? n : 0] = '\0';

    if (ngx_strcmp(old, gen) == 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": the store already holds "
                      "generation %ui", &zone->name, pem->generation);
        return NGX_ERROR;
    }

    ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
    ngx_palette_cert_remove_dir(zone, (char *) gen, log);

    if (ngx_palette_cert_write_dir(zone, (char *) tmp, pem, log) != NGX_OK) {
        ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
        return NGX_ERROR;
    }

    if (ngx_palette_cert_path(&path, zone, (char *) tmp, NULL) != NGX_OK
        || ngx_palette_cert_path(&to, zone, (char *) gen, NULL) != NGX_OK)
    {
        ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
        return NGX_ERROR;
    }

    if (ngx_rename_file(path.buf, to.buf) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      path.buf, to.buf);
        ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
        return NGX_ERROR;
    }

    if (ngx_palette_cert_sync_dir(zone->store.data, log) != NGX_OK) {
        goto failed;
    }

    /* a new link, then renamed over "current" */

    if (ngx_palette_cert_path(&path, zone, ".current", NULL) != NGX_OK
        || ngx_palette_cert_path(&to, zone, "current", NULL) != NGX_OK)
    {
        goto failed;
    }

    (void) ngx_delete_file(path.buf);

    if (symlink((char *) gen, (char *) path.buf) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "symlink() \"%s\" failed", path.buf);
        goto failed;
    }

    ngx_palette_cert_chown(zone, path.buf, log);

    if (ngx_rename_file(path.buf, to.buf) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      path.buf, to.buf);
        (void) ngx_delete_file(path.buf);
        goto failed;
    }

    /*
     * The change is made: a failure to sync the folder now is logged,
     * and the next start still finds the new generation or the old one.
     */

    (void) ngx_palette_cert_sync_dir(zone->store.data, log);

    /* the generation replaced, and any a damaged start left behind */

    ngx_palette_cert_store_prune(zone, gen, log);

    return NGX_OK;

failed:

    ngx_palette_cert_remove_dir(zone, (char *) gen, log);

    return NGX_ERROR;
}


/* removes every generation folder but the one named */

static void
ngx_palette_cert_store_prune(ngx_palette_cert_zone_t *zone, u_char *keep,
    ngx_log_t *log)
{
    u_char     name[64];
    ngx_dir_t  dir;

    if (ngx_open_dir(&zone->store, &dir) == NGX_ERROR) {
        return;
    }

    while (ngx_read_dir(&dir) == NGX_OK) {

        if (ngx_de_namelen(&dir) <= 4 || ngx_de_namelen(&dir) >= sizeof(name)
            || ngx_strncmp(ngx_de_name(&dir), "gen-", 4) != 0)
        {
            continue;
        }

        ngx_cpystrn(name, ngx_de_name(&dir), ngx_de_namelen(&dir) + 1);

        if (ngx_strcmp(name, keep) != 0) {
            ngx_palette_cert_remove_dir(zone, (char *) name, log);
        }
    }

    (void) ngx_close_dir(&dir);
}


/* the highest generation folder in the store, or 0 */

ngx_uint_t
ngx_palette_cert_store_last(ngx_palette_cert_zone_t *zone)
{
    ngx_int_t    n;
    ngx_dir_t    dir;
    ngx_uint_t   last;

    if (ngx_open_dir(&zone->store, &dir) == NGX_ERROR) {
        return 0;
    }

    last = 0;

    while (ngx_read_dir(&dir) == NGX_OK) {
        if (ngx_de_namelen(&dir) > 4
            && ngx_strncmp(ngx_de_name(&dir), "gen-", 4) == 0)
        {
            n = ngx_atoi(ngx_de_name(&dir) + 4, ngx_de_namelen(&dir) - 4);

            if (n != NGX_ERROR && (ngx_uint_t) n > last) {
                last = n;
            }
        }
    }

    (void) ngx_close_dir(&dir);

    return last;
}


/*
 * Leftovers of a process that died while writing: temporary folders
 * (holding a key) whose process is gone.
 */

void
ngx_palette_cert_store_clean(ngx_palette_cert_zone_t *zone, ngx_log_t *log)
{
    u_char     name[64];
    ngx_int_t  pid;
    ngx_dir_t  dir;

    if (ngx_open_dir(&zone->store, &dir) == NGX_ERROR) {
        return;
    }

    while (ngx_read_dir(&dir) == NGX_OK) {

        if (ngx_de_namelen(&dir) <= 5 || ngx_de_namelen(&dir) >= sizeof(name)
            || ngx_strncmp(ngx_de_name(&dir), ".tmp-", 5) != 0)
        {
            continue;
        }

        pid = ngx_atoi(ngx_de_name(&dir) + 5, ngx_de_namelen(&dir) - 5);

        if (pid == NGX_ERROR || kill((ngx_pid_t) pid, 0) == 0
            || ngx_errno != NGX_ESRCH)
        {
            continue;
        }

        ngx_cpystrn(name, ngx_de_name(&dir), ngx_de_namelen(&dir) + 1);
        ngx_palette_cert_remove_dir(zone, (char *) name, log);
    }

    (void) ngx_close_dir(&dir);
}


ngx_int_t
ngx_palette_cert_store_save_default(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    u_char                   tmp[64];
    ngx_palette_cert_path_t  path, to;

    ngx_sprintf(tmp, ".tmp-%P%Z", ngx_pid);

    ngx_palette_cert_remove_dir(zone, (char *) tmp, log);

    if (ngx_palette_cert_write_dir(zone, (char *) tmp, pem, log) != NGX_OK) {
        ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
        return NGX_ERROR;
    }

    /* a damaged default is replaced */

    ngx_palette_cert_remove_dir(zone, "self-signed", log);

    if (ngx_palette_cert_path(&path, zone, (char *) tmp, NULL) != NGX_OK
        || ngx_palette_cert_path(&to, zone, "self-signed", NULL) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_rename_file(path.buf, to.buf) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      path.buf, to.buf);
        ngx_palette_cert_remove_dir(zone, (char *) tmp, log);
        return NGX_ERROR;
    }

    return ngx_palette_cert_sync_dir(zone->store.data, log);
}


static ngx_int_t
ngx_palette_cert_path(ngx_palette_cert_path_t *path,
    ngx_palette_cert_zone_t *zone, const char *dir, const char *file)
{
    size_t  len;

    len = zone->store.len + 1 + ngx_strlen(dir) + 1
          + (file ? ngx_strlen(file) : 0) + 1;

    if (len > sizeof(path->buf)) {
        ngx_log_error(NGX_LOG_ALERT, zone->log, 0,
                      "palette_cert zone \"%V\": store path too long",
                      &zone->name);
        return NGX_ERROR;
    }

    path->end = ngx_sprintf(path->buf, "%V/%s", &zone->store, dir);

    if (file) {
        path->end = ngx_sprintf(path->end, "/%s", file);
    }

    *path->end = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_read(ngx_palette_cert_zone_t *zone, const char *dir,
    const char *file, ngx_str_t *out, ngx_uint_t optional, ngx_log_t *log)
{
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_int_t                rc;
    ngx_file_info_t          fi;
    ngx_palette_cert_path_t  path;

    if (ngx_palette_cert_path(&path, zone, dir, file) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.buf, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

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
                      "palette_cert zone \"%V\": "
                      ngx_open_file_n " \"%s\" failed", &zone->name,
                      path.buf);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_fd_info_n " \"%s\" failed", path.buf);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_PALETTE_CERT_FILE_MAX) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "palette_cert zone \"%V\": \"%s\" is too large",
                      &zone->name, path.buf);
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
                      &zone->name, path.buf);
        ngx_explicit_memzero(out->data, out->len);
        ngx_free(out->data);
        ngx_str_null(out);
        goto done;
    }

    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", path.buf);
    }

    return rc;
}


static ngx_int_t
ngx_palette_cert_write_dir(ngx_palette_cert_zone_t *zone, const char *dir,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log)
{
    ngx_str_t                source;
    ngx_palette_cert_path_t  path;

    if (ngx_palette_cert_path(&path, zone, dir, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_create_dir(path.buf, 0700) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_create_dir_n " \"%s\" failed", path.buf);
        return NGX_ERROR;
    }

    if (pem->source == NGX_PALETTE_CERT_SELF_SIGNED) {
        ngx_str_set(&source, "self-signed\n");

    } else {
        ngx_str_set(&source, "uploaded\n");
    }

    if (ngx_palette_cert_write(zone, dir, "certificate.pem", &pem->cert, 0644,
                               log)
        != NGX_OK
        || ngx_palette_cert_write(zone, dir, "key.pem", &pem->key, 0600, log)
           != NGX_OK
        || (pem->has_ca
            && ngx_palette_cert_write(zone, dir, "ca.pem", &pem->ca, 0644,
                                      log)
               != NGX_OK)
        || ngx_palette_cert_write(zone, dir, "source", &source, 0644, log)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_palette_cert_sync_dir(path.buf, log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* complete: now the worker user's, as the rest of the store */

    ngx_palette_cert_chown(zone, path.buf, log);

    return NGX_OK;
}


static ngx_int_t
ngx_palette_cert_write(ngx_palette_cert_zone_t *zone, const char *dir,
    const char *file, ngx_str_t *data, ngx_uint_t access, ngx_log_t *log)
{
    ssize_t                  n;
    ngx_fd_t                 fd;
    ngx_int_t                rc;
    ngx_palette_cert_path_t  path;

    if (ngx_palette_cert_path(&path, zone, dir, file) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = open((char *) path.buf, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, access);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "open() \"%s\" failed", path.buf);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    /* the mode asked for, whatever the umask */

    if (fchmod(fd, access) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchmod() \"%s\" failed", path.buf);
        goto done;
    }

    n = ngx_write_fd(fd, data->data, data->len);

    if (n != (ssize_t) data->len) {
        ngx_log_error(NGX_LOG_CRIT, log, n == -1 ? ngx_errno : 0,
                      ngx_write_fd_n " \"%s\" failed", path.buf);
        goto done;
    }

    if (geteuid() == 0) {
        ngx_palette_cert_fchown(zone, fd, path.buf, log);
    }

    if (fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed", path.buf);
        goto done;
    }

    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", path.buf);
        rc = NGX_ERROR;
    }

    return rc;
}


static ngx_int_t
ngx_palette_cert_sync_dir(u_char *name, ngx_log_t *log)
{
    ngx_fd_t   fd;
    ngx_int_t  rc;

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", name);
        return NGX_ERROR;
    }

    rc = NGX_OK;

    if (fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed", name);
        rc = NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    return rc;
}


/* removes a folder the store wrote: only the file names it uses */

static void
ngx_palette_cert_remove_dir(ngx_palette_cert_zone_t *zone, const char *dir,
    ngx_log_t *log)
{
    ngx_uint_t               i;
    ngx_file_info_t          fi;
    ngx_palette_cert_path_t  path;

    if (ngx_palette_cert_path(&path, zone, dir, NULL) != NGX_OK) {
        return;
    }

    /* a link in place of a folder is removed, never followed */

    if (ngx_link_info(path.buf, &fi) == NGX_FILE_ERROR) {
        return;
    }

    if (!ngx_is_dir(&fi)) {
        (void) ngx_delete_file(path.buf);
        return;
    }

    for (i = 0; ngx_palette_cert_files[i]; i++) {
        if (ngx_palette_cert_path(&path, zone, dir, ngx_palette_cert_files[i])
            != NGX_OK)
        {
            return;
        }

        (void) ngx_delete_file(path.buf);
    }

    if (ngx_palette_cert_path(&path, zone, dir, NULL) != NGX_OK) {
        return;
    }

    if (ngx_delete_dir(path.buf) == NGX_FILE_ERROR
        && ngx_errno != NGX_ENOENT)
    {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      ngx_delete_dir_n " \"%s\" failed", path.buf);
    }
}


/* files the master writes belong to the worker user, like temp paths */

static void
ngx_palette_cert_chown(ngx_palette_cert_zone_t *zone, u_char *name,
    ngx_log_t *log)
{
    ngx_core_conf_t  *ccf;

    if (geteuid() != 0) {
        return;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(zone->cycle->conf_ctx,
                                           ngx_core_module);

    if (ccf == NULL || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return;
    }

    if (lchown((char *) name, ccf->user, ccf->group) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "lchown(\"%s\", %uL) failed", name,
                      (uint64_t) ccf->user);
    }
}


static void
ngx_palette_cert_fchown(ngx_palette_cert_zone_t *zone, ngx_fd_t fd,
    u_char *name, ngx_log_t *log)
{
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(zone->cycle->conf_ctx,
                                           ngx_core_module);

    if (ccf == NULL || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return;
    }

    if (fchown(fd, ccf->user, ccf->group) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fchown(\"%s\", %uL) failed", name,
                      (uint64_t) ccf->user);
    }
}
