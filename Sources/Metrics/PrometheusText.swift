/// Metrics in Prometheus' text exposition format (version 0.0.4), as node_exporter's textfile
/// collector reads them: each family once, with its `# HELP` and `# TYPE` lines, then its samples.
public struct PrometheusText: Sendable {
    /// A family's type, as its `# TYPE` line says.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    private(set) public var text = ""
    private var families: Set<String> = []

    public init() {}

    /// Starts the family `name`. Every sample of a family follows its start.
    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        precondition(Self.isValidName(name) && !families.contains(name), "metric family \(name)")
        families.insert(name)
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample of the family started last (or a histogram's `_bucket`, `_sum`, `_count`).
    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(Self.format(value))\n"
    }

    /// One sample without labels.
    public mutating func sample(_ name: String, _ value: Double) {
        sample(name, [], value)
    }

    /// A gauge or counter family of one sample without labels.
    public mutating func single(_ name: String, _ kind: Kind, help: String, _ value: Double) {
        family(name, kind, help: help)
        sample(name, value)
    }

    /// A histogram family from `histogram`'s buckets (cumulative, with `+Inf`), sum and count.
    public mutating func histogram(_ name: String, help: String, _ histogram: LatencyHistogram) {
        family(name, .histogram, help: help)
        var cumulative = 0
        for (bound, count) in zip(histogram.bounds, histogram.counts) {
            cumulative += count
            sample(name + "_bucket", [("le", Self.format(bound))], Double(cumulative))
        }
        sample(name + "_bucket", [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", histogram.sum)
        sample(name + "_count", Double(histogram.count))
    }

    /// Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == ":"
        }
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Help text escapes backslash and line feed.
    static func escapeHelp(_ value: String) -> String {
        value.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    /// Integers without a fraction, others as Swift prints them (which Prometheus parses).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
