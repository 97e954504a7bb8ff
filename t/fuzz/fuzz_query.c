
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_list_query(), the parser of the list's
 * query string ("limit=N&after=ID").  Beyond memory safety: the query is
 * not written; an error is set if and only if the parser fails; on
 * success the limit is 1 to 1000 and "after" lies inside the query and is
 * empty or a valid id; and both are what a reading of the query written
 * here independently finds, the first "limit" and the first "after"
 * counting, as with nginx's $arg_ variables.
 */


#include "ngx_palette_cert_fuzz.h"


static ngx_int_t ngx_palette_cert_fuzz_expect(u_char *p, size_t len,
    ngx_uint_t *limit, ngx_str_t *after);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *buf;
    ngx_int_t                       rc, expect;
    ngx_str_t                       after;
    ngx_uint_t                      limit;
    ngx_palette_cert_list_query_t   q;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    ngx_memset(&q, 0xa5, sizeof(ngx_palette_cert_list_query_t));

    rc = ngx_palette_cert_parse_list_query(buf, size, &q);

    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_ERROR);
    ngx_palette_cert_fuzz_check(size == 0 || ngx_memcmp(buf, data, size) == 0);

    expect = ngx_palette_cert_fuzz_expect(buf, size, &limit, &after);

    ngx_palette_cert_fuzz_check(rc == expect);

    if (rc != NGX_OK) {
        ngx_palette_cert_fuzz_check(q.error != NULL);
        ngx_palette_cert_fuzz_check(q.error[0] != '\0');

        free(buf);

        return 0;
    }

    ngx_palette_cert_fuzz_check(q.error == NULL);

    ngx_palette_cert_fuzz_check(q.limit >= 1
                                && q.limit <= NGX_PALETTE_CERT_LIST_MAX);
    ngx_palette_cert_fuzz_check(q.limit == limit);

    ngx_palette_cert_fuzz_check(ngx_palette_cert_fuzz_inside(&q.after, buf,
                                                             size));
    ngx_palette_cert_fuzz_check(q.after.len == 0
                                || ngx_palette_cert_fuzz_id(q.after.data,
                                                            q.after.len));
    ngx_palette_cert_fuzz_check(q.after.len == after.len);
    ngx_palette_cert_fuzz_check(q.after.len == 0
                                || q.after.data == after.data);

    free(buf);

    return 0;
}


/*
 * What the query should give: NGX_ERROR if the first "limit" is not a
 * number from 1 to 1000 or the first "after" is neither empty nor an id.
 */

static ngx_int_t
ngx_palette_cert_fuzz_expect(u_char *p, size_t len, ngx_uint_t *limit,
    ngx_str_t *after)
{
    u_char      *pos;
    size_t       k;
    ngx_int_t    rc;
    ngx_str_t    name, value;
    ngx_uint_t   seen_limit, seen_after, v, digits;

    *limit = NGX_PALETTE_CERT_LIST_LIMIT;
    after->data = NULL;
    after->len = 0;

    rc = NGX_OK;
    seen_limit = 0;
    seen_after = 0;
    pos = p;

    while (ngx_palette_cert_fuzz_arg(&pos, p + len, &name, &value)) {

        if (name.len == 5 && ngx_memcmp(name.data, "limit", 5) == 0
            && !seen_limit)
        {
            seen_limit = 1;

            v = 0;
            digits = (value.len > 0);

            for (k = 0; k < value.len; k++) {
                if (value.data[k] < '0' || value.data[k] > '9') {
                    digits = 0;
                    break;
                }

                /* past the most, any number is as wrong */

                v = ngx_min(v * 10 + (value.data[k] - '0'),
                            NGX_PALETTE_CERT_LIST_MAX + 1);
            }

            if (!digits || v < 1 || v > NGX_PALETTE_CERT_LIST_MAX) {
                rc = NGX_ERROR;

            } else {
                *limit = v;
            }
        }

        if (name.len == 5 && ngx_memcmp(name.data, "after", 5) == 0
            && !seen_after)
        {
            seen_after = 1;

            if (value.len && !ngx_palette_cert_fuzz_id(value.data, value.len))
            {
                rc = NGX_ERROR;

            } else {
                *after = value;
            }
        }
    }

    return rc;
}
