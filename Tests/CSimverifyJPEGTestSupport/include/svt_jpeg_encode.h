// A JPEG encoder for tests only: makes the JPEG variants the decoder must handle (progressive,
// greyscale, CMYK, thousands of scans) from real photos at test time.
#ifndef SVT_JPEG_ENCODE_H
#define SVT_JPEG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SVT_JPEG_BASELINE = 0,
    SVT_JPEG_PROGRESSIVE = 1,   // libjpeg's standard progression (~10 scans)
    SVT_JPEG_GRAYSCALE = 2,
    SVT_JPEG_CMYK_ADOBE = 3,    // inverted CMYK with an Adobe marker, as Photoshop writes it
    SVT_JPEG_MANY_SCANS = 4,    // a valid progressive CMYK JPEG with 2,560 scans
} svt_jpeg_mode;

/// Encodes packed RGB. Returns 0 on success; `*out` is malloc'ed, free it with svt_jpeg_free.
int svt_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int mode, int quality, uint8_t **out,
                    size_t *out_size);

/// Number of scans the SVT_JPEG_MANY_SCANS script writes.
int svt_jpeg_many_scans_count(void);

void svt_jpeg_free(uint8_t *data);

#endif
