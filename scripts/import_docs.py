"""Imports real text files into a docstore database.

  /usr/bin/python3 scripts/import_docs.py DB EXTENSION [SOURCE_DIR]

Every README, changelog, copyright notice, .md and .txt file under SOURCE_DIR
(default /usr/share/doc, gzipped ones included) becomes one document: title
"package/file", the text as content, and where it came from as metadata.
Writes go through plain SQL in batched transactions; docstore's triggers keep
the full-text index and the audit log in step.
"""
import gzip
import json
import os
import sqlite3
import sys
import time

MAX_CONTENT_BYTES = 512 * 1024  # a few huge changelogs would dominate otherwise
BATCH = 500


def wanted(name):
    base = name[:-3] if name.endswith(".gz") else name
    lower = base.lower()
    return (lower.startswith(("readme", "changelog", "news", "copyright"))
            or lower.endswith((".md", ".txt", ".rst")))


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read(MAX_CONTENT_BYTES + 1)
    truncated = len(data) > MAX_CONTENT_BYTES
    return data[:MAX_CONTENT_BYTES].decode("utf-8", errors="replace"), truncated


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    db_path, extension = sys.argv[1], sys.argv[2]
    source = sys.argv[3] if len(sys.argv) == 4 else "/usr/share/doc"
    paths = []
    for root, _dirs, files in os.walk(source):
        paths.extend(os.path.join(root, f) for f in sorted(files) if wanted(f))
    paths.sort()

    db = sqlite3.connect(db_path)
    db.enable_load_extension(True)
    db.load_extension(extension)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("SELECT docstore_init()")

    started = time.monotonic()
    imported = skipped = total_bytes = 0
    cur = db.cursor()
    for i, path in enumerate(paths, start=1):
        try:
            text, truncated = read_text(path)
        except (OSError, EOFError, gzip.BadGzipFile):
            skipped += 1
            continue
        if not text.strip():
            skipped += 1
            continue
        rel = os.path.relpath(path, source)
        package = rel.split(os.sep, 1)[0]
        name = os.path.basename(path)
        content_type = "text/markdown" if name.lower().endswith((".md", ".md.gz")) else "text/plain"
        metadata = {"package": package, "path": path, "bytes": len(text.encode()),
                    "truncated": truncated}
        cur.execute(
            "INSERT INTO documents(title, content, metadata, content_type) VALUES (?, ?, ?, ?)",
            (rel, text, json.dumps(metadata), content_type))
        imported += 1
        total_bytes += metadata["bytes"]
        if i % BATCH == 0 or i == len(paths):
            db.commit()
            print(f"\rimporting: {i}/{len(paths)} files, {imported} documents, "
                  f"{total_bytes / 2**20:.1f} MiB", end="", file=sys.stderr, flush=True)
    db.commit()
    elapsed = time.monotonic() - started
    print(f"\nimported {imported} documents ({total_bytes / 2**20:.1f} MiB) from {source} "
          f"in {elapsed:.1f} s; skipped {skipped} empty or unreadable files", file=sys.stderr)
    db.close()


if __name__ == "__main__":
    main()
