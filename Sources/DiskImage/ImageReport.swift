/// The report `appattachctl inspect` prints for a disk image: a stable `Codable` shape for
/// `--json`, and a readable text form.
public struct ImageReport: Codable, Equatable, Sendable {
    /// The filesystem found, and where.
    public struct Filesystem: Codable, Equatable, Sendable {
        public var type: FilesystemKind
        /// The partition number, or nil for a filesystem on the whole disk.
        public var partition: Int?
    }

    /// How the agent attaches the image.
    public struct Attach: Codable, Equatable, Sendable {
        /// True when one loop device with `offset` and `sizeLimit` maps the filesystem.
        public var mappable: Bool
        public var offset: UInt64?
        public var sizeLimit: UInt64?
        /// Why it is not mappable.
        public var reason: String?
    }

    public var image: String
    public var fileSize: UInt64
    public var container: ContainerKind
    public var virtualSize: UInt64
    public var blockSize: UInt64?
    public var logicalSectorSize: Int
    public var physicalSectorSize: Int?
    public var diskID: String?
    public var parent: String?
    public var partitionTable: PartitionTableKind
    public var partitionTableID: String?
    public var partitions: [PartitionInfo]
    public var filesystem: Filesystem
    public var attach: Attach

    public init(_ layout: ImageLayout) {
        image = layout.path
        fileSize = layout.fileSize
        container = layout.container
        virtualSize = layout.virtualSize
        blockSize = layout.blockSize
        logicalSectorSize = layout.logicalSectorSize
        physicalSectorSize = layout.physicalSectorSize
        diskID = layout.diskID
        parent = layout.parent
        partitionTable = layout.partitionTable
        partitionTableID = layout.partitionTableID
        partitions = layout.partitions
        filesystem = Filesystem(type: layout.filesystem, partition: layout.selectedPartition)
        attach = Attach(mappable: layout.mapping != nil, offset: layout.mapping?.offset, sizeLimit: layout.mapping?.size,
                        reason: layout.unmappableReason)
    }

    /// Human-readable lines, ending with a newline.
    public var text: String {
        var lines = [image]
        func row(_ label: String, _ value: String) { lines.append("  " + (label + ":").padding(18) + value) }
        var containerText = Self.containerNames[container] ?? container.rawValue
        var details: [String] = []
        if let blockSize { details.append("block size \(Self.size(blockSize))") }
        details.append("sectors \(logicalSectorSize)" + (physicalSectorSize.map { "/\($0)" } ?? ""))
        containerText += " (" + details.joined(separator: ", ") + ")"
        row("container", containerText)
        row("virtual size", "\(Self.size(virtualSize)) (\(virtualSize) bytes)")
        row("file size", "\(Self.size(fileSize)) (\(fileSize) bytes)")
        if let diskID { row("disk id", diskID) }
        if let parent { row("parent", parent) }
        switch partitionTable {
        case .none: row("partition table", "none (filesystem on the whole disk)")
        case .unknown: row("partition table", "not read")
        case .mbr, .gpt:
            row("partition table", partitionTable.rawValue.uppercased() + (partitionTableID.map { ", id \($0)" } ?? ""))
            for p in partitions {
                var line = "    #\(p.number)".padding(8) + "start \(Self.size(p.start))".padding(18) + "size \(Self.size(p.size))".padding(18)
                line += p.typeName == "unknown" ? p.type : "\(p.typeName) (\(p.type))"
                if let name = p.name, !name.isEmpty { line += " \"\(name)\"" }
                if p.number == filesystem.partition { line += "  <- filesystem" }
                lines.append(line)
            }
        }
        row("filesystem", filesystem.type.rawValue + (filesystem.partition.map { " in partition \($0)" } ?? ""))
        if attach.mappable, let offset = attach.offset, let sizeLimit = attach.sizeLimit {
            row("loop device", "offset \(offset), sizelimit \(sizeLimit)")
        } else {
            row("loop device", "cannot map: " + (attach.reason ?? "no filesystem range"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let containerNames: [ContainerKind: String] = [
        .raw: "raw", .vhdFixed: "VHD, fixed", .vhdDynamic: "VHD, dynamic", .vhdDifferencing: "VHD, differencing",
        .vhdxFixed: "VHDX, fixed", .vhdxDynamic: "VHDX, dynamic", .vhdxDifferencing: "VHDX, differencing",
    ]

    /// `300 MiB`, `1.5 GiB`, `512 B`: binary units, at most one decimal.
    static func size(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var unit = 0
        var scaled = Double(bytes)
        while scaled >= 1024, unit < units.count - 1, bytes % 1024 == 0 || scaled >= 10 * 1024 {
            scaled /= 1024
            unit += 1
        }
        let tenths = (scaled * 10).rounded()
        let text = tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(tenths / 10)
        return "\(text) \(units[unit])"
    }
}

extension String {
    /// Left-aligned in a field of `width` characters (longer text is kept whole).
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
