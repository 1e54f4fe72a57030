//===- RuntimeCApiTest.cpp - The C ABI and its C++ wrapper ----------------===//
//
// Runs without a GPU: every failure path before the driver is reached is
// checked through the public C functions, and the no-driver path is checked
// where libcuda.so.1 is absent.
//
//===----------------------------------------------------------------------===//

#include "flashcore/Device.h"
#include "flashcore/Runtime.h"
#include "flashcore/flashcore.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <thread>

using namespace flashcore;

namespace {

void *fakePtr(uintptr_t address) { return reinterpret_cast<void *>(address); }

flashcore_attention_args validArgs() {
  return contiguousArgs(fakePtr(0x10000), fakePtr(0x20000), fakePtr(0x30000),
                        fakePtr(0x40000), 1, 128, 128, 4, 4, 64,
                        FLASHCORE_DTYPE_BF16, false);
}

TEST(CApi, StatusStringsAreDistinctAndNameTheCode) {
  std::set<std::string> seen;
  for (int code = FLASHCORE_STATUS_SUCCESS;
       code <= FLASHCORE_STATUS_INTERNAL_ERROR; ++code) {
    std::string s =
        flashcore_status_string(static_cast<flashcore_status_t>(code));
    EXPECT_EQ(s.rfind("FLASHCORE_STATUS_", 0), 0u) << s;
    EXPECT_TRUE(seen.insert(s).second) << "duplicate: " << s;
  }
  EXPECT_STREQ(flashcore_status_string(static_cast<flashcore_status_t>(999)),
               "unknown flashcore status");
}

TEST(CApi, ArgsInitSetsStructSizeAndZeroesTheRest) {
  flashcore_attention_args a;
  std::memset(&a, 0xff, sizeof a);
  flashcore_attention_args_init(&a);
  EXPECT_EQ(a.struct_size, sizeof(flashcore_attention_args));
  EXPECT_EQ(a.q, nullptr);
  EXPECT_EQ(a.lse, nullptr);
  EXPECT_EQ(a.softmax_scale, 0.0f);
  EXPECT_EQ(int(a.dtype), 0); // must be chosen explicitly
}

TEST(CApi, SizedInitWritesOnlyTheCallersStruct) {
  // A version-2 caller's struct followed by bytes it owns: neither init may
  // touch them (the unsized exported symbol serves version-2 binaries).
  struct {
    unsigned char args[sizeof(flashcore_attention_args)];
  } buf;
  const size_t v2 = FLASHCORE_ATTENTION_ARGS_V2_SIZE;
  auto *a = reinterpret_cast<flashcore_attention_args *>(buf.args);
  for (int variant = 0; variant < 2; ++variant) {
    std::memset(buf.args, 0xab, sizeof buf.args);
    if (variant == 0)
      flashcore_attention_args_init_sized(a, v2);
    else
      (flashcore_attention_args_init)(a); // the exported function
    EXPECT_EQ(a->struct_size, v2) << variant;
    EXPECT_EQ(a->window_left, -1) << variant;
    EXPECT_EQ(a->cu_seqlens_k, nullptr) << variant;
    for (size_t i = v2; i < sizeof buf.args; ++i)
      ASSERT_EQ(buf.args[i], 0xab) << "byte " << i << " variant " << variant;
  }
  // Version 1 likewise; an unknown size writes nothing.
  std::memset(buf.args, 0xab, sizeof buf.args);
  flashcore_attention_args_init_sized(a, FLASHCORE_ATTENTION_ARGS_V1_SIZE);
  EXPECT_EQ(a->struct_size, FLASHCORE_ATTENTION_ARGS_V1_SIZE);
  EXPECT_EQ(buf.args[FLASHCORE_ATTENTION_ARGS_V1_SIZE], 0xab);
  std::memset(buf.args, 0xab, sizeof buf.args);
  flashcore_attention_args_init_sized(a, 17);
  EXPECT_EQ(buf.args[0], 0xab);
  // The macro gives the full struct with the version-3 defaults.
  flashcore_attention_args full;
  std::memset(&full, 0xff, sizeof full);
  flashcore_attention_args_init(&full);
  EXPECT_EQ(full.struct_size, sizeof full);
  EXPECT_EQ(full.num_splits, 0);
  EXPECT_EQ(full.pack_gqa, -1);
  EXPECT_EQ(full.cache_seqlens, nullptr);
  EXPECT_EQ(full.workspace, nullptr);
}

TEST(CApi, ContiguousStridesDescribeBshdAndBhsLse) {
  flashcore_attention_args a = validArgs();
  EXPECT_EQ(a.q_head_stride, 64);
  EXPECT_EQ(a.q_seq_stride, 4 * 64);
  EXPECT_EQ(a.q_batch_stride, 128 * 4 * 64);
  EXPECT_EQ(a.lse_head_stride, 128);
  EXPECT_EQ(a.lse_batch_stride, 4 * 128);
}

TEST(CApi, ValidateReportsTheArgumentInLastError) {
  flashcore_attention_args a = validArgs();
  a.o = fakePtr(0x40003);
  EXPECT_EQ(flashcore_validate_attention_args(&a),
            FLASHCORE_STATUS_MISALIGNED_POINTER);
  EXPECT_STREQ(flashcore_last_error(),
               "o must be 16-byte aligned, got: 0x40003");
  a.o = fakePtr(0x40000);
  EXPECT_EQ(flashcore_validate_attention_args(&a), FLASHCORE_STATUS_SUCCESS);
  EXPECT_STREQ(flashcore_last_error(), "");
}

TEST(CApi, LastErrorIsPerThread) {
  flashcore_attention_args a = validArgs();
  a.q = nullptr;
  EXPECT_EQ(flashcore_validate_attention_args(&a),
            FLASHCORE_STATUS_NULL_POINTER);
  std::string other = "unset";
  std::thread([&] { other = flashcore_last_error(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_STRNE(flashcore_last_error(), "");
}

TEST(CApi, RejectsNullHandleOnForward) {
  flashcore_attention_args a = validArgs();
  EXPECT_EQ(flashcore_attention_forward(nullptr, &a, nullptr),
            FLASHCORE_STATUS_INVALID_HANDLE);
  EXPECT_NE(std::string(flashcore_last_error()).find("handle"),
            std::string::npos);
}

TEST(CApi, CreateRequiresAnOutPointer) {
  EXPECT_EQ(flashcore_create(nullptr), FLASHCORE_STATUS_INVALID_HANDLE);
}

TEST(CApi, ForwardValidatesBeforeTouchingTheDriver) {
  Handle h;
  Status created = h.init();
  ASSERT_TRUE(created) << created.str();
  flashcore_attention_args a = validArgs();
  a.heads_kv = 3;
  Status s = h.forward(a, nullptr);
  EXPECT_EQ(s.code, FLASHCORE_STATUS_HEADS_MISMATCH);
  EXPECT_EQ(s.message, "heads_q must be a multiple of heads_kv = 3, got: 4");
}

TEST(CApi, SetSpecRejectsInvalidYaml) {
  Handle h;
  ASSERT_TRUE(h.init());
  Status s = h.setSpec("problem:\n  dtype: int8\n  head_dim: 64\n");
  EXPECT_EQ(s.code, FLASHCORE_STATUS_INVALID_SPEC);
  EXPECT_NE(s.message.find("dtype"), std::string::npos) << s.message;
}

TEST(CApi, ForwardRejectsACallTheSpecOverrideDoesNotFit) {
  Handle h;
  ASSERT_TRUE(h.init());
  ASSERT_TRUE(h.setSpec("problem:\n  dtype: bf16\n  head_dim: 128\n"));
  Status s = h.forward(validArgs(), nullptr); // head_dim 64
  EXPECT_EQ(s.code, FLASHCORE_STATUS_SPEC_MISMATCH);
  EXPECT_NE(s.message.find("head_dim: 128"), std::string::npos) << s.message;
  ASSERT_TRUE(h.clearSpec());
}

TEST(CApi, ForwardReportsMissingDriver) {
  if (device::available())
    GTEST_SKIP() << "a CUDA driver is installed";
  Handle h;
  ASSERT_TRUE(h.init());
  Status s = h.forward(validArgs(), nullptr);
  EXPECT_EQ(s.code, FLASHCORE_STATUS_NO_DRIVER);
  EXPECT_NE(s.message.find("no CUDA driver (libcuda.so.1 not found)"),
            std::string::npos)
      << s.message;
}

TEST(CApi, PlanCreateChecksItsArgumentsBeforeTheDriver) {
  flashcore_attention_args a = validArgs();
  flashcore_handle_t h = nullptr;
  ASSERT_EQ(flashcore_create(&h), FLASHCORE_STATUS_SUCCESS);
  EXPECT_EQ(flashcore_attention_plan_create(h, &a, nullptr, nullptr),
            FLASHCORE_STATUS_NULL_POINTER);
  EXPECT_NE(std::string(flashcore_last_error()).find("plan must point"),
            std::string::npos);
  auto plan = reinterpret_cast<flashcore_plan_t>(fakePtr(0x1234)); // cleared
  EXPECT_EQ(flashcore_attention_plan_create(nullptr, &a, nullptr, &plan),
            FLASHCORE_STATUS_INVALID_HANDLE);
  EXPECT_EQ(plan, nullptr);
  a.heads_kv = 3;
  EXPECT_EQ(flashcore_attention_plan_create(h, &a, nullptr, &plan),
            FLASHCORE_STATUS_HEADS_MISMATCH);
  EXPECT_EQ(plan, nullptr);
  EXPECT_STREQ(flashcore_last_error(),
               "heads_q must be a multiple of heads_kv = 3, got: 4");
  if (!device::available()) {
    a.heads_kv = 4;
    EXPECT_EQ(flashcore_attention_plan_create(h, &a, nullptr, &plan),
              FLASHCORE_STATUS_NO_DRIVER);
    EXPECT_EQ(plan, nullptr);
  }
  flashcore_destroy(h);
}

TEST(CApi, PlanLaunchRejectsAnythingButAPlan) {
  flashcore_attention_args a = validArgs();
  EXPECT_EQ(flashcore_attention_plan_launch(nullptr, a.q, a.k, a.v, a.o,
                                            nullptr, nullptr),
            FLASHCORE_STATUS_INVALID_HANDLE);
  EXPECT_NE(std::string(flashcore_last_error()).find("plan must come from"),
            std::string::npos);
  // A handle is not a plan (the magic differs).
  flashcore_handle_t h = nullptr;
  ASSERT_EQ(flashcore_create(&h), FLASHCORE_STATUS_SUCCESS);
  EXPECT_EQ(flashcore_attention_plan_launch(
                reinterpret_cast<flashcore_plan_t>(h), a.q, a.k, a.v, a.o,
                nullptr, nullptr),
            FLASHCORE_STATUS_INVALID_HANDLE);
  flashcore_attention_plan_destroy(nullptr); // a no-op
  flashcore_destroy(h);
}

TEST(CApi, CppPlanWrapsTheCApi) {
  Handle h;
  ASSERT_TRUE(h.init());
  flashcore_attention_args a = validArgs();
  Plan plan;
  EXPECT_EQ(plan.get(), nullptr);
  // Not created: a launch is an invalid handle, never a crash.
  Status s = plan.launch(a.q, a.k, a.v, a.o, nullptr, nullptr);
  EXPECT_EQ(s.code, FLASHCORE_STATUS_INVALID_HANDLE);
  a.heads_kv = 3;
  s = plan.init(h, a, nullptr);
  EXPECT_EQ(s.code, FLASHCORE_STATUS_HEADS_MISMATCH) << s.message;
  EXPECT_EQ(plan.get(), nullptr);
  if (!device::available()) {
    a.heads_kv = 4;
    s = plan.init(h, a, nullptr);
    EXPECT_EQ(s.code, FLASHCORE_STATUS_NO_DRIVER) << s.message;
    EXPECT_EQ(plan.get(), nullptr);
  }
  Plan moved = std::move(plan); // moving an empty plan is fine
  EXPECT_EQ(moved.get(), nullptr);
}

TEST(CApi, DeviceHelpersReportMissingDriver) {
  if (device::available())
    GTEST_SKIP() << "a CUDA driver is installed";
  CUdeviceptr ptr = 0;
  std::string error;
  EXPECT_FALSE(device::allocate(ptr, 1024, error));
  EXPECT_NE(error.find("libcuda.so.1"), std::string::npos) << error;
  EXPECT_NE(device::unavailableReason(), "");
}

TEST(CApi, CacheStatsNeedAnInitializedStruct) {
  EXPECT_EQ(flashcore_get_cache_stats(nullptr),
            FLASHCORE_STATUS_INVALID_STRUCT);
  flashcore_cache_stats stats;
  std::memset(&stats, 0, sizeof stats);
  EXPECT_EQ(flashcore_get_cache_stats(&stats),
            FLASHCORE_STATUS_INVALID_STRUCT);
  EXPECT_STREQ(flashcore_last_error(),
               "stats must be initialized with flashcore_cache_stats_init, "
               "got: struct_size 0");
  flashcore_cache_stats_init(&stats);
  EXPECT_EQ(stats.struct_size, sizeof(flashcore_cache_stats));
  EXPECT_EQ(flashcore_get_cache_stats(&stats), FLASHCORE_STATUS_SUCCESS);
  EXPECT_EQ(stats.compile_failures, 0u);
}

TEST(CApi, CppWrapperReadsTheCacheState) {
  flashcore_cache_stats stats;
  Status s = cacheStats(stats);
  EXPECT_TRUE(s) << s.str();
  EXPECT_EQ(stats.struct_size, sizeof(flashcore_cache_stats));
  // The directory is "" only when the disk cache is off or degraded.
  EXPECT_EQ(cacheDirectory().empty(), stats.disk_enabled == 0);
}

TEST(CApi, ABadCallReachesNeitherTheCacheNorTheDriver) {
  flashcore_cache_stats before, after;
  ASSERT_TRUE(cacheStats(before));
  Handle h;
  ASSERT_TRUE(h.init());
  flashcore_attention_args a = validArgs();
  a.q = fakePtr(0x10008); // misaligned
  EXPECT_EQ(h.forward(a, nullptr).code, FLASHCORE_STATUS_MISALIGNED_POINTER);
  ASSERT_TRUE(cacheStats(after));
  EXPECT_EQ(after.memory_hits, before.memory_hits);
  EXPECT_EQ(after.compiles, before.compiles);
  EXPECT_EQ(after.disk_hits, before.disk_hits);
}

TEST(CApi, DestroyingNullIsANoOp) {
  EXPECT_EQ(flashcore_destroy(nullptr), FLASHCORE_STATUS_SUCCESS);
}

TEST(CApi, VersionIsSet) { EXPECT_STRNE(flashcore_version(), ""); }

TEST(CApi, WorkspaceSizeFollowsTheSpecOverridesSplitChoice) {
  // 2 x 8 heads x 2 query blocks of 8192 keys: the heuristics split it.
  flashcore_attention_args a = contiguousArgs(
      fakePtr(0x10000), fakePtr(0x20000), fakePtr(0x30000), fakePtr(0x40000),
      2, 256, 8192, 8, 2, 128, FLASHCORE_DTYPE_BF16, false);
  flashcore_handle_t handle = nullptr;
  ASSERT_EQ(flashcore_create(&handle), FLASHCORE_STATUS_SUCCESS);
  size_t bytes = 0;
  ASSERT_EQ(flashcore_attention_workspace_size(handle, &a, &bytes),
            FLASHCORE_STATUS_SUCCESS)
      << flashcore_last_error();
  EXPECT_GT(bytes, 0u);
  // An override for the unsplit problem: the call would not split, so it
  // needs no workspace.
  ASSERT_EQ(flashcore_set_spec(handle, "problem: {dtype: bf16, head_dim: 128}\n"),
            FLASHCORE_STATUS_SUCCESS)
      << flashcore_last_error();
  ASSERT_EQ(flashcore_attention_workspace_size(handle, &a, &bytes),
            FLASHCORE_STATUS_SUCCESS);
  EXPECT_EQ(bytes, 0u);
  // The caller's num_splits stands.
  a.num_splits = 4;
  ASSERT_EQ(flashcore_attention_workspace_size(handle, &a, &bytes),
            FLASHCORE_STATUS_SUCCESS);
  EXPECT_GT(bytes, 0u);
  flashcore_destroy(handle);
}

} // namespace
