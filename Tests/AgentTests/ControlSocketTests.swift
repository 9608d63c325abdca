import ControlProtocol
import Foundation
import Glibc
import LinuxSystem
import Testing
import TestSupport

@Suite("control socket")
struct ControlSocketTests {
    @Test("a request line goes out, the peer's uid comes from the kernel, the reply decodes; errors carry their name")
    func roundTrip() throws {
        let dir = TestEnvironment.makeTemporaryDirectory("socket")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + ControlMethod.interface
        let listener = try UnixListener(path: path, mode: 0o666)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o666)

        // The server side on a thread of its own: accept, read one line, answer.
        let served = Thread {
            guard let connection = try? listener.accept() else { return }
            let peer = try? connection.peerCredentials()
            let line = (try? connection.readLine()) ?? nil
            let request = line.flatMap { try? ControlCoding.decoder().decode(ControlRequest<RegisterParameters>.self, from: Data($0.utf8)) }
            let reply = UserRegistrationReply(user: request?.parameters.user ?? "?", uid: peer?.uid ?? 99_999,
                                              packages: [request?.method ?? "?"], done: request?.parameters.wait ?? false)
            try? connection.writeLine(ControlCoding.line(ControlReply(parameters: reply)))
            connection.close()
        }
        served.start()
        let reply = try ControlClient(path: path, timeout: .seconds(10))
            .call(.register, RegisterParameters(user: "alice", wait: true), as: UserRegistrationReply.self)
        #expect(reply == UserRegistrationReply(user: "alice", uid: getuid(), packages: [ControlMethod.register.rawValue], done: true))
        listener.shutdown()
        #expect(stat(path, &st) != 0, "shutdown removes the socket's path")

        let failure = try ControlCoding.line(ControlErrorReply(.permissionDenied, "only root may"))
        #expect(failure == #"{"error":"io.appattach.Manager.PermissionDenied","parameters":{"message":"only root may"}}"#)
        #expect(throws: ControlClientError("only root may", name: ControlErrorName.permissionDenied.rawValue)) {
            try ControlClient.decodeReply(failure, as: UserRegistrationReply.self)
        }
    }

    @Test("no agent listening: a one-line error that says so")
    func noAgent() {
        let client = ControlClient(path: NSTemporaryDirectory() + "appattach-none-\(UUID().uuidString)", timeout: .seconds(1))
        #expect {
            try client.call(.status, StatusParameters(), as: StatusReply.self)
        } throws: { error in
            "\(error)".contains("cannot reach the appattach agent")
        }
    }
}
