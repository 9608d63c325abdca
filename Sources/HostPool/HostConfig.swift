/// One session host's configuration, from `/etc/appattach/appattach.toml`: which share holds the
/// images, which host pool this host belongs to, where the agent keeps its state, and the
/// agent's time bounds. A sample with every key explained is `config/appattach.toml`.
public struct HostConfig: Sendable, Equatable {
    /// Where the config file lives on a host.
    public static let defaultPath = "/etc/appattach/appattach.toml"

    /// The SMB share as this host sees it.
    public struct Share: Sendable, Equatable {
        /// The directory where the share is mounted (absolute).
        public var path: String
        /// How it gets mounted; informational, the agent only reads `path`.
        public var mount: ShareMount

        public init(path: String, mount: ShareMount = .none) {
            self.path = path
            self.mount = mount
        }
    }

    /// How the share is mounted on the host. The agent does not mount it; this records the
    /// admin's choice so that status output and support can say what to check.
    public enum ShareMount: Sendable, Equatable, CustomStringConvertible {
        /// Kernel cifs through this systemd mount unit (`mnt-appattach.mount`).
        case cifs(unit: String)
        /// A Samba share reached through FUSE (smbnetfs), where the kernel has no cifs.
        case smbnetfs
        /// Mounted by other means, or a local directory.
        case none

        public var description: String {
            switch self {
            case .cifs(let unit): return unit
            case .smbnetfs: return "smbnetfs"
            case .none: return "none"
            }
        }
    }

    /// Whether a package must be signed by a trusted publisher to be staged.
    public enum SignaturePolicy: String, Sendable, Equatable, CaseIterable {
        /// Every package must carry a signature that `trustedPublishers` trusts (Azure Virtual
        /// Desktop's rule: the signing certificate's chain trusted on the host).
        case required
        /// Any package is staged, signed or not, by whomever; a signature that is there must
        /// still match the package's files (a package changed after signing is refused).
        case optional
    }

    /// The agent's log threshold, named as swift-log names its levels.
    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public var share: Share
    /// The host pool this host belongs to: the share's `hostpools/<pool>.toml`.
    public var pool: String
    /// The agent's persistent state (`state.db`).
    public var stateDirectory: String
    /// Mount points and the control socket; on tmpfs so they vanish at reboot.
    public var runtimeDirectory: String
    /// How long the PAM session hook lets a sign-in wait for regular registrations.
    public var logonTimeoutSeconds: Int
    /// How long after a user's last session ends the agent waits before deregistering, so that
    /// a quick reconnect finds the apps still registered.
    public var deregistrationGraceSeconds: Int
    /// How long deregistration waits for a package's running apps to end before it stops them
    /// and pushes their data.
    public var appStopGraceSeconds: Int = defaultAppStopGraceSeconds
    /// How many days the app data layers (`<state>/users/<uid>`) and records of an account
    /// that no longer exists are kept after the agent first saw it missing; 0 removes them at
    /// the next sweep. A uid that another account has taken is cleared at once regardless.
    public var removedAccountRetentionDays: Int = defaultRemovedAccountRetentionDays
    /// Events (the history `appattachctl history` shows) older than this many days are pruned
    /// from the state database.
    public var keepEventsDays: Int = defaultKeepEventsDays
    /// At most this many events are kept in the state database, the newest.
    public var keepEvents: Int = defaultKeepEvents
    public var logLevel: LogLevel
    /// Whether packages must be signed (`signature`).
    public var signaturePolicy: SignaturePolicy = defaultSignaturePolicy
    /// What a signature must chain to (`trusted_publishers`): `system` (the host's CA store) or
    /// a directory of certificates.
    public var trustedPublishers: String = defaultTrustedPublishers

    /// Whether the agent writes this host's report to `<share>/hosts/<host>.json` (the fleet
    /// view); it needs write access there.
    public var reportToShare: Bool = true

    /// Where the agent writes its metrics for node_exporter's textfile collector (nil: nowhere).
    /// Written only while the file's directory exists.
    public var metricsTextfile: String? = defaultMetricsTextfile
    public static let defaultMetricsTextfile = "/var/lib/prometheus/node-exporter/appattach.prom"

    public static let defaultSignaturePolicy = SignaturePolicy.required
    public static let defaultTrustedPublishers = "system"
    public static let defaultStateDirectory = "/var/lib/appattach"
    public static let defaultRuntimeDirectory = "/run/appattach"
    public static let defaultLogonTimeoutSeconds = 30
    public static let defaultDeregistrationGraceSeconds = 10
    public static let defaultAppStopGraceSeconds = 10
    public static let defaultRemovedAccountRetentionDays = 30
    public static let defaultKeepEventsDays = 30
    public static let defaultKeepEvents = 100_000
    public static let defaultLogLevel = LogLevel.info

    public init(share: Share, pool: String,
                stateDirectory: String = defaultStateDirectory,
                runtimeDirectory: String = defaultRuntimeDirectory,
                logonTimeoutSeconds: Int = defaultLogonTimeoutSeconds,
                deregistrationGraceSeconds: Int = defaultDeregistrationGraceSeconds,
                logLevel: LogLevel = defaultLogLevel) {
        self.share = share
        self.pool = pool
        self.stateDirectory = stateDirectory
        self.runtimeDirectory = runtimeDirectory
        self.logonTimeoutSeconds = logonTimeoutSeconds
        self.deregistrationGraceSeconds = deregistrationGraceSeconds
        self.logLevel = logLevel
    }

    /// The host-pool file this host follows.
    public var hostPoolPath: String { HostPoolDefinition.path(share: share.path, pool: pool) }
}
