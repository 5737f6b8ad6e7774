namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// Stops the embedded dev server when the process that started it dies without stopping it (SIGKILL, a crash): else
/// the server keeps running with its ports, and the next start finds them taken. The CLI is started through a small
/// sh script that leaves a watcher behind and then execs the CLI under the script's own process id. The watcher sends
/// the CLI SIGTERM (SIGKILL 5 s later if need be) once the starting process is gone, and ends by itself once the CLI
/// has. Not on Windows, where the CLI is started directly.
/// </summary>
internal static class DevServerWatchdog
{
    public const string ScriptName = "temporal-with-watchdog.sh";

    /// <summary>The script to start instead of <paramref name="cliPath"/> (written to <paramref name="directory"/>), or
    /// <paramref name="cliPath"/> itself where no watcher applies.</summary>
    public static string? Wrap(string? cliPath, string directory)
    {
        if (cliPath is null || OperatingSystem.IsWindows() || !File.Exists("/bin/sh"))
        {
            return cliPath;
        }

        var quotedCli = "'" + cliPath.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var script = $$"""
            #!/bin/sh
            # Written by CurWorkflows: runs the Temporal CLI and stops it when the process that started it is gone.
            owner=$PPID
            self=$$
            (
              while kill -0 "$owner" 2>/dev/null && kill -0 "$self" 2>/dev/null; do sleep 1; done
              kill "$self" 2>/dev/null || exit 0
              for second in 1 2 3 4 5; do kill -0 "$self" 2>/dev/null || exit 0; sleep 1; done
              kill -9 "$self" 2>/dev/null
            ) </dev/null >/dev/null 2>&1 &
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

        return path;
    }
}
