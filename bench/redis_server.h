// A private redis-server (Debian's) on a unix socket for the length of a
// benchmark: started by the constructor, SIGTERMed and reaped by the
// destructor, saving nothing to disk.
#ifndef DOCSTORE_BENCH_REDIS_SERVER_H_
#define DOCSTORE_BENCH_REDIS_SERVER_H_

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace docstore::bench {

class RedisServer {
 public:
  explicit RedisServer(std::string socket_path) : socket_(std::move(socket_path)) {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a bench that dies takes its server with it
      const int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", socket_.c_str(), "--unixsocketperm",
             "700", "--save", "", "--appendonly", "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& socket() const { return socket_; }

  // A connection, once the server listens (up to 5 s); nullptr if it never does.
  redisContext* Connect() const { return ConnectTo(socket_); }

  static redisContext* ConnectTo(const std::string& socket) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      redisContext* c = redisConnectUnix(socket.c_str());
      if (c != nullptr && c->err == 0) return c;
      if (c != nullptr) redisFree(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return nullptr;
  }

 private:
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace docstore::bench

#endif  // DOCSTORE_BENCH_REDIS_SERVER_H_
