#include "gnuplot.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace samples {

std::string gnuplot_quoted(const std::string& text) {
    std::string out = "'";
    for (unsigned char c : text) {
        if (c == '\'') out += "\u2019";  // not '': gnuplot 5.4 misreads runs of doubled quotes ('''' ends the string)
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

PlotResult run_gnuplot(const std::filesystem::path& dir, const std::string& script, const std::function<bool()>& stop_requested) {
    // gnuplot's stdout and stderr go to a pipe: shown only when it fails.
    Pipe pipe;
    if (::pipe2(pipe.fd, O_CLOEXEC) != 0) return {false, std::string("pipe: ") + std::strerror(errno)};
    FileActions fa;
    posix_spawn_file_actions_addchdir_np(&fa.actions, dir.c_str());
    posix_spawn_file_actions_adddup2(&fa.actions, pipe.fd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa.actions, pipe.fd[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::string script_arg = script;
    char arg0[] = "gnuplot";
    char* argv[] = {arg0, script_arg.data(), nullptr};
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
        if (stop_requested && stop_requested()) {
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
    if (stopped) return {false, "interrupted", true};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
    std::string why = WIFEXITED(status) ? "gnuplot exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "gnuplot was ended by signal " + std::to_string(WTERMSIG(status));
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (!output.empty()) why += ": " + output;
    return {false, why};
}


}  // namespace samples
