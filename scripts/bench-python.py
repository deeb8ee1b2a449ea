"""Times face_recognition 1.3.0 (dlib's Python bindings) on the images the Swift benchmark uses.

Prints one JSON object: median milliseconds per image for face_recognition.face_encodings(image)
(detection with its default one upsampling step, 5-point landmarks, embedding), median
milliseconds per embedding with the face locations given, and the images and faces timed.
Usage: bench-python.py ROUNDS IMAGE...
"""
import json
import statistics
import sys
import time

import face_recognition


def main() -> None:
    rounds = int(sys.argv[1])
    images = [face_recognition.load_image_file(p) for p in sys.argv[2:]]
    per_image, per_embedding = [], []
    faces = 0
    for image in images:
        locations = face_recognition.face_locations(image)
        if not locations:
            continue
        faces += len(locations)
        for _ in range(rounds):
            start = time.perf_counter()
            face_recognition.face_encodings(image, model="small")
            per_image.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            face_recognition.face_encodings(image, known_face_locations=locations, model="small")
            per_embedding.append((time.perf_counter() - start) * 1000 / len(locations))
    print(json.dumps({
        "images": len(images),
        "faces": faces,
        "median_ms_per_image": statistics.median(per_image),
        "median_ms_per_embedding": statistics.median(per_embedding),
    }))


if __name__ == "__main__":
    main()
