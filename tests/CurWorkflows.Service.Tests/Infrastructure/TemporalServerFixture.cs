using Temporalio.Common;
using Temporalio.Testing;

namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>One real Temporal dev server for the test collection (the service connects to it as an external cluster).</summary>
public sealed class TemporalServerFixture : IAsyncLifetime
{
    private WorkflowEnvironment? environment;

    public string Address => environment?.Client.Connection.Options.TargetHost
        ?? throw new InvalidOperationException("Temporal dev server not started.");

    public WorkflowEnvironment Environment => environment ?? throw new InvalidOperationException("Temporal dev server not started.");

    public async Task InitializeAsync()
    {
        environment = await WorkflowEnvironment.StartLocalAsync(new()
        {
            SearchAttributes = [SearchAttributeKey.CreateKeyword("IntegrationId"), SearchAttributeKey.CreateKeyword("OrganizationId")],
            DevServerOptions = new() { ExistingPath = TestEnvironment.TemporalCliPath, StartupTimeout = TimeSpan.FromSeconds(90) },
        });
    }

    public async Task DisposeAsync()
    {
        if (environment is not null)
        {
            await environment.ShutdownAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TemporalCollection : ICollectionFixture<TemporalServerFixture>
{
    public const string Name = "temporal";
}
