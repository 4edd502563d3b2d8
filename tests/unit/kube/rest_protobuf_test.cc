// The REST client asking for protobuf (ListOptions/WatchOptions::protobuf)
// against a fake API server on 127.0.0.1: the Accept header, protobuf and
// JSON answers both read, protobuf error replies, a protobuf watch stream
// split across chunks.
#include <gtest/gtest.h>

#include <string>

#include "kube/protobuf_objects.h"
#include "kube/rest_client.h"
#include "protobuf_encoder.h"
#include "support/fake_api_server.h"

namespace mlops::kube {
namespace {

namespace pbw = pbtest;
using testing::FakeApiServer;
using testing::HttpRequest;
using testing::ResponseWriter;

constexpr const char* kProtobuf = "application/vnd.kubernetes.protobuf";

std::unique_ptr<Client> protobufTestClient(const std::string& url) {
  ClientConfig cfg;
  cfg.server = url;
  cfg.source = "test";
  Result<std::unique_ptr<Client>> c = makeRestClient(cfg);
  if (!c.ok()) {
    ADD_FAILURE() << c.error().toString();
    return nullptr;
  }
  return std::move(*c);
}

std::string jobMessage(const std::string& name, const std::string& rv) {
  return pbw::bytes(1, pbw::bytes(1, name) + pbw::bytes(3, "ns") + pbw::bytes(6, rv)) +
         pbw::bytes(3, pbw::num(5, 1));
}

TEST(RestProtobufTest, AListAsksForProtobufAndDecodesTheItems) {
  std::string accept;
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    accept = req.header("accept");
    const std::string list = pbw::bytes(1, pbw::bytes(2, "55") + pbw::bytes(3, "more")) +
                             pbw::bytes(2, jobMessage("a", "50")) +
                             pbw::bytes(2, jobMessage("b", "51"));
    w.send(200, pbw::envelope("batch/v1", "JobList", list), kProtobuf);
  });
  auto client = protobufTestClient(server.url());
  ListOptions opts;
  opts.protobuf = decodeJobProtobuf;
  Result<ListPage> page = client->list(resources::kJobs, "ns", opts);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  EXPECT_EQ(accept, "application/vnd.kubernetes.protobuf, application/json");
  EXPECT_EQ(page->resourceVersion, "55");
  EXPECT_EQ(page->continueToken, "more");
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0]["metadata"]["name"], "a");
  EXPECT_EQ(page->items[1]["status"]["succeeded"], 1);
}

TEST(RestProtobufTest, AServerThatAnswersJsonIsReadAsJson) {
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    w.send(200, R"({"metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"j"}}]})");
  });
  auto client = protobufTestClient(server.url());
  ListOptions opts;
  opts.protobuf = decodeJobProtobuf;
  Result<ListPage> page = client->list(resources::kJobs, "ns", opts);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  EXPECT_EQ(page->resourceVersion, "9");
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0]["kind"], "Job");
}

TEST(RestProtobufTest, WithoutADecoderTheClientAsksForJsonOnly) {
  std::string accept;
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    accept = req.header("accept");
    w.send(200, R"({"metadata":{},"items":[]})");
  });
  auto client = protobufTestClient(server.url());
  ASSERT_TRUE(client->list(resources::kJobs, "ns").ok());
  EXPECT_EQ(accept, "application/json");
}

TEST(RestProtobufTest, AProtobufErrorReplyKeepsTheServersReasonAndMessage) {
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    const std::string status = pbw::bytes(2, "Failure") + pbw::bytes(3, "jobs is forbidden: no") +
                               pbw::bytes(4, "Forbidden") + pbw::num(6, 403);
    w.send(403, pbw::envelope("v1", "Status", status), kProtobuf);
  });
  auto client = protobufTestClient(server.url());
  ListOptions opts;
  opts.protobuf = decodeJobProtobuf;
  Result<ListPage> page = client->list(resources::kJobs, "ns", opts);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(page.error().reason, "Forbidden");
  EXPECT_NE(page.error().message.find("jobs is forbidden: no"), std::string::npos)
      << page.error().message;
}

TEST(RestProtobufTest, AMalformedProtobufListIsAnErrorNamingTheRequest) {
  FakeApiServer server([&](const HttpRequest&, ResponseWriter& w) {
    w.send(200, pbw::envelope("batch/v1", "JobList", pbw::bytes(2, pbw::bytes(1, pbw::num(1, 3)))),
           kProtobuf);
  });
  auto client = protobufTestClient(server.url());
  ListOptions opts;
  opts.protobuf = decodeJobProtobuf;
  Result<ListPage> page = client->list(resources::kJobs, "ns", opts);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("list jobs.batch in ns"), std::string::npos)
      << page.error().message;
  EXPECT_NE(page.error().message.find("wrong wire type"), std::string::npos)
      << page.error().message;
}

TEST(RestProtobufTest, AProtobufWatchStreamSplitAcrossChunksBecomesEvents) {
  std::string accept;
  FakeApiServer server([&](const HttpRequest& req, ResponseWriter& w) {
    accept = req.header("accept");
    const std::string stream =
        pbw::frame("ADDED", pbw::envelope("batch/v1", "Job", jobMessage("a", "60"))) +
        pbw::frame("MODIFIED", pbw::envelope("batch/v1", "Job", jobMessage("a", "61")));
    w.startChunked(200, "application/vnd.kubernetes.protobuf;stream=watch");
    // Cut inside the first length prefix and inside the second frame.
    w.chunk(stream.substr(0, 2));
    w.chunk(stream.substr(2, stream.size() - 12));
    w.chunk(stream.substr(stream.size() - 10));
    w.endChunked();
  });
  auto client = protobufTestClient(server.url());
  WatchOptions opts;
  opts.protobuf = decodeJobProtobuf;
  Result<std::unique_ptr<WatchStream>> stream = client->watch(resources::kJobs, "ns", opts);
  ASSERT_TRUE(stream.ok()) << stream.error().toString();
  EXPECT_EQ(accept, "application/vnd.kubernetes.protobuf, application/json");
  std::vector<WatchEvent> events;
  while (true) {
    Result<std::optional<WatchEvent>> next = (*stream)->next();
    ASSERT_TRUE(next.ok()) << next.error().toString();
    if (!next->has_value()) break;
    events.push_back(std::move(**next));
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(events[1].type, WatchEventType::kModified);
  EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "61");
}

}  // namespace
}  // namespace mlops::kube
