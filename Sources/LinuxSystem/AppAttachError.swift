/// An error meant for the person at the terminal or reading the journal.
///
/// Its `description` is one line that names the file or object and what is wrong with it,
/// for example `app.msix: block 3 of 'bin/app' does not match its SHA-256 in the block map`.
/// The command-line tools print it as `appattachctl: <description>` and exit non-zero.
public protocol AppAttachError: Error, CustomStringConvertible {}

extension SystemCallError: AppAttachError {}
