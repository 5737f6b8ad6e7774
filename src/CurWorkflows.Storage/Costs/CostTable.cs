using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Storage.Costs;

/// <summary>One aggregate row flattened for the bulk paths; unused key columns are "".</summary>
internal readonly record struct FlatCost(DateOnly Date, string Package, string ResourceId, string ProductCode, string Currency, CostAmounts Cost)
{
    public static FlatCost From(DailyPackageCost c) => new(c.UsageDate, c.Package, "", c.ProductCode, c.Currency, c.Cost);

    public static FlatCost From(DailyResourceCost c) => new(c.UsageDate, c.Package, c.ResourceId, c.ProductCode, c.Currency, c.Cost);

    public static FlatCost From(MonthlyPackageCost c) => new(c.Month, c.Package, "", "", c.Currency, c.Cost);
}

/// <summary>A cost table: the column lists the hand-written bulk and cleanup SQL use.</summary>
internal sealed record CostTable(string Table, string DateColumn, bool HasResource, bool HasProduct)
{
    public static readonly CostTable DailyPackage = new("daily_package_costs", "usage_date", false, true);
    public static readonly CostTable DailyResource = new("daily_resource_costs", "usage_date", true, true);
    public static readonly CostTable MonthlyPackage = new("monthly_package_costs", "month", false, false);

    public static readonly IReadOnlyList<CostTable> All = [DailyPackage, DailyResource, MonthlyPackage];

    /// <summary>The grouping key after integration and period: date, package, [resource], [product], currency.</summary>
    public IReadOnlyList<string> KeyColumns { get; } = BuildKeyColumns(DateColumn, HasResource, HasProduct);

    /// <summary>Columns of a bulk write, in order (the id is generated).</summary>
    public IReadOnlyList<string> BulkColumns =>
        ["organization_id", "integration_id", "billing_period", "collection_run_id", .. KeyColumns, "unblended", "net_unblended", "amortized"];

    // Table and column names below are constants of this class, never input; values are parameters {0}, {1}, ...

    /// <summary>
    /// Deletes one generation's rows unless it is the period's active one: no cleanup path can ever remove what
    /// readers see. Parameters: collection run id, billing period, integration id.
    /// </summary>
    public string DeleteInactiveGenerationSql => $$"""
        DELETE FROM {{Table}}
        WHERE collection_run_id = {0} AND billing_period = {1} AND integration_id = {2}
          AND NOT EXISTS (SELECT 1 FROM billing_periods p
                          WHERE p.integration_id = {2} AND p.period_start = {1} AND p.collection_run_id = {0})
        """;

    private static string[] BuildKeyColumns(string dateColumn, bool hasResource, bool hasProduct)
    {
        var columns = new List<string> { dateColumn, "package" };
        if (hasResource)
        {
            columns.Add("resource_id");
        }

        if (hasProduct)
        {
            columns.Add("product_code");
        }

        columns.Add("currency");
        return [.. columns];
    }
}
