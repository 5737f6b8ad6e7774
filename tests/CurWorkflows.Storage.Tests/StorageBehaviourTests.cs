using System.Data.Common;
using System.Text.Json;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Entities;
using CurWorkflows.Storage.Stores;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CurWorkflows.Storage.Tests;

/// <summary>The storage guarantees, run against each real provider by the subclasses at the end of this file.</summary>
public abstract class StorageBehaviourTests<TDatabase>(TDatabase database)
    where TDatabase : StorageDatabase
{
    private static readonly DateOnly January = CostData.January;
    private static readonly DateOnly February = CostData.February;

    protected TDatabase Database { get; } = database;

    [StorageFact]
    public async Task Replace_new_period_stores_every_staged_batch_reads_sum_per_key_and_records_the_period()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var batch = CostData.Period(January, days: 3, packages: 3, resourcesPerPackage: 4, factor: 1m);
        var runId = await NewRunAsync(integrationId);
        var key = new StagingKey(runId, integrationId, January);
        // Two files of the same period produce the same keys: both are stored and every read sums them.
        await Database.Writer.StageAsync(key, batch);
        await Database.Writer.StageAsync(key, batch);

        var result = await Database.Writer.ReplaceBillingPeriodAsync(
            new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-1", "etag-1", IsFinal: false, LineItemRows: 1234));

        var expected = CostData.Total(batch.DailyPackageCosts);
        Assert.Equal(ReplaceOutcome.Inserted, result.Outcome);
        Assert.Equal(expected + expected, result.Totals);
        Assert.Equal("USD", result.Currency);
        Assert.Equal(2 * batch.DailyPackageCosts.Count, result.DailyPackageRows);
        Assert.Equal(2 * batch.DailyResourceCosts.Count, result.DailyResourceRows);
        Assert.Equal(2 * batch.MonthlyPackageCosts.Count, result.MonthlyPackageRows);
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        var daily = await Database.Reader.GetDailyPackageCostsAsync(query);
        Assert.Equal(
            batch.DailyPackageCosts.Select(c => (c.UsageDate, c.Package, c.Cost + c.Cost)).OrderBy(c => c.UsageDate).ThenBy(c => c.Package, StringComparer.Ordinal),
            daily.Select(c => (c.Date, c.Package, c.Cost)));
        var resources = await Database.Reader.GetDailyResourceCostsAsync(query, CostData.PackageName(2));
        Assert.Equal(
            batch.DailyResourceCosts.Where(c => c.Package == CostData.PackageName(2)).Select(c => (c.UsageDate, c.ResourceId, c.Cost + c.Cost)),
            resources.Select(c => (c.Date, c.ResourceId, c.Cost)));
        var monthly = await Database.Reader.GetMonthlyPackageCostsAsync(query with { Packages = [PackageNames.Untagged] });
        var untaggedMonth = batch.MonthlyPackageCosts.Single(c => c.Package == PackageNames.Untagged).Cost;
        Assert.Equal(untaggedMonth + untaggedMonth, Assert.Single(monthly).Cost);

        var totals = Assert.Single(await Database.Reader.GetTotalsAsync(new CostQuery(organizationId, January, January.AddDays(30))));
        Assert.Equal(expected + expected, totals.Total);
        var period = Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(("assembly-1", "etag-1", false, 1234L), (period.AssemblyId, period.ManifestETag, period.IsFinal, period.LineItemRows));
        Assert.Equal(expected + expected, period.Totals);
        Assert.True(await Database.Runs.IsIngestedAsync(integrationId, January, "assembly-1", "etag-1"));
        Assert.False(await Database.Runs.IsIngestedAsync(integrationId, January, "assembly-1", "etag-2"));
        Assert.Equal(0, await CountStagingAsync(runId));
    }

    [StorageFact]
    public async Task Replace_same_assembly_again_changes_nothing()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var batch = CostData.Period(January, 2, 3, 2, 1m);
        await StageAndReplaceAsync(integrationId, January, batch, "assembly-1", "etag-1");
        var before = await SnapshotAsync(integrationId);

        var runId = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runId, integrationId, January), batch);
        var again = await Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-1", "etag-1", false));

        Assert.Equal(ReplaceOutcome.Unchanged, again.Outcome);
        Assert.Equal(before, await SnapshotAsync(integrationId));
        Assert.Equal(0, await CountStagingAsync(runId));
        Assert.Equal(CostData.Total(batch.DailyPackageCosts), again.Totals);
        Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
    }

    [StorageFact]
    public async Task Replace_restated_assembly_replaces_the_period_and_never_adds()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        await StageAndReplaceAsync(integrationId, January, CostData.Period(January, 5, 4, 3, 1m), "assembly-1", "etag-1");
        await StageAndReplaceAsync(integrationId, February, CostData.Period(February, 2, 2, 2, 5m), "assembly-f", "etag-f");
        var februaryBefore = await SnapshotAsync(integrationId, February);

        // Restated: fewer days and packages, different numbers, now final.
        var restated = CostData.Period(January, 3, 2, 1, 3m);
        var result = await StageAndReplaceAsync(integrationId, January, restated, "assembly-2", "etag-2", isFinal: true);

        Assert.Equal(ReplaceOutcome.Replaced, result.Outcome);
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        var totals = Assert.Single(await Database.Reader.GetTotalsAsync(query));
        Assert.Equal(CostData.Total(restated.DailyPackageCosts), totals.Total);
        var daily = await Database.Reader.GetDailyPackageCostsAsync(query);
        Assert.Equal(restated.DailyPackageCosts.Count, daily.Count);
        Assert.Equal(
            restated.DailyPackageCosts.Select(c => (c.UsageDate, c.Package, c.Cost)).OrderBy(c => c.UsageDate).ThenBy(c => c.Package, StringComparer.Ordinal),
            daily.Select(c => (c.Date, c.Package, c.Cost)));
        var resources = await Database.Reader.GetDailyResourceCostsAsync(query, CostData.PackageName(1));
        Assert.Equal(restated.DailyResourceCosts.Where(c => c.Package == CostData.PackageName(1)).Select(c => (c.UsageDate, c.ResourceId, c.Cost)),
            resources.Select(c => (c.Date, c.ResourceId, c.Cost)));
        var monthly = await Database.Reader.GetMonthlyPackageCostsAsync(query);
        Assert.Equal(restated.MonthlyPackageCosts.Select(c => (c.Package, c.Cost)).OrderBy(c => c.Package, StringComparer.Ordinal),
            monthly.Select(c => (c.Package, c.Cost)));
        var periods = await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId);
        Assert.Equal([("assembly-2", true), ("assembly-f", false)], periods.Select(p => (p.AssemblyId, p.IsFinal)));
        Assert.Equal(februaryBefore, await SnapshotAsync(integrationId, February));
    }

    [StorageFact]
    public async Task Replace_same_assembly_with_a_new_manifest_etag_replaces_the_period()
    {
        // AWS can rewrite a manifest under the same assemblyId: the new ETag is a new delivery, not "already ingested".
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var original = CostData.Period(January, 3, 3, 2, 1m);
        await StageAndReplaceAsync(integrationId, January, original, "assembly-1", "etag-1");

        var rewritten = CostData.Period(January, 2, 2, 2, 4m);
        var result = await StageAndReplaceAsync(integrationId, January, rewritten, "assembly-1", "etag-2");

        Assert.Equal(ReplaceOutcome.Replaced, result.Outcome);
        Assert.Equal(CostData.Total(rewritten.DailyPackageCosts), result.Totals);
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        Assert.Equal(CostData.Total(rewritten.DailyPackageCosts), Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
        var daily = await Database.Reader.GetDailyPackageCostsAsync(query);
        Assert.Equal(
            rewritten.DailyPackageCosts.Select(c => (c.UsageDate, c.Package, c.Cost)).OrderBy(c => c.UsageDate).ThenBy(c => c.Package, StringComparer.Ordinal),
            daily.Select(c => (c.Date, c.Package, c.Cost)));
        var period = Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(("assembly-1", "etag-2"), (period.AssemblyId, period.ManifestETag));
        Assert.Equal(CostData.Total(rewritten.DailyPackageCosts), period.Totals);
        Assert.True(await Database.Runs.IsIngestedAsync(integrationId, January, "assembly-1", "etag-2"));
        Assert.False(await Database.Runs.IsIngestedAsync(integrationId, January, "assembly-1", "etag-1"));
    }

    [StorageFact]
    public async Task Totals_are_one_entry_per_currency_never_summed_across_currencies()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var dollars = CostData.Period(January, 2, 2, 2, 1m, currency: "USD");
        var euros = CostData.Period(February, 2, 3, 1, 2m, currency: "EUR");
        await StageAndReplaceAsync(integrationId, January, dollars, "assembly-usd", "etag-usd");
        await StageAndReplaceAsync(integrationId, February, euros, "assembly-eur", "etag-eur");
        var query = new CostQuery(organizationId, January, February.AddDays(27), integrationId);

        static (CostAmounts Untagged, CostAmounts Tagged) Split(CostAggregateBatch batch) => (
            CostData.Total(batch.DailyPackageCosts.Where(c => c.Package == PackageNames.Untagged)),
            CostData.Total(batch.DailyPackageCosts.Where(c => c.Package != PackageNames.Untagged)));
        var expected = new[] { ("EUR", Split(euros)), ("USD", Split(dollars)) }
            .Select(e => new CostTotal(e.Item1, e.Item2.Untagged + e.Item2.Tagged, e.Item2.Untagged, e.Item2.Tagged))
            .ToList();

        Assert.Equal(expected, await Database.Reader.GetTotalsAsync(query));
        Assert.Equal(expected, await Database.Reader.GetMonthlyTotalsAsync(query, January, February));
        Assert.Equal(expected, CostReader.Combine(
            await Database.Reader.GetMonthlyTotalsAsync(query, January, January),
            await Database.Reader.GetMonthlyTotalsAsync(query, February, February)));
    }

    [StorageFact]
    public async Task Replace_failing_midway_leaves_the_old_data_and_period()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var original = CostData.Period(January, 3, 3, 3, 1m);
        await StageAndReplaceAsync(integrationId, January, original, "assembly-1", "etag-1");
        var before = await SnapshotAsync(integrationId);

        // The failure strikes after the billing period was already switched to the new run in the transaction.
        var failing = Database.CreateWriter(options => options.AddInterceptors(new FailOnCommandInterceptor("DELETE FROM cost_generations")));
        var runId = await NewRunAsync(integrationId);
        await failing.StageAsync(new StagingKey(runId, integrationId, January), CostData.Period(January, 3, 3, 3, 7m));
        await Assert.ThrowsAsync<InjectedFailureException>(() => failing.ReplaceBillingPeriodAsync(
            new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-2", "etag-2", false)));

        Assert.Equal(before, await SnapshotAsync(integrationId));
        var period = Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal("assembly-1", period.AssemblyId);
        Assert.Equal(CostData.Total(original.DailyPackageCosts), period.Totals);

        // The failed run's staging stays until the run ends, then it is dropped.
        Assert.True(await CountStagingAsync(runId) > 0);
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(runId, CollectionRunOutcome.Failed, DateTimeOffset.UtcNow, "transient", "injected"));
        Assert.Equal(0, await CountStagingAsync(runId));
    }

    [StorageFact]
    public async Task Replace_cancelled_before_commit_leaves_the_old_data()
    {
        var (_, integrationId) = await NewIntegrationAsync();
        await StageAndReplaceAsync(integrationId, January, CostData.Period(January, 2, 2, 2, 1m), "assembly-1", "etag-1");
        var before = await SnapshotAsync(integrationId);

        using var cancellation = new CancellationTokenSource();
        var cancelling = Database.CreateWriter(options => options.AddInterceptors(new CancelOnCommandInterceptor("DELETE FROM cost_generations", cancellation)));
        var runId = await NewRunAsync(integrationId);
        await cancelling.StageAsync(new StagingKey(runId, integrationId, January), CostData.Period(January, 2, 2, 2, 9m));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelling.ReplaceBillingPeriodAsync(
            new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-2", "etag-2", false), cancellation.Token));

        Assert.Equal(before, await SnapshotAsync(integrationId));
    }

    [StorageFact]
    public async Task Concurrent_readers_during_replaces_always_see_old_or_new_totals()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var versionA = CostData.Period(January, 10, 10, 20, 1m);
        var versionB = CostData.Period(January, 8, 12, 15, 2m);
        var totalA = CostData.Total(versionA.DailyPackageCosts);
        var totalB = CostData.Total(versionB.DailyPackageCosts);
        Assert.NotEqual(totalA, totalB);
        await StageAndReplaceAsync(integrationId, January, versionA, "a-0", "a-0");

        using var done = new CancellationTokenSource();
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        var observed = new System.Collections.Concurrent.ConcurrentQueue<CostAmounts>();
        const int readerCount = 3;
        var reading = 0;
        var allReading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task ReadAsync()
        {
            var first = true;
            do
            {
                var totals = await Database.Reader.GetTotalsAsync(query);
                observed.Enqueue(Assert.Single(totals).Total);
                if (first && Interlocked.Increment(ref reading) == readerCount)
                {
                    allReading.TrySetResult();
                }

                first = false;

                // SQLite's async reads complete synchronously: without a pause, three readers hold the pool's threads
                // (two on two cores) and the third reader and the writer wait for the pool to grow.
                await Task.Delay(1);
            }
            while (!done.IsCancellationRequested);
        }

        // The replaces start once every reader has read, and each waits until a read has seen the version it wrote: on
        // a loaded machine the six replaces could otherwise all be over before a reader had begun (seen in CI).
        var readers = Enumerable.Range(0, readerCount).Select(_ => Task.Run(ReadAsync)).ToList();
        await allReading.Task.WaitAsync(TimeSpan.FromSeconds(60));
        for (var i = 1; i <= 6; i++)
        {
            var total = i % 2 == 1 ? totalB : totalA;
            var seenBefore = observed.Count(t => t == total);
            await StageAndReplaceAsync(integrationId, January, i % 2 == 1 ? versionB : versionA, $"v-{i}", $"v-{i}");
            for (var waited = 0; observed.Count(t => t == total) == seenBefore; waited++)
            {
                Assert.True(waited < 600, $"no reader saw the totals of replace {i} within 60 s");
                await Task.Delay(100);
            }
        }

        await done.CancelAsync();
        await Task.WhenAll(readers);

        Assert.All(observed, total => Assert.True(total == totalA || total == totalB, $"Reader saw a mix: {total}"));
        Assert.Contains(totalB, observed);
    }

    [StorageFact]
    public async Task The_writer_logs_billing_periods_as_iso_dates()
    {
        // The invariant culture (the solution's) would print a DateOnly as 01/01/2026.
        var (_, integrationId) = await NewIntegrationAsync();
        var logger = new MessageLogger();
        var writer = Database.CreateWriter(_ => { }, logger);
        foreach (var assembly in new[] { "assembly-1", "assembly-2" })
        {
            var runId = await NewRunAsync(integrationId);
            await writer.StageAsync(new StagingKey(runId, integrationId, January), CostData.Period(January, 2, 2, 2, 1m));
            await writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, assembly, assembly, false));
        }

        Assert.Contains(logger.Messages, m => m.StartsWith($"Billing period 2026-01-01 of integration {integrationId}: assembly assembly-2 Replaced", StringComparison.Ordinal));
        Assert.Contains(logger.Messages, m => m.StartsWith($"Billing period 2026-01-01 of integration {integrationId}: deleted", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Messages, m => m.Contains("01/01/2026", StringComparison.Ordinal));
    }

    [StorageFact]
    public async Task Replace_deletes_the_superseded_generation_after_the_commit()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var original = CostData.Period(January, 4, 3, 5, 1m);
        await StageAndReplaceAsync(integrationId, January, original, "assembly-1", "etag-1");
        var originalRows = original.DailyPackageCosts.Count + original.DailyResourceCosts.Count + original.MonthlyPackageCosts.Count;

        var restated = CostData.Period(January, 2, 2, 2, 3m);
        var result = await StageAndReplaceAsync(integrationId, January, restated, "assembly-2", "etag-2");

        Assert.Equal(ReplaceOutcome.Replaced, result.Outcome);
        Assert.Equal(originalRows, result.SupersededRowsDeleted);
        var restatedRows = restated.DailyPackageCosts.Count + restated.DailyResourceCosts.Count + restated.MonthlyPackageCosts.Count;
        Assert.Equal((restatedRows, restatedRows), await CountRowsAsync(integrationId));
        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        Assert.False(await context.CostGenerations.AnyAsync(g => g.IntegrationId == integrationId));
        var period = Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(CostData.Total(restated.DailyPackageCosts), period.Totals);
    }

    [StorageFact]
    public async Task A_crash_between_the_switch_and_the_cleanup_leaves_correct_reads_and_the_sweep_deletes_the_old_rows()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var original = CostData.Period(January, 3, 3, 4, 1m);
        await StageAndReplaceAsync(integrationId, January, original, "assembly-1", "etag-1");
        var restated = CostData.Period(January, 3, 2, 3, 5m);
        var runId = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runId, integrationId, January), restated);

        // The deletion of the old generation fails after the commit, part-way (daily package rows already deleted).
        var crashing = Database.CreateWriter(options => options.AddInterceptors(new FailOnCommandInterceptor("DELETE FROM daily_resource_costs")));
        var result = await crashing.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-2", "etag-2", false));

        Assert.Equal(ReplaceOutcome.Replaced, result.Outcome);
        Assert.Equal(0, result.SupersededRowsDeleted);
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        Assert.Equal(CostData.Total(restated.DailyPackageCosts), Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
        Assert.Equal(
            restated.DailyResourceCosts.Where(c => c.Package == CostData.PackageName(1)).Select(c => (c.UsageDate, c.ResourceId, c.Cost)),
            (await Database.Reader.GetDailyResourceCostsAsync(query, CostData.PackageName(1))).Select(c => (c.Date, c.ResourceId, c.Cost)));
        Assert.Equal(
            restated.MonthlyPackageCosts.Select(c => (c.Package, c.Cost)).OrderBy(c => c.Package, StringComparer.Ordinal),
            (await Database.Reader.GetMonthlyPackageCostsAsync(query)).Select(c => (c.Package, c.Cost)));
        Assert.Equal(
            CostData.Total(restated.DailyPackageCosts),
            Assert.Single(await Database.Reader.GetMonthlyTotalsAsync(query, January, January)).Total);
        var restatedRows = restated.DailyPackageCosts.Count + restated.DailyResourceCosts.Count + restated.MonthlyPackageCosts.Count;
        var (all, visible) = await CountRowsAsync(integrationId);
        Assert.Equal(restatedRows, visible);
        Assert.Equal(original.DailyResourceCosts.Count + original.MonthlyPackageCosts.Count, all - visible);

        // The superseded generation is swept at once (it can never become active again); fresh staging is not.
        var otherRun = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(otherRun, integrationId, February), CostData.Period(February, 1, 1, 1, 1m));
        Assert.Equal(all - visible, await Database.Writer.SweepStaleStagingAsync(TimeSpan.FromHours(1)));
        const int februaryStagedRows = 3; // one day, package and resource: one row in each table
        Assert.Equal((restatedRows + februaryStagedRows, restatedRows), await CountRowsAsync(integrationId));
        Assert.True(await CountStagingAsync(otherRun) > 0);
        await Database.Writer.DiscardStagingAsync(otherRun);
        Assert.Equal((restatedRows, restatedRows), await CountRowsAsync(integrationId));
    }

    [StorageFact]
    public async Task A_retried_replace_of_the_same_run_changes_nothing_keeps_its_rows_and_answers_as_the_first_attempt()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var batch = CostData.Period(January, 2, 3, 2, 1m);
        var runId = await NewRunAsync(integrationId);
        var key = new StagingKey(runId, integrationId, January);
        await Database.Writer.StageAsync(key, batch);
        var request = new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-1", "etag-1", false);
        var first = await Database.Writer.ReplaceBillingPeriodAsync(request);
        var before = await SnapshotAsync(integrationId);

        var retried = await Database.Writer.ReplaceBillingPeriodAsync(request);
        await Database.Writer.DiscardStagingAsync(key);
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(runId, CollectionRunOutcome.Succeeded, DateTimeOffset.UtcNow));
        await Database.Writer.SweepStaleStagingAsync(TimeSpan.FromMinutes(-1));

        // The first attempt's completion was lost: the retry reports what it stored, so the run counts the period as stored.
        Assert.Equal(ReplaceOutcome.AppliedEarlier, retried.Outcome);
        Assert.Equal(
            (first.DailyPackageRows, first.DailyResourceRows, first.MonthlyPackageRows, first.Currency, first.Totals),
            (retried.DailyPackageRows, retried.DailyResourceRows, retried.MonthlyPackageRows, retried.Currency, retried.Totals));
        Assert.Equal(before, await SnapshotAsync(integrationId));
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        Assert.Equal(CostData.Total(batch.DailyPackageCosts), Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
        // Adding rows to what readers see is refused: a run stages a period before replacing it, never after.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Database.Writer.StageAsync(key, batch));
        Assert.Equal(CostData.Total(batch.DailyPackageCosts), Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
    }

    [StorageFact]
    public async Task A_replace_whose_run_ended_and_discarded_its_staging_is_refused_and_the_period_keeps_its_data()
    {
        var (_, integrationId) = await NewIntegrationAsync();
        await StageAndReplaceAsync(integrationId, January, CostData.Period(January, 2, 3, 2, 1m), "assembly-1", "etag-1");
        var before = await SnapshotAsync(integrationId);
        var runId = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runId, integrationId, January), CostData.Period(January, 2, 3, 2, 2m));

        // A disable cancels the run and records it (which discards its staging) while its replace is still on its way.
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(runId, CollectionRunOutcome.Abandoned, DateTimeOffset.UtcNow));
        var refused = await Assert.ThrowsAsync<StagingDiscardedException>(() =>
            Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-2", "etag-2", false)));

        Assert.Equal(runId, refused.Key.CollectionRunId);
        Assert.Equal(before, await SnapshotAsync(integrationId));
        Assert.False(await Database.Runs.IsIngestedAsync(integrationId, January, "assembly-2", "etag-2"));
    }

    [StorageFact]
    public async Task An_earlier_staging_attempt_still_writing_is_refused_and_the_period_is_stored_once()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var runId = await NewRunAsync(integrationId);
        var key = new StagingKey(runId, integrationId, January);
        var firstFile = CostData.Period(January, 2, 3, 2, 1m);
        var secondFile = CostData.Period(January, 2, 3, 2, 10m);

        // Attempt 1 stages the first file, then stalls past its heartbeat timeout; attempt 2 starts over and stages both.
        var attempt1 = await Database.Writer.BeginStagingAsync(key);
        await Database.Writer.StageAsync(attempt1, firstFile);
        var attempt2 = await Database.Writer.BeginStagingAsync(key);
        await Database.Writer.StageAsync(attempt2, firstFile);
        await Database.Writer.StageAsync(attempt2, secondFile);
        // Attempt 1 wakes up and goes on with the second file.
        await Assert.ThrowsAsync<StagingSupersededException>(() => Database.Writer.StageAsync(attempt1, secondFile));

        var result = await Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, "assembly-1", "etag-1", false));

        var expected = CostData.Total(firstFile.DailyPackageCosts) + CostData.Total(secondFile.DailyPackageCosts);
        Assert.Equal(expected, result.Totals);
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        Assert.Equal(expected, Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
        // After the replace, no attempt adds to what readers see.
        await Assert.ThrowsAsync<StagingSupersededException>(() => Database.Writer.StageAsync(attempt2, secondFile));
        Assert.Equal(expected, Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
    }

    [StorageFact]
    public async Task Concurrent_replaces_of_one_period_leave_exactly_one_version()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var versionA = CostData.Period(January, 6, 5, 10, 1m);
        var versionB = CostData.Period(January, 4, 7, 12, 3m);
        var runA = await NewRunAsync(integrationId);
        var runB = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runA, integrationId, January), versionA);
        await Database.Writer.StageAsync(new StagingKey(runB, integrationId, January), versionB);

        await Task.WhenAll(
            Task.Run(() => Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runA, integrationId, January, "a", "a", false))),
            Task.Run(() => Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runB, integrationId, January, "b", "b", false))));

        var period = Assert.Single(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        var winner = period.AssemblyId == "a" ? versionA : versionB;
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);
        Assert.Equal(CostData.Total(winner.DailyPackageCosts), Assert.Single(await Database.Reader.GetTotalsAsync(query)).Total);
        Assert.Equal(period.Totals, CostData.Total(winner.DailyPackageCosts));
        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        Assert.Equal(winner.DailyResourceCosts.Count, await context.DailyResourceCosts.CountAsync(c => c.IntegrationId == integrationId));
        Assert.Equal(winner.DailyPackageCosts.Count, await context.DailyPackageCosts.CountAsync(c => c.IntegrationId == integrationId));
    }

    [StorageFact]
    public async Task Amounts_are_exact_to_twelve_decimal_places_when_staged_replaced_and_summed()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var tiny = 0.000000000001m;
        var large = 12345678901234.5678901234m;
        var day = January.AddDays(4);
        DailyPackageCost Cost(string package, decimal amount) => new(day, package, "AmazonS3", "USD", new CostAmounts(amount, -amount, amount + tiny));
        DailyResourceCost Resource(string package, decimal amount) => new(day, package, "bucket-a", "AmazonS3", "USD", new CostAmounts(amount, -amount, amount + tiny));
        var packageCosts = new[] { Cost("exact", tiny), Cost("exact", large), Cost("exact", tiny), Cost(PackageNames.Untagged, large), Cost(PackageNames.Untagged, tiny) };
        var resourceCosts = new[] { Resource("exact", tiny), Resource("exact", large), Resource("exact", tiny) };
        var runId = await NewRunAsync(integrationId);
        var key = new StagingKey(runId, integrationId, January);
        await Database.Writer.StageAsync(key, packageCosts);
        await Database.Writer.StageAsync(key, resourceCosts);
        await Database.Writer.StageAsync(key, [new MonthlyPackageCost(January, "exact", "USD", new CostAmounts(large, tiny, large))]);
        await Database.Writer.StageAsync(key, [new MonthlyPackageCost(January, "exact", "USD", new CostAmounts(tiny, tiny, large))]);
        var result = await Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, January, "a", "e", true));

        var exactPackage = large + tiny + tiny; // 12345678901234.567890123402
        Assert.Equal(12345678901234.567890123402m, exactPackage);
        var expectedTotal = new CostAmounts(exactPackage + large + tiny, -(exactPackage + large + tiny), exactPackage + large + tiny + (5 * tiny));
        Assert.Equal(expectedTotal, result.Totals);

        var query = new CostQuery(organizationId, January, January.AddDays(30));
        var daily = await Database.Reader.GetDailyPackageCostsAsync(query with { Packages = ["exact"] });
        Assert.Equal(new CostAmounts(exactPackage, -exactPackage, exactPackage + (3 * tiny)), Assert.Single(daily).Cost);
        var totals = Assert.Single(await Database.Reader.GetTotalsAsync(query));
        Assert.Equal(expectedTotal, totals.Total);
        Assert.Equal(new CostAmounts(large + tiny, -(large + tiny), large + tiny + (2 * tiny)), totals.Untagged);
        var resource = Assert.Single(await Database.Reader.GetDailyResourceCostsAsync(query, "exact"));
        Assert.Equal(new CostAmounts(exactPackage, -exactPackage, exactPackage + (3 * tiny)), resource.Cost);
        var monthly = Assert.Single(await Database.Reader.GetMonthlyPackageCostsAsync(query));
        Assert.Equal(new CostAmounts(large + tiny, tiny + tiny, large + large), monthly.Cost);
    }

    [StorageFact]
    public async Task Every_query_is_scoped_to_the_callers_organization()
    {
        var (orgA, integrationA) = await NewIntegrationAsync();
        var (orgB, integrationB) = await NewIntegrationAsync();
        await StageAndReplaceAsync(integrationA, January, CostData.Period(January, 2, 2, 2, 1m), "a", "a");
        await StageAndReplaceAsync(integrationB, January, CostData.Period(January, 2, 2, 2, 4m), "b", "b");
        var runB = (await Database.Runs.ListAsync(orgB, integrationB))[0];

        var queryA = new CostQuery(orgA, January, January.AddDays(30));
        var totalA = CostData.Total(CostData.Period(January, 2, 2, 2, 1m).DailyPackageCosts);
        Assert.Equal(totalA, Assert.Single(await Database.Reader.GetTotalsAsync(queryA)).Total);
        Assert.Equal(totalA, (await Database.Reader.GetDailyPackageCostsAsync(queryA)).Aggregate(CostAmounts.Zero, (t, c) => t + c.Cost));
        Assert.Equal(totalA, (await Database.Reader.GetMonthlyPackageCostsAsync(queryA)).Aggregate(CostAmounts.Zero, (t, c) => t + c.Cost));
        var package = CostData.PackageName(1);
        Assert.Equal(
            CostData.Period(January, 2, 2, 2, 1m).DailyResourceCosts.Where(c => c.Package == package).Aggregate(CostAmounts.Zero, (t, c) => t + c.Cost),
            (await Database.Reader.GetDailyResourceCostsAsync(queryA, package)).Aggregate(CostAmounts.Zero, (t, c) => t + c.Cost));

        // Organization A asking for B's integration sees nothing, exactly as for an unknown id.
        var queryAForB = queryA with { IntegrationId = integrationB };
        Assert.Empty(await Database.Reader.GetTotalsAsync(queryAForB));
        Assert.Empty(await Database.Reader.GetDailyPackageCostsAsync(queryAForB));
        Assert.Empty(await Database.Reader.GetMonthlyPackageCostsAsync(queryAForB));
        Assert.Empty(await Database.Reader.GetDailyResourceCostsAsync(queryAForB, package));
        Assert.Null(await Database.Integrations.GetAsync(orgA, integrationB));
        Assert.Equal([integrationA], (await Database.Integrations.ListAsync(orgA)).Select(i => i.Id));
        Assert.Empty(await Database.Runs.ListAsync(orgA, integrationB));
        Assert.Null(await Database.Runs.GetAsync(orgA, runB.Id));
        Assert.NotNull(await Database.Runs.GetAsync(orgB, runB.Id));
        Assert.Empty(await Database.Runs.ListBillingPeriodsAsync(orgA, integrationB));
        Assert.False(await Database.Integrations.DisableAsync(orgA, integrationB));
        Assert.False(await Database.Integrations.DeleteCostDataAsync(orgA, integrationB));
        Assert.Equal(IntegrationStatus.Enabled, (await Database.Integrations.GetAsync(orgB, integrationB))!.Status);
        Assert.NotEmpty(await Database.Reader.GetTotalsAsync(new CostQuery(orgB, January, January.AddDays(30))));
        var keyB = await Database.Organizations.CreateApiKeyAsync(orgB, "b");
        Assert.False(await Database.Organizations.RevokeApiKeyAsync(orgA, keyB.KeyId));
        Assert.Equal(orgB, await Database.Organizations.AuthenticateAsync(keyB.Secret));
    }

    [StorageFact]
    public async Task Disable_keeps_cost_data_and_delete_cost_data_removes_it()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        await StageAndReplaceAsync(integrationId, January, CostData.Period(January, 2, 2, 2, 1m), "a", "a");
        var query = new CostQuery(organizationId, January, January.AddDays(30), integrationId);

        Assert.True(await Database.Integrations.DisableAsync(organizationId, integrationId));
        var disabled = await Database.Integrations.GetAsync(organizationId, integrationId);
        Assert.Equal(IntegrationStatus.Disabled, disabled!.Status);
        Assert.NotNull(disabled.DisabledAt);
        Assert.NotEmpty(await Database.Reader.GetTotalsAsync(query));

        Assert.True(await Database.Integrations.DeleteCostDataAsync(organizationId, integrationId));
        Assert.Empty(await Database.Reader.GetTotalsAsync(query));
        Assert.Empty(await Database.Reader.GetDailyResourceCostsAsync(query, CostData.PackageName(1)));
        Assert.Empty(await Database.Reader.GetMonthlyPackageCostsAsync(query));
        Assert.Empty(await Database.Runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.NotNull(await Database.Integrations.GetAsync(organizationId, integrationId));
    }

    [StorageFact]
    public async Task Enable_twice_returns_the_same_integration_and_never_exposes_the_external_id()
    {
        var organization = await Database.Organizations.CreateOrganizationAsync("acme");
        var request = new EnableIntegrationRequest(organization.Id, "arn:aws:iam::123456789012:role/cur-reader", "ext-secret-4711", "acme-cur");
        var first = await Database.Integrations.EnableAsync(request);
        await Database.Integrations.DisableAsync(organization.Id, first.Integration.Id);
        var second = await Database.Integrations.EnableAsync(request with { ExternalId = "ext-secret-4712" });

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.Integration.Id, second.Integration.Id);
        Assert.Equal(IntegrationStatus.Enabled, second.Integration.Status);
        Assert.Equal(("massdriver-costs", "user:md-package"), (second.Integration.ReportName, second.Integration.TagKey));
        Assert.Single(await Database.Integrations.ListAsync(organization.Id));
        var settings = await Database.Integrations.GetCollectionSettingsAsync(first.Integration.Id);
        Assert.Equal("ext-secret-4712", settings!.ExternalId);

        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        var entity = await context.Integrations.SingleAsync(i => i.Id == first.Integration.Id);
        foreach (var text in new[]
                 {
                     JsonSerializer.Serialize(second.Integration), JsonSerializer.Serialize(entity), entity.ToString(), second.ToString(),
                     settings.ToString(), request.ToString(),
                 })
        {
            Assert.DoesNotContain("ext-secret", text, StringComparison.Ordinal);
        }
    }

    [StorageFact]
    public async Task Runs_are_recorded_idempotently_and_listed_newest_first()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var start = new DateTimeOffset(2026, 3, 1, 6, 0, 0, TimeSpan.Zero);
        var first = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, $"wf-{integrationId}-1", "run-1", start));
        var retried = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, $"wf-{integrationId}-1", "run-1", start));
        var second = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, $"wf-{integrationId}-2", "run-2", start.AddDays(1)));
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(
            first.Id, CollectionRunOutcome.Failed, start.AddMinutes(1), "access_denied", "role refused", Files: 1));
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(
            second.Id, CollectionRunOutcome.Succeeded, start.AddDays(1).AddMinutes(3), PeriodsIngested: 2, Rows: 1000, Bytes: 4096, Totals: new CostAmounts(1.5m, 1.25m, 1.75m)));

        Assert.Equal(first.Id, retried.Id);
        var runs = await Database.Runs.ListAsync(organizationId, integrationId);
        Assert.Equal([second.Id, first.Id], runs.Select(r => r.Id));
        Assert.Equal((CollectionRunOutcome.Succeeded, 2, 1000L, new CostAmounts(1.5m, 1.25m, 1.75m)), (runs[0].Outcome, runs[0].PeriodsIngested, runs[0].Rows, runs[0].Totals));
        Assert.Equal((CollectionRunOutcome.Failed, "access_denied"), (runs[1].Outcome, runs[1].ErrorCode));
    }

    [StorageFact]
    public async Task The_outcomes_of_runs_are_read_by_id_in_chunks_and_unknown_ids_are_left_out()
    {
        var (_, integrationId) = await NewIntegrationAsync();
        var start = DateTimeOffset.UtcNow;
        var ended = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, $"wf-{integrationId}-ended", "r1", start));
        var running = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, $"wf-{integrationId}-running", "r2", start));
        await Database.Runs.CompleteAsync(new CompleteCollectionRunRequest(ended.Id, CollectionRunOutcome.Failed, start.AddMinutes(1), "report_malformed"));
        // More ids than one query takes (500), the known ones last.
        List<Guid> ids = [.. Enumerable.Range(0, 1200).Select(_ => Guid.NewGuid()), ended.Id, running.Id];

        var outcomes = await Database.Runs.GetOutcomesAsync(ids);

        Assert.Equal(2, outcomes.Count);
        Assert.Equal(CollectionRunOutcome.Failed, outcomes[ended.Id]);
        Assert.Equal(CollectionRunOutcome.Running, outcomes[running.Id]);
    }

    [StorageFact]
    public async Task Stale_staging_is_swept_and_fresh_staging_is_kept()
    {
        var (_, integrationId) = await NewIntegrationAsync();
        var runId = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runId, integrationId, January), CostData.Period(January, 1, 2, 2, 1m));
        // Tests of a class run one after another and all staging in this database is minutes old.
        Assert.Equal(0, await Database.Writer.SweepStaleStagingAsync(TimeSpan.FromHours(1)));
        Assert.True(await CountStagingAsync(runId) > 0);

        // Everything staged before "now + 1 minute" counts as stale.
        await Database.Writer.SweepStaleStagingAsync(TimeSpan.FromMinutes(-1));
        Assert.Equal(0, await CountStagingAsync(runId));
    }

    [StorageFact]
    public async Task Api_keys_authenticate_until_revoked_and_only_hashes_are_stored()
    {
        var organization = await Database.Organizations.CreateOrganizationAsync("keys");
        var key = await Database.Organizations.CreateApiKeyAsync(organization.Id, "ci");

        Assert.Equal(organization.Id, await Database.Organizations.AuthenticateAsync(key.Secret));
        Assert.Null(await Database.Organizations.AuthenticateAsync(key.Secret + "x"));
        Assert.Null(await Database.Organizations.AuthenticateAsync("cwk_" + key.KeyId + "_wrong"));
        Assert.Null(await Database.Organizations.AuthenticateAsync("garbage"));
        await using (var context = await Database.ContextFactory.CreateDbContextAsync())
        {
            var stored = await context.ApiKeys.SingleAsync(k => k.KeyId == key.KeyId);
            Assert.Equal(32, stored.SecretHash.Length);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.Secret)), stored.SecretHash);
        }

        Assert.True(await Database.Organizations.RevokeApiKeyAsync(organization.Id, key.KeyId));
        Assert.Null(await Database.Organizations.AuthenticateAsync(key.Secret));
        Assert.NotNull(Assert.Single(await Database.Organizations.ListApiKeysAsync(organization.Id)).RevokedAt);
    }

    [StorageFact]
    public async Task The_cost_data_version_changes_with_every_replace_even_one_that_commits_an_earlier_ingestion_time()
    {
        var (organizationId, first) = await NewIntegrationAsync();
        var second = (await Database.Integrations.EnableAsync(new EnableIntegrationRequest(
            organizationId, "arn:aws:iam::123456789012:role/cur", "external", "bucket-" + Guid.NewGuid().ToString("N")[..8]))).Integration.Id;
        var batch = CostData.Period(January, days: 2, packages: 2, resourcesPerPackage: 2, factor: 1m);
        await StageAndReplaceAsync(first, January, batch, "a-1", "e-1");
        await StageAndReplaceAsync(second, January, batch, "b-1", "e-1");
        var versions = new CostDataVersions(Database.ContextFactory);
        var before = await versions.GetAsync(organizationId);

        // Two replaces at once: the first integration's took its time before the second's, and committed after it.
        await using (var context = await Database.ContextFactory.CreateDbContextAsync())
        {
            var earlier = await context.BillingPeriods.Where(p => p.IntegrationId == first).Select(p => p.IngestedAt).SingleAsync();
            await StageAndReplaceAsync(first, January, CostData.Period(January, days: 2, packages: 2, resourcesPerPackage: 2, factor: 3m), "a-2", "e-2");
            await context.BillingPeriods.Where(p => p.IntegrationId == first).ExecuteUpdateAsync(u => u.SetProperty(p => p.IngestedAt, earlier));
        }

        var after = await versions.GetAsync(organizationId);
        Assert.Equal((before.BillingPeriods, before.LastIngestedAt), (after.BillingPeriods, after.LastIngestedAt));
        Assert.NotEqual(before, after);
        Assert.Equal(after, await versions.GetAsync(organizationId));
    }

    protected async Task<(Guid OrganizationId, Guid IntegrationId)> NewIntegrationAsync()
    {
        var organization = await Database.Organizations.CreateOrganizationAsync("org-" + Guid.NewGuid().ToString("N")[..8]);
        var enabled = await Database.Integrations.EnableAsync(new EnableIntegrationRequest(
            organization.Id, "arn:aws:iam::123456789012:role/cur", "external", "bucket-" + Guid.NewGuid().ToString("N")[..8]));
        return (organization.Id, enabled.Integration.Id);
    }

    protected async Task<Guid> NewRunAsync(Guid integrationId)
    {
        var run = await Database.Runs.StartAsync(new StartCollectionRunRequest(integrationId, "wf-" + Guid.NewGuid().ToString("N"), "r", DateTimeOffset.UtcNow));
        return run.Id;
    }

    protected async Task<ReplaceBillingPeriodResult> StageAndReplaceAsync(
        Guid integrationId, DateOnly period, CostAggregateBatch batch, string assemblyId, string etag, bool isFinal = false)
    {
        var runId = await NewRunAsync(integrationId);
        await Database.Writer.StageAsync(new StagingKey(runId, integrationId, period), batch);
        return await Database.Writer.ReplaceBillingPeriodAsync(new ReplaceBillingPeriodRequest(runId, integrationId, period, assemblyId, etag, isFinal));
    }

    private sealed class MessageLogger : ILogger<CostWriter>
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }

    /// <summary>Every cost row readers see and every billing period of the integration (optionally one period), with ids.</summary>
    private async Task<string> SnapshotAsync(Guid integrationId, DateOnly? period = null)
    {
        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        var p = period ?? DateOnly.MinValue;
        var all = period is null;
        var daily = await context.ActiveDailyPackageCosts.AsNoTracking().Where(c => c.IntegrationId == integrationId && (all || c.BillingPeriod == p)).OrderBy(c => c.Id)
            .Select(c => new { c.Id, c.UsageDate, c.Package, c.ProductCode, c.Currency, c.Unblended, c.NetUnblended, c.Amortized }).ToListAsync();
        var resources = await context.ActiveDailyResourceCosts.AsNoTracking().Where(c => c.IntegrationId == integrationId && (all || c.BillingPeriod == p)).OrderBy(c => c.Id)
            .Select(c => new { c.Id, c.UsageDate, c.Package, c.ResourceId, c.Currency, c.Unblended, c.NetUnblended, c.Amortized }).ToListAsync();
        var monthly = await context.ActiveMonthlyPackageCosts.AsNoTracking().Where(c => c.IntegrationId == integrationId && (all || c.BillingPeriod == p)).OrderBy(c => c.Id)
            .Select(c => new { c.Id, c.Month, c.Package, c.Currency, c.Unblended, c.NetUnblended, c.Amortized }).ToListAsync();
        var periods = await context.BillingPeriods.AsNoTracking().Where(b => b.IntegrationId == integrationId && (all || b.PeriodStart == p)).OrderBy(b => b.PeriodStart)
            .Select(b => new { b.PeriodStart, b.AssemblyId, b.ManifestETag, b.IsFinal, b.Unblended, b.CollectionRunId, b.AggregateRows }).ToListAsync();
        Assert.NotEmpty(daily);
        return JsonSerializer.Serialize(new { daily, resources, monthly, periods });
    }

    /// <summary>The run's rows readers do not see (its staging) plus its generation markers.</summary>
    protected async Task<int> CountStagingAsync(Guid runId)
    {
        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        return await context.DailyPackageCosts.CountAsync(c => c.CollectionRunId == runId) - await context.ActiveDailyPackageCosts.CountAsync(c => c.CollectionRunId == runId)
            + await context.DailyResourceCosts.CountAsync(c => c.CollectionRunId == runId) - await context.ActiveDailyResourceCosts.CountAsync(c => c.CollectionRunId == runId)
            + await context.MonthlyPackageCosts.CountAsync(c => c.CollectionRunId == runId) - await context.ActiveMonthlyPackageCosts.CountAsync(c => c.CollectionRunId == runId)
            + await context.CostGenerations.CountAsync(g => g.CollectionRunId == runId);
    }

    /// <summary>All cost rows of the integration, visible or not.</summary>
    private async Task<(int All, int Visible)> CountRowsAsync(Guid integrationId)
    {
        await using var context = await Database.ContextFactory.CreateDbContextAsync();
        var all = await context.DailyPackageCosts.CountAsync(c => c.IntegrationId == integrationId)
            + await context.DailyResourceCosts.CountAsync(c => c.IntegrationId == integrationId)
            + await context.MonthlyPackageCosts.CountAsync(c => c.IntegrationId == integrationId);
        var visible = await context.ActiveDailyPackageCosts.CountAsync(c => c.IntegrationId == integrationId)
            + await context.ActiveDailyResourceCosts.CountAsync(c => c.IntegrationId == integrationId)
            + await context.ActiveMonthlyPackageCosts.CountAsync(c => c.IntegrationId == integrationId);
        return (all, visible);
    }

    private sealed class InjectedFailureException(string message) : Exception(message);

    private sealed class FailOnCommandInterceptor(string commandStart) : DbCommandInterceptor
    {
        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
            command.CommandText.TrimStart().StartsWith(commandStart, StringComparison.Ordinal)
                ? throw new InjectedFailureException("Injected failure in the middle of a replace.")
                : ValueTask.FromResult(result);
    }

    private sealed class CancelOnCommandInterceptor(string commandStart, CancellationTokenSource cancellation) : DbCommandInterceptor
    {
        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.TrimStart().StartsWith(commandStart, StringComparison.Ordinal))
            {
                cancellation.Cancel();
            }

            return ValueTask.FromResult(result);
        }
    }
}

public sealed class SqliteStorageTests(SqliteDatabase database)
    : StorageBehaviourTests<SqliteDatabase>(database), IClassFixture<SqliteDatabase>;

[RequiresPostgreSql]
public sealed class PostgreSqlStorageTests(PostgreSqlDatabase database)
    : StorageBehaviourTests<PostgreSqlDatabase>(database), IClassFixture<PostgreSqlDatabase>
{
    // SQLite has one writer at a time: a deletion cannot land between a chunk's check and its write there.
    [StorageFact]
    public async Task Deleting_cost_data_waits_for_a_staging_chunk_in_flight_and_leaves_no_row_behind()
    {
        var (organizationId, integrationId) = await NewIntegrationAsync();
        var runId = await NewRunAsync(integrationId);
        var key = new StagingKey(runId, integrationId, CostData.January);
        var pause = new PauseAfterMarkerCheck();
        var writer = Database.CreateWriter(options => options.AddInterceptors(pause));
        var token = await Database.Writer.BeginStagingAsync(key);
        var staging = writer.StageAsync(token, CostData.Period(CostData.January, days: 2, packages: 2, resourcesPerPackage: 2, factor: 1m));
        await pause.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The chunk has checked its marker and holds the integration's lock (shared) until it commits.
        var deleting = Database.Integrations.DeleteCostDataAsync(organizationId, integrationId);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(deleting.IsCompleted, "the deletion did not wait for the chunk in flight");
        pause.Proceed.TrySetResult();
        Assert.True(await deleting);
        Assert.IsType<StagingSupersededException>(await Record.ExceptionAsync(() => staging));

        Assert.Equal(0, await CountStagingAsync(runId));
    }

    /// <summary>Holds the first staging chunk right after it found its generation's marker.</summary>
    private sealed class PauseAfterMarkerCheck : DbCommandInterceptor
    {
        private int seen;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Proceed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<DbDataReader> ReaderExecutedAsync(
            DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("cost_generations", StringComparison.Ordinal) && command.CommandText.Contains("created_at", StringComparison.Ordinal)
                && Interlocked.Increment(ref seen) == 1)
            {
                Reached.TrySetResult();
                await Proceed.Task;
            }

            return result;
        }
    }
}
