/// The package a host-pool entry provides, named by its PackageFamilyName (`Name_PublisherId`,
/// any version) or its PackageFullName (`Name_Version_Arch_ResourceId_PublisherId`, one version).
public struct PackageReference: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The family, which identifies the package across versions (and keys the user's app data).
    public let familyName: String
    /// The exact version's full name, when the entry names one.
    public let fullName: String?

    /// Parses `text`; nil when it is neither a family name nor a full name.
    public init?(_ text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 2:
            guard Self.isName(parts[0]), Self.isPublisherId(parts[1]) else { return nil }
            familyName = text
            fullName = nil
        case 5:
            guard Self.isName(parts[0]), Self.isVersion(parts[1]), Self.architectures.contains(parts[2]),
                  parts[3].isEmpty || (Self.isName(parts[3], lengths: 1...30)), Self.isPublisherId(parts[4])
            else { return nil }
            familyName = parts[0] + "_" + parts[4]
            fullName = text
        default:
            return nil
        }
    }

    public var description: String { fullName ?? familyName }

    /// Whether a staged package with this full name is the one this reference means.
    public func matches(fullName candidate: String) -> Bool {
        if let fullName { return candidate == fullName }
        guard let parsed = PackageReference(candidate) else { return false }
        return parsed.familyName == familyName
    }

    // The identity rules of the MSIX manifest schema (see formats.md §4).
    static let architectures: Set<String> = ["x86", "x64", "arm", "arm64", "x86a64", "neutral"]
    static let publisherIdAlphabet = Set("0123456789abcdefghjkmnpqrstvwxyz".unicodeScalars)

    static func isName(_ text: String, lengths: ClosedRange<Int> = 3...50) -> Bool {
        lengths.contains(text.count) && text.unicodeScalars.allSatisfy {
            $0.isASCII && (TableReader.isAlphanumeric($0) || $0 == "-" || $0 == ".")
        }
    }

    static func isPublisherId(_ text: String) -> Bool {
        text.count == 13 && text.unicodeScalars.allSatisfy { publisherIdAlphabet.contains($0) }
    }

    static func isVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy {
            !$0.isEmpty && $0.count <= 5 && $0.allSatisfy { $0.isASCII && $0.isNumber } && UInt16($0) != nil
        }
    }
}
