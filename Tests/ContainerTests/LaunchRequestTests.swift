import AppData
import Container
import Testing

@Suite("launcher command line")
struct LaunchRequestTests {
    static let family = "hello-appattach_8wekyb3d8bbwe"
    var family: String { Self.family }

    @Test func roundTripsWithArgumentsThatLookLikeOptions() throws {
        let request = try LaunchRequest(appUserModelId: "\(family)!App", packagePath: "/run/appattach/packages/p",
                                        executable: "bin/hello", arguments: ["--", "-x", "file with space.txt", ""])
        #expect(request.commandLine == ["\(family)!App", "/run/appattach/packages/p", "bin/hello", "--", "--", "-x", "file with space.txt", ""])
        #expect(try LaunchRequest(commandLine: request.commandLine) == request)
        #expect(request.program == "/run/appattach/packages/p/bin/hello")
        #expect(request.packageFamilyName == family && request.appId == "App")
    }

    @Test func usersDirectoryOnlyWhenNotTheDefault() throws {
        let plain = try LaunchRequest(appUserModelId: "\(family)!App", packagePath: "/p", executable: "a", arguments: [])
        #expect(!plain.commandLine.contains("--users-directory"))
        #expect(plain.usersDirectory == AppDataLayout.defaultUsersDirectory)
        let moved = try LaunchRequest(appUserModelId: "\(family)!App", packagePath: "/p", executable: "a", arguments: ["x"],
                                      usersDirectory: "/tmp/layers")
        #expect(moved.commandLine.prefix(2) == ["--users-directory", "/tmp/layers"])
        #expect(try LaunchRequest(commandLine: moved.commandLine) == moved)
    }

    @Test(arguments: ["../x", "/bin/sh", "a/../../x", "a//b", "./a", "", "a/."])
    func refusesExecutablesOutsideThePackage(_ executable: String) {
        #expect(throws: ContainerError.self) {
            try LaunchRequest(appUserModelId: "\(family)!App", packagePath: "/p", executable: executable, arguments: [])
        }
    }

    @Test(arguments: ["nobang", "!App", "\(Self.family)!", "a!b!c"])
    func refusesMalformedAppIds(_ aumid: String) {
        #expect(throws: ContainerError.self) {
            try LaunchRequest(appUserModelId: aumid, packagePath: "/p", executable: "a", arguments: [])
        }
    }

    @Test func refusesCommandLinesWithoutSeparatorOrParts() {
        for words in [[String](), ["\(family)!App", "/p", "a"], ["\(family)!App", "/p", "a", "x"], ["--users-directory"],
                      ["\(family)!App", "relative", "a", "--"]] {
            #expect(throws: ContainerError.self, "\(words)") { try LaunchRequest(commandLine: words) }
        }
    }
}

@Suite("where appattachctl finds the launcher")
struct LauncherLocationTests {
    @Test func besideThenLibexec() {
        #expect(LauncherLocation.candidates(executablePath: "/usr/bin/appattachctl", override: nil)
            == ["/usr/bin/appattach-launch", "/usr/libexec/appattach/appattach-launch"])
    }

    @Test func overrideWins() {
        #expect(LauncherLocation.candidates(executablePath: "/usr/bin/appattachctl", override: "/opt/l")
            == ["/opt/l"])
        #expect(LauncherLocation.candidates(executablePath: "/usr/bin/appattachctl", override: "").count == 2)
    }
}
