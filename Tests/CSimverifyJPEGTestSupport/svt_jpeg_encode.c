#include "svt_jpeg_encode.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define SVT_COMPONENTS 4
#define SVT_MAX_AL 9
// Per component: DC first + refinements, then every AC coefficient alone at every bit.
#define SVT_MANY_SCANS (SVT_COMPONENTS * ((SVT_MAX_AL + 1) + 63 * (SVT_MAX_AL + 1)))

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf escape;
} svt_errors;

static void svt_error_exit(j_common_ptr cinfo) { longjmp(((svt_errors *)cinfo->err)->escape, 1); }

int svt_jpeg_many_scans_count(void) { return SVT_MANY_SCANS; }

static jpeg_scan_info *svt_many_scans(void) {
    jpeg_scan_info *scans = calloc(SVT_MANY_SCANS, sizeof(jpeg_scan_info));
    if (scans == NULL) return NULL;
    int n = 0;
    for (int c = 0; c < SVT_COMPONENTS; c++) {
        for (int al = SVT_MAX_AL; al >= 0; al--) {
            jpeg_scan_info *s = &scans[n++];
            s->comps_in_scan = 1; s->component_index[0] = c;
            s->Ss = 0; s->Se = 0; s->Ah = al == SVT_MAX_AL ? 0 : al + 1; s->Al = al;
        }
    }
    for (int c = 0; c < SVT_COMPONENTS; c++) {
        for (int k = 1; k <= 63; k++) {
            for (int al = SVT_MAX_AL; al >= 0; al--) {
                jpeg_scan_info *s = &scans[n++];
                s->comps_in_scan = 1; s->component_index[0] = c;
                s->Ss = k; s->Se = k; s->Ah = al == SVT_MAX_AL ? 0 : al + 1; s->Al = al;
            }
        }
    }
    return scans;
}

int svt_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int mode, int quality, uint8_t **out,
                    size_t *out_size) {
    struct jpeg_compress_struct cinfo;
    svt_errors errors;
    unsigned char *volatile buffer = NULL;
    unsigned long size = 0;
    uint8_t *volatile row = NULL;
    jpeg_scan_info *volatile scans = NULL;
    const int cmyk = mode == SVT_JPEG_CMYK_ADOBE || mode == SVT_JPEG_MANY_SCANS;

    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = svt_error_exit;
    if (setjmp(errors.escape)) {
        jpeg_destroy_compress(&cinfo);
        free((void *)buffer);
        free((void *)row);
        free((void *)scans);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, &size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = cmyk ? 4 : 3;
    cinfo.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (mode == SVT_JPEG_GRAYSCALE) jpeg_set_colorspace(&cinfo, JCS_GRAYSCALE);
    if (cmyk) jpeg_set_colorspace(&cinfo, JCS_YCCK);
    if (mode == SVT_JPEG_PROGRESSIVE) jpeg_simple_progression(&cinfo);
    if (mode == SVT_JPEG_MANY_SCANS) {
        scans = svt_many_scans();
        if (scans == NULL) longjmp(errors.escape, 1);
        cinfo.scan_info = (const jpeg_scan_info *)scans;
        cinfo.num_scans = SVT_MANY_SCANS;
    }
    jpeg_start_compress(&cinfo, TRUE);
    row = malloc((size_t)width * 4);
    if (row == NULL) longjmp(errors.escape, 1);
    while (cinfo.next_scanline < cinfo.image_height) {
        const uint8_t *src = rgb + (size_t)cinfo.next_scanline * width * 3;
        if (cmyk) {
            // Adobe's inverted CMYK: stored C,M,Y = R,G,B and stored K = 255 decode to the same RGB.
            for (uint32_t x = 0; x < width; x++) {
                row[4 * x] = src[3 * x]; row[4 * x + 1] = src[3 * x + 1];
                row[4 * x + 2] = src[3 * x + 2]; row[4 * x + 3] = 255;
            }
        } else {
            memcpy((void *)row, src, (size_t)width * 3);
        }
        JSAMPROW rows[1] = {(JSAMPROW)row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free((void *)row);
    free((void *)scans);
    *out = (uint8_t *)buffer;
    *out_size = size;
    return 0;
}

void svt_jpeg_free(uint8_t *data) { free(data); }
