using System.Runtime.InteropServices;
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
/// before or after a replace, never both. The database selects the rows (by index); the sums are computed here, exactly
/// (decimal). Summing in SQL costs a managed callback per row and amount on SQLite (its decimals are text) and saves
/// little elsewhere: the stored rows are already aggregates, a handful per answer row.
/// </summary>
public sealed class CostReader(IDbContextFactory<CurWorkflowsDbContext> contextFactory)
{
    public async Task<IReadOnlyList<PackageCostPoint>> GetDailyPackageCostsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyPackageCosts.AsNoTracking(), query)
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .Select(c => new PackageRow(c.UsageDate, c.Package, c.Currency, c.Unblended, c.NetUnblended, c.Amortized))
            .ToListAsync(cancellationToken);
        return SumByPackage(rows);
    }

    /// <summary>Monthly cost by package for the months that From..To touch.</summary>
    public async Task<IReadOnlyList<PackageCostPoint>> GetMonthlyPackageCostsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        var firstMonth = new DateOnly(query.From.Year, query.From.Month, 1);
        var lastMonth = new DateOnly(query.To.Year, query.To.Month, 1);
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveMonthlyPackageCosts.AsNoTracking(), query)
            .Where(c => c.Month >= firstMonth && c.Month <= lastMonth)
            .Select(c => new PackageRow(c.Month, c.Package, c.Currency, c.Unblended, c.NetUnblended, c.Amortized))
            .ToListAsync(cancellationToken);
        return SumByPackage(rows);
    }

    /// <summary>Daily cost by resource (and product) within one package. <see cref="CostQuery.Packages"/> is ignored.</summary>
    public async Task<IReadOnlyList<ResourceCostPoint>> GetDailyResourceCostsAsync(
        CostQuery query, string package, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyResourceCosts.AsNoTracking(), query with { Packages = [package] })
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .Select(c => new ResourceRow(c.UsageDate, c.ResourceId, c.ProductCode, c.Currency, c.Unblended, c.NetUnblended, c.Amortized))
            .ToListAsync(cancellationToken);
        var sums = new Dictionary<(DateOnly, string, string, string), CostAmounts>();
        foreach (var row in rows)
        {
            ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(sums, (row.Date, row.ResourceId, row.ProductCode, row.Currency), out _);
            sum += new CostAmounts(row.Unblended, row.NetUnblended, row.Amortized);
        }

        return [.. sums
            .Select(s => new ResourceCostPoint(s.Key.Item1, s.Key.Item2, s.Key.Item3, s.Key.Item4, s.Value))
            .OrderBy(p => p.Date).ThenBy(p => p.ResourceId, StringComparer.Ordinal).ThenBy(p => p.ProductCode, StringComparer.Ordinal)
            .ThenBy(p => p.Currency, StringComparer.Ordinal)];
    }

    /// <summary>Totals per currency over the query's days, including untagged, tax and credit rows (every CUR row is in one package value).</summary>
    public async Task<IReadOnlyList<CostTotal>> GetTotalsAsync(CostQuery query, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveDailyPackageCosts.AsNoTracking(), query)
            .Where(c => c.UsageDate >= query.From && c.UsageDate <= query.To)
            .Select(c => new PackageRow(c.UsageDate, c.Package, c.Currency, c.Unblended, c.NetUnblended, c.Amortized))
            .ToListAsync(cancellationToken);
        return ToTotals(rows.Select(r => (r.Currency, r.Package == PackageNames.Untagged, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized))));
    }

    /// <summary>
    /// Totals per currency over whole usage months (first days <paramref name="firstMonth"/>..<paramref name="lastMonth"/>)
    /// from the monthly table: the same sums as <see cref="GetTotalsAsync"/> over those days (monthly rows are the daily
    /// rows summed by usage month), at a thirtieth of the rows. <see cref="CostQuery.From"/>/<see cref="CostQuery.To"/> are ignored.
    /// </summary>
    public async Task<IReadOnlyList<CostTotal>> GetMonthlyTotalsAsync(
        CostQuery query, DateOnly firstMonth, DateOnly lastMonth, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var rows = await Filter(context.ActiveMonthlyPackageCosts.AsNoTracking(), query)
            .Where(c => c.Month >= firstMonth && c.Month <= lastMonth)
            .Select(c => new PackageRow(c.Month, c.Package, c.Currency, c.Unblended, c.NetUnblended, c.Amortized))
            .ToListAsync(cancellationToken);
        return ToTotals(rows.Select(r => (r.Currency, r.Package == PackageNames.Untagged, new CostAmounts(r.Unblended, r.NetUnblended, r.Amortized))));
    }

    /// <summary>Adds totals of disjoint day ranges (e.g. whole months from the monthly table and the partial months around them).</summary>
    public static IReadOnlyList<CostTotal> Combine(params IEnumerable<CostTotal>[] parts) =>
        ToTotals(parts.SelectMany(p => p).SelectMany(t => new[] { (t.Currency, true, t.Untagged), (t.Currency, false, t.Tagged) }));

    private static List<CostTotal> ToTotals(IEnumerable<(string Currency, bool Untagged, CostAmounts Amounts)> rows) =>
        [.. rows
            .GroupBy(r => r.Currency, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var untagged = g.Where(r => r.Untagged).Aggregate(CostAmounts.Zero, (sum, r) => sum + r.Amounts);
                var tagged = g.Where(r => !r.Untagged).Aggregate(CostAmounts.Zero, (sum, r) => sum + r.Amounts);
                return new CostTotal(g.Key, untagged + tagged, untagged, tagged);
            })];

    private static List<PackageCostPoint> SumByPackage(List<PackageRow> rows)
    {
        var sums = new Dictionary<(DateOnly, string, string), CostAmounts>();
        foreach (var row in rows)
        {
            ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(sums, (row.Date, row.Package, row.Currency), out _);
            sum += new CostAmounts(row.Unblended, row.NetUnblended, row.Amortized);
        }

        return [.. sums
            .Select(s => new PackageCostPoint(s.Key.Item1, s.Key.Item2, s.Key.Item3, s.Value))
            .OrderBy(p => p.Date).ThenBy(p => p.Package, StringComparer.Ordinal).ThenBy(p => p.Currency, StringComparer.Ordinal)];
    }

    private sealed record PackageRow(DateOnly Date, string Package, string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

    private sealed record ResourceRow(
        DateOnly Date, string ResourceId, string ProductCode, string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

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
