/// The median of a set of values (the mean of the two middle ones for an even count); nil when
/// there are none. The one median of the project: the liveness cues, the tools and the reports.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// The nearest-rank `p`-quantile (0...1) of a non-empty set of values.
public func percentile(_ values: [Double], _ p: Double) -> Double {
    precondition(!values.isEmpty, "the percentile of no values")
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * max(0, min(1, p))).rounded()))]
}
