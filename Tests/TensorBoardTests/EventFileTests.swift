import CChecksum
import Foundation
import Protobuf
import Testing
@testable import TensorBoard

@Suite(.serialized) struct EventFileTests {
    func crc(_ bytes: [UInt8], portable: Bool = false) -> UInt32 {
        bytes.withUnsafeBufferPointer { portable ? sg_crc32c_portable(0, $0.baseAddress, $0.count) : sg_crc32c(0, $0.baseAddress, $0.count) }
    }

    /// The CRC-32C check value (RFC 3720's "123456789"), and the instruction agreeing with the table
    /// on every length and alignment.
    @Test func crc32cMatchesItsCheckValueAndTheTable() {
        #expect(crc(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc(Array("123456789".utf8), portable: true) == 0xE306_9283)
        #expect(crc([]) == 0)
        guard sg_crc32c_hardware() != 0 else {
            print("skipped: this CPU has no SSE4.2 crc32 instruction; the table alone was checked")
            return
        }
        var state: UInt64 = 1
        let bytes = (0..<300).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1; return UInt8(state >> 56) }
        for start in 0..<9 { for end in stride(from: start, through: 300, by: 7) {
            #expect(crc(Array(bytes[start..<end])) == crc(Array(bytes[start..<end]), portable: true))
        } }
    }

    @Test func recordsRoundTripAndStopAtABrokenTail() {
        let records = [Data("first".utf8), Data(), Data(repeating: 7, count: 1000)]
        let file = Data(records.map(TFRecord.frame).joined())
        #expect(TFRecord.records(file) == records)
        #expect(TFRecord.records(file.prefix(file.count - 3)) == Array(records.prefix(2)))  // cut short
        var corrupt = file
        corrupt[12 + 2] ^= 0xff  // a byte of the first record's data
        #expect(TFRecord.records(corrupt).isEmpty)
    }

    @Test func protobufFieldsReadBackWhatTheWriterWrote() throws {
        var m = ProtobufWriter()
        m.double(1, 2.5)
        m.int(2, 300)
        m.int(3, -1)
        m.message(5) { $0.string(1, "loss/D"); $0.float(2, 0.5) }
        let fields = try #require(protobufFields(m.data))
        #expect(fields.map(\.field) == [1, 2, 3, 5])
        #expect(fields[1].varint == 300 && fields[2].varint == UInt64.max)
        #expect(m.data.prefix(1) == Data([0x09]))  // field 1, fixed64
        let inner = try #require(protobufFields(fields[3].bytes!))
        #expect(inner.first.flatMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } } == "loss/D")
        #expect(protobufFields(Data([0x12, 0x05, 0x01])) == nil)  // a length past the end
    }
}
