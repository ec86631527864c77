#include "tapegrad/distributed/data_parallel.hpp"

#include <algorithm>
#include <climits>
#include <set>
#include <utility>

#include "tapegrad/distributed/detail/mpi_types.hpp"
#include "tapegrad/distributed/detail/rank_check.hpp"

namespace tapegrad {

Share equal_share(std::size_t global, int rank, int world) {
    if (world < 1 || rank < 0 || rank >= world)
        throw UsageError(std::string("equal_share: rank ").append(std::to_string(rank)).append(" of ")
                             .append(std::to_string(world)).append(" ranks does not exist"));
    const auto n = std::size_t(world);
    if (global == 0 || global % n != 0)
        throw UsageError(std::string("equal_share: a global batch of ").append(std::to_string(global))
                             .append(" rows does not split into ").append(std::to_string(n))
                             .append(" equal shares (one per rank); use a positive multiple of ")
                             .append(std::to_string(n)));
    const std::size_t count = global / n;
    return {std::size_t(rank) * count, count};
}

template <class T>
DataParallel<T>::DataParallel(MPI_Comm comm, std::vector<NamedParameter<T>> params, DataParallelOptions options)
    : params_(std::move(params)) {
    if (params_.empty()) throw UsageError("DataParallel: got an empty parameter list");
    std::set<std::pair<const Tape<T>*, NodeId>> seen;
    for (const auto& p : params_) {
        if (!p.var.valid() || !p.var.is_parameter())
            throw UsageError("DataParallel: '" + p.name + "' is not a parameter (create it with Tape::parameter)");
        if (!seen.insert({&p.var.tape(), p.var.id()}).second)
            throw UsageError("DataParallel: parameter '" + p.name + "' is the same tape parameter as an earlier one");
    }
    if (options.bucket_bytes < sizeof(T))
        throw UsageError(std::string("DataParallel: bucket_bytes = ").append(std::to_string(options.bucket_bytes))
                             .append(" holds no element of ").append(std::to_string(sizeof(T))).append(" bytes"));
    detail::check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup", "DataParallel");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);

    starts_.reserve(params_.size() + 1);
    for (const auto& p : params_) {
        starts_.push_back(elements_);
        elements_ += p.var.size();
    }
    starts_.push_back(elements_);
    // MPI counts are int: a bucket holds at most INT_MAX elements.
    bucket_elements_ = std::min({elements_, options.bucket_bytes / sizeof(T), std::size_t(INT_MAX)});
    buffer_.resize(bucket_elements_);

    // Collective: a rank whose list differs throws on every rank (no rank is left waiting). A constructor
    // that throws runs no destructor: the duplicated communicator is freed here.
    try {
        detail::check_same_parameters(comm_, detail::describe_parameters(params_));
    } catch (...) {
        MPI_Comm_free(&comm_);
        throw;
    }
}

template <class T>
DataParallel<T>::~DataParallel() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

template <class T>
std::size_t DataParallel<T>::bucket_count() const {
    return (elements_ + bucket_elements_ - 1) / bucket_elements_;  // ⌈elements / bucket⌉
}

template <class T>
template <class Fn>
void DataParallel<T>::for_each_bucket(Fn&& fn) {
    for (std::size_t offset = 0; offset < elements_; offset += bucket_elements_)
        fn(offset, std::min(bucket_elements_, elements_ - offset));
}

// Copies the part of the flat space [offset, offset + count) that each parameter covers: its values, or its
// gradient (zeros where it has none), into buffer_ — and back, times `scale`, with unpack.
template <class T>
void DataParallel<T>::pack(std::size_t offset, std::size_t count, bool values) {
    const auto first = std::size_t(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin()) - 1;
    for (std::size_t i = first; i < params_.size() && starts_[i] < offset + count; ++i) {
        const std::size_t lo = std::max(offset, starts_[i]), hi = std::min(offset + count, starts_[i + 1]);
        const Var<T>& v = params_[i].var;
        if (!values && !v.has_grad()) {  // no rank had a gradient (see average_gradients): zeros
            std::fill(buffer_.data() + (lo - offset), buffer_.data() + (hi - offset), T(0));
            continue;
        }
        const T* src = values ? v.value().data() : v.grad().data();
        std::copy(src + (lo - starts_[i]), src + (hi - starts_[i]), buffer_.data() + (lo - offset));
    }
}

template <class T>
void DataParallel<T>::unpack(std::size_t offset, std::size_t count, bool values, T scale) {
    const auto first = std::size_t(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin()) - 1;
    for (std::size_t i = first; i < params_.size() && starts_[i] < offset + count; ++i) {
        const std::size_t lo = std::max(offset, starts_[i]), hi = std::min(offset + count, starts_[i + 1]);
        const Var<T>& v = params_[i].var;
        T* dst = nullptr;
        if (values) {
            dst = v.mutable_value().data();
        } else {
            if (!v.has_grad()) continue;  // no rank had a gradient: marked in average_gradients
            dst = v.mutable_grad().data();
        }
        const T* src = buffer_.data() + (lo - offset);
        std::transform(src, src + (hi - lo), dst + (lo - starts_[i]), [scale](T x) { return x * scale; });
    }
}

template <class T>
void DataParallel<T>::broadcast_parameters(int root) {
    if (root < 0 || root >= size_)
        throw UsageError(std::string("DataParallel.broadcast_parameters: root ").append(std::to_string(root))
                             .append(" is not a rank of ").append(std::to_string(size_)));
    for_each_bucket([&](std::size_t offset, std::size_t count) {
        if (rank_ == root) pack(offset, count, true);
        detail::check_mpi(MPI_Bcast(buffer_.data(), int(count), detail::mpi_type<T>(), root, comm_), "MPI_Bcast",
                          "DataParallel.broadcast_parameters");
        if (rank_ != root) unpack(offset, count, true);
    });
}

template <class T>
void DataParallel<T>::average_gradients() {
    // 1. Which parameters have a gradient on some rank: one small MPI_Allreduce(MPI_MAX) of flags.
    std::vector<unsigned char> live(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) live[i] = params_[i].var.has_grad() ? 1 : 0;
    double seconds = 0;
    double t0 = MPI_Wtime();
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, live.data(), int(live.size()), MPI_UNSIGNED_CHAR, MPI_MAX, comm_),
                      "MPI_Allreduce", "DataParallel.average_gradients (gradient flags)");
    seconds += MPI_Wtime() - t0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Var<T>& v = params_[i].var;
        if (live[i] && !v.has_grad()) v.mutable_grad();  // zeros, now live: this rank adds nothing
    }
    // 2. Σ_r g_r bucket by bucket, in parameter order, then · 1/N (exact for N a power of two).
    const T scale = T(1.0 / double(size_));
    std::size_t bucket = 0;
    for_each_bucket([&](std::size_t offset, std::size_t count) {
        pack(offset, count, false);
        t0 = MPI_Wtime();
        detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, buffer_.data(), int(count), detail::mpi_type<T>(), MPI_SUM, comm_),
                          "MPI_Allreduce",
                          std::string("DataParallel.average_gradients (bucket ").append(std::to_string(bucket))
                              .append(", ").append(std::to_string(count)).append(" elements)"));
        seconds += MPI_Wtime() - t0;
        unpack(offset, count, false, scale);
        ++bucket;
    });
    last_allreduce_seconds_ = seconds;
}

template <class T>
double DataParallel<T>::mean(double local) {
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &local, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce",
                      "DataParallel.mean");
    return local / double(size_);
}

template <class T>
bool DataParallel<T>::any(bool local) {
    int flag = local ? 1 : 0;
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, comm_), "MPI_Allreduce",
                      "DataParallel.any");
    return flag != 0;
}

template <class T>
void DataParallel<T>::barrier() {
    detail::check_mpi(MPI_Barrier(comm_), "MPI_Barrier", "DataParallel.barrier");
}

template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace tapegrad
