import DiskImage
import Foundation

/// Prints the layout of the disk image at `path` (raw, VHD or VHDX): container, virtual disk,
/// partitions, filesystem and the loop device mapping, as text or as JSON (`ImageReport`).
/// Throws `DiskImageError` for images that are corrupt or must not be used.
func inspectImage(path: String, json: Bool) throws {
    let report = ImageReport(try DiskImageReader.inspect(path))
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
    } else {
        FileHandle.standardOutput.write(Data(report.text.utf8))
    }
}
