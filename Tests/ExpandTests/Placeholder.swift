import Testing
@Test func placeholderExpandTests() { #expect(Bool(true)) }
