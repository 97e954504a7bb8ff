
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Named certificates: how the zone keeps them, the index a handshake
 * searches, and the cache of parsed ones each process keeps.
 *
 * A named certificate is an entry in a tree ordered by id (the list pages
 * through it) and, for every name it is served for, a slot of the index:
 * an open-addressing hash table of names, each slot holding the name's
 * certificate of either key type.  Entries and their data live in chunks
 * of one slab size, so that a certificate costs its bytes and a few
 * hundred more, whatever its size.
 *
 * Handshakes read the index without a lock.  Every change of it is made
 * under the pool's lock with the zone's sequence odd; a reader notes the
 * sequence, searches, and searches again if it changed meanwhile.  What
 * it reads may have been freed and reused by then, so every pointer it
 * follows is checked to stay inside the zone before it is followed, and
 * nothing it read is used unless the sequence proves it consistent.
 *
 * A process parses a named certificate the first time a handshake needs
 * it, and keeps it, by generation, among the zone's "cache=" most
 * recently used ones.  A change gives the certificate a new generation:
 * the old one is never found again and ages out.
 */


#include "ngx_palette_cert.h"


/* a reader that keeps finding a change under way takes the lock */
#define NGX_PALETTE_CERT_SEQ_TRIES  64

#define NGX_PALETTE_CERT_INDEX_MIN  64


static void ngx_palette_cert_named_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_rbtree_key_t ngx_palette_cert_id_key(u_char *id, size_t len);
static ngx_int_t ngx_palette_cert_id_cmp(ngx_palette_cert_named_t *e,
    ngx_rbtree_key_t key, u_char *id, size_t len);
static ngx_int_t ngx_palette_cert_meta_names(X509 *leaf,
    ngx_palette_cert_meta_t *m);
static u_char *ngx_palette_cert_names_find(u_char *names, u_char *last,
    ngx_uint_t kind, u_char *name, size_t len);
static void ngx_palette_cert_chunks_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_chunk_t *c);
static void ngx_palette_cert_chunks_read(ngx_palette_cert_chunk_t *c,
    size_t off, u_char *dst, size_t len);
static uint32_t ngx_palette_cert_hash(ngx_uint_t kind, u_char *name,
    size_t len);
static ngx_palette_cert_slot_t *ngx_palette_cert_index_find(
    ngx_palette_cert_index_t *idx, uint32_t hash, ngx_uint_t kind,
    u_char *name, size_t len);
static ngx_int_t ngx_palette_cert_index_reserve(
    ngx_palette_cert_zone_t *zone, ngx_palette_cert_named_t *e);
static void ngx_palette_cert_index_add(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e);
static void ngx_palette_cert_index_put(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, u_char *name, size_t len, ngx_palette_cert_named_t *e);
static void ngx_palette_cert_slot_name(ngx_palette_cert_slot_t *slot,
    ngx_palette_cert_named_t *e);
static void ngx_palette_cert_index_remove(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e);
static void ngx_palette_cert_index_delete(ngx_palette_cert_index_t *idx,
    ngx_uint_t i);
static ngx_int_t ngx_palette_cert_index_grow(ngx_palette_cert_zone_t *zone);
static void ngx_palette_cert_index_repair(ngx_palette_cert_zone_t *zone);
static void ngx_palette_cert_seq_begin(ngx_palette_cert_sh_t *sh);
static void ngx_palette_cert_seq_end(ngx_palette_cert_sh_t *sh);
static ngx_int_t ngx_palette_cert_select_locked(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, u_char *name, size_t len, ngx_uint_t gen[2]);
static ngx_palette_cert_cached_t *ngx_palette_cert_named_parse(
    ngx_palette_cert_zone_t *zone, ngx_uint_t kind, u_char *name, size_t len,
    ngx_uint_t type, ngx_uint_t generation, ngx_log_t *log);
static ngx_uint_t ngx_palette_cert_bind(X509 **leaf, EVP_PKEY *key);
static void ngx_palette_cert_cached_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_cached_t *cc);


void
ngx_palette_cert_named_init(ngx_palette_cert_sh_t *sh)
{
    ngx_rbtree_init(&sh->named, &sh->named_sentinel,
                    ngx_palette_cert_named_insert_value);
}


/*
 * The tree is ordered bytewise by id: the key is the id's first bytes,
 * big-endian, and ids that share them are told apart by the whole id.
 * Ids hold no NUL, so the zero padding of a short id sorts it first.
 */

static ngx_rbtree_key_t
ngx_palette_cert_id_key(u_char *id, size_t len)
{
    ngx_uint_t        i;
    ngx_rbtree_key_t  key;

    key = 0;

    for (i = 0; i < sizeof(ngx_rbtree_key_t); i++) {
        key = (key << 8) | (i < len ? id[i] : 0);
    }

    return key;
}


static ngx_int_t
ngx_palette_cert_id_cmp(ngx_palette_cert_named_t *e, ngx_rbtree_key_t key,
    u_char *id, size_t len)
{
    if (key != e->node.key) {
        return (key < e->node.key) ? -1 : 1;
    }

    return ngx_memn2cmp(id, e->id, len, e->id_len);
}


static void
ngx_palette_cert_named_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t        **p;
    ngx_palette_cert_named_t  *n, *t;

    n = (ngx_palette_cert_named_t *) node;

    for ( ;; ) {
        t = (ngx_palette_cert_named_t *) temp;

        p = (ngx_palette_cert_id_cmp(t, n->node.key, n->id, n->id_len) < 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the caller holds the lock */

ngx_palette_cert_named_t *
ngx_palette_cert_named_find(ngx_palette_cert_zone_t *zone, u_char *id,
    size_t len)
{
    ngx_int_t           rc;
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    key = ngx_palette_cert_id_key(id, len);
    node = zone->sh->named.root;
    sentinel = zone->sh->named.sentinel;

    while (node != sentinel) {
        rc = ngx_palette_cert_id_cmp((ngx_palette_cert_named_t *) node, key,
                                     id, len);
        if (rc == 0) {
            return (ngx_palette_cert_named_t *) node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* the first entry whose id sorts after "after" (any, when it is empty) */

ngx_palette_cert_named_t *
ngx_palette_cert_named_after(ngx_palette_cert_zone_t *zone, ngx_str_t *after)
{
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_palette_cert_named_t  *found;

    node = zone->sh->named.root;
    sentinel = zone->sh->named.sentinel;

    if (node == sentinel) {
        return NULL;
    }

    if (after->len == 0) {
        return (ngx_palette_cert_named_t *) ngx_rbtree_min(node, sentinel);
    }

    key = ngx_palette_cert_id_key(after->data, after->len);
    found = NULL;

    while (node != sentinel) {
        if (ngx_palette_cert_id_cmp((ngx_palette_cert_named_t *) node, key,
                                    after->data, after->len)
            < 0)
        {
            found = (ngx_palette_cert_named_t *) node;
            node = node->left;

        } else {
            node = node->right;
        }
    }

    return found;
}


ngx_palette_cert_named_t *
ngx_palette_cert_named_next(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    ngx_rbtree_node_t  *node;

    node = ngx_rbtree_next(&zone->sh->named, &e->node);

    return (ngx_palette_cert_named_t *) node;
}


/*
 * What the list shows and the index needs of a certificate, taken from
 * its leaf and key: NGX_DECLINED when it names neither a host nor an
 * address.  meta->names is allocated, and freed by the caller.
 */

ngx_int_t
ngx_palette_cert_meta(X509 *leaf, EVP_PKEY *key, ngx_palette_cert_meta_t *m,
    u_char *buf, size_t size)
{
    u_char        *p, *last;
    unsigned int   dlen;

    ngx_memzero(m, sizeof(ngx_palette_cert_meta_t));

    m->type = (EVP_PKEY_base_id(key) == EVP_PKEY_EC)
              ? NGX_PALETTE_CERT_EC : NGX_PALETTE_CERT_RSA;

    /* buf holds the key type, the dates, the subject and the issuer */

    p = buf;
    last = buf + size;

    m->key_type.data = p;
    p = ngx_palette_cert_key_type(p, last, key);
    m->key_type.len = ngx_min((size_t) (p - m->key_type.data), 12);

    m->not_after.data = p;
    p = ngx_palette_cert_time(p, X509_get0_notAfter(leaf));
    m->not_after.len = ngx_min((size_t) (p - m->not_after.data), 20);

    m->not_before.data = p;
    p = ngx_palette_cert_time(p, X509_get0_notBefore(leaf));
    m->not_before.len = ngx_min((size_t) (p - m->not_before.data), 20);

    m->subject.data = p;
    p = ngx_palette_cert_subject(p, ngx_min(last, p + NGX_PALETTE_CERT_DN_LEN),
                                 X509_get_subject_name(leaf));
    m->subject.len = p - m->subject.data;

    m->issuer.data = p;
    p = ngx_palette_cert_subject(p, ngx_min(last, p + NGX_PALETTE_CERT_DN_LEN),
                                 X509_get_issuer_name(leaf));
    m->issuer.len = p - m->issuer.data;

    if (X509_digest(leaf, EVP_sha256(), m->sha256, &dlen) != 1) {
        return NGX_ERROR;
    }

    return ngx_palette_cert_meta_names(leaf, m);
}


/* the host names and addresses of the leaf's SAN, packed into m->names */

static ngx_int_t
ngx_palette_cert_meta_names(X509 *leaf, ngx_palette_cert_meta_t *m)
{
    int             i, n;
    u_char         *p, text[NGX_INET6_ADDRSTRLEN + 1];
    size_t          len, total;
    ngx_uint_t      kind;
    const u_char   *data;
    GENERAL_NAME   *gn;
    GENERAL_NAMES  *gens;

    gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    n = sk_GENERAL_NAME_num(gens);

    total = 0;

    for (i = 0; i < n; i++) {
        gn = sk_GENERAL_NAME_value(gens, i);

        if (gn->type == GEN_DNS) {
            total += 2 + ASN1_STRING_length(gn->d.dNSName);

        } else if (gn->type == GEN_IPADD) {
            total += 2 + NGX_INET6_ADDRSTRLEN;
        }
    }

    if (total == 0) {
        GENERAL_NAMES_free(gens);
        return NGX_DECLINED;
    }

    m->names = ngx_alloc(total, ngx_cycle->log);
    if (m->names == NULL) {
        GENERAL_NAMES_free(gens);
        return NGX_ERROR;
    }

    p = m->names;

    for (i = 0; i < n; i++) {
        gn = sk_GENERAL_NAME_value(gens, i);

        if (gn->type == GEN_DNS) {
            data = ASN1_STRING_get0_data(gn->d.dNSName);
            len = ASN1_STRING_length(gn->d.dNSName);
            kind = NGX_PALETTE_CERT_NAME_DNS;

            if (len == 0 || len > 253) {
                continue;
            }

        } else if (gn->type == GEN_IPADD) {
            len = ngx_palette_cert_ip_text(gn->d.iPAddress, text,
                                           sizeof(text));
            if (len == 0) {
                continue;
            }

            data = text;
            kind = NGX_PALETTE_CERT_NAME_IP;

        } else {
            continue;
        }

        /* lowercase, and each name once */

        p[0] = (u_char) kind;
        p[1] = (u_char) len;
        ngx_strlow(p + 2, (u_char *) data, len);

        if (ngx_palette_cert_names_find(m->names, p, kind, p + 2, len)) {
            continue;
        }

        p += 2 + len;
        m->nnames++;
    }

    GENERAL_NAMES_free(gens);

    m->names_len = p - m->names;

    if (m->nnames == 0) {
        ngx_free(m->names);
        m->names = NULL;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * An address of a certificate's SAN as text, NUL-terminated, into text
 * (NGX_INET6_ADDRSTRLEN + 1 bytes): its length, or 0 when it is neither
 * an IPv4 nor an IPv6 address.
 */

size_t
ngx_palette_cert_ip_text(const ASN1_OCTET_STRING *ip, u_char *text,
    size_t size)
{
    size_t  len;

    len = ASN1_STRING_length(ip);

    if ((len != 4 && len != 16)
        || inet_ntop(len == 16 ? AF_INET6 : AF_INET,
                     ASN1_STRING_get0_data(ip), (char *) text, size)
           == NULL)
    {
        return 0;
    }

    return ngx_strlen(text);
}


/* the packed name of that kind between names and last, or NULL */

static u_char *
ngx_palette_cert_names_find(u_char *names, u_char *last, ngx_uint_t kind,
    u_char *name, size_t len)
{
    u_char  *p;

    for (p = names; p < last; p += 2 + p[1]) {
        if (p[0] == kind && p[1] == len && ngx_memcmp(p + 2, name, len) == 0)
        {
            return p;
        }
    }

    return NULL;
}


/*
 * An entry and its data, from the pool: the caller holds the lock, or is
 * the only process.  NULL when the zone is full.
 */

ngx_palette_cert_named_t *
ngx_palette_cert_named_alloc(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_meta_t *m, ngx_palette_cert_pem_t *pem)
{
    size_t                      n, len, room;
    u_char                     *p, *src;
    ngx_uint_t                  i;
    ngx_str_t                   part[3];
    ngx_palette_cert_chunk_t   *c, **next;
    ngx_palette_cert_named_t   *e;

    e = ngx_slab_alloc_locked(zone->shpool, sizeof(ngx_palette_cert_named_t));
    if (e == NULL) {
        return NULL;
    }

    ngx_memzero(e, sizeof(ngx_palette_cert_named_t));

    e->names = ngx_slab_alloc_locked(zone->shpool, m->names_len
                                     + m->subject.len + m->issuer.len);
    if (e->names == NULL) {
        ngx_slab_free_locked(zone->shpool, e);
        return NULL;
    }

    e->stats = ngx_palette_cert_stats_alloc(zone);
    if (e->stats == NULL) {
        ngx_slab_free_locked(zone->shpool, e->names);
        ngx_slab_free_locked(zone->shpool, e);
        return NULL;
    }

    p = ngx_cpymem(e->names, m->names, m->names_len);
    p = ngx_cpymem(p, m->subject.data, m->subject.len);
    ngx_memcpy(p, m->issuer.data, m->issuer.len);

    e->names_len = m->names_len;
    e->subject_len = (uint16_t) m->subject.len;
    e->issuer_len = (uint16_t) m->issuer.len;

    e->not_before_time = ngx_palette_cert_parse_time(m->not_before.data,
                                                     m->not_before.len);
    e->not_after_time = ngx_palette_cert_parse_time(m->not_after.data,
                                                    m->not_after.len);

    e->node.key = ngx_palette_cert_id_key(id->data, id->len);
    e->id_len = (u_char) id->len;
    ngx_memcpy(e->id, id->data, id->len);

    e->generation = pem->generation;
    e->type = (u_char) m->type;
    e->has_ca = pem->has_ca;
    e->key_type_len = (u_char) ngx_min(m->key_type.len, sizeof(e->key_type));
    ngx_memcpy(e->key_type, m->key_type.data, e->key_type_len);
    ngx_memcpy(e->not_after, m->not_after.data,
               ngx_min(m->not_after.len, sizeof(e->not_after)));
    ngx_memcpy(e->sha256, m->sha256, sizeof(e->sha256));

    e->cert_len = pem->cert.len;
    e->key_len = pem->key.len;
    e->ca_len = pem->ca.len;

    part[0] = pem->cert;
    part[1] = pem->key;
    part[2] = pem->ca;

    next = &e->data;
    c = NULL;
    room = 0;

    for (i = 0; i < 3; i++) {
        src = part[i].data;
        len = part[i].len;

        while (len) {
            if (room == 0) {
                c = ngx_slab_alloc_locked(zone->shpool,
                                          sizeof(ngx_palette_cert_chunk_t));
                if (c == NULL) {
                    ngx_palette_cert_named_free(zone, e);
                    return NULL;
                }

                c->next = NULL;
                *next = c;
                next = &c->next;
                room = sizeof(c->data);
            }

            n = ngx_min(len, room);
            ngx_memcpy(c->data + sizeof(c->data) - room, src, n);

            src += n;
            len -= n;
            room -= n;
        }
    }

    return e;
}


/* a copy of an entry of another zone (a reload that changed the size) */

ngx_palette_cert_named_t *
ngx_palette_cert_named_dup(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *o)
{
    size_t                      len;
    ngx_palette_cert_chunk_t   *c, *oc, **next;
    ngx_palette_cert_named_t   *e;

    e = ngx_slab_alloc_locked(zone->shpool, sizeof(ngx_palette_cert_named_t));
    if (e == NULL) {
        return NULL;
    }

    *e = *o;
    e->data = NULL;

    len = o->names_len + o->subject_len + o->issuer_len;

    e->names = ngx_slab_alloc_locked(zone->shpool, len);
    if (e->names == NULL) {
        ngx_slab_free_locked(zone->shpool, e);
        return NULL;
    }

    ngx_memcpy(e->names, o->names, len);

    /* what was counted goes on in the new zone */

    e->stats = ngx_palette_cert_stats_alloc(zone);
    if (e->stats == NULL) {
        ngx_palette_cert_named_free(zone, e);
        return NULL;
    }

    e->stats->handshakes = o->stats->handshakes;
    e->stats->warned = o->stats->warned;
    e->stats->warned_generation = o->stats->warned_generation;

    next = &e->data;

    for (oc = o->data; oc; oc = oc->next) {
        c = ngx_slab_alloc_locked(zone->shpool,
                                  sizeof(ngx_palette_cert_chunk_t));
        if (c == NULL) {
            ngx_palette_cert_named_free(zone, e);
            return NULL;
        }

        ngx_memcpy(c->data, oc->data, sizeof(c->data));
        c->next = NULL;
        *next = c;
        next = &c->next;
    }

    return e;
}


/* the caller holds the lock; the entry is in neither the tree nor index */

void
ngx_palette_cert_named_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    ngx_palette_cert_chunks_free(zone, e->data);

    if (e->names) {
        ngx_slab_free_locked(zone->shpool, e->names);
    }

    if (e->stats) {
        ngx_palette_cert_stats_free(zone, e->stats);
    }

    ngx_explicit_memzero(e, sizeof(ngx_palette_cert_named_t));
    ngx_slab_free_locked(zone->shpool, e);
}


static void
ngx_palette_cert_chunks_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_chunk_t *c)
{
    ngx_palette_cert_chunk_t  *next;

    /* the key, and its neighbours with it: nothing is left to be found */

    while (c) {
        next = c->next;
        ngx_explicit_memzero(c, sizeof(ngx_palette_cert_chunk_t));
        ngx_slab_free_locked(zone->shpool, c);
        c = next;
    }
}


static void
ngx_palette_cert_chunks_read(ngx_palette_cert_chunk_t *c, size_t off,
    u_char *dst, size_t len)
{
    size_t  n;

    while (c && off >= sizeof(c->data)) {
        off -= sizeof(c->data);
        c = c->next;
    }

    while (c && len) {
        n = ngx_min(len, sizeof(c->data) - off);
        dst = ngx_cpymem(dst, c->data + off, n);
        len -= n;
        off = 0;
        c = c->next;
    }
}


/*
 * Room for a copy of a certificate out of shared memory: its chain, key
 * and CA of those lengths, each with a byte more for a NUL; all empty,
 * and nothing allocated, on failure.
 */

ngx_int_t
ngx_palette_cert_pem_alloc(ngx_palette_cert_pem_t *pem, size_t cert_len,
    size_t key_len, size_t ca_len)
{
    ngx_memzero(pem, sizeof(ngx_palette_cert_pem_t));

    pem->cert.data = ngx_alloc(cert_len + 1, ngx_cycle->log);
    pem->key.data = ngx_alloc(key_len + 1, ngx_cycle->log);
    pem->ca.data = ngx_alloc(ca_len + 1, ngx_cycle->log);

    if (pem->cert.data == NULL || pem->key.data == NULL
        || pem->ca.data == NULL)
    {
        ngx_palette_cert_pem_free(pem);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* copies an entry's PEM out of shared memory; the caller holds the lock */

ngx_int_t
ngx_palette_cert_named_copy(ngx_palette_cert_named_t *e,
    ngx_palette_cert_pem_t *pem)
{
    size_t  off;

    if (ngx_palette_cert_pem_alloc(pem, e->cert_len, e->key_len, e->ca_len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    off = 0;

    ngx_palette_cert_chunks_read(e->data, off, pem->cert.data, e->cert_len);
    pem->cert.len = e->cert_len;
    off += e->cert_len;

    ngx_palette_cert_chunks_read(e->data, off, pem->key.data, e->key_len);
    pem->key.len = e->key_len;
    off += e->key_len;

    ngx_palette_cert_chunks_read(e->data, off, pem->ca.data, e->ca_len);
    pem->ca.len = e->ca_len;

    pem->has_ca = e->has_ca;
    pem->source = NGX_PALETTE_CERT_UPLOADED;
    pem->generation = e->generation;

    return NGX_OK;
}


/* the caller holds the lock */

ngx_int_t
ngx_palette_cert_named_meta(ngx_palette_cert_named_t *e,
    ngx_palette_cert_meta_t *m, ngx_pool_t *pool)
{
    u_char  *p;

    ngx_memzero(m, sizeof(ngx_palette_cert_meta_t));

    p = ngx_pnalloc(pool, e->names_len + e->key_type_len + 20);
    if (p == NULL) {
        return NGX_ERROR;
    }

    m->names = p;
    m->names_len = e->names_len;
    p = ngx_cpymem(p, e->names, e->names_len);

    m->key_type.data = p;
    m->key_type.len = e->key_type_len;
    p = ngx_cpymem(p, e->key_type, e->key_type_len);

    m->not_after.data = p;
    m->not_after.len = 20;
    ngx_memcpy(p, e->not_after, 20);

    ngx_memcpy(m->sha256, e->sha256, sizeof(m->sha256));
    m->type = e->type;

    return NGX_OK;
}


/*
 * The id of another certificate of the same key type that is served for
 * one of these names (into other), or NULL; the caller holds the lock.
 */

ngx_palette_cert_named_t *
ngx_palette_cert_named_conflict(ngx_palette_cert_zone_t *zone,
    ngx_str_t *id, ngx_palette_cert_meta_t *m, ngx_str_t *name)
{
    u_char                    *p, *last;
    ngx_palette_cert_slot_t   *slot;
    ngx_palette_cert_named_t  *other;

    if (zone->sh->index == NULL) {
        return NULL;
    }

    p = m->names;
    last = m->names + m->names_len;

    while (p < last) {
        slot = ngx_palette_cert_index_find(zone->sh->index,
                                           ngx_palette_cert_hash(p[0], p + 2,
                                                                 p[1]),
                                           p[0], p + 2, p[1]);

        other = slot ? slot->cert[m->type] : NULL;

        if (other
            && ngx_memn2cmp(other->id, id->data, other->id_len, id->len)
               != 0)
        {
            name->data = p + 2;
            name->len = p[1];
            return other;
        }

        p += 2 + p[1];
    }

    return NULL;
}


/*
 * Makes e the certificate "id" (e is NULL: removes it) in the tree and the
 * index, and frees what it replaces; NGX_ERROR when the zone has no room
 * left for the index, and then nothing changed.  The caller holds the
 * lock, or is the only process.
 */

ngx_int_t
ngx_palette_cert_named_publish(ngx_palette_cert_zone_t *zone, ngx_str_t *id,
    ngx_palette_cert_named_t *e, ngx_uint_t generation)
{
    ngx_palette_cert_sh_t     *sh;
    ngx_palette_cert_named_t  *old;

    sh = zone->sh;

    old = ngx_palette_cert_named_find(zone, id->data, id->len);

    ngx_palette_cert_seq_begin(sh);

    if (e && ngx_palette_cert_index_reserve(zone, e) != NGX_OK) {
        ngx_palette_cert_seq_end(sh);
        return NGX_ERROR;
    }

    if (old) {
        ngx_palette_cert_index_remove(zone, old);
        ngx_rbtree_delete(&sh->named, &old->node);
        sh->named_n--;

        /* a replacement goes on counting where the certificate was */

        if (e && old->stats) {
            ngx_palette_cert_stats_free(zone, e->stats);
            e->stats = old->stats;
            old->stats = NULL;
        }
    }

    if (e) {
        ngx_palette_cert_index_add(zone, e);
        ngx_rbtree_insert(&sh->named, &e->node);
        sh->named_n++;
    }

    ngx_palette_cert_seq_end(sh);

    if (old) {
        ngx_palette_cert_named_free(zone, old);
    }

    if (generation > sh->zone_generation) {
        sh->zone_generation = generation;
    }

    return NGX_OK;
}


/*
 * Makes room in the index for e's names ahead of its change, so that the
 * change cannot fail once stored; the caller holds the lock.
 */

ngx_int_t
ngx_palette_cert_named_reserve(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    ngx_int_t  rc;

    ngx_palette_cert_seq_begin(zone->sh);
    rc = ngx_palette_cert_index_reserve(zone, e);
    ngx_palette_cert_seq_end(zone->sh);

    return rc;
}


static void
ngx_palette_cert_seq_begin(ngx_palette_cert_sh_t *sh)
{
    /* a writer that died inside left it odd: the index is rebuilt */

    sh->seq++;
    ngx_memory_barrier();
}


static void
ngx_palette_cert_seq_end(ngx_palette_cert_sh_t *sh)
{
    ngx_memory_barrier();
    sh->seq++;
}


static uint32_t
ngx_palette_cert_hash(ngx_uint_t kind, u_char *name, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u ^ (uint32_t) kind;

    for (i = 0; i < len; i++) {
        h = (h ^ name[i]) * 16777619u;
    }

    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;

    return h;
}


/*
 * Searches the index; with the lock held, or under the sequence, where
 * the caller has checked idx and its size to lie inside the zone and
 * checks the name pointers itself (ngx_palette_cert_named_select()).
 */

static ngx_palette_cert_slot_t *
ngx_palette_cert_index_find(ngx_palette_cert_index_t *idx, uint32_t hash,
    ngx_uint_t kind, u_char *name, size_t len)
{
    ngx_uint_t                i, n, mask;
    ngx_palette_cert_slot_t  *slot;

    mask = idx->size - 1;

    for (i = hash & mask, n = 0; n < idx->size; i = (i + 1) & mask, n++) {
        slot = &idx->slots[i];

        if (slot->len == 0) {
            return NULL;
        }

        if (slot->hash == hash && slot->len == len && slot->kind == kind
            && ngx_memcmp(slot->name, name, len) == 0)
        {
            return slot;
        }
    }

    return NULL;
}


static void
ngx_palette_cert_index_add(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    u_char  *p, *last;

    last = e->names + e->names_len;

    for (p = e->names; p < last; p += 2 + p[1]) {
        ngx_palette_cert_index_put(zone, p[0], p + 2, p[1], e);
    }
}


/*
 * Makes room in the index for the names of e, so that adding it cannot
 * fail; the caller holds the lock, with the sequence odd.
 */

static ngx_int_t
ngx_palette_cert_index_reserve(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    u_char                    *p, *last;
    ngx_uint_t                 n;
    ngx_palette_cert_index_t  *idx;

    n = 0;
    last = e->names + e->names_len;

    for (p = e->names; p < last; p += 2 + p[1]) {
        n++;
    }

    for ( ;; ) {
        idx = zone->sh->index;

        if (idx && (idx->used + n) * 2 <= idx->size) {
            return NGX_OK;
        }

        if (ngx_palette_cert_index_grow(zone) != NGX_OK) {
            return NGX_ERROR;
        }
    }
}


/* the index has room: ngx_palette_cert_index_reserve() saw to it */

static void
ngx_palette_cert_index_put(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    u_char *name, size_t len, ngx_palette_cert_named_t *e)
{
    uint32_t                   hash;
    ngx_uint_t                 i, mask;
    ngx_palette_cert_sh_t     *sh;
    ngx_palette_cert_slot_t   *slot;
    ngx_palette_cert_index_t  *idx;

    sh = zone->sh;
    idx = sh->index;
    hash = ngx_palette_cert_hash(kind, name, len);

    slot = ngx_palette_cert_index_find(idx, hash, kind, name, len);

    if (slot) {
        slot->cert[e->type] = e;

        /* the name is read from a certificate that stays */

        if (slot->cert[e->type ^ 1] == NULL) {
            slot->name = name;
        }

        return;
    }

    mask = idx->size - 1;

    for (i = hash & mask; idx->slots[i].len; i = (i + 1) & mask) {
        /* void */
    }

    slot = &idx->slots[i];

    slot->name = name;
    slot->hash = hash;
    slot->kind = (uint16_t) kind;
    slot->cert[0] = NULL;
    slot->cert[1] = NULL;
    slot->cert[e->type] = e;

    ngx_memory_barrier();

    slot->len = (uint16_t) len;
    idx->used++;

    if (kind == NGX_PALETTE_CERT_NAME_IP) {
        sh->ip_names++;
    }
}


static void
ngx_palette_cert_index_remove(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_named_t *e)
{
    u_char                   *p, *last;
    ngx_palette_cert_sh_t    *sh;
    ngx_palette_cert_slot_t  *slot;
    ngx_palette_cert_named_t *other;

    sh = zone->sh;

    if (sh->index == NULL) {
        return;
    }

    last = e->names + e->names_len;

    for (p = e->names; p < last; p += 2 + p[1]) {
        slot = ngx_palette_cert_index_find(sh->index,
                                           ngx_palette_cert_hash(p[0], p + 2,
                                                                 p[1]),
                                           p[0], p + 2, p[1]);

        if (slot == NULL || slot->cert[e->type] != e) {
            continue;
        }

        slot->cert[e->type] = NULL;
        other = slot->cert[e->type ^ 1];

        if (other) {
            /* the name is the other's from now on */
            ngx_palette_cert_slot_name(slot, other);
            continue;
        }

        if (slot->kind == NGX_PALETTE_CERT_NAME_IP) {
            sh->ip_names--;
        }

        ngx_palette_cert_index_delete(sh->index, slot - sh->index->slots);
    }
}


/* points the slot's name into the certificate's own names */

static void
ngx_palette_cert_slot_name(ngx_palette_cert_slot_t *slot,
    ngx_palette_cert_named_t *e)
{
    u_char  *p;

    p = ngx_palette_cert_names_find(e->names, e->names + e->names_len,
                                    slot->kind, slot->name, slot->len);
    if (p) {
        slot->name = p + 2;
    }
}


/* linear probing's deletion: later slots of the run move back */

static void
ngx_palette_cert_index_delete(ngx_palette_cert_index_t *idx, ngx_uint_t i)
{
    ngx_uint_t  j, k, mask;

    mask = idx->size - 1;
    j = i;

    for ( ;; ) {
        j = (j + 1) & mask;

        if (idx->slots[j].len == 0) {
            break;
        }

        k = idx->slots[j].hash & mask;

        /* the slot stays when its home lies cyclically in (i, j] */

        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }

        idx->slots[i] = idx->slots[j];
        i = j;
    }

    ngx_memzero(&idx->slots[i], sizeof(ngx_palette_cert_slot_t));
    idx->used--;
}


static ngx_int_t
ngx_palette_cert_index_grow(ngx_palette_cert_zone_t *zone)
{
    ngx_uint_t                 i, j, size, mask;
    ngx_palette_cert_sh_t     *sh;
    ngx_palette_cert_slot_t   *slot;
    ngx_palette_cert_index_t  *idx, *old;

    sh = zone->sh;
    old = sh->index;

    size = old ? old->size * 2 : NGX_PALETTE_CERT_INDEX_MIN;

    idx = ngx_slab_alloc_locked(zone->shpool,
                                offsetof(ngx_palette_cert_index_t, slots)
                                + size * sizeof(ngx_palette_cert_slot_t));
    if (idx == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(idx, offsetof(ngx_palette_cert_index_t, slots)
                     + size * sizeof(ngx_palette_cert_slot_t));

    idx->size = size;
    mask = size - 1;

    if (old) {
        for (i = 0; i < old->size; i++) {
            slot = &old->slots[i];

            if (slot->len == 0) {
                continue;
            }

            for (j = slot->hash & mask; idx->slots[j].len; j = (j + 1) & mask)
            {
                /* void */
            }

            idx->slots[j] = *slot;
            idx->used++;
        }
    }

    ngx_memory_barrier();

    sh->index = idx;

    if (old) {
        ngx_slab_free_locked(zone->shpool, old);
    }

    return NGX_OK;
}


/*
 * The index is made anew from the tree: a process died while it changed
 * it, or a name could not be read back.  The old one is left where
 * it is, as its pointer is not trusted.
 */

static void
ngx_palette_cert_index_repair(ngx_palette_cert_zone_t *zone)
{
    ngx_palette_cert_sh_t     *sh;
    ngx_palette_cert_named_t  *e;
    ngx_str_t                  none;

    sh = zone->sh;

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "palette_cert zone \"%V\": the index of named "
                  "certificates is rebuilt", &zone->name);

    sh->index = NULL;
    sh->ip_names = 0;

    ngx_str_null(&none);

    for (e = ngx_palette_cert_named_after(zone, &none);
         e;
         e = ngx_palette_cert_named_next(zone, e))
    {
        if (ngx_palette_cert_index_reserve(zone, e) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "palette_cert zone \"%V\": no room to index "
                          "\"%*s\", it is not served",
                          &zone->name, (size_t) e->id_len, e->id);
            continue;
        }

        ngx_palette_cert_index_add(zone, e);
    }
}


/*
 * Finds the certificates served for a name, without a lock: gen[] gets
 * the generation of each key type's, 0 for none.  NGX_DECLINED when the
 * name has none.  The name is lowercase already.
 */

ngx_int_t
ngx_palette_cert_named_select(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    u_char *name, size_t len, ngx_uint_t gen[2])
{
    u_char                    *start, *end;
    uint32_t                   hash;
    ngx_int_t                  rc;
    ngx_uint_t                 i, n, t, mask, size, tries;
    ngx_atomic_uint_t          seq;
    ngx_palette_cert_sh_t     *sh;
    ngx_palette_cert_slot_t   *slot;
    ngx_palette_cert_index_t  *idx;
    ngx_palette_cert_named_t  *e;

    sh = zone->sh;

    if (sh->named_n == 0) {
        return NGX_DECLINED;
    }

    hash = ngx_palette_cert_hash(kind, name, len);

    start = (u_char *) zone->shpool;
    end = zone->shpool->end;

    for (tries = 0; tries < NGX_PALETTE_CERT_SEQ_TRIES; tries++) {

        seq = sh->seq;
        ngx_memory_barrier();

        if (seq & 1) {
            ngx_cpu_pause();
            continue;
        }

        rc = NGX_DECLINED;
        gen[0] = 0;
        gen[1] = 0;

        idx = sh->index;

        if (idx == NULL) {
            goto check;
        }

        if ((u_char *) idx < start
            || (u_char *) idx + sizeof(ngx_palette_cert_index_t) > end)
        {
            continue;
        }

        size = idx->size;

        if (size == 0 || (size & (size - 1))
            || size > (size_t) (end - (u_char *) idx->slots)
                      / sizeof(ngx_palette_cert_slot_t))
        {
            continue;
        }

        mask = size - 1;

        for (i = hash & mask, n = 0; n < size; i = (i + 1) & mask, n++) {
            slot = &idx->slots[i];

            if (slot->len == 0) {
                break;
            }

            if (slot->hash != hash || slot->len != len || slot->kind != kind)
            {
                continue;
            }

            if (slot->name < start || slot->name + len > end) {
                break;
            }

            if (ngx_memcmp(slot->name, name, len) != 0) {
                continue;
            }

            for (t = 0; t < 2; t++) {
                e = slot->cert[t];

                if (e == NULL) {
                    continue;
                }

                if ((u_char *) e < start
                    || (u_char *) e + sizeof(ngx_palette_cert_named_t) > end)
                {
                    break;
                }

                gen[t] = e->generation;
            }

            rc = (gen[0] || gen[1]) ? NGX_OK : NGX_DECLINED;
            break;
        }

    check:

        ngx_memory_barrier();

        if (sh->seq == seq) {
            return rc;
        }
    }

    /* a change kept it busy: the lock, which also repairs a dead writer's */

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = ngx_palette_cert_select_locked(zone, kind, name, len, gen);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_palette_cert_select_locked(ngx_palette_cert_zone_t *zone,
    ngx_uint_t kind, u_char *name, size_t len, ngx_uint_t gen[2])
{
    ngx_palette_cert_sh_t    *sh;
    ngx_palette_cert_slot_t  *slot;

    sh = zone->sh;

    if (sh->seq & 1) {
        ngx_palette_cert_index_repair(zone);
        sh->seq++;
    }

    gen[0] = 0;
    gen[1] = 0;

    if (sh->index == NULL) {
        return NGX_DECLINED;
    }

    slot = ngx_palette_cert_index_find(sh->index,
                                       ngx_palette_cert_hash(kind, name, len),
                                       kind, name, len);
    if (slot == NULL) {
        return NGX_DECLINED;
    }

    gen[0] = slot->cert[0] ? slot->cert[0]->generation : 0;
    gen[1] = slot->cert[1] ? slot->cert[1]->generation : 0;

    return (gen[0] || gen[1]) ? NGX_OK : NGX_DECLINED;
}


/*
 * The parsed certificate of the given key type served for the name, from
 * this process's cache or, on a miss, parsed from the zone and cached.
 * NULL when it is gone or cannot be parsed: the default is served.
 */

ngx_palette_cert_cached_t *
ngx_palette_cert_named_get(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    u_char *name, size_t len, ngx_uint_t type, ngx_uint_t generation,
    ngx_log_t *log)
{
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_palette_cert_cached_t  *cc;

    node = zone->cache.root;
    sentinel = zone->cache.sentinel;

    while (node != sentinel) {
        if (generation == node->key) {
            cc = (ngx_palette_cert_cached_t *) node;

            ngx_queue_remove(&cc->queue);
            ngx_queue_insert_head(&zone->cache_lru, &cc->queue);

            return cc;
        }

        node = (generation < node->key) ? node->left : node->right;
    }

    /* a miss: the entry is copied under the lock, parsed outside it */

    cc = ngx_palette_cert_named_parse(zone, kind, name, len, type,
                                      generation, log);
    if (cc == NULL) {
        return NULL;
    }

    if (zone->cache_n >= zone->cache_max) {
        ngx_palette_cert_cached_free(zone,
            ngx_queue_data(ngx_queue_last(&zone->cache_lru),
                           ngx_palette_cert_cached_t, queue));
        zone->cache_n--;
    }

    cc->node.key = generation;
    ngx_rbtree_insert(&zone->cache, &cc->node);
    ngx_queue_insert_head(&zone->cache_lru, &cc->queue);
    zone->cache_n++;

    return cc;
}


/*
 * The certificate of that generation served for the name, copied from
 * the zone and parsed, with what handshakes count and sessions remember
 * of it: NULL when it is gone or cannot be parsed.
 */

static ngx_palette_cert_cached_t *
ngx_palette_cert_named_parse(ngx_palette_cert_zone_t *zone, ngx_uint_t kind,
    u_char *name, size_t len, ngx_uint_t type, ngx_uint_t generation,
    ngx_log_t *log)
{
    u_char                      sha256[32];
    time_t                      not_after;
    ngx_int_t                   rc;
    ngx_str_t                   id;
    ngx_palette_cert_pem_t      pem;
    ngx_palette_cert_slot_t    *slot;
    ngx_palette_cert_named_t   *e;
    ngx_palette_cert_stats_t   *stats;
    ngx_palette_cert_cached_t  *cc;
    ngx_palette_cert_parsed_t   parsed;
    u_char                      id_buf[NGX_PALETTE_CERT_ID_LEN];

    rc = NGX_DECLINED;
    stats = NULL;
    not_after = 0;
    ngx_str_null(&id);

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = zone->sh->index
           ? ngx_palette_cert_index_find(zone->sh->index,
                                         ngx_palette_cert_hash(kind, name,
                                                               len),
                                         kind, name, len)
           : NULL;

    e = slot ? slot->cert[type] : NULL;

    if (e && e->generation == generation) {
        rc = ngx_palette_cert_named_copy(e, &pem);

        /* what handshakes count and sessions remember of it */

        stats = e->stats;
        not_after = e->not_after_time;
        ngx_memcpy(sha256, e->sha256, sizeof(sha256));
        id.len = e->id_len;
        id.data = ngx_cpymem(id_buf, e->id, e->id_len) - id.len;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc == NGX_OK) {
        rc = ngx_palette_cert_parse_pem(&pem, &parsed, log);
        ngx_palette_cert_pem_free(&pem);
    }

    if (rc != NGX_OK) {
        return NULL;
    }

    cc = ngx_alloc(sizeof(ngx_palette_cert_cached_t), log);
    if (cc == NULL) {
        ngx_palette_cert_parsed_free(&parsed);
        return NULL;
    }

    cc->leaf = parsed.leaf;
    cc->chain = parsed.chain;
    cc->key = parsed.key;
    cc->key_id = EVP_PKEY_base_id(cc->key);
    cc->refused = 0;
    cc->stats = stats;
    cc->bound = ngx_palette_cert_bind(&cc->leaf, cc->key);

    ngx_palette_cert_tag(cc->tag, &cc->tag_len, &id, generation, NULL,
                         not_after, sha256);
    parsed.leaf = NULL;
    parsed.chain = NULL;
    parsed.key = NULL;
    ngx_palette_cert_parsed_free(&parsed);

    return cc;
}


/*
 * Installing a certificate and its key on a connection, OpenSSL checks
 * again that they belong together (EVP_PKEY_eq(), a third of what a
 * named certificate costs a handshake), unless it is given no key: it then
 * takes the certificate's public key for the private one.  So the leaf
 * kept gets the key, which holds the public key too, as its public key:
 * once, here, and only where that leaves the certificate sent exactly as
 * uploaded (its DER the same byte for byte).  Else the leaf is left as it
 * is and the key given with it on every handshake.
 */

static ngx_uint_t
ngx_palette_cert_bind(X509 **leaf, EVP_PKEY *key)
{
    int         n1, n2;
    X509       *x;
    u_char     *der1, *der2;
    ngx_uint_t  same;

    x = X509_dup(*leaf);
    if (x == NULL) {
        ERR_clear_error();
        return 0;
    }

    der1 = NULL;
    der2 = NULL;

    n1 = i2d_X509(*leaf, &der1);

    same = X509_set_pubkey(x, key) == 1
           && X509_get0_pubkey(x) == key
           && (n2 = i2d_X509(x, &der2)) > 0
           && n1 == n2
           && ngx_memcmp(der1, der2, n1) == 0;

    OPENSSL_free(der1);
    OPENSSL_free(der2);
    ERR_clear_error();

    if (!same) {
        X509_free(x);
        return 0;
    }

    X509_free(*leaf);
    *leaf = x;

    return 1;
}


void
ngx_palette_cert_cache_init(ngx_palette_cert_zone_t *zone)
{
    ngx_rbtree_init(&zone->cache, &zone->cache_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&zone->cache_lru);
    zone->cache_n = 0;
}


/* this process's cached certificates are let go: the zone goes away */

void
ngx_palette_cert_cache_free(ngx_palette_cert_zone_t *zone)
{
    ngx_queue_t  *q;

    if (zone->cache_lru.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&zone->cache_lru)) {
        q = ngx_queue_last(&zone->cache_lru);
        ngx_palette_cert_cached_free(zone,
            ngx_queue_data(q, ngx_palette_cert_cached_t, queue));
    }

    zone->cache_n = 0;
}


static void
ngx_palette_cert_cached_free(ngx_palette_cert_zone_t *zone,
    ngx_palette_cert_cached_t *cc)
{
    ngx_queue_remove(&cc->queue);
    ngx_rbtree_delete(&zone->cache, &cc->node);

    X509_free(cc->leaf);
    sk_X509_pop_free(cc->chain, X509_free);
    EVP_PKEY_free(cc->key);

    ngx_free(cc);
}


/* the text fields of a meta file: each once, of a length in bounds */

typedef struct {
    ngx_str_t                    name;
    ngx_uint_t                   bit;
    size_t                       min;
    size_t                       max;
    size_t                       offset;
} ngx_palette_cert_meta_field_t;


static ngx_palette_cert_meta_field_t  ngx_palette_cert_meta_fields[] = {

    { ngx_string("key_type"), 1, 0, 12,
      offsetof(ngx_palette_cert_meta_t, key_type) },

    { ngx_string("not_after"), 2, 20, 20,
      offsetof(ngx_palette_cert_meta_t, not_after) },

    { ngx_string("not_before"), 8, 20, 20,
      offsetof(ngx_palette_cert_meta_t, not_before) },

    { ngx_string("subject"), 16, 0, NGX_PALETTE_CERT_DN_LEN - 1,
      offsetof(ngx_palette_cert_meta_t, subject) },

    { ngx_string("issuer"), 32, 0, NGX_PALETTE_CERT_DN_LEN - 1,
      offsetof(ngx_palette_cert_meta_t, issuer) },

    { ngx_null_string, 0, 0, 0, 0 }
};


/*
 * A named certificate's meta file: what a start needs of it without
 * parsing it, one "key value" line each.
 *
 *     key_type EC P-256
 *     not_after 2027-01-31T12:00:00Z
 *     sha256 9f86d08...
 *     not_before 2026-11-01T12:00:00Z
 *     subject CN=www.example.com
 *     issuer CN=Example CA,O=Example
 *     dns www.example.com
 *     ip 192.0.2.1
 *
 * Subjects and issuers are printed as RFC 2253 escapes them: no line
 * breaks.  A file without the dates, subject and issuer (as written
 * before they were kept) is not taken: the certificate is parsed.
 */

ngx_int_t
ngx_palette_cert_meta_text(ngx_palette_cert_meta_t *m, ngx_str_t *text)
{
    u_char  *p, *q, *last;
    size_t   len;

    len = sizeof("key_type \n") + m->key_type.len
          + sizeof("not_after \n") + m->not_after.len
          + sizeof("sha256 \n") + 64
          + sizeof("not_before \n") + m->not_before.len
          + sizeof("subject \n") + m->subject.len
          + sizeof("issuer \n") + m->issuer.len
          + m->nnames * sizeof("dns \n") + m->names_len;

    text->data = ngx_alloc(len, ngx_cycle->log);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(text->data, "key_type %V\nnot_after %V\nsha256 ",
                    &m->key_type, &m->not_after);
    p = ngx_hex_dump(p, m->sha256, sizeof(m->sha256));
    p = ngx_sprintf(p, "\nnot_before %V\nsubject %V\nissuer %V\n",
                    &m->not_before, &m->subject, &m->issuer);

    last = m->names + m->names_len;

    for (q = m->names; q < last; q += 2 + q[1]) {
        p = ngx_sprintf(p, "%s %*s\n",
                        q[0] == NGX_PALETTE_CERT_NAME_IP ? "ip" : "dns",
                        (size_t) q[1], q + 2);
    }

    text->len = p - text->data;

    return NGX_OK;
}


/*
 * Reads a meta file back; NGX_DECLINED when it is not one this module
 * wrote (the certificate is then parsed instead).  buf holds the text
 * fields; m->names is allocated, and freed by the caller.
 */

ngx_int_t
ngx_palette_cert_meta_parse(ngx_str_t *text, ngx_palette_cert_meta_t *m,
    u_char *buf, size_t size)
{
    u_char                         *p, *last, *eol, *key, *value, *n, *b;
    size_t                          len, vlen;
    ngx_int_t                       c;
    ngx_str_t                      *field;
    ngx_uint_t                      i, have;
    ngx_palette_cert_meta_field_t  *f;

    ngx_memzero(m, sizeof(ngx_palette_cert_meta_t));

    m->names = ngx_alloc(text->len, ngx_cycle->log);
    if (m->names == NULL) {
        return NGX_ERROR;
    }

    n = m->names;
    b = buf;
    have = 0;

    p = text->data;
    last = p + text->len;

    while (p < last) {
        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            goto invalid;
        }

        value = ngx_strlchr(p, eol, ' ');
        if (value == NULL) {
            goto invalid;
        }

        key = p;
        len = value - p;
        value++;
        vlen = eol - value;
        p = eol + 1;

        for (f = ngx_palette_cert_meta_fields; f->name.len; f++) {
            if (len == f->name.len && ngx_strncmp(key, f->name.data, len) == 0)
            {
                break;
            }
        }

        if (f->name.len) {
            if (vlen < f->min || vlen > f->max || (have & f->bit)
                || vlen > (size_t) (buf + size - b))
            {
                goto invalid;
            }

            field = (ngx_str_t *) ((u_char *) m + f->offset);
            field->data = b;
            field->len = vlen;
            b = ngx_cpymem(b, value, vlen);

            have |= f->bit;
            continue;
        }

        if (len == 6 && ngx_strncmp(key, "sha256", 6) == 0) {
            if (vlen != 64) {
                goto invalid;
            }

            for (i = 0; i < 32; i++) {
                c = ngx_hextoi(value + 2 * i, 2);
                if (c == NGX_ERROR) {
                    goto invalid;
                }

                m->sha256[i] = (u_char) c;
            }

            have |= 4;
            continue;
        }

        if ((len != 3 || ngx_strncmp(key, "dns", 3) != 0)
            && (len != 2 || ngx_strncmp(key, "ip", 2) != 0))
        {
            goto invalid;
        }

        if (vlen == 0 || vlen > NGX_PALETTE_CERT_HOST_LEN) {
            goto invalid;
        }

        n[0] = (u_char) ((len == 2) ? NGX_PALETTE_CERT_NAME_IP
                                    : NGX_PALETTE_CERT_NAME_DNS);
        n[1] = (u_char) vlen;
        ngx_strlow(n + 2, value, vlen);
        n += 2 + vlen;
        m->nnames++;
    }

    if (have != 63 || m->nnames == 0) {
        goto invalid;
    }

    m->type = (m->key_type.len >= 2
               && ngx_strncmp(m->key_type.data, "EC", 2) == 0)
              ? NGX_PALETTE_CERT_EC : NGX_PALETTE_CERT_RSA;
    m->names_len = n - m->names;

    return NGX_OK;

invalid:

    ngx_free(m->names);
    m->names = NULL;

    return NGX_DECLINED;
}
