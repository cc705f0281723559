import Foundation

/// Protocol Buffers' wire format, for writing: the few messages SwiftGAN emits (TensorBoard's
/// `Event` and `Summary`) are encoded field by field here rather than through swift-protobuf,
/// whose code generator takes minutes to build for a handful of write-only messages.
///
/// ```swift
/// var m = ProtobufWriter()
/// m.double(1, 1.5e9)            // field 1, fixed64
/// m.int(2, 100)                 // field 2, varint
/// m.message(5) { $0.string(1, "loss/D"); $0.float(2, 0.7) }
/// let bytes = m.data
/// ```
public struct ProtobufWriter: Sendable {
    public private(set) var data = Data()

    public init() {}

    enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    mutating func key(_ field: Int, _ type: WireType) {
        precondition(field > 0 && field < 1 << 29, "ProtobufWriter: field number \(field)")
        varint(UInt64(field) << 3 | type.rawValue)
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { data.append(UInt8(v & 0x7f | 0x80)); v >>= 7 }
        data.append(UInt8(v))
    }

    /// An int32/int64/enum/bool field (negative values take ten bytes, as the format says).
    public mutating func int(_ field: Int, _ value: Int64) { key(field, .varint); varint(UInt64(bitPattern: value)) }
    public mutating func int(_ field: Int, _ value: Int) { int(field, Int64(value)) }

    public mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func bytes(_ field: Int, _ value: Data) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        data.append(value)
    }

    public mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }

    /// A nested message, built by `body`.
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.data)
    }
}

/// The top-level fields of a message, for reading back what `ProtobufWriter` wrote (a resumed run
/// reads the steps of its own events). Returns nil for bytes that are not a well-formed message.
public func protobufFields(_ data: Data) -> [(field: Int, varint: UInt64?, bytes: Data?)]? {
    var out: [(Int, UInt64?, Data?)] = []
    var i = data.startIndex
    func varint() -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while i < data.endIndex, shift < 64 {
            let b = data[i]; i += 1
            v |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return v }
            shift += 7
        }
        return nil
    }
    while i < data.endIndex {
        guard let key = varint() else { return nil }
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: guard let v = varint() else { return nil }; out.append((field, v, nil))
        case 1: guard data.endIndex - i >= 8 else { return nil }; out.append((field, nil, data[i..<(i + 8)])); i += 8
        case 5: guard data.endIndex - i >= 4 else { return nil }; out.append((field, nil, data[i..<(i + 4)])); i += 4
        case 2:
            guard let n = varint(), n <= UInt64(data.endIndex - i) else { return nil }
            out.append((field, nil, data[i..<(i + Int(n))])); i += Int(n)
        default: return nil
        }
    }
    return out
}
