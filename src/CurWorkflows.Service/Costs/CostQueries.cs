using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Costs;
using StorageCostQuery = CurWorkflows.Storage.Costs.CostQuery;

namespace CurWorkflows.Service.Costs;

public enum CostGranularity
{
    Daily,
    Monthly,
}

public sealed record CostQuery(
    Guid OrganizationId, DateOnly From, DateOnly To, CostGranularity Granularity, IReadOnlyList<string> Packages, Guid? IntegrationId);

public sealed record ResourceCostQuery(
    Guid OrganizationId, string Package, DateOnly From, DateOnly To, CostGranularity Granularity, Guid? IntegrationId);

/// <summary>One row of a cost answer: the period starts on <see cref="Period"/> (a day, or the first day of a month).</summary>
public sealed record CostLine(DateOnly Period, string Package, string? ResourceId, string? ProductCode, string Currency, CostAmounts Cost);

public sealed record CurrencyAmounts(string Currency, CostAmounts Cost);

/// <summary>
/// Rows plus totals. <see cref="Totals"/> cover everything in the range (every package, untagged, tax and credits)
/// even when the rows are filtered to some packages; <see cref="Untagged"/> is the untagged part of the totals.
/// </summary>
public sealed record CostReport(IReadOnlyList<CostLine> Rows, IReadOnlyList<CurrencyAmounts> Totals, IReadOnlyList<CurrencyAmounts> Untagged);

/// <summary>The API's cost reads, composed from the storage's cost reader. Every query carries the caller's organization.</summary>
public sealed class CostQueries(CostReader reader)
{
    public async Task<CostReport> ByPackageAsync(CostQuery query, CancellationToken cancellationToken)
    {
        // Unfiltered, the rows hold every package (untagged, tax and credits included): totals come from them.
        // Filtered, the totals need the whole range: a second, grouped query.
        var filtered = query.Packages.Count > 0;
        var filter = new StorageCostQuery(query.OrganizationId, query.From, query.To, query.IntegrationId, filtered ? query.Packages : null);
        var points = query.Granularity == CostGranularity.Daily
            ? await reader.GetDailyPackageCostsAsync(filter, cancellationToken)
            : await reader.GetMonthlyPackageCostsAsync(filter, cancellationToken);
        var lines = points.Select(p => new CostLine(p.Date, p.Package, null, null, p.Currency, p.Cost)).ToList();
        if (!filtered)
        {
            return new CostReport(lines, SumByCurrency(lines, _ => true), SumByCurrency(lines, l => l.Package == PackageNames.Untagged));
        }

        // Totals over the same days as the rows: for monthly answers, the whole months the range touches.
        var (from, to) = query.Granularity == CostGranularity.Daily
            ? (query.From, query.To)
            : (FirstOfMonth(query.From), FirstOfMonth(query.To).AddMonths(1).AddDays(-1));
        var totals = await RangeTotalsAsync(new StorageCostQuery(query.OrganizationId, from, to, query.IntegrationId), cancellationToken);
        return new CostReport(
            lines,
            totals.Select(t => new CurrencyAmounts(t.Currency, t.Total)).ToList(),
            totals.Select(t => new CurrencyAmounts(t.Currency, t.Untagged)).ToList());
    }

    /// <summary>
    /// Totals over From..To: the whole months inside the range from the monthly table (a row per package and month
    /// instead of one per package, product and day), the days of partial months around them from the daily table.
    /// </summary>
    private async Task<IReadOnlyList<CostTotal>> RangeTotalsAsync(StorageCostQuery range, CancellationToken cancellationToken)
    {
        var firstWholeMonth = range.From.Day == 1 ? range.From : FirstOfMonth(range.From).AddMonths(1);
        var afterLastWholeMonth = range.To.AddDays(1).Day == 1 ? range.To.AddDays(1) : FirstOfMonth(range.To);
        if (firstWholeMonth >= afterLastWholeMonth)
        {
            return await reader.GetTotalsAsync(range, cancellationToken);
        }

        var parts = new List<IReadOnlyList<CostTotal>>
        {
            await reader.GetMonthlyTotalsAsync(range, firstWholeMonth, afterLastWholeMonth.AddMonths(-1), cancellationToken),
        };
        if (range.From < firstWholeMonth)
        {
            parts.Add(await reader.GetTotalsAsync(range with { To = firstWholeMonth.AddDays(-1) }, cancellationToken));
        }

        if (range.To >= afterLastWholeMonth)
        {
            parts.Add(await reader.GetTotalsAsync(range with { From = afterLastWholeMonth }, cancellationToken));
        }

        return CostReader.Combine([.. parts]);
    }

    private static List<CurrencyAmounts> SumByCurrency(List<CostLine> lines, Func<CostLine, bool> include) =>
        lines.Where(include)
            .GroupBy(l => l.Currency, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CurrencyAmounts(g.Key, g.Aggregate(CostAmounts.Zero, (sum, l) => sum + l.Cost)))
            .ToList();

    public async Task<CostReport> ByResourceAsync(ResourceCostQuery query, CancellationToken cancellationToken)
    {
        var (from, to) = query.Granularity == CostGranularity.Daily
            ? (query.From, query.To)
            : (FirstOfMonth(query.From), FirstOfMonth(query.To).AddMonths(1).AddDays(-1));
        var points = await reader.GetDailyResourceCostsAsync(
            new StorageCostQuery(query.OrganizationId, from, to, query.IntegrationId), query.Package, cancellationToken);

        var lines = query.Granularity == CostGranularity.Daily
            ? points.Select(p => new CostLine(p.Date, query.Package, p.ResourceId, p.ProductCode, p.Currency, p.Cost)).ToList()
            : points.GroupBy(p => (Month: FirstOfMonth(p.Date), p.ResourceId, p.ProductCode, p.Currency))
                .Select(g => new CostLine(g.Key.Month, query.Package, g.Key.ResourceId, g.Key.ProductCode, g.Key.Currency,
                    g.Aggregate(CostAmounts.Zero, (sum, p) => sum + p.Cost)))
                .OrderBy(l => l.Period).ThenBy(l => l.ResourceId, StringComparer.Ordinal).ThenBy(l => l.ProductCode, StringComparer.Ordinal)
                .ToList();
        var totals = lines.GroupBy(l => l.Currency, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CurrencyAmounts(g.Key, g.Aggregate(CostAmounts.Zero, (sum, l) => sum + l.Cost)))
            .ToList();
        return new CostReport(lines, totals, []);
    }

    /// <summary>Untagged share of the integration's most recent month with data, per currency.</summary>
    public async Task<IReadOnlyList<CoverageFigure>> CoverageAsync(Guid organizationId, Guid integrationId, DateOnly month, CancellationToken cancellationToken)
    {
        var totals = await reader.GetTotalsAsync(
            new StorageCostQuery(organizationId, month, month.AddMonths(1).AddDays(-1), integrationId), cancellationToken);
        return totals.Select(t => new CoverageFigure(month, t.Currency, t.Total.Unblended, t.Untagged.Unblended)).ToList();
    }

    private static DateOnly FirstOfMonth(DateOnly date) => new(date.Year, date.Month, 1);
}

public sealed record CoverageFigure(DateOnly Month, string Currency, decimal TotalUnblended, decimal UntaggedUnblended)
{
    public decimal? UntaggedShare => TotalUnblended == 0 ? null : Math.Round(UntaggedUnblended / TotalUnblended, 6);
}
