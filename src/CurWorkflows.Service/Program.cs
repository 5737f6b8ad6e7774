using CurWorkflows.Service.Extensions;
using CurWorkflows.Workflows.Hosting;

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
    await app.RunAsync();
}

return 0;

public partial class Program;
