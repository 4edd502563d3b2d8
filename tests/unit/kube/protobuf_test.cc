// The protobuf wire reader, the Job and Pod decoders and the reply and watch
// codecs, on messages written by hand (protobuf_encoder.h) the way the API
// server writes them: every non-pointer field present even when empty, and
// the envelope around each object. The integration test
// (tests/integration/kube/protobuf_test.cc) compares with the real server.
#include <gtest/gtest.h>

#include <string>

#include "kube/protobuf_codec.h"
#include "kube/protobuf_objects.h"
#include "kube/protobuf_wire.h"
#include "protobuf_encoder.h"

namespace mlops::kube {
namespace {

using Json = nlohmann::json;
namespace pbw = pbtest;  // writes the fields of a test message

TEST(ProtobufWire, ReadsEachWireType) {
  const std::string fixed64 = pbw::varint((7u << 3) | 1) + std::string("\x01\0\0\0\0\0\0\x80", 8);
  const std::string fixed32 = pbw::varint((8u << 3) | 5) + std::string("\x02\0\0\0", 4);
  const std::string message =
      pbw::num(1, 150) + pbw::bytes(2, "abc") + fixed64 + fixed32 + pbw::num(3, -2);
  pb::Reader r(message);
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->number, 1u);
  EXPECT_EQ(f->varint, 150u);
  f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, pb::WireType::kBytes);
  EXPECT_EQ(f->bytes, "abc");
  f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->varint, 0x8000000000000001u);
  f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->varint, 2u);
  f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(pb::asInt32(*f), -2);
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.failed());
}

TEST(ProtobufWire, MalformedInputStopsTheReaderWithAReason) {
  const std::string cases[] = {
      pbw::bytes(1, "abc").substr(0, 4),                                    // a length past the end
      std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // an 11-byte varint
      pbw::varint((1u << 3) | 3),                                           // a group
      pbw::varint((1u << 3) | 6),                                           // no such wire type
      pbw::varint(0 << 3) + pbw::varint(1),                                 // field number 0
      pbw::varint((1u << 3) | 1) + std::string("\1\2"),                     // a truncated fixed64
      std::string("\x80", 1),                                               // a truncated key
  };
  for (const std::string& input : cases) {
    pb::Reader r(input);
    while (r.next()) {
    }
    EXPECT_TRUE(r.failed()) << ::testing::PrintToString(input);
    EXPECT_NE(r.failure().find("at byte"), std::string::npos) << r.failure();
  }
}

TEST(ProtobufTime, Rfc3339FromSeconds) {
  EXPECT_EQ(*rfc3339FromUnixSeconds(1764547265), "2025-12-01T00:01:05Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(-62167219200), "0000-01-01T00:00:00Z");
  EXPECT_EQ(*rfc3339FromUnixSeconds(-62167219200 + 59 * 86400), "0000-02-29T00:00:00Z");
  EXPECT_FALSE(rfc3339FromUnixSeconds(253402300800).ok());
  EXPECT_FALSE(rfc3339FromUnixSeconds(-62167219201).ok());
}

// ObjectMeta as the server writes it: strings always, the creation time.
std::string meta(const std::string& name, const std::string& extra = "") {
  return pbw::bytes(1, name) + pbw::bytes(2, "") + pbw::bytes(3, "ns1") + pbw::bytes(4, "") +
         pbw::bytes(5, "uid-" + name) + pbw::bytes(6, "42") + pbw::num(7, 1) +
         pbw::time(8, 1764547200) + extra;
}

TEST(ProtobufObjects, DecodesAJobAsItsJsonForm) {
  const std::string owner = pbw::bytes(
      13, pbw::bytes(5, "mlops.dev/v1alpha1") + pbw::bytes(1, "TrainingRun") +
              pbw::bytes(3, "run-1") + pbw::bytes(4, "uid-run") + pbw::num(6, 1) + pbw::num(7, 1));
  const std::string metadata =
      meta("job-1", pbw::entry(11, "mlops.dev/model", "iris") +
                        pbw::entry(11, "app.kubernetes.io/managed-by", "mlops") +
                        pbw::entry(12, "note", "x") + owner + pbw::bytes(14, "example.com/keep") +
                        pbw::bytes(17, "managed fields are skipped"));
  const std::string spec =
      pbw::num(1, 1) + pbw::num(7, 0) + pbw::num(10, 0) + pbw::bytes(6, "template skipped");
  const std::string complete = pbw::bytes(1, "Complete") + pbw::bytes(2, "True") + pbw::time(3, 0) +
                               pbw::time(4, 1764547265) + pbw::bytes(5, "") + pbw::bytes(6, "");
  const std::string failedCond = pbw::bytes(1, "FailureTarget") + pbw::bytes(2, "False") +
                                 pbw::time(3, 0) + pbw::time(4, 0) +
                                 pbw::bytes(5, "BackoffLimitExceeded") +
                                 pbw::bytes(6, "Job has reached the specified backoff limit");
  const std::string status = pbw::bytes(1, complete) + pbw::bytes(1, failedCond) +
                             pbw::time(2, 1764547200) + pbw::time(3, 1764547265) + pbw::num(4, 0) +
                             pbw::num(5, 1) + pbw::num(6, 0) + pbw::num(9, 0) + pbw::num(11, 0) +
                             pbw::bytes(7, "") + pbw::num(99, 7);
  const std::string job = pbw::bytes(1, metadata) + pbw::bytes(2, spec) + pbw::bytes(3, status);

  Result<Json> decoded = decodeJobProtobuf(job);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const Json expected = Json::parse(R"({
    "apiVersion": "batch/v1", "kind": "Job",
    "metadata": {"name": "job-1", "namespace": "ns1", "uid": "uid-job-1", "resourceVersion": "42",
                 "generation": 1, "creationTimestamp": "2025-12-01T00:00:00Z",
                 "labels": {"mlops.dev/model": "iris", "app.kubernetes.io/managed-by": "mlops"},
                 "annotations": {"note": "x"},
                 "ownerReferences": [{"apiVersion": "mlops.dev/v1alpha1", "kind": "TrainingRun",
                                      "name": "run-1", "uid": "uid-run", "controller": true,
                                      "blockOwnerDeletion": true}],
                 "finalizers": ["example.com/keep"]},
    "spec": {"suspend": false},
    "status": {"conditions": [
                 {"type": "Complete", "status": "True", "lastProbeTime": null,
                  "lastTransitionTime": "2025-12-01T00:01:05Z"},
                 {"type": "FailureTarget", "status": "False", "lastProbeTime": null,
                  "lastTransitionTime": null, "reason": "BackoffLimitExceeded",
                  "message": "Job has reached the specified backoff limit"}],
               "startTime": "2025-12-01T00:00:00Z", "completionTime": "2025-12-01T00:01:05Z",
               "succeeded": 1, "ready": 0, "terminating": 0}
  })");
  EXPECT_EQ(*decoded, expected) << decoded->dump(2);
}

TEST(ProtobufObjects, DecodesAPodsStatusAndNotItsSpec) {
  const std::string terminated = pbw::bytes(
      3, pbw::num(1, 0) + pbw::num(2, 0) + pbw::bytes(3, "Completed") +
             pbw::bytes(4, R"({"metrics":{"accuracy":0.97}})") + pbw::time(5, 1764547200) +
             pbw::time(6, 1764547265) + pbw::bytes(7, "containerd://abc"));
  const std::string trainer = pbw::bytes(1, "trainer") + pbw::bytes(2, terminated) +
                              pbw::bytes(3, "") + pbw::num(4, 0) + pbw::num(5, 0) +
                              pbw::bytes(6, "trainer:1") + pbw::bytes(7, "docker.io/t@sha256:aa") +
                              pbw::bytes(8, "containerd://abc") + pbw::num(9, 0);
  const std::string waiting =
      pbw::bytes(1, pbw::bytes(1, "ErrImagePull") + pbw::bytes(2, "not found"));
  const std::string fetch = pbw::bytes(1, "fetch") + pbw::bytes(2, waiting) + pbw::bytes(3, "") +
                            pbw::num(4, 0) + pbw::num(5, 2) + pbw::bytes(6, "fetch:1") +
                            pbw::bytes(7, "") + pbw::bytes(8, "");
  const std::string status = pbw::bytes(1, "Succeeded") + pbw::bytes(2, "conditions skipped") +
                             pbw::bytes(3, "") + pbw::bytes(4, "") + pbw::bytes(5, "10.0.0.1") +
                             pbw::time(7, 1764547200) + pbw::bytes(8, trainer) +
                             pbw::bytes(10, fetch) + pbw::bytes(9, "BestEffort");
  const std::string pod =
      pbw::bytes(1, meta("pod-1")) + pbw::bytes(2, "spec skipped") + pbw::bytes(3, status);

  Result<Json> decoded = decodePodProtobuf(pod);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const Json expected = Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "pod-1", "namespace": "ns1", "uid": "uid-pod-1", "resourceVersion": "42",
                 "generation": 1, "creationTimestamp": "2025-12-01T00:00:00Z"},
    "status": {"phase": "Succeeded", "startTime": "2025-12-01T00:00:00Z",
               "containerStatuses": [{
                 "name": "trainer", "ready": false, "restartCount": 0, "image": "trainer:1",
                 "imageID": "docker.io/t@sha256:aa", "containerID": "containerd://abc",
                 "started": false, "lastState": {},
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                          "message": "{\"metrics\":{\"accuracy\":0.97}}",
                                          "startedAt": "2025-12-01T00:00:00Z",
                                          "finishedAt": "2025-12-01T00:01:05Z",
                                          "containerID": "containerd://abc"}}}],
               "initContainerStatuses": [{
                 "name": "fetch", "ready": false, "restartCount": 2, "image": "fetch:1",
                 "imageID": "", "lastState": {},
                 "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}
  })");
  EXPECT_EQ(*decoded, expected) << decoded->dump(2);
}

TEST(ProtobufObjects, MalformedObjectsAreErrorsThatNameTheField) {
  // metadata.name as a varint; a truncated status; a time out of range.
  const std::string badName = pbw::bytes(1, pbw::num(1, 5));
  const std::string truncated =
      pbw::bytes(1, meta("j")) + pbw::bytes(3, pbw::bytes(1, "x")).substr(0, 3);
  const std::string farTime = pbw::bytes(1, pbw::bytes(1, "j") + pbw::time(8, int64_t{1} << 40));
  Result<Json> a = decodeJobProtobuf(badName);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("metadata: field 1 has the wrong wire type"), std::string::npos)
      << a.error().message;
  Result<Json> b = decodePodProtobuf(truncated);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("decoding a Pod from protobuf: Pod:"), std::string::npos)
      << b.error().message;
  Result<Json> c = decodeJobProtobuf(farTime);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("creationTimestamp"), std::string::npos) << c.error().message;
}

TEST(ProtobufObjects, TextThatIsNotUtf8IsRepaired) {
  Result<Json> decoded = decodePodProtobuf(pbw::bytes(1, pbw::bytes(1, "p\xff")) +
                                           pbw::bytes(3, pbw::bytes(3, "m\xc3")));
  ASSERT_TRUE(decoded.ok());
  EXPECT_NO_THROW((void)decoded->dump());
}

TEST(ProtobufCodec, ContentTypes) {
  EXPECT_TRUE(isProtobufContentType("application/vnd.kubernetes.protobuf"));
  EXPECT_TRUE(isProtobufContentType("application/vnd.kubernetes.protobuf;stream=watch"));
  EXPECT_TRUE(isProtobufContentType("Application/Vnd.Kubernetes.Protobuf; stream=watch"));
  EXPECT_FALSE(isProtobufContentType("application/json"));
  EXPECT_FALSE(isProtobufContentType("application/vnd.kubernetes.protobufx"));
  EXPECT_FALSE(isProtobufContentType(""));
}

TEST(ProtobufCodec, DecodesAListWithItsResourceVersionAndContinueToken) {
  const std::string list =
      pbw::bytes(1, pbw::bytes(1, "") + pbw::bytes(2, "777") + pbw::bytes(3, "next-page")) +
      pbw::bytes(2, pbw::bytes(1, meta("a"))) + pbw::bytes(2, pbw::bytes(1, meta("b")));
  Result<ListPage> page =
      decodeProtobufList(pbw::envelope("batch/v1", "JobList", list), decodeJobProtobuf);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->resourceVersion, "777");
  EXPECT_EQ(page->continueToken, "next-page");
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[1]["metadata"]["name"], "b");
  EXPECT_EQ(page->items[1]["kind"], "Job");
}

TEST(ProtobufCodec, RefusesBodiesWithoutTheEnvelopeOrWithAnEncodingInside) {
  EXPECT_FALSE(decodeProtobufList("{\"items\":[]}", decodeJobProtobuf).ok());
  const std::string gzipped = std::string("k8s\0", 4) + pbw::bytes(2, "xx") + pbw::bytes(3, "gzip");
  Result<ListPage> page = decodeProtobufList(gzipped, decodeJobProtobuf);
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("\"gzip\" is not supported"), std::string::npos);
}

std::string statusMessage(int code, const std::string& reason) {
  return pbw::bytes(1, "") + pbw::bytes(2, "Failure") +
         pbw::bytes(3, "too old resource version: 1 (5)") + pbw::bytes(4, reason) +
         pbw::num(6, code);
}

TEST(ProtobufCodec, DecodesAStatusAsItsJsonForm) {
  Result<Json> status =
      decodeProtobufStatus(pbw::envelope("v1", "Status", statusMessage(404, "NotFound")));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, Json::parse(R"json({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                         "message": "too old resource version: 1 (5)",
                                         "reason": "NotFound", "code": 404})json"));
}

TEST(ProtobufWatch, FramesSplitAnywhereBecomeEvents) {
  const std::string stream =
      pbw::frame("ADDED", pbw::envelope("batch/v1", "Job", pbw::bytes(1, meta("a")))) +
      pbw::frame("BOOKMARK",
                 pbw::envelope("batch/v1", "Job", pbw::bytes(1, pbw::bytes(6, "900")))) +
      pbw::frame("DELETED", pbw::envelope("batch/v1", "Job", pbw::bytes(1, meta("b"))));
  ProtobufWatchDecoder decoder(decodeJobProtobuf);
  std::vector<WatchEvent> events;
  for (char c : stream) {  // one byte at a time
    decoder.feed(std::string_view(&c, 1));
    while (auto item = decoder.next()) {
      ASSERT_TRUE(item->ok()) << item->error().message;
      events.push_back(std::move(item->value()));
    }
  }
  decoder.finish();
  EXPECT_FALSE(decoder.next());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(events[0].object["metadata"]["name"], "a");
  EXPECT_EQ(events[1].type, WatchEventType::kBookmark);
  EXPECT_EQ(events[1].object["metadata"]["resourceVersion"], "900");
  EXPECT_EQ(events[2].type, WatchEventType::kDeleted);
  EXPECT_EQ(events[2].object["metadata"]["uid"], "uid-b");
}

TEST(ProtobufWatch, AnErrorEventWith410IsGoneAndOthersCarryTheirStatus) {
  ProtobufWatchDecoder decoder(decodeJobProtobuf);
  decoder.feed(
      pbw::frame("ERROR", pbw::envelope("v1", "Status", statusMessage(410, "Expired"))) +
      pbw::frame("ERROR", pbw::envelope("v1", "Status", statusMessage(500, "InternalError"))));
  auto gone = decoder.next();
  ASSERT_TRUE(gone);
  ASSERT_FALSE(gone->ok());
  EXPECT_EQ(gone->error().code, ErrorCode::kGone);
  auto other = decoder.next();
  ASSERT_TRUE(other && other->ok());
  EXPECT_EQ((*other)->type, WatchEventType::kError);
  EXPECT_EQ((*other)->object["code"], 500);
}

TEST(ProtobufWatch, ABadEventIsAnErrorAndTheNextFrameStillDecodes) {
  ProtobufWatchDecoder decoder(decodeJobProtobuf);
  decoder.feed(pbw::frame("RENAMED", pbw::envelope("batch/v1", "Job", "")) +
               pbw::frame("ADDED", "not enveloped") +
               pbw::frame("MODIFIED", pbw::envelope("batch/v1", "Job", pbw::bytes(1, meta("c")))));
  auto unknown = decoder.next();
  ASSERT_TRUE(unknown && !unknown->ok());
  EXPECT_NE(unknown->error().message.find("unknown watch event type \"RENAMED\""),
            std::string::npos);
  auto notEnveloped = decoder.next();
  ASSERT_TRUE(notEnveloped && !notEnveloped->ok());
  auto good = decoder.next();
  ASSERT_TRUE(good && good->ok());
  EXPECT_EQ((*good)->object["metadata"]["name"], "c");
}

TEST(ProtobufWatch, AnOversizedFrameEndsTheStreamAndATruncatedOneIsReported) {
  ProtobufWatchDecoder small(decodeJobProtobuf, 16);
  small.feed(
      pbw::frame("ADDED", pbw::envelope("batch/v1", "Job", pbw::bytes(1, meta("too-long")))));
  auto oversized = small.next();
  ASSERT_TRUE(oversized && !oversized->ok());
  EXPECT_NE(oversized->error().message.find("longer than the limit of 16"), std::string::npos);
  small.feed(pbw::frame("ADDED", ""));
  EXPECT_FALSE(small.next());  // nothing more is read after a bad length

  ProtobufWatchDecoder cut(decodeJobProtobuf);
  const std::string whole =
      pbw::frame("ADDED", pbw::envelope("batch/v1", "Job", pbw::bytes(1, meta("d"))));
  cut.feed(whole.substr(0, whole.size() - 3));
  EXPECT_FALSE(cut.next());
  cut.finish();
  auto truncated = cut.next();
  ASSERT_TRUE(truncated && !truncated->ok());
  EXPECT_NE(truncated->error().message.find("ended inside a frame"), std::string::npos);
}

}  // namespace
}  // namespace mlops::kube
