using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CurWorkflows.Deployment.Tests;

internal sealed record ScriptResult(int ExitCode, string Output, string Error);

/// <summary>Runs the compose stack's POSIX sh scripts on this machine, with a chosen PATH and environment.</summary>
internal static class ShellScript
{
    public static async Task<ScriptResult> RunAsync(string script, IReadOnlyDictionary<string, string> environment, string? prependPath, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("sh", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        if (prependPath is not null)
        {
            start.Environment["PATH"] = prependPath + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {timeout}: {await output}{await error}");
        }

        return new ScriptResult(process.ExitCode, await output, await error);
    }

    /// <summary>A folder with an executable `name` that runs `sh -c body` (for putting a command on PATH).</summary>
    public static string CommandFolder(string name, string body)
    {
        var folder = Directory.CreateTempSubdirectory("curworkflows-deploy-").FullName;
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return folder;
    }

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
