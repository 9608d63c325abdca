import ZipArchive

extension MSIXPackage {
    /// A payload file paired with its block map entry.
    struct ListedFile {
        let part: Part
        let file: BlockMap.File
    }

    /// The checks that need no payload reads: the block map lists exactly the payload files
    /// plus the manifest, with the right sizes, local header sizes and block counts, and every
    /// part has a content type. Returns the listed files in block map order.
    func checkStructure() throws(MSIXError) -> [ListedFile] {
        var partsByPath: [String: Part] = [:]
        for part in parts { partsByPath[part.path] = part }
        var listed: [ListedFile] = []
        var listedPaths = Set<String>()
        for file in blockMap.files {
            let path = file.path
            guard listedPaths.insert(path).inserted else {
                throw MSIXError(.invalidBlockMap, file: self.path, "AppxBlockMap.xml lists '\(file.name)' twice")
            }
            guard let part = partsByPath[path] else {
                throw MSIXError(.invalidBlockMap, file: self.path, "AppxBlockMap.xml lists '\(file.name)', which is not in the package")
            }
            if part.isFootprint && path != Self.manifestName {
                throw MSIXError(.invalidBlockMap, file: self.path, "AppxBlockMap.xml lists footprint file '\(file.name)'")
            }
            try checkListing(file, of: part)
            listed.append(ListedFile(part: part, file: file))
        }
        for part in parts where !listedPaths.contains(part.path) && (!part.isFootprint || part.path == Self.manifestName) {
            throw MSIXError(.invalidBlockMap, file: path, "'\(part.path)' is in the package but not in AppxBlockMap.xml")
        }
        for part in parts where part.path != Self.contentTypesName && contentTypes.contentType(of: part.path) == nil {
            throw MSIXError(.invalidContentTypes, file: path, "[Content_Types].xml gives no content type for '\(part.path)'")
        }
        return listed
    }

    private func checkListing(_ file: BlockMap.File, of part: Part) throws(MSIXError) {
        let entry = part.entry
        func fault(_ message: String) -> MSIXError { MSIXError(.invalidBlockMap, file: path, message) }
        if file.size != entry.uncompressedSize {
            throw fault("'\(file.name)' is \(entry.uncompressedSize) bytes but AppxBlockMap.xml says \(file.size)")
        }
        if file.localHeaderSize != entry.localHeaderSize {
            throw fault("'\(file.name)' has a \(entry.localHeaderSize)-byte local header but AppxBlockMap.xml says LfhSize \(file.localHeaderSize)")
        }
        let blockSize = UInt64(ZipFormat.blockSize)
        let expectedBlocks = (file.size + blockSize - 1) / blockSize
        if UInt64(file.blocks.count) != expectedBlocks {
            throw fault("'\(file.name)' needs \(expectedBlocks) blocks in AppxBlockMap.xml but has \(file.blocks.count)")
        }
        guard entry.method == .deflated else { return }
        var sum: UInt64 = 0
        for (index, block) in file.blocks.enumerated() {
            guard let size = block.compressedSize else {
                throw fault("block \(index + 1) of '\(file.name)' has no Size although the file is deflated")
            }
            sum += size
        }
        // makeappx ends each block with a full flush and the stream with a 2-byte empty final
        // block that belongs to no block; other tools fold it into the last block.
        guard sum <= entry.compressedSize, entry.compressedSize - sum <= 2 else {
            throw fault("'\(file.name)' has \(entry.compressedSize) compressed bytes but its blocks in AppxBlockMap.xml add up to \(sum)")
        }
    }
}
