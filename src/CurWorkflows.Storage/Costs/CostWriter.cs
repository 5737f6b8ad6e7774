using System.Runtime.CompilerServices;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// The write path of cost data. A run bulk-writes its aggregates straight into the cost tables under its own id (a
/// generation, invisible to readers, who only see each billing period's active run); the replace makes the run the
/// period's active one in a short transaction (a swap, not a copy), and the superseded generation is deleted after the
/// commit. Generations of failed or abandoned runs are deleted at the end of the run or by the sweep.
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
    /// Starts staging a period over (one attempt of a run's staging): drops what the run staged for it before and
    /// registers the generation anew, under the integration's lock. Returns the attempt's token for
    /// <see cref="StageAsync(StagingToken, CostAggregateBatch, CancellationToken)"/>: a later start makes it
    /// stale, so that an earlier attempt still writing (timed out, cut off from the orchestrator) cannot add its rows
    /// beside the new attempt's.
    /// </summary>
    public async Task<StagingToken> BeginStagingAsync(StagingKey key, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        await LockIntegrationAsync(context, key.IntegrationId, cancellationToken);
        await DeleteGenerationAsync(context.Database, key, cancellationToken);
        await ThrowIfAlreadyReplacedAsync(context, key, cancellationToken);

        // The marker's creation time is the attempt's token; read back as stored (PostgreSQL keeps microseconds). Two
        // starts serialized by the lock are milliseconds apart at least.
        context.CostGenerations.Add(new CostGeneration
        {
            CollectionRunId = key.CollectionRunId,
            IntegrationId = key.IntegrationId,
            BillingPeriod = key.BillingPeriod,
            CreatedAt = timeProvider.GetUtcNow(),
        });
        await context.SaveChangesAsync(cancellationToken);
        var createdAt = await context.CostGenerations.AsNoTracking()
            .Where(g => g.CollectionRunId == key.CollectionRunId && g.IntegrationId == key.IntegrationId && g.BillingPeriod == key.BillingPeriod)
            .Select(g => g.CreatedAt)
            .SingleAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new StagingToken(key, createdAt);
    }

    /// <summary>Stages a batch for the attempt that holds <paramref name="token"/> (its run and period); each chunk is
    /// written only while the token is current, else <see cref="StagingSupersededException"/>.</summary>
    public async Task<long> StageAsync(StagingToken token, CostAggregateBatch batch, CancellationToken cancellationToken = default)
    {
        var key = token.Key;
        var rows = await StageFlatAsync(key, CostTable.DailyPackage, Flatten(batch.DailyPackageCosts, FlatCost.From), cancellationToken, token);
        rows += await StageFlatAsync(key, CostTable.DailyResource, Flatten(batch.DailyResourceCosts, FlatCost.From), cancellationToken, token);
        rows += await StageFlatAsync(key, CostTable.MonthlyPackage, Flatten(batch.MonthlyPackageCosts, FlatCost.From), cancellationToken, token);
        return rows;
    }

    /// <summary>
    /// Makes the run's staged rows the integration's billing period and records the period, in one short transaction
    /// (the rows are already in place: only the period's active run, totals and ingested_at change); then deletes the
    /// superseded generation, which readers no longer see. If the same assemblyId and ETag are already stored, nothing
    /// changes and the run's staged rows are dropped.
    /// </summary>
    public async Task<ReplaceBillingPeriodResult> ReplaceBillingPeriodAsync(ReplaceBillingPeriodRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.AssemblyId);
        ArgumentNullException.ThrowIfNull(request.ManifestETag);
        var key = new StagingKey(request.CollectionRunId, request.IntegrationId, request.BillingPeriod);
        ReplaceBillingPeriodResult result;
        Guid? superseded = null;
        await using (var context = await contextFactory.CreateDbContextAsync(cancellationToken))
        {
            await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);

            // Serializes replaces of the same integration (SQLite transactions already are: BEGIN IMMEDIATE).
            var organizationId = await LockIntegrationAsync(context, request.IntegrationId, cancellationToken);
            var existing = await context.BillingPeriods
                .SingleOrDefaultAsync(p => p.IntegrationId == request.IntegrationId && p.PeriodStart == request.BillingPeriod, cancellationToken);

            // The same manifest stored by this very run is its own replace, applied by an earlier attempt whose completion
            // was lost: answered as that attempt was (below), not as "unchanged", which would make the run report the
            // period as skipped.
            var sameManifestStored = existing is not null && existing.AssemblyId == request.AssemblyId && existing.ManifestETag == request.ManifestETag
                ? existing
                : null;
            var appliedEarlier = sameManifestStored?.CollectionRunId == request.CollectionRunId;
            if (sameManifestStored is not null && !appliedEarlier)
            {
                await transaction.CommitAsync(cancellationToken);
                // The run's rows are not needed (the guard of the delete keeps whatever is active).
                await DeleteGenerationAsync(context.Database, key, cancellationToken);
                LogUnchanged(logger, request.IntegrationId, request.BillingPeriod, request.AssemblyId);
                return new ReplaceBillingPeriodResult(
                    ReplaceOutcome.Unchanged, 0, 0, 0, sameManifestStored.Currency, new CostAmounts(sameManifestStored.Unblended, sameManifestStored.NetUnblended, sameManifestStored.Amortized));
            }

            var run = request.CollectionRunId;
            if (!appliedEarlier && !await context.CostGenerations.AnyAsync(
                    g => g.CollectionRunId == run && g.IntegrationId == request.IntegrationId && g.BillingPeriod == request.BillingPeriod && g.SupersededAt == null,
                    cancellationToken))
            {
                // The run's staging was discarded (its run ended: disabled, cancelled, timed out) while this replace waited
                // for the lock. Going on would make an empty or partial generation the period's data.
                throw new StagingDiscardedException(key);
            }

            var dailyPackageRows = await context.DailyPackageCosts
                .LongCountAsync(c => c.CollectionRunId == run && c.BillingPeriod == request.BillingPeriod && c.IntegrationId == request.IntegrationId, cancellationToken);
            var dailyResourceRows = await context.DailyResourceCosts
                .LongCountAsync(c => c.CollectionRunId == run && c.BillingPeriod == request.BillingPeriod && c.IntegrationId == request.IntegrationId, cancellationToken);
            var monthlyPackageRows = await context.MonthlyPackageCosts
                .LongCountAsync(c => c.CollectionRunId == run && c.BillingPeriod == request.BillingPeriod && c.IntegrationId == request.IntegrationId, cancellationToken);
            var totalsByCurrency = await context.DailyPackageCosts
                .Where(c => c.CollectionRunId == run && c.BillingPeriod == request.BillingPeriod && c.IntegrationId == request.IntegrationId)
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

            if (appliedEarlier)
            {
                await transaction.CommitAsync(cancellationToken);
                LogAppliedEarlier(logger, request.IntegrationId, request.BillingPeriod, request.AssemblyId);
                return new ReplaceBillingPeriodResult(ReplaceOutcome.AppliedEarlier, dailyPackageRows, dailyResourceRows, monthlyPackageRows, currency, totals);
            }

            var now = timeProvider.GetUtcNow();
            if (existing is not null && existing.CollectionRunId != run)
            {
                superseded = existing.CollectionRunId;
            }

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
            period.AggregateRows = dailyPackageRows + dailyResourceRows + monthlyPackageRows;
            period.IngestedAt = now;
            period.CollectionRunId = run;
            await context.SaveChangesAsync(cancellationToken);

            // The run's generation is now the active one; the one it replaces is marked so that, should the deletion
            // below never happen (crash), the next sweep deletes it.
            await context.Database.ExecuteSqlRawAsync(
                "DELETE FROM cost_generations WHERE collection_run_id = {0} AND integration_id = {1} AND billing_period = {2}",
                [run, request.IntegrationId, request.BillingPeriod],
                cancellationToken);
            if (superseded is { } previousRun)
            {
                var marker = await context.CostGenerations.SingleOrDefaultAsync(
                    g => g.CollectionRunId == previousRun && g.IntegrationId == request.IntegrationId && g.BillingPeriod == request.BillingPeriod, cancellationToken);
                if (marker is null)
                {
                    context.CostGenerations.Add(new CostGeneration
                    {
                        CollectionRunId = previousRun,
                        IntegrationId = request.IntegrationId,
                        BillingPeriod = request.BillingPeriod,
                        CreatedAt = now,
                        SupersededAt = now,
                    });
                }
                else
                {
                    marker.SupersededAt = now;
                }

                await context.SaveChangesAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);

            var outcome = existing is null ? ReplaceOutcome.Inserted : ReplaceOutcome.Replaced;
            LogReplaced(logger, request.IntegrationId, request.BillingPeriod, request.AssemblyId, outcome, period.AggregateRows);
            result = new ReplaceBillingPeriodResult(outcome, dailyPackageRows, dailyResourceRows, monthlyPackageRows, currency, totals);
        }

        if (superseded is { } supersededRun)
        {
            // After the commit: readers already see the new generation only. A failure here changes no answer; the
            // generation stays marked superseded and the next sweep deletes it.
            try
            {
                await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
                var deleted = await DeleteGenerationAsync(context.Database, key with { CollectionRunId = supersededRun }, cancellationToken);
                LogSupersededDeleted(logger, request.IntegrationId, request.BillingPeriod, deleted);
                result = result with { SupersededRowsDeleted = deleted };
            }
            catch (Exception e)
            {
                // Whatever went wrong, the replace itself is committed: report it as done.
                LogSupersededLeft(logger, request.IntegrationId, request.BillingPeriod, e);
            }
        }

        return result;
    }

    /// <summary>Drops every staged (not active) row of a run (call at the end of a run, whatever its outcome).</summary>
    public async Task<long> DiscardStagingAsync(Guid collectionRunId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var generations = await context.CostGenerations.AsNoTracking()
            .Where(g => g.CollectionRunId == collectionRunId)
            .Select(g => new StagingKey(g.CollectionRunId, g.IntegrationId, g.BillingPeriod))
            .ToListAsync(cancellationToken);
        long deleted = 0;
        foreach (var generation in generations)
        {
            deleted += await DeleteGenerationLockedAsync(context, generation, cancellationToken);
        }

        return deleted;
    }

    /// <summary>Drops the run's staged rows of one period, unless they are the period's active rows already.</summary>
    public async Task<long> DiscardStagingAsync(StagingKey key, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await DeleteGenerationLockedAsync(context, key, cancellationToken);
    }

    /// <summary>
    /// <see cref="DeleteGenerationAsync"/> in one transaction that holds the integration's lock, as a replace does: a
    /// replace waiting for it then finds the generation gone (marker and rows) and refuses, instead of finding part of it.
    /// </summary>
    private static async Task<long> DeleteGenerationLockedAsync(CurWorkflowsDbContext context, StagingKey key, CancellationToken cancellationToken)
    {
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        // The generations of an integration deleted since have no lock to take.
        if (await context.Integrations.AsNoTracking().AnyAsync(i => i.Id == key.IntegrationId, cancellationToken))
        {
            await LockIntegrationAsync(context, key.IntegrationId, cancellationToken);
        }

        var deleted = await DeleteGenerationAsync(context.Database, key, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    /// <summary>
    /// Drops superseded generations (left by a replace interrupted after its commit) and staging started before now
    /// minus <paramref name="olderThan"/> (abandoned runs). Never touches an active generation.
    /// </summary>
    public async Task<long> SweepStaleStagingAsync(TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        var cutoff = timeProvider.GetUtcNow() - olderThan;
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var generations = await context.CostGenerations.AsNoTracking()
            .Where(g => g.SupersededAt != null || g.CreatedAt < cutoff)
            .Select(g => new StagingKey(g.CollectionRunId, g.IntegrationId, g.BillingPeriod))
            .ToListAsync(cancellationToken);
        long deleted = 0;
        foreach (var generation in generations)
        {
            deleted += await DeleteGenerationLockedAsync(context, generation, cancellationToken);
        }

        if (deleted > 0)
        {
            LogSwept(logger, deleted, cutoff);
        }

        return deleted;
    }

    /// <summary>
    /// Deletes one generation's cost rows (unless it is active) and its marker; returns the rows deleted. Each table is
    /// its own statement: an interruption leaves the marker, and the sweep finishes the job.
    /// </summary>
    internal static async Task<long> DeleteGenerationAsync(DatabaseFacade database, StagingKey key, CancellationToken cancellationToken)
    {
        long deleted = 0;
        foreach (var table in CostTable.All)
        {
            deleted += await database.ExecuteSqlRawAsync(
                table.DeleteInactiveGenerationSql, [key.CollectionRunId, key.BillingPeriod, key.IntegrationId], cancellationToken);
        }

        await database.ExecuteSqlRawAsync(
            """
            DELETE FROM cost_generations WHERE collection_run_id = {0} AND integration_id = {1} AND billing_period = {2}
              AND NOT EXISTS (SELECT 1 FROM billing_periods p
                              WHERE p.integration_id = {1} AND p.period_start = {2} AND p.collection_run_id = {0})
            """,
            [key.CollectionRunId, key.IntegrationId, key.BillingPeriod],
            cancellationToken);
        return deleted;
    }

    /// <summary>Takes the integration's row lock (exclusive) for the transaction: staging chunks, which hold it shared
    /// from their marker check to their commit, land whole before or not at all after.</summary>
    internal static async Task<Guid> LockIntegrationAsync(CurWorkflowsDbContext context, Guid integrationId, CancellationToken cancellationToken)
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

    /// <summary>
    /// Registers the run's generation of the period (its staging area) before rows are written, so that cleanup finds
    /// them whatever happens next; returns the integration's organization, which every row carries.
    /// </summary>
    private async Task<Guid> BeginGenerationAsync(CurWorkflowsDbContext context, StagingKey key, CancellationToken cancellationToken)
    {
        var organizationId = await OrganizationOfAsync(context, key, cancellationToken);
        await ThrowIfAlreadyReplacedAsync(context, key, cancellationToken);

        if (!await context.CostGenerations.AnyAsync(
                g => g.CollectionRunId == key.CollectionRunId && g.IntegrationId == key.IntegrationId && g.BillingPeriod == key.BillingPeriod, cancellationToken))
        {
            context.CostGenerations.Add(new CostGeneration
            {
                CollectionRunId = key.CollectionRunId,
                IntegrationId = key.IntegrationId,
                BillingPeriod = key.BillingPeriod,
                CreatedAt = timeProvider.GetUtcNow(),
            });
            try
            {
                await context.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Registered concurrently by another call for the same run and period is fine: the same generation.
                if (!await context.CostGenerations.AsNoTracking().AnyAsync(
                        g => g.CollectionRunId == key.CollectionRunId && g.IntegrationId == key.IntegrationId && g.BillingPeriod == key.BillingPeriod, cancellationToken))
                {
                    throw;
                }
            }

            context.ChangeTracker.Clear();
        }

        return organizationId;
    }

    /// <summary>Adding rows to the active generation would change what readers see outside a replace.</summary>
    private static async Task ThrowIfAlreadyReplacedAsync(CurWorkflowsDbContext context, StagingKey key, CancellationToken cancellationToken)
    {
        if (await context.BillingPeriods.AnyAsync(
                p => p.IntegrationId == key.IntegrationId && p.PeriodStart == key.BillingPeriod && p.CollectionRunId == key.CollectionRunId, cancellationToken))
        {
            throw new InvalidOperationException(
                $"Run {key.CollectionRunId} already replaced billing period {key.BillingPeriod:yyyy-MM-dd} of integration {key.IntegrationId}; stage under a new run.");
        }
    }

    private async Task<long> StageFlatAsync(
        StagingKey key, CostTable table, IAsyncEnumerable<FlatCost> rows, CancellationToken cancellationToken, StagingToken? token = null)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        await context.Database.OpenConnectionAsync(cancellationToken);
        var organizationId = token is null ? await BeginGenerationAsync(context, key, cancellationToken) : await OrganizationOfAsync(context, key, cancellationToken);
        var chunk = new List<FlatCost>(Math.Min(_batchSize, 65_536));
        long total = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            chunk.Add(row);
            if (chunk.Count >= _batchSize)
            {
                await WriteChunkAsync(context, table, key, organizationId, chunk, token, cancellationToken);
                total += chunk.Count;
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await WriteChunkAsync(context, table, key, organizationId, chunk, token, cancellationToken);
            total += chunk.Count;
        }

        return total;
    }

    /// <summary>
    /// One chunk in one transaction. With a token, the transaction first takes the integration's lock (shared with
    /// other chunks, exclusive of a replace or a discard) and checks that the token is still the generation's, so that
    /// a chunk lands whole before a discard or a replace, or not at all.
    /// </summary>
    private static async Task WriteChunkAsync(
        CurWorkflowsDbContext context, CostTable table, StagingKey key, Guid organizationId, IReadOnlyList<FlatCost> chunk, StagingToken? token, CancellationToken cancellationToken)
    {
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        if (token is not null)
        {
            await LockIntegrationSharedAsync(context, key.IntegrationId, cancellationToken);
            var current = await context.CostGenerations.AsNoTracking().AnyAsync(
                g => g.CollectionRunId == key.CollectionRunId && g.IntegrationId == key.IntegrationId && g.BillingPeriod == key.BillingPeriod
                     && g.CreatedAt == token.CreatedAt && g.SupersededAt == null,
                cancellationToken);
            if (!current)
            {
                throw new StagingSupersededException(key);
            }
        }

        await BulkStaging.WriteAsync(context, table, key, organizationId, chunk, transaction.GetDbTransaction(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task LockIntegrationSharedAsync(CurWorkflowsDbContext context, Guid integrationId, CancellationToken cancellationToken)
    {
        var query = context.Provider switch
        {
            StorageProvider.PostgreSql => context.Integrations.FromSqlRaw("SELECT * FROM integrations WHERE id = {0} FOR SHARE", integrationId),
            // A shared lock would not keep out the update lock of a replace; the writer's own chunks run one at a time.
            StorageProvider.SqlServer => context.Integrations.FromSqlRaw("SELECT * FROM integrations WITH (UPDLOCK, HOLDLOCK) WHERE id = {0}", integrationId),
            // SQLite's write transactions exclude each other (BEGIN IMMEDIATE).
            _ => null,
        };
        if (query is not null)
        {
            await query.AsNoTracking().Select(i => i.Id).ToListAsync(cancellationToken);
        }
    }

    private static async Task<Guid> OrganizationOfAsync(CurWorkflowsDbContext context, StagingKey key, CancellationToken cancellationToken)
    {
        var organizationIds = await context.Integrations.AsNoTracking()
            .Where(i => i.Id == key.IntegrationId).Select(i => i.OrganizationId).ToListAsync(cancellationToken);
        return organizationIds.Count == 1 ? organizationIds[0] : throw new InvalidOperationException($"Integration {key.IntegrationId} does not exist.");
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period:yyyy-MM-dd} of integration {IntegrationId}: assembly {AssemblyId} was already stored by this run (a retried replace)")]
    private static partial void LogAppliedEarlier(ILogger logger, Guid integrationId, DateOnly period, string assemblyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period:yyyy-MM-dd} of integration {IntegrationId}: assembly {AssemblyId} already stored, unchanged")]
    private static partial void LogUnchanged(ILogger logger, Guid integrationId, DateOnly period, string assemblyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period:yyyy-MM-dd} of integration {IntegrationId}: assembly {AssemblyId} {Outcome}, {Rows} aggregate rows")]
    private static partial void LogReplaced(ILogger logger, Guid integrationId, DateOnly period, string assemblyId, ReplaceOutcome outcome, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing period {Period:yyyy-MM-dd} of integration {IntegrationId}: deleted {Rows} rows of the superseded run")]
    private static partial void LogSupersededDeleted(ILogger logger, Guid integrationId, DateOnly period, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Billing period {Period:yyyy-MM-dd} of integration {IntegrationId}: the superseded run's rows were not deleted (invisible; the sweep deletes them)")]
    private static partial void LogSupersededLeft(ILogger logger, Guid integrationId, DateOnly period, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Swept {Rows} rows of superseded or stale generations (staging started before {Cutoff:O})")]
    private static partial void LogSwept(ILogger logger, long rows, DateTimeOffset cutoff);
}

/// <summary>A replace found the run's staging discarded (its run has ended); retrying cannot help.</summary>
public sealed class StagingDiscardedException(StagingKey key)
    : InvalidOperationException($"The staging of run {key.CollectionRunId} for billing period {key.BillingPeriod:yyyy-MM-dd} was discarded (the run ended); the period keeps its data.")
{
    public StagingKey Key { get; } = key;
}

/// <summary>What <see cref="CostWriter.BeginStagingAsync"/> gives one attempt at staging a period.</summary>
public sealed record StagingToken(StagingKey Key, DateTimeOffset CreatedAt);

/// <summary>A later attempt started staging the same run and period (or the run ended): this one must stop.</summary>
public sealed class StagingSupersededException(StagingKey key)
    : InvalidOperationException($"Another attempt started staging billing period {key.BillingPeriod:yyyy-MM-dd} of run {key.CollectionRunId}, or the run ended; this attempt stops.")
{
    public StagingKey Key { get; } = key;
}
