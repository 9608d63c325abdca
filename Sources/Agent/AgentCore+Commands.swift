import Systemd

extension AgentCore {
    /// Does one command of the event loop and hands systemd's status line on. Returns the
    /// timers to run (the loop owns them). No command waits for work in a user's home: it is
    /// started, and comes back as `homeWorkDone`. `.shutdown` is the loop's own business and
    /// does nothing here.
    func run(_ command: AgentCommand, status: StatusPublisher) async -> [LoopTimer] {
        let timers: [LoopTimer]
        switch command {
        case .logind(let event): timers = await handle(event)
        case .request(let connection): timers = await handle(connection)
        case .registerSignIns: timers = await registerQueuedSignIns()
        case .deregistrationDue(let timer): timers = await deregistrationDue(timer)
        case .homeWorkDone(let done): timers = await finishHomeWork(done)
        case .homeWorkDue(let uid, let park): timers = await homeWorkDue(uid, park: park)
        case .homeThreadReturned(let uid): timers = await homeThreadReturned(uid)
        case .deregisterLeftovers: timers = await deregisterLeftovers()
        default:
            runHousekeeping(command, status: status)
            publishDesktopData()
            return []
        }
        status.publish(statusLine)
        publishDesktopData()
        return timers
    }

    /// The commands that touch no home.
    private func runHousekeeping(_ command: AgentCommand, status: StatusPublisher) {
        switch command {
        case .checkHostPool:
            startHostPoolRead()
        case .hostPoolRead(let read):
            hostPoolReadDone(read, status: status)
        case .retryDestage:
            // Not while a registration under way may register from an image nobody has
            // registered yet: the timer comes back.
            if imagesInUseByHomeWork.isEmpty { stager.retryPendingDestages() }
        case .sweepRemovedAccounts:
            sweepRemovedAccounts()
        case .retryFailedStaging:
            retryFailedStaging()
            status.publish(statusLine)
        case .writeMetrics:
            writeMetrics()
        case .reportHost:
            reportHostIfDue()
        case .stageBacklog:
            stageBacklogBatch()
            status.publish(statusLine)
        default:
            break
        }
    }
}
