import CCodecs
import DurableIO
import Foundation

/// A failure reading or writing an image; each names the file and says what was wrong.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case emptyFile(file: String)
    case unsupportedFormat(file: String)
    case corrupt(file: String, reason: String)
    case unwritable(file: String, reason: String)
    /// A picture whose header declares more pixels than the reader accepts.
    case tooManyPixels(file: String, width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .emptyFile(let f): return "\(f): the file is empty"
        case .unsupportedFormat(let f): return "\(f): not a PNG or JPEG image"
        case .corrupt(let f, let r): return "\(f): corrupt image: \(r)"
        case .unwritable(let f, let r): return "\(f): cannot write: \(r)"
        case .tooManyPixels(let f, let w, let h, let limit): return "\(f): a picture of \(w)×\(h) pixels; at most \(limit) pixels"
        }
    }

    public var file: String {
        switch self {
        case .unreadable(let f, _), .emptyFile(let f), .unsupportedFormat(let f), .corrupt(let f, _), .unwritable(let f, _),
             .tooManyPixels(let f, _, _, _): return f
        }
    }
}

/// Calls a codec function that reports errors as (status, message).
func withErrorBuffer<R>(_ body: (UnsafeMutablePointer<CChar>, Int) -> R) -> (R, String) {
    var buffer = [CChar](repeating: 0, count: 256)
    let r = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    return (r, String(cString: buffer))
}

public enum ImageCodec {
    /// Reads a PNG or JPEG file. `minSide` lets a JPEG decode at a reduced scale (libjpeg-turbo's
    /// DCT scaling) as long as its shorter side stays at least that large.
    public static func read(_ path: String, minSide: Int = 0) throws -> Image {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ImagingError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try decode(data, file: path, minSide: minSide)
    }

    public static func decode(_ data: Data, file: String, minSide: Int = 0) throws -> Image {
        guard !data.isEmpty else { throw ImagingError.emptyFile(file: file) }
        let bytes = [UInt8](data.prefix(4))
        let isPNG = bytes.count >= 4 && bytes == [0x89, 0x50, 0x4E, 0x47]
        let isJPEG = bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8
        guard isPNG || isJPEG else { throw ImagingError.unsupportedFormat(file: file) }
        var image = sg_image()
        let (status, message) = data.withUnsafeBytes { raw in
            withErrorBuffer { err, len in
                let p = raw.bindMemory(to: UInt8.self).baseAddress!
                return isPNG ? sg_png_decode(p, raw.count, &image, err, len)
                             : sg_jpeg_decode(p, raw.count, Int32(minSide), &image, err, len)
            }
        }
        guard status == 0 else { throw ImagingError.corrupt(file: file, reason: message) }
        defer { sg_free(image.pixels) }
        guard image.width > 0, image.height > 0, (1...4).contains(image.channels), image.pixels != nil else {
            throw ImagingError.corrupt(file: file, reason: "decoder returned no pixels")
        }
        let count = Int(image.width) * Int(image.height) * Int(image.channels)
        return Image(width: Int(image.width), height: Int(image.height), channels: Int(image.channels),
                     pixels: Array(UnsafeBufferPointer(start: image.pixels, count: count)))
    }

    /// PNG bytes of `image` (8-bit gray, gray+alpha, RGB or RGBA).
    public static func encodePNG(_ image: Image) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let (status, message) = image.pixels.withUnsafeBufferPointer { p in
            withErrorBuffer { err, len in
                sg_png_encode(p.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                              &out, &length, err, len)
            }
        }
        guard status == 0, let out else { throw ImagingError.unwritable(file: "<png>", reason: message) }
        defer { sg_free(out) }
        return Data(bytes: out, count: length)
    }

    /// Baseline JPEG bytes of a gray or RGB image.
    public static func encodeJPEG(_ image: Image, quality: Int = 90) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let (status, message) = image.pixels.withUnsafeBufferPointer { p in
            withErrorBuffer { err, len in
                sg_jpeg_encode(p.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                               Int32(quality), &out, &length, err, len)
            }
        }
        guard status == 0, let out else { throw ImagingError.unwritable(file: "<jpeg>", reason: message) }
        defer { sg_free(out) }
        return Data(bytes: out, count: length)
    }

    /// Writes `image` as a PNG file durably (a temporary file, flushed, renamed into place).
    /// With `sync: false` it is renamed into place unflushed (many files flushed together later).
    public static func writePNG(_ image: Image, to path: String, sync: Bool = true) throws {
        let data: Data
        do { data = try encodePNG(image) } catch ImagingError.unwritable(_, let reason) {
            throw ImagingError.unwritable(file: path, reason: reason)
        }
        try writeAtomically(data, to: path, sync: sync)
    }

    /// Writes durably: a temporary file, flushed, renamed into place, the directory flushed.
    static func writeAtomically(_ data: Data, to path: String, sync: Bool = true) throws {
        do { try DurableFile.write(data, to: path, sync: sync) } catch {
            throw ImagingError.unwritable(file: path, reason: error.reason)
        }
    }
}
