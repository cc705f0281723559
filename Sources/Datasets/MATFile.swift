import CCodecs

/// A reader for MATLAB level-5 MAT-files (the format of SVHN's `train_32x32.mat`): numeric arrays,
/// compressed elements included, either byte order.
public struct MATFile {
    /// One numeric array. Dimensions are MATLAB's (column-major).
    public struct Array {
        public let name: String
        public let dims: [Int]
        /// The values, when stored as unsigned bytes (kept as is: SVHN's images).
        public let bytes: [UInt8]?
        /// The values as Double, for every other storage type.
        public let values: [Double]?
        public var count: Int { dims.reduce(1, *) }
        public func value(_ i: Int) -> Double { bytes.map { Double($0[i]) } ?? values![i] }
    }

    public let file: String
    public let arrays: [String: Array]

    public init(contentsOf path: String) throws {
        file = path
        let data = try readFile(path, gunzip: false)
        guard !data.isEmpty else { throw DatasetError.emptyFile(file: path) }
        guard data.count >= 128 else {
            throw DatasetError.badMagic(file: path, format: "a level-5 MAT-file", found: "\(data.count) bytes, shorter than its 128-byte header")
        }
        let endian = String(decoding: data[126..<128], as: UTF8.self)
        guard endian == "IM" || endian == "MI" else {
            throw DatasetError.badMagic(file: path, format: "a level-5 MAT-file", found: "no 'IM'/'MI' byte-order mark; a level-4 file?")
        }
        let reader = Reader(bytes: data, littleEndian: endian == "IM", file: path)
        let version = reader.u16(at: 124)
        guard version == 0x0100 else {
            throw DatasetError.unsupported(file: path, reason: "MAT-file version 0x\(String(version, radix: 16)) (7.3/HDF5?) is not supported; save it with -v7")
        }
        var arrays: [String: Array] = [:]
        try reader.elements(from: 128, to: data.count) { array in arrays[array.name] = array }
        self.arrays = arrays
    }

    public func array(_ name: String) throws -> Array {
        guard let a = arrays[name] else { throw DatasetError.missingVariable(file: file, name: name) }
        return a
    }

    struct Reader {
        let bytes: [UInt8]
        let littleEndian: Bool
        let file: String

        func u16(at i: Int) -> UInt16 {
            littleEndian ? UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 : UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
        }
        func u32(at i: Int) -> UInt32 {
            let b = (0..<4).map { UInt32(bytes[i + $0]) }
            return littleEndian ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
        }
        func u64(at i: Int) -> UInt64 {
            let lo = UInt64(u32(at: i)), hi = UInt64(u32(at: i + 4))
            return littleEndian ? lo | hi << 32 : lo << 32 | hi
        }

        func corrupt(_ why: String) -> DatasetError { .unsupported(file: file, reason: "corrupt MAT-file: \(why)") }

        /// The tag at `i`: (type, byte count, data offset, offset of the next element).
        func tag(at i: Int, end: Int) throws -> (type: UInt32, size: Int, data: Int, next: Int) {
            guard i + 8 <= end else { throw corrupt("element header at byte \(i) runs past the end") }
            let first = u32(at: i)
            if first >> 16 != 0 {  // small data element: size and type share the first word
                guard first >> 16 <= 4 else { throw corrupt("small element at byte \(i) claims \(first >> 16) bytes, at most 4 fit") }
                return (first & 0xFFFF, Int(first >> 16), i + 4, i + 8)
            }
            let size = Int(u32(at: i + 4))
            // Elements are padded to 8 bytes, except compressed ones.
            let next = i + 8 + (first == 15 ? size : (size + 7) & ~7)
            guard i + 8 + size <= end else { throw corrupt("element at byte \(i) claims \(size) bytes, past the end") }
            return (first, size, i + 8, min(next, end))
        }

        func elements(from start: Int, to end: Int, _ found: (Array) throws -> Void) throws {
            var i = start
            while i + 8 <= end {
                let t = try tag(at: i, end: end)
                switch t.type {
                case 15:  // miCOMPRESSED: a zlib stream holding more elements
                    let inflated = try inflate(Swift.Array(bytes[t.data..<(t.data + t.size)]))
                    let inner = Reader(bytes: inflated, littleEndian: littleEndian, file: file)
                    try inner.elements(from: 0, to: inflated.count, found)
                case 14:  // miMATRIX
                    if let a = try matrix(from: t.data, to: t.data + t.size) { try found(a) }
                default: break
                }
                i = t.next
            }
        }

        func inflate(_ compressed: [UInt8]) throws -> [UInt8] {
            var out: UnsafeMutablePointer<UInt8>?
            var length = 0
            var buffer = [CChar](repeating: 0, count: 256)
            let status = compressed.withUnsafeBufferPointer { c in
                buffer.withUnsafeMutableBufferPointer { sg_inflate(c.baseAddress, c.count, &out, &length, $0.baseAddress, $0.count) }
            }
            guard status == 0 else { throw corrupt(String(cString: buffer)) }
            defer { sg_free(out) }
            return Swift.Array(UnsafeBufferPointer(start: out, count: length))
        }

        /// A numeric array, or nil for cells, structs, sparse and character arrays.
        func matrix(from start: Int, to end: Int) throws -> Array? {
            if start == end { return nil }  // an empty matrix
            let flags = try tag(at: start, end: end)
            guard flags.size >= 8 else { throw corrupt("array flags too short") }
            let classID = u32(at: flags.data) & 0xFF
            let complex = u32(at: flags.data) & 0x0800 != 0
            let dimsTag = try tag(at: flags.next, end: end)
            let dims = (0..<(dimsTag.size / 4)).map { Int(Int32(bitPattern: u32(at: dimsTag.data + 4 * $0))) }
            guard dims.allSatisfy({ $0 >= 0 }) else { throw corrupt("negative dimension in \(dims)") }
            let nameTag = try tag(at: dimsTag.next, end: end)
            let name = String(decoding: bytes[nameTag.data..<(nameTag.data + nameTag.size)], as: UTF8.self)
            guard (6...15).contains(classID), !complex else { return nil }  // numeric real classes only
            let real = try tag(at: nameTag.next, end: end)
            // Dimensions multiply to no more values than the element has bytes (nor overflow).
            var count = 1
            for d in dims {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= real.size else {
                    throw corrupt("variable '\(name)' has dimensions \(dims) but holds \(real.size) bytes")
                }
                count = product
            }
            let width: [UInt32: Int] = [1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8]
            guard let w = width[real.type] else { throw corrupt("variable '\(name)' has storage type \(real.type)") }
            guard real.size == count * w else {
                throw corrupt("variable '\(name)' holds \(real.size) bytes for \(count) values of \(w) bytes")
            }
            if real.type == 2 {
                return Array(name: name, dims: dims, bytes: Swift.Array(bytes[real.data..<(real.data + count)]), values: nil)
            }
            let values: [Double] = (0..<count).map { k in
                let p = real.data + k * w
                switch real.type {
                case 1: return Double(Int8(bitPattern: bytes[p]))
                case 3: return Double(Int16(bitPattern: u16(at: p)))
                case 4: return Double(u16(at: p))
                case 5: return Double(Int32(bitPattern: u32(at: p)))
                case 6: return Double(u32(at: p))
                case 7: return Double(Float(bitPattern: u32(at: p)))
                case 9: return Double(bitPattern: u64(at: p))
                case 12: return Double(Int64(bitPattern: u64(at: p)))
                default: return Double(u64(at: p))
                }
            }
            return Array(name: name, dims: dims, bytes: nil, values: values)
        }
    }
}

/// SVHN's "format 2" files: `X` uint8 32×32×3×N (column-major) and `y` with labels 1–10, where 10
/// stands for the digit 0: the classes are the digits "0" to "9", label 10 becoming class 0.
public enum SVHN {
    public static func dataset(_ path: String, name: String) throws -> ImageDataset {
        let mat = try MATFile(contentsOf: path)
        let x = try mat.array("X")
        guard x.dims.count == 4, x.dims[2] == 3 || x.dims[2] == 1 else {
            throw DatasetError.unsupported(file: path, reason: "variable 'X' has dimensions \(x.dims); expected H×W×C×N")
        }
        let (h, w, c, n) = (x.dims[0], x.dims[1], x.dims[2], x.dims[3])
        guard h > 0, w > 0, n > 0 else {
            throw DatasetError.unsupported(file: path, reason: "variable 'X' has dimensions \(x.dims); expected at least one image of at least 1×1")
        }
        // Column-major H×W×C×N to row-major N×H×W×C.
        let source = x.bytes ?? x.values!.map { UInt8(max(0, min(255, $0.rounded()))) }
        var pixels = [UInt8](repeating: 0, count: n * h * w * c)
        source.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n { for ch in 0..<c { for col in 0..<w { for row in 0..<h {
                    dst[((i * h + row) * w + col) * c + ch] = src[row + h * (col + w * (ch + c * i))]
                } } } }
            }
        }
        var labels: [Int32]?
        if let y = mat.arrays["y"] {
            guard y.count == n else {
                throw DatasetError.countMismatch(images: path + " (X)", labels: path + " (y)", imageCount: n, labelCount: y.count)
            }
            labels = try (0..<n).map { i in
                let v = y.value(i)
                guard v.isFinite, v >= 0, v <= 10, v == v.rounded() else {
                    throw DatasetError.unsupported(file: path, reason: "label \(i) of 'y' is \(v); expected a digit label 1–10")
                }
                return Int32(v) % 10
            }
        }
        return ImageDataset(name: name, count: n, height: h, width: w, channels: c, pixels: pixels, labels: labels,
                            classNames: labels == nil ? nil : (0..<10).map { String($0) },
                            unlabelledReason: "no variable 'y' in the MAT-file")
    }
}
