#!/usr/bin/env python3
"""Lays the faces-ea fixture portraits onto ID cards as they reach a counter, reproducibly.

  make-id-cards.py SHARED OUT [--without LAYER,...] [--limit N]

--without leaves layers out, to measure what each costs: print (contrast, colour, softness),
guilloche, hologram, ghost, glare, perspective. --limit N makes cards of the first N photos only.

Every photo of ../shared/fixtures/faces-ea becomes the portrait of a card the size and layout of
an ID-1 national identity card (85.6 x 54 mm; the portrait about 27 x 35 mm on the right, text
fields on the left, as on a Korean resident registration card), with what stands between the
camera and a real card's portrait:

  - the portrait printed: less contrast and saturation, a little softness;
  - a guilloche (fine interlaced sine curves) printed over the whole card, the portrait included;
  - a hologram-like laminate overlay: rainbow-tinted rings and waves across the portrait;
  - text fields (name, number, address, date of issue), all made up;
  - a ghost portrait (a small faded copy of the portrait) on half of the cards, as many ID cards
    carry one;
  - glare: a bright elliptical highlight on the laminate, crossing the portrait on some cards.

Each card is then captured two ways:

  scan    a flatbed scan at 300 dpi (1011 x 638 px), no glare, JPEG quality 90;
  photo   a photo at the counter: the card on a desk, 55-80 % of the frame's width, slight
          perspective (corners moved up to 5 % of the card), glare, blur, sensor noise, 1280 x 960,
          JPEG quality 82-90.

OUT receives cards/<photo>__<scan|photo>.jpg, a link `faces-ea` to the fixture folder (not a copy),
and tab-separated files for `simverify eval --first-kind id-card`:

  pairs-scan.tsv, pairs-photo.tsv   faces-ea/pairs.tsv with each imageA replaced by its card
  shift-scan.tsv, shift-photo.tsv   each card against the photo it was made from (all genuine):
                                    the genuine distances are the card's shift
  MANIFEST.tsv                      file, person, gender, variant, ghost, glare_on_portrait

The seed is fixed: the same fixtures give the same cards, byte for byte.
"""
import io
import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SHARED, OUT = sys.argv[1], sys.argv[2]
WITHOUT, LIMIT = set(), None
for flag, value in zip(sys.argv[3::2], sys.argv[4::2]):
    if flag == "--without":
        WITHOUT = set(value.split(","))
        unknown = WITHOUT - {"print", "guilloche", "hologram", "ghost", "glare", "perspective"}
        if unknown:
            sys.exit("make-id-cards: no layer %s" % ", ".join(sorted(unknown)))
    elif flag == "--limit":
        LIMIT = int(value)
    else:
        sys.exit("make-id-cards: unknown option %s" % flag)
FIXTURE = os.path.join(SHARED, "fixtures", "faces-ea")
PX_PER_MM = 1011 / 85.6  # 300 dpi
CARD_W, CARD_H = 1011, 638
rng = random.Random(20261202)


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def mm(v):
    return int(round(v * PX_PER_MM))


def guilloche(w, h, phase):
    """Interlaced sine curves, as printed under an ID card's fields (a grey-level mask, 0-1)."""
    img = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(img)
    for k in range(36):
        amp = 10 + 6 * math.sin(k * 0.7 + phase)
        period = 120 + 4 * k
        y0 = k * h / 36
        pts = [(x, y0 + amp * math.sin(2 * math.pi * x / period + k * 0.5 + phase)) for x in range(0, w + 4, 4)]
        d.line(pts, fill=255, width=1)
        pts = [(x, y0 + amp * math.cos(2 * math.pi * x / (period * 1.3) + k + phase)) for x in range(0, w + 4, 4)]
        d.line(pts, fill=160, width=1)
    return np.asarray(img, dtype=np.float32) / 255.0


GUILLOCHE = guilloche(CARD_W + 240, CARD_H + 120, 0.0)


def hologram(w, h, cx, cy):
    """Rainbow-tinted rings and waves, as a laminate's diffractive overlay: RGB (0-1) and alpha."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(x - cx, y - cy)
    rings = 0.5 + 0.5 * np.sin(r / 5.0)
    waves = 0.5 + 0.5 * np.sin((x + 0.6 * y) / 9.0 + np.sin(y / 23.0) * 3)
    hue = (r / 90.0 + x / 400.0) % 1.0
    rgb = np.stack([0.5 + 0.5 * np.cos(2 * math.pi * (hue + s)) for s in (0.0, 1 / 3, 2 / 3)], axis=-1)
    alpha = 0.10 + 0.12 * rings * waves
    return rgb, alpha[..., None]


def make_card(portrait, name, number, ghost, glare_on_portrait):
    card = np.ones((CARD_H, CARD_W, 3), dtype=np.float32)
    card *= np.array([0.93, 0.95, 0.97], dtype=np.float32)
    ox, oy = rng.randrange(GUILLOCHE.shape[1] - CARD_W), rng.randrange(GUILLOCHE.shape[0] - CARD_H)
    g = GUILLOCHE[oy:oy + CARD_H, ox:ox + CARD_W][..., None]
    if "guilloche" in WITHOUT:
        g = g * 0
    card = card * (1 - 0.22 * g) + 0.22 * g * np.array([0.55, 0.75, 0.85], dtype=np.float32)

    # The portrait: 27 x 35 mm on the right, printed (less contrast, less colour, soft).
    pw, ph = mm(27), mm(35)
    px, py = CARD_W - pw - mm(5), mm(11)
    src = portrait.convert("RGB")
    scale = max(pw / src.width, ph / src.height)
    src = src.resize((max(pw, int(src.width * scale)), max(ph, int(src.height * scale))), Image.LANCZOS)
    left, top = (src.width - pw) // 2, max(0, (src.height - ph) // 3)
    src = src.crop((left, top, left + pw, top + ph))
    if "print" not in WITHOUT:
        src = src.filter(ImageFilter.GaussianBlur(0.7))
    p = np.asarray(src, dtype=np.float32) / 255.0
    if "print" not in WITHOUT:
        grey = p.mean(axis=2, keepdims=True)
        p = 0.75 * p + 0.25 * grey  # less saturated
        p = 0.12 + 0.80 * p  # less contrast, as printed
    card[py:py + ph, px:px + pw] = p
    # The guilloche and the laminate's hologram over the portrait too.
    gp = g[py:py + ph, px:px + pw]
    card[py:py + ph, px:px + pw] = card[py:py + ph, px:px + pw] * (1 - 0.10 * gp)
    rgb, alpha = hologram(pw, ph, rng.uniform(0, pw), rng.uniform(0, ph))
    if "hologram" in WITHOUT:
        alpha = alpha * 0
    region = card[py:py + ph, px:px + pw]
    card[py:py + ph, px:px + pw] = region * (1 - alpha) + rgb * alpha

    if ghost:
        gw, gh = pw * 35 // 100, ph * 35 // 100
        gx, gy = px - gw - mm(4), CARD_H - gh - mm(5)
        small = np.asarray(src.convert("L").resize((gw, gh), Image.LANCZOS), dtype=np.float32)[..., None] / 255.0
        card[gy:gy + gh, gx:gx + gw] = card[gy:gy + gh, gx:gx + gw] * 0.55 + 0.45 * (0.3 + 0.6 * small)

    img = Image.fromarray(np.clip(card * 255, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.text((mm(5), mm(4)), "RESIDENT REGISTRATION CARD", fill=(30, 40, 90), font=font(34))
    d.text((mm(5), mm(13)), name.upper(), fill=(20, 20, 20), font=font(44))
    d.text((mm(5), mm(20)), number, fill=(20, 20, 20), font=font(38))
    d.text((mm(5), mm(28)), "12, Sejong-daero, Jongno-gu", fill=(40, 40, 40), font=font(26))
    d.text((mm(5), mm(32)), "Seoul", fill=(40, 40, 40), font=font(26))
    d.text((mm(5), mm(44)), "2024. 3. 15.", fill=(40, 40, 40), font=font(28))
    d.text((mm(5), mm(48)), "Mayor of Jongno-gu", fill=(40, 40, 40), font=font(28))

    # Glare on the laminate: a bright ellipse, over the portrait on some cards.
    a = np.asarray(img, dtype=np.float32) / 255.0
    if glare_on_portrait:
        gx, gy = px + rng.uniform(0.1, 0.9) * pw, py + rng.uniform(0.15, 0.85) * ph
    else:
        gx, gy = rng.uniform(0.1, 0.5) * CARD_W, rng.uniform(0.2, 0.8) * CARD_H
    y, x = np.mgrid[0:CARD_H, 0:CARD_W].astype(np.float32)
    sx, sy = rng.uniform(60, 140), rng.uniform(30, 70)
    glare = np.exp(-(((x - gx) / sx) ** 2 + ((y - gy) / sy) ** 2)) * rng.uniform(0.35, 0.6)
    if "glare" in WITHOUT:
        glare = glare * 0
    with_glare = a + (1 - a) * glare[..., None]
    return img, Image.fromarray(np.clip(with_glare * 255, 0, 255).astype(np.uint8)), (px, py, pw, ph)


def jpeg(img, quality):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def perspective_coeffs(dst, src):
    """Coefficients for PIL's PERSPECTIVE transform mapping output points dst to input points src."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array(src, dtype=np.float64).reshape(8)
    return np.linalg.solve(np.array(rows, dtype=np.float64), b).tolist()


def photograph(card):
    W, H = 1280, 960
    desk = np.ones((H, W, 3), dtype=np.float32) * np.array([0.45, 0.38, 0.30], dtype=np.float32)
    desk += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 0.03, (H, W, 1)).astype(np.float32)
    frame = Image.fromarray(np.clip(desk * 255, 0, 255).astype(np.uint8))
    width = rng.uniform(0.55, 0.80) * W
    height = width * CARD_H / CARD_W
    cx, cy = W / 2 + rng.uniform(-0.08, 0.08) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
    jitter = 0 if "perspective" in WITHOUT else 0.05 * width
    corners = [(cx - width / 2, cy - height / 2), (cx + width / 2, cy - height / 2),
               (cx + width / 2, cy + height / 2), (cx - width / 2, cy + height / 2)]
    corners = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in corners]
    coeffs = perspective_coeffs(corners, [(0, 0), (CARD_W, 0), (CARD_W, CARD_H), (0, CARD_H)])
    warped = card.convert("RGBA").transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    frame.paste(warped, (0, 0), warped)
    frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    a = np.asarray(frame, dtype=np.float32)
    a += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 3.0, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def table(path, header, rows):
    with open(path, "w") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    os.makedirs(os.path.join(OUT, "cards"), exist_ok=True)
    link = os.path.join(OUT, "faces-ea")
    if not os.path.islink(link):
        os.symlink(os.path.abspath(FIXTURE), link)
    manifest = {}
    with open(os.path.join(FIXTURE, "MANIFEST.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip() and not line.startswith("#"):
                rec = dict(zip(header, line.rstrip("\n").split("\t")))
                manifest[rec["file"]] = rec
    with open(os.path.join(FIXTURE, "pairs.tsv")) as f:
        f.readline()
        pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    images = sorted(set(p[0] for p in pairs) | set(p[1] for p in pairs))
    if LIMIT is not None:
        images = images[:LIMIT]
        pairs = [p for p in pairs if p[0] in images and p[1] in images]
    card_of = {"scan": {}, "photo": {}}
    rows = []
    for number, image in enumerate(images):
        rec = manifest[image]
        stem = os.path.splitext(os.path.basename(image))[0]
        portrait = Image.open(os.path.join(FIXTURE, image))
        ghost = number % 2 == 0 and "ghost" not in WITHOUT
        glare_on_portrait = number % 3 == 0
        plain, glared, _ = make_card(portrait, rec["person"].replace("ea_", ""), "%06d-%d******" % (rng.randrange(10 ** 6), 1 + number % 2), ghost, glare_on_portrait)
        scan = plain.filter(ImageFilter.GaussianBlur(0.4))
        for variant, img, quality in (("scan", scan, 90), ("photo", photograph(glared), rng.randrange(82, 91))):
            name = "cards/%s__%s.jpg" % (stem, variant)
            with open(os.path.join(OUT, name), "wb") as out:
                out.write(jpeg(img, quality))
            card_of[variant][image] = name
            rows.append([name, rec["person"], rec["gender"], variant, "yes" if ghost else "no",
                         "yes" if (glare_on_portrait and variant == "photo") else "no"])
    for variant in ("scan", "photo"):
        table(os.path.join(OUT, "pairs-%s.tsv" % variant), ["imageA", "imageB", "same"],
              [[card_of[variant][a], "faces-ea/" + b, s] for a, b, s in pairs])
        table(os.path.join(OUT, "shift-%s.tsv" % variant), ["imageA", "imageB", "same"],
              [[card_of[variant][i], "faces-ea/" + i, "1"] for i in images])
    table(os.path.join(OUT, "MANIFEST.tsv"), ["file", "person", "gender", "variant", "ghost", "glare_on_portrait"], rows)
    print("make-id-cards: %d cards of %d portraits in %s" % (len(rows), len(images), OUT), file=sys.stderr)


main()
