import Foundation
import Systemd
import Testing

/// systemd/appattach.catalog explains exactly the events the code logs.
@Suite struct CatalogTests {
    struct Entry {
        var id: String
        /// The `# event: NAME` comment above the entry: the AgentEvent case, for the test scripts.
        var event: String?
        var headers: [String: String] = [:]
        var body: [String] = []
    }

    /// Parses the catalog the way journalctl does: `-- ID [LANG]` starts an entry, `Key: value`
    /// lines up to the first blank line are headers, the rest is the body; `#` lines are
    /// comments, and `# event: NAME` names the next entry's event (the test scripts read it).
    static func entries() throws -> [Entry] {
        let path = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/"))
        let text = try String(contentsOfFile: "/" + path + "/systemd/appattach.catalog", encoding: .utf8)
        var entries: [Entry] = []
        var inHeaders = false
        var event: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# event: ") {
                event = String(line.dropFirst("# event: ".count))
            } else if line.hasPrefix("#") {
                continue
            } else if line.hasPrefix("-- ") {
                let id = line.dropFirst(3).split(separator: " ").first.map(String.init) ?? ""
                entries.append(Entry(id: id, event: event))
                event = nil
                inHeaders = true
            } else if entries.isEmpty {
                #expect(line.isEmpty, "text before the first entry: \(line)")
            } else if inHeaders, let colon = line.firstIndex(of: ":"), !line.isEmpty {
                entries[entries.count - 1].headers[String(line[..<colon])] =
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else {
                inHeaders = false
                entries[entries.count - 1].body.append(line)
            }
        }
        return entries
    }

    @Test func catalogHasExactlyTheEventIDs() throws {
        let ids = try Self.entries().map(\.id)
        #expect(ids.count == Set(ids).count, "an id appears twice")
        #expect(Set(ids) == Set(AgentEvent.allCases.map(\.messageID)))
    }

    /// The test scripts find a MESSAGE_ID by its event's name (`message_id imageStaged`).
    @Test func everyEntryNamesItsEvent() throws {
        for entry in try Self.entries() {
            #expect(entry.event.flatMap { AgentEvent(rawValue: $0) }?.messageID == entry.id,
                    "\(entry.id) is headed '# event: \(entry.event ?? "")', not its AgentEvent case")
        }
    }

    @Test func everyEntryIsComplete() throws {
        for entry in try Self.entries() {
            #expect(entry.id.count == 32 && entry.id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(entry.id)")
            #expect(entry.headers["Subject"]?.isEmpty == false, "\(entry.id) has no Subject")
            #expect(entry.headers["Defined-By"] == "appattach", "\(entry.id)")
            #expect(entry.headers["Documentation"]?.isEmpty == false, "\(entry.id) has no Documentation")
            #expect(entry.body.contains { !$0.trimmingCharacters(in: .whitespaces).isEmpty }, "\(entry.id) has no body")
        }
    }

    /// `@FIELD@` must name a field journald can have: upper case, digits, underscores.
    @Test func substitutionsNameValidFields() throws {
        for entry in try Self.entries() {
            let text = ([entry.headers["Subject"] ?? ""] + entry.body).joined(separator: "\n")
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            #expect(parts.count % 2 == 1, "\(entry.id): unbalanced @")
            for (index, part) in parts.enumerated() where index % 2 == 1 {
                #expect(!part.isEmpty && part.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" },
                        "\(entry.id): @\(part)@")
            }
        }
    }

    @Test func idsRoundTrip() {
        for event in AgentEvent.allCases {
            #expect(AgentEvent(messageID: event.messageID) == event)
            #expect(AgentEvent(messageID: event.messageID.uppercased()) == event)
            #expect(event.metadata["message.id"] == .string(event.messageID))
        }
        #expect(AgentEvent(messageID: "00000000000000000000000000000000") == nil)
    }
}
