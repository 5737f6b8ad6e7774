namespace CurWorkflows.Cur.Aggregation;

/// <summary>The three cost views of a set of CUR rows. All exact decimals.</summary>
public readonly record struct CostAmounts(decimal Unblended, decimal NetUnblended, decimal Amortized)
{
    public static CostAmounts Zero => default;

    public static CostAmounts operator +(CostAmounts left, CostAmounts right) =>
        new(left.Unblended + right.Unblended, left.NetUnblended + right.NetUnblended, left.Amortized + right.Amortized);

    public CostAmounts Add(CostAmounts other) => this + other;
}

public static class PackageNames
{
    /// <summary>The package value of rows without the tag: stored as its own value so that totals equal the bill.</summary>
    public const string Untagged = "";
}

/// <summary>Daily cost by (usage day UTC, package, product code, currency).</summary>
public sealed record DailyPackageCost(DateOnly UsageDate, string Package, string ProductCode, string Currency, CostAmounts Cost);

/// <summary>Daily cost by (usage day UTC, package, resource id, product code, currency). Rows without a resource id have "".</summary>
public sealed record DailyResourceCost(
    DateOnly UsageDate, string Package, string ResourceId, string ProductCode, string Currency, CostAmounts Cost);

/// <summary>Monthly cost by (first day of the month, package, currency).</summary>
public sealed record MonthlyPackageCost(DateOnly Month, string Package, string Currency, CostAmounts Cost);
