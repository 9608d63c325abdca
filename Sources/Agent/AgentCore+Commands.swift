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
            await handle(connection)
            status.publish(statusLine)
        case .deregistrationDue(let timer):
            await deregistrationDue(timer)
            status.publish(statusLine)
        case .checkHostPool:
            if refreshHostPool() { status.publish(statusLine) }
        case .retryDestage:
            stager.retryPendingDestages()
        case .shutdown:
            break
        }
        return []
    }
}
