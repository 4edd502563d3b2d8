#include "support/plane.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "kube/rest_client.h"

#ifndef MLOPS_REPO_ROOT
#error "MLOPS_REPO_ROOT must be defined by the build"
#endif

namespace mlops::testing {

std::string repoRoot() {
  return MLOPS_REPO_ROOT;
}

std::string PlaneEnv::get(const std::string& key) const {
  auto it = vars.find(key);
  return it == vars.end() ? "" : it->second;
}

std::map<std::string, std::string> parseEnvFile(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos || line[i] == '#') continue;
    line = line.substr(i);
    if (line.rfind("export ", 0) == 0) line = line.substr(7);
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = line.substr(0, eq);
    std::string raw = line.substr(eq + 1);
    std::string value;
    size_t p = 0;
    while (p < raw.size()) {
      char c = raw[p];
      if (c == '\'') {
        size_t end = raw.find('\'', p + 1);
        if (end == std::string::npos) end = raw.size();
        value += raw.substr(p + 1, end - p - 1);
        p = end + 1;
      } else if (c == '"') {
        ++p;
        while (p < raw.size() && raw[p] != '"') {
          if (raw[p] == '\\' && p + 1 < raw.size() &&
              (raw[p + 1] == '"' || raw[p + 1] == '\\' || raw[p + 1] == '$' || raw[p + 1] == '`')) {
            ++p;
          }
          value += raw[p++];
        }
        ++p;
      } else if (c == '#' && (p == 0 || raw[p - 1] == ' ' || raw[p - 1] == '\t')) {
        break;  // a trailing comment
      } else if (c == ' ' || c == '\t') {
        // Unquoted whitespace ends the value (the rest would be a command).
        break;
      } else if (c == '\\' && p + 1 < raw.size()) {
        value += raw[p + 1];
        p += 2;
      } else {
        value += c;
        ++p;
      }
    }
    out[key] = value;
  }
  return out;
}

Result<PlaneEnv> loadPlaneEnv() {
  const char* fromEnv = std::getenv("MLOPS_CLUSTER_ENV");
  const std::string path = fromEnv && *fromEnv ? fromEnv : repoRoot() + "/.cluster/env";
  std::ifstream in(path);
  if (!in) {
    return makeError(ErrorCode::kUnavailable,
                     "control plane not running: run make cluster-up (" + path + " is missing)");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  PlaneEnv env;
  env.file = path;
  env.vars = parseEnvFile(buf.str());
  if (env.kubeconfig().empty()) {
    return makeError(ErrorCode::kUnavailable,
                     "control plane env file " + path + " has no KUBECONFIG: run make cluster-up");
  }
  return env;
}

Result<kube::ClientConfig> adminConfig(const PlaneEnv& env) {
  return kube::loadKubeconfig(env.kubeconfig());
}

Result<std::unique_ptr<kube::Client>> adminClient(const PlaneEnv& env) {
  Result<kube::ClientConfig> config = adminConfig(env);
  if (!config.ok()) return config.error();
  return kube::makeRestClient(*config);
}

std::string CommandResult::describe() const {
  std::string text = timedOut ? "timed out" : "exit code " + std::to_string(exitCode);
  if (!out.empty()) text += "\nstdout: " + out;
  if (!err.empty()) text += "\nstderr: " + err;
  return text;
}

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::seconds timeout) {
  CommandResult result;
  if (argv.empty()) return result;
  int inPipe[2], outPipe[2], errPipe[2];
  if (pipe2(inPipe, O_CLOEXEC) != 0 || pipe2(outPipe, O_CLOEXEC) != 0 ||
      pipe2(errPipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    dup2(inPipe[0], 0);
    dup2(outPipe[1], 1);
    dup2(errPipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(inPipe[0]);
  close(outPipe[1]);
  close(errPipe[1]);

  // Feed stdin and drain stdout/stderr together so no pipe fills up.
  size_t written = 0;
  int inFd = inPipe[1];
  fcntl(inFd, F_SETFL, O_NONBLOCK);
  if (input.empty()) {
    close(inFd);
    inFd = -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool outOpen = true, errOpen = true;
  char buf[8192];
  while (outOpen || errOpen) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      result.timedOut = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int outIdx = -1, errIdx = -1, inIdx = -1;
    if (outOpen) {
      fds[n] = {outPipe[0], POLLIN, 0};
      outIdx = n++;
    }
    if (errOpen) {
      fds[n] = {errPipe[0], POLLIN, 0};
      errIdx = n++;
    }
    if (inFd >= 0) {
      fds[n] = {inFd, POLLOUT, 0};
      inIdx = n++;
    }
    if (poll(fds, n, static_cast<int>(std::min<long>(left.count(), 1000))) < 0 && errno != EINTR) {
      break;
    }
    if (outIdx >= 0 && fds[outIdx].revents) {
      ssize_t r = read(outPipe[0], buf, sizeof buf);
      if (r > 0)
        result.out.append(buf, static_cast<size_t>(r));
      else
        outOpen = false;
    }
    if (errIdx >= 0 && fds[errIdx].revents) {
      ssize_t r = read(errPipe[0], buf, sizeof buf);
      if (r > 0)
        result.err.append(buf, static_cast<size_t>(r));
      else
        errOpen = false;
    }
    if (inIdx >= 0 && fds[inIdx].revents) {
      ssize_t w = write(inFd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == input.size()) {
        close(inFd);
        inFd = -1;
      }
    }
  }
  if (inFd >= 0) close(inFd);
  close(outPipe[0]);
  close(errPipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!result.timedOut) result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult kubectl(const PlaneEnv& env, const std::vector<std::string>& args,
                      const std::string& input) {
  std::vector<std::string> argv = {env.kubectl().empty() ? "kubectl" : env.kubectl(),
                                   "--kubeconfig", env.kubeconfig()};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, input);
}

std::string randomSuffix(size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()) << 32);
  std::uniform_int_distribution<size_t> pick(0, sizeof kChars - 2);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kChars[pick(rng)];
  return out;
}

Result<std::unique_ptr<TestNamespace>> TestNamespace::create(kube::Client& client,
                                                             const std::string& prefix) {
  // The plane is shared; another suite may be restarting the API server
  // right now. Ride out a short outage rather than fail the test.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::string name = prefix + "-" + randomSuffix(8);
    if (name.size() > 63) name = name.substr(name.size() - 63);
    kube::Json ns = {
        {"apiVersion", "v1"},
        {"kind", "Namespace"},
        {"metadata", {{"name", name}, {"labels", {{"mlops.dev/test-namespace", "true"}}}}}};
    Result<kube::Json> created = client.create(kube::resources::kNamespaces, "", ns);
    if (created.ok()) return std::unique_ptr<TestNamespace>(new TestNamespace(client, name));
    if (created.error().code == ErrorCode::kAlreadyExists) continue;
    if (!created.error().transient() || std::chrono::steady_clock::now() > deadline) {
      return created.error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return makeError(ErrorCode::kInternal, "could not find a free namespace name");
}

TestNamespace::~TestNamespace() {
  kube::DeleteOptions opts;
  opts.propagation = kube::PropagationPolicy::kBackground;
  (void)client_.remove(kube::resources::kNamespaces, "", name_, opts);
}

void PlaneTest::SetUp() {
  Result<PlaneEnv> env = loadPlaneEnv();
  ASSERT_TRUE(env.ok()) << env.error().message;
  env_ = *env;
  Result<std::unique_ptr<kube::Client>> client = adminClient(env_);
  ASSERT_TRUE(client.ok()) << "admin client from " << env_.kubeconfig() << ": "
                           << client.error().toString();
  client_ = std::move(*client);
  Result<std::unique_ptr<TestNamespace>> ns = TestNamespace::create(*client_, namespacePrefix());
  ASSERT_TRUE(ns.ok()) << "creating a test namespace: " << ns.error().toString();
  namespace_ = std::move(*ns);
}

void PlaneTest::TearDown() {
  namespace_.reset();
  client_.reset();
}

}  // namespace mlops::testing
