// swiftgan studio: the page's code. No framework and no build step: the server sends this file as
// it is. Everything it shows comes from the JSON and image API (/openapi.json) and the run's live
// updates (a WebSocket at /api/events).
"use strict";

const $ = (id) => document.getElementById(id);
const page = new URLSearchParams(location.search);
const state = {
  run: page.get("run"),        // null: the only (or first) run
  info: null,                  // /api/run
  checkpoint: "",              // "": the latest
  first: 0, count: 64, columns: 8, psi: 1, cls: "random",
  gridClasses: null,           // each tile's class (conditional generators)
  pins: [],                    // {seed, cls} or {projection, cls, name}
  projecting: null,            // the id of the projection running
  metrics: [],                 // metrics.jsonl lines, oldest first
  lastStep: -1,
  socket: null, reconnect: null,
  walk: null, playing: null,
};

// ── requests ───────────────────────────────────────────────────────────────────────────────
function url(path, query = {}, withCheckpoint = true) {
  const q = new URLSearchParams();
  if (state.run) q.set("run", state.run);
  if (withCheckpoint && state.checkpoint) q.set("checkpoint", state.checkpoint);
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  return path + "?" + q.toString();
}

async function fetchOK(u) {
  const r = await fetch(u);
  if (!r.ok) {
    let message = r.status + " " + r.statusText;
    try { message = (await r.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return r;
}

function showError(e) {
  const box = $("error");
  if (!e) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = String(e.message || e);
  box.hidden = false;
}

// ── the run ────────────────────────────────────────────────────────────────────────────────
async function start() {
  bindControls();
  try {
    const runs = await (await fetchOK(url("api/runs", {}, false))).json();
    if (runs.collection) {
      $("run-picker").hidden = false;
      const select = $("run-select");
      select.replaceChildren(...runs.runs.map((r) => new Option(r.name, r.name)));
      if (!state.run) { showRunList(runs.runs); return; }
      select.value = state.run;
    }
    await loadRun();
  } catch (e) { showError(e); }
}

function showRunList(runs) {
  $("explore").hidden = true;
  $("runs").hidden = false;
  $("run-list").replaceChildren(...runs.map((r) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "?run=" + encodeURIComponent(r.name);
    a.textContent = r.name;
    li.append(a, " ", describeModel(r) + (r.problem ? " — " + r.problem : ""));
    return li;
  }));
}

function describeModel(info) {
  const m = info.model;
  if (!m) return "";
  const classes = m.classes.length ? `, ${m.classes.length} classes` : "";
  const step = info.step !== undefined ? ` · step ${info.step}` : "";
  return `${m.preset} ${m.image_size}×${m.image_size}×${m.channels}, latent ${m.latent}${classes}${step}`;
}

async function loadRun() {
  $("runs").hidden = true;
  const info = await (await fetchOK(url("api/run", {}, false))).json();
  state.info = info;
  state.columns = Math.min(8, state.count);
  $("model-line").textContent = info.name + " — " + (info.model ? describeModel(info) : (info.problem || ""));
  if (info.problem) showError(new Error(info.problem));
  fillCheckpoints(info.checkpoints);
  const classes = info.model ? info.model.classes : [];
  $("class-picker").hidden = classes.length === 0;
  $("to-class-picker").hidden = classes.length === 0;
  const options = (withRandom) => (withRandom ? [new Option("random (each seed's own)", "random")] : [new Option("the second pin's", "")])
    .concat(classes.map((name, i) => new Option(`${i} ${name}`, String(i))));
  $("class-select").replaceChildren(...options(true));
  $("to-class-select").replaceChildren(...options(false));
  const limit = info.max_images || 64;
  for (const o of $("count-select").options) o.disabled = Number(o.value) > limit;
  if (state.count > limit) { state.count = limit >= 64 ? 64 : 16; $("count-select").value = String(state.count); }
  if (info.model) await refreshGrid();
  await loadMetrics();
  showLatestGrid(info.samples);
  connectLive();
}

function fillCheckpoints(list) {
  const select = $("checkpoint-select");
  const chosen = state.checkpoint;
  const newest = list.length ? list[list.length - 1].name : "";
  const options = [new Option(`latest (${newest || "none"})`, "")]
    .concat(list.slice().reverse().map((c) => new Option(`${c.name} (step ${c.step})`, c.name)));
  select.replaceChildren(...options);
  select.value = list.some((c) => c.name === chosen) ? chosen : "";
}

// ── Explore ────────────────────────────────────────────────────────────────────────────────
function gridQuery() {
  return { first: state.first, count: state.count, columns: state.columns, psi: state.psi, class: state.cls === "random" ? "" : state.cls };
}

async function refreshGrid() {
  const img = $("grid");
  const q = gridQuery();
  $("download-grid").href = url("api/grid", { ...q, padding: 2, scale: 2 });
  $("download-latents").href = url("api/latents", { first: q.first, count: q.count, psi: q.psi });
  img.dataset.loading = "1";
  try {
    const r = await fetchOK(url("api/grid", { ...q, padding: 0 }));
    const classes = r.headers.get("X-Classes");
    state.gridClasses = classes ? classes.split(",").map(Number) : null;
    const blob = await r.blob();
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    img.dataset.first = String(q.first);
    img.dataset.count = String(q.count);
    img.dataset.columns = String(q.columns);
    showError(null);
  } catch (e) { showError(e); } finally { delete img.dataset.loading; }
}

function tileAt(event) {
  const img = $("grid");
  const side = state.info.model.image_size;
  const x = event.offsetX / img.clientWidth * img.naturalWidth;
  const y = event.offsetY / img.clientHeight * img.naturalHeight;
  const col = Math.floor(x / side), row = Math.floor(y / side);
  const index = row * Number(img.dataset.columns) + col;
  if (col < 0 || col >= Number(img.dataset.columns) || index < 0 || index >= Number(img.dataset.count)) return null;
  return index;
}

function pin(index) {
  const seed = Number($("grid").dataset.first) + index;
  const cls = state.info.model.classes.length ? (state.cls !== "random" ? Number(state.cls) : state.gridClasses[index]) : null;
  if (state.pins.some((p) => p.seed === seed && p.cls === cls)) return;
  state.pins.push({ seed, cls });
  renderPins();
}

function renderPins() {
  const box = $("pins");
  $("no-pins").hidden = state.pins.length > 0;
  box.querySelectorAll(".pin").forEach((n) => n.remove());
  state.pins.forEach((p, i) => {
    const div = document.createElement("div");
    div.className = "pin" + (i >= state.pins.length - 2 && state.pins.length >= 2 ? " end" : "");
    const projected = p.projection !== undefined;
    if (projected) div.dataset.projection = p.projection; else div.dataset.seed = String(p.seed);
    const img = document.createElement("img");
    const q = { psi: state.psi, class: p.cls === null ? "" : p.cls };
    if (projected) q.projection = p.projection; else q.seed = p.seed;
    img.src = url("api/image", q);
    img.alt = projected ? "projection of " + p.name : "seed " + p.seed;
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "×"; remove.title = "unpin";
    remove.addEventListener("click", () => { state.pins.splice(i, 1); renderPins(); });
    const link = document.createElement("a");
    link.href = url("api/image", { ...q, scale: 8 });
    link.download = projected ? `projection-${p.name}.png` : `seed-${p.seed}.png`;
    link.textContent = "PNG";
    const name = state.info.model.classes.length && p.cls !== null ? " " + state.info.model.classes[p.cls] : "";
    div.append(img, remove, (projected ? `≈ ${p.name}` : `seed ${p.seed}`) + `${name} `, link);
    box.append(div);
  });
  const seeds = state.pins.filter((p) => p.projection === undefined);
  $("download-pins").hidden = seeds.length === 0;
  $("clear-pins").hidden = state.pins.length === 0;
  $("download-pins").href = url("api/latents", { seeds: seeds.map((p) => p.seed).join(","), psi: state.psi });
  refreshWalk();
}

// ── projection: a picture → its nearest latent, pinned ───────────────────────────────────────
async function projectFile(file) {
  if (!file || state.projecting) return;
  if (!["image/png", "image/jpeg"].includes(file.type)) { showError(new Error(`${file.name}: a PNG or JPEG picture is needed`)); return; }
  const q = {};
  if (state.info.model.classes.length && state.cls !== "random") q.class = state.cls;
  const progress = $("project-progress"), cancel = $("project-cancel");
  const status = (id) => "api/project?id=" + encodeURIComponent(id);
  try {
    showError(null);
    const r = await fetch(url("api/project", q), { method: "POST", body: file, headers: { "Content-Type": file.type } });
    let job = await r.json();
    if (!r.ok) throw new Error(job.error || r.status + " " + r.statusText);
    state.projecting = job.id;
    progress.value = 0; progress.hidden = false; cancel.hidden = false;
    while (job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await (await fetchOK(status(job.id))).json();
      progress.value = job.fraction;
    }
    if (job.state === "failed") throw new Error(job.error);
    if (job.state === "done") {
      state.pins.push({ projection: job.id, cls: job.class === undefined ? null : job.class, name: file.name });
      renderPins();
    }
  } catch (e) { showError(e); } finally {
    progress.hidden = true; cancel.hidden = true; state.projecting = null; $("project-file").value = "";
  }
}

async function cancelProjection() {
  if (!state.projecting) return;
  try { await fetchOK(new Request("api/project?id=" + encodeURIComponent(state.projecting), { method: "DELETE" })); } catch (e) { showError(e); }
}

async function refreshWalk() {
  stopPlaying();
  const section = $("walk");
  if (state.pins.length < 2) { section.hidden = true; state.walk = null; return; }
  section.hidden = false;
  const a = state.pins[state.pins.length - 2], b = state.pins[state.pins.length - 1];
  const steps = Number($("walk-steps").value);
  const toClass = $("to-class-select").value;
  const q = { steps, psi: state.psi };
  if (a.projection !== undefined) q.from_projection = a.projection; else q.from = a.seed;
  if (b.projection !== undefined) q.to_projection = b.projection; else q.to = b.seed;
  if (a.cls !== null) { q.class = a.cls; q.to_class = toClass !== "" ? toClass : b.cls; }
  const names = state.info.model.classes;
  const end = (p) => p.projection !== undefined ? p.name : `seed ${p.seed}`;
  $("walk-ends").textContent = `${end(a)} → ${end(b)}` + (a.cls !== null ? ` (${names[a.cls]} → ${names[q.to_class]})` : "");
  $("download-walk").href = url("api/walk", { ...q, format: "gif", scale: Math.max(1, Math.floor(128 / state.info.model.image_size)) });
  try {
    const r = await fetchOK(url("api/walk", q));
    const bitmap = await createImageBitmap(await r.blob());
    state.walk = { bitmap, steps };
    const slider = $("walk-slider");
    slider.max = String(steps - 1);
    slider.value = String(Math.min(Number(slider.value), steps - 1));
    drawWalk();
  } catch (e) { showError(e); }
}

function drawWalk() {
  if (!state.walk) return;
  const { bitmap, steps } = state.walk;
  const side = bitmap.height, k = Number($("walk-slider").value);
  const canvas = $("walk-canvas"), ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, k * side, 0, side, side, 0, 0, canvas.width, canvas.height);
  canvas.dataset.frame = String(k);
  canvas.dataset.frames = String(steps);
}

function stopPlaying() {
  if (state.playing) { clearInterval(state.playing); state.playing = null; $("walk-play").textContent = "play"; }
}

function togglePlay() {
  if (state.playing) { stopPlaying(); return; }
  let direction = 1;
  $("walk-play").textContent = "pause";
  state.playing = setInterval(() => {
    const slider = $("walk-slider"), max = Number(slider.max);
    let k = Number(slider.value) + direction;
    if (k > max || k < 0) { direction = -direction; k += 2 * direction; }
    slider.value = String(Math.max(0, Math.min(max, k)));
    drawWalk();
  }, 80);
}

// ── Watch ──────────────────────────────────────────────────────────────────────────────────
async function loadMetrics() {
  try {
    const m = await (await fetchOK(url("api/metrics", { limit: 5000 }, false))).json();
    state.metrics = m.lines;
    state.lastStep = m.last_step;
    renderWatch();
  } catch (e) { showError(e); }
}

function showLatestGrid(samples) {
  const grids = (samples || []).filter((s) => !s.split("/").pop().startsWith("compare-"));
  const latest = grids.length ? grids[grids.length - 1] : (samples || []).slice(-1)[0];
  if (!latest) return;
  const img = $("latest-grid");
  // The same name can hold a new grid (final.png): the server answers no-cache, so setting the
  // address again makes the browser ask whether it changed.
  img.removeAttribute("src");
  img.src = url("api/file", { path: latest }, false);
  img.dataset.path = latest;
  $("latest-name").textContent = latest;
}

function connectLive() {
  if (state.socket) state.socket.close();
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const path = location.pathname.replace(/[^/]*$/, "");
  const socket = new WebSocket(scheme + location.host + path + url("api/events", { after: state.lastStep }, false));
  state.socket = socket;
  socket.addEventListener("open", () => { $("live-status").textContent = "live"; $("live-status").classList.add("live"); });
  socket.addEventListener("close", () => {
    $("live-status").textContent = "offline"; $("live-status").classList.remove("live");
    if (state.socket === socket) state.reconnect = setTimeout(connectLive, 2000);
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "metrics") {
      state.metrics.push(...message.lines);
      for (const line of message.lines) state.lastStep = Math.max(state.lastStep, line.step);
      renderWatch();
    } else if (message.type === "samples") {
      showLatestGrid(message.samples);
    } else if (message.type === "checkpoints") {
      fillCheckpoints(message.checkpoints);
    } else if (message.type === "reset") {
      loadMetrics();
    }
  });
}

function renderWatch() {
  // Training lines are those without an evaluation (a loss that was not finite is absent from its line).
  const train = state.metrics.filter((l) => !l.eval);
  const evals = state.metrics.filter((l) => l.eval);
  const last = train[train.length - 1];
  const fmt = (v, digits) => (v === undefined || v === null ? "–" : Number(v).toFixed(digits));
  $("step").textContent = last ? String(last.step) : "–";
  $("epoch").textContent = last ? String(last.epoch + 1) : "–";
  $("throughput").textContent = last ? fmt(last.images_per_second, 0) : "–";
  $("loss-d").textContent = last ? fmt(last.loss_d, 3) : "–";
  $("loss-g").textContent = last ? fmt(last.loss_g, 3) : "–";
  const lastEval = evals[evals.length - 1];
  $("fd").textContent = lastEval ? fmt(lastEval.eval.frechet_distance, 2) : "–";
  drawChart($("loss-chart"), [
    { name: "D", color: "#0a66c2", points: train.filter((l) => l.loss_d !== undefined).map((l) => [l.step, l.loss_d]) },
    { name: "G", color: "#d9480f", points: train.filter((l) => l.loss_g !== undefined).map((l) => [l.step, l.loss_g]) },
  ]);
  drawChart($("eval-chart"), [{ name: "FD", color: "#2b8a3e", dots: true, points: evals.map((l) => [l.step, l.eval.frechet_distance]) }]);
  drawChart($("speed-chart"), [{ name: "img/s", color: "#5f3dc4", points: train.filter((l) => l.images_per_second).map((l) => [l.step, l.images_per_second]) }]);
  $("loss-chart").dataset.points = String(train.length);
}

function drawChart(canvas, series) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 48, bottom = 22, top = 8, right = 8;
  ctx.clearRect(0, 0, W, H);
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p[1]));
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#6e6e73";
  if (all.length === 0) { ctx.fillText("no data yet", left, H / 2); return; }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += 1; y0 -= 1; }
  const X = (x) => left + (x - x0) / (x1 - x0) * (W - left - right);
  const Y = (y) => top + (1 - (y - y0) / (y1 - y0)) * (H - top - bottom);
  ctx.strokeStyle = "#d2d2d7";
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, H - bottom); ctx.lineTo(W - right, H - bottom); ctx.stroke();
  for (const [v, y] of [[y1, Y(y1)], [y0, Y(y0)], [(y0 + y1) / 2, Y((y0 + y1) / 2)]]) ctx.fillText(v.toPrecision(3), 2, y + 4);
  ctx.fillText(String(x0), left, H - 6);
  ctx.fillText(String(x1), W - right - ctx.measureText(String(x1)).width, H - 6);
  series.forEach((s, i) => {
    ctx.strokeStyle = ctx.fillStyle = s.color;
    ctx.beginPath();
    s.points.filter((p) => Number.isFinite(p[1])).forEach(([x, y], k) => (k ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
    if (s.dots) for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(X(x), Y(y), 3, 0, 7); ctx.fill(); }
    ctx.fillText(s.name, W - right - 60 + i * 28, top + 10);
  });
}

// ── controls ───────────────────────────────────────────────────────────────────────────────
function selectTab(name) {
  for (const t of ["explore", "watch"]) {
    $("tab-" + t).setAttribute("aria-selected", String(t === name));
    $(t).hidden = t !== name;
  }
  if (name === "watch") renderWatch();
}

function bindControls() {
  $("tab-explore").addEventListener("click", () => selectTab("explore"));
  $("tab-watch").addEventListener("click", () => selectTab("watch"));
  $("grid-controls").addEventListener("submit", (e) => { e.preventDefault(); refreshGrid(); });
  $("first-seed").addEventListener("change", () => {
    const v = Math.max(0, Math.min(4294967295 - state.count, Math.floor(Number($("first-seed").value) || 0)));
    state.first = v; $("first-seed").value = String(v); refreshGrid();
  });
  const page = (d) => { state.first = Math.max(0, state.first + d * state.count); $("first-seed").value = String(state.first); refreshGrid(); };
  $("prev-page").addEventListener("click", () => page(-1));
  $("next-page").addEventListener("click", () => page(1));
  $("count-select").addEventListener("change", () => {
    state.count = Number($("count-select").value); state.columns = Math.min(state.count >= 128 ? 16 : 8, state.count); refreshGrid();
  });
  $("psi").addEventListener("input", () => { $("psi-value").textContent = Number($("psi").value).toFixed(2); });
  $("psi").addEventListener("change", () => { state.psi = Number($("psi").value); refreshGrid(); renderPins(); });
  $("class-select").addEventListener("change", () => { state.cls = $("class-select").value; refreshGrid(); });
  $("to-class-select").addEventListener("change", refreshWalk);
  $("checkpoint-select").addEventListener("change", () => { state.checkpoint = $("checkpoint-select").value; refreshGrid(); renderPins(); });
  $("run-select").addEventListener("change", () => { location.search = "?run=" + encodeURIComponent($("run-select").value); });
  $("grid").addEventListener("click", (e) => { const i = tileAt(e); if (i !== null) pin(i); });
  $("clear-pins").addEventListener("click", () => { state.pins = []; renderPins(); });
  $("project-file").addEventListener("change", (e) => projectFile(e.target.files[0]));
  $("project-cancel").addEventListener("click", cancelProjection);
  $("pins").addEventListener("dragover", (e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; });
  $("pins").addEventListener("drop", (e) => { e.preventDefault(); projectFile(e.dataTransfer.files[0]); });
  $("walk-steps").addEventListener("change", refreshWalk);
  $("walk-slider").addEventListener("input", drawWalk);
  $("walk-play").addEventListener("click", togglePlay);
}

start();
