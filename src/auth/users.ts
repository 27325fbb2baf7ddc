import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** The users of the `login` profile: DATA/users.json, names with scrypt hashes (per-user salt). */
export const USERS_FILE = 'users.json';

/** scrypt cost, stored with each hash so it can be raised later: N 2^15, r 8 (32 MiB and tens of ms per check). */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const MAX_MEMORY = 256 * 2 ** 20;
const KEY_LENGTH = 64;

interface StoredUser {
  readonly salt: string;
  readonly hash: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly createdAt: string;
}

interface UsersDocument {
  readonly version: 1;
  readonly users: Record<string, StoredUser>;
}

export class UsersError extends Error {
  override name = 'UsersError';
}

const scrypt = (password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCallback(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));

/** A user name: letters, digits and . _ @ - (it ends up in logs and cookies, so nothing else). */
export function checkUserName(name: string): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new UsersError(`user name '${name}': use 1 to 64 letters, digits, '.', '_', '@' or '-'`);
  return name;
}

/** A stand-in user, so an unknown name costs the same scrypt as a known one (no user enumeration by timing). */
const DECOY: StoredUser = { salt: randomBytes(16).toString('base64'), hash: randomBytes(KEY_LENGTH).toString('base64'), ...COST, createdAt: '' };

export class UsersFile {
  constructor(readonly file: string) {}

  static inData(data: string): UsersFile {
    return new UsersFile(path.join(data, USERS_FILE));
  }

  private async read(): Promise<UsersDocument> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, users: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as UsersDocument;
    if (parsed?.version !== 1 || typeof parsed.users !== 'object') throw new UsersError(`${this.file}: not a Vitrine users file`);
    return parsed;
  }

  /** Writes the whole file atomically (a temporary file, mode 0600, synced, renamed over). */
  private async write(document: UsersDocument): Promise<void> {
    const temp = `${this.file}.${process.pid}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const dir = await open(path.dirname(this.file), 'r');
    await dir.sync().finally(() => dir.close());
  }

  async names(): Promise<string[]> {
    return Object.keys((await this.read()).users).sort();
  }

  /** Adds a user, or replaces their password; true when the user is new. */
  async add(name: string, password: string): Promise<boolean> {
    checkUserName(name);
    if (password.length < 8) throw new UsersError('password: at least 8 characters');
    const document = await this.read();
    const salt = randomBytes(16);
    const hash = await scrypt(password, salt, { ...COST, maxmem: MAX_MEMORY });
    const isNew = !Object.hasOwn(document.users, name);
    const user: StoredUser = { salt: salt.toString('base64'), hash: hash.toString('base64'), ...COST, createdAt: new Date().toISOString() };
    await this.write({ version: 1, users: { ...document.users, [name]: user } });
    return isNew;
  }

  /** Removes a user; false when there was none of that name. */
  async remove(name: string): Promise<boolean> {
    const document = await this.read();
    if (!Object.hasOwn(document.users, name)) return false;
    const users = { ...document.users };
    delete users[name];
    await this.write({ version: 1, users });
    return true;
  }

  /** Whether the password is the user's (constant time; an unknown user costs the same). */
  async verify(name: string, password: string): Promise<boolean> {
    const document = await this.read();
    const known = Object.hasOwn(document.users, name) ? document.users[name] : undefined;
    const user = known ?? DECOY;
    const expected = Buffer.from(user.hash, 'base64');
    const actual = await scrypt(password, Buffer.from(user.salt, 'base64'), { N: user.N, r: user.r, p: user.p, maxmem: MAX_MEMORY });
    return expected.length === actual.length && timingSafeEqual(expected, actual) && known !== undefined;
  }
}
