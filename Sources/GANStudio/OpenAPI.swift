import Foundation
import GANModels

/// The OpenAPI 3.0 document of the studio's HTTP API, served at `/openapi.json`, built from the
/// same bounds the parameter parser enforces (`StudioLimits`). The live updates (`/api/events`)
/// are a WebSocket, which OpenAPI cannot describe; its messages are listed in its description.
enum OpenAPI {
    static let document: Data = {
        (try? JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }()

    private static func query(_ name: String, _ schema: [String: Any], _ description: String, required: Bool = false) -> [String: Any] {
        ["name": name, "in": "query", "required": required, "description": description, "schema": schema]
    }
    private static func integer(_ range: ClosedRange<Int>, default value: Int? = nil) -> [String: Any] {
        var s: [String: Any] = ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
        if let value { s["default"] = value }
        return s
    }
    private static let seedSchema: [String: Any] = ["type": "integer", "minimum": 0, "maximum": StudioLimits.maxSeed]

    private static let run = query("run", ["type": "string"], "The run, by name (default: the only or first run; see /api/runs).")
    private static let checkpoint = query("checkpoint", ["type": "string"], "A checkpoint of the run by name, e.g. step-00001875 (default: the latest).")
    private static let psi = query("psi", ["type": "number", "minimum": Double(Truncation.psiRange.lowerBound), "maximum": Double(Truncation.psiRange.upperBound), "default": 1],
                                   "Truncation ψ: latents pulled towards the mean latent (1: none).")
    private static let classParameter = query("class", ["type": "string"], "Conditional generators: a class name or index, or 'random' (each seed's own class, the default).")
    private static let seeds = query("seeds", ["type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"],
                                     "Seeds, comma-separated (at most \(StudioLimits.maxImages)); instead of first and count.")
    private static let first = query("first", seedSchema, "The first seed of a run of consecutive seeds.")
    private static let count = query("count", integer(1...StudioLimits.maxImages, default: 64),
                                     "How many consecutive seeds (generators larger than 32×32 allow fewer: /api/run's max_images).")
    private static let scale = query("scale", integer(StudioLimits.scale), "Integer upscaling of the picture.")
    private static let token = query("token", ["type": "string"], "The studio's token, when it was started with one (or send Authorization: Bearer).")

    private static func responses(_ success: [String: Any], errors: [Int]) -> [String: Any] {
        var r: [String: Any] = ["200": success]
        let names = [400: "A parameter outside its bounds, or unknown", 401: "The token is missing or wrong", 403: "A path leading outside the run",
                     404: "No such run, checkpoint, file or projection",
                     413: "A request body over \(StudioLimits.maxBodyBytes) bytes (a picture to project: \(StudioLimits.maxUploadBytes) bytes or \(StudioLimits.maxUploadPixels) pixels)",
                     405: "A method the path does not answer", 409: "A picture is being projected already", 415: "A picture to project sent as another type than image/png or image/jpeg",
                     422: "The checkpoint cannot be loaded (corrupt or half-written), or the body is not a PNG or JPEG picture", 503: "The generation queue is full; retry after Retry-After seconds"]
        for e in Set(errors + [400, 401, 413]) {
            r[String(e)] = ["description": names[e]!, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        }
        return r
    }
    private static func binary(_ type: String, _ description: String) -> [String: Any] {
        ["description": description, "content": [type: ["schema": ["type": "string", "format": "binary"]]]]
    }
    private static func json(_ ref: String, _ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/" + ref]]]]
    }
    private static func get(_ id: String, _ summary: String, _ parameters: [[String: Any]], _ responses: [String: Any]) -> [String: Any] {
        ["get": ["operationId": id, "summary": summary, "parameters": parameters + [token], "responses": responses]]
    }

    static let spec: [String: Any] = [
        "openapi": "3.0.3",
        "info": ["title": "swiftgan studio", "version": "1",
                 "description": "Generate images from a run's generator and read the run's progress. Live updates: a WebSocket at /api/events?run=NAME&after=STEP sends JSON messages of type metrics (new metrics.jsonl lines), samples (a new grid), checkpoints and reset."],
        "paths": [
            "/api/runs": get("listRuns", "The runs this studio serves.", [], responses(json("Runs", "The runs"), errors: [])),
            "/api/run": get("getRun", "A run: its model, checkpoints, sample grids, files and the request limits.", [run],
                            responses(json("Run", "The run"), errors: [400, 404])),
            "/api/grid": get("getGrid", "A grid of one generated image per seed, as PNG.",
                             [run, checkpoint, seeds, first, count, query("columns", integer(1...StudioLimits.maxImages, default: 8), "Images per row."),
                              psi, classParameter, scale, query("padding", integer(StudioLimits.padding, default: 2), "Pixels between tiles.")],
                             responses(binary("image/png", "The grid"), errors: [400, 404, 422, 503])),
            "/api/project": [
                "post": ["operationId": "startProjection",
                         "summary": "Start projecting a picture (the request's body: a PNG or JPEG file) into the generator: the latent whose picture is closest. Answers 202 with the job's id at once.",
                         "parameters": [run, checkpoint, query("class", ["type": "string"], "Conditional generators: project under this class (default: search all)."),
                                        query("steps", integer(StudioLimits.projectionSteps, default: Projector.Options().steps), "Optimisation steps."), token],
                         "requestBody": ["required": true, "content": ["image/png": ["schema": ["type": "string", "format": "binary"]],
                                                                       "image/jpeg": ["schema": ["type": "string", "format": "binary"]]]],
                         "responses": ["202": json("Projection", "The job, running")].merging(responses([:], errors: [400, 404, 405, 409, 415, 422, 503]).filter { $0.key != "200" }) { a, _ in a }],
                "get": ["operationId": "getProjection", "summary": "A projection's state: running (fraction done), done (its latent, class, pixel error), failed (why; past \(Int(StudioLimits.projectionSeconds)) s one is stopped) or cancelled.",
                        "parameters": [query("id", ["type": "string"], "The projection's id.", required: true), token],
                        "responses": responses(json("Projection", "The projection"), errors: [400, 404])],
                "delete": ["operationId": "cancelProjection", "summary": "Stop a running projection.",
                           "parameters": [query("id", ["type": "string"], "The projection's id.", required: true), token],
                           "responses": responses(json("Projection", "The projection"), errors: [400, 404])],
            ] as [String: Any],
            "/api/image": get("getImage", "One seed's image, or a projection's, as PNG.",
                              [run, checkpoint, query("seed", seedSchema, "The seed."), query("projection", ["type": "string"], "A finished projection's id, instead of a seed."),
                               psi, classParameter, scale],
                              responses(binary("image/png", "The image"), errors: [400, 404, 422, 503])),
            "/api/walk": get("getWalk", "A straight walk between two seeds' latents: frames left to right in one PNG, or an animated GIF.",
                             [run, checkpoint, query("from", seedSchema, "The first seed."), query("to", seedSchema, "The last seed."),
                              query("from_projection", ["type": "string"], "A finished projection's id as the first end, instead of a seed."),
                              query("to_projection", ["type": "string"], "A finished projection's id as the last end, instead of a seed."),
                              query("steps", integer(StudioLimits.walkSteps, default: 16), "Frames, both ends included."), psi, classParameter,
                              query("to_class", ["type": "string"], "Conditional generators: the last frame's class (default: class)."), scale,
                              query("format", ["type": "string", "enum": ["png", "gif"], "default": "png"], "png: a strip of frames; gif: an animation.")],
                             ["200": ["description": "The frames", "content": ["image/png": ["schema": ["type": "string", "format": "binary"]],
                                                                             "image/gif": ["schema": ["type": "string", "format": "binary"]]]]]
                                .merging(responses([:], errors: [400, 404, 422, 503]).filter { $0.key != "200" }) { a, _ in a }),
            "/api/latents": get("getLatents", "The seeds' latent vectors after truncation, as a float32 .npy array [N, latent] (swiftgan sample --noise reads it).",
                                [run, checkpoint, seeds, first, count, psi],
                                responses(binary("application/octet-stream", "The .npy file"), errors: [400, 404, 422, 503])),
            "/api/metrics": get("getMetrics", "The run's metrics.jsonl lines after a step, thinned evenly to at most limit.",
                                [run, query("after", integer(-1...Int(Int32.max), default: -1), "Only lines of later steps."),
                                 query("limit", integer(1...StudioLimits.maxMetricsLines, default: StudioLimits.maxMetricsLines), "At most this many lines.")],
                                responses(json("Metrics", "The lines"), errors: [400, 404])),
            "/api/file": get("getFile", "A file of the run (a sample grid, loss.png, config.json), by its path inside the run.",
                             [run, query("path", ["type": "string"], "A relative path inside the run, e.g. samples/final.png.", required: true)],
                             responses(binary("application/octet-stream", "The file (its own content type)"), errors: [400, 403, 404])),
        ] as [String: Any],
        "components": ["schemas": [
            "Error": ["type": "object", "required": ["error"], "properties": ["error": ["type": "string"]]],
            "Projection": ["type": "object", "required": ["id", "state", "fraction"], "properties": [
                "id": ["type": "string"], "state": ["type": "string", "enum": ["running", "done", "failed", "cancelled"]],
                "fraction": ["type": "number"], "latent": ["type": "array", "items": ["type": "number"]], "class": ["type": "integer"],
                "pixel_error": ["type": "number"], "error": ["type": "string"]] as [String: Any]],
            "RunSummary": ["type": "object", "required": ["name", "kind", "checkpoints"], "properties": [
                "name": ["type": "string"], "kind": ["type": "string", "enum": ["run", "checkpoint"]],
                "checkpoints": ["type": "array", "items": ["type": "object", "properties": ["name": ["type": "string"], "step": ["type": "integer"]]]],
                "model": ["type": "object"], "step": ["type": "integer"], "problem": ["type": "string"], "updated_seconds_ago": ["type": "number"],
            ] as [String: Any]],
            "Runs": ["type": "object", "required": ["runs", "collection"], "properties": [
                "runs": ["type": "array", "items": ["$ref": "#/components/schemas/RunSummary"]], "collection": ["type": "boolean"]]],
            "Run": ["allOf": [["$ref": "#/components/schemas/RunSummary"], ["type": "object", "required": ["samples", "files", "limits"], "properties": [
                "samples": ["type": "array", "items": ["type": "string"]], "files": ["type": "array", "items": ["type": "string"]],
                "limits": ["type": "object"], "max_images": ["type": "integer"]] as [String: Any]]]],
            "Metrics": ["type": "object", "required": ["lines", "last_step", "total"], "properties": [
                "lines": ["type": "array", "items": ["type": "object"]], "last_step": ["type": "integer"], "total": ["type": "integer"]]],
        ] as [String: Any]],
    ]
}
