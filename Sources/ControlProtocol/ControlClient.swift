import Foundation
import LinuxSystem

/// Calls the agent over its control socket: one connection per call, one request line, one
/// reply line.
public struct ControlClient: Sendable {
    /// The socket's path on a host.
    public static let defaultPath = "/run/appattach/" + ControlMethod.interface

    public var path: String
    /// How long to wait for the reply; nil waits for ever.
    public var timeout: Duration?

    /// The client for `path`; `APPATTACH_SOCKET` in the environment overrides the default
    /// (tests run an agent of their own).
    public init(path: String? = nil, timeout: Duration? = .seconds(60)) {
        self.path = path ?? ProcessInfo.processInfo.environment["APPATTACH_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultPath
        self.timeout = timeout
    }

    /// Sends `method` with `parameters` and decodes the reply as `Reply`.
    public func call<Parameters: Codable & Sendable, Reply: Codable & Sendable>(
        _ method: ControlMethod, _ parameters: Parameters, as _: Reply.Type
    ) throws -> Reply {
        let socket: UnixSocket
        do {
            socket = try UnixSocket.connect(to: path)
        } catch {
            throw ControlClientError("cannot reach the appattach agent at \(path): \(error.reason) (is appattach.service running?)")
        }
        defer { socket.close() }
        do {
            try socket.setReceiveTimeout(timeout)
            try socket.writeLine(ControlCoding.line(ControlRequest(method: method, parameters: parameters)))
        } catch {
            throw ControlClientError("cannot send \(method.rawValue) to \(path): \(error)")
        }
        let line: String?
        do {
            line = try socket.readLine()
        } catch let error where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
            throw ControlClientError("no answer from the appattach agent within \(timeout.map { "\($0)" } ?? "the time allowed") (\(method.rawValue))")
        } catch {
            throw ControlClientError("cannot read the agent's reply: \(error)")
        }
        guard let line else { throw ControlClientError("the appattach agent closed the connection without a reply") }
        return try Self.decodeReply(line, as: Reply.self)
    }

    /// Decodes a reply line: the parameters of a success, or throws the agent's error.
    public static func decodeReply<Reply: Codable & Sendable>(_ line: String, as _: Reply.Type) throws -> Reply {
        let decoder = ControlCoding.decoder()
        let data = Data(line.utf8)
        if let failure = try? decoder.decode(ControlErrorReply.self, from: data) {
            throw ControlClientError(failure.parameters.message, name: failure.error)
        }
        do {
            return try decoder.decode(ControlReply<Reply>.self, from: data).parameters
        } catch {
            throw ControlClientError("the appattach agent sent a reply that cannot be read: \(error)")
        }
    }
}

/// A call that failed: the agent's error (with its varlink name) or a connection problem.
public struct ControlClientError: AppAttachError, Equatable {
    /// The agent's error name, nil for connection problems.
    public let name: String?
    public let message: String

    public init(_ message: String, name: String? = nil) {
        self.message = message
        self.name = name
    }

    public var description: String { message }
}
