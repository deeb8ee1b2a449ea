import SimverifyCore
import SimverifyWire

/// Which roles may call which method (DESIGN.md, invariant 6).
public enum MethodAuthorization {
    /// The roles allowed to call each method; a method not listed is allowed to nobody.
    public static let allowedRoles: [MethodID: Set<CallerRole>] = [
        .health: [.counter, .backend, .regulator, .operator],
        .startSession: [.counter, .backend],
        .verify: [.counter, .backend],
        .extractTemplate: [.backend],
        .checkFrame: [.counter, .backend],
        .getCheckpoint: [.regulator],
        .getEntries: [.regulator],
        .getInclusionProof: [.regulator],
        .getConsistencyProof: [.regulator],
        .stats: [.regulator],
        .lookupSubject: [.regulator],
    ]

    /// True when `role` may call `method`.
    public static func allows(_ role: CallerRole, _ method: MethodID) -> Bool {
        allowedRoles[method]?.contains(role) ?? false
    }
}
