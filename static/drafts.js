// Unsaved work per sentence in localStorage, so a reload or a crash loses nothing.
// Keyed by user too: annotation is blind, so one person's draft must never show to another.

export function createDrafts(user) {
  const key = (sentenceId) => `annotator:draft:${user}:${sentenceId}`;
  return {
    save(sentenceId, draft) {
      try {
        localStorage.setItem(key(sentenceId), JSON.stringify({ ...draft, saved_at: new Date().toISOString() }));
      } catch { /* storage full or disabled: the page still works, only without drafts */ }
    },
    load(sentenceId) {
      try {
        const raw = localStorage.getItem(key(sentenceId));
        const draft = raw ? JSON.parse(raw) : null;
        return draft && Array.isArray(draft.spans) ? draft : null;
      } catch {
        return null;
      }
    },
    remove(sentenceId) {
      try {
        localStorage.removeItem(key(sentenceId));
      } catch { /* nothing to do */ }
    },
  };
}
