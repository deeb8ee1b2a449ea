"""Computes reference boxes, landmarks and embeddings with dlib's own Python bindings.

Run by scripts/parity-reference.sh inside the environment of scripts/python-env.sh. For every
image it records the SHA-256 of the decoded RGB pixels (so a test can tell a decoder difference
from an engine difference), the HOG boxes at one upsampling step (face_recognition's default),
the 5-point landmarks and the 128-D embeddings, exactly as face_recognition 1.3.0 computes them.
"""
import hashlib
import json
import sys
from pathlib import Path

import dlib
import face_recognition
import face_recognition.api as api
import numpy

UPSAMPLE = 1


def describe(path: Path, name: str) -> dict:
    image = face_recognition.load_image_file(str(path))  # PIL, converted to RGB
    pixels = numpy.ascontiguousarray(image, dtype=numpy.uint8)
    faces = []
    for rect in api.face_detector(pixels, UPSAMPLE):
        shape = api.pose_predictor_5_point(pixels, rect)
        embedding = api.face_encoder.compute_face_descriptor(pixels, shape, 1)
        faces.append({
            "box": [rect.left(), rect.top(), rect.right(), rect.bottom()],
            "landmarks": [[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)],
            "embedding": [float(v) for v in embedding],
        })
    # The public API must agree with the steps above.
    public = face_recognition.face_encodings(pixels, model="small")
    assert len(public) == len(faces)
    for a, b in zip(public, faces):
        assert numpy.abs(a - numpy.array(b["embedding"])).max() == 0.0
    return {
        "image": name,
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "pixels_sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
        "faces": faces,
    }


def main() -> None:
    shared, samples, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    images = [(p, "fixtures/faces/images/" + p.name) for p in sorted((shared / "fixtures/faces/images").glob("*.jpg"))]
    images += [(p, "samples/" + p.name) for p in sorted(samples.glob("*.jpg"))]
    reference = {
        "generator": "scripts/parity-reference.py",
        "dlib_version": dlib.__version__,
        "face_recognition_version": face_recognition.__version__,
        "upsample": UPSAMPLE,
        "padding": 0.25,
        "chip_size": 150,
        "images": [describe(p, n) for p, n in images],
    }
    out.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {len(images)} images to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
