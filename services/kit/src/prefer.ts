/**
 * `Prefer: wait=<seconds>` (RFC 7240 §4.3): the client would rather wait for the answer it is after (an order leaving
 * PENDING) than poll for it. Servers honour it up to their own bound and say so with `Preference-Applied`.
 */
export const PREFER_DESCRIPTION =
  '`wait=<seconds>` (RFC 7240): answer as soon as the resource reaches a final state, or after that many seconds';

/** The `wait` preference in seconds, capped at `maxSeconds`; undefined when absent or malformed. */
export function preferredWait(
  header: string | readonly string[] | undefined,
  maxSeconds: number,
): number | undefined {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  for (const value of values) {
    for (const preference of value.split(',')) {
      const m = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*(?:;.*)?$/i.exec(preference);
      if (m) return Math.min(Number(m[1]), maxSeconds);
    }
  }
  return undefined;
}
