namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>
/// Tests that assert on what the process-wide metric listeners export run alone, after the others. Every service host in
/// the test process publishes ASP.NET Core's and EF Core's instruments under the same meter names, and a provider's
/// listener sees them all; another test's host starting or stopping meanwhile can change what it exports. The metrics
/// test once saw 131 exports without the request it made, in a full run beside the other suites.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetryCollection
{
    public const string Name = "process-wide telemetry";
}
