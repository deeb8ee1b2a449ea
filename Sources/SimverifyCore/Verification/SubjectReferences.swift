/// Identifiers of the person registering: national ID number, phone number, SIM serial.
///
/// Personal data: sent to the server, hashed there with per-field keys, never stored or logged
/// raw. `description` prints no value.
public struct SubjectReferences: Sendable, Hashable, CustomStringConvertible {
    /// National ID number.
    public var nationalID: String
    /// The phone number (MSISDN) being registered.
    public var msisdn: String
    /// The SIM card's serial number (ICCID).
    public var iccid: String

    /// Creates references; empty strings mean "not given".
    public init(nationalID: String = "", msisdn: String = "", iccid: String = "") {
        self.nationalID = nationalID
        self.msisdn = msisdn
        self.iccid = iccid
    }

    public var description: String { "SubjectReferences(redacted)" }
}
