import LinuxSystem

/// A package a home shows registered: what the agent's desktop entries in
/// `~/.local/share/applications` say (`X-AppAttach-Package`, `X-AppAttach-Registration`).
/// The agent reads it back when its state database was lost, so that the users signed in stay
/// registered (and are deregistered when they sign out).
public struct RegisteredPackage: Sendable, Equatable {
    /// The PackageFullName.
    public var fullName: String
    /// True when the entry was written by a complete registration (`regular`: at sign-in, or
    /// a delayed one completed by a launch); false for a delayed one not launched yet.
    public var complete: Bool

    public init(fullName: String, complete: Bool) {
        self.fullName = fullName
        self.complete = complete
    }

    /// The packages of `home`'s appattach desktop entries, each once, by name; read as the user
    /// on the `UserFiles` worker, without following links. An entry that is not a regular
    /// file, larger than 64 KiB or without the key is skipped; a package with a complete entry
    /// counts as complete.
    public static func scan(_ home: UserHome) throws -> [RegisteredPackage] {
        var found: [String: Bool] = [:]
        for name in try home.list(RegistrationLayout.applications) ?? []
        where name.hasPrefix(RegistrationLayout.prefix) && name.hasSuffix(".desktop") {
            guard let bytes = try home.readRegularFile(RegistrationLayout.applications + "/" + name, limit: 1 << 16),
                  let entry = parse(bytes) else { continue }
            found[entry.fullName] = (found[entry.fullName] ?? false) || entry.complete
        }
        return found.keys.sorted().map { RegisteredPackage(fullName: $0, complete: found[$0]!) }
    }

    /// The package and mode of one desktop entry's `[Desktop Entry]` group, nil without them.
    static func parse(_ bytes: [UInt8]) -> RegisteredPackage? {
        var fullName: String?
        var mode: String?
        var inEntry = false
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("[") { inEntry = line == "[Desktop Entry]"; continue }
            guard inEntry else { continue }
            if line.hasPrefix(packageKey + "=") { fullName = String(line.dropFirst(packageKey.count + 1)) }
            if line.hasPrefix(modeKey + "=") { mode = String(line.dropFirst(modeKey.count + 1)) }
        }
        guard let fullName, !fullName.isEmpty else { return nil }
        return RegisteredPackage(fullName: fullName, complete: mode == RegistrationMode.regular.rawValue)
    }

    /// The keys registration writes (`PlanBuilder.desktopEntry`).
    static let packageKey = "X-AppAttach-Package"
    static let modeKey = "X-AppAttach-Registration"
}
