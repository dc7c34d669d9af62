// docstore in SQLCipher 4: Node's @journeyapps/sqlcipher (SQLCipher 4 on
// SQLite 3.51) loading build/docstore.so, on a keyed database and on a plain
// one. A keyed database's documents must not appear in shared memory; a plain
// one's do (which shows the search below can see them). A keyed database's
// entries are sealed with AES-256-GCM, and a second process
// (sqlcipher4_read_once.mjs) is served from them.
// Run: node --test tests/clients/ (DOCSTORE_EXTENSION names the extension).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sqlcipher from '@journeyapps/sqlcipher';

const EXTENSION = process.env.DOCSTORE_EXTENSION ?? 'build/docstore';
const KEY = 'node sqlcipher 4 key';

// The callback API of node-sqlite3, as promises.
function promisify(db) {
  const call = (method) => (sql, params = []) =>
    new Promise((resolve, reject) => db[method](sql, params, function (error, result) {
      if (error) reject(error); else resolve(method === 'run' ? this : result);
    }));
  return {
    run: call('run'),
    get: call('get'),
    all: call('all'),
    load: (file) => new Promise((resolve, reject) =>
      db.loadExtension(file, (error) => (error ? reject(error) : resolve()))),
    close: () => new Promise((resolve, reject) => db.close((error) => (error ? reject(error) : resolve()))),
  };
}

async function openDatabase(t, file, key) {
  const db = promisify(new sqlcipher.Database(file));
  if (key !== undefined) await db.run(`PRAGMA key = '${key}'`);
  await db.load(path.resolve(EXTENSION));
  t.after(() => db.close());
  return db;
}

async function stat(db, name) {
  return (await db.get('SELECT value FROM docstore_stats WHERE name = ?', [name])).value;
}

// Whether `marker` occurs in the segment's bytes under /dev/shm.
function segmentContains(segment, marker) {
  return fs.readFileSync(path.join('/dev/shm', segment)).includes(Buffer.from(marker));
}

function scratchDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docstore-sqlcipher4-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a keyed SQLCipher 4 database: doc_get through the sealed cache, doc_search, accesses, tuning; no plaintext in the segment', async (t) => {
  const file = path.join(scratchDir(t), 'keyed.db');
  const db = await openDatabase(t, file, KEY);
  assert.match((await db.get('PRAGMA cipher_version')).cipher_version, /^4\./);
  assert.equal((await db.get('SELECT docstore_init() AS v')).v, (await db.get('PRAGMA user_version')).user_version);
  const marker = `keyed-marker-${process.pid}`;
  await db.run('INSERT INTO documents(id, title, content, metadata) VALUES (1, ?, ?, ?)',
    ['Secret plan', `${marker} lives here`, JSON.stringify({ lang: 'en' })]);
  for (let i = 0; i < 3; i++) {
    const doc = JSON.parse((await db.get('SELECT doc_get(1) AS doc')).doc);
    assert.equal(doc.title, 'Secret plan');
    assert.deepEqual(doc.metadata, { lang: 'en' });
  }
  // A second process, with the key on its stdin, is served the sealed entry.
  const second = spawnSync(process.execPath,
    [new URL('sqlcipher4_read_once.mjs', import.meta.url).pathname, file, path.resolve(EXTENSION)],
    { input: KEY, encoding: 'utf8' });
  assert.equal(second.status, 0, second.stderr);
  const read = JSON.parse(second.stdout);
  assert.equal(read.hits, 1);
  assert.equal(JSON.parse(read.doc).title, 'Secret plan');
  const hits = await db.all("SELECT id, snippet FROM doc_search('plan')");
  assert.equal(hits.length, 1);
  assert.equal((await db.get('SELECT doc_touch(1) AS n')).n, 1);
  // Three doc_get here, one in the second process, one doc_touch.
  assert.equal((await db.get('SELECT doc_flush() AS n')).n, 5);
  assert.equal(JSON.parse((await db.get('SELECT doc_get(1) AS doc')).doc).access_count, 5);

  const tune = JSON.parse((await db.get('SELECT docstore_tune() AS t')).t);
  assert.equal(tune.encrypted, true);
  assert.equal(tune.mmap_size, 0);
  assert.match(tune.cipher.version, /^4\./);
  assert.equal(tune.cipher.kdf_iter, 256000);
  assert.equal(tune.cipher.page_size, 4096);

  assert.match(await stat(db, 'cache_status'), /AES-256-GCM/);
  assert.equal((await db.get('SELECT count(*) AS n FROM docstore_cache')).n, 1);
  const segment = await stat(db, 'segment');
  t.after(() => fs.rmSync(path.join('/dev/shm', segment), { force: true }));
  assert.equal(segmentContains(segment, marker), false);
});

test('a plain database through SQLCipher 4 is cached, and the search above would see it', async (t) => {
  const file = path.join(scratchDir(t), 'plain.db');
  const db = await openDatabase(t, file);
  await db.get('SELECT docstore_init()');
  const marker = `plain-marker-${process.pid}`;
  await db.run('INSERT INTO documents(id, title, content) VALUES (1, ?, ?)', ['Open', `${marker} here`]);
  await db.get('SELECT doc_get(1)');
  assert.equal(await stat(db, 'cache_status'), 'on');
  assert.equal((await db.get('SELECT count(*) AS n FROM docstore_cache')).n, 1);
  const segment = await stat(db, 'segment');
  t.after(() => fs.rmSync(path.join('/dev/shm', segment), { force: true }));
  assert.equal(segmentContains(segment, marker), true);
  const tune = JSON.parse((await db.get('SELECT docstore_tune() AS t')).t);
  assert.equal(tune.encrypted, false);
  assert.match(tune.cipher.version, /^4\./);
});

test('the wrong key reads nothing', async (t) => {
  const file = path.join(scratchDir(t), 'keyed.db');
  const writer = await openDatabase(t, file, KEY);
  await writer.get('SELECT docstore_init()');
  await writer.run("INSERT INTO documents(id, title) VALUES (1, 'x')");
  // SQLCipher 4 reports a failed page authentication as SQLITE_NOTADB the
  // first time and, once its codec holds that error, as SQLITE_NOMEM: either
  // way, an error and no data.
  const refused = /SQLITE_NOTADB|SQLITE_NOMEM|run PRAGMA key first/;
  const reader = await openDatabase(t, file, 'not the key');
  await assert.rejects(reader.get('SELECT doc_get(1)'), refused);
  await assert.rejects(reader.get('SELECT docstore_tune()'), refused);
  await assert.rejects(reader.all('SELECT * FROM docstore_cache'), refused);
  const segment = await stat(writer, 'segment');
  t.after(() => fs.rmSync(path.join('/dev/shm', segment), { force: true }));
});
