"""A read-only replica served through the cache, with real processes.

What a replica does (LiteFS applies a primary's pages, Litestream restores
them) is simulated with the backup API: a replicator process copies the
primary onto the replica file page by page, over and over, while a writer
without docstore changes the primary. Readers open the replica read-only
(mode=ro) with docstore loaded and call doc_get; each first reads the
document's version straight from the replica, then doc_get, which must not
be older (a stale read). A supervisor kill -9s readers and the replicator all
along. Passes when 100000 reads were checked over more distinct documents
than the pending-access table holds, none failed, none was stale, and the
cache served hits.

Run: /usr/bin/python3 tests/clients/replica_test.py (DOCSTORE_EXTENSION names
the extension without its .so).
"""
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time

EXTENSION = os.environ.get("DOCSTORE_EXTENSION", "build/docstore")
# A small segment, whose pending-access table (one slot per 256 bytes) holds
# fewer documents than the test reads; every process inherits it.
os.environ["DOCSTORE_CACHE_BYTES"] = str(1 << 20)
os.environ["DOCSTORE_CACHE_MAX_ENTRY_BYTES"] = str(64 << 10)
DOCUMENTS = 6000        # more than the pending table's 4096 slots at 1 MiB
MIN_READS = 100_000
READERS = 3


def connect_replica(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXTENSION)
    return db


def orphaned(parent):
    """A child whose supervisor is gone stops too (nothing else would stop it)."""
    return os.getppid() != parent


# Nothing shared here takes a lock: a process killed holding one (a
# multiprocessing Value's, Event's or Queue's) would hang every other.
def stopping(stop, parent):
    return stop.value != 0 or orphaned(parent)


def writer(primary, stop, parent):
    db = sqlite3.connect(primary, isolation_level=None)  # never loads docstore
    rng = random.Random(1)
    while not stopping(stop, parent):
        doc = rng.randrange(1, DOCUMENTS + 1)
        db.execute("UPDATE documents SET content = 'k=' || (version + 1) WHERE id = ?", (doc,))
        time.sleep(0.001)


def replicator(primary, replica, stop, copies, parent):
    source = sqlite3.connect(primary)
    target = sqlite3.connect(replica, timeout=5)
    while not stopping(stop, parent):
        source.backup(target)  # in one step: a source written meanwhile would restart it
        copies.value += 1
        if copies.value % 10 == 0:
            # Readers that never pause would keep the WAL from restarting.
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        time.sleep(0.02)


def reader(replica, slot, seed, stop, reads, stale, failures, parent):
    # Counters without locks (a process killed holding a lock would hang the
    # others): each reader adds to its own slot only.
    db = connect_replica(replica)
    rng = random.Random(seed)
    while not stopping(stop, parent):
        doc = rng.randrange(1, DOCUMENTS + 1)
        (before,) = db.execute("SELECT version FROM documents WHERE id = ?", (doc,)).fetchone()
        try:
            (text,) = db.execute("SELECT doc_get(?)", (doc,)).fetchone()
        except sqlite3.Error as error:
            failures[slot] += 1
            print(f"  doc_get failed: {error}", file=sys.stderr, flush=True)
            continue
        got = json.loads(text)["version"]
        reads[slot] += 1
        if got < before:
            stale[slot] += 1
            print(f"  stale: doc {doc}: doc_get gave version {got} after the replica had {before}",
                  file=sys.stderr, flush=True)


def main():
    work = tempfile.mkdtemp(prefix="docstore-replica-")
    primary, replica = os.path.join(work, "primary.db"), os.path.join(work, "replica.db")
    db = sqlite3.connect(primary, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXTENSION)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("SELECT docstore_init()")
    db.execute("BEGIN")
    db.executemany("INSERT INTO documents(id, title, content) VALUES (?, 'doc', 'k=1')",
                   ((i,) for i in range(1, DOCUMENTS + 1)))
    db.execute("COMMIT")
    db.close()
    with sqlite3.connect(primary) as source, sqlite3.connect(replica) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode = WAL")
    # The replicator's connection keeps the replica's -shm in place, which
    # read-only connections need.
    stop = multiprocessing.RawValue("b", 0)
    reads, stale, failures = (multiprocessing.RawArray("q", READERS) for _ in range(3))
    copies = multiprocessing.RawValue("q", 0)
    parent = os.getpid()
    spawn = {
        "writer": lambda: multiprocessing.Process(target=writer, args=(primary, stop, parent)),
        "replicator": lambda: multiprocessing.Process(target=replicator,
                                                      args=(primary, replica, stop, copies, parent)),
    }
    seed = iter(range(10, 100000))
    processes = {name: make() for name, make in spawn.items()}
    def new_reader(slot):
        return multiprocessing.Process(target=reader, args=(replica, slot, next(seed), stop, reads, stale,
                                                            failures, parent))
    readers = [new_reader(slot) for slot in range(READERS)]
    for p in list(processes.values()) + readers:
        p.start()
    rng = random.Random(7)
    kills = 0
    deadline = time.time() + 240
    wal = replica + "-wal"
    while (sum(reads) < MIN_READS or kills < 30) and sum(stale) == 0 and sum(failures) == 0 \
            and time.time() < deadline and os.path.getsize(wal) < (512 << 20):
        time.sleep(0.05 + rng.random() * 0.1)
        if rng.random() < 0.7:
            i = rng.randrange(READERS)
            os.kill(readers[i].pid, signal.SIGKILL)
            readers[i].join()
            readers[i] = new_reader(i)
            readers[i].start()
        else:
            os.kill(processes["replicator"].pid, signal.SIGKILL)
            processes["replicator"].join()
            processes["replicator"] = spawn["replicator"]()
            processes["replicator"].start()
        kills += 1
    stop.value = 1
    for p in list(processes.values()) + readers:
        p.join(30)
    check = connect_replica(replica)
    stats = dict(check.execute("SELECT name, value FROM docstore_stats").fetchall())
    check.close()
    print(f"replica: {sum(reads)} reads checked over {DOCUMENTS} documents, {copies.value} copies applied, "
          f"{kills} processes killed, {sum(stale)} stale, {sum(failures)} failed; "
          f"hits={stats.get('hits')} catch_ups={stats.get('catch_ups')} cache_resets={stats.get('cache_resets')} "
          f"pending_capacity={stats.get('pending_capacity')} access_counting={stats.get('access_counting')!r}")
    wal_bytes = os.path.getsize(wal)
    segment = stats.get("segment")
    if segment:
        try:
            os.unlink("/dev/shm" + segment)
        except FileNotFoundError:
            pass
    shutil.rmtree(work)
    ok = (wal_bytes < (512 << 20) and sum(reads) >= MIN_READS and sum(stale) == 0 and sum(failures) == 0 and int(stats["hits"]) > 0
          and int(stats["pending_capacity"]) < DOCUMENTS and copies.value > 0)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
