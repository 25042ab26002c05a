/* The verify page: start the worker, show progress, then the verdict and the checks passed. */
(function () {
  const root = document.getElementById("verifier");
  if (!root || !window.Worker) return;
  const button = document.getElementById("verify-start");
  const bar = document.getElementById("verify-progress");
  const status = document.getElementById("verify-status");
  const verdict = document.getElementById("verify-verdict");
  const steps = document.getElementById("verify-steps");
  const unchecked = document.getElementById("verify-unchecked");
  root.hidden = false;
  const phases = { download: "下载", digest: "计算文件摘要", tickets: "重新计算每户签号", step: "核对" };

  function item(list, text) {
    const li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    verdict.hidden = true;
    verdict.className = "verdict";
    steps.textContent = "";
    unchecked.textContent = "";
    bar.hidden = false;
    bar.removeAttribute("value");
    status.textContent = "正在下载结果包……";
    const worker = new Worker("/static/verify/worker.js");
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.kind === "progress") {
        if (m.phase === "step") {
          item(steps, m.text);
          return;
        }
        const label = m.label ? `${phases[m.phase]} ${m.label}` : phases[m.phase] || m.phase;
        if (m.total) {
          bar.max = m.total;
          bar.value = m.done;
          status.textContent = `${label}：${Math.floor((100 * m.done) / m.total)}%`;
        } else {
          bar.removeAttribute("value");
          status.textContent = `${label}……`;
        }
        return;
      }
      worker.terminate();
      button.disabled = false;
      bar.hidden = true;
      verdict.hidden = false;
      if (m.kind === "error") {
        verdict.classList.add("failed");
        verdict.textContent = "无法完成核验：" + m.message;
        status.textContent = "";
        return;
      }
      const r = m.result;
      status.textContent = `用时 ${r.seconds.toFixed(1)} 秒`;
      if (r.ok) {
        verdict.classList.add("passed");
        verdict.textContent = r.unchecked.length
          ? "核验通过（公众可核验的部分）：重新计算的结果与公布的结果完全一致。"
          : "核验通过：重新计算的结果与公布的结果完全一致。";
        r.unchecked.forEach((t) => item(unchecked, t));
        unchecked.parentElement.hidden = !r.unchecked.length;
      } else {
        verdict.classList.add("failed");
        verdict.textContent = "核验未通过，发现的第一处不一致：" + r.difference;
      }
    };
    worker.postMessage({
      bundleUrl: root.dataset.bundle,
      poolUrl: root.dataset.pool,
      rosterUrl: root.dataset.roster,
    });
  });
})();
