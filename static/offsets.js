// Python counts code points, JavaScript strings count UTF-16 units.
// The API's offsets are code points (end exclusive); the DOM's are UTF-16.

/** m[cp] = UTF-16 index of code point cp, for cp in 0..length (inclusive). */
export function codePointToUtf16(text) {
  const map = [0];
  let u16 = 0;
  for (const ch of text) {  // iterates by code point, so an astral emoji is one step
    u16 += ch.length;
    map.push(u16);
  }
  return map;
}

/** The code-point offset of UTF-16 index u16 (rounded down inside a surrogate pair). */
export function utf16ToCodePoint(text, u16) {
  let cp = 0;
  let i = 0;
  for (const ch of text) {
    if (i + ch.length > u16) break;
    i += ch.length;
    cp += 1;
  }
  return cp;
}

/** The code-point length of text (Python's len()). */
export function cpLength(text) {
  return Array.from(text).length;
}

/** text[start:end] in code points, as Python slices it. */
export function cpSlice(text, start, end) {
  return Array.from(text).slice(start, end).join("");
}
