namespace CurWorkflows.Storage.Entities;

/// <summary>
/// Aggregates written by a collection run before the atomic replace swaps them in. Keyed by run, integration
/// and billing period; the same key may appear in several batches (one per file) and is summed by the replace.
/// </summary>
public abstract class StagedCost
{
    public long Id { get; set; }

    public Guid CollectionRunId { get; set; }

    public Guid IntegrationId { get; set; }

    public DateOnly BillingPeriod { get; set; }

    public string Package { get; set; } = "";

    public string Currency { get; set; } = "";

    public decimal Unblended { get; set; }

    public decimal NetUnblended { get; set; }

    public decimal Amortized { get; set; }

    public DateTimeOffset StagedAt { get; set; }
}

public sealed class StagedDailyPackageCost : StagedCost
{
    public DateOnly UsageDate { get; set; }

    public string ProductCode { get; set; } = "";
}

public sealed class StagedDailyResourceCost : StagedCost
{
    public DateOnly UsageDate { get; set; }

    public string ResourceId { get; set; } = "";

    public string ProductCode { get; set; } = "";
}

public sealed class StagedMonthlyPackageCost : StagedCost
{
    public DateOnly Month { get; set; }
}
