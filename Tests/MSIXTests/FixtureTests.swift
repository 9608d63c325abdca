import Foundation
import MSIX
import Testing
import TestSupport

/// The real packages from the MSIX SDK's test data.
@Suite struct FixtureTests {
    /// Computes the names with Python's zipfile, ElementTree and hashlib: an independent implementation.
    static let pythonNames = """
    import sys, zipfile, hashlib, xml.etree.ElementTree as ET
    A = '0123456789abcdefghjkmnpqrstvwxyz'
    z = zipfile.ZipFile(sys.argv[1])
    root = ET.fromstring(z.read('AppxManifest.xml'))
    a = [e for e in root if e.tag.endswith('}Identity')][0].attrib
    n = int.from_bytes(hashlib.sha256(a['Publisher'].encode('utf-16-le')).digest()[:8], 'big') << 1
    pid = ''.join(A[(n >> 5 * (12 - i)) & 31] for i in range(13))
    print(f"{a['Name']}_{a['Version']}_{a.get('ProcessorArchitecture', 'neutral')}_{a.get('ResourceId', '')}_{pid}")
    print(f"{a['Name']}_{pid}")
    print(len([i for i in z.infolist()]))
    """

    @Test(arguments: Fixture.valid)
    func namesMatchAnIndependentComputation(name: String) throws {
        let package = try MSIXPackage.open(Fixture.path(name))
        let lines = try Fixture.python(Self.pythonNames, [Fixture.path(name)]).split(separator: "\n").map(String.init)
        #expect(package.manifest.identity.fullName == lines[0])
        #expect(package.manifest.identity.familyName == lines[1])
        #expect(package.parts.count == Int(lines[2]))
    }

    @Test func knownNamesOfTheFixtures() throws {
        let expected = [
            "CentennialCoffee.appx": "CentennialCoffee_1.1.0.0_neutral__8wekyb3d8bbwe",
            "TestAppxPackage_x64.appx": "20477fca-282d-49fb-b03e-371dca074f0f_1.0.0.0_x64__8wekyb3d8bbwe",
            "TestLinux.msix": "BestAppExtension_1.0.0.0_neutral__s7d21py8hx46g",
            "existingPackage.msix": "7fa9aa49-c12e-4977-8a29-14b25a006dc7_1.0.0.0_x86__vszhfztff4j74",
        ]
        for (file, fullName) in expected {
            #expect(try MSIXPackage.open(Fixture.path(file)).manifest.identity.fullName == fullName)
        }
    }

    @Test(arguments: Fixture.valid)
    func validFixtureVerifies(name: String) throws {
        let package = try MSIXPackage.open(Fixture.path(name))
        let report = try package.verify()
        #expect(report.hashesChecked)
        #expect(report.fileCount == package.blockMap.files.count)
        #expect(report.signaturePresent == (package.part("AppxSignature.p7x") != nil))
        if report.signaturePresent {
            #expect(Set(report.signatureDigestsChecked).isSuperset(of: ["AXPC", "AXCD", "AXCT", "AXBM"]))
        }
    }

    @Test func linuxFixtureTargetsLinux() throws {
        let manifest = try MSIXPackage.open(Fixture.path("TestLinux.msix")).manifest
        #expect(manifest.targetDeviceFamilies == [.init(name: "Linux.All", minVersion: "0.0.0.0", maxVersionTested: "0.0.0.0")])
    }

    @Test func centennialCoffeeExtensions() throws {
        let manifest = try MSIXPackage.open(Fixture.path("CentennialCoffee.appx")).manifest
        #expect(manifest.properties.displayName == "Centennial Coffee")
        #expect(manifest.properties.logo == "Assets\\AppList.png")
        #expect(manifest.targetDeviceFamilies.map(\.name) == ["Windows.Desktop"])
        #expect(manifest.applications.map(\.id) == ["TE.ProcessHost", "CCoffee", "CCoffeeMug", "CCoffeeCup", "CCoffeeDDECup"])
        let coffee = try #require(manifest.applications.first { $0.id == "CCoffee" })
        #expect(coffee.executable == "ccoffee.exe")
        #expect(coffee.square44x44Logo == "Assets\\AppList.png")
        #expect(coffee.extensions.startupTasks.map(\.taskId) == ["CoffeeStartupTask", "CoffeeStartupTaskDisabled", "CoffeeAlternateExeStartupTaskDisabled"])
        #expect(coffee.extensions.startupTasks.map(\.enabled) == [true, false, false])
        #expect(coffee.extensions.startupTasks[2].executable == "centennialMug.exe")
        #expect(coffee.extensions.startupTasks[1].displayName == "Centennial Coffee Normal")
        #expect(coffee.extensions.protocols.map(\.name) == ["centcoffee"])
        #expect(coffee.extensions.protocols.map(\.parameters) == ["/u %1"])
        let association = try #require(coffee.extensions.fileTypeAssociations.first)
        #expect(association.name == "newtypes")
        #expect(association.fileTypes.map(\.fileExtension) == [".centcoffee"])
        #expect(association.fileTypes.map(\.contentType) == ["text/plain"])
        #expect(association.verbs.map(\.id) == ["Edit", "Preview", "Custom", "Custom2"])
        #expect(association.verbs[2].displayName == "This Is My Super Custom Verb")
        #expect(coffee.extensions.otherCategories.contains("windows.comServer"))
        let cup = try #require(manifest.applications.first { $0.id == "CCoffeeCup" })
        #expect(cup.extensions.executionAliases.map(\.alias) == ["CoffeeCupAlias.exe"])
        let mug = try #require(manifest.applications.first { $0.id == "CCoffeeMug" })
        #expect(mug.extensions.fileTypeAssociations.flatMap(\.fileTypes).map(\.fileExtension) == [".centcoffeemug", ".txt"])
        let dde = try #require(manifest.applications.first { $0.id == "CCoffeeDDECup" })
        #expect(dde.extensions.fileTypeAssociations.first?.verbs.map(\.displayName) == ["Open", "Print"])
    }

    @Test(arguments: [
        ("Empty.appx", MSIXError.Kind.corruptZip, "not a ZIP file"),
        ("OPC_E_ZIP_CORRUPTED_ARCHIVE.appx", .corruptZip, "corrupt ZIP"),
        ("No_blockmap.appx", .missingFootprint, "AppxBlockMap.xml is missing"),
        ("Invalid_Bad_Block.msix", .invalidBlockMap, "'App1.dll' needs 23 blocks"),
    ])
    func invalidFixtureIsRefused(name: String, kind: MSIXError.Kind, text: String) {
        let path = Fixture.path("invalid/" + name)
        do {
            let package = try MSIXPackage.open(path)
            _ = try package.verify()
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.kind == kind)
            #expect(error.description.hasPrefix(path + ": "))
            #expect(error.description.contains(text), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func invalidFixtureIsNotUnpacked() throws {
        let directory = TestEnvironment.makeTemporaryDirectory() + "/out"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let package = try MSIXPackage.open(Fixture.path("invalid/Invalid_Bad_Block.msix"))
        #expect(throws: MSIXError.self) { try package.unpack(into: directory) }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
