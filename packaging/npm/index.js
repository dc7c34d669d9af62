'use strict';
// docstore for Node: where the loadable extension is, and load(db) for the
// SQLite bindings people use (the sqlite-vec convention).
//
//   const Database = require('better-sqlite3');
//   const docstore = require('docstore');
//   const db = new Database('docs.db');
//   docstore.load(db);
//   db.prepare('SELECT docstore_init()').get();
const fs = require('node:fs');
const path = require('node:path');

// The extension built for this platform, as a path SQLite's
// load_extension takes.
function getLoadablePath() {
  const platform = `${process.platform}-${process.arch}`;
  const file = path.join(__dirname, 'lib', platform, 'docstore.so');
  if (!fs.existsSync(file)) {
    throw new Error(`docstore: this package has no build for ${platform} (it has linux-x64)`);
  }
  return file;
}

// Loads docstore into `db`:
//   better-sqlite3            db.loadExtension(path); returns db
//   node:sqlite DatabaseSync  opened with { allowExtension: true }; returns db
//   @journeyapps/sqlcipher,   loadExtension(path, callback); returns a Promise
//   sqlite3 (node-sqlite3)    of db, settled when it is loaded
function load(db) {
  if (db === null || typeof db !== 'object' || typeof db.loadExtension !== 'function') {
    throw new TypeError('docstore.load: expected a database object with loadExtension()');
  }
  const file = getLoadablePath();
  if (typeof db.parallelize === 'function') {
    return new Promise((resolve, reject) => {
      db.loadExtension(file, (error) => (error ? reject(error) : resolve(db)));
    });
  }
  if (typeof db.enableLoadExtension === 'function') db.enableLoadExtension(true);
  db.loadExtension(file);
  return db;
}

module.exports = { getLoadablePath, load };
