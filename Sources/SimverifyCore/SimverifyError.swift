/// An error from the core module.
///
/// The code is opaque so that new codes do not break callers; the message is safe to show and
/// never holds an image byte, an embedding or a raw identifier.
public struct SimverifyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable machine-readable value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case fileUnreadable = "file_unreadable"
            case fileTooLarge = "file_too_large"
            case invalidArgument = "invalid_argument"
            case permissionDenied = "permission_denied"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A file could not be opened or read.
        public static let fileUnreadable = Code(.fileUnreadable)
        /// A file is larger than the caller allows.
        public static let fileTooLarge = Code(.fileTooLarge)
        /// An argument is outside its documented range.
        public static let invalidArgument = Code(.invalidArgument)
        /// The operating system refused what was asked (e.g. reading another process's memory).
        public static let permissionDenied = Code(.permissionDenied)

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
