import Foundation
import TestSupport

/// Paths of the shared MSIX fixtures, and small helpers the tests share.
enum Fixture {
    static func path(_ name: String) -> String { TestEnvironment.msixFixtures + "/" + name }
    static let valid = ["CentennialCoffee.appx", "TestAppxPackage_x64.appx", "TestLinux.msix", "existingPackage.msix"]

    /// Runs Python with `script`, passing `arguments`; returns stdout. Fails the caller on a non-zero exit.
    static func python(_ script: String, _ arguments: [String]) throws -> String {
        let result = try TestEnvironment.run(["python3", "-c", script] + arguments)
        guard result.status == 0 else { throw ScriptFailure(output: result.output) }
        return result.output
    }

    struct ScriptFailure: Error, CustomStringConvertible {
        let output: String
        var description: String { output }
    }

    /// Every regular file under `root`, relative path to contents and permission bits.
    static func tree(_ root: String) throws -> [String: (Data, Int)] {
        var result: [String: (Data, Int)] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)!
        while let relative = enumerator.nextObject() as? String {
            let full = root + "/" + relative
            let attributes = try FileManager.default.attributesOfItem(atPath: full)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
            result[relative] = (try Data(contentsOf: URL(fileURLWithPath: full)), mode)
        }
        return result
    }
}
