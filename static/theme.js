// Light or dark: the browser's preference (prefers-color-scheme, in CSS) unless the person
// picked one with the toggle, which is remembered in this browser (localStorage).
const KEY = "annotator:theme";
const prefersDark = window.matchMedia("(prefers-color-scheme: dark)");

function chosen() {
  try {
    const value = localStorage.getItem(KEY);
    return value === "dark" || value === "light" ? value : null;
  } catch {
    return null;
  }
}

/** "dark" or "light": the theme the page shows now. */
export function currentTheme() {
  return chosen() || document.documentElement.dataset.theme || (prefersDark.matches ? "dark" : "light");
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

prefersDark.addEventListener("change", () => applyTheme());
applyTheme();
