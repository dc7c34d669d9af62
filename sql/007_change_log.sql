-- docstore schema, migration 7: the file itself says which documents changed.
--
-- Every document write, from any connection with or without docstore loaded,
-- bumps docstore_clock and logs the document and its new clock in
-- docstore_changes, inside the writer's own transaction. The triggers call no
-- function, so any tool may write documents; and the log is made of pages of
-- the file, so it travels with the data through the backup API, a restore, a
-- copy, or a replica applying a primary's pages. A process reading through
-- the shared cache notices that the file changed (core/file_watch.h) and
-- applies the log's new entries to the cache before it serves
-- (core/document_cache.h, "The coherence protocol").
--
-- The log keeps the last 10000 changes: logging a change deletes what fell
-- out of that window (docstore_changes_advance), so no one has to prune it
-- and it stays bounded on a replica that is never written by docstore. A cache that fell further
-- behind than that is cleared rather than brought up to date.
--
-- `tag` is random per change: a cache that applied the log up to clock N
-- checks that the file's change N still has the tag it saw, and so tells a
-- file that went on from where it left off from one replaced by another copy
-- that reached clock N by a different history.

CREATE TABLE docstore_changes (
  clock  INTEGER PRIMARY KEY,  -- docstore_clock's value after the change
  doc_id INTEGER,              -- the document written; NULL: every document
  tag    INTEGER NOT NULL
);

-- One home for the clock and the window: a change logged at the next clock
-- moves docstore_clock there and drops what fell out of the last 10000.
CREATE TRIGGER docstore_changes_advance AFTER INSERT ON docstore_changes
BEGIN
  UPDATE docstore_clock SET value = NEW.clock WHERE id = 1;
  DELETE FROM docstore_changes WHERE clock <= NEW.clock - 10000;
END;

DROP TRIGGER documents_cache_insert;
DROP TRIGGER documents_cache_update;
DROP TRIGGER documents_cache_delete;

CREATE TRIGGER documents_cache_insert AFTER INSERT ON documents
BEGIN
  INSERT INTO docstore_changes(clock, doc_id, tag)
    SELECT value + 1, NEW.id, random() FROM docstore_clock WHERE id = 1;
END;

CREATE TRIGGER documents_cache_update AFTER UPDATE ON documents
BEGIN
  INSERT INTO docstore_changes(clock, doc_id, tag)
    SELECT value + 1, OLD.id, random() FROM docstore_clock WHERE id = 1;
  INSERT INTO docstore_changes(clock, doc_id, tag)
    SELECT value + 1, NEW.id, random() FROM docstore_clock WHERE id = 1 AND NEW.id <> OLD.id;
END;

CREATE TRIGGER documents_cache_delete AFTER DELETE ON documents
BEGIN
  INSERT INTO docstore_changes(clock, doc_id, tag)
    SELECT value + 1, OLD.id, random() FROM docstore_clock WHERE id = 1;
END;

-- The log starts with a change of every document: a cache of this file from
-- before the log existed is cleared, not trusted.
INSERT INTO docstore_changes(clock, doc_id, tag) SELECT value + 1, NULL, random() FROM docstore_clock WHERE id = 1;

-- sqlite3_blob_write() changes a column in place and fires no trigger, so
-- nothing would log it. SQLite refuses to open for writing any column of a
-- table with an expression index, and this one is empty (WHERE 0) and never
-- used by a query: a blob write to documents fails with "cannot open indexed
-- column for writing" instead of going unseen. Reading blobs still works.
CREATE INDEX documents_no_blob_writes ON documents(id + 0) WHERE 0;
