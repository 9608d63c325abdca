/// The version of appattach: the one place it is written. The programs' `--version`, the
/// agent's start-up line and the Debian package (`scripts/package` reads it from here) all
/// take it from this file; a release changes it here and nowhere else.
public enum ProductVersion {
    /// Major.minor.patch, as the Debian package's upstream version.
    public static let current = "0.1.0"
}
