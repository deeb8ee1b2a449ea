#!/usr/bin/env python3
"""Puts a face mask on the faces-ea fixture portraits, reproducibly, to measure the covered-face check.

  make-masked-faces.py SHARED OUT

Every photo of ../shared/fixtures/faces-ea in which dlib's HOG detector (face_recognition 1.3.0)
finds a face gets a KF94-style mask drawn from its 68 landmarks: the top edge from the cheeks
(jaw points 1 and 15) up over the nose bridge (point 29, between the eyes and the nose tip), the
bottom edge just below the jaw line, the ear loops, a fold across at mouth level, shading toward
the edges and a little noise. The colours cycle through those sold in Korea: white, black, light
blue, grey and beige (the nearest to skin, the hardest case).

OUT receives masked/<photo>__<colour>.jpg (JPEG quality 90) and MANIFEST.tsv: file, source photo,
person, gender, colour. The seed is fixed: the same fixtures give the same pictures.
"""
import csv
import os
import random
import sys

import face_recognition
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

COLOURS = [
    ("white", (236, 236, 232)),
    ("black", (34, 34, 38)),
    ("blue", (168, 198, 226)),
    ("grey", (150, 152, 156)),
    ("beige", (214, 196, 176)),
]


def mask_polygon(points):
    """The mask's outline from dlib's 68 points (x, y)."""
    jaw = points[0:17]
    bridge = points[29]
    top = [jaw[1], ((jaw[1][0] + bridge[0]) / 2, (jaw[1][1] + bridge[1]) / 2 - 0.02 * abs(jaw[15][0] - jaw[1][0])), bridge,
           ((jaw[15][0] + bridge[0]) / 2, (jaw[15][1] + bridge[1]) / 2 - 0.02 * abs(jaw[15][0] - jaw[1][0])), jaw[15]]
    # Below the jaw by a little, pushed out from the face's centre.
    cx = sum(p[0] for p in jaw) / len(jaw)
    cy = sum(p[1] for p in jaw) / len(jaw)
    bottom = []
    for p in reversed(jaw[2:15]):
        bottom.append((p[0] + 0.06 * (p[0] - cx), p[1] + 0.08 * (p[1] - cy)))
    return top + bottom


def draw_mask(image, points, colour, rng):
    w, h = image.size
    outline = mask_polygon(points)
    alpha = Image.new("L", (w, h), 0)
    ImageDraw.Draw(alpha).polygon(outline, fill=255)
    alpha = alpha.filter(ImageFilter.GaussianBlur(1.2))
    # Shading: darker toward the outline (the mask curves away), a fold at mouth level.
    xs = [p[0] for p in outline]
    ys = [p[1] for p in outline]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    yy, xx = np.mgrid[0:h, 0:w]
    u = (xx - (x0 + x1) / 2) / max(1.0, (x1 - x0) / 2)
    v = (yy - (y0 + y1) / 2) / max(1.0, (y1 - y0) / 2)
    shade = 1.0 - 0.22 * np.clip(u * u, 0, 1) - 0.08 * np.clip(v * v, 0, 1)
    mouth_y = (points[62][1] + points[66][1]) / 2
    fold = 1.0 - 0.10 * np.exp(-((yy - mouth_y) ** 2) / (2 * max(1.0, 0.015 * (y1 - y0)) ** 2))
    light = rng.uniform(0.85, 1.08)
    base = np.array(colour, dtype=np.float32)[None, None, :] * (shade * fold * light)[:, :, None]
    base += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 3.0, (h, w, 1))
    mask_rgb = np.clip(base, 0, 255)
    a = np.asarray(alpha, dtype=np.float32)[:, :, None] / 255
    out = np.asarray(image, dtype=np.float32) * (1 - a) + mask_rgb * a
    result = Image.fromarray(out.astype(np.uint8))
    # Ear loops: thin lines from the mask's corners toward the ears.
    draw = ImageDraw.Draw(result)
    loop = tuple(int(c * 0.9) for c in colour)
    width = max(1, int(0.012 * (x1 - x0)))
    for corner, ear in ((points[1], points[0]), (points[15], points[16])):
        draw.line([corner, (ear[0], ear[1] - 0.3 * (points[1][1] - points[0][1] + 1))], fill=loop, width=width)
        draw.line([(corner[0], corner[1] + 0.4 * (y1 - y0)), (ear[0], ear[1] + 0.1 * (y1 - y0))], fill=loop, width=width)
    return result


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    shared, out = sys.argv[1], sys.argv[2]
    root = os.path.join(shared, "fixtures", "faces-ea")
    os.makedirs(os.path.join(out, "masked"), exist_ok=True)
    rng = random.Random(20261202)
    with open(os.path.join(root, "MANIFEST.tsv"), newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")]
    written = []
    for index, row in enumerate(rows):
        source = row["file"]
        image = Image.open(os.path.join(root, source)).convert("RGB")
        faces = face_recognition.face_landmarks(np.asarray(image), model="large")
        if not faces:
            continue
        # The largest face.
        face = max(faces, key=lambda f: max(p[0] for p in f["chin"]) - min(p[0] for p in f["chin"]))
        # dlib's numbering: the jaw 0-16, the nose bridge 27-30, the inner lips' middles 62 and 66.
        points = [None] * 68
        points[0:17] = face["chin"]
        points[27:31] = face["nose_bridge"]
        points[62] = face["top_lip"][9]
        points[66] = face["bottom_lip"][9]
        name, colour = COLOURS[index % len(COLOURS)]
        masked = draw_mask(image, points, colour, rng)
        file = "masked/%s__%s.jpg" % (os.path.splitext(source.replace("/", "_"))[0], name)
        masked.save(os.path.join(out, file), quality=90)
        written.append((file, source, row.get("person", ""), row.get("gender", ""), name))
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("file\tsource\tperson\tgender\tcolour\n")
        for line in written:
            f.write("\t".join(line) + "\n")
    print("make-masked-faces: %d of %d photos masked" % (len(written), len(rows)), file=sys.stderr)


if __name__ == "__main__":
    main()
