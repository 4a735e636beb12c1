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
  return chosen() || (prefersDark.matches ? "dark" : "light");
}

/** Put the remembered choice on <html data-theme> and name the toggle for what it does next. */
export function applyTheme() {
  const choice = chosen();
  if (choice) document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
  const dark = currentTheme() === "dark";
  for (const button of document.querySelectorAll("[data-action=theme]")) {
    button.setAttribute("aria-pressed", String(dark));
    const name = button.querySelector(".theme-name");
    if (name) name.textContent = "Dark theme";
  }
}

export function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  try {
    localStorage.setItem(KEY, next);
  } catch { /* storage disabled: the choice lasts until the page is left */ }
  document.documentElement.dataset.theme = next;
  applyTheme();
  if (!chosen()) document.documentElement.dataset.theme = next;
}

prefersDark.addEventListener("change", applyTheme);
applyTheme();
