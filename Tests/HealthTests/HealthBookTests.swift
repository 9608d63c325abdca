import Foundation
import Health
import Testing

@Suite("A host's health from the packages it could not stage")
struct HealthBookTests {
    @Test("a host with nothing failed is healthy, exit status 0")
    func healthyWhenNothingFailed() {
        let book = HealthBook()
        #expect(book.report.state == .healthy)
        #expect(book.report.state.exitStatus == 0)
        #expect(book.report.summary == "Healthy")
    }

    @Test("each policy makes what AVD says of it: Unhealthy 2, NeedsAssistance 1, DoNotFail logged only")
    func policies() {
        for (policy, state, status) in [(HealthPolicy.unhealthy, HostHealth.unhealthy, Int32(2)),
                                        (.needsAssistance, .needsAssistance, 1), (.doNotFail, .healthy, 0)] {
            var book = HealthBook()
            book.failed("a", package: "App_pub", image: "a.vhdx", policy: policy, reason: "a.vhdx: no such file")
            #expect(book.report.state == state)
            #expect(book.report.state.exitStatus == status)
            #expect(book.report.problems.map(\.reason) == ["a.vhdx: no such file"])
        }
    }

    @Test("the worst policy among the failures decides; striking one out gives the next worst")
    func worstDecides() {
        var book = HealthBook()
        let changed1 = book.failed("c", package: "C_pub", image: "c.vhdx", policy: .doNotFail, reason: "r")
        #expect(!changed1)
        let changed2 = book.failed("b", package: "B_pub", image: "b.vhdx", policy: .needsAssistance, reason: "r")
        #expect(changed2)
        let changed3 = book.failed("a", package: "A_pub", image: "a.vhdx", policy: .unhealthy, reason: "r")
        #expect(changed3)
        #expect(book.report.state == .unhealthy)
        #expect(book.report.problems.map(\.package) == ["A_pub", "B_pub", "C_pub"])
        #expect(book.report.summary == "Unhealthy: 1 package(s) not staged (A_pub)")
        let changed4 = book.staged("a")
        #expect(changed4)
        #expect(book.report.state == .needsAssistance)
        let changed5 = book.staged("x")
        #expect(!changed5)
        let changed6 = book.staged("b")
        #expect(changed6)
        #expect(book.report.state == .healthy)
        #expect(book.report.summary == "Healthy (1 package(s) failed under DoNotFail)")
    }

    @Test("a failure seen again keeps when it was first seen and takes the latest reason")
    func repeatedFailure() {
        var book = HealthBook()
        let first = Date(timeIntervalSince1970: 1_000)
        book.failed("a", package: "A_pub", image: "a.vhdx", policy: .unhealthy, reason: "share away", at: first)
        let changed7 = book.failed("a", package: "A_pub", image: "a.vhdx", policy: .unhealthy, reason: "refused",
                            at: first.addingTimeInterval(60))
        #expect(!changed7)
        #expect(book.report.problems.first?.since == first)
        #expect(book.report.problems.first?.reason == "refused")
    }

    @Test("a new host pool keeps only the failures of its active entries, under their new policies")
    func newPool() {
        var book = HealthBook()
        book.failed("a", package: "A_pub", image: "a.vhdx", policy: .unhealthy, reason: "r")
        book.failed("b", package: "B_pub", image: "b.vhdx", policy: .needsAssistance, reason: "r")
        let changed8 = book.keep(only: ["b": .doNotFail, "z": .unhealthy])
        #expect(changed8)
        #expect(book.failedKeys == ["b"])
        #expect(book.report.state == .healthy)
    }

    @Test("the report round-trips through JSON as the control socket and the share carry it")
    func json() throws {
        var book = HealthBook()
        book.failed("a", package: "A_pub", image: "a.vhdx", policy: .needsAssistance, reason: "r",
                    at: Date(timeIntervalSince1970: 1_700_000_000))
        let data = try JSONEncoder().encode(book.report)
        #expect(try JSONDecoder().decode(HealthReport.self, from: data) == book.report)
        #expect(String(decoding: data, as: UTF8.self).contains("\"NeedsAssistance\""))
    }
}
