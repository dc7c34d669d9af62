// The second process of sqlcipher4_client_test.mjs: opens DATABASE with the
// key read from stdin, loads EXTENSION, reads document 1 once and prints
// {"hits": <cache hits that read made>, "doc": <the JSON>}.
//   node sqlcipher4_read_once.mjs DATABASE EXTENSION < key
import fs from 'node:fs';
import sqlcipher from '@journeyapps/sqlcipher';

const [file, extension] = process.argv.slice(2);
const key = fs.readFileSync(0, 'utf8');
const db = new sqlcipher.Database(file);
const get = (sql) => new Promise((resolve, reject) =>
  db.get(sql, (error, row) => (error ? reject(error) : resolve(row))));
const hitsSql = "SELECT CAST(value AS INTEGER) AS n FROM docstore_stats WHERE name = 'hits'";

await new Promise((resolve, reject) => db.run(`PRAGMA key = '${key}'`, (e) => (e ? reject(e) : resolve())));
await new Promise((resolve, reject) => db.loadExtension(extension, (e) => (e ? reject(e) : resolve())));
const before = (await get(hitsSql)).n;
const doc = (await get('SELECT doc_get(1) AS doc')).doc;
const after = (await get(hitsSql)).n;
process.stdout.write(JSON.stringify({ hits: after - before, doc }));
db.close();
