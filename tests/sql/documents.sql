-- The document lifecycle through plain SQL and docstore's functions, run in
-- the sqlite3 shell (docstore.so) and in the sqlcipher shell on a keyed
-- database (docstore_sqlcipher.so); both must print documents.expected.
SELECT 'init', docstore_init();
SELECT 'init again', docstore_init();

INSERT INTO documents(id, title, content, metadata, created_at, updated_at) VALUES
  (1, 'Shared memory', 'A cache that every process shares.', '{"tags":["ipc","cache"]}',
   '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  (2, 'Quotes "and" \backslashes', 'tab	and
newline', '{}', '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z'),
  (3, 'Unicode', 'caf' || char(233) || ' ' || char(128218), 'null',
   '2026-01-03T00:00:00.000Z', '2026-01-03T00:00:00.000Z');

SELECT doc_get(1);
SELECT doc_get(2);
SELECT doc_get(3);
SELECT 'all valid JSON', count(*) FROM documents WHERE json_valid(doc_get(id));
SELECT 'missing', doc_get(4) IS NULL, doc_get(NULL) IS NULL, doc_get(-1) IS NULL;

SELECT 'search cache', id, title, snippet FROM doc_search('cache');
SELECT 'search newline', id FROM doc_search('newline');

UPDATE documents SET content = 'A segment that every process maps.' WHERE id = 1;
SELECT 'after update', json_valid(doc_get(1)), version FROM documents WHERE id = 1;
SELECT 'search cache after update', count(*) FROM doc_search('cache');
SELECT 'search maps', id FROM doc_search('maps');

DELETE FROM documents WHERE id = 3;
SELECT 'after delete', doc_get(3) IS NULL, count(*) FROM doc_search('unicode');
SELECT 'audit', group_concat(doc_id || ':' || op || ':' || version, ' ')
  FROM (SELECT * FROM document_audit ORDER BY seq);

-- Bad input: each line is one error on stderr, nothing written.
SELECT doc_get('1');
SELECT doc_get(2.5);
SELECT doc_get(x'01');
SELECT * FROM doc_search('');
SELECT * FROM doc_search(NULL);
SELECT * FROM doc_search('"open');
INSERT INTO documents(title, metadata) VALUES ('bad', '{"a":');
SELECT 'documents left', count(*) FROM documents;
