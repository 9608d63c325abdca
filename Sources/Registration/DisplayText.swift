import Foundation

/// Strings from a manifest as they may appear in a menu.
enum DisplayText {
    /// `text` unless it is empty or an `ms-resource:` reference: those name an entry in
    /// the package's `resources.pri`, which appattach does not read, and would show literally.
    static func usable(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty,
              !text.lowercased().hasPrefix("ms-resource:") else { return nil }
        return text
    }
}
