import AppData

/// What `appattachctl launch` hands the launcher (`appattach-launch`) on its command line: the
/// app, where its package is, the program to run and the app's arguments.
///
/// The command line is
/// `appattach-launch [--users-directory DIR] PackageFamilyName!AppId PACKAGE_PATH EXECUTABLE -- [ARGS...]`;
/// everything after `--` goes to the app untouched.
public struct LaunchRequest: Sendable, Equatable {
    /// The app's PackageFamilyName.
    public var packageFamilyName: String
    /// The app's id inside the package (`Application/@Id`).
    public var appId: String
    /// The package's root, `/run/appattach/packages/<PackageFullName>`.
    public var packagePath: String
    /// The program to run, relative to the package root.
    public var executable: String
    /// The app's arguments (what the desktop entry's `%U`/`%F` expanded to).
    public var arguments: [String]
    /// Where the users' layers are, `AppDataLayout.defaultUsersDirectory` unless a test says.
    public var usersDirectory: String

    /// A request for app `appUserModelId` (`PackageFamilyName!AppId`); checks every part.
    public init(appUserModelId: String, packagePath: String, executable: String, arguments: [String],
                usersDirectory: String = AppDataLayout.defaultUsersDirectory) throws(ContainerError) {
        guard let bang = appUserModelId.firstIndex(of: "!") else {
            throw ContainerError("\(appUserModelId): not an app id of the form PackageFamilyName!AppId")
        }
        let family = String(appUserModelId[..<bang])
        let app = String(appUserModelId[appUserModelId.index(after: bang)...])
        guard !family.isEmpty, !app.isEmpty, !app.contains("!") else {
            throw ContainerError("\(appUserModelId): not an app id of the form PackageFamilyName!AppId")
        }
        guard packagePath.hasPrefix("/") else { throw ContainerError("\(packagePath): the package path must be absolute") }
        guard Self.isInsidePackage(executable) else {
            throw ContainerError("\(executable): must be a path inside the package")
        }
        guard usersDirectory.hasPrefix("/") else { throw ContainerError("\(usersDirectory): must be an absolute path") }
        self.packageFamilyName = family
        self.appId = app
        self.packagePath = packagePath
        self.executable = executable
        self.arguments = arguments
        self.usersDirectory = usersDirectory
    }

    /// Reads the launcher's command line (without the program name).
    public init(commandLine: [String]) throws(ContainerError) {
        var rest = commandLine[...]
        var usersDirectory = AppDataLayout.defaultUsersDirectory
        if rest.first == "--users-directory" {
            rest = rest.dropFirst()
            guard let value = rest.popFirst() else { throw ContainerError("--users-directory needs a directory") }
            usersDirectory = value
        }
        guard rest.count >= 4, rest[rest.startIndex + 3] == "--" else {
            throw ContainerError("usage: appattach-launch [--users-directory DIR] PackageFamilyName!AppId PACKAGE_PATH EXECUTABLE -- [ARGS...]")
        }
        let words = Array(rest)
        try self.init(appUserModelId: words[0], packagePath: words[1], executable: words[2],
                      arguments: Array(words[4...]), usersDirectory: usersDirectory)
    }

    /// The app id as Windows and the agent write it: `PackageFamilyName!AppId`.
    public var appUserModelId: String { "\(packageFamilyName)!\(appId)" }

    /// The program's absolute path.
    public var program: String { packagePath + "/" + executable }

    /// The launcher's command line for this request (without the program name); the inverse of
    /// `init(commandLine:)`.
    public var commandLine: [String] {
        (usersDirectory == AppDataLayout.defaultUsersDirectory ? [] : ["--users-directory", usersDirectory])
            + [appUserModelId, packagePath, executable, "--"] + arguments
    }

    /// A relative path with no `..`, no empty and no `.` components.
    static func isInsidePackage(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.hasPrefix("/") && !parts.isEmpty && !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }
}
