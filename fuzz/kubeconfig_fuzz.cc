// The kubeconfig loader (kube/config.h) on arbitrary files.
//
// Input: up to three kubeconfig files separated by a line "#---file---"
// (a YAML comment, so seeds stay readable), merged like $KUBECONFIG, plus
// each file alone. An optional first line "#context: <name>" overrides
// current-context.
//
// The loader reads the files a kubeconfig names (certificate-authority,
// client-certificate, client-key, tokenFile). So that a fuzzed path cannot
// reach /dev/zero or a FIFO (a hang, not a bug), inputs with an absolute
// path or ".." anywhere are skipped; relative paths resolve inside a private
// directory holding a valid CA certificate, client certificate, key and
// token, so the success paths are reached too.
//
// Properties:
//   - loading never throws or crashes, whatever the YAML;
//   - errors are kInvalidArgument with a message naming a kubeconfig file;
//   - secrets never appear in messages (the token and key below);
//   - a loaded config has a server, and a token source yields a token.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "fuzz/fuzz_check.h"
#include "kube/config.h"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFileSeparator = "\n#---file---\n";
constexpr std::string_view kContextPrefix = "#context: ";
constexpr int kMaxDepth = 64;

// Secrets in the sandbox's files, which the loader must never echo (unless
// the input itself contains them, e.g. as a context name).
constexpr const char* kTokenData = "token-data-in-file-7d1e";
constexpr const char* kKeyMaterial = "1GNb9uiBL1ZpaUKMyudkyyF1nOt7LR3q";  // from the private scalar

// A throwaway self-signed P-256 certificate and its key (openssl req -x509).
constexpr const char* kCert = R"(
-----BEGIN CERTIFICATE-----
MIIBdjCCARugAwIBAgIUEHc2hlc9T0qQKPDORFMksiLKqzswCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEZnV6ejAgFw0yNjExMzAwNTQ4MTNaGA8yMTI2MTEwNjA1NDgx
M1owDzENMAsGA1UEAwwEZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHGU
E4z/GIOuuC9rU32Kkg98uoL41HThlT5sDHCgPXR4lSeG1/sZQe4BjkeEuEOjvJvG
4x3ZTiJt5Cm1unKWLAOjUzBRMB0GA1UdDgQWBBS7+kE1Okp3k1CXoenYzw91ilTI
FzAfBgNVHSMEGDAWgBS7+kE1Okp3k1CXoenYzw91ilTIFzAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0kAMEYCIQD+BERO0Qg0vVnx7rwchXZyJU14wcQE9EH8
PhOQueM4jQIhAJN72pOpsa/qpQ/BhLj3YHWjVFaJVPwK+lvxxYHf2bnq
-----END CERTIFICATE-----
)";
constexpr const char* kKey = R"(
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg73+91GNb9uiBL1Zp
aUKMyudkyyF1nOt7LR3qEoS5JdmhRANCAARxlBOM/xiDrrgva1N9ipIPfLqC+NR0
4ZU+bAxwoD10eJUnhtf7GUHuAY5HhLhDo7ybxuMd2U4ibeQptbpyliwD
-----END PRIVATE KEY-----
)";

class Sandbox {
 public:
  Sandbox() {
    std::string tmpl = (fs::temp_directory_path() / "mlops-kubeconfig-fuzz-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::abort();
    }
    dir_ = tmpl;
    write("ca.crt", kCert);
    write("client.crt", kCert);
    write("client.key", kKey);
    write("token", std::string(kTokenData) + "\n");
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, std::string_view content) const {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return path;
  }

 private:
  fs::path dir_;
};

// True when every scalar in the document (keys too) is a safe relative path
// at most: nothing absolute, no "..". Depth-limited, since an anchor can
// make a node its own descendant.
bool safe(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) {
    return false;
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      return s.find("..") == std::string::npos && (s.empty() || s.front() != '/');
    }
    case YAML::NodeType::Sequence:
      for (const auto& child : node) {
        if (!safe(child, depth + 1)) {
          return false;
        }
      }
      return true;
    case YAML::NodeType::Map:
      for (const auto& kv : node) {
        if (!safe(kv.first, depth + 1) || !safe(kv.second, depth + 1)) {
          return false;
        }
      }
      return true;
    default:
      return true;
  }
}

// YAML::Load, as the loader does: it reads the first document only. (Not
// LoadAll: yaml-cpp 0.7's LoadAll allocates without end on some malformed
// input, e.g. ",\xa8-b\x04"; the loader never calls it.)
bool safeText(const std::string& text) {
  try {
    return safe(YAML::Load(text), 0);
  } catch (...) {
    // The loader will reject this text as YAML before it reads any file.
    return true;
  }
}

void checkLoaded(const mlops::Result<mlops::kube::ClientConfig>& config, std::string_view input) {
  if (!config.ok()) {
    const std::string& m = config.error().message;
    FUZZ_CHECK(config.error().code == mlops::ErrorCode::kInvalidArgument,
               config.error().toString());
    FUZZ_CHECK(m.find("kubeconfig") != std::string::npos, m);
    for (const char* secret : {kTokenData, kKeyMaterial}) {
      FUZZ_CHECK(m.find(secret) == std::string::npos || input.find(secret) != std::string::npos, m);
    }
    return;
  }
  FUZZ_CHECK(!config->server.empty(), "a config without a server: " + config->source);
  if (config->token) {
    auto token = config->token->token();
    FUZZ_CHECK(!token.ok() || !token->empty(), "an empty token");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sandbox sandbox;
  std::string_view rest(reinterpret_cast<const char*>(data), size);

  std::string context;
  if (rest.substr(0, kContextPrefix.size()) == kContextPrefix) {
    const size_t nl = rest.find('\n');
    context = std::string(rest.substr(kContextPrefix.size(), nl - kContextPrefix.size()));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }

  std::vector<std::string> texts;
  while (texts.size() < 3) {
    const size_t sep = rest.find(kFileSeparator);
    texts.emplace_back(rest.substr(0, sep));
    if (sep == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(sep + kFileSeparator.size());
  }
  std::vector<std::string> paths;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!safeText(texts[i])) {
      return 0;
    }
    paths.push_back(sandbox.write("config" + std::to_string(i), texts[i]));
  }

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& path : paths) {
    checkLoaded(mlops::kube::loadKubeconfig(path, context), input);
  }
  if (paths.size() > 1) {
    checkLoaded(mlops::kube::loadKubeconfigFiles(paths, context), input);
  }
  return 0;
}
