// Plain C API over OpenCV's dnn module running YuNet (face detection, five points) and SFace
// (112x112 alignment and 128-D feature), or YuNet and an operator's own ONNX recogniser described
// by an `sv_cv_recognizer_spec`. Handles are opaque; every entry point catches all C++
// exceptions and returns an sv_cv_status. A model set is not thread-safe: use one per thread.
#ifndef SV_CV_H
#define SV_CV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SV_CV_POINTS 5
#define SV_CV_FEATURE_DIM 128
#define SV_CV_CHIP_SIZE 112
/// Largest detector input side: YuNet's anchor grid is made for up to 640 px a side.
#define SV_CV_MAX_INPUT 1280
/// Bounds of an operator's recogniser: input side and embedding size.
#define SV_CV_MIN_RECOGNIZER_SIDE 16
#define SV_CV_MAX_RECOGNIZER_SIDE 1024
#define SV_CV_MAX_FEATURE_DIM 4096

typedef enum {
    SV_CV_OK = 0,
    SV_CV_ERR_MODEL = 1,     // a model file could not be read or has the wrong outputs
    SV_CV_ERR_ARGUMENT = 2,  // bad dimensions, null pointers
    SV_CV_ERR_MEMORY = 3,    // an allocation failed
    SV_CV_ERR_INTERNAL = 4,  // any other exception inside OpenCV
} sv_cv_status;

typedef struct sv_cv_models sv_cv_models;

/// An RGB image in memory: 3 bytes a pixel, `stride` bytes a row. Never copied by the bridge,
/// except into resized, padded or aligned buffers that are zeroed before release.
typedef struct {
    const uint8_t *pixels;
    int32_t width;
    int32_t height;
    int32_t stride;
} sv_cv_image;

/// One face found by YuNet, in the image's pixel coordinates.
typedef struct {
    float x, y, width, height;  // the box: top-left corner and size
    // Five points, x then y: the eye on the image's left (the subject's right eye), the eye on the
    // image's right, the nose tip, the mouth corner on the image's left, the one on its right.
    float points[2 * SV_CV_POINTS];
    float score;  // sqrt(class score x objectness), 0-1
} sv_cv_face;

typedef struct {
    float sharpness;   // variance of the Laplacian of the aligned chip's centre, grey levels squared
    float brightness;  // mean grey level of the aligned chip's centre, 0-255
} sv_cv_chip_quality;

/// Loads YuNet (2023mar outputs: cls/obj/bbox/kps at strides 8, 16, 32) and SFace, both as
/// float32 ONNX files. On failure `*out` is NULL and a message (file paths only) is in `message`.
sv_cv_status sv_cv_models_load(const char *detector_path, const char *recognizer_path, sv_cv_models **out,
                               char *message, int32_t message_capacity);

/// How an operator's recogniser wants its face: the image warped by the least-squares similarity
/// that takes the five points onto `template_points` (in the input's pixels, YuNet's point order),
/// at `input_width` x `input_height`; then one NCHW float blob whose channel i (in the network's
/// order: RGB, or BGR when `bgr` is 1) is (value - mean[i]) x scale[i]. The network's output has
/// `dimension` values.
typedef struct {
    int32_t input_width, input_height;
    int32_t bgr;  // 1: the network takes blue, green, red; 0: red, green, blue
    float mean[3];
    float scale[3];
    float template_points[2 * SV_CV_POINTS];
    int32_t dimension;
} sv_cv_recognizer_spec;

/// Loads YuNet and an operator's recogniser. The network is run once on a zero input at load: an
/// output of another size than `spec->dimension` is SV_CV_ERR_MODEL with the sizes in `message`.
sv_cv_status sv_cv_models_load_onnx(const char *detector_path, const char *recognizer_path,
                                    const sv_cv_recognizer_spec *spec, sv_cv_models **out, char *message,
                                    int32_t message_capacity);

void sv_cv_models_free(sv_cv_models *models);

/// Runs YuNet on the image resized to `input_width` x `input_height` (each 16 to SV_CV_MAX_INPUT;
/// the input is padded with black to a multiple of 32), keeps faces scoring at least
/// `score_threshold`, suppresses overlaps above `nms_threshold` (IoU), and maps the faces back to
/// the image's coordinates. Writes at most `capacity` faces, best first, and the total to `*count`.
sv_cv_status sv_cv_detect(sv_cv_models *models, const sv_cv_image *image, int32_t input_width, int32_t input_height,
                          float score_threshold, float nms_threshold, sv_cv_face *faces, int32_t capacity,
                          int32_t *count);

/// The recogniser's feature of `face` into `feature`, which holds `capacity` floats: exactly the
/// model's dimension (SFace: 128). SFace: the image warped onto the 112x112 five-point template
/// (FaceRecognizerSF::alignCrop), then the network; an operator's model: as its spec says.
/// `quality` (may be NULL) is measured on the SFace-template chip for either, so that the quality
/// gates mean the same whatever the recogniser.
sv_cv_status sv_cv_feature(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face, float *feature,
                           int32_t capacity, sv_cv_chip_quality *quality);

/// Bytes of the recogniser's aligned chip (its input width x height x 3: SFace 112x112x3).
int32_t sv_cv_chip_bytes(const sv_cv_models *models);

/// The first half of `sv_cv_feature`: `face` warped onto the recogniser's template, RGB, into
/// `chip` (exactly `sv_cv_chip_bytes` bytes), and its quality (may be NULL), without the network.
sv_cv_status sv_cv_align(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face, uint8_t *chip,
                         int32_t capacity, sv_cv_chip_quality *quality);

/// The second half: the network's feature of a chip `sv_cv_align` wrote (`chip_bytes` bytes) into
/// `feature` (`capacity` floats: the model's dimension). `sv_cv_feature` is the two in one call.
sv_cv_status sv_cv_feature_of_chip(sv_cv_models *models, const uint8_t *chip, int32_t chip_bytes, float *feature,
                                   int32_t capacity);

/// SFace only: when `on`, each feature is the sum of the normalised features of the chip and of
/// its mirror image (test-time augmentation; twice the network's cost).
void sv_cv_set_mirror(sv_cv_models *models, int32_t on);

/// Sets OpenCV's own thread pool to `threads` (1: each worker stays on its core).
void sv_cv_set_threads(int32_t threads);

#ifdef __cplusplus
}
#endif

#endif
