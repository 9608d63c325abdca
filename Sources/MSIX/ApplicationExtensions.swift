/// The extensions of one application that Linux registration maps to desktop integration:
/// file type associations (MIME and `mimeapps.list`), protocols (URL scheme handlers),
/// execution aliases (commands in `~/.local/bin`) and startup tasks (XDG autostart).
public struct ApplicationExtensions: Codable, Sendable, Equatable {
    public var fileTypeAssociations: [FileTypeAssociation] = []
    public var protocols: [ProtocolHandler] = []
    public var executionAliases: [ExecutionAlias] = []
    public var startupTasks: [StartupTask] = []
    /// Categories present that registration does not act on (COM servers, firewall rules, …).
    public var otherCategories: [String] = []

    /// `windows.fileTypeAssociation`.
    public struct FileTypeAssociation: Codable, Sendable, Equatable {
        public var name: String
        public var displayName: String?
        public var logo: String?
        public var parameters: String?
        public var fileTypes: [FileType]
        public var verbs: [Verb]
    }

    /// One `<FileType ContentType>.ext</FileType>`.
    public struct FileType: Codable, Sendable, Equatable {
        /// The extension with its dot, such as `.txt`.
        public var fileExtension: String
        /// The MIME type, when given.
        public var contentType: String?
    }

    /// One `<Verb Id Parameters>Display name</Verb>`.
    public struct Verb: Codable, Sendable, Equatable {
        public var id: String
        public var displayName: String
        public var parameters: String?
    }

    /// `windows.protocol`: a URL scheme the app handles.
    public struct ProtocolHandler: Codable, Sendable, Equatable {
        public var name: String
        public var displayName: String?
        public var parameters: String?
    }

    /// `windows.appExecutionAlias`: a command name that starts the app.
    public struct ExecutionAlias: Codable, Sendable, Equatable {
        public var alias: String
        /// The program it runs, when the extension names one other than the app's.
        public var executable: String?
    }

    /// `windows.startupTask`: something to start when the user signs in.
    public struct StartupTask: Codable, Sendable, Equatable {
        public var taskId: String
        public var enabled: Bool
        public var displayName: String?
        /// The program to start: the extension's `Executable`, else the application's.
        public var executable: String?
    }

    public init() {}

    init(_ extensions: XMLElementNode?, applicationExecutable: String?) {
        for node in extensions?.children("Extension") ?? [] {
            let category = node.attribute("Category") ?? ""
            switch category {
            case "windows.fileTypeAssociation":
                fileTypeAssociations += node.children("FileTypeAssociation").map(Self.fileTypeAssociation)
            case "windows.protocol":
                protocols += node.children("Protocol").map {
                    ProtocolHandler(name: $0.attribute("Name") ?? "", displayName: $0.childText("DisplayName"),
                                    parameters: $0.attribute("Parameters"))
                }
            case "windows.appExecutionAlias":
                executionAliases += node.descendants("ExecutionAlias").compactMap { alias in
                    alias.attribute("Alias").map { ExecutionAlias(alias: $0, executable: node.attribute("Executable")) }
                }
            case "windows.startupTask":
                startupTasks += node.children("StartupTask").map {
                    StartupTask(taskId: $0.attribute("TaskId") ?? "", enabled: ["true", "1"].contains($0.attribute("Enabled") ?? ""),
                                displayName: $0.attribute("DisplayName"),
                                executable: node.attribute("Executable") ?? applicationExecutable)
                }
            default:
                if !category.isEmpty && !otherCategories.contains(category) { otherCategories.append(category) }
            }
        }
    }

    private static func fileTypeAssociation(_ node: XMLElementNode) -> FileTypeAssociation {
        let types = node.child("SupportedFileTypes")?.children("FileType").map {
            FileType(fileExtension: $0.text, contentType: $0.attribute("ContentType"))
        } ?? []
        let verbs = node.child("SupportedVerbs")?.children("Verb").map {
            Verb(id: $0.attribute("Id") ?? "", displayName: $0.text, parameters: $0.attribute("Parameters"))
        } ?? []
        return FileTypeAssociation(name: node.attribute("Name") ?? "", displayName: node.childText("DisplayName"),
                                   logo: node.childText("Logo"), parameters: node.attribute("Parameters"),
                                   fileTypes: types, verbs: verbs)
    }
}
