import Foundation
import Testing
@testable import Datasets

@Suite(.serialized) struct MATTests {
    static let writer = """
    import sys, numpy as np, scipy.io, json
    path, compress = sys.argv[1], sys.argv[2] == '1'
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[1], [10], [3], [10], [7]], dtype=np.float64)
    scipy.io.savemat(path, {'X': X, 'y': y, 'note': 'svhn-like'}, do_compression=compress)
    print(json.dumps({'nhwc': X.transpose(3, 0, 1, 2).reshape(-1).tolist()}))
    """

    @Test(arguments: [false, true])
    func svhnFormatTwoWithAndWithoutCompression(_ compressed: Bool) throws {
        let dir = scratch("mat-\(compressed)")
        let out = try python(Self.writer, [dir + "/train_32x32.mat", compressed ? "1" : "0"])
        let expected = (try json(out) as! [String: [Int]])["nhwc"]!.map { UInt8($0) }
        let d = try DatasetLoader.load(dir + "/train_32x32.mat")
        #expect(d.count == 5 && d.height == 32 && d.width == 32 && d.channels == 3)
        #expect(d.pixels == expected)
        #expect(d.labels == [1, 0, 3, 0, 7])  // label 10 is the digit 0
    }

    @Test func badMATFilesNameTheProblem() throws {
        let dir = scratch("mat-bad")
        try python("import sys, numpy as np, scipy.io\nscipy.io.savemat(sys.argv[1], {'y': np.ones((3, 1))})\nscipy.io.savemat(sys.argv[2], {'X': np.ones((2, 2))}, format='4')",
                   [dir + "/noX.mat", dir + "/v4.mat"])
        #expect(throws: DatasetError.missingVariable(file: dir + "/noX.mat", name: "X")) { try SVHN.dataset(dir + "/noX.mat", name: "") }
        #expect { try SVHN.dataset(dir + "/v4.mat", name: "") } throws: { "\($0)".contains("not a level-5 MAT-file") }
        write([UInt8](repeating: 65, count: 50), dir + "/short.mat")
        #expect { try SVHN.dataset(dir + "/short.mat", name: "") } throws: { "\($0)".contains("shorter than its 128-byte header") }
        // A compressed element whose zlib stream is cut short.
        _ = try python(Self.writer, [dir + "/c.mat", "1"])
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/c.mat"))
        write([UInt8](whole.prefix(whole.count - 200)), dir + "/cut.mat")
        #expect { try SVHN.dataset(dir + "/cut.mat", name: "") } throws: { "\($0)".hasPrefix(dir + "/cut.mat: corrupt MAT-file") }
    }
}
