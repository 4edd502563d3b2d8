// The text a Prometheus scrape of a collectable would read, and a lookup of
// one sample in it, for the metrics tests.
#pragma once

#include <optional>
#include <sstream>
#include <string>

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

namespace mlops::metrics::testing {

inline std::string scrape(const ::prometheus::Collectable& c) {
  return ::prometheus::TextSerializer().Serialize(c.Collect());
}

// The value of the sample written exactly `series` (name{labels} as the
// serializer writes them, labels in the order given), or nullopt.
inline std::optional<std::string> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) {
      return line.substr(series.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace mlops::metrics::testing
