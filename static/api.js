// fetch with the page's CSRF token, and saving that survives a flaky network.

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** GET url -> {status, data}; data is null for 204 or a non-JSON body. Throws on a network error. */
export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  return { status: response.status, data: await bodyOf(response) };
}

export async function sendJSON(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  return { status: response.status, data: await bodyOf(response) };
}

async function bodyOf(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * PUT body to url, retrying network errors and 5xx with backoff (the same body each time,
 * so the same base_version: the server answers a retry of a save that did land with 200 and
 * the stored annotation, as if it were the first).
 * Returns {status, data} of the last answer, or {status: 0} when every attempt failed.
 * onRetry(attempt, delayMs) is called before each wait; signal.retryNow() cuts a wait short.
 */
export async function putWithRetry(url, body, { delays = [1000, 2000, 4000], onRetry = () => {}, control = {} } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let answer;
    try {
      answer = await sendJSON("PUT", url, body);
    } catch {
      answer = { status: 0, data: null };
    }
    if (answer.status !== 0 && answer.status < 500) return answer;
    if (attempt >= delays.length || control.cancelled) return answer;
    onRetry(attempt + 1, delays[attempt]);
    await Promise.race([sleep(delays[attempt]), new Promise((resolve) => { control.retryNow = resolve; })]);
    control.retryNow = null;
  }
}
