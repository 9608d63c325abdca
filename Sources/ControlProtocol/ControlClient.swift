import Foundation
import LinuxSystem

/// Calls the agent over its control socket: one connection per call, one request line, one
/// reply line, all of it bounded by one deadline.
public struct ControlClient: Sendable {
    /// The socket's path on a host.
    public static let defaultPath = "/run/appattach/" + ControlMethod.interface

    public var path: String
    /// How long a whole call may take, from connecting to the last byte of the reply; nil
    /// waits for ever.
    public var timeout: Duration?

    /// The client for `path`; `APPATTACH_SOCKET` in the environment overrides the default
    /// (tests run an agent of their own).
    public init(path: String? = nil, timeout: Duration? = .seconds(60)) {
        self.path = path ?? ProcessInfo.processInfo.environment["APPATTACH_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultPath
        self.timeout = timeout
    }

    /// Sends `method` with `parameters` and decodes the reply as `Reply`, within `timeout`.
    public func call<Parameters: Codable & Sendable, Reply: Codable & Sendable>(
        _ method: ControlMethod, _ parameters: Parameters, as _: Reply.Type
    ) throws -> Reply {
        try call(method, parameters, as: Reply.self, by: timeout.map { Deadline.after($0) })
    }

    /// Sends `method` with `parameters` and decodes the reply as `Reply`; connecting, sending
    /// and reading all end by `deadline` (nil: never), whatever the agent does: a full
    /// connection queue, a connection accepted and never read, a reply never sent or sent a
    /// byte at a time.
    public func call<Parameters: Codable & Sendable, Reply: Codable & Sendable>(
        _ method: ControlMethod, _ parameters: Parameters, as _: Reply.Type, by deadline: Deadline?
    ) throws -> Reply {
        let started = Deadline.now
        let socket: UnixSocket
        do {
            socket = try UnixSocket.connect(to: path, by: deadline)
        } catch where error.errno == ETIMEDOUT {
            throw ControlClientError("cannot reach the appattach agent at \(path): its connection queue stayed full for \(Deadline.now.since(started).secondsText) (the agent is overloaded or stuck)")
        } catch {
            throw ControlClientError("cannot reach the appattach agent at \(path): \(error.reason) (is appattach.service running?)")
        }
        defer { socket.close() }
        do {
            try socket.writeLine(ControlCoding.line(ControlRequest(method: method, parameters: parameters)), by: deadline)
        } catch let error as SystemCallError where error.errno == ETIMEDOUT {
            throw ControlClientError("the appattach agent did not take the \(method.rawValue) request within \(Deadline.now.since(started).secondsText)")
        } catch {
            throw ControlClientError("cannot send \(method.rawValue) to \(path): \(error)")
        }
        let line: String?
        do {
            line = try socket.readLine(limit: 8 << 20, by: deadline)
        } catch where error.errno == ETIMEDOUT {
            throw ControlClientError("no answer from the appattach agent within \(Deadline.now.since(started).secondsText) (\(method.rawValue))")
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
