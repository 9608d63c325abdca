/// A named half-open byte range of an image file (`start..<end`), for overlap checks.
///
/// A plain struct rather than a `(String, Range<UInt64>)` tuple: the generic tuple and range
/// types are instantiated by the runtime on first use, which costs a short-lived command
/// (`appattachctl stage`) more than the checks themselves.
struct NamedByteRange {
    let name: String
    let start: UInt64
    let end: UInt64

    init(_ name: String, _ start: UInt64, _ end: UInt64) {
        self.name = name
        self.start = start
        self.end = end
    }

    /// Whether `start..<end` shares a byte with this range (an empty range shares none).
    func overlaps(_ otherStart: UInt64, _ otherEnd: UInt64) -> Bool {
        start < end && otherStart < otherEnd && start < otherEnd && otherStart < end
    }
}
