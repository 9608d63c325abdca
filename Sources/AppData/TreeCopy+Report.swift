extension TreeCopy {
    /// What a copy did, and what it could not keep.
    public struct Report: Sendable, Equatable {
        /// Regular files copied.
        public var files = 0
        /// Directories, links and whiteouts made (markers included).
        public var otherEntries = 0
        /// Bytes of regular file data copied.
        public var bytes: UInt64 = 0
        /// What was left out, relative to the copy's root, with the reason.
        public var skipped: [String] = []
        /// Extended attributes the destination refused to hold: left out, the copy went on.
        public var droppedAttributes: [DroppedAttribute] = []
        /// Symbolic links the destination refused, stored as `.lnk.` markers instead.
        public var linksAsMarkers = 0
        /// Entries whose mode the destination did not keep (a FAT file system has none to keep).
        public var modesNotKept = 0
        /// The first of them, as `path (wanted 0640, has 0700)`.
        public var firstModeNotKept: String?

        public init() {}

        /// Adds `other`'s counts and lists.
        public mutating func add(_ other: Report) {
            files += other.files
            otherEntries += other.otherEntries
            bytes += other.bytes
            skipped += other.skipped
            droppedAttributes += other.droppedAttributes
            linksAsMarkers += other.linksAsMarkers
            modesNotKept += other.modesNotKept
            if firstModeNotKept == nil { firstModeNotKept = other.firstModeNotKept }
        }

        /// Prefixes every path in the report with `directory/` (for a tree copied as a part of
        /// a larger one, such as an area of a profile copy).
        public func within(_ directory: String) -> Report {
            var report = self
            report.skipped = skipped.map { directory + "/" + $0 }
            report.droppedAttributes = droppedAttributes.map {
                DroppedAttribute(path: $0.path.isEmpty ? directory : directory + "/" + $0.path, name: $0.name, reason: $0.reason)
            }
            report.firstModeNotKept = firstModeNotKept.map { directory + "/" + $0 }
            return report
        }
    }

    /// An extended attribute that the destination's file system refused, and why.
    public struct DroppedAttribute: Sendable, Equatable, CustomStringConvertible {
        /// The file or directory, relative to the copy's root ("" for the root).
        public var path: String
        /// The attribute, such as `user.xdg.origin.url`.
        public var name: String
        /// The file system's answer, such as `Operation not supported`.
        public var reason: String

        /// A dropped attribute.
        public init(path: String, name: String, reason: String) {
            self.path = path
            self.name = name
            self.reason = reason
        }

        public var description: String { "\(name) of \(path.isEmpty ? "." : path) (\(reason))" }
    }
}
