/// An error from the face engine: image decoding, models, or the worker pool.
///
/// The code is opaque so that new codes do not break callers. The message is safe to show: it
/// never holds an image byte, a pixel value, an embedding or an identifier. No face, several
/// faces or a mismatch are not errors; they are reported in a `FaceAnalysis`.
public struct FaceEngineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable machine-readable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyImage = "empty_image"
            case notJPEG = "not_jpeg"
            case truncatedImage = "truncated_image"
            case corruptImage = "corrupt_image"
            case unsupportedImage = "unsupported_image"
            case imageTooLarge = "image_too_large"
            case tooManyScans = "too_many_scans"
            case decoderMemoryLimit = "decoder_memory_limit"
            case modelMissing = "model_missing"
            case modelMismatch = "model_mismatch"
            case modelUnreadable = "model_unreadable"
            case overloaded = "overloaded"
            case shutDown = "shut_down"
            case invalidArgument = "invalid_argument"
            case internalError = "internal_error"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The image has no bytes.
        public static let emptyImage = Code(.emptyImage)
        /// The bytes are not a JPEG stream (PNG, text, anything else).
        public static let notJPEG = Code(.notJPEG)
        /// The JPEG stream ends before the image does.
        public static let truncatedImage = Code(.truncatedImage)
        /// The JPEG stream has bad markers, tables or entropy-coded data.
        public static let corruptImage = Code(.corruptImage)
        /// A valid JPEG the decoder refuses (12-bit, arithmetic coding, unusual colour).
        public static let unsupportedImage = Code(.unsupportedImage)
        /// The header declares more pixels than the configured limit; nothing was decoded.
        public static let imageTooLarge = Code(.imageTooLarge)
        /// A progressive JPEG with more scans than the configured limit.
        public static let tooManyScans = Code(.tooManyScans)
        /// Decoding would need more working memory than the configured limit.
        public static let decoderMemoryLimit = Code(.decoderMemoryLimit)
        /// A model file is not where the configuration says.
        public static let modelMissing = Code(.modelMissing)
        /// A model file's SHA-256 differs from the pinned one.
        public static let modelMismatch = Code(.modelMismatch)
        /// A model file could not be deserialised.
        public static let modelUnreadable = Code(.modelUnreadable)
        /// Every worker is busy and the queue is full: try again later.
        public static let overloaded = Code(.overloaded)
        /// The engine is shutting down.
        public static let shutDown = Code(.shutDown)
        /// An argument is outside its documented range.
        public static let invalidArgument = Code(.invalidArgument)
        /// dlib failed in an unexpected way.
        public static let internalError = Code(.internalError)

        public var description: String { self.base.rawValue }
    }

    /// The error's code.
    public let code: Code
    /// A message safe to show to an operator.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }
}
