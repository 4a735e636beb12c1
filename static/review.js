// Adjudication: resolve each decision (a conflict, or one annotator's version to confirm) with one key;
// Enter saves the gold and opens the next sentence. Nothing an annotator marked leaves without a decision:
// every span not taken is sent as "dropped", and the server refuses a save that loses one silently.
// Offsets are code points (as stored); text is only ever set with textContent.

import { sendJSON } from "./api.js";
import { reviewCommandOf } from "./keymap.js";
import { createSpanEditor } from "./review-editor.js";
import { createIncidentChoice } from "./review-incidents.js";

const root = document.getElementById("adjudicate");
const data = JSON.parse(root.dataset.review);
const chars = Array.from(data.text); // code points, so offsets match the server's
const cards = Array.from(document.querySelectorAll(".conflict"));
const status = document.getElementById("review-status");
const reason = document.getElementById("reason");
const preview = document.getElementById("gold-preview");
const note = document.getElementById("gold-note");
const decisions = data.decisions;
const incidentChoice = createIncidentChoice({ data, section: document.getElementById("incidents-decision"), chars });

// One choice per conflict: {kind: "take", who} | {kind: "drop"} | {kind: "edit", spans} | null.
const choices = decisions.map((d) => (d.kind === "single" ? { kind: "take", who: d.proposal } : null));
let active = 0;
let saving = false;

const key = (s) => `${s.start_char}:${s.end_char}:${s.label}`;
const same = (a, b) =>
  a.length === b.length && a.every((s, i) => key(s) === key(b[i]) && (s.value || null) === (b[i].value || null));
const sorted = (spans) => [...spans].sort((x, y) => x.start_char - y.start_char || x.end_char - y.end_char || (x.label < y.label ? -1 : 1));

const inside = (s, d) => s.start_char < d.end_char && d.start_char < s.end_char;

// Spans every annotator marked the same way go into the gold unless the reviewer drops them (by key).
const droppedAgreed = new Set();

// Start from the stored gold, if any: each decision takes the version it matches, and an agreed span the
// gold recorded as dropped stays dropped (one that became agreed since, by a later version, is kept).
if (data.gold) {
  const wasDropped = new Set((data.gold.dropped || []).map(key));
  for (const s of data.agreed) if (wasDropped.has(key(s))) droppedAgreed.add(key(s));
  decisions.forEach((c, i) => {
    const mine = sorted(data.gold.spans.filter((s) => inside(s, c)));
    const who = data.annotators.find((n) => same(sorted(c.versions[n]), mine));
    choices[i] = who ? { kind: "take", who } : mine.length ? { kind: "edit", spans: mine } : { kind: "drop" };
  });
}

// Where each decision's current choice came from, to say so in the heading: the saved gold or the proposed
// version it started from, or the reviewer.
const origin = data.gold ? "gold" : "proposal";
const initial = choices.map((c) => (c === null ? null : JSON.stringify(c)));
const decideTitle = document.getElementById("decide-title");
const decideCount = document.getElementById("decide-count");
const goldState = document.getElementById("gold-state");

function plural(n, one, many) {
  return n === 1 ? one : many;
}

/** "open", "gold" (as the saved gold has it), "proposal" (the one annotator's version) or "you". */
function decidedBy(i) {
  if (choices[i] === null) return "open";
  return JSON.stringify(choices[i]) === initial[i] ? origin : "you";
}

function renderSummary(spans) {
  const count = { open: 0, gold: 0, proposal: 0, you: 0 };
  choices.forEach((_, i) => {
    count[decidedBy(i)] += 1;
  });
  const parts = [];
  if (count.open) parts.push(`${count.open} open`);
  if (count.gold) parts.push(`${count.gold} from the saved gold`);
  if (count.proposal) parts.push(`${count.proposal} proposed from ${data.annotators[0]}'s version`);
  if (count.you) parts.push(`${count.you} decided by you`);
  const all = decisions.length;
  let enter = "";
  if (all && !count.open) {
    if (count.gold === all) enter = "; Enter keeps them";
    else if (count.proposal === all) enter = "; Enter confirms them";
    else enter = `; Enter saves ${plural(all, "it", "them")}`;
  }
  decideTitle.textContent = all && !count.open ? "Decided" : "To decide";
  decideCount.textContent = `(${all ? parts.join(", ") + enter : "nothing"})`;
  if (data.gold) {
    const v = data.gold.version;
    goldState.textContent = same(spans, sorted(data.gold.spans))
      ? `v${v} as saved; Enter saves it again as v${v + 1}, with the same spans`
      : `v${v} saved; this preview, changed, becomes v${v + 1} when you press Enter`;
  } else {
    goldState.textContent = count.open
      ? "none saved yet; this preview becomes v1 once every decision is made"
      : "none saved yet; Enter saves this as v1";
  }
}

function chosenSpans(i) {
  const choice = choices[i];
  if (!choice || choice.kind === "drop") return [];
  return choice.kind === "take" ? decisions[i].versions[choice.who] : choice.spans;
}

// Every span some version (or the saved gold) has in a decision's region and the decision leaves out,
// and every agreed span dropped.
function droppedSpans() {
  const out = data.agreed.filter((s) => droppedAgreed.has(key(s))).map((s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label }));
  decisions.forEach((d, i) => {
    const kept = new Set(chosenSpans(i).map(key));
    const seen = new Set();
    const candidates = [...Object.values(d.versions).flat(), ...(data.gold ? data.gold.spans.filter((s) => inside(s, d)) : [])];
    for (const s of candidates) {
      if (kept.has(key(s)) || seen.has(key(s))) continue;
      seen.add(key(s));
      out.push({ start_char: s.start_char, end_char: s.end_char, label: s.label });
    }
  });
  return out;
}

function goldSpans() {
  const spans = data.agreed.filter((s) => !droppedAgreed.has(key(s)));
  decisions.forEach((_, i) => spans.push(...chosenSpans(i)));
  return sorted(spans).map((s) => ({ start_char: s.start_char, end_char: s.end_char, label: s.label, value: s.value || null }));
}

function renderPreview() {
  const spans = goldSpans();
  const owner = new Array(chars.length).fill(-1);
  spans.forEach((s, n) => {
    for (let i = s.start_char; i < Math.min(s.end_char, chars.length); i++) if (owner[i] < 0) owner[i] = n;
  });
  preview.replaceChildren();
  let start = 0;
  for (let i = 1; i <= chars.length; i++) {
    if (i < chars.length && owner[i] === owner[start]) continue;
    const piece = chars.slice(start, i).join("");
    if (owner[start] < 0) {
      preview.append(document.createTextNode(piece));
    } else {
      const span = spans[owner[start]];
      const mark = document.createElement("mark");
      mark.className = data.classes[span.label] || "lab-x";
      mark.title = span.value ? `${span.label} = ${span.value}` : span.label;
      mark.textContent = piece;
      preview.append(mark);
    }
    start = i;
  }
}

function render() {
  for (const li of document.querySelectorAll(".agreed [data-agreed]")) {
    const dropped = droppedAgreed.has(key(data.agreed[Number(li.dataset.agreed)]));
    li.classList.toggle("dropped", dropped);
    li.querySelector(".agreed-toggle").setAttribute("aria-pressed", String(dropped));
  }
  cards.forEach((card, i) => {
    card.classList.toggle("active", i === active);
    card.classList.toggle("decided", choices[i] !== null);
    card.dataset.decidedBy = decidedBy(i);
    const choice = choices[i];
    for (const li of card.querySelectorAll(".choice")) {
      const name = li.dataset.choice;
      const on = choice && (choice.kind === "take" ? name === choice.who : name === choice.kind);
      li.classList.toggle("chosen", Boolean(on));
    }
    const summary = card.querySelector(".edit-summary");
    if (choice && choice.kind === "edit") {
      summary.textContent = choice.spans.length
        ? choice.spans.map((s) => `${s.label} «${chars.slice(s.start_char, s.end_char).join("")}»${s.value ? " = " + s.value : ""}`).join(", ")
        : "no span";
    } else {
      summary.textContent = "set the spans yourself";
    }
  });
  renderPreview();
  renderSummary(goldSpans());
  incidentChoice.render(goldSpans());
}

// After a decision, go to the next undecided one after this (else the first undecided before it), and
// stay there; with none left, stay on this one. Focus follows, so the keys keep acting on the page.
function decide(choice) {
  if (!cards.length) return;
  closeEditor();
  if (JSON.stringify(choices[active]) !== JSON.stringify(choice)) incidentChoice.reconsider();
  choices[active] = choice;
  say("");
  const next = choices.findIndex((c, i) => c === null && i > active);
  const first = choices.findIndex((c) => c === null);
  if (next >= 0) active = next;
  else if (first >= 0) active = first;
  show();
}

function show() {
  render();
  cards[active].focus({ preventScroll: true });
  cards[active].scrollIntoView({ block: "nearest" });
}

// The editor (review-editor.js): the sentence as words, edited as on the labelling page.
const editor = createSpanEditor({
  text: data.text, tokens: data.tokens, labels: data.label_info, say,
  apply: (spans) => decide({ kind: "edit", spans: sorted(spans) }),
  cancel: () => show(),
});

function closeEditor() {
  editor.close();
}

function openEditor() {
  if (!cards.length) return;
  const conflict = decisions[active];
  const first = data.annotators.map((n) => conflict.versions[n]).find((v) => v.length) || [];
  editor.open(cards[active].querySelector(".editor"), choices[active] ? chosenSpans(active) : first, conflict);
}

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle("error", error);
}

async function save() {
  if (saving) return;
  const open = choices.findIndex((c) => c === null);
  if (open >= 0) {
    active = open;
    render();
    const what = decisions[open].kind === "conflict" ? "Resolve conflict" : "Decide";
    say(`${what} ${open + 1} first: a/b or 1–9 take a version, e edits, d drops.`, true);
    return;
  }
  if (incidentChoice.open()) {
    say("Choose the incidents first: click a version under Incidents, or press its key (a/b, 1–9).", true);
    return;
  }
  saving = true;
  say("Saving…");
  try {
    const { status: code, data: answer } = await sendJSON("PUT", data.save_url, {
      version: data.gold ? data.gold.version : null, seen: data.seen, spans: goldSpans(), dropped: droppedSpans(), reason: reason.value, note: note.value,
      incidents: incidentChoice.chosen(goldSpans()),
    });
    const body = answer || {};
    if (code >= 200 && code < 300) {
      say(`Saved gold version ${body.version}.`);
      window.location.assign(body.next);
      return;
    }
    say(code === 409 ? `${body.message} Reload the page.` : body.message || `Saving failed (${code}).`, true);
  } catch {
    say("Could not reach the server; nothing was saved. Try again.", true);
  } finally {
    saving = false;
  }
}

/** The commands of keymap.js's REVIEW_KEYS; take gets the annotator's index. */
const commands = {
  save,
  take,
  drop: () => decide({ kind: "drop" }),
  edit: openEditor,
  down: () => move(1),
  up: () => move(-1),
};

document.addEventListener("keydown", (event) => {
  // In the note, Enter is a new line; Ctrl+Enter (⌘+Enter) saves, as in most web forms.
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("#gold-note")) {
    event.preventDefault();
    save();
    return;
  }
  const found = reviewCommandOf(event);
  if (!found) return;
  const typing = event.target.closest("input, textarea, select");
  if (found.command === "save") {
    if (typing && (event.target.closest(".editor") || event.target.matches("textarea"))) return;
    if (event.target.closest("button, a")) return; // let the focused control act
  } else if (typing) {
    return;
  }
  event.preventDefault();
  commands[found.command](found.index);
});

function take(index) {
  const who = data.annotators[index];
  if (!who) {
    say(`There is no annotator ${index + 1} on this sentence.`, true);
    return;
  }
  // With every span decided, the keys take an annotator's incidents.
  if (incidentChoice.open() && choices.every((c) => c !== null)) {
    incidentChoice.take(who);
    say(`Took ${who}'s incidents.`);
    render();
    return;
  }
  decide({ kind: "take", who });
}

// Up and down stop at the first and the last decision: no wrapping round.
function move(step) {
  if (!cards.length) return;
  active = Math.min(cards.length - 1, Math.max(0, active + step));
  show();
}

cards.forEach((card, i) => {
  card.addEventListener("click", (event) => {
    const li = event.target.closest(".choice");
    if (!li || event.target.closest(".editor")) return;
    active = i;
    const name = li.dataset.choice;
    if (name === "edit") openEditor();
    else if (name === "drop") decide({ kind: "drop" });
    else decide({ kind: "take", who: name });
  });
});
document.getElementById("save-gold").addEventListener("click", save);
for (const li of document.querySelectorAll(".agreed [data-agreed]")) {
  li.querySelector(".agreed-toggle").addEventListener("click", () => {
    const k = key(data.agreed[Number(li.dataset.agreed)]);
    if (droppedAgreed.has(k)) droppedAgreed.delete(k);
    else droppedAgreed.add(k);
    incidentChoice.reconsider();  // the saved gold's incidents were grouped for its spans
    say("");
    render();
  });
}
if (incidentChoice.section) {
  incidentChoice.section.addEventListener("click", (event) => {
    const li = event.target.closest("[data-incidents]");
    if (li && incidentChoice.take(li.dataset.incidents)) render();
  });
}
active = Math.max(0, choices.findIndex((c) => c === null));
render();
