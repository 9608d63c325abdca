import Systemd
import Testing

/// The sign-in decision table, fed the event sequences logind produces.
@Suite struct SignInTrackerTests {
    static func session(_ id: String, uid: UInt32 = 1000, name: String = "alice",
                        class sessionClass: LogindSession.SessionClass = .user,
                        state: LogindSession.State = .active) -> LogindSession {
        LogindSession(id: id, objectPath: "/org/freedesktop/login1/session/_3\(id)", uid: uid, userName: name,
                      sessionClass: sessionClass, state: state)
    }

    /// Feeds events in order and collects every decision.
    static func decisions(_ events: [LogindEvent], into tracker: inout SignInTracker) -> [SignInDecision] {
        events.flatMap { tracker.handle($0) }
    }

    static func decisions(_ events: [LogindEvent]) -> [SignInDecision] {
        var tracker = SignInTracker()
        return decisions(events, into: &tracker)
    }

    @Test func oneSessionSignsInAndOut() {
        let got = Self.decisions([
            .userNew(uid: 1000),
            .sessionAdded(Self.session("3")),
            .sessionRemoved(sessionID: "3"),
            .userRemoved(uid: 1000),
        ])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedOut(uid: 1000, userName: "alice", reason: .lastSessionRemoved),
        ])
    }

    @Test func secondSessionNeitherSignsInAgainNorOutEarly() {
        var tracker = SignInTracker()
        #expect(Self.decisions([.sessionAdded(Self.session("3")), .sessionAdded(Self.session("4"))], into: &tracker)
            == [.signedIn(uid: 1000, userName: "alice", sessionID: "3")])
        #expect(tracker.countedSessions(of: 1000) == 2)
        #expect(Self.decisions([.sessionRemoved(sessionID: "3")], into: &tracker).isEmpty)
        #expect(Self.decisions([.sessionRemoved(sessionID: "4")], into: &tracker)
            == [.signedOut(uid: 1000, userName: "alice", reason: .lastSessionRemoved)])
    }

    /// With KillUserProcesses=no a session stays `closing` for as long as something of it runs.
    @Test func closingLastSessionSignsOutWithoutWaitingForRemoval() {
        var tracker = SignInTracker()
        _ = Self.decisions([.sessionAdded(Self.session("3")), .sessionAdded(Self.session("4"))], into: &tracker)
        #expect(Self.decisions([.sessionStateChanged(sessionID: "3", state: .closing)], into: &tracker).isEmpty)
        #expect(Self.decisions([.sessionStateChanged(sessionID: "4", state: .closing)], into: &tracker)
            == [.signedOut(uid: 1000, userName: "alice", reason: .lastSessionClosing)])
        // Hours later: nothing more to decide.
        #expect(Self.decisions([.sessionRemoved(sessionID: "3"), .sessionRemoved(sessionID: "4"),
                                .userRemoved(uid: 1000)], into: &tracker).isEmpty)
        #expect(tracker.sessions.isEmpty)
    }

    @Test func newSessionWhileAnOldOneIsClosingSignsInAgain() {
        let got = Self.decisions([
            .sessionAdded(Self.session("3")),
            .sessionStateChanged(sessionID: "3", state: .closing),
            .sessionAdded(Self.session("5")),
        ])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedOut(uid: 1000, userName: "alice", reason: .lastSessionClosing),
            .signedIn(uid: 1000, userName: "alice", sessionID: "5"),
        ])
    }

    @Test func stateChangesBetweenLiveStatesDecideNothing() {
        let got = Self.decisions([
            .sessionAdded(Self.session("3", state: .opening)),
            .sessionStateChanged(sessionID: "3", state: .online),
            .sessionStateChanged(sessionID: "3", state: .active),
            .sessionStateChanged(sessionID: "3", state: .active),
        ])
        #expect(got == [.signedIn(uid: 1000, userName: "alice", sessionID: "3")])
    }

    @Test(arguments: [LogindSession.SessionClass.greeter, .lockScreen, .background, .manager,
                      LogindSession.SessionClass(rawValue: "user-incomplete")])
    func sessionsOfOtherClassesDoNotCount(_ sessionClass: LogindSession.SessionClass) {
        let got = Self.decisions([
            .userNew(uid: 1000),
            .sessionAdded(Self.session("c1", class: sessionClass)),
            .sessionStateChanged(sessionID: "c1", state: .closing),
            .sessionRemoved(sessionID: "c1"),
            .userRemoved(uid: 1000),
        ])
        #expect(got.isEmpty)
    }

    @Test func userEarlyCounts() {
        #expect(Self.decisions([.sessionAdded(Self.session("3", class: .userEarly))])
            == [.signedIn(uid: 1000, userName: "alice", sessionID: "3")])
    }

    /// The manager session of user@.service (systemd 256+) outlives the user's real session
    /// and must not keep them signed in.
    @Test func managerSessionDoesNotHoldTheUserSignedIn() {
        let got = Self.decisions([
            .sessionAdded(Self.session("2", class: .manager)),
            .sessionAdded(Self.session("3")),
            .sessionStateChanged(sessionID: "3", state: .closing),
        ])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedOut(uid: 1000, userName: "alice", reason: .lastSessionClosing),
        ])
    }

    @Test func sessionAlreadyClosingWhenSeenDoesNotSignIn() {
        #expect(Self.decisions([.sessionAdded(Self.session("3", state: .closing))]).isEmpty)
    }

    @Test func userRemovedBeforeSessionRemovedSignsOutOnce() {
        let got = Self.decisions([
            .sessionAdded(Self.session("3")),
            .sessionAdded(Self.session("4")),
            .userRemoved(uid: 1000),
            .sessionRemoved(sessionID: "4"),
            .sessionRemoved(sessionID: "3"),
        ])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedOut(uid: 1000, userName: "alice", reason: .userRemoved),
        ])
    }

    @Test func eventsForUnknownSessionsAndUsersAreIgnored() {
        var tracker = SignInTracker()
        let got = Self.decisions([
            .sessionRemoved(sessionID: "9"),
            .sessionStateChanged(sessionID: "9", state: .closing),
            .userRemoved(uid: 1001),
            .userNew(uid: 1001),
        ], into: &tracker)
        #expect(got.isEmpty)
        #expect(tracker.sessions.isEmpty && tracker.signedIn.isEmpty)
    }

    /// The start-up enumeration and a SessionNew can report the same session twice.
    @Test func repeatedAddIsIdempotent() {
        let got = Self.decisions([.sessionAdded(Self.session("3")), .sessionAdded(Self.session("3")),
                                  .sessionRemoved(sessionID: "3")])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedOut(uid: 1000, userName: "alice", reason: .lastSessionRemoved),
        ])
    }

    @Test func usersAreIndependent() {
        let got = Self.decisions([
            .sessionAdded(Self.session("3")),
            .sessionAdded(Self.session("4", uid: 1001, name: "bob")),
            .sessionStateChanged(sessionID: "3", state: .closing),
            .sessionAdded(Self.session("5", uid: 1001, name: "bob")),
            .userRemoved(uid: 1000),
            .sessionRemoved(sessionID: "4"),
            .sessionStateChanged(sessionID: "5", state: .closing),
        ])
        #expect(got == [
            .signedIn(uid: 1000, userName: "alice", sessionID: "3"),
            .signedIn(uid: 1001, userName: "bob", sessionID: "4"),
            .signedOut(uid: 1000, userName: "alice", reason: .lastSessionClosing),
            .signedOut(uid: 1001, userName: "bob", reason: .lastSessionClosing),
        ])
    }
}
