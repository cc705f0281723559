import CChecksum
import DurableIO
import Foundation
import Protobuf

/// TFRecord framing, as TensorFlow's record writer and TensorBoard's reader use it: each record is
/// its length (u64, little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked
/// CRC-32C of the data.
public enum TFRecord {
    /// CRC-32C rotated and offset, as TFRecord stores it.
    public static func maskedCRC(_ data: Data) -> UInt32 {
        let crc = data.withUnsafeBytes { sg_crc32c(0, $0.bindMemory(to: UInt8.self).baseAddress, $0.count) }
        return ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }

    public static func frame(_ record: Data) -> Data {
        var length = Data()
        withUnsafeBytes(of: UInt64(record.count).littleEndian) { length.append(contentsOf: $0) }
        var out = length
        withUnsafeBytes(of: maskedCRC(length).littleEndian) { out.append(contentsOf: $0) }
        out.append(record)
        withUnsafeBytes(of: maskedCRC(record).littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The records of a file, in order, up to the first one that is cut short or fails its checks
    /// (a writer killed mid-record leaves such a tail; readers stop there too).
    public static func records(_ data: Data) -> [Data] {
        var out: [Data] = []
        var i = data.startIndex
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(data[at + $1]) << (8 * $1) } }
        while data.endIndex - i >= 12 {
            let lengthBytes = data[i..<(i + 8)]
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[i + $1]) << (8 * UInt64($1)) }
            guard u32(i + 8) == maskedCRC(Data(lengthBytes)), length <= UInt64(data.endIndex - i - 16) else { break }
            let start = i + 12, end = start + Int(length)
            let record = Data(data[start..<end])
            guard u32(end) == maskedCRC(record) else { break }
            out.append(record)
            i = end + 4
        }
        return out
    }
}

/// A TensorBoard event file (`events.out.tfevents.<time>.<host>`) in a run directory: scalars,
/// images and text, each at a step, as `Event` protocol buffers in TFRecord framing.
///
/// A run keeps one event file. Resuming from a checkpoint at step S rewrites it with only the
/// events of steps ≤ S (durably: temporary file, fsync, rename), so that the steps a killed run
/// logged after its last checkpoint, and which the resumed run logs again, appear once.
public final class EventWriter {
    public let path: String
    let handle: FileHandle

    /// The event file of the run in `directory`: the existing one, cut back to the events of steps
    /// ≤ `keepingStepsUpTo` when given; else a new one, beginning with the file-version event.
    public init(directory: String, keepingStepsUpTo step: Int? = nil) throws {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
            .filter { $0.hasPrefix("events.out.tfevents.") }.sorted().first
        if let existing {
            path = directory + "/" + existing
            if let step {
                let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
                let kept = TFRecord.records(data).filter { (Self.step(of: $0) ?? 0) <= step }
                try DurableFile.write(Data(kept.map(TFRecord.frame).joined()), to: path)
            }
        } else {
            let host = ProcessInfo.processInfo.hostName.isEmpty ? "localhost" : ProcessInfo.processInfo.hostName
            path = directory + "/events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host)"
            var first = ProtobufWriter()
            first.double(1, Date().timeIntervalSince1970)
            first.int(2, 0)
            first.string(3, "brain.Event:2")
            try DurableFile.write(TFRecord.frame(first.data), to: path)
        }
        do { handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path)) } catch {
            throw Self.fileError(error, path, "open")
        }
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// The step field of an encoded `Event`.
    static func step(of event: Data) -> Int? {
        guard let fields = protobufFields(event) else { return nil }
        return fields.first { $0.field == 2 }?.varint.map { Int(Int64(bitPattern: $0)) } ?? 0
    }

    /// One `Event` at `step` whose summary holds `values` (each built by a closure).
    func write(step: Int, wallTime: Double, _ values: [(inout ProtobufWriter) -> Void]) throws {
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int(2, step)
        event.message(5) { summary in for value in values { summary.message(1, value) } }
        do { try handle.write(contentsOf: TFRecord.frame(event.data)) } catch {
            throw Self.fileError(error, path, "write")
        }
    }

    /// Scalars (`Summary.Value.simple_value`), all at one step.
    public func scalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        guard !values.isEmpty else { return }
        try write(step: step, wallTime: wallTime, values.map { v in { $0.string(1, v.tag); $0.float(2, Float(v.value)) } })
    }

    /// An image (`Summary.Image`), given as PNG bytes with its size and channels (1 or 3).
    public func image(_ tag: String, png: Data, width: Int, height: Int, channels: Int, step: Int,
                      wallTime: Double = Date().timeIntervalSince1970) throws {
        try write(step: step, wallTime: wallTime, [{ value in
            value.string(1, tag)
            value.message(4) { image in
                image.int(1, height); image.int(2, width); image.int(3, channels); image.bytes(4, png)
            }
        }])
    }

    /// Text, shown by TensorBoard's text plugin (Markdown): a string tensor with the plugin named.
    public func text(_ tag: String, _ text: String, step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        try write(step: step, wallTime: wallTime, [{ value in
            value.string(1, tag)
            value.message(9) { metadata in metadata.message(1) { $0.string(1, "text") } }
            value.message(8) { tensor in
                tensor.int(1, 7)  // DT_STRING
                tensor.message(2) { _ in }  // a scalar: no dimensions
                tensor.string(8, text)
            }
        }])
    }

    /// A Foundation file error as a `FileError` with the system's code (EIO when it has none).
    static func fileError(_ error: Error, _ path: String, _ operation: String) -> FileError {
        let ns = error as NSError
        let posix = ns.domain == NSPOSIXErrorDomain ? ns : ns.userInfo[NSUnderlyingErrorKey] as? NSError
        return FileError(path: path, operation: operation, code: posix.map { Int32($0.code) } ?? EIO)
    }

    /// Flushes what was written to the disk.
    public func sync() { try? handle.synchronize() }
}
