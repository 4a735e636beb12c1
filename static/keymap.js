// The labelling page's keyboard map as data: which key runs which command. No DOM here; the
// keys are listed for people in label.html's #help, and label-keys.js runs the commands.

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
