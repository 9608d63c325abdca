import Testing
@testable import Agent

@Suite("event loop watch")
struct LoopWatchTests {
    @Test("alive while waiting and in a short command; not alive once one command runs past the limit; alive again after it")
    func aliveness() async throws {
        let watch = LoopWatch(limit: .milliseconds(200))
        #expect(watch.isAlive(), "waiting for work")
        let (inside, late) = await watch.command { () async -> (Bool, Bool) in
            let inside = watch.isAlive()
            try? await Task.sleep(for: .milliseconds(300))
            return (inside, watch.isAlive())
        }
        #expect(inside, "a command that just began")
        #expect(!late, "a command past the limit: the loop counts as stuck")
        #expect(watch.isAlive(), "the command ended")
        // Many quick commands in a row never stop the pings, however long the queue.
        for _ in 0..<5 {
            await watch.command { try? await Task.sleep(for: .milliseconds(60)) }
            #expect(watch.isAlive())
        }
    }
}
