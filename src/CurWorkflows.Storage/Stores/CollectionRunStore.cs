using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Stores;

public sealed record StartCollectionRunRequest(Guid IntegrationId, string WorkflowId, string WorkflowRunId, DateTimeOffset StartedAt);

public sealed record CompleteCollectionRunRequest(
    Guid CollectionRunId,
    CollectionRunOutcome Outcome,
    DateTimeOffset EndedAt,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    int PeriodsIngested = 0,
    int PeriodsSkipped = 0,
    int Files = 0,
    long Rows = 0,
    long Bytes = 0,
    CostAmounts Totals = default);

public sealed record CollectionRunView(
    Guid Id,
    Guid IntegrationId,
    Guid OrganizationId,
    string WorkflowId,
    string WorkflowRunId,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    CollectionRunOutcome Outcome,
    string? ErrorCode,
    string? ErrorMessage,
    int PeriodsIngested,
    int PeriodsSkipped,
    int Files,
    long Rows,
    long Bytes,
    CostAmounts Totals);

public sealed record BillingPeriodView(
    Guid IntegrationId,
    DateOnly PeriodStart,
    string AssemblyId,
    string ManifestETag,
    bool IsFinal,
    string Currency,
    CostAmounts Totals,
    long LineItemRows,
    long AggregateRows,
    DateTimeOffset IngestedAt,
    Guid CollectionRunId);

/// <summary>Collection runs and the billing periods they ingested.</summary>
public sealed class CollectionRunStore(IDbContextFactory<CurWorkflowsDbContext> contextFactory, CostWriter costWriter)
{
    /// <summary>Records the start of a run. Idempotent per workflow id (activity retries return the same run).</summary>
    public async Task<CollectionRunView> StartAsync(StartCollectionRunRequest request, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var existing = await context.CollectionRuns.AsNoTracking().SingleOrDefaultAsync(r => r.WorkflowId == request.WorkflowId, cancellationToken);
        if (existing is not null)
        {
            return ToView(existing);
        }

        var organizationId = await context.Integrations.Where(i => i.Id == request.IntegrationId)
            .Select(i => (Guid?)i.OrganizationId).SingleOrDefaultAsync(cancellationToken)
            ?? throw new InvalidOperationException($"Integration {request.IntegrationId} does not exist.");
        var run = new CollectionRun
        {
            Id = Guid.CreateVersion7(),
            IntegrationId = request.IntegrationId,
            OrganizationId = organizationId,
            WorkflowId = request.WorkflowId,
            WorkflowRunId = request.WorkflowRunId,
            StartedAt = request.StartedAt,
        };
        context.CollectionRuns.Add(run);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
            return ToView(run);
        }
        catch (DbUpdateException)
        {
            await using var retry = await contextFactory.CreateDbContextAsync(cancellationToken);
            var winner = await retry.CollectionRuns.AsNoTracking().SingleOrDefaultAsync(r => r.WorkflowId == request.WorkflowId, cancellationToken);
            if (winner is null)
            {
                throw;
            }

            return ToView(winner);
        }
    }

    /// <summary>Records the end of a run and drops whatever it left in staging.</summary>
    public async Task CompleteAsync(CompleteCollectionRunRequest request, CancellationToken cancellationToken = default)
    {
        await using (var context = await contextFactory.CreateDbContextAsync(cancellationToken))
        {
            var run = await context.CollectionRuns.SingleOrDefaultAsync(r => r.Id == request.CollectionRunId, cancellationToken)
                ?? throw new InvalidOperationException($"Collection run {request.CollectionRunId} does not exist.");
            run.Outcome = request.Outcome;
            run.EndedAt = request.EndedAt;
            run.ErrorCode = request.ErrorCode;
            run.ErrorMessage = request.ErrorMessage is { Length: > 4000 } ? request.ErrorMessage[..4000] : request.ErrorMessage;
            run.PeriodsIngested = request.PeriodsIngested;
            run.PeriodsSkipped = request.PeriodsSkipped;
            run.Files = request.Files;
            run.Rows = request.Rows;
            run.Bytes = request.Bytes;
            run.Unblended = request.Totals.Unblended;
            run.NetUnblended = request.Totals.NetUnblended;
            run.Amortized = request.Totals.Amortized;
            await context.SaveChangesAsync(cancellationToken);
        }

        await costWriter.DiscardStagingAsync(request.CollectionRunId, cancellationToken);
    }

    public async Task<CollectionRunView?> GetAsync(Guid organizationId, Guid collectionRunId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var run = await context.CollectionRuns.AsNoTracking()
            .SingleOrDefaultAsync(r => r.Id == collectionRunId && r.OrganizationId == organizationId, cancellationToken);
        return run is null ? null : ToView(run);
    }

    /// <summary>Most recent runs of one of the organization's integrations, newest first.</summary>
    public async Task<IReadOnlyList<CollectionRunView>> ListAsync(
        Guid organizationId, Guid integrationId, int limit = 20, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var runs = await context.CollectionRuns.AsNoTracking()
            .Where(r => r.OrganizationId == organizationId && r.IntegrationId == integrationId)
            .OrderByDescending(r => r.StartedAt)
            .Take(Math.Clamp(limit, 1, 1000))
            .ToListAsync(cancellationToken);
        return [.. runs.Select(ToView)];
    }

    /// <summary>The billing periods stored for one of the organization's integrations, oldest first.</summary>
    public async Task<IReadOnlyList<BillingPeriodView>> ListBillingPeriodsAsync(
        Guid organizationId, Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var periods = await context.BillingPeriods.AsNoTracking()
            .Where(p => p.OrganizationId == organizationId && p.IntegrationId == integrationId)
            .OrderBy(p => p.PeriodStart)
            .ToListAsync(cancellationToken);
        return [.. periods.Select(ToView)];
    }

    /// <summary>How each of these runs stands, for those that exist (the spool sweep asks which runs have ended).</summary>
    public async Task<IReadOnlyDictionary<Guid, CollectionRunOutcome>> GetOutcomesAsync(
        IReadOnlyCollection<Guid> collectionRunIds, CancellationToken cancellationToken = default)
    {
        var outcomes = new Dictionary<Guid, CollectionRunOutcome>();
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        foreach (var chunk in collectionRunIds.Chunk(500))
        {
            var found = await context.CollectionRuns.AsNoTracking()
                .Where(r => chunk.Contains(r.Id))
                .Select(r => new { r.Id, r.Outcome })
                .ToListAsync(cancellationToken);
            foreach (var run in found)
            {
                outcomes[run.Id] = run.Outcome;
            }
        }

        return outcomes;
    }

    /// <summary>For the worker: the stored billing periods of an integration, to skip manifests already ingested.</summary>
    public async Task<IReadOnlyList<BillingPeriodView>> GetIngestedPeriodsAsync(Guid integrationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var periods = await context.BillingPeriods.AsNoTracking()
            .Where(p => p.IntegrationId == integrationId)
            .OrderBy(p => p.PeriodStart)
            .ToListAsync(cancellationToken);
        return [.. periods.Select(ToView)];
    }

    /// <summary>True when this exact manifest (assemblyId and ETag) is what the stored period came from.</summary>
    public async Task<bool> IsIngestedAsync(
        Guid integrationId, DateOnly periodStart, string assemblyId, string manifestETag, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await context.BillingPeriods.AnyAsync(
            p => p.IntegrationId == integrationId && p.PeriodStart == periodStart && p.AssemblyId == assemblyId && p.ManifestETag == manifestETag,
            cancellationToken);
    }

    private static CollectionRunView ToView(CollectionRun r) => new(
        r.Id, r.IntegrationId, r.OrganizationId, r.WorkflowId, r.WorkflowRunId, r.StartedAt, r.EndedAt, r.Outcome, r.ErrorCode, r.ErrorMessage,
        r.PeriodsIngested, r.PeriodsSkipped, r.Files, r.Rows, r.Bytes, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized));

    private static BillingPeriodView ToView(BillingPeriod p) => new(
        p.IntegrationId, p.PeriodStart, p.AssemblyId, p.ManifestETag, p.IsFinal, p.Currency,
        new CostAmounts(p.Unblended, p.NetUnblended, p.Amortized), p.LineItemRows, p.AggregateRows, p.IngestedAt, p.CollectionRunId);
}
