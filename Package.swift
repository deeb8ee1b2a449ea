// swift-tools-version:6.1
import PackageDescription

// The dlib bridge is compiled optimised even in debug builds: dlib is header-only templates, so an
// -O0 bridge would make detection and embedding an order of magnitude slower in tests.
// x86-64-v3 (AVX2, FMA) made HOG detection 1.6x faster on the target machines.
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let bridgeFlags: [CXXSetting] = [.unsafeFlags(["-O3", "-march=x86-64-v3", "-fno-math-errno"])]

let package = Package(
    name: "simverify",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "simverify", targets: ["simverify"]),
        .executable(name: "simverify-audit", targets: ["simverify-audit"]),
        .executable(name: "simverify-bench", targets: ["simverify-bench"]),
        .executable(name: "simverify-counter", targets: ["simverify-counter"]),
        .library(name: "SimverifyCore", targets: ["SimverifyCore"]),
        .library(name: "SimverifyFaceEngine", targets: ["SimverifyFaceEngine"]),
        .library(name: "SimverifyClient", targets: ["SimverifyClient"]),
        .library(name: "SimverifyServer", targets: ["SimverifyServer"]),
        .library(name: "SimverifyFuzzing", targets: ["SimverifyFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The counter station's loopback web server; no optional traits (swift-configuration).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
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

        // OpenCV's dnn running YuNet and SFace behind a plain C API; C++ exceptions never leave this
        // target. Debian's OpenCV 4.6 ships no pkg-config file with the per-module packages.
        .target(
            name: "CSimverifyOpenCV",
            cxxSettings: [.unsafeFlags(["-O2", "-I/usr/include/opencv4"])],
            linkerSettings: [
                .linkedLibrary("opencv_dnn"), .linkedLibrary("opencv_objdetect"), .linkedLibrary("opencv_imgproc"),
                .linkedLibrary("opencv_core"),
            ]
        ),

        // Liveness checks on what the engine observed: head pose, challenge, parallax. Pure Swift.
        // Optimised in debug builds too (`optimisedInDebug`): its tracking loops run 20-50 times
        // slower unoptimised, and the server runs them on the concurrency pool its tests share.
        .target(name: "SimverifyLiveness", dependencies: ["SimverifyCore"], swiftSettings: optimisedInDebug),

        // The only Swift target that imports the C modules.
        .target(
            name: "SimverifyFaceEngine",
            dependencies: [
                "SimverifyCore", "SimverifyLiveness", "CSimverifyJPEG", "CSimverifyDlib", "CSimverifyOpenCV",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimisedInDebug  // its pixel loops (crops, thumbnails, the screen cue's spectrum) too
        ),

        // Labelled image pairs and their enrolment on a running engine (eval, calibrate, assess).
        .target(name: "SimverifyEnrolment", dependencies: ["SimverifyCore", "SimverifyFaceEngine"]),

        // Generated by scripts/generate-protos.sh from Protos/; never edited by hand.
        .target(
            name: "SimverifyProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),

        // Conversions between protobuf and domain types, shared by client and server.
        .target(name: "SimverifyProtoMapping", dependencies: ["SimverifyProto", "SimverifyCore", "SimverifyWire"]),

        // The frame format of docs/PROTOCOL.md: header, limits, decoder and encoder.
        .target(name: "SimverifyWire", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),

        // Certificates: caller identity from a client certificate, and the development PKI.
        .target(
            name: "SimverifyPKI",
            dependencies: [
                "SimverifyCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The audit log's format and proofs: records, RFC 6962 Merkle tree, C2SP signed notes and
        // checkpoints, identifier keys. No storage, no NIO: the regulator's tool links it alone.
        .target(
            name: "SimverifyAudit",
            dependencies: ["SimverifyCore", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // The durable audit log: SQLite (WAL, full sync), group commit, signed checkpoints.
        .target(
            name: "SimverifyAuditLog",
            dependencies: [
                "SimverifyAudit", "SimverifyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // prctl for the server's process hardening.
        .target(name: "CSimverifyProcess"),

        // What the server and the counter agent do to their own process before any image arrives.
        .target(
            name: "SimverifyHardening",
            dependencies: ["SimverifyCore", "CSimverifyProcess", .product(name: "Logging", package: "swift-log")]
        ),

        // The mutual-TLS RPC server and the verification service behind it.
        .target(
            name: "SimverifyServer",
            dependencies: [
                "SimverifyCore", "SimverifyFaceEngine", "SimverifyWire", "SimverifyProto", "SimverifyProtoMapping",
                "SimverifyPKI",
                "SimverifyAudit", "SimverifyAuditLog", "SimverifyHardening", "SimverifyLiveness",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // The shared stores for several replicas: the audit log (one tree, gapless indices, one
        // signer by a PostgreSQL advisory lock) and the session store in PostgreSQL.
        .target(
            name: "SimverifyPostgres",
            dependencies: [
                "SimverifyCore", "SimverifyAudit", "SimverifyAuditLog", "SimverifyServer",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The async client library; no protobuf type in its public API.
        .target(
            name: "SimverifyClient",
            dependencies: [
                "SimverifyCore", "SimverifyWire", "SimverifyProto", "SimverifyProtoMapping",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // What the command-line tools share: engine and connection options, the labelled-burst
        // reader, process memory, the error and JSON printers.
        .target(
            name: "SimverifyCommandSupport",
            dependencies: [
                "SimverifyCore", "SimverifyFaceEngine", "SimverifyClient", "SimverifyConnectionOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The product binary: what clerks, operators, integrators and assessors use.
        .executableTarget(
            name: "simverify",
            dependencies: [
                "SimverifyCore", "SimverifyFaceEngine", "SimverifyServer", "SimverifyClient", "SimverifyPKI",
                "SimverifyCommandSupport", "SimverifyEnrolment", "SimverifyPostgres",
                "SimverifyAudit", "SimverifyAuditLog", "SimverifyLiveness", "SimverifyWire", "SimverifyHardening",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The benchmarks, load and soak tools: not linked into the product binary.
        .executableTarget(
            name: "simverify-bench",
            dependencies: [
                "SimverifyCore", "SimverifyFaceEngine", "SimverifyServer", "SimverifyClient", "SimverifyCommandSupport",
                "SimverifyAudit", "SimverifyAuditLog", "SimverifyLiveness", "SimverifyProto", "SimverifyWire",
                "SimverifyPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Fuzz targets over every parser; the libFuzzer harnesses live in Fuzz/.
        .target(
            name: "SimverifyFuzzing",
            dependencies: [
                "SimverifyWire", "SimverifyAudit", "SimverifyCore", "SimverifyFaceEngine", "SimverifyServer",
                "SimverifyCounterUpload",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // libFuzzer entry point (scripts/fuzz.sh) or a replayer of fuzz inputs.
        .executableTarget(
            name: "simverify-fuzz",
            dependencies: ["SimverifyFuzzing"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),

        // The command-line options naming a server and a client certificate, shared by the tools
        // that link the face engine and by the counter agent, which does not.
        .target(
            name: "SimverifyConnectionOptions",
            dependencies: [
                "SimverifyClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The counter agent's parsing of the page's uploads into zeroizing buffers: its own
        // target so that the fuzz harnesses (under ASan) reach it without Hummingbird.
        .target(
            name: "SimverifyCounterUpload",
            dependencies: [
                "SimverifyCore", "SimverifyClient",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // The counter station: a loopback web page and API on the counter terminal that calls
        // simverify over mutual TLS with the terminal's certificate (docs/COUNTER.md). Links
        // neither the face engine nor the server.
        .executableTarget(
            name: "simverify-counter",
            dependencies: [
                "SimverifyCore", "SimverifyClient", "SimverifyHardening", "SimverifyCounterUpload",
                "SimverifyConnectionOptions",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Page")]
        ),

        // The regulator's tool: links neither the face engine nor dlib.
        .executableTarget(
            name: "simverify-audit",
            dependencies: [
                "SimverifyAudit", "SimverifyClient", "SimverifyWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        .testTarget(name: "SimverifyLivenessTests", dependencies: ["SimverifyLiveness", "SimverifyCore"]),
        .testTarget(
            name: "SimverifyFuzzingTests",
            dependencies: ["SimverifyFuzzing", "SimverifyAudit", "SimverifyFaceEngine"]
        ),
        .testTarget(
            name: "SimverifyAuditTests",
            dependencies: ["SimverifyAudit", "SimverifyCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "SimverifyAuditLogTests",
            dependencies: [
                "SimverifyAuditLog", "SimverifyAudit", "SimverifyCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "SimverifyWireTests",
            dependencies: [
                "SimverifyWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SimverifyPKITests",
            dependencies: [
                "SimverifyPKI", "SimverifyCore", .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .testTarget(
            name: "SimverifyServerTests",
            dependencies: [
                "SimverifyServer", "SimverifyClient", "SimverifyPKI", "SimverifyWire", "SimverifyProto",
                "SimverifyCore", "SimverifyFaceEngine", "CSimverifyJPEGTestSupport", "SimverifyAudit",
                "SimverifyAuditLog",
                "SimverifyLiveness", "SimverifyProtoMapping",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["python"]
        ),
        .testTarget(
            name: "SimverifyPostgresTests",
            dependencies: [
                "SimverifyPostgres", "SimverifyServer", "SimverifyAudit", "SimverifyAuditLog", "SimverifyCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SimverifyFaceEngineTests",
            dependencies: [
                "SimverifyFaceEngine", "SimverifyCore", "SimverifyLiveness", "SimverifyEnrolment",
                "CSimverifyJPEGTestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    cxxLanguageStandard: .cxx17
)

// The sanitizer job (scripts/sanitize.sh) builds with SIMVERIFY_PACKAGE_SCOPE=engine: only the
// targets over native code and threads it runs (the engine, its C and C++ bridges, the liveness
// checks, the enrolment that `eval` runs on the engine's pool) and their tests, without the
// server's NIO, TLS, protobuf and storage, which would double its build time and which the fuzz
// harnesses cover under ASan.
if Context.environment["SIMVERIFY_PACKAGE_SCOPE"] == "engine" {
    let kept: Set<String> = [
        "SimverifyCore", "CSimverifyJPEG", "CSimverifyDlib", "CSimverifyOpenCV", "SimverifyLiveness",
        "SimverifyFaceEngine", "SimverifyEnrolment", "CSimverifyJPEGTestSupport", "SimverifyCoreTests",
        "SimverifyLivenessTests", "SimverifyFaceEngineTests",
    ]
    package.targets.removeAll { !kept.contains($0.name) }
    package.products.removeAll { !kept.contains($0.name) }
}
