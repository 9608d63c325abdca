/// The data string of an overlay mount made by an ordinary user in their own user namespace:
/// `lowerdir=…,upperdir=…,workdir=…,userxattr` (`userxattr`: overlayfs keeps its metadata in
/// `user.overlay.*` extended attributes, the only ones an unprivileged mount may write).
public struct OverlayOptions: Sendable, Equatable {
    /// The directory whose files are read (the user's real one).
    public var lower: String
    /// Where writes land (in the layer).
    public var upper: String
    /// overlayfs's scratch directory, on the same file system as `upper`.
    public var work: String

    /// Options for one overlay.
    public init(lower: String, upper: String, work: String) {
        self.lower = lower
        self.upper = upper
        self.work = work
    }

    /// The mount data. Paths that overlayfs would split (a `,` or `:`) or unescape (a `\`), or
    /// that are not absolute, are refused rather than escaped, so what is mounted is exactly
    /// what was asked for.
    public func mountData() throws(ContainerError) -> String {
        for path in [lower, upper, work] {
            guard path.hasPrefix("/") else { throw ContainerError("\(path): overlay directories must be absolute") }
            if let bad = path.first(where: { $0 == "," || $0 == ":" || $0 == "\\" || $0.isNewline }) {
                throw ContainerError("\(path): contains '\(bad.isNewline ? "\\n" : String(bad))', which an overlay mount cannot take")
            }
        }
        return "lowerdir=\(lower),upperdir=\(upper),workdir=\(work),userxattr"
    }
}
