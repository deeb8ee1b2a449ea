import Foundation
import NIOCore
import SimverifyAudit
import SimverifyCore
import SimverifyCounterUpload
import SimverifyFaceEngine
import SimverifyServer
import SimverifyWire

/// The fuzz targets: each takes arbitrary bytes and must return without crashing, hanging or
/// growing memory without bound. The libFuzzer harnesses in Fuzz/ call these; the test suite runs
/// every input kept under Fixtures/fuzz/ through them (seeds and past crashes).
public enum FuzzTargets {
    /// The targets by name (the folder under Fixtures/fuzz and the harness's name).
    public static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "frame": frameDecoder, "request": requestValidation, "jpeg": jpegDecoder, "record": auditRecord,
        "note": signedNote,
        "session": sessionToken, "counter": counterUpload,
    ]

    static let sessionKey = try! IdentifierKeyring.Key(id: "fuzz", secret: Array(repeating: 7, count: 32))
    static let sessionCaller = try! CallerIdentity(tenant: "carrier-a", role: .counter, terminal: "store-0001")

    /// Parses the bytes as a session token: first byte 0, the rest as the token's text; any
    /// other first byte, the rest as a payload signed with the fuzzing key, so the parser behind
    /// the MAC is reached too.
    public static func sessionToken(_ data: UnsafeRawBufferPointer) {
        guard let mode = data.first else { return }
        let rest = Array(data.dropFirst())
        let token =
            mode == 0
            ? String(decoding: rest, as: UTF8.self) : SessionTokens.signed(payload: rest, key: Self.sessionKey)
        let tokens = SessionTokens(keys: [Self.sessionKey])
        if let claims = try? tokens.open(token, caller: Self.sessionCaller, now: Date(timeIntervalSince1970: 0)) {
            precondition(
                claims.nonce.count == 16 && claims.tenant == "carrier-a",
                "a token opened with the wrong claims"
            )
        }
    }

    /// Feeds the bytes to the frame decoder in chunks whose sizes come from the data itself.
    public static func frameDecoder(_ data: UnsafeRawBufferPointer) {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer()
        var offset = 0
        var step = 1
        while offset < data.count {
            let take = min(step, data.count - offset)
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: data[offset..<(offset + take)]))
            offset += take
            step = Int(data[offset - 1] % 64) + 1
            do {
                while let frame = try decoder.decodeFrame(from: &buffer) {
                    precondition(frame.payload.readableBytes == Int(frame.header.payloadLength))
                    _ = frame.header.type
                }
            } catch {
                return  // a protocol error ends the connection: nothing more is read
            }
            buffer.discardReadBytes()
        }
    }

    /// Decodes and validates the bytes as each method's request payload.
    public static func requestValidation(_ data: UnsafeRawBufferPointer) {
        let payload = ByteBuffer(bytes: data)
        for method in [MethodID.verify, .extractTemplate, .checkFrame, .health, .getEntries, .lookupSubject] {
            if let status = Router.validate(method: method, payload: payload) {
                precondition(status.code != .internal, "validation failed unexpectedly")
            }
        }
    }

    /// Parses the bytes as the counter agent's two bodies (a Verify upload, a preview frame):
    /// only its typed errors may come out, and the received bytes must be zeroed either way.
    public static func counterUpload(_ data: UnsafeRawBufferPointer) {
        // A second reference to each body's storage, as the HTTP layer may hold: the zeroing must
        // reach these bytes, not a copy-on-write copy of them.
        var body = ByteBuffer(bytes: data)
        let received = body
        if let upload = try? CounterUpload(consuming: &body) {
            precondition(upload.frames.count == upload.header.frameTimesMs.count, "frames without their times")
        }
        precondition(received.readableBytesView.allSatisfy { $0 == 0 }, "the upload was not zeroed")
        var frame = ByteBuffer(bytes: data)
        let receivedFrame = frame
        if let copy = try? CounterUpload.previewFrame(consuming: &frame) {
            precondition(copy.count == data.count, "the preview frame was not copied whole")
        }
        precondition(receivedFrame.readableBytesView.allSatisfy { $0 == 0 }, "the preview frame was not zeroed")
    }

    /// Decodes the bytes as a JPEG under small limits.
    public static func jpegDecoder(_ data: UnsafeRawBufferPointer) {
        let decoder = JPEGDecoder(
            limits: .init(maxPixels: 1 << 20, maxDecodedLongSide: 1024, maxScans: 64, maxDecoderMemory: 32 << 20)
        )
        if let image = try? decoder.decode(data) {
            precondition(image.pixels.count == image.width * image.height * 3)
        }
        _ = EXIFOrientation.read(fromJPEG: data)
    }

    /// Decodes the bytes as an audit record; a record that decodes must re-encode to the same bytes.
    public static func auditRecord(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        if let record = try? AuditRecord(encoded: bytes) {
            precondition((try? record.encoded()) == bytes, "a decodable record is not canonical")
        }
    }

    /// Parses the bytes as a signed note, a checkpoint body and a verifier key.
    public static func signedNote(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        if let note = try? SignedNote(parsing: bytes) {
            precondition(note.signatures.count <= SignedNote.maxSignatures)
            _ = try? Checkpoint(body: note.text)
        }
        _ = try? Checkpoint(body: bytes)
        _ = try? NoteVerifier(vkey: String(decoding: bytes, as: UTF8.self))
        _ = try? SignedNote.open(bytes, verifiers: [Self.verifier])
    }

    private static let verifier = try! NoteVerifier(
        vkey: "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
}
