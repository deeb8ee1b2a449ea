import Foundation
import SimverifyFuzzing

// Built two ways. With -DFUZZING and --sanitize=fuzzer (scripts/fuzz.sh), libFuzzer provides main
// and calls LLVMFuzzerTestOneInput with the target named by $SIMVERIFY_FUZZ_TARGET. Otherwise
// `simverify-fuzz TARGET FILE...` replays inputs (a crash found by the fuzzer, say) through it.

#if FUZZING
private let target: @Sendable (UnsafeRawBufferPointer) -> Void = {
    let name = ProcessInfo.processInfo.environment["SIMVERIFY_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        fatalError("set SIMVERIFY_FUZZ_TARGET to one of \(FuzzTargets.all.keys.sorted())")
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct SimverifyFuzz {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            print("usage: simverify-fuzz \(FuzzTargets.all.keys.sorted().joined(separator: "|")) FILE...")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target($0) }
            print("ok \(path)")
        }
    }
}
#endif
