using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// The version of an organization's cost data: its billing periods, each with the generation (collection run) that is
/// active for it. Every write of cost rows that readers see goes through a billing period: a replace makes another
/// run's rows active, an explicit deletion removes the period. So any change of what readers see changes this version.
/// Read it before reading the rows it guards: rows read after it are at least as new.
/// </summary>
/// <param name="Generations">A 64-bit fingerprint of the (integration, period, active run) triples. The time a period
/// was ingested is not enough: it is taken before the replace commits, so on a database that runs two replaces at
/// once the later commit can carry the earlier time, and a version made of the count and the latest time would not
/// change.</param>
public sealed record CostDataVersion(long BillingPeriods, DateTimeOffset? LastIngestedAt, ulong Generations = 0)
{
    public static CostDataVersion Empty { get; } = new(0, null);
}

/// <summary>Reads <see cref="CostDataVersion"/>: the organization's billing periods (a few hundred rows at most, by
/// the index on organization_id and period_start).</summary>
public sealed class CostDataVersions(IDbContextFactory<CurWorkflowsDbContext> contextFactory)
{
    public async Task<CostDataVersion> GetAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var periods = await context.BillingPeriods.AsNoTracking()
            .Where(p => p.OrganizationId == organizationId)
            .Select(p => new { p.IntegrationId, p.PeriodStart, p.CollectionRunId, p.IngestedAt })
            .ToListAsync(cancellationToken);
        if (periods.Count == 0)
        {
            return CostDataVersion.Empty;
        }

        // FNV-1a over the triples in a fixed order: the same periods and runs give the same fingerprint in every process.
        var fingerprint = 14695981039346656037UL;
        Span<byte> bytes = stackalloc byte[36];
        foreach (var period in periods.OrderBy(p => p.IntegrationId).ThenBy(p => p.PeriodStart))
        {
            period.IntegrationId.TryWriteBytes(bytes);
            BitConverter.TryWriteBytes(bytes[16..], period.PeriodStart.DayNumber);
            period.CollectionRunId.TryWriteBytes(bytes[20..]);
            foreach (var b in bytes)
            {
                fingerprint = (fingerprint ^ b) * 1099511628211UL;
            }
        }

        return new CostDataVersion(periods.Count, periods.Max(p => p.IngestedAt), fingerprint);
    }
}
