// The only file that includes OpenCV. YuNet runs through cv::dnn::Net with its outputs decoded
// here (OpenCV 4.6's FaceDetectorYN predates YuNet 2023mar's outputs); SFace through
// cv::FaceRecognizerSF (alignCrop and feature exist in 4.6); an operator's recogniser through
// cv::dnn::Net with the alignment and blob its spec describes.
#include "sv_cv.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

struct sv_cv_models {
    cv::dnn::Net detector;
    cv::Ptr<cv::FaceRecognizerSF> recognizer;  // SFace; empty for an operator's model
    cv::dnn::Net custom;                        // an operator's model
    sv_cv_recognizer_spec spec;
    bool mirror = false;                        // SFace: average with the mirrored chip's feature
};

namespace {

const std::vector<std::string> output_names = {"cls_8",  "cls_16",  "cls_32",  "obj_8", "obj_16", "obj_32",
                                               "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"};
const int strides[3] = {8, 16, 32};

bool valid(const sv_cv_image *image) {
    return image != nullptr && image->pixels != nullptr && image->width > 0 && image->height > 0 &&
           image->stride >= image->width * 3;
}

// A header over the caller's pixels: no copy.
cv::Mat view_of(const sv_cv_image *image) {
    return cv::Mat(image->height, image->width, CV_8UC3, const_cast<uint8_t *>(image->pixels),
                   static_cast<size_t>(image->stride));
}

// Overwrites a buffer that held pixels (or values computed from them) before it is released.
void zero(cv::Mat &m) {
    if (m.data == nullptr) return;
    if (m.isContinuous()) {
        std::memset(m.data, 0, m.total() * m.elemSize());
    } else {
        m.setTo(cv::Scalar::all(0));
    }
}

struct zeroing {
    std::vector<cv::Mat *> mats;
    ~zeroing() {
        for (auto *m : mats) zero(*m);
    }
};

template <typename F> sv_cv_status guarded(F &&body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return SV_CV_ERR_MEMORY;
    } catch (const std::invalid_argument &) {
        return SV_CV_ERR_ARGUMENT;
    } catch (...) {
        return SV_CV_ERR_INTERNAL;
    }
}

void copy_message(char *message, int32_t capacity, const std::string &text) {
    if (message == nullptr || capacity <= 0) return;
    size_t n = std::min(text.size(), static_cast<size_t>(capacity - 1));
    std::memcpy(message, text.data(), n);
    message[n] = '\0';
}

// SFace's 112x112 five-point template (the one FaceRecognizerSF::alignCrop warps onto).
const float sface_template[2 * SV_CV_POINTS] = {38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
                                                71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f};

// The least-squares similarity (rotation, uniform scale, translation; no reflection) taking the
// five `from` points onto the five `to` points, as a 2x3 matrix for warpAffine.
cv::Mat similarity(const float *from, const float *to) {
    double fx = 0, fy = 0, tx = 0, ty = 0;
    for (int i = 0; i < SV_CV_POINTS; i++) {
        fx += from[2 * i];
        fy += from[2 * i + 1];
        tx += to[2 * i];
        ty += to[2 * i + 1];
    }
    fx /= SV_CV_POINTS, fy /= SV_CV_POINTS, tx /= SV_CV_POINTS, ty /= SV_CV_POINTS;
    double norm = 0, a = 0, b = 0;
    for (int i = 0; i < SV_CV_POINTS; i++) {
        const double px = from[2 * i] - fx, py = from[2 * i + 1] - fy;
        const double qx = to[2 * i] - tx, qy = to[2 * i + 1] - ty;
        norm += px * px + py * py;
        a += px * qx + py * qy;
        b += px * qy - py * qx;
    }
    if (!(norm > 1e-9)) throw std::invalid_argument("degenerate points");
    a /= norm, b /= norm;
    cv::Mat m(2, 3, CV_64F);
    m.at<double>(0, 0) = a, m.at<double>(0, 1) = -b, m.at<double>(0, 2) = tx - (a * fx - b * fy);
    m.at<double>(1, 0) = b, m.at<double>(1, 1) = a, m.at<double>(1, 2) = ty - (b * fx + a * fy);
    return m;
}

// Sharpness and brightness of a 112x112 RGB chip's central half: eyes, nose and mouth.
sv_cv_chip_quality chip_quality(const cv::Mat &aligned) {
    const int lo = SV_CV_CHIP_SIZE / 4, hi = SV_CV_CHIP_SIZE - SV_CV_CHIP_SIZE / 4;
    auto grey = [&](int r, int c) {
        const cv::Vec3b &p = aligned.at<cv::Vec3b>(r, c);
        return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    };
    double sum = 0, lap_sum = 0, lap_sq = 0;
    long n = 0;
    for (int r = lo; r < hi; r++)
        for (int c = lo; c < hi; c++) {
            const double g = grey(r, c);
            const double lap = grey(r - 1, c) + grey(r + 1, c) + grey(r, c - 1) + grey(r, c + 1) - 4 * g;
            sum += g;
            lap_sum += lap;
            lap_sq += lap * lap;
            n++;
        }
    const double mean_lap = lap_sum / n;
    sv_cv_chip_quality q;
    q.brightness = static_cast<float>(sum / n);
    q.sharpness = static_cast<float>(lap_sq / n - mean_lap * mean_lap);
    return q;
}

bool valid(const sv_cv_recognizer_spec *spec) {
    if (spec == nullptr || spec->input_width < SV_CV_MIN_RECOGNIZER_SIDE || spec->input_height < SV_CV_MIN_RECOGNIZER_SIDE ||
        spec->input_width > SV_CV_MAX_RECOGNIZER_SIDE || spec->input_height > SV_CV_MAX_RECOGNIZER_SIDE ||
        spec->dimension < 2 || spec->dimension > SV_CV_MAX_FEATURE_DIM || (spec->bgr != 0 && spec->bgr != 1))
        return false;
    for (int i = 0; i < 3; i++)
        if (!std::isfinite(spec->mean[i]) || !std::isfinite(spec->scale[i]) || spec->scale[i] == 0) return false;
    for (int i = 0; i < 2 * SV_CV_POINTS; i++)
        if (!std::isfinite(spec->template_points[i])) return false;
    return true;
}

// The NCHW float blob of an aligned RGB chip as the spec wants it.
void fill_blob(const cv::Mat &aligned, const sv_cv_recognizer_spec &spec, cv::Mat &blob) {
    const int w = spec.input_width, h = spec.input_height;
    const int dims[4] = {1, 3, h, w};
    blob.create(4, dims, CV_32F);
    float *out = blob.ptr<float>();
    for (int c = 0; c < 3; c++) {
        const int source = spec.bgr ? 2 - c : c;
        float *plane = out + static_cast<size_t>(c) * w * h;
        for (int r = 0; r < h; r++) {
            const uint8_t *row = aligned.ptr<uint8_t>(r);
            for (int x = 0; x < w; x++) plane[r * w + x] = (row[3 * x + source] - spec.mean[c]) * spec.scale[c];
        }
    }
}

cv::Mat face_row(const sv_cv_face *face) {
    cv::Mat row(1, 15, CV_32F);
    float *v = row.ptr<float>(0);
    v[0] = face->x;
    v[1] = face->y;
    v[2] = face->width;
    v[3] = face->height;
    for (int i = 0; i < 2 * SV_CV_POINTS; i++) v[4 + i] = face->points[i];
    v[14] = face->score;
    return row;
}

}  // namespace

namespace {

// Loads YuNet and then, through `recognizer`, the recogniser; `current` names the file being read.
template <typename F>
sv_cv_status load(const char *detector_path, const char *recognizer_path, sv_cv_models **out, char *message,
                  int32_t message_capacity, F &&recognizer) {
    if (out == nullptr) return SV_CV_ERR_ARGUMENT;
    *out = nullptr;
    if (detector_path == nullptr || recognizer_path == nullptr) return SV_CV_ERR_ARGUMENT;
    std::string current = detector_path;
    try {
        auto models = new sv_cv_models();
        try {
            models->detector = cv::dnn::readNetFromONNX(detector_path);
            std::vector<std::string> names = models->detector.getUnconnectedOutLayersNames();
            for (const auto &name : output_names)
                if (std::find(names.begin(), names.end(), name) == names.end())
                    throw std::runtime_error("not a YuNet 2023mar model (no output " + name + ")");
            current = recognizer_path;
            recognizer(*models);
        } catch (...) {
            delete models;
            throw;
        }
        *out = models;
        return SV_CV_OK;
    } catch (const std::bad_alloc &) {
        return SV_CV_ERR_MEMORY;
    } catch (const cv::Exception &) {
        // OpenCV's own text can be long and names source files; the path is what an operator needs.
        copy_message(message, message_capacity, current + ": OpenCV could not load this ONNX model");
        return SV_CV_ERR_MODEL;
    } catch (const std::exception &e) {
        copy_message(message, message_capacity, current + ": " + e.what());
        return SV_CV_ERR_MODEL;
    } catch (...) {
        copy_message(message, message_capacity, current + ": unreadable model");
        return SV_CV_ERR_MODEL;
    }
}

}  // namespace

extern "C" sv_cv_status sv_cv_models_load(const char *detector_path, const char *recognizer_path, sv_cv_models **out,
                                          char *message, int32_t message_capacity) {
    return load(detector_path, recognizer_path, out, message, message_capacity, [&](sv_cv_models &models) {
        models.recognizer = cv::FaceRecognizerSF::create(recognizer_path, "");
        if (models.recognizer.empty()) throw std::runtime_error("not an SFace model");
    });
}

extern "C" sv_cv_status sv_cv_models_load_onnx(const char *detector_path, const char *recognizer_path,
                                               const sv_cv_recognizer_spec *spec, sv_cv_models **out, char *message,
                                               int32_t message_capacity) {
    if (!valid(spec)) {
        if (out != nullptr) *out = nullptr;
        return SV_CV_ERR_ARGUMENT;
    }
    return load(detector_path, recognizer_path, out, message, message_capacity, [&](sv_cv_models &models) {
        models.spec = *spec;
        models.custom = cv::dnn::readNetFromONNX(recognizer_path);
        if (models.custom.empty()) throw std::runtime_error("an empty network");
        // One run on a zero input: the output's size must be the descriptor's embedding size.
        cv::Mat zeros = cv::Mat::zeros(spec->input_height, spec->input_width, CV_8UC3), blob;
        fill_blob(zeros, *spec, blob);
        models.custom.setInput(blob);
        cv::Mat output = models.custom.forward();
        if (output.type() != CV_32F || output.total() != static_cast<size_t>(spec->dimension))
            throw std::runtime_error("the network gives " + std::to_string(output.total()) +
                                     " values but the descriptor says " + std::to_string(spec->dimension));
    });
}

extern "C" void sv_cv_models_free(sv_cv_models *models) { delete models; }

extern "C" sv_cv_status sv_cv_detect(sv_cv_models *models, const sv_cv_image *image, int32_t input_width,
                                     int32_t input_height, float score_threshold, float nms_threshold,
                                     sv_cv_face *faces, int32_t capacity, int32_t *count) {
    if (models == nullptr || !valid(image) || count == nullptr || (capacity > 0 && faces == nullptr) ||
        input_width < 16 || input_height < 16 || input_width > SV_CV_MAX_INPUT || input_height > SV_CV_MAX_INPUT ||
        !(score_threshold >= 0 && score_threshold <= 1) || !(nms_threshold >= 0 && nms_threshold <= 1))
        return SV_CV_ERR_ARGUMENT;
    return guarded([&] {
        const int pad_w = ((input_width - 1) / 32 + 1) * 32, pad_h = ((input_height - 1) / 32 + 1) * 32;
        cv::Mat padded, blob;
        std::vector<cv::Mat> outputs;
        zeroing guard;
        guard.mats = {&padded, &blob};
        padded = cv::Mat::zeros(pad_h, pad_w, CV_8UC3);
        cv::Mat roi = padded(cv::Rect(0, 0, input_width, input_height));
        cv::resize(view_of(image), roi, cv::Size(input_width, input_height), 0, 0, cv::INTER_LINEAR);
        // The network was trained on BGR; the image is RGB.
        blob = cv::dnn::blobFromImage(padded, 1.0, cv::Size(), cv::Scalar(), true, false);
        models->detector.setInput(blob);
        models->detector.forward(outputs, output_names);
        for (auto &o : outputs) guard.mats.push_back(&o);

        std::vector<cv::Rect2d> boxes;
        std::vector<float> scores;
        std::vector<sv_cv_face> found;
        const double sx = static_cast<double>(image->width) / input_width;
        const double sy = static_cast<double>(image->height) / input_height;
        for (int level = 0; level < 3; level++) {
            const int stride = strides[level], cols = pad_w / stride, rows = pad_h / stride;
            const cv::Mat &cls = outputs[level], &obj = outputs[3 + level], &bbox = outputs[6 + level],
                          &kps = outputs[9 + level];
            if (cls.total() != static_cast<size_t>(rows * cols) || bbox.total() != static_cast<size_t>(rows * cols * 4) ||
                kps.total() != static_cast<size_t>(rows * cols * 10) || obj.total() != cls.total())
                return SV_CV_ERR_MODEL;
            const float *c = cls.ptr<float>(), *o = obj.ptr<float>(), *b = bbox.ptr<float>(), *k = kps.ptr<float>();
            for (int r = 0; r < rows; r++) {
                for (int col = 0; col < cols; col++) {
                    const int i = r * cols + col;
                    const float score = std::sqrt(std::min(std::max(c[i], 0.f), 1.f) * std::min(std::max(o[i], 0.f), 1.f));
                    if (!(score >= score_threshold)) continue;
                    const float cx = (col + b[i * 4 + 0]) * stride, cy = (r + b[i * 4 + 1]) * stride;
                    const float w = std::exp(b[i * 4 + 2]) * stride, h = std::exp(b[i * 4 + 3]) * stride;
                    sv_cv_face face;
                    face.x = cx - w / 2;
                    face.y = cy - h / 2;
                    face.width = w;
                    face.height = h;
                    for (int p = 0; p < SV_CV_POINTS; p++) {
                        face.points[2 * p] = (k[i * 10 + 2 * p] + col) * stride;
                        face.points[2 * p + 1] = (k[i * 10 + 2 * p + 1] + r) * stride;
                    }
                    face.score = score;
                    if (!std::isfinite(face.x) || !std::isfinite(face.y) || !std::isfinite(w) || !std::isfinite(h))
                        continue;
                    found.push_back(face);
                    boxes.emplace_back(face.x, face.y, w, h);
                    scores.push_back(score);
                }
            }
        }
        std::vector<int> keep;
        cv::dnn::NMSBoxes(boxes, scores, score_threshold, nms_threshold, keep);
        *count = static_cast<int32_t>(keep.size());
        for (int32_t i = 0; i < capacity && i < static_cast<int32_t>(keep.size()); i++) {
            sv_cv_face f = found[keep[i]];
            f.x *= sx;
            f.width *= sx;
            f.y *= sy;
            f.height *= sy;
            for (int p = 0; p < SV_CV_POINTS; p++) {
                f.points[2 * p] *= sx;
                f.points[2 * p + 1] *= sy;
            }
            faces[i] = f;
        }
        return SV_CV_OK;
    });
}

namespace {

// The recogniser's input size: SFace's 112x112 or the operator's spec.
cv::Size chip_size(const sv_cv_models *models) {
    if (models->recognizer.empty()) return cv::Size(models->spec.input_width, models->spec.input_height);
    return cv::Size(SV_CV_CHIP_SIZE, SV_CV_CHIP_SIZE);
}

// The face warped onto the recogniser's template (RGB), and its quality on the SFace-template chip.
void align(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face, cv::Mat &aligned,
           sv_cv_chip_quality *quality) {
    if (models->recognizer.empty()) {
        const sv_cv_recognizer_spec &spec = models->spec;
        cv::warpAffine(view_of(image), aligned, similarity(face->points, spec.template_points),
                       cv::Size(spec.input_width, spec.input_height), cv::INTER_LINEAR);
        if (quality != nullptr) {
            cv::Mat chip;
            zeroing guard;
            guard.mats = {&chip};
            cv::warpAffine(view_of(image), chip, similarity(face->points, sface_template),
                           cv::Size(SV_CV_CHIP_SIZE, SV_CV_CHIP_SIZE), cv::INTER_LINEAR);
            *quality = chip_quality(chip);
        }
        return;
    }
    models->recognizer->alignCrop(view_of(image), face_row(face), aligned);
    if (quality != nullptr) *quality = chip_quality(aligned);
}

// The network's feature of an aligned chip (RGB).
sv_cv_status feature_of(sv_cv_models *models, const cv::Mat &aligned, float *feature) {
    if (models->recognizer.empty()) {
        const sv_cv_recognizer_spec &spec = models->spec;
        cv::Mat blob, values;
        zeroing guard;
        guard.mats = {&blob, &values};
        fill_blob(aligned, spec, blob);
        models->custom.setInput(blob);
        values = models->custom.forward();
        if (values.total() != static_cast<size_t>(spec.dimension) || values.type() != CV_32F) return SV_CV_ERR_MODEL;
        const float *v = values.ptr<float>();
        for (int i = 0; i < spec.dimension; i++) feature[i] = v[i];
        return SV_CV_OK;
    }
    cv::Mat bgr, values, flipped, mirrored;
    zeroing guard;
    guard.mats = {&bgr, &values, &flipped, &mirrored};
    // FaceRecognizerSF::feature swaps to RGB itself, so it wants BGR.
    cv::cvtColor(aligned, bgr, cv::COLOR_RGB2BGR);
    models->recognizer->feature(bgr, values);
    if (values.total() != SV_CV_FEATURE_DIM || values.type() != CV_32F) return SV_CV_ERR_MODEL;
    const float *v = values.ptr<float>();
    for (int i = 0; i < SV_CV_FEATURE_DIM; i++) feature[i] = v[i];
    if (models->mirror) {
        // The mirrored chip's feature, each normalised, summed (cosine distances only see the direction).
        cv::flip(bgr, flipped, 1);
        models->recognizer->feature(flipped, mirrored);
        if (mirrored.total() != SV_CV_FEATURE_DIM || mirrored.type() != CV_32F) return SV_CV_ERR_MODEL;
        const float *m = mirrored.ptr<float>();
        double a = 0, b = 0;
        for (int i = 0; i < SV_CV_FEATURE_DIM; i++) a += double(v[i]) * v[i], b += double(m[i]) * m[i];
        a = std::sqrt(a), b = std::sqrt(b);
        if (!(a > 0) || !(b > 0)) return SV_CV_ERR_MODEL;
        for (int i = 0; i < SV_CV_FEATURE_DIM; i++) feature[i] = static_cast<float>(v[i] / a + m[i] / b);
    }
    return SV_CV_OK;
}

int32_t dimension(const sv_cv_models *models) {
    return models->recognizer.empty() ? models->spec.dimension : SV_CV_FEATURE_DIM;
}

bool finite_points(const sv_cv_face *face) {
    for (int i = 0; i < 2 * SV_CV_POINTS; i++)
        if (!std::isfinite(face->points[i])) return false;
    return true;
}

// Checks the image and the face, aligns the face (zeroed after), and hands the chip to `then`.
template <typename F>
sv_cv_status with_aligned(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face,
                          sv_cv_chip_quality *quality, F &&then) {
    if (models == nullptr || !valid(image) || face == nullptr || !finite_points(face)) return SV_CV_ERR_ARGUMENT;
    return guarded([&] {
        cv::Mat aligned;
        zeroing guard;
        guard.mats = {&aligned};
        align(models, image, face, aligned, quality);
        return then(aligned);
    });
}

}  // namespace

extern "C" sv_cv_status sv_cv_feature(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face,
                                      float *feature, int32_t capacity, sv_cv_chip_quality *quality) {
    if (feature == nullptr || models == nullptr || capacity != dimension(models)) return SV_CV_ERR_ARGUMENT;
    return with_aligned(models, image, face, quality,
                        [&](const cv::Mat &aligned) { return feature_of(models, aligned, feature); });
}

extern "C" int32_t sv_cv_chip_bytes(const sv_cv_models *models) {
    if (models == nullptr) return 0;
    const cv::Size size = chip_size(models);
    return size.width * size.height * 3;
}

extern "C" sv_cv_status sv_cv_align(sv_cv_models *models, const sv_cv_image *image, const sv_cv_face *face,
                                    uint8_t *chip, int32_t capacity, sv_cv_chip_quality *quality) {
    if (chip == nullptr || models == nullptr || capacity != sv_cv_chip_bytes(models)) return SV_CV_ERR_ARGUMENT;
    return with_aligned(models, image, face, quality, [&](const cv::Mat &aligned) {
        const cv::Size size = chip_size(models);
        if (aligned.type() != CV_8UC3 || aligned.size() != size) return SV_CV_ERR_MODEL;
        // Into the caller's buffer, row by row.
        for (int r = 0; r < size.height; r++) std::memcpy(chip + r * size.width * 3, aligned.ptr(r), size.width * 3);
        return SV_CV_OK;
    });
}

extern "C" sv_cv_status sv_cv_feature_of_chip(sv_cv_models *models, const uint8_t *chip, int32_t chip_bytes,
                                              float *feature, int32_t capacity) {
    if (models == nullptr || chip == nullptr || feature == nullptr) return SV_CV_ERR_ARGUMENT;
    if (chip_bytes != sv_cv_chip_bytes(models) || capacity != dimension(models)) return SV_CV_ERR_ARGUMENT;
    return guarded([&] {
        const cv::Size size = chip_size(models);
        // A header over the caller's bytes; the network only reads it.
        const cv::Mat aligned(size, CV_8UC3, const_cast<uint8_t *>(chip));
        return feature_of(models, aligned, feature);
    });
}

extern "C" void sv_cv_set_mirror(sv_cv_models *models, int32_t on) {
    if (models != nullptr) models->mirror = on != 0;
}

extern "C" void sv_cv_set_threads(int32_t threads) { cv::setNumThreads(std::max(1, static_cast<int>(threads))); }
