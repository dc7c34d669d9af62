// docstore from Node: better-sqlite3's db.loadExtension.
// Run: node --test tests/clients/ (DOCSTORE_EXTENSION names the extension).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';

const EXTENSION = process.env.DOCSTORE_EXTENSION ?? 'build/docstore';

function openDatabase(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docstore-node-'));
  const db = new Database(path.join(dir, 'docs.db'));
  db.loadExtension(path.resolve(EXTENSION));
  db.prepare('SELECT docstore_init()').get();
  t.after(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return db;
}

const TRICKY = [
  '', 'quote " backslash \\ slash /', 'tab\tnewline\nreturn\r', '\u0001\u001f controls',
  'nul\u0000inside', 'café 日本語 العربية', 'emoji 📚🚀 \u2028\u2029', '\u007f',
];

test('documents round-trip through doc_get as JSON', (t) => {
  const db = openDatabase(t);
  const insert = db.prepare(
    'INSERT INTO documents(id, title, content, metadata) VALUES (?, ?, ?, ?)');
  const get = db.prepare('SELECT doc_get(?) AS doc').pluck();
  db.transaction(() => {
    TRICKY.forEach((title, i) => {
      insert.run(i + 1, title, `${title} body`, JSON.stringify({ i, title, list: [1, null, true] }));
    });
  })();
  TRICKY.forEach((title, i) => {
    const doc = JSON.parse(get.get(i + 1));
    assert.equal(doc.id, i + 1);
    assert.equal(doc.title, title);
    assert.equal(doc.content, `${title} body`);
    assert.deepEqual(doc.metadata, { i, title, list: [1, null, true] });
    assert.equal(doc.version, 1);
    assert.equal(doc.access_count, 0);
  });
  assert.equal(get.get(999), null);
  assert.equal(get.get(null), null);
});

test('search finds updated text, best first, and honours LIMIT', (t) => {
  const db = openDatabase(t);
  const insert = db.prepare('INSERT INTO documents(id, title, content) VALUES (?, ?, ?)');
  for (let i = 1; i <= 20; i++) insert.run(i, `doc ${i}`, 'term '.repeat(i) + 'filler '.repeat(30));
  const rows = db.prepare("SELECT id, rank FROM doc_search('term') LIMIT 4").all();
  assert.equal(rows.length, 4);
  assert.equal(rows[0].id, 20);
  assert.deepEqual(rows.map((r) => r.rank), rows.map((r) => r.rank).sort((a, b) => a - b));
  db.prepare("UPDATE documents SET content = 'replaced words' WHERE id = 20").run();
  assert.deepEqual(db.prepare("SELECT id, snippet FROM doc_search('replaced')").all(),
    [{ id: 20, snippet: '[replaced] words' }]);
  assert.equal(JSON.parse(db.prepare('SELECT doc_get(20)').pluck().get()).version, 2);
});

test('bad input gives clear errors', (t) => {
  const db = openDatabase(t);
  assert.throws(() => db.prepare('SELECT doc_get(?)').get('1'),
    /doc_get: expected an integer document id, got text/);
  assert.throws(() => db.prepare('SELECT doc_get(?)').get(1.5),
    /doc_get: expected an integer document id, got a real/);
  assert.throws(() => db.prepare('SELECT * FROM doc_search(?)').all(''),
    /doc_search: the query must be non-empty text/);
  assert.throws(() => db.prepare('SELECT * FROM doc_search(?)').all('"open'),
    /doc_search: cannot run full-text query/);
  assert.throws(() => db.prepare("INSERT INTO documents(title, metadata) VALUES ('x', '{')").run(),
    /metadata_is_json/);
  assert.equal(db.prepare('SELECT count(*) FROM documents').pluck().get(), 0);
});

test('a better-sqlite3 connection without docstore writes; the cache follows', (t) => {
  const db = openDatabase(t);
  db.pragma('journal_mode = WAL');
  db.exec("INSERT INTO documents(id, title) VALUES (1, 'one'), (2, 'two')");
  const get = db.prepare('SELECT doc_get(?) AS doc');
  const doc = (id) => JSON.parse(get.get(id).doc ?? 'null');
  const hits = () => Number(db.prepare("SELECT value FROM docstore_stats WHERE name = 'hits'").get().value);
  assert.equal(doc(1).title, 'one');
  assert.equal(doc(2).title, 'two');
  const before = hits();
  assert.equal(doc(1).title, 'one');
  assert.equal(hits(), before + 1);

  const plain = new Database(db.name);  // never loads docstore
  t.after(() => plain.close());
  plain.prepare("UPDATE documents SET title = 'changed by node' WHERE id = 1").run();
  plain.prepare('DELETE FROM documents WHERE id = 2').run();
  plain.prepare("INSERT INTO documents(id, title) VALUES (3, 'three')").run();
  assert.equal(doc(1).title, 'changed by node');
  assert.equal(doc(2), null);
  assert.equal(doc(3).title, 'three');
  const again = hits();
  assert.equal(doc(3).title, 'three');
  assert.equal(hits(), again + 1);
});
