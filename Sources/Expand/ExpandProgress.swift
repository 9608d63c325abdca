import Foundation
import Glibc

/// Receives progress from a running expansion.
public protocol ExpandProgress: AnyObject {
    /// A new step starts (`verify`, `unpack`, `permissions`, `filesystem`, `container`).
    func begin(step: String, item: String, index: Int, count: Int)
    /// Bytes written so far in the current unpack step.
    func advance(bytes: UInt64)
    /// The image is complete.
    func finish()
}

/// Draws one self-overwriting status line on a terminal (standard error), at most ten times a
/// second, and nothing at all when standard error is not a terminal.
public final class TerminalProgress: ExpandProgress {
    private var step = ""
    private var item = ""
    private var lastDraw: Double = 0
    private let enabled: Bool
    private let started: Double

    public init(enabled: Bool = isatty(2) == 1) {
        self.enabled = enabled
        self.started = Self.now()
    }

    public func begin(step: String, item: String, index: Int, count: Int) {
        self.step = step
        self.item = item.split(separator: "/").last.map(String.init) ?? item
        let position = count > 1 ? " (\(index + 1)/\(count))" : ""
        draw("\(step) \(self.item)\(position)", force: true)
    }

    public func advance(bytes: UInt64) {
        draw("\(step) \(item): \(bytes >> 20) MiB", force: false)
    }

    public func finish() {
        guard enabled else { return }
        let text = "\r\u{1B}[K"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    private func draw(_ text: String, force: Bool) {
        guard enabled else { return }
        let t = Self.now()
        guard force || t - lastDraw >= 0.1 else { return }
        lastDraw = t
        let line = "\r\u{1B}[K[\(String(format: "%5.1f", t - started))s] \(text)"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
