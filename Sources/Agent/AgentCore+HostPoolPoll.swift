import Dispatch
import Foundation

/// The loop's look at the host-pool file every `hostPoolPollInterval`: the share is read on a
/// thread of its own (`hostPoolReader`), never on the loop, since a share that is away can
/// make a `stat` or a read wait for minutes; the loop applies what comes back. One look at a
/// time: while one waits, later polls are skipped, and after `shareAnswerDeadline` the journal
/// says that the share does not answer (once, and once when it answers again).
extension AgentCore {
    /// Starts a look at the file unless one is under way; with no loop (a test driving the
    /// core by hand), looks here and now.
    func startHostPoolRead(now: ContinuousClock.Instant = .now) {
        guard let enqueue else {
            hostPoolReadDone(hostPool.reader()(), status: nil)
            return
        }
        if let started = hostPoolReadStarted {
            if !shareSilenceReported, now - started >= settings.shareAnswerDeadline {
                shareSilenceReported = true
                logger.error("the share does not answer: reading \(hostPool.path) has not returned in \(now - started); the host pool in force stays, users are registered from what is staged")
            }
            return
        }
        hostPoolReadStarted = now
        let read = hostPool.reader(), before = beforeShareRead
        hostPoolReader.async {
            before?()
            enqueue(.hostPoolRead(read()))
        }
    }

    /// Applies a look that came back; the users who signed in while no pool was in force are
    /// registered when the first one comes into force.
    func hostPoolReadDone(_ read: HostPoolSource.Read, status: StatusPublisher?) {
        if let started = hostPoolReadStarted, shareSilenceReported {
            logger.notice("the share answers again (the read of \(hostPool.path) took \(ContinuousClock.now - started))")
        }
        hostPoolReadStarted = nil
        shareSilenceReported = false
        let hadPool = hostPool.definition != nil
        guard applyHostPool(read) else { return }
        status?.publish(statusLine)
        if !hadPool, hostPool.definition != nil { registerSignInsMissed() }
    }
}
