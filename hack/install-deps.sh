#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent: when
# everything is present it only runs `dpkg-query` and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcpprest-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev
  libssl-dev libgtest-dev libgmock-dev
  prometheus openssl curl python3 python3-yaml python3-sklearn
  clang-format clang-tidy
  ccache clang libclang-rt-14-dev llvm
  # The plane's real node (hack/node/): container runtime, kube-proxy's
  # iptables and conntrack, nft (teardown deletes the tables it created), the
  # bridge (iproute2); gcc (above) compiles the
  # pause binary statically.
  containerd runc iptables nftables conntrack iproute2
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "[install-deps] all ${#packages[@]} packages present"
  exit 0
fi

echo "[install-deps] installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "[install-deps] done"
