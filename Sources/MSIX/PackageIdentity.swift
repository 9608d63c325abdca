/// Who a package is: the `<Identity>` element of its manifest, and the names derived from it.
///
/// `fullName` (`Name_Version_Arch_ResourceId_PublisherId`) names one version, for folders and
/// mount points; `familyName` (`Name_PublisherId`) names the package across versions, for user
/// data and registrations.
public struct PackageIdentity: Codable, Sendable, Equatable {
    /// `Name`: 3 to 50 characters from `A-Z a-z 0-9 - .`.
    public var name: String
    /// `Publisher`: the signer's distinguished name, such as `CN=Contoso`.
    public var publisher: String
    /// `Version`: four numbers from 0 to 65535, `1.2.0.0`.
    public var version: String
    /// `ProcessorArchitecture`: `x86`, `x64`, `arm`, `arm64`, `x86a64` or `neutral` (the default).
    public var processorArchitecture: String
    /// `ResourceId`: empty for most packages.
    public var resourceId: String

    /// The architectures a manifest may name.
    public static let architectures: Set<String> = ["x86", "x64", "arm", "arm64", "x86a64", "neutral"]

    public init(name: String, publisher: String, version: String,
                processorArchitecture: String = "neutral", resourceId: String = "") {
        self.name = name
        self.publisher = publisher
        self.version = version
        self.processorArchitecture = processorArchitecture
        self.resourceId = resourceId
    }

    /// The 13-character id derived from `publisher`.
    public var publisherId: String { PublisherId.of(publisher) }

    /// `Name_PublisherId`.
    public var familyName: String { "\(name)_\(publisherId)" }

    /// `Name_Version_Arch_ResourceId_PublisherId`; an empty ResourceId leaves `__`.
    public var fullName: String { "\(name)_\(version)_\(processorArchitecture)_\(resourceId)_\(publisherId)" }

    /// Checks every field against the manifest schema's rules; the error names the field.
    public func validate() throws(MSIXError) {
        if let problem = Self.nameProblem(name, field: "Name", lengths: 3...50) { throw MSIXError(.invalidIdentity, problem) }
        if !resourceId.isEmpty, let problem = Self.nameProblem(resourceId, field: "ResourceId", lengths: 1...30) {
            throw MSIXError(.invalidIdentity, problem)
        }
        if let problem = DistinguishedName.problem(publisher) {
            throw MSIXError(.invalidIdentity, "Identity Publisher \(ManifestText.shown(publisher)) \(problem)")
        }
        if Self.versionParts(version) == nil {
            throw MSIXError(.invalidIdentity, "Identity Version '\(version)' is not four numbers from 0 to 65535 (like 1.0.0.0)")
        }
        if !Self.architectures.contains(processorArchitecture) {
            throw MSIXError(.invalidIdentity, "Identity ProcessorArchitecture '\(processorArchitecture)' is not one of \(Self.architectures.sorted().joined(separator: ", "))")
        }
    }

    /// The four numbers of a version such as `1.2.3.4`, or nil when it is not one.
    public static func versionParts(_ version: String) -> [UInt16]? {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var numbers: [UInt16] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 5, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt16(part) else { return nil }
            numbers.append(value)
        }
        return numbers
    }

    /// Why `value` is not a Name (ST_PackageName) or ResourceId: the allowed characters and
    /// lengths, and no reserved device name such as `CON`; nil when it is fine.
    static func nameProblem(_ value: String, field: String, lengths: ClosedRange<Int>) -> String? {
        let allowed = value.unicodeScalars.allSatisfy {
            $0.isASCII && (ASCII.isAlphanumeric($0) || $0 == "-" || $0 == ".")
        }
        if !allowed || !lengths.contains(value.unicodeScalars.count) {
            return "Identity \(field) \(ManifestText.shown(value)) must be \(lengths.lowerBound) to \(lengths.upperBound) characters from A-Z a-z 0-9 - ."
        }
        let stem = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? value
        if ManifestRules.reservedNames.contains(stem.uppercased()) {
            return "Identity \(field) \(ManifestText.shown(value)) is a reserved device name"
        }
        return nil
    }
}

/// ASCII character classes, which identity and part name rules are written in.
enum ASCII {
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || ("0"..."9").contains(scalar)
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
