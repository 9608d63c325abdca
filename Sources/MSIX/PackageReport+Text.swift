extension PackageReport {
    /// A readable multi-line rendering, one fact per line, indented by level.
    public var text: String {
        var lines: [String] = []
        func add(_ indent: Int, _ label: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            lines.append(String(repeating: "  ", count: indent) + label + ": " + value)
        }
        add(0, "Package", path)
        add(1, "Full name", fullName)
        add(1, "Family name", familyName)
        add(1, "Name", identity.name)
        add(1, "Publisher", identity.publisher)
        add(1, "Version", identity.version)
        add(1, "Architecture", identity.processorArchitecture)
        add(1, "Resource id", identity.resourceId)
        add(1, "Display name", displayName)
        add(1, "Publisher display name", publisherDisplayName)
        add(1, "Description", description)
        add(1, "Logo", logo)
        for family in targetDeviceFamilies {
            add(1, "Target device family", "\(family.name) (min \(family.minVersion))")
        }
        for dependency in packageDependencies {
            add(1, "Depends on", "\(dependency.name)" + (dependency.minVersion.map { " >= \($0)" } ?? ""))
        }
        add(1, "Signature", signaturePresent ? "present" : "absent")
        add(1, "Files", "\(fileCount) in block map, \(partCount) ZIP entries")
        add(1, "Size", "\(uncompressedBytes) bytes uncompressed, \(compressedBytes) compressed, \(packageBytes) package")
        for report in applications {
            let app = report.application
            add(1, "Application", report.appUserModelId)
            add(2, "Executable", app.executable)
            add(2, "Entry point", app.entryPoint)
            add(2, "Display name", app.displayName)
            add(2, "Description", app.description)
            add(2, "Logo", app.square44x44Logo ?? app.square150x150Logo)
            add(2, "Categories", app.desktopCategories.joined(separator: ";"))
            renderExtensions(app.extensions, add)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func renderExtensions(_ extensions: ApplicationExtensions, _ add: (Int, String, String?) -> Void) {
        for association in extensions.fileTypeAssociations {
            let types = association.fileTypes.map { $0.fileExtension + ($0.contentType.map { " (\($0))" } ?? "") }
            add(2, "File types", "\(association.name): " + types.joined(separator: ", "))
            if !association.verbs.isEmpty {
                add(3, "Verbs", association.verbs.map { "\($0.id) \"\($0.displayName)\"" }.joined(separator: ", "))
            }
        }
        for handler in extensions.protocols {
            add(2, "Protocol", handler.name + (handler.parameters.map { " \($0)" } ?? ""))
        }
        for alias in extensions.executionAliases { add(2, "Execution alias", alias.alias) }
        for task in extensions.startupTasks {
            add(2, "Startup task", "\(task.taskId) (\(task.enabled ? "enabled" : "disabled"))")
        }
        add(2, "Other extensions", extensions.otherCategories.joined(separator: ", "))
    }
}
