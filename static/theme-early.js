// A classic script in <head> (base.html), run before the page is first drawn: the theme remembered
// with the labelling page's t key (theme.js, the same storage key) is put on <html> at once, so that
// no page shows the browser's theme for a moment first. theme.js does the rest once the page loads.
(function () {
  try {
    const theme = localStorage.getItem("annotator:theme");
    if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  } catch (error) { /* storage disabled: the browser's preference decides */ }
})();
