#include "stop_signals.hpp"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace train_lm {

namespace {

// Written by the handler, read by the loops: the only state a handler may touch is a lock-free atomic.
volatile std::sig_atomic_t g_signal = 0;     // the first stop signal, or -1 for request_stop()
volatile std::sig_atomic_t g_quiet = 0;

void write_stderr(const char* text) {
    // write(2) is async-signal-safe; a failed notice is not worth handling
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text, std::strlen(text));
}

extern "C" void on_stop_signal(int sig) {
    if (g_signal != 0) {
        write_stderr("\ntrain_lm: second signal: quitting now\n");
        ::_exit(128 + sig);
    }
    g_signal = sig;
    if (!g_quiet)
        write_stderr(sig == SIGTERM ? "\ntrain_lm: SIGTERM: stopping (training saves a checkpoint first); signal again to quit at once\n"
                                    : "\ntrain_lm: stopping (training saves a checkpoint first); press Ctrl-C again to quit at once\n");
}

}  // namespace

void install_stop_handlers(bool quiet) {
    g_quiet = quiet ? 1 : 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in progress resume instead of failing with EINTR
    for (int sig : {SIGINT, SIGTERM, SIGUSR1}) ::sigaction(sig, &sa, nullptr);
}

bool stop_requested() { return g_signal != 0; }

int stop_signal() { return g_signal > 0 ? int(g_signal) : 0; }

int interrupted_exit_code() {
    const int sig = stop_signal();
    return sig == SIGINT || sig == SIGTERM ? 128 + sig : 128 + SIGINT;
}

void request_stop() {
    if (g_signal == 0) g_signal = -1;
}

void clear_stop() { g_signal = 0; }

void throw_if_stop_requested(const char* phase) {
    if (stop_requested()) throw Interrupted(phase);
}

}  // namespace train_lm
