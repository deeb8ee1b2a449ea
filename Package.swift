// swift-tools-version:6.0
import PackageDescription

// The dlib bridge is compiled optimised even in debug builds: dlib is header-only templates, so an
// -O0 bridge would make detection and embedding an order of magnitude slower in tests.
// x86-64-v3 (AVX2, FMA) made HOG detection 1.6x faster on the target machines.
let bridgeFlags: [CXXSetting] = [.unsafeFlags(["-O3", "-march=x86-64-v3", "-fno-math-errno"])]

let package = Package(
    name: "simverify",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "simverify", targets: ["simverify"]),
        .library(name: "SimverifyCore", targets: ["SimverifyCore"]),
        .library(name: "SimverifyFaceEngine", targets: ["SimverifyFaceEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Domain types: no NIO, no protobuf, no C++.
        .target(name: "SimverifyCore"),

        // libjpeg-turbo behind a plain C API; longjmp never leaves this target.
        .target(
            name: "CSimverifyJPEG",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("jpeg")]
        ),

        // dlib behind a plain C API; C++ exceptions never leave this target.
        .target(
            name: "CSimverifyDlib",
            cxxSettings: bridgeFlags,
            linkerSettings: [
                .linkedLibrary("dlib"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
                .linkedLibrary("jpeg"), .linkedLibrary("pthread"),
            ]
        ),

        // The only Swift target that imports the C modules.
        .target(
            name: "SimverifyFaceEngine",
            dependencies: [
                "SimverifyCore", "CSimverifyJPEG", "CSimverifyDlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        .executableTarget(
            name: "simverify",
            dependencies: [
                "SimverifyCore", "SimverifyFaceEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A JPEG encoder for tests only: derives progressive, grayscale, CMYK and many-scan JPEGs
        // from real fixture photos at test time, so no derived image is committed.
        .target(
            name: "CSimverifyJPEGTestSupport",
            path: "Tests/CSimverifyJPEGTestSupport",
            linkerSettings: [.linkedLibrary("jpeg")]
        ),
        .testTarget(name: "SimverifyCoreTests", dependencies: ["SimverifyCore"]),
        .testTarget(
            name: "SimverifyFaceEngineTests",
            dependencies: [
                "SimverifyFaceEngine", "SimverifyCore", "CSimverifyJPEGTestSupport",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
