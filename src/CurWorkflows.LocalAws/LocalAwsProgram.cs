using System.Runtime.InteropServices;

namespace CurWorkflows.LocalAws;

/// <summary>
/// <c>dotnet run --project src/CurWorkflows.LocalAws</c>: the endpoint as a process, configured from the
/// <c>LocalAws</c> section (appsettings.json, environment <c>LocalAws__Port</c>, command line <c>--LocalAws:Port=4566</c>).
/// </summary>
public static class LocalAwsProgram
{
    public static async Task<int> Main(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var options = new LocalAwsOptions();
        configuration.GetSection("LocalAws").Bind(options);
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        options.LoggerFactory = loggerFactory;

        // Ctrl+C (SIGINT) and SIGTERM (kill, a process manager) both dispose the server, which frees its port. Registered
        // before the server starts: a signal that arrives while it starts is not lost.
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await using var server = await LocalAwsServer.StartAsync(options);
        Console.WriteLine($"Local AWS endpoint (STS, S3 path-style, tagging) listening on {server.Url}");
        Console.WriteLine($"Roles: {options.Roles.Count}, buckets: {string.Join(", ", options.Buckets)}. Ctrl+C to stop.");

        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped: dispose the server and exit.
        }

        return 0;
    }
}
