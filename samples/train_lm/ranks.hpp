// The ranks of a data-parallel run (tapegrad::DataParallel over MPI_COMM_WORLD), or this process alone: what
// the training loop asks of them. Alone (or in a build without MPI) every call is the identity.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "tapegrad/autodiff/named.hpp"

namespace train_lm {

class Ranks {
public:
    // data_parallel: average over MPI_COMM_WORLD's ranks (collective; needs MPI initialised and a build with
    // MPI, else std::runtime_error). Otherwise: one process.
    Ranks(bool data_parallel, const std::vector<tapegrad::NamedParameter<float>>& params);
    ~Ranks();
    Ranks(const Ranks&) = delete;
    Ranks& operator=(const Ranks&) = delete;

    // This process's rank in MPI_COMM_WORLD when data_parallel, else 0 (before any collective call).
    static int process_rank(bool data_parallel);

    int rank() const { return rank_; }
    int world() const { return world_; }
    bool lead() const { return rank_ == 0; }  // prints, logs, evaluates, writes checkpoints
    // This rank's rows [first, first + count) of a global batch; tapegrad::UsageError unless the batch is a
    // multiple of the ranks (equal shares make the averaged gradient the whole batch's).
    std::size_t first(std::size_t global) const;
    std::size_t count(std::size_t global) const;

    void broadcast_parameters();           // every rank starts from rank 0's values
    void average_gradients();              // g ← (1/N) Σ_r g_r
    double mean(double local);             // (1/N) Σ_r local_r
    bool any(bool local);                  // true everywhere when true on some rank
    void barrier();                        // returns once every rank called it
    double last_allreduce_seconds() const;

private:
    struct Impl;  // the DataParallel, in builds with MPI
    std::unique_ptr<Impl> dp_;
    int rank_ = 0;
    int world_ = 1;
};

}  // namespace train_lm
