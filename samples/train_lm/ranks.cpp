#include "ranks.hpp"

#include <stdexcept>

#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/data_parallel.hpp"
#endif

namespace train_lm {

#ifdef TAPEGRAD_WITH_MPI

struct Ranks::Impl : tapegrad::DataParallel<float> {
    using tapegrad::DataParallel<float>::DataParallel;
};

Ranks::Ranks(bool data_parallel, const std::vector<tapegrad::NamedParameter<float>>& params) {
    if (!data_parallel) return;
    dp_ = std::make_unique<Impl>(MPI_COMM_WORLD, params);
    rank_ = dp_->rank();
    world_ = dp_->world_size();
}

int Ranks::process_rank(bool data_parallel) {
    int rank = 0;
    if (data_parallel) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

std::size_t Ranks::first(std::size_t global) const { return tapegrad::equal_share(global, rank_, world_).begin; }
std::size_t Ranks::count(std::size_t global) const { return tapegrad::equal_share(global, rank_, world_).count; }
void Ranks::broadcast_parameters() { if (dp_) dp_->broadcast_parameters(); }
void Ranks::average_gradients() { if (dp_) dp_->average_gradients(); }
double Ranks::mean(double local) { return dp_ ? dp_->mean(local) : local; }
bool Ranks::any(bool local) { return dp_ ? dp_->any(local) : local; }
void Ranks::barrier() { if (dp_) dp_->barrier(); }
double Ranks::last_allreduce_seconds() const { return dp_ ? dp_->last_allreduce_seconds() : 0.0; }

#else

struct Ranks::Impl {};

Ranks::Ranks(bool data_parallel, const std::vector<tapegrad::NamedParameter<float>>&) {
    if (data_parallel) throw std::runtime_error("train_lm: data-parallel training needs a build with MPI");
}

int Ranks::process_rank(bool) { return 0; }
std::size_t Ranks::first(std::size_t) const { return 0; }
std::size_t Ranks::count(std::size_t global) const { return global; }
void Ranks::broadcast_parameters() {}
void Ranks::average_gradients() {}
double Ranks::mean(double local) { return local; }
bool Ranks::any(bool local) { return local; }
void Ranks::barrier() {}
double Ranks::last_allreduce_seconds() const { return 0.0; }

#endif

Ranks::~Ranks() = default;

}  // namespace train_lm
