using CurWorkflows.Service.Extensions;

var builder = WebApplication.CreateBuilder(ServiceArguments.Normalize(args));
await using var startup = await builder.AddCurWorkflowsServiceAsync();

var app = builder.Build();
app.MapCurWorkflowsService();

await app.RunAsync();

public partial class Program;
