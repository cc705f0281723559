import Foundation
import Testing
import Tensors

/// Programmer errors stop the process with a message naming the op and both shapes.
@Suite struct ProgrammerErrorTests {
    @Test func convolutionChannelMismatchNamesOpAndShapes() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor.zeros([2, 3, 8, 8]), w = Tensor.zeros([4, 5, 3, 3])
            _ = Tensor.conv2d(x, weight: w)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("conv2d: incompatible shapes [2, 3, 8, 8] and [4, 5, 3, 3]: input has 3 channels, weight expects 5"), "\(stderr)")
    }

    @Test func addOfUnbroadcastableShapesNamesOpAndShapes() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([3, 2])
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("add: incompatible shapes [2, 3] and [3, 2]"), "\(stderr)")
    }

    @Test func linearWithWrongWeightNamesOpAndShapes() async throws {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.linear(Tensor.zeros([4, 10]), weight: Tensor.zeros([3, 9]), bias: nil)
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("linear: incompatible shapes [4, 10] and [3, 9]"), "\(stderr)")
    }
}
