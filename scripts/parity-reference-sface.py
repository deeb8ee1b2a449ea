"""Computes reference YuNet detections, five points and SFace features with OpenCV's own Python bindings.

Run by scripts/parity-reference-sface.sh in a virtualenv with opencv-python-headless 4.6.0.66 (the
OpenCV of Debian bookworm, whose libraries the engine links) and the same folded model files the
engine loads. It repeats the engine's steps with OpenCV's calls: the RGB pixels as PIL decodes them
(byte-identical to the engine's decoder, checked by the dlib parity test), resized so the long side
is INPUT (cv2.resize, bilinear), padded with black to a multiple of 32, blobFromImage with the
channels swapped to BGR, YuNet forward, outputs decoded per stride (score = sqrt(cls * obj), box
centre and size from the anchor grid, five points), NMS, mapped back to the image; then
FaceRecognizerSF.alignCrop on the BGR image and FaceRecognizerSF.feature.
"""
import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy
from PIL import Image

INPUT = 640
SCORE = 0.6
NMS = 0.3
NAMES = ["cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"]


def detect(net, rgb):
    h, w = rgb.shape[:2]
    scale = INPUT / max(w, h)
    iw, ih = max(16, int(round(w * scale))), max(16, int(round(h * scale)))
    pw, ph = ((iw - 1) // 32 + 1) * 32, ((ih - 1) // 32 + 1) * 32
    padded = numpy.zeros((ph, pw, 3), numpy.uint8)
    padded[:ih, :iw] = cv2.resize(rgb, (iw, ih), interpolation=cv2.INTER_LINEAR)
    net.setInput(cv2.dnn.blobFromImage(padded, 1.0, None, None, True, False))
    outs = net.forward(NAMES)
    # Every step in float32 as the bridge computes it; only the final scaling is in double.
    f32 = numpy.float32
    found, boxes, scores = [], [], []
    for level, stride in enumerate([8, 16, 32]):
        cls, obj, bbox, kps = (outs[level + 3 * k].reshape(-1, n) for k, n in enumerate([1, 1, 4, 10]))
        cols = pw // stride
        for i in range(cls.shape[0]):
            score = numpy.sqrt(f32(min(max(cls[i, 0], f32(0)), f32(1))) * f32(min(max(obj[i, 0], f32(0)), f32(1))))
            if score < SCORE:
                continue
            r, c = divmod(i, cols)
            cx, cy = (f32(c) + bbox[i, 0]) * f32(stride), (f32(r) + bbox[i, 1]) * f32(stride)
            bw, bh = numpy.exp(bbox[i, 2]) * f32(stride), numpy.exp(bbox[i, 3]) * f32(stride)
            points = [((kps[i, 2 * p] + f32(c)) * f32(stride), (kps[i, 2 * p + 1] + f32(r)) * f32(stride)) for p in range(5)]
            x, y = cx - bw / f32(2), cy - bh / f32(2)
            found.append((x, y, bw, bh, points, score))
            boxes.append([float(x), float(y), float(bw), float(bh)])
            scores.append(float(score))
    keep = numpy.array(cv2.dnn.NMSBoxes(boxes, scores, SCORE, NMS)).flatten()
    sx, sy = w / iw, h / ih
    faces = []
    for j in keep:
        x, y, bw, bh, points, score = found[j]
        row = [f32(float(x) * sx), f32(float(y) * sy), f32(float(bw) * sx), f32(float(bh) * sy)]
        row += [f32(float(v) * s) for px, py in points for v, s in ((px, sx), (py, sy))] + [score]
        faces.append(numpy.array(row, numpy.float32))
    return faces


def describe(net, recogniser, path: Path, name: str) -> dict:
    rgb = numpy.ascontiguousarray(numpy.asarray(Image.open(path).convert("RGB")), dtype=numpy.uint8)
    bgr = numpy.ascontiguousarray(rgb[:, :, ::-1])
    faces = []
    for face in detect(net, rgb):
        aligned = recogniser.alignCrop(bgr, face.reshape(1, -1))
        feature = recogniser.feature(aligned).flatten()
        faces.append({
            "box": [float(v) for v in face[:4]],
            "points": [float(v) for v in face[4:14]],
            "score": float(face[14]),
            "feature": [float(v) for v in feature],
        })
    return {"image": name, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
            "pixels_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(), "faces": faces}


def main() -> None:
    shared, samples, models, out = (Path(a) for a in sys.argv[1:5])
    cv2.setNumThreads(1)
    net = cv2.dnn.readNetFromONNX(str(models / "face_detection_yunet_2023mar_float32.onnx"))
    recogniser = cv2.FaceRecognizerSF.create(str(models / "face_recognition_sface_2021dec_float32.onnx"), "")
    images = [(p, "fixtures/faces/images/" + p.name) for p in sorted((shared / "fixtures/faces/images").glob("*.jpg"))]
    images += [(p, "samples/" + p.name) for p in sorted(samples.glob("*.jpg"))]
    reference = {
        "generator": "scripts/parity-reference-sface.py",
        "opencv_version": cv2.__version__,
        "input_long_side": INPUT,
        "score_threshold": SCORE,
        "nms_threshold": NMS,
        "images": [describe(net, recogniser, p, n) for p, n in images],
    }
    out.write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
