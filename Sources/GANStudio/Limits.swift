import Foundation

/// Every bound on what one request may ask of the studio, declared once: the parameter parser
/// enforces them, `/api/run` reports them to the page and `/openapi.json` publishes them.
public enum StudioLimits {
    /// Seeds are 32-bit, as StyleGAN's tools number them (and exact in JavaScript).
    public static let maxSeed: UInt64 = 4_294_967_295
    /// Images of one grid or latents request, for a generator of at most 32×32 images; larger
    /// generators get fewer (`maxImages(side:)`), so a request costs about the same at every size.
    public static let maxImages = 256
    /// Frames of one latent walk, both ends included.
    public static let walkSteps = 2...64
    /// Integer upscaling of returned pictures.
    public static let scale = 1...8
    /// Pixels between grid tiles.
    public static let padding = 0...8
    /// Pixels of any picture returned (the largest 4 MiB of 8-bit samples per channel).
    public static let maxPixels = 4_194_304
    /// Request bodies: the JSON API takes its parameters in the query; a body is refused past this.
    public static let maxBodyBytes = 65_536
    /// A picture uploaded to be projected (`POST /api/project`): bytes of the file, and pixels of
    /// the decoded picture (read from its header before decoding).
    public static let maxUploadBytes = 8 << 20
    public static let maxUploadPixels = 4096 * 4096
    /// Optimisation steps of one projection, and the wall-clock bound past which it is stopped.
    public static let projectionSteps = 10...1000
    public static let projectionSeconds: Double = 120
    /// Finished projections kept for their pins (the oldest are forgotten first).
    public static let keptProjections = 64
    /// Metrics lines of one `/api/metrics` answer (longer histories are thinned evenly).
    public static let maxMetricsLines = 10_000
    /// Generation requests waiting for the worker; one more is answered 503 with Retry-After.
    public static let maxPendingGenerations = 32
    /// Generators kept loaded (the latest checkpoint of a run and one other, typically).
    public static let loadedGenerators = 3

    /// The images one request may ask of a generator of `side`×`side` pixels.
    public static func maxImages(side: Int) -> Int {
        max(16, min(maxImages, maxImages * 32 * 32 / max(side * side, 1)))
    }
}

/// A request the studio refuses, with its HTTP status and a message naming the parameter or path.
public struct StudioError: Error, Equatable, CustomStringConvertible, Sendable {
    public let status: Int
    public let message: String
    /// Seconds after which a refused request may succeed (503 only).
    public var retryAfter: Int? = nil

    public var description: String { message }

    public static func badRequest(_ message: String) -> StudioError { StudioError(status: 400, message: message) }
    public static func forbidden(_ message: String) -> StudioError { StudioError(status: 403, message: message) }
    public static func notFound(_ message: String) -> StudioError { StudioError(status: 404, message: message) }
    public static func methodNotAllowed(_ message: String) -> StudioError { StudioError(status: 405, message: message) }
    public static func tooLarge(_ message: String) -> StudioError { StudioError(status: 413, message: message) }
    /// The request conflicts with one in progress (a second projection while one runs).
    public static func conflict(_ message: String) -> StudioError { StudioError(status: 409, message: message) }
    public static func unsupportedType(_ message: String) -> StudioError { StudioError(status: 415, message: message) }
    /// The request was fine; the checkpoint it names cannot be read (corrupt, half-written, foreign).
    public static func unprocessable(_ message: String) -> StudioError { StudioError(status: 422, message: message) }
    public static func busy(_ message: String) -> StudioError { StudioError(status: 503, message: message, retryAfter: 1) }
}

/// The query parameters of a request, read with their bounds: each accessor names the parameter
/// and what it accepts when the value is not acceptable.
public struct Parameters: Sendable {
    private var values: [String: String] = [:]

    public init(_ items: [(name: String, value: String)]) throws {
        for (name, value) in items {
            guard values[name] == nil else { throw StudioError.badRequest("parameter '\(name)' is given twice") }
            values[name] = value
        }
    }

    func string(_ name: String) -> String? { values[name] }

    func integer(_ name: String, in range: ClosedRange<Int>, default value: Int? = nil) throws -> Int? {
        guard let text = values[name] else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw StudioError.badRequest("parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(40))'")
        }
        return n
    }

    func seed(_ name: String, default value: UInt64? = nil) throws -> UInt64? {
        guard let text = values[name] else { return value }
        guard let n = UInt64(text), n <= StudioLimits.maxSeed else {
            throw StudioError.badRequest("parameter '\(name)' must be a seed from 0 to \(StudioLimits.maxSeed), got '\(text.prefix(40))'")
        }
        return n
    }

    func number(_ name: String, in range: ClosedRange<Float>, default value: Float) throws -> Float {
        guard let text = values[name] else { return value }
        guard let x = Float(text), x.isFinite, range.contains(x) else {
            throw StudioError.badRequest("parameter '\(name)' must be a number from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(40))'")
        }
        return x
    }

    func choice(_ name: String, of options: [String], default value: String) throws -> String {
        guard let text = values[name] else { return value }
        guard options.contains(text) else {
            throw StudioError.badRequest("parameter '\(name)' must be one of \(options.joined(separator: ", ")), got '\(text.prefix(40))'")
        }
        return text
    }

    /// Parameters this endpoint does not know are refused, so a misspelt one is not silently ignored.
    func only(_ known: Set<String>) throws {
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw StudioError.badRequest("unknown parameter '\(unknown.prefix(40))'; this endpoint takes \(known.sorted().joined(separator: ", "))")
        }
    }
}
