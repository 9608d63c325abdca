import Testing
@Test func placeholderMSIXTests() { #expect(Bool(true)) }
