"""A suite worker in Debian's /usr/bin/python3, as the report's users would
run one: the five designs of designs.h through the sqlite3 module (docstore
loaded with load_extension) and python3-redis, with the arguments, the
stale-read check and the result line of processes.h (a get that raises or returns None
counts as failed, not stale).

  /usr/bin/python3 worker.py DESIGN DATABASE EXTENSION REDIS_SOCKET IDS_FILE
      VERSIONS_FILE OFFSET WARMUP OPS READY_FD START_FD RESULT_FD

The comparison designs' SQL comes from the environment the suite sets
(DOCSTORE_BENCH_POINT_SQL, DOCSTORE_BENCH_COUNT_SQL): one home, bench_sqlite.h.
"""
import array
import collections
import mmap
import os
import sqlite3
import sys
import threading
import time

POINT_SQL = os.environ["DOCSTORE_BENCH_POINT_SQL"]
COUNT_SQL = os.environ["DOCSTORE_BENCH_COUNT_SQL"]


def connect(database, extension=None):
    db = sqlite3.connect(database, isolation_level=None, timeout=10, check_same_thread=False)
    if extension:
        db.enable_load_extension(True)
        db.load_extension(extension)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def write(db, sql, *args):
    """Runs a statement that writes, again while the write lock stays busy past
    the timeout, as designs.cc's StepWrite does: no access count is dropped."""
    while True:
        try:
            return db.execute(sql, *args)
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise


def docstore(database, extension, _socket):
    db = connect(database, extension)
    return lambda doc_id: db.execute("SELECT doc_get(?)", (doc_id,)).fetchone()[0], None


def plain(database, _extension, _socket):
    db = connect(database)
    return lambda doc_id: db.execute(POINT_SQL, (doc_id,)).fetchone()[0], None


def pass1(database, _extension, _socket):
    db = connect(database)

    def get(doc_id):
        json = db.execute(POINT_SQL, (doc_id,)).fetchone()[0]
        write(db, COUNT_SQL, (doc_id,))
        return json

    return get, None


def pass2(database, _extension, _socket, capacity=10000, batch=100):
    db = connect(database)
    flush_db = connect(database)
    lru = collections.OrderedDict()
    queue = []
    cond = threading.Condition()
    stopping = [False]

    def flush_loop():
        while True:
            with cond:
                cond.wait_for(lambda: stopping[0] or len(queue) >= batch)
                if stopping[0] and not queue:
                    return
                ids, queue[:] = queue[:batch], queue[batch:]
            write(flush_db, "BEGIN IMMEDIATE")
            for i in ids:
                write(flush_db, COUNT_SQL, (i,))
            write(flush_db, "COMMIT")

    flusher = threading.Thread(target=flush_loop)
    flusher.start()

    def get(doc_id):
        json = lru.get(doc_id)
        if json is None:
            json = db.execute(POINT_SQL, (doc_id,)).fetchone()[0]
            lru[doc_id] = json
            if len(lru) > capacity:
                lru.popitem(last=False)
        else:
            lru.move_to_end(doc_id)
        with cond:
            queue.append(doc_id)
            if len(queue) >= batch:
                cond.notify()
        return json

    def finish():
        with cond:
            stopping[0] = True
            cond.notify()
        flusher.join()

    return get, finish


def redis_design(database, _extension, socket):
    import redis
    db = connect(database)
    client = redis.Redis(unix_socket_path=socket)

    def get(doc_id):
        key = b"doc:%d" % doc_id
        json = client.get(key)
        if json is not None:
            return json.decode()
        json = db.execute(POINT_SQL, (doc_id,)).fetchone()[0]
        client.set(key, json)
        return json

    return get, None


DESIGNS = {"docstore": docstore, "plain": plain, "pass1": pass1, "pass2": pass2, "redis": redis_design}


def version_of(json):
    at = json.rfind('"version":')
    if at < 0:
        return -1
    end = at + 10
    while json[end].isdigit():
        end += 1
    return int(json[at + 10:end])


def resident_kb():
    rss = anon = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    return rss, anon


def main():
    (design, database, extension, socket, ids_file, versions_file, offset, warmup, ops, ready_fd, start_fd,
     result_fd) = sys.argv[1:]
    offset, warmup, ops = int(offset), int(warmup), int(ops)
    ids = array.array("q")
    with open(ids_file, "rb") as f:
        ids.frombytes(f.read())
    mask = len(ids) - 1
    with open(versions_file, "rb") as f:
        versions = memoryview(mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)).cast("q")
    get, finish = DESIGNS[design](database, extension, socket)
    for i in range(warmup):
        get(ids[(offset + len(ids) - warmup + i) & mask])
    os.write(int(ready_fd), b"r")
    os.read(int(start_fd), 1)
    stale = failed = 0
    begin = time.perf_counter_ns()
    for i in range(ops):
        doc_id = ids[(offset + i) & mask]
        committed = versions[doc_id]
        try:
            json = get(doc_id)
        except sqlite3.Error as e:
            if not failed:
                print(f"{design} worker: get {doc_id} failed: {e}", file=sys.stderr)
            failed += 1
            continue
        if json is None:
            failed += 1
        elif version_of(json) < committed:
            stale += 1
    elapsed = time.perf_counter_ns() - begin
    rss, anon = resident_kb()
    if finish:
        finish()
    os.write(int(result_fd), b"%d %d %d %d %d %d\n" % (ops, elapsed, stale, rss, anon, failed))


if __name__ == "__main__":
    main()
