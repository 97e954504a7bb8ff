
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_resource(), which tells what the URI after the
 * API's location names, and ngx_palette_cert_id_valid(), which it asks.
 * The input is that URI.  Beyond memory safety: the input is not written;
 * nothing is the default certificate, "/" the list, "/ID" a named one,
 * anything else none, as a check written here independently says; a
 * named certificate's id is all of the input after the "/", 1 to 64
 * bytes, and valid; the id of anything else is empty.  On any input,
 * ngx_palette_cert_id_valid() agrees with that independent check.
 */


#include "ngx_palette_cert_fuzz.h"


static ngx_uint_t ngx_palette_cert_fuzz_expect(u_char *p, size_t len);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char      *buf;
    ngx_str_t    id;
    ngx_uint_t   res;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    ngx_palette_cert_fuzz_check(ngx_palette_cert_id_valid(buf, size)
                                == ngx_palette_cert_fuzz_id(buf, size));

    ngx_memset(&id, 0xa5, sizeof(ngx_str_t));

    res = ngx_palette_cert_resource(buf, size, &id);

    ngx_palette_cert_fuzz_check(size == 0 || ngx_memcmp(buf, data, size) == 0);
    ngx_palette_cert_fuzz_check(res
                                == ngx_palette_cert_fuzz_expect(buf, size));

    if (res == NGX_PALETTE_CERT_RES_NAMED) {
        ngx_palette_cert_fuzz_check(ngx_palette_cert_fuzz_inside(&id, buf,
                                                                 size));
        ngx_palette_cert_fuzz_check(id.data == buf + 1);
        ngx_palette_cert_fuzz_check(id.len == size - 1);
        ngx_palette_cert_fuzz_check(id.len >= 1
                                    && id.len <= NGX_PALETTE_CERT_ID_LEN);
        ngx_palette_cert_fuzz_check(ngx_palette_cert_id_valid(id.data,
                                                              id.len));

    } else {
        ngx_palette_cert_fuzz_check(id.data == NULL && id.len == 0);
    }

    free(buf);

    return 0;
}


static ngx_uint_t
ngx_palette_cert_fuzz_expect(u_char *p, size_t len)
{
    if (len == 0) {
        return NGX_PALETTE_CERT_RES_DEFAULT;
    }

    if (len == 1 && p[0] == '/') {
        return NGX_PALETTE_CERT_RES_LIST;
    }

    if (p[0] == '/' && ngx_palette_cert_fuzz_id(p + 1, len - 1)) {
        return NGX_PALETTE_CERT_RES_NAMED;
    }

    return NGX_PALETTE_CERT_RES_NONE;
}
