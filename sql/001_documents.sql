-- docstore schema, migration 1: documents, their access statistics, the audit log.
--
-- Plain SQL only: these triggers must keep working when the database is written
-- by a connection that never loaded docstore (the plain sqlite3 shell). The one
-- function used outside JSON1's absence is json_valid(), which docstore itself
-- registers when the runtime has no JSON1 (SQLCipher 3.4 / SQLite 3.15).

CREATE TABLE documents (
  id           INTEGER PRIMARY KEY CHECK (id > 0),
  title        TEXT NOT NULL DEFAULT '',
  content      TEXT NOT NULL DEFAULT '',
  metadata     TEXT NOT NULL DEFAULT '{}'
               CONSTRAINT metadata_is_json CHECK (json_valid(metadata)),
  content_type TEXT NOT NULL DEFAULT 'text/plain',
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  version      INTEGER NOT NULL DEFAULT 1
);

-- Kept apart from documents so that flushing access counts never rewrites a
-- document row, bumps its version or invalidates a cached copy of it.
CREATE TABLE document_access (
  doc_id        INTEGER PRIMARY KEY,
  access_count  INTEGER NOT NULL DEFAULT 0,
  last_accessed TEXT
);

CREATE TABLE document_audit (
  seq     INTEGER PRIMARY KEY,
  doc_id  INTEGER NOT NULL,
  op      TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  version INTEGER NOT NULL,
  at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX document_audit_by_doc ON document_audit(doc_id, seq);

-- INSERT OR REPLACE (and UPSERT, and INSERT OR IGNORE) onto an existing id
-- would delete the old row without firing the delete triggers unless
-- recursive_triggers is on, leaving the full-text index and the audit log
-- wrong. So an insert onto an existing id is refused, whatever its conflict
-- clause: overwrite a document with UPDATE.
CREATE TRIGGER documents_insert_existing_id BEFORE INSERT ON documents
WHEN EXISTS (SELECT 1 FROM documents WHERE id = NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'documents: a document with this id exists; use UPDATE to change it');
END;

-- Every write of a row moves its version forward. An UPDATE that did not set a
-- higher version itself gets OLD.version + 1. The WHEN clause also stops the
-- inner UPDATE from re-firing this trigger where recursive_triggers is on
-- (Debian's SQLite turns it on by default).
CREATE TRIGGER documents_version_bump AFTER UPDATE ON documents
WHEN NEW.version <= OLD.version
BEGIN
  UPDATE documents
     SET version = OLD.version + 1,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
   WHERE id = NEW.id;
END;

CREATE TRIGGER documents_audit_insert AFTER INSERT ON documents
BEGIN
  INSERT INTO document_audit(doc_id, op, version) VALUES (NEW.id, 'insert', NEW.version);
END;

-- Fires once per logical update: either on the inner UPDATE of
-- documents_version_bump, or on an UPDATE that raised the version itself.
CREATE TRIGGER documents_audit_update AFTER UPDATE ON documents
WHEN NEW.version > OLD.version
BEGIN
  INSERT INTO document_audit(doc_id, op, version) VALUES (NEW.id, 'update', NEW.version);
END;

CREATE TRIGGER documents_audit_delete AFTER DELETE ON documents
BEGIN
  INSERT INTO document_audit(doc_id, op, version) VALUES (OLD.id, 'delete', OLD.version);
  DELETE FROM document_access WHERE doc_id = OLD.id;
END;
