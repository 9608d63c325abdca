import ControlProtocol
import HostPool
import Registration
import Staging

/// Everything the agent needs to know before it starts: the host's configuration and the
/// paths and intervals derived from it. Tests build one around a scratch directory.
public struct AgentSettings: Sendable {
    /// The host configuration (`/etc/appattach/appattach.toml`).
    public var config: HostConfig
    /// Where the config came from, for messages.
    public var configPath: String
    /// How often the host-pool file's modification time and size are compared with the last
    /// read. Polling, not inotify: inotify sees no changes another host makes on an SMB share.
    public var hostPoolPollInterval: Duration = .seconds(5)
    /// How long a destage refused because the image is in use waits before it is tried again.
    public var destageRetryInterval: Duration = .seconds(15)
    /// How often the agent looks for app data and records of accounts that no longer exist
    /// (besides once at start), to remove them after `[deregistration] removed_account_retention_days`.
    public var removedAccountSweepInterval: Duration = .seconds(86_400)
    /// How desktop entries start apps (`appattachctl launch …`).
    public var launcher = LaunchCommand()

    public init(config: HostConfig, configPath: String) {
        self.config = config
        self.configPath = configPath
    }

    /// Mount points and records under the runtime directory.
    public var stagingPaths: StagingPaths { StagingPaths(runtime: config.runtimeDirectory) }
    /// The control socket, `<runtime>/io.appattach.Manager`.
    public var socketPath: String { config.runtimeDirectory + "/" + ControlMethod.interface }
    /// Per-package shared integration files (icons, MIME XML), `<runtime>/integration/<PackageFullName>`.
    public func integrationDirectory(_ fullName: String) -> String {
        config.runtimeDirectory + "/integration/" + fullName
    }
    /// Users' app data layers, `<state>/users` (`/var/lib/appattach/users`).
    public var appDataUsersDirectory: String { config.stateDirectory + "/users" }
    /// An image of the host pool, as this host sees it on the share.
    public func imagePath(_ entry: PackageEntry) -> String {
        config.share.path + "/" + entry.image
    }
}
