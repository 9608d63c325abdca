import Glibc

/// Finds a program of appattach installed with the running one: `$<environmentVariable>`
/// when set; else beside the running executable (`/usr/bin/x` for `/usr/bin/appattachctl`);
/// else `../libexec/appattach/x` from there.
public struct CompanionProgram: Sendable {
    /// The program's file name, such as `appattach-launch`.
    public let name: String
    /// The environment variable that overrides the search.
    public let environmentVariable: String

    public init(name: String, environmentVariable: String) {
        self.name = name
        self.environmentVariable = environmentVariable
    }

    /// The places searched, in order, for a process whose executable is `executablePath`.
    public func candidates(executablePath: String, override: String?) -> [String] {
        if let override, !override.isEmpty { return [override] }
        let slash = executablePath.lastIndex(of: "/").map { executablePath[..<$0] } ?? "."
        let directory = slash.isEmpty ? "/" : String(slash)
        let parent = directory.lastIndex(of: "/").map { String(directory[..<$0]) } ?? ".."
        return [directory + "/" + name, parent + "/libexec/appattach/" + name]
    }

    /// The first candidate that is an executable regular file, or every place looked at.
    public func find() -> Result<String, PlacesSearched> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/usr/bin/appattachctl"
        let override = getenv(environmentVariable).map { String(cString: $0) }
        let places = candidates(executablePath: executable, override: override)
        for place in places {
            var st = stat()
            if stat(place, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(place, X_OK) == 0 { return .success(place) }
        }
        return .failure(PlacesSearched(places: places))
    }

    /// Where a program was looked for and not found.
    public struct PlacesSearched: Error {
        public let places: [String]
    }
}
