import DurableIO
import Foundation

/// NumPy's `.npy` format (version 1.0): a float32 array (images) or an int64 array (labels), for
/// `swiftgan sample --out x.npy`. Written by hand: the format is a 10-byte preamble and a
/// Python-literal header, and NumPy reads it.
public enum NPY {
    /// The element types written.
    public enum DType: String, Sendable {
        case float32 = "<f4", int64 = "<i8"
        var size: Int64 { self == .float32 ? 4 : 8 }
    }

    public static func encode(_ values: [Float], shape: [Int]) -> Data {
        var data = header(shape: shape)
        data.append(payload(values))
        return data
    }

    /// The preamble and header of a little-endian float32 array of `shape`, padded to 64 bytes.
    public static func header(shape: [Int], dtype: DType = .float32) -> Data {
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", "))\(shape.count == 1 ? "," : "")), }"
        // Magic (6) + version (2) + length (2) + header, padded with spaces and a newline to 64 bytes.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    /// `values` as little-endian float32 bytes.
    public static func payload(_ values: [Float]) -> Data {
        values.withUnsafeBufferPointer { buffer in
            var data = Data(count: buffer.count * 4)
            data.withUnsafeMutableBytes { raw in
                let out = raw.bindMemory(to: UInt32.self)
                for i in 0..<buffer.count { out[i] = buffer[i].bitPattern.littleEndian }
            }
            return data
        }
    }

    /// `values` as little-endian int64 bytes.
    public static func payload(_ values: [Int64]) -> Data {
        var data = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// Bytes of an `.npy` file of `shape` (`Int64.max` when it would not fit in one).
    public static func fileSize(shape: [Int], dtype: DType = .float32) -> Int64 {
        var bytes = dtype.size
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: Int64(d))
            if overflow { return .max }
            bytes = product
        }
        let (total, overflow) = bytes.addingReportingOverflow(Int64(header(shape: shape, dtype: dtype).count))
        return overflow ? .max : total
    }

    /// An `.npy` file written as its rows arrive: the header first (the shape is known), then the
    /// values in order. The file appears at its path only when `finish` has checked that every
    /// value came and flushed it to the disk; an error or an early exit leaves no file that looks
    /// complete.
    public final class Writer {
        public let path: String
        public let dtype: DType
        let stream: DurableFile.Stream
        let expected: Int64
        var values: Int64 = 0

        public init(path: String, shape: [Int], dtype: DType = .float32) throws {
            self.path = path
            self.dtype = dtype
            expected = shape.reduce(Int64(1)) { $0 * Int64($1) }
            do {
                stream = try DurableFile.Stream(creating: path)
                try stream.append(NPY.header(shape: shape, dtype: dtype))
            } catch {
                throw ImagingError.unwritable(file: path, reason: error.reason)
            }
        }

        public func append(_ values: [Float]) throws {
            precondition(dtype == .float32, "NPY.Writer.append: float32 values for an \(dtype) array")
            try append(NPY.payload(values), count: values.count)
        }

        public func append(_ values: [Int64]) throws {
            precondition(dtype == .int64, "NPY.Writer.append: int64 values for a \(dtype) array")
            try append(NPY.payload(values), count: values.count)
        }

        func append(_ bytes: Data, count: Int) throws {
            precondition(self.values + Int64(count) <= expected, "NPY.Writer.append: more values than the shape holds")
            do { try stream.append(bytes) } catch {
                throw ImagingError.unwritable(file: path, reason: error.reason)
            }
            self.values += Int64(count)
        }

        public func finish() throws {
            precondition(values == expected, "NPY.Writer.finish: \(values) of \(expected) values written")
            do { try stream.commit() } catch {
                throw ImagingError.unwritable(file: path, reason: error.reason)
            }
        }
    }
}

/// A `.npy` file that cannot be read as the array asked for.
public enum NPYError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case notNPY(file: String)
    case unsupported(file: String, reason: String)
    case truncated(file: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .notNPY(let f): return "\(f): not a NumPy .npy file (no \\x93NUMPY magic)"
        case .unsupported(let f, let r): return "\(f): \(r)"
        case .truncated(let f, let e, let a): return "\(f): expected \(e) bytes of data from its header, found \(a)"
        }
    }
}

extension NPY {
    /// A floating-point array read from a `.npy` file (versions 1–3; float32 or float64, either
    /// byte order, C order), as float32 values with its shape.
    public static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw NPYError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try decode(data, file: path)
    }

    public static func decode(_ data: Data, file: String) throws -> (shape: [Int], values: [Float]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw NPYError.notNPY(file: file) }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw NPYError.unsupported(file: file, reason: ".npy format version \(major) is not supported (1 to 3 are)") }
        let lengthSize = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else { throw NPYError.notNPY(file: file) }
        let headerLength = (0..<lengthSize).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        let start = 8 + lengthSize
        guard headerLength <= bytes.count - start else {
            throw NPYError.truncated(file: file, expected: headerLength, actual: bytes.count - start)
        }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        func entry(_ key: String) -> String? {
            guard let k = header.range(of: "'\(key)'") else { return nil }
            let rest = header[k.upperBound...].drop { $0 == " " || $0 == ":" }
            if rest.first == "(" { return rest.firstIndex(of: ")").map { String(rest[rest.startIndex...$0]) } }
            return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = entry("descr"), let order = entry("fortran_order"), let shapeText = entry("shape") else {
            throw NPYError.unsupported(file: file, reason: "its header lacks descr, fortran_order or shape: \(header.prefix(120))")
        }
        let type = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let size: Int, littleEndian: Bool
        switch type {
        case "<f4", "|f4", "=f4": (size, littleEndian) = (4, true)
        case ">f4": (size, littleEndian) = (4, false)
        case "<f8", "=f8": (size, littleEndian) = (8, true)
        case ">f8": (size, littleEndian) = (8, false)
        default: throw NPYError.unsupported(file: file, reason: "dtype \(type) is not supported; expected float32 or float64")
        }
        guard order == "False" else { throw NPYError.unsupported(file: file, reason: "Fortran-ordered arrays are not supported; save it with C order") }
        let inner = shapeText.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try inner.map { text -> Int in
            guard let d = Int(text), d >= 0 else { throw NPYError.unsupported(file: file, reason: "shape \(shapeText) is not a tuple of sizes") }
            return d
        }
        guard let count = elementCount(shape, atMost: bytes.count) else {
            throw NPYError.unsupported(file: file, reason: "shape \(shape) holds more values than the file's \(bytes.count) bytes")
        }
        let body = start + headerLength
        guard bytes.count - body == count * size else { throw NPYError.truncated(file: file, expected: count * size, actual: bytes.count - body) }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var bits: UInt64 = 0
            for b in 0..<size { bits |= UInt64(bytes[body + i * size + b]) << (8 * (littleEndian ? b : size - 1 - b)) }
            values[i] = size == 4 ? Float(bitPattern: UInt32(bits)) : Float(Double(bitPattern: bits))
        }
        return (shape, values)
    }
}

/// The number of elements of an array of `dims` read from a file, or nil when it exceeds `limit`
/// (the file's size: no element takes less than a byte) or overflows — a header cannot claim more
/// than the file holds.
public func elementCount(_ dims: [Int], atMost limit: Int) -> Int? {
    var count = 1
    for d in dims {
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, product <= limit else { return nil }
        count = product
    }
    return count
}
