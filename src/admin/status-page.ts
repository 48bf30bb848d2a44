// /debug/status: one HTML page that shows the mesh at a glance. Everything is inline (no build
// step, no external asset: it works offline, in an air-gapped cluster); its script fetches the
// admin port's JSON pages and refreshes itself. The Content-Security-Policy allows only this
// page's own script and style (by hash) and requests to the same origin, so the page cannot reach
// anything but the admin port it came from.
import { createHash } from 'node:crypto';
import { STATUS_SCRIPT } from './status-page-script.js';

const STYLE = `
:root { --fg: #1b1f24; --bg: #fff; --muted: #59636e; --line: #d0d7de; --head: #f6f8fa; --link: #0550ae;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --idle: #59636e; --p50: #0969da; --p99: #bc4c00; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --head: #151b23;
  --link: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --idle: #9198a1; --p50: #4493f8; --p99: #f0883e; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, .scroll:focus-visible, summary:focus-visible { outline: 3px solid var(--p50); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 1; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 12px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.25rem; margin: 0; }
header nav ul { display: flex; flex-wrap: wrap; gap: 4px 12px; list-style: none; margin: 0; padding: 0; }
#updated { color: var(--muted); font-size: 0.85rem; margin: 0; flex: 1 1 200px; }
button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--head); color: var(--fg); cursor: pointer; }
main { padding: 0 16px 32px; max-width: 1280px; }
section { margin-top: 20px; }
h2 { font-size: 1.1rem; margin: 0 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 0.95rem; margin: 14px 0 6px; }
dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 8px; margin: 0; }
dl div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
dt { color: var(--muted); font-size: 0.8rem; } dd { margin: 0; font-weight: 600; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; color: var(--muted); font-size: 0.8rem; padding: 2px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
thead th { background: var(--head); white-space: nowrap; }
tbody th { font-weight: 500; word-break: break-all; }
code { font-size: 0.85em; word-break: break-all; }
.badge { display: inline-block; font-size: 0.75rem; font-weight: 700; padding: 1px 6px; border-radius: 10px; border: 1px solid currentColor; }
.s-synced, .s-connected { color: var(--ok); } .s-stale, .s-connecting, .s-resyncing { color: var(--warn); }
.s-nacked, .s-disconnected { color: var(--bad); } .s-not_sent { color: var(--idle); }
.nack { color: var(--bad); word-break: break-word; } .warn { color: var(--warn); font-weight: 600; }
.empty, .note { color: var(--muted); margin: 4px 0; }
.chart { width: 100%; max-width: 720px; height: auto; color: var(--muted); }
.line-p50 { stroke: var(--p50); } .line-p99 { stroke: var(--p99); } .pt-p50 { fill: var(--p50); } .pt-p99 { fill: var(--p99); }
.legend { font-size: 0.85rem; } .key { font-weight: 700; } .k-p50 { color: var(--p50); } .k-p99 { color: var(--p99); }
label { font-size: 0.9rem; } input[type=search] { font: inherit; padding: 3px 6px; max-width: 100%; }
@media (max-width: 600px) { body { font-size: 14px; } main, header { padding-left: 8px; padding-right: 8px; } th, td { padding: 3px 5px; } }
`;

const BODY = `<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>zk-xds status</h1>
  <nav aria-label="Sections"><ul>
    <li><a href="#zookeeper">ZooKeeper</a></li><li><a href="#proxies">Proxies</a></li><li><a href="#convergence">Convergence</a></li>
    <li><a href="#services">Services</a></li><li><a href="#skipped">Skipped</a></li><li><a href="#policies">Policies</a></li><li><a href="#writer">Writer</a></li>
  </ul></nav>
  <p id="updated" role="status" aria-live="polite">Loading…</p>
  <button id="pause" type="button" aria-pressed="false">Pause updates</button>
</header>
<main id="main">
  <section aria-labelledby="summary-h"><h2 id="summary-h">At a glance</h2><div id="summary"></div></section>
  <section id="zookeeper" aria-labelledby="zookeeper-h"><h2 id="zookeeper-h">ZooKeeper</h2><div id="zookeeper-body"></div></section>
  <section id="proxies" aria-labelledby="proxies-h"><h2 id="proxies-h">Proxies by sync state</h2><div id="proxies-body"></div>
    <p><a href="/debug/proxies">All proxies as JSON</a></p></section>
  <section id="convergence" aria-labelledby="convergence-h"><h2 id="convergence-h">Change → proxy convergence</h2><div id="convergence-body"></div></section>
  <section id="services" aria-labelledby="services-h"><h2 id="services-h">Services</h2>
    <p><label for="filter">Filter services </label><input id="filter" type="search" autocomplete="off"> <a href="/debug/services">JSON</a></p>
    <div id="services-body"></div></section>
  <section id="skipped" aria-labelledby="skipped-h"><h2 id="skipped-h">Skipped registrations</h2><div id="skipped-body"></div></section>
  <section id="policies" aria-labelledby="policies-h"><h2 id="policies-h">Rejected policies and entries</h2><div id="policies-body"></div></section>
  <section id="writer" aria-labelledby="writer-h"><h2 id="writer-h">Leader and ServiceEntry writer</h2><div id="writer-body"></div></section>
</main>`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page and its headers (built once: nothing in it changes while the process runs). */
export function statusPage(): { text: string; headers: Record<string, string> } {
  const text = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zk-xds status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${STATUS_SCRIPT}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    "connect-src 'self'",
    `script-src ${sha256(STATUS_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    text,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
  };
}
