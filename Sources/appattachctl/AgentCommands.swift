import CommandSupport
import ArgumentParser
import ControlProtocol
import Foundation

/// `appattachctl register USER [--wait]`: ask the agent to register a user's packages now.
struct RegisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a user's assigned packages now (root, or yourself).",
        discussion: "The agent does this by itself when a user signs in; this is for admins and scripts.")

    @Argument(help: ArgumentHelp("A user name or uid.", valueName: "user"))
    var user: String?

    @Flag(name: .customLong("self"), help: "Register yourself.")
    var ownAccount = false

    @Flag(name: .long, help: "Return when the registration is done, not when it is queued.")
    var wait = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let target = try UserChoice.resolve(user, ownAccount: ownAccount)
        let reply = try ControlClient().call(.register, RegisterParameters(user: target, wait: wait), as: UserRegistrationReply.self)
        try UserChoice.print(reply, verb: "registered", json: output.json)
    }
}

/// `appattachctl deregister USER|--self [--wait]`: ask the agent to deregister a user's packages.
struct DeregisterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deregister",
        abstract: "Deregister a user's packages now (root, or yourself with --self).",
        discussion: """
            The user unit appattach-user.service runs `appattachctl deregister --self --wait` when \
            the user's last session ends, while the home directory is still there.
            """)

    @Argument(help: ArgumentHelp("A user name or uid.", valueName: "user"))
    var user: String?

    @Flag(name: .customLong("self"), help: "Deregister yourself.")
    var ownAccount = false

    @Flag(name: .long, help: "Return when the deregistration is done, not when it is queued.")
    var wait = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let target = try UserChoice.resolve(user, ownAccount: ownAccount)
        // Deregistration at sign-out may wait behind other users' work: allow for it.
        let reply = try ControlClient(timeout: .seconds(120))
            .call(.deregister, DeregisterParameters(user: target, wait: wait), as: UserRegistrationReply.self)
        try UserChoice.print(reply, verb: "deregistered", json: output.json)
    }
}

/// The user argument of register and deregister.
enum UserChoice {
    /// The user to send: the name given, or nil (the agent takes the caller) with `--self`.
    static func resolve(_ user: String?, ownAccount: Bool) throws -> String? {
        switch (user, ownAccount) {
        case (nil, false): throw ValidationError("name a user, or pass --self")
        case (.some, true): throw ValidationError("name a user or pass --self, not both")
        case (let user, _): return user
        }
    }

    static func print(_ reply: UserRegistrationReply, verb: String, json: Bool) throws {
        if json { return Swift.print(try JSONOutput.encode(reply)) }
        guard reply.done else { return Swift.print("queued for \(reply.user) (\(reply.uid))") }
        if reply.packages.isEmpty { Swift.print("nothing \(verb) for \(reply.user) (\(reply.uid))") }
        for package in reply.packages { Swift.print("\(verb) \(package) for \(reply.user)") }
    }
}

/// `appattachctl history [-n N] [--json]`: the agent's recent events.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show the agent's recent events (root: all; others: their own).")

    @Option(name: .short, help: "How many events.")
    var n = 20

    @OptionGroup var output: OutputOptions

    func run() throws {
        let events = try Self.lastEvents(n, client: ControlClient())
        if output.json { return print(try JSONOutput.encode(events)) }
        for event in events {
            // Tenths of a millisecond, rounded, without Foundation's formatter.
            let duration = event.durationUsec.map { usec in
                let tenths = (usec + 50) / 100
                return " (\(tenths / 10).\(tenths % 10) ms)"
            } ?? ""
            let kind = event.kind + String(repeating: " ", count: max(0, 22 - event.kind.count))
            print("\(event.time.formatted(.iso8601))  \(kind) \(event.message)\(duration)")
        }
    }
}

extension HistoryCommand {
    /// The last `count` events, oldest first: one call for up to a page
    /// (`HistoryParameters.maximumLimit`), and for more, one call per page, newest first,
    /// each continuing where the one before ended (`next`), until `count` or the oldest.
    static func lastEvents(_ count: Int, client: ControlClient) throws -> [HistoryReply.Event] {
        var pages: [[HistoryReply.Event]] = []
        var wanted = max(count, 0)
        var before: Int64?
        repeat {
            let reply = try client.call(.history, HistoryParameters(limit: min(wanted, HistoryParameters.maximumLimit), before: before),
                                        as: HistoryReply.self)
            let page = Array(reply.events.suffix(wanted))
            pages.append(page)
            wanted -= page.count
            // An agent before paging sends no `next`; an empty page ends it too.
            guard let next = reply.next, !page.isEmpty else { break }
            before = next
        } while wanted > 0
        return pages.reversed().flatMap { $0 }
    }
}
