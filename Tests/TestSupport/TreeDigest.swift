import Foundation

/// Independent views of package and tree contents, computed by Python's zipfile and hashlib
/// rather than by appattach's own code, so that tests compare against a second implementation.
public enum TreeDigest {
    /// name → SHA-256 of every entry of the ZIP at `path`, names percent-decoded,
    /// `[Content_Types].xml` left out (it is never unpacked), directory entries skipped.
    public static func ofPackage(_ path: String) throws -> [String: String] {
        try runPython("""
            import sys, json, zipfile, hashlib, urllib.parse
            z = zipfile.ZipFile(sys.argv[1])
            out = {}
            for i in z.infolist():
                if i.filename.endswith('/') or i.filename == '[Content_Types].xml':
                    continue
                out[urllib.parse.unquote(i.filename)] = hashlib.sha256(z.read(i)).hexdigest()
            print(json.dumps(out))
            """, path)
    }

    /// relative path → SHA-256 of every regular file below `directory`.
    public static func ofDirectory(_ directory: String) throws -> [String: String] {
        try runPython("""
            import sys, os, json, hashlib
            root = sys.argv[1]
            out = {}
            for d, _, files in os.walk(root):
                for f in files:
                    p = os.path.join(d, f)
                    with open(p, 'rb') as fh:
                        out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
            print(json.dumps(out))
            """, directory)
    }

    private static func runPython(_ script: String, _ argument: String) throws -> [String: String] {
        let (status, output) = try TestEnvironment.run(["python3", "-c", script, argument])
        guard status == 0, let data = output.data(using: .utf8),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw TestFailure("python3 failed on \(argument): \(output)")
        }
        return json
    }
}

/// A failure inside a test helper, with its message.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
