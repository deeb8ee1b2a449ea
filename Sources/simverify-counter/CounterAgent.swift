import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SimverifyClient
import SimverifyCore
import SimverifyCounterUpload

/// The connection to simverify, opened on first use and again after it failed. One terminal
/// serves one customer at a time, so one connection is enough; calls on it may still overlap.
actor ServerLink {
    private let configuration: ClientConfiguration
    private var client: SimverifyClient?

    init(_ configuration: ClientConfiguration) {
        self.configuration = configuration
    }

    /// Runs `body` on the connection; a failed connection is dropped so that the next call opens
    /// a new one. `retry` repeats a call that changes nothing on the server (Health, StartSession)
    /// once on a fresh connection; a Verify is never repeated by the agent.
    func call<T: Sendable>(
        retry: Bool,
        _ body: @Sendable (SimverifyClient) async throws(SimverifyClientError) -> T
    ) async throws(SimverifyClientError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            let client: SimverifyClient
            if let open = self.client {
                client = open
            } else {
                client = try await SimverifyClient.connect(self.configuration)
                self.client = client
            }
            do {
                return try await body(client)
            } catch {
                let lost: Set<SimverifyClientError.Reason> = [.connectionError, .connectionClosed, .shuttingDown]
                guard lost.contains(error.reason) else { throw error }
                self.client = nil
                await client.close()
                if !retry || attempt > 1 { throw error }
            }
        }
    }
}

/// The loopback web server of the counter station: the page, its static files and a small API
/// that calls simverify with the terminal's certificate (docs/COUNTER.md).
struct CounterAgent {
    /// The per-start access token (hex); the printed URL carries it.
    let accessToken: String
    let port: Int
    let link: ServerLink
    let consentTextVersion: String
    let logger: Logger

    /// The page's files, read once at start from the executable's resources.
    let files: [String: (type: String, bytes: [UInt8])]

    static let cookieName = "simverify_counter"

    /// Reads the page from the bundle.
    static func pageFiles() throws -> [String: (type: String, bytes: [UInt8])] {
        let types = [
            "index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
            "style.css": "text/css; charset=utf-8",
        ]
        var files: [String: (type: String, bytes: [UInt8])] = [:]
        for (name, type) in types {
            let parts = name.split(separator: ".")
            guard
                let url = Bundle.module.url(
                    forResource: String(parts[0]),
                    withExtension: String(parts[1]),
                    subdirectory: "Page"
                )
            else { throw CounterError(.internalServerError, "page_missing", "the page's \(name) is not installed") }
            files[name] = (type, Array(try Data(contentsOf: url)))
        }
        return files
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: CounterGuard(agent: self))
        router.get("/") { _, _ in
            var response = self.file("index.html")
            // The page's later requests prove the token with this cookie: HttpOnly (no script reads
            // it), SameSite=Strict (no other site's page sends it), gone when the browser closes.
            response.headers[.setCookie] = "\(Self.cookieName)=\(self.accessToken); Path=/; HttpOnly; SameSite=Strict"
            return response
        }
        router.get("/static/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard name != "index.html", self.files[name] != nil else {
                throw CounterError(.notFound, "not_found", "no such file")
            }
            return self.file(name)
        }
        router.get("/api/status") { _, _ in
            let report = try await self.simverify(retry: true) { client async throws(SimverifyClientError) in
                try await client.health()
            }
            return Self.json([
                "serving": report.serving, "version": report.version, "consentTextVersion": self.consentTextVersion,
            ])
        }
        router.post("/api/session") { _, _ in
            let session = try await self.simverify(retry: true) { client async throws(SimverifyClientError) in
                try await client.startSession()
            }
            self.logger.info("session started", metadata: ["steps": "\(session.challenge.count)"])
            return Self.json([
                "sessionToken": session.token, "challenge": session.challenge.map(\.rawValue),
                "attemptsAllowed": session.attemptsAllowed, "expiresAt": session.expiresAt,
            ])
        }
        router.post("/api/check") { request, _ in
            var body = try await Self.body(of: request, upTo: CounterUpload.maximumFrame, tooLarge: "frame_too_large")
            let frame = try CounterUpload.previewFrame(consuming: &body)
            let check = try await self.simverify(retry: true) { client async throws(SimverifyClientError) in
                try await client.checkFrame(frame, deadline: .seconds(2))
            }
            return Self.json([
                "problem": check.problem?.rawValue ?? "", "faceWidth": check.faceWidth,
                "minimumFaceWidth": check.minimumFaceWidth,
            ])
        }
        router.post("/api/verify") { request, _ in
            let started = ContinuousClock.now
            var body = try await Self.body(of: request, upTo: CounterUpload.maximumBody, tooLarge: "upload_too_large")
            let upload = try CounterUpload(consuming: &body)
            let call = upload.request
            let sent = ContinuousClock.now
            let result = try await self.simverify(retry: false) { client async throws(SimverifyClientError) in
                try await client.verify(call)
            }
            let answered = ContinuousClock.now
            self.logger.info(
                "verify",
                metadata: [
                    "frames": "\(upload.frames.count)", "decision": "\(result.decision.rawValue)",
                    "verify_ms": "\(Int((answered - sent).inSeconds * 1000))",
                ]
            )
            var receipt = ""
            if let index = result.receiptLeafIndex {
                let hash = (result.receiptLeafHash ?? []).prefix(6).map { String(format: "%02x", $0) }.joined()
                receipt = "#\(index)" + (hash.isEmpty ? "" : "-\(hash)")
            }
            return Self.json([
                "decision": result.decision.rawValue, "reasons": result.reasons.map(\.rawValue),
                "attemptsRemaining": result.attemptsRemaining, "policyVersion": result.policyVersion,
                "receipt": receipt, "verifyMilliseconds": Int((answered - sent).inSeconds * 1000),
                "agentMilliseconds": Int((ContinuousClock.now - started).inSeconds * 1000),
            ])
        }
        return router
    }

    /// A request's whole body, at most `limit` bytes; over it, the typed 413 `tooLarge`.
    static func body(of request: Request, upTo limit: Int, tooLarge: String) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw CounterError(.contentTooLarge, tooLarge, "the body is over \(limit) bytes")
        }
    }

    /// A simverify call, its error turned into the page's.
    func simverify<T: Sendable>(
        retry: Bool,
        _ body: @Sendable (SimverifyClient) async throws(SimverifyClientError) -> T
    ) async throws(CounterError) -> T {
        do {
            return try await self.link.call(retry: retry, body)
        } catch {
            self.logger.warning(
                "simverify refused or unreachable",
                metadata: ["code": "\(error.code)", "reason": "\(error.reason)"]
            )
            throw CounterError(error)
        }
    }

    func file(_ name: String) -> Response {
        let file = self.files[name]!
        return Response(
            status: .ok,
            headers: [.contentType: file.type],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes))
        )
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

/// Every request passes here: the Host must be the agent's own (no DNS rebinding), the access
/// token must be in the URL (the page) or in the cookie the page set (everything else), an API
/// call must come from the agent's own Origin (no cross-site request), and every answer carries a
/// strict Content-Security-Policy and is never cached.
struct CounterGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let agent: CounterAgent

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            try self.admit(request)
            response = try await next(request, context)
        } catch let error as CounterError {
            response = CounterAgent.json(["error": error.code, "message": error.message], status: error.status)
        } catch let error as HTTPError {
            let code = error.status == .contentTooLarge ? "upload_too_large" : "http_\(error.status.code)"
            response = CounterAgent.json(
                ["error": code, "message": error.body ?? "\(error.status)"],
                status: error.status
            )
        } catch {
            self.agent.logger.error("unexpected error", metadata: ["type": "\(type(of: error))"])
            response = CounterAgent.json(
                ["error": "internal", "message": "the agent failed"],
                status: .internalServerError
            )
        }
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("Permissions-Policy")!] = "camera=(self), microphone=()"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        return response
    }

    /// The agent's own names for itself.
    var selves: [String] {
        ["127.0.0.1:\(self.agent.port)", "localhost:\(self.agent.port)", "[::1]:\(self.agent.port)"]
    }

    func admit(_ request: Request) throws(CounterError) {
        let host = request.head.authority ?? ""
        guard self.selves.contains(host) else {
            throw CounterError(.misdirectedRequest, "wrong_host", "this agent answers only on its loopback address")
        }
        let path = request.uri.path
        if request.method == .get && path == "/" {
            let token = request.uri.queryParameters.get("token") ?? ""
            guard Self.same(token, self.agent.accessToken) else {
                throw CounterError(
                    .forbidden,
                    "token_required",
                    "open the URL simverify-counter printed when it started"
                )
            }
            return
        }
        guard Self.same(self.cookie(request) ?? "", self.agent.accessToken) else {
            throw CounterError(.forbidden, "token_required", "open the URL simverify-counter printed when it started")
        }
        if request.method != .get {
            // Chromium sends Origin on every POST; a request without it or from another page is refused.
            let origin = request.headers[.origin] ?? ""
            guard self.selves.map({ "http://" + $0 }).contains(origin) else {
                throw CounterError(.forbidden, "foreign_origin", "a request from another site was refused")
            }
        }
    }

    func cookie(_ request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2 && pair[0] == CounterAgent.cookieName { return String(pair[1]) }
            }
        }
        return nil
    }

    /// Compares in time independent of where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count, !y.isEmpty else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
