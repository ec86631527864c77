/// \file
/// Data-parallel training over MPI: N ranks hold the same model, each computes the gradient of its share of
/// every batch, and the gradients are averaged so that every rank takes the same optimizer step.
///
/// ~~~{.cpp}
///   DataParallel<float> dp(MPI_COMM_WORLD, model.named_parameters());   // collective; checks names/shapes
///   dp.broadcast_parameters();                                          // every rank starts from rank 0's
///   for (...) {
///       auto [begin, count] = dp.share(global_batch);                   // rows [begin, begin+count) are mine
///       opt.zero_grad(); loss = mean loss over my rows; loss.backward();
///       dp.average_gradients();                                         // g ← (1/N) Σ_r g_r on every rank
///       opt.step();                                                     // identical on every rank
///       double global_loss = dp.mean(loss.item());
///   }
/// ~~~
///
/// Why the average is the whole-batch gradient: with a loss that is a mean over rows, rank r's gradient is
/// g_r = (1/B) Σ_{i∈share r} ∇ℓ_i. With equal shares (B = G/N rows each, G the global batch),
/// (1/N) Σ_r g_r = (1/(N·B)) Σ_i ∇ℓ_i = (1/G) Σ_i ∇ℓ_i: the gradient of the mean over the whole batch.
/// Unequal shares would weight rows unequally, so share() requires G divisible by N.
///
/// average_gradients packs every parameter's gradient, in parameter order, into flat buckets of at most
/// `bucket_bytes`, reduces each with one in-place MPI_Allreduce(MPI_SUM) and scales by 1/N: a fixed order and
/// fixed sizes, so every run with the same N gives bit-identical results. A parameter without a gradient on a
/// rank (Var::has_grad() false) counts as zeros there; it gets a gradient everywhere when any rank had one,
/// and stays without one (skipped by the optimizer) when no rank had one.
///
/// The communicator is duplicated (DataParallel's messages never mix with the caller's) and its error handler
/// set to MPI_ERRORS_RETURN: a failed call throws DistributedError naming the call. A rank that exits or
/// aborts ends the job through mpirun (Open MPI kills the other ranks), so the others do not hang.
/// Every member function except the accessors is collective: all ranks call it, in the same order.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <string>
#include <vector>

#include "tapegrad/autodiff/named.hpp"
#include "tapegrad/distributed/errors.hpp"

namespace tapegrad {

struct DataParallelOptions {
    std::size_t bucket_bytes = std::size_t(32) << 20;  ///< 32 MiB per MPI_Allreduce
};

/// The rows [begin, begin + count) of a global batch that one rank takes.
struct Share {
    std::size_t begin = 0;
    std::size_t count = 0;
};

/// Rank `rank` of `world`'s equal share of `global` rows; UsageError unless global is a positive multiple of world.
Share equal_share(std::size_t global, int rank, int world);

template <class T>
class DataParallel {
public:
    /// Collective. UsageError for an empty list or a handle that is not a parameter; ShapeError (the same
    /// message on every rank) when the ranks' parameter lists differ, naming the first parameter that differs,
    /// its shapes and the ranks.
    DataParallel(MPI_Comm comm, std::vector<NamedParameter<T>> params, DataParallelOptions options = {});
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return rank_; }
    int world_size() const { return size_; }
    bool is_root() const { return rank_ == 0; }
    const std::vector<NamedParameter<T>>& parameters() const { return params_; }
    std::size_t element_count() const { return elements_; }  ///< scalars in all parameters
    std::size_t bucket_count() const;                           ///< MPI_Allreduce calls per average
    /// Seconds spent in MPI_Allreduce by the last average_gradients() (packing excluded).
    double last_allreduce_seconds() const { return last_allreduce_seconds_; }

    Share share(std::size_t global_batch) const { return equal_share(global_batch, rank_, size_); }

    /// Copies root's parameter values into every rank's (MPI_Bcast over the same buckets).
    void broadcast_parameters(int root = 0);
    /// Every parameter's gradient ← the mean over ranks of that gradient.
    void average_gradients();
    /// The mean over ranks of a number (e.g.\ each rank's mean loss: with equal shares, the global mean).
    double mean(double local);
    /// True on every rank when `local` is true on any (e.g.\ a stop request seen by one rank).
    bool any(bool local);
    /// Returns once every rank called it (e.g.\ rank 0 finished writing a checkpoint).
    void barrier();

private:
    void check_same_parameters();
    /// Calls fn(offset, count) for each bucket of the flat parameter space, in order.
    template <class Fn>
    void for_each_bucket(Fn&& fn);
    void pack(std::size_t offset, std::size_t count, bool values);
    void unpack(std::size_t offset, std::size_t count, bool values, T scale = T(1));

    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
    std::vector<NamedParameter<T>> params_;
    std::vector<std::size_t> starts_;  ///< starts_[i]: offset of parameter i in the flat space; back() = total
    std::size_t elements_ = 0;
    std::size_t bucket_elements_ = 0;
    std::vector<T> buffer_;
    double last_allreduce_seconds_ = 0;
};

extern template class DataParallel<float>;
extern template class DataParallel<double>;

}  // namespace tapegrad
