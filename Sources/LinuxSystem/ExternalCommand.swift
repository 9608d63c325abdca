import Foundation
import Glibc

/// Runs a helper program from the distribution (mkfs.erofs, mkfs.ext4, …) and reports its
/// failure as one line: the program, its exit status and the last thing it said.
public struct ExternalCommand: Sendable {
    /// The program name as found on PATH, for example `mkfs.erofs`.
    public let program: String
    /// Its arguments.
    public let arguments: [String]
    /// The Debian package that provides it, named in the error when it is missing.
    public let package: String?

    public init(_ program: String, _ arguments: [String], package: String? = nil) {
        self.program = program
        self.arguments = arguments
        self.package = package
    }

    /// Why a command could not do its job.
    public struct Failure: AppAttachError {
        public let description: String
    }

    /// The absolute path of `program` on PATH (plus the sbin directories), or nil.
    public static func locate(_ program: String) -> String? {
        if program.hasPrefix("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the program, waits, and returns its standard output. Standard error is kept
    /// for the error message. Throws `Failure` when it cannot start or exits non-zero.
    @discardableResult
    public func run() throws -> String {
        guard let executable = Self.locate(program) else {
            let hint = package.map { " (install the Debian package \($0))" } ?? ""
            throw Failure(description: "\(program) not found\(hint)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure(description: "cannot start \(program): \(error.localizedDescription)")
        }
        // Read both pipes concurrently so that neither can fill up and block the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let said = String(decoding: errData.isEmpty ? outData : errData, as: UTF8.self)
                .split(separator: "\n").last.map(String.init) ?? ""
            let how = process.terminationReason == .exit
                ? "exit status \(process.terminationStatus)" : "signal \(process.terminationStatus)"
            throw Failure(description: "\(program) failed (\(how))\(said.isEmpty ? "" : ": \(said)")")
        }
        return String(decoding: outData, as: UTF8.self)
    }
}
