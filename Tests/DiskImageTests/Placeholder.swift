import Testing
@Test func placeholderDiskImageTests() { #expect(Bool(true)) }
