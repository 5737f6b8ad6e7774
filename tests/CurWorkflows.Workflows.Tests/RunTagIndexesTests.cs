using CurWorkflows.Aws;
using CurWorkflows.LocalAws;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.DependencyInjection;

namespace CurWorkflows.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class RunTagIndexesTests(TemporalFixture temporal)
{
    [Fact]
    public async Task A_run_looks_its_tags_up_once_until_the_index_goes_unused_for_an_hour()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (_, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var role = new CustomerRole(integrationId.ToString(), CollectionEnvironment.RoleArn, CollectionEnvironment.ExternalId);
        var clock = new SettableClock(DateTimeOffset.Parse("2026-11-28T02:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var indexes = new RunTagIndexes(worker.Services.GetRequiredService<ResourceTagClient>(), clock);
        environment.Aws.Counters.Reset();
        long Lookups() => environment.Aws.Counters.Requests(LocalAwsOperations.GetResources);

        var first = await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None);
        var pagesOfOneLookup = Lookups();
        Assert.True(pagesOfOneLookup > 0);

        clock.Now += TimeSpan.FromMinutes(59);
        Assert.Same(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        Assert.Equal(pagesOfOneLookup, Lookups());

        // Another run, or another tag key, has an index of its own.
        Assert.NotSame(first, await indexes.GetAsync("run-2", role, "user:md-package", CancellationToken.None));
        Assert.NotSame(first, await indexes.GetAsync("run-1", role, "user:team", CancellationToken.None));
        Assert.Equal(3 * pagesOfOneLookup, Lookups());

        // Used 59 minutes ago: still kept. Unused for over an hour: looked up again.
        clock.Now += TimeSpan.FromMinutes(59);
        Assert.Same(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        clock.Now += TimeSpan.FromMinutes(61);
        Assert.NotSame(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        Assert.Equal(4 * pagesOfOneLookup, Lookups());
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
