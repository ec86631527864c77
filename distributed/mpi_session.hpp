/// \file
/// MpiSession: MPI_Init / MPI_Finalize for a program's main, and the way out on an error.
///
/// ~~~{.cpp}
///   int main(int argc, char** argv) {
///       tapegrad::MpiSession mpi(argc, argv);
///       try { ... } catch (const std::exception& e) { std::cerr << e.what(); mpi.abort(1); }
///   }
/// ~~~
///
/// Why abort and not return: MPI_Finalize is collective (Open MPI waits there for every rank), so a rank that
/// fails and finalizes while the others wait in an MPI_Allreduce would hang the job. MPI_Abort ends every
/// rank at once and mpirun exits non-zero. The destructor does the same when it runs during stack unwinding.
#pragma once

namespace tapegrad {

class MpiSession {
public:
    /// Calls MPI_Init unless MPI is already initialised (then this session finalizes nothing).
    MpiSession(int& argc, char**& argv);
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;

    /// True when an MPI launcher started this process (mpirun/mpiexec of Open MPI, MPICH or Intel MPI, or
    /// srun): one of OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK is set. Programs that also run alone can skip
    /// MPI entirely otherwise (no singleton MPI_Init, nothing changes for a plain run).
    static bool launched();

    int rank() const { return rank_; }        ///< in MPI_COMM_WORLD
    int world_size() const { return size_; }  ///< 1 when started without mpirun
    /// MPI_Abort(MPI_COMM_WORLD, code): ends every rank; does not return.
    [[noreturn]] void abort(int code) const;

private:
    bool owns_ = false;
    int rank_ = 0;
    int size_ = 1;
};

}  // namespace tapegrad
