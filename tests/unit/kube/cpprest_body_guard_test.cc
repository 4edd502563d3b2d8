#include "kube/cpprest_body_guard.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mlops::kube
