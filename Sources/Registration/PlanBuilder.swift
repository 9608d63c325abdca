import MSIX

/// Turns a manifest into the files and associations of a `RegistrationPlan`.
struct PlanBuilder {
    let manifest: AppxManifest
    let integration: PreparedIntegration
    let mode: RegistrationMode
    let launcher: LaunchCommand

    var familyName: String { manifest.identity.familyName }
    var areas: Set<RegistrationArea> { RegistrationArea.managed(by: mode) }

    func build() -> ([PlannedFile], [MimeAssociation], [String]) {
        var files: [PlannedFile] = []
        var associations: [MimeAssociation] = []
        var notes: [String] = []
        for app in manifest.applications {
            let desktopID = RegistrationLayout.desktopID(familyName, app.id)
            let fileTypes = fileMimeTypes(app)
            let schemes = areas.contains(.urlSchemes) ? schemeTypes(app, notes: &notes) : []
            files.append(PlannedFile(path: RegistrationLayout.applications + "/" + desktopID,
                                     contents: Array(desktopEntry(app, mimeTypes: fileTypes + schemes).utf8), area: .menu))
            associations += fileTypes.map { MimeAssociation(mimeType: $0, desktopID: desktopID, isDefault: MimeTypeMap.isInvented($0)) }
            // A scheme exists to reach an app; Windows hands it over the same way on install.
            associations += schemes.map { MimeAssociation(mimeType: $0, desktopID: desktopID, isDefault: true) }
            if areas.contains(.executionAliases) { files += aliases(app, notes: &notes) }
            if areas.contains(.startupTasks) { files += startupTasks(app, notes: &notes) }
        }
        return (files, associations, notes)
    }

    var aumidPrefix: String { familyName + "!" }

    func appName(_ app: AppxManifest.Application) -> String {
        DisplayText.usable(app.displayName) ?? DisplayText.usable(manifest.properties.displayName) ?? app.id
    }

    /// The MIME types of the app's file types, in manifest order, without repeats.
    func fileMimeTypes(_ app: AppxManifest.Application) -> [String] {
        var types: [String] = []
        for fileType in app.extensions.fileTypeAssociations.flatMap(\.fileTypes) {
            let ext = MimeTypeMap.normalised(fileType.fileExtension)
            let type = integration.mimeTypes[ext] ?? MimeTypeMap.inventedType(forExtension: ext)
            if !types.contains(type) { types.append(type) }
        }
        return types
    }

    /// `x-scheme-handler/<scheme>` for each protocol whose name is a valid URI scheme (RFC 3986).
    func schemeTypes(_ app: AppxManifest.Application, notes: inout [String]) -> [String] {
        var types: [String] = []
        for handler in app.extensions.protocols {
            let scheme = handler.name.lowercased()
            guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first),
                  scheme.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }) else {
                notes.append("\(app.id): protocol '\(handler.name)' is not a URI scheme; not registered")
                continue
            }
            if !types.contains("x-scheme-handler/" + scheme) { types.append("x-scheme-handler/" + scheme) }
        }
        return types
    }

    func desktopEntry(_ app: AppxManifest.Application, mimeTypes: [String]) -> String {
        var entry = DesktopEntryText()
        entry.add("Type", "Application")
        entry.add("Version", "1.4")
        let name = appName(app)
        entry.add("Name", name)
        // A comment that only repeats the name says nothing (desktop-file-validate warns).
        let comment = DisplayText.usable(app.description) ?? DisplayText.usable(manifest.properties.description)
        entry.add("Comment", comment.flatMap { $0.lowercased() == name.lowercased() ? nil : $0 })
        entry.add("Icon", integration.iconName(app.id))
        entry.addRaw("Exec", launcher.desktopExec(aumidPrefix + app.id, fieldCode: "%U"))
        entry.add("Terminal", "false")
        entry.add("MimeType", list: mimeTypes)
        entry.add("Categories", list: app.desktopCategories)
        entry.add(RegisteredPackage.packageKey, manifest.identity.fullName)
        entry.add(RegisteredPackage.modeKey, mode.rawValue)
        return entry.text
    }

    /// A launcher script per alias in `~/.local/bin`. Windows aliases end in `.exe`, which a
    /// Linux user would not type, so it is dropped (`CoffeeCup.exe` → `CoffeeCup`).
    func aliases(_ app: AppxManifest.Application, notes: inout [String]) -> [PlannedFile] {
        app.extensions.executionAliases.compactMap { alias in
            var name = alias.alias
            if name.lowercased().hasSuffix(".exe") { name = String(name.dropLast(4)) }
            guard !name.isEmpty, name.count <= 255, !name.hasPrefix("."), !name.hasPrefix("-"),
                  name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._+-".unicodeScalars.contains($0)) }) else {
                notes.append("\(app.id): execution alias '\(alias.alias)' is not a usable command name; not registered")
                return nil
            }
            // The marker is a comment line of the script: an id that could end it gets no alias.
            guard !app.id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                notes.append("app id with a control character: execution alias '\(alias.alias)' not registered")
                return nil
            }
            let marker = RegistrationLayout.aliasMarker(familyName, app.id)
            let script = """
                #!/bin/sh
                \(marker)
                # Written by appattach at sign-in and removed at sign-out; a file here without
                # the line above is never touched by appattach.
                \(launcher.shellCommand(aumidPrefix + app.id, executable: otherExecutable(alias.executable, of: app)))

                """
            return PlannedFile(path: RegistrationLayout.executables + "/" + name, contents: Array(script.utf8), mode: 0o755,
                               area: .executionAliases, ownership: .marker(marker))
        }
    }

    /// An XDG autostart entry per enabled startup task. A disabled task gets no file: XDG
    /// autostart has no "registered but off until the user turns it on" state that survives
    /// appattach rewriting its files at every sign-in.
    func startupTasks(_ app: AppxManifest.Application, notes: inout [String]) -> [PlannedFile] {
        app.extensions.startupTasks.compactMap { task in
            guard task.enabled else { return nil }
            guard !task.taskId.isEmpty else {
                notes.append("\(app.id): startup task without a TaskId; not registered")
                return nil
            }
            var entry = DesktopEntryText()
            entry.add("Type", "Application")
            entry.add("Version", "1.4")
            entry.add("Name", DisplayText.usable(task.displayName) ?? appName(app))
            entry.add("Icon", integration.iconName(app.id))
            entry.addRaw("Exec", launcher.desktopExec(aumidPrefix + app.id, executable: otherExecutable(task.executable, of: app)))
            entry.add("Terminal", "false")
            entry.add("X-AppAttach-Package", manifest.identity.fullName)
            entry.add("X-AppAttach-StartupTask", task.taskId)
            let name = RegistrationLayout.prefix(familyName) + RegistrationLayout.fileNamePart(task.taskId) + ".desktop"
            return PlannedFile(path: RegistrationLayout.autostart + "/" + name, contents: Array(entry.text.utf8), area: .startupTasks)
        }
    }

    /// `executable` with `/` separators when it is not the app's own program, else nil.
    func otherExecutable(_ executable: String?, of app: AppxManifest.Application) -> String? {
        guard let executable else { return nil }
        let normalised = { (s: String) in s.replacingOccurrences(of: "\\", with: "/") }
        return normalised(executable) == app.executable.map(normalised) ? nil : normalised(executable)
    }
}
