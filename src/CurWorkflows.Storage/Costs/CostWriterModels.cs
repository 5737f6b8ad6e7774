using CurWorkflows.Cur.Aggregation;

namespace CurWorkflows.Storage.Costs;

/// <summary>
/// Which staging area a batch belongs to: a collection run's aggregates for one integration's billing period (the run's
/// generation of the period's cost rows, invisible to readers until the replace makes it active).
/// </summary>
public sealed record StagingKey(Guid CollectionRunId, Guid IntegrationId, DateOnly BillingPeriod);

/// <summary>The three aggregate views produced for (part of) a billing period.</summary>
public sealed record CostAggregateBatch(
    IReadOnlyList<DailyPackageCost> DailyPackageCosts,
    IReadOnlyList<DailyResourceCost> DailyResourceCosts,
    IReadOnlyList<MonthlyPackageCost> MonthlyPackageCosts)
{
    public static CostAggregateBatch Empty { get; } = new([], [], []);
}

/// <summary>Make the staged aggregates of one run the integration's billing period (a swap of the active generation).</summary>
/// <param name="LineItemRows">CUR line items read for the period, recorded on the billing period.</param>
public sealed record ReplaceBillingPeriodRequest(
    Guid CollectionRunId,
    Guid IntegrationId,
    DateOnly BillingPeriod,
    string AssemblyId,
    string ManifestETag,
    bool IsFinal,
    long LineItemRows = 0);

public enum ReplaceOutcome
{
    /// <summary>The period had no stored data before.</summary>
    Inserted = 0,

    /// <summary>A different assembly (or manifest ETag) was stored before and has been replaced.</summary>
    Replaced = 1,

    /// <summary>The same assemblyId and ETag were already stored: nothing changed, the staging rows were dropped.</summary>
    Unchanged = 2,

    /// <summary>
    /// This run's replace had already been applied by an earlier attempt (whose completion was lost); the rows and totals
    /// are those it stored.
    /// </summary>
    AppliedEarlier = 3,
}

/// <param name="Currency">The period's currency, or "*" when rows have several (the totals then mix them).</param>
/// <param name="SupersededRowsDeleted">Rows of the replaced generation deleted after the commit.</param>
public sealed record ReplaceBillingPeriodResult(
    ReplaceOutcome Outcome,
    long DailyPackageRows,
    long DailyResourceRows,
    long MonthlyPackageRows,
    string Currency,
    CostAmounts Totals,
    long SupersededRowsDeleted = 0);
