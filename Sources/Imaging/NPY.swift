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
