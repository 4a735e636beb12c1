// Loaded by every page (base.html): the theme remembered with the labelling page's t key or
// "Dark theme" button (theme.js) holds on every page; with none remembered, the browser's
// preference (prefers-color-scheme, in app.css) decides.
import { initTheme } from "./theme.js";

initTheme();
