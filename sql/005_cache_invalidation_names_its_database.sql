-- docstore schema, migration 5: the cache triggers say which database they
-- belong to.
--
-- A connection keeps the shared cache of its main database only. Triggers of
-- a database ATTACHed to it fire too, and would invalidate the main
-- database's cache instead of their own: they now pass their own database_id
-- (a trigger reads the tables of its own database), and docstore_invalidate()
-- refuses a write whose database is not the connection's main one.

DROP TRIGGER documents_cache_insert;
DROP TRIGGER documents_cache_update;
DROP TRIGGER documents_cache_delete;

CREATE TRIGGER documents_cache_insert AFTER INSERT ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(NEW.id, (SELECT value FROM docstore_clock WHERE id = 1),
                             (SELECT value FROM docstore_meta WHERE key = 'database_id'));
END;

CREATE TRIGGER documents_cache_update AFTER UPDATE ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(OLD.id, (SELECT value FROM docstore_clock WHERE id = 1),
                             (SELECT value FROM docstore_meta WHERE key = 'database_id'));
  SELECT docstore_invalidate(NEW.id, (SELECT value FROM docstore_clock WHERE id = 1),
                             (SELECT value FROM docstore_meta WHERE key = 'database_id'))
   WHERE NEW.id <> OLD.id;
END;

CREATE TRIGGER documents_cache_delete AFTER DELETE ON documents
BEGIN
  UPDATE docstore_clock SET value = value + 1 WHERE id = 1;
  SELECT docstore_invalidate(OLD.id, (SELECT value FROM docstore_clock WHERE id = 1),
                             (SELECT value FROM docstore_meta WHERE key = 'database_id'));
END;
