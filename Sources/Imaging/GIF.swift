import CCodecs
import Foundation

/// Animated GIF89a files (giflib's LZW encoder), for the progress of a training run.
public enum GIF {
    /// Encodes `frames` (equal size; all gray or all RGB) as a looping animation. Gray frames use
    /// an exact 256-gray palette; RGB frames are each quantized to 256 colours.
    public static func encode(_ frames: [Image], delayCentiseconds: Int = 20) throws -> Data {
        guard let first = frames.first else { throw ImagingError.unwritable(file: "<gif>", reason: "no frames") }
        for f in frames where f.width != first.width || f.height != first.height || f.channels != first.channels {
            throw ImagingError.unwritable(file: "<gif>", reason: "frames differ in size: \(f.width)×\(f.height)×\(f.channels) vs \(first.width)×\(first.height)×\(first.channels)")
        }
        let frames = first.channels == 1 || first.channels == 3 ? frames : frames.map { $0.converted(toChannels: 3) }
        let channels = frames[0].channels
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let buffers = frames.map { $0.pixels }
        let (status, message) = withPointers(buffers) { pointers in
            withErrorBuffer { err, len in
                sg_gif_encode(pointers, Int32(frames.count), Int32(first.width), Int32(first.height), Int32(channels),
                              Int32(delayCentiseconds), &out, &length, err, len)
            }
        }
        guard status == 0, let out else { throw ImagingError.unwritable(file: "<gif>", reason: message) }
        defer { sg_free(out) }
        return Data(bytes: out, count: length)
    }

    /// Writes the animation atomically.
    public static func write(_ frames: [Image], delayCentiseconds: Int = 20, to path: String) throws {
        let data: Data
        do { data = try encode(frames, delayCentiseconds: delayCentiseconds) } catch ImagingError.unwritable(_, let r) {
            throw ImagingError.unwritable(file: path, reason: r)
        }
        try ImageCodec.writeAtomically(data, to: path)
    }

    private static func withPointers<R>(_ arrays: [[UInt8]], _ body: (UnsafePointer<UnsafePointer<UInt8>?>) -> R) -> R {
        // Copies keep each pointer valid for the whole call.
        let copies = arrays.map { a -> UnsafeMutablePointer<UInt8> in
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: a.count)
            p.initialize(from: a, count: a.count)
            return p
        }
        defer { for p in copies { p.deallocate() } }
        let list: [UnsafePointer<UInt8>?] = copies.map { UnsafePointer($0) }
        return list.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
