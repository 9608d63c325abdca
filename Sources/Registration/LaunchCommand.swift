/// How registration files start an app: always through `appattachctl launch`, which runs
/// the app in its container and, for a delayed registration, completes it on first run.
///
/// Forms written:
///  - menu entry: `appattachctl launch <PFN>!<AppId> %U`
///  - startup task and alias whose program is not the app's own:
///    `appattachctl launch --executable <path in package> <PFN>!<AppId>`
public struct LaunchCommand: Sendable, Equatable {
    /// The program, by name (found on PATH) or absolute path.
    public var program: String

    public init(program: String = "appattachctl") {
        self.program = program
    }

    /// The arguments after the program for app `aumid`, starting `executable` when given.
    func arguments(_ aumid: String, executable: String? = nil) -> [String] {
        ["launch"] + (executable.map { ["--executable", $0] } ?? []) + [aumid]
    }

    /// A desktop entry `Exec=` value: arguments quoted as the spec asks, then string-escaped
    /// (backslashes doubled, a line break written `\n`), so no word can end the line.
    func desktopExec(_ aumid: String, executable: String? = nil, fieldCode: String? = nil) -> String {
        let words = ([program] + arguments(aumid, executable: executable)).map(Self.quoteForExec) + (fieldCode.map { [$0] } ?? [])
        return DesktopEntryText.escape(words.joined(separator: " "))
    }

    /// A POSIX shell command line that passes the script's arguments on.
    func shellCommand(_ aumid: String, executable: String? = nil) -> String {
        "exec " + ([program] + arguments(aumid, executable: executable)).map(Self.quoteForShell).joined(separator: " ") + " \"$@\""
    }

    /// Exec's reserved characters put an argument in double quotes, inside which `"`, `` ` ``,
    /// `$` and `\` are backslash-escaped; `%` is doubled so it is never a field code.
    static func quoteForExec(_ word: String) -> String {
        let word = word.replacingOccurrences(of: "%", with: "%%")
        let reserved = " \t\n\"'\\><~|&;$*?#()`"
        guard word.isEmpty || word.contains(where: { reserved.contains($0) }) else { return word }
        var out = "\""
        for c in word {
            if "\"`$\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// Single quotes, with `'` written as `'\''`.
    static func quoteForShell(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
