/// What the policy's ID-card rules make of a set of cards: how many faces each shows, which count
/// (a ghost portrait does not: `MatchPolicy.idCardGhostShare`), and the capture refusals.
public struct IDCardCapture: Sendable, Hashable, Encodable {
    /// Cards analysed.
    public var cards: Int
    /// Cards by the number of faces found ("0", "1", "2", "3+").
    public var facesFound: [String: Int]
    /// Cards on which a smaller face was left out as a ghost portrait.
    public var ghostsLeftOut: Int
    /// Capture refusals under the policy: reason code to cards.
    public var refused: [String: Int]
    /// The median width of the portrait (the largest face), in pixels.
    public var medianPortraitWidth: Int?
    /// The policy's ghost share.
    public var ghostShare: Double

    /// `cards` holds, for each card, the box widths of every face found on it.
    public init(cards: [[Int]], policy: MatchPolicy) {
        var found: [String: Int] = [:]
        var refused: [String: Int] = [:]
        var ghosts = 0
        var widths: [Int] = []
        for faces in cards {
            found[faces.count >= 3 ? "3+" : String(faces.count), default: 0] += 1
            let sample = FaceSample(
                faceCount: faces.count,
                largestFaceWidth: faces.max() ?? 0,
                embedding: nil,
                faceWidths: faces
            )
            if faces.count > 1 && policy.countedFaces(idCard: sample) == 1 { ghosts += 1 }
            for reason in policy.captureProblems(idCard: sample) { refused[reason.rawValue, default: 0] += 1 }
            if let largest = faces.max() { widths.append(largest) }
        }
        widths.sort()
        self.cards = cards.count
        self.facesFound = found
        self.ghostsLeftOut = ghosts
        self.refused = refused
        self.medianPortraitWidth = widths.isEmpty ? nil : widths[widths.count / 2]
        self.ghostShare = policy.idCardGhostShare
    }

    /// One line, as `eval --first-kind id-card` prints it.
    public var text: String {
        let faces = self.facesFound.sorted { $0.key < $1.key }.map { "\($0.value) with \($0.key)" }.joined(
            separator: ", "
        )
        let refusals =
            self.refused.isEmpty
            ? "none" : self.refused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return
            "id cards: \(self.cards) (faces found: \(faces)); portrait width median \(self.medianPortraitWidth.map(String.init) ?? "n/a") px; "
            + "ghost portraits left out (narrower than \(MatchPolicy.text(threshold: self.ghostShare)) of the portrait): \(self.ghostsLeftOut); "
            + "refused at capture: \(refusals)"
    }
}
