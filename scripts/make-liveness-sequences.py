#!/usr/bin/env python3
"""Builds labelled liveness bursts from the shared fixtures, reproducibly (fixed seed).

Writes OUT/<name>/{sequence.json, 001.jpg, ...}; `simverify eval-liveness OUT` reads them.
How each kind is made (docs/DECISIONS.md, "Test sequences"):

  live        Real stills of one man (aws_wall_pose: the ones the HOG detector finds) put in the
              order that performs the challenge: the frontal still, then for each step its still
              and that still cropped 1.07x about its centre (a second frame of the same pose);
              "move closer" is the frontal still cropped 1.35x. Every ordered pair of steps.
              Three-step bursts (live3_*, the default challenge's length): the frontal still,
              one frame for each of turning left (002), turning right (003) and moving closer,
              in every order, then facing the camera again (the frontal still cropped 1.07x):
              5 frames.
              Also the fixture's continuous head turn (intel_female_headturn, played backwards:
              frontal, then turning to her right) with the one step it performs.
  live_still  Real live bursts that do not perform their challenge (intel_male_still,
              minivision_demo_live, intel_two_faces_still, minivision_still_live).
  print       One photo (faces/ fixtures, the aws frontal stills) printed (white margin, less
              contrast) and moved about as a rigid plane in 3D, rendered with a pinhole camera
              (f = 700 px): turned about its vertical axis for a turn, its horizontal axis for a
              nod, brought closer; camera noise, slight blur, JPEG. Plus minivision_demo_print.
  screen      The same motion of a photo shown on a screen, as sharp as the live frames: the
              picture drawn as a display draws it (each pixel a 3x3 cell of red, green and blue
              sub-pixel stripes with a dimmer gap row), a black bezel, a cool colour, a moving
              glare spot; the camera sees it through its lens (a slight blur at twice the
              resolution, then each pixel the mean of its area), so the sub-pixel grid beats
              with the camera's pixels as moire does. Plus minivision_demo_screen.
  screen_replay
              A live burst that performs its challenge, played back frame by frame on that
              screen held in front of the camera (a little shake): the displayed head performs
              the challenge, with the recorded head's own parallax.
  replay      The exact frames of a live burst, submitted against a different challenge.
  order       A live burst's step stills in the reverse order of its challenge.
Every three-step live burst is also played back on a screen (screen_replay3_*) and submitted with
its steps in reverse order (order3_*).
"""
import io
import itertools
import json
import math
import os
import random
import shutil
import sys

import numpy as np
from PIL import Image, ImageFilter

SHARED = sys.argv[1]
OUT = sys.argv[2]
rng = random.Random(20261122)
LIVE = os.path.join(SHARED, "fixtures", "liveness")
FACES = os.path.join(SHARED, "fixtures", "faces")

# Poses of the aws stills, from the fixture manifest ("toward image-right" is the subject's left).
# 003 turns to his right, 006 looks straight up, 009 straight down; the mirror images of the whole
# burst give the same man turning to his left. (005 and 008 look up and down while turned: read
# from YuNet's five points they are turns. dlib's HOG misses 006 and 009, so with dlib the
# look-up and look-down bursts fail to capture: the default model is SFace + YuNet.)
STILLS = {
    "aws_wall_pose": {"frontal": "001", "TURN_RIGHT": "003", "LOOK_UP": "006", "LOOK_DOWN": "009"},
}
STEPS = ["TURN_LEFT", "TURN_RIGHT", "MOVE_CLOSER", "LOOK_UP", "LOOK_DOWN"]


def jpeg_bytes(image, quality=90):
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def times(count):
    t, out = 0, []
    for i in range(count):
        out.append(t)
        t += rng.randint(180, 420)
    return out


def write(name, kind, challenge, frames, note):
    """frames: list of JPEG bytes."""
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    names = []
    for i, data in enumerate(frames):
        names.append("%03d.jpg" % (i + 1))
        with open(os.path.join(folder, names[-1]), "wb") as f:
            f.write(data)
    with open(os.path.join(folder, "sequence.json"), "w") as f:
        json.dump({"kind": kind, "challenge": challenge, "frames": names, "frame_times_ms": times(len(frames)),
                   "note": note}, f, indent=1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def closer(path, factor=1.35):
    image = Image.open(path).convert("RGB") if isinstance(path, str) else Image.open(io.BytesIO(path)).convert("RGB")
    w, h = image.size
    cw, ch = int(w / factor), int(h / factor)
    box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    return jpeg_bytes(image.crop(box).resize((w, h), Image.BICUBIC))


def step_frame(folder, step):
    poses = STILLS[folder]
    if step == "MOVE_CLOSER":
        return closer(os.path.join(LIVE, folder, poses["frontal"] + ".jpg"))
    return read(os.path.join(LIVE, folder, poses[step] + ".jpg"))


def mirror(data):
    return jpeg_bytes(Image.open(io.BytesIO(data)).convert("RGB").transpose(Image.FLIP_LEFT_RIGHT))


def steps_frames(folder, step, mirrored=False):
    if mirrored:
        step = {"TURN_LEFT": "TURN_RIGHT", "TURN_RIGHT": "TURN_LEFT"}.get(step, step)
    still = step_frame(folder, step)
    second = closer(still, 1.07)
    frames = [still, second]
    return [mirror(f) for f in frames] if mirrored else frames


def live_sequences():
    made = []
    for folder, poses in STILLS.items():
        for mirrored in [False, True]:
            steps = [s for s in STEPS if s in poses or s == "MOVE_CLOSER"]
            if mirrored:
                steps = [{"TURN_RIGHT": "TURN_LEFT"}.get(s, s) for s in steps]
            for first in steps:
                for second in steps:
                    if first == second:
                        continue
                    frontal = read(os.path.join(LIVE, folder, poses["frontal"] + ".jpg"))
                    if mirrored:
                        frontal = mirror(frontal)
                    frames = [frontal] + steps_frames(folder, first, mirrored) + steps_frames(folder, second, mirrored)
                    name = "live_%s%s_%s" % ("mirrored_" if mirrored else "", first.lower(), second.lower())
                    write(name, "live", [first, second], frames, "real stills of one man performing the challenge")
                    made.append((name, folder, first, second, frames, mirrored))
    return made


THREE_STEPS = ["TURN_LEFT", "TURN_RIGHT", "MOVE_CLOSER"]


def three_step_frames(folder, step):
    """One frame of each step of a three-step burst: turning left is 002 (near profile)."""
    if step == "TURN_LEFT":
        return read(os.path.join(LIVE, folder, "002.jpg"))
    return step_frame(folder, step)


def three_step_burst(folder, order):
    frames = [read(os.path.join(LIVE, folder, STILLS[folder]["frontal"] + ".jpg"))]
    frames += [three_step_frames(folder, step) for step in order]
    frames.append(closer(frames[0], 1.07))
    return frames


def live_three_step_sequences():
    """Every order of the three steps SFace reads, for the default three-step challenge."""
    made = []
    for folder in STILLS:
        for order in itertools.permutations(THREE_STEPS):
            order = list(order)
            name = "live3_" + "_".join(step.lower() for step in order)
            frames = three_step_burst(folder, order)
            write(name, "live", order, frames, "real stills of one man performing a three-step challenge")
            made.append((name, folder, order, frames))
    return made


def fixture_burst(folder, kind, challenge, reverse=False, note=""):
    names = sorted(n for n in os.listdir(os.path.join(LIVE, folder)) if n.endswith(".jpg"))
    if reverse:
        names.reverse()
    write("fixture_" + folder, kind, challenge, [read(os.path.join(LIVE, folder, n)) for n in names], note)


# --- planar attacks -------------------------------------------------------------------------------

def plane_pose_for(step):
    """Rotation (yaw, pitch, degrees) and distance factor an attacker uses to imitate a step."""
    return {"TURN_LEFT": (-28, 0, 1.0), "TURN_RIGHT": (28, 0, 1.0), "LOOK_UP": (0, 25, 1.0),
            "LOOK_DOWN": (0, -25, 1.0), "MOVE_CLOSER": (0, 0, 0.72)}[step]


def homography(yaw, pitch, distance, width, height, out_w, out_h, plane_h):
    """Maps plane pixels (the printed image) to output pixels: a rigid plane in front of a pinhole."""
    f = 700.0
    s = plane_h / height  # plane units per image pixel: the picture's height in output pixels at distance 1
    a, b = math.radians(yaw), math.radians(pitch)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    r = ry @ rx
    z = f * distance
    # Plane point (u, v) -> 3D: R @ [s(u - w/2), s(v - h/2), 0] + [0, 0, z].
    m = np.array([[r[0, 0] * s, r[0, 1] * s, -(r[0, 0] * width + r[0, 1] * height) * s / 2],
                  [r[1, 0] * s, r[1, 1] * s, -(r[1, 0] * width + r[1, 1] * height) * s / 2],
                  [r[2, 0] * s, r[2, 1] * s, z - (r[2, 0] * width + r[2, 1] * height) * s / 2]])
    k = np.array([[f, 0, out_w / 2], [0, f, out_h / 2], [0, 0, 1]])
    return k @ m


def render(picture, h, out_w, out_h, background):
    inverse = np.linalg.inv(h)
    inverse /= inverse[2, 2]
    coeffs = tuple(inverse.flatten()[:8])
    warped = picture.transform((out_w, out_h), Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    mask = Image.new("L", picture.size, 255).transform((out_w, out_h), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
    frame = background.copy()
    frame.paste(warped, (0, 0), mask)
    return frame


def background(out_w, out_h):
    y, x = np.mgrid[0:out_h, 0:out_w]
    base = np.array([rng.randint(90, 200) for _ in range(3)], dtype=np.float64)
    slope = np.array([rng.uniform(-0.08, 0.08) for _ in range(3)])
    pixels = base[None, None, :] + slope[None, None, :] * (x[..., None] + y[..., None])
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def camera(frame, blur, noise, seed):
    frame = frame.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(frame).astype(np.float64)
    pixels += np.random.default_rng(seed).normal(0, noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def as_print(image):
    pixels = np.asarray(image).astype(np.float64)
    pixels = 0.82 * pixels + 0.18 * 235  # paper: less contrast
    printed = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    margin = int(0.05 * max(image.size))
    sheet = Image.new("RGB", (image.size[0] + 2 * margin, image.size[1] + 2 * margin), (242, 240, 236))
    sheet.paste(printed, (margin, margin))
    return sheet


def as_screen(image):
    """The picture as a display shows it, sub-pixels and all, in a black bezel (3x the picture's size)."""
    w, h = image.size
    k = 3
    pixels = np.asarray(image).astype(np.float64) * np.array([0.9, 0.97, 1.08]) * 1.15 + 12  # a cool, bright screen
    cell = np.full((k, k, 3), 0.7)
    for c in range(3):
        cell[:, c, c] = 1.0  # column c of a cell is the red, green or blue sub-pixel
    cell[k - 1, :, :] *= 0.8  # the gap between rows of cells
    shown = np.repeat(np.repeat(pixels, k, axis=0), k, axis=1) * np.tile(cell, (h, w, 1))
    bezel = int(0.06 * max(w, h)) * k
    device = Image.new("RGB", (k * w + 2 * bezel, k * h + 2 * bezel), (12, 12, 14))
    device.paste(Image.fromarray(np.clip(shown, 0, 255).astype(np.uint8)), (bezel, bezel))
    return device


def render_screen(device, yaw, pitch, distance, out_w, out_h, bg):
    """A screen seen by a camera: rendered at twice the resolution through a slightly soft lens,
    each output pixel the mean of its area (the sensor), so the sub-pixel grid aliases into moire."""
    h = homography(yaw, pitch, distance, device.size[0], device.size[1], 2 * out_w, 2 * out_h, 2 * 330)
    frame = render(device, h, 2 * out_w, 2 * out_h, bg.resize((2 * out_w, 2 * out_h)))
    return frame.filter(ImageFilter.GaussianBlur(0.9)).resize((out_w, out_h), Image.BOX)


def glare(frame, cx, cy):
    w, h = frame.size
    y, x = np.mgrid[0:h, 0:w]
    spot = 90 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 45.0 ** 2))
    pixels = np.asarray(frame).astype(np.float64) + spot[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def planar_attack(name, kind, path, challenge):
    source = Image.open(path).convert("RGB")
    if max(source.size) > 640:
        source.thumbnail((640, 640))
    out_w, out_h = 640, 480
    bg = background(out_w, out_h)
    picture = as_print(source) if kind == "print" else None
    # The attacker starts facing the camera and imitates each step, with a little shake.
    poses = [(rng.uniform(-3, 3), rng.uniform(-3, 3), 1.0)]
    for step in challenge:
        yaw, pitch, distance = plane_pose_for(step)
        poses.append((yaw * 0.6, pitch * 0.6, 1 - (1 - distance) * 0.6))
        poses.append((yaw + rng.uniform(-3, 3), pitch + rng.uniform(-3, 3), distance))
    poses.append((rng.uniform(-4, 4), rng.uniform(-4, 4), 1.0))
    device = as_screen(source) if kind == "screen" else None
    frames = []
    for i, (yaw, pitch, distance) in enumerate(poses):
        if kind == "screen":
            frame = glare(render_screen(device, yaw, pitch, distance, out_w, out_h, bg), 220 + 40 * i, 160 + 10 * i)
        else:
            frame = render(picture, homography(yaw, pitch, distance, picture.size[0], picture.size[1], out_w, out_h, 360), out_w, out_h, bg)
        frame = camera(frame, 0.6 if kind == "print" else 0.3, 2.0, rng.randint(0, 1 << 30))
        frames.append(jpeg_bytes(frame, 88))
    write(name, kind, challenge, frames, "%s attack from %s" % (kind, os.path.relpath(path, SHARED)))


def screen_replay(name, source_name, frames, challenge, draws):
    """The frames of a live burst shown one after another on a screen held before the camera."""
    out_w, out_h = 640, 480
    bg = background(out_w, out_h)
    yaw0, pitch0 = draws.uniform(-6, 6), draws.uniform(-4, 4)
    out = []
    for i, data in enumerate(frames):
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        if max(picture.size) > 640:
            picture.thumbnail((640, 640))
        yaw, pitch, distance = yaw0 + draws.uniform(-2, 2), pitch0 + draws.uniform(-2, 2), draws.uniform(0.97, 1.03)
        frame = glare(render_screen(as_screen(picture), yaw, pitch, distance, out_w, out_h, bg), 200 + 25 * i, 150 + 8 * i)
        out.append(jpeg_bytes(camera(frame, 0.3, 2.0, draws.randint(0, 1 << 30)), 88))
    write(name, "screen_replay", challenge, out, "%s played back on a screen" % source_name)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    made = live_sequences()
    fixture_burst("intel_female_headturn", "live", ["TURN_RIGHT"], reverse=True,
                  note="continuous head turn, played backwards: frontal, then to her right (faces ~40 px)")
    for folder in ["intel_male_still", "minivision_demo_live", "intel_two_faces_still"]:
        fixture_burst(folder, "live_still", ["TURN_LEFT", "TURN_RIGHT"], note="live, does not perform the challenge")
    fixture_burst("minivision_demo_print", "print", ["MOVE_CLOSER", "TURN_LEFT"], note="held print, fixture")
    fixture_burst("minivision_demo_screen", "screen", ["MOVE_CLOSER", "TURN_LEFT"], note="phone screen, fixture")

    for name, folder, first, second, frames, mirrored in made:
        others = [(a, b) for a in STEPS for b in STEPS if a != b and (a, b) != (first, second)]
        a, b = rng.choice(others)
        write(name.replace("live_", "replay_"), "replay", [a, b], frames, "exact frames of %s, new challenge" % name)
        frontal = frames[0]
        write(name.replace("live_", "order_"), "order", [first, second],
              [frontal] + steps_frames(folder, second, mirrored) + steps_frames(folder, first, mirrored),
              "steps of %s in reverse order" % name)

    sources = [os.path.join(FACES, "images", n) for n in sorted(os.listdir(os.path.join(FACES, "images")))]
    sources += [os.path.join(LIVE, f, "001.jpg") for f in ["aws_wall_pose", "aws_office_pose"]]
    for i, path in enumerate(sources):
        for kind in ["print", "screen"]:
            challenge = rng.sample(STEPS, 2)
            planar_attack("%s_%02d_%s" % (kind, i, os.path.splitext(os.path.basename(path))[0]), kind, path, challenge)
    # Live bursts played back on a screen (their own random draws: the sets above stay as they were).
    replays = random.Random(20261202)
    for name, folder, first, second, frames, mirrored in made:
        screen_replay(name.replace("live_", "screen_replay_"), name, frames, [first, second], replays)
    # Three-step bursts last, with their own draws: every set above stays as it was.
    three = random.Random(20261203)
    for name, folder, order, frames in live_three_step_sequences():
        reverse = frames[:1] + [three_step_frames(folder, step) for step in reversed(order)] + frames[-1:]
        write(name.replace("live3_", "order3_"), "order", order, reverse, "steps of %s in reverse order" % name)
        screen_replay(name.replace("live3_", "screen_replay3_"), name, frames, order, three)
    print("make-liveness-sequences: %d sequences in %s" % (len(os.listdir(OUT)), OUT))


main()
