using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Storage.Costs;

namespace CurWorkflows.Storage.Tests;

/// <summary>Deterministic aggregate batches for one billing period.</summary>
internal static class CostData
{
    public static readonly DateOnly January = new(2026, 1, 1);
    public static readonly DateOnly February = new(2026, 2, 1);

    /// <summary>
    /// A consistent batch: every view sums to the same total. Package 0 is untagged (""). Amounts scale with
    /// <paramref name="factor"/> so that restatements are recognisable.
    /// </summary>
    public static CostAggregateBatch Period(DateOnly period, int days, int packages, int resourcesPerPackage, decimal factor, string currency = "USD")
    {
        var daily = new List<DailyPackageCost>();
        var resources = new List<DailyResourceCost>();
        var monthly = new Dictionary<string, CostAmounts>();
        for (var day = 0; day < days; day++)
        {
            var date = period.AddDays(day);
            for (var p = 0; p < packages; p++)
            {
                var package = PackageName(p);
                var packageTotal = CostAmounts.Zero;
                for (var r = 0; r < resourcesPerPackage; r++)
                {
                    var cost = Amounts((day * 31) + (p * 7) + r + 1, factor);
                    resources.Add(new DailyResourceCost(date, package, $"i-{p:D3}{r:D5}", "AmazonEC2", currency, cost));
                    packageTotal += cost;
                }

                daily.Add(new DailyPackageCost(date, package, "AmazonEC2", currency, packageTotal));
                monthly[package] = monthly.GetValueOrDefault(package) + packageTotal;
            }
        }

        return new CostAggregateBatch(
            daily, resources, [.. monthly.Select(m => new MonthlyPackageCost(period, m.Key, currency, m.Value))]);
    }

    public static string PackageName(int index) => index == 0 ? PackageNames.Untagged : $"package-{index:D3}";

    public static CostAmounts Amounts(int seed, decimal factor) =>
        new(seed * 1.0000000001m * factor, seed * 0.9000000003m * factor, seed * 1.1000000007m * factor);

    public static CostAmounts Total(IEnumerable<DailyPackageCost> costs) => costs.Aggregate(CostAmounts.Zero, (t, c) => t + c.Cost);
}
