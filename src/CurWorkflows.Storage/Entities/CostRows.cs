namespace CurWorkflows.Storage.Entities;

/// <summary>
/// Columns shared by every cost row: ownership, the billing period and collection run (generation) that wrote it, amounts.
/// Readers see a row only while its run is the period's active one (<see cref="BillingPeriod.CollectionRunId"/>).
/// </summary>
public abstract class CostRow
{
    public long Id { get; set; }

    /// <summary>Denormalised from the integration so that organization-wide range queries use one index.</summary>
    public Guid OrganizationId { get; set; }

    public Guid IntegrationId { get; set; }

    /// <summary>First day of the billing period the row came from; the unit of replacement.</summary>
    public DateOnly BillingPeriod { get; set; }

    /// <summary>The run that wrote the row: its generation. Replacing a period switches the active generation.</summary>
    public Guid CollectionRunId { get; set; }

    /// <summary>Tag value; <see cref="Cur.Aggregation.PackageNames.Untagged"/> ("") for untagged cost.</summary>
    public string Package { get; set; } = "";

    public string Currency { get; set; } = "";

    public decimal Unblended { get; set; }

    public decimal NetUnblended { get; set; }

    public decimal Amortized { get; set; }
}

/// <summary>Daily cost by usage day, package and product code.</summary>
public sealed class DailyPackageCostRow : CostRow
{
    public DateOnly UsageDate { get; set; }

    public string ProductCode { get; set; } = "";
}

/// <summary>Daily cost by usage day, package, resource id and product code.</summary>
public sealed class DailyResourceCostRow : CostRow
{
    public DateOnly UsageDate { get; set; }

    public string ResourceId { get; set; } = "";

    public string ProductCode { get; set; } = "";
}

/// <summary>Monthly cost by month (first day) and package.</summary>
public sealed class MonthlyPackageCostRow : CostRow
{
    public DateOnly Month { get; set; }
}
