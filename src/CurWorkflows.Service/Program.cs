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

await using (startup)
{
    var app = builder.Build();
    app.MapCurWorkflowsService();
    try
    {
        await app.RunAsync();
    }
    catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
    {
        // Kestrel's own message names the address; the stack trace would bury it.
        Console.Error.WriteLine($"{e.Message} Another process is listening there: stop it, or give this service another " +
            "address with --urls (for example --urls http://127.0.0.1:5055).");
        return 1;
    }
}

return 0;

public partial class Program;
