/// What `PackagePacker` needs besides the directory: either a manifest to use as it is, or the
/// identity and entry point to write one. Fields left nil are taken from a `.desktop` file in
/// the directory when there is one.
public struct PackOptions: Sendable {
    /// A manifest file to use instead of generating one.
    public var manifestPath: String?
    /// Identity `Name`.
    public var name: String?
    /// Identity `Publisher`, a distinguished name such as `CN=Contoso`.
    public var publisher: String?
    /// Identity `Version`, four numbers.
    public var version: String?
    /// The program to run, relative to the directory.
    public var executable: String?
    /// The name shown in menus.
    public var displayName: String?
    /// `PublisherDisplayName`; defaults to the publisher's `CN`.
    public var publisherDisplayName: String?
    /// Identity `ProcessorArchitecture`.
    public var processorArchitecture: String
    /// Where MIME types are mapped to extensions.
    public var mimeGlobs: MimeGlobs?
    /// Signs the package as the last part (`AppxSignature.p7x`), when given.
    public var signer: (any PackageSigning)?

    public init(manifestPath: String? = nil, name: String? = nil, publisher: String? = nil, version: String? = nil,
                executable: String? = nil, displayName: String? = nil, publisherDisplayName: String? = nil,
                processorArchitecture: String = "neutral", mimeGlobs: MimeGlobs? = nil) {
        self.manifestPath = manifestPath
        self.name = name
        self.publisher = publisher
        self.version = version
        self.executable = executable
        self.displayName = displayName
        self.publisherDisplayName = publisherDisplayName
        self.processorArchitecture = processorArchitecture
        self.mimeGlobs = mimeGlobs
    }
}
