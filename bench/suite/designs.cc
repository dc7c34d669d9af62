#include "designs.h"

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "../bench_sqlite.h"
#include "../redis_server.h"

namespace docstore::bench {

namespace {
std::string last_read_error;
}  // namespace

const std::vector<std::string>& DesignNames() {
  static const std::vector<std::string> names = {"docstore", "plain", "pass1", "pass2", "redis"};
  return names;
}

size_t Reader::GetMany(const std::vector<int64_t>& ids) {
  size_t bytes = 0;
  for (const int64_t id : ids) bytes += Get(id).size();
  return bytes;
}

const std::string& LastReadError() { return last_read_error; }

int64_t VersionOf(const std::string& json) {
  const size_t at = json.rfind("\"version\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(json.c_str() + at + 10, nullptr, 10);
}

namespace {

sqlite3* OpenDatabase(const ReaderConfig& config, bool with_docstore) {
  sqlite3* db = nullptr;
  if (sqlite3_open(config.database.c_str(), &db) != SQLITE_OK) Die("open " + config.database);
  if (with_docstore) LoadExtension(db, config.extension);
  sqlite3_busy_timeout(db, 10000);
  Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  return db;
}

// Runs a statement that writes, trying again while another connection holds
// the write lock past the busy timeout (ten workers' flushes and the writer
// queue for it): the comparison designs never drop an access count.
void StepWrite(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_BUSY) sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) Die(std::string(what) + ": " + sqlite3_errmsg(db));
  sqlite3_reset(stmt);
}

std::string StepText(sqlite3_stmt* stmt) {
  std::string out;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    out.assign(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
               static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
  } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    last_read_error = sqlite3_errmsg(sqlite3_db_handle(stmt));
  }
  sqlite3_reset(stmt);
  return out;
}

// A prepared one-parameter, one-column statement on its own connection.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db), stmt_(Prepare(db, sql)) {}
  ~Statement() {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }
  std::string Text(int64_t id) {
    sqlite3_bind_int64(stmt_, 1, id);
    return StepText(stmt_);
  }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class DocstoreReader : public Reader {
 public:
  explicit DocstoreReader(const ReaderConfig& config)
      : get_(OpenDatabase(config, true), "SELECT doc_get(?1)"),
        many_(Prepare(get_.db(), "SELECT doc FROM doc_get_many(?1)")) {}
  ~DocstoreReader() override { sqlite3_finalize(many_); }
  std::string Get(int64_t id) override { return get_.Text(id); }
  size_t GetMany(const std::vector<int64_t>& ids) override {
    std::string json = "[";
    for (const int64_t id : ids) json += (json.size() > 1 ? "," : "") + std::to_string(id);
    json += ']';
    sqlite3_bind_text(many_, 1, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
    size_t bytes = 0;
    while (sqlite3_step(many_) == SQLITE_ROW) {
      sqlite3_column_text(many_, 0);
      bytes += static_cast<size_t>(sqlite3_column_bytes(many_, 0));
    }
    sqlite3_reset(many_);
    return bytes;
  }

 private:
  Statement get_;
  sqlite3_stmt* many_;
};

class PlainReader : public Reader {
 public:
  explicit PlainReader(const ReaderConfig& config) : point_(OpenDatabase(config, false), kPointJsonSql) {}
  std::string Get(int64_t id) override { return point_.Text(id); }

 private:
  Statement point_;
};

class Pass1Reader : public Reader {
 public:
  explicit Pass1Reader(const ReaderConfig& config)
      : point_(OpenDatabase(config, false), kPointJsonSql), count_(Prepare(point_.db(), kCountAccessSql)) {}
  ~Pass1Reader() override { sqlite3_finalize(count_); }
  std::string Get(int64_t id) override {
    std::string json = point_.Text(id);
    sqlite3_bind_int64(count_, 1, id);
    StepWrite(point_.db(), count_, "pass1 UPDATE");
    return json;
  }

 private:
  Statement point_;
  sqlite3_stmt* count_;
};

class Pass2Reader : public Reader {
 public:
  static constexpr size_t kCapacity = 10000;
  static constexpr size_t kBatch = 100;

  explicit Pass2Reader(const ReaderConfig& config)
      : point_(OpenDatabase(config, false), kPointJsonSql),
        flush_db_(OpenDatabase(config, false)),
        flusher_([this] { FlushLoop(); }) {}
  ~Pass2Reader() override {
    Finish();
    sqlite3_close(flush_db_);
  }

  std::string Get(int64_t id) override {
    std::string json;
    if (auto found = index_.find(id); found != index_.end()) {
      lru_.splice(lru_.begin(), lru_, found->second);
      json = found->second->second;
    } else {
      json = point_.Text(id);
      lru_.emplace_front(id, json);
      index_[id] = lru_.begin();
      if (lru_.size() > kCapacity) {
        index_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(id);
    if (queue_.size() >= kBatch) wake_.notify_one();
    return json;
  }

  void Finish() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_one();
    flusher_.join();
  }

 private:
  void FlushLoop() {
    sqlite3_stmt* count = Prepare(flush_db_, kCountAccessSql);
    sqlite3_stmt* begin = Prepare(flush_db_, "BEGIN IMMEDIATE");
    sqlite3_stmt* commit = Prepare(flush_db_, "COMMIT");
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || queue_.size() >= kBatch; });
      if (queue_.empty() && stopping_) break;
      std::vector<int64_t> batch;
      const size_t take = std::min(queue_.size(), kBatch);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      lock.unlock();
      StepWrite(flush_db_, begin, "pass2 BEGIN");
      for (const int64_t id : batch) {
        sqlite3_bind_int64(count, 1, id);
        StepWrite(flush_db_, count, "pass2 flush");
      }
      StepWrite(flush_db_, commit, "pass2 COMMIT");
      lock.lock();
    }
    for (sqlite3_stmt* s : {count, begin, commit}) sqlite3_finalize(s);
  }

  Statement point_;
  std::list<std::pair<int64_t, std::string>> lru_;
  std::unordered_map<int64_t, std::list<std::pair<int64_t, std::string>>::iterator> index_;
  sqlite3* flush_db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<int64_t> queue_;
  bool stopping_ = false;
  std::thread flusher_;
};

class RedisReader : public Reader {
 public:
  explicit RedisReader(const ReaderConfig& config)
      : point_(OpenDatabase(config, false), kPointJsonSql), redis_(RedisServer::ConnectTo(config.redis_socket)) {
    if (redis_ == nullptr) Die("no redis-server on " + config.redis_socket);
  }
  ~RedisReader() override { redisFree(redis_); }
  std::string Get(int64_t id) override {
    const std::string key = "doc:" + std::to_string(id);
    auto* reply = static_cast<redisReply*>(redisCommand(redis_, "GET %b", key.data(), key.size()));
    if (reply == nullptr) Die("redis GET failed");
    std::string json;
    if (reply->type == REDIS_REPLY_STRING) {
      json.assign(reply->str, reply->len);
      freeReplyObject(reply);
      return json;
    }
    freeReplyObject(reply);
    json = point_.Text(id);
    reply = static_cast<redisReply*>(
        redisCommand(redis_, "SET %b %b", key.data(), key.size(), json.data(), json.size()));
    if (reply == nullptr) Die("redis SET failed");
    freeReplyObject(reply);
    return json;
  }

 private:
  Statement point_;
  redisContext* redis_;
};

}  // namespace

std::unique_ptr<Reader> OpenReader(const std::string& name, const ReaderConfig& config) {
  if (name == "docstore") return std::make_unique<DocstoreReader>(config);
  if (name == "plain") return std::make_unique<PlainReader>(config);
  if (name == "pass1") return std::make_unique<Pass1Reader>(config);
  if (name == "pass2") return std::make_unique<Pass2Reader>(config);
  if (name == "redis") return std::make_unique<RedisReader>(config);
  Die("unknown design " + name);
}

}  // namespace docstore::bench
