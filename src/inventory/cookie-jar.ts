/**
 * The session cookies of one Traffic Ops login: names and values from `Set-Cookie`, sent back as
 * one `Cookie` header.
 *
 * Expires and Max-Age are deliberately not tracked: Traffic Ops stamps them with its own clock, so a
 * skew between the two hosts would make driad log in too early or too late. The session ends when
 * Traffic Ops answers 401, which is the only authority on it (see traffic-ops-client.ts).
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  /** Takes every `Set-Cookie` header of a response (undici gives a string or an array). */
  store(setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!name) continue;
      // An empty value (or an explicit expiry in the past, which always comes with one in practice) deletes.
      if (value === '' || /;\s*max-age\s*=\s*0\b/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** The `Cookie` header value, or undefined with no cookie. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get size(): number {
    return this.#cookies.size;
  }

  clear(): void {
    this.#cookies.clear();
  }
}
