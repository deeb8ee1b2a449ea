/// What a caller may do, taken from its client certificate.
public enum CallerRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// A store-counter terminal: sessions and verifications.
    case counter
    /// A carrier backend: verifications and sealed templates, with scores.
    case backend
    /// A regulator: read-only access to the audit log.
    case regulator
    /// An operator: health and administration.
    case `operator`
}

/// Who is calling: tenant, role and (for counters) terminal, all from the client certificate.
public struct CallerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The carrier (or authority) the caller belongs to, e.g. "carrier-a".
    public var tenant: String
    /// What the caller may do.
    public var role: CallerRole
    /// The terminal, for counters, e.g. "store-0001".
    public var terminal: String?

    /// Creates an identity.
    /// - Throws: `SimverifyError` `.invalidArgument` unless tenant and terminal are 1-63 characters
    ///   of a-z, 0-9 and '-'.
    public init(tenant: String, role: CallerRole, terminal: String? = nil) throws {
        guard Self.isLabel(tenant), terminal.map(Self.isLabel) ?? true else {
            throw SimverifyError(.invalidArgument, "tenant and terminal are 1-63 characters of a-z, 0-9 and '-'")
        }
        self.tenant = tenant
        self.role = role
        self.terminal = terminal
    }

    /// True for 1-63 characters of a-z, 0-9 and '-', not starting with '-'.
    public static func isLabel(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (1...63).contains(bytes.count) && bytes.first != UInt8(ascii: "-")
            && bytes.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-")
            }
    }

    /// The URI carried in the certificate's subject alternative name:
    /// `simverify://TENANT/ROLE[/TERMINAL]`.
    public var uri: String {
        "simverify://\(self.tenant)/\(self.role.rawValue)" + (self.terminal.map { "/" + $0 } ?? "")
    }

    /// Parses `simverify://TENANT/ROLE[/TERMINAL]`.
    /// - Throws: `SimverifyError` `.invalidArgument` for anything else.
    public init(uri: String) throws {
        let prefix = "simverify://"
        guard uri.hasPrefix(prefix) else { throw SimverifyError(.invalidArgument, "not a simverify identity URI") }
        let parts = uri.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), let role = CallerRole(rawValue: parts[1]) else {
            throw SimverifyError(.invalidArgument, "identity URI must be simverify://TENANT/ROLE[/TERMINAL]")
        }
        try self.init(tenant: parts[0], role: role, terminal: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { self.uri }
}
