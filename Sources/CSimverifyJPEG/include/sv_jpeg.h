// Plain C API over libjpeg-turbo for simverify. Every libjpeg error and warning is caught here
// (setjmp/longjmp never cross into Swift) and returned as an sv_jpeg_status.
#ifndef SV_JPEG_H
#define SV_JPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SV_JPEG_OK = 0,
    SV_JPEG_ERR_NOT_JPEG = 1,        // no SOI marker or not a JPEG stream at all
    SV_JPEG_ERR_TRUNCATED = 2,       // the data ends before the image does
    SV_JPEG_ERR_CORRUPT = 3,         // bad markers, tables or entropy-coded data
    SV_JPEG_ERR_UNSUPPORTED = 4,     // a valid JPEG we refuse (12-bit, arithmetic coding, odd colour)
    SV_JPEG_ERR_TOO_MANY_SCANS = 5,  // more scans than the caller allows
    SV_JPEG_ERR_OUT_OF_MEMORY = 6,   // libjpeg would need more than the memory limit
    SV_JPEG_ERR_BAD_ARGUMENT = 7,    // output buffer size does not match the image
} sv_jpeg_status;

typedef enum {
    SV_JPEG_COLOR_GRAY = 1,
    SV_JPEG_COLOR_RGB = 2,  // RGB or YCbCr in the file
    SV_JPEG_COLOR_CMYK = 3, // CMYK or YCCK in the file
} sv_jpeg_color;

typedef struct {
    uint32_t width;       // pixels at scale 1
    uint32_t height;
    int32_t components;
    int32_t color;        // sv_jpeg_color
    int32_t progressive;  // 1 when the file is progressive
} sv_jpeg_header;

typedef struct {
    uint32_t max_scans;          // 0: no limit
    uint64_t max_memory;         // libjpeg's own working memory, bytes; 0: no limit
    uint32_t scale_denominator;  // 1, 2, 4 or 8: decode at 1/denominator size
} sv_jpeg_decode_options;

/// Reads the header only. Cheap: nothing is decoded.
sv_jpeg_status sv_jpeg_read_header(const uint8_t *data, size_t size, sv_jpeg_header *out);

/// Output size of a decode at the given scale denominator (libjpeg rounds up).
void sv_jpeg_scaled_size(const sv_jpeg_header *header, uint32_t scale_denominator, uint32_t *width,
                         uint32_t *height);

/// Decodes to packed 8-bit RGB (3 bytes a pixel, rows of width*3 bytes) into `out`, which must be
/// exactly width*height*3 bytes for the scaled size. Temporary rows are zeroed before release.
sv_jpeg_status sv_jpeg_decode_rgb(const uint8_t *data, size_t size, const sv_jpeg_decode_options *options,
                                  uint8_t *out, size_t out_size);

/// Writes `src` (packed RGB, width x height) to `dst` turned upright per the EXIF orientation
/// tag value (1-8). For 5-8 `dst` is height x width. `dst` must hold width*height*3 bytes.
void sv_rgb_reorient(const uint8_t *src, uint32_t width, uint32_t height, int32_t orientation, uint8_t *dst);

#ifdef __cplusplus
}
#endif

#endif
