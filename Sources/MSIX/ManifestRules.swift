/// The MSIX manifest schema's rules for the values that reach a host: names, ids, paths,
/// extensions, protocols and display strings, each checked as `AppxManifestTypes.xsd` defines
/// it (with the few freedoms a Linux package needs, such as an executable without `.exe`).
///
/// A package is written by whoever packaged it, so every value is hostile until checked here:
/// a newline in an app id would become a line of its own in a desktop entry, a `..` in an
/// executable would point outside the package, a `/` in an alias would name a file outside
/// `~/.local/bin`. `AppxManifest.parse` applies these rules, so `pack`, `verify`, `expand`,
/// `inspect` and the agent refuse the same manifests, each with one line that names the
/// element and what is wrong.
enum ManifestRules {
    /// The schema's limit on applications in one package (`<Application maxOccurs="100">`).
    static let maximumApplications = 100

    /// Checks everything `manifest` says that a host uses; the first problem is thrown.
    static func check(_ manifest: AppxManifest) throws(MSIXError) {
        let properties = manifest.properties
        try displayText(properties.displayName, "<Properties><DisplayName>", required: true)
        try displayText(properties.publisherDisplayName, "<Properties><PublisherDisplayName>", required: true)
        try displayText(properties.description, "<Properties><Description>", limit: 2048)
        try packagePath(properties.logo, "<Properties><Logo>")
        for dependency in manifest.packageDependencies {
            let element = "<PackageDependency Name=\(ManifestText.shown(dependency.name))>"
            if let problem = PackageIdentity.nameProblem(dependency.name, field: "Name", lengths: 3...50) {
                throw invalid(element, problem)
            }
            if let publisher = dependency.publisher, let problem = DistinguishedName.problem(publisher) {
                throw invalid(element, "Publisher \(ManifestText.shown(publisher)) \(problem)")
            }
        }
        guard manifest.applications.count <= maximumApplications else {
            throw MSIXError(.invalidManifest, "AppxManifest.xml has \(manifest.applications.count) <Application> elements; the schema allows at most \(maximumApplications)")
        }
        var ids = Set<String>()
        for application in manifest.applications {
            try check(application)
            guard ids.insert(application.id.lowercased()).inserted else {
                throw invalid("<Application Id=\(ManifestText.shown(application.id))>", "the Id is used by another <Application> (ids are compared without case)")
            }
        }
    }

    private static func check(_ application: AppxManifest.Application) throws(MSIXError) {
        let element = "<Application Id=\(ManifestText.shown(application.id))>"
        if let problem = applicationIdProblem(application.id) { throw invalid(element, "Id \(ManifestText.shown(application.id)) \(problem)") }
        try packagePath(application.executable, "\(element) Executable")
        try identifier(application.entryPoint, "\(element) EntryPoint", limit: 256, extra: "._")
        try displayText(application.displayName, "\(element) <VisualElements> DisplayName")
        try displayText(application.description, "\(element) <VisualElements> Description", limit: 2048)
        try packagePath(application.square150x150Logo, "\(element) <VisualElements> Square150x150Logo")
        try packagePath(application.square44x44Logo, "\(element) <VisualElements> Square44x44Logo")
        for category in application.desktopCategories {
            try identifier(category, "\(element) <DesktopEntry> Categories", limit: 64, extra: "-_")
        }
        let extensions = application.extensions
        for association in extensions.fileTypeAssociations {
            try check(association, in: element)
        }
        for handler in extensions.protocols {
            let protocolElement = "\(element) <Protocol Name=\(ManifestText.shown(handler.name))>"
            if let problem = protocolNameProblem(handler.name) { throw invalid(protocolElement, "Name \(problem)") }
            try displayText(handler.displayName, "\(protocolElement) <DisplayName>")
            try displayText(handler.parameters, "\(protocolElement) Parameters", limit: 2048)
        }
        for alias in extensions.executionAliases {
            let aliasElement = "\(element) <ExecutionAlias Alias=\(ManifestText.shown(alias.alias))>"
            if let problem = aliasProblem(alias.alias) { throw invalid(aliasElement, "Alias \(problem)") }
            try packagePath(alias.executable, "\(aliasElement) Executable")
        }
        for task in extensions.startupTasks {
            let taskElement = "\(element) <StartupTask TaskId=\(ManifestText.shown(task.taskId))>"
            try identifier(task.taskId, "\(taskElement) TaskId", limit: 255, extra: "._-", required: true)
            try displayText(task.displayName, "\(taskElement) DisplayName")
            try packagePath(task.executable, "\(taskElement) Executable")
        }
    }

    private static func check(_ association: ApplicationExtensions.FileTypeAssociation, in application: String) throws(MSIXError) {
        let element = "\(application) <FileTypeAssociation Name=\(ManifestText.shown(association.name))>"
        try identifier(association.name, "\(element) Name", limit: 100, extra: "._-", required: true)
        try displayText(association.displayName, "\(element) <DisplayName>")
        try packagePath(association.logo, "\(element) <Logo>")
        try displayText(association.parameters, "\(element) Parameters", limit: 2048)
        for fileType in association.fileTypes {
            let typeElement = "\(element) <FileType>\(ManifestText.shown(fileType.fileExtension, quoted: false))</FileType>"
            if let problem = fileTypeProblem(fileType.fileExtension) { throw invalid(typeElement, problem) }
            if let contentType = fileType.contentType, let problem = contentTypeProblem(contentType) {
                throw invalid(typeElement, "ContentType \(ManifestText.shown(contentType)) \(problem)")
            }
        }
        for verb in association.verbs {
            let verbElement = "\(element) <Verb Id=\(ManifestText.shown(verb.id))>"
            try identifier(verb.id, "\(verbElement) Id", limit: 64, extra: "_-", required: true)
            try displayText(verb.displayName, "\(verbElement) text")
            try displayText(verb.parameters, "\(verbElement) Parameters", limit: 2048)
        }
    }

    // MARK: - The rules

    /// Windows' reserved device names, which the schema refuses as names and ids.
    static let reservedNames: Set<String> = {
        var names: Set<String> = ["CON", "PRN", "AUX", "NUL"]
        for i in 1...9 { names.insert("COM\(i)"); names.insert("LPT\(i)") }
        return names
    }()

    /// ST_ApplicationId: dot-separated parts of ASCII letters and digits, each starting with a
    /// letter, at most 64 characters, not a reserved device name.
    static func applicationIdProblem(_ id: String) -> String? {
        let rule = "must be 1 to 64 characters: dot-separated parts of ASCII letters and digits, each starting with a letter"
        guard (1...64).contains(id.unicodeScalars.count) else { return rule }
        for part in id.split(separator: ".", omittingEmptySubsequences: false) {
            guard let first = part.unicodeScalars.first, first.isASCII, ASCII.isLetter(first),
                  part.unicodeScalars.allSatisfy({ $0.isASCII && ASCII.isAlphanumeric($0) }) else { return rule }
        }
        if reservedNames.contains(id.uppercased()) { return "is a reserved device name" }
        return nil
    }

    /// ST_Protocol: a URL scheme of 2 to 39 characters, lowercase letters, digits, `.`, `+`
    /// and `-`, starting with a letter.
    static func protocolNameProblem(_ name: String) -> String? {
        let scalars = Array(name.unicodeScalars)
        guard (2...39).contains(scalars.count), let first = scalars.first, ("a"..."z").contains(first),
              scalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || ".+-".unicodeScalars.contains($0) }) else {
            return "must be a URL scheme of 2 to 39 characters: lowercase letters, digits, . + -, starting with a letter"
        }
        return nil
    }

    /// ST_FileType: a dot and 1 to 63 more characters, none of them a path separator, a
    /// character Windows forbids in file names, white space or a control character.
    static func fileTypeProblem(_ fileType: String) -> String? {
        let scalars = Array(fileType.unicodeScalars)
        guard scalars.count >= 2, scalars.count <= 64, scalars[0] == ".",
              scalars.dropFirst().allSatisfy({ !forbiddenInFileNames.contains($0) && !ManifestText.isControlOrSpace($0) }),
              scalars.dropFirst().contains(where: { $0 != "." }) else {
            return "is not a file type: a dot and 1 to 63 characters without / \\ : * ? \" < > |, spaces or control characters (like .txt)"
        }
        return nil
    }

    /// A MIME type as RFC 6838 names them: `type/subtype`, each a restricted name.
    static func contentTypeProblem(_ type: String) -> String? {
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        func restricted(_ part: Substring) -> Bool {
            guard let first = part.unicodeScalars.first, first.isASCII, ASCII.isAlphanumeric(first), part.unicodeScalars.count <= 127 else { return false }
            return part.unicodeScalars.allSatisfy { $0.isASCII && (ASCII.isAlphanumeric($0) || "!#$&^_.+-".unicodeScalars.contains($0)) }
        }
        guard parts.count == 2, restricted(parts[0]), restricted(parts[1]) else {
            return "is not a MIME type (type/subtype, letters, digits and ! # $ & ^ _ . + -)"
        }
        return nil
    }

    /// An execution alias: a file name for a command (`tool.exe`), never a path.
    static func aliasProblem(_ alias: String) -> String? {
        let scalars = Array(alias.unicodeScalars)
        guard (1...64).contains(scalars.count), scalars.first != ".",
              scalars.allSatisfy({ !forbiddenInFileNames.contains($0) && !ManifestText.isControlOrSpace($0) }) else {
            return "must be a command's file name of 1 to 64 characters, not starting with a dot, without / \\ : * ? \" < > |, spaces or control characters"
        }
        return nil
    }

    /// Characters Windows forbids in a file name, and the path separators.
    static let forbiddenInFileNames = Set("/\\:*?\"<>|".unicodeScalars)

    // MARK: - Checks that throw, naming the element

    private static func invalid(_ element: String, _ problem: String) -> MSIXError {
        MSIXError(.invalidManifest, "AppxManifest.xml \(element): \(problem)")
    }

    /// A path inside the package (executables, logos): relative, inside, no `..`, no control
    /// characters, no characters Windows forbids (`:` would name a drive or a stream).
    private static func packagePath(_ value: String?, _ element: String, required: Bool = false) throws(MSIXError) {
        guard let value, !value.isEmpty else {
            if required { throw invalid(element, "is missing or empty") }
            return
        }
        if let problem = PackagePathRule.problem(value) { throw invalid(element, "\(ManifestText.shown(value)) \(problem)") }
    }

    /// Text shown to a user (names, descriptions): no control characters, at most `limit`.
    private static func displayText(_ value: String?, _ element: String, limit: Int = 256, required: Bool = false) throws(MSIXError) {
        guard let value, !value.isEmpty else {
            if required { throw invalid(element, "is missing or empty") }
            return
        }
        if value.unicodeScalars.contains(where: ManifestText.isControl) {
            throw invalid(element, "\(ManifestText.shown(value)) holds a control character (a line break, a tab, an escape…)")
        }
        if value.count > limit { throw invalid(element, "is \(value.count) characters long; at most \(limit)") }
    }

    /// An ASCII identifier: letters, digits and the characters in `extra`.
    private static func identifier(_ value: String?, _ element: String, limit: Int, extra: String,
                                   required: Bool = false) throws(MSIXError) {
        guard let value, !value.isEmpty else {
            if required { throw invalid(element, "is missing or empty") }
            return
        }
        let allowed = extra.unicodeScalars
        guard value.unicodeScalars.count <= limit,
              value.unicodeScalars.allSatisfy({ $0.isASCII && (ASCII.isAlphanumeric($0) || allowed.contains($0)) }) else {
            throw invalid(element, "\(ManifestText.shown(value)) must be 1 to \(limit) ASCII letters, digits or \(extra.map { String($0) }.joined(separator: " "))")
        }
    }
}

/// A path inside a package as a manifest writes it (`VFS\ProgramFilesX64\App\app.exe`,
/// `bin/app`): the rule for executables and logos.
enum PackagePathRule {
    /// Why `path` is not a path inside the package, or nil when it is one.
    static func problem(_ path: String) -> String? {
        if path.unicodeScalars.contains(where: ManifestText.isControl) { return "holds a control character" }
        if path.unicodeScalars.count > 1024 { return "is longer than 1,024 characters" }
        if path.hasPrefix("/") || path.hasPrefix("\\") { return "is absolute; it must be a path inside the package" }
        if path.unicodeScalars.contains(where: { "<>:\"|?*".unicodeScalars.contains($0) }) {
            return "holds one of < > : \" | ? * (a drive, a stream or a wildcard is not a path inside the package)"
        }
        for segment in path.split(whereSeparator: { $0 == "/" || $0 == "\\" }) where segment == ".." || segment == "." {
            return "holds a '\(segment)' segment; it must name a file inside the package"
        }
        if path.hasSuffix("/") || path.hasSuffix("\\") || path.contains("//") || path.contains("\\\\") {
            return "has an empty segment"
        }
        return nil
    }
}

/// How manifest values are shown in messages: one line whatever they hold.
enum ManifestText {
    /// A control character: C0, DEL, C1, and the Unicode line and paragraph separators.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    static func isControlOrSpace(_ scalar: Unicode.Scalar) -> Bool {
        isControl(scalar) || scalar == " " || scalar.properties.isWhitespace
    }

    /// `value` in double quotes with control characters escaped (`\n`, `\u{1B}`), cut after
    /// 80 characters, so an error message stays one line that says what the value was.
    static func shown(_ value: String, quoted: Bool = true) -> String {
        var out = ""
        var count = 0
        for scalar in value.unicodeScalars {
            if count == 80 { out += "…"; break }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"" where quoted: out += "\\\""
            case "\\" where quoted: out += "\\\\"
            default:
                if isControl(scalar) { out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return quoted ? "\"\(out)\"" : out
    }
}
