import MSIX
import Testing

@Suite struct PublisherIdTests {
    @Test(arguments: [
        ("CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US", "8wekyb3d8bbwe"),
        ("CN=Microsoft Corporation2, O=Microsoft Corporation2, L=Redmond2, S=Washington, C=US2", "4395hyxtvknyy"),
        ("CN=Microsoft Windows, O=Microsoft Corporation, L=Redmond, S=Washington, C=US", "cw5n1h2txyewy"),
        ("CN=HelloWorldPublisher", "vszhfztff4j74"),
        ("CN=awesomepublisher", "s7d21py8hx46g"),
    ])
    func publisherIdMatchesKnownVector(publisher: String, expected: String) {
        #expect(PublisherId.of(publisher) == expected)
    }

    @Test func fullNameFollowsTheDocumentedVector() {
        let identity = PackageIdentity(name: "SampleAppManifest",
                                       publisher: "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
                                       version: "3.6.25071.0", processorArchitecture: "x64", resourceId: "NorthAmerica")
        #expect(identity.fullName == "SampleAppManifest_3.6.25071.0_x64_NorthAmerica_8wekyb3d8bbwe")
        #expect(identity.familyName == "SampleAppManifest_8wekyb3d8bbwe")
    }

    @Test(arguments: [
        ("ab", "1.0.0.0", "neutral"), ("has space", "1.0.0.0", "neutral"), ("Good.Name", "1.0.0", "neutral"),
        ("Good.Name", "1.0.0.70000", "neutral"), ("Good.Name", "1.0.0.-1", "neutral"), ("Good.Name", "1.0.0.0", "sparc"),
        (String(repeating: "a", count: 51), "1.0.0.0", "neutral"),
    ])
    func invalidIdentityIsRefused(name: String, version: String, arch: String) {
        let identity = PackageIdentity(name: name, publisher: "CN=x", version: version, processorArchitecture: arch)
        #expect(throws: MSIXError.self) { try identity.validate() }
    }

    @Test func validIdentityPasses() throws {
        try PackageIdentity(name: "Contoso.App-1", publisher: "CN=Contoso", version: "65535.0.1.2", processorArchitecture: "arm64").validate()
    }
}
