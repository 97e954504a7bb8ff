
/*
 * Copyright (C) ngx_palette_cert_module authors
 */


/*
 * Fuzzes ngx_palette_cert_parse_json(), the parser of "application/json"
 * upload bodies.  Beyond memory safety, every field it returns must lie
 * inside the body, be no longer than the JSON string it was decoded from,
 * be valid UTF-8 without NUL, and equal what a decoder written for the
 * harnesses (ngx_palette_cert_fuzz_json_string()) independently makes of
 * that string.
 */


#include "ngx_palette_cert_fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_palette_cert_fuzz_in_place(data, size, ngx_palette_cert_parse_json,
                                   ngx_palette_cert_fuzz_json_value);

    return 0;
}
