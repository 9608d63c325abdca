import Logging

/// Every kind of event the agent writes to the journal, each with its own `MESSAGE_ID`.
///
/// The ids are fixed forever (made once with `systemd-id128 new`): admins filter on them
/// (`journalctl MESSAGE_ID=…`) and `systemd/appattach.catalog` explains each one under
/// `journalctl -x`. A test checks that the catalog has exactly these ids. Never reuse an id for a
/// different meaning; add a new case instead.
public enum AgentEvent: String, CaseIterable, Sendable {
    /// An image was attached to a loop device and mounted read-only.
    case imageStaged
    /// Staging an image failed.
    case imageStageFailed
    /// An image was unmounted and its loop device released.
    case imageDestaged
    /// Destaging was refused because something still runs from the image (`EBUSY`); retried later.
    case imageDestageRefusedBusy
    /// A package was registered for a user at sign-in (regular, or the delayed first part).
    case packageRegistered
    /// A delayed registration was completed on the app's first launch.
    case registrationCompleted
    /// Registering a package for a user failed.
    case registrationFailed
    /// A package was deregistered for a user at sign-out.
    case packageDeregistered
    /// A user's app data was pushed into the local profile at sign-out.
    case dataPushed
    /// A user's saved app data was restored at sign-in.
    case dataRestored
    /// The host pool file was read again and applied.
    case hostPoolReloaded
    /// The host pool file could not be used; the last good one stays in force.
    case hostPoolInvalid
    /// The agent process started.
    case agentStarted
    /// The agent finished reconciling and told systemd `READY=1`.
    case agentReady
    /// The agent began shutting down (`STOPPING=1`).
    case agentStopping
    /// logind reported a user's first counted session: the user signed in.
    case signInSeen
    /// The user's last counted session closed or the user left logind: the user signed out.
    case signOutSeen
    /// A client (the PAM session hook, `appattachctl register`) asked for a user's registration
    /// and was answered; the entry says when the request arrived and when it was answered.
    case registrationRequested
    /// An app was started without its own namespace: its XDG directories point into its layer
    /// instead (`appattach-launch`, once per user and boot).
    case containerFallback
    /// A user's saved app data changed since this host's layer was made from it (another host
    /// pushed, or a layer was left behind): neither replaced the other, both are kept.
    case dataConflict
    /// The layers and records of an account that no longer exists were removed after the
    /// retention period (or when another account took its uid).
    case accountDataRemoved
    /// Work in a user's home (registration files, restoring or pushing app data) did not
    /// finish within its deadline: that user's work is set aside and retried; others go on.
    case homeUnresponsive
    /// The state database could not be opened (damaged): it was moved aside and rebuilt from
    /// the kernel's mounts and the homes' registration files.
    case stateDatabaseRebuilt
    /// A package folder of a staged image was not exposed: its manifest breaks the schema's
    /// rules, or the folder's name is not its manifest's identity.
    case packageRefused
    /// The host's health changed (`Healthy`, `NeedsAssistance`, `Unhealthy`): a package of the
    /// host pool could not be staged and its entry's policy says what that makes of the host,
    /// or the last such failure cleared.
    case healthChanged

    /// The 128-bit id as journald prints it: 32 lower-case hex digits.
    public var messageID: String {
        switch self {
        case .imageStaged: return "003eebfabb3b41afb96edb06a58edfe8"
        case .imageStageFailed: return "c114cb95a8a84fd6a4507043bc576774"
        case .imageDestaged: return "64e94dee137a4b09befd031873a94c44"
        case .imageDestageRefusedBusy: return "77245394c70d423e81223fef0c19d0c1"
        case .packageRegistered: return "dff3ecea261442da959e1d9309137427"
        case .registrationCompleted: return "5f04d3ceb98e4fe9a3b5f01d1dac0d2c"
        case .registrationFailed: return "3726c663bbf5442d94fdc744be74ed33"
        case .packageDeregistered: return "75f8088817a9425aac9b643ec877c8f9"
        case .dataPushed: return "47addeb357a94fd39ec808356bc804c6"
        case .dataRestored: return "75b2353a675d43e082f6683b4d532e53"
        case .hostPoolReloaded: return "c313cab97fdc4668b16d63ce1ef99970"
        case .hostPoolInvalid: return "29b9d5ddf49f4ce594762131cdbd71e3"
        case .agentStarted: return "2f5bd238d5e342d0b93009760700f36c"
        case .agentReady: return "4a889ed1c3aa4d9eb3f665c1eeac47ce"
        case .agentStopping: return "9e83f6ea9da54cc3b91c9153847c95d9"
        case .signInSeen: return "cd0b98592d164be69f140eddc668d851"
        case .signOutSeen: return "3b4c3bce6f8e43baaf11e693cad0f172"
        case .registrationRequested: return "1519df61390e46c28c9e204478cce644"
        case .containerFallback: return "5c1c0389f09545e782752db30c572f48"
        case .dataConflict: return "20f09d6fd59b4876aba1a68576675b82"
        case .accountDataRemoved: return "1db713e07d1344738c2533a2b78da476"
        case .homeUnresponsive: return "e0f06948303f4796beb7ebf84d1feb0f"
        case .stateDatabaseRebuilt: return "4385960161174afc823711a820081643"
        case .packageRefused: return "d2fdfed855d846d0846b37effd6819c7"
        case .healthChanged: return "b27340a49340452b820727bc3b838a42"
        }
    }

    /// The metadata that tags a log entry as this event (`message.id` → `MESSAGE_ID`).
    public var metadata: Logger.Metadata { ["message.id": .string(messageID)] }

    /// This event's metadata merged with more fields, e.g. `["appattach.user": "alice"]`.
    public func metadata(_ fields: Logger.Metadata) -> Logger.Metadata {
        metadata.merging(fields) { event, _ in event }
    }

    /// The event with this `MESSAGE_ID`, if it is one of ours.
    public init?(messageID: String) {
        guard let event = Self.allCases.first(where: { $0.messageID == messageID.lowercased() }) else { return nil }
        self = event
    }
}
