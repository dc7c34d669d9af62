-- docstore schema, migration 2 (runtimes with FTS5): full-text index over
-- title and content, an external-content table kept in sync by triggers.

CREATE VIRTUAL TABLE documents_fts USING fts5(
  title, content, content='documents', content_rowid='id'
);

INSERT INTO documents_fts(rowid, title, content)
  SELECT id, title, content FROM documents;

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents
BEGIN
  INSERT INTO documents_fts(rowid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
END;

CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents
BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, content)
    VALUES ('delete', OLD.id, OLD.title, OLD.content);
END;

-- Only the indexed columns (and id): the version bump's inner UPDATE must not
-- re-index the row.
CREATE TRIGGER documents_fts_update AFTER UPDATE OF id, title, content ON documents
BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, content)
    VALUES ('delete', OLD.id, OLD.title, OLD.content);
  INSERT INTO documents_fts(rowid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
END;
