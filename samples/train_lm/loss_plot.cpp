#include "loss_plot.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stop_signals.hpp"

extern char** environ;

namespace train_lm {

std::string gnuplot_quoted(const std::string& text) {
    std::string out = "'";
    for (unsigned char c : text) {
        if (c == '\'') out += "''";
        else if (c < 0x20 || c == 0x7f) out += ' ';
        else out += char(c);
    }
    return out + "'";
}

namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

struct FileActions {
    posix_spawn_file_actions_t actions;
    FileActions() { posix_spawn_file_actions_init(&actions); }
    ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
};

}  // namespace

PlotResult plot_losses(const std::filesystem::path& dir, const std::string& title, double bigram_val, double unigram_val) {
    {
        std::ofstream gp(dir / "loss.gp");
        gp << "# drawn by train_lm; run as: cd <this directory> && gnuplot loss.gp\n"
           << "set terminal pngcairo size 900,540 noenhanced\n"
           << "set output 'loss.png'\n"
           << "set datafile separator ','\nset key top right\nset grid\n"
           << "set xlabel 'step'\nset ylabel 'cross-entropy (nats/token)'\n"
           << "set title " << gnuplot_quoted("train_lm: " + title) << "\n"
           << "plot 'train_log.csv' using 1:3 every ::1 with lines title 'train (batch, smoothed)', \\\n"
           << "     '' using 1:($4 > 0 ? $4 : 1/0) every ::1 with linespoints title 'validation', \\\n"
           << "     " << bigram_val << " with lines dashtype 2 title 'bigram entropy (val)', \\\n"
           << "     " << unigram_val << " with lines dashtype 3 title 'unigram entropy (val)'\n";
        if (!gp) return {false, "cannot write " + (dir / "loss.gp").string()};
    }
    // gnuplot's stdout and stderr go to a pipe: shown only when it fails.
    Pipe pipe;
    if (::pipe2(pipe.fd, O_CLOEXEC) != 0) return {false, std::string("pipe: ") + std::strerror(errno)};
    FileActions fa;
    posix_spawn_file_actions_addchdir_np(&fa.actions, dir.c_str());
    posix_spawn_file_actions_adddup2(&fa.actions, pipe.fd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa.actions, pipe.fd[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    char arg0[] = "gnuplot", arg1[] = "loss.gp";
    char* argv[] = {arg0, arg1, nullptr};
    pid_t pid = 0;
    const int err = posix_spawnp(&pid, "gnuplot", &fa.actions, nullptr, argv, environ);
    if (err != 0)
        return {false, err == ENOENT ? std::string("gnuplot is not installed (Debian: gnuplot-nox)")
                                     : std::string("cannot start gnuplot: ") + std::strerror(err)};
    pipe.close_end(1);

    std::string output;
    bool stopped = false;
    for (;;) {
        pollfd p{pipe.fd[0], POLLIN, 0};
        const int r = ::poll(&p, 1, 100);
        if (stop_requested()) {
            stopped = true;
            break;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[4096];
        const ssize_t n = ::read(pipe.fd[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: gnuplot has exited (or closed its output)
        if (output.size() < 16384) output.append(buf, std::size_t(n));
    }
    if (stopped) ::kill(pid, SIGTERM);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (stopped) throw Interrupted("plotting");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
    std::string why = WIFEXITED(status) ? "gnuplot exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "gnuplot was ended by signal " + std::to_string(WTERMSIG(status));
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (!output.empty()) why += ": " + output;
    return {false, why};
}

}  // namespace train_lm
