// Light or dark: the browser's preference (prefers-color-scheme, in CSS) unless the person
// picked one with the toggle, which is remembered in this browser (localStorage).
// Importing this module touches no DOM: the page calls initTheme() once.
export const KEY = "annotator:theme";  // theme-early.js reads it too, before the page is drawn

/** The remembered choice: "dark" or "light" when it is a valid one, else null. storage: a Storage, or null. */
export function storedTheme(storage) {
  try {
    const value = storage ? storage.getItem(KEY) : null;
    return value === "dark" || value === "light" ? value : null;
  } catch {
    return null;
  }
}

function chosen() {
  try {
    return storedTheme(localStorage);
  } catch {
    return null;  // storage disabled
  }
}

const prefersDark = () => window.matchMedia("(prefers-color-scheme: dark)");

/** "dark" or "light": the theme the page shows now. */
export function currentTheme() {
  return chosen() || document.documentElement.dataset.theme || (prefersDark().matches ? "dark" : "light");
}

/** Put the remembered choice on <html data-theme>; the "Dark theme" toggles are pressed when dark. */
export function applyTheme(theme = chosen()) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  const dark = (theme || currentTheme()) === "dark";
  for (const button of document.querySelectorAll("[data-action=theme]")) button.setAttribute("aria-pressed", String(dark));
}

export function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  try {
    localStorage.setItem(KEY, next);
  } catch { /* storage disabled: the choice lasts until the page is left */ }
  applyTheme(next);
}

/** Show the remembered theme now, and follow the browser's preference while none is remembered. */
export function initTheme() {
  prefersDark().addEventListener("change", () => applyTheme());
  applyTheme();
}
