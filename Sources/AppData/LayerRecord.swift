import Glibc
import LinuxSystem

/// What a layer knows of the profile copy it came from and the one it went to: two small files
/// at the layer's top, beside the areas (no app sees them: the overlays use the areas only).
///
/// - `.appattach-origin`: the state of the profile copy the layer was restored from, written
///   before the layer takes its name: a generation, `none` (there was no profile copy) or
///   `unversioned` (a copy from before generations).
/// - `.appattach-pushed`: `<generation> <name>`, written durably before a push swaps its copy
///   in: the copy this layer is being pushed as. When the copy at `<name>` has that generation,
///   the push got that far and the layer only waits to be retired.
///
/// A layer made before records has neither: it is trusted only where it cannot replace
/// anything (no profile copy).
struct LayerRecord: Equatable {
    static let originFile = ".appattach-origin"
    static let pushedFile = ".appattach-pushed"

    /// The profile copy's state when the layer was made.
    enum Origin: Equatable {
        case none
        case unversioned
        case generation(String)
        /// A record that cannot be read as one: matches nothing.
        case unreadable

        init(_ state: ProfileState) {
            switch state {
            case .absent: self = .none
            case .unversioned: self = .unversioned
            case .generation(let id): self = .generation(id)
            case .other: self = .unreadable
            }
        }

        var text: String {
            switch self {
            case .none: "none"
            case .unversioned: "unversioned"
            case .generation(let id): id
            case .unreadable: "unreadable"
            }
        }
    }

    /// Nil for a layer made before records.
    var origin: Origin?
    /// The copy a push began to write from this layer.
    var pushed: (generation: String, name: String)?

    static func == (a: LayerRecord, b: LayerRecord) -> Bool {
        a.origin == b.origin && a.pushed?.generation == b.pushed?.generation && a.pushed?.name == b.pushed?.name
    }

    /// Whether the layer may replace a profile copy in `state`: it was made from that very
    /// copy (or from none, and there is none). A layer without records replaces nothing.
    func mayReplace(_ state: ProfileState) -> Bool {
        switch (origin, state) {
        case (nil, .absent), (.none?, .absent), (.unversioned?, .unversioned): true
        case (.generation(let a)?, .generation(let b)): a == b
        default: false
        }
    }

    /// The records of `layer`. A pushed record naming anything but `family` or one of its
    /// kept copies is ignored.
    static func read(_ layer: OpenDirectory, family: String) throws(SystemCallError) -> LayerRecord {
        var record = LayerRecord()
        if let text = try readText(originFile, in: layer) {
            switch text {
            case nil: record.origin = .unreadable
            case "none"?: record.origin = Origin.none
            case "unversioned"?: record.origin = .unversioned
            case let id?: record.origin = id.isEmpty ? .unreadable : .generation(id)
            }
        }
        if let text = try readText(pushedFile, in: layer), let text {
            let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[1] == family || parts[1].hasPrefix(family + AppDataLayout.keptInfix),
               AppDataLayout.isSafeComponent(parts[1]) {
                record.pushed = (parts[0], parts[1])
            }
        }
        return record
    }

    /// Records where a new layer came from (into the layer under its temporary name).
    static func writeOrigin(_ origin: Origin, into layer: OpenDirectory) throws(SystemCallError) {
        try layer.writeSmallFile(originFile, Array((origin.text + "\n").utf8), durable: false)
    }

    /// Records, durably, that the layer is being pushed as `generation` at `name`.
    static func writePushed(generation: String, name: String, into layer: OpenDirectory) throws(SystemCallError) {
        try layer.writeSmallFile(pushedFile, Array("\(generation) \(name)\n".utf8), durable: true)
    }

    /// Makes a pushed layer one restored from the copy it was pushed as (kept in use, see
    /// `LayerWork.prepare`); without `origin`, only forgets the push.
    static func adopt(_ origin: Origin?, in layer: OpenDirectory) throws(SystemCallError) {
        if let origin { try layer.writeSmallFile(originFile, Array((origin.text + "\n").utf8), durable: true) }
        try layer.remove(pushedFile)
        try layer.sync()
    }

    /// The trimmed text of `name`: nil when missing, `.some(nil)` when not readable as a record.
    private static func readText(_ name: String, in layer: OpenDirectory) throws(SystemCallError) -> String?? {
        do {
            guard let bytes = try layer.readSmallFile(name, limit: 512) else { return nil }
            return .some(String(decoding: bytes, as: UTF8.self).trimmingWhitespace)
        } catch where [EINVAL, ELOOP, EFBIG].contains(error.errno) {
            return .some(nil)
        }
    }
}
