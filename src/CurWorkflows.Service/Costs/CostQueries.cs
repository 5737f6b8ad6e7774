using System.Linq.Expressions;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

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
public sealed record CostLine(DateOnly Period, string Package, string? ResourceId, string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

public sealed record CurrencyAmounts(string Currency, decimal Unblended, decimal NetUnblended, decimal Amortized);

/// <summary>
/// Rows plus totals. <see cref="Totals"/> cover everything in the range (every package, untagged, tax and credits)
/// even when the rows are filtered to some packages; <see cref="Untagged"/> is the untagged part of the totals.
/// </summary>
public sealed record CostReport(IReadOnlyList<CostLine> Rows, IReadOnlyList<CurrencyAmounts> Totals, IReadOnlyList<CurrencyAmounts> Untagged);

/// <summary>Cost reads for the API. Every query filters on the caller's organization first.</summary>
public sealed class CostQueries(IDbContextFactory<CurWorkflowsDbContext> contexts)
{
    public async Task<CostReport> ByPackageAsync(CostQuery query, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        Dictionary<PeriodKey, Amounts> all;
        Dictionary<PeriodKey, Amounts>? filtered = null;
        if (query.Granularity == CostGranularity.Daily)
        {
            var rows = db.Set<DailyPackageCostRow>().AsNoTracking()
                .Where(r => r.OrganizationId == query.OrganizationId && r.UsageDate >= query.From && r.UsageDate <= query.To);
            if (query.IntegrationId is { } integrationId)
            {
                rows = rows.Where(r => r.IntegrationId == integrationId);
            }

            all = await SumAsync(db, rows, r => new PeriodKey { Period = r.UsageDate, Package = r.Package, Currency = r.Currency }, cancellationToken);
        }
        else
        {
            var fromMonth = FirstOfMonth(query.From);
            var rows = db.Set<MonthlyPackageCostRow>().AsNoTracking()
                .Where(r => r.OrganizationId == query.OrganizationId && r.Month >= fromMonth && r.Month <= query.To);
            if (query.IntegrationId is { } integrationId)
            {
                rows = rows.Where(r => r.IntegrationId == integrationId);
            }

            all = await SumAsync(db, rows, r => new PeriodKey { Period = r.Month, Package = r.Package, Currency = r.Currency }, cancellationToken);
        }

        if (query.Packages.Count > 0)
        {
            var wanted = query.Packages.ToHashSet(StringComparer.Ordinal);
            filtered = all.Where(kv => wanted.Contains(kv.Key.Package)).ToDictionary();
        }

        var lines = (filtered ?? all)
            .Select(kv => new CostLine(kv.Key.Period, kv.Key.Package, null, kv.Key.Currency, kv.Value.Unblended, kv.Value.NetUnblended, kv.Value.Amortized))
            .OrderBy(l => l.Period).ThenBy(l => l.Package, StringComparer.Ordinal).ThenBy(l => l.Currency, StringComparer.Ordinal)
            .ToList();
        return new CostReport(lines, Totals(all, _ => true), Totals(all, k => k.Package == PackageNames.Untagged));
    }

    public async Task<CostReport> ByResourceAsync(ResourceCostQuery query, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = db.Set<DailyResourceCostRow>().AsNoTracking()
            .Where(r => r.OrganizationId == query.OrganizationId && r.Package == query.Package
                && r.UsageDate >= query.From && r.UsageDate <= query.To);
        if (query.IntegrationId is { } integrationId)
        {
            rows = rows.Where(r => r.IntegrationId == integrationId);
        }

        var daily = await SumAsync(db, rows, r => new ResourceKey { Period = r.UsageDate, ResourceId = r.ResourceId, Currency = r.Currency }, cancellationToken);
        var byPeriod = query.Granularity == CostGranularity.Daily
            ? daily
            : daily.GroupBy(kv => kv.Key with { Period = FirstOfMonth(kv.Key.Period) })
                .ToDictionary(g => g.Key, g => g.Aggregate(Amounts.Zero, (sum, kv) => sum + kv.Value));
        var lines = byPeriod
            .Select(kv => new CostLine(kv.Key.Period, query.Package, kv.Key.ResourceId, kv.Key.Currency, kv.Value.Unblended, kv.Value.NetUnblended, kv.Value.Amortized))
            .OrderBy(l => l.Period).ThenBy(l => l.ResourceId, StringComparer.Ordinal).ThenBy(l => l.Currency, StringComparer.Ordinal)
            .ToList();
        var totals = byPeriod.GroupBy(kv => kv.Key.Currency, StringComparer.Ordinal)
            .Select(g => ToCurrency(g.Key, g.Aggregate(Amounts.Zero, (sum, kv) => sum + kv.Value)))
            .OrderBy(t => t.Currency, StringComparer.Ordinal).ToList();
        return new CostReport(lines, totals, []);
    }

    /// <summary>Untagged share of the most recent billing period of one integration: (total, untagged) unblended per currency.</summary>
    public async Task<IReadOnlyList<(string Currency, DateOnly Month, decimal Total, decimal Untagged)>> CoverageAsync(
        Guid organizationId, Guid integrationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = db.Set<MonthlyPackageCostRow>().AsNoTracking()
            .Where(r => r.OrganizationId == organizationId && r.IntegrationId == integrationId);
        var latest = await rows.Select(r => (DateOnly?)r.Month).MaxAsync(cancellationToken);
        if (latest is not { } month)
        {
            return [];
        }

        var sums = await SumAsync(db, rows.Where(r => r.Month == month),
            r => new PeriodKey { Period = r.Month, Package = r.Package == PackageNames.Untagged ? "" : "tagged", Currency = r.Currency }, cancellationToken);
        return sums.GroupBy(kv => kv.Key.Currency, StringComparer.Ordinal)
            .Select(g => (g.Key, month, g.Sum(kv => kv.Value.Unblended), g.Where(kv => kv.Key.Package == "").Sum(kv => kv.Value.Unblended)))
            .ToList();
    }

    private static List<CurrencyAmounts> Totals(Dictionary<PeriodKey, Amounts> sums, Func<PeriodKey, bool> include) =>
        sums.Where(kv => include(kv.Key))
            .GroupBy(kv => kv.Key.Currency, StringComparer.Ordinal)
            .Select(g => ToCurrency(g.Key, g.Aggregate(Amounts.Zero, (sum, kv) => sum + kv.Value)))
            .OrderBy(t => t.Currency, StringComparer.Ordinal)
            .ToList();

    private static CurrencyAmounts ToCurrency(string currency, Amounts amounts) =>
        new(currency, amounts.Unblended, amounts.NetUnblended, amounts.Amortized);

    private static DateOnly FirstOfMonth(DateOnly date) => new(date.Year, date.Month, 1);

    /// <summary>
    /// Sums the three amounts per key. SQLite keeps decimals as text and its SUM goes through floating point,
    /// so there the rows are read and summed exactly in memory; the other providers sum in SQL.
    /// </summary>
    private static async Task<Dictionary<TKey, Amounts>> SumAsync<TRow, TKey>(
        CurWorkflowsDbContext db, IQueryable<TRow> rows, Expression<Func<TRow, TKey>> key, CancellationToken cancellationToken)
        where TRow : CostRow
        where TKey : notnull
    {
        var result = new Dictionary<TKey, Amounts>();
        if (db.Provider == StorageProvider.Sqlite)
        {
            await foreach (var row in rows.Select(KeyedProjection(key)).AsAsyncEnumerable().WithCancellation(cancellationToken))
            {
                result[row.Key] = result.GetValueOrDefault(row.Key) + new Amounts(row.Unblended, row.NetUnblended, row.Amortized);
            }

            return result;
        }

        var grouped = rows.GroupBy(key).Select(g => new Keyed<TKey>
        {
            Key = g.Key,
            Unblended = g.Sum(r => r.Unblended),
            NetUnblended = g.Sum(r => r.NetUnblended),
            Amortized = g.Sum(r => r.Amortized),
        });
        await foreach (var row in grouped.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            result[row.Key] = new Amounts(row.Unblended, row.NetUnblended, row.Amortized);
        }

        return result;
    }

    // r => new Keyed<TKey> { Key = key(r), Unblended = r.Unblended, ... } as a translatable expression.
    private static Expression<Func<TRow, Keyed<TKey>>> KeyedProjection<TRow, TKey>(Expression<Func<TRow, TKey>> key)
        where TRow : CostRow
    {
        var row = key.Parameters[0];
        var keyed = typeof(Keyed<TKey>);
        var body = Expression.MemberInit(
            Expression.New(keyed),
            Expression.Bind(keyed.GetProperty(nameof(Keyed<TKey>.Key))!, key.Body),
            Expression.Bind(keyed.GetProperty(nameof(Keyed<TKey>.Unblended))!, Expression.Property(row, nameof(CostRow.Unblended))),
            Expression.Bind(keyed.GetProperty(nameof(Keyed<TKey>.NetUnblended))!, Expression.Property(row, nameof(CostRow.NetUnblended))),
            Expression.Bind(keyed.GetProperty(nameof(Keyed<TKey>.Amortized))!, Expression.Property(row, nameof(CostRow.Amortized))));
        return Expression.Lambda<Func<TRow, Keyed<TKey>>>(body, row);
    }

    private readonly record struct Amounts(decimal Unblended, decimal NetUnblended, decimal Amortized)
    {
        public static Amounts Zero => default;

        public static Amounts operator +(Amounts left, Amounts right) =>
            new(left.Unblended + right.Unblended, left.NetUnblended + right.NetUnblended, left.Amortized + right.Amortized);
    }

    private sealed class Keyed<TKey>
    {
        public TKey Key { get; set; } = default!;

        public decimal Unblended { get; set; }

        public decimal NetUnblended { get; set; }

        public decimal Amortized { get; set; }
    }

    // Classes with settable members rather than tuples: EF Core translates member-init keys in GROUP BY and projections.
    private sealed record PeriodKey
    {
        public DateOnly Period { get; init; }

        public string Package { get; init; } = "";

        public string Currency { get; init; } = "";
    }

    private sealed record ResourceKey
    {
        public DateOnly Period { get; init; }

        public string ResourceId { get; init; } = "";

        public string Currency { get; init; } = "";
    }
}
