
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Types shared by the files of the module.  Each file owns one concern:
 *
 *   ngx_palette_cert_module.c      directives, configuration, zone set-up
 *   ngx_palette_cert_api.c         the admin endpoint: routing, request
 *                                  checks, the change flow, its threads
 *   ngx_palette_cert_answer.c      its answers: JSON, errors, the page,
 *                                  headers, the filter of nginx's own
 *                                  answers (ngx_palette_cert_api.h)
 *   ngx_palette_cert_body.c        parsers of untrusted bytes: request
 *                                  bodies, PEM splitting, the URI and its
 *                                  query, a client hello's server name
 *   ngx_palette_cert_json.c        JSON output
 *   ngx_palette_cert_validate.c    upload validation, certificate info
 *   ngx_palette_cert_shm.c         the default's record in shared memory
 *   ngx_palette_cert_named.c       named certificates: their records, the
 *                                  index handshakes search, the per-process
 *                                  cache of parsed ones
 *   ngx_palette_cert_store.c       persistence in the store folder
 *   ngx_palette_cert_handshake.c   certificate callback, per-worker cache
 *   ngx_palette_cert_selfsigned.c  the self-signed default
 *   ngx_palette_cert_metrics.c     what is counted, the metrics endpoint,
 *                                  the variables, expiry warnings
 *   ngx_palette_cert_watch.c       certificates that follow a folder
 *   ngx_palette_cert_aside.c       what a certificate keeps aside in the
 *                                  zone: a pending key, a staged version
 *   ngx_palette_cert_csr.c         keys made by nginx, and their requests
 *   ngx_palette_cert_staged.c      staged versions and their activation
 *   ngx_palette_cert_job.c         the steps of a change nginx makes
 *                                  itself (watch, staged), in threads
 */


#ifndef _NGX_PALETTE_CERT_H_INCLUDED_
#define _NGX_PALETTE_CERT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ngx_palette_cert_body.h"


/* what full handshakes count: off only to measure what counting costs */
#ifndef NGX_PALETTE_CERT_COUNT
#define NGX_PALETTE_CERT_COUNT          1
#endif


#if (OPENSSL_VERSION_NUMBER < 0x30000000L)
#error ngx_palette_cert_module requires OpenSSL 3.0 or newer
#endif


#define NGX_PALETTE_CERT_UPLOADED       0
#define NGX_PALETTE_CERT_SELF_SIGNED    1

/* as GET and the metrics show it: the files of a palette_cert_watch */
#define NGX_PALETTE_CERT_WATCHED        2

#define NGX_PALETTE_CERT_MSG_LEN        1024

/* a pending key's "info" file: key type, time, names, subject */
#define NGX_PALETTE_CERT_CSR_INFO       (64 + NGX_PALETTE_CERT_CSR_NAMES    \
                                         * (NGX_PALETTE_CERT_HOST_LEN + 1)  \
                                         + 1024)

/*
 * A change allocates a record, writes a few kilobytes to the store with a
 * handful of fsync() calls and switches a pointer: well under a second,
 * seconds on a disk that stalls.  A request waits for another change this
 * long before it is refused (503 busy); a change lock held this long is
 * taken to be left by a process that is gone, its pid now another's.
 */
#define NGX_PALETTE_CERT_UPDATE_WAIT    5000        /* milliseconds */
#define NGX_PALETTE_CERT_UPDATE_STALE   60          /* seconds */

/* an upload holds a chain, a key and a CA: a few kilobytes */
#define NGX_PALETTE_CERT_BODY_MAX       (1024 * 1024)

/* the key types a name may have one certificate of each */
#define NGX_PALETTE_CERT_EC             0
#define NGX_PALETTE_CERT_RSA            1

#define NGX_PALETTE_CERT_NAME_DNS       0
#define NGX_PALETTE_CERT_NAME_IP        1

/* named certificates are kept in chunks of this size: a slab size */
#define NGX_PALETTE_CERT_CHUNK          256

#define NGX_PALETTE_CERT_CACHE          1000

/* replaced versions each certificate keeps in the store */
#define NGX_PALETTE_CERT_HISTORY        5
#define NGX_PALETTE_CERT_HISTORY_MAX    100

/* expiry warnings: how long before not_after, and how often again */
#define NGX_PALETTE_CERT_EXPIRE_WARN    (30 * 86400)
#define NGX_PALETTE_CERT_WARN_AGAIN     86400

/* a subject or issuer as GET shows it, at most */
#define NGX_PALETTE_CERT_DN_LEN         512

/* what ngx_palette_cert_meta() keeps in its buffer */
#define NGX_PALETTE_CERT_META_BUF       (64 + 2 * NGX_PALETTE_CERT_DN_LEN)

/*
 * What a session remembers of the certificate it was made under, for the
 * variables: a version byte, the id's length, the generation, not_after,
 * the SHA-256 of the leaf, the id.
 */
#define NGX_PALETTE_CERT_TAG_LEN        (2 + 8 + 8 + 32                      \
                                         + NGX_PALETTE_CERT_ID_LEN)


#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY   422
#endif

#ifndef NGX_HTTP_INSUFFICIENT_STORAGE
#define NGX_HTTP_INSUFFICIENT_STORAGE   507
#endif


/* the results a change is counted by: "ok" and every error code */
#define NGX_PALETTE_CERT_RESULTS        32


/* what an upload holds that is not served, and why */

typedef struct ngx_palette_cert_left_out_s  ngx_palette_cert_left_out_t;


/* a certificate as kept in shared memory, replaced as a whole */

typedef struct {
    ngx_queue_t                  queue;
    ngx_uint_t                   generation;
    ngx_uint_t                   source;
    size_t                       cert_len;    /* served chain, PEM */
    size_t                       key_len;     /* private key, PKCS#8 PEM */
    size_t                       ca_len;      /* CA certificates, PEM */
    unsigned                     has_ca:1;
    u_char                       data[1];
} ngx_palette_cert_record_t;


/*
 * What is counted of a certificate: kept across its replacements, given
 * back when it is deleted.  Handshakes add to it without a lock, and may
 * do so a moment after it was given back: it is never freed, so that
 * such a late count touches nothing else.
 */

typedef struct ngx_palette_cert_stats_s  ngx_palette_cert_stats_t;

struct ngx_palette_cert_stats_s {
    ngx_atomic_t                 handshakes;
    ngx_palette_cert_stats_t    *next;        /* given back */

    /* the last expiry warning: when, and for which generation */
    time_t                       warned;
    ngx_uint_t                   warned_generation;
};


/* a piece of a named certificate's data */

typedef struct ngx_palette_cert_chunk_s  ngx_palette_cert_chunk_t;

struct ngx_palette_cert_chunk_s {
    ngx_palette_cert_chunk_t    *next;
    u_char                       data[NGX_PALETTE_CERT_CHUNK
                                      - sizeof(void *)];
};


/*
 * A named certificate in shared memory, replaced as a whole.  The names
 * it is served for are one allocation (a kind byte, a length byte and
 * the name, lowercase, for each), which the index points into; the
 * chain, the key and the CA as PEM are kept in chunks.  What the list
 * shows is kept here, so that it parses nothing.
 */

typedef struct {
    ngx_rbtree_node_t            node;        /* by id, bytewise */
    u_char                      *names;       /* then subject and issuer */
    ngx_palette_cert_chunk_t    *data;
    ngx_palette_cert_stats_t    *stats;
    ngx_uint_t                   generation;
    time_t                       not_before_time;
    time_t                       not_after_time;
    uint32_t                     names_len;
    uint16_t                     subject_len;
    uint16_t                     issuer_len;
    uint32_t                     cert_len;
    uint32_t                     key_len;
    uint32_t                     ca_len;
    u_char                       type;        /* EC or RSA */
    u_char                       has_ca;
    u_char                       id_len;
    u_char                       key_type_len;
    u_char                       id[NGX_PALETTE_CERT_ID_LEN];
    u_char                       key_type[12];
    u_char                       not_after[20];
    u_char                       sha256[32];
} ngx_palette_cert_named_t;


/* a watched file as stat() finds it; all zero when it is absent */

typedef struct {
    dev_t                        dev;
    ino_t                        ino;
    off_t                        size;
    time_t                       mtime;
    long                         mtime_nsec;
    time_t                       ctime;
    long                         ctime_nsec;
    ngx_uint_t                   present;
} ngx_palette_cert_watch_stat_t;


/* the certificate, the key and the CA files of a watched folder */

typedef struct {
    ngx_palette_cert_watch_stat_t  file[3];
} ngx_palette_cert_watch_sig_t;


/*
 * A watch's state in the zone, shared by the workers that take turns
 * checking it: the files last acted upon (made current, found current or
 * refused), so that the same files are never validated twice.
 */

typedef struct ngx_palette_cert_watch_sh_s  ngx_palette_cert_watch_sh_t;

struct ngx_palette_cert_watch_sh_s {
    ngx_palette_cert_watch_sh_t   *next;
    uint32_t                       key;       /* of its id and path */

    /* when a worker next checks (milliseconds), and the one checking */
    ngx_atomic_t                   next_check;
    ngx_atomic_t                   busy;

    ngx_palette_cert_watch_sig_t   seen;

    /* checks that found a key not matching its certificate, in a row */
    ngx_uint_t                     tries;

    /* the problem last logged, so that it is logged once */
    uint32_t                       problem;

    /* the generation the watched files are, once made or found current */
    ngx_uint_t                     generation;
};


/* a pending key and its request, as POST RES?csr made them */

typedef struct {
    ngx_uint_t                   type;        /* index of the key type */
    ngx_str_t                    key_type;
    ngx_str_t                    names;       /* "a.test,10.0.0.1" */
    ngx_str_t                    subject;     /* as asked, or empty */
    time_t                       created;
    ngx_str_t                    key;         /* PEM, cleansed */
    ngx_str_t                    req;         /* PEM */
} ngx_palette_cert_csr_t;


/*
 * What a certificate keeps aside in the zone: its pending key (the
 * names, the key and the request follow) or its staged version (the
 * chain, the key, the CA and what it is served for follow).
 */

#define NGX_PALETTE_CERT_ASIDE_CSR      0
#define NGX_PALETTE_CERT_ASIDE_STAGED   1

typedef struct ngx_palette_cert_aside_s  ngx_palette_cert_aside_t;

struct ngx_palette_cert_aside_s {
    ngx_palette_cert_aside_t    *next;

    /* when the key was made, or when the staged version goes live */
    time_t                       time;

    uint32_t                     len[4];      /* the parts of data */
    ngx_uint_t                   kind;

    /* a staged version refused at its time: why (an error's code) */
    u_char                       refused[32];

    u_char                       id_len;
    u_char                       key_type_len;
    u_char                       id[NGX_PALETTE_CERT_ID_LEN];
    u_char                       key_type[12];
    u_char                       data[1];
};


/*
 * The index handshakes search: an open-addressing hash table of names,
 * each with its certificate of either key type.  It is read without a
 * lock: changes, made under the pool's lock, keep the zone's sequence
 * odd while they last, and a reader that saw it change looks again.
 */

typedef struct {
    uint32_t                     hash;
    uint16_t                     len;         /* 0: a free slot */
    uint16_t                     kind;        /* DNS or IP */
    u_char                      *name;
    ngx_palette_cert_named_t    *cert[2];     /* by key type */
} ngx_palette_cert_slot_t;


typedef struct {
    ngx_uint_t                   size;        /* a power of two */
    ngx_uint_t                   used;
    ngx_palette_cert_slot_t      slots[1];
} ngx_palette_cert_index_t;


typedef struct {
    /* generation of the default's record, read without the lock */
    ngx_atomic_t                 generation;

    /* the zone's: it grows with every change of any certificate */
    ngx_atomic_t                 zone_generation;

    /* the last generation given to a change, made or not */
    ngx_uint_t                   reserved;

    /* the current record; a queue so that a zone can later hold several */
    ngx_queue_t                  records;

    /* the self-signed default, kept for DELETE */
    ngx_palette_cert_record_t   *self_signed;

    /*
     * The pid of the process applying a change, held while it writes the
     * store; the pool's lock is taken only for the record itself, so that
     * handshakes never wait for the disk.  It is taken and given back
     * under the pool's lock, with the time the change began.
     */
    ngx_atomic_t                 update;
    time_t                       update_start;

    /*
     * Set by the master when a reload carried the record over to a new
     * zone (of another size): the workers of the old configuration no
     * longer change anything, as the new workers would not serve it.
     */
    ngx_atomic_t                 retired;

    /*
     * The record that change allocated and has not yet made current: if
     * its process dies, whoever takes the change over frees it.
     */
    ngx_palette_cert_record_t   *pending;
    ngx_palette_cert_named_t    *pending_named;
    ngx_palette_cert_aside_t    *pending_aside;

    /* pending keys and staged versions, by id */
    ngx_palette_cert_aside_t    *aside[2];

    /* the earliest time a staged version goes live, 0: none; its taker */
    ngx_atomic_t                 staged_next;
    ngx_atomic_t                 staged_busy;

    /* named certificates, by id */
    ngx_rbtree_t                 named;
    ngx_rbtree_node_t            named_sentinel;
    ngx_uint_t                   named_n;

    /* by name: odd while it changes */
    ngx_atomic_t                 seq;
    ngx_palette_cert_index_t    *index;
    ngx_atomic_t                 ip_names;

    /* what is counted: the default's, the zone's */
    ngx_palette_cert_stats_t     stats;
    ngx_palette_cert_stats_t    *free_stats;
    ngx_atomic_t                 sni_fallback;
    ngx_atomic_t                 changes[NGX_PALETTE_CERT_RESULTS];
    ngx_atomic_t                 last_change;

    /* when a worker next looks for certificates about to expire */
    ngx_atomic_t                 expire_next;

    /* the state of each palette_cert_watch of the zone */
    ngx_palette_cert_watch_sh_t *watches;
} ngx_palette_cert_sh_t;


/* what a named certificate is served for, as the list shows it */

typedef struct {
    ngx_uint_t                   type;
    ngx_str_t                    key_type;
    ngx_str_t                    not_after;
    ngx_str_t                    not_before;
    ngx_str_t                    subject;
    ngx_str_t                    issuer;
    u_char                       sha256[32];
    u_char                      *names;       /* packed, as in the zone */
    size_t                       names_len;
    ngx_uint_t                   nnames;
} ngx_palette_cert_meta_t;


/* a named certificate parsed by this process, by generation */

typedef struct {
    ngx_rbtree_node_t            node;        /* by generation */
    ngx_queue_t                  queue;       /* most recently used first */
    X509                        *leaf;
    STACK_OF(X509)              *chain;
    EVP_PKEY                    *key;

    /* EVP_PKEY_base_id() of the key, which costs a name lookup */
    int                          key_id;

    /* the leaf holds the key as its public key: see ngx_palette_cert_bind() */
    ngx_uint_t                   bound;

    /* a server's TLS settings refused it: the default is served, quietly */
    ngx_uint_t                   refused;

    /* counted on every handshake that presents it, in the zone */
    ngx_palette_cert_stats_t    *stats;

    size_t                       tag_len;
    u_char                       tag[NGX_PALETTE_CERT_TAG_LEN];
} ngx_palette_cert_cached_t;


/* the same record, parsed: what a worker installs and GET describes */

typedef struct {
    ngx_uint_t                   generation;
    ngx_uint_t                   source;
    X509                        *leaf;
    STACK_OF(X509)              *chain;       /* intermediates as served */
    EVP_PKEY                    *key;
    ngx_str_t                    cert_pem;
    ngx_str_t                    ca_pem;
    unsigned                     has_ca:1;

    /* in the answer to an upload: what it left out, owned by the bundle */
    ngx_palette_cert_left_out_t *left_out;
} ngx_palette_cert_parsed_t;


typedef struct {
    ngx_str_t                    name;
    ngx_array_t                  names;       /* of ngx_str_t */
    ngx_str_t                    store;       /* empty when store=off */
    ngx_str_t                    trust;

    /* set in a copy of the zone that stands for a named certificate's folder */
    ngx_str_t                    id;

    ngx_cycle_t                 *cycle;
    ngx_array_t                  servers;     /* of srv_conf_t* */

    ngx_shm_zone_t              *shm_zone;
    ngx_slab_pool_t             *shpool;
    ngx_palette_cert_sh_t       *sh;

    /* this process's copy of the current record */
    ngx_palette_cert_parsed_t    current;

    /* the store's lock file, shared by the master and its workers */
    ngx_fd_t                     lock;

    /* the zone of the running configuration, held until this one is used */
    ngx_palette_cert_sh_t       *retire;

    /* a thread of this process writes a change to the store */
    ngx_uint_t                   storing;

    /* expire_warn=: seconds before not_after */
    time_t                       expire_warn;

    /* history=: replaced versions kept in the store */
    ngx_uint_t                   history;

    /* this process's parsed named certificates, by generation */
    ngx_uint_t                   cache_max;
    ngx_uint_t                   cache_n;
    ngx_rbtree_t                 cache;
    ngx_rbtree_node_t            cache_sentinel;
    ngx_queue_t                  cache_lru;

    /* palette_cert_watch directives of the zone */
    ngx_array_t                  watches;     /* of watch_t* */

#if (NGX_THREADS)
    /* staged versions are validated and stored in a thread of it */
    ngx_thread_pool_t           *thread_pool;
#endif

    ngx_log_t                   *log;
} ngx_palette_cert_zone_t;


typedef struct {
    ngx_array_t                  zones;       /* of ngx_palette_cert_zone_t* */

    /* every server with an SSL context: sessions depend on the zones */
    ngx_array_t                  servers;     /* of srv_conf_t* */

    /* the configuration refers to the variables: sessions remember */
    ngx_uint_t                   remember;
} ngx_palette_cert_main_conf_t;


/* palette_cert_watch: a certificate that follows a folder */

typedef struct {
    ngx_palette_cert_zone_t     *zone;
    ngx_str_t                    id;          /* empty: the default */
    ngx_str_t                    path;        /* NUL-terminated */
    ngx_msec_t                   interval;
    uint32_t                     key;

    ngx_palette_cert_watch_sh_t *sh;

    /* this process's timer, and its check in progress */
    ngx_event_t                  event;
    ngx_uint_t                   running;

#if (NGX_THREADS)
    ngx_thread_pool_t           *thread_pool;
    ngx_thread_task_t           *task;

    /* nginx shutting down waits for timers, not for threads */
    ngx_event_t                  guard;
#endif
} ngx_palette_cert_watch_t;


typedef struct {
    ngx_str_t                    zone_name;
    ngx_palette_cert_zone_t     *zone;
    SSL_CTX                     *ssl_ctx;

    /* every zone of the configuration */
    ngx_array_t                 *zones;

    /* generation installed in ssl_ctx by this process */
    ngx_uint_t                   installed;
    int                          installed_type;

    /*
     * What the context serves: the zone's certificate of that generation,
     * or an earlier one when the context refused it.
     */
    X509                        *leaf;
    STACK_OF(X509)              *chain;
    EVP_PKEY                    *key;
    ngx_uint_t                   served;

    /* what a session made under it remembers: see the variables */
    size_t                       tag_len;
    u_char                       tag[NGX_PALETTE_CERT_TAG_LEN];

    /*
     * The session id context: the server's part as nginx computes its own
     * (certificates, client CA list), and the one in force, made of it,
     * the certificate served and the generation of every zone.
     */
    u_char                       sid_base[32];
    u_char                       sid[32];
    ngx_uint_t                   sid_epoch;

    /*
     * the context holds certificates the zone did not put there
     * (a static ssl_certificate, or a certificate of another key type
     * installed earlier), so every handshake installs the zone's own
     */
    unsigned                     exclusive:1;

    /* a location of the server is the admin endpoint */
    unsigned                     api:1;

    u_char                      *file;
    ngx_uint_t                   line;
} ngx_palette_cert_srv_conf_t;


typedef struct {
    ngx_str_t                    zone_name;
    ngx_palette_cert_zone_t     *zone;
    u_char                      *file;
    ngx_uint_t                   line;

    /* palette_cert_metrics */
    unsigned                     metrics:1;
#if (NGX_THREADS)
    ngx_thread_pool_t           *thread_pool;
#endif
} ngx_palette_cert_loc_conf_t;


/* an API error: HTTP status, stable code, field at fault, a sentence */

typedef struct {
    ngx_uint_t                   status;
    const char                  *code;
    const char                  *field;
    u_char                      *last;
    u_char                       message[NGX_PALETTE_CERT_MSG_LEN];
} ngx_palette_cert_error_t;


/* a validated upload, ready to be stored */

typedef struct {
    X509                        *leaf;
    STACK_OF(X509)              *chain;
    EVP_PKEY                    *key;
    STACK_OF(X509)              *ca;
    ngx_palette_cert_left_out_t *left_out;

    /* when dates were judged: 0 for now */
    time_t                       at;

    /* a named certificate's: what it is served for */
    ngx_palette_cert_meta_t      meta;
    u_char                       meta_buf[NGX_PALETTE_CERT_META_BUF];
} ngx_palette_cert_bundle_t;


/* a file of the store: what is written, or read (mode 0: optional) */

typedef struct {
    const char                  *name;
    ngx_str_t                    data;
    ngx_uint_t                   mode;
} ngx_palette_cert_file_t;


/* the files of a stored version, and one more (staged/activate_at) */
#define NGX_PALETTE_CERT_FILES          7


/* a replaced version the store keeps, as the history lists it */

typedef struct {
    ngx_uint_t                   generation;
    ngx_uint_t                   source;
    time_t                       replaced;
    ngx_str_t                    cert;        /* ngx_alloc()ed */
} ngx_palette_cert_version_t;


/* the serialised form of a bundle: what the record and the store hold */

typedef struct {
    ngx_str_t                    cert;
    ngx_str_t                    key;
    ngx_str_t                    ca;

    /* a named certificate's: what it is served for, as text */
    ngx_str_t                    meta;

    unsigned                     has_ca:1;
    ngx_uint_t                   source;
    ngx_uint_t                   generation;
} ngx_palette_cert_pem_t;


/*
 * A change of what is served: by the API, a watched folder, a staged
 * version
 */

typedef struct {
    ngx_palette_cert_zone_t     *zone;
    ngx_str_t                    id;          /* empty: the default */
    ngx_palette_cert_pem_t      *pem;
    ngx_palette_cert_meta_t     *meta;        /* a named one's names */

    /* what is made current, and the generation given before it */
    ngx_palette_cert_record_t   *rec;
    ngx_palette_cert_named_t    *entry;
    ngx_uint_t                   reserved;
} ngx_palette_cert_change_t;


/* the steps of a change nginx makes itself (ngx_palette_cert_job.c) */

typedef struct ngx_palette_cert_job_s  ngx_palette_cert_job_t;

typedef struct {
    /* in a thread where there is a pool */
    void                       (*check)(ngx_palette_cert_job_t *job);
    ngx_int_t                  (*store)(ngx_palette_cert_job_t *job);

    /* in the event loop */
    void                       (*checked)(ngx_palette_cert_job_t *job,
                                          ngx_log_t *log);
    void                       (*finish)(ngx_palette_cert_job_t *job,
                                         ngx_log_t *log);
    void                       (*end)(ngx_palette_cert_job_t *job);
} ngx_palette_cert_job_ops_t;


struct ngx_palette_cert_job_s {
    ngx_palette_cert_job_ops_t  *ops;
    ngx_palette_cert_change_t    change;

    /* what the check makes of the files, or why it refuses them */
    ngx_palette_cert_bundle_t    bundle;
    ngx_palette_cert_pem_t       pem;
    ngx_palette_cert_error_t     err;

    ngx_int_t                    rc;
    unsigned                     storing:1;

#if (NGX_THREADS)
    /* NULL: the steps run in the event loop */
    ngx_thread_pool_t           *thread_pool;
    ngx_thread_task_t          **task;        /* made once, kept there */
    ngx_event_t                 *guard;
#endif
};


/* a growing output buffer for JSON */

typedef struct {
    ngx_pool_t                  *pool;
    u_char                      *start;
    u_char                      *pos;
    u_char                      *end;
    ngx_uint_t                   failed;
} ngx_palette_cert_json_t;


extern ngx_module_t  ngx_palette_cert_module;

/*
 * A connection's mark: its handshake was counted; the client hello found
 * no named certificate of a zone (the zone's address, with a flag).
 */
extern int           ngx_palette_cert_conn_index;

#define NGX_PALETTE_CERT_COUNTED        1
#define NGX_PALETTE_CERT_UNNAMED        2

/* the running configuration's "remember", once it is in use */
extern ngx_uint_t    ngx_palette_cert_remember;


/* ngx_palette_cert_job.c */
void ngx_palette_cert_job_init(ngx_palette_cert_job_t *job,
    ngx_palette_cert_job_ops_t *ops, ngx_palette_cert_zone_t *zone,
    ngx_str_t *id);
void ngx_palette_cert_job_check(ngx_palette_cert_job_t *job, ngx_log_t *log);
void ngx_palette_cert_job_validate(ngx_palette_cert_job_t *job,
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_pem_t *pem);
void ngx_palette_cert_job_free(ngx_palette_cert_job_t *job);
ngx_int_t ngx_palette_cert_job_store(ngx_palette_cert_job_t *job,
    ngx_log_t *log);
void ngx_palette_cert_job_guard(ngx_event_t *ev);


/* ngx_palette_cert_module.c */
ngx_palette_cert_zone_t *ngx_palette_cert_find_zone(ngx_conf_t *cf,
    ngx_str_t *name);
ngx_int_t ngx_palette_cert_zone_reloaded(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_zone_t *ozone);
ngx_palette_cert_main_conf_t *ngx_palette_cert_worker_conf(
    ngx_cycle_t *cycle);


/* ngx_palette_cert_api.c */
ngx_int_t ngx_palette_cert_api_handler(ngx_http_request_t *r);
ngx_uint_t ngx_palette_cert_next_generation(ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_api_init_filters(ngx_conf_t *cf);


/* ngx_palette_cert_json.c */
ngx_int_t ngx_palette_cert_json_init(ngx_palette_cert_json_t *j,
    ngx_pool_t *pool, size_t size);
void ngx_palette_cert_json_raw(ngx_palette_cert_json_t *j, const char *s);
void ngx_palette_cert_json_key(ngx_palette_cert_json_t *j, const char *key);
void ngx_palette_cert_json_str(ngx_palette_cert_json_t *j, u_char *s,
    size_t len);
void ngx_palette_cert_json_cstr(ngx_palette_cert_json_t *j, const char *s);
void ngx_palette_cert_json_uint(ngx_palette_cert_json_t *j, ngx_uint_t n);
void ngx_palette_cert_json_list(ngx_palette_cert_json_t *j, u_char *p,
    size_t len);


/* ngx_palette_cert_validate.c */
void ngx_palette_cert_error(ngx_palette_cert_error_t *err, ngx_uint_t status,
    const char *code, const char *field, const char *fmt, ...);
ngx_int_t ngx_palette_cert_validate(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_fields_t *up, ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_error_t *err);
void ngx_palette_cert_bundle_free(ngx_palette_cert_bundle_t *b);
ngx_int_t ngx_palette_cert_bundle_pem(ngx_palette_cert_bundle_t *b,
    ngx_palette_cert_pem_t *pem);
void ngx_palette_cert_pem_free(ngx_palette_cert_pem_t *pem);
ngx_int_t ngx_palette_cert_bio_str(BIO *bio, ngx_str_t *out);
ngx_int_t ngx_palette_cert_parse_pem(ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_parsed_t *parsed, ngx_log_t *log);
void ngx_palette_cert_parsed_free(ngx_palette_cert_parsed_t *parsed);
ngx_int_t ngx_palette_cert_info(ngx_palette_cert_json_t *j, X509 *leaf,
    STACK_OF(X509) *chain, EVP_PKEY *key);
void ngx_palette_cert_left_out_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_left_out_t *lo);
u_char *ngx_palette_cert_subject(u_char *p, u_char *last, X509_NAME *name);
u_char *ngx_palette_cert_sha256(u_char *p, X509 *x);
u_char *ngx_palette_cert_time(u_char *p, const ASN1_TIME *t);
u_char *ngx_palette_cert_rfc3339(u_char *p, time_t t);
u_char *ngx_palette_cert_key_type(u_char *p, u_char *last, EVP_PKEY *key);
ngx_int_t ngx_palette_cert_is_ip(ngx_str_t *name);
ngx_int_t ngx_palette_cert_check_install(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_bundle_t *b, ngx_palette_cert_error_t *err);


/* ngx_palette_cert_shm.c */
ngx_int_t ngx_palette_cert_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_palette_cert_record_t *ngx_palette_cert_record_alloc(
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_pem_t *pem);
void ngx_palette_cert_record_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_record_t *rec);
ngx_palette_cert_record_t *ngx_palette_cert_current_record(
    ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_publish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_record_t *rec);
ngx_int_t ngx_palette_cert_record_copy(ngx_palette_cert_record_t *rec,
    ngx_palette_cert_pem_t *pem);
ngx_int_t ngx_palette_cert_update_trylock(ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_update_unlock(ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_zone_retire(ngx_palette_cert_zone_t *zone,
    ngx_uint_t retire);
ngx_uint_t ngx_palette_cert_change_owned(ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_change_begin(ngx_palette_cert_change_t *ch,
    ngx_palette_cert_error_t *err, ngx_log_t *log);
ngx_int_t ngx_palette_cert_change_reserve(ngx_palette_cert_change_t *ch,
    ngx_uint_t remove);
void ngx_palette_cert_zone_full(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_error_t *err, ngx_log_t *log);
ngx_int_t ngx_palette_cert_change_end(ngx_palette_cert_change_t *ch,
    ngx_int_t stored);


/* ngx_palette_cert_named.c */
void ngx_palette_cert_named_init(ngx_palette_cert_sh_t *sh);
ngx_palette_cert_named_t *ngx_palette_cert_named_find(
    ngx_palette_cert_zone_t *zone, u_char *id, size_t len);
ngx_palette_cert_named_t *ngx_palette_cert_named_after(
    ngx_palette_cert_zone_t *zone, ngx_str_t *after);
ngx_palette_cert_named_t *ngx_palette_cert_named_next(
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_named_t *e);
ngx_int_t ngx_palette_cert_meta(X509 *leaf, EVP_PKEY *key,
    ngx_palette_cert_meta_t *m, u_char *buf, size_t size);
size_t ngx_palette_cert_ip_text(const ASN1_OCTET_STRING *ip, u_char *text,
    size_t size);
ngx_palette_cert_named_t *ngx_palette_cert_named_alloc(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id, ngx_palette_cert_meta_t *m,
    ngx_palette_cert_pem_t *pem);
ngx_palette_cert_named_t *ngx_palette_cert_named_dup(
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_named_t *o);
void ngx_palette_cert_named_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e);
ngx_int_t ngx_palette_cert_pem_alloc(ngx_palette_cert_pem_t *pem,
    size_t cert_len, size_t key_len, size_t ca_len);
ngx_int_t ngx_palette_cert_named_copy(ngx_palette_cert_named_t *e,
    ngx_palette_cert_pem_t *pem);
ngx_int_t ngx_palette_cert_named_meta(ngx_palette_cert_named_t *e,
    ngx_palette_cert_meta_t *m, ngx_pool_t *pool);
ngx_palette_cert_named_t *ngx_palette_cert_named_conflict(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id, ngx_palette_cert_meta_t *m,
    ngx_str_t *name);
ngx_int_t ngx_palette_cert_named_reserve(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e);
ngx_int_t ngx_palette_cert_named_publish(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_palette_cert_named_t *e, ngx_uint_t generation);
ngx_int_t ngx_palette_cert_named_select(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, u_char *name, size_t len, ngx_uint_t gen[2]);
ngx_palette_cert_cached_t *ngx_palette_cert_named_get(
    ngx_palette_cert_zone_t *zone, ngx_uint_t kind, u_char *name, size_t len,
    ngx_uint_t type, ngx_uint_t generation, ngx_log_t *log);
ngx_int_t ngx_palette_cert_meta_text(ngx_palette_cert_meta_t *m,
    ngx_str_t *text);
ngx_int_t ngx_palette_cert_meta_parse(ngx_str_t *text,
    ngx_palette_cert_meta_t *m, u_char *buf, size_t size);
void ngx_palette_cert_cache_init(ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_cache_free(ngx_palette_cert_zone_t *zone);


/* ngx_palette_cert_store.c */
ngx_int_t ngx_palette_cert_store_load(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_palette_cert_pem_t *pem, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_save(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_save_default(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_save_named(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_palette_cert_pem_t *pem, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_delete_named(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_uint_t generation, ngx_log_t *log);
ngx_uint_t ngx_palette_cert_store_named_last(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_load_named(ngx_palette_cert_zone_t *zone,
    ngx_int_t (*handler)(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_pem_t *pem), ngx_log_t *log);
ngx_uint_t ngx_palette_cert_store_last(ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_store_history(ngx_palette_cert_zone_t *zone,
    ngx_array_t *versions, ngx_log_t *log);
ngx_uint_t ngx_palette_cert_store_kept(ngx_palette_cert_zone_t *zone,
    ngx_uint_t generation);
ngx_int_t ngx_palette_cert_store_save_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_palette_cert_file_t *files, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_remove_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_load_aside(ngx_palette_cert_zone_t *zone,
    const char *which, ngx_palette_cert_file_t *files,
    ngx_int_t (*handler)(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_file_t *files), ngx_log_t *log);
void ngx_palette_cert_files_free(ngx_palette_cert_file_t *files);
ngx_uint_t ngx_palette_cert_store_files(ngx_palette_cert_pem_t *pem,
    ngx_palette_cert_file_t *files);
void ngx_palette_cert_store_clean(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_lock_init(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_palette_cert_store_lock(ngx_palette_cert_zone_t *zone,
    ngx_msec_t wait, ngx_log_t *log);
void ngx_palette_cert_store_unlock(ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_store_alone(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);


/* ngx_palette_cert_handshake.c */
int ngx_palette_cert_handshake(SSL *ssl, void *arg);
int ngx_palette_cert_client_hello(SSL *ssl, int *alert, void *arg);
ngx_int_t ngx_palette_cert_session_base(ngx_palette_cert_srv_conf_t *pscf,
    ngx_array_t *certificates, ngx_log_t *log);
void ngx_palette_cert_session_update(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log);
ngx_int_t ngx_palette_cert_zone_usable(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
void ngx_palette_cert_served_free(ngx_palette_cert_srv_conf_t *pscf);
ngx_int_t ngx_palette_cert_refresh(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_palette_cert_install(ngx_palette_cert_srv_conf_t *pscf,
    ngx_log_t *log);
void ngx_palette_cert_placeholders(ngx_log_t *log);


/* ngx_palette_cert_metrics.c */
ngx_int_t ngx_palette_cert_metrics_handler(ngx_http_request_t *r);
ngx_int_t ngx_palette_cert_metrics_preconf(ngx_conf_t *cf);
void ngx_palette_cert_variables_used(ngx_conf_t *cf);
void ngx_palette_cert_tag(u_char *tag, size_t *len, ngx_str_t *id,
    ngx_uint_t generation, X509 *leaf, time_t not_after, u_char *sha256);
void ngx_palette_cert_count_change(ngx_palette_cert_zone_t *zone,
    const char *result);
ngx_int_t ngx_palette_cert_expire_init(ngx_cycle_t *cycle);
void ngx_palette_cert_expire_check(ngx_palette_cert_zone_t *zone,
    ngx_log_t *log);
time_t ngx_palette_cert_parse_time(u_char *p, size_t len);
time_t ngx_palette_cert_asn1_time(const ASN1_TIME *t);
ngx_palette_cert_stats_t *ngx_palette_cert_stats_alloc(
    ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_stats_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_stats_t *st);
void ngx_palette_cert_stats_inherit(ngx_palette_cert_sh_t *sh,
    ngx_palette_cert_sh_t *osh);


/* ngx_palette_cert_watch.c */
char *ngx_palette_cert_watch(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_palette_cert_watch_t *ngx_palette_cert_watch_find(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id);
ngx_uint_t ngx_palette_cert_watch_serves(ngx_palette_cert_watch_t *w,
    ngx_uint_t generation);
ngx_int_t ngx_palette_cert_watch_init(ngx_cycle_t *cycle,
    ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_watch_init_process(ngx_cycle_t *cycle);


/* ngx_palette_cert_aside.c */
ngx_palette_cert_aside_t *ngx_palette_cert_aside_alloc(
    ngx_palette_cert_zone_t *zone, ngx_uint_t kind, ngx_str_t *id,
    time_t time, ngx_str_t *parts);
void ngx_palette_cert_aside_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e);
ngx_int_t ngx_palette_cert_aside_publish(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e);
void ngx_palette_cert_aside_discard(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e);
ngx_int_t ngx_palette_cert_aside_copy(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, ngx_str_t *id, ngx_uint_t parts, ngx_pool_t *pool,
    ngx_palette_cert_aside_t **copy);
ngx_palette_cert_aside_t **ngx_palette_cert_aside_find(
    ngx_palette_cert_zone_t *zone, ngx_uint_t kind, ngx_str_t *id);
ngx_int_t ngx_palette_cert_aside_remove(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, ngx_str_t *id, time_t time);
ngx_int_t ngx_palette_cert_aside_load(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_aside_t *e);


/* ngx_palette_cert_staged.c */
ngx_palette_cert_aside_t *ngx_palette_cert_staged_alloc(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id, time_t time,
    ngx_palette_cert_pem_t *pem);
void ngx_palette_cert_staged_schedule(ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_staged_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_zone_t *zone, ngx_str_t *id);
ngx_int_t ngx_palette_cert_staged_save(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, time_t time, ngx_log_t *log);
ngx_int_t ngx_palette_cert_staged_load(ngx_palette_cert_zone_t *zone);
ngx_int_t ngx_palette_cert_staged_init_process(ngx_cycle_t *cycle);


/* ngx_palette_cert_csr.c */
ngx_int_t ngx_palette_cert_csr_check(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_csr_fields_t *c, ngx_uint_t named,
    ngx_palette_cert_csr_t *csr, ngx_pool_t *pool,
    ngx_palette_cert_error_t *err);
ngx_uint_t ngx_palette_cert_csr_covers(ngx_str_t *name, ngx_str_t *want);
ngx_int_t ngx_palette_cert_csr_make(ngx_palette_cert_csr_t *csr);
void ngx_palette_cert_csr_free(ngx_palette_cert_csr_t *csr);
ngx_palette_cert_aside_t *ngx_palette_cert_csr_alloc(
    ngx_palette_cert_zone_t *zone, ngx_str_t *id, ngx_palette_cert_csr_t *csr);
ngx_int_t ngx_palette_cert_csr_key_copy(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_str_t *key, time_t *created);
ngx_int_t ngx_palette_cert_csr_load(ngx_palette_cert_zone_t *zone);
void ngx_palette_cert_csr_json(ngx_palette_cert_json_t *j,
    ngx_palette_cert_zone_t *zone, ngx_str_t *id);


/* ngx_palette_cert_selfsigned.c */
ngx_int_t ngx_palette_cert_self_signed(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem, ngx_log_t *log);
ngx_uint_t ngx_palette_cert_self_signed_matches(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_pem_t *pem);
X509 *ngx_palette_cert_placeholder(int type, ngx_log_t *log);


#endif /* _NGX_PALETTE_CERT_H_INCLUDED_ */
