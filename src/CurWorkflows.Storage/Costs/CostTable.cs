using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Storage.Costs;

/// <summary>One aggregate row flattened for the bulk paths; unused key columns are "".</summary>
internal readonly record struct FlatCost(DateOnly Date, string Package, string ResourceId, string ProductCode, string Currency, CostAmounts Cost)
{
    public static FlatCost From(DailyPackageCost c) => new(c.UsageDate, c.Package, "", c.ProductCode, c.Currency, c.Cost);

    public static FlatCost From(DailyResourceCost c) => new(c.UsageDate, c.Package, c.ResourceId, c.ProductCode, c.Currency, c.Cost);

    public static FlatCost From(MonthlyPackageCost c) => new(c.Month, c.Package, "", "", c.Currency, c.Cost);
}

/// <summary>A live cost table and its staging table: the column lists the hand-written bulk and replace SQL use.</summary>
internal sealed record CostTable(string LiveTable, string StagingTable, string DateColumn, bool HasResource, bool HasProduct)
{
    public static readonly CostTable DailyPackage = new("daily_package_costs", "staging_daily_package_costs", "usage_date", false, true);
    public static readonly CostTable DailyResource = new("daily_resource_costs", "staging_daily_resource_costs", "usage_date", true, true);
    public static readonly CostTable MonthlyPackage = new("monthly_package_costs", "staging_monthly_package_costs", "month", false, false);

    public static readonly IReadOnlyList<CostTable> All = [DailyPackage, DailyResource, MonthlyPackage];

    /// <summary>The grouping key after integration and period: date, package, [resource], [product], currency.</summary>
    public IReadOnlyList<string> KeyColumns { get; } = BuildKeyColumns(DateColumn, HasResource, HasProduct);

    public IReadOnlyList<string> StagingColumns =>
        ["collection_run_id", "integration_id", "billing_period", .. KeyColumns, "unblended", "net_unblended", "amortized", "staged_at"];

    // Table and column names below are constants of this class, never input; values are parameters {0}, {1}, ...

    /// <summary>Parameters: integration id, billing period.</summary>
    public string DeleteLiveSql => $"DELETE FROM {LiveTable} WHERE integration_id = {{0}} AND billing_period = {{1}}";

    /// <summary>Parameters: collection run id, integration id, billing period.</summary>
    public string DeleteStagingSql =>
        $"DELETE FROM {StagingTable} WHERE collection_run_id = {{0}} AND integration_id = {{1}} AND billing_period = {{2}}";

    /// <summary>
    /// Copies the staged rows of one run and period into the live table as they are. A key staged by several files
    /// becomes several live rows; every read sums per key, so totals are the same and the replace avoids a sort.
    /// Parameters: organization id, collection run id, integration id, billing period.
    /// </summary>
    public string InsertFromStagingSql
    {
        get
        {
            var columns = string.Join(", ", [.. KeyColumns, "unblended", "net_unblended", "amortized"]);
            return $$"""
                INSERT INTO {{LiveTable}} (organization_id, integration_id, billing_period, {{columns}})
                SELECT {0}, integration_id, billing_period, {{columns}}
                FROM {{StagingTable}}
                WHERE collection_run_id = {1} AND integration_id = {2} AND billing_period = {3}
                """;
        }
    }

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
