
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * What the fuzz harnesses share: the input copied into a heap buffer of
 * exactly its size, so that AddressSanitizer reports any access past
 * either end, the checks of what the body parsers promise, and a JSON
 * string decoder of their own to hold decoded values against.  A broken
 * promise aborts, which libFuzzer records as a crash with its input.
 */


#ifndef _NGX_PALETTE_CERT_FUZZ_H_INCLUDED_
#define _NGX_PALETTE_CERT_FUZZ_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_palette_cert_body.h"


#define ngx_palette_cert_fuzz_check(expr)                                     \
    do {                                                                      \
        if (!(expr)) {                                                        \
            ngx_palette_cert_fuzz_failed(__FILE__, __LINE__, #expr);          \
        }                                                                     \
    } while (0)


typedef ngx_int_t (*ngx_palette_cert_fuzz_parse_pt)(u_char *buf, size_t len,
    ngx_palette_cert_fields_t *f);
typedef void (*ngx_palette_cert_fuzz_value_pt)(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len);


u_char *ngx_palette_cert_fuzz_copy(const uint8_t *data, size_t size);
ngx_uint_t ngx_palette_cert_fuzz_inside(ngx_str_t *s, u_char *buf,
    size_t len);
ngx_uint_t ngx_palette_cert_fuzz_id(u_char *p, size_t len);
ngx_uint_t ngx_palette_cert_fuzz_arg(u_char **pos, u_char *last,
    ngx_str_t *name, ngx_str_t *value);
void ngx_palette_cert_fuzz_fields(ngx_int_t rc, ngx_palette_cert_fields_t *f,
    u_char *buf, size_t len);
void ngx_palette_cert_fuzz_in_place(const uint8_t *data, size_t size,
    ngx_palette_cert_fuzz_parse_pt parse,
    ngx_palette_cert_fuzz_value_pt value);
void ngx_palette_cert_fuzz_json_value(ngx_str_t *value, u_char *buf,
    u_char *orig, size_t len);
u_char *ngx_palette_cert_fuzz_json_string(u_char *p, u_char *last,
    u_char *out, size_t *n);
void ngx_palette_cert_fuzz_failed(const char *file, int line,
    const char *expr) __attribute__((noreturn));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#endif /* _NGX_PALETTE_CERT_FUZZ_H_INCLUDED_ */
