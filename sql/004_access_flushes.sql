-- docstore schema, migration 4: what makes deferred access counting exact.
--
-- doc_get and doc_touch count accesses in the database's shared-memory
-- segment; a flush (docstore-sidecar, or doc_flush()) writes them into
-- document_access in one transaction together with, per segment shard, the
-- sequence number of the batch it wrote. A flush killed at any instant either
-- committed both or neither, and the next flush skips a batch whose number is
-- already here: every access is counted exactly once.
-- `instance` is the segment's random id: a new segment starts numbering anew.

CREATE TABLE docstore_access_flushes (
  instance INTEGER NOT NULL,
  shard    INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  PRIMARY KEY (instance, shard)
);
