import Foundation
import Testing
@testable import NN
import Tensors

import TestSupport

/// A path in this run's scratch folder for safetensors tests.
func temporaryPath(_ name: String) -> String { scratchFolder + "/" + name }
let scratchFolder = scratch("safetensors")

@Suite(.serialized) struct SafeTensorsTests {
    @Test func moduleRoundTripsExactly() throws {
        let path = temporaryPath("g.safetensors")
        let g = TinyGenerator()
        _ = g(Tensor.randomNormal([4, 8, 1, 1], using: RandomGenerator(seed: 1)))  // move the running stats
        try g.save(to: path, metadata: ["format": "pt"])
        let h = TinyGenerator()
        for p in h.parameters { Initializer.zeros.apply(to: p, using: RandomGenerator(seed: 0)) }
        try h.load(from: path)
        for ((n1, p1), (_, p2)) in zip(g.namedParameters(), h.namedParameters()) {
            #expect(p1.value.scalars == p2.value.scalars, "\(n1)")
        }
        for ((n1, b1), (_, b2)) in zip(g.namedBuffers(), h.namedBuffers()) {
            #expect(b1.value.scalars == b2.value.scalars, "\(n1)")
        }
        let file = try SafeTensors(contentsOf: path)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.dtype(of: "main.1.num_batches_tracked") == .i64)
    }

    /// Python's `safetensors` reads what we write: same names, shapes and values; and we read what
    /// it writes.
    @Test func pythonSafetensorsReadsOurFilesAndWritesOnesWeRead() throws {
        let path = temporaryPath("py.safetensors")
        let g = TinyGenerator()
        try g.save(to: path)
        let script = """
        import sys, json
        from safetensors.numpy import load_file
        t = load_file(sys.argv[1])
        print(json.dumps({k: {"shape": list(v.shape), "dtype": str(v.dtype), "values": v.reshape(-1).tolist()} for k, v in t.items()}))
        """
        let json = try TestSupport.json(try python(script, [path])) as! [String: [String: Any]]
        let expected = g.namedParameters().map { ($0.name, $0.parameter.value) } + g.namedBuffers().map { ($0.name, $0.buffer.value) }
        #expect(Set(json.keys) == Set(expected.map(\.0)))
        for (name, tensor) in expected {
            let entry = json[name]!
            #expect(entry["shape"] as! [Int] == tensor.shape, "\(name)")
            let values = (entry["values"] as! [NSNumber]).map { $0.floatValue }
            #expect(values == tensor.scalars, "\(name)")
        }
        #expect(json["main.0.weight"]!["dtype"] as! String == "float32")
        #expect(json["main.1.num_batches_tracked"]!["dtype"] as! String == "int64")

        let written = temporaryPath("from-python.safetensors")
        let writer = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "b": np.array([1.5, -2.25], dtype=np.float64),
                   "c": np.array([3, -4], dtype=np.int64), "d": np.array([0.5, 1.0], dtype=np.float16)}, sys.argv[1])
        """
        try python(writer, [written])
        let file = try SafeTensors(contentsOf: written)
        #expect(try file.tensor("a").scalars == (0..<6).map { Float($0) / 7 })
        #expect(try file.tensor("a").shape == [2, 3])
        #expect(try file.tensor("b").scalars == [1.5, -2.25])
        #expect(try file.tensor("c").scalars == [3, -4])
        #expect(try file.tensor("d").scalars == [0.5, 1.0])
    }

    @Test func badFilesGiveTypedErrorsNamingTheFileAndTensor() throws {
        let good = temporaryPath("good.safetensors")
        try SafeTensors.write([("w", Tensor([Float(1), 2, 3, 4], shape: [2, 2]), .f32)], to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        func file(_ name: String, _ data: Data) -> String {
            let p = temporaryPath(name)
            try! data.write(to: URL(fileURLWithPath: p))
            return p
        }
        func header(_ json: String, payload: Int = 16) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(json.utf8))
            d.append(Data(count: payload))
            return d
        }

        let missing = temporaryPath("does-not-exist.safetensors")
        #expect { try SafeTensors(contentsOf: missing) } throws: {
            guard case .unreadable(let f, _) = $0 as? SafeTensorsError else { return false }
            return f == missing
        }
        let empty = file("empty.safetensors", Data())
        #expect { try SafeTensors(contentsOf: empty) } throws: {
            ($0 as? SafeTensorsError)?.description.hasPrefix("\(empty): truncated") ?? false
        }
        let cut = file("cut.safetensors", bytes.prefix(bytes.count - 3))
        #expect { try SafeTensors(contentsOf: cut) } throws: {
            ($0 as? SafeTensorsError)?.description == "\(cut): truncated safetensors file: tensor 'w' ends at byte 16 of 13"
        }
        let headerCut = file("headercut.safetensors", bytes.prefix(20))
        #expect { try SafeTensors(contentsOf: headerCut) } throws: {
            ($0 as? SafeTensorsError)?.description.contains("header of") ?? false
        }
        let garbage = file("garbage.safetensors", header("{not json"))
        #expect(throws: SafeTensorsError.malformedHeader(file: garbage, detail: "not a JSON object")) {
            try SafeTensors(contentsOf: garbage)
        }
        let wrongDType = file("dtype.safetensors", header(#"{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#))
        #expect(throws: SafeTensorsError.unsupportedDType(file: wrongDType, tensor: "w", dtype: "U8")) {
            try SafeTensors(contentsOf: wrongDType)
        }
        let wrongSize = file("size.safetensors", header(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#))
        #expect { try SafeTensors(contentsOf: wrongSize) } throws: {
            ($0 as? SafeTensorsError)?.description.contains("tensor 'w' spans 8 bytes; shape [3] of F32 needs 12") ?? false
        }
        let noOffsets = file("nooffsets.safetensors", header(#"{"w":{"dtype":"F32","shape":[3]}}"#))
        #expect { try SafeTensors(contentsOf: noOffsets) } throws: {
            ($0 as? SafeTensorsError)?.description.contains("entry 'w' lacks") ?? false
        }

        let ok = try SafeTensors(contentsOf: good)
        #expect(throws: SafeTensorsError.missingTensor(file: good, tensor: "v")) { try ok.tensor("v") }
        #expect(throws: SafeTensorsError.shapeMismatch(file: good, tensor: "w", expected: [4], found: [2, 2])) {
            try ok.tensor("w", shape: [4])
        }
    }

    @Test func aFailedLoadLeavesTheModuleUnchanged() throws {
        let path = temporaryPath("partial.safetensors")
        let g = TinyGenerator()
        // Only the first tensor: the load must fail on the second and change nothing.
        try SafeTensors.write([("main.0.weight", Tensor.zeros([8, 16, 4, 4]), .f32)], to: path)
        let before = g.parameters.map { $0.value.scalars }
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "main.1.weight")) { try g.load(from: path) }
        #expect(g.parameters.map { $0.value.scalars } == before)
    }
}
