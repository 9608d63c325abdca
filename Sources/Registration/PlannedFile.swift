/// One file a registration wants in a home.
public struct PlannedFile: Sendable, Equatable {
    /// How appattach recognises the file as its own when it meets it again.
    public enum Ownership: Sendable, Equatable {
        /// The name starts with `appattach-<PFN>-`.
        case namePrefix
        /// The name is the user's choice (an execution alias); the file is ours only when its
        /// second line is this marker. A file there without it is the user's and stays.
        case marker(String)
    }

    /// Relative to the home: `.local/share/applications/appattach-…desktop`.
    public var path: String
    public var contents: [UInt8]
    /// Permission bits.
    public var mode: UInt32
    public var area: RegistrationArea
    public var ownership: Ownership

    public init(path: String, contents: [UInt8], mode: UInt32 = 0o644, area: RegistrationArea, ownership: Ownership = .namePrefix) {
        self.path = path
        self.contents = contents
        self.mode = mode
        self.area = area
        self.ownership = ownership
    }

    /// The contents as text, for tests and logs.
    public var text: String { String(decoding: contents, as: UTF8.self) }

    /// The file's name, without its directory.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }
}
