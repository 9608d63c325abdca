import Foundation

/// A small, fast, deterministic random generator (SplitMix64), so every run and every machine
/// benchmarks the same bytes.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// Writes an app-like directory of about `megabytes` MiB: half incompressible (random, like
/// binaries and media in files of 256 KiB to 8 MiB), half compressible (text-like, in files of
/// 4 KiB to 512 KiB), in a few nested directories, plus an executable and a .desktop file.
enum BenchmarkData {
    static func makeAppDirectory(at root: String, megabytes: Int, seed: UInt64 = 42) throws -> (files: Int, bytes: Int) {
        let fm = FileManager.default
        try? fm.removeItem(atPath: root)
        try fm.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        var files = 0, bytes = 0
        let half = megabytes << 19
        let words = ["package", "attach", "session", "host", "image", "register", "stage", "user", "profile",
                     "share", "mount", "loop", "manifest", "block", "the", "of", "and", "to", "in", "is"]

        var written = 0
        while written < half {
            let size = min(rng.next(in: 256 << 10 ... 8 << 20), half - written + 4096)
            var data = Data(count: size)
            data.withUnsafeMutableBytes { raw in
                let words64 = raw.bindMemory(to: UInt64.self)
                for i in 0..<words64.count { words64[i] = rng.next() }
            }
            let dir = "\(root)/lib/part\(files % 7)"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: "\(dir)/blob\(files).bin"))
            written += size; files += 1; bytes += size
        }
        written = 0
        while written < half {
            let size = rng.next(in: 4 << 10 ... 512 << 10)
            var text = ""
            text.reserveCapacity(size + 16)
            while text.utf8.count < size {
                text += words[rng.next(in: 0...(words.count - 1))]
                text += rng.next() % 12 == 0 ? "\n" : " "
            }
            let dir = "\(root)/share/doc\(files % 13)"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: "\(dir)/text\(files).txt", atomically: false, encoding: .utf8)
            written += text.utf8.count; files += 1; bytes += text.utf8.count
        }
        try "#!/bin/sh\necho benchmark app\n".write(toFile: root + "/bin/bench-app", atomically: false, encoding: .utf8)
        chmod(root + "/bin/bench-app", 0o755)
        try "[Desktop Entry]\nType=Application\nName=Bench App\nExec=bin/bench-app\n"
            .write(toFile: root + "/bench-app.desktop", atomically: false, encoding: .utf8)
        return (files + 2, bytes)
    }
}
