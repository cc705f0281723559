import DurableIO
import Foundation
import Tensors

/// A failure reading or writing a safetensors file. Every case names the file, and the tensor
/// where one is involved; `description` is one line fit for a user.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case truncated(file: String, detail: String)
    case malformedHeader(file: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case missingTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .truncated(let f, let d): return "\(f): truncated safetensors file: \(d)"
        case .malformedHeader(let f, let d): return "\(f): malformed safetensors header: \(d)"
        case .unsupportedDType(let f, let t, let d):
            return "\(f): tensor '\(t)' has dtype \(d); expected F32, F64, F16, BF16, I64 or I32"
        case .missingTensor(let f, let t): return "\(f): tensor '\(t)' is missing"
        case .shapeMismatch(let f, let t, let e, let s): return "\(f): tensor '\(t)' has shape \(s), expected \(e)"
        case .unwritable(let f, let r): return "\(f): cannot write: \(r)"
        }
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping each name to dtype, shape and byte offsets, then the raw little-endian data.
/// Readable by Python's `safetensors` package and so by PyTorch.
public struct SafeTensors {
    /// How a tensor is stored on disk.
    public enum DType: String, Sendable { case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32"
        var size: Int { switch self { case .f32, .i32: 4; case .f64, .i64: 8; case .f16, .bf16: 2 } }
    }

    public let file: String
    public let metadata: [String: String]
    /// Tensor names in file order.
    public let names: [String]
    private let entries: [String: (dtype: DType, shape: [Int], range: Range<Int>)]
    private let data: Data

    /// Reads and validates a whole file.
    public init(contentsOf path: String) throws {
        file = path
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SafeTensorsError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        guard bytes.count >= 8 else {
            throw SafeTensorsError.truncated(file: path, detail: "\(bytes.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError.truncated(file: path, detail: "header of \(headerLength) bytes but only \(bytes.count - 8) follow")
        }
        let headerData = bytes.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw SafeTensorsError.malformedHeader(file: path, detail: "not a JSON object")
        }
        data = bytes.subdata(in: (8 + Int(headerLength))..<bytes.count)
        var meta: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: String] else {
                throw SafeTensorsError.malformedHeader(file: path, detail: "__metadata__ must map strings to strings")
            }
            meta = dict
        }
        metadata = meta
        var parsed: [String: (DType, [Int], Range<Int>)] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let e = value as? [String: Any], let dt = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafeTensorsError.malformedHeader(file: path, detail: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dt) else {
                throw SafeTensorsError.unsupportedDType(file: path, tensor: name, dtype: dt)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw SafeTensorsError.malformedHeader(file: path, detail: "entry '\(name)' has negative sizes or offsets")
            }
            let expected = shape.reduce(1, *) * dtype.size
            guard offsets[1] - offsets[0] == expected else {
                throw SafeTensorsError.malformedHeader(
                    file: path, detail: "tensor '\(name)' spans \(offsets[1] - offsets[0]) bytes; shape \(shape) of \(dt) needs \(expected)")
            }
            guard offsets[1] <= data.count else {
                throw SafeTensorsError.truncated(file: path, detail: "tensor '\(name)' ends at byte \(offsets[1]) of \(data.count)")
            }
            parsed[name] = (dtype, shape, offsets[0]..<offsets[1])
        }
        entries = parsed
        names = parsed.sorted { $0.value.2.lowerBound < $1.value.2.lowerBound }.map(\.key)
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func dtype(of name: String) -> DType? { entries[name]?.dtype }

    /// The named tensor converted to Float32; `shape` (when given) must match.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(file: file, tensor: name) }
        if let expected, expected != e.shape {
            throw SafeTensorsError.shapeMismatch(file: file, tensor: name, expected: expected, found: e.shape)
        }
        let count = e.shape.reduce(1, *)
        let values: [Float] = data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: e.range.lowerBound)
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                T(littleEndian: (base + i * MemoryLayout<T>.size).loadUnaligned(as: T.self))
            }
            return (0..<count).map { i in
                switch e.dtype {
                case .f32: return Float(bitPattern: load(UInt32.self, i))
                case .f64: return Float(Double(bitPattern: load(UInt64.self, i)))
                case .f16: return Float(Float16(bitPattern: load(UInt16.self, i)))
                case .bf16: return Float(bitPattern: UInt32(load(UInt16.self, i)) << 16)
                case .i64: return Float(Int64(bitPattern: load(UInt64.self, i)))
                case .i32: return Float(Int32(bitPattern: load(UInt32.self, i)))
                }
            }
        }
        return Tensor(values, shape: e.shape)
    }

    /// All tensors, by name.
    public func allTensors() throws -> [String: Tensor] {
        try Dictionary(uniqueKeysWithValues: names.map { ($0, try tensor($0)) })
    }

    /// Writes `tensors` (in the given order) to `path` atomically: a crash leaves either the old
    /// file or the new one, never half of one.
    public static func write(_ tensors: [(name: String, tensor: Tensor, dtype: DType)], metadata: [String: String] = [:],
                             to path: String) throws {
        var header = "{"
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            header += "\"__metadata__\":{\(m.joined(separator: ","))},"
        }
        var payload = Data()
        var items: [String] = []
        for (name, tensor, dtype) in tensors {
            precondition(dtype == .f32 || dtype == .i64, "SafeTensors.write: only F32 and I64 are written")
            let begin = payload.count
            let values = tensor.scalars
            if dtype == .f32 {
                #if _endian(little)
                values.withUnsafeBytes { payload.append(contentsOf: $0) }  // the host's bytes are the format's
                #else
                for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
                #endif
            } else {
                for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { payload.append(contentsOf: $0) } }
            }
            items.append("\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(payload.count)]}")
        }
        header += items.joined(separator: ",") + "}"
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (header.utf8.count % 8) != 0 { header += " " }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(payload)
        do { try DurableFile.write(out, to: path) } catch {
            throw SafeTensorsError.unwritable(file: path, reason: error.reason)
        }
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

extension Module {
    /// Writes parameters and buffers under their `state_dict` names.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var entries: [(String, Tensor, SafeTensors.DType)] = namedParameters().map { ($0.name, $0.parameter.value, .f32) }
        entries += namedBuffers().map { ($0.name, $0.buffer.value, $0.buffer.kind == .int64 ? .i64 : .f32) }
        try SafeTensors.write(entries, metadata: metadata, to: path)
    }

    /// Loads every parameter and buffer from `path`. All are checked before any is changed, so a
    /// bad file leaves the module as it was.
    public func load(from path: String) throws {
        let file = try SafeTensors(contentsOf: path)
        try load(from: file)
    }

    public func load(from file: SafeTensors) throws {
        let params = namedParameters(), buffers = namedBuffers()
        let ps = try params.map { try file.tensor($0.name, shape: $0.parameter.shape) }
        let bs = try buffers.map { try file.tensor($0.name, shape: $0.buffer.value.shape) }
        for (p, t) in zip(params, ps) { p.parameter.assign(t) }
        for (b, t) in zip(buffers, bs) { b.buffer.assign(t) }
    }
}
