import Foundation
import GRDB

/// A row of `images`: an image the agent has staged (or is staging or destaging).
public struct ImageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "images"

    /// Where an image is in its life on this host.
    public enum State: String, Codable, Sendable, CaseIterable {
        case staging, staged, destaging, failed
    }

    /// The image id staging derives from the filesystem (20 hex digits).
    public var id: String
    /// The image file on the share.
    public var path: String
    /// SHA-256 of the image file, when known (from the share's catalog).
    public var digest: String?
    public var stagedAt: Date
    public var state: State

    public init(id: String, path: String, digest: String? = nil, stagedAt: Date, state: State) {
        self.id = id
        self.path = path
        self.digest = digest
        self.stagedAt = stagedAt
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case id, path, digest, stagedAt = "staged_at", state
    }

    /// Typed columns for queries.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let path = Column(CodingKeys.path)
        public static let state = Column(CodingKeys.state)
    }

    /// The packages exposed from this image.
    public static let packages = hasMany(PackageRecord.self, using: ForeignKey(["image_id"]))
}

extension DerivableRequest<ImageRecord> {
    /// Images in `state`.
    public func filter(state: ImageRecord.State) -> Self {
        filter(ImageRecord.Columns.state == state.rawValue)
    }
}
