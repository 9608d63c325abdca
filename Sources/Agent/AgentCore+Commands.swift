import Systemd

extension AgentCore {
    /// Does one command of the event loop and hands systemd's status line on. Returns the
    /// deregistrations to schedule (the loop owns the timers). `.shutdown` is the loop's own
    /// business and does nothing here.
    func run(_ command: AgentCommand, status: StatusPublisher) async -> [DeregistrationTimer] {
        switch command {
        case .logind(let event):
            let timers = await handle(event)
            status.publish(statusLine)
            return timers
        case .request(let connection):
            let later = await handle(connection)
            status.publish(statusLine)
            return later
        case .registerSignIns:
            await registerQueuedSignIns()
            status.publish(statusLine)
        case .deregistrationDue(let timer):
            let again = await deregistrationDue(timer)
            status.publish(statusLine)
            return again
        case .checkHostPool:
            if refreshHostPool() { status.publish(statusLine) }
        case .retryDestage:
            stager.retryPendingDestages()
        case .sweepRemovedAccounts:
            sweepRemovedAccounts()
        case .shutdown:
            break
        }
        return []
    }
}
