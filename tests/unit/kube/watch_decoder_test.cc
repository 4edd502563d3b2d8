#include "kube/watch_decoder.h"

#include "kube/api_error.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mlops::kube {
namespace {

const std::string kAdded =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a",)"
    R"("namespace":"ns","resourceVersion":"101"},"data":{"k":"v \u00e9 ✓"}}})";
const std::string kModified =
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a",)"
    R"("namespace":"ns","resourceVersion":"102"}}})";
const std::string kDeleted =
    R"({"type":"DELETED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a",)"
    R"("namespace":"ns","resourceVersion":"103"}}})";
const std::string kBookmark =
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{)"
    R"("resourceVersion":"200","annotations":{"k8s.io/initial-events-end":"true"}}}})";
const std::string kGoneError =
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
    R"j("status":"Failure","message":"too old resource version: 5 (150)","reason":"Expired",)j"
    R"("code":410}})";
const std::string kOtherError =
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
    R"("status":"Failure","message":"internal error","reason":"InternalError","code":500}})";

std::vector<Result<WatchEvent>> drain(WatchDecoder& d) {
  std::vector<Result<WatchEvent>> out;
  while (auto item = d.next()) out.push_back(std::move(*item));
  return out;
}

std::string rv(const WatchEvent& e) {
  return e.object["metadata"]["resourceVersion"].get<std::string>();
}

TEST(WatchDecoderTest, DecodesEachType) {
  WatchDecoder d;
  d.feed(kAdded + "\n" + kModified + "\n" + kDeleted + "\n" + kBookmark + "\n" + kOtherError +
         "\n");
  auto items = drain(d);
  ASSERT_EQ(items.size(), 5u);
  for (const auto& i : items) ASSERT_TRUE(i.ok()) << i.error().message;
  EXPECT_EQ(items[0]->type, WatchEventType::kAdded);
  EXPECT_EQ(items[0]->object["data"]["k"], "v \u00e9 ✓");
  EXPECT_EQ(items[1]->type, WatchEventType::kModified);
  EXPECT_EQ(items[2]->type, WatchEventType::kDeleted);
  EXPECT_EQ(items[3]->type, WatchEventType::kBookmark);
  EXPECT_EQ(rv(*items[3]), "200");
  EXPECT_EQ(items[4]->type, WatchEventType::kError);
  EXPECT_EQ(items[4]->object["code"], 500);
  EXPECT_EQ(d.pendingBytes(), 0u);
}

TEST(WatchDecoderTest, ErrorEventWith410IsGone) {
  WatchDecoder d;
  d.feed(kGoneError + "\n");
  auto items = drain(d);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_FALSE(items[0].ok());
  EXPECT_EQ(items[0].error().code, ErrorCode::kGone);
  EXPECT_EQ(items[0].error().reason, "Expired");
  EXPECT_EQ(items[0].error().httpStatus, 410);
  EXPECT_NE(items[0].error().message.find("too old resource version"), std::string::npos);
}

// Every way of cutting a stream of three events into two pieces, and into
// one-byte pieces, decodes to the same three events.
// A code that only truncation to int would turn into 410 is no 410, and
// numbers beyond a double's range make a line an error, never an exception.
TEST(WatchDecoderTest, HostileNumbersAreNeitherGoneNorExceptions) {
  Result<WatchEvent> aliased = decodeWatchLine(
      R"({"type":"ERROR","object":{"kind":"Status","code":4294967706,"reason":"Expired"}})");
  ASSERT_TRUE(aliased.ok()) << aliased.error().toString();
  EXPECT_EQ(aliased->type, WatchEventType::kError);
  Error status = errorFromStatus(aliased->object, "watch");
  EXPECT_EQ(status.httpStatus, 0);

  for (const char* line : {R"({"type":"ADDED","object":{"n":1e400}})",
                           R"({"type":"ERROR","object":{"code":-1e999}})"}) {
    Result<WatchEvent> e = decodeWatchLine(line);
    ASSERT_FALSE(e.ok()) << line;
    EXPECT_EQ(e.error().code, ErrorCode::kInternal);
  }
}

TEST(WatchDecoderTest, EventsSplitAtEveryByteOffset) {
  const std::string stream = kAdded + "\n" + kModified + "\r\n" + kBookmark + "\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    WatchDecoder d;
    std::vector<Result<WatchEvent>> items;
    d.feed(stream.substr(0, cut));
    for (auto& i : drain(d)) items.push_back(std::move(i));
    d.feed(stream.substr(cut));
    for (auto& i : drain(d)) items.push_back(std::move(i));
    ASSERT_EQ(items.size(), 3u) << "cut at " << cut;
    ASSERT_TRUE(items[0].ok() && items[1].ok() && items[2].ok()) << "cut at " << cut;
    EXPECT_EQ(rv(*items[0]), "101");
    EXPECT_EQ(rv(*items[1]), "102");
    EXPECT_EQ(rv(*items[2]), "200");
  }
  WatchDecoder bytewise;
  std::vector<Result<WatchEvent>> items;
  for (char c : stream) {
    bytewise.feed(std::string(1, c));
    for (auto& i : drain(bytewise)) items.push_back(std::move(i));
  }
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->object["data"]["k"], "v \u00e9 ✓");  // multi-byte UTF-8 split too
}

TEST(WatchDecoderTest, NothingBeforeTheNewline) {
  WatchDecoder d;
  d.feed(kAdded);
  EXPECT_FALSE(d.next().has_value());
  EXPECT_EQ(d.pendingBytes(), kAdded.size());
  d.feed("\n");
  auto item = d.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_TRUE(item->ok());
}

TEST(WatchDecoderTest, GarbageLinesAreErrorsAndDecodingContinues) {
  WatchDecoder d;
  d.feed("this is not json\n" + kAdded + "\n[1,2,3]\n{\"type\":\"ADDED\"}\n" +
         R"({"type":"SURPRISE","object":{}})" + "\n{\"object\":{}}\n{\"type\":\"ADDED\",\"obj" +
         "\n" + kDeleted + "\n");
  auto items = drain(d);
  ASSERT_EQ(items.size(), 8u);
  EXPECT_FALSE(items[0].ok());
  EXPECT_EQ(items[0].error().code, ErrorCode::kInternal);
  EXPECT_NE(items[0].error().message.find("not JSON"), std::string::npos);
  EXPECT_NE(items[0].error().message.find("this is not json"), std::string::npos);
  EXPECT_TRUE(items[1].ok());
  EXPECT_NE(items[2].error().message.find("not a JSON object"), std::string::npos);
  EXPECT_NE(items[3].error().message.find("no \"object\""), std::string::npos);
  EXPECT_NE(items[4].error().message.find("unknown event type"), std::string::npos);
  EXPECT_NE(items[5].error().message.find("no \"type\""), std::string::npos);
  EXPECT_FALSE(items[6].ok());
  ASSERT_TRUE(items[7].ok());
  EXPECT_EQ(items[7]->type, WatchEventType::kDeleted);
}

TEST(WatchDecoderTest, BinaryGarbageIsQuotedSafely) {
  WatchDecoder d;
  d.feed(std::string("\x01\x02\xff{{{\0zz", 9) + "\n");
  auto item = d.next();
  ASSERT_TRUE(item.has_value());
  ASSERT_FALSE(item->ok());
  for (char c : item->error().message) EXPECT_TRUE(std::isprint(static_cast<unsigned char>(c)));
}

TEST(WatchDecoderTest, BlankLinesAreSkipped) {
  WatchDecoder d;
  d.feed("\n\r\n   \n" + kAdded + "\n\n");
  auto items = drain(d);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_TRUE(items[0].ok());
}

TEST(WatchDecoderTest, FinishDecodesATrailingLineWithoutNewline) {
  WatchDecoder d;
  d.feed(kAdded + "\n" + kModified);
  EXPECT_EQ(drain(d).size(), 1u);
  d.finish();
  auto items = drain(d);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]->type, WatchEventType::kModified);
  d.finish();  // idempotent
  EXPECT_FALSE(d.next().has_value());
}

TEST(WatchDecoderTest, TruncatedTrailingLineIsAnError) {
  WatchDecoder d;
  d.feed(kAdded.substr(0, 20));
  d.finish();
  auto item = d.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_FALSE(item->ok());
}

TEST(WatchDecoderTest, OverlongLineIsSkippedThenDecodingResumes) {
  WatchDecoder d(/*maxLineBytes=*/64);
  d.feed(std::string(50, 'x'));
  d.feed(std::string(50, 'y'));  // over the limit, no newline yet
  d.feed(std::string(10, 'z') + "\n" + R"({"type":"ADDED","object":{"a":1}})" + "\n");
  auto items = drain(d);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_FALSE(items[0].ok());
  EXPECT_NE(items[0].error().message.find("longer than 64"), std::string::npos);
  ASSERT_TRUE(items[1].ok());
  EXPECT_EQ(items[1]->object["a"], 1);

  WatchDecoder oneChunk(64);
  oneChunk.feed(std::string(100, 'q') + "\n" + R"({"type":"DELETED","object":{}})" + "\n");
  auto again = drain(oneChunk);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_FALSE(again[0].ok());
  EXPECT_TRUE(again[1].ok());
}

TEST(WatchDecoderTest, ManyEventsInOneChunk) {
  std::string chunk;
  for (int i = 0; i < 1000; ++i) {
    chunk += R"({"type":"ADDED","object":{"metadata":{"resourceVersion":")" + std::to_string(i) +
             "\"}}}\n";
  }
  WatchDecoder d;
  d.feed(chunk);
  auto items = drain(d);
  ASSERT_EQ(items.size(), 1000u);
  EXPECT_EQ(rv(*items[999]), "999");
}

TEST(WatchDecoderTest, DecodeLineDirectly) {
  Result<WatchEvent> e = decodeWatchLine(kBookmark);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, WatchEventType::kBookmark);
  EXPECT_STREQ(watchEventTypeName(e->type), "BOOKMARK");
  EXPECT_FALSE(decodeWatchLine("").ok());
}

}  // namespace
}  // namespace mlops::kube
