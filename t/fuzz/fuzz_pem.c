
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_pem_split(), which cuts a PEM field into its
 * blocks.  Beyond memory safety: the field is rewritten in place as the
 * input without its carriage returns; there are at most
 * NGX_PALETTE_CERT_PEM_MAX blocks, in order, inside that text, with only
 * white space around and between them; each block starts with
 * "-----BEGIN LABEL-----" and ends with "-----END LABEL-----", the same
 * LABEL, which is not empty, has no line break and lies in the block;
 * no other dashed line ("-----") stands between the two, so blocks do not
 * nest.  A failure sets an error and an offset inside the field.
 */


#include "ngx_palette_cert_fuzz.h"


static void ngx_palette_cert_fuzz_block(ngx_palette_cert_pem_block_t *b,
    u_char *buf, size_t len);
static void ngx_palette_cert_fuzz_space(u_char *p, u_char *last);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *buf, *text, *p;
    size_t                          i, n;
    ngx_int_t                       rc;
    ngx_palette_cert_pem_block_t   *b;
    ngx_palette_cert_pem_bundle_t   bundle;

    buf = ngx_palette_cert_fuzz_copy(data, size);

    /* the input without carriage returns: what the splitter reads */

    text = ngx_palette_cert_fuzz_copy(data, size);
    n = 0;

    for (i = 0; i < size; i++) {
        if (data[i] != '\r') {
            text[n++] = data[i];
        }
    }

    ngx_memset(&bundle, 0xa5, sizeof(ngx_palette_cert_pem_bundle_t));

    rc = ngx_palette_cert_pem_split(buf, size, &bundle);

    ngx_palette_cert_fuzz_check(rc == NGX_OK || rc == NGX_ERROR);
    ngx_palette_cert_fuzz_check(n == 0 || ngx_memcmp(buf, text, n) == 0);
    ngx_palette_cert_fuzz_check(bundle.nblocks <= NGX_PALETTE_CERT_PEM_MAX);

    if (rc != NGX_OK) {
        ngx_palette_cert_fuzz_check(bundle.error != NULL);
        ngx_palette_cert_fuzz_check(bundle.error[0] != '\0');
        ngx_palette_cert_fuzz_check(bundle.offset <= n);

        free(text);
        free(buf);

        return 0;
    }

    p = buf;

    for (i = 0; i < bundle.nblocks; i++) {
        b = &bundle.blocks[i];

        ngx_palette_cert_fuzz_block(b, buf, n);

        ngx_palette_cert_fuzz_check(b->text.data >= p);
        ngx_palette_cert_fuzz_space(p, b->text.data);

        p = b->text.data + b->text.len;
    }

    ngx_palette_cert_fuzz_space(p, buf + n);

    free(text);
    free(buf);

    return 0;
}


static void
ngx_palette_cert_fuzz_block(ngx_palette_cert_pem_block_t *b, u_char *buf,
    size_t len)
{
    u_char  *p, *last;
    size_t   n;

    ngx_palette_cert_fuzz_check(b->text.data != NULL);
    ngx_palette_cert_fuzz_check(
        ngx_palette_cert_fuzz_inside(&b->text, buf, len));
    ngx_palette_cert_fuzz_check(
        ngx_palette_cert_fuzz_inside(&b->label, b->text.data, b->text.len));

    n = b->label.len;

    ngx_palette_cert_fuzz_check(n > 0);
    ngx_palette_cert_fuzz_check(ngx_strlchr(b->label.data,
                                            b->label.data + n, '\n')
                                == NULL);

    /* "-----BEGIN " LABEL "-----" ... "-----END " LABEL "-----" */

    ngx_palette_cert_fuzz_check(b->text.len >= 11 + n + 5 + 9 + n + 5);

    p = b->text.data;
    last = p + b->text.len;

    ngx_palette_cert_fuzz_check(ngx_memcmp(p, "-----BEGIN ", 11) == 0);
    ngx_palette_cert_fuzz_check(b->label.data == p + 11);
    ngx_palette_cert_fuzz_check(ngx_memcmp(p + 11 + n, "-----", 5) == 0);

    ngx_palette_cert_fuzz_check(ngx_memcmp(last - 5, "-----", 5) == 0);
    ngx_palette_cert_fuzz_check(ngx_memcmp(last - 5 - n, b->label.data, n)
                                == 0);
    ngx_palette_cert_fuzz_check(ngx_memcmp(last - 5 - n - 9, "-----END ", 9)
                                == 0);

    /* the body between the BEGIN and the END line holds no "-----" */

    last -= 9 + n + 5;

    for (p += 11 + n + 5; p + 5 <= last; p++) {
        ngx_palette_cert_fuzz_check(ngx_memcmp(p, "-----", 5) != 0);
    }
}


static void
ngx_palette_cert_fuzz_space(u_char *p, u_char *last)
{
    for ( /* void */ ; p < last; p++) {
        ngx_palette_cert_fuzz_check(*p == ' ' || *p == '\t' || *p == '\n');
    }
}
