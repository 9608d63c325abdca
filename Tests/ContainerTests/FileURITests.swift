import Container
import Testing

/// The file URIs a desktop passes (`%U`) become the paths an MSIX app expects; everything
/// else reaches the app as it came.
@Suite struct FileURITests {
    @Test("local file URIs become paths", arguments: [
        ("file:///home/alice/report.hello", "/home/alice/report.hello"),
        ("file:///home/alice/My%20Report%231.hello", "/home/alice/My Report#1.hello"),
        ("FILE://localhost/tmp/%C3%A9t%C3%A9.txt", "/tmp/été.txt"),
        ("file:///", "/"),
    ])
    func localFileURIs(_ uri: String, _ path: String) {
        #expect(FileURI.localPath(uri) == path)
    }

    @Test("anything else is left as it is", arguments: [
        "apnotes-open:x", "https://example.com/a%20b", "file://server/share/x", "/home/alice/a%20b", "report.hello",
        "file:///a%2", "file:///a%zz", "file:///a%00b", "file:///a?b", "file:///a#b", "file:///a%FFb", "file://", "file:relative",
    ])
    func othersUnchanged(_ argument: String) {
        #expect(FileURI.localPath(argument) == argument)
    }
}
