import Glibc
import LinuxSystem

/// Which version of a profile copy is there: each push gives the copy it writes a new random
/// generation, in the small file `.appattach-generation` at the copy's top, beside `config`,
/// `data` and `state`. It is written into the temporary copy before the swap, so it changes
/// atomically with the data; restores never copy it into a layer.
enum ProfileGeneration {
    /// The generation file's name inside a profile copy.
    static let fileName = ".appattach-generation"

    /// A new generation: 128 random bits, as 32 lower-case hex digits.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// Writes `generation` into `copy` (the copy under its temporary name; the caller makes it
    /// durable with the rest of the copy).
    static func write(_ generation: String, into copy: OpenDirectory) throws(SystemCallError) {
        try copy.writeSmallFile(fileName, Array((generation + "\n").utf8), durable: false)
    }

    /// What is at `name` in `parent` (the profile copies' directory).
    static func state(of name: String, in parent: OpenDirectory) throws(SystemCallError) -> ProfileState {
        guard let st = try parent.status(of: name) else { return .absent }
        guard st.st_mode & S_IFMT == S_IFDIR, let copy = try parent.openDirectory(name) else { return .other }
        let bytes: [UInt8]?
        do { bytes = try copy.readSmallFile(fileName, limit: 256) } catch where [EINVAL, ELOOP, EFBIG].contains(error.errno) {
            return .other
        }
        guard let bytes else { return .unversioned }
        return .generation(String(decoding: bytes, as: UTF8.self).trimmingWhitespace)
    }
}

/// What a profile copy's name holds, for deciding whether a layer may replace it.
enum ProfileState: Equatable, Sendable, CustomStringConvertible {
    /// Nothing: no push has been made (or someone removed it).
    case absent
    /// A copy pushed before copies had generations.
    case unversioned
    /// A copy of that generation.
    case generation(String)
    /// Something that is not a profile copy (a link, a file, an unreadable generation file).
    case other

    var description: String {
        switch self {
        case .absent: "no profile copy"
        case .unversioned: "a profile copy without a generation"
        case .generation(let id): "generation \(id)"
        case .other: "something other than a profile copy"
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
