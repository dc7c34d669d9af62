/** The path of the docstore loadable extension built for this platform. */
export function getLoadablePath(): string;

/** A database of better-sqlite3 or node:sqlite: loaded at once. */
export interface SyncDatabase {
  loadExtension(path: string): unknown;
  enableLoadExtension?(allow: boolean): unknown;
}

/** A database of node-sqlite3 or @journeyapps/sqlcipher: loaded asynchronously. */
export interface CallbackDatabase {
  loadExtension(path: string, callback: (error: Error | null) => void): unknown;
  parallelize(callback?: () => void): unknown;
}

/** Loads docstore into `db`; for callback-style bindings, a Promise settled when it is loaded. */
export function load<T extends CallbackDatabase>(db: T): Promise<T>;
export function load<T extends SyncDatabase>(db: T): T;
