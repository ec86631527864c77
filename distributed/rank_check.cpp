#include "tapegrad/distributed/detail/rank_check.hpp"

#include <sstream>

#include "tapegrad/distributed/errors.hpp"

namespace tapegrad::detail {

namespace {

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// "'W2' 12x8" from "W2\t12\t8"
std::string shown(const std::string& line) {
    const auto a = line.find('\t'), b = line.rfind('\t');
    return std::string("'").append(line, 0, a).append("' ").append(line, a + 1, b - a - 1).append("x").append(line, b + 1);
}

// Empty when `mine` equals `root`'s; else what differs, first difference first.
std::string compare(const std::string& mine, const std::string& root, int rank) {
    const auto a = lines(mine), b = lines(root);
    const std::string me = std::string("rank ").append(std::to_string(rank));
    if (a.at(0) != b.at(0)) return std::string("DataParallel: ").append(me).append(" trains in ").append(a[0]).append(" but rank 0 in ").append(b[0]);
    for (std::size_t i = 1; i < std::min(a.size(), b.size()); ++i)
        if (a[i] != b[i])
            return std::string("DataParallel: parameter ").append(std::to_string(i - 1)).append(" is ")
                .append(shown(a[i])).append(" on ").append(me).append(" but ").append(shown(b[i]))
                .append(" on rank 0; every rank must build the same model");
    if (a.size() != b.size()) {
        const bool mine_longer = a.size() > b.size();
        const auto& extra = mine_longer ? a[b.size()] : b[a.size()];
        return std::string("DataParallel: ").append(me).append(" has ").append(std::to_string(a.size() - 1))
            .append(" parameters but rank 0 has ").append(std::to_string(b.size() - 1)).append(" (the first extra is ")
            .append(shown(extra)).append(" on ").append(mine_longer ? me : "rank 0").append(")");
    }
    return {};
}

void broadcast_string(MPI_Comm comm, std::string& text, int root) {
    unsigned long long length = text.size();
    check_mpi(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm), "MPI_Bcast", "DataParallel: parameter check");
    text.resize(std::size_t(length));
    check_mpi(MPI_Bcast(text.data(), int(length), MPI_CHAR, root, comm), "MPI_Bcast", "DataParallel: parameter check");
}

}  // namespace

template <class T>
std::string describe_parameters(const std::vector<NamedParameter<T>>& params) {
    std::string out = sizeof(T) == 4 ? "F32\n" : "F64\n";
    for (const auto& p : params)
        out.append(p.name).append("\t").append(std::to_string(p.var.rows())).append("\t")
            .append(std::to_string(p.var.cols())).append("\n");
    return out;
}

template std::string describe_parameters<float>(const std::vector<NamedParameter<float>>&);
template std::string describe_parameters<double>(const std::vector<NamedParameter<double>>&);

void check_same_parameters(MPI_Comm comm, const std::string& description) {
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    std::string root = description;
    broadcast_string(comm, root, 0);
    std::string message = compare(description, root, rank);
    // The lowest rank that differs (size when none does) speaks for all.
    int first_bad = message.empty() ? size : rank;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &first_bad, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce",
              "DataParallel: parameter check");
    if (first_bad == size) return;
    broadcast_string(comm, message, first_bad);
    throw ShapeError(message);
}

}  // namespace tapegrad::detail
