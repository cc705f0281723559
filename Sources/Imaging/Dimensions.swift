import Foundation

extension ImageCodec {
    /// The width and height a PNG or JPEG file declares, read from its header without decoding:
    /// what a server checks before it lets a small file decode into a huge picture. Nil when the
    /// header is not one of these or is cut short.
    public static func declaredSize(_ data: Data) -> (width: Int, height: Int)? {
        let b = [UInt8](data.prefix(65_536))
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        // PNG: the signature, then IHDR's length and type, then width and height.
        if b.count >= 24, b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], b[12..<16] == [0x49, 0x48, 0x44, 0x52] {
            return (be32(16), be32(20))
        }
        // JPEG: markers after SOI until a start of frame (SOF0–SOF15 but DHT, JPG and DAC), whose
        // payload is precision, height, width.
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            let length = be16(i + 2)
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard i + 9 <= b.count else { return nil }
                return (be16(i + 7), be16(i + 5))
            }
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }

    /// Decodes bytes from an untrusted sender (an upload): refused before decoding when the header
    /// declares more than `maxPixels` pixels (a small file can declare a huge picture), and
    /// checked after decoding to be the picture the header declared.
    public static func decode(untrusted data: Data, file: String, maxPixels: Int) throws -> Image {
        guard !data.isEmpty else { throw ImagingError.emptyFile(file: file) }
        guard let size = declaredSize(data) else {
            // Not PNG or JPEG, or a header cut short: let the decoder say which.
            _ = try decode(data.prefix(64), file: file)
            throw ImagingError.corrupt(file: file, reason: "no picture size in its header")
        }
        guard size.width > 0, size.height > 0, size.width.multipliedReportingOverflow(by: size.height).partialValue <= maxPixels,
              size.width <= 65_535, size.height <= 65_535 else {
            throw ImagingError.tooManyPixels(file: file, width: size.width, height: size.height, limit: maxPixels)
        }
        let image = try decode(data, file: file)
        guard image.width == size.width && image.height == size.height else {
            throw ImagingError.corrupt(file: file, reason: "its header declares \(size.width)×\(size.height), its data \(image.width)×\(image.height)")
        }
        return image
    }
}
