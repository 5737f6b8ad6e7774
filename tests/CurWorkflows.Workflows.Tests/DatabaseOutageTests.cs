using CurWorkflows.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Temporalio.Api.Enums.V1;

namespace CurWorkflows.Workflows.Tests;

/// <summary>The worker reaches PostgreSQL through toxiproxy; the database goes away while the run stages and persists.</summary>
[Collection(TemporalCollection.Name)]
public sealed class DatabaseOutageTests(TemporalFixture temporal)
{
    [PostgresFact]
    public async Task A_database_outage_while_storing_the_period_is_retried_to_the_exact_totals()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.PostgreSql);
        await using var toxiproxy = await Toxiproxy.StartAsync();
        var direct = new NpgsqlConnectionStringBuilder(environment.ConnectionString);
        var proxyPort = await toxiproxy.CreateProxyAsync("pg", $"{direct.Host}:{direct.Port}");
        var proxied = new NpgsqlConnectionStringBuilder(environment.ConnectionString) { Host = "127.0.0.1", Port = proxyPort }.ConnectionString;

        // Staging is the first step that writes the period; it is held at its start until the database is cut, so the
        // outage lands exactly while the period is being stored, however fast or slow the machine aggregates.
        var staging = new ActivityGate(ActivityNames.StagePeriod);
        var worker = await environment.StartWorkerAsync(connectionString: proxied, services: staging.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 2, rows: 60_000, seed: 71, assemblyId: "asm-db"));

        var run = CollectionWorkflowTests.RunCollectionAsync(environment, organizationId, integrationId);
        var handle = await FindRunAsync(environment, integrationId);

        // Aggregating 120,000 rows takes seconds on an idle machine, but over a minute when the test projects share two
        // cores with other work.
        await staging.Reached.WaitAsync(TimeSpan.FromMinutes(3));
        await toxiproxy.SetEnabledAsync("pg", enabled: false);
        staging.Open();
        // Keep the database away long enough for several failed connection attempts (EF's retrying strategy inside the
        // attempt, then Temporal's activity retries with backoff).
        await Task.Delay(TimeSpan.FromSeconds(8));
        var during = await environment.PendingActivitiesAsync(handle.Id);
        Assert.Contains(during, a => a.ActivityType.Name is ActivityNames.StagePeriod or ActivityNames.PersistPeriod);
        await toxiproxy.SetEnabledAsync("pg", enabled: true);

        var summary = await run.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var period = Assert.Single(await worker.Services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
        Assert.Equal(delivery.Truth.Amortized, period.Totals.Amortized);
        Assert.Equal(WorkflowExecutionStatus.Completed, (await handle.DescribeAsync()).Status);
    }

    private static async Task<Temporalio.Client.WorkflowHandle> FindRunAsync(CollectionEnvironment environment, Guid integrationId)
    {
        string? workflowId = null;
        await Eventually.TrueAsync(async () =>
        {
            await foreach (var execution in environment.Temporal.Client.ListWorkflowsAsync($"IntegrationId = '{integrationId}'"))
            {
                workflowId = execution.Id;
            }

            return workflowId is not null;
        }, "the run is visible");
        return environment.Temporal.Client.GetWorkflowHandle(workflowId!);
    }
}
