import ArgumentParser
import Foundation
import Logging
import SimverifyClient
import SimverifyCore
import SimverifyFaceEngine

extension FaceModel: ExpressibleByArgument {}

/// Options shared by every command that runs the face engine.
package struct EngineOptions: ParsableArguments {
    package init() {}

    @Option(
        help: "Face model: sface (YuNet + SFace, the default), dlib, or onnx (an operator's model: --model-descriptor)."
    )
    package var model: FaceModel = .sface

    @Option(help: "An operator's model descriptor (JSON): runs YuNet with that recogniser (implies --model onnx).")
    package var modelDescriptor: String?

    @Option(help: "Directory of the model files (default: $SIMVERIFY_MODELS or ~/.cache/simverify/models).")
    package var models: String?

    @Option(help: "Face worker threads (default: the number of cores).")
    package var workers: Int?

    @Option(help: "dlib: detector upsampling steps, 0-3, instead of the adaptive policy.")
    package var upsample: Int?

    @Option(help: "SFace: YuNet's first input long side in pixels, for every image kind, instead of the policy's.")
    package var detectorInput: Int?

    @Flag(help: "SFace: average each feature with its mirrored chip's (test-time augmentation).")
    package var mirrorTta = false

    @Option(
        help: "dlib: embed the mean over N jittered chips (face_recognition's num_jitters; test-time augmentation)."
    )
    package var jitters: Int?

    @Option(help: "Largest image file read, in bytes.")
    package var maxFileBytes: Int = 16 << 20

    package func engineConfiguration() throws -> FaceEngineConfiguration {
        var configuration = FaceEngineConfiguration(model: self.modelDescriptor == nil ? self.model : .onnx)
        if let modelDescriptor {
            guard self.model != .dlib else {
                throw SimverifyError(
                    .invalidArgument,
                    "--model-descriptor runs YuNet with the operator's model: it cannot go with --model dlib"
                )
            }
            configuration.descriptor = try FaceModelDescriptor.load(from: modelDescriptor)
        } else if self.model == .onnx {
            throw SimverifyError(.invalidArgument, "--model onnx needs --model-descriptor")
        }
        if let models { configuration.models = FaceModelFiles(directory: models) }
        if let workers { configuration.workers = workers }
        configuration.mirrorAugmentation = self.mirrorTta
        if let jitters {
            guard self.model == .dlib, (0...100).contains(jitters) else {
                throw SimverifyError(
                    .invalidArgument,
                    "--jitters (0-100) is dlib's test-time augmentation: it goes with --model dlib"
                )
            }
            configuration.jitters = jitters
        }
        if let upsample { configuration.detection.fixedUpsampling = upsample }
        if let detectorInput {
            configuration.detection.selfieInputSide = detectorInput
            configuration.detection.idCardInputSide = detectorInput
        }
        return configuration
    }

    package func makeEngine(logLevel: Logger.Level = .warning) throws -> FaceEngine {
        var logger = Logger(label: "simverify")
        logger.logLevel = logLevel
        return try FaceEngine(configuration: self.engineConfiguration(), logger: logger)
    }
}

extension Duration {
    /// Milliseconds as a Double.
    package var milliseconds: Double {
        let parts = self.components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}

/// Exits (status 2) with a one-line message for errors the user can act on: the engine's, the
/// project's, and a server's refusal or a connection failure as the client library reports it.
package func reportAndExit(_ error: Error) -> Never {
    let text: String
    switch error {
    case let error as SimverifyClientError: text = error.description
    case let error as FaceEngineError: text = error.description
    case let error as SimverifyError: text = error.description
    default: text = String(describing: error)
    }
    FileHandle.standardError.write(Data("simverify: \(text)\n".utf8))
    exit(2)
}

/// Lowercase hexadecimal, as receipts and hashes are printed.
package func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Writes an Encodable as pretty JSON to standard output.
package func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}
