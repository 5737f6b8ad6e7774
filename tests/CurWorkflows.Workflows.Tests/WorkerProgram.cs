using System.Diagnostics;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Hosting;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// The test assembly doubles as a small worker process for the crash test: <c>dotnet CurWorkflows.Workflows.Tests.dll
/// worker</c>, configured by environment variables (<c>Temporal__Address</c>, ...; AWS platform keys through the SDK's
/// standard <c>AWS_ACCESS_KEY_ID</c> / <c>AWS_SECRET_ACCESS_KEY</c>). Without arguments it does nothing (the test runner
/// does not call it).
/// </summary>
public static class WorkerProgram
{
    /// <summary>Starts this assembly in worker mode with the given configuration (keys as in appsettings, <c>:</c>
    /// separated), its output redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "CurWorkflows.Workflows.Tests.dll"), "worker"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return start;
    }

    public static async Task<int> Main(string[] args)
    {
        if (args is not ["worker", ..])
        {
            return 0;
        }

        var builder = Host.CreateApplicationBuilder(args[1..]);
        builder.AddCurWorkflowsWorker();
        using var host = builder.Build();
        await host.StartAsync();
        Console.WriteLine("worker started");
        await host.WaitForShutdownAsync();
        return 0;
    }
}
