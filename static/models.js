// Models page: poll the running version's progress; reload when it ends, to show its scores.
import { getJSON } from "./api.js";

const POLL_MS = 1000;

function percent(value) {
  return value === null || value === undefined ? "–" : (100 * value).toFixed(1);
}

function show(run) {
  const last = run.progress.length ? run.progress[run.progress.length - 1] : null;
  document.getElementById("run-status").textContent =
    `Version ${run.number}: ${run.status}` + (run.status === "queued" ? " (starting)…" : last ? "…" : " (exporting)…");
  const cell = document.getElementById(`version-${run.number}-status`);
  if (cell) cell.textContent = run.status;
  const curve = document.getElementById("run-curve");
  if (curve && run.curve) curve.textContent = `${run.curve.points.length} of ${run.curve.fractions.length} shares`;
  if (!last) return;
  document.getElementById("run-step").textContent = String(last.step);
  document.getElementById("run-loss").textContent = last.loss.toFixed(2);
  document.getElementById("run-f").textContent = percent(last.dev.f);
  document.getElementById("run-p").textContent = percent(last.dev.p);
  document.getElementById("run-r").textContent = percent(last.dev.r);
}

async function poll(section) {
  const watched = section.dataset.running;
  let response;
  try {
    response = await getJSON(section.dataset.statusUrl);
  } catch {
    setTimeout(() => poll(section), POLL_MS * 3); // offline for a moment: try again
    return;
  }
  const run = response.data && response.data.running;
  if (run && String(run.number) === watched) {
    show(run);
    setTimeout(() => poll(section), POLL_MS);
  } else if (response.status === 200) {
    window.location.reload(); // the run ended: the page lists its scores
  }
}

const section = document.getElementById("run");
if (section && section.dataset.running) poll(section);
