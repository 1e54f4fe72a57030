//===- RuntimeArgValidationTest.cpp - flashcore_attention_args checks -----===//
//
// One test per rejected argument: each starts from valid arguments, breaks
// exactly one thing, and checks the status and that the message names the
// argument and the value. Pointers are fake (never dereferenced).
//
//===----------------------------------------------------------------------===//

#include "flashcore/Runtime.h"
#include "runtime/ArgValidation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace flashcore;

namespace {

void *fakePtr(uintptr_t address) { return reinterpret_cast<void *>(address); }

/// B=2, Sq=256, Sk=384, Hq=8, Hkv=2, D=128, BSHD contiguous, with LSE.
flashcore_attention_args validArgs() {
  flashcore_attention_args a = contiguousArgs(
      fakePtr(0x100000), fakePtr(0x200000), fakePtr(0x300000),
      fakePtr(0x400000), /*batch=*/2, /*seqlenQ=*/256, /*seqlenK=*/384,
      /*headsQ=*/8, /*headsKv=*/2, /*headDim=*/128, FLASHCORE_DTYPE_BF16,
      /*causal=*/false, /*softmaxScale=*/0,
      static_cast<float *>(fakePtr(0x500000)));
  return a;
}

struct Result {
  flashcore_status_t status;
  std::string message;
  AttentionCall call;
};

Result validate(const flashcore_attention_args &a) {
  Result r;
  r.status = validateAttentionArgs(&a, r.call, r.message);
  return r;
}

#define EXPECT_REJECTED(ARGS, STATUS, ...)                                     \
  do {                                                                         \
    Result r = validate(ARGS);                                                 \
    EXPECT_EQ(r.status, STATUS) << r.message;                                  \
    for (const char *part : {__VA_ARGS__})                                     \
      EXPECT_NE(r.message.find(part), std::string::npos)                       \
          << "message '" << r.message << "' lacks '" << part << "'";           \
  } while (false)

//===----------------------------------------------------------------------===//
// Accepted layouts
//===----------------------------------------------------------------------===//

TEST(ArgValidation, AcceptsContiguousBshdArguments) {
  Result r = validate(validArgs());
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_EQ(r.call.problem.headDim, 128);
  EXPECT_EQ(r.call.problem.dtype, DType::BF16);
  EXPECT_FALSE(r.call.problem.causal);
  EXPECT_EQ(r.call.headsPerKvHead, 4);
}

TEST(ArgValidation, DefaultsZeroSoftmaxScaleToInverseSqrtHeadDim) {
  Result r = validate(validArgs());
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_FLOAT_EQ(r.call.softmaxScale, 1.0f / std::sqrt(128.0f));
}

TEST(ArgValidation, KeepsAnExplicitSoftmaxScale) {
  flashcore_attention_args a = validArgs();
  a.softmax_scale = 0.5f;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_FLOAT_EQ(r.call.softmaxScale, 0.5f);
}

TEST(ArgValidation, AcceptsBhsdLayout) {
  flashcore_attention_args a = validArgs();
  // (B, H, S, D): seq stride D, head stride S*D, batch stride H*S*D.
  a.q_seq_stride = 128, a.q_head_stride = 256 * 128, a.q_batch_stride = 8 * 256 * 128;
  a.o_seq_stride = 128, a.o_head_stride = 256 * 128, a.o_batch_stride = 8 * 256 * 128;
  a.k_seq_stride = 128, a.k_head_stride = 384 * 128, a.k_batch_stride = 2 * 384 * 128;
  a.v_seq_stride = 128, a.v_head_stride = 384 * 128, a.v_batch_stride = 2 * 384 * 128;
  EXPECT_EQ(validate(a).status, FLASHCORE_STATUS_SUCCESS) << validate(a).message;
}

TEST(ArgValidation, AcceptsPackedQkvLayout) {
  // (B, S, 3, H, D) with heads_q == heads_kv: every row holds q, k and v.
  flashcore_attention_args a = validArgs();
  a.heads_kv = 8;
  a.seqlen_k = 256;
  const int64_t row = 3 * 8 * 128;
  for (int64_t *s : {&a.q_seq_stride, &a.k_seq_stride, &a.v_seq_stride})
    *s = row;
  for (int64_t *s : {&a.q_head_stride, &a.k_head_stride, &a.v_head_stride})
    *s = 128;
  for (int64_t *s : {&a.q_batch_stride, &a.k_batch_stride, &a.v_batch_stride})
    *s = 256 * row;
  EXPECT_EQ(validate(a).status, FLASHCORE_STATUS_SUCCESS) << validate(a).message;
}

TEST(ArgValidation, IgnoresStridesOfSizeOneDimensions) {
  flashcore_attention_args a = validArgs();
  a.batch = 1;
  a.heads_q = 1;
  a.heads_kv = 1;
  for (int64_t *s : {&a.q_batch_stride, &a.k_batch_stride, &a.v_batch_stride,
                     &a.o_batch_stride, &a.q_head_stride, &a.k_head_stride,
                     &a.v_head_stride, &a.o_head_stride, &a.lse_batch_stride,
                     &a.lse_head_stride})
    *s = 3; // neither a multiple of 8 nor non-overlapping: unused anyway
  EXPECT_EQ(validate(a).status, FLASHCORE_STATUS_SUCCESS) << validate(a).message;
}

TEST(ArgValidation, AcceptsNullLse) {
  flashcore_attention_args a = validArgs();
  a.lse = nullptr;
  a.lse_batch_stride = a.lse_head_stride = -1; // unused without lse
  EXPECT_EQ(validate(a).status, FLASHCORE_STATUS_SUCCESS);
}

//===----------------------------------------------------------------------===//
// The struct
//===----------------------------------------------------------------------===//

TEST(ArgValidation, RejectsNullArgs) {
  AttentionCall call;
  std::string message;
  EXPECT_EQ(validateAttentionArgs(nullptr, call, message),
            FLASHCORE_STATUS_INVALID_STRUCT);
  EXPECT_NE(message.find("args"), std::string::npos) << message;
}

TEST(ArgValidation, RejectsWrongStructSize) {
  flashcore_attention_args a = validArgs();
  a.struct_size = 8;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRUCT, "struct_size", "got: 8");
}

TEST(ArgValidation, RejectsUnknownDtype) {
  flashcore_attention_args a = validArgs();
  a.dtype = static_cast<flashcore_dtype_t>(0);
  EXPECT_REJECTED(a, FLASHCORE_STATUS_UNSUPPORTED_DTYPE, "dtype", "got: 0");
}

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

struct SizeCase {
  const char *name;
  int64_t flashcore_attention_args::*field;
  int64_t value;
  flashcore_status_t status;
};

void PrintTo(const SizeCase &c, std::ostream *os) {
  *os << c.name << " = " << c.value;
}

class RejectsBadSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(RejectsBadSize, NamesTheSizeAndValue) {
  const SizeCase &c = GetParam();
  flashcore_attention_args a = validArgs();
  a.*c.field = c.value;
  std::string got = "got: " + std::to_string(c.value);
  EXPECT_REJECTED(a, c.status, c.name, got.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    ArgValidation, RejectsBadSize,
    ::testing::Values(
        SizeCase{"batch", &flashcore_attention_args::batch, 0,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"seqlen_q", &flashcore_attention_args::seqlen_q, -5,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"seqlen_k", &flashcore_attention_args::seqlen_k, 0,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"heads_q", &flashcore_attention_args::heads_q, 0,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"heads_kv", &flashcore_attention_args::heads_kv, -1,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"head_dim", &flashcore_attention_args::head_dim, 0,
                 FLASHCORE_STATUS_INVALID_SIZE},
        SizeCase{"seqlen_q", &flashcore_attention_args::seqlen_q,
                 int64_t(1) << 31, FLASHCORE_STATUS_SIZE_TOO_LARGE},
        SizeCase{"seqlen_k", &flashcore_attention_args::seqlen_k,
                 int64_t(1) << 31, FLASHCORE_STATUS_SIZE_TOO_LARGE},
        SizeCase{"batch", &flashcore_attention_args::batch, 65536,
                 FLASHCORE_STATUS_SIZE_TOO_LARGE},
        SizeCase{"heads_q", &flashcore_attention_args::heads_q, 65536 * 2,
                 FLASHCORE_STATUS_SIZE_TOO_LARGE}),
    [](const ::testing::TestParamInfo<SizeCase> &info) {
      return std::string(info.param.name) +
             (info.param.status == FLASHCORE_STATUS_INVALID_SIZE
                  ? "NotPositive"
                  : "TooLarge");
    });

TEST(ArgValidation, RejectsHeadsQNotMultipleOfHeadsKv) {
  flashcore_attention_args a = validArgs();
  a.heads_kv = 3;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_HEADS_MISMATCH, "heads_q", "heads_kv = 3",
                  "got: 8");
}

TEST(ArgValidation, RejectsHeadDimTheGeneratorDoesNotSupport) {
  flashcore_attention_args a = validArgs();
  a.head_dim = 72; // not a multiple of 16
  EXPECT_REJECTED(a, FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM, "head_dim 72",
                  "got: 72");
}

TEST(ArgValidation, RejectsHeadDimAbove256) {
  flashcore_attention_args a = validArgs();
  a.head_dim = 512;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_UNSUPPORTED_HEAD_DIM, "head_dim 512");
}

//===----------------------------------------------------------------------===//
// Softmax scale
//===----------------------------------------------------------------------===//

TEST(ArgValidation, RejectsNegativeSoftmaxScale) {
  flashcore_attention_args a = validArgs();
  a.softmax_scale = -0.125f;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE, "softmax_scale",
                  "got: -0.125");
}

TEST(ArgValidation, RejectsNanSoftmaxScale) {
  flashcore_attention_args a = validArgs();
  a.softmax_scale = std::numeric_limits<float>::quiet_NaN();
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE, "softmax_scale",
                  "nan");
}

TEST(ArgValidation, RejectsInfiniteSoftmaxScale) {
  flashcore_attention_args a = validArgs();
  a.softmax_scale = std::numeric_limits<float>::infinity();
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_SOFTMAX_SCALE, "softmax_scale",
                  "inf");
}

//===----------------------------------------------------------------------===//
// Pointers
//===----------------------------------------------------------------------===//

TEST(ArgValidation, RejectsNullQPointer) {
  flashcore_attention_args a = validArgs();
  a.q = nullptr;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_NULL_POINTER, "q must", "got: null");
}

TEST(ArgValidation, RejectsNullKPointer) {
  flashcore_attention_args a = validArgs();
  a.k = nullptr;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_NULL_POINTER, "k must", "got: null");
}

TEST(ArgValidation, RejectsNullVPointer) {
  flashcore_attention_args a = validArgs();
  a.v = nullptr;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_NULL_POINTER, "v must", "got: null");
}

TEST(ArgValidation, RejectsNullOPointer) {
  flashcore_attention_args a = validArgs();
  a.o = nullptr;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_NULL_POINTER, "o must", "got: null");
}

TEST(ArgValidation, RejectsMisalignedQPointer) {
  flashcore_attention_args a = validArgs();
  a.q = fakePtr(0x100003);
  EXPECT_REJECTED(a, FLASHCORE_STATUS_MISALIGNED_POINTER,
                  "q must be 16-byte aligned", "got: 0x100003");
}

TEST(ArgValidation, RejectsMisalignedKPointer) {
  flashcore_attention_args a = validArgs();
  a.k = fakePtr(0x200008); // 8-byte aligned is not enough for TMA
  EXPECT_REJECTED(a, FLASHCORE_STATUS_MISALIGNED_POINTER,
                  "k must be 16-byte aligned", "got: 0x200008");
}

TEST(ArgValidation, RejectsMisalignedVPointer) {
  flashcore_attention_args a = validArgs();
  a.v = fakePtr(0x300002);
  EXPECT_REJECTED(a, FLASHCORE_STATUS_MISALIGNED_POINTER,
                  "v must be 16-byte aligned", "got: 0x300002");
}

TEST(ArgValidation, RejectsMisalignedOPointer) {
  flashcore_attention_args a = validArgs();
  a.o = fakePtr(0x400004);
  EXPECT_REJECTED(a, FLASHCORE_STATUS_MISALIGNED_POINTER,
                  "o must be 16-byte aligned", "got: 0x400004");
}

TEST(ArgValidation, RejectsMisalignedLsePointer) {
  flashcore_attention_args a = validArgs();
  a.lse = static_cast<float *>(fakePtr(0x500002));
  EXPECT_REJECTED(a, FLASHCORE_STATUS_MISALIGNED_POINTER,
                  "lse must be 4-byte aligned", "got: 0x500002");
}

//===----------------------------------------------------------------------===//
// Strides
//===----------------------------------------------------------------------===//

TEST(ArgValidation, RejectsStrideNotMultipleOfEightElements) {
  flashcore_attention_args a = validArgs();
  a.k_seq_stride = 2 * 128 + 4; // 8-byte steps: TMA needs 16
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRIDE, "k seq stride",
                  "multiple of 8 elements", "got: 260");
}

TEST(ArgValidation, RejectsZeroStrideOfUsedDimension) {
  flashcore_attention_args a = validArgs();
  a.v_batch_stride = 0; // a broadcast: TMA strides must be positive
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRIDE, "v batch stride",
                  "> 0", "got: 0");
}

TEST(ArgValidation, RejectsNegativeStride) {
  flashcore_attention_args a = validArgs();
  a.q_seq_stride = -1024;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRIDE, "q seq stride",
                  "got: -1024");
}

TEST(ArgValidation, RejectsStrideAtOrAbove2Pow39Elements) {
  flashcore_attention_args a = validArgs();
  a.o_batch_stride = int64_t(1) << 39;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRIDE, "o batch stride",
                  "2^39");
}

TEST(ArgValidation, RejectsRowStrideSmallerThanHeadDimWhenHeadsShareARow) {
  flashcore_attention_args a = validArgs();
  a.heads_q = 1;
  a.heads_kv = 1;
  a.q_seq_stride = 64; // rows of 128 elements overlap
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "q seq stride",
                  "head_dim", "got: 64");
}

TEST(ArgValidation, RejectsSeqStrideThatOverlapsHeads) {
  flashcore_attention_args a = validArgs();
  a.o_seq_stride = 4 * 128; // 8 heads of 128 need 1024 per row
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "o seq stride",
                  "1024", "got: 512");
}

TEST(ArgValidation, RejectsEqualHeadAndSeqStrides) {
  flashcore_attention_args a = validArgs();
  a.k_head_stride = a.k_seq_stride;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "k ");
}

TEST(ArgValidation, RejectsBatchStrideThatOverlapsSequences) {
  flashcore_attention_args a = validArgs();
  a.v_batch_stride = 100 * 2 * 128; // 384 rows needed
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "v batch stride",
                  "got: 25600");
}

TEST(ArgValidation, RejectsOverlappingLseStrides) {
  flashcore_attention_args a = validArgs();
  a.lse_head_stride = 100; // seqlen_q = 256 rows per head
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "lse head stride",
                  "got: 100");
}

//===----------------------------------------------------------------------===//
// Version-2 fields: windows, softcap, varlen
//===----------------------------------------------------------------------===//

/// Two sequences packed into 640 query rows and 896 key rows.
flashcore_attention_args validVarlenArgs() {
  flashcore_attention_args a = validArgs();
  a.cu_seqlens_q = static_cast<const int32_t *>(fakePtr(0x600000));
  a.cu_seqlens_k = static_cast<const int32_t *>(fakePtr(0x700000));
  a.total_q = 640;
  a.total_k = 896;
  a.seqlen_q = 512; // longest sequence
  a.seqlen_k = 512;
  flashcore_attention_args_set_contiguous_strides(&a);
  return a;
}

TEST(ArgValidation, AcceptsAVersion1StructWithDefaultsForNewFields) {
  flashcore_attention_args a = validArgs();
  a.struct_size = FLASHCORE_ATTENTION_ARGS_V1_SIZE;
  a.window_left = -7; // beyond a v1 struct: must not be read
  a.softcap = -1;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_FALSE(r.call.problem.local);
  EXPECT_FALSE(r.call.problem.softcap);
  EXPECT_FALSE(r.call.problem.varlen);
}

TEST(ArgValidation, MapsWindowsLikeFlashAttention) {
  flashcore_attention_args a = validArgs();
  a.window_left = 128;
  a.window_right = 0;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.local);
  EXPECT_FALSE(r.call.problem.causal);
  // causal forces window_right = 0; without a left window that is causal.
  a.window_left = -1;
  a.window_right = 64;
  a.causal = 1;
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.causal);
  EXPECT_FALSE(r.call.problem.local);
  EXPECT_EQ(r.call.windowRight, 0);
  // ... and with one it is a causal sliding window (local).
  a.window_left = 32;
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.local);
  EXPECT_FALSE(r.call.problem.causal);
  EXPECT_EQ(r.call.windowLeft, 32);
  EXPECT_EQ(r.call.windowRight, 0);
}

// Edges past the sequence are no edges: normalised to -1, exactly (and no
// kernel computes row + INT32_MAX).
TEST(ArgValidation, WindowsPastTheSequenceAreUnbounded) {
  flashcore_attention_args a = validArgs();
  a.window_left = 2147483647;
  a.window_right = 0;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.causal); // (unbounded, 0) is causal
  EXPECT_FALSE(r.call.problem.local);
  a.window_left = int32_t(a.seqlen_k) - 1; // still an edge
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.local);
  EXPECT_EQ(r.call.windowLeft, a.seqlen_k - 1);
  a.window_left = -1;
  a.window_right = int32_t(a.seqlen_q);
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_FALSE(r.call.problem.local || r.call.problem.causal);
  a.window_right = 2147483647;
  a.window_left = 5;
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.local);
  EXPECT_EQ(r.call.windowLeft, 5);
  EXPECT_EQ(r.call.windowRight, -1);
}

TEST(ArgValidation, RejectsWindowLeftBelowMinusOne) {
  flashcore_attention_args a = validArgs();
  a.window_left = -2;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_WINDOW, "window_left", "got: -2");
}

TEST(ArgValidation, RejectsWindowRightBelowMinusOne) {
  flashcore_attention_args a = validArgs();
  a.window_right = -5;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_WINDOW, "window_right", "got: -5");
}

TEST(ArgValidation, AcceptsSoftcapAndScalesForIt) {
  flashcore_attention_args a = validArgs();
  a.softcap = 30.0f;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.softcap);
  EXPECT_FLOAT_EQ(r.call.softcap, 30.0f);
}

TEST(ArgValidation, RejectsNegativeSoftcap) {
  flashcore_attention_args a = validArgs();
  a.softcap = -1.0f;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_SOFTCAP, "softcap", "got: -1");
}

TEST(ArgValidation, RejectsNanSoftcap) {
  flashcore_attention_args a = validArgs();
  a.softcap = std::nanf("");
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_SOFTCAP, "softcap", "nan");
}

TEST(ArgValidation, AcceptsVarlenPackedArguments) {
  Result r = validate(validVarlenArgs());
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  EXPECT_TRUE(r.call.problem.varlen);
}

TEST(ArgValidation, RejectsCuSeqlensQWithoutCuSeqlensK) {
  flashcore_attention_args a = validVarlenArgs();
  a.cu_seqlens_k = nullptr;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_VARLEN, "cu_seqlens_k", "null");
}

TEST(ArgValidation, RejectsMisalignedCuSeqlens) {
  flashcore_attention_args a = validVarlenArgs();
  a.cu_seqlens_q = static_cast<const int32_t *>(fakePtr(0x600002));
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_VARLEN, "cu_seqlens_q",
                  "4-byte aligned");
}

TEST(ArgValidation, RejectsTotalBelowTheLongestSequence) {
  flashcore_attention_args a = validVarlenArgs();
  a.total_k = 100;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_VARLEN, "total_k", "got: 100");
}

TEST(ArgValidation, RejectsUnknownFlags) {
  flashcore_attention_args a = validArgs();
  a.flags = 2;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRUCT, "flags", "got: 2");
  a.flags = FLASHCORE_ARGS_POINTERS_CHECKED | 8;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_INVALID_STRUCT, "flags", "got: 9");
  a.flags = FLASHCORE_ARGS_POINTERS_CHECKED;
  Result r = validate(a);
  EXPECT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
}

TEST(ArgValidation, ChecksVarlenStridesAgainstThePackedRows) {
  // Packed rows: a seq stride below heads * head_dim overlaps heads.
  flashcore_attention_args a = validVarlenArgs();
  a.q_seq_stride = 128;
  EXPECT_REJECTED(a, FLASHCORE_STATUS_OVERLAPPING_STRIDES, "q");
}

//===----------------------------------------------------------------------===//
// Device residency (driver query injected)
//===----------------------------------------------------------------------===//

PointerDeviceQuery devicesByAddress(uintptr_t device1From) {
  return [device1From](const void *p, int &device, std::string &error) {
    auto address = reinterpret_cast<uintptr_t>(p);
    if (address >= 0x900000) {
      error = "CUDA_ERROR_INVALID_VALUE";
      return false;
    }
    device = address >= device1From ? 1 : 0;
    return true;
  };
}

TEST(ArgValidation, AcceptsPointersOnTheLaunchDevice) {
  std::string message;
  EXPECT_EQ(checkPointerDevices(validArgs(), 0, devicesByAddress(0x800000),
                                message),
            FLASHCORE_STATUS_SUCCESS)
      << message;
}

TEST(ArgValidation, RejectsPointerOnAnotherDevice) {
  flashcore_attention_args a = validArgs();
  a.v = fakePtr(0x800000);
  std::string message;
  EXPECT_EQ(checkPointerDevices(a, 0, devicesByAddress(0x800000), message),
            FLASHCORE_STATUS_WRONG_DEVICE);
  EXPECT_NE(message.find("v must be memory of device 0"), std::string::npos)
      << message;
  EXPECT_NE(message.find("got: memory of device 1"), std::string::npos)
      << message;
}

TEST(ArgValidation, RejectsPointerTheDriverDoesNotKnow) {
  flashcore_attention_args a = validArgs();
  a.lse = static_cast<float *>(fakePtr(0x900000));
  std::string message;
  EXPECT_EQ(checkPointerDevices(a, 0, devicesByAddress(0x800000), message),
            FLASHCORE_STATUS_WRONG_DEVICE);
  EXPECT_NE(message.find("lse must be CUDA device memory, got: 0x900000"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("CUDA_ERROR_INVALID_VALUE"), std::string::npos);
}


//===----------------------------------------------------------------------===//
// A spec override's split_kv / pack_gqa
//===----------------------------------------------------------------------===//

TEST(ArgValidation, APreferredProblemDecidesSplitsTheCallerLeftOpen) {
  flashcore_attention_args a = contiguousArgs(
      fakePtr(0x100000), fakePtr(0x200000), fakePtr(0x300000),
      fakePtr(0x400000), /*batch=*/2, /*seqlenQ=*/256, /*seqlenK=*/8192,
      /*headsQ=*/8, /*headsKv=*/2, /*headDim=*/128, FLASHCORE_DTYPE_BF16,
      /*causal=*/false, /*softmaxScale=*/0, nullptr);
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  // 32 tiles of 64 key blocks on 132 SMs: the heuristics split this shape.
  ASSERT_TRUE(r.call.problem.splitKv);
  ProblemSpec preferred = r.call.problem;
  preferred.splitKv = false;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_FALSE(r.call.problem.splitKv);
  EXPECT_EQ(r.call.numSplits, 1);
  preferred.splitKv = true;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_TRUE(r.call.problem.splitKv);
  EXPECT_GE(r.call.numSplits, 2);
}

TEST(ArgValidation, APreferredSplitNeedsTwoKeyBlocksAndYieldsToTheCaller) {
  flashcore_attention_args a = validArgs();
  a.num_splits = 3;
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  ProblemSpec preferred = r.call.problem;
  preferred.splitKv = false;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_EQ(r.call.numSplits, 3); // the caller's count stands
  // One key block: no split, whatever the override prefers.
  a = contiguousArgs(fakePtr(0x100000), fakePtr(0x200000), fakePtr(0x300000),
                     fakePtr(0x400000), 2, 256, /*seqlenK=*/64, 8, 2, 128,
                     FLASHCORE_DTYPE_BF16, false, 0, nullptr);
  r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  preferred.splitKv = true;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_EQ(r.call.numSplits, 1);
  EXPECT_FALSE(r.call.problem.splitKv);
}

TEST(ArgValidation, APreferredProblemDecidesPackGqaOnlyWhenItFits) {
  flashcore_attention_args a = validArgs();
  a.seqlen_q = 1; // 4 query heads per KV head fit one tile
  Result r = validate(a);
  ASSERT_EQ(r.status, FLASHCORE_STATUS_SUCCESS) << r.message;
  ProblemSpec preferred = r.call.problem;
  preferred.packGqa = false;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_FALSE(r.call.problem.packGqa);
  preferred.packGqa = true;
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_TRUE(r.call.problem.packGqa);
  // 256 query rows x 4 heads do not fit a tile: never packed.
  r = validate(validArgs());
  resolveKernelShape(r.call, 132, &preferred);
  EXPECT_FALSE(r.call.problem.packGqa);
}

} // namespace
