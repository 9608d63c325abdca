import Foundation

/// A certificate authority made for a test with openssl, and signers it issues; packages are
/// signed with osslsigncode, an implementation of MSIX signing independent of ours.
public final class TestCA {
    public let dir = TestEnvironment.makeTemporaryDirectory("trust")
    public let name: String

    /// A root CA named `name` (in its own directory, `anchors/`, as an admin would keep it).
    public init(name: String = "appattach test root") throws {
        self.name = name
        try FileManager.default.createDirectory(atPath: dir + "/anchors", withIntermediateDirectories: true)
        try Self.sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/root.key",
                     "-out", dir + "/anchors/root.pem", "-days", "3650", "-subj", "/CN=\(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    public var anchors: String { dir + "/anchors" }

    /// Issues a signer certificate for `subject` (`/CN=awesomepublisher`) with the extensions
    /// given (`extendedKeyUsage=codeSigning` …); returns the paths of its certificate and key.
    public func issue(_ label: String, subject: String, extensions: [String] = ["keyUsage=critical,digitalSignature", "extendedKeyUsage=codeSigning"],
               ec: Bool = false, days: Int = 365) throws -> (certificate: String, key: String) {
        let base = dir + "/" + label
        let key = ec ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"]
        try Self.sh(["openssl", "req"] + key + ["-nodes", "-keyout", base + ".key", "-out", base + ".csr", "-subj", subject])
        try (["basicConstraints=CA:FALSE"] + extensions).joined(separator: "\n").appending("\n")
            .write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        try Self.sh(["openssl", "x509", "-req", "-in", base + ".csr", "-CA", anchors + "/root.pem", "-CAkey", dir + "/root.key",
                     "-CAcreateserial", "-CAserial", dir + "/root.srl", "-out", base + ".pem", "-days", "\(days)", "-extfile", base + ".ext"])
        return (base + ".pem", base + ".key")
    }

    /// `package` signed by `signer` with osslsigncode, written to `output`.
    public func sign(_ package: String, with signer: (certificate: String, key: String), to output: String) throws {
        try Self.sh(["osslsigncode", "sign", "-certs", signer.certificate, "-key", signer.key, "-in", package, "-out", output])
    }

    /// `package` signed by `signer` and timestamped by the time-stamping authority `tsa` (its
    /// certificate and key; osslsigncode's offline authority), written to `output`.
    public func sign(_ package: String, with signer: (certificate: String, key: String),
                     timestampedBy tsa: (certificate: String, key: String), to output: String) throws {
        try Self.sh(["osslsigncode", "sign", "-certs", signer.certificate, "-key", signer.key,
                     "-TSA-certs", tsa.certificate, "-TSA-key", tsa.key, "-in", package, "-out", output])
    }

    /// A time-stamping authority's certificate (extended key usage timeStamping, critical).
    public func issueTimeStampingAuthority(_ label: String) throws -> (certificate: String, key: String) {
        try issue(label, subject: "/CN=\(name) TSA", extensions: ["keyUsage=critical,digitalSignature", "extendedKeyUsage=critical,timeStamping"])
    }

    /// What osslsigncode says of `package` with this CA as the only trusted root.
    public func osslsigncodeVerifies(_ package: String) throws -> Bool {
        try TestEnvironment.run(["osslsigncode", "verify", "-CAfile", anchors + "/root.pem", "-ignore-crl", "-in", package]).status == 0
    }

    public static func sh(_ argv: [String]) throws {
        let result = try TestEnvironment.run(argv)
        guard result.status == 0 else { throw TestFailure("\(argv.joined(separator: " ")): \(result.output)") }
    }

    /// Whether osslsigncode here signs MSIX (APPX support came with its version 2.6).
    public static var canSignMSIX: Bool {
        guard TestEnvironment.hasTool("osslsigncode"), TestEnvironment.hasTool("openssl"),
              let result = try? TestEnvironment.run(["osslsigncode", "--version"]) else { return false }
        let version = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," }).first { $0.first?.isNumber == true } ?? ""
        let parts = version.split(separator: ".").compactMap { Int($0) }
        return parts.count >= 2 && (parts[0], parts[1]) >= (2, 6)
    }
}
