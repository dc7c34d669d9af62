-- docstore schema, migration 6: the key of the encrypted cache.
--
-- For an encrypted (SQLCipher) database, each document cached in shared
-- memory is sealed with AES-256-GCM under this random key. It lives inside
-- the database, so only a process that can open the database (it holds the
-- database key) can read the cache; the segment itself never holds it. For a
-- plain database it is unused.

INSERT INTO docstore_meta(key, value) VALUES ('cache_key', lower(hex(randomblob(32))));
