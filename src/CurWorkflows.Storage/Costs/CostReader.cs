using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// A cost query, always scoped to one organization: usage dates From..To inclusive, optionally one integration and
/// a set of packages (use <see cref="PackageNames.Untagged"/> for untagged cost).
/// </summary>
public sealed record CostQuery(
    Guid OrganizationId,
    DateOnly From,
    DateOnly To,
    Guid? IntegrationId = null,
    IReadOnlyCollection<string>? Packages = null);

/// <summary>Cost of one package on one day (daily) or in one month (monthly: <see cref="Date"/> is the first day).</summary>
public sealed record PackageCostPoint(DateOnly Date, string Package, string Currency, CostAmounts Cost);

public sealed record ResourceCostPoint(DateOnly Date, string ResourceId, string ProductCode, string Currency, CostAmounts Cost);

/// <summary>Totals over a query per currency: everything (the bill), the untagged part and the tagged part.</summary>
public sealed record CostTotal(string Currency, CostAmounts Total, CostAmounts Untagged, CostAmounts Tagged);

/// <summary>
/// Read side of the cost tables for the API: only rows of each billing period's active run, so a query sees a period
/// before or after a replace, never both. Sums are computed by the database, exactly (decimal).
/// </summary>
public sealed class CostReader(IDbContextFactory<CurWorkflowsDbContext> contextFactory)
{
    public async Task<IReadOnlyList<PackageCostPoint>> GetDailyPackageCostsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyPackageCosts.AsNoTracking(), query)
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .GroupBy(c => new { c.UsageDate, c.Package, c.Currency })
            .Select(g => new
            {
                g.Key.UsageDate,
                g.Key.Package,
                g.Key.Currency,
                Unblended = g.Sum(c => c.Unblended),
                NetUnblended = g.Sum(c => c.NetUnblended),
                Amortized = g.Sum(c => c.Amortized),
            })
            .ToListAsync(cancellationToken);
        return [.. rows
            .Select(r => new PackageCostPoint(r.UsageDate, r.Package, r.Currency, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized)))
            .OrderBy(p => p.Date).ThenBy(p => p.Package, StringComparer.Ordinal).ThenBy(p => p.Currency, StringComparer.Ordinal)];
    }

    /// <summary>Monthly cost by package for the months that From..To touch.</summary>
    public async Task<IReadOnlyList<PackageCostPoint>> GetMonthlyPackageCostsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        var firstMonth = new DateOnly(query.From.Year, query.From.Month, 1);
        var lastMonth = new DateOnly(query.To.Year, query.To.Month, 1);
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveMonthlyPackageCosts.AsNoTracking(), query)
            .Where(c => c.Month >= firstMonth && c.Month <= lastMonth)
            .GroupBy(c => new { c.Month, c.Package, c.Currency })
            .Select(g => new
            {
                g.Key.Month,
                g.Key.Package,
                g.Key.Currency,
                Unblended = g.Sum(c => c.Unblended),
                NetUnblended = g.Sum(c => c.NetUnblended),
                Amortized = g.Sum(c => c.Amortized),
            })
            .ToListAsync(cancellationToken);
        return [.. rows
            .Select(r => new PackageCostPoint(r.Month, r.Package, r.Currency, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized)))
            .OrderBy(p => p.Date).ThenBy(p => p.Package, StringComparer.Ordinal).ThenBy(p => p.Currency, StringComparer.Ordinal)];
    }

    /// <summary>Daily cost by resource (and product) within one package. <see cref="CostQuery.Packages"/> is ignored.</summary>
    public async Task<IReadOnlyList<ResourceCostPoint>> GetDailyResourceCostsAsync(
        CostQuery query, string package, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyResourceCosts.AsNoTracking(), query with { Packages = [package] })
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .GroupBy(c => new { c.UsageDate, c.ResourceId, c.ProductCode, c.Currency })
            .Select(g => new
            {
                g.Key.UsageDate,
                g.Key.ResourceId,
                g.Key.ProductCode,
                g.Key.Currency,
                Unblended = g.Sum(c => c.Unblended),
                NetUnblended = g.Sum(c => c.NetUnblended),
                Amortized = g.Sum(c => c.Amortized),
            })
            .ToListAsync(cancellationToken);
        return [.. rows
            .Select(r => new ResourceCostPoint(r.UsageDate, r.ResourceId, r.ProductCode, r.Currency, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized)))
            .OrderBy(p => p.Date).ThenBy(p => p.ResourceId, StringComparer.Ordinal).ThenBy(p => p.ProductCode, StringComparer.Ordinal)];
    }

    /// <summary>Totals per currency over the query's days, including untagged, tax and credit rows (every CUR row is in one package value).</summary>
    public async Task<IReadOnlyList<CostTotal>> GetTotalsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyPackageCosts.AsNoTracking(), query)
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .GroupBy(c => new { c.Currency, Untagged = c.Package == PackageNames.Untagged })
            .Select(g => new
            {
                g.Key.Currency,
                g.Key.Untagged,
                Unblended = g.Sum(c => c.Unblended),
                NetUnblended = g.Sum(c => c.NetUnblended),
                Amortized = g.Sum(c => c.Amortized),
            })
            .ToListAsync(cancellationToken);
        return [.. rows
            .GroupBy(r => r.Currency, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var untagged = g.Where(r => r.Untagged).Select(r => new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized)).FirstOrDefault();
                var tagged = g.Where(r => !r.Untagged).Select(r => new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized)).FirstOrDefault();
                return new CostTotal(g.Key, untagged + tagged, untagged, tagged);
            })];
    }

    private static IQueryable<T> Filter<T>(IQueryable<T> costs, CostQuery query)
        where T : CostRow
    {
        costs = costs.Where(c => c.OrganizationId == query.OrganizationId);
        if (query.IntegrationId is { } integrationId)
        {
            costs = costs.Where(c => c.IntegrationId == integrationId);
        }

        if (query.Packages is { Count: > 0 } packages)
        {
            var list = packages.ToList();
            costs = costs.Where(c => list.Contains(c.Package));
        }

        return costs;
    }
}
