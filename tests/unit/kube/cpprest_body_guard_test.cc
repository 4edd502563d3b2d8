#include "kube/cpprest_body_guard.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mlops::kube {
namespace {

namespace message_direction = web::http::message_direction;

TEST(BodyGuardTest, CutsABodyOverItsLimitAndOnlyADownload) {
  BodyGuard guard(1000);
  EXPECT_NO_THROW(guard.onProgress(message_direction::download, 0));
  EXPECT_NO_THROW(guard.onProgress(message_direction::download, 1000));
  EXPECT_NO_THROW(guard.onProgress(message_direction::upload, 5000));  // our own request body
  EXPECT_FALSE(guard.cut());
  EXPECT_THROW(guard.onProgress(message_direction::download, 1001), std::runtime_error);
  EXPECT_TRUE(guard.cut());
}

TEST(BodyGuardTest, AnAbandonedBodyEndsAtItsNextRead) {
  BodyGuard guard(1000);
  guard.abandon();
  EXPECT_FALSE(guard.cut()) << "nothing is cut until cpprestsdk reads again";
  EXPECT_NO_THROW(guard.onProgress(message_direction::upload, 10));
  EXPECT_THROW(guard.onProgress(message_direction::download, 0), std::runtime_error);
  EXPECT_TRUE(guard.cut());
}

TEST(BodyGuardTest, InstallSetsTheRequestsProgressHandler) {
  web::http::http_request request(web::http::methods::GET);
  std::shared_ptr<BodyGuard> guard = BodyGuard::install(request, 10);
  const auto& handler = request._get_impl()->_progress_handler();
  ASSERT_TRUE(handler != nullptr);
  EXPECT_THROW((*handler)(message_direction::download, 11), std::runtime_error);
  EXPECT_TRUE(guard->cut());
}

// Feeds `body` the given reads, as a reader's loop would, until it stops
// asking for more; returns how it ended.
BoundedBody::Step readAll(BoundedBody& body, const std::vector<std::string>& reads) {
  BoundedBody::Step step = BoundedBody::Step::kRead;
  for (const std::string& read : reads) {
    step = body.afterRead(reinterpret_cast<const uint8_t*>(read.data()), read.size());
    if (step != BoundedBody::Step::kRead) {
      return step;
    }
  }
  return body.afterRead(nullptr, 0);
}

TEST(BoundedBodyTest, KeepsABodyWithinItsLimitWhole) {
  BodyGuard guard(10);
  BoundedBody body(guard, 10, /*truncate=*/false);
  EXPECT_EQ(readAll(body, {"01234", "56789"}), BoundedBody::Step::kDone);
  EXPECT_EQ(body.bytes(), "0123456789");
}

TEST(BoundedBodyTest, AbandonsABodyOverItsLimitThroughTheGuard) {
  BodyGuard guard(100);
  BoundedBody body(guard, 8, /*truncate=*/false);
  EXPECT_EQ(readAll(body, {"01234", "56789", "never read"}), BoundedBody::Step::kTooLarge);
  EXPECT_EQ(body.bytes(), "");
  // The guard ends the body at cpprestsdk's next read instead of a cancel.
  EXPECT_THROW(guard.onProgress(web::http::message_direction::download, 10), std::runtime_error);
}

TEST(BoundedBodyTest, TruncatesAtTheLimitWhenAskedTo) {
  BodyGuard guard(100);
  BoundedBody body(guard, 8, /*truncate=*/true);
  EXPECT_EQ(readAll(body, {"01234", "56789"}), BoundedBody::Step::kDone);
  EXPECT_EQ(body.bytes(), "01234567");
  EXPECT_THROW(guard.onProgress(web::http::message_direction::download, 10), std::runtime_error);
}

TEST(BoundedBodyTest, ADeclaredLengthOverTheLimitEndsItBeforeAnyRead) {
  web::http::http_headers headers;
  headers.add(web::http::header_names::content_length, 11);
  BodyGuard guard(100);
  BoundedBody whole(guard, 10, /*truncate=*/false);
  EXPECT_EQ(whole.start(headers), BoundedBody::Step::kTooLarge);
  EXPECT_THROW(guard.onProgress(web::http::message_direction::download, 0), std::runtime_error);

  BodyGuard other(100);
  BoundedBody truncated(other, 10, /*truncate=*/true);
  EXPECT_EQ(truncated.start(headers), BoundedBody::Step::kRead) << "the first bytes are wanted";
  BoundedBody within(other, 11, /*truncate=*/false);
  EXPECT_EQ(within.start(headers), BoundedBody::Step::kRead);
}

TEST(BoundedBodyTest, AReadThatFailsBecauseTheGuardCutItEndsTheBody) {
  BodyGuard guard(4);
  BoundedBody whole(guard, 4, /*truncate=*/true);
  EXPECT_EQ(whole.afterRead(reinterpret_cast<const uint8_t*>("012"), 3), BoundedBody::Step::kRead);
  EXPECT_THROW(guard.onProgress(web::http::message_direction::download, 6), std::runtime_error);
  BoundedBody::Step step = BoundedBody::Step::kRead;
  try {
    throw std::runtime_error("stream failed");
  } catch (...) {
    step = whole.afterFailedRead();
  }
  EXPECT_EQ(step, BoundedBody::Step::kDone);
  EXPECT_EQ(whole.bytes(), "012") << "what had arrived when the guard cut it";
}

TEST(BoundedBodyTest, AReadThatFailsOtherwiseRethrowsItsError) {
  BodyGuard guard(100);
  BoundedBody body(guard, 100, /*truncate=*/true);
  EXPECT_THROW(
      {
        try {
          throw std::invalid_argument("connection reset");
        } catch (...) {
          body.afterFailedRead();
        }
      },
      std::invalid_argument);
}

}  // namespace
}  // namespace mlops::kube
