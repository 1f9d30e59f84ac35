/// <reference lib="dom" />
// The signed-in user: the JWT lives in sessionStorage (gone when the tab closes), the rest is derived from it.
import { isExpired, userFromToken, type User } from './claims.ts';

const KEY = 'meshmart.token';
type Listener = () => void;
const listeners = new Set<Listener>();
let expiredNotice = false;

function read(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const session = {
  token(): string | null {
    const token = read();
    if (!token) return null;
    const user = userFromToken(token);
    if (user && isExpired(user, Date.now() / 1000)) {
      sessionStorage.removeItem(KEY);
      expiredNotice = true;
      return null;
    }
    return token;
  },
  user(): User | undefined {
    const token = this.token();
    return token ? (userFromToken(token) ?? { username: 'signed in', roles: [] }) : undefined;
  },
  isAdmin(): boolean {
    return this.user()?.roles.includes('admin') ?? false;
  },
  signIn(token: string): void {
    sessionStorage.setItem(KEY, token);
    expiredNotice = false;
    listeners.forEach((l) => l());
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  /** The gateway refused the token (401): forget it; the login page says why. */
  expire(): void {
    sessionStorage.removeItem(KEY);
    expiredNotice = true;
    listeners.forEach((l) => l());
  },
  /** True once after a token expired, for the login page's notice. */
  takeExpiredNotice(): boolean {
    const was = expiredNotice;
    expiredNotice = false;
    return was;
  },
  onChange(listener: Listener): void {
    listeners.add(listener);
  },
};
