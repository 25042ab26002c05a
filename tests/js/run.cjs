// Runs the in-browser verifier (api/static/verify/sr.js) under Node for the tests.
// stdin: a JSON list of jobs; stdout: a JSON list of answers, one per job.
//   {"op": "verify", "dir": D, "conflicts": bool}  -> verify D/bundle.json, pool.tsv, roster.tsv
//   {"op": "sha256", "hex": H}                      -> SHA-256 of the bytes
//   {"op": "canonical", "value": V}                 -> canonical JSON of V
const fs = require("fs");
const path = require("path");
const SR = require(path.join(__dirname, "..", "..", "api", "static", "verify", "sr.js"));

const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
const out = jobs.map((job) => {
  try {
    if (job.op === "sha256") return SR.digestBytes(Buffer.from(job.hex, "hex"));
    if (job.op === "canonical") return SR.canonical(job.value);
    if (job.op === "verify") {
      const read = (name) => new Uint8Array(fs.readFileSync(path.join(job.dir, name)));
      const bundle = JSON.parse(fs.readFileSync(path.join(job.dir, "bundle.json"), "utf8"));
      const conflictsPath = path.join(job.dir, "conflicts.tsv");
      const conflicts = job.conflicts && fs.existsSync(conflictsPath) ? read("conflicts.tsv") : null;
      const started = process.hrtime.bigint();
      const result = SR.verify(bundle, read("pool.tsv"), read("roster.tsv"), conflicts);
      result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return result;
    }
    return { error: "unknown op " + job.op };
  } catch (e) {
    return { error: String(e && e.stack ? e.stack : e) };
  }
});
process.stdout.write(JSON.stringify(out));
