using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// Keeps the embedded dev server's life tied to the process that started it. The CLI is started through a small sh
/// script that records its process id, leaves a watcher behind and then execs the CLI under that id, in a session of
/// its own (where <c>setsid</c> exists).
/// <list type="bullet">
/// <item>The watcher sends the CLI SIGTERM (SIGKILL 5 s later if need be) once the starting process is gone (SIGKILL,
/// a crash): else the server keeps running with its ports, and the next start finds them taken.</item>
/// <item>In its own session the server does not get the terminal's Ctrl+C: the host stops its workers first, while the
/// server still answers them, and then the server, with SIGINT (<see cref="StopAsync"/>; the SDK's own stop is a
/// SIGKILL).</item>
/// </list>
/// Not on Windows, where the CLI is started directly.
/// </summary>
internal static class DevServerWatchdog
{
    public const string ScriptName = "temporal-with-watchdog.sh";

    public const string PidFileName = "temporal-cli.pid";

    private const string ProbeArgument = "--curworkflows-probe";

    private static readonly string[] SetsidPaths = ["/usr/bin/setsid", "/bin/setsid"];

    /// <summary>The watcher: waits while both <c>$owner</c> and <c>$cli</c> run, then stops the CLI (SIGTERM, SIGKILL 5 s later).</summary>
    private const string WatchLoop = """
        while kill -0 "$owner" 2>/dev/null && kill -0 "$cli" 2>/dev/null; do sleep 1; done
        kill "$cli" 2>/dev/null || exit 0
        for second in 1 2 3 4 5; do kill -0 "$cli" 2>/dev/null || exit 0; sleep 1; done
        kill -9 "$cli" 2>/dev/null
        """;

    /// <summary>The script to start instead of <paramref name="cliPath"/> (written to <paramref name="directory"/>), or
    /// <paramref name="cliPath"/> itself where no script applies; then <paramref name="scriptProblem"/> says why, when
    /// the script was meant to apply (it cannot run there, as on a <c>noexec</c> mount; <see cref="Attach"/> is what is
    /// left).</summary>
    public static string? Wrap(string? cliPath, string directory, out string? scriptProblem)
    {
        scriptProblem = null;
        if (cliPath is null || OperatingSystem.IsWindows() || !File.Exists("/bin/sh"))
        {
            return cliPath;
        }

        var quotedCli = Quote(cliPath);
        var quotedPidFile = Quote(Path.Combine(directory, PidFileName));
        var script = $$"""
            #!/bin/sh
            # Written by CurWorkflows: runs the Temporal CLI and stops it when the process that started it is gone.
            if [ "$1" = "{{ProbeArgument}}" ]; then exit 0; fi
            owner=$PPID
            cli=$$
            echo "$cli" > {{quotedPidFile}}
            (
            {{WatchLoop}}
            ) </dev/null >/dev/null 2>&1 &
            if command -v setsid >/dev/null 2>&1; then exec setsid {{quotedCli}} "$@"; fi
            exec {{quotedCli}} "$@"

            """;
        var path = Path.Combine(directory, ScriptName);
        if (!File.Exists(path) || File.ReadAllText(path) != script)
        {
            // Written aside and moved into place: another process starting from the same directory may be running it.
            var written = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(written, script);
            File.SetUnixFileMode(written, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(written, path, overwrite: true);
        }

        // A data directory on a file system mounted noexec (or a script the process may not run) would make the start
        // fail: the CLI is then started directly, and the watcher attached to it after the start.
        if (ProbeFails(path) is { } problem)
        {
            scriptProblem = $"{path} cannot be run ({problem})";
            return cliPath;
        }

        return path;
    }

    /// <summary>
    /// For a CLI started without the script (downloaded and started by the SDK, or the script cannot run): finds it among
    /// this process's children by its frontend port, records its id for <see cref="StopAsync"/>, and leaves the same
    /// watcher behind, run by <c>sh -c</c> (no file to run) in a session of its own. Returns null, or why it could not.
    /// </summary>
    public static string? Attach(string directory, int frontendPort)
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/sh"))
        {
            return "no sh to run a watcher";
        }

        var cli = FindChildDevServer(frontendPort);
        if (cli is null)
        {
            return $"no child process of this one runs 'start-dev --port {frontendPort}'";
        }

        File.WriteAllText(Path.Combine(directory, PidFileName), cli.Value.ToString(CultureInfo.InvariantCulture));
        string[] watcher = ["/bin/sh", "-c", "owner=$1; cli=$2\n" + WatchLoop, "sh", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), cli.Value.ToString(CultureInfo.InvariantCulture)];
        var setsid = SetsidPaths.FirstOrDefault(File.Exists);
        var start = setsid is null ? new ProcessStartInfo(watcher[0], watcher[1..]) : new ProcessStartInfo(setsid, watcher);
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        try
        {
            using var started = Process.Start(start);
            return started is null ? "the watcher did not start" : null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"the watcher did not start ({e.Message})";
        }
    }

    /// <summary>The id of this process's child that runs the dev server on <paramref name="frontendPort"/>.</summary>
    private static int? FindChildDevServer(int frontendPort)
    {
        foreach (var (pid, parent) in Processes())
        {
            if (parent != Environment.ProcessId || CommandLineOf(pid) is not { } arguments)
            {
                continue;
            }

            var portAt = Array.IndexOf(arguments, "--port");
            if (arguments.Contains("start-dev") && portAt >= 0 && portAt + 1 < arguments.Length
                && arguments[portAt + 1] == frontendPort.ToString(CultureInfo.InvariantCulture))
            {
                return pid;
            }
        }

        return null;
    }

    private static IEnumerable<(int Pid, int Parent)> Processes()
    {
        if (!Directory.Exists("/proc"))
        {
            yield break;
        }

        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(entry, "stat"));
            }
            catch (IOException)
            {
                continue;
            }

            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields after it are counted
            // from its last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                yield return (pid, parent);
            }
        }
    }

    /// <summary>The arguments a process was started with (Linux), or null.</summary>
    private static string[]? CommandLineOf(int pid)
    {
        try
        {
            var path = $"/proc/{pid}/cmdline";
            return File.Exists(path) ? File.ReadAllText(path).Split('\0', StringSplitOptions.RemoveEmptyEntries) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ProbeFails(string script)
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo(script, [ProbeArgument]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true });
            if (probe is null)
            {
                return "it did not start";
            }

            if (!probe.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                probe.Kill();
                return "it did not answer within 10 s";
            }

            return probe.ExitCode == 0 ? null : $"exit code {probe.ExitCode}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // The system's own words ("Permission denied"), without the start's working directory.
            return new System.ComponentModel.Win32Exception(e.NativeErrorCode).Message;
        }
    }

    /// <summary>
    /// Stops the CLI started through the script in <paramref name="directory"/> with SIGINT, as Ctrl+C would, and waits
    /// (at most <paramref name="timeout"/>) until its frontend port no longer answers. Does nothing when there is no
    /// record of a CLI started after <paramref name="startedAt"/>.
    /// </summary>
    public static async Task StopAsync(string directory, DateTime startedAt, int frontendPort, TimeSpan timeout)
    {
        var pidFile = Path.Combine(directory, PidFileName);
        if (OperatingSystem.IsWindows() || !File.Exists(pidFile) || File.GetLastWriteTimeUtc(pidFile) < startedAt
            || !int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        try
        {
            // A CLI that ended early leaves its id behind, which another process may have been given since.
            using (var recorded = Process.GetProcessById(pid))
            {
                var isDevServer = CommandLineOf(pid) is { } arguments
                    ? arguments.Contains("start-dev")
                    : recorded.ProcessName.StartsWith("temporal", StringComparison.Ordinal);
                if (!isDevServer)
                {
                    return;
                }
            }

            using var signal = Process.Start(new ProcessStartInfo("kill", ["-INT", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            if (signal is null)
            {
                return;
            }

            await signal.WaitForExitAsync();
            if (signal.ExitCode != 0)
            {
                return;
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // No such process any more, or no kill command: the SDK's shutdown stops the server.
            return;
        }

        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && await AcceptsConnectionsAsync(frontendPort))
        {
            await Task.Delay(50);
        }

        File.Delete(pidFile);
    }

    /// <summary>Whether something accepts TCP connections on the loopback port.</summary>
    internal static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
