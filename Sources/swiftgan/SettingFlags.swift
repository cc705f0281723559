import ArgumentParser
import GANModels
import GANTraining

/// The training settings as command-line flags: `--flag VALUE`, `--flag=VALUE`, or `--flag` alone
/// for a setting without a value. Flags, their help and their checks come from `TrainingSettings`.
enum SettingFlags {
    /// The settings given in `arguments`, each checked; a bad one is one line naming its flag.
    static func parse(_ arguments: [String]) throws -> GivenSettings {
        var given = GivenSettings(), i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--") else { throw ValidationError("unexpected argument '\(argument)'") }
            var name = String(argument.dropFirst(2)), value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let setting = TrainingSettings.flagged(name) else {
                throw ValidationError("unknown option '--\(name)'" + (suggestion(for: name).map { "; did you mean --\($0)?" } ?? ""))
            }
            if setting.placeholder == nil {
                guard value == nil else { throw ValidationError("--\(name) takes no value, got \(value!)") }
                value = "true"
            } else if value == nil {
                i += 1
                guard i < arguments.count else { throw ValidationError("--\(name) needs a value (\(setting.placeholder!))") }
                value = arguments[i]
            }
            do { given.add(try setting.parse(value!)) } catch { throw flagError(error) }
            i += 1
        }
        return given
    }

    /// A library's setting error, naming the flag instead of the value.
    static func flagError(_ error: SettingError) -> ValidationError {
        ValidationError("--\(TrainingSettings.named(error.key)?.flag ?? error.key) \(error.problem)")
    }

    /// The flag closest to a misspelt one (edit distance at most 2).
    static func suggestion(for name: String) -> String? {
        let best = TrainingSettings.all.map { ($0.flag, distance(name, $0.flag)) }.min { $0.1 < $1.1 }
        return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in a.indices {
            var diagonal = row[0]
            row[0] = i + 1
            for j in b.indices {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (a[i] == b[j] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    /// The help of every setting: flag, value, meaning, unit and default (per preset where it differs).
    static var help: String {
        TrainingSettings.all.map { s in
            let head = "  --\(s.flag)" + (s.placeholder.map { " \($0)" } ?? "")
            return head + "\n" + wrap(s.help + defaults(of: s), indent: 8, width: 78)
        }.joined(separator: "\n")
    }

    /// " (steps) [default: 100]", with the presets whose default differs.
    static func defaults(of s: any AnySetting) -> String {
        (s.unit.map { " (\($0.rawValue))" } ?? "") + (s.placeholder == nil ? "" : " [default: \(TrainingSettings.describeDefault(of: s))]")
    }

    static func wrap(_ text: String, indent: Int, width: Int) -> String {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(line)
        return lines.map { String(repeating: " ", count: indent) + $0 }.joined(separator: "\n")
    }
}
