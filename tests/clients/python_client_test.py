"""docstore from Debian's /usr/bin/python3 and its sqlite3 module.

Run: /usr/bin/python3 tests/clients/python_client_test.py  (DOCSTORE_EXTENSION
names the extension without its .so; the pyenv python cannot load extensions).
"""
import json
import os
import random
import sqlite3
import tempfile
import unittest

EXTENSION = os.environ.get("DOCSTORE_EXTENSION", "build/docstore")

# Strings that are easy to get wrong in hand-written JSON.
TRICKY = [
    "",
    'quote " backslash \\ slash /',
    "tab\tnewline\nreturn\rformfeed\fbackspace\b",
    "".join(chr(c) for c in range(1, 32)),
    "nul\x00inside",
    "café naïve Ærøskøbing 日本語 العربية",
    "emoji 📚🚀 and U+2028\u2028 U+2029\u2029",
    "\x7f delete",
]


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = sqlite3.connect(os.path.join(self.dir.name, "docs.db"))
        self.db.enable_load_extension(True)
        self.db.load_extension(EXTENSION)
        self.db.enable_load_extension(False)
        self.db.execute("SELECT docstore_init()")

    def tearDown(self):
        self.db.close()
        self.dir.cleanup()

    def doc(self, doc_id):
        (text,) = self.db.execute("SELECT doc_get(?)", (doc_id,)).fetchone()
        return None if text is None else json.loads(text)

    def test_documents_round_trip_through_doc_get(self):
        rng = random.Random(2)
        written = {}
        with self.db:
            for i, title in enumerate(TRICKY + ["".join(rng.choice(TRICKY) for _ in range(3))
                                                for _ in range(20)], start=1):
                content = title[::-1] + " body " + str(i)
                metadata = {"index": i, "title": title, "nested": {"list": [1, 2.5, None, True]}}
                self.db.execute(
                    "INSERT INTO documents(id, title, content, metadata, content_type)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (i, title, content, json.dumps(metadata), "text/plain"))
                written[i] = (title, content, metadata)
        for doc_id, (title, content, metadata) in written.items():
            doc = self.doc(doc_id)
            self.assertEqual(doc["id"], doc_id)
            self.assertEqual(doc["title"], title)
            self.assertEqual(doc["content"], content)
            self.assertEqual(doc["metadata"], metadata)
            self.assertEqual(doc["content_type"], "text/plain")
            self.assertEqual(doc["version"], 1)
            self.assertEqual(doc["access_count"], 0)
            self.assertIsNone(doc["last_accessed"])
            self.assertRegex(doc["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIsNone(self.doc(10_000))
        self.assertIsNone(self.doc(None))

    def test_updates_show_in_doc_get_and_search(self):
        with self.db:
            self.db.execute("INSERT INTO documents(id, title, content) VALUES (1, 'Alpha', 'first draft')")
        with self.db:
            self.db.execute("UPDATE documents SET content = 'final version' WHERE id = 1")
        doc = self.doc(1)
        self.assertEqual(doc["content"], "final version")
        self.assertEqual(doc["version"], 2)
        rows = self.db.execute("SELECT id, title, snippet FROM doc_search('final')").fetchall()
        self.assertEqual(rows, [(1, "Alpha", "[final] version")])
        self.assertEqual(self.db.execute("SELECT count(*) FROM doc_search('draft')").fetchone(), (0,))

    def stat(self, name):
        (value,) = self.db.execute("SELECT value FROM docstore_stats WHERE name = ?", (name,)).fetchone()
        return value

    def test_writers_without_docstore_keep_the_cache_coherent(self):
        path = os.path.join(self.dir.name, "docs.db")
        self.db.execute("PRAGMA journal_mode = WAL")
        with self.db:
            self.db.execute("INSERT INTO documents(id, title) VALUES (1, 'one'), (2, 'two')")
        self.assertEqual(self.doc(1)["title"], "one")
        self.assertEqual(self.doc(2)["title"], "two")
        old_copy = os.path.join(self.dir.name, "old.db")
        with sqlite3.connect(old_copy) as copy:
            self.db.backup(copy)
        hits = int(self.stat("hits"))
        self.assertEqual(self.doc(1)["title"], "one")
        self.assertEqual(int(self.stat("hits")), hits + 1)  # served from the cache

        # A connection that never loaded docstore writes.
        plain = sqlite3.connect(path, isolation_level=None)
        plain.execute("UPDATE documents SET title = 'changed plainly' WHERE id = 1")
        plain.execute("DELETE FROM documents WHERE id = 2")
        plain.execute("INSERT INTO documents(id, title, metadata) VALUES (3, 'three', '{\"k\":1}')")
        self.assertEqual(self.doc(1)["title"], "changed plainly")
        self.assertIsNone(self.doc(2))
        self.assertEqual(self.doc(3)["metadata"], {"k": 1})
        hits = int(self.stat("hits"))
        self.assertEqual(self.doc(1)["title"], "changed plainly")
        self.assertEqual(int(self.stat("hits")), hits + 1)  # and cached again

        # The backup API restores the older copy over it, page by page.
        with sqlite3.connect(old_copy) as copy:
            copy.backup(plain)
        self.assertEqual(self.doc(1)["title"], "one")
        self.assertEqual(self.doc(2)["title"], "two")
        self.assertIsNone(self.doc(3))
        self.assertGreaterEqual(int(self.stat("cache_resets")), 1)  # another history: cleared
        plain.close()

        # sqlite3_blob_write would change a document unseen: SQLite refuses it.
        plain = sqlite3.connect(path)
        with self.assertRaisesRegex(sqlite3.OperationalError, "indexed column"):
            plain.blobopen("documents", "content", 1)
        plain.close()

    def test_search_ranks_and_limits(self):
        with self.db:
            for i in range(1, 31):
                self.db.execute("INSERT INTO documents(id, title, content) VALUES (?, ?, ?)",
                                (i, f"doc {i}", "word " * i + "filler " * 20))
        rows = self.db.execute("SELECT id, rank FROM doc_search('word') LIMIT 3").fetchall()
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[0][0], 30)
        self.assertEqual([r[1] for r in rows], sorted(r[1] for r in rows))

    def test_bad_input_raises_clear_errors(self):
        cases = [
            ("SELECT doc_get(?)", ("7",), "doc_get: expected an integer document id, got text"),
            ("SELECT doc_get(?)", (7.5,), "doc_get: expected an integer document id, got a real"),
            ("SELECT doc_get(?)", (b"\x07",), "doc_get: expected an integer document id, got a blob"),
            ("SELECT * FROM doc_search(?)", ("",), "doc_search: the query must be non-empty text"),
            ("SELECT * FROM doc_search(?)", (None,), "doc_search: the query must be non-empty text"),
            ("SELECT * FROM doc_search(?)", ('"open',), "doc_search: cannot run full-text query"),
            ("INSERT INTO documents(title, metadata) VALUES ('x', ?)", ("{nope",), "metadata_is_json"),
        ]
        for sql, params, message in cases:
            with self.subTest(sql=sql, params=params):
                with self.assertRaises(sqlite3.Error) as raised:
                    self.db.execute(sql, params).fetchall()
                self.assertIn(message, str(raised.exception))
        self.assertEqual(self.db.execute("SELECT count(*) FROM documents").fetchone(), (0,))


if __name__ == "__main__":
    unittest.main(verbosity=2)
