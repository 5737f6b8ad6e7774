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

    /// <summary>The script to start instead of <paramref name="cliPath"/> (written to <paramref name="directory"/>), or
    /// <paramref name="cliPath"/> itself where no watcher applies; then <paramref name="unwatchedBecause"/> says why, when
    /// a watcher was meant to apply.</summary>
    public static string? Wrap(string? cliPath, string directory, out string? unwatchedBecause)
    {
        unwatchedBecause = null;
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
            self=$$
            echo "$self" > {{quotedPidFile}}
            (
              while kill -0 "$owner" 2>/dev/null && kill -0 "$self" 2>/dev/null; do sleep 1; done
              kill "$self" 2>/dev/null || exit 0
              for second in 1 2 3 4 5; do kill -0 "$self" 2>/dev/null || exit 0; sleep 1; done
              kill -9 "$self" 2>/dev/null
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
        // fail: the CLI is then started directly, without the watcher.
        if (ProbeFails(path) is { } problem)
        {
            unwatchedBecause = $"{path} cannot be run ({problem}), so the CLI was started directly: if this process is killed, " +
                "stop 'temporal server start-dev' yourself (or put Temporal:EmbeddedDataDirectory on a file system that allows running programs)";
            return cliPath;
        }

        return path;
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
                if (!recorded.ProcessName.StartsWith("temporal", StringComparison.Ordinal))
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
