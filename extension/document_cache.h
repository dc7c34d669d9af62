// The shared cache of documents as the extension uses it: one shmcache
// segment per database file, shared by every process and connection that
// opens that file, holding each document's doc_get JSON.
//
// One segment per database. The segment is named after the main database
// file's device and inode and the database_id that migration 3 stores in
// docstore_meta: two paths to one file meet in one segment; two files never
// do, not even when a deleted file's inode is reused (its database_id
// differs), nor a copy of a file (its inode differs).
//
// Coherence (DESIGN.md invariant 1). Every document write runs the schema's
// trigger, which bumps docstore_clock inside the writer's transaction and calls
// Invalidate(id, clock) before the writer commits: the cached copy is erased
// and the segment's fence is raised to `clock`. A reader fills the cache only
// with a row it read together with docstore_clock in one snapshot, and only if
// that snapshot clock is at or past the fence, checked under the same shard
// lock as the insert. So:
//   - a reader whose snapshot predates a write, committed or in flight, is
//     refused (its clock is below the fence that write raised);
//   - a fill that raced ahead of the fence raise is erased by the same
//     Invalidate, which raises the fence before it erases;
//   - an uncommitted row is never filled: readers fill only when their
//     connection has no write transaction open (see CanFillFrom).
// A rolled-back write leaves the fence above the database's clock until the
// next write catches up: fills are refused meanwhile, which costs speed only.
//
// A segment that exists but cannot be used (another user's, another layout
// version, damaged) makes writes fail with a message saying so: processes
// that can use it would otherwise keep serving what those writes replaced.
// Reads then go to the database.
#ifndef DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_
#define DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "entry_cipher.h"
#include "shmcache/shmcache.h"

namespace docstore {

struct CacheSettings {
  uint64_t capacity_bytes = 64ull << 20;
  uint64_t max_entry_bytes = 1ull << 20;
  mode_t mode = 0600;
  bool enabled = true;  // false: never read or fill (writes still invalidate)
  uint32_t pending_slots = 0;  // documents with pending accesses; 0: shmcache's default
};

// Settings for segments this process creates from now on. They start from
// the environment (DOCSTORE_CACHE_BYTES, DOCSTORE_CACHE_MAX_ENTRY_BYTES,
// DOCSTORE_CACHE_MODE in octal, DOCSTORE_CACHE=off, DOCSTORE_PENDING_SLOTS)
// and can be changed by
// docstore_cache_config() until this process attaches its first segment.
CacheSettings CurrentCacheSettings();
// False, with *error, for settings no segment can have or once a segment is
// attached (the sizes of an existing segment are the creator's anyway).
bool SetCacheSettings(const CacheSettings& settings, std::string* error);
// Why the environment's settings were not taken, or "".
std::string CacheSettingsEnvironmentError();

// A cached document is the doc_get JSON cut before its access fields,
// followed by a fixed trailer that holds those fields as flushed so far: a
// flush rewrites the trailer in place (UpdateAccess), so counting accesses
// never evicts a document or makes it be read again, and a hit turns the
// trailer into JSON where it lies.
inline constexpr size_t kIsoTimeBytes = 24;  // "2026-11-24T19:30:00.000Z"

class DocumentCache {
 public:
  struct AttachFailure {
    std::string reason;
    bool refuse_writes = false;  // a segment exists that this process cannot keep coherent
    bool retry = false;          // worth trying again on the next use
  };

  // The cache of the database file `path` (device and inode read from it)
  // with docstore_meta's `database_id`; shared by every connection of this
  // process to that file. nullptr and *failure when there is none.
  // `encrypted`: the database is keyed, and its documents must not be in
  // shared memory in plaintext: they are sealed under `cache_key` (64 hex
  // digits, docstore_meta.cache_key), or not cached when there is none.
  static std::shared_ptr<DocumentCache> ForDatabase(const std::string& path,
                                                    const std::string& database_id, bool encrypted,
                                                    const std::string& cache_key, AttachFailure* failure);

  // `reads_off` non-empty: never serve or fill (it says why); the segment
  // is still kept coherent and counts accesses.
  DocumentCache(std::unique_ptr<shmcache::Segment> segment, bool encrypted,
                std::unique_ptr<EntryCipher> cipher, std::string reads_off);

  bool reads_enabled() const { return reads_off_.empty(); }
  bool encrypted() const { return encrypted_; }
  shmcache::Segment* segment() const { return segment_.get(); }

  // On a hit, writes the document's JSON into allocate(capacity) (which may
  // be called more than once; the last buffer counts) and returns its length.
  // 0 on a miss.
  size_t Get(int64_t id, const std::function<char*(size_t capacity)>& allocate);
  bool Get(int64_t id, std::string* json);
  // Caches a document: `json_head` is its JSON up to its access fields,
  // `access_count` and `last_accessed` (nullptr for null) their values, all
  // read in a snapshot whose docstore_clock was `snapshot_clock`. Refused
  // when a write newer than that snapshot has fenced it, or when
  // last_accessed is not the ISO time docstore writes.
  void Fill(int64_t id, std::string_view json_head, int64_t access_count, const char* last_accessed,
            int64_t version, int64_t snapshot_clock);
  // After a flush committed: the document's access fields as they now are.
  void UpdateAccess(int64_t id, int64_t access_count, const char* last_accessed);
  void Invalidate(int64_t id, int64_t clock);
  // Drops every entry; returns how many there were.
  uint64_t Clear();
  // Counts one access to `id` now. kOk, or shmcache's kFull when the pending
  // table must be flushed first.
  shmcache::Status RecordAccess(int64_t id);

  bool Lookup(int64_t id, shmcache::EntryInfo* info);
  void ForEach(const std::function<void(const shmcache::EntryInfo&)>& visit);
  // (name, value) rows for docstore_stats: the cache's and the access
  // counting's.
  std::vector<std::pair<std::string, std::string>> Stats();

 private:
  std::unique_ptr<shmcache::Segment> segment_;
  const bool encrypted_;
  const std::unique_ptr<EntryCipher> cipher_;  // set for an encrypted database's entries
  const std::string reads_off_;
};

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_DOCUMENT_CACHE_H_
