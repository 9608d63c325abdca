import AppData
import Container
import Testing

@Suite("container plan and overlay options")
struct ContainerPlanTests {
    let layout = try! AppDataLayout(uid: 1000, packageFamilyName: "notes_abc")

    @Test func overlayDataString() throws {
        let options = OverlayOptions(lower: "/home/a/.config", upper: "/l/config/upper", work: "/l/config/work")
        #expect(try options.mountData() == "lowerdir=/home/a/.config,upperdir=/l/config/upper,workdir=/l/config/work,userxattr")
    }

    @Test(arguments: ["/home/a,b", "/home/a:b", "/home/a\\b", "/home/a\nb", "relative"])
    func refusesPathsOverlayWouldSplit(_ lower: String) {
        #expect(throws: ContainerError.self) {
            try OverlayOptions(lower: lower, upper: "/u", work: "/w").mountData()
        }
    }

    @Test func oneOverlayPerAreaBelowTheHome() throws {
        let plan = try ContainerPlan(layout: layout, home: "/home/alice/", environment: [:])
        #expect(plan.overlays.map(\.target) == ["/home/alice/.config", "/home/alice/.local/share",
                                                "/home/alice/.local/state", "/home/alice/.cache"])
        let config = try #require(plan.overlays.first)
        #expect(config.options == OverlayOptions(lower: "/home/alice/.config",
                                                 upper: "/var/lib/appattach/users/1000/notes_abc/config/upper",
                                                 work: "/var/lib/appattach/users/1000/notes_abc/config/work"))
        #expect(plan.hidden == ["/var/lib/appattach/users/1000", "/home/alice/.local/share/appattach"])
    }

    @Test func followsAbsoluteXDGVariablesOnly() throws {
        let plan = try ContainerPlan(layout: layout, home: "/home/alice", environment: [
            "XDG_CONFIG_HOME": "/srv/conf/", "XDG_CACHE_HOME": "relative/cache", "XDG_STATE_HOME": "/",
        ])
        #expect(plan.overlays.map(\.target) == ["/srv/conf", "/home/alice/.local/share",
                                                "/home/alice/.local/state", "/home/alice/.cache"])
    }

    @Test func oneDirectoryNamedTwiceGetsOneOverlay() throws {
        let plan = try ContainerPlan(layout: layout, home: "/home/alice", environment: [
            "XDG_STATE_HOME": "/home/alice/.local/share",
        ])
        #expect(plan.overlays.map(\.area) == [.config, .data, .cache])
    }

    @Test func fallbackPointsEveryVariableIntoTheLayer() throws {
        let plan = try ContainerPlan(layout: layout, home: "/home/alice", environment: [:])
        let environment = Dictionary(uniqueKeysWithValues: plan.fallbackEnvironment.map { ($0.name, $0.value) })
        #expect(environment == [
            "XDG_CONFIG_HOME": "/var/lib/appattach/users/1000/notes_abc/config/upper",
            "XDG_DATA_HOME": "/var/lib/appattach/users/1000/notes_abc/data/upper",
            "XDG_STATE_HOME": "/var/lib/appattach/users/1000/notes_abc/state/upper",
            "XDG_CACHE_HOME": "/var/lib/appattach/users/1000/notes_abc/cache/upper",
        ])
    }

    @Test func refusesHomesOverlaysCannotTake() {
        #expect(throws: ContainerError.self) { try ContainerPlan(layout: layout, home: "/home/a,b", environment: [:]) }
        #expect(throws: ContainerError.self) { try ContainerPlan(layout: layout, home: "/", environment: [:]) }
        #expect(throws: ContainerError.self) { try ContainerPlan(layout: layout, home: "home", environment: [:]) }
    }
}
