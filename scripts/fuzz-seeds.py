"""Writes the seed corpora under Fixtures/fuzz/ from the documented formats (docs/PROTOCOL.md,
docs/AUDIT.md) and synthetic images: nothing is copied from elsewhere. Deterministic."""
import base64
import hashlib
import io
import struct
import sys
from pathlib import Path

root = Path(sys.argv[1])


def write(target, name, data):
    folder = root / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def frame(ftype, method, cid, payload, deadline=0, magic=0x5356, version=1):
    return struct.pack(">HBBBBHIII", magic, version, ftype, 0, 0, method, cid, deadline, len(payload)) + payload


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


# Synthetic JPEGs (a gradient), via Pillow: baseline, progressive, greyscale, CMYK.
from PIL import Image  # noqa: E402
img = Image.new("RGB", (24, 16))
img.putdata([(x * 10, y * 15, (x + y) * 5) for y in range(16) for x in range(24)])
jpegs = {}
for name, kwargs, mode in [("baseline", {}, "RGB"), ("progressive", {"progressive": True}, "RGB"),
                           ("grey", {}, "L"), ("cmyk", {}, "CMYK")]:
    out = io.BytesIO()
    img.convert(mode).save(out, "JPEG", quality=80, **kwargs)
    jpegs[name] = out.getvalue()
    write("jpeg", f"seed-{name}.jpg", jpegs[name])
exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00"
write("jpeg", "seed-exif6.jpg", jpegs["baseline"][:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpegs["baseline"][2:])

# Frames.
write("frame", "seed-health.bin", frame(1, 1, 1, b""))
write("frame", "seed-ping-pong.bin", frame(5, 0, 7, b"12345678") + frame(6, 0, 7, b"12345678"))
write("frame", "seed-verify-cancel.bin", frame(1, 3, 2, b"\x0a\x01\x00", 5000) + frame(4, 3, 2, b""))
write("frame", "seed-bad-magic.bin", frame(1, 1, 1, b"", magic=0x4745))
write("frame", "seed-oversize.bin", struct.pack(">HBBBBHIII", 0x5356, 1, 1, 0, 0, 1, 1, 0, 1 << 30))

# Requests: VerifyRequest(id_card_image=1, selfie_frames=3, subject=5{national_id=1}, consent=6{given=1}).
consent = field(6, b"\x08\x01")
subject = field(5, field(1, b"900101-1234567"))
write("request", "seed-verify.bin", field(1, jpegs["baseline"]) + field(3, jpegs["grey"]) + subject + consent)
write("request", "seed-verify-template.bin", field(2, b"SVT1" + bytes(60)) + field(3, jpegs["baseline"]) + consent)
write("request", "seed-lookup.bin", field(1, b"900101-1234567"))
write("request", "seed-entries.bin", b"\x08\x05\x10\x0a")

# Audit records, canonical encoding v1 (docs/AUDIT.md).
def s(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def record(event=1, decision=1, reasons=(1,), distance=356, images=2, identifiers=(1, 2), detail=""):
    out = bytes([1]) + struct.pack(">Q", 1795000000) + bytes([event]) + s("carrier-a") + s("store-0001") + bytes([1, decision])
    out += bytes([len(reasons)]) + bytes(reasons) + struct.pack(">H", distance) + s("match-2026.11-1") + s("dlib")
    out += bytes([images]) + b"".join(bytes([1 + (i % 2)]) + hashlib.sha256(bytes([i])).digest() for i in range(images))
    out += bytes([len(identifiers)]) + b"".join(bytes([f]) + s(f"k{f}") + hashlib.sha256(bytes([f, 9])).digest() for f in identifiers)
    return out + s(detail)


write("record", "seed-verify.bin", record())
write("record", "seed-lookup.bin", record(event=5, decision=0, reasons=(), distance=0xFFFF, images=0, identifiers=(1,), detail="matches=2"))
write("record", "seed-retry.bin", record(decision=4, reasons=(3, 4), distance=0xFFFF, identifiers=()))

# Signed notes: our own Ed25519 key (the cryptography package), a checkpoint body, and a vkey.
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
name = "simverify.fuzz/log"
key_id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
body = f"{name}\n42\n{base64.b64encode(bytes(32)).decode()}\n".encode()
sig = base64.b64encode(key_id + key.sign(body)).decode()
write("note", "seed-checkpoint.note", body + b"\n\xe2\x80\x94 " + name.encode() + b" " + sig.encode() + b"\n")
write("note", "seed-two-signatures.note", body + b"\n\xe2\x80\x94 " + name.encode() + b" " + sig.encode() + b"\n\xe2\x80\x94 other " + sig.encode() + b"\n")
encoded_key = base64.b64encode(bytes([1]) + public).decode()
write("note", "seed-vkey.txt", f"{name}+{key_id.hex()}+{encoded_key}".encode())

# Session tokens (docs/PROTOCOL.md, StartSession): first byte 0 = the token's text, anything else =
# a payload the harness signs with its fuzzing key (32 bytes of 7, id "fuzz").
import hmac  # noqa: E402


def session_payload(kid=b"fuzz", issued=0, expires=120, attempts=3, steps=b"\x01\x04", tenant=b"carrier-a", terminal=b"store-0001"):
    return (bytes([1, len(kid)]) + kid + bytes(range(16)) + struct.pack(">QQ", issued, expires) + bytes([attempts, len(steps)])
            + steps + bytes([len(tenant)]) + tenant + bytes([len(terminal)]) + terminal)


write("session", "seed-signed-valid.bin", b"\x01" + session_payload())
write("session", "seed-signed-other-tenant.bin", b"\x01" + session_payload(tenant=b"carrier-b"))
write("session", "seed-signed-bad-step.bin", b"\x01" + session_payload(steps=b"\x09"))
write("session", "seed-signed-truncated.bin", b"\x01" + session_payload()[:30])
payload = session_payload()
tag = hmac.new(bytes([7] * 32), b"simverify-session-v1\x00" + payload, hashlib.sha256).digest()
write("session", "seed-text-valid.bin", b"\x00svs1." + base64.urlsafe_b64encode(payload + tag).rstrip(b"="))
write("session", "seed-text-garbage.bin", b"\x00svs1.@@@==")

# The counter agent's bodies (docs/COUNTER.md): "SVC1", u32 header length, header JSON, u32 ID-card
# length, ID card, u32 frame count, {u32 length, frame}; and a preview frame, one JPEG whole.
def upload(header, id_card, frames):
    out = b"SVC1" + struct.pack(">I", len(header)) + header + struct.pack(">I", len(id_card)) + id_card
    out += struct.pack(">I", len(frames))
    for f in frames:
        out += struct.pack(">I", len(f)) + f
    return out


header = b'{"sessionToken":"svs1.x","frameTimesMs":[0,200],"consentGiven":true,"consentTextVersion":"ko-1"}'
write("counter", "seed-upload.bin", upload(header, jpegs["baseline"], [jpegs["baseline"], jpegs["progressive"]]))
write("counter", "seed-upload-times-mismatch.bin", upload(header, jpegs["baseline"], [jpegs["baseline"]]))
write("counter", "seed-upload-not-jpeg.bin", upload(header, b"\x89PNG\r\n\x1a\n" + bytes(16), []))
write("counter", "seed-preview.jpg", jpegs["baseline"])
print(f"seeds written under {root}")
