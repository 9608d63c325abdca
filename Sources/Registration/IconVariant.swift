/// One file of a logo as MSIX ships it: `Assets/AppList.png` is stored as variants named by
/// resource qualifiers, `AppList.scale-200.png`, `AppList.targetsize-48_altform-unplated.png`,
/// `AppList.contrast-black_scale-100.png`, which Windows picks from at run time. Linux icon
/// themes instead want one file per pixel size, so registration reads each variant's real
/// size and sorts them into `hicolor` size directories.
struct IconVariant: Equatable, Sendable {
    /// Path inside the package, `/`-separated.
    var path: String
    /// Pixel width and height for PNG; nil for SVG (scalable).
    var size: Int?
    /// `altform-unplated`: drawn without the coloured plate, which looks right on a Linux menu.
    var unplated: Bool

    /// The standard sizes of the hicolor theme (its index.theme), where menus look.
    static let themeSizes = [16, 22, 24, 32, 36, 48, 64, 72, 96, 128, 192, 256, 512]

    /// The variants of `logo` (a manifest path with Windows separators) among `names`, the
    /// files of the logo's directory. High-contrast variants are left out: they are for a
    /// Windows accessibility theme and look wrong elsewhere.
    static func candidates(of logo: String, in names: [String]) -> [(name: String, unplated: Bool)] {
        let file = logo.split(separator: "\\").last.map(String.init) ?? logo
        guard let dot = file.lastIndex(of: ".") else { return [] }
        let stem = file[..<dot].lowercased() + "."
        let ext = file[dot...].lowercased()
        guard ext == ".png" || ext == ".svg" else { return [] }
        var found: [(String, Bool)] = []
        for name in names.sorted() {
            let lower = name.lowercased()
            guard lower.hasSuffix(ext) else { continue }
            if lower == stem.dropLast() + ext { found.append((name, false)); continue }
            guard lower.hasPrefix(stem) else { continue }
            let qualifiers = lower.dropFirst(stem.count).dropLast(ext.count).split(separator: "_")
            guard !qualifiers.isEmpty, qualifiers.allSatisfy({ $0.contains("-") }),
                  !qualifiers.contains(where: { $0.hasPrefix("contrast-") }) else { continue }
            found.append((name, qualifiers.contains { $0.hasPrefix("altform-") && $0.hasSuffix("unplated") }))
        }
        return found
    }

    /// Width of a PNG whose IHDR says it is square, from its first 24 bytes; nil otherwise.
    static func squarePNGSize(_ header: [UInt8]) -> Int? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard header.count >= 24, Array(header[0..<8]) == signature, Array(header[12..<16]) == Array("IHDR".utf8) else { return nil }
        func be32(_ at: Int) -> Int { header[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        let width = be32(16), height = be32(20)
        return width == height && width > 0 && width <= 4096 ? width : nil
    }

    /// One variant per theme size directory: the closest in pixels, a larger one counting as
    /// closer than a smaller one (shrinking looks better than enlarging), unplated on a tie;
    /// only sizes with a variant within a factor of two get one.
    static func byThemeSize(_ variants: [IconVariant]) -> [ThemeSize: IconVariant] {
        var chosen: [ThemeSize: IconVariant] = [:]
        if let svg = variants.first(where: { $0.size == nil }) { chosen[.scalable] = svg }
        for target in themeSizes {
            let near = variants.compactMap { v -> (IconVariant, Int)? in
                guard let size = v.size, size * 2 >= target, size <= target * 2 else { return nil }
                return (v, size >= target ? size - target : (target - size) * 2)
            }
            if let best = near.min(by: { ($0.1, $0.0.unplated ? 0 : 1) < ($1.1, $1.0.unplated ? 0 : 1) }) {
                chosen[.pixels(target)] = best.0
            }
        }
        return chosen
    }
}

/// A size directory of an icon theme: `48x48` or `scalable`.
enum ThemeSize: Hashable, Sendable {
    case pixels(Int)
    case scalable

    var directory: String {
        switch self {
        case .pixels(let n): "\(n)x\(n)"
        case .scalable: "scalable"
        }
    }

    /// The size whose file a desktop entry names by path: scalable, else the largest up to
    /// 256 pixels (menus and docks draw at most that), else the smallest.
    static func preferred(_ sizes: some Collection<ThemeSize>) -> ThemeSize? {
        if sizes.contains(.scalable) { return .scalable }
        let numbers = sizes.compactMap { if case .pixels(let n) = $0 { n } else { nil } }
        if let best = numbers.filter({ $0 <= 256 }).max() { return .pixels(best) }
        return numbers.min().map { .pixels($0) }
    }
}
