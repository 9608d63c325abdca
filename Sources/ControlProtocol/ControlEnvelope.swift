import Foundation

/// One request line: `{"method": "io.appattach.Manager.Register", "parameters": {...}}`.
public struct ControlRequest<Parameters: Codable & Sendable>: Codable, Sendable {
    public var method: String
    public var parameters: Parameters
    public init(method: ControlMethod, parameters: Parameters) {
        self.method = method.rawValue
        self.parameters = parameters
    }
}

/// The method of a request line, read before its parameters (whose type depends on it).
public struct ControlRequestHead: Codable, Sendable {
    public var method: String
}

/// A successful reply line: `{"parameters": {...}}`.
public struct ControlReply<Parameters: Codable & Sendable>: Codable, Sendable {
    public var parameters: Parameters
    public init(parameters: Parameters) { self.parameters = parameters }
}

/// A failed reply line: `{"error": "io.appattach.Manager.PermissionDenied", "parameters": {"message": "..."}}`.
public struct ControlErrorReply: Codable, Sendable, Error, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        public var message: String
    }
    public var error: String
    public var parameters: Parameters

    public init(_ name: ControlErrorName, _ message: String) {
        error = name.rawValue
        parameters = Parameters(message: message)
    }
}

/// The encoders both ends use: dates as ISO 8601 text, so `--json` output and the socket agree.
public enum ControlCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// One JSON line (no newline inside: JSONEncoder escapes them in strings).
    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder().encode(value), as: UTF8.self)
    }
}
