// Stopping a run from outside: SIGINT (Ctrl-C), SIGTERM (kill, batch schedulers) and SIGUSR1 (what mpirun
// forwards to every rank). The first signal asks the run to stop: training finishes its step, saves a
// checkpoint and exits 128 + signal (130 for SIGINT, 143 for SIGTERM); any other phase (evaluation,
// plotting, sampling, generate) stops at its next check, within well under a second. A second signal ends
// the process at once (_exit), whatever it is doing.
#pragma once

#include <stdexcept>
#include <string>

namespace train_lm {

// Installs the handlers (sigaction, SA_RESTART). `quiet`: do not print the one-line notice on the first
// signal (the non-lead ranks of a data-parallel run).
void install_stop_handlers(bool quiet = false);

// True once a stop signal arrived, or request_stop() was called.
bool stop_requested();
// The signal that asked to stop (0 for request_stop()).
int stop_signal();
// The exit status an interrupted run returns: 128 + the signal, 130 (as for Ctrl-C) when no signal did it.
int interrupted_exit_code();

// As if a signal had arrived, without one (--stop-after, tests); clear_stop() forgets every request.
void request_stop();
void clear_stop();

// Thrown by a long phase other than training (evaluation, sampling, plotting) when a stop was requested.
struct Interrupted : std::runtime_error {
    explicit Interrupted(const std::string& phase) : std::runtime_error("interrupted during " + phase) {}
};

// Throws Interrupted(phase) when a stop was requested: the check a long loop makes between chunks.
void throw_if_stop_requested(const char* phase);

}  // namespace train_lm
