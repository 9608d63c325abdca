import HostPool
import Testing
import TestSupport

@Suite("host config")
struct HostConfigTests {
    @Test("the shipped sample parses to what its comments say")
    func sampleParses() throws {
        let config = try HostConfig.load(path: TestEnvironment.projectRoot + "/config/appattach.toml")
        #expect(config.pool == "pool1")
        #expect(config.share == HostConfig.Share(path: "/mnt/appattach", mount: .cifs(unit: "mnt-appattach.mount")))
        #expect(config.stateDirectory == "/var/lib/appattach")
        #expect(config.runtimeDirectory == "/run/appattach")
        #expect(config.logonTimeoutSeconds == 30)
        #expect(config.deregistrationGraceSeconds == 10)
        #expect(config.appStopGraceSeconds == 10)
        #expect(config.removedAccountRetentionDays == 30)
        #expect(config.keepEventsDays == 30)
        #expect(config.keepEvents == 100_000)
        #expect(config.logLevel == .info)
        #expect(config.signaturePolicy == .required && config.trustedPublishers == "/etc/appattach/trusted-publishers")
        #expect(config.hostPoolPath == "/mnt/appattach/hostpools/pool1.toml")
        #expect(config.metricsTextfile == "/var/lib/prometheus/node-exporter/appattach.prom")
        #expect(config.reportToShare)
    }

    @Test("a minimal file gets the documented defaults")
    func defaults() throws {
        let config = try HostConfig.parse("pool = \"p\"\n[share]\npath = \"/srv/share/\"\n", displayName: "a.toml")
        #expect(config == HostConfig(share: .init(path: "/srv/share", mount: .none), pool: "p"))
        #expect(config.stateDirectory == "/var/lib/appattach")
        #expect(config.logonTimeoutSeconds == 30)
        #expect(config.removedAccountRetentionDays == HostConfig.defaultRemovedAccountRetentionDays)
        #expect(config.keepEventsDays == 30 && config.keepEvents == 100_000)
        #expect(config.logLevel == .info)
        #expect(config.signaturePolicy == .required && config.trustedPublishers == "system", "signatures required, as AVD")
        #expect(config.metricsTextfile == "/var/lib/prometheus/node-exporter/appattach.prom", "where Debian's node_exporter reads")
    }

    @Test("metrics.textfile = \"\" writes no metrics")
    func metricsOff() throws {
        let config = try HostConfig.parse(Self.base + "[metrics]\ntextfile = \"\"\n", displayName: "a.toml")
        #expect(config.metricsTextfile == nil)
    }

    @Test("every value can be set")
    func everyValue() throws {
        let config = try HostConfig.parse("""
            pool = "east-2"
            state_directory = "/srv/state"
            runtime_directory = "/run/aa"
            log_level = "debug"
            signature = "optional"
            trusted_publishers = "/etc/appattach/publishers/"
            [share]
            path = "/mnt/s"
            mount = "smbnetfs"
            report = false
            [registration]
            logon_timeout_seconds = 0
            [deregistration]
            grace_seconds = 300
            stop_apps_after_seconds = 0
            removed_account_retention_days = 0
            [state]
            keep_events_days = 7
            keep_events = 5000
            [metrics]
            textfile = "/srv/metrics/appattach.prom"
            """, displayName: "a.toml")
        var expected = HostConfig(share: .init(path: "/mnt/s", mount: .smbnetfs), pool: "east-2",
                                  stateDirectory: "/srv/state", runtimeDirectory: "/run/aa",
                                  logonTimeoutSeconds: 0, deregistrationGraceSeconds: 300, logLevel: .debug)
        expected.appStopGraceSeconds = 0
        expected.removedAccountRetentionDays = 0
        expected.keepEventsDays = 7
        expected.keepEvents = 5000
        expected.signaturePolicy = .optional
        expected.trustedPublishers = "/etc/appattach/publishers"
        expected.metricsTextfile = "/srv/metrics/appattach.prom"
        expected.reportToShare = false
        #expect(config == expected)
    }

    static let base = "pool = \"p\"\n[share]\npath = \"/mnt/s\"\n"

    @Test("bad input gives one line naming the file and line", arguments: [
        ("pool = \"p\"\n[share]\npath = \"relative/dir\"\n",
         "etc/a.toml:3: share.path must be an absolute path, not \"relative/dir\""),
        ("pool = \"p\"\n[share]\npath = 7\n",
         "etc/a.toml:3: share.path must be a string, not an integer"),
        ("pool = \"p\"\n[share]\nmount = \"none\"\n",
         "etc/a.toml:2: share.path is missing"),
        ("pool = \"p\"\n",
         "etc/a.toml: the [share] table is missing; it names where the share is mounted (share.path)"),
        ("[share]\npath = \"/mnt/s\"\n",
         "etc/a.toml: pool is missing"),
        ("pool = \"../etc/shadow\"\n[share]\npath = \"/mnt/s\"\n",
         "etc/a.toml:1: pool must be 1 to 64 characters from A-Z a-z 0-9 - _ . not starting with a dot, not \"../etc/shadow\""),
        (base + "mount = \"cifs://server/share\"\n",
         "etc/a.toml:4: share.mount must be \"none\", \"smbnetfs\" or a systemd cifs mount unit such as \"mnt-appattach.mount\", not \"cifs://server/share\""),
        (base + "[registration]\nlogon_timeout_seconds = 3600\n",
         "etc/a.toml:5: registration.logon_timeout_seconds must be from 0 to 600, not 3600"),
        (base + "[registration]\nlogon_timeout_seconds = \"30\"\n",
         "etc/a.toml:5: registration.logon_timeout_seconds must be an integer, not a string"),
        (base + "[deregistration]\ngrace_seconds = -1\n",
         "etc/a.toml:5: deregistration.grace_seconds must be from 0 to 86400, not -1"),
        (base + "[deregistration]\nremoved_account_retention_days = -1\n",
         "etc/a.toml:5: deregistration.removed_account_retention_days must be from 0 to 3650, not -1"),
        (base + "[deregistration]\nremoved_account_retention_days = 3651\n",
         "etc/a.toml:5: deregistration.removed_account_retention_days must be from 0 to 3650, not 3651"),
        (base + "[deregistration]\nremoved_account_retention_days = 1.5\n",
         "etc/a.toml:5: deregistration.removed_account_retention_days must be an integer, not a floating-point number"),
        (base + "[deregistration]\nretention_days = 5\n",
         "etc/a.toml:5: unknown key deregistration.retention_days (known keys: deregistration.grace_seconds, deregistration.removed_account_retention_days, deregistration.stop_apps_after_seconds)"),
        ("log_level = \"verbose\"\n" + base,
         "etc/a.toml:1: log_level must be \"trace\", \"debug\", \"info\", \"notice\", \"warning\", \"error\" or \"critical\", not \"verbose\""),
        (base + "[registration]\nlogon_timeout = 5\n",
         "etc/a.toml:5: unknown key registration.logon_timeout (known keys: registration.logon_timeout_seconds)"),
        ("pool = \"p\"\nstate_dir = \"/x\"\n[share]\npath = \"/mnt/s\"\n",
         "etc/a.toml:2: unknown key state_dir (known keys: deregistration, log_level, metrics, pool, registration, runtime_directory, share, signature, state, state_directory, trusted_publishers)"),
        (base + "[metrics]\ntextfile = \"/var/lib/node/appattach.txt\"\n",
         "etc/a.toml:5: metrics.textfile must end in .prom (node_exporter's textfile collector reads only those), not \"/var/lib/node/appattach.txt\""),
        (base + "[metrics]\ntextfile = \"appattach.prom\"\n",
         "etc/a.toml:5: metrics.textfile must be an absolute path, not \"appattach.prom\""),
        (base + "report = \"yes\"\n",
         "etc/a.toml:4: share.report must be true or false, not a string"),
        (base + "[metrics]\nfile = \"/x.prom\"\n",
         "etc/a.toml:5: unknown key metrics.file (known keys: metrics.textfile)"),
        (base + "[state]\nkeep_events_days = 0\n",
         "etc/a.toml:5: state.keep_events_days must be from 1 to 3650, not 0"),
        (base + "[state]\nkeep_events = 999\n",
         "etc/a.toml:5: state.keep_events must be from 1000 to 10000000, not 999"),
        (base + "[state]\nkeep_events = \"all\"\n",
         "etc/a.toml:5: state.keep_events must be an integer, not a string"),
        (base + "[state]\nkeep_days = 5\n",
         "etc/a.toml:5: unknown key state.keep_days (known keys: state.keep_events, state.keep_events_days)"),
        ("pool = \"p\"\nsignature = \"maybe\"\n[share]\npath = \"/mnt/s\"\n",
         "etc/a.toml:2: signature must be \"required\" or \"optional\", not \"maybe\""),
        ("pool = \"p\"\ntrusted_publishers = \"certs\"\n[share]\npath = \"/mnt/s\"\n",
         "etc/a.toml:2: trusted_publishers must be an absolute path, not \"certs\""),
        ("pool = \"p\"\nshare = \"/mnt/s\"\n",
         "etc/a.toml:2: share must be a table, not a string"),
        ("pool = \"p\"\n[share]\npath = \"/mnt/s\"\npath = \"/mnt/t\"\n",
         "etc/a.toml:4: Error while parsing key-value pair: cannot redefine existing string 'path'"),
    ])
    func badInput(text: String, expected: String) {
        #expect(throws: ConfigurationError.self) { try HostConfig.parse(text, displayName: "etc/a.toml") }
        do {
            _ = try HostConfig.parse(text, displayName: "etc/a.toml")
        } catch {
            #expect(error.description == expected)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test("a missing file is named with the reason")
    func missingFile() {
        do {
            _ = try HostConfig.load(path: "/nonexistent/appattach.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "/nonexistent/appattach.toml: cannot open: No such file or directory")
        }
    }
}
