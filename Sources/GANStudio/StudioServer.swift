import FlyingFox
import FlyingSocks
import Foundation
import Synchronization
import Tensors

/// `swiftgan studio`'s web server: the page (HTML, CSS and JavaScript compiled into the binary),
/// the JSON and image API (`StudioAPI`), the run's live updates over a WebSocket (`RunEvents`)
/// and the API's OpenAPI document.
///
/// Safe by default: it listens on 127.0.0.1 and answers only requests addressed to this machine
/// by name (a page on another site cannot reach it through DNS rebinding); another `host` needs
/// a `token`, which every request then carries (an `Authorization: Bearer` header, the
/// `swiftgan_studio` cookie the page's first load sets, or `?token=`). Every request is bounded
/// (`StudioLimits`).
///
/// The server is FlyingFox: HTTP/1.1 and WebSockets on Swift concurrency over plain sockets
/// (epoll), one small package without SwiftNIO, so the binary's first build grows by seconds, not
/// minutes (the closing note of the studio's issue measures it).
public final class StudioServer: Sendable {
    public struct Options: Sendable {
        public var host: String = "127.0.0.1"
        /// 0: any free port (`port()` tells which).
        public var port: UInt16 = 7860
        /// Required when `host` is not a loopback address.
        public var token: String? = nil
        public var precision: Precision = .fp32
        /// How often a live page's run is checked for new metrics, grids and checkpoints.
        public var watchInterval: Duration = .milliseconds(250)
        /// The wall-clock bound of one projection (`StudioLimits.projectionSeconds` by default).
        public var projectionSeconds: Double = StudioLimits.projectionSeconds
        public init() {}
    }

    public let api: StudioAPI
    public let options: Options
    private let server: HTTPServer
    private let events = EventStreams()
    private let inFlight = InFlight()
    /// The task serving, once `run` started it (cancelled by `stop` once nothing is in flight).
    private let serving = Mutex<Task<Void, Error>?>(nil)

    public static func isLoopback(_ host: String) -> Bool { ["127.0.0.1", "::1", "localhost"].contains(host) }

    public init(catalog: RunCatalog, options: Options) throws {
        if !Self.isLoopback(options.host) {
            guard let token = options.token, token.count >= 8 else {
                throw StudioError(status: 0, message: "listening on \(options.host) makes the studio reachable from other machines: it needs a token of at least 8 characters")
            }
        }
        self.options = options
        api = StudioAPI(catalog: catalog, precision: options.precision, projectionSeconds: options.projectionSeconds)
        let address: any SocketAddress
        do {
            switch options.host {
            case "localhost": address = try sockaddr_in.inet(ip4: "127.0.0.1", port: options.port)
            case let h where h.contains(":"): address = try sockaddr_in6.inet6(ip6: h, port: options.port)
            default: address = try sockaddr_in.inet(ip4: options.host, port: options.port)
            }
        } catch {
            throw StudioError(status: 0, message: "'\(options.host)' is not an IPv4 or IPv6 address to listen on")
        }
        // Handlers answer within the generation queue's bound (32 requests × at most a few
        // seconds each); FlyingFox's default of 15 s would turn a long queue into 500s.
        let config = HTTPServer.Configuration(address: address, timeout: 300, logger: .disabled)
        server = HTTPServer(config: config)
    }

    /// Serves until `stop()`; throws when the address cannot be bound.
    public func run() async throws {
        let router = Router(api: api, options: options, events: events)
        let inFlight = self.inFlight
        await server.appendRoute("*") { request in
            inFlight.begin()
            return inFlight.tracked(await router.respond(to: request))
        }
        let task = Task { [server] in try await server.run() }
        serving.withLock { $0 = task }
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// The port listened on, once listening.
    public func port() async throws -> Int {
        try await server.waitUntilListening(timeout: 10)
        guard let address = await server.listeningAddress else { return Int(options.port) }
        switch address {
        case .ip4(_, let port), .ip6(_, let port): return Int(port)
        default: return Int(options.port)
        }
    }

    /// Closes live pages' update streams, stops accepting, lets requests in flight finish (at most
    /// `grace`: a response is in flight until its last byte is handed to the socket), and stops
    /// the generation worker (a projection on it ends at its next step), waiting for its thread at
    /// most `grace` more seconds. Idle, it returns at once: FlyingFox's own stop waits out the whole grace even with
    /// no connection open (its accept loop wakes only when cancelled), so the serving task is
    /// cancelled as soon as nothing is in flight. Returns false when a thread still ran an engine
    /// kernel at the bound: the process must then end without running exit's teardown (which
    /// unmaps oneDNN's JIT code under that thread).
    @discardableResult
    public func stop(grace: TimeInterval = 2) async -> Bool {
        events.finishAll()
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [server] in await server.stop(timeout: grace) }
            // Closing the listening socket comes first; then wait for the responses in flight.
            try? await Task.sleep(for: .milliseconds(20))
            while inFlight.count > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            serving.withLock { $0?.cancel() }
            await group.waitForAll()
        }
        // The wait blocks, so it runs on a thread of its own rather than one of the tasks' pool.
        return await withCheckedContinuation { done in
            Thread.detachNewThread { [api] in done.resume(returning: api.stop(timeout: grace)) }
        }
    }
}

/// The responses being made or sent: counted from the moment a request is routed until its body
/// has been written (or the connection dropped it), through a ticket that the response's body
/// holds and releases with it.
final class InFlight: Sendable {
    private let active = Atomic<Int>(0)
    var count: Int { active.load(ordering: .acquiring) }
    func begin() { active.add(1, ordering: .releasing) }
    fileprivate func end() { active.subtract(1, ordering: .releasing) }

    /// `response`, its body carrying the ticket that ends this request when the body is released.
    func tracked(_ response: HTTPResponse) -> HTTPResponse {
        guard case .httpBody(let body) = response.payload else { end(); return response }
        var out = response
        out.payload = .httpBody(HTTPBodySequence(from: TicketedBody(body: body, ticket: Ticket(self)), count: body.count ?? 0))
        return out
    }

    final class Ticket: Sendable {
        let owner: InFlight
        init(_ owner: InFlight) { self.owner = owner }
        deinit { owner.end() }
    }
}

/// A response body as FlyingFox's buffered byte sequence, holding a ticket for as long as the body lives.
struct TicketedBody: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8
    let body: HTTPBodySequence
    let ticket: InFlight.Ticket

    func makeAsyncIterator() -> Iterator { Iterator(chunks: body.makeAsyncIterator(), ticket: ticket) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var chunks: HTTPBodySequence.Iterator
        let ticket: InFlight.Ticket
        var pending = Data()

        mutating func next() async throws -> UInt8? {
            if pending.isEmpty { guard let chunk = try await chunks.next() else { return nil }; pending = chunk }
            return pending.popFirst()
        }

        mutating func nextBuffer(suggested count: Int) async throws -> Data? {
            if !pending.isEmpty { defer { pending = Data() }; return pending }
            return try await chunks.next()
        }
    }
}

/// The live update streams open now, so that stopping can end them.
final class EventStreams: Sendable {
    private let streams = Mutex<[UUID: AsyncStream<WSMessage>.Continuation]>([:])
    private let stopped = Atomic<Bool>(false)

    func add(_ id: UUID, _ continuation: AsyncStream<WSMessage>.Continuation) {
        if stopped.load(ordering: .acquiring) { continuation.finish(); return }
        streams.withLock { $0[id] = continuation }
    }
    func remove(_ id: UUID) { _ = streams.withLock { $0.removeValue(forKey: id) } }
    var count: Int { streams.withLock { $0.count } }
    func finishAll() {
        stopped.store(true, ordering: .releasing)
        let all = streams.withLock { s in defer { s = [:] }; return Array(s.values) }
        for c in all { c.yield(.close(.goingAway)); c.finish() }
    }
}

/// Maps HTTP requests to the page, the API and the live updates, checking access and bounds first.
struct Router: Sendable {
    let api: StudioAPI
    let options: Options
    let events: EventStreams
    typealias Options = StudioServer.Options

    static let cookie = "swiftgan_studio"

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        do {
            if let denied = try guardAccess(request) { return denied }
            return try await route(request)
        } catch let error as StudioError {
            return Self.http(.error(error))
        } catch {
            return Self.http(.error(StudioError(status: 500, message: "\(error)")))
        }
    }

    /// Host, token and size checks; a response when the request is turned away.
    private func guardAccess(_ request: HTTPRequest) throws -> HTTPResponse? {
        if StudioServer.isLoopback(options.host) {
            // A loopback studio answers only requests addressed to the loopback by name: a web page
            // elsewhere that points its own domain at 127.0.0.1 (DNS rebinding) sends another Host.
            let host = request.headers[HTTPHeader("Host")] ?? ""
            let name = host.hasPrefix("[") ? String(host.prefix { $0 != "]" }.dropFirst()) : String(host.split(separator: ":").first ?? "")
            guard StudioServer.isLoopback(name) else {
                throw StudioError.forbidden("this studio answers requests to 127.0.0.1, ::1 or localhost only (Host was '\(host.prefix(80))')")
            }
        }
        if let length = request.headers[HTTPHeader("Content-Length")] {
            guard let n = Int(length), n >= 0 else { throw StudioError.badRequest("Content-Length '\(length.prefix(40))' is not a byte count") }
            // Pictures to project are files; everything else takes its parameters in the query.
            let limit = request.path == "/api/project" && request.method == .POST ? StudioLimits.maxUploadBytes : StudioLimits.maxBodyBytes
            guard n <= limit else {
                throw StudioError.tooLarge("request body of \(n) bytes; the studio takes at most \(limit)")
            }
        } else if request.headers[HTTPHeader("Transfer-Encoding")] != nil {
            throw StudioError.tooLarge("request bodies must state their Content-Length (at most \(StudioLimits.maxBodyBytes) bytes)")
        }
        if let token = options.token {
            let bearer = request.headers[HTTPHeader("Authorization")].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let cookie = (request.headers[HTTPHeader("Cookie")] ?? "").split(separator: ";").lazy
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(Self.cookie + "=") }.map { String($0.dropFirst(Self.cookie.count + 1)) }
            let query = request.query.first { $0.name == "token" }?.value
            guard [bearer, cookie, query].contains(where: { $0.map { Self.same($0, token) } ?? false }) else {
                return Self.http(.error(StudioError(status: 401, message: "this studio needs its token: open the address it printed (with ?token=…)")))
            }
        }
        return nil
    }

    /// Compares in time independent of where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func route(_ request: HTTPRequest) async throws -> HTTPResponse {
        let path = request.path
        let items = request.query.map { (name: $0.name, value: $0.value) }
        let p = try Parameters(items)
        if path == "/api/project" {
            switch request.method {
            case .POST: return Self.http(try api.project(p, body: try await request.bodyData, contentType: request.headers[HTTPHeader("Content-Type")]))
            case .GET, .HEAD: return Self.http(try api.projection(p))
            case .DELETE: return Self.http(try api.cancelProjection(p))
            default: throw StudioError.methodNotAllowed("\(request.method.rawValue) /api/project: POST a picture, GET a projection's state, DELETE to cancel it")
            }
        }
        guard request.method == .GET || request.method == .HEAD else {
            throw StudioError.methodNotAllowed("\(request.method.rawValue) \(path.prefix(80)): the studio answers GET (and HEAD) only, and POST and DELETE at /api/project")
        }
        var reply: Reply
        switch path {
        case "/", "/index.html":
            try p.only(["run", "token"])
            reply = Self.asset(PackageResources.index_html, "text/html; charset=utf-8")
            if let token = options.token, p.string("token") != nil {
                reply.headers["Set-Cookie"] = "\(Self.cookie)=\(token); Path=/; HttpOnly; SameSite=Strict"
            }
        case "/studio.js": reply = Self.asset(PackageResources.studio_js, "text/javascript; charset=utf-8")
        case "/studio.css": reply = Self.asset(PackageResources.studio_css, "text/css; charset=utf-8")
        case "/openapi.json": try p.only(["token"]); reply = Reply(status: 200, contentType: "application/json", body: OpenAPI.document)
        case "/api/runs": reply = try api.runs(p)
        case "/api/run": reply = try api.run(p)
        case "/api/grid": reply = try await api.grid(p)
        case "/api/image": reply = try await api.image(p)
        case "/api/walk": reply = try await api.walk(p)
        case "/api/latents": reply = try await api.latentsFile(p)
        case "/api/metrics": reply = try api.metrics(p)
        case "/api/file": reply = try api.file(p)
        case "/api/events": return try await liveUpdates(request, p)
        default: throw StudioError.notFound("no page or endpoint \(path.prefix(80)); the API is described at /openapi.json")
        }
        var response = Self.http(reply)
        if request.method == .HEAD { response.payload = .httpBody(HTTPBodySequence(data: Data())) }
        return response
    }

    private func liveUpdates(_ request: HTTPRequest, _ p: Parameters) async throws -> HTTPResponse {
        try p.only(["run", "after", "token"])
        let run = try api.catalog.run(p.string("run"))
        let after = try p.integer("after", in: -1...Int(Int32.max), default: -1)!
        guard request.headers[HTTPHeader("Upgrade")]?.lowercased() == "websocket" else {
            throw StudioError.badRequest("/api/events is a WebSocket: connect with ws://…/api/events?run=NAME")
        }
        let handler = RunEvents(run: run, after: after, interval: options.watchInterval, streams: events)
        return try await WebSocketHTTPHandler(handler: MessageFrameWSHandler(handler: handler)).handleRequest(request)
    }

    static func phrase(_ status: Int) -> String {
        [200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
         413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content", 500: "Internal Server Error", 503: "Service Unavailable"][status] ?? "Status"
    }

    static func asset(_ bytes: [UInt8], _ type: String) -> Reply {
        Reply(status: 200, contentType: type, body: Data(bytes), headers: ["Cache-Control": "no-cache"])
    }

    static func http(_ reply: Reply) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers[HTTPHeader("Content-Type")] = reply.contentType
        // The page's own code only: no inline scripts, no other origins.
        headers[HTTPHeader("Content-Security-Policy")] = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        headers[HTTPHeader("X-Content-Type-Options")] = "nosniff"
        for (name, value) in reply.headers { headers[HTTPHeader(name)] = value }
        let status = HTTPStatusCode(reply.status, phrase: phrase(reply.status))
        if let file = reply.file {
            do { return HTTPResponse(statusCode: status, headers: headers, body: try HTTPBodySequence(file: URL(fileURLWithPath: file))) } catch {
                return http(.error(StudioError.notFound("\((file as NSString).lastPathComponent) cannot be read: \(error.localizedDescription)")))
            }
        }
        return HTTPResponse(statusCode: status, headers: headers, body: reply.body)
    }
}
