using CurWorkflows.Aws;
using CurWorkflows.LocalAws;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CurWorkflows.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class RunTagIndexesTests(TemporalFixture temporal)
{
    [Fact]
    public async Task A_run_looks_its_tags_up_once_until_no_file_has_asked_for_ten_minutes()
    {
        var (environment, tagClient, role) = await StartAsync();
        await using var stop = environment;
        environment.TagOtherResources(150, i => $"package-{i % 7}");

        var clock = new SettableClock(DateTimeOffset.Parse("2026-11-28T02:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var indexes = new RunTagIndexes(tagClient, clock);
        environment.Aws.Counters.Reset();
        long Requests() => environment.Aws.Counters.Requests(LocalAwsOperations.GetResources);

        // Three files of a run that start at once share one lookup of two pages.
        var started = Enumerable.Range(0, 3).Select(_ => indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None)).ToList();
        var first = await started[0];
        Assert.All(await Task.WhenAll(started), index => Assert.Same(first, index));
        Assert.Equal(150, first.Count);
        Assert.Equal(2, Requests());

        clock.Now += TimeSpan.FromMinutes(9);
        Assert.Same(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        Assert.Equal(2, Requests());

        // Another run, or another tag key, has an index of its own.
        Assert.NotSame(first, await indexes.GetAsync("run-2", role, "user:md-package", CancellationToken.None));
        Assert.NotSame(first, await indexes.GetAsync("run-1", role, "user:team", CancellationToken.None));
        Assert.Equal(2 + 2 + 1, Requests()); // no resource has the tag "team": one empty page
        Assert.Equal(3, indexes.Count);

        // Asked for 9 minutes ago: still kept. Not asked for over 10 minutes: dropped, and looked up again.
        clock.Now += TimeSpan.FromMinutes(9);
        Assert.Same(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        clock.Now += TimeSpan.FromMinutes(11);
        Assert.NotSame(first, await indexes.GetAsync("run-1", role, "user:md-package", CancellationToken.None));
        Assert.Equal(5 + 2, Requests());
        Assert.Equal(1, indexes.Count);
    }

    [Fact]
    public async Task A_failed_lookup_is_not_kept_and_a_waiter_that_gives_up_does_not_end_it()
    {
        var (environment, tagClient, role) = await StartAsync();
        await using var stop = environment;
        using var indexes = new RunTagIndexes(tagClient, TimeProvider.System);

        // The tagging client tries five times: all five fail.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.InternalError, LocalAwsOperations.GetResources, Times: 5));
        await Assert.ThrowsAsync<CurWorkflows.Cur.CurException>(() => indexes.GetAsync("run-1", role, "md-package", CancellationToken.None));
        Assert.Equal(0, indexes.Count);

        // A slow lookup: the first waiter gives up, the lookup goes on, and the next waiter gets its answer.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.Delay, LocalAwsOperations.GetResources, DelayMilliseconds: 1_500));
        environment.Aws.Counters.Reset();
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => indexes.GetAsync("run-1", role, "md-package", giveUp.Token));
        }

        var index = await indexes.GetAsync("run-1", role, "md-package", CancellationToken.None);
        Assert.Equal(0, index.Count);
        Assert.Equal(1, environment.Aws.Counters.Requests(LocalAwsOperations.GetResources));
    }

    [Fact]
    public async Task A_quiet_host_drops_the_indexes_nobody_asked_for_in_ten_minutes_without_being_asked()
    {
        var (environment, tagClient, role) = await StartAsync();
        await using var stop = environment;
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T02:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var indexes = new RunTagIndexes(tagClient, clock);
        await indexes.GetAsync("run-1", role, "md-package", CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(5));
        await indexes.GetAsync("run-2", role, "md-package", CancellationToken.None);

        // The sweep runs every minute: at 11 minutes run-1 has gone unasked for over ten, run-2 for six.
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(1, indexes.Count);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, indexes.Count);
    }

    /// <summary>A local AWS endpoint and a worker host whose tagging client the tests use, with the integration's role.</summary>
    private async Task<(CollectionEnvironment Environment, ResourceTagClient TagClient, CustomerRole Role)> StartAsync()
    {
        var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (_, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var role = new CustomerRole(integrationId.ToString(), CollectionEnvironment.RoleArn, CollectionEnvironment.ExternalId);
        return (environment, worker.Services.GetRequiredService<ResourceTagClient>(), role);
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
