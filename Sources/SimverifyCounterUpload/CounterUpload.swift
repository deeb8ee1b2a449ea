import Foundation
import HTTPTypes
import NIOCore
import SimverifyClient
import SimverifyCore

#if canImport(Glibc)
import Glibc
#endif

/// A refusal of the agent's own (the page's request was wrong, or simverify answered with an
/// error): an HTTP status and a stable code the page maps to its message. Never carries an image
/// byte, a token or an identifier.
package struct CounterError: Error, Sendable {
    package var status: HTTPResponse.Status
    /// Stable, documented in docs/COUNTER.md.
    package var code: String
    /// Safe to show.
    package var message: String

    package init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// simverify's refusal or an unreachable server, as the page sees it.
    package init(_ error: SimverifyClientError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .unavailable: .serviceUnavailable
            case .invalidArgument, .outOfRange: .badRequest
            case .failedPrecondition, .aborted, .alreadyExists: .conflict
            case .resourceExhausted: .tooManyRequests
            case .permissionDenied, .unauthenticated: .forbidden
            case .deadlineExceeded: .gatewayTimeout
            default: .badGateway
            }
        // The server's own reason when it gave one (e.g. `id_card_image.not_jpeg`, `session_expired`).
        let reason = error.reason.rawValue.isEmpty ? error.code.rawValue : error.reason.rawValue
        self.init(status, error.code == .unavailable ? "server_unavailable" : reason, error.message)
    }
}

/// The body of `POST /api/verify` (docs/COUNTER.md): the page's capture in one binary body, so
/// that no image is ever a string (base64 in JSON would leave copies the agent cannot zero).
///
///     "SVC1"  u32 header length  header (JSON)  u32 ID-card length  ID card (JPEG)
///     u32 frame count  { u32 length  frame (JPEG) } ...
///
/// Integers are big-endian. Every image is copied into a `ZeroizingBuffer`, then the received
/// body is zeroed.
package struct CounterUpload {
    /// The JSON part.
    package struct Header: Decodable {
        package var sessionToken: String
        package var frameTimesMs: [UInt32]
        package var consentGiven: Bool
        package var consentTextVersion: String
        package var msisdn: String?
    }

    /// The largest body: simverify's own Verify limit (docs/PROTOCOL.md, 24 MiB) and its header.
    package static let maximumBody = (24 << 20) + (64 << 10)
    /// The largest ID-card scan the agent forwards.
    package static let maximumIDCard = 8 << 20
    /// The largest frame.
    package static let maximumFrame = 2 << 20
    /// More frames than any policy takes (the server refuses over its own limit, 32 by default).
    package static let maximumFrames = 64

    package var header: Header
    package var idCard: ZeroizingBuffer
    package var frames: [ZeroizingBuffer]

    /// Reads a body and zeroes it.
    /// - Throws: `CounterError` (`bad_upload`, `id_card_too_large`, `id_card_not_jpeg`,
    ///   `frame_too_large`, `frame_not_jpeg`, `too_many_frames`).
    package init(consuming body: inout ByteBuffer) throws(CounterError) {
        defer { Self.zero(body) }
        var reader = body
        func bad(_ what: String) -> CounterError {
            CounterError(.badRequest, "bad_upload", "the upload is malformed: \(what)")
        }
        guard reader.readString(length: 4) == "SVC1" else { throw bad("no SVC1 mark") }
        guard let headerLength = reader.readInteger(as: UInt32.self), headerLength <= 64 << 10,
            let headerBytes = reader.readBytes(length: Int(headerLength))
        else { throw bad("the header") }
        do {
            self.header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
        } catch {
            throw bad("the header is not the expected JSON")
        }
        guard let idLength = reader.readInteger(as: UInt32.self) else { throw bad("the ID card's length") }
        guard idLength <= Self.maximumIDCard else {
            throw CounterError(
                .contentTooLarge,
                "id_card_too_large",
                "the ID-card scan is \(idLength) bytes, over the limit of \(Self.maximumIDCard)"
            )
        }
        self.idCard = try Self.jpeg(
            &reader,
            length: Int(idLength),
            notJPEG: "id_card_not_jpeg",
            what: "the ID-card scan"
        )
        guard let count = reader.readInteger(as: UInt32.self) else { throw bad("the frame count") }
        guard count <= Self.maximumFrames else {
            throw CounterError(
                .badRequest,
                "too_many_frames",
                "\(count) frames, over the agent's limit of \(Self.maximumFrames)"
            )
        }
        var frames: [ZeroizingBuffer] = []
        for index in 0..<Int(count) {
            guard let length = reader.readInteger(as: UInt32.self) else { throw bad("frame \(index)'s length") }
            guard length <= Self.maximumFrame else {
                throw CounterError(
                    .contentTooLarge,
                    "frame_too_large",
                    "frame \(index) is over \(Self.maximumFrame) bytes"
                )
            }
            frames.append(
                try Self.jpeg(&reader, length: Int(length), notJPEG: "frame_not_jpeg", what: "frame \(index)")
            )
        }
        guard reader.readableBytes == 0 else { throw bad("bytes after the last frame") }
        guard frames.count == self.header.frameTimesMs.count else {
            throw bad("\(frames.count) frames but \(self.header.frameTimesMs.count) capture times")
        }
        self.frames = frames
    }

    /// The body of `POST /api/check`: one JPEG frame, whole, copied into a zeroizing buffer; the
    /// received body is zeroed.
    /// - Throws: `CounterError` (`bad_upload`, `frame_too_large`, `frame_not_jpeg`).
    package static func previewFrame(consuming body: inout ByteBuffer) throws(CounterError) -> ZeroizingBuffer {
        defer { Self.zero(body) }
        guard body.readableBytes <= Self.maximumFrame else {
            throw CounterError(.contentTooLarge, "frame_too_large", "the frame is over \(Self.maximumFrame) bytes")
        }
        var reader = body
        return try Self.jpeg(&reader, length: reader.readableBytes, notJPEG: "frame_not_jpeg", what: "the frame")
    }

    /// Overwrites the received bytes in place. Deliberately through the read-only view: the
    /// storage may be shared (a reader's copy, the HTTP layer's collected body), and a mutable
    /// access would then copy it (copy-on-write) and zero the copy, leaving the images in the
    /// original; this writes where the bytes are.
    static func zero(_ body: ByteBuffer) {
        body.withUnsafeReadableBytes { bytes in
            if let base = bytes.baseAddress { explicit_bzero(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        }
    }

    /// The next `length` bytes, which must start like a JPEG, in a zeroizing buffer.
    private static func jpeg(
        _ reader: inout ByteBuffer,
        length: Int,
        notJPEG: String,
        what: String
    ) throws(CounterError) -> ZeroizingBuffer {
        guard length > 0, reader.readableBytes >= length else {
            throw CounterError(.badRequest, "bad_upload", "the upload is malformed: \(what) is empty or cut short")
        }
        let buffer = reader.withUnsafeReadableBytes { bytes in
            ZeroizingBuffer(copying: UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
        }
        reader.moveReaderIndex(forwardBy: length)
        let isJPEG = buffer.withUnsafeBytes { $0.count >= 3 && $0[0] == 0xFF && $0[1] == 0xD8 && $0[2] == 0xFF }
        guard isJPEG else { throw CounterError(.unsupportedMediaType, notJPEG, "\(what) is not a JPEG") }
        return buffer
    }

    /// The call simverify receives.
    package var request: VerificationRequest {
        var request = VerificationRequest(
            idCardImage: self.idCard,
            selfieFrames: self.frames,
            subject: SubjectReferences(msisdn: self.header.msisdn ?? ""),
            consentGiven: self.header.consentGiven,
            consentTextVersion: self.header.consentTextVersion,
            sessionToken: self.header.sessionToken
        )
        request.frameTimesMilliseconds = self.header.frameTimesMs
        return request
    }
}
