using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// The version of an organization's cost data: how many billing periods it holds and when the last one was
/// ingested. Every write of cost rows goes through a billing period (a replace sets its <c>ingested_at</c>, an explicit
/// deletion removes it), so any change of the cost rows changes this pair. Read it before reading the rows it guards:
/// rows read after it are at least as new.
/// </summary>
public sealed record CostDataVersion(long BillingPeriods, DateTimeOffset? LastIngestedAt)
{
    public static CostDataVersion Empty { get; } = new(0, null);
}

/// <summary>Reads <see cref="CostDataVersion"/>: one indexed aggregate over <c>billing_periods</c> (organization_id, period_start).</summary>
public sealed class CostDataVersions(IDbContextFactory<CurWorkflowsDbContext> contextFactory)
{
    public async Task<CostDataVersion> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var row = await context.BillingPeriods.AsNoTracking()
            .Where(p => p.OrganizationId == organizationId)
            .GroupBy(p => p.OrganizationId)
            .Select(g => new VersionRow(g.LongCount(), g.Max(p => p.IngestedAt)))
            .FirstOrDefaultAsync(cancellationToken);
        return row is null ? CostDataVersion.Empty : new CostDataVersion(row.Count, row.LastIngestedAt);
    }

    private sealed record VersionRow(long Count, DateTimeOffset LastIngestedAt);
}
