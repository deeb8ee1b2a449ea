// The only file that includes dlib. Keep it small: it is slow to compile.
#include "sv_dlib.h"

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace sv {

// A read-only view of caller-owned RGB pixels, usable wherever dlib takes a generic image.
struct rgb_view {
    const uint8_t *pixels;
    long rows;
    long cols;
    long stride;
};
inline long num_rows(const rgb_view &v) { return v.rows; }
inline long num_columns(const rgb_view &v) { return v.cols; }
inline const void *image_data(const rgb_view &v) { return v.pixels; }
inline void *image_data(rgb_view &v) { return const_cast<uint8_t *>(v.pixels); }
inline long width_step(const rgb_view &v) { return v.stride; }

// The ResNet of dlib_face_recognition_resnet_model_v1 (29 conv layers, 128-D output).
template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename S>
using residual = dlib::add_prev1<B<N, BN, 1, dlib::tag1<S>>>;
template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename S>
using residual_down = dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<B<N, BN, 2, dlib::tag1<S>>>>>>;
template <int N, template <typename> class BN, int stride, typename S>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, S>>>>>;
template <int N, typename S> using ares = dlib::relu<residual<block, N, dlib::affine, S>>;
template <int N, typename S> using ares_down = dlib::relu<residual_down<block, N, dlib::affine, S>>;
template <typename S> using level0 = ares_down<256, S>;
template <typename S> using level1 = ares<256, ares<256, ares_down<256, S>>>;
template <typename S> using level2 = ares<128, ares<128, ares_down<128, S>>>;
template <typename S> using level3 = ares<64, ares<64, ares<64, ares_down<64, S>>>>;
template <typename S> using level4 = ares<32, ares<32, ares<32, S>>>;
using embedding_net = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    level0<level1<level2<level3<level4<dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<
    dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

template <typename image> void zero_pixels(image &img) {
    if (img.size() > 0) std::memset(dlib::image_data(img), 0, img.size() * sizeof(typename image::type));
}

}  // namespace sv

namespace dlib {
template <> struct image_traits<sv::rgb_view> {
    typedef rgb_pixel pixel_type;
};
}  // namespace dlib

struct sv_dlib_models {
    dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
    dlib::shape_predictor landmarks;
    sv::embedding_net net;
    int32_t jitters = 0;
};

namespace {

bool valid(const sv_dlib_image *image) {
    return image != nullptr && image->pixels != nullptr && image->width > 0 && image->height > 0 &&
           image->stride >= image->width * 3;
}

sv::rgb_view view_of(const sv_dlib_image *image) {
    return sv::rgb_view{image->pixels, image->height, image->width, image->stride};
}

dlib::rectangle rect_of(const sv_dlib_box *box) { return dlib::rectangle(box->left, box->top, box->right, box->bottom); }

template <typename F> sv_dlib_status guarded(F &&body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return SV_DLIB_ERR_MEMORY;
    } catch (...) {
        return SV_DLIB_ERR_INTERNAL;
    }
}

void copy_message(char *message, int32_t capacity, const std::string &text) {
    if (message == nullptr || capacity <= 0) return;
    size_t n = std::min(text.size(), static_cast<size_t>(capacity - 1));
    std::memcpy(message, text.data(), n);
    message[n] = '\0';
}

}  // namespace

extern "C" sv_dlib_status sv_dlib_models_load(const char *landmarks_path, const char *embedding_path,
                                              sv_dlib_models **out, char *message, int32_t message_capacity) {
    if (out == nullptr) return SV_DLIB_ERR_ARGUMENT;
    *out = nullptr;
    if (landmarks_path == nullptr || embedding_path == nullptr) return SV_DLIB_ERR_ARGUMENT;
    std::string current = landmarks_path;
    try {
        auto models = new sv_dlib_models();
        try {
            dlib::deserialize(landmarks_path) >> models->landmarks;
            if (models->landmarks.num_parts() != SV_DLIB_LANDMARKS)
                throw dlib::error("expected a 5-point shape predictor");
            current = embedding_path;
            dlib::deserialize(embedding_path) >> models->net;
        } catch (...) {
            delete models;
            throw;
        }
        *out = models;
        return SV_DLIB_OK;
    } catch (const std::bad_alloc &) {
        return SV_DLIB_ERR_MEMORY;
    } catch (const std::exception &e) {
        copy_message(message, message_capacity, current + ": " + e.what());
        return SV_DLIB_ERR_MODEL;
    } catch (...) {
        copy_message(message, message_capacity, current + ": unreadable model");
        return SV_DLIB_ERR_MODEL;
    }
}

extern "C" void sv_dlib_models_free(sv_dlib_models *models) { delete models; }

extern "C" sv_dlib_status sv_dlib_detect(sv_dlib_models *models, const sv_dlib_image *image, int32_t upsample,
                                         sv_dlib_box *boxes, int32_t capacity, int32_t *count) {
    if (models == nullptr || !valid(image) || upsample < 0 || upsample > 3 || count == nullptr ||
        (capacity > 0 && boxes == nullptr))
        return SV_DLIB_ERR_ARGUMENT;
    return guarded([&] {
        std::vector<dlib::rect_detection> found;
        const sv::rgb_view input = view_of(image);
        if (upsample == 0) {
            models->detector(input, found, 0.0);
        } else {
            // Same steps as dlib's Python binding: pyramid_up, detect, map the boxes back down.
            dlib::pyramid_down<2> pyramid;
            dlib::array2d<dlib::rgb_pixel> larger;
            try {
                dlib::pyramid_up(input, larger, pyramid);
                for (int32_t i = 1; i < upsample; i++) dlib::pyramid_up(larger);
                models->detector(larger, found, 0.0);
            } catch (...) {
                sv::zero_pixels(larger);
                throw;
            }
            sv::zero_pixels(larger);
            for (auto &d : found) d.rect = pyramid.rect_down(d.rect, upsample);
        }
        std::sort(found.rbegin(), found.rend());
        *count = static_cast<int32_t>(found.size());
        for (int32_t i = 0; i < capacity && i < static_cast<int32_t>(found.size()); i++) {
            const auto &r = found[i].rect;
            boxes[i] = sv_dlib_box{static_cast<int32_t>(r.left()), static_cast<int32_t>(r.top()),
                                   static_cast<int32_t>(r.right()), static_cast<int32_t>(r.bottom()),
                                   found[i].detection_confidence};
        }
        return SV_DLIB_OK;
    });
}

extern "C" sv_dlib_status sv_dlib_landmarks(sv_dlib_models *models, const sv_dlib_image *image,
                                            const sv_dlib_box *box, sv_dlib_point *points) {
    if (models == nullptr || !valid(image) || box == nullptr || points == nullptr) return SV_DLIB_ERR_ARGUMENT;
    return guarded([&] {
        const dlib::full_object_detection shape = models->landmarks(view_of(image), rect_of(box));
        for (unsigned long i = 0; i < SV_DLIB_LANDMARKS; i++)
            points[i] = sv_dlib_point{static_cast<int32_t>(shape.part(i).x()), static_cast<int32_t>(shape.part(i).y())};
        return SV_DLIB_OK;
    });
}

extern "C" sv_dlib_status sv_dlib_embed(sv_dlib_models *models, const sv_dlib_image *image, const sv_dlib_box *box,
                                        const sv_dlib_point *points, float *embedding, sv_dlib_chip_quality *quality) {
    if (models == nullptr || !valid(image) || box == nullptr || points == nullptr || embedding == nullptr)
        return SV_DLIB_ERR_ARGUMENT;
    return guarded([&] {
        std::vector<dlib::point> parts;
        for (int i = 0; i < SV_DLIB_LANDMARKS; i++) parts.emplace_back(points[i].x, points[i].y);
        const dlib::full_object_detection shape(rect_of(box), parts);
        dlib::matrix<dlib::rgb_pixel> chip;
        try {
            dlib::extract_image_chip(view_of(image), dlib::get_face_chip_details(shape, SV_DLIB_CHIP_SIZE, 0.25),
                                     chip);
            if (models->jitters > 1) {
                // As dlib's compute_face_descriptor with num_jitters: the mean over jittered chips.
                dlib::rand rnd(20261202);
                dlib::matrix<float, 0, 1> sum = dlib::zeros_matrix<float>(SV_DLIB_EMBEDDING_DIM, 1);
                for (int32_t j = 0; j < models->jitters; j++) {
                    dlib::matrix<dlib::rgb_pixel> jittered = dlib::jitter_image(chip, rnd);
                    sum += models->net(jittered);
                    sv::zero_pixels(jittered);
                }
                for (long i = 0; i < SV_DLIB_EMBEDDING_DIM; i++) embedding[i] = sum(i) / models->jitters;
            } else {
                const dlib::matrix<float, 0, 1> descriptor = models->net(chip);
                for (long i = 0; i < SV_DLIB_EMBEDDING_DIM; i++) embedding[i] = descriptor(i);
            }
            if (quality != nullptr) {
                // Grey levels of the chip's central half: the face, not the padding around it.
                const long lo = SV_DLIB_CHIP_SIZE / 4, hi = SV_DLIB_CHIP_SIZE - SV_DLIB_CHIP_SIZE / 4;
                auto grey = [&](long r, long c) {
                    const dlib::rgb_pixel &p = chip(r, c);
                    return 0.299 * p.red + 0.587 * p.green + 0.114 * p.blue;
                };
                double sum = 0, lap_sum = 0, lap_sq = 0;
                long n = 0;
                for (long r = lo; r < hi; r++)
                    for (long c = lo; c < hi; c++) {
                        const double g = grey(r, c);
                        const double lap = grey(r - 1, c) + grey(r + 1, c) + grey(r, c - 1) + grey(r, c + 1) - 4 * g;
                        sum += g;
                        lap_sum += lap;
                        lap_sq += lap * lap;
                        n++;
                    }
                const double mean_lap = lap_sum / n;
                quality->brightness = static_cast<float>(sum / n);
                quality->sharpness = static_cast<float>(lap_sq / n - mean_lap * mean_lap);
            }
        } catch (...) {
            sv::zero_pixels(chip);
            throw;
        }
        sv::zero_pixels(chip);
        return SV_DLIB_OK;
    });
}

extern "C" void sv_dlib_set_jitters(sv_dlib_models *models, int32_t jitters) {
    if (models != nullptr) models->jitters = std::max<int32_t>(0, std::min<int32_t>(jitters, 100));
}

extern "C" int32_t sv_dlib_set_blas_threads(int32_t threads) {
    if (openblas_set_num_threads == nullptr) return 0;
    openblas_set_num_threads(threads);
    return 1;
}
