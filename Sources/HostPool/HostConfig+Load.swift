extension HostConfig {
    /// Reads and validates the config file at `path` (by default `/etc/appattach/appattach.toml`).
    /// Throws `ConfigurationError` naming the file and line of the first problem.
    public static func load(path: String = defaultPath) throws(ConfigurationError) -> HostConfig {
        try read(TOMLDocument.load(path: path, displayName: path))
    }

    /// Parses config text; `displayName` is how errors name the file.
    public static func parse(_ text: String, displayName: String) throws(ConfigurationError) -> HostConfig {
        try read(TOMLDocument.parse(bytes: Array(text.utf8), displayName: displayName))
    }

    static let poolNameLimit = 64

    private static func read(_ document: TOMLDocument) throws(ConfigurationError) -> HostConfig {
        let root = document.rootReader()
        try root.rejectUnknownKeys(allowed: ["share", "pool", "state_directory", "runtime_directory",
                                             "registration", "deregistration", "state", "log_level",
                                             "signature", "trusted_publishers", "metrics"])
        guard let shareTable = try root.table("share") else {
            throw root.error("the [share] table is missing; it names where the share is mounted (share.path)")
        }
        try shareTable.rejectUnknownKeys(allowed: ["path", "mount", "report"])
        let sharePath = try absolutePath(shareTable, "path", default: nil)
        let mount = try shareMount(shareTable)

        let pool = try root.requiredString("pool")
        if let problem = poolNameProblem(pool) { throw root.error("pool \(problem)", key: "pool") }

        var config = HostConfig(share: Share(path: sharePath, mount: mount), pool: pool)
        config.reportToShare = try shareTable.bool("report") ?? true
        config.stateDirectory = try absolutePath(root, "state_directory", default: defaultStateDirectory)
        config.runtimeDirectory = try absolutePath(root, "runtime_directory", default: defaultRuntimeDirectory)
        if let registration = try root.table("registration") {
            try registration.rejectUnknownKeys(allowed: ["logon_timeout_seconds"])
            // A sign-in that waits longer than a few minutes looks hung; 0 means never wait.
            config.logonTimeoutSeconds = try registration.int("logon_timeout_seconds", in: 0...600)
                ?? defaultLogonTimeoutSeconds
        }
        if let deregistration = try root.table("deregistration") {
            try deregistration.rejectUnknownKeys(allowed: ["grace_seconds", "stop_apps_after_seconds", "removed_account_retention_days"])
            config.deregistrationGraceSeconds = try deregistration.int("grace_seconds", in: 0...86_400)
                ?? defaultDeregistrationGraceSeconds
            config.appStopGraceSeconds = try deregistration.int("stop_apps_after_seconds", in: 0...3_600)
                ?? defaultAppStopGraceSeconds
            // Ten years is "keep"; beyond that a typo (days for seconds) is more likely than intent.
            config.removedAccountRetentionDays = try deregistration.int("removed_account_retention_days", in: 0...3_650)
                ?? defaultRemovedAccountRetentionDays
        }
        if let state = try root.table("state") {
            try state.rejectUnknownKeys(allowed: ["keep_events_days", "keep_events"])
            // At least a day and a thousand events: enough to see what happened since yesterday.
            config.keepEventsDays = try state.int("keep_events_days", in: 1...3_650) ?? defaultKeepEventsDays
            // Ten million events are a few gigabytes of state.db; more is a typo.
            config.keepEvents = try state.int("keep_events", in: 1_000...10_000_000) ?? defaultKeepEvents
        }
        if let metrics = try root.table("metrics") {
            try metrics.rejectUnknownKeys(allowed: ["textfile"])
            if try metrics.string("textfile") == "" {
                config.metricsTextfile = nil
            } else {
                config.metricsTextfile = try absolutePath(metrics, "textfile", default: defaultMetricsTextfile)
                // node_exporter reads *.prom only; another name would be written and never read.
                guard config.metricsTextfile?.hasSuffix(".prom") == true else {
                    throw metrics.error("metrics.textfile must end in .prom (node_exporter's textfile collector reads only those), not \"\(config.metricsTextfile ?? "")\"",
                                        key: "textfile")
                }
            }
        }
        config.logLevel = try root.choice("log_level", of: LogLevel.self) ?? defaultLogLevel
        config.signaturePolicy = try root.choice("signature", of: SignaturePolicy.self) ?? defaultSignaturePolicy
        if try root.string("trusted_publishers") == "system" {
            config.trustedPublishers = "system"
        } else if try root.string("trusted_publishers") != nil {
            config.trustedPublishers = try absolutePath(root, "trusted_publishers", default: nil)
        }
        return config
    }

    private static func absolutePath(_ table: TableReader, _ key: String, default fallback: String?) throws(ConfigurationError) -> String {
        guard let value = try table.string(key) else {
            if let fallback { return fallback }
            throw table.error("\(table.name(key)) is missing")
        }
        guard value.hasPrefix("/") else {
            throw table.error("\(table.name(key)) must be an absolute path, not \"\(value)\"", key: key)
        }
        // Trailing slashes would make paths built from it differ from the kernel's mount table.
        var path = value
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    private static func shareMount(_ share: TableReader) throws(ConfigurationError) -> ShareMount {
        guard let value = try share.string("mount") else { return .none }
        switch value {
        case "none": return .none
        case "smbnetfs": return .smbnetfs
        default:
            // systemd names a mount unit after its path (`/mnt/apps` → `mnt-apps.mount`).
            guard value.hasSuffix(".mount"), value.count > ".mount".count, !value.utf8.contains(UInt8(ascii: "/")) else {
                throw share.error("share.mount must be \"none\", \"smbnetfs\" or a systemd cifs mount unit such as \"mnt-appattach.mount\", not \"\(value)\"",
                                  key: "mount")
            }
            return .cifs(unit: value)
        }
    }

    /// Why `name` cannot name a host-pool file, or nil. The name becomes a file name on the
    /// share, so it must not be able to point anywhere else.
    public static func poolNameProblem(_ name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy {
            $0.isASCII && (TableReader.isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == ".")
        }
        guard allowed, !name.isEmpty, name.count <= poolNameLimit, !name.hasPrefix(".") else {
            return "must be 1 to \(poolNameLimit) characters from A-Z a-z 0-9 - _ . not starting with a dot, not \"\(name)\""
        }
        return nil
    }
}

extension TableReader {
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
