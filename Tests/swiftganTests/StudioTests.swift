import Foundation
import Testing
import TestSupport

/// `swiftgan studio` as a user meets it: a real server process on a free loopback port, read by
/// Python's urllib (API), schemathesis (the OpenAPI document) and Debian's Chromium driven by
/// Selenium (the page). Every process is bounded; the studio itself is stopped with Ctrl-C
/// (SIGINT) and must exit cleanly.
@Suite(.serialized) struct StudioTests {
    /// A tiny class-conditional run (the test data's 10 classes, named by their digits), trained once for the suite.
    static let conditionalRun: String = {
        let run = scratch("studio-runs") + "/tiny-conditional"
        let r = try! runCLI(["train", "--data", CLITests.data, "--conditional", "--max-steps", "4", "--batch-size", "8", "--width", "8",
                             "--latent", "8", "--sample-every", "2", "--log-every", "1", "--out", run])
        precondition(r.status == 0, "training the studio's run failed: \(r.stderr)")
        return run
    }()

    /// A running `swiftgan studio`, stopped by `stop()` (SIGINT).
    final class Server {
        let process: TestProcess
        let base: String

        init(_ args: [String]) throws {
            let process = try TestProcess(swiftgan(), ["studio"] + args + ["--port", "0"])
            self.process = process
            let started = process.wait(upTo: 60) { process.stdout.contains(" at http://") }
            guard started, let line = process.stdout.split(separator: "\n").first(where: { $0.contains(" at http://") }),
                  let address = line.split(separator: " ").first(where: { $0.hasPrefix("http://") }) else {
                let r = process.finish(within: 5)
                throw StudioTestError("the studio did not start: \(r.stdout) \(r.stderr)")
            }
            base = String(address.split(separator: "?")[0])
        }

        /// Ctrl-C; the studio must exit 0 within 10 s.
        @discardableResult
        func stop(sourceLocation: SourceLocation = #_sourceLocation) -> CommandResult {
            kill(process.pid, SIGINT)
            let r = process.finish(within: 10, sourceLocation: sourceLocation)
            #expect(r.status == 0 && r.stdout.contains("stopped"), "studio exit \(r.status): \(r.stdout) \(r.stderr)", sourceLocation: sourceLocation)
            return r
        }
    }

    struct StudioTestError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// `POST /api/project`: a picture the generator drew comes back as a job the client polls to
    /// done, whose latent draws it again (`/api/image?projection=`) and ends a walk; cancelling
    /// stops a running one; bad uploads (not a picture, another type, too large, a picture that
    /// claims too many pixels) and unknown ids are 4xx with a message.
    @Test func picturesAreProjectedAsJobsThatCanBeCancelled() throws {
        let run = Self.conditionalRun
        let server = try Server([run])
        defer { server.stop() }
        let out = try python(#"""
        import sys, json, io, time, socket, struct, zlib, urllib.request, urllib.error
        import numpy as np
        from PIL import Image
        base = sys.argv[1]
        def call(path, method="GET", data=None, headers=None):
            r = urllib.request.Request(base + path, method=method, data=data, headers=headers or {})
            try:
                with urllib.request.urlopen(r, timeout=60) as f: return f.status, f.read()
            except urllib.error.HTTPError as e: return e.code, e.read()
        def post(data, kind="image/png", query=""):
            return call("api/project?class=3" + query, "POST", data, {"Content-Type": kind})
        def too_large():
            # The headers of a 9 MiB upload: the studio answers before any of the body is sent.
            host, port = base.split("//")[1].rstrip("/").split(":")
            with socket.create_connection((host, int(port)), timeout=30) as c:
                c.sendall(f"POST /api/project HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/png\r\nContent-Length: {9 << 20}\r\n\r\n".encode())
                return int(c.recv(4096).split(b" ")[1])
        # A picture the generator drew, as the page sends a file.
        status, picture = call("api/image?seed=5&class=3&scale=1")
        assert status == 200, status
        status, body = post(picture, query="&steps=150")
        assert status == 202, (status, body)
        job = json.loads(body)
        deadline = time.time() + 120
        fractions = []
        while job["state"] == "running" and time.time() < deadline:
            time.sleep(0.2)
            status, body = call("api/project?id=" + job["id"]); assert status == 200, body
            job = json.loads(body); fractions.append(job["fraction"])
        assert job["state"] == "done", job
        again_status, again = call("api/image?class=3&scale=1&projection=" + job["id"])
        a = np.asarray(Image.open(io.BytesIO(picture)), np.float64); b = np.asarray(Image.open(io.BytesIO(again)), np.float64)
        walk_status, walk = call("api/walk?from=1&to_projection=" + job["id"] + "&steps=4&class=3")
        # Cancelling a long one.
        status, body = post(picture, query="&steps=1000")
        assert status == 202, body
        long = json.loads(body)
        busy, _ = post(picture)
        # Grids of new sizes (new kernels: the engine's one thread makes them) are served between
        # the projection's steps, not after it.
        grids = [call(f"api/grid?first={n}&count={n}&columns={n}")[0] for n in (1, 3, 5, 7, 9, 11)]
        still = json.loads(call("api/project?id=" + long["id"])[1])
        grids_during = grids == [200] * 6 and still["state"] == "running" and still["fraction"] < 1
        cancel_status, body = call("api/project?id=" + long["id"], "DELETE")
        for _ in range(100):
            cancelled = json.loads(call("api/project?id=" + long["id"])[1])
            if cancelled["state"] != "running": break
            time.sleep(0.1)
        # A PNG header claiming 50 000 × 50 000 pixels, in a few bytes.
        ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 0, 0, 0, 0)
        bomb = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
        refusals = {
            "not a picture": post(b"hello, not a picture")[0],
            "text/plain": post(picture, "text/plain")[0],
            "too large": too_large(),
            "bomb": post(bomb)[0],
            "unknown id": call("api/project?id=feedface")[0],
            "no id": call("api/project")[0],
            "PUT": call("api/project", "PUT", b"x")[0],
            "bad steps": post(picture, query="&steps=5")[0],
        }
        print(json.dumps({"mean_diff": float(np.abs(a - b).mean()), "pixel_error": job["pixel_error"], "class": job.get("class"),
                          "latent": len(job["latent"]), "fractions_rise": fractions == sorted(fractions), "walk": walk_status,
                          "walk_width": Image.open(io.BytesIO(walk)).size[0] if walk_status == 200 else 0, "again": again_status,
                          "busy": busy, "grids_during": grids_during, "cancel": cancel_status, "cancelled": cancelled["state"], "refusals": refusals}))
        """#, [server.base], timeout: 400)
        let r = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        print("studio projection: \(out)")
        #expect(r["again"] as? Int == 200 && (r["mean_diff"] as? Double ?? 99) < 4 && r["latent"] as? Int == 8 && r["class"] as? Int == 3, "\(out)")
        #expect(r["fractions_rise"] as? Bool == true && r["walk"] as? Int == 200 && r["walk_width"] as? Int == 4 * 28, "\(out)")
        #expect(r["grids_during"] as? Bool == true, "grids were not served while a projection ran: \(out)")
        #expect(r["busy"] as? Int == 409 && r["cancel"] as? Int == 200 && r["cancelled"] as? String == "cancelled", "\(out)")
        #expect(r["refusals"] as? [String: Int] == ["not a picture": 422, "text/plain": 415, "too large": 413, "bomb": 413, "unknown id": 404,
                                                    "no id": 400, "PUT": 405, "bad steps": 400], "\(out)")
    }

    /// A projection past the studio's time bound (here 1 s) ends failed, with a message that says
    /// so and what to change.
    @Test func aProjectionPastItsTimeBoundEndsWithAClearMessage() throws {
        let server = try Server([Self.conditionalRun, "--projection-seconds", "1"])
        defer { server.stop() }
        let out = try python(#"""
        import sys, json, time, urllib.request
        base = sys.argv[1]
        with urllib.request.urlopen(base + "api/image?seed=5&class=3&scale=1", timeout=60) as f: picture = f.read()
        r = urllib.request.Request(base + "api/project?steps=1000", method="POST", data=picture, headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(r, timeout=60) as f: job = json.loads(f.read())
        deadline = time.time() + 60
        while job["state"] == "running" and time.time() < deadline:
            time.sleep(0.2)
            with urllib.request.urlopen(base + "api/project?id=" + job["id"], timeout=60) as f: job = json.loads(f.read())
        print(job["state"] + " | " + job.get("error", ""))
        """#, [server.base], timeout: 120)
        #expect(out.hasPrefix("failed | the projection took longer than 1 s") && out.contains("--projection-seconds"), "\(out)")
    }

    /// Every endpoint answers, with the content it promises; bad parameters, traversal attempts,
    /// oversized bodies, other methods and foreign Host headers are 4xx with a message; a corrupt
    /// checkpoint is a 422 and the server goes on; a burst beyond the queue is 503, never 500.
    @Test func apiAnswersEveryEndpointAndRefusesBadRequests() throws {
        let run = Self.conditionalRun
        // A second run beside it whose latest checkpoint is corrupt (a truncated generator file),
        // and a symbolic link out of the run.
        let root = scratch("studio-api")
        let corrupt = root + "/corrupt"
        try FileManager.default.copyItem(atPath: run, toPath: corrupt)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: corrupt + "/checkpoints").filter { $0.hasPrefix("step-") }.sorted()
        let broken = corrupt + "/checkpoints/" + checkpoints.last! + "/generator.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: broken))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: broken))
        try FileManager.default.createSymbolicLink(atPath: corrupt + "/samples/escape.png", withDestinationPath: "/etc/passwd")
        try FileManager.default.copyItem(atPath: run, toPath: root + "/good")

        let server = try Server([root])
        defer { server.stop() }
        let out = try python(#"""
        import sys, json, io, math, socket, urllib.request, urllib.error, concurrent.futures
        import numpy as np
        from PIL import Image
        base = sys.argv[1]
        def get(path, method="GET", data=None, headers=None):
            req = urllib.request.Request(base + path, method=method, data=data, headers=headers or {})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers, e.read()
        def ok(path):
            s, h, b = get(path)
            assert s == 200, (path, s, b[:300])
            return h, b
        def refused(path, status, words, **kw):
            s, h, b = get(path, **kw)
            assert s == status, (path, s, b[:300])
            message = json.loads(b)["error"]
            assert words in message, (path, message)
            return message

        h, b = ok("api/runs"); runs = json.loads(b)
        assert runs["collection"] and [r["name"] for r in runs["runs"]] == ["corrupt", "good"], runs
        h, b = ok("api/run?run=good"); info = json.loads(b)
        m = info["model"]
        assert m["classes"] == [str(k) for k in range(10)] and m["latent"] == 8 and m["image_size"] == 28, m
        assert len(info["checkpoints"]) >= 1 and info["samples"], info
        # Grid: one 28×28 tile per seed, PNG, with each seed's class in a header.
        h, b = ok("api/grid?run=good&first=5&count=12&columns=4&padding=0")
        assert h["Content-Type"] == "image/png"
        g = Image.open(io.BytesIO(b)); assert g.size == (4 * 28, 3 * 28), g.size
        classes = [int(c) for c in h["X-Classes"].split(",")]; assert len(classes) == 12 and all(0 <= c < 10 for c in classes)
        # The same seeds one by one give the same tiles (a tile is its seed's image).
        h, b = ok("api/image?run=good&seed=6&scale=1")
        one = np.asarray(Image.open(io.BytesIO(b)))
        # (A batch of 1 and one of 12 may round differently inside the kernels: at most one level.)
        assert np.abs(one.astype(int) - np.asarray(g)[0:28, 28:56].astype(int)).max() <= 1, "seed 6 alone differs from its grid tile"
        # A named class changes the images; ψ = 0 gives every seed the mean latent's image.
        h, b1 = ok("api/grid?run=good&first=0&count=4&class=1&padding=0"); assert h["X-Classes"] == "1,1,1,1"
        h, b2 = ok("api/grid?run=good&first=0&count=4&class=8&padding=0"); assert b1 != b2
        h, b = ok("api/grid?run=good&first=0&count=4&class=3&psi=0&padding=0&columns=4")
        t = np.asarray(Image.open(io.BytesIO(b)))
        assert all(np.array_equal(t[:, 0:28], t[:, 28 * k:28 * (k + 1)]) for k in range(4)), "ψ=0 tiles differ"
        # Latents: float32 [N, latent]; ψ pulls them towards their mean.
        h, b = ok("api/latents?run=good&seeds=3,9,4"); z = np.load(io.BytesIO(b)); assert z.shape == (3, 8) and z.dtype == np.float32
        h, b = ok("api/latents?run=good&seeds=3,9,4&psi=0.5"); zt = np.load(io.BytesIO(b))
        mean = 2 * zt - z; assert np.allclose(mean, mean[0], atol=1e-5) and np.abs(mean[0]).max() < 0.1, mean
        # Walk: a strip of frames whose ends are the two seeds' images; a GIF on request.
        h, b = ok("api/walk?run=good&from=6&to=7&steps=5&class=" + str(classes[1]))
        w = np.asarray(Image.open(io.BytesIO(b))); assert w.shape[:2] == (28, 5 * 28), w.shape
        assert np.abs(w[:, 0:28].astype(int) - one.astype(int)).max() <= 1, "the walk's first frame is not seed 6's image"
        h, b = ok("api/walk?run=good&from=6&to=7&steps=5&format=gif&scale=2"); assert b[:6] == b"GIF89a" and h["Content-Type"] == "image/gif"
        # Metrics and files of the run.
        h, b = ok("api/metrics?run=good"); mt = json.loads(b); assert mt["lines"] and mt["last_step"] == 4, mt
        h, b = ok("api/metrics?run=good&after=2&limit=1"); assert len(json.loads(b)["lines"]) == 1
        h, b = ok("api/file?run=good&path=" + info["samples"][0]); assert h["Content-Type"] == "image/png" and b[:4] == b"\x89PNG"
        h, b = ok("api/file?run=good&path=config.json"); json.loads(b)
        h, b = ok("openapi.json"); spec = json.loads(b); assert spec["openapi"].startswith("3.") and "/api/grid" in spec["paths"]
        h, b = ok(""); assert b"<title>swiftgan studio</title>" in b and "default-src 'self'" in h["Content-Security-Policy"]
        ok("studio.js"); ok("studio.css")

        # Bad parameters: each a 400 naming the parameter.
        for q, words in [("count=-1", "'count'"), ("count=100000", "'count'"), ("count=abc", "'count'"), ("first=-5", "'first'"),
                         ("first=99999999999", "'first'"), ("psi=nan", "'psi'"), ("psi=inf", "'psi'"), ("psi=3", "'psi'"),
                         ("scale=0", "'scale'"), ("scale=9", "'scale'"), ("padding=99", "'padding'"), ("class=Dragon", "no class 'Dragon'"),
                         ("class=10", "no class '10'"), ("seeds=1,,2", "'seeds'"), ("seeds=1,-2", "'seeds'"), ("seeds=1&first=2", "either 'seeds'"),
                         ("colour=red", "unknown parameter 'colour'"), ("count=4&count=5", "given twice"), ("first=4294967290&count=64", "go past"),
                         ("count=256&scale=8", "pixels")]:
            refused("api/grid?run=good&" + q, 400, words)
        refused("api/walk?run=good&steps=1", 400, "'steps'")
        refused("api/walk?run=good&steps=65", 400, "'steps'")
        refused("api/walk?run=good&format=bmp", 400, "'format'")
        refused("api/image?run=good&seed=1.5", 400, "'seed'")
        refused("api/metrics?run=good&limit=0", 400, "'limit'")
        refused("api/grid?run=nosuch", 404, "no run 'nosuch'")
        refused("api/grid?run=good&checkpoint=step-99999999", 404, "no checkpoint 'step-99999999'")
        refused("api/grid?run=good&checkpoint=../../etc", 404, "no checkpoint")
        # Traversal and escapes: refused whatever their spelling; the symbolic link out too.
        for p in ["../good/config.json", "/etc/passwd", "samples/../../good/config.json", "%2e%2e/x", ".hidden", "samples/./x.png"]:
            s, _, b = get("api/file?run=corrupt&path=" + urllib.parse.quote(p, safe="/%"))
            assert s in (400, 403, 404) and "error" in json.loads(b), (p, s, b)
        refused("api/file?run=corrupt&path=samples/escape.png", 403, "outside the run")
        refused("api/file?run=good&path=checkpoints", 400, "directory")
        refused("api/file?run=good", 400, "'path'")
        refused("api/nothing", 404, "openapi.json")
        # Bodies, methods, hosts.
        refused("api/run", 413, "at most 65536", method="POST", data=b"x" * 70000)
        refused("api/run", 405, "GET", method="POST", data=b"{}")
        refused("api/run", 405, "GET", method="DELETE")
        refused("api/run", 403, "127.0.0.1", headers={"Host": "attacker.example:80"})
        # A corrupt checkpoint: 422 with its name, and the server answers the next request.
        msg = refused("api/grid?run=corrupt&count=4", 422, "cannot be loaded")
        ok("api/grid?run=good&count=4")
        # A burst larger than the queue: only 200s and 503s (with Retry-After), and most served.
        def burst(i):
            s, h, b = get("api/grid?run=good&count=64&first=%d" % i)
            return s, h.get("Retry-After")
        with concurrent.futures.ThreadPoolExecutor(60) as pool:
            results = list(pool.map(burst, range(60)))
        statuses = sorted(set(s for s, _ in results))
        assert set(statuses) <= {200, 503} and all(r == "1" for s, r in results if s == 503), results
        print(json.dumps({"corrupt": msg, "burst": {str(s): sum(1 for t, _ in results if t == s) for s in statuses}}))
        """#, [server.base], timeout: 240)
        print("studio API: \(out)")
        #expect(out.contains("\"corrupt\""))
    }

    /// The studio's grid, its latents file and `swiftgan sample --noise` with those latents give
    /// the same pixels: what the page shows is what the command line makes.
    @Test func downloadedLatentsReproduceTheGridThroughSample() throws {
        let server = try Server([Self.conditionalRun])
        let dir = scratch("studio-latents")
        try python(#"""
        import sys, urllib.request
        base, out = sys.argv[1], sys.argv[2]
        for name, path in [("z.npy", "api/latents?seeds=11,12,13&psi=0.7"), ("grid.png", "api/grid?seeds=11,12,13&psi=0.7&class=5&padding=0&columns=3")]:
            with urllib.request.urlopen(base + path, timeout=60) as r, open(out + "/" + name, "wb") as f: f.write(r.read())
        """#, [server.base, dir])
        server.stop()
        let s = try runCLI(["sample", Self.conditionalRun, "--noise", dir + "/z.npy", "--class", "5", "--out", dir + "/sampled.png", "--columns", "3"])
        #expect(s.status == 0, "\(s.stderr)")
        let same = try python(#"""
        import sys, numpy as np
        from PIL import Image
        grid = np.asarray(Image.open(sys.argv[1])); sampled = np.asarray(Image.open(sys.argv[2]))
        # `sample` pads its grid by 2 pixels and scales 28-pixel tiles by 2; take its tiles back.
        scale = 2; pad = 2
        ok = True
        for k in range(3):
            x0 = (pad + k * (28 + pad)) * scale
            tile = sampled[pad * scale:(pad + 28) * scale:scale, x0:x0 + 28 * scale:scale]
            ok &= np.array_equal(tile, grid[:, 28 * k:28 * (k + 1)])
        print(int(ok))
        """#, [dir + "/grid.png", dir + "/sampled.png"])
        #expect(same.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "the studio's tiles differ from `sample --noise`'s images")
    }

    /// schemathesis generates requests from /openapi.json (a bounded number per operation) and
    /// finds no 5xx and no response outside the document.
    @Test func openAPIDocumentHoldsUnderSchemathesis() throws {
        let server = try Server([Self.conditionalRun])
        defer { server.stop() }
        let cli = URL(fileURLWithPath: pythonPath()).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        let r = try runProcess(cli, ["run", server.base + "openapi.json", "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
                                     "--max-examples", "25", "--request-timeout", "60", "--no-color", "--seed", "1"],
                               timeout: 400, environment: ["SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"])
        #expect(r.status == 0, "schemathesis: \(r.stdout.suffix(4000)) \(r.stderr.suffix(2000))")
        print(r.stdout.split(separator: "\n").suffix(12).joined(separator: "\n"))
    }

    /// The page in Debian's Chromium: it shows the grid, pins two samples, walks between them,
    /// projects a picture chosen as a file into a third pin that the walk then ends at, switches class, and is not blank on a screenshot; then, with the page open, a new metrics
    /// line and a new grid written into the run reach it without a reload.
    @Test func pageWorksInABrowserAndUpdatesLive() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            Issue.record("chromium and chromium-driver are missing: `make test` installs them (scripts/install-deps --test)")
            return
        }
        let root = scratch("studio-browser")
        let run = root + "/run"
        try FileManager.default.copyItem(atPath: Self.conditionalRun, toPath: run)
        let server = try Server([run])
        defer { server.stop() }
        let shots = scratch("studio-screenshots")
        let out = try python(#"""
        import sys, os, json, time, shutil
        import numpy as np
        from PIL import Image
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.support.ui import WebDriverWait, Select
        base, run, shots = sys.argv[1:4]
        o = webdriver.ChromeOptions()
        o.binary_location = "/usr/bin/chromium"
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1500"]:
            o.add_argument(a)
        d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
        d.set_page_load_timeout(30); d.set_script_timeout(30)
        js = d.execute_script
        wait = WebDriverWait(d, 30)
        def grid_ready():
            return js("const g = document.getElementById('grid'); return g.complete && g.naturalWidth > 0 && !g.dataset.loading ? g.src : null")
        try:
            d.get(base)
            src = wait.until(lambda _: grid_ready())
            assert js("return document.getElementById('grid').naturalWidth") == 8 * 28, "grid width"
            assert "tiny-conditional" not in d.find_element(By.ID, "error").text
            # Pin two tiles.
            g = d.find_element(By.ID, "grid")
            w, h = g.size["width"], g.size["height"]
            for col in (0, 3):
                ActionChains(d).move_to_element_with_offset(g, int((col + 0.5) * w / 8 - w / 2), int(0.5 * h / 8 - h / 2)).click().perform()
            wait.until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#pins .pin")) == 2)
            pins = [p.get_attribute("data-seed") for p in d.find_elements(By.CSS_SELECTOR, "#pins .pin")]
            assert pins == ["0", "3"], pins
            # The walk: frames arrive, and the slider moves through them.
            wait.until(lambda _: js("return document.getElementById('walk-canvas').dataset.frames") == "16")
            js("const s = document.getElementById('walk-slider'); s.value = 11; s.dispatchEvent(new Event('input'))")
            assert js("return document.getElementById('walk-canvas').dataset.frame") == "11"
            # A picture chosen as a file: projected, pinned beside the seeds, and the walk now ends at it.
            import urllib.request
            picture = shots + "/to-project.png"
            with urllib.request.urlopen(base + "api/image?seed=7&class=2&scale=1", timeout=30) as f: open(picture, "wb").write(f.read())
            d.find_element(By.ID, "project-file").send_keys(picture)
            wait.until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#pins .pin[data-projection]")) == 1)
            wait.until(lambda _: js("const i = document.querySelector('#pins .pin[data-projection] img'); return i.complete && i.naturalWidth > 0"))
            wait.until(lambda _: js("return document.getElementById('walk-ends').textContent").startswith("seed 3 → to-project.png"))
            assert d.find_element(By.ID, "error").is_displayed() is False, d.find_element(By.ID, "error").text
            # Another class: a new grid.
            Select(d.find_element(By.ID, "class-select")).select_by_value("1")
            wait.until(lambda _: (grid_ready() or src) != src)
            assert d.find_element(By.ID, "error").is_displayed() is False, d.find_element(By.ID, "error").text
            d.save_screenshot(shots + "/explore.png")
            # Watch: the run's last step, then a new line and a new grid appended by "the trainer".
            d.find_element(By.ID, "tab-watch").click()
            wait.until(lambda _: d.find_element(By.ID, "live-status").text == "live")
            wait.until(lambda _: d.find_element(By.ID, "step").text == "4")
            line = {"step": 6, "epoch": 0, "batch": 6, "loss_d": 0.5, "loss_g": 3.25, "d_real": 0.7, "d_fake": 0.2, "images_per_second": 123.0}
            with open(run + "/metrics.jsonl", "a") as f: f.write(json.dumps(line) + "\n")
            newest = sorted(os.listdir(run + "/samples"))[0]
            shutil.copy(run + "/samples/" + newest, run + "/samples/step-00000006.png")
            t0 = time.time()
            wait.until(lambda _: d.find_element(By.ID, "step").text == "6" and d.find_element(By.ID, "throughput").text == "123")
            wait.until(lambda _: js("return document.getElementById('latest-grid').dataset.path") == "samples/step-00000006.png")
            latency = time.time() - t0
            assert latency < 5, latency
            d.save_screenshot(shots + "/watch.png")
            # Phone-sized: the grid fits the width.
            d.set_window_size(390, 844)
            d.find_element(By.ID, "tab-explore").click()
            fits = js("return document.getElementById('grid').getBoundingClientRect().right <= window.innerWidth")
            assert fits, "the grid overflows a phone-sized window"
            d.save_screenshot(shots + "/phone.png")
            severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
        finally:
            d.quit()
        # The screenshots are not blank: many distinct grey levels, spread out.
        for name in ["explore", "watch", "phone"]:
            a = np.asarray(Image.open(shots + "/" + name + ".png").convert("L")).astype(float)
            assert a.std() > 20 and len(np.unique(a)) > 50, (name, a.std(), len(np.unique(a)))
        print(json.dumps({"live_update_seconds": round(latency, 2)}))
        """#, [server.base, run, shots], timeout: 240)
        print("studio page: \(out) (screenshots in \(shots))")
        #expect(out.contains("live_update_seconds"))
    }

    /// Listening beyond the loopback needs a token; with one, a request without it is a 401 and
    /// one with it (header, or the cookie the page's first load sets) is served.
    @Test func anotherHostNeedsAToken() throws {
        let refused = try runCLI(["studio", Self.conditionalRun, "--host", "0.0.0.0", "--port", "0"], timeout: 30)
        #expect(refused.status != 0 && refused.stderr.contains("--host 0.0.0.0 makes the studio reachable from other machines: give --token"),
                "\(refused.stderr)")
        let server = try Server([Self.conditionalRun, "--host", "0.0.0.0", "--token", "s3cret-token"])
        defer { server.stop() }
        #expect(server.base.hasPrefix("http://0.0.0.0:"))
        let port = server.base.split(separator: ":")[2].prefix { $0.isNumber }
        let out = try python(#"""
        import sys, urllib.request, urllib.error
        base = "http://127.0.0.1:" + sys.argv[1] + "/"
        def status(path, headers={}):
            try:
                with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=30) as r: return r.status, r.headers
            except urllib.error.HTTPError as e: return e.code, e.headers
        a = status("api/run")[0]
        b = status("api/run", {"Authorization": "Bearer s3cret-token"})[0]
        c = status("api/run", {"Authorization": "Bearer wrong-token"})[0]
        s, h = status("?token=s3cret-token")
        cookie = h["Set-Cookie"].split(";")[0]
        d = status("api/run", {"Cookie": cookie})[0]
        print(a, b, c, s, d, "HttpOnly" in h["Set-Cookie"])
        """#, [String(port)])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "401 200 401 200 200 True", "\(out)")
    }

    /// Bad arguments are one line naming the flag or path; a busy port too.
    @Test func badArgumentsAreOneLine() throws {
        var r = try runCLI(["studio", scratch("studio-empty")], timeout: 30)
        #expect(r.status != 0 && r.stderr.hasPrefix("error: ") && r.stderr.contains("no run here"), "\(r.stderr)")
        r = try runCLI(["studio", "/nonexistent/run"], timeout: 30)
        #expect(r.status != 0 && r.stderr.contains("/nonexistent/run: no such directory"), "\(r.stderr)")
        r = try runCLI(["studio", Self.conditionalRun, "--port", "70000"], timeout: 30)
        #expect(r.status != 0 && r.stderr.contains("--port must be from 0 to 65535"), "\(r.stderr)")
        let server = try Server([Self.conditionalRun])
        defer { server.stop() }
        let port = server.base.split(separator: ":")[2].prefix { $0.isNumber }
        r = try runCLI(["studio", Self.conditionalRun, "--port", String(port)], timeout: 30)
        #expect(r.status != 0 && r.stderr.hasPrefix("error: cannot listen on 127.0.0.1:\(port)") && r.stderr.contains("choose another --port"),
                "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
