// The pages' keyboard maps as data: which key runs which command. No DOM here. The labelling
// page's keys are listed for people in label.html's #help and run by label-keys.js (the reviewer's
// span editor, review-editor.js, runs the same keys for the commands it has); the adjudication
// page's are run by review.js.

/** Keys without a modifier → command name. */
export const KEYS = {
  Enter: "save",
  ArrowRight: "right",
  ArrowLeft: "left",
  Home: "home",
  End: "end",
  Delete: "delete",
  Backspace: "delete",
  Tab: "next-suggestion",
  y: "accept",
  n: "reject",
  A: "accept-all",
  a: "accept-all-save",
  x: "save-nothing",
  i: "ignore",
  s: "skip",
  f: "flag",
  z: "undo",
  Z: "redo",
  p: "previous",
  e: "edit",
  g: "guidelines",
  t: "theme",
  k: "link",
  K: "unlink",
  "?": "help",
};

/** Commands that make sense with no sentence on screen (all done, or still loading). */
export const WITHOUT_SENTENCE = new Set(["help", "previous", "guidelines", "theme"]);

/**
 * The command a key press asks for, or null. event: {key, shiftKey, ctrlKey, altKey, metaKey}.
 * Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo; Alt and Meta leave the key to the browser.
 */
export function commandOf({ key, ctrlKey = false, altKey = false, metaKey = false, shiftKey = false }) {
  if (altKey || metaKey) return null;
  if (ctrlKey) {
    if (key === "z" || key === "Z") return shiftKey ? "redo" : "undo";
    return key === "y" ? "redo" : null;
  }
  return Object.hasOwn(KEYS, key) ? KEYS[key] : null;
}

/** The label a key selects: its number in the legend ("1"...) or its own key; null if none. */
export function labelOfKey(labels, key) {
  return labels.find((l) => l.number === key || l.key === key) || null;
}

/** The adjudication page's keys without a modifier → command. a/b and 1–9 take an annotator's version. */
export const REVIEW_KEYS = {
  Enter: "save",
  d: "drop",
  e: "edit",
  ArrowDown: "down",
  j: "down",
  ArrowUp: "up",
  k: "up",
};

/**
 * The adjudication page's command for a key press, or null: {command} or, for "take", {command, index},
 * the annotator's index (a and 1 → 0, b and 2 → 1, ... 9 → 8). Ctrl, Alt and Meta leave the key to the browser.
 */
export function reviewCommandOf({ key, ctrlKey = false, altKey = false, metaKey = false }) {
  if (ctrlKey || altKey || metaKey) return null;
  if (key === "a" || key === "b") return { command: "take", index: key === "a" ? 0 : 1 };
  if (/^[1-9]$/.test(key)) return { command: "take", index: Number(key) - 1 };
  return Object.hasOwn(REVIEW_KEYS, key) ? { command: REVIEW_KEYS[key] } : null;
}
