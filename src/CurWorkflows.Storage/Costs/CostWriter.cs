using System.Runtime.CompilerServices;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// The write path of cost data: stage aggregates of a run in bulk, then replace one integration's billing period
/// with them in one transaction; clean up staging of failed or abandoned runs.
/// </summary>
public sealed partial class CostWriter(
    IDbContextFactory<CurWorkflowsDbContext> contextFactory,
    IOptions<StorageOptions> options,
    TimeProvider timeProvider,
    ILogger<CostWriter> logger)
{
    private const string MixedCurrencies = "*";

    private readonly int _batchSize = options.Value.StagingBatchSize;

    public Task<long> StageAsync(StagingKey key, IAsyncEnumerable<DailyPackageCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.DailyPackage, Flatten(costs, FlatCost.From, cancellationToken), cancellationToken);

    public Task<long> StageAsync(StagingKey key, IAsyncEnumerable<DailyResourceCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.DailyResource, Flatten(costs, FlatCost.From, cancellationToken), cancellationToken);

    public Task<long> StageAsync(StagingKey key, IAsyncEnumerable<MonthlyPackageCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.MonthlyPackage, Flatten(costs, FlatCost.From, cancellationToken), cancellationToken);

    public Task<long> StageAsync(StagingKey key, IEnumerable<DailyPackageCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.DailyPackage, Flatten(costs, FlatCost.From), cancellationToken);

    public Task<long> StageAsync(StagingKey key, IEnumerable<DailyResourceCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.DailyResource, Flatten(costs, FlatCost.From), cancellationToken);

    public Task<long> StageAsync(StagingKey key, IEnumerable<MonthlyPackageCost> costs, CancellationToken cancellationToken = default) =>
        StageFlatAsync(key, CostTable.MonthlyPackage, Flatten(costs, FlatCost.From), cancellationToken);

    /// <summary>Stages all three views of a batch. Safe to call once per file of a period: reads sum rows with the same key.</summary>
    public async Task<long> StageAsync(StagingKey key, CostAggregateBatch batch, CancellationToken cancellationToken = default)
    {
        var rows = await StageAsync(key, batch.DailyPackageCosts, cancellationToken);
        rows += await StageAsync(key, batch.DailyResourceCosts, cancellationToken);
        rows += await StageAsync(key, batch.MonthlyPackageCosts, cancellationToken);
        return rows;
    }

    /// <summary>
    /// Replaces all of the integration's cost rows of the billing period with the run's staged rows
    /// and records the billing period, in one transaction; then drops those staging rows. If the same assemblyId and
    /// ETag are already stored, nothing changes.
    /// </summary>
    public async Task<ReplaceBillingPeriodResult> ReplaceBillingPeriodAsync(ReplaceBillingPeriodRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.AssemblyId);
        ArgumentNullException.ThrowIfNull(request.ManifestETag);
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        var database = context.Database;

        // Serializes replaces of the same integration (SQLite transactions already are: BEGIN IMMEDIATE).
        var organizationId = await LockIntegrationAsync(context, request.IntegrationId, cancellationToken);
        var existing = await context.BillingPeriods
            .SingleOrDefaultAsync(p => p.IntegrationId == request.IntegrationId && p.PeriodStart == request.BillingPeriod, cancellationToken);
        var key = new StagingKey(request.CollectionRunId, request.IntegrationId, request.BillingPeriod);

        if (existing is not null && existing.AssemblyId == request.AssemblyId && existing.ManifestETag == request.ManifestETag)
        {
            await DeleteStagingAsync(database, key, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            LogUnchanged(logger, request.IntegrationId, request.BillingPeriod, request.AssemblyId);
            return new ReplaceBillingPeriodResult(ReplaceOutcome.Unchanged, 0, 0, 0, existing.Currency, new CostAmounts(existing.Unblended, existing.NetUnblended, existing.Amortized));
        }

        var counts = new long[CostTable.All.Count];
        for (var i = 0; i < CostTable.All.Count; i++)
        {
            var table = CostTable.All[i];
            await database.ExecuteSqlRawAsync(
                table.DeleteLiveSql, [request.IntegrationId, request.BillingPeriod], cancellationToken);
            counts[i] = await database.ExecuteSqlRawAsync(
                table.InsertFromStagingSql,
                [organizationId, request.CollectionRunId, request.IntegrationId, request.BillingPeriod],
                cancellationToken);
        }

        var totalsByCurrency = await context.DailyPackageCosts
            .Where(c => c.IntegrationId == request.IntegrationId && c.BillingPeriod == request.BillingPeriod)
            .GroupBy(c => c.Currency)
            .Select(g => new { Currency = g.Key, Unblended = g.Sum(c => c.Unblended), NetUnblended = g.Sum(c => c.NetUnblended), Amortized = g.Sum(c => c.Amortized) })
            .ToListAsync(cancellationToken);
        var totals = totalsByCurrency.Aggregate(CostAmounts.Zero, (total, t) => total + new CostAmounts(t.Unblended, t.NetUnblended, t.Amortized));
        var currency = totalsByCurrency.Count switch
        {
            0 => "",
            1 => totalsByCurrency[0].Currency,
            _ => MixedCurrencies,
        };

        var period = existing ?? context.BillingPeriods.Add(new BillingPeriod
        {
            IntegrationId = request.IntegrationId,
            PeriodStart = request.BillingPeriod,
            AssemblyId = request.AssemblyId,
            ManifestETag = request.ManifestETag,
        }).Entity;
        period.OrganizationId = organizationId;
        period.AssemblyId = request.AssemblyId;
        period.ManifestETag = request.ManifestETag;
        period.IsFinal = request.IsFinal;
        period.Currency = currency;
        period.Unblended = totals.Unblended;
        period.NetUnblended = totals.NetUnblended;
        period.Amortized = totals.Amortized;
        period.LineItemRows = request.LineItemRows;
        period.AggregateRows = counts.Sum();
        period.IngestedAt = timeProvider.GetUtcNow();
        period.CollectionRunId = request.CollectionRunId;
        await context.SaveChangesAsync(cancellationToken);

        await DeleteStagingAsync(database, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var outcome = existing is null ? ReplaceOutcome.Inserted : ReplaceOutcome.Replaced;
        LogReplaced(logger, request.IntegrationId, request.BillingPeriod, request.AssemblyId, outcome, period.AggregateRows);
        return new ReplaceBillingPeriodResult(outcome, counts[0], counts[1], counts[2], currency, totals);
    }

    /// <summary>Drops every staging row of a run (call at the end of a run, whatever its outcome).</summary>
    public async Task<int> DiscardStagingAsync(Guid collectionRunId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await context.StagedDailyPackageCosts.Where(c => c.CollectionRunId == collectionRunId).ExecuteDeleteAsync(cancellationToken);
        deleted += await context.StagedDailyResourceCosts.Where(c => c.CollectionRunId == collectionRunId).ExecuteDeleteAsync(cancellationToken);
        deleted += await context.StagedMonthlyPackageCosts.Where(c => c.CollectionRunId == collectionRunId).ExecuteDeleteAsync(cancellationToken);
        return deleted;
    }

    /// <summary>Drops staging rows written before now minus <paramref name="olderThan"/> (abandoned runs).</summary>
    public async Task<int> SweepStaleStagingAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        var cutoff = timeProvider.GetUtcNow() - olderThan;
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var deleted = await context.StagedDailyPackageCosts.Where(c => c.StagedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        deleted += await context.StagedDailyResourceCosts.Where(c => c.StagedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        deleted += await context.StagedMonthlyPackageCosts.Where(c => c.StagedAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0)
        {
            LogSwept(logger, deleted, cutoff);
        }

        return deleted;
    }

    private static async Task<Guid> LockIntegrationAsync(CurWorkflowsDbContext context, Guid integrationId, CancellationToken cancellationToken)
    {
        var query = context.Provider switch
        {
            StorageProvider.PostgreSql => context.Integrations.FromSqlRaw("SELECT * FROM integrations WHERE id = {0} FOR UPDATE", integrationId),
            StorageProvider.SqlServer => context.Integrations.FromSqlRaw("SELECT * FROM integrations WITH (UPDLOCK, HOLDLOCK) WHERE id = {0}", integrationId),
            _ => context.Integrations.Where(i => i.Id == integrationId),
        };
        var organizationIds = await query.AsNoTracking().Select(i => i.OrganizationId).ToListAsync(cancellationToken);
        return organizationIds.Count == 1
            ? organizationIds[0]
            : throw new InvalidOperationException($"Integration {integrationId} does not exist.");
    }

    private static async Task DeleteStagingAsync(Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade database, StagingKey key, CancellationToken cancellationToken)
    {
        foreach (var table in CostTable.All)
        {
            await database.ExecuteSqlRawAsync(
                table.DeleteStagingSql, [key.CollectionRunId, key.IntegrationId, key.BillingPeriod], cancellationToken);
        }
    }

    private async Task<long> StageFlatAsync(StagingKey key, CostTable table, IAsyncEnumerable<FlatCost> rows, CancellationToken cancellationToken)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await context.Database.OpenConnectionAsync(cancellationToken);
        var stagedAt = timeProvider.GetUtcNow();
        var chunk = new List<FlatCost>(Math.Min(_batchSize, 65_536));
        long total = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            chunk.Add(row);
            if (chunk.Count >= _batchSize)
            {
                await BulkStaging.WriteAsync(context, table, key, chunk, stagedAt, cancellationToken);
                total += chunk.Count;
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await BulkStaging.WriteAsync(context, table, key, chunk, stagedAt, cancellationToken);
            total += chunk.Count;
        }

        return total;
    }

    private static async IAsyncEnumerable<FlatCost> Flatten<T>(
        IAsyncEnumerable<T> source, Func<T, FlatCost> flatten, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in source.WithCancellation(cancellationToken))
        {
            yield return flatten(item);
        }
    }

    private static IAsyncEnumerable<FlatCost> Flatten<T>(IEnumerable<T> source, Func<T, FlatCost> flatten) =>
        source.Select(flatten).ToAsyncEnumerable();

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period} of integration {IntegrationId}: assembly {AssemblyId} already stored, unchanged")]
    private static partial void LogUnchanged(ILogger logger, Guid integrationId, DateOnly period, string assemblyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period} of integration {IntegrationId}: assembly {AssemblyId} {Outcome}, {Rows} aggregate rows")]
    private static partial void LogReplaced(ILogger logger, Guid integrationId, DateOnly period, string assemblyId, ReplaceOutcome outcome, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Swept {Rows} stale staging rows written before {Cutoff}")]
    private static partial void LogSwept(ILogger logger, int rows, DateTimeOffset cutoff);
}
