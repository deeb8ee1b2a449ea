/// Maximum payload sizes, checked against the header before any payload byte is buffered.
public struct FrameLimits: Sendable, Hashable {
    /// Largest request payload of each method; a method not listed is unknown.
    public var requestPayload: [MethodID: Int]
    /// Largest response payload a client accepts.
    public var responsePayload: Int
    /// Largest error or goaway payload (a `Status`).
    public var statusPayload: Int

    /// Version 1's limits: Verify 24 MiB (32 frames and an ID photo), ExtractTemplate 4 MiB,
    /// CheckFrame 2 MiB (one frame), every other request 1 KiB; responses 4 MiB (a page of 1000 audit entries), status 4 KiB.
    public static let standard = FrameLimits(
        requestPayload: [
            .health: 1024, .startSession: 1024, .verify: 24 << 20, .extractTemplate: 4 << 20, .checkFrame: 2 << 20,
            .getCheckpoint: 1024,
            .getEntries: 1024, .getInclusionProof: 1024, .getConsistencyProof: 1024, .stats: 1024, .lookupSubject: 1024,
        ],
        responsePayload: 4 << 20,
        statusPayload: 4096
    )

    /// Creates limits.
    public init(requestPayload: [MethodID: Int], responsePayload: Int, statusPayload: Int) {
        self.requestPayload = requestPayload
        self.responsePayload = responsePayload
        self.statusPayload = statusPayload
    }

    /// The payload allowed for this header; ping and pong carry exactly 8 bytes, cancel none.
    /// - Throws: `FrameError` `.unknownMethod` for a request to a method not listed.
    public func maximumPayload(for header: FrameHeader) throws(FrameError) -> Int {
        switch header.type {
        case .request:
            guard let limit = self.requestPayload[header.method] else { throw FrameError(.unknownMethod) }
            return limit
        case .response: return self.responsePayload
        case .error, .goaway: return self.statusPayload
        case .ping, .pong: return 8
        case .cancel: return 0
        }
    }

    /// Checks a header against the limits and the control frames' rules.
    /// - Throws: `FrameError` `.unknownMethod` (a request, or a cancel naming a method, that is
    ///   not listed), `.payloadTooLarge`, or `.badControlFrame` (a deadline on anything but a
    ///   request, a method id on a ping, pong or goaway, a ping or pong under 8 bytes).
    public func validate(_ header: FrameHeader) throws(FrameError) {
        let limit = try self.maximumPayload(for: header)
        guard Int(header.payloadLength) <= limit else { throw FrameError(.payloadTooLarge) }
        guard header.type == .request || header.deadlineMilliseconds == 0 else { throw FrameError(.badControlFrame) }
        switch header.type {
        case .ping, .pong:
            guard header.payloadLength == 8, header.method.rawValue == 0 else { throw FrameError(.badControlFrame) }
        case .goaway:
            guard header.method.rawValue == 0 else { throw FrameError(.badControlFrame) }
        case .cancel:
            // A cancel names the method of the call it abandons, or 0.
            guard header.method.rawValue == 0 || self.requestPayload[header.method] != nil else {
                throw FrameError(.unknownMethod)
            }
        case .request, .response, .error:
            break
        }
    }
}
