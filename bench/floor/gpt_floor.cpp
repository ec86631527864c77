// See gpt_floor.hpp. Dims: n = windows·block rows, d width, H heads of hd = d/H, T block, V vocabulary;
// per block Wqkv d×3d, Wproj d×d, Wfc d×4d, Wdown 4d×d; the output layer is tied to E (V×d).
#include "gpt_floor.hpp"

#include <omp.h>

#include <algorithm>
#include <random>
#include <vector>

#include "floor_common.hpp"

namespace bench {

namespace {

constexpr std::size_t kQueryBlock = 32;  // tapegrad's attention (autodiff/ops/attention.cpp)

using floor::BlasOnOneThread;
using floor::gemm;

using Buffer = std::vector<float>;

Buffer filled(std::size_t size, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    Buffer b(size);
    for (auto& x : b) x = u(rng);
    return b;
}

struct Block {
    Buffer Wqkv, Wproj, Wfc, Wdown, dWqkv, dWproj, dWfc, dWdown;  // parameters and their gradients
    Buffer ln1, qkv, att, y, ln2, h, g;                          // what the forward keeps
};

}  // namespace

struct GptGemmFloor::Buffers {
    std::vector<Block> blocks;
    Buffer E, dE, lnf, logits, dlogits;
    Buffer dx, dln, dqkv, dy, dh, dg, scratch;  // backward's working gradients
};

GptGemmFloor::GptGemmFloor(const GptShape& s) : s_(s), b_(new Buffers) {
    std::mt19937 rng(3);
    const std::size_t n = s.windows * s.block, d = s.width;
    for (std::size_t l = 0; l < s.layers; ++l)
        b_->blocks.push_back(Block{filled(d * 3 * d, rng), filled(d * d, rng), filled(d * 4 * d, rng), filled(4 * d * d, rng),
                                   Buffer(d * 3 * d), Buffer(d * d), Buffer(d * 4 * d), Buffer(4 * d * d), filled(n * d, rng),
                                   Buffer(n * 3 * d), filled(s.windows * s.heads * s.block * s.block, rng), Buffer(n * d),
                                   filled(n * d, rng), Buffer(n * 4 * d), filled(n * 4 * d, rng)});
    b_->E = filled(s.vocab * d, rng);
    b_->dE = Buffer(s.vocab * d);
    b_->lnf = filled(n * d, rng);
    b_->logits = Buffer(n * s.vocab);
    b_->dlogits = filled(n * s.vocab, rng);
    for (Buffer* x : {&b_->dx, &b_->dln, &b_->dy}) *x = filled(n * d, rng);
    b_->dqkv = filled(n * 3 * d, rng);
    b_->dh = filled(n * 4 * d, rng);
    b_->dg = filled(n * 4 * d, rng);
    b_->scratch = filled(std::size_t(omp_get_max_threads()) * 2 * kQueryBlock * s.block, rng);  // per thread: dz, scores
}

GptGemmFloor::~GptGemmFloor() = default;

void GptGemmFloor::step() {
    Buffers& b = *b_;
    const std::size_t n = s_.windows * s_.block, d = s_.width, T = s_.block, V = s_.vocab, hd = d / s_.heads, C3 = 3 * d;
    const std::size_t kb = std::min(T, kQueryBlock);
    for (Block& k : b.blocks) {
        gemm(false, false, n, C3, d, k.ln1.data(), d, k.Wqkv.data(), C3, k.qkv.data(), C3, 0.0f);  // qkv = ln₁(x)·Wqkv
        // attention: one (sequence, head) pair per task over OpenMP's threads, as tapegrad's op
        {
            const BlasOnOneThread policy;
#pragma omp parallel for schedule(static)
            for (std::size_t p = 0; p < s_.windows * s_.heads; ++p) {
                const float* Q = k.qkv.data() + (p / s_.heads) * T * C3 + (p % s_.heads) * hd;
                float* A = k.att.data() + p * T * T;
                float* Y = k.y.data() + (p / s_.heads) * T * d + (p % s_.heads) * hd;
                for (std::size_t r0 = 0; r0 < T; r0 += kb) {
                    const std::size_t rows = std::min(kb, T - r0), keys = r0 + rows;
                    gemm(false, true, rows, keys, hd, Q + r0 * C3, C3, Q + d, C3, A + r0 * T, T, 0.0f);
                    gemm(false, false, rows, hd, keys, A + r0 * T, T, Q + 2 * d, C3, Y + r0 * d, d, 0.0f);
                }
            }
        }
        gemm(false, false, n, d, d, k.y.data(), d, k.Wproj.data(), d, b.dx.data(), d, 1.0f);       // x += y·Wproj
        gemm(false, false, n, 4 * d, d, k.ln2.data(), d, k.Wfc.data(), 4 * d, k.h.data(), 4 * d, 0.0f);  // h = ln₂(x)·Wfc
        gemm(false, false, n, d, 4 * d, k.g.data(), 4 * d, k.Wdown.data(), d, b.dx.data(), d, 1.0f);  // x += gelu(h)·Wdown
    }
    gemm(false, true, n, V, d, b.lnf.data(), d, b.E.data(), d, b.logits.data(), V, 0.0f);  // logits = ln_f(x)·Eᵀ
    gemm(false, false, n, d, V, b.dlogits.data(), V, b.E.data(), d, b.dln.data(), d, 0.0f);  // d ln_f = dlogits·E
    gemm(true, false, V, d, n, b.dlogits.data(), V, b.lnf.data(), d, b.dE.data(), d, 0.0f);  // dE = dlogitsᵀ·ln_f
    for (auto it = b.blocks.rbegin(); it != b.blocks.rend(); ++it) {
        Block& k = *it;
        gemm(false, true, n, 4 * d, d, b.dy.data(), d, k.Wdown.data(), d, b.dg.data(), 4 * d, 0.0f);  // dg = dx·Wdownᵀ
        gemm(true, false, 4 * d, d, n, k.g.data(), 4 * d, b.dy.data(), d, k.dWdown.data(), d, 0.0f);  // dWdown = gᵀ·dx
        gemm(false, true, n, d, 4 * d, b.dh.data(), 4 * d, k.Wfc.data(), 4 * d, b.dln.data(), d, 0.0f);  // d ln₂ = dh·Wfcᵀ
        gemm(true, false, d, 4 * d, n, k.ln2.data(), d, b.dh.data(), 4 * d, k.dWfc.data(), 4 * d, 0.0f);  // dWfc = ln₂ᵀ·dh
        gemm(false, true, n, d, d, b.dy.data(), d, k.Wproj.data(), d, b.dx.data(), d, 0.0f);  // dy_att = dx·Wprojᵀ
        gemm(true, false, d, d, n, k.y.data(), d, b.dy.data(), d, k.dWproj.data(), d, 0.0f);  // dWproj = yᵀ·dx
        {
            const BlasOnOneThread policy;
#pragma omp parallel for schedule(static)
            for (std::size_t p = 0; p < s_.windows * s_.heads; ++p) {  // attention backward
                const std::size_t off = (p / s_.heads) * T * C3 + (p % s_.heads) * hd;
                const float* Q = k.qkv.data() + off;
                float* dQ = b.dqkv.data() + off;
                const float* A = k.att.data() + p * T * T;
                const float* G = b.dx.data() + (p / s_.heads) * T * d + (p % s_.heads) * hd;
                float* S = b.scratch.data() + std::size_t(omp_get_thread_num()) * 2 * kb * T;
                float* Z = S + kb * T;  // recomputed scores
                const std::size_t blocks = (T + kb - 1) / kb;
                for (std::size_t blk = blocks; blk-- > 0;) {  // from the last block, which assigns dk and dv
                    const std::size_t r0 = blk * kb, rows = std::min(kb, T - r0), keys = r0 + rows;
                    const float beta_kv = blk == blocks - 1 ? 0.0f : 1.0f;
                    if (s_.recompute_attention)  // z = q·kᵀ again, from which the probabilities are rebuilt
                        gemm(false, true, rows, keys, hd, Q + r0 * C3, C3, Q + d, C3, Z, T, 0.0f);
                    gemm(true, false, keys, hd, rows, A + r0 * T, T, G + r0 * d, d, dQ + 2 * d, C3, beta_kv);  // dv (+)= aᵀ·g
                    gemm(false, true, rows, keys, hd, G + r0 * d, d, Q + 2 * d, C3, S, T, 0.0f);           // da = g·Vᵀ
                    gemm(false, false, rows, hd, keys, S, T, Q + d, C3, dQ + r0 * C3, C3, 0.0f);          // dq = dz·K
                    gemm(true, false, keys, hd, rows, S, T, Q + r0 * C3, C3, dQ + d, C3, beta_kv);        // dk (+)= dzᵀ·q
                }
            }
        }
        gemm(false, true, n, d, C3, b.dqkv.data(), C3, k.Wqkv.data(), C3, b.dln.data(), d, 0.0f);  // d ln₁ = dqkv·Wqkvᵀ
        gemm(true, false, d, C3, n, k.ln1.data(), d, b.dqkv.data(), C3, k.dWqkv.data(), C3, 0.0f);  // dWqkv = ln₁ᵀ·dqkv
    }
}

}  // namespace bench
