/**
 * The admin API from the console. The admin key lives in this tab's sessionStorage and travels as
 * `Authorization: Bearer`, which a browser never attaches on its own: another site cannot make
 * this page's requests (no CSRF), unlike a cookie. The session cookie (POST /v1/auth/session)
 * authenticates GET only, so it could not retry, rewind or revoke anyway.
 */
const STORAGE_KEY = 'flamingo.adminKey';

export const adminKey = {
  get: () => sessionStorage.getItem(STORAGE_KEY),
  set: (key) => sessionStorage.setItem(STORAGE_KEY, key),
  clear: () => sessionStorage.removeItem(STORAGE_KEY),
};

/** An answer other than 2xx: `status`, and the API's message with the fields it names. */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = Array.isArray(body?.detail) ? body.detail.map((d) => `${d.path} ${d.message}`).join('; ') : '';
    super(`${status}: ${body?.message ?? 'request failed'}${detail ? ` (${detail})` : ''}`);
    this.status = status;
  }
}

/** `method path` with the admin key; JSON in and out; undefined for 204. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${adminKey.get() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const text = await response.text();
  let parsed;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** A query string of the defined, non-empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
