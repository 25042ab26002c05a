/* sr1 / sr2 public verification in the browser: a second, independent implementation of the
 * draw protocol (docs/protocol.md), written from the specification, sharing no code with the
 * Python verifier. SHA-256 is computed here (no server, no WebCrypto needed: a plain http
 * page has none); every check the public can make is made, in the protocol's order, and the
 * first difference is named in plain Chinese.
 *
 * Loaded as a classic script (window / Web Worker: self.SR) or required by Node (tests).
 */
(function (root) {
  "use strict";

  // ---- SHA-256 ------------------------------------------------------------------------------

  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const W = new Uint32Array(64);

  function compress(state, bytes, offset) {
    for (let t = 0; t < 16; t++) {
      const j = offset + 4 * t;
      W[t] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const a = W[t - 15], b = W[t - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = state[0], b = state[1], c = state[2], d = state[3];
    let e = state[4], f = state[5], g = state[6], h = state[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
  }

  const encoder = new TextEncoder();

  /** A SHA-256 computation that can be forked after a shared prefix (the tickets' seed). */
  class Sha256 {
    constructor() {
      this.state = Int32Array.from(IV);
      this.buffer = new Uint8Array(64);
      this.used = 0;
      this.length = 0;
    }
    clone() {
      const c = new Sha256();
      c.state.set(this.state);
      c.buffer.set(this.buffer);
      c.used = this.used;
      c.length = this.length;
      return c;
    }
    update(bytes) {
      let i = 0;
      this.length += bytes.length;
      if (this.used) {
        const take = Math.min(64 - this.used, bytes.length);
        this.buffer.set(bytes.subarray(0, take), this.used);
        this.used += take;
        i = take;
        if (this.used < 64) return this;
        compress(this.state, this.buffer, 0);
        this.used = 0;
      }
      for (; i + 64 <= bytes.length; i += 64) compress(this.state, bytes, i);
      if (i < bytes.length) {
        this.buffer.set(bytes.subarray(i), 0);
        this.used = bytes.length - i;
      }
      return this;
    }
    /** The digest as 8 big-endian 32-bit words (compare them in order = compare bytes). */
    words() {
      const buf = new Uint8Array(128);
      buf.set(this.buffer.subarray(0, this.used));
      buf[this.used] = 0x80;
      const total = this.used + 9 <= 64 ? 64 : 128;
      const bits = this.length * 8;
      const hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
      buf[total - 8] = hi >>> 24; buf[total - 7] = hi >>> 16; buf[total - 6] = hi >>> 8; buf[total - 5] = hi;
      buf[total - 4] = lo >>> 24; buf[total - 3] = lo >>> 16; buf[total - 2] = lo >>> 8; buf[total - 1] = lo;
      const state = Int32Array.from(this.state);
      compress(state, buf, 0);
      if (total === 128) compress(state, buf, 64);
      return Uint32Array.from(state);
    }
    hex() {
      return wordsHex(this.words());
    }
  }

  function wordsHex(w) {
    let out = "";
    for (let i = 0; i < 8; i++) out += (w[i] >>> 0).toString(16).padStart(8, "0");
    return out;
  }

  const utf8 = (s) => encoder.encode(s);
  const H = (s) => new Sha256().update(utf8(s)).hex();
  const digestBytes = (bytes) => new Sha256().update(bytes).hex();

  // Tickets are millions of short hashes after a shared prefix: the prefix's state is kept
  // (a "midstate") and each ticket hashes only the tail, in preallocated buffers.
  let TAIL = new Uint8Array(1024);
  const ST = new Int32Array(8);
  const ASCII = /^[\x00-\x7f]*$/;

  function midstate(prefix) {
    const h = new Sha256().update(utf8(prefix));
    return { state: Int32Array.from(h.state), tail: h.buffer.slice(0, h.used), length: h.length };
  }

  /** SHA-256(prefix + suffix) as 8 words written into out[o..o+8). */
  function ticketInto(mid, suffix, out, o) {
    let bytes = null;
    let n = mid.tail.length;
    const size = ASCII.test(suffix) ? suffix.length : (bytes = utf8(suffix)).length;
    if (n + size + 72 > TAIL.length) TAIL = new Uint8Array(2 * (n + size + 72));
    const buf = TAIL;
    buf.set(mid.tail, 0);
    if (bytes === null) for (let i = 0; i < size; i++) buf[n + i] = suffix.charCodeAt(i);
    else buf.set(bytes, n);
    n += size;
    const total = mid.length + size;
    buf[n++] = 0x80;
    const end = Math.ceil((n + 8) / 64) * 64;
    buf.fill(0, n, end - 8);
    const bits = total * 8;
    const hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
    buf[end - 8] = hi >>> 24; buf[end - 7] = hi >>> 16; buf[end - 6] = hi >>> 8; buf[end - 5] = hi;
    buf[end - 4] = lo >>> 24; buf[end - 3] = lo >>> 16; buf[end - 2] = lo >>> 8; buf[end - 1] = lo;
    ST.set(mid.state);
    for (let b = 0; b < end; b += 64) compress(ST, buf, b);
    for (let i = 0; i < 8; i++) out[o + i] = ST[i];
  }

  function hexAt(words, o) {
    let out = "";
    for (let i = 0; i < 8; i++) out += (words[o + i] >>> 0).toString(16).padStart(8, "0");
    return out;
  }

  /** Tickets H(prefix + s) for many s, the prefix hashed once. Returns hex strings. */
  function tickets(prefix, suffixes) {
    const mid = midstate(prefix);
    const w = new Uint32Array(8);
    return suffixes.map((s) => {
      ticketInto(mid, s, w, 0);
      return hexAt(w, 0);
    });
  }

  /** ``ids`` in (H(prefix + id), id) order, comparing the digests' words (no hex). */
  function rankByTicket(prefix, ids) {
    const mid = midstate(prefix);
    const w = new Uint32Array(8 * ids.length);
    ids.forEach((id, k) => ticketInto(mid, id, w, 8 * k));
    const order = ids.map((_, k) => k);
    order.sort((a, b) => {
      for (let i = 0; i < 8; i++) {
        const d = w[8 * a + i] - w[8 * b + i];
        if (d) return d;
      }
      return byCodePoint(ids[a], ids[b]);
    });
    return order.map((k) => ids[k]);
  }

  // ---- canonical JSON ---------------------------------------------------------------------------

  function byCodePoint(a, b) {
    // Python sorts str by code point; JS compares UTF-16 units: the same below U+D800.
    const x = Array.from(a), y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  function canonical(value) {
    if (value === null) return "null";
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number") {
      if (!Number.isInteger(value)) throw new Difference("参数中出现了小数（协议只允许整数）：" + value);
      return String(value);
    }
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    const keys = Object.keys(value).sort(byCodePoint);
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }

  // ---- differences, in Chinese ----------------------------------------------------------------

  class Difference extends Error {}

  const show = (v) => {
    const t = JSON.stringify(v);
    return t === undefined ? "（无）" : t.length > 200 ? t.slice(0, 199) + "…" : t;
  };
  const at = (path, key) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

  function firstDifference(path, expected, found) {
    if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
      if (found === null || typeof found !== "object" || Array.isArray(found))
        return `${path}：应为对象，结果包中为 ${show(found)}`;
      for (const key of Object.keys(expected)) {
        if (!(key in found)) return `${at(path, key)}：结果包中缺少此项（重新计算得到 ${show(expected[key])}）`;
        const d = firstDifference(at(path, key), expected[key], found[key]);
        if (d) return d;
      }
      for (const key of Object.keys(found))
        if (!(key in expected)) return `${at(path, key)}：结果包中多出此项（${show(found[key])}）`;
      return null;
    }
    if (Array.isArray(expected) && expected.some((v) => v !== null && typeof v === "object")) {
      if (!Array.isArray(found)) return `${path}：应为列表，结果包中为 ${show(found)}`;
      for (let n = 0; n < Math.min(expected.length, found.length); n++) {
        const d = firstDifference(`${path}[${n}]`, expected[n], found[n]);
        if (d) return d;
      }
      if (found.length < expected.length) return `${path}[${found.length}]：结果包中缺少此项（重新计算得到 ${show(expected[found.length])}）`;
      if (found.length > expected.length) return `${path}[${expected.length}]：结果包中多出此项（${show(found[expected.length])}）`;
      return null;
    }
    if (same(expected, found)) return null;
    return `${path}：重新计算得到 ${show(expected)}，结果包中为 ${show(found)}`;
  }

  function same(a, b) {
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
    return typeof a === typeof b && a === b;
  }

  function compare(path, expected, found) {
    const d = firstDifference(path, expected, found);
    if (d) throw new Difference(d);
  }

  // ---- canonical TSV ---------------------------------------------------------------------------

  const decoder = new TextDecoder("utf-8", { fatal: true });

  function tsvColumns(bytes, name, fields, optional) {
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      throw new Difference(`${name} 以字节顺序标记（BOM）开头，不是规范文件`);
    let text;
    try {
      text = decoder.decode(bytes);
    } catch (e) {
      throw new Difference(`${name} 不是有效的 UTF-8 文本`);
    }
    const columns = fields.map(() => []);
    if (!text) return columns;
    if (text.includes("\r")) throw new Difference(`${name} 含有回车符（CR），规范文件只用 LF 换行`);
    if (!text.endsWith("\n")) throw new Difference(`${name} 最后一行没有以换行符结束`);
    if (text.normalize("NFC") !== text) throw new Difference(`${name} 的文字不是 Unicode NFC 规范形式`);
    const lines = text.split("\n");
    lines.pop();
    for (let n = 0; n < lines.length; n++) {
      const parts = lines[n].split("\t");
      if (parts.length !== fields.length)
        throw new Difference(`${name} 第 ${n + 1} 行应有 ${fields.length} 个以制表符分隔的字段，实有 ${parts.length} 个`);
      for (let k = 0; k < fields.length; k++) {
        if (!parts[k] && !optional.includes(fields[k])) throw new Difference(`${name} 第 ${n + 1} 行的 ${fields[k]} 为空`);
        columns[k].push(parts[k]);
      }
    }
    return columns;
  }

  function checkOrder(keys, name, label) {
    for (let n = 1; n < keys.length; n++) {
      if (!(byCodePoint(keys[n - 1], keys[n]) < 0)) {
        if (keys[n] === keys[n - 1]) throw new Difference(`${name} 第 ${n + 1} 行：${label} ${keys[n]} 重复（第 ${n} 行已有）`);
        throw new Difference(`${name} 第 ${n + 1} 行：没有按 ${label} 排序（${keys[n]} 应排在 ${keys[n - 1]} 之前）`);
      }
    }
  }

  function parsePool(bytes) {
    const [usccs, strata, units] = tsvColumns(bytes, "pool.tsv", ["USCC", "STRATUM", "UNIT"], []);
    checkOrder(usccs, "pool.tsv", "USCC");
    const index = new Map();
    usccs.forEach((u, n) => index.set(u, n));
    return { usccs, strata, units, index };
  }

  function parseRoster(bytes) {
    const [ids, groups, units, quals] = tsvColumns(bytes, "roster.tsv", ["INSPECTOR_ID", "GROUP", "UNIT", "QUALIFICATIONS"], ["QUALIFICATIONS"]);
    checkOrder(ids, "roster.tsv", "INSPECTOR_ID");
    return ids.map((id, n) => {
      const codes = quals[n] ? quals[n].split(",") : [];
      const sorted = [...new Set(codes)].sort(byCodePoint);
      if (codes.includes("") || codes.join(",") !== sorted.join(","))
        throw new Difference(`roster.tsv 第 ${n + 1} 行：资格代码须各不相同、非空、排序后以逗号连接`);
      return { id, group: groups[n], unit: units[n], quals: codes };
    });
  }

  function parseConflicts(bytes) {
    const [inspectors, usccs] = tsvColumns(bytes, "conflicts.tsv", ["INSPECTOR_ID", "USCC"], []);
    checkOrder(inspectors.map((i, n) => i + "\u0000" + usccs[n]), "conflicts.tsv", "(INSPECTOR_ID, USCC)");
    const by = new Map();
    inspectors.forEach((i, n) => {
      if (!by.has(usccs[n])) by.set(usccs[n], new Set());
      by.get(usccs[n]).add(i);
    });
    return by;
  }

  // ---- parameters --------------------------------------------------------------------------------

  const BASE_KEYS = ["protocol", "batch", "quotas", "team", "cross_unit", "max_load", "entropy_plan"];
  const FILE_KEYS = ["pool_sha256", "pool_size", "roster_sha256", "conflicts_sha256"];
  const SEALED_KEYS = ["strata_sha256", "strata_sizes"];
  const isInt = (v) => typeof v === "number" && Number.isInteger(v);
  const isHex64 = (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const isText = (v, empty) => typeof v === "string" && (empty || v.length > 0) && v.normalize("NFC") === v;

  function checkParams(params, pool) {
    const sealed = params.protocol === "sr2";
    const expected = [...BASE_KEYS, ...FILE_KEYS, ...(sealed ? SEALED_KEYS : [])];
    const missing = expected.filter((k) => !(k in params));
    if (missing.length) throw new Difference(`参数缺少 ${missing.join("、")}`);
    const extra = Object.keys(params).filter((k) => !expected.includes(k));
    if (extra.length) throw new Difference(`参数中有协议以外的项：${extra.join("、")}`);
    if (!isText(params.batch)) throw new Difference("params.batch 应为非空文本");
    if (!isText(params.entropy_plan, true)) throw new Difference("params.entropy_plan 应为文本");
    for (const k of ["pool_sha256", "roster_sha256", "conflicts_sha256", ...(sealed ? ["strata_sha256"] : [])])
      if (!isHex64(params[k])) throw new Difference(`params.${k} 应为 64 位小写十六进制数`);
    if (!isInt(params.pool_size) || params.pool_size !== pool.usccs.length)
      throw new Difference(`params.pool_size 为 ${show(params.pool_size)}，而 pool.tsv 有 ${pool.usccs.length} 户`);
    let sizes;
    if (sealed) {
      sizes = params.strata_sizes;
      if (sizes === null || typeof sizes !== "object" || Array.isArray(sizes) || !Object.keys(sizes).length)
        throw new Difference("params.strata_sizes 应为非空对象 {分层: 户数}");
      let sum = 0;
      for (const [s, n] of Object.entries(sizes)) {
        if (!isText(s) || !isInt(n) || n < 0) throw new Difference(`params.strata_sizes[${show(s)}] 应为不小于 0 的整数`);
        sum += n;
      }
      if (sum !== params.pool_size) throw new Difference(`params.strata_sizes 合计 ${sum} 户，而名录有 ${params.pool_size} 户`);
    } else {
      sizes = {};
      for (const s of pool.strata) sizes[s] = (sizes[s] || 0) + 1;
    }
    const quotas = params.quotas;
    if (quotas === null || typeof quotas !== "object" || Array.isArray(quotas)) throw new Difference("params.quotas 应为对象 {分层: 抽取户数}");
    for (const [s, n] of Object.entries(sizes)) {
      if (!(s in quotas)) throw new Difference(`params.quotas：分层 ${show(s)} 在名录中有 ${n} 户，却没有抽取户数`);
      if (!isInt(quotas[s]) || quotas[s] < 0 || quotas[s] > n)
        throw new Difference(`params.quotas[${show(s)}] 应为 0 到 ${n}（该层户数）之间的整数，实为 ${show(quotas[s])}`);
    }
    for (const s of Object.keys(quotas)) if (!(s in sizes)) throw new Difference(`params.quotas：${show(s)} 不是名录中的分层`);
    if (!Array.isArray(params.team) || !params.team.length) throw new Difference("params.team 应为非空的检查组岗位列表");
    params.team.forEach((slot, n) => {
      const keys = slot && typeof slot === "object" ? Object.keys(slot).sort() : [];
      if (keys.join(",") !== "count,group,qualification") throw new Difference(`params.team[${n}] 应恰有 group、count、qualification 三项`);
      if (!isText(slot.group)) throw new Difference(`params.team[${n}].group 应为非空文本`);
      if (!isInt(slot.count) || slot.count < 1) throw new Difference(`params.team[${n}].count 应为不小于 1 的整数`);
      if (slot.qualification !== null && !isText(slot.qualification)) throw new Difference(`params.team[${n}].qualification 应为 null 或非空文本`);
    });
    if (typeof params.cross_unit !== "boolean") throw new Difference("params.cross_unit 应为 true 或 false");
    if (params.max_load !== null && !(isInt(params.max_load) && params.max_load >= 1))
      throw new Difference("params.max_load 应为 null 或不小于 1 的整数");
    return sizes;
  }

  function checkEntropy(entropy) {
    if (!Array.isArray(entropy) || !entropy.length) throw new Difference("entropy 应为非空的文本列表");
    entropy.forEach((t, n) => {
      if (typeof t !== "string" || !t) throw new Difference(`entropy[${n}] 应为非空文本`);
      if (t.includes("\n") || t.includes("\r")) throw new Difference(`entropy[${n}] 含有换行符`);
      if (t.normalize("NFC") !== t) throw new Difference(`entropy[${n}] 不是 Unicode NFC 规范形式`);
    });
  }

  // ---- the draw -----------------------------------------------------------------------------------

  const cmpPair = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : byCodePoint(a[1], b[1]));

  class Draw {
    constructor(params, entropy, pool, roster, conflicts, given, progress) {
      this.params = params;
      this.sealed = params.protocol === "sr2";
      this.pool = pool;
      this.conflicts = conflicts;
      this.progress = progress || (() => {});
      this.commitment = H(canonical(params));
      this.seed = H([this.commitment, ...entropy].join("\n"));
      this.chain = this.seed;
      this.slots = params.team;
      this.slotOfPlace = [];
      this.slots.forEach((slot, n) => { for (let k = 0; k < slot.count; k++) this.slotOfPlace.push(n); });
      this.crossUnit = params.cross_unit;
      this.maxLoad = params.max_load;
      this.unitOf = new Map(roster.map((i) => [i.id, i.unit]));
      this.load = new Map(roster.map((i) => [i.id, 0]));
      this.slotsOf = new Map(roster.map((i) => [i.id, []]));
      this.slots.forEach((slot, n) => {
        for (const i of roster)
          if (i.group === slot.group && (slot.qualification === null || i.quals.includes(slot.qualification)))
            this.slotsOf.get(i.id).push(n);
      });
      this.levels = this.slots.map((_, n) => {
        const byLoad = new Map();
        for (const [id, slots] of this.slotsOf) if (slots.includes(n)) {
          if (!byLoad.has(0)) byLoad.set(0, new Set());
          byLoad.get(0).add(id);
        }
        return byLoad;
      });
      this.tasks = new Map();
      this.entered = [];
      this.withdrawn = new Map();
      this.strata = new Map();
      this.events = 0;
      this.drawn = this.initialSelection(given).map(([t, u]) => this.selectEntity(t, u));
    }

    initialSelection(given) {
      if (this.sealed) return this.givenSelection(given);
      const quotas = this.params.quotas, pool = this.pool;
      const sizes = {};
      for (const s of pool.strata) sizes[s] = (sizes[s] || 0) + 1;
      // Every entity's ticket TE(u) = H(seed:E:u); each stratum's head: its quota smallest
      // (ticket, uscc) — kept below a bound on the ticket's first 32 bits, sorted, and the
      // whole stratum ranked if the bound kept too few (it never removes a smaller ticket).
      const mid = midstate(`${this.seed}:E:`);
      const w = new Uint32Array(8);
      const n = pool.usccs.length;
      const hex = new Array(n);
      const bound = {};
      for (const [s, q] of Object.entries(quotas)) if (q > 0) bound[s] = Math.min(2 ** 32, Math.ceil(((q + 8 * Math.sqrt(q) + 16) / sizes[s]) * 2 ** 32));
      const heads = new Map(Object.keys(bound).map((s) => [s, []]));
      const step = Math.max(1, Math.floor(n / 100));
      for (let k = 0; k < n; k++) {
        ticketInto(mid, pool.usccs[k], w, 0);
        const s = pool.strata[k];
        if (s in bound && w[0] < bound[s]) {
          hex[k] = hexAt(w, 0);
          heads.get(s).push([hex[k], pool.usccs[k]]);
        }
        if (k % step === 0) this.progress("tickets", k, n);
      }
      this.progress("tickets", n, n);
      const chosen = [];
      for (const [s, head] of heads) {
        if (head.length < quotas[s]) {
          head.length = 0;
          for (let k = 0; k < n; k++) if (pool.strata[k] === s) head.push([hex[k] || H(`${this.seed}:E:${pool.usccs[k]}`), pool.usccs[k]]);
        }
        head.sort(cmpPair);
        this.strata.set(s, { label: s, size: sizes[s], quota: quotas[s], ranked: head, used: 0 });
        chosen.push(...head.slice(0, quotas[s]));
      }
      return chosen.sort(cmpPair);
    }

    givenSelection(given) {
      const quota = Object.values(this.params.quotas).reduce((a, b) => a + b, 0);
      if (!Array.isArray(given) || given.length !== quota)
        throw new Difference(`selected：各层抽取户数合计 ${quota} 户，结果包中为 ${Array.isArray(given) ? given.length : show(given)} 户`);
      const seen = new Set();
      given.forEach((u, n) => {
        if (typeof u !== "string" || !this.pool.index.has(u)) throw new Difference(`selected[${n}]：${show(u)} 不在检查对象名录 pool.tsv 中`);
        if (seen.has(u)) throw new Difference(`selected[${n}]：${u} 被抽中了两次`);
        seen.add(u);
      });
      const tp = tickets(`${this.seed}:P:`, given);
      return given.map((u, n) => [tp[n], u]).sort(cmpPair);
    }

    selectEntity(ticket, uscc) {
      const line = this.pool.index.get(uscc);
      const task = {
        uscc,
        stratum: this.sealed ? null : this.pool.strata[line],
        unit: this.pool.units[line],
        ticket,
        blocked: new Set(this.conflicts.get(uscc) || []),
        team: [],
        unassigned: false,
        recusals: 0,
      };
      const team = this.formTeam(task);
      if (team === null) task.unassigned = true;
      else {
        task.team = team.slice();
        for (const i of team) this.changeLoad(i, +1);
      }
      this.tasks.set(uscc, task);
      this.entered.push(uscc);
      if (this.sealed) return { uscc, team: team || [], unassigned: task.unassigned };
      return { uscc, stratum: task.stratum, ticket, team: team || [], unassigned: task.unassigned };
    }

    formTeam(task) {
      const team = [];
      const prefix = `${this.seed}:I:${task.uscc}:`;
      for (let n = 0; n < this.slots.length; n++) {
        const picked = this.pick(n, this.slots[n].count, task, team, prefix);
        if (picked === null) return null;
        team.push(...picked);
      }
      return team;
    }

    pick(slot, need, task, team, prefix) {
      const unit = this.crossUnit ? task.unit : null;
      const chosen = [];
      const levels = this.levels[slot];
      for (const load of [...levels.keys()].sort((a, b) => a - b)) {
        if (this.maxLoad !== null && load >= this.maxLoad) break;
        const candidates = [...levels.get(load)].filter(
          (i) => !task.blocked.has(i) && !team.includes(i) && this.unitOf.get(i) !== unit
        );
        const ranked = candidates.length <= 1 ? candidates : rankByTicket(prefix, candidates);
        chosen.push(...ranked.slice(0, need - chosen.length));
        if (chosen.length === need) return chosen;
      }
      return null;
    }

    changeLoad(inspector, delta) {
      const old = this.load.get(inspector);
      this.load.set(inspector, old + delta);
      for (const slot of this.slotsOf.get(inspector)) {
        const levels = this.levels[slot];
        const level = levels.get(old);
        level.delete(inspector);
        if (!level.size) levels.delete(old);
        if (!levels.has(old + delta)) levels.set(old + delta, new Set());
        levels.get(old + delta).add(inspector);
      }
    }

    applyEvent(event, given) {
      const path = `events[${this.events}]`;
      const fields = { recuse: ["seq", "type", "uscc", "inspector", "reason"], replace_entity: ["seq", "type", "uscc", "reason"] };
      if (event === null || typeof event !== "object") throw new Difference(`${path} 应为对象`);
      const seq = event.seq;
      if (!isInt(seq) || seq !== this.events + 1) throw new Difference(`${path}：序号为 ${show(seq)}，应为 ${this.events + 1}`);
      const kind = event.type;
      if (!(kind in fields)) throw new Difference(`${path}：未知的事件类型 ${show(kind)}`);
      const keys = fields[kind];
      const extra = Object.keys(event).filter((k) => !keys.includes(k) && k !== "outcome" && k !== "chain");
      if (extra.length) throw new Difference(`${path}：有协议以外的字段 ${extra.join("、")}`);
      for (const k of keys) if (!(k in event)) throw new Difference(`${path}：缺少 ${k}`);
      for (const k of keys.slice(2)) if (!isText(event[k])) throw new Difference(`${path}.${k} 应为非空文本`);
      if (!event.reason.trim()) throw new Difference(`${path}：必须说明理由`);
      const task = this.tasks.get(event.uscc);
      if (!task) {
        const why = this.withdrawn.has(event.uscc) ? `已由第 ${this.withdrawn.get(event.uscc)} 个事件撤出`
          : this.pool.index.has(event.uscc) ? "未被本次抽中" : "不在名录中";
        throw new Difference(`${path}：主体 ${event.uscc} ${why}`);
      }
      const record = {};
      for (const k of keys) record[k] = event[k];
      let outcome;
      if (kind === "recuse") {
        if (!this.load.has(event.inspector)) throw new Difference(`${path}：检查人员 ${event.inspector} 不在执法人员名录中`);
        if (!task.team.includes(event.inspector)) throw new Difference(`${path}：检查人员 ${event.inspector} 不在 ${task.uscc} 的检查组中`);
        outcome = this.recuse(task, event.inspector);
      } else {
        outcome = this.replaceEntity(task, seq, given, path);
      }
      this.chain = H(this.chain + "\n" + canonical(record));
      this.events += 1;
      return { outcome, chain: this.chain };
    }

    recuse(task, inspector) {
      const place = task.team.indexOf(inspector);
      this.changeLoad(inspector, -1);
      task.blocked.add(inspector);
      task.recusals += 1;
      const prefix = `${this.seed}:R:${task.uscc}:${task.recusals}:`;
      const picked = this.pick(this.slotOfPlace[place], 1, task, task.team, prefix);
      const replacement = picked ? picked[0] : null;
      task.team[place] = replacement;
      if (replacement !== null) this.changeLoad(replacement, +1);
      return { replacement };
    }

    replaceEntity(task, seq, given, path) {
      let following = null;
      if (this.sealed) {
        if (typeof given === "string") {
          if (!this.pool.index.has(given)) throw new Difference(`${path}：递补对象 ${given} 不在名录中`);
          if (this.entered.includes(given)) throw new Difference(`${path}：递补对象 ${given} 此前已被抽中`);
          following = ["", given];
        }
      }
      for (const i of task.team) if (i !== null) this.changeLoad(i, -1);
      this.tasks.delete(task.uscc);
      this.withdrawn.set(task.uscc, seq);
      if (!this.sealed) following = this.nextFromReserve(this.strata.get(task.stratum));
      if (following === null) return { replacement_uscc: null };
      const entry = this.selectEntity(following[0], following[1]);
      return { replacement_uscc: entry.uscc, team: entry.team, unassigned: entry.unassigned };
    }

    nextFromReserve(stratum) {
      const position = stratum.quota + stratum.used;
      if (position >= stratum.ranked.length && stratum.ranked.length < stratum.size) {
        const members = this.pool.usccs.filter((_, k) => this.pool.strata[k] === stratum.label);
        const t = tickets(`${this.seed}:E:`, members);
        stratum.ranked = members.map((u, k) => [t[k], u]).sort(cmpPair);
      }
      if (position >= stratum.ranked.length) return null;
      stratum.used += 1;
      return stratum.ranked[position];
    }

    excludedByConflict() {
      const out = {};
      for (const u of this.entered) {
        const c = this.conflicts.get(u);
        if (c && c.size) out[u] = [...c].sort(byCodePoint);
      }
      return out;
    }

    final() {
      return [...this.tasks.values()].map((t) => ({ uscc: t.uscc, team: t.team.filter((i) => i !== null) }));
    }
  }

  // ---- verification ---------------------------------------------------------------------------------

  const BUNDLE_KEYS = ["protocol", "params", "commitment", "entropy", "seed", "selected", "excluded_by_conflict", "events", "final"];
  // A beacon draw's bundle also carries the round as the beacon served it (verbatim JSON text).
  const OPTIONAL_KEYS = ["beacon", "meta"];
  const BEACON_PLAN = /drand-beacon chain=([0-9a-f]{64}) round=([1-9][0-9]{0,15}) scheme=([a-z0-9-]{1,64}) public_key=([0-9a-f]{64,512})/;

  /** A beacon draw: the served round is the committed one, its randomness the SHA-256 of its
   * signature, and that randomness the one entropy string. (The BLS signature needs a pairing
   * library: the Python verifier checks it when drand-verify is installed.) */
  function checkBeacon(bundle, params, step, unchecked) {
    const m = BEACON_PLAN.exec(typeof params.entropy_plan === "string" ? params.entropy_plan : "");
    if (!m) {
      if ("beacon" in bundle) throw new Difference("结果包带有信标轮次，但承诺的熵来源不是信标");
      return;
    }
    if (typeof bundle.beacon !== "string") throw new Difference("承诺以 drand 公共随机信标为熵来源，但结果包中没有信标轮次");
    let served;
    try { served = JSON.parse(bundle.beacon); } catch (e) { throw new Difference("结果包中的信标轮次不是 JSON"); }
    const round = Number(m[2]);
    if (!served || typeof served !== "object" || served.round !== round) throw new Difference(`信标轮次为 ${show(served && served.round)}，承诺的是第 ${round} 轮`);
    const sig = served.signature, rnd = served.randomness;
    if (typeof sig !== "string" || !/^[0-9a-f]+$/.test(sig) || sig.length % 2) throw new Difference("信标轮次的签名应为小写十六进制");
    const bytes = new Uint8Array(sig.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(sig.substr(2 * i, 2), 16);
    const expected = digestBytes(bytes);
    if (rnd !== expected) throw new Difference(`信标轮次的随机数 ${show(rnd)} 不是其签名的 SHA-256（应为 ${expected}）：信标轮次被改动过`);
    compare("entropy", [`drand ${m[1]} round ${round} randomness ${rnd}`], bundle.entropy);
    step(`熵值即 drand 信标第 ${round} 轮的随机数，且为该轮签名的 SHA-256`);
    unchecked.push("信标轮次的 BLS 签名（浏览器中不核验；下载 Python 核验脚本并安装 drand-verify 可核验）");
  }

  /**
   * Verify a bundle as the public can: bundle (parsed JSON), pool and roster (Uint8Array),
   * conflicts (Uint8Array or null when not published). Returns
   * {ok, difference, passed: [...], unchecked: [...]}; ``progress(phase, done, total)``.
   */
  function verify(bundle, poolBytes, rosterBytes, conflictsBytes, progress) {
    const passed = [], unchecked = [];
    const step = (text) => { passed.push(text); if (progress) progress("step", passed.length, 0, text); };
    try {
      if (bundle === null || typeof bundle !== "object" || Array.isArray(bundle)) throw new Difference("bundle.json 应为 JSON 对象");
      for (const k of BUNDLE_KEYS) if (!(k in bundle)) throw new Difference(`bundle.json 缺少 ${k}`);
      for (const k of Object.keys(bundle)) if (!BUNDLE_KEYS.includes(k) && !OPTIONAL_KEYS.includes(k)) throw new Difference(`bundle.json 有协议以外的项 ${k}`);
      if (bundle.protocol !== "sr1" && bundle.protocol !== "sr2") throw new Difference(`protocol 应为 "sr1" 或 "sr2"，实为 ${show(bundle.protocol)}`);
      const params = bundle.params;
      if (params === null || typeof params !== "object" || Array.isArray(params)) throw new Difference("params 应为 JSON 对象");
      compare("params.protocol", bundle.protocol, params.protocol);
      const sealed = bundle.protocol === "sr2";
      if (progress) progress("digest", 0, 1);
      const poolDigest = digestBytes(poolBytes);
      if (poolDigest !== params.pool_sha256) throw new Difference(`pool.tsv 的 SHA-256 为 ${poolDigest}，与承诺参数中的 ${show(params.pool_sha256)} 不符：名录文件被改动过`);
      const rosterDigest = digestBytes(rosterBytes);
      if (rosterDigest !== params.roster_sha256) throw new Difference(`roster.tsv 的 SHA-256 为 ${rosterDigest}，与承诺参数中的 ${show(params.roster_sha256)} 不符：执法人员名录被改动过`);
      step("pool.tsv、roster.tsv 与承诺参数中的摘要一致");
      let conflicts;
      if (conflictsBytes) {
        const d = digestBytes(conflictsBytes);
        if (d !== params.conflicts_sha256) throw new Difference(`conflicts.tsv 的 SHA-256 为 ${d}，与承诺参数不符`);
        conflicts = parseConflicts(conflictsBytes);
        step("conflicts.tsv 与承诺参数中的摘要一致");
      } else {
        const ex = bundle.excluded_by_conflict;
        if (ex === null || typeof ex !== "object" || Array.isArray(ex)) throw new Difference("excluded_by_conflict 应为对象 {主体: [检查人员]}");
        conflicts = new Map();
        for (const [u, list] of Object.entries(ex)) {
          if (!Array.isArray(list) || !list.length || !list.every((i) => typeof i === "string")) throw new Difference(`excluded_by_conflict[${show(u)}] 应为非空的检查人员编号列表`);
          conflicts.set(u, new Set(list));
        }
        step("回避声明不公开：配对按结果包中的 excluded_by_conflict 重算（其摘要无法由公众核对）");
      }
      const pool = parsePool(poolBytes);
      const roster = parseRoster(rosterBytes);
      checkParams(params, pool);
      step(`承诺参数有效（名录 ${pool.usccs.length} 户）`);
      compare("commitment", H(canonical(params)), bundle.commitment);
      step("承诺值是参数的 SHA-256");
      checkEntropy(bundle.entropy);
      checkBeacon(bundle, params, step, unchecked);
      compare("seed", H([bundle.commitment, ...bundle.entropy].join("\n")), bundle.seed);
      step(`种子由承诺值和 ${bundle.entropy.length} 条熵值计算得出`);
      if (!Array.isArray(bundle.selected) || !bundle.selected.every((e) => e !== null && typeof e === "object")) throw new Difference("selected 应为对象列表");
      const given = sealed ? bundle.selected.map((e) => e.uscc) : null;
      const draw = new Draw(params, bundle.entropy, pool, roster, conflicts, given, progress);
      const expected = draw.drawn;
      const keys = sealed ? ["uscc"] : ["uscc", "stratum", "ticket"];
      compare("selected", expected.map((e) => Object.fromEntries(keys.map((k) => [k, e[k]]))),
        bundle.selected.map((e) => Object.fromEntries(keys.filter((k) => k in e).map((k) => [k, e[k]]))));
      step(sealed ? `抽中名单：${expected.length} 户，按公开的配对顺序签号（TP）排列` : `抽中名单：${expected.length} 户及其签号`);
      compare("selected", expected, bundle.selected);
      const unassigned = expected.filter((e) => e.unassigned).length;
      step(`配对：${expected.length - unassigned} 个检查组，${unassigned} 户未能组队`);
      if (!Array.isArray(bundle.events)) throw new Difference("events 应为列表");
      bundle.events.forEach((event, n) => {
        const given = event && event.outcome ? event.outcome.replacement_uscc : undefined;
        const got = draw.applyEvent(event, typeof given === "string" ? given : null);
        const published = {};
        for (const k of ["outcome", "chain"]) if (k in event) published[k] = event[k];
        compare(`events[${n}]`, got, published);
      });
      step(`${bundle.events.length} 个变更事件：结果与哈希链一致`);
      compare("excluded_by_conflict", draw.excludedByConflict(), bundle.excluded_by_conflict);
      step("excluded_by_conflict 恰为曾被抽中主体的回避声明");
      compare("final", draw.final(), bundle.final);
      step(`最终名单：${bundle.final.length} 户及其检查组`);
      if (sealed) {
        unchecked.push("各分层抽中了哪些主体（按分层的抽取）", "撤出后由哪个备选对象递补",
          `（审计方持有的 strata.tsv 的 SHA-256 应为 ${params.strata_sha256}）`);
      }
      return { ok: true, difference: null, passed, unchecked };
    } catch (e) {
      if (e instanceof Difference) return { ok: false, difference: e.message, passed, unchecked };
      throw e;
    }
  }

  const SR = { Sha256, H, digestBytes, tickets, canonical, verify, Difference, parsePool };
  if (typeof module !== "undefined" && module.exports) module.exports = SR;
  else root.SR = SR;
})(typeof self !== "undefined" ? self : this);
