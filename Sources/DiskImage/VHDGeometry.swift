/// The cylinder/head/sector geometry stored in a VHD footer.
///
/// Virtual PC and qemu (for images whose creator is not on qemu's list of size-based writers)
/// take the disk size from this geometry rather than from the footer's current size, so a writer
/// that wants every reader to agree must pick a size that the geometry describes exactly.
public struct VHDGeometry: Equatable, Sendable, Codable {
    public var cylinders: UInt16
    public var heads: UInt8
    public var sectorsPerTrack: UInt8

    public init(cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
        self.cylinders = cylinders
        self.heads = heads
        self.sectorsPerTrack = sectorsPerTrack
    }

    /// Cylinders × heads × sectors per track.
    public var totalSectors: UInt64 { UInt64(cylinders) * UInt64(heads) * UInt64(sectorsPerTrack) }

    /// The largest geometry, 65535 × 16 × 255 (about 127 GiB). Readers use the footer's current
    /// size for disks with this geometry, because larger disks cannot be described by CHS.
    public static let maximum = VHDGeometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255)

    /// The geometry the VHD specification (Appendix "CHS Calculation") assigns to a disk of
    /// `totalSectors` 512-byte sectors. It may describe slightly fewer sectors than asked.
    public static func forSectors(_ totalSectors: UInt64) -> VHDGeometry {
        let total = min(totalSectors, maximum.totalSectors)
        var spt: UInt64, heads: UInt64, cth: UInt64
        if total >= 65535 * 16 * 63 {
            spt = 255; heads = 16; cth = total / spt
        } else {
            spt = 17; cth = total / spt
            heads = max((cth + 1023) / 1024, 4)
            if cth >= heads * 1024 || heads > 16 {
                spt = 31; heads = 16; cth = total / spt
            }
            if cth >= heads * 1024 {
                spt = 63; heads = 16; cth = total / spt
            }
        }
        return VHDGeometry(cylinders: UInt16(cth / heads), heads: UInt8(heads), sectorsPerTrack: UInt8(spt))
    }

    /// The smallest spec geometry that covers at least `sectors`, and the disk size in sectors it
    /// describes (qemu `vpc_create` searches the same way). Beyond the maximum geometry the size
    /// is `sectors` itself, since readers then use the footer's current size.
    public static func covering(sectors: UInt64) -> (geometry: VHDGeometry, sectors: UInt64) {
        if sectors >= maximum.totalSectors { return (maximum, sectors) }
        var candidate = sectors
        while true {
            let g = forSectors(candidate)
            if g.totalSectors >= sectors { return (g, g.totalSectors) }
            // The spec divides by at most 255 × 16 sectors per cylinder, so this loop ends
            // within a few thousand steps.
            candidate += 1
        }
    }
}
