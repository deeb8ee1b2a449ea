#include "sv_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    sv_jpeg_status status;
    uint32_t max_scans;
} sv_error_mgr;

typedef struct {
    struct jpeg_progress_mgr base;
    sv_error_mgr *errors;
} sv_progress_mgr;

static sv_jpeg_status sv_status_for_code(int code) {
    switch (code) {
    case JERR_NO_SOI:
        return SV_JPEG_ERR_NOT_JPEG;
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF:
    case JWRN_JPEG_EOF:
        return SV_JPEG_ERR_TRUNCATED;
    case JERR_OUT_OF_MEMORY:
    case JERR_NO_BACKING_STORE:
    case JERR_TFILE_CREATE:
    case JERR_TFILE_READ:
    case JERR_TFILE_SEEK:
    case JERR_TFILE_WRITE:
    case JERR_VIRTUAL_BUG:
        return SV_JPEG_ERR_OUT_OF_MEMORY;
    case JERR_BAD_PRECISION:
    case JERR_NO_ARITH_TABLE:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_CCIR601_NOTIMPL:
        return SV_JPEG_ERR_UNSUPPORTED;
    default:
        return SV_JPEG_ERR_CORRUPT;
    }
}

// libjpeg calls this for fatal errors; it must not return.
static void sv_error_exit(j_common_ptr cinfo) {
    sv_error_mgr *errors = (sv_error_mgr *)cinfo->err;
    if (errors->status == SV_JPEG_OK) errors->status = sv_status_for_code(errors->base.msg_code);
    longjmp(errors->escape, 1);
}

// Warnings (level -1) mean corrupt or truncated data: stop at the first one, so that a damaged
// image is never half-decoded into grey and never costs more time than a good one.
static void sv_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        sv_error_mgr *errors = (sv_error_mgr *)cinfo->err;
        errors->status = sv_status_for_code(errors->base.msg_code);
        longjmp(errors->escape, 1);
    }
}

// Nothing from libjpeg is printed: messages could describe the image.
static void sv_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void sv_progress_monitor(j_common_ptr cinfo) {
    sv_progress_mgr *progress = (sv_progress_mgr *)cinfo->progress;
    sv_error_mgr *errors = progress->errors;
    if (cinfo->is_decompressor && errors->max_scans > 0) {
        j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
        if ((uint32_t)dinfo->input_scan_number > errors->max_scans) {
            errors->status = SV_JPEG_ERR_TOO_MANY_SCANS;
            longjmp(errors->escape, 1);
        }
    }
}

static void sv_install_errors(struct jpeg_decompress_struct *cinfo, sv_error_mgr *errors) {
    memset(errors, 0, sizeof(*errors));
    cinfo->err = jpeg_std_error(&errors->base);
    errors->base.error_exit = sv_error_exit;
    errors->base.emit_message = sv_emit_message;
    errors->base.output_message = sv_output_message;
    errors->status = SV_JPEG_OK;
}

static sv_jpeg_color sv_color_of(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE:
        return SV_JPEG_COLOR_GRAY;
    case JCS_CMYK:
    case JCS_YCCK:
        return SV_JPEG_COLOR_CMYK;
    default:
        return SV_JPEG_COLOR_RGB;
    }
}

sv_jpeg_status sv_jpeg_read_header(const uint8_t *data, size_t size, sv_jpeg_header *out) {
    if (data == NULL || out == NULL || size < 4) return SV_JPEG_ERR_NOT_JPEG;
    if (size > (size_t)0xFFFFFFFFu) return SV_JPEG_ERR_BAD_ARGUMENT;
    struct jpeg_decompress_struct cinfo;
    sv_error_mgr errors;
    sv_install_errors(&cinfo, &errors);
    if (setjmp(errors.escape)) {
        jpeg_destroy_decompress(&cinfo);
        return errors.status == SV_JPEG_OK ? SV_JPEG_ERR_CORRUPT : errors.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    out->components = cinfo.num_components;
    out->color = sv_color_of(cinfo.jpeg_color_space);
    out->progressive = cinfo.progressive_mode ? 1 : 0;
    jpeg_destroy_decompress(&cinfo);
    return SV_JPEG_OK;
}

void sv_jpeg_scaled_size(const sv_jpeg_header *header, uint32_t scale_denominator, uint32_t *width,
                         uint32_t *height) {
    uint32_t d = scale_denominator == 0 ? 1 : scale_denominator;
    *width = (header->width + d - 1) / d;
    *height = (header->height + d - 1) / d;
}

// Adobe writes CMYK inverted (the common case in the wild); others write it plain.
static void sv_cmyk_row_to_rgb(const JSAMPLE *cmyk, uint8_t *rgb, JDIMENSION width, boolean inverted) {
    for (JDIMENSION x = 0; x < width; x++) {
        unsigned c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2], k = cmyk[4 * x + 3];
        if (!inverted) {
            c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
        }
        rgb[3 * x] = (uint8_t)((c * k + 127) / 255);
        rgb[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
        rgb[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
    }
}

sv_jpeg_status sv_jpeg_decode_rgb(const uint8_t *data, size_t size, const sv_jpeg_decode_options *options,
                                  uint8_t *out, size_t out_size) {
    if (data == NULL || options == NULL || out == NULL || size < 4) return SV_JPEG_ERR_BAD_ARGUMENT;
    if (size > (size_t)0xFFFFFFFFu) return SV_JPEG_ERR_BAD_ARGUMENT;
    struct jpeg_decompress_struct cinfo;
    sv_error_mgr errors;
    sv_progress_mgr progress;
    JSAMPLE *volatile cmyk_row = NULL;
    volatile size_t cmyk_row_size = 0;

    sv_install_errors(&cinfo, &errors);
    errors.max_scans = options->max_scans;
    if (setjmp(errors.escape)) {
        if (cmyk_row != NULL) {
            memset((void *)cmyk_row, 0, cmyk_row_size);
            free((void *)cmyk_row);
        }
        jpeg_destroy_decompress(&cinfo);
        return errors.status == SV_JPEG_OK ? SV_JPEG_ERR_CORRUPT : errors.status;
    }
    jpeg_create_decompress(&cinfo);
    if (options->max_memory > 0) cinfo.mem->max_memory_to_use = (long)options->max_memory;
    memset(&progress, 0, sizeof(progress));
    progress.base.progress_monitor = sv_progress_monitor;
    progress.errors = &errors;
    cinfo.progress = &progress.base;

    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    boolean cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = options->scale_denominator == 0 ? 1 : options->scale_denominator;
    // Same pixels as libjpeg's defaults (and so as PIL): accurate integer IDCT, fancy upsampling.
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;

    jpeg_start_decompress(&cinfo);
    size_t row_bytes = (size_t)cinfo.output_width * 3;
    if (row_bytes * cinfo.output_height != out_size || cinfo.output_components != (cmyk ? 4 : 3)) {
        jpeg_destroy_decompress(&cinfo);
        return SV_JPEG_ERR_BAD_ARGUMENT;
    }
    if (cmyk) {
        cmyk_row_size = (size_t)cinfo.output_width * 4;
        cmyk_row = (JSAMPLE *)calloc(1, cmyk_row_size);
        if (cmyk_row == NULL) {
            jpeg_destroy_decompress(&cinfo);
            return SV_JPEG_ERR_OUT_OF_MEMORY;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *row = out + (size_t)cinfo.output_scanline * row_bytes;
        if (cmyk) {
            JSAMPROW rows[1] = {(JSAMPROW)cmyk_row};
            jpeg_read_scanlines(&cinfo, rows, 1);
            sv_cmyk_row_to_rgb((const JSAMPLE *)cmyk_row, row, cinfo.output_width, cinfo.saw_Adobe_marker);
        } else {
            JSAMPROW rows[1] = {row};
            jpeg_read_scanlines(&cinfo, rows, 1);
        }
    }
    jpeg_finish_decompress(&cinfo);
    if (cmyk_row != NULL) {
        memset((void *)cmyk_row, 0, cmyk_row_size);
        free((void *)cmyk_row);
    }
    jpeg_destroy_decompress(&cinfo);
    return SV_JPEG_OK;
}

void sv_rgb_reorient(const uint8_t *src, uint32_t width, uint32_t height, int32_t orientation, uint8_t *dst) {
    const size_t w = width, h = height;
    const int swap = orientation >= 5 && orientation <= 8;
    const size_t out_w = swap ? h : w, out_h = swap ? w : h;
    for (size_t dy = 0; dy < out_h; dy++) {
        for (size_t dx = 0; dx < out_w; dx++) {
            size_t sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - dx; sy = dy; break;
            case 3: sx = w - 1 - dx; sy = h - 1 - dy; break;
            case 4: sx = dx; sy = h - 1 - dy; break;
            case 5: sx = dy; sy = dx; break;
            case 6: sx = dy; sy = h - 1 - dx; break;
            case 7: sx = w - 1 - dy; sy = h - 1 - dx; break;
            case 8: sx = w - 1 - dy; sy = dx; break;
            default: sx = dx; sy = dy; break;
            }
            const uint8_t *s = src + (sy * w + sx) * 3;
            uint8_t *d = dst + (dy * out_w + dx) * 3;
            d[0] = s[0]; d[1] = s[1]; d[2] = s[2];
        }
    }
}
