import Glibc
import CLinuxShims

/// A mutex with a condition variable (`pthread_mutex_t` + `pthread_cond_t`), for threads that
/// are not Swift tasks (see `UserFiles`). Both live in memory allocated once, as POSIX requires
/// for objects that must not move.
public final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// `monotonic`: `wait(untilMonotonic:)` counts on `CLOCK_MONOTONIC`, which setting the
    /// clock does not move.
    public init(monotonic: Bool = false) {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        if monotonic { pthread_condattr_setclock(&attributes, clockid_t(CLOCK_MONOTONIC)) }
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    /// Runs `body` with the lock held.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a signal, with the lock held on entry and on return.
    public func wait() { pthread_cond_wait(condition, mutex) }
    /// Waits for a signal or until `nanoseconds` on the condition's clock (`CLOCK_MONOTONIC`
    /// when made `monotonic`), with the lock held on entry and on return.
    public func wait(untilMonotonic nanoseconds: UInt64) {
        var time = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        _ = pthread_cond_timedwait(condition, mutex, &time)
    }
    /// Wakes one waiter.
    public func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts a detached POSIX thread named `name` (at most 15 bytes shown) that runs `body`.
/// For work that must stay on one kernel thread from start to end, which Swift tasks and
/// dispatch queues do not promise.
public func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    guard started == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        fatalError("cannot start thread \(name): \(String(cString: strerror(started)))")
    }
    _ = appattach_set_thread_name(thread, String(name.utf8.prefix(15)) ?? "appattach")
    pthread_detach(thread)
}
