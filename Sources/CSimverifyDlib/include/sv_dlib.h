// Plain C API over dlib's HOG face detector, 5-point shape predictor and ResNet face embedding.
// Handles are opaque; every entry point catches all C++ exceptions and returns an sv_dlib_status.
// A model set is not thread-safe: use one per thread.
#ifndef SV_DLIB_H
#define SV_DLIB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SV_DLIB_LANDMARKS 5
#define SV_DLIB_EMBEDDING_DIM 128
#define SV_DLIB_CHIP_SIZE 150

typedef enum {
    SV_DLIB_OK = 0,
    SV_DLIB_ERR_MODEL = 1,     // a model file could not be read or has the wrong format
    SV_DLIB_ERR_ARGUMENT = 2,  // bad dimensions, null pointers, too much upsampling
    SV_DLIB_ERR_MEMORY = 3,    // an allocation failed
    SV_DLIB_ERR_INTERNAL = 4,  // any other exception inside dlib
} sv_dlib_status;

typedef struct sv_dlib_models sv_dlib_models;

/// An RGB image in memory: 3 bytes a pixel, `stride` bytes a row. Never copied by the bridge,
/// except into upsampled or chip buffers that are zeroed before release.
typedef struct {
    const uint8_t *pixels;
    int32_t width;
    int32_t height;
    int32_t stride;
} sv_dlib_image;

typedef struct {
    int32_t left, top, right, bottom;  // inclusive, dlib convention
    double confidence;                 // HOG detection score
} sv_dlib_box;

typedef struct {
    int32_t x, y;
} sv_dlib_point;

typedef struct {
    float sharpness;   // variance of the Laplacian of the chip's centre, in grey levels squared
    float brightness;  // mean grey level of the chip's centre, 0-255
} sv_dlib_chip_quality;

/// Loads the 5-point shape predictor and the ResNet embedding network.
/// On failure `*out` is NULL and a message (file paths only, no image data) is in `message`.
sv_dlib_status sv_dlib_models_load(const char *landmarks_path, const char *embedding_path, sv_dlib_models **out,
                                   char *message, int32_t message_capacity);

void sv_dlib_models_free(sv_dlib_models *models);

/// HOG detection after `upsample` 2x pyramid-up steps (0-3), exactly as dlib's Python
/// `detector(img, upsample)`: boxes are mapped back to the input's coordinates. Writes at most
/// `capacity` boxes, sorted by confidence, and the total found to `*count`.
sv_dlib_status sv_dlib_detect(sv_dlib_models *models, const sv_dlib_image *image, int32_t upsample,
                              sv_dlib_box *boxes, int32_t capacity, int32_t *count);

/// The 5 landmarks of the face in `box`.
sv_dlib_status sv_dlib_landmarks(sv_dlib_models *models, const sv_dlib_image *image, const sv_dlib_box *box,
                                 sv_dlib_point *points);

/// The 128-D embedding of the face: a 150x150 chip aligned on the 5 landmarks, padding 0.25.
sv_dlib_status sv_dlib_embed(sv_dlib_models *models, const sv_dlib_image *image, const sv_dlib_box *box,
                             const sv_dlib_point *points, float *embedding, sv_dlib_chip_quality *quality);

/// Test-time augmentation as face_recognition's num_jitters: with `jitters` > 1, the embedding is
/// the mean of the network's output on that many randomly jittered copies of the chip (dlib's
/// jitter_image: small shifts, rotations, scalings and mirroring; a fixed seed per face, so the
/// result is reproducible). 0 or 1: the chip alone.
void sv_dlib_set_jitters(sv_dlib_models *models, int32_t jitters);

/// Sets OpenBLAS to `threads` threads when OpenBLAS is the BLAS in use; returns 1 if it was.
int32_t sv_dlib_set_blas_threads(int32_t threads);

#ifdef __cplusplus
}
#endif

#endif
