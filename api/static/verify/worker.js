/* Fetches a batch's public bundle and verifies it off the page's thread, reporting progress. */
importScripts("/static/verify/sr.js");

async function fetchBytes(url, label) {
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok) throw new Error(`下载 ${label} 失败（HTTP ${response.status}）`);
  const total = Number(response.headers.get("Content-Length")) || 0;
  if (!response.body || !response.body.getReader) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    postMessage({ kind: "progress", phase: "download", label, done: got, total });
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

onmessage = async (event) => {
  const { bundleUrl, poolUrl, rosterUrl } = event.data;
  try {
    const started = Date.now();
    const bundleBytes = await fetchBytes(bundleUrl, "bundle.json");
    let bundle;
    try {
      bundle = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bundleBytes));
    } catch (e) {
      throw new Error("bundle.json 不是有效的 UTF-8 JSON 文件");
    }
    const pool = await fetchBytes(poolUrl, "pool.tsv");
    const roster = await fetchBytes(rosterUrl, "roster.tsv");
    const result = self.SR.verify(bundle, pool, roster, null, (phase, done, total, text) => {
      postMessage({ kind: "progress", phase, done, total, text });
    });
    result.seconds = (Date.now() - started) / 1000;
    result.poolSize = bundle && bundle.params ? bundle.params.pool_size : null;
    postMessage({ kind: "result", result });
  } catch (e) {
    postMessage({ kind: "error", message: String(e && e.message ? e.message : e) });
  }
};
