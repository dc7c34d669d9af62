"""docstore for Python's sqlite3 module.

    import sqlite3, docstore
    conn = sqlite3.connect("docs.db")
    docstore.load(conn)
    conn.execute("SELECT docstore_init()")
    print(conn.execute("SELECT doc_get(1)").fetchone()[0])

It needs a Python whose sqlite3 can load extensions: Debian's
/usr/bin/python3 can; a Python built without SQLITE_ENABLE_LOAD_EXTENSION
(pyenv's, often) has no Connection.enable_load_extension, and load() says so.
"""
import os

__version__ = "@VERSION@"


def loadable_path():
    """The path of the docstore loadable extension in this package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "docstore.so")


def load(conn):
    """Loads docstore into the sqlite3 connection `conn`; returns it."""
    if not hasattr(conn, "enable_load_extension"):
        raise RuntimeError(
            "this Python's sqlite3 cannot load extensions (built without "
            "SQLITE_ENABLE_LOAD_EXTENSION); use one that can, such as Debian's /usr/bin/python3"
        )
    conn.enable_load_extension(True)
    try:
        conn.load_extension(loadable_path())
    finally:
        conn.enable_load_extension(False)
    return conn
