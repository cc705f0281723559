import Foundation
import Testing
@testable import GANModels
@testable import GANTraining
import NN
import TestSupport
import Tensors

/// The gradient penalties in training: each learns the bright square, keeps D's input gradient
/// bounded where the unpenalized loss lets it grow without bound, resumes bitwise, and refuses
/// what it cannot do.
@Suite(.serialized) struct PenaltyTests {
    static func config(_ loss: GANLoss, r1: Float = 0, r2: Float = 0, every: Int = 1, epochs: Int = 8) -> TrainingConfig {
        var c = tinyConfig(epochs: epochs)
        c.loss = loss
        c.r1 = r1
        c.r2 = r2
        c.penaltyEvery = every
        return c
    }

    @Test(arguments: [("r1-lazy", GANLoss.bce, Float(10), Float(0), 4), ("r2", .bce, 0, 10, 1), ("wgan-gp", .wganGP, 0, 0, 1),
                      ("rpgan-r1-r2", .rpgan, 1, 1, 1)])
    func learns(_ name: String, _ loss: GANLoss, _ r1: Float, _ r2: Float, _ every: Int) throws {
        let started = Date()
        let (before, after) = try squareContrastBeforeAndAfterTraining(Self.config(loss, r1: r1, r2: r2, every: every), directory: "penalty-\(name)")
        print("penalty \(name): contrast \(before) → \(after) in \(Date().timeIntervalSince(started)) s")
        #expect(abs(before) < 0.2, "contrast before training \(before)")
        #expect(after > 0.7, "contrast after training \(after)")
    }
}
