import ControlProtocol
import Glibc
import HostPool
import LinuxSystem
import Registration
import Staging
import StateStore

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
    /// How long a look at the share may take before the journal says it does not answer.
    public var shareAnswerDeadline: Duration = .seconds(30)
    /// How often the host pool's packages that failed to stage are tried again (the host's
    /// health clears when they stage).
    public var stagingRetryInterval: Duration = .seconds(30)
    /// How often the agent looks whether its report on the share should be written again, and
    /// how old a report may get before it is written anyway (the fleet view's "stale" is 3 min).
    public var hostReportInterval: Duration = .seconds(5)
    public var hostReportRefresh: Duration = .seconds(60)
    /// This host's name, as its report on the share is named.
    public var hostName: String = AgentSettings.kernelHostName()
    /// How often the metrics file is written, when anything changed (at once on a change of health).
    public var metricsInterval: Duration = .seconds(15)
    /// How often the agent looks for app data and records of accounts that no longer exist
    /// (besides once at start), to remove them after `[deregistration] removed_account_retention_days`.
    public var removedAccountSweepInterval: Duration = .seconds(86_400)
    /// How desktop entries start apps (`appattachctl launch …`).
    public var launcher = LaunchCommand()
    /// How long the agent waits for the staging lock while `appattachctl stage`, `destage` or
    /// `repair` holds it: well within the loop's share of the watchdog interval (15 s).
    public var stagingLockTimeout: Duration = .seconds(5)
    /// How long start-up stages the host pool's images before `READY=1`; the rest is staged
    /// from the loop, batch by batch (`PackageStager+Backlog`).
    public var startupStagingBudget: Duration = .seconds(20)
    /// How long start-up waits for the homes of signed-in users to be read after a damaged
    /// state database was rebuilt (`AgentCore.recoverRegistrations`).
    public var homeScanDeadline: Duration = .seconds(10)

    /// How long one job of file work in a home may take: writing or removing registration
    /// files, completing one at a launch. Ten packages take about 10 ms on a local disk and
    /// some seconds on a slow network home; a home that needs longer does not answer (a FUSE
    /// or NFS server that is gone), and its work is set aside and tried again later.
    public var homeFileDeadline: UserFiles.JobDeadline = .within(.seconds(30))
    /// How long restoring or pushing one package's app data may take. Proportional to the
    /// data, which the user decides, so the limit is on progress (every entry copied counts,
    /// and a `syncfs` gets a whole period): two minutes without any, or an hour in all.
    public var homeDataDeadline = UserFiles.JobDeadline(limit: .seconds(3_600), stall: .seconds(120))
    /// How long after a home did not answer its work is tried again; doubled at every attempt
    /// up to `homeRetryMaximum`. A stuck thread that returns brings the attempt forward.
    public var homeRetryDelay: Duration = .seconds(10)
    public var homeRetryMaximum: Duration = .seconds(300)
    /// Worker threads for work in homes (users' homes are written in parallel).
    public var userFileThreads = 4
    /// Threads stuck in homes past a deadline that are replaced, at most (see `UserFiles`).
    public var maximumStuckThreads = 16
    /// What the worker threads are called, with their number (`userfiles-3` in `ps -L`).
    public var userFileThreadLabel = "userfiles"

    public init(config: HostConfig, configPath: String) {
        self.config = config
        self.configPath = configPath
    }

    /// How much history the state database keeps (`[state]` of the host configuration).
    public var eventRetention: EventRetention {
        EventRetention(days: config.keepEventsDays, count: config.keepEvents)
    }

    /// Mount points and records under the runtime directory.
    public var stagingPaths: StagingPaths { StagingPaths(runtime: config.runtimeDirectory) }
    /// The control socket, `<runtime>/io.appattach.Manager`.
    public var socketPath: String { config.runtimeDirectory + "/" + ControlMethod.interface }
    /// Per-package shared integration files (icons, MIME XML), `<runtime>/integration/<PackageFullName>`.
    public func integrationDirectory(_ fullName: String) -> String {
        config.runtimeDirectory + "/integration/" + fullName
    }
    /// The staged packages' icons and file types for desktops, `<runtime>/share`
    /// (`/run/appattach/share`, on every session's `XDG_DATA_DIRS`; see `SharedDesktopData`).
    public var desktopDataDirectory: String { config.runtimeDirectory + "/share" }
    /// Users' app data layers, `<state>/users` (`/var/lib/appattach/users`).
    public var appDataUsersDirectory: String { config.stateDirectory + "/users" }
    /// An image of the host pool, as this host sees it on the share.
    public func imagePath(_ entry: PackageEntry) -> String {
        config.share.path + "/" + entry.image
    }

    /// The kernel's host name (`gethostname`).
    public static func kernelHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
