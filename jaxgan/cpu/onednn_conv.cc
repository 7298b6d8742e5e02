// DCGAN's 4x4, stride-2, padding-1 convolution and its two gradients,
// computed by oneDNN (the library PyTorch's CPU convolutions run on), as XLA
// FFI handlers for jaxgan/cpu/onednn.py. Built by that module on first
// use; see its docstring.
//
// Arrays are jaxgan's: activations NHWC (x: N, H, W, C; y: N, H/2, W/2, O),
// the kernel HWIO (4, 4, C, O), float32. oneDNN picks its own layouts
// (format `any`); arguments and results are reordered from and to jaxgan's
// where they differ. (Keeping the activations in NHWC, only the kernel's
// layout oneDNN's, made the DCGAN-64 iteration 5% faster and DCGAN-32's 6%
// slower on a Zen 4: not adopted.)
//
//   JaxganOnednnConv(x, w) -> y              conv: the forward convolution
//   JaxganOnednnConvT(y, w) -> x             conv_t: its data gradient
//   JaxganOnednnKernelGrad(x, dy) -> w       kernel_grad: its kernel gradient

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "oneapi/dnnl/dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace {

namespace ffi = xla::ffi;
using dnnl::memory;
using Tag = memory::format_tag;

enum Kind { kConv = 0, kConvT = 1, kKernelGrad = 2 };

struct Shape {
  int64_t n, h, w, c, o;  // The convolution's input (N, H, W, C), O outputs.
  auto key(Kind kind) const {
    return std::make_tuple(int(kind), n, h, w, c, o);
  }
};

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc Input(const Shape& s, Tag tag) {
  return memory::desc({s.n, s.c, s.h, s.w}, memory::data_type::f32, tag);
}
memory::desc Output(const Shape& s, Tag tag) {
  return memory::desc({s.n, s.o, s.h / 2, s.w / 2}, memory::data_type::f32,
                      tag);
}
memory::desc Kernel(const Shape& s, Tag tag) {
  return memory::desc({s.o, s.c, 4, 4}, memory::data_type::f32, tag);
}

const memory::dims kStrides = {2, 2};
const memory::dims kPadding = {1, 1};

dnnl::primitive_attr Attr() {
  dnnl::primitive_attr attr;
  // Each call brings its own scratchpad, so calls that XLA runs
  // concurrently never share one.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc ForwardDesc(const Shape& s) {
  return dnnl::convolution_forward::primitive_desc(
      Engine(), dnnl::prop_kind::forward_training,
      dnnl::algorithm::convolution_direct, Input(s, Tag::any),
      Kernel(s, Tag::any), Output(s, Tag::any), kStrides, kPadding, kPadding,
      Attr());
}

// One primitive per (computation, shape), with the layouts it wants for its
// two arguments and its result, and its scratchpad's.
struct Primitive {
  dnnl::primitive primitive;
  memory::desc a, b, out, scratchpad;
  int arg_a, arg_b, arg_out;
};

Primitive Make(Kind kind, const Shape& s) {
  if (kind == kConv) {
    auto pd = ForwardDesc(s);
    return {dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(),
            pd.dst_desc(), pd.scratchpad_desc(), DNNL_ARG_SRC,
            DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
  }
  if (kind == kConvT) {
    dnnl::convolution_backward_data::primitive_desc pd(
        Engine(), dnnl::algorithm::convolution_direct, Input(s, Tag::any),
        Kernel(s, Tag::any), Output(s, Tag::any), kStrides, kPadding,
        kPadding, ForwardDesc(s), Attr());
    return {dnnl::convolution_backward_data(pd), pd.diff_dst_desc(),
            pd.weights_desc(), pd.diff_src_desc(), pd.scratchpad_desc(),
            DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
  }
  dnnl::convolution_backward_weights::primitive_desc pd(
      Engine(), dnnl::algorithm::convolution_direct, Input(s, Tag::any),
      Kernel(s, Tag::any), Output(s, Tag::any), kStrides, kPadding, kPadding,
      ForwardDesc(s), Attr());
  return {dnnl::convolution_backward_weights(pd), pd.src_desc(),
          pd.diff_dst_desc(), pd.diff_weights_desc(), pd.scratchpad_desc(),
          DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
}

const Primitive& Get(Kind kind, const Shape& s) {
  static std::mutex mutex;
  static std::map<std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t>,
                  Primitive>
      cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(s.key(kind));
  if (it == cache.end()) it = cache.emplace(s.key(kind), Make(kind, s)).first;
  return it->second;
}

// `data` as a memory of layout `want`: itself, or a reordered copy.
memory Argument(dnnl::stream& stream, const memory::desc& want,
                const memory::desc& have, const void* data) {
  memory user(have, Engine(), const_cast<void*>(data));
  if (want == have) return user;
  memory copy(want, Engine());
  dnnl::reorder(user, copy).execute(stream, user, copy);
  return copy;
}

// Runs `kind` on a, b into out, all three in jaxgan's layouts (user_*).
ffi::Error Run(Kind kind, const Shape& s, const void* a, const void* b,
               void* out, const memory::desc& user_a,
               const memory::desc& user_b, const memory::desc& user_out) {
  try {
    const Primitive& p = Get(kind, s);
    dnnl::stream stream(Engine());
    memory ma = Argument(stream, p.a, user_a, a);
    memory mb = Argument(stream, p.b, user_b, b);
    memory result(user_out, Engine(), out);
    memory mo = p.out == user_out ? result : memory(p.out, Engine());
    memory scratchpad(p.scratchpad, Engine());
    p.primitive.execute(stream, {{p.arg_a, ma},
                                 {p.arg_b, mb},
                                 {p.arg_out, mo},
                                 {DNNL_ARG_SCRATCHPAD, scratchpad}});
    if (!(p.out == user_out)) {
      dnnl::reorder(mo, result).execute(stream, mo, result);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal,
                      std::string("oneDNN: ") + e.what());
  }
  return ffi::Error::Success();
}

using F32 = ffi::Buffer<ffi::F32, 4>;

ffi::Error Conv(F32 x, F32 w, ffi::ResultBuffer<ffi::F32, 4> y) {
  auto xd = x.dimensions();
  Shape s{xd[0], xd[1], xd[2], xd[3], w.dimensions()[3]};
  return Run(kConv, s, x.untyped_data(), w.untyped_data(), y->untyped_data(),
             Input(s, Tag::nhwc), Kernel(s, Tag::hwio), Output(s, Tag::nhwc));
}

ffi::Error ConvT(F32 y, F32 w, ffi::ResultBuffer<ffi::F32, 4> x) {
  auto yd = y.dimensions();
  auto wd = w.dimensions();
  Shape s{yd[0], 2 * yd[1], 2 * yd[2], wd[2], wd[3]};
  return Run(kConvT, s, y.untyped_data(), w.untyped_data(), x->untyped_data(),
             Output(s, Tag::nhwc), Kernel(s, Tag::hwio), Input(s, Tag::nhwc));
}

ffi::Error KernelGrad(F32 x, F32 dy, ffi::ResultBuffer<ffi::F32, 4> dw) {
  auto xd = x.dimensions();
  Shape s{xd[0], xd[1], xd[2], xd[3], dy.dimensions()[3]};
  return Run(kKernelGrad, s, x.untyped_data(), dy.untyped_data(),
             dw->untyped_data(), Input(s, Tag::nhwc), Output(s, Tag::nhwc),
             Kernel(s, Tag::hwio));
}

}  // namespace

#define JAXGAN_BINDING \
  ffi::Ffi::Bind().Arg<F32>().Arg<F32>().Ret<ffi::Buffer<ffi::F32, 4>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxganOnednnConv, Conv, JAXGAN_BINDING);
XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxganOnednnConvT, ConvT, JAXGAN_BINDING);
XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxganOnednnKernelGrad, KernelGrad,
                              JAXGAN_BINDING);
