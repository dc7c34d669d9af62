-- docstore schema, migration 3: what keeps the shared cache coherent.
--
-- docstore_clock counts document writes. Every write bumps it and reports the
-- document and the new clock to docstore_invalidate(), which drops the cached
-- copy and raises the cache's fence to that clock. A reader fills the cache
-- only with a row read in a snapshot whose clock is at or past the fence, so a
-- reader whose snapshot predates a write (committed or still in flight) can
-- never plant the older version (see core/document_cache.h).
--
-- docstore_invalidate() exists only where docstore is loaded: a connection
-- without it (the plain sqlite3 shell) cannot write documents, and is told so
-- ("no such function: docstore_invalidate") before anything is written, rather
-- than leaving other processes' caches stale.

CREATE TABLE docstore_clock (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO docstore_clock(id, value) VALUES (1, 0);

-- Which database a cache segment belongs to: a segment is named after the
-- file's device and inode, and a deleted file's inode can be reused.
CREATE TABLE docstore_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO docstore_meta(key, value) VALUES ('database_id', lower(hex(randomblob(16))));

CREATE TRIGGER documents_cache_insert AFTER INSERT ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(NEW.id, (SELECT value FROM docstore_clock WHERE id = 1));
END;

CREATE TRIGGER documents_cache_update AFTER UPDATE ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(OLD.id, (SELECT value FROM docstore_clock WHERE id = 1));
  SELECT docstore_invalidate(NEW.id, (SELECT value FROM docstore_clock WHERE id = 1))
   WHERE NEW.id <> OLD.id;
END;

CREATE TRIGGER documents_cache_delete AFTER DELETE ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(OLD.id, (SELECT value FROM docstore_clock WHERE id = 1));
END;
