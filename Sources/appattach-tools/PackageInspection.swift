import Foundation
import MSIX

/// Prints what a package holds: its report as text, or as pretty JSON with sorted keys.
func inspectPackage(path: String, json: Bool) throws {
    let report = PackageReport(package: try MSIXPackage.open(path))
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
        print(report.text, terminator: "")
    }
}
