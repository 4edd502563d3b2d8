# syntax=docker/dockerfile:1
# Build stage: the toolchain and -dev packages, none of which ship.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libcpprest-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev \
      libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY src ./src
COPY tests ./tests
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLOPS_BUILD_TESTS=OFF \
 && cmake --build build --target mlops-operator \
 && strip build/mlops-operator

# Runtime stage: only the shared libraries the binary links, and CA roots.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcpprest2.10 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
      libssl3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/mlops-operator /usr/local/bin/mlops-operator
# A fixed non-root user; the Deployment also runs it with a read-only root
# filesystem, so the binary writes nothing to disk.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/mlops-operator"]
