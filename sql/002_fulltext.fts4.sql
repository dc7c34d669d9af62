-- docstore schema, migration 2 (runtimes without FTS5, e.g. SQLCipher 3.4):
-- the same full-text index as FTS4 with external content, kept in sync by
-- triggers. doc_search hides the difference.

CREATE VIRTUAL TABLE documents_fts USING fts4(content='documents', title, content);

INSERT INTO documents_fts(docid, title, content)
  SELECT id, title, content FROM documents;

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents
BEGIN
  INSERT INTO documents_fts(docid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
END;

-- FTS4 reads the old text from the content table to un-index it, so the
-- delete has to run BEFORE the row changes.
CREATE TRIGGER documents_fts_delete BEFORE DELETE ON documents
BEGIN
  DELETE FROM documents_fts WHERE docid = OLD.id;
END;

CREATE TRIGGER documents_fts_update_before BEFORE UPDATE OF id, title, content ON documents
BEGIN
  DELETE FROM documents_fts WHERE docid = OLD.id;
END;

CREATE TRIGGER documents_fts_update AFTER UPDATE OF id, title, content ON documents
BEGIN
  INSERT INTO documents_fts(docid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
END;
