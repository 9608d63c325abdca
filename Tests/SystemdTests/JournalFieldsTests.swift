import Logging
import Systemd
import Testing

/// How swift-log events become journal fields.
@Suite struct JournalFieldsTests {
    static func fields(_ metadata: Logger.Metadata?, level: Logger.Level = .info, error: (any Error)? = nil) -> [JournalField] {
        JournalFields.fields(label: "appattachd", level: level, message: "hello", metadata: metadata, error: error,
                             file: "Agent/Main.swift", function: "run()", line: 42)
    }

    static func value(_ name: String, in fields: [JournalField]) -> String? {
        fields.first { $0.name == name }?.value
    }

    @Test func fixedFieldsComeFirst() {
        #expect(Self.fields(nil) == [
            JournalField("MESSAGE", "hello"), JournalField("PRIORITY", "6"),
            JournalField("SYSLOG_IDENTIFIER", "appattachd"), JournalField("CODE_FILE", "Agent/Main.swift"),
            JournalField("CODE_LINE", "42"), JournalField("CODE_FUNC", "run()"),
        ])
    }

    @Test(arguments: [(Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"),
                      (.warning, "4"), (.error, "3"), (.critical, "2")])
    func priorityFollowsSyslog(level: Logger.Level, priority: String) {
        #expect(Self.value("PRIORITY", in: Self.fields(nil, level: level)) == priority)
    }

    @Test func metadataKeysBecomeJournalFieldNames() {
        let fields = Self.fields(AgentEvent.signInSeen.metadata([
            "appattach.package": "Demo_1.0.0.0_x64__8wekyb3d8bbwe", "appattach.user": "alice",
            "appattach.duration_usec": .stringConvertible(1234),
        ]))
        #expect(Self.value("MESSAGE_ID", in: fields) == "cd0b98592d164be69f140eddc668d851")
        #expect(Self.value("APPATTACH_PACKAGE", in: fields) == "Demo_1.0.0.0_x64__8wekyb3d8bbwe")
        #expect(Self.value("APPATTACH_USER", in: fields) == "alice")
        #expect(Self.value("APPATTACH_DURATION_USEC", in: fields) == "1234")
        // Sorted by name after the fixed fields, so entries are stable.
        #expect(fields.dropFirst(6).map(\.name)
            == ["APPATTACH_DURATION_USEC", "APPATTACH_PACKAGE", "APPATTACH_USER", "MESSAGE_ID"])
    }

    @Test(arguments: [
        ("image.id", "IMAGE_ID"), ("appattach.loop-device", "APPATTACH_LOOP_DEVICE"), ("_hidden", "HIDDEN"),
        ("__", "METADATA"), ("2fa", "F2FA"), ("priority", "METADATA_PRIORITY"), ("message", "METADATA_MESSAGE"),
        ("grüße", "GR__E"), (String(repeating: "k", count: 80), String(repeating: "K", count: 64)),
    ])
    func fieldNamesAreValidForJournald(key: String, expected: String) {
        let name = JournalFields.fieldName(forMetadataKey: key)
        #expect(name == expected)
        #expect(name.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
        #expect(!name.hasPrefix("_") && name.first?.isNumber == false && name.utf8.count <= 64)
    }

    @Test func nestedValuesAreFlattened() {
        let fields = Self.fields([
            "appattach.user": ["name": "alice", "uid": .stringConvertible(1000)],
            "appattach.packages": ["A_1", .array(["x", "y"])],
        ])
        #expect(Self.value("APPATTACH_USER_NAME", in: fields) == "alice")
        #expect(Self.value("APPATTACH_USER_UID", in: fields) == "1000")
        #expect(Self.value("APPATTACH_PACKAGES_0", in: fields) == "A_1")
        #expect(Self.value("APPATTACH_PACKAGES_1_0", in: fields) == "x")
        #expect(Self.value("APPATTACH_PACKAGES_1_1", in: fields) == "y")
    }

    struct FakeSystemCallError: Error, CustomStringConvertible {
        var call = "ioctl(LOOP_CONFIGURE)"
        var errno: Int32 = 16
        var description: String { "cannot attach: \(call): Device or resource busy" }
    }

    @Test func errorsGiveErrorAndErrno() {
        let fields = Self.fields(nil, level: .error, error: FakeSystemCallError())
        #expect(Self.value("ERROR", in: fields) == "cannot attach: ioctl(LOOP_CONFIGURE): Device or resource busy")
        #expect(Self.value("ERRNO", in: fields) == "16")
        struct Plain: Error {}
        #expect(Self.value("ERRNO", in: Self.fields(nil, error: Plain())) == nil)
    }

    @Test func multiLineValuesAreKept() {
        #expect(Self.value("APPATTACH_DETAIL", in: Self.fields(["appattach.detail": "a\nb"])) == "a\nb")
    }
}

/// The handler: swift-log's value-semantics contract and metadata precedence.
@Suite struct JournalLogHandlerTests {
    static let destination = JournalDestination(mode: .standardError)

    /// The test from swift-log's "Implementing a log handler" guide, without the global bootstrap.
    @Test func logHandlerValueSemantics() {
        var logger1 = Logger(label: "first logger") { JournalLogHandler(label: $0, destination: Self.destination) }
        logger1.logLevel = .debug
        logger1[metadataKey: "only-on"] = "first"

        var logger2 = logger1
        logger2.logLevel = .error
        logger2[metadataKey: "only-on"] = "second"

        #expect(logger1.logLevel == .debug)
        #expect(logger2.logLevel == .error)
        #expect(logger1[metadataKey: "only-on"] == "first")
        #expect(logger2[metadataKey: "only-on"] == "second")
    }

    @Test func eventMetadataWinsOverProviderOverHandler() {
        var handler = JournalLogHandler(label: "appattachd", destination: Self.destination,
                                        metadataProvider: .init { ["appattach.phase": "provider", "appattach.image": "img"] })
        handler.metadata = ["appattach.phase": "handler", "appattach.user": "alice"]
        let event = LogEvent(level: .info, message: "m", metadata: ["appattach.phase": "event"], source: "Test",
                             file: "f.swift", function: "g()", line: 1)
        let fields = handler.fields(for: event)
        #expect(fields.first { $0.name == "APPATTACH_PHASE" }?.value == "event")
        #expect(fields.first { $0.name == "APPATTACH_IMAGE" }?.value == "img")
        #expect(fields.first { $0.name == "APPATTACH_USER" }?.value == "alice")
        #expect(fields.first { $0.name == "SYSLOG_IDENTIFIER" }?.value == "appattachd")
    }

    @Test func standardErrorLineIsReadable() {
        let fields = JournalFields.fields(label: "appattachd", level: .warning, message: "busy",
                                          metadata: ["appattach.image": "abc"], file: "F.swift", function: "f()", line: 3)
        #expect(JournalDestination.standardErrorLine(fields) == "appattachd: warning: busy APPATTACH_IMAGE=abc\n")
    }
}

/// A SystemdError names the action, the call and the reason, and its errno reaches ERRNO.
@Suite struct SystemdErrorTests {
    @Test func descriptionAndErrno() {
        let error = SystemdError("subscribe to org.freedesktop.login1 SessionNew", call: "sd_bus_match_signal", result: -13)
        #expect(error.description
            == "cannot subscribe to org.freedesktop.login1 SessionNew: sd_bus_match_signal: Permission denied")
        let fields = JournalFields.fields(label: "t", level: .error, message: "m", metadata: nil, error: error,
                                          file: "f", function: "g", line: 1)
        #expect(fields.first { $0.name == "ERRNO" }?.value == "13")
        let bus = SystemdError("read x", call: "sd_bus_call", result: -6,
                               busError: "org.freedesktop.DBus.Error.UnknownObject: Unknown object")
        #expect(bus.description == "cannot read x: sd_bus_call: org.freedesktop.DBus.Error.UnknownObject: Unknown object")
    }
}
