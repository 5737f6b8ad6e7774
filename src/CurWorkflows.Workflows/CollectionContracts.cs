namespace CurWorkflows.Workflows;

/// <summary>Input of one <see cref="CollectionWorkflow"/> run. Carries identifiers only: the integration's
/// role, external ID and bucket are read from the database by the activities, never put into history.</summary>
public sealed record CollectionWorkflowInput(string IntegrationId, string OrganizationId);

/// <summary>Short result of a collection run: counts and totals, never the aggregates themselves.</summary>
/// <param name="PeriodsStored">Billing periods whose aggregates replaced the stored ones.</param>
/// <param name="PeriodsSkipped">Billing periods whose assembly was already stored.</param>
/// <param name="UnblendedTotal">Sum of the unblended cost of the stored periods, as an invariant decimal string.</param>
public sealed record CollectionSummary(
    int PeriodsFound = 0,
    int PeriodsStored = 0,
    int PeriodsSkipped = 0,
    int Files = 0,
    long Rows = 0,
    long BytesDownloaded = 0,
    string UnblendedTotal = "0");

/// <summary>Identifies one collection run to the activities (staging area key, spool folder).</summary>
public sealed record CollectionRunRef(string IntegrationId, string OrganizationId, string CollectionWorkflowId);

/// <summary>What to collect: the periods whose manifest assembly is not stored yet.</summary>
/// <param name="MaxParallelFiles">The worker's configured limit, recorded here so that replay is deterministic.</param>
public sealed record CollectionPlan(IReadOnlyList<PeriodToCollect> Periods, int PeriodsFound, int PeriodsSkipped, int MaxParallelFiles = 2);

/// <summary>One billing period's manifest assembly to collect.</summary>
/// <param name="BillingPeriod">First day of the billing month, as <c>yyyy-MM-dd</c>.</param>
public sealed record PeriodToCollect(
    string BillingPeriod,
    string ManifestKey,
    string AssemblyId,
    string ManifestETag,
    bool IsFinal,
    IReadOnlyList<ReportFileRef> Files);

public sealed record ReportFileRef(string Key, long Size = 0, string? ETag = null);

/// <summary>Download (and then aggregate) one report file of a period.</summary>
public sealed record ReportFileWork(CollectionRunRef Run, PeriodToCollect Period, int FileIndex)
{
    public ReportFileRef File => Period.Files[FileIndex];
}

/// <summary>A file in the spool directory of the worker that downloaded it.</summary>
public sealed record SpooledFile(string Path, long Bytes, long BytesTransferred);

public sealed record AggregateFileInput(ReportFileWork Work, string SpooledPath);

/// <summary>What aggregating one file staged: row count and the file's unblended total (for reconciliation).</summary>
public sealed record FileAggregateResult(long Rows, string UnblendedTotal, int StagedAggregates, long ResumedFromRow = 0);

public sealed record PersistPeriodInput(CollectionRunRef Run, PeriodToCollect Period, long Rows, string UnblendedTotal);

public sealed record PersistPeriodResult(int StoredAggregates, string UnblendedTotal);
