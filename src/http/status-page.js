// The status page served at GET / on the admin listener: one self-contained HTML
// document (inline style and script, no fonts, images or scripts from anywhere) that
// polls /stats once a second and keeps the last five minutes in the browser, so the
// proxy holds no history for it and pays nothing while nobody looks.
//
// Rates are differences between two polls of counters that only grow; a counter that
// went down means the proxy restarted, and the page starts its history again.
/** Sent with the page: it may only talk back to the admin listener it came from. */
export const STATUS_PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RedisProxy status</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#667085; --line:#e3e6eb;
          --cache:#2e8b57; --redis:#c0392b; --accent:#3366cc; --warn:#d68910; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--ink);
         font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display:flex; align-items:baseline; gap:12px; padding:14px 20px; background:var(--card);
           border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  header .sub { color:var(--mute); }
  #conn { margin-left:auto; }
  main { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:12px; padding:16px 20px; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  .card h2 { font-size:12px; font-weight:600; text-transform:uppercase; letter-spacing:.04em; color:var(--mute); margin:0 0 6px; }
  .big { font-size:28px; font-weight:650; font-variant-numeric:tabular-nums; }
  .small { color:var(--mute); font-size:12px; font-variant-numeric:tabular-nums; }
  .wide { grid-column: span 2; }
  canvas { width:100%; height:70px; display:block; margin-top:8px; }
  .bar { height:8px; background:var(--line); border-radius:4px; overflow:hidden; margin-top:8px; }
  .bar > div { height:100%; width:0; background:var(--accent); transition:width .3s; }
  .badge { display:inline-block; padding:2px 10px; border-radius:10px; font-weight:600; font-size:13px; color:#fff; background:var(--mute); }
  .ok { background:var(--cache); } .bad { background:var(--redis); } .warn { background:var(--warn); }
  .legend span { margin-right:10px; } .dot { display:inline-block; width:8px; height:8px; border-radius:4px; margin-right:4px; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  td { padding:2px 0; border-bottom:1px solid var(--line); } td:last-child { text-align:right; }
  #errors-none { color:var(--mute); }
  @media (max-width: 560px) { .wide { grid-column: span 1; } }
</style>
</head>
<body>
<header>
  <h1>RedisProxy</h1>
  <span class="sub" id="version"></span>
  <span class="sub">live from <code>/stats</code>, last 5 minutes</span>
  <span id="conn" class="badge">connecting</span>
</header>
<main>
  <section class="card wide">
    <h2>Requests per second</h2>
    <div class="big" id="rps">–</div>
    <div class="small legend"><span><i class="dot" style="background:var(--cache)"></i>cache <b id="rps-cache">–</b>/s</span>
      <span><i class="dot" style="background:var(--redis)"></i>Redis <b id="rps-redis">–</b>/s</span>
      <span>total <b id="requests-total">–</b></span></div>
    <canvas id="chart-rps" width="600" height="70"></canvas>
  </section>
  <section class="card">
    <h2>Hit ratio</h2>
    <div class="big" id="hit-ratio">–</div>
    <div class="small">since start <b id="hit-ratio-total">–</b> · hits <b id="hits">–</b> · misses <b id="misses">–</b></div>
    <canvas id="chart-hit" width="300" height="70"></canvas>
  </section>
  <section class="card">
    <h2>Event-loop delay (p99, last second)</h2>
    <div class="big" id="loop-p99">–</div>
    <div class="small">p50 <b id="loop-p50">–</b> · max <b id="loop-max">–</b></div>
    <canvas id="chart-loop" width="300" height="70"></canvas>
  </section>
  <section class="card">
    <h2>Cache entries</h2>
    <div class="big" id="entries">–</div>
    <div class="small">of <b id="capacity">–</b> keys (--capacity)</div>
    <div class="bar"><div id="entries-bar"></div></div>
    <canvas id="chart-entries" width="300" height="70"></canvas>
  </section>
  <section class="card">
    <h2>Cache bytes</h2>
    <div class="big" id="bytes">–</div>
    <div class="small" id="bytes-bound">–</div>
    <div class="bar"><div id="bytes-bar"></div></div>
  </section>
  <section class="card">
    <h2>Clients</h2>
    <div class="big" id="clients">–</div>
    <div class="small">of <b id="max-clients">–</b> (--max-clients) · accepted <b id="clients-total">–</b> · refused <b id="clients-rejected">–</b></div>
    <div class="bar"><div id="clients-bar"></div></div>
    <canvas id="chart-clients" width="300" height="70"></canvas>
  </section>
  <section class="card">
    <h2>Redis and the invalidation link</h2>
    <div>Redis <span class="badge" id="redis-state">–</span></div>
    <div style="margin-top:6px">link <span class="badge" id="link-state">–</span> <span class="small">connects <b id="link-connects">–</b></span></div>
    <div style="margin-top:6px">cache <span class="badge" id="cache-state">–</span></div>
    <div class="small" id="link-error" style="margin-top:6px"></div>
  </section>
  <section class="card">
    <h2>Errors, last 5 minutes</h2>
    <div id="errors-none">none</div>
    <table id="errors"></table>
  </section>
  <section class="card">
    <h2>Memory</h2>
    <div class="big" id="rss">–</div>
    <div class="small">resident · V8 heap in use <b id="heap">–</b></div>
    <div class="small">evictions <b id="evictions">–</b> · invalidations <b id="invalidations">–</b> · flushes <b id="flushes">–</b></div>
  </section>
</main>
<script>
"use strict";
const WINDOW = 300; // samples, one a second
let history = [];   // { t, stats }
let failures = 0;

const $ = (id) => document.getElementById(id);
const num = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n));
const pct = (x) => (x * 100).toFixed(1) + "%";
const bytes = (n) => n >= 1073741824 ? (n / 1073741824).toFixed(2) + " GiB" : n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB"
  : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
const ms = (x) => x.toFixed(2) + " ms";
function set(id, text) { $(id).textContent = text; }
function badge(id, text, cls) { const e = $(id); e.textContent = text; e.className = "badge " + cls; }
function bar(id, used, bound) { $(id).style.width = bound > 0 ? Math.min(100, 100 * used / bound) + "%" : "0"; }

/** requests, hits and misses per second between two polls */
function rates(a, b) {
  const dt = (b.t - a.t) / 1000;
  const d = (f) => Math.max(0, f(b.stats) - f(a.stats)) / dt;
  const req = (s) => s.requests || { cache: 0, redis: 0 };
  const hits = d((s) => s.cache.hits || 0), misses = d((s) => s.cache.misses || 0);
  return { cache: d((s) => req(s).cache), redis: d((s) => req(s).redis), hits, misses,
           hitRatio: hits + misses > 0 ? hits / (hits + misses) : null };
}

function restarted(prev, s) {
  return (s.clients.total < prev.clients.total) || (s.requests && prev.requests && s.requests.redis < prev.requests.redis);
}

/** one or two series as lines over the window; values scaled to the largest seen (or to max) */
function chart(id, series, max, unit) {
  const c = $(id), g = c.getContext("2d");
  const w = c.width = c.clientWidth * devicePixelRatio, h = c.height = 70 * devicePixelRatio;
  g.clearRect(0, 0, w, h);
  let top = max || 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > top) top = v;
  if (top === 0) top = 1;
  g.strokeStyle = "#e3e6eb"; g.lineWidth = 1; g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 1.5 * devicePixelRatio; g.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      const x = w - (s.values.length - 1 - i) * (w / (WINDOW - 1)), y = h - 2 - (h - 4) * v / top;
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    });
    g.stroke();
  }
  g.fillStyle = "#667085"; g.font = (10 * devicePixelRatio) + "px system-ui, sans-serif";
  g.fillText(max === 1 ? "100%" : num(top) + (unit || ""), 3, 11 * devicePixelRatio);
}

function render() {
  const last = history[history.length - 1], s = last.stats;
  const pairs = history.slice(1).map((e, i) => rates(history[i], e));
  const now = pairs.length ? pairs[pairs.length - 1] : null;
  set("version", s.version ? "v" + s.version : "");
  set("rps", now ? num(now.cache + now.redis) : "–");
  set("rps-cache", now ? num(now.cache) : "–");
  set("rps-redis", now ? num(now.redis) : "–");
  set("requests-total", s.requests ? num(s.requests.cache + s.requests.redis) : "–");
  const c = s.cache;
  if (c.enabled) {
    set("hit-ratio", now && now.hitRatio !== null ? pct(now.hitRatio) : "no GETs");
    const n = c.hits + c.misses;
    set("hit-ratio-total", n > 0 ? pct(c.hits / n) : "–");
    set("hits", num(c.hits)); set("misses", num(c.misses));
    set("entries", num(c.entries)); set("capacity", num(s.limits.capacity)); bar("entries-bar", c.entries, s.limits.capacity);
    set("bytes", bytes(c.bytes));
    set("bytes-bound", s.limits.maxBytes > 0 ? "of " + bytes(s.limits.maxBytes) + " (--max-memory)" : "no byte bound (--max-memory 0): counted only with one");
    bar("bytes-bar", c.bytes, s.limits.maxBytes);
    set("evictions", num(c.evictions)); set("invalidations", num(c.invalidations)); set("flushes", num(c.flushes));
    badge("cache-state", c.ready ? "serving" : "not serving", c.ready ? "ok" : "bad");
  } else {
    set("hit-ratio", "cache off"); set("entries", "cache off"); set("bytes", "cache off");
    badge("cache-state", "off (--capacity 0)", "");
  }
  set("clients", num(s.clients.connected)); set("max-clients", num(s.limits.maxClients));
  set("clients-total", num(s.clients.total)); set("clients-rejected", num(s.clients.rejected));
  bar("clients-bar", s.clients.connected, s.limits.maxClients);
  badge("redis-state", s.redis.reachable ? "answering" : "unreachable", s.redis.reachable ? "ok" : "bad");
  if (s.link) {
    badge("link-state", s.link.state, s.link.state === "up" ? "ok" : s.link.state === "ttl-only" ? "warn" : "bad");
    set("link-connects", num(s.link.connects));
    set("link-error", s.link.lastError ? "last error: " + s.link.lastError : "");
  } else { badge("link-state", "none (cache off)", ""); set("link-connects", "–"); }
  const loop = s.eventLoop || { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  set("loop-p99", ms(loop.p99Ms)); set("loop-p50", ms(loop.p50Ms)); set("loop-max", ms(loop.maxMs));
  $("loop-p99").style.color = loop.p99Ms > 100 ? "var(--redis)" : loop.p99Ms > 20 ? "var(--warn)" : "";
  set("rss", bytes(s.memory.rss)); set("heap", bytes(s.memory.heapUsed));

  // errors: growth of each kind across the window (the first sample is the baseline)
  const first = history[0].stats.errors || {}, errs = s.errors || {};
  const rows = Object.keys(errs).map((k) => [k, errs[k] - (first[k] || 0)]).filter((r) => r[1] > 0);
  const table = $("errors"); table.textContent = "";
  for (const [k, n] of rows) { const tr = table.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = num(n); }
  $("errors-none").style.display = rows.length ? "none" : "";

  const pad = (a) => Array(Math.max(0, WINDOW - a.length)).fill(null).concat(a);
  chart("chart-rps", [{ color: "#2e8b57", values: pad(pairs.map((p) => p.cache)) }, { color: "#c0392b", values: pad(pairs.map((p) => p.redis)) }], 0, "/s");
  chart("chart-hit", [{ color: "#3366cc", values: pad(pairs.map((p) => p.hitRatio)) }], 1);
  chart("chart-loop", [{ color: "#d68910", values: pad(history.map((e) => (e.stats.eventLoop || {}).p99Ms || 0)) }], 0, " ms");
  chart("chart-entries", [{ color: "#3366cc", values: pad(history.map((e) => e.stats.cache.entries || 0)) }]);
  chart("chart-clients", [{ color: "#3366cc", values: pad(history.map((e) => e.stats.clients.connected)) }]);
}

async function poll() {
  try {
    const res = await fetch("stats", { cache: "no-store" });
    if (!res.ok) throw new Error("/stats answered " + res.status);
    const stats = await res.json();
    const prev = history[history.length - 1];
    if (prev && restarted(prev.stats, stats)) history = [];
    history.push({ t: Date.now(), stats });
    if (history.length > WINDOW + 1) history.shift();
    failures = 0;
    badge("conn", "live", "ok");
    render();
  } catch (e) {
    failures++;
    badge("conn", failures > 2 ? "proxy not answering" : "retrying", "bad");
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
//# sourceMappingURL=status-page.js.map