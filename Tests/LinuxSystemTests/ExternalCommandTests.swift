import Testing
@testable import LinuxSystem

/// A helper program's output, and its failures as one line.
@Suite struct ExternalCommandTests {
    @Test func returnsStandardOutput() throws {
        #expect(try ExternalCommand("sh", ["-c", "echo one; echo two"]).run() == "one\ntwo\n")
    }

    @Test func bothPipesFullAtOnceDoNotBlock() throws {
        // More than a pipe holds (64 KiB) on both at once: reading only one would deadlock.
        let out = try ExternalCommand("sh", ["-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"]).run()
        #expect(out.utf8.count == 300_000)
    }

    @Test func failureNamesTheStatusAndTheLastLineSaid() {
        #expect(throws: ExternalCommand.Failure.self) { try ExternalCommand("sh", ["-c", "echo first >&2; echo last words >&2; exit 3"]).run() }
        do {
            try ExternalCommand("sh", ["-c", "echo first >&2; echo last words >&2; exit 3"]).run()
        } catch {
            #expect("\(error)" == "sh failed (exit status 3): last words")
        }
        do {
            try ExternalCommand("sh", ["-c", "kill -TERM $$"]).run()
            Issue.record("a killed program must fail")
        } catch {
            #expect("\(error)" == "sh failed (signal 15)")
        }
    }

    @Test func missingProgramNamesItsPackage() {
        do {
            try ExternalCommand("appattach-no-such-tool", [], package: "no-such-package").run()
            Issue.record("a missing program must fail")
        } catch {
            #expect("\(error)" == "appattach-no-such-tool not found (install the Debian package no-such-package)")
        }
    }

    @Test func standardInputIsEmpty() throws {
        #expect(try ExternalCommand("sh", ["-c", "cat; echo done"]).run() == "done\n")
    }
}
