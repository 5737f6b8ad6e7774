using CurWorkflows.Service.Extensions;
using CurWorkflows.Workflows.Hosting;

// The service runs with ICU (SQL Server's client needs it), but what it prints and logs does not follow the machine's
// culture: amounts keep their decimal point, as the API writes them.
System.Globalization.CultureInfo.DefaultThreadCurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;

var builder = WebApplication.CreateBuilder(ServiceArguments.Normalize(args));
ServiceStartup startup;
try
{
    startup = await builder.AddCurWorkflowsServiceAsync();
}
catch (EmbeddedTemporalPortInUseException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } described)
{
    Console.Error.WriteLine(described.Message);
    return described.ExitCode;
}

// What to fix is printed last, after the embedded server's own shutdown lines.
string? failure = null;
var exitCode = 0;
await using (startup)
{
    // Not RunAsync: it disposes the host before the failure of a background service can be read from it.
    await using var app = builder.Build();
    app.MapCurWorkflowsService();
    try
    {
        await app.StartAsync();
        await app.WaitForShutdownAsync();

        // A worker or another background service that failed stops the host: that is not a clean exit.
        if (StartupFailure.FailedBackgroundService(app.Services) is { } failed)
        {
            (failure, exitCode) = (failed, StartupFailure.FailureExitCode);
        }
    }
    catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
    {
        // Kestrel's own message names the address; the stack trace would bury it.
        failure = $"{e.Message} Another process is listening there: stop it, or give this service another " +
            "address with --urls (for example --urls http://127.0.0.1:5055).";
        exitCode = StartupFailure.FailureExitCode;
    }
    catch (Exception e) when (StartupFailure.Describe(e, app.Services) is { } described)
    {
        // The host has logged it with its stack trace; the last line says what to fix.
        (failure, exitCode) = (described.Message, described.ExitCode);
    }
}

if (failure is not null)
{
    Console.Error.WriteLine(failure);
}

return exitCode;

public partial class Program;
