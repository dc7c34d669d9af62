// shmcache's attach (segment.cc: Segment::Impl::Attach, ValidateHeader) and
// everything a process then does with what it attached. The contract
// (shmcache.h): a foreign, truncated or damaged segment is refused with a
// Status, or served; damage costs cached data, never a crash or a wrong value.
//
// The input is damage to a valid segment: a list of edits, each aimed at one
// region (the header, the shard headers, the arenas of entries, the
// pending-access tables) or resizing the file. The harness builds the valid
// segment once (entries put, overwritten, erased and evicted so the rings
// wrap; accesses pending and a batch frozen; a source position published),
// keeps its bytes, and for each input writes them, damaged, into a shm object
// of its own and opens it with Segment::Open.
//
// What is checked, besides "no crash" (ASan, UBSan, a timeout for hangs):
//  - Open refuses with one of the attach statuses and a message, and always
//    attaches a segment whose header and size are intact;
//  - every value read is no larger than the limits, and has the bytes of
//    the version it is read with (values are a function of key and version);
//  - when no edit touched the shards (shard headers or arenas), each key reads
//    as what was put or a miss, an erased key misses, and every entry listed
//    is one that was put. (With the entries' own bytes damaged, a value can
//    read as whatever the damage wrote: shmcache keeps no checksum of values,
//    docstore seals what must not be forged.)
//  - whatever the damage: a Put followed by a Get reads that value or a miss;
//    after Clear every key misses; a published source position reads back.
//
// Not fuzzed: the bytes of the robust mutexes, which the edits leave as they
// were. A lock word naming a live thread (this one) makes every locked
// operation wait out its bound, turning a run into a timer; what a lock
// left by a dead or stuck holder does is the locks' own business, tested
// with real processes (segment_multiprocess_test.cc), not a matter of
// validating a layout.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "layout.h"
#include "shmcache/shmcache.h"

namespace {

using namespace shmcache;
namespace layout = shmcache::internal;

constexpr uint32_t kValueFormat = 7;
constexpr uint64_t kFreshKeys = 1'000'000;  // keys put after the damage

// A value is a function of its key and version, so a read can be checked.
// Its bytes (0xA0-0xAF) never look like a small key or chunk index.
size_t ValueLength(uint64_t key, uint64_t version) { return (key * 37 + version * 11) % 300; }
char ValueByte(uint64_t key, uint64_t version, size_t i) { return static_cast<char>(0xA0 + (key + version + i) % 16); }

std::string ValueOf(uint64_t key, uint64_t version) {
  std::string value(ValueLength(key, version), '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = ValueByte(key, version, i);
  return value;
}

// value == ValueOf(key, version), without making it.
bool IsValueOf(const std::string& value, uint64_t key, uint64_t version) {
  if (value.size() != ValueLength(key, version)) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != ValueByte(key, version, i)) return false;
  }
  return true;
}

struct Span {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

// The valid segment the damage is done to.
struct Base {
  std::string image;
  Limits limits{};
  std::map<uint64_t, uint64_t> live;  // key -> version of every entry in it
  Span regions[4];                    // header, shard headers, arenas, pending tables
  std::vector<Span> lock_words;
};

std::string ObjectName(const char* suffix) { return "/shmcache-fuzz-" + std::to_string(getpid()) + suffix; }

std::string ReadObject(const std::string& name) {
  const int fd = shm_open(name.c_str(), O_RDONLY, 0);
  FUZZ_CHECK(fd >= 0);
  std::string bytes;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) bytes.append(buffer, static_cast<size_t>(n));
  close(fd);
  return bytes;
}

void WriteObject(const std::string& name, const std::string& bytes) {
  const int fd = shm_open(name.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, static_cast<off_t>(bytes.size())) == 0);
  FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  close(fd);
}

// Makes a segment that has been through what a live one goes through.
Base MakeBase() {
  const std::string name = ObjectName("-base");
  Segment::Remove(name);
  Options options;
  options.capacity_bytes = 64 * 1024;
  options.max_entry_bytes = 512;
  options.shard_count = 2;
  options.pending_slots = 64;
  options.value_format = kValueFormat;
  Base base;
  {
    Error error;
    auto segment = Segment::OpenOrCreate(name, options, &error);
    FUZZ_CHECK(segment != nullptr);
    for (uint64_t key = 1; key <= 200; ++key) FUZZ_CHECK(segment->Put(key, ValueOf(key, 1), 1) == Status::kOk);
    for (uint64_t key = 1; key <= 50; ++key) FUZZ_CHECK(segment->Put(key, ValueOf(key, 2), 2) == Status::kOk);
    std::string value;
    for (uint64_t key = 100; key <= 150; ++key) segment->Get(key, &value);
    for (uint64_t key = 60; key <= 70; ++key) segment->Erase(key);
    for (uint64_t key = 200; key <= 260; ++key) FUZZ_CHECK(segment->Put(key, ValueOf(key, 3), 3) == Status::kOk);
    for (uint64_t key = 1; key <= 40; ++key) FUZZ_CHECK(segment->RecordAccess(key, 1000 + key) == Status::kOk);
    segment->BeginFlush(0)->Freeze();  // frozen, never released: a flusher that died
    for (uint64_t key = 30; key <= 50; ++key) FUZZ_CHECK(segment->RecordAccess(key, 2000 + key) == Status::kOk);
    SourcePosition position;
    position.observed = {1, 2, 3, 4, 5, 6};
    position.clock = 42;
    position.tag = 99;
    segment->BeginSourceSync(0)->Publish(position);
    segment->ForEach([&](const EntryInfo& entry) { base.live[entry.key] = entry.version; });
    base.limits = segment->limits();
  }
  base.image = ReadObject(name);
  Segment::Remove(name);

  const auto* header = reinterpret_cast<const layout::Header*>(base.image.data());
  base.regions[0] = {0, header->header_bytes};
  for (const layout::Region& region : header->regions) {
    if (region.kind == layout::kRegionShards) base.regions[1] = {region.offset, region.bytes};
    if (region.kind == layout::kRegionArenas) base.regions[2] = {region.offset, region.bytes};
    if (region.kind == layout::kRegionPending) base.regions[3] = {region.offset, region.bytes};
  }
  const uint64_t shards = header->shard_count;
  const uint64_t pending = base.regions[3].offset;
  base.lock_words.push_back({offsetof(layout::Header, source_mutex), sizeof(pthread_mutex_t)});
  base.lock_words.push_back({pending + offsetof(layout::PendingHeader, flush_mutex), sizeof(pthread_mutex_t)});
  for (uint64_t i = 0; i < shards; ++i) {
    base.lock_words.push_back({base.regions[1].offset + i * sizeof(layout::ShardHeader) +
                                   offsetof(layout::ShardHeader, mutex),
                               sizeof(pthread_mutex_t)});
    base.lock_words.push_back({pending + sizeof(layout::PendingHeader) + i * sizeof(layout::PendingShard) +
                                   offsetof(layout::PendingShard, mutex),
                               sizeof(pthread_mutex_t)});
  }
  return base;
}

// Where the input's edits landed.
struct Damage {
  std::string image;
  bool header = false;  // the header, or the file's size
  bool shards = false;  // shard headers or arenas (the entries themselves), or a shrunk file
};

// Each edit: [target][offset: 4 bytes, little-endian][length][length bytes].
// Targets 0-3 overwrite bytes of that region (offset taken modulo its size);
// 4 resizes the file to offset modulo twice its size.
Damage ApplyEdits(const Base& base, const uint8_t* data, size_t size) {
  Damage damage{base.image};
  size_t at = 0;
  while (size - at >= 6) {
    const uint8_t target = data[at] % 5;
    uint32_t offset;
    std::memcpy(&offset, data + at + 1, 4);
    const size_t length = std::min<size_t>(data[at + 5], size - at - 6);
    const uint8_t* bytes = data + at + 6;
    at += 6 + length;
    if (target == 4) {
      const size_t new_size = offset % (2 * base.image.size());
      // What a shrink cut off reads as zeros if the file grows again.
      damage.shards |= new_size < damage.image.size();
      damage.image.resize(new_size);
      damage.header = true;
      continue;
    }
    const Span region = base.regions[target];
    for (size_t i = 0; i < length; ++i) {
      const uint64_t where = region.offset + (uint64_t{offset} + i) % region.bytes;
      if (where < damage.image.size()) damage.image[where] = static_cast<char>(bytes[i]);
    }
    damage.header |= target == 0;
    damage.shards |= target == 1 || target == 2;
  }
  for (const Span& lock : base.lock_words) {
    if (lock.offset + lock.bytes <= damage.image.size()) {
      damage.image.replace(lock.offset, lock.bytes, base.image, lock.offset, lock.bytes);
    }
  }
  return damage;
}

bool IsAttachRefusal(Status status) {
  return status == Status::kBadMagic || status == Status::kBadLayoutVersion || status == Status::kTruncated ||
         status == Status::kCorruptHeader || status == Status::kNotReady;
}

struct Read {
  bool hit = false;
  std::string value;
  uint64_t version = 0;
};

// A read of `key`: a hit or a miss, never larger than the limits.
Read CheckedGet(Segment& segment, uint64_t key) {
  Read read;
  const Status status = segment.Get(key, &read.value, &read.version);
  FUZZ_CHECK(status == Status::kOk || status == Status::kNotFound);
  read.hit = status == Status::kOk;
  if (read.hit) FUZZ_CHECK(read.value.size() <= segment.limits().max_entry_bytes);
  return read;
}

// What a process does with a segment it attached.
void Exercise(Segment& segment, const Base& base, const Damage& damage) {
  const Limits& limits = segment.limits();
  if (!damage.header) FUZZ_CHECK(std::memcmp(&limits, &base.limits, sizeof limits) == 0);
  const bool exact = !damage.shards;

  // Reads first, before any write moves anything.
  for (const auto& [key, version] : base.live) {
    const Read read = CheckedGet(segment, key);
    if (exact && read.hit) FUZZ_CHECK(read.version == version && IsValueOf(read.value, key, version));
  }
  std::vector<char> copied;
  segment.CopyOut(base.live.begin()->first, [&](size_t bytes) {
    copied.resize(bytes);
    return copied.data();
  });
  EntryInfo info;
  segment.Lookup(base.live.rbegin()->first, &info);
  segment.ForEach([&](const EntryInfo& entry) {
    FUZZ_CHECK(entry.bytes <= limits.max_entry_bytes);
    if (!exact) return;
    const auto it = base.live.find(entry.key);
    FUZZ_CHECK(it != base.live.end() && it->second == entry.version &&
               entry.bytes == ValueLength(entry.key, entry.version));
  });
  segment.GetStats();

  // Writes: each value put reads back as itself or as a miss.
  for (uint64_t i = 1; i <= 8; ++i) {
    const uint64_t key = kFreshKeys + i;
    const std::string value = ValueOf(key, i);
    const Status status = segment.Put(key, value, i);
    FUZZ_CHECK(status == Status::kOk || (status == Status::kTooLarge && value.size() > limits.max_entry_bytes));
    const Read read = CheckedGet(segment, key);
    FUZZ_CHECK(!read.hit || (read.version == i && IsValueOf(read.value, key, i)));
  }
  const std::string fenced = ValueOf(kFreshKeys + 9, 1);
  const Status fresh = segment.PutIfFresh(kFreshKeys + 9, fenced, 1, 0);
  FUZZ_CHECK(fresh == Status::kOk || fresh == Status::kFenced ||
             (fresh == Status::kTooLarge && fenced.size() > limits.max_entry_bytes));
  segment.PatchTail(kFreshKeys + 2, "\xA1");
  segment.Erase(kFreshKeys + 1);
  segment.Erase(base.live.begin()->first);
  segment.Invalidate(base.live.rbegin()->first, 7);
  if (exact) {
    FUZZ_CHECK(!CheckedGet(segment, kFreshKeys + 1).hit);
    FUZZ_CHECK(!CheckedGet(segment, base.live.begin()->first).hit);
    FUZZ_CHECK(!CheckedGet(segment, base.live.rbegin()->first).hit);
  }

  // Pending accesses and a flush of them.
  for (uint64_t key = 1; key <= 20; ++key) {
    segment.PrefetchRecordAccess(key);
    const Status status = segment.RecordAccess(key, 5000);
    FUZZ_CHECK(status == Status::kOk || status == Status::kFull);
  }
  segment.ForEachPending([](const PendingAccess&) {});
  segment.GetPendingTotals();
  segment.PendingFullestPercent();
  if (auto flush = segment.BeginFlush(0)) {
    for (const PendingBatch& batch : flush->Freeze()) {
      FUZZ_CHECK(batch.shard < limits.shard_count);
      flush->Release(batch);
    }
  }

  // The source position.
  segment.Source();
  SourcePosition position;
  position.observed = {6, 5, 4, 3, 2, 1};
  position.clock = 7;
  position.tag = 8;
  if (auto sync = segment.BeginSourceSync(0)) sync->Publish(position);
  FUZZ_CHECK(segment.Source() == position);
  FUZZ_CHECK(segment.SourceIs(position.observed));

  // Clear drops everything, whatever state the shards were in.
  segment.Clear();
  for (uint64_t i = 1; i <= 8; ++i) FUZZ_CHECK(!CheckedGet(segment, kFreshKeys + i).hit);
  for (const auto& entry : base.live) FUZZ_CHECK(!CheckedGet(segment, entry.first).hit);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Base base = MakeBase();
  static const std::string name = ObjectName("");
  const Damage damage = ApplyEdits(base, data, size);
  WriteObject(name, damage.image);
  Error error;
  std::unique_ptr<Segment> segment = Segment::Open(name, &error);
  if (segment == nullptr) {
    FUZZ_CHECK(IsAttachRefusal(error.status) && !error.message.empty());
    FUZZ_CHECK(damage.header);
  } else {
    FUZZ_CHECK(error.ok());
    Exercise(*segment, base, damage);
    segment.reset();
  }
  Segment::Remove(name);
  return 0;
}
